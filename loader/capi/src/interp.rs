//! The interpreter behind the C API: a module whose native code cannot run here (or every
//! module, as the engine asks: `waot_engine_set_interpreter`) runs in wasmi, behind the same C
//! objects as native code. A store's interpreted instances share one wasmi store, made at the
//! first one; its functions, memories, globals and tables are externals of kind `Interp`.
//!
//! Functions cross between the two sides: a host function or a native instance's export
//! imported by an interpreted instance is called through a wasmi host function, and an
//! interpreted function imported by a native instance through a native host function.
//! Memories, globals and tables do not cross (each side has its own layout of them).
//! Function references of interpreted code reach C and come back to their own store's
//! interpreted code (`InterpretedFunc`), never to native code.

use crate::runtime::wasm_store_t;
use crate::wasmi;
use std::cell::Cell;
use std::sync::{Arc, Mutex, OnceLock};
use waot::interp::{self, HostTrap};
use waot::wasi::WasiCtx;
use waot::{Error, Extern, Func, StoreData, Trap, Val, ValType};
use wasmi::{AsContextMut, StoreContextMut};

/// What the wasmi store holds: the store's memory limit, which the memories of both sides
/// share (`NativeMemories`).
pub(crate) type Data = interp::MemoryLimiter;

/// The native side's memories, counted against the interpreter's limit: the interpreter's
/// growth counts them, and after it the native store's own limit is what the interpreter's
/// memories leave.
struct NativeMemories(*mut StoreData);

impl interp::SharedMemoryLimit for NativeMemories {
    fn bytes(&self) -> u64 {
        // SAFETY: the native store outlives its interpreted side.
        unsafe { (*self.0).memory_bytes() }
    }

    fn leave(&self, bytes: Option<u64>) {
        // SAFETY: as above.
        let native = unsafe { &mut *self.0 };
        let mut limits = native.resource_limits().clone();
        limits.total_memory_bytes = bytes;
        native.set_resource_limits(limits);
    }
}

/// A store's interpreted side.
pub(crate) struct InterpStore {
    store: std::cell::UnsafeCell<wasmi::Store<Data>>,
    /// The caller of the native function interpreted code is calling, if any: it holds the
    /// wasmi store until that call returns, so a call back into the interpreter (and every
    /// other use of the store meanwhile) goes through it.
    caller: Cell<*mut wasmi::Caller<'static, Data>>,
    /// The native store of the same `wasm_store_t`.
    native: *mut StoreData,
    /// Every instance, by `interp::Instance::id`: a function reference that left through one
    /// is called with its frames and budget (`InterpretedFunc::via`).
    instances: std::cell::RefCell<std::collections::HashMap<usize, interp::Instance>>,
    /// Unique in the process (`InterpretedFunc::owner`): an address could be a deleted
    /// store's, reused.
    id: usize,
    /// The wasmi object of each host value passed in an externref (`interp::to_wasmi_in`).
    extern_refs: std::cell::RefCell<interp::ExternRefs>,
}

static NEXT_STORE_ID: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);

/// Every live store's interpreted side by its id, for a function reference that names its
/// store by id (a deleted store's is not found).
fn live_stores() -> std::sync::MutexGuard<'static, std::collections::HashMap<usize, usize>> {
    static LIVE: OnceLock<Mutex<std::collections::HashMap<usize, usize>>> = OnceLock::new();
    LIVE.get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// The engine of every interpreted module and store: metered, so that fuel and interruption
/// apply (wasmi's engines have no other state that differs between users).
pub(crate) fn engine() -> &'static wasmi::Engine {
    static ENGINE: OnceLock<wasmi::Engine> = OnceLock::new();
    ENGINE.get_or_init(interp::engine_metered)
}

impl InterpStore {
    pub(crate) fn new(native: *mut StoreData, limit: Option<u64>) -> Self {
        let data = interp::MemoryLimiter::new(limit).sharing(Box::new(NativeMemories(native)));
        let mut store = wasmi::Store::new(engine(), data);
        store.limiter(|d| d as &mut dyn wasmi::ResourceLimiter);
        InterpStore {
            store: store.into(),
            caller: Cell::new(std::ptr::null_mut()),
            native,
            instances: Default::default(),
            id: NEXT_STORE_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            extern_refs: Default::default(),
        }
    }

