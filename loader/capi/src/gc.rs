//! `waot.h`'s GC references: what a reference of the any hierarchy is, `i31` values, reading
//! struct fields and array elements, keeping and releasing them, and collecting. A GC
//! reference crosses the C API as a `wasm_ref_t` of the externref kind (wasm.h has no kind
//! for it) and reads go through the library, which checks the reference's kind and that its
//! store still knows the object (one released, or read in a host callback that has
//! returned, is an error). The reference's store must still exist, as for every object of
//! the C API.

use crate::runtime::wasm_store_t;
use crate::values::{wasm_ref_t, wasm_val_t};
use crate::vec::{report, wasm_message_t};
use waot::{AnyKind, AnyRef, StoreData, Val};

pub const WAOT_GC_NONE: u8 = 0;
pub const WAOT_GC_I31: u8 = 1;
pub const WAOT_GC_STRUCT: u8 = 2;
pub const WAOT_GC_ARRAY: u8 = 3;

/// The GC reference `r` holds, if any.
unsafe fn any_ref(r: *const wasm_ref_t) -> Option<(AnyRef, *mut StoreData)> {
    match r.as_ref()? {
        wasm_ref_t {
            val: Val::AnyRef(Some(a)),
            store,
            ..
        } => Some((*a, *store)),
        _ => None,
    }
}

/// What `r` is: an `i31`, a struct, an array, or none of them (null, or another reference).
#[no_mangle]
pub unsafe extern "C" fn waot_ref_gc_kind(r: *const wasm_ref_t) -> u8 {
    match any_ref(r).map(|(a, _)| a.kind()) {
        Some(AnyKind::I31) => WAOT_GC_I31,
        Some(AnyKind::Struct) => WAOT_GC_STRUCT,
        Some(AnyKind::Array) => WAOT_GC_ARRAY,
        None => WAOT_GC_NONE,
    }
}

/// An `i31` reference to the low 31 bits of `value`.
#[no_mangle]
pub unsafe extern "C" fn waot_ref_i31_new(store: *mut wasm_store_t, value: u32) -> *mut wasm_ref_t {
    wasm_ref_t::boxed((*store).data(), Val::AnyRef(Some(AnyRef::i31(value))))
}

/// The value of an `i31` reference, sign-extended (`i31.get_s`) when `signed` is true, else
/// zero-extended; false for another reference.
#[no_mangle]
pub unsafe extern "C" fn waot_ref_i31_get(
    r: *const wasm_ref_t,
    sign_extend: bool,
    out: *mut u32,
) -> bool {
    let Some(v) = any_ref(r).and_then(|(a, _)| a.as_i31()) else {
        return false;
    };
    if !out.is_null() {
        *out = match sign_extend {
            true => ((v << 1) as i32 >> 1) as u32,
            false => v,
        };
    }
    true
}

/// `f` applied to the GC object `r` names and its store; `None`, with the message in `error`,
/// when `r` is not one or `f` fails.
unsafe fn with_object<T>(
    r: *const wasm_ref_t,
    error: *mut wasm_message_t,
    f: impl FnOnce(AnyRef, *mut StoreData) -> Result<T, String>,
) -> Option<T> {
    let result = match any_ref(r) {
        Some((a, store)) => f(a, store),
        None => Err("not a struct or array reference".into()),
    };
    result.map_err(|m| report(error, &m)).ok()
}

/// Writes `v` to `out` as a value the caller owns (no reference is made when `out` is null).
unsafe fn give(store: *mut StoreData, v: Val, out: *mut wasm_val_t) -> Result<(), String> {
    if !out.is_null() {
        out.write(wasm_val_t::from_val(store, &v)?);
    }
    Ok(())
}

/// Field `field` of struct `r` (a packed field zero-extended to i32; a reference field's value
/// owns a new reference); false, with a message in `error`, for another reference or a field
/// it does not have.
#[no_mangle]
pub unsafe extern "C" fn waot_ref_struct_get(
    r: *const wasm_ref_t,
    field: u32,
    out: *mut wasm_val_t,
    error: *mut wasm_message_t,
) -> bool {
    with_object(r, error, |a, store| {
        let v = (*store).struct_field(a, field).map_err(|e| e.to_string())?;
        give(store, v, out)
    })
    .is_some()
}

/// The length of array `r`; false, with a message in `error`, for another reference.
#[no_mangle]
pub unsafe extern "C" fn waot_ref_array_len(
    r: *const wasm_ref_t,
    out: *mut u32,
    error: *mut wasm_message_t,
) -> bool {
    with_object(r, error, |a, store| {
        let n = (*store).array_len(a).map_err(|e| e.to_string())?;
        if !out.is_null() {
            *out = n;
        }
        Ok(())
    })
    .is_some()
}

/// Element `index` of array `r`, as `waot_ref_struct_get` gives a field.
#[no_mangle]
pub unsafe extern "C" fn waot_ref_array_get(
    r: *const wasm_ref_t,
    index: u32,
    out: *mut wasm_val_t,
    error: *mut wasm_message_t,
) -> bool {
    with_object(r, error, |a, store| {
        let v = (*store).array_get(a, index).map_err(|e| e.to_string())?;
        give(store, v, out)
    })
    .is_some()
}

/// Keeps the object `r` names for the store's lifetime (a read inside a host callback is
/// otherwise valid for that call only); false, with a message, for a reference the store does
/// not know.
#[no_mangle]
pub unsafe extern "C" fn waot_ref_gc_keep(
    r: *const wasm_ref_t,
    error: *mut wasm_message_t,
) -> bool {
    with_object(r, error, |a, store| {
        (*store).gc_keep(a).map_err(|e| e.to_string())
    })
    .is_some()
}

