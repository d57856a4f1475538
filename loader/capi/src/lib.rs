//! The WebAssembly C API (`include/wasm.h`) and waot's extensions (`include/waot.h`), over the
//! `waot` embedding library. Built as `libwaot_c.so` and `libwaot_c.a`
//! (`scripts/build-capi` also writes `waot.pc`).
//!
//! Every exported function follows the header's ownership rules: an `own` argument is taken
//! (and freed here), an `own` result is the caller's to delete. Pointers the caller passes are
//! trusted to be what the header says (C cannot check them); everything else — types of
//! values, handles of another store, traps — is checked by the library and reported as a trap
//! or an error message, never as a crash.

#![allow(non_camel_case_types, clippy::missing_safety_doc)]

mod call;
mod externs;
mod gc;
mod interp;
mod module_types;
mod runtime;
mod tags;
mod trap;
mod types;
mod v128;
mod values;
mod vec;
mod waot_ext;
mod wasi;

use waot::interp::wasmi;

pub use call::*;
pub use externs::*;
pub use gc::*;
pub use module_types::*;
pub use runtime::*;
pub use tags::*;
pub use trap::*;
pub use types::*;
pub use v128::*;
pub use values::*;
pub use vec::*;
pub use waot_ext::*;
pub use wasi::*;
