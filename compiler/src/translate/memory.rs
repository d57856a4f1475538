//! Linear memory: loads, stores and the memory instructions.
//!
//! Under the guard-page strategy an address is `base + zext(addr) + offset` with no check: the
//! reservation covers every such address and the loader turns a fault into a trap. Under the
//! explicit strategy the end of the access is compared with the memory's current length.
//!
//! Every byte of a memory has exactly one address in the IR: `base + zext(addr) + offset` is
//! the same 64-bit integer for every (addr, offset) pair that names the byte, as wasm adds the
//! offset without wrapping. LLVM assumes distinct addresses are distinct memory (alias
//! analysis, store-to-load forwarding, dead-store elimination), so a second address for the
//! same byte, such as a mirror mapping of the pages, would let it reorder or drop accesses.

use super::{FuncTranslator, Result};
use inkwell::types::BasicTypeEnum;
use inkwell::values::{BasicMetadataValueEnum, BasicValueEnum, PointerValue};
use inkwell::IntPredicate;
use runtime_support::{BoundsStrategy, Builtin, TrapCode};
use wasmparser::{MemArg, MemArgTarget};

/// How a narrow load widens to its result.
#[derive(Clone, Copy)]
pub enum Extend {
    None,
    Signed,
    Unsigned,
}

