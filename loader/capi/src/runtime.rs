//! Engines, stores, modules and instances.

use crate::externs::{new_extern, wasm_extern_t, Ext};
use crate::interp::{InterpExt, InterpStore};
use crate::trap::wasm_trap_t;
use crate::vec::{as_slice, wasm_byte_vec_t, wasm_extern_vec_t};
use crate::wasmi;
use runtime_support::module_info::ModuleInfo;
use std::cell::Cell;
use std::path::Path;
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use waot::interp::{self, SharedBudget};
use waot::{Artifact, ArtifactKind, Error, Module, NotNative, Store, StoreData, TrustPolicy};

/// An engine holds only where modules run: natively or compiled on load (the default), or
/// in the interpreter (`waot_engine_set_interpreter`).
pub struct wasm_engine_t {
    pub(crate) mode: AtomicU8,
}

/// Native code, or else the module compiled for this host (by `waotc`, through the cache).
pub const WAOT_INTERPRETER_NEVER: u8 = 0;
/// Native code, or else the interpreter: no compiler needed.
pub const WAOT_INTERPRETER_FALLBACK: u8 = 1;
/// The interpreter, always.
pub const WAOT_INTERPRETER_ALWAYS: u8 = 2;

#[no_mangle]
pub extern "C" fn wasm_engine_new() -> *mut wasm_engine_t {
    Box::into_raw(Box::new(wasm_engine_t {
        mode: AtomicU8::new(WAOT_INTERPRETER_NEVER),
    }))
}

#[no_mangle]
pub unsafe extern "C" fn wasm_engine_delete(e: *mut wasm_engine_t) {
    if !e.is_null() {
        drop(Box::from_raw(e));
    }
}

/// Where the modules loaded by this engine and its stores made from now on run; false, with
/// nothing changed, for an unknown mode.
#[no_mangle]
pub unsafe extern "C" fn waot_engine_set_interpreter(e: *mut wasm_engine_t, mode: u8) -> bool {
    if mode > WAOT_INTERPRETER_ALWAYS {
        return false;
    }
    (*e).mode.store(mode, Relaxed);
    true
}

pub struct wasm_store_t {
    pub(crate) store: Store,
    pub(crate) mode: u8,
    /// The interpreted side, made at its first use (`interp::of_store`).
    pub(crate) interp: Cell<*const InterpStore>,
    /// The interpreter's fuel and interruption, for all its instances.
    pub(crate) meter: SharedBudget,
    pub(crate) memory_limit: Cell<Option<u64>>,
}

impl wasm_store_t {
    /// The store's data, whose address is stable for the store's life.
    pub(crate) fn data(&mut self) -> *mut StoreData {
        &mut *self.store
    }
}

