//! Exceptions (the exception-handling proposal) at the machine level.
//!
//! A wasm exception is an `ExnObject` allocated by the runtime: it starts with the Itanium
//! ABI's `_Unwind_Exception` header, so the system unwinder can carry it through native
//! frames, followed by the tag's identity and the payload. An `exnref` is a pointer to it.
//!
//! Throwing is a forced unwind (`_Unwind_ForcedUnwind`): it walks the stack without a search
//! phase and enters each landing pad compiled code registered for a call site inside a
//! handler. The pad compares the tag with its catch clauses and either takes the exception or
//! throws it on. No code runs when a `try_table` is entered, and a call inside one costs
//! nothing extra until something is thrown: the call-site table lives in `.gcc_except_table`.
//!
//! ```text
//! ExnObject (16-byte aligned):
//!   0   _Unwind_Exception    32 bytes, owned by the unwinder while the exception flies
//!   32  *const VmTag         the tag
//!   40  u32                  payload values
//!   44  u32                  reserved (0)
//!   48  [16-byte slot; n]    the payload, one value per slot (as the host's `Slot`)
//! ```
//!
//! Compiled code never frees an exception object: the same object can be held by several
//! handlers at once (a legacy `rethrow` of an outer clause's exception into an inner one) and
//! copied freely as an `exnref`. The store owns every object and reclaims those nothing can
//! reach (see the loader's `exn_heap`).

/// Size of `struct _Unwind_Exception` on 64-bit targets.
pub const UNWIND_HEADER_SIZE: u32 = 32;
pub const OFFSET_TAG: u32 = 32;
pub const OFFSET_LEN: u32 = 40;
pub const OFFSET_PAYLOAD: u32 = 48;
pub const SLOT_SIZE: u32 = 16;

/// `exception_class` of every waot exception: "WAOT" "WASM".
pub const EXCEPTION_CLASS: u64 = u64::from_be_bytes(*b"WAOTWASM");

/// Offset of payload value `index`.
pub fn payload_offset(index: u32) -> u32 {
    OFFSET_PAYLOAD + SLOT_SIZE * index
}

/// Bytes of an exception object with `values` payload values.
pub fn object_size(values: u32) -> usize {
    payload_offset(values) as usize
}

/// The personality routine of compiled code is a stub in the artifact that jumps through this
/// exported pointer, which the loader sets to the system's C personality
/// (`__gcc_personality_v0`) after loading: the artifact links against nothing.
pub const SYM_PERSONALITY_TARGET: &str = "waot_personality_target";

/// The section of the personality stub: apart from `.text`, the code the loader registers as
/// guest code, since the stub runs inside the unwinder (host code).
pub const PERSONALITY_SECTION: &str = ".waot.personality";
/// The stub itself (hidden, named in each landing pad's function).
pub const SYM_PERSONALITY: &str = "waot_personality";
