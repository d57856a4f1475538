//! `wasm_val_t`: a kind and a union, converted to and from the library's `Val`.

use waot::{RefType, Val, ValType};

pub type wasm_valkind_t = u8;
pub const WASM_I32: u8 = 0;
pub const WASM_I64: u8 = 1;
pub const WASM_F32: u8 = 2;
pub const WASM_F64: u8 = 3;
pub const WASM_EXTERNREF: u8 = 128;
pub const WASM_FUNCREF: u8 = 129;

/// Opaque to C; only null references cross the API so far.
pub enum wasm_ref_t {}

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
        ValType::Ref(r) if r == RefType::EXTERNREF => WASM_EXTERNREF,
        ValType::Ref(r) if r == RefType::FUNCREF => WASM_FUNCREF,
        _ => return None,
    })
}

pub(crate) fn type_of(kind: wasm_valkind_t) -> Option<ValType> {
    Some(match kind {
        WASM_I32 => ValType::I32,
        WASM_I64 => ValType::I64,
        WASM_F32 => ValType::F32,
        WASM_F64 => ValType::F64,
        WASM_EXTERNREF => ValType::Ref(RefType::EXTERNREF),
        WASM_FUNCREF => ValType::Ref(RefType::FUNCREF),
        _ => return None,
    })
}

impl wasm_val_t {
    pub(crate) fn from_val(v: &Val) -> Result<wasm_val_t, String> {
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
            Val::FuncRef(None) => (
                WASM_FUNCREF,
                wasm_val_union {
                    ref_: std::ptr::null_mut(),
                },
            ),
            Val::ExternRef(None) => (
                WASM_EXTERNREF,
                wasm_val_union {
                    ref_: std::ptr::null_mut(),
                },
            ),
            _ => {
                return Err(format!(
                    "waot's C API does not pass {v:?} yet (only numbers and null references)"
                ))
            }
        };
        Ok(wasm_val_t { kind, of })
    }

    pub(crate) fn to_val(self) -> Result<Val, String> {
        // SAFETY: the kind says which field of the union is set.
        unsafe {
            Ok(match self.kind {
                WASM_I32 => Val::I32(self.of.i32),
                WASM_I64 => Val::I64(self.of.i64),
                WASM_F32 => Val::F32(self.of.f32.to_bits()),
                WASM_F64 => Val::F64(self.of.f64.to_bits()),
                WASM_FUNCREF if self.of.ref_.is_null() => Val::FuncRef(None),
                WASM_EXTERNREF if self.of.ref_.is_null() => Val::ExternRef(None),
                WASM_FUNCREF | WASM_EXTERNREF => {
                    return Err("waot's C API does not pass non-null references yet".into())
                }
                k => return Err(format!("unknown value kind {k}")),
            })
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn wasm_val_delete(_v: *mut wasm_val_t) {}

#[no_mangle]
pub unsafe extern "C" fn wasm_val_copy(out: *mut wasm_val_t, src: *const wasm_val_t) {
    out.write(*src);
}
