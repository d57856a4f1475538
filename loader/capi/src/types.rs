//! Types: value types, and the external types (function, global, memory, table), which share
//! one representation so that `wasm_functype_as_externtype` and its kin return their argument.

use crate::values::{type_of, wasm_valkind_t};
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

#[repr(C)]
#[derive(Clone, Copy)]
pub struct wasm_limits_t {
    pub min: u32,
    pub max: u32,
}

pub const LIMITS_MAX_DEFAULT: u32 = u32::MAX;

pub type wasm_mutability_t = u8;

/// What an external type is.
pub(crate) enum ExternType {
    Func {
        params: wasm_valtype_vec_t,
        results: wasm_valtype_vec_t,
    },
    Global {
        content: Box<wasm_valtype_t>,
        mutability: wasm_mutability_t,
    },
    Table {
        element: Box<wasm_valtype_t>,
        limits: wasm_limits_t,
    },
    Memory {
        limits: wasm_limits_t,
    },
    /// waot.h: an exception tag, of its parameters.
    Tag {
        params: wasm_valtype_vec_t,
    },
}

pub struct wasm_externtype_t {
    pub(crate) ty: ExternType,
}

impl Clone for wasm_externtype_t {
    fn clone(&self) -> Self {
        let ty = match &self.ty {
            ExternType::Func { params, results } => {
                let mut copy = (empty_vec(), empty_vec());
                // SAFETY: both vectors are owned and valid.
                unsafe {
                    crate::vec::wasm_valtype_vec_copy(&mut copy.0, params);
                    crate::vec::wasm_valtype_vec_copy(&mut copy.1, results);
                }
                ExternType::Func {
                    params: copy.0,
                    results: copy.1,
                }
            }
            ExternType::Global {
                content,
                mutability,
            } => ExternType::Global {
                content: content.clone(),
                mutability: *mutability,
            },
            ExternType::Table { element, limits } => ExternType::Table {
                element: element.clone(),
                limits: *limits,
            },
            ExternType::Memory { limits } => ExternType::Memory { limits: *limits },
            ExternType::Tag { params } => {
                let mut copy = empty_vec();
                // SAFETY: the vector is owned and valid.
                unsafe { crate::vec::wasm_valtype_vec_copy(&mut copy, params) };
                ExternType::Tag { params: copy }
            }
        };
        wasm_externtype_t { ty }
    }
}

impl Drop for wasm_externtype_t {
    fn drop(&mut self) {
        // SAFETY: the vectors are owned.
        unsafe {
            match &mut self.ty {
                ExternType::Func { params, results } => {
                    crate::vec::wasm_valtype_vec_delete(params);
                    crate::vec::wasm_valtype_vec_delete(results);
                }
                ExternType::Tag { params } => crate::vec::wasm_valtype_vec_delete(params),
                _ => {}
            }
        }
    }
}

fn empty_vec() -> wasm_valtype_vec_t {
    wasm_valtype_vec_t::from_boxes(Vec::new())
}

/// A vector of value types of `kinds`.
fn valtypes(kinds: &[wasm_valkind_t]) -> wasm_valtype_vec_t {
    let boxes = kinds.iter().map(|&kind| Box::new(wasm_valtype_t { kind }));
    wasm_valtype_vec_t::from_boxes(boxes.collect())
}

/// Takes a vector's contents; the caller's struct is left empty (wasm.h's `own` parameters).
///
/// # Safety
/// `v` must point to a valid vector the caller owns.
unsafe fn take_vec(v: *mut wasm_valtype_vec_t) -> wasm_valtype_vec_t {
    let taken = wasm_valtype_vec_t {
        size: (*v).size,
        data: (*v).data,
    };
    (*v).size = 0;
    (*v).data = std::ptr::null_mut();
    taken
}

fn boxed(ty: ExternType) -> *mut wasm_externtype_t {
    Box::into_raw(Box::new(wasm_externtype_t { ty }))
}

macro_rules! extern_type {
    ($t:ident, $variant:ident, $delete:ident, $copy:ident, $as_ext:ident, $as_ext_const:ident, $from_ext:ident, $from_ext_const:ident) => {
        #[repr(transparent)]
        pub struct $t(pub(crate) wasm_externtype_t);

        #[no_mangle]
        pub unsafe extern "C" fn $delete(t: *mut $t) {
            if !t.is_null() {
                drop(Box::from_raw(t as *mut wasm_externtype_t));
            }
        }

        #[no_mangle]
        pub unsafe extern "C" fn $copy(t: *const $t) -> *mut $t {
            Box::into_raw(Box::new((*t).0.clone())) as *mut $t
        }

        #[no_mangle]
        pub extern "C" fn $as_ext(t: *mut $t) -> *mut wasm_externtype_t {
            t as *mut wasm_externtype_t
        }

        #[no_mangle]
        pub extern "C" fn $as_ext_const(t: *const $t) -> *const wasm_externtype_t {
            t as *const wasm_externtype_t
        }

        /// Null when the external type is of another kind.
        #[no_mangle]
        pub unsafe extern "C" fn $from_ext(t: *mut wasm_externtype_t) -> *mut $t {
            match (*t).ty {
                ExternType::$variant { .. } => t as *mut $t,
                _ => std::ptr::null_mut(),
            }
        }

        #[no_mangle]
        pub unsafe extern "C" fn $from_ext_const(t: *const wasm_externtype_t) -> *const $t {
            $from_ext(t as *mut wasm_externtype_t)
        }
    };
}

