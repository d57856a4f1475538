//! Atomic memory accesses (threads proposal). Every one is sequentially consistent and
//! naturally aligned: an effective address that is not a multiple of the access size traps
//! with `unaligned atomic` (before the bounds check, as the reference interpreter orders
//! them); then the bounds are checked as for any access (`address.rs`). Narrow forms zero-
//! extend what they read; `cmpxchg` compares with the expected value wrapped to the access
//! width. `wait`/`notify` go through builtins, which park the thread (`loader/src/vm/atomics.rs`).

use super::{FuncTranslator, Result};
use inkwell::types::IntType;
use inkwell::values::{BasicMetadataValueEnum, IntValue, PointerValue};
use inkwell::AtomicOrdering::SequentiallyConsistent as SeqCst;
use inkwell::{AtomicRMWBinOp, IntPredicate};
use runtime_support::{Builtin, TrapCode};
use wasmparser::{MemArg, MemArgTarget};

/// A read-modify-write operation.
#[derive(Clone, Copy)]
pub enum Rmw {
    Add,
    Sub,
    And,
    Or,
    Xor,
    Xchg,
}

impl Rmw {
    fn llvm(self) -> AtomicRMWBinOp {
        match self {
            Rmw::Add => AtomicRMWBinOp::Add,
            Rmw::Sub => AtomicRMWBinOp::Sub,
            Rmw::And => AtomicRMWBinOp::And,
            Rmw::Or => AtomicRMWBinOp::Or,
            Rmw::Xor => AtomicRMWBinOp::Xor,
            Rmw::Xchg => AtomicRMWBinOp::Xchg,
        }
    }
}

fn internal(e: impl std::fmt::Display) -> crate::CompileError {
    crate::CompileError::Internal(e.to_string())
}

impl<'a, 'b, 'ctx> FuncTranslator<'a, 'b, 'ctx> {
    /// The host address of an atomic access of `size` bytes at the address on top of the
    /// stack (popped): the alignment trap, then the bounds check, compared with the length
    /// under every strategy (`checked_effective_address`: code generation may turn an atomic
    /// access into one that touches no memory).
    fn atomic_address(&mut self, memarg: &MemArg, size: u64) -> Result<PointerValue<'ctx>> {
        if size > 1 {
            let addr = self.stack.last().expect("an address").into_int_value();
            let t = addr.get_type();
            // The low bits of `addr + offset` do not depend on whether the sum wraps.
            let ea = self
                .builder
                .build_int_add(addr, t.const_int(memarg.offset, false), "")?;
            let low = self
                .builder
                .build_and(ea, t.const_int(size - 1, false), "")?;
            let misaligned =
                self.builder
                    .build_int_compare(IntPredicate::NE, low, t.const_zero(), "")?;
            self.trap_if(misaligned, TrapCode::UnalignedAtomic)?;
        }
        self.checked_effective_address(memarg, size)
    }

    fn widen(&self, v: IntValue<'ctx>, to: IntType<'ctx>) -> Result<IntValue<'ctx>> {
        Ok(if v.get_type() == to {
            v
        } else {
            self.builder.build_int_z_extend(v, to, "")?
        })
    }

    fn narrow(&self, v: IntValue<'ctx>, to: IntType<'ctx>) -> Result<IntValue<'ctx>> {
        Ok(if v.get_type() == to {
            v
        } else {
            self.builder.build_int_truncate(v, to, "")?
        })
    }

    pub fn translate_atomic_load(
        &mut self,
        memarg: MemArg,
        mem_ty: IntType<'ctx>,
        result_ty: IntType<'ctx>,
    ) -> Result<()> {
        let size = mem_ty.get_bit_width() as u64 / 8;
        let p = self.atomic_address(&memarg, size)?;
        let v = self.load_memory(mem_ty.into(), p)?;
        let load = inkwell::values::BasicValue::as_instruction_value(&v).expect("a load");
        load.set_alignment(size as u32).map_err(internal)?;
        load.set_atomic_ordering(SeqCst).map_err(internal)?;
        let v = self.widen(v.into_int_value(), result_ty)?;
        self.push(v);
        Ok(())
    }

    pub fn translate_atomic_store(&mut self, memarg: MemArg, mem_ty: IntType<'ctx>) -> Result<()> {
        let v = self.pop_int();
        let size = mem_ty.get_bit_width() as u64 / 8;
        let p = self.atomic_address(&memarg, size)?;
        let v = self.narrow(v, mem_ty)?;
        let store = self.builder.build_store(p, v)?;
        store.set_alignment(size as u32).map_err(internal)?;
        store.set_atomic_ordering(SeqCst).map_err(internal)?;
        Ok(())
    }

    pub fn translate_atomic_rmw(
        &mut self,
        memarg: MemArg,
        mem_ty: IntType<'ctx>,
        result_ty: IntType<'ctx>,
        op: Rmw,
    ) -> Result<()> {
        let v = self.pop_int();
        let size = mem_ty.get_bit_width() as u64 / 8;
        let p = self.atomic_address(&memarg, size)?;
        let v = self.narrow(v, mem_ty)?;
        let old = self.builder.build_atomicrmw(op.llvm(), p, v, SeqCst)?;
        let old = self.widen(old, result_ty)?;
        self.push(old);
        Ok(())
    }

    pub fn translate_atomic_cmpxchg(
        &mut self,
        memarg: MemArg,
        mem_ty: IntType<'ctx>,
        result_ty: IntType<'ctx>,
    ) -> Result<()> {
        let replacement = self.pop_int();
        let expected = self.pop_int();
        let size = mem_ty.get_bit_width() as u64 / 8;
        let p = self.atomic_address(&memarg, size)?;
        let (expected, replacement) = (
            self.narrow(expected, mem_ty)?,
            self.narrow(replacement, mem_ty)?,
        );
        let pair = self
            .builder
            .build_cmpxchg(p, expected, replacement, SeqCst, SeqCst)?;
        let old = self
            .builder
            .build_extract_value(pair, 0, "")?
            .into_int_value();
        let old = self.widen(old, result_ty)?;
        self.push(old);
        Ok(())
    }

    pub fn translate_atomic_fence(&mut self) -> Result<()> {
        self.builder.build_fence(SeqCst, false, "")?;
        Ok(())
    }

    /// `memory.atomic.wait32/64` (`size` 4 or 8) and `memory.atomic.notify` (`size` 0):
    /// checks in line, then the builtin with the host address and the other operands.
    pub fn translate_atomic_wait_notify(&mut self, memarg: MemArg, b: Builtin) -> Result<()> {
        let MemArgTarget::Memory(memory) = memarg.target else {
            return self.effective_address(&memarg, 4).map(drop);
        };
        let operands = self.pop_n(if b == Builtin::AtomicNotify { 1 } else { 2 });
        let size = if b == Builtin::AtomicWait64 { 8 } else { 4 };
        let p = self.atomic_address(&memarg, size)?;
        let mut args: Vec<BasicMetadataValueEnum> = vec![self.i32_const(memory as u64).into()];
        args.push(p.into());
        args.extend(operands.into_iter().map(BasicMetadataValueEnum::from));
        let r = self.call_builtin(b, &args)?.expect("a result");
        self.push(r);
        Ok(())
    }
}
