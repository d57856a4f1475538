//! Effective addresses of loads and stores, and their bounds checks.
//!
//! 32-bit memories: under the guard-page strategy an address is `base + zext(addr) + offset`
//! with no check: the reservation covers every such address and the loader turns a fault into
//! a trap. Under the explicit strategy the end of the access is compared with the memory's
//! current length.
//!
//! 64-bit memories: no reservation covers 2^64 addresses. Under the guard-page strategy an
//! address below 4 GiB with an offset below 4 GiB still lands inside the reservation (8 GiB and
//! a guard), so one compare with a constant decides, and only a higher address is compared
//! with the length; under the explicit strategy every access is. The check is exact in 64
//! bits: `addr + offset + size` may exceed 2^64, which traps rather than wraps.
//!
//! Every byte of a memory has exactly one address in the IR: `base + addr + offset` is the same
//! 64-bit integer for every (addr, offset) pair that names the byte, as wasm adds the offset
//! without wrapping. LLVM assumes distinct addresses are distinct memory (alias analysis,
//! store-to-load forwarding, dead-store elimination), so a second address for the same byte,
//! such as a mirror mapping of the pages, would let it reorder or drop accesses.

use super::{FuncTranslator, Result};
use inkwell::values::{IntValue, PointerValue};
use inkwell::IntPredicate;
use runtime_support::{BoundsStrategy, TrapCode};
use wasmparser::{MemArg, MemArgTarget};

impl<'a, 'b, 'ctx> FuncTranslator<'a, 'b, 'ctx> {
    /// The host address of an access of `size` bytes at `addr + memarg.offset`, with `addr`
    /// popped from the stack.
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
        let offset = if self.memory64(memory) {
            self.check_address64(memory, addr, memarg.offset, size)?;
            // Cannot wrap: the check above trapped if it would.
            self.add_offset(addr, memarg.offset)?
        } else {
            let addr = self.builder.build_int_z_extend(addr, i64t, "")?;
            // Cannot wrap: both are below 2^32.
            let offset = self.add_offset(addr, memarg.offset)?;
            if self.cx.options.bounds == BoundsStrategy::Explicit {
                let end =
                    self.builder
                        .build_int_nuw_add(offset, i64t.const_int(size, false), "")?;
                let len = self.memory_length(memory)?;
                let oob = self
                    .builder
                    .build_int_compare(IntPredicate::UGT, end, len, "")?;
                self.trap_if(oob, TrapCode::MemoryOutOfBounds)?;
            }
            offset
        };
        let base = self.memory_base(memory)?;
        // SAFETY: inside the reservation (8 GiB and a guard), or checked above.
        Ok(unsafe {
            self.builder
                .build_gep(self.cx.context.i8_type(), base, &[offset], "addr")?
        })
    }

    /// `addr + offset`, which the caller knows does not wrap.
    fn add_offset(&self, addr: IntValue<'ctx>, offset: u64) -> Result<IntValue<'ctx>> {
        if offset == 0 {
            return Ok(addr);
        }
        let offset = self.cx.context.i64_type().const_int(offset, false);
        Ok(self.builder.build_int_nuw_add(addr, offset, "")?)
    }

    /// Traps unless `[addr + offset, addr + offset + size)` lies inside 64-bit memory `memory`.
    fn check_address64(
        &mut self,
        memory: u32,
        addr: IntValue<'ctx>,
        offset: u64,
        size: u64,
    ) -> Result<()> {
        let guarded = self.cx.options.bounds == BoundsStrategy::GuardPages;
        if !guarded || offset > u32::MAX as u64 {
            return self.compare_with_length(memory, addr, offset, size);
        }
        let i64t = self.cx.context.i64_type();
        let high = self.builder.build_int_compare(
            IntPredicate::UGT,
            addr,
            i64t.const_int(u32::MAX as u64, false),
            "",
        )?;
        let expect = self.intrinsic("llvm.expect", &[self.cx.context.bool_type().into()]);
        let unlikely = self.cx.context.bool_type().const_zero();
        let high = self
            .call_intrinsic(expect, &[high.into(), unlikely.into()])?
            .into_int_value();
        let check = self.new_block("addr_high");
        let done = self.new_block("addr_ok");
        self.builder.build_conditional_branch(high, check, done)?;
        self.builder.position_at_end(check);
        self.compare_with_length(memory, addr, offset, size)?;
        self.builder.build_unconditional_branch(done)?;
        self.builder.position_at_end(done);
        Ok(())
    }

    /// Traps unless `addr + offset + size <= length`, computed without wrapping.
    fn compare_with_length(
        &mut self,
        memory: u32,
        addr: IntValue<'ctx>,
        offset: u64,
        size: u64,
    ) -> Result<()> {
        let bool_t = self.cx.context.bool_type();
        let Some(reach) = offset.checked_add(size) else {
            // No address reaches past 2^64.
            return self.trap_if(bool_t.const_all_ones(), TrapCode::MemoryOutOfBounds);
        };
        let i64t = self.cx.context.i64_type();
        let reach = i64t.const_int(reach, false);
        let len = self.memory_length(memory)?;
        // oob = len < reach || addr > len - reach (the subtraction wraps only when the first
        // compare already decided).
        let short = self
            .builder
            .build_int_compare(IntPredicate::ULT, len, reach, "")?;
        let room = self.builder.build_int_sub(len, reach, "")?;
        let past = self
            .builder
            .build_int_compare(IntPredicate::UGT, addr, room, "")?;
        let oob = self.builder.build_or(short, past, "")?;
        self.trap_if(oob, TrapCode::MemoryOutOfBounds)
    }
}