extern_type!(
    wasm_functype_t,
    Func,
    wasm_functype_delete,
    wasm_functype_copy,
    wasm_functype_as_externtype,
    wasm_functype_as_externtype_const,
    wasm_externtype_as_functype,
    wasm_externtype_as_functype_const
);
extern_type!(
    wasm_globaltype_t,
    Global,
    wasm_globaltype_delete,
    wasm_globaltype_copy,
    wasm_globaltype_as_externtype,
    wasm_globaltype_as_externtype_const,
    wasm_externtype_as_globaltype,
    wasm_externtype_as_globaltype_const
);
extern_type!(
    wasm_tabletype_t,
    Table,
    wasm_tabletype_delete,
    wasm_tabletype_copy,
    wasm_tabletype_as_externtype,
    wasm_tabletype_as_externtype_const,
    wasm_externtype_as_tabletype,
    wasm_externtype_as_tabletype_const
);
extern_type!(
    waot_tagtype_t,
    Tag,
    waot_tagtype_delete,
    waot_tagtype_copy,
    waot_tagtype_as_externtype,
    waot_tagtype_as_externtype_const,
    waot_externtype_as_tagtype,
    waot_externtype_as_tagtype_const
);
extern_type!(
    wasm_memorytype_t,
    Memory,
    wasm_memorytype_delete,
    wasm_memorytype_copy,
    wasm_memorytype_as_externtype,
    wasm_memorytype_as_externtype_const,
    wasm_externtype_as_memorytype,
    wasm_externtype_as_memorytype_const
);

#[no_mangle]
pub unsafe extern "C" fn wasm_externtype_kind(t: *const wasm_externtype_t) -> u8 {
    match (*t).ty {
        ExternType::Func { .. } => 0,
        ExternType::Global { .. } => 1,
        ExternType::Table { .. } => 2,
        ExternType::Memory { .. } => 3,
        ExternType::Tag { .. } => WAOT_EXTERN_TAG,
    }
}

/// waot.h: the external kind of tags.
pub const WAOT_EXTERN_TAG: u8 = 4;

#[no_mangle]
pub unsafe extern "C" fn wasm_externtype_copy(
    t: *const wasm_externtype_t,
) -> *mut wasm_externtype_t {
    Box::into_raw(Box::new((*t).clone()))
}

#[no_mangle]
pub unsafe extern "C" fn wasm_externtype_delete(t: *mut wasm_externtype_t) {
    if !t.is_null() {
        drop(Box::from_raw(t));
    }
}

impl wasm_functype_t {
    /// A function type of these kinds (a module's, as `reported_kind` gives them).
    pub(crate) fn from_kinds(params: &[wasm_valkind_t], results: &[wasm_valkind_t]) -> *mut Self {
        let ty = ExternType::Func {
            params: valtypes(params),
            results: valtypes(results),
        };
        boxed(ty) as *mut Self
    }

    fn vecs(&self) -> (&wasm_valtype_vec_t, &wasm_valtype_vec_t) {
        match &self.0.ty {
            ExternType::Func { params, results } => (params, results),
            _ => unreachable!("a function type"),
        }
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
        let (params, results) = self.vecs();
        Ok((convert(params)?, convert(results)?))
    }
}

#[no_mangle]
pub unsafe extern "C" fn wasm_functype_new(
    params: *mut wasm_valtype_vec_t,
    results: *mut wasm_valtype_vec_t,
) -> *mut wasm_functype_t {
    let ty = ExternType::Func {
        params: take_vec(params),
        results: take_vec(results),
    };
    boxed(ty) as *mut wasm_functype_t
}

#[no_mangle]
pub unsafe extern "C" fn wasm_functype_params(
    t: *const wasm_functype_t,
) -> *const wasm_valtype_vec_t {
    (*t).vecs().0
}

#[no_mangle]
pub unsafe extern "C" fn wasm_functype_results(
    t: *const wasm_functype_t,
) -> *const wasm_valtype_vec_t {
    (*t).vecs().1
}

impl wasm_memorytype_t {
    pub(crate) fn limits(&self) -> wasm_limits_t {
        match self.0.ty {
            ExternType::Memory { limits } => limits,
            _ => unreachable!("a memory type"),
        }
    }

    pub(crate) fn new_boxed(limits: wasm_limits_t) -> *mut Self {
        boxed(ExternType::Memory { limits }) as *mut Self
    }
}

