//! Handles to what a store owns. Each carries the identity of its store, which is unique in
//! the process and never reused, and every method of a store checks it: a handle used with
//! another store, or after its store was dropped, is an error, never an access to memory that
//! is not the store's. Only a store makes handles; their fields are private. The one
//! exception is a function of the interpreter (`Func::interpreted`), which belongs to no
//! native store and which every native store refuses.

use crate::api::store::StoreData;
use crate::api::values::Val;
use crate::error::{Error, Result};
use runtime_support::vmctx::VmFuncRef;
use std::sync::atomic::{AtomicU64, Ordering};

/// The identity of a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StoreId(u64);

static NEXT_STORE: AtomicU64 = AtomicU64::new(1);

impl StoreId {
    /// No store: a function reference of the interpreter.
    pub(crate) const NONE: StoreId = StoreId(0);

    pub(crate) fn fresh() -> StoreId {
        StoreId(NEXT_STORE.fetch_add(1, Ordering::Relaxed))
    }
}

/// A function of a store: compiled code, or a host function not yet imported by an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Func {
    pub(crate) store: StoreId,
    pub(crate) kind: FuncKind,
}

// SAFETY: a `Func` is an identity; the pointer inside is dereferenced only by the store it
// belongs to (checked by `StoreData::owns`), under that store's `&mut`; an interpreted
// function's wasmi handle is two integers, and its `owner` is a number, never dereferenced.
unsafe impl Send for Func {}
unsafe impl Sync for Func {}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FuncKind {
    /// Reached through its `VmFuncRef`, inside an instance of the store.
    Wasm(*const VmFuncRef),
    /// An index into the store's host functions.
    Host(usize),
    /// A function reference produced by the interpreter, opaque to every store.
    Interpreted(InterpretedFunc),
}

/// A function of an interpreter's (wasmi) store as it leaves the interpreter: opaque to every
/// native store. `owner` names the interpreter's store for whoever hands the function back (the
/// C API: the address of a store's interpreted side; 0 when nobody will), since a wasmi store
/// panics at a function of another store (the interpreter layer's `to_wasmi_in` checks it).
/// `via` is the id of the interpreted instance it left through (0 if none), whose frames and
/// budget a call of it from the host uses.
#[derive(Clone, Copy, Debug)]
pub struct InterpretedFunc {
    pub owner: usize,
    pub via: usize,
    pub func: wasmi::Func,
}

impl PartialEq for InterpretedFunc {
    fn eq(&self, other: &Self) -> bool {
        // wasmi's handles have no equality; their debug form is their store and index.
        self.owner == other.owner && format!("{:?}", self.func) == format!("{:?}", other.func)
    }
}

impl Eq for InterpretedFunc {}

impl Func {
    pub(crate) fn wasm(store: StoreId, funcref: *const VmFuncRef) -> Func {
        Func {
            store,
            kind: FuncKind::Wasm(funcref),
        }
    }

    /// A function of the interpreter, which belongs to no native store.
    pub fn interpreted(f: InterpretedFunc) -> Func {
        Func {
            store: StoreId::NONE,
            kind: FuncKind::Interpreted(f),
        }
    }

    /// The interpreter's function this is, if it is one.
    pub fn as_interpreted(&self) -> Option<InterpretedFunc> {
        match self.kind {
            FuncKind::Interpreted(f) => Some(f),
            _ => None,
        }
    }
}

macro_rules! handles {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name {
            pub(crate) store: StoreId,
            pub(crate) index: usize,
        }

        impl $name {
            pub(crate) fn new(store: StoreId, index: usize) -> Self {
                $name { store, index }
            }
        }
    )*};
}

handles! {
    /// A linear memory.
    Memory;
    /// A table.
    Table;
    /// A global.
    Global;
    /// An instance of a module.
    Instance;
    /// An exception tag.
    Tag;
}

/// Something an instance imports or exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extern {
    Func(Func),
    Memory(Memory),
    Table(Table),
    Global(Global),
    Tag(Tag),
}

impl Extern {
    fn store(&self) -> StoreId {
        match self {
            Extern::Func(f) => f.store,
            Extern::Memory(m) => m.store,
            Extern::Table(t) => t.store,
            Extern::Global(g) => g.store,
            Extern::Tag(t) => t.store,
        }
    }
}

fn foreign(what: &str) -> Error {
    Error::Usage(format!(
        "the {what} belongs to another store, or to one that was dropped"
    ))
}

impl StoreData {
    pub fn id(&self) -> StoreId {
        self.id
    }

    /// An error unless `store` is this store.
    pub(crate) fn owns(&self, store: StoreId, what: &str) -> Result<()> {
        if store == self.id {
            Ok(())
        } else {
            Err(foreign(what))
        }
    }

    pub(crate) fn owns_extern(&self, ext: &Extern) -> Result<()> {
        self.owns(ext.store(), "import")
    }

    /// An error unless every reference `v` holds is one of this store's: a function of it, or
    /// a live exception object of its heap.
    pub(crate) fn owns_val(&self, v: &Val) -> Result<()> {
        match v {
            Val::FuncRef(Some(f)) => self.owns(f.store, "function reference"),
            Val::AnyRef(Some(a)) if a.as_i31().is_none() => {
                self.owns(a.store, "GC reference")?;
                match self.gc_heap.borrow().contains(a.raw) {
                    true => Ok(()),
                    false => Err(foreign("GC reference")),
                }
            }
            Val::ExnRef(Some(e)) => {
                self.owns(e.store, "exception reference")?;
                if self.exn_heap.borrow().contains(e.ptr) {
                    Ok(())
                } else {
                    Err(foreign("exception reference"))
                }
            }
            _ => Ok(()),
        }
    }
}