    /// Runs `f` on the store, or on the caller of the host call in progress.
    ///
    /// # Safety
    /// `this` must be alive, and `f` must not keep what it is given.
    pub(crate) unsafe fn with<R>(
        this: *const InterpStore,
        f: impl FnOnce(StoreContextMut<'_, Data>) -> R,
    ) -> R {
        let caller = (*this).caller.get();
        if caller.is_null() {
            f((*(*this).store.get()).as_context_mut())
        } else {
            f((*caller).as_context_mut())
        }
    }

    /// Whether interpreted code is running (a host function of it is being called).
    pub(crate) unsafe fn busy(this: *const InterpStore) -> bool {
        !(*this).caller.get().is_null()
    }

    /// Instantiates `module` with `linker`, the instrumentation's memories uncounted.
    pub(crate) unsafe fn instantiate(
        this: *const InterpStore,
        linker: &wasmi::Linker<Data>,
        module: &interp::Module,
        meter: interp::SharedBudget,
    ) -> Result<interp::Instance, Error> {
        let store = &mut *(*this).store.get();
        store.data_mut().expect_instance_of(module);
        let instance = interp::instantiate_sharing(linker, store, module, meter);
        store.data_mut().instantiated();
        if let Ok(i) = &instance {
            (*this).instances.borrow_mut().insert(i.id(), i.clone());
        }
        instance
    }

    /// What names this store in its functions' references (`InterpretedFunc::owner`).
    ///
    /// # Safety
    /// `this` must be alive.
    pub(crate) unsafe fn owner(this: *const InterpStore) -> usize {
        (*this).id
    }

    /// Whether the store that names itself `owner` in its functions' references is alive.
    pub(crate) fn is_live(owner: usize) -> bool {
        live_stores().contains_key(&owner)
    }

    /// Function `f` as an external of its store, called with the frames and budget of the
    /// instance it left through; none once its store is deleted.
    pub(crate) unsafe fn func_ext(f: waot::InterpretedFunc) -> Option<InterpExt> {
        let this = *live_stores().get(&f.owner)? as *const InterpStore;
        Some(InterpExt {
            store: this,
            ext: wasmi::Extern::Func(f.func),
            instance: (*this).instances.borrow().get(&f.via).cloned(),
        })
    }

    /// Sets the store's memory limit, for both sides.
    pub(crate) unsafe fn set_memory_limit(this: *const InterpStore, bytes: Option<u64>) {
        Self::with(this, |mut s| s.data_mut().set_limit(bytes));
    }
}

/// An external of the interpreter.
#[derive(Clone)]
pub(crate) struct InterpExt {
    pub(crate) store: *const InterpStore,
    pub(crate) ext: wasmi::Extern,
    /// The instance a function belongs to, which gives its traps their backtrace and its
    /// calls their budget; none for a WASI function.
    pub(crate) instance: Option<interp::Instance>,
}

impl InterpExt {
    /// A value of interpreted code leaving through this object: a function reference says
    /// which store it is of and which instance it left through.
    fn crossing(&self, v: &wasmi::Val, ctx: &StoreContextMut<'_, Data>) -> Val {
        let via = self.instance.as_ref().map_or(0, interp::Instance::id);
        // SAFETY: an external's store outlives it (the C API's rule).
        let owner = unsafe { InterpStore::owner(self.store) };
        interp::from_wasmi_in(v, ctx, owner, via)
    }

