//! The waot runtime and embedding API.
//!
//! ```no_run
//! use waot::{Linker, Module, Store, Val};
//! let module = Module::from_file("app.so")?;
//! let mut store = Store::new();
//! let instance = Linker::new().instantiate(&mut store, &module)?;
//! let add = store.get_func(instance, "add").unwrap();
//! let sum = store.call(add, &[Val::I32(1), Val::I32(2)])?;
//! assert_eq!(sum, vec![Val::I32(3)]);
//! # Ok::<(), waot::Error>(())
//! ```
//!
//! A module is a shared object made by `waotc`; loading checks its metadata, target, CPU
//! features and embedded wasm before any of its code is mapped. A trap in guest code comes
//! back as `Error::Trap`, never as a crash of the host.
//!
//! Safe code cannot make the runtime touch memory that is not what it seems. Handles carry
//! their store's identity, checked on every use; values are type-checked in both directions;
//! and what must not be forged cannot be written outside this crate:
//!
//! ```compile_fail
//! // A function handle cannot be made from a pointer.
//! let f = waot::Func::Wasm(std::ptr::null());
//! ```
//!
//! ```compile_fail
//! // Only wasm's number types are typed-call types: no type can claim to be a reference.
//! #[derive(Clone, Copy)]
//! struct Fake(u64);
//! impl waot::WasmTy for Fake {
//!     const TYPE: waot::ValType = waot::ValType::FUNCREF;
//!     fn store(self, _: &mut waot::Slot) {}
//!     fn load(_: &waot::Slot) -> Self { Fake(0) }
//! }
//! ```
//!
//! ```compile_fail
//! // Two stores cannot exchange their contents: compiled code holds their addresses.
//! let (mut a, mut b) = (waot::Store::new(), waot::Store::new());
//! std::mem::swap(&mut *a, &mut *b);
//! ```

mod api;
pub mod artifact;
mod error;
pub mod interp;
mod vm;
pub mod wasi;
pub mod wast;

pub use api::exceptions::Exception;
pub use api::limits::{FuelRefill, ResourceLimits};
pub use api::linker::Linker;
pub use api::module::Module;
pub use api::stats::StoreStats;
pub use api::store::{
    Caller, Extern, Func, Global, Instance, InterpretedFunc, Memory, Store, StoreData, StoreId,
    Table, Tag,
};
pub use api::typed::{PreparedCall, RawCall, TypedFunc, WasmParams, WasmResults, WasmTy};
pub use api::values::{AnyKind, AnyRef, ExnRef, Slot, Val, MAX_EXTERN};
pub use artifact::{Artifact, ArtifactKind, NotNative, TrustPolicy};
pub use error::{Error, Result};
pub use runtime_support::TrapCode;
pub use vm::code_registry::FrameInfo;
pub use vm::gc_heap::GcStats;
pub use vm::limits::{FuelAccount, InterruptHandle};
pub use vm::memory::SharedMemory;
pub use vm::signatures::is_function_type;
pub use vm::traps::Trap;
pub use wasmparser::{GlobalType, RefType, ValType};
