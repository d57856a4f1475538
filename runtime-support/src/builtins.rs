//! Functions of the runtime that compiled code calls through the vmctx's builtin table.
//!
//! Compiled code never refers to a host symbol: it loads `builtins[index]` from the vmctx and
//! calls it with the C calling convention. Every builtin takes the caller's vmctx first.

/// A parameter or result type of a builtin, at the machine level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AbiType {
    I32,
    I64,
    Ptr,
}

#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Builtin {
    /// `(code: i32)`, never returns.
    Trap = 0,
    /// `(memory: i32, delta_pages: i64) -> i64`, old size in pages or -1. Addresses, sizes
    /// and indices are 64-bit in every builtin, zero-extended from a 32-bit memory or table's.
    MemoryGrow,
    /// `(memory: i32, dst: i64, value: i32, len: i64)`.
    MemoryFill,
    /// `(dst_memory: i32, src_memory: i32, dst: i64, src: i64, len: i64)`.
    MemoryCopy,
    /// `(memory: i32, segment: i32, dst: i64, src: i64, len: i64)`.
    MemoryInit,
    /// `(segment: i32)`.
    DataDrop,
    /// `(table: i32, init: ref, delta: i64) -> i64`, old size or -1.
    TableGrow,
    /// `(table: i32, dst: i64, value: ref, len: i64)`.
    TableFill,
    /// `(dst_table: i32, src_table: i32, dst: i64, src: i64, len: i64)`.
    TableCopy,
    /// `(table: i32, segment: i32, dst: i64, src: i64, len: i64)`.
    TableInit,
    /// `(segment: i32)`.
    ElemDrop,
    /// `(tag: i32) -> exnref`: a new exception of this instance's tag, payload zeroed.
    ExnNew,
    /// `(exn: exnref)`, never returns: unwinds to the nearest handler (see `exception`).
    Throw,
    /// `(a: f32 bits, b: f32 bits, c: f32 bits) -> f32 bits`: `a * b + c` rounded once, for
    /// relaxed SIMD on targets without FMA instructions.
    FmaF32,
    /// `(a: f64 bits, b: f64 bits, c: f64 bits) -> f64 bits`, as `FmaF32`.
    FmaF64,
    /// `(memory: i32, addr: ptr, count: i32) -> i32`: `memory.atomic.notify` at a checked,
    /// aligned host address; how many waiters were woken.
    AtomicNotify,
    /// `(memory: i32, addr: ptr, expected: i32, timeout_ns: i64) -> i32`:
    /// `memory.atomic.wait32`; 0 woken, 1 not equal, 2 timed out.
    AtomicWait32,
    /// `(memory: i32, addr: ptr, expected: i64, timeout_ns: i64) -> i32`, as `AtomicWait32`.
    AtomicWait64,
    /// `()`: fuel ran out (`waotc --fuel`). Returns when the host added fuel; traps otherwise.
    OutOfFuel,
    /// `(type: i32, length: i32) -> ref`: a new, zeroed struct (length ignored) or array of
    /// module type `type`; traps when the heap cannot hold it. May collect garbage.
    GcAlloc,
    /// `(actual: i64, expected: i64) -> i32`: whether canonical type `actual` is `expected`
    /// or a declared subtype of it (casts and `call_indirect` of function types).
    IsSubtype,
    /// `(array: ref, index: i32, low: i64, high: i64, length: i32)`: `array.fill` with the
    /// value's bits (`high` only for v128).
    ArrayFill,
    /// `(dst: ref, dst_index: i32, src: ref, src_index: i32, length: i32)`.
    ArrayCopy,
    /// `(type: i32, segment: i32, offset: i32, length: i32) -> ref`: `array.new_data`.
    ArrayNewData,
    /// `(type: i32, segment: i32, offset: i32, length: i32) -> ref`: `array.new_elem`.
    ArrayNewElem,
    /// `(segment: i32, array: ref, index: i32, offset: i32, length: i32)`: `array.init_data`.
    ArrayInitData,
    /// `(segment: i32, array: ref, index: i32, offset: i32, length: i32)`: `array.init_elem`.
    ArrayInitElem,
    /// `(old: i64)`: the GC reference a `struct.set`/`array.set` is about to overwrite, while
    /// `VmRuntimeLimits::gc_marking` is set (the collector's deletion barrier).
    GcBarrier,
}

