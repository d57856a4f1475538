//! `wasm_val_t`: a kind and a union, converted to and from the library's `Val`.

use crate::externs::{new_extern, wasm_extern_t, wasm_func_t, Ext};
use crate::runtime::wasm_store_t;
use crate::vec::Element;
use std::cell::OnceCell;
use waot::{Extern, RefType, StoreData, Val, ValType};

pub type wasm_valkind_t = u8;
pub const WASM_I32: u8 = 0;
pub const WASM_I64: u8 = 1;
pub const WASM_F32: u8 = 2;
pub const WASM_F64: u8 = 3;
pub const WASM_EXTERNREF: u8 = 128;
pub const WASM_FUNCREF: u8 = 129;
/// waot.h: a v128, which only `waot_val_t` can hold.
pub const WAOT_V128: u8 = 4;
/// waot.h: an exnref, in types only (no value of it crosses).
pub const WAOT_EXNREF: u8 = 5;

/// A non-null reference (null ones are null pointers), owned by whoever holds the pointer:
/// a `wasm_val_t` owns its reference, so copying or deleting the value copies or deletes it.
pub struct wasm_ref_t {
    pub(crate) store: *mut StoreData,
    pub(crate) val: Val,
    /// The function a funcref is, made when `wasm_ref_as_func` first asks for it.
    func: OnceCell<Box<wasm_extern_t>>,
}

impl wasm_ref_t {
    pub(crate) fn boxed(store: *mut StoreData, val: Val) -> *mut wasm_ref_t {
        Box::into_raw(Box::new(wasm_ref_t {
            store,
            val,
            func: OnceCell::new(),
        }))
    }

    /// A reference value as a pointer the caller owns: null for a null reference.
    pub(crate) fn from_val(store: *mut StoreData, val: Val) -> *mut wasm_ref_t {
        match val {
            Val::FuncRef(None) | Val::ExternRef(None) | Val::ExnRef(None) | Val::AnyRef(None) => {
                std::ptr::null_mut()
            }
            v => Self::boxed(store, v),
        }
    }
}

