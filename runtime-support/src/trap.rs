//! Trap codes: the reasons compiled code stops, as the WebAssembly specification names them.

/// Why guest code trapped. The discriminant is what compiled code passes to the trap builtin.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TrapCode {
    Unreachable = 0,
    MemoryOutOfBounds = 1,
    TableOutOfBounds = 2,
    IndirectCallToNull = 3,
    BadSignature = 4,
    IntegerDivisionByZero = 5,
    IntegerOverflow = 6,
    BadConversionToInteger = 7,
    StackOverflow = 8,
    /// `call_indirect` with an index past the end of the table.
    UndefinedElement = 9,
    /// An imported function that was linked with `--trap-unknown-imports` was called.
    UnknownImport = 10,
    /// `throw_ref` of a null `exnref`.
    NullExnRef = 11,
    /// `call_ref` or `return_call_ref` of a null function reference.
    NullFunctionReference = 12,
    /// `ref.as_non_null` of a null reference.
    NullReference = 13,
    /// An atomic access whose effective address is not a multiple of its size.
    UnalignedAtomic = 14,
    /// `memory.atomic.wait32/64` on a memory that is not shared.
    ExpectedSharedMemory = 15,
    /// The host interrupted the store (`InterruptHandle::interrupt`, `wrun --time-limit`).
    Interrupted = 16,
    /// Metered code used all its fuel and the host added none.
    OutOfFuel = 17,
    /// `memory.grow` or `table.grow` beyond the store's resource limits, when the embedder
    /// asked for a trap rather than -1.
    ResourceLimitExceeded = 18,
    /// `struct.get`/`struct.set` of a null reference (GC).
    NullStructReference = 19,
    /// An `array.*` instruction on a null reference.
    NullArrayReference = 20,
    /// An array index or range past the array's length.
    ArrayOutOfBounds = 21,
    /// `ref.cast` of a value not of the type.
    CastFailure = 22,
    /// `i31.get_s/u` of a null reference.
    NullI31Reference = 23,
    /// A GC allocation larger than the heap allows (`gc::MAX_ARRAY_BYTES`), or the heap could
    /// not grow.
    GcAllocationFailed = 24,
}

impl TrapCode {
    pub const ALL: [TrapCode; 25] = [
        TrapCode::Unreachable,
        TrapCode::MemoryOutOfBounds,
        TrapCode::TableOutOfBounds,
        TrapCode::IndirectCallToNull,
        TrapCode::BadSignature,
        TrapCode::IntegerDivisionByZero,
        TrapCode::IntegerOverflow,
        TrapCode::BadConversionToInteger,
        TrapCode::StackOverflow,
        TrapCode::UndefinedElement,
        TrapCode::UnknownImport,
        TrapCode::NullExnRef,
        TrapCode::NullFunctionReference,
        TrapCode::NullReference,
        TrapCode::UnalignedAtomic,
        TrapCode::ExpectedSharedMemory,
        TrapCode::Interrupted,
        TrapCode::OutOfFuel,
        TrapCode::ResourceLimitExceeded,
        TrapCode::NullStructReference,
        TrapCode::NullArrayReference,
        TrapCode::ArrayOutOfBounds,
        TrapCode::CastFailure,
        TrapCode::NullI31Reference,
        TrapCode::GcAllocationFailed,
    ];

    pub fn from_u32(code: u32) -> Option<TrapCode> {
        Self::ALL.get(code as usize).copied()
    }

    /// The wording of the specification's test suite for this trap.
    pub fn message(self) -> &'static str {
        match self {
            TrapCode::Unreachable => "unreachable",
            TrapCode::MemoryOutOfBounds => "out of bounds memory access",
            TrapCode::TableOutOfBounds => "out of bounds table access",
            TrapCode::IndirectCallToNull => "uninitialized element",
            TrapCode::BadSignature => "indirect call type mismatch",
            TrapCode::IntegerDivisionByZero => "integer divide by zero",
            TrapCode::IntegerOverflow => "integer overflow",
            TrapCode::BadConversionToInteger => "invalid conversion to integer",
            TrapCode::StackOverflow => "call stack exhausted",
            TrapCode::UndefinedElement => "undefined element",
            TrapCode::UnknownImport => "call to an unresolved import",
            TrapCode::NullExnRef => "null exception reference",
            TrapCode::NullFunctionReference => "null function reference",
            TrapCode::NullReference => "null reference",
            TrapCode::UnalignedAtomic => "unaligned atomic",
            TrapCode::ExpectedSharedMemory => "expected shared memory",
            TrapCode::Interrupted => "interrupted",
            TrapCode::OutOfFuel => "all fuel consumed",
            TrapCode::ResourceLimitExceeded => "resource limit exceeded",
            TrapCode::NullStructReference => "null structure reference",
            TrapCode::NullArrayReference => "null array reference",
            TrapCode::ArrayOutOfBounds => "out of bounds array access",
            TrapCode::CastFailure => "cast failure",
            TrapCode::NullI31Reference => "null i31 reference",
            TrapCode::GcAllocationFailed => "allocation failed: GC heap exhausted",
        }
    }
}

impl std::fmt::Display for TrapCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for code in TrapCode::ALL {
            assert_eq!(TrapCode::from_u32(code as u32), Some(code));
        }
        assert_eq!(TrapCode::from_u32(TrapCode::ALL.len() as u32), None);
    }
}
