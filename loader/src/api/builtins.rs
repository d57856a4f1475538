//! The builtin table compiled code calls through (`vmctx::OFFSET_BUILTINS`), in the order of
//! `runtime_support::Builtin`: the runtime's builtins (`vm::builtins`, `vm::atomics`) and the
//! store's, which consult its limits (`api::limits`) and allocate exception and GC objects
//! (`api::exceptions`, `api::gc`).

use crate::api::{exceptions, gc, limits};
use crate::vm::builtins;
use runtime_support::Builtin;

struct BuiltinTable([*const (); Builtin::ALL.len()]);
// SAFETY: function addresses, immutable.
unsafe impl Sync for BuiltinTable {}

static BUILTINS: BuiltinTable = BuiltinTable([
    builtins::trap as *const (),
    limits::memory_grow as *const (),
    builtins::memory_fill as *const (),
    builtins::memory_copy as *const (),
    builtins::memory_init as *const (),
    builtins::data_drop as *const (),
    limits::table_grow as *const (),
    builtins::table_fill as *const (),
    builtins::table_copy as *const (),
    builtins::table_init_builtin as *const (),
    builtins::elem_drop as *const (),
    exceptions::exn_new as *const (),
    crate::vm::exceptions::waot_throw as *const (),
    builtins::fma_f32 as *const (),
    builtins::fma_f64 as *const (),
    crate::vm::atomics::atomic_notify as *const (),
    crate::vm::atomics::atomic_wait32 as *const (),
    crate::vm::atomics::atomic_wait64 as *const (),
    limits::out_of_fuel as *const (),
    gc::gc_alloc as *const (),
    gc::is_subtype as *const (),
    gc::array_fill as *const (),
    gc::array_copy as *const (),
    gc::array_new_data as *const (),
    gc::array_new_elem as *const (),
    gc::array_init_data as *const (),
    gc::array_init_elem as *const (),
    gc::gc_barrier as *const (),
]);

/// The table compiled code indexes with `Builtin::index`.
pub(crate) fn table() -> *const *const () {
    BUILTINS.0.as_ptr()
}
