//! Types: value, function, memory and global types.

use crate::values::{kind_of, type_of, wasm_valkind_t};
use crate::vec::wasm_valtype_vec_t;
use waot::ValType;

#[derive(Clone)]
pub struct wasm_valtype_t {
    pub(crate) kind: wasm_valkind_t,
}

#[no_mangle]
pub extern "C" fn wasm_valtype_new(kind: wasm_valkind_t) -> *mut wasm_valtype_t {
    Box::into_raw(Box::new(wasm_valtype_t { kind }))
}

#[no_mangle]
pub unsafe extern "C" fn wasm_valtype_kind(t: *const wasm_valtype_t) -> wasm_valkind_t {
    (*t).kind
}

#[no_mangle]
pub unsafe extern "C" fn wasm_valtype_copy(t: *const wasm_valtype_t) -> *mut wasm_valtype_t {
    Box::into_raw(Box::new((*t).clone()))
}

#[no_mangle]
pub unsafe extern "C" fn wasm_valtype_delete(t: *mut wasm_valtype_t) {
    if !t.is_null() {
        drop(Box::from_raw(t));
    }
}

pub struct wasm_functype_t {
    pub(crate) params: wasm_valtype_vec_t,
    pub(crate) results: wasm_valtype_vec_t,
}

impl wasm_functype_t {
    pub(crate) fn from_types(params: &[ValType], results: &[ValType]) -> Result<Self, String> {
        let boxes = |ts: &[ValType]| -> Result<Vec<Box<wasm_valtype_t>>, String> {
            ts.iter()
                .map(|t| {
                    kind_of(*t)
                        .map(|kind| Box::new(wasm_valtype_t { kind }))
                        .ok_or_else(|| format!("the C API has no kind for {t:?}"))
                })
                .collect()
        };
        Ok(wasm_functype_t {
            params: wasm_valtype_vec_t::from_boxes(boxes(params)?),
            results: wasm_valtype_vec_t::from_boxes(boxes(results)?),
        })
    }

    /// (params, results) as library types; an unknown kind is an error.
    pub(crate) fn types(&self) -> Result<(Vec<ValType>, Vec<ValType>), String> {
        let convert = |v: &wasm_valtype_vec_t| -> Result<Vec<ValType>, String> {
            v.as_slice()
                .iter()
                // SAFETY: a function type's vectors hold valid value types.
                .map(|p| unsafe { type_of((**p).kind) }.ok_or("unknown value kind".to_string()))
                .collect()
        };
        Ok((convert(&self.params)?, convert(&self.results)?))
    }
}

impl Drop for wasm_functype_t {
    fn drop(&mut self) {
        // SAFETY: the vectors are owned.
        unsafe {
            crate::vec::wasm_valtype_vec_delete(&mut self.params);
            crate::vec::wasm_valtype_vec_delete(&mut self.results);
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn wasm_functype_new(
    params: *mut wasm_valtype_vec_t,
    results: *mut wasm_valtype_vec_t,
) -> *mut wasm_functype_t {
    // Takes the vectors' contents; the caller's structs are left empty.
    let take = |v: *mut wasm_valtype_vec_t| {
        let taken = wasm_valtype_vec_t {
            size: (*v).size,
            data: (*v).data,
        };
        (*v).size = 0;
        (*v).data = std::ptr::null_mut();
        taken
    };
    Box::into_raw(Box::new(wasm_functype_t {
        params: take(params),
        results: take(results),
    }))
}

#[no_mangle]
pub unsafe extern "C" fn wasm_functype_params(
    t: *const wasm_functype_t,
) -> *const wasm_valtype_vec_t {
    &(*t).params
}

#[no_mangle]
pub unsafe extern "C" fn wasm_functype_results(
    t: *const wasm_functype_t,
) -> *const wasm_valtype_vec_t {
    &(*t).results
}

#[no_mangle]
pub unsafe extern "C" fn wasm_functype_copy(t: *const wasm_functype_t) -> *mut wasm_functype_t {
    let mut copy = wasm_functype_t {
        params: wasm_valtype_vec_t::from_boxes(Vec::new()),
        results: wasm_valtype_vec_t::from_boxes(Vec::new()),
    };
    crate::vec::wasm_valtype_vec_copy(&mut copy.params, &(*t).params);
    crate::vec::wasm_valtype_vec_copy(&mut copy.results, &(*t).results);
    Box::into_raw(Box::new(copy))
}

#[no_mangle]
pub unsafe extern "C" fn wasm_functype_delete(t: *mut wasm_functype_t) {
    if !t.is_null() {
        drop(Box::from_raw(t));
    }
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct wasm_limits_t {
    pub min: u32,
    pub max: u32,
}

pub const LIMITS_MAX_DEFAULT: u32 = u32::MAX;

pub struct wasm_memorytype_t {
    pub(crate) limits: wasm_limits_t,
}

#[no_mangle]
pub unsafe extern "C" fn wasm_memorytype_new(
    limits: *const wasm_limits_t,
) -> *mut wasm_memorytype_t {
    Box::into_raw(Box::new(wasm_memorytype_t { limits: *limits }))
}

#[no_mangle]
pub unsafe extern "C" fn wasm_memorytype_limits(
    t: *const wasm_memorytype_t,
) -> *const wasm_limits_t {
    &(*t).limits
}

#[no_mangle]
pub unsafe extern "C" fn wasm_memorytype_delete(t: *mut wasm_memorytype_t) {
    if !t.is_null() {
        drop(Box::from_raw(t));
    }
}

pub type wasm_mutability_t = u8;

pub struct wasm_globaltype_t {
    pub(crate) content: Box<wasm_valtype_t>,
    pub(crate) mutability: wasm_mutability_t,
}

#[no_mangle]
pub unsafe extern "C" fn wasm_globaltype_new(
    content: *mut wasm_valtype_t,
    mutability: wasm_mutability_t,
) -> *mut wasm_globaltype_t {
    Box::into_raw(Box::new(wasm_globaltype_t {
        content: Box::from_raw(content),
        mutability,
    }))
}

#[no_mangle]
pub unsafe extern "C" fn wasm_globaltype_content(
    t: *const wasm_globaltype_t,
) -> *const wasm_valtype_t {
    &*(*t).content
}

#[no_mangle]
pub unsafe extern "C" fn wasm_globaltype_mutability(
    t: *const wasm_globaltype_t,
) -> wasm_mutability_t {
    (*t).mutability
}

#[no_mangle]
pub unsafe extern "C" fn wasm_globaltype_delete(t: *mut wasm_globaltype_t) {
    if !t.is_null() {
        drop(Box::from_raw(t));
    }
}
