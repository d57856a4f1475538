//! `waot.h`'s WASI preview 1: a configuration (arguments, environment, preopened directories,
//! standard streams inherited or in memory), a context per store whose functions fill a
//! module's WASI imports, and the exit status of a guest that called `proc_exit`.

use crate::externs::{new_extern, Ext};
use crate::runtime::{wasm_module_t, wasm_store_t};
use crate::trap::wasm_trap_t;
use crate::vec::{report, wasm_byte_vec_t, wasm_extern_vec_t, wasm_message_t};
use std::ffi::{c_char, CStr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use waot::wasi::{self, Stdio, WasiConfig, WasiCtx};
use waot::{Linker, StoreData};

pub struct waot_wasi_config_t {
    config: WasiConfig,
}

unsafe fn text(s: *const c_char) -> String {
    CStr::from_ptr(s).to_string_lossy().into_owned()
}

#[no_mangle]
pub extern "C" fn waot_wasi_config_new() -> *mut waot_wasi_config_t {
    Box::into_raw(Box::new(waot_wasi_config_t {
        config: WasiConfig::default(),
    }))
}

#[no_mangle]
pub unsafe extern "C" fn waot_wasi_config_delete(c: *mut waot_wasi_config_t) {
    if !c.is_null() {
        drop(Box::from_raw(c));
    }
}

#[no_mangle]
pub unsafe extern "C" fn waot_wasi_config_arg(c: *mut waot_wasi_config_t, arg: *const c_char) {
    (*c).config.args.push(text(arg));
}

#[no_mangle]
pub unsafe extern "C" fn waot_wasi_config_env(
    c: *mut waot_wasi_config_t,
    name: *const c_char,
    value: *const c_char,
) {
    (*c).config.env.push((text(name), text(value)));
}

/// The host directory `host_path`, seen by the guest as `guest_path`. Opened (and checked)
/// when the context is made.
#[no_mangle]
pub unsafe extern "C" fn waot_wasi_config_preopen_dir(
    c: *mut waot_wasi_config_t,
    host_path: *const c_char,
    guest_path: *const c_char,
) {
    let host = PathBuf::from(text(host_path));
    (*c).config.preopen_dirs.push((text(guest_path), host));
}

/// Stream `fd` (0, 1 or 2) in memory: stdin reads `bytes` (may be null: empty) then end of
/// file; stdout and stderr are captured for `waot_wasi_output`. False for another fd.
#[no_mangle]
pub unsafe extern "C" fn waot_wasi_config_stdio_memory(
    c: *mut waot_wasi_config_t,
    fd: u32,
    bytes: *const wasm_byte_vec_t,
) -> bool {
    let Some(slot) = (*c).config.stdio.get_mut(fd as usize) else {
        return false;
    };
    let bytes = bytes.as_ref().map_or(Vec::new(), |b| b.as_slice().to_vec());
    *slot = Stdio::Memory(bytes);
    true
}

/// The most bytes the file of an in-memory stream may hold (`WasiConfig::capture_limit`).
#[no_mangle]
pub unsafe extern "C" fn waot_wasi_config_capture_limit(c: *mut waot_wasi_config_t, bytes: u64) {
    (*c).config.capture_limit = Some(bytes);
}

/// A store's WASI: the context its functions share, and those functions by name.
pub struct waot_wasi_t {
    ctx: Arc<Mutex<WasiCtx>>,
    linker: Linker,
    store: *mut StoreData,
    /// The whole store, whose interpreted side gets WASI functions of its own.
    owner: *mut wasm_store_t,
}

/// A WASI context for `store`, made from `config` (taken, even on failure). Null, with a
/// message, when a preopened directory cannot be opened.
#[no_mangle]
pub unsafe extern "C" fn waot_wasi_new(
    store: *mut wasm_store_t,
    config: *mut waot_wasi_config_t,
    error: *mut wasm_message_t,
) -> *mut waot_wasi_t {
    let config = Box::from_raw(config).config;
    let ctx = match WasiCtx::new(config) {
        Ok(ctx) => Arc::new(Mutex::new(ctx)),
        Err(e) => {
            report(error, &e);
            return std::ptr::null_mut();
        }
    };
    let data = (*store).data();
    let mut linker = Linker::new();
    wasi::add_to_linker(&mut linker, &mut *data, ctx.clone());
    Box::into_raw(Box::new(waot_wasi_t {
        ctx,
        linker,
        store: data,
        owner: store,
    }))
}

#[no_mangle]
pub unsafe extern "C" fn waot_wasi_delete(w: *mut waot_wasi_t) {
    if !w.is_null() {
        drop(Box::from_raw(w));
    }
}

/// The imports `module` needs, in the order `wasm_instance_new` takes them: a WASI function
/// for each WASI import, null for the others (the host fills those). Returns how many are
/// null.
#[no_mangle]
pub unsafe extern "C" fn waot_wasi_imports(
    w: *const waot_wasi_t,
    module: *const wasm_module_t,
    out: *mut wasm_extern_vec_t,
) -> usize {
    let w = &*w;
    let mut missing = 0;
    let interpreted = (*module).native().is_none();
    // One function for each name: the interpreter links imports by name.
    let mut made: std::collections::HashMap<&str, crate::interp::InterpExt> = Default::default();
    let imports = (*module)
        .info()
        .imports
        .iter()
        .map(|i| {
            let ext = match interpreted {
                false => w.linker.get(&i.module, &i.name).map(Ext::Native),
                true if i.module == waot::wasi::MODULE => match made.get(i.name.as_str()) {
                    Some(f) => Some(Ext::Interp(f.clone())),
                    None => {
                        let store = crate::interp::of_store(w.owner);
                        let f = crate::interp::wasi_func(store, &i.name, w.ctx.clone());
                        f.inspect(|f| _ = made.insert(&i.name, f.clone()))
                            .map(Ext::Interp)
                    }
                },
                true => None,
            };
            match ext {
                Some(ext) => Box::into_raw(Box::new(new_extern(w.store, ext))),
                None => {
                    missing += 1;
                    std::ptr::null_mut()
                }
            }
        })
        .collect::<Vec<_>>();
    let (size, data) = crate::vec::into_raw(imports);
    out.write(wasm_extern_vec_t { size, data });
    missing
}

/// What the guest wrote to stream `fd` (1 or 2) configured in memory, or stdin's bytes (0).
/// False for an inherited stream.
#[no_mangle]
pub unsafe extern "C" fn waot_wasi_output(
    w: *const waot_wasi_t,
    fd: u32,
    out: *mut wasm_byte_vec_t,
) -> bool {
    let ctx = (*w).ctx.lock().unwrap_or_else(|p| p.into_inner());
    match ctx.captured(fd) {
        Some(Ok(bytes)) => {
            out.write(wasm_byte_vec_t::from_vec(bytes));
            true
        }
        _ => false,
    }
}

/// The status a guest passed to WASI `proc_exit`, when that is what ended the call.
#[no_mangle]
pub unsafe extern "C" fn waot_trap_exit_status(t: *const wasm_trap_t, status: *mut i32) -> bool {
    match (*t).trap.exit_status {
        Some(s) => {
            if !status.is_null() {
                *status = s;
            }
            true
        }
        None => false,
    }
}
