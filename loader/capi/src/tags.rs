//! waot.h: exception tags. A host makes tags to import, reads a module's through its exports,
//! throws exceptions into its wasm callers from host functions, and learns which tag an
//! exception that reached it has.

use crate::externs::{boxed, waot_tag_t, wasm_extern_t};
use crate::runtime::wasm_store_t;
use crate::trap::wasm_trap_t;
use crate::types::waot_tagtype_t;
use crate::values::store_kind;
use crate::vec::wasm_val_vec_t;
use waot::{Extern, Val};

/// A new tag of `ty`'s parameters (borrowed), or null for a parameter of no known kind.
#[no_mangle]
pub unsafe extern "C" fn waot_tag_new(
    store: *mut wasm_store_t,
    ty: *const waot_tagtype_t,
) -> *mut waot_tag_t {
    let Ok(params) = (*ty).params() else {
        return std::ptr::null_mut();
    };
    let data = (*store).data();
    boxed(data, Extern::Tag((*data).tag_new(&params))) as *mut waot_tag_t
}

/// The tag's type, the caller's to delete (kinds as `store_kind` reports them).
#[no_mangle]
pub unsafe extern "C" fn waot_tag_type(t: *const waot_tag_t) -> *mut waot_tagtype_t {
    let (store, h) = waot_tag_t::handle(t);
    let Ok(params) = store.tag_params(h) else {
        return std::ptr::null_mut();
    };
    let kinds: Vec<u8> = params.iter().map(|p| store_kind(*p)).collect();
    waot_tagtype_t::from_kinds(&kinds)
}

#[no_mangle]
pub unsafe extern "C" fn waot_tag_copy(t: *const waot_tag_t) -> *mut waot_tag_t {
    crate::externs::wasm_extern_copy(t as *const wasm_extern_t) as *mut waot_tag_t
}

/// Whether two handles name the same tag (exceptions of one are caught as the other's).
#[no_mangle]
pub unsafe extern "C" fn waot_tag_same(a: *const waot_tag_t, b: *const waot_tag_t) -> bool {
    // The stores compared as pointers: `handle` would make two `&mut` of one store.
    let tag = |t: *const waot_tag_t| match (*t).0.ext {
        crate::externs::Ext::Native(Extern::Tag(h)) => Some(h),
        _ => None,
    };
    std::ptr::eq((*a).0.store, (*b).0.store) && tag(a) == tag(b)
}

/// A trap that, returned by a host function, throws an exception of `tag` with `payload`
/// (borrowed) into the wasm code that called it, where a handler of the tag catches it; an
/// exception nothing catches reaches the host as the call's trap (`waot_trap_exception`).
/// Null when the tag is of another store, or the payload does not match its parameters (a
/// v128 parameter cannot be given in a `wasm_val_t`).
#[no_mangle]
pub unsafe extern "C" fn waot_trap_new_exception(
    store: *mut wasm_store_t,
    tag: *const waot_tag_t,
    payload: *const wasm_val_vec_t,
) -> *mut wasm_trap_t {
    let data = (*store).data();
    let (tag_store, h) = waot_tag_t::handle(tag);
    if !std::ptr::eq(tag_store, data) {
        return std::ptr::null_mut();
    }
    let values: Result<Vec<Val>, String> =
        (*payload).as_slice().iter().map(|v| v.to_val()).collect();
    let Ok(values) = values else {
        return std::ptr::null_mut();
    };
    match (*data).exception_new(h, &values) {
        Ok(trap) => Box::into_raw(Box::new(wasm_trap_t {
            trap,
            store: Some(data),
        })),
        Err(_) => std::ptr::null_mut(),
    }
}

/// The tag of the exception that no wasm handler caught, when that is what the trap is, and
/// the tag belongs to the store of the call (null otherwise).
#[no_mangle]
pub unsafe extern "C" fn waot_trap_exception_tag(t: *const wasm_trap_t) -> *mut waot_tag_t {
    let t = &*t;
    match (t.trap.exception(), t.store) {
        (Some(exn), Some(store)) if (*store).owns_exception(exn) => match exn.tag {
            Some(tag) => boxed(store, Extern::Tag(tag)) as *mut waot_tag_t,
            None => std::ptr::null_mut(),
        },
        _ => std::ptr::null_mut(),
    }
}