impl Clone for wasm_ref_t {
    fn clone(&self) -> Self {
        wasm_ref_t {
            store: self.store,
            val: self.val,
            func: OnceCell::new(),
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn wasm_ref_delete(r: *mut wasm_ref_t) {
    if !r.is_null() {
        drop(Box::from_raw(r));
    }
}

#[no_mangle]
pub unsafe extern "C" fn wasm_ref_copy(r: *const wasm_ref_t) -> *mut wasm_ref_t {
    r.as_ref()
        .map_or(std::ptr::null_mut(), |r| Box::into_raw(Box::new(r.clone())))
}

/// Whether two references are the same function or host value (null equals null).
#[no_mangle]
pub unsafe extern "C" fn wasm_ref_same(a: *const wasm_ref_t, b: *const wasm_ref_t) -> bool {
    match (a.as_ref(), b.as_ref()) {
        (None, None) => true,
        (Some(a), Some(b)) => std::ptr::addr_eq(a.store, b.store) && a.val == b.val,
        _ => false,
    }
}

/// The function a funcref is, borrowed from the reference (null for another reference).
#[no_mangle]
pub unsafe extern "C" fn wasm_ref_as_func(r: *mut wasm_ref_t) -> *mut wasm_func_t {
    let Some(r) = r.as_ref() else {
        return std::ptr::null_mut();
    };
    let Val::FuncRef(Some(f)) = r.val else {
        return std::ptr::null_mut();
    };
    // Looked at every time, not only when the function is first made: waot.h promises NULL
    // for a reference of interpreted code kept past its store, whose function (saved in the
    // reference) would point into the freed store.
    if f.as_interpreted()
        .is_some_and(|i| !crate::interp::InterpStore::is_live(i.owner))
    {
        return std::ptr::null_mut();
    }
    if let Some(e) = r.func.get() {
        return &**e as *const wasm_extern_t as *mut wasm_func_t;
    }
    let ext = match f.as_interpreted() {
        Some(i) => match crate::interp::InterpStore::func_ext(i) {
            Some(e) => Ext::Interp(e),
            // Its store was deleted.
            None => return std::ptr::null_mut(),
        },
        None => Ext::Native(Extern::Func(f)),
    };
    let e = r.func.get_or_init(|| Box::new(new_extern(r.store, ext)));
    &**e as *const wasm_extern_t as *mut wasm_func_t
}

#[no_mangle]
pub unsafe extern "C" fn wasm_ref_as_func_const(r: *const wasm_ref_t) -> *const wasm_func_t {
    wasm_ref_as_func(r as *mut wasm_ref_t)
}

/// A reference to the function, borrowed from it.
#[no_mangle]
pub unsafe extern "C" fn wasm_func_as_ref(f: *mut wasm_func_t) -> *mut wasm_ref_t {
    let e = &*(f as *const wasm_extern_t);
    let h = match &e.ext {
        Ext::Native(Extern::Func(h)) => *h,
        Ext::Interp(i) => match i.ext {
            crate::wasmi::Extern::Func(func) => waot::Func::interpreted(waot::InterpretedFunc {
                owner: crate::interp::InterpStore::owner(i.store),
                via: i.instance.as_ref().map_or(0, waot::interp::Instance::id),
                func,
            }),
            _ => return std::ptr::null_mut(),
        },
        _ => return std::ptr::null_mut(),
    };
    let r = e.as_ref.get_or_init(|| {
        Box::new(wasm_ref_t {
            store: e.store,
            val: Val::FuncRef(Some(h)),
            func: OnceCell::new(),
        })
    });
    &**r as *const wasm_ref_t as *mut wasm_ref_t
}

#[no_mangle]
pub unsafe extern "C" fn wasm_func_as_ref_const(f: *const wasm_func_t) -> *const wasm_ref_t {
    wasm_func_as_ref(f as *mut wasm_func_t)
}

/// An `externref` carrying `value`, a host datum the guest cannot read (values above 2^62 - 1
/// cannot be represented: null).
#[no_mangle]
pub unsafe extern "C" fn waot_ref_new_extern(
    store: *mut wasm_store_t,
    value: u64,
) -> *mut wasm_ref_t {
    if value > waot::MAX_EXTERN {
        return std::ptr::null_mut();
    }
    wasm_ref_t::boxed((*store).data(), Val::ExternRef(Some(value)))
}

/// The host datum of an `externref`; false for another reference.
#[no_mangle]
pub unsafe extern "C" fn waot_ref_extern_value(r: *const wasm_ref_t, value: *mut u64) -> bool {
    match r.as_ref().map(|r| r.val) {
        Some(Val::ExternRef(Some(v))) => {
            if !value.is_null() {
                *value = v;
            }
            true
        }
        _ => false,
    }
}

#[repr(C)]
#[derive(Clone, Copy)]
pub union wasm_val_union {
    pub i32: i32,
    pub i64: i64,
    pub f32: f32,
    pub f64: f64,
    pub ref_: *mut wasm_ref_t,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct wasm_val_t {
    pub kind: wasm_valkind_t,
    pub of: wasm_val_union,
}

impl Default for wasm_val_t {
    fn default() -> Self {
        wasm_val_t {
            kind: WASM_EXTERNREF,
            of: wasm_val_union {
                ref_: std::ptr::null_mut(),
            },
        }
    }
}

pub(crate) fn kind_of(t: ValType) -> Option<wasm_valkind_t> {
    Some(match t {
        ValType::I32 => WASM_I32,
        ValType::I64 => WASM_I64,
        ValType::F32 => WASM_F32,
        ValType::F64 => WASM_F64,
        ValType::V128 => WAOT_V128,
        ValType::Ref(r) if r == RefType::EXTERNREF => WASM_EXTERNREF,
        ValType::Ref(r) if r == RefType::FUNCREF => WASM_FUNCREF,
        _ => return None,
    })
}

/// The kind a type reports for `t`, given whether concrete type index `i` names a function
/// type. Every type has one, so import and export lists keep the module's order: a GC
/// reference (concrete or abstract, of the any or extern hierarchy) crosses as an
/// externref-kind reference and a typed function reference as a funcref, so they report those
/// kinds; an exnref reports `WAOT_EXNREF`.
fn kind_with(t: ValType, is_func: impl Fn(u32) -> bool) -> u8 {
    use wasmparser::{AbstractHeapType as A, HeapType};
    if let Some(kind) = kind_of(t) {
        return kind;
    }
    let ValType::Ref(r) = t else {
        // Every number type has a kind.
        return WASM_I32;
    };
    match r.heap_type() {
        HeapType::Abstract {
            ty: A::Func | A::NoFunc,
            ..
        } => WASM_FUNCREF,
        HeapType::Abstract {
            ty: A::Exn | A::NoExn,
            ..
        } => WAOT_EXNREF,
        HeapType::Concrete(i) if i.as_module_index().is_some_and(is_func) => WASM_FUNCREF,
        _ => WASM_EXTERNREF,
    }
}

/// [`kind_with`] for a type of a module, whose concrete types are its own type indices.
pub(crate) fn reported_kind(t: ValType, info: &runtime_support::module_info::ModuleInfo) -> u8 {
    kind_with(t, |i| {
        info.sub_types.get(i as usize).is_some_and(|s| {
            matches!(
                s.composite_type.inner,
                wasmparser::CompositeInnerType::Func(_)
            )
        })
    })
}

/// [`kind_with`] for a type of the store's objects, whose concrete types are canonical ids.
pub(crate) fn store_kind(t: ValType) -> u8 {
    kind_with(t, |id| waot::is_function_type(id.into()))
}

/// What of a function's signature cannot cross as a `wasm_val_t` (a v128, either way) or at
/// all (an exnref result): such a call is refused before it runs, since its results could not
/// be handed back after its effects.
#[derive(Clone, Copy, Default)]
pub(crate) struct Crossing {
    pub v128: bool,
    pub exn_result: bool,
}

impl Crossing {
    pub(crate) fn of(params: &[ValType], results: &[ValType]) -> Crossing {
        let exn = |t: &ValType| {
            use wasmparser::{AbstractHeapType as A, HeapType};
            matches!(t, ValType::Ref(r) if matches!(
                r.heap_type(),
                HeapType::Abstract { ty: A::Exn | A::NoExn, .. }
            ))
        };
        Crossing {
            v128: params.iter().chain(results).any(|t| *t == ValType::V128),
            exn_result: results.iter().any(exn),
        }
    }

    /// The crossing of function `f`, found once per function object.
    pub(crate) fn of_func(f: &crate::externs::wasm_func_t) -> Crossing {
        *f.0.crossing.get_or_init(|| {
            unsafe { crate::externs::func_types(f) }
                .map(|(params, results)| Crossing::of(&params, &results))
                .unwrap_or_default()
        })
    }
}

pub(crate) fn type_of(kind: wasm_valkind_t) -> Option<ValType> {
    Some(match kind {
        WASM_I32 => ValType::I32,
        WASM_I64 => ValType::I64,
        WASM_F32 => ValType::F32,
        WASM_F64 => ValType::F64,
        WAOT_V128 => ValType::V128,
        WASM_EXTERNREF => ValType::Ref(RefType::EXTERNREF),
        WASM_FUNCREF => ValType::Ref(RefType::FUNCREF),
        _ => return None,
    })
}

impl wasm_val_t {
    /// The C form of `v`, owning a new reference for a non-null one.
    pub(crate) fn from_val(store: *mut StoreData, v: &Val) -> Result<wasm_val_t, String> {
        let (kind, of) = match *v {
            Val::I32(i) => (WASM_I32, wasm_val_union { i32: i }),
            Val::I64(i) => (WASM_I64, wasm_val_union { i64: i }),
            Val::F32(b) => (
                WASM_F32,
                wasm_val_union {
                    f32: f32::from_bits(b),
                },
            ),
            Val::F64(b) => (
                WASM_F64,
                wasm_val_union {
                    f64: f64::from_bits(b),
                },
            ),
            // A GC reference travels as an opaque reference of the externref kind (the C API
            // has no kind for it); the library checks it against the parameter's type.
            Val::FuncRef(_) | Val::ExternRef(_) | Val::AnyRef(_) => {
                let kind = if matches!(v, Val::FuncRef(_)) {
                    WASM_FUNCREF
                } else {
                    WASM_EXTERNREF
                };
                let ref_ = wasm_ref_t::from_val(store, *v);
                (kind, wasm_val_union { ref_ })
            }
            Val::V128(_) => {
                return Err(
                    "a v128 does not fit in a wasm_val_t: waot_func_call and waot_global_get take waot_val_t"
                        .into(),
                )
            }
            Val::ExnRef(_) => {
                return Err(format!(
                    "the C API has no value kind for {v:?} (exnref stays in wasm)"
                ))
            }
        };
        Ok(wasm_val_t { kind, of })
    }

    /// The value, its reference borrowed.
    pub(crate) fn to_val(self) -> Result<Val, String> {
        // SAFETY: the kind says which field of the union is set; a reference pointer is null
        // or one this API made.
        unsafe {
            Ok(match self.kind {
                WASM_I32 => Val::I32(self.of.i32),
                WASM_I64 => Val::I64(self.of.i64),
                WASM_F32 => Val::F32(self.of.f32.to_bits()),
                WASM_F64 => Val::F64(self.of.f64.to_bits()),
                WASM_FUNCREF | WASM_EXTERNREF => {
                    let Some(r) = self.of.ref_.as_ref() else {
                        return Ok(if self.kind == WASM_FUNCREF {
                            Val::FuncRef(None)
                        } else {
                            Val::ExternRef(None)
                        });
                    };
                    // A non-null reference knows its own kind (`WASM_REF_VAL` says
                    // externref for any); the library checks it against the parameter.
                    r.val
                }
                WAOT_V128 => {
                    return Err(
                        "a v128 does not fit in a wasm_val_t: waot_func_call and waot_global_set take waot_val_t"
                            .into(),
                    )
                }
                k => return Err(format!("unknown value kind {k}")),
            })
        }
    }

    fn is_ref(&self) -> bool {
        matches!(self.kind, WASM_FUNCREF | WASM_EXTERNREF)
    }
}

impl Element for wasm_val_t {
    fn duplicate(&self) -> Self {
        let mut copy = *self;
        if self.is_ref() {
            // SAFETY: a reference value's pointer is null or a live reference.
            copy.of.ref_ = unsafe { wasm_ref_copy(self.of.ref_) };
        }
        copy
    }

    fn release(&mut self) {
        if self.is_ref() {
            // SAFETY: the value owns its reference.
            unsafe { wasm_ref_delete(self.of.ref_) };
            self.of.ref_ = std::ptr::null_mut();
        }
    }

    fn uninitialized(size: usize) -> Vec<Self> {
        crate::vec::filled(size, wasm_val_t::default())
    }
}

#[no_mangle]
pub unsafe extern "C" fn wasm_val_delete(v: *mut wasm_val_t) {
    if let Some(v) = v.as_mut() {
        v.release();
    }
}

#[no_mangle]
pub unsafe extern "C" fn wasm_val_copy(out: *mut wasm_val_t, src: *const wasm_val_t) {
    out.write((*src).duplicate());
}
