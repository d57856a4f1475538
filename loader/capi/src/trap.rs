//! Traps and their frames.

use crate::runtime::wasm_store_t;
use crate::values::wasm_val_t;
use crate::vec::{message, wasm_frame_vec_t, wasm_message_t, wasm_val_vec_t, Element};
use waot::{Error, StoreData, Trap};

pub struct wasm_trap_t {
    pub(crate) trap: Trap,
    /// The store of the call that trapped, which owns an uncaught exception's references;
    /// none when the trap did not come from a call.
    pub(crate) store: Option<*mut StoreData>,
}

impl wasm_trap_t {
    pub(crate) fn of_call(store: Option<*mut StoreData>, e: Error) -> *mut wasm_trap_t {
        let trap = match e {
            Error::Trap(t) => t,
            other => Trap::host(other.to_string()),
        };
        Box::into_raw(Box::new(wasm_trap_t { trap, store }))
    }

    pub(crate) fn from_message(m: &str) -> *mut wasm_trap_t {
        Self::of_call(None, Error::Trap(Trap::host(m)))
    }
}

/// The payload of an exception no wasm handler caught, when that is what the trap is. A
/// value the C API has no kind for (v128, exnref) makes it false.
#[no_mangle]
pub unsafe extern "C" fn waot_trap_exception(
    t: *const wasm_trap_t,
    payload: *mut wasm_val_vec_t,
) -> bool {
    let t = &*t;
    let (Some(exn), Some(store)) = (t.trap.exception(), t.store) else {
        return false;
    };
    if !(*store).owns_exception(exn) {
        return false;
    }
    let mut values = Vec::with_capacity(exn.payload.len());
    for v in &exn.payload {
        match wasm_val_t::from_val(store, v) {
            Ok(c) => values.push(c),
            Err(_) => {
                // The references made so far are ours to free.
                values.iter_mut().for_each(Element::release);
                return false;
            }
        }
    }
    payload.write(wasm_val_vec_t::from_vec(values));
    true
}

#[derive(Clone)]
pub struct wasm_frame_t {
    func_index: u32,
}

#[no_mangle]
pub unsafe extern "C" fn wasm_trap_new(
    _store: *mut wasm_store_t,
    message: *const wasm_message_t,
) -> *mut wasm_trap_t {
    let bytes = (*message).as_slice();
    let text = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    wasm_trap_t::from_message(&String::from_utf8_lossy(text))
}

#[no_mangle]
pub unsafe extern "C" fn wasm_trap_message(t: *const wasm_trap_t, out: *mut wasm_message_t) {
    out.write(message(&(*t).trap.message));
}

/// The innermost guest frame, or null.
#[no_mangle]
pub unsafe extern "C" fn wasm_trap_origin(t: *const wasm_trap_t) -> *mut wasm_frame_t {
    (*t).trap
        .backtrace
        .first()
        .map_or(std::ptr::null_mut(), |f| {
            Box::into_raw(Box::new(wasm_frame_t {
                func_index: f.func_index,
            }))
        })
}

/// The guest frames, innermost first.
#[no_mangle]
pub unsafe extern "C" fn wasm_trap_trace(t: *const wasm_trap_t, out: *mut wasm_frame_vec_t) {
    let frames = (*t)
        .trap
        .backtrace
        .iter()
        .map(|f| {
            Box::new(wasm_frame_t {
                func_index: f.func_index,
            })
        })
        .collect();
    out.write(wasm_frame_vec_t::from_boxes(frames));
}

#[no_mangle]
pub unsafe extern "C" fn wasm_trap_delete(t: *mut wasm_trap_t) {
    if !t.is_null() {
        drop(Box::from_raw(t));
    }
}

#[no_mangle]
pub unsafe extern "C" fn wasm_frame_copy(f: *const wasm_frame_t) -> *mut wasm_frame_t {
    Box::into_raw(Box::new((*f).clone()))
}

#[no_mangle]
pub unsafe extern "C" fn wasm_frame_delete(f: *mut wasm_frame_t) {
    if !f.is_null() {
        drop(Box::from_raw(f));
    }
}

#[no_mangle]
pub unsafe extern "C" fn wasm_frame_func_index(f: *const wasm_frame_t) -> u32 {
    (*f).func_index
}
