//! The public Rust surface: stores and what they own, modules, instantiation, linking, calls
//! and values. Everything here is re-exported at the crate root.

pub(crate) mod builtins;
pub(crate) mod exceptions;
pub(crate) mod gc;
pub(crate) mod handles;
pub(crate) mod instance;
pub(crate) mod limits;
pub(crate) mod linker;
pub(crate) mod module;
pub(crate) mod stats;
pub(crate) mod store;
pub(crate) mod typed;
pub(crate) mod values;