    /// A value for interpreted code: a function reference only of this store's.
    fn entering(&self, v: &Val, ctx: StoreContextMut<'_, Data>) -> Result<wasmi::Val, Error> {
        // SAFETY: as above.
        let (owner, refs) = unsafe { (InterpStore::owner(self.store), &(*self.store).extern_refs) };
        interp::to_wasmi_in(v, ctx, owner, Some(refs))
    }
}

fn val_type(t: wasmi::ValType) -> ValType {
    match t {
        wasmi::ValType::I32 => ValType::I32,
        wasmi::ValType::I64 => ValType::I64,
        wasmi::ValType::F32 => ValType::F32,
        wasmi::ValType::F64 => ValType::F64,
        wasmi::ValType::V128 => ValType::V128,
        wasmi::ValType::FuncRef => ValType::FUNCREF,
        wasmi::ValType::ExternRef => ValType::EXTERNREF,
    }
}

/// A value for a table of element type `t`: a reference of that type from C, or the null
/// reference for `None`.
fn table_ref(
    e: &InterpExt,
    v: Option<&Val>,
    t: wasmi::RefType,
    ctx: &mut StoreContextMut<'_, Data>,
) -> Result<wasmi::Ref, Error> {
    let Some(v) = v else {
        return Ok(wasmi::Ref::null(t));
    };
    match (e.entering(v, ctx.as_context_mut())?, t) {
        (wasmi::Val::ExternRef(r), wasmi::RefType::Extern) => Ok(wasmi::Ref::Extern(r)),
        (wasmi::Val::FuncRef(r), wasmi::RefType::Func) => Ok(wasmi::Ref::Func(r)),
        _ => Err(Error::Usage(
            "a value of another type than the table's elements".into(),
        )),
    }
}

impl InterpExt {
    unsafe fn with<R>(&self, f: impl FnOnce(StoreContextMut<'_, Data>) -> R) -> R {
        InterpStore::with(self.store, f)
    }

    pub(crate) unsafe fn func_types(&self, f: wasmi::Func) -> (Vec<ValType>, Vec<ValType>) {
        let ty = self.with(|s| f.ty(&s));
        let types = |ts: &[wasmi::ValType]| ts.iter().map(|t| val_type(*t)).collect();
        (types(ty.params()), types(ty.results()))
    }

    /// Calls function `f` with `args` (checked by wasmi against its parameters).
    pub(crate) unsafe fn call(&self, f: wasmi::Func, args: &[Val]) -> Result<Vec<Val>, Error> {
        let owner = InterpStore::owner(self.store);
        self.with(|mut s| {
            let refs = Some(&(*self.store).extern_refs);
            interp::call_func_in(
                s.as_context_mut(),
                self.instance.as_ref(),
                f,
                args,
                owner,
                refs,
            )
        })
    }

    pub(crate) unsafe fn global_type(&self, g: wasmi::Global) -> (ValType, bool) {
        let ty = self.with(|s| g.ty(&s));
        (val_type(ty.content()), ty.mutability().is_mut())
    }

    pub(crate) unsafe fn global_get(&self, g: wasmi::Global) -> Result<Val, Error> {
        self.with(|s| Ok(self.crossing(&g.get(&s), &s)))
    }

    pub(crate) unsafe fn global_set(&self, g: wasmi::Global, v: &Val) -> Result<(), Error> {
        self.with(|mut s| {
            let v = self.entering(v, s.as_context_mut())?;
            g.set(s, v).map_err(|e| Error::Usage(e.to_string()))
        })
    }

    /// The memory's limits in pages.
    pub(crate) unsafe fn memory_type(&self, m: wasmi::Memory) -> (u64, Option<u64>) {
        let ty = self.with(|s| m.ty(&s));
        (ty.minimum(), ty.maximum())
    }

    pub(crate) unsafe fn memory_data(&self, m: wasmi::Memory) -> (*mut u8, usize) {
        self.with(|s| (m.data_ptr(&s), m.data_size(&s)))
    }

    pub(crate) unsafe fn memory_pages(&self, m: wasmi::Memory) -> u64 {
        self.with(|s| m.size(&s))
    }

    pub(crate) unsafe fn memory_grow(&self, m: wasmi::Memory, delta: u64) -> bool {
        self.with(|s| m.grow(s, delta).is_ok())
    }

    /// The table's element type and limits.
    pub(crate) unsafe fn table_type(&self, t: wasmi::Table) -> (ValType, u64, Option<u64>) {
        let ty = self.with(|s| t.ty(&s));
        let element = match ty.element() {
            wasmi::RefType::Func => ValType::FUNCREF,
            wasmi::RefType::Extern => ValType::EXTERNREF,
        };
        (element, ty.minimum(), ty.maximum())
    }

    pub(crate) unsafe fn table_size(&self, t: wasmi::Table) -> u64 {
        self.with(|s| t.size(&s))
    }

    /// Element `i`, or an error past the end.
    pub(crate) unsafe fn table_get(&self, t: wasmi::Table, i: u64) -> Result<Val, Error> {
        self.with(|s| {
            let r = t
                .get(&s, i)
                .ok_or_else(|| Error::Usage("past the table's end".into()))?;
            Ok(self.crossing(&wasmi::Val::from(r), &s))
        })
    }

    /// Sets element `i` to `v`, or to the null reference for `None`.
    pub(crate) unsafe fn table_set(
        &self,
        t: wasmi::Table,
        i: u64,
        v: Option<&Val>,
    ) -> Result<(), Error> {
        self.with(|mut s| {
            let r = table_ref(self, v, t.ty(&s).element(), &mut s)?;
            t.set(s, i, r).map_err(|e| Error::Usage(e.to_string()))
        })
    }

    pub(crate) unsafe fn table_grow(
        &self,
        t: wasmi::Table,
        delta: u64,
        v: Option<&Val>,
    ) -> Result<(), Error> {
        self.with(|mut s| {
            let r = table_ref(self, v, t.ty(&s).element(), &mut s)?;
            t.grow(s, delta, r)
                .map(drop)
                .map_err(|e| Error::Usage(e.to_string()))
        })
    }
}

/// A raw pointer a host function's closure keeps: the C API makes its users call a store
/// from one thread at a time.
struct Shared<T: ?Sized>(*const T);
// SAFETY: see above; the pointee outlives every function of its store.
unsafe impl<T: ?Sized> Send for Shared<T> {}
unsafe impl<T: ?Sized> Sync for Shared<T> {}

impl<T: ?Sized> Shared<T> {
    /// The pointer (a method, so that closures capture the whole `Shared`).
    fn get(&self) -> *const T {
        self.0
    }
}

/// Native function `f` of the store's native side, as a wasmi function an interpreted
/// instance can import: its calls go back to native code, with the wasmi store lent through
/// the caller (`InterpStore::caller`) meanwhile.
pub(crate) unsafe fn import_native_func(
    store: *const InterpStore,
    f: Func,
) -> Result<wasmi::Func, Error> {
    let native = Shared((*store).native);
    let sig = (*native.get()).func_signature(f)?;
    let to_wasmi = |ts: &[ValType]| {
        ts.iter()
            .map(|t| match t {
                ValType::Ref(r)
                    if *r != waot::RefType::FUNCREF && *r != waot::RefType::EXTERNREF =>
                {
                    Err(Error::Link(
                        "the interpreter takes no function with GC or typed references".into(),
                    ))
                }
                t => Ok(interp::to_wasmi_type(*t)),
            })
            .collect::<Result<Vec<_>, _>>()
    };
    let result_types = to_wasmi(&sig.results)?;
    let ty = wasmi::FuncType::new(to_wasmi(&sig.params)?, result_types.clone());
    let this = Shared(store);
    let body = move |mut caller: wasmi::Caller<'_, Data>,
                     args: &[wasmi::Val],
                     results: &mut [wasmi::Val]| {
        let (this, native) = (this.get(), native.get() as *mut StoreData);
        // A function of the interpreter means nothing to native code and host functions.
        let args = {
            let ctx = caller.as_context_mut();
            args.iter()
                .map(|a| match a {
                    wasmi::Val::FuncRef(f) if !f.is_null() => Err(Error::Usage(
                        "a function reference of interpreted code cannot be passed to native \
                         code or a host function"
                            .into(),
                    )),
                    a => Ok(interp::from_wasmi(a, &ctx)),
                })
                .collect::<Result<Vec<_>, _>>()
        };
        let args = args.map_err(|e| wasmi::Error::host(HostTrap(Trap::host(e.to_string()))))?;
        // SAFETY: the store outlives its functions; the caller is lent for this call only,
        // and taken back (for a nested host call, the one before restored) however the call
        // ends. A call back into the interpreter keeps this call's fuel apart itself
        // (`interp::call_func`).
        let outcome = unsafe {
            let _lent = Lent::new(&(*this).caller, &mut caller);
            (*native).call(f, &args)
        };
        let values = outcome.map_err(|e| match e {
            Error::Trap(t) => wasmi::Error::host(HostTrap(t)),
            e => wasmi::Error::host(HostTrap(Trap::host(e.to_string()))),
        })?;
        // wasmi takes a host function's results as raw bits: one of another type than the
        // declared would be read as that type (an externref's key as a function's).
        let refuse = |m: String| wasmi::Error::host(HostTrap(Trap::host(m)));
        for ((slot, v), t) in results.iter_mut().zip(&values).zip(&result_types) {
            let refs = Some(&(*this).extern_refs);
            let v = interp::to_wasmi_in(v, caller.as_context_mut(), InterpStore::owner(this), refs)
                .map_err(|e| refuse(e.to_string()))?;
            if v.ty() != *t {
                return Err(refuse(format!(
                    "a host function returned a {:?} where it declares {t:?}",
                    v.ty()
                )));
            }
            *slot = v;
        }
        Ok(())
    };
    Ok(InterpStore::with(store, |s| wasmi::Func::new(s, ty, body)))
}

/// The wasmi store lent through a host call's caller, until dropped.
struct Lent<'a> {
    cell: &'a Cell<*mut wasmi::Caller<'static, Data>>,
    before: *mut wasmi::Caller<'static, Data>,
}

impl<'a> Lent<'a> {
    fn new(
        cell: &'a Cell<*mut wasmi::Caller<'static, Data>>,
        caller: &mut wasmi::Caller<'_, Data>,
    ) -> Self {
        let lent: *mut wasmi::Caller<'_, Data> = caller;
        let before = cell.replace(lent.cast());
        Lent { cell, before }
    }
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        self.cell.set(self.before);
    }
}