impl Drop for wasm_store_t {
    fn drop(&mut self) {
        let interp = self.interp.get();
        if !interp.is_null() {
            // SAFETY: made by `interp::of_store`, for this store alone; nothing of the store
            // runs as it is deleted.
            unsafe { crate::interp::delete(interp) };
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn wasm_store_new(engine: *mut wasm_engine_t) -> *mut wasm_store_t {
    let mut store = Store::new();
    // The interpreter spends the store's fuel, so one budget covers both sides, and the
    // store's refill callback serves both.
    let meter = SharedBudget::default();
    let _ = meter.fuel_account.set(store.fuel_account());
    let native = NativeStore(&mut *store);
    let _ = meter.refill.set(Box::new(move |need| {
        // SAFETY: the hook runs only inside an interpreted call, on the store's wasmi store,
        // which `wasm_store_t`'s drop frees before the native store (`interp::delete`); an
        // external used after its store is gone is outside the C API's rules, and function
        // references find a deleted store's side gone. The interpreter asks between slices,
        // on the thread the store is used from.
        unsafe { StoreData::refill_fuel_for(native.get(), need) }
    }));
    Box::into_raw(Box::new(wasm_store_t {
        store,
        mode: engine
            .as_ref()
            .map_or(WAOT_INTERPRETER_NEVER, |e| e.mode.load(Relaxed)),
        interp: Cell::new(std::ptr::null()),
        meter,
        memory_limit: Cell::new(None),
    }))
}

/// The native store, for the interpreter's refill hook: the C API makes its users call a store
/// from one thread at a time.
struct NativeStore(*mut StoreData);
// SAFETY: see above; the hook runs only while the store's interpreted side, which the store
// frees first, runs a call (`wasm_store_new`).
unsafe impl Send for NativeStore {}
unsafe impl Sync for NativeStore {}

impl NativeStore {
    /// The pointer (a method, so that the closure captures the whole `NativeStore`).
    fn get(&self) -> *mut StoreData {
        self.0
    }
}

/// Drops everything the store owns; host functions' finalizers run now, once each.
#[no_mangle]
pub unsafe extern "C" fn wasm_store_delete(s: *mut wasm_store_t) {
    if !s.is_null() {
        drop(Box::from_raw(s));
    }
}

pub struct wasm_module_t {
    pub(crate) module: Loaded,
}

/// A module's code: native, or the interpreter's.
pub(crate) enum Loaded {
    Native(Module),
    Interpreted(interp::Module),
}

impl wasm_module_t {
    pub(crate) fn info(&self) -> &ModuleInfo {
        match &self.module {
            Loaded::Native(m) => m.info(),
            Loaded::Interpreted(m) => m.info(),
        }
    }

    pub(crate) fn name(&self) -> &str {
        match &self.module {
            Loaded::Native(m) => m.name(),
            Loaded::Interpreted(m) => m.name(),
        }
    }

    pub(crate) fn native(&self) -> Option<&Module> {
        match &self.module {
            Loaded::Native(m) => Some(m),
            Loaded::Interpreted(_) => None,
        }
    }
}

/// A module from a file: native code of a `.so` or a trusted universal wasm, or a plain wasm
/// compiled through the cache. A universal wasm whose native code cannot run here (another
/// CPU or target, an untrusted signature, altered bytes) is compiled again for this host from
/// its wasm, through the same cache, by `waotc` (found beside the program or through `WAOTC`).
/// `mode` may make the interpreter run what has no native code here, or everything.
pub(crate) fn load_module(path: &Path, mode: u8) -> Result<Loaded, Error> {
    let artifact = Artifact::open(path)?;
    let interpret = |wasm: &[u8]| {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        interp::module(crate::interp::engine(), wasm)
            .map(|m| Loaded::Interpreted(m.named(name.as_deref().unwrap_or(""))))
            .map_err(|e| Error::Load(format!("{}: {e}", path.display())))
    };
    if mode == WAOT_INTERPRETER_ALWAYS {
        return interpret(&artifact.wasm()?);
    }
    let no_native = |reason: Option<String>| {
        let wasm = artifact.wasm()?;
        if mode == WAOT_INTERPRETER_FALLBACK {
            return interpret(&wasm);
        }
        Module::compile_cached(&wasm, path)
            .map(Loaded::Native)
            .map_err(|e| match reason {
                Some(reason) => Error::Load(format!(
                    "{}: its native code cannot run here ({reason}), and compiling its wasm \
                     failed: {e}",
                    path.display()
                )),
                None => e,
            })
    };
    if artifact.kind == ArtifactKind::PlainWasm {
        return no_native(None);
    }
    match Module::from_artifact(&artifact, &TrustPolicy::from_environment()?) {
        Ok(module) => Ok(Loaded::Native(module)),
        Err(NotNative::Refused(e)) => Err(e),
        Err(NotNative::Fallback(reason)) => no_native(Some(reason)),
    }
}

#[no_mangle]
pub unsafe extern "C" fn wasm_module_new(
    store: *mut wasm_store_t,
    binary: *const wasm_byte_vec_t,
) -> *mut wasm_module_t {
    let bytes = (*binary).as_slice();
    let suffix = if bytes.starts_with(b"\x7fELF") {
        ".so"
    } else {
        ".wasm"
    };
    let loaded = tempfile::Builder::new()
        .suffix(suffix)
        .tempfile()
        .map_err(|e| Error::Load(e.to_string()))
        .and_then(|mut f| {
            std::io::Write::write_all(&mut f, bytes).map_err(|e| Error::Load(e.to_string()))?;
            load_module(f.path(), store.as_ref().map_or(0, |s| s.mode))
        });
    match loaded {
        Ok(module) => Box::into_raw(Box::new(wasm_module_t { module })),
        Err(_) => std::ptr::null_mut(),
    }
}

#[no_mangle]
pub unsafe extern "C" fn wasm_module_delete(m: *mut wasm_module_t) {
    if !m.is_null() {
        drop(Box::from_raw(m));
    }
}

pub struct wasm_instance_t {
    store: *mut StoreData,
    instance: Instance,
}

enum Instance {
    Native(waot::Instance),
    Interpreted(*const InterpStore, interp::Instance),
}

#[no_mangle]
pub unsafe extern "C" fn wasm_instance_new(
    store: *mut wasm_store_t,
    module: *const wasm_module_t,
    imports: *const wasm_extern_vec_t,
    trap: *mut *mut wasm_trap_t,
) -> *mut wasm_instance_t {
    let data = (*store).data();
    let given = imports
        .as_ref()
        .map_or(&[][..], |v| as_slice(v.size, v.data));
    let report = |e: Error| {
        if !trap.is_null() {
            *trap = wasm_trap_t::of_call(Some(data), e);
        }
        std::ptr::null_mut()
    };
    // A null entry is an import nobody filled (`waot_wasi_imports` leaves the host's null).
    if let Some(i) = given.iter().position(|e| e.is_null()) {
        let m = format!("import {i} of {} is missing (null)", (*module).name());
        if !trap.is_null() {
            *trap = wasm_trap_t::from_message(&m);
        }
        return std::ptr::null_mut();
    }
    let instance = match &(*module).module {
        Loaded::Native(m) => given
            .iter()
            .map(|e| match &(**e).ext {
                Ext::Native(x) => Ok(*x),
                // Another store's would outlive its own store here.
                Ext::Interp(i) if !std::ptr::eq(i.store, (*store).interp.get()) => {
                    Err(Error::Link("an import of another store".into()))
                }
                Ext::Interp(i) => crate::interp::export_to_native(data, i).map(waot::Extern::Func),
            })
            .collect::<Result<Vec<_>, _>>()
            .and_then(|externs| (*data).instantiate(m, &externs))
            .map(Instance::Native),
        Loaded::Interpreted(m) => instantiate_interpreted(store, m, given),
    };
    match instance {
        Ok(instance) => Box::into_raw(Box::new(wasm_instance_t {
            store: data,
            instance,
        })),
        Err(e) => report(e),
    }
}

unsafe fn instantiate_interpreted(
    store: *mut wasm_store_t,
    module: &interp::Module,
    given: &[*mut wasm_extern_t],
) -> Result<Instance, Error> {
    let istore = crate::interp::of_store(store);
    if InterpStore::busy(istore) {
        return Err(Error::Usage(
            "an interpreted module cannot be instantiated by a host function that \
             interpreted code called"
                .into(),
        ));
    }
    let imports = &module.info().imports;
    if given.len() != imports.len() {
        return Err(Error::Link(format!(
            "the module has {} imports, given {}",
            imports.len(),
            given.len()
        )));
    }
    let mut linker = wasmi::Linker::new(crate::interp::engine());
    // wasmi links by name: two imports of one name must be given one external.
    linker.allow_shadowing(true);
    for (i, (import, e)) in imports.iter().zip(given).enumerate() {
        let first = imports
            .iter()
            .position(|x| x.module == import.module && x.name == import.name);
        if let Some(j) = first.filter(|&j| j < i && !same_entity(&(*given[j]).ext, &(**e).ext)) {
            return Err(Error::Link(format!(
                "imports {j} and {i} are both {}.{}, which the interpreter links by name: give \
                 both the same external",
                import.module, import.name
            )));
        }
        let ext = crate::interp::import(istore, &(**e).ext)
            .map_err(|e| Error::Link(format!("import {}.{}: {e}", import.module, import.name)))?;
        linker
            .define(&import.module, &import.name, ext)
            .map_err(|e| Error::Link(e.to_string()))?;
    }
    let instance = InterpStore::instantiate(istore, &linker, module, (*store).meter.clone())?;
    Ok(Instance::Interpreted(istore, instance))
}

/// Whether two externals are one function, memory, global or table (through two objects, or
/// one), which the interpreter may link to two imports of one name.
fn same_entity(a: &Ext, b: &Ext) -> bool {
    match (a, b) {
        (Ext::Native(x), Ext::Native(y)) => x == y,
        // wasmi's handles compare only through their contents, which `Debug` shows whole.
        (Ext::Interp(x), Ext::Interp(y)) => {
            std::ptr::eq(x.store, y.store) && format!("{:?}", x.ext) == format!("{:?}", y.ext)
        }
        _ => false,
    }
}

/// The instance's exports, in the module's order.
#[no_mangle]
pub unsafe extern "C" fn wasm_instance_exports(
    instance: *const wasm_instance_t,
    out: *mut wasm_extern_vec_t,
) {
    let i = &*instance;
    let externs = match &i.instance {
        Instance::Native(h) => {
            let store = &*i.store;
            store
                .export_names(*h)
                .iter()
                .filter_map(|name| store.get_export(*h, name))
                .map(|ext| Box::new(new_extern(i.store, Ext::Native(ext))))
                .collect()
        }
        Instance::Interpreted(istore, h) => h
            .info()
            .exports
            .iter()
            .filter_map(|e| {
                let ext = InterpStore::with(*istore, |s| h.wasmi().get_export(&s, &e.name))?;
                let ext = Ext::Interp(InterpExt {
                    store: *istore,
                    ext,
                    instance: Some(h.clone()),
                });
                Some(Box::new(new_extern(i.store, ext)))
            })
            .collect(),
    };
    out.write(wasm_extern_vec_t::from_boxes(externs));
}

#[no_mangle]
pub unsafe extern "C" fn wasm_instance_delete(i: *mut wasm_instance_t) {
    if !i.is_null() {
        drop(Box::from_raw(i));
    }
}