#[no_mangle]
pub unsafe extern "C" fn wasm_memorytype_new(
    limits: *const wasm_limits_t,
) -> *mut wasm_memorytype_t {
    wasm_memorytype_t::new_boxed(*limits)
}

#[no_mangle]
pub unsafe extern "C" fn wasm_memorytype_limits(
    t: *const wasm_memorytype_t,
) -> *const wasm_limits_t {
    match &(*t).0.ty {
        ExternType::Memory { limits } => limits,
        _ => unreachable!("a memory type"),
    }
}

impl wasm_globaltype_t {
    pub(crate) fn parts(&self) -> (wasm_valkind_t, wasm_mutability_t) {
        match &self.0.ty {
            ExternType::Global {
                content,
                mutability,
            } => (content.kind, *mutability),
            _ => unreachable!("a global type"),
        }
    }

    pub(crate) fn new_boxed(kind: wasm_valkind_t, mutability: wasm_mutability_t) -> *mut Self {
        let ty = ExternType::Global {
            content: Box::new(wasm_valtype_t { kind }),
            mutability,
        };
        boxed(ty) as *mut Self
    }
}

#[no_mangle]
pub unsafe extern "C" fn wasm_globaltype_new(
    content: *mut wasm_valtype_t,
    mutability: wasm_mutability_t,
) -> *mut wasm_globaltype_t {
    let content = Box::from_raw(content);
    wasm_globaltype_t::new_boxed(content.kind, mutability)
}

#[no_mangle]
pub unsafe extern "C" fn wasm_globaltype_content(
    t: *const wasm_globaltype_t,
) -> *const wasm_valtype_t {
    match &(*t).0.ty {
        ExternType::Global { content, .. } => &**content,
        _ => unreachable!("a global type"),
    }
}

#[no_mangle]
pub unsafe extern "C" fn wasm_globaltype_mutability(
    t: *const wasm_globaltype_t,
) -> wasm_mutability_t {
    (*t).parts().1
}

impl wasm_tabletype_t {
    pub(crate) fn new_boxed(kind: wasm_valkind_t, limits: wasm_limits_t) -> *mut Self {
        let ty = ExternType::Table {
            element: Box::new(wasm_valtype_t { kind }),
            limits,
        };
        boxed(ty) as *mut Self
    }
}

#[no_mangle]
pub unsafe extern "C" fn wasm_tabletype_new(
    element: *mut wasm_valtype_t,
    limits: *const wasm_limits_t,
) -> *mut wasm_tabletype_t {
    let element = Box::from_raw(element);
    wasm_tabletype_t::new_boxed(element.kind, *limits)
}

#[no_mangle]
pub unsafe extern "C" fn wasm_tabletype_element(
    t: *const wasm_tabletype_t,
) -> *const wasm_valtype_t {
    match &(*t).0.ty {
        ExternType::Table { element, .. } => &**element,
        _ => unreachable!("a table type"),
    }
}

#[no_mangle]
pub unsafe extern "C" fn wasm_tabletype_limits(t: *const wasm_tabletype_t) -> *const wasm_limits_t {
    match &(*t).0.ty {
        ExternType::Table { limits, .. } => limits,
        _ => unreachable!("a table type"),
    }
}

/// Limits as the C API has them: 32-bit, `LIMITS_MAX_DEFAULT` for no maximum.
pub(crate) fn c_limits(initial: u64, maximum: Option<u64>) -> wasm_limits_t {
    wasm_limits_t {
        min: initial.min(u32::MAX as u64) as u32,
        max: maximum.map_or(LIMITS_MAX_DEFAULT, |m| m.min(u32::MAX as u64) as u32),
    }
}

impl waot_tagtype_t {
    pub(crate) fn from_kinds(params: &[wasm_valkind_t]) -> *mut Self {
        boxed(ExternType::Tag {
            params: valtypes(params),
        }) as *mut Self
    }

    /// The parameters as library types; an unknown kind is an error.
    pub(crate) fn params(&self) -> Result<Vec<ValType>, String> {
        let ExternType::Tag { params } = &self.0.ty else {
            unreachable!("a tag type")
        };
        params
            .as_slice()
            .iter()
            // SAFETY: a tag type's vector holds valid value types.
            .map(|p| unsafe { type_of((**p).kind) }.ok_or("unknown value kind".to_string()))
            .collect()
    }
}

/// A tag type of `params`, which it takes.
#[no_mangle]
pub unsafe extern "C" fn waot_tagtype_new(params: *mut wasm_valtype_vec_t) -> *mut waot_tagtype_t {
    boxed(ExternType::Tag {
        params: take_vec(params),
    }) as *mut waot_tagtype_t
}

#[no_mangle]
pub unsafe extern "C" fn waot_tagtype_params(
    t: *const waot_tagtype_t,
) -> *const wasm_valtype_vec_t {
    match &(*t).0.ty {
        ExternType::Tag { params } => params,
        _ => unreachable!("made by a checked cast"),
    }
}
