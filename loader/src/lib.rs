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

pub mod artifact;
mod builtins;
pub mod cache;
pub mod code_registry;
mod error;
mod exceptions;
mod exn_heap;
mod file_bytes;
mod host_cpu;
mod instance;
pub mod interp;
mod linker;
mod memory;
mod module;
mod native_library;
mod signals;
mod signatures;
mod store;
mod table;
mod traps;
mod typed;
mod values;
pub mod wasi;
pub mod wast;

pub use artifact::{Artifact, ArtifactKind, NotNative, TrustPolicy};
pub use error::{Error, Result};
pub use exceptions::Exception;
pub use linker::Linker;
pub use module::Module;
pub use runtime_support::TrapCode;
pub use store::{Caller, Extern, Func, Global, Instance, Memory, Store, StoreData, Table, Tag};
pub use traps::Trap;
pub use typed::{TypedFunc, WasmParams, WasmResults, WasmTy};
pub use values::{ExnRef, Slot, Val};
pub use wasmparser::{GlobalType, RefType, ValType};
