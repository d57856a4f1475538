//! `waot.h`: loading artifacts from files, trap codes, fuel, interruption, memory limits.

use crate::runtime::{load_module, wasm_engine_t, wasm_module_t, wasm_store_t};
use crate::trap::wasm_trap_t;
use crate::vec::{report, wasm_byte_vec_t, wasm_message_t};
use std::ffi::{c_char, CStr};
use std::path::Path;
use waot::InterruptHandle;

#[no_mangle]
pub unsafe extern "C" fn waot_module_load(
    engine: *mut wasm_engine_t,
    path: *const c_char,
    error: *mut wasm_message_t,
) -> *mut wasm_module_t {
    let path = CStr::from_ptr(path).to_string_lossy();
    let mode = engine
        .as_ref()
        .map_or(0, |e| e.mode.load(std::sync::atomic::Ordering::Relaxed));
    match load_module(Path::new(&*path), mode) {
        Ok(module) => Box::into_raw(Box::new(wasm_module_t { module })),
        Err(e) => {
            report(error, &e.to_string());
            std::ptr::null_mut()
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn waot_module_interpreted(module: *const wasm_module_t) -> bool {
    (*module).native().is_none()
}

/// The profile of a module compiled with `--profile-generate`, as `wrun --profile-out`
/// writes it; false, and `out` empty, for other modules.
#[no_mangle]
pub unsafe extern "C" fn waot_module_profile(
    module: *const wasm_module_t,
    out: *mut wasm_byte_vec_t,
) -> bool {
    let profile = (*module).native().and_then(|m| m.profile());
    let text = profile.as_ref().map(|p| p.render().into_bytes());
    out.write(wasm_byte_vec_t::from_vec(text.unwrap_or_default()));
    profile.is_some()
}

#[no_mangle]
pub unsafe extern "C" fn waot_trap_code(t: *const wasm_trap_t, code: *mut u32) -> bool {
    match (*t).trap.code {
        Some(c) => {
            if !code.is_null() {
                *code = c as u32;
            }
            true
        }
        None => false,
    }
}

#[no_mangle]
pub unsafe extern "C" fn waot_store_set_fuel(
    store: *mut wasm_store_t,
    fuel: u64,
    error: *mut wasm_message_t,
) -> bool {
    match (*store).store.set_fuel(fuel) {
        Ok(()) => true,
        Err(e) => {
            report(error, &e.to_string());
            false
        }
    }
}

/// Sets (or, for null, removes) the store's fuel refill callback, for both sides.
#[no_mangle]
pub unsafe extern "C" fn waot_store_set_fuel_refill(
    store: *mut wasm_store_t,
    refill: Option<unsafe extern "C" fn(*mut std::ffi::c_void) -> u64>,
    env: *mut std::ffi::c_void,
    finalizer: Option<unsafe extern "C" fn(*mut std::ffi::c_void)>,
) {
    let env = crate::externs::Env { env, finalizer };
    match refill {
        Some(refill) => (*store).store.set_fuel_refill(move || {
            // The whole `Env` (not its field), whose drop runs the finalizer.
            let env = &env;
            // SAFETY: the embedder's callback with its own environment, on the guest's thread.
            unsafe { refill(env.env) }
        }),
        None => {
            (*store).store.clear_fuel_refill();
            drop(env);
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn waot_store_fuel_consumed(store: *const wasm_store_t) -> u64 {
    // The interpreter's included: it spends from the store's fuel.
    (*store).store.fuel_consumed()
}

pub struct waot_interrupt_handle_t {
    handle: InterruptHandle,
}

#[no_mangle]
pub unsafe extern "C" fn waot_store_interrupt_handle(
    store: *mut wasm_store_t,
    error: *mut wasm_message_t,
) -> *mut waot_interrupt_handle_t {
    match (*store).store.interrupt_handle() {
        Ok(handle) => {
            // The interpreter takes the same interrupts.
            let meter = &(*store).meter;
            let _ = meter.interrupts.set(handle.clone());
            Box::into_raw(Box::new(waot_interrupt_handle_t { handle }))
        }
        Err(e) => {
            report(error, &e.to_string());
            std::ptr::null_mut()
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn waot_interrupt_handle_interrupt(h: *const waot_interrupt_handle_t) {
    (*h).handle.interrupt();
}

#[no_mangle]
pub unsafe extern "C" fn waot_interrupt_handle_delete(h: *mut waot_interrupt_handle_t) {
    if !h.is_null() {
        drop(Box::from_raw(h));
    }
}

#[no_mangle]
pub unsafe extern "C" fn waot_store_set_memory_limit(store: *mut wasm_store_t, bytes: u64) {
    (*store).memory_limit.set(Some(bytes));
    let interp = (*store).interp.get();
    if interp.is_null() {
        let mut limits = (*store).store.resource_limits().clone();
        limits.total_memory_bytes = Some(bytes);
        (*store).store.set_resource_limits(limits);
    } else {
        // The interpreter's memories take their share of the limit.
        crate::interp::InterpStore::set_memory_limit(interp, Some(bytes));
    }
}

/// `StoreStats` for C.
#[repr(C)]
pub struct waot_store_stats_t {
    pub fuel_consumed: u64,
    pub memory_bytes: u64,
    pub table_elements: u64,
    pub instances: u64,
    pub live_exceptions: u64,
}

#[no_mangle]
pub unsafe extern "C" fn waot_store_stats(
    store: *const wasm_store_t,
    out: *mut waot_store_stats_t,
) {
    let s = (*store).store.stats();
    out.write(waot_store_stats_t {
        fuel_consumed: waot_store_fuel_consumed(store),
        memory_bytes: s.memory_bytes + crate::interp::memory_bytes((*store).interp.get()),
        table_elements: s.table_elements,
        instances: s.instances as u64,
        live_exceptions: s.live_exceptions as u64,
    });
}
