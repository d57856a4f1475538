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