/// Interpreted function `e` as a native host function a native instance can import.
pub(crate) unsafe fn export_to_native(
    native: *mut StoreData,
    e: &InterpExt,
) -> Result<Func, Error> {
    let wasmi::Extern::Func(f) = e.ext else {
        return Err(Error::Link(
            "a memory, global or table of interpreted code cannot be imported by native code"
                .into(),
        ));
    };
    let (params, results) = e.func_types(f);
    let owner = Owned(Box::into_raw(Box::new(e.clone())));
    let made = (*native).func_new(&params, &results, move |_caller, args, out| {
        // SAFETY: `owner` keeps the callee alive as long as this function.
        let values = unsafe { (*owner.get()).call(f, args) }.map_err(|e| match e {
            Error::Trap(t) => t,
            e => Trap::host(e.to_string()),
        })?;
        out.iter_mut().zip(values).for_each(|(o, v)| *o = v);
        Ok(())
    });
    Ok(made)
}

/// The box a native function made by `export_to_native` owns.
struct Owned(*mut InterpExt);

impl Owned {
    fn get(&self) -> *const InterpExt {
        self.0
    }
}
// SAFETY: as `Shared`.
unsafe impl Send for Owned {}
unsafe impl Sync for Owned {}
impl Drop for Owned {
    fn drop(&mut self) {
        // SAFETY: made by `Box::into_raw` for this owner alone.
        drop(unsafe { Box::from_raw(self.0) });
    }
}

