//! Exceptions, runtime side: what `trap_catch.c` (the forced unwind of `throw`) and compiled
//! code's personality stub call. Tags and exception objects as the host sees them are the
//! store's (`api::exceptions`).

use crate::vm::traps::Trap;
use std::ffi::c_void;

extern "C" {
    /// The `Throw` builtin (`trap_catch.c`).
    pub(crate) fn waot_throw(unused: *mut u8, exn: *mut u8);
    /// The system's C personality routine, for compiled code's personality stub.
    pub(crate) fn waot_personality_routine() -> *const c_void;
}

#[no_mangle]
extern "C" fn waot_catch_point() -> *mut c_void {
    crate::vm::traps::catch_point()
}

/// An exception reached the host's catch point; the store pins it when it decodes the trap
/// (`decode_exception`), before any guest code can run again.
#[no_mangle]
extern "C" fn waot_exception_escaped(exn: *mut u8) {
    crate::vm::traps::set_pending(Trap::uncaught(exn));
}