impl<'a, 'b, 'ctx> FuncTranslator<'a, 'b, 'ctx> {
    /// The host address of an access of `size` bytes at `addr + memarg.offset`.
    pub fn effective_address(&mut self, memarg: &MemArg, size: u64) -> Result<PointerValue<'ctx>> {
        let MemArgTarget::Memory(memory) = memarg.target else {
            // Only GC array accesses have another target; validation rejects them without GC.
            return Err(crate::CompileError::Unsupported {
                source: self.cx.source.to_string(),
                message: format!(
                    "function {}: a memory access to a GC array",
                    self.func_index
                ),
            });
        };
        let addr = self.pop_int();
        let i64t = self.cx.context.i64_type();
        let addr = self.builder.build_int_z_extend(addr, i64t, "")?;
        let offset = if memarg.offset == 0 {
            addr
        } else {
            // Cannot wrap: both are below 2^32.
            self.builder
                .build_int_nuw_add(addr, i64t.const_int(memarg.offset, false), "")?
        };
        if self.cx.options.bounds == BoundsStrategy::Explicit {
            let end = self
                .builder
                .build_int_nuw_add(offset, i64t.const_int(size, false), "")?;
            let len = self.memory_length(memory)?;
            let oob = self
                .builder
                .build_int_compare(IntPredicate::UGT, end, len, "")?;
            self.trap_if(oob, TrapCode::MemoryOutOfBounds)?;
        }
        let base = self.memory_base(memory)?;
        // SAFETY: inside the reservation (8 GiB and a guard), or checked above.
        Ok(unsafe {
            self.builder
                .build_gep(self.cx.context.i8_type(), base, &[offset], "addr")?
        })
    }

    /// A load of `ty` from linear memory at `p`: unaligned, and marked as a linear-memory
    /// access (`MEMORY_ACCESS_METADATA`) so that one LLVM would delete as unused is kept: it
    /// must trap when out of bounds (`pipeline.cpp`).
    pub fn load_memory(
        &mut self,
        ty: BasicTypeEnum<'ctx>,
        p: PointerValue<'ctx>,
    ) -> Result<BasicValueEnum<'ctx>> {
        let v = self.builder.build_load(ty, p, "")?;
        let load = inkwell::values::BasicValue::as_instruction_value(&v).expect("a load");
        load.set_alignment(1)
            .map_err(|e| crate::CompileError::Internal(e.to_string()))?;
        let context = self.cx.context;
        let kind = context.get_kind_id(crate::codegen::MEMORY_ACCESS_METADATA);
        load.set_metadata(context.metadata_node(&[]), kind)
            .map_err(|e| crate::CompileError::Internal(e.to_string()))?;
        Ok(v)
    }

    /// Loads `mem_ty` and widens it to `result_ty` as `extend` says.
    pub fn translate_load(
        &mut self,
        memarg: MemArg,
        mem_ty: BasicTypeEnum<'ctx>,
        result_ty: BasicTypeEnum<'ctx>,
        extend: Extend,
    ) -> Result<()> {
        let size = byte_size(mem_ty);
        let p = self.effective_address(&memarg, size)?;
        let v = self.load_memory(mem_ty, p)?;
        let v = match extend {
            Extend::None => v,
            Extend::Signed => self
                .builder
                .build_int_s_extend(v.into_int_value(), result_ty.into_int_type(), "")?
                .into(),
            Extend::Unsigned => self
                .builder
                .build_int_z_extend(v.into_int_value(), result_ty.into_int_type(), "")?
                .into(),
        };
        self.push(v);
        Ok(())
    }

    /// Stores the top of the stack as `mem_ty`, truncating integers.
    pub fn translate_store(&mut self, memarg: MemArg, mem_ty: BasicTypeEnum<'ctx>) -> Result<()> {
        let v = self.pop();
        let size = byte_size(mem_ty);
        let p = self.effective_address(&memarg, size)?;
        let v = match (v, mem_ty) {
            (inkwell::values::BasicValueEnum::IntValue(i), BasicTypeEnum::IntType(t))
                if i.get_type().get_bit_width() != t.get_bit_width() =>
            {
                self.builder.build_int_truncate(i, t, "")?.into()
            }
            _ => v,
        };
        let st = self.builder.build_store(p, v)?;
        st.set_alignment(1).unwrap();
        Ok(())
    }

    pub fn translate_memory_size(&mut self, mem: u32) -> Result<()> {
        let len = self.memory_length(mem)?;
        let pages = self
            .builder
            .build_right_shift(len, self.i64_const(16), false, "")?;
        let pages = self
            .builder
            .build_int_truncate(pages, self.cx.context.i32_type(), "")?;
        self.push(pages);
        Ok(())
    }

    /// Calls builtin `b` with the top `n` operands (after `leading` immediates) and pushes its
    /// result, if any.
    pub fn builtin_with_operands(&mut self, b: Builtin, leading: &[u32], n: usize) -> Result<()> {
        let operands = self.pop_n(n);
        let mut args: Vec<BasicMetadataValueEnum> = leading
            .iter()
            .map(|v| self.i32_const(*v as u64).into())
            .collect();
        args.extend(operands.into_iter().map(BasicMetadataValueEnum::from));
        if let Some(r) = self.call_builtin(b, &args)? {
            self.push(r);
        }
        Ok(())
    }

    pub fn translate_memory_grow(&mut self, mem: u32) -> Result<()> {
        self.builtin_with_operands(Builtin::MemoryGrow, &[mem], 1)
    }

    pub fn translate_memory_fill(&mut self, mem: u32) -> Result<()> {
        self.builtin_with_operands(Builtin::MemoryFill, &[mem], 3)
    }

    pub fn translate_memory_copy(&mut self, dst_mem: u32, src_mem: u32) -> Result<()> {
        self.builtin_with_operands(Builtin::MemoryCopy, &[dst_mem, src_mem], 3)
    }

    pub fn translate_memory_init(&mut self, mem: u32, segment: u32) -> Result<()> {
        self.builtin_with_operands(Builtin::MemoryInit, &[mem, segment], 3)
    }

    pub fn translate_data_drop(&mut self, segment: u32) -> Result<()> {
        self.builtin_with_operands(Builtin::DataDrop, &[segment], 0)
    }
}

fn byte_size(t: BasicTypeEnum<'_>) -> u64 {
    match t {
        BasicTypeEnum::IntType(i) => i.get_bit_width() as u64 / 8,
        BasicTypeEnum::FloatType(f) => f.get_bit_width() as u64 / 8,
        _ => 16,
    }
}