/// A store's interpreted side, made at its first use.
pub(crate) unsafe fn of_store(s: *mut wasm_store_t) -> *const InterpStore {
    let existing = (*s).interp.get();
    if !existing.is_null() {
        return existing;
    }
    let native = (*s).data();
    let made = Box::into_raw(Box::new(InterpStore::new(native, (*s).memory_limit.get())));
    live_stores().insert((*made).id, made as usize);
    (*s).interp.set(made);
    made
}

/// Deletes a store's interpreted side.
///
/// # Safety
/// `this` was made by `of_store`, and nothing of it runs or is used afterwards.
pub(crate) unsafe fn delete(this: *const InterpStore) {
    live_stores().remove(&(*this).id);
    drop(Box::from_raw(this as *mut InterpStore));
}

/// Bytes of the interpreted side's memories (0 before it is made), the instrumentation's left
/// out.
pub(crate) unsafe fn memory_bytes(store: *const InterpStore) -> u64 {
    match store.is_null() {
        true => 0,
        false => InterpStore::with(store, |s| s.data().bytes()),
    }
}

/// The WASI function `name` on `ctx`, in the store's interpreted side.
pub(crate) unsafe fn wasi_func(
    store: *const InterpStore,
    name: &str,
    ctx: Arc<Mutex<WasiCtx>>,
) -> Option<InterpExt> {
    let f = InterpStore::with(store, |s| interp::wasi_func(s, name, ctx))?;
    Some(InterpExt {
        store,
        ext: wasmi::Extern::Func(f),
        instance: None,
    })
}

/// An import for an interpreted instance: its own kind of external, or a native function
/// wrapped.
pub(crate) unsafe fn import(
    store: *const InterpStore,
    ext: &crate::externs::Ext,
) -> Result<wasmi::Extern, Error> {
    use crate::externs::Ext;
    match ext {
        Ext::Interp(i) if std::ptr::eq(i.store, store) => Ok(i.ext),
        Ext::Interp(_) => Err(Error::Link("an import of another store".into())),
        Ext::Native(Extern::Func(f)) => Ok(wasmi::Extern::Func(import_native_func(store, *f)?)),
        Ext::Native(_) => Err(Error::Link(
            "interpreted code imports functions, and memories, globals and tables of \
             interpreted instances only: not a native one, nor one made by the host"
                .into(),
        )),
    }
}
