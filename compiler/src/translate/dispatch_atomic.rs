//! One line per atomic operator (threads proposal).

use super::atomic::Rmw::{self, Add, And, Or, Sub, Xchg, Xor};
use super::{FuncTranslator, Result};
use runtime_support::Builtin;
use wasmparser::{MemArg, Operator as Op};

/// The width a narrow form accesses.
#[derive(Clone, Copy)]
enum Width {
    W8,
    W16,
    W32,
    Full,
}
use Width::{Full, W16, W32, W8};

impl<'a, 'b, 'ctx> FuncTranslator<'a, 'b, 'ctx> {
    pub fn translate_atomic_operator(&mut self, op: Op<'_>) -> Result<()> {
        match op {
            Op::AtomicFence { .. } => self.translate_atomic_fence(),
            Op::MemoryAtomicNotify { memarg } => {
                self.translate_atomic_wait_notify(memarg, Builtin::AtomicNotify)
            }
            Op::MemoryAtomicWait32 { memarg } => {
                self.translate_atomic_wait_notify(memarg, Builtin::AtomicWait32)
            }
            Op::MemoryAtomicWait64 { memarg } => {
                self.translate_atomic_wait_notify(memarg, Builtin::AtomicWait64)
            }
            Op::I32AtomicLoad { memarg } => self.atomic_load(memarg, false, Full),
            Op::I64AtomicLoad { memarg } => self.atomic_load(memarg, true, Full),
            Op::I32AtomicLoad8U { memarg } => self.atomic_load(memarg, false, W8),
            Op::I32AtomicLoad16U { memarg } => self.atomic_load(memarg, false, W16),
            Op::I64AtomicLoad8U { memarg } => self.atomic_load(memarg, true, W8),
            Op::I64AtomicLoad16U { memarg } => self.atomic_load(memarg, true, W16),
            Op::I64AtomicLoad32U { memarg } => self.atomic_load(memarg, true, W32),
            Op::I32AtomicStore { memarg } => self.atomic_store(memarg, false, Full),
            Op::I64AtomicStore { memarg } => self.atomic_store(memarg, true, Full),
            Op::I32AtomicStore8 { memarg } => self.atomic_store(memarg, false, W8),
            Op::I32AtomicStore16 { memarg } => self.atomic_store(memarg, false, W16),
            Op::I64AtomicStore8 { memarg } => self.atomic_store(memarg, true, W8),
            Op::I64AtomicStore16 { memarg } => self.atomic_store(memarg, true, W16),
            Op::I64AtomicStore32 { memarg } => self.atomic_store(memarg, true, W32),
            Op::I32AtomicRmwAdd { memarg } => self.atomic_rmw(memarg, false, Full, Add),
            Op::I64AtomicRmwAdd { memarg } => self.atomic_rmw(memarg, true, Full, Add),
            Op::I32AtomicRmw8AddU { memarg } => self.atomic_rmw(memarg, false, W8, Add),
            Op::I32AtomicRmw16AddU { memarg } => self.atomic_rmw(memarg, false, W16, Add),
            Op::I64AtomicRmw8AddU { memarg } => self.atomic_rmw(memarg, true, W8, Add),
            Op::I64AtomicRmw16AddU { memarg } => self.atomic_rmw(memarg, true, W16, Add),
            Op::I64AtomicRmw32AddU { memarg } => self.atomic_rmw(memarg, true, W32, Add),
            Op::I32AtomicRmwSub { memarg } => self.atomic_rmw(memarg, false, Full, Sub),
            Op::I64AtomicRmwSub { memarg } => self.atomic_rmw(memarg, true, Full, Sub),
            Op::I32AtomicRmw8SubU { memarg } => self.atomic_rmw(memarg, false, W8, Sub),
            Op::I32AtomicRmw16SubU { memarg } => self.atomic_rmw(memarg, false, W16, Sub),
            Op::I64AtomicRmw8SubU { memarg } => self.atomic_rmw(memarg, true, W8, Sub),
            Op::I64AtomicRmw16SubU { memarg } => self.atomic_rmw(memarg, true, W16, Sub),
            Op::I64AtomicRmw32SubU { memarg } => self.atomic_rmw(memarg, true, W32, Sub),
            Op::I32AtomicRmwAnd { memarg } => self.atomic_rmw(memarg, false, Full, And),
            Op::I64AtomicRmwAnd { memarg } => self.atomic_rmw(memarg, true, Full, And),
            Op::I32AtomicRmw8AndU { memarg } => self.atomic_rmw(memarg, false, W8, And),
            Op::I32AtomicRmw16AndU { memarg } => self.atomic_rmw(memarg, false, W16, And),
            Op::I64AtomicRmw8AndU { memarg } => self.atomic_rmw(memarg, true, W8, And),
            Op::I64AtomicRmw16AndU { memarg } => self.atomic_rmw(memarg, true, W16, And),
            Op::I64AtomicRmw32AndU { memarg } => self.atomic_rmw(memarg, true, W32, And),
            Op::I32AtomicRmwOr { memarg } => self.atomic_rmw(memarg, false, Full, Or),
            Op::I64AtomicRmwOr { memarg } => self.atomic_rmw(memarg, true, Full, Or),
            Op::I32AtomicRmw8OrU { memarg } => self.atomic_rmw(memarg, false, W8, Or),
            Op::I32AtomicRmw16OrU { memarg } => self.atomic_rmw(memarg, false, W16, Or),
            Op::I64AtomicRmw8OrU { memarg } => self.atomic_rmw(memarg, true, W8, Or),
            Op::I64AtomicRmw16OrU { memarg } => self.atomic_rmw(memarg, true, W16, Or),
            Op::I64AtomicRmw32OrU { memarg } => self.atomic_rmw(memarg, true, W32, Or),
            Op::I32AtomicRmwXor { memarg } => self.atomic_rmw(memarg, false, Full, Xor),
            Op::I64AtomicRmwXor { memarg } => self.atomic_rmw(memarg, true, Full, Xor),
            Op::I32AtomicRmw8XorU { memarg } => self.atomic_rmw(memarg, false, W8, Xor),
            Op::I32AtomicRmw16XorU { memarg } => self.atomic_rmw(memarg, false, W16, Xor),
            Op::I64AtomicRmw8XorU { memarg } => self.atomic_rmw(memarg, true, W8, Xor),
            Op::I64AtomicRmw16XorU { memarg } => self.atomic_rmw(memarg, true, W16, Xor),
            Op::I64AtomicRmw32XorU { memarg } => self.atomic_rmw(memarg, true, W32, Xor),
            Op::I32AtomicRmwXchg { memarg } => self.atomic_rmw(memarg, false, Full, Xchg),
            Op::I64AtomicRmwXchg { memarg } => self.atomic_rmw(memarg, true, Full, Xchg),
            Op::I32AtomicRmw8XchgU { memarg } => self.atomic_rmw(memarg, false, W8, Xchg),
            Op::I32AtomicRmw16XchgU { memarg } => self.atomic_rmw(memarg, false, W16, Xchg),
            Op::I64AtomicRmw8XchgU { memarg } => self.atomic_rmw(memarg, true, W8, Xchg),
            Op::I64AtomicRmw16XchgU { memarg } => self.atomic_rmw(memarg, true, W16, Xchg),
            Op::I64AtomicRmw32XchgU { memarg } => self.atomic_rmw(memarg, true, W32, Xchg),
            Op::I32AtomicRmwCmpxchg { memarg } => self.atomic_cmpxchg(memarg, false, Full),
            Op::I64AtomicRmwCmpxchg { memarg } => self.atomic_cmpxchg(memarg, true, Full),
            Op::I32AtomicRmw8CmpxchgU { memarg } => self.atomic_cmpxchg(memarg, false, W8),
            Op::I32AtomicRmw16CmpxchgU { memarg } => self.atomic_cmpxchg(memarg, false, W16),
            Op::I64AtomicRmw8CmpxchgU { memarg } => self.atomic_cmpxchg(memarg, true, W8),
            Op::I64AtomicRmw16CmpxchgU { memarg } => self.atomic_cmpxchg(memarg, true, W16),
            Op::I64AtomicRmw32CmpxchgU { memarg } => self.atomic_cmpxchg(memarg, true, W32),
            other => self.translate_gc_operator(other),
        }
    }

