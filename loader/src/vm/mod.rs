//! What compiled code touches at run time: linear memories and their images, tables, the
//! builtins called through the vmctx, atomics, traps and the signal handler, exception
//! objects and GC objects, the registry of code addresses, and the process-wide type registry.

pub(crate) mod address_hash;
pub(crate) mod atomics;
pub(crate) mod builtins;
pub(crate) mod code_registry;
pub(crate) mod exceptions;
pub(crate) mod exn_heap;
pub(crate) mod gc_cycle;
pub(crate) mod gc_heap;
pub(crate) mod instance;
pub(crate) mod interrupt;
pub(crate) mod limits;
pub(crate) mod memory;
pub(crate) mod memory_image;
pub(crate) mod reservation;
pub(crate) mod signals;
pub(crate) mod signatures;
pub(crate) mod table;
pub(crate) mod traps;

/// Makes what `p` points to escape before a call that reaches it through another pointer: a
/// builtin or an embedder's callback uses the store through its own pointer while a caller up
/// the stack holds `&mut` to it, and without the escape the optimizer may keep that store's
/// fields in registers across the call. An empty `asm!` may read and write any memory it is
/// given the address of, so nothing reachable from `p` is assumed unchanged after it.
#[inline(always)]
pub(crate) fn escape<T: ?Sized>(p: *mut T) {
    // SAFETY: the instruction is empty.
    unsafe {
        std::arch::asm!("/* {0} */", in(reg) p as *mut u8, options(nostack, preserves_flags))
    };
}