/// Lets the store free the object `r` names once nothing else reaches it (what the host
/// reads outside host callbacks is kept until then); `r` and its copies name nothing after.
#[no_mangle]
pub unsafe extern "C" fn waot_ref_gc_release(r: *const wasm_ref_t) {
    if let Some((a, store)) = any_ref(r) {
        (*store).gc_release(a);
    }
}

/// The store's GC activity: collections, pauses (each step of incremental marking is one),
/// the longest and total pause in nanoseconds, and the bytes of the heap.
#[repr(C)]
pub struct waot_gc_stats_t {
    pub collections: u64,
    pub pauses: u64,
    pub longest_pause_ns: u64,
    pub total_pause_ns: u64,
    pub heap_bytes: u64,
}

/// Frees every struct and array of the store that nothing can reach (see `collect_garbage`).
#[no_mangle]
pub unsafe extern "C" fn waot_store_gc(store: *mut wasm_store_t) {
    (*(*store).data()).collect_garbage();
}

#[no_mangle]
pub unsafe extern "C" fn waot_store_gc_stats(
    store: *const wasm_store_t,
    out: *mut waot_gc_stats_t,
) {
    let s = (*store).store.gc_stats();
    out.write(waot_gc_stats_t {
        collections: s.collections,
        pauses: s.pauses,
        longest_pause_ns: s.longest_pause.as_nanos() as u64,
        total_pause_ns: s.total_pause.as_nanos() as u64,
        heap_bytes: s.heap_bytes as u64,
    });
}

/// `n` values at `values` as the library's (a v128 or an unknown kind is an error).
unsafe fn library_vals(values: *const wasm_val_t, n: usize) -> Result<Vec<Val>, String> {
    crate::vec::as_slice(n, values)
        .iter()
        .map(|v| v.to_val())
        .collect()
}

/// `set` applied to the GC object `r` names, its store and `value` as the library's value.
unsafe fn set(
    r: *const wasm_ref_t,
    value: *const wasm_val_t,
    error: *mut wasm_message_t,
    set: impl FnOnce(&mut StoreData, AnyRef, Val) -> waot::Result<()>,
) -> bool {
    with_object(r, error, |a, store| {
        let v = (*value).to_val()?;
        set(&mut *store, a, v).map_err(|e| e.to_string())
    })
    .is_some()
}

/// Sets mutable field `field` of struct `r` to `value` (an i32 for a packed field, truncated),
/// checked against the field's type as a call's argument is; false, with a message in `error`,
/// for another reference, an immutable or missing field, or a value of the wrong type or store.
#[no_mangle]
pub unsafe extern "C" fn waot_ref_struct_set(
    r: *const wasm_ref_t,
    field: u32,
    value: *const wasm_val_t,
    error: *mut wasm_message_t,
) -> bool {
    set(r, value, error, |s, a, v| s.struct_set(a, field, v))
}

/// Sets element `index` of mutable array `r`, as `waot_ref_struct_set` sets a field.
#[no_mangle]
pub unsafe extern "C" fn waot_ref_array_set(
    r: *const wasm_ref_t,
    index: u32,
    value: *const wasm_val_t,
    error: *mut wasm_message_t,
) -> bool {
    set(r, value, error, |s, a, v| s.array_set(a, index, v))
}

/// `make` applied to the canonical id of `module`'s type `type_index`, the object it makes
/// returned as a reference the caller owns (kept by the store as a read is); null, with the
/// message in `error`, when it fails.
unsafe fn new_object(
    store: *mut wasm_store_t,
    module: *const crate::runtime::wasm_module_t,
    type_index: u32,
    error: *mut wasm_message_t,
    make: impl FnOnce(&mut StoreData, u64) -> waot::Result<Val>,
) -> *mut wasm_ref_t {
    let data = (*store).data();
    let made = (*module)
        .native()
        .ok_or_else(|| "an interpreted module has no GC types".to_string())
        .and_then(|m| {
            m.type_id(type_index)
                .ok_or_else(|| format!("the module has no type {type_index}"))
        })
        .and_then(|id| make(&mut *data, id).map_err(|e| e.to_string()));
    match made {
        Ok(v) => wasm_ref_t::from_val(data, v),
        Err(m) => {
            report(error, &m);
            std::ptr::null_mut()
        }
    }
}

/// A new struct of `module`'s struct type `type_index` with one value per field (borrowed; an
/// i32 for a packed field, truncated), in `store`.
#[no_mangle]
pub unsafe extern "C" fn waot_ref_struct_new(
    store: *mut wasm_store_t,
    module: *const crate::runtime::wasm_module_t,
    type_index: u32,
    fields: *const wasm_val_t,
    n: usize,
    error: *mut wasm_message_t,
) -> *mut wasm_ref_t {
    new_object(store, module, type_index, error, |s, id| {
        let vals = library_vals(fields, n).map_err(waot::Error::Usage)?;
        s.struct_new(id, &vals)
    })
}

/// A new array of `module`'s array type `type_index` holding the `n` values at `elements`.
#[no_mangle]
pub unsafe extern "C" fn waot_ref_array_new(
    store: *mut wasm_store_t,
    module: *const crate::runtime::wasm_module_t,
    type_index: u32,
    elements: *const wasm_val_t,
    n: usize,
    error: *mut wasm_message_t,
) -> *mut wasm_ref_t {
    new_object(store, module, type_index, error, |s, id| {
        let vals = library_vals(elements, n).map_err(waot::Error::Usage)?;
        s.array_new(id, &vals)
    })
}
