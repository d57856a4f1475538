//! Effective addresses of loads and stores, and their bounds checks.
//!
//! 32-bit memories: under the guard-page strategy an address is `base + zext(addr) + offset`
//! with no check: the reservation covers every such address and the loader turns a fault into
//! a trap. Under the explicit strategy the end of the access is compared with the memory's
//! current length.
//!
//! 64-bit memories: no reservation covers 2^64 addresses, so every access is compared with the
//! length under both strategies, exactly in 64 bits: `addr + offset + size` may exceed 2^64,
//! which traps rather than wraps. Measured against the alternatives (scripts/bench-features,
//! docs/PERFORMANCE.md): a branch to a length compare only for addresses above 4 GiB, and a
//! branchless `umin` clamp into a larger reservation, were both slower on latency-bound code
//! (heapsort 1.14x and 1.40x its wasm32 build) than this compare, whose predicted branch stays
//! off the dependency chain of the address (about 1.0x).
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
        self.address_checked_if(memarg, size, false)
    }

    /// [`Self::effective_address`], its bounds compared with the length under every strategy:
    /// for accesses that code generation may turn into something that touches no memory,
    /// which a guard page cannot stop. An atomic read-modify-write whose result is unused and
    /// which changes nothing (`i32.atomic.rmw.add` of 0) becomes a fence on the stack on
    /// x86-64, and an out-of-bounds one would no longer trap (fuzzer seed 6686).
    pub fn checked_effective_address(
        &mut self,
        memarg: &MemArg,
        size: u64,
    ) -> Result<PointerValue<'ctx>> {
        self.address_checked_if(memarg, size, true)
    }

    fn address_checked_if(
        &mut self,
        memarg: &MemArg,
        size: u64,
        always: bool,
    ) -> Result<PointerValue<'ctx>> {
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
            self.compare_with_length(memory, addr, memarg.offset, size)?;
            // Cannot wrap: the compare trapped if it would.
            self.add_offset(addr, memarg.offset)?
        } else {
            let addr = self.builder.build_int_z_extend(addr, i64t, "")?;
            // Cannot wrap: both are below 2^32.
            let offset = self.add_offset(addr, memarg.offset)?;
            // The host's pages are larger than one-byte wasm pages: the bytes past such a
            // memory's length up to a host page are accessible, so its accesses are checked.
            if always
                || self.cx.options.bounds == BoundsStrategy::Explicit
                || self.page_log2(memory) < 16
            {
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
