//! Engines, stores, modules and instances.

use crate::trap::wasm_trap_t;
use crate::vec::{as_slice, wasm_byte_vec_t, wasm_extern_vec_t};
use std::path::Path;
use waot::{Artifact, ArtifactKind, Error, Module, NotNative, Store, StoreData, TrustPolicy};

/// waot has no engine-wide state: every engine is the same.
pub struct wasm_engine_t {
    _private: (),
}

#[no_mangle]
pub extern "C" fn wasm_engine_new() -> *mut wasm_engine_t {
    Box::into_raw(Box::new(wasm_engine_t { _private: () }))
}

#[no_mangle]
pub unsafe extern "C" fn wasm_engine_delete(e: *mut wasm_engine_t) {
    if !e.is_null() {
        drop(Box::from_raw(e));
    }
}

pub struct wasm_store_t {
    pub(crate) store: Store,
}

impl wasm_store_t {
    /// The store's data, whose address is stable for the store's life.
    pub(crate) fn data(&mut self) -> *mut StoreData {
        &mut *self.store
    }
}

#[no_mangle]
pub extern "C" fn wasm_store_new(_engine: *mut wasm_engine_t) -> *mut wasm_store_t {
    Box::into_raw(Box::new(wasm_store_t {
        store: Store::new(),
    }))
}

/// Drops everything the store owns; host functions' finalizers run now, once each.
#[no_mangle]
pub unsafe extern "C" fn wasm_store_delete(s: *mut wasm_store_t) {
    if !s.is_null() {
        drop(Box::from_raw(s));
    }
}

pub struct wasm_module_t {
    pub(crate) module: Module,
}

/// A module from a file: native code of a `.so` or a trusted universal wasm, or a plain wasm
/// compiled through the cache. A universal wasm whose native code cannot run here (another
/// CPU or target, an untrusted signature, altered bytes) is compiled again for this host from
/// its wasm, through the same cache: the C API has no interpreter, so its fallback is
/// `waotc` (found beside the program or through `WAOTC`).
pub(crate) fn load_module(path: &Path) -> Result<Module, Error> {
    let artifact = Artifact::open(path)?;
    if artifact.kind == ArtifactKind::PlainWasm {
        return Module::compile_cached(&artifact.wasm()?, path);
    }
    match Module::from_artifact(&artifact, &TrustPolicy::from_environment()?) {
        Ok(module) => Ok(module),
        Err(NotNative::Refused(e)) => Err(e),
        Err(NotNative::Fallback(reason)) => Module::compile_cached(&artifact.wasm()?, path)
            .map_err(|e| {
                Error::Load(format!(
                    "{}: its native code cannot run here ({reason}), and compiling its wasm \
                     failed: {e}",
                    path.display()
                ))
            }),
    }
}

#[no_mangle]
pub unsafe extern "C" fn wasm_module_new(
    _store: *mut wasm_store_t,
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
            load_module(f.path())
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
    instance: waot::Instance,
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
    // A null entry is an import nobody filled (`waot_wasi_imports` leaves the host's null).
    if let Some(i) = given.iter().position(|e| e.is_null()) {
        if !trap.is_null() {
            let m = format!(
                "import {i} of {} is missing (null)",
                (*module).module.name()
            );
            *trap = wasm_trap_t::from_message(&m);
        }
        return std::ptr::null_mut();
    }
    let externs: Vec<waot::Extern> = given.iter().map(|e| (**e).ext).collect();
    match (*data).instantiate(&(*module).module, &externs) {
        Ok(instance) => Box::into_raw(Box::new(wasm_instance_t {
            store: data,
            instance,
        })),
        Err(e) => {
            if !trap.is_null() {
                *trap = wasm_trap_t::of_call(Some(data), e);
            }
            std::ptr::null_mut()
        }
    }
}

/// The instance's exports, in the module's order.
#[no_mangle]
pub unsafe extern "C" fn wasm_instance_exports(
    instance: *const wasm_instance_t,
    out: *mut wasm_extern_vec_t,
) {
    let i = &*instance;
    let store = &*i.store;
    let externs = store
        .export_names(i.instance)
        .iter()
        .filter_map(|name| store.get_export(i.instance, name))
        .map(|ext| Box::new(crate::externs::new_extern(i.store, ext)))
        .collect();
    out.write(wasm_extern_vec_t::from_boxes(externs));
}

#[no_mangle]
pub unsafe extern "C" fn wasm_instance_delete(i: *mut wasm_instance_t) {
    if !i.is_null() {
        drop(Box::from_raw(i));
    }
}