impl Builtin {
    pub const ALL: [Builtin; 28] = [
        Builtin::Trap,
        Builtin::MemoryGrow,
        Builtin::MemoryFill,
        Builtin::MemoryCopy,
        Builtin::MemoryInit,
        Builtin::DataDrop,
        Builtin::TableGrow,
        Builtin::TableFill,
        Builtin::TableCopy,
        Builtin::TableInit,
        Builtin::ElemDrop,
        Builtin::ExnNew,
        Builtin::Throw,
        Builtin::FmaF32,
        Builtin::FmaF64,
        Builtin::AtomicNotify,
        Builtin::AtomicWait32,
        Builtin::AtomicWait64,
        Builtin::OutOfFuel,
        Builtin::GcAlloc,
        Builtin::IsSubtype,
        Builtin::ArrayFill,
        Builtin::ArrayCopy,
        Builtin::ArrayNewData,
        Builtin::ArrayNewElem,
        Builtin::ArrayInitData,
        Builtin::ArrayInitElem,
        Builtin::GcBarrier,
    ];

    pub fn index(self) -> u32 {
        self as u32
    }

    /// Parameters after the leading vmctx pointer, and the result.
    pub fn signature(self) -> (&'static [AbiType], Option<AbiType>) {
        use AbiType::*;
        match self {
            Builtin::Trap => (&[I32], None),
            Builtin::MemoryGrow => (&[I32, I64], Some(I64)),
            Builtin::MemoryFill => (&[I32, I64, I32, I64], None),
            Builtin::MemoryCopy | Builtin::MemoryInit => (&[I32, I32, I64, I64, I64], None),
            Builtin::DataDrop | Builtin::ElemDrop => (&[I32], None),
            Builtin::TableGrow => (&[I32, Ptr, I64], Some(I64)),
            Builtin::TableFill => (&[I32, I64, Ptr, I64], None),
            Builtin::TableCopy | Builtin::TableInit => (&[I32, I32, I64, I64, I64], None),
            Builtin::ExnNew => (&[I32], Some(Ptr)),
            Builtin::Throw => (&[Ptr], None),
            Builtin::FmaF32 => (&[I32, I32, I32], Some(I32)),
            Builtin::FmaF64 => (&[I64, I64, I64], Some(I64)),
            Builtin::AtomicNotify => (&[I32, Ptr, I32], Some(I32)),
            Builtin::AtomicWait32 => (&[I32, Ptr, I32, I64], Some(I32)),
            Builtin::AtomicWait64 => (&[I32, Ptr, I64, I64], Some(I32)),
            Builtin::OutOfFuel => (&[], None),
            Builtin::GcAlloc => (&[I32, I32], Some(Ptr)),
            Builtin::IsSubtype => (&[I64, I64], Some(I32)),
            Builtin::ArrayFill => (&[Ptr, I32, I64, I64, I32], None),
            Builtin::ArrayCopy => (&[Ptr, I32, Ptr, I32, I32], None),
            Builtin::ArrayNewData | Builtin::ArrayNewElem => (&[I32, I32, I32, I32], Some(Ptr)),
            Builtin::ArrayInitData | Builtin::ArrayInitElem => (&[I32, Ptr, I32, I32, I32], None),
            Builtin::GcBarrier => (&[I64], None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_are_dense() {
        for (i, b) in Builtin::ALL.iter().enumerate() {
            assert_eq!(b.index() as usize, i);
        }
    }
}