    /// The result type (`i64` when `wide`) and the type accessed in memory.
    fn atomic_types(
        &self,
        wide: bool,
        width: Width,
    ) -> (inkwell::types::IntType<'ctx>, inkwell::types::IntType<'ctx>) {
        let c = self.cx.context;
        let result = if wide { c.i64_type() } else { c.i32_type() };
        let mem = match width {
            W8 => c.i8_type(),
            W16 => c.i16_type(),
            W32 => c.i32_type(),
            Full => result,
        };
        (result, mem)
    }

    fn atomic_load(&mut self, memarg: MemArg, wide: bool, width: Width) -> Result<()> {
        let (result, mem) = self.atomic_types(wide, width);
        self.translate_atomic_load(memarg, mem, result)
    }

    fn atomic_store(&mut self, memarg: MemArg, wide: bool, width: Width) -> Result<()> {
        let (_, mem) = self.atomic_types(wide, width);
        self.translate_atomic_store(memarg, mem)
    }

    fn atomic_rmw(&mut self, memarg: MemArg, wide: bool, width: Width, op: Rmw) -> Result<()> {
        let (result, mem) = self.atomic_types(wide, width);
        self.translate_atomic_rmw(memarg, mem, result, op)
    }

    fn atomic_cmpxchg(&mut self, memarg: MemArg, wide: bool, width: Width) -> Result<()> {
        let (result, mem) = self.atomic_types(wide, width);
        self.translate_atomic_cmpxchg(memarg, mem, result)
    }
}
