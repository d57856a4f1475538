//! Values crossing the host/guest boundary, and their raw 16-byte slot encoding.

use crate::api::handles::{Func, FuncKind, StoreId};
use runtime_support::gc::{HOST_TAG, I31_TAG};
use runtime_support::types::VALUE_SLOT_SIZE;
use runtime_support::types::{is_extern, RefKind};
use runtime_support::vmctx::VmFuncRef;
use wasmparser::{RefType, ValType};

/// A wasm value. Floats are kept as bits so that NaN payloads survive exactly.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Val {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    /// 128 bits, lane 0 in the low bits.
    V128(u128),
    FuncRef(Option<Func>),
    /// An opaque host value, below 2^62 (the raw encoding is `n << 2 | 2`, see `gc`).
    ExternRef(Option<u64>),
    ExnRef(Option<ExnRef>),
    /// A reference of the any hierarchy (GC): an `i31` or a struct or array of a store. An
    /// `externref` that guest code made from one (`extern.convert_any`) reads as this too.
    AnyRef(Option<AnyRef>),
}

/// A reference of the any hierarchy: an `i31`, or a GC object of a store, which keeps it while
/// the store lives once the host has seen it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnyRef {
    pub(crate) store: StoreId,
    pub(crate) raw: usize,
    kind: AnyKind,
}

/// What an `AnyRef` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnyKind {
    I31,
    Struct,
    Array,
}

// SAFETY: an identity; an object is reached only through its own store, after checking that
// the store's heap holds it (`StoreData::owns_val`).
unsafe impl Send for AnyRef {}
unsafe impl Sync for AnyRef {}

impl AnyRef {
    /// `ref.i31 v`: the low 31 bits of `v`.
    pub fn i31(v: u32) -> AnyRef {
        AnyRef {
            store: StoreId::NONE,
            raw: (((v as usize) << 1) & 0xffff_fffe) | I31_TAG as usize,
            kind: AnyKind::I31,
        }
    }

    /// A reference word of `store` that compiled code or the store produced: an `i31`, or
    /// a live object whose header names its type.
    pub(crate) fn from_raw(store: StoreId, raw: usize) -> AnyRef {
        if raw as u64 & I31_TAG != 0 {
            // An i31 is a value, of no store: equal i31s are equal whatever made them.
            return AnyRef {
                store: StoreId::NONE,
                raw,
                kind: AnyKind::I31,
            };
        }
        // SAFETY: a live object's header points to its registered type information.
        let info = unsafe { &**(raw as *const *const runtime_support::gc::VmTypeInfo) };
        let kind = match info.kind {
            runtime_support::gc::KIND_ARRAY => AnyKind::Array,
            _ => AnyKind::Struct,
        };
        AnyRef { store, raw, kind }
    }

    pub fn kind(&self) -> AnyKind {
        self.kind
    }

    /// The value of an `i31`, zero-extended (`i31.get_u`); `None` for an object.
    pub fn as_i31(&self) -> Option<u32> {
        (self.raw as u64 & I31_TAG != 0).then_some((self.raw >> 1) as u32 & 0x7fff_ffff)
    }
}

/// The largest host value an `externref` carries.
pub const MAX_EXTERN: u64 = (1 << 62) - 1;

/// How a reference of (canonical) type `r` is encoded.
pub(crate) fn ref_kind(r: RefType) -> RefKind {
    runtime_support::types::ref_kind(r, crate::vm::signatures::is_gc_id)
}

/// An exception reference (`exnref`): an exception object owned by a store, which keeps it
/// while the store lives once the host has seen it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExnRef {
    pub(crate) store: StoreId,
    pub(crate) ptr: *mut u8,
}

// SAFETY: an identity; the object is reached only through its own store, after checking that
// the store's heap holds it (`StoreData::owns_val`).
unsafe impl Send for ExnRef {}
unsafe impl Sync for ExnRef {}

pub(crate) fn is_exn(r: RefType) -> bool {
    ref_kind(r) == RefKind::Exn
}

impl Val {
    pub fn ty(&self) -> ValType {
        match self {
            Val::I32(_) => ValType::I32,
            Val::I64(_) => ValType::I64,
            Val::F32(_) => ValType::F32,
            Val::F64(_) => ValType::F64,
            Val::V128(_) => ValType::V128,
            Val::FuncRef(_) => ValType::Ref(RefType::FUNCREF),
            Val::ExternRef(_) => ValType::Ref(RefType::EXTERNREF),
            Val::ExnRef(_) => ValType::Ref(RefType::EXNREF),
            Val::AnyRef(_) => ValType::Ref(RefType::ANYREF),
        }
    }

    /// The zero value of `ty` (null for references).
    pub fn default_for(ty: ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(0),
            ValType::I64 => Val::I64(0),
            ValType::F32 => Val::F32(0),
            ValType::F64 => Val::F64(0),
            ValType::V128 => Val::V128(0),
            ValType::Ref(r) => match ref_kind(r) {
                RefKind::Func => Val::FuncRef(None),
                RefKind::Exn => Val::ExnRef(None),
                RefKind::Any if is_extern(r) => Val::ExternRef(None),
                RefKind::Any => Val::AnyRef(None),
            },
        }
    }

    pub fn f32(v: f32) -> Val {
        Val::F32(v.to_bits())
    }

    pub fn f64(v: f64) -> Val {
        Val::F64(v.to_bits())
    }

    /// Integers and float bits as a `u64` (i32 zero-extended); references as their raw bits.
    pub fn to_raw_bits(&self) -> u64 {
        match *self {
            Val::I32(v) => v as u32 as u64,
            Val::I64(v) => v as u64,
            Val::F32(v) => v as u64,
            Val::F64(v) => v,
            Val::V128(v) => v as u64,
            r => r.to_raw_ref().map_or(0, |p| p as u64),
        }
    }

    /// The raw bits of a reference value, as stored in tables and globals. The caller has
    /// checked that the reference is its store's (`StoreData::owns_val`).
    pub(crate) fn to_raw_ref(self) -> Result<usize, String> {
        match self {
            Val::FuncRef(None) | Val::ExternRef(None) | Val::ExnRef(None) | Val::AnyRef(None) => {
                Ok(0)
            }
            Val::AnyRef(Some(a)) => Ok(a.raw),
            Val::ExnRef(Some(e)) => Ok(e.ptr as usize),
            Val::FuncRef(Some(f)) => match f.kind {
                FuncKind::Wasm(p) => Ok(p as usize),
                FuncKind::Host(_) => Err(
                    "a host function becomes a funcref value only once an instance imports it"
                        .into(),
                ),
                FuncKind::Interpreted(_) => {
                    Err("a function of the interpreter is not a function of this store".into())
                }
            },
            Val::ExternRef(Some(n)) if n <= MAX_EXTERN => Ok((n << 2 | HOST_TAG) as usize),
            Val::ExternRef(Some(n)) => Err(format!(
                "externref {n} cannot be represented (the largest is 2^62 - 1)"
            )),
            other => Err(format!("{other:?} is not a reference")),
        }
    }

    /// A reference read from a table, global or slot of `store`.
    pub(crate) fn from_raw_ref(raw: usize, ty: RefType, store: StoreId) -> Val {
        match ref_kind(ty) {
            RefKind::Func => {
                Val::FuncRef((raw != 0).then(|| Func::wasm(store, raw as *const VmFuncRef)))
            }
            RefKind::Exn => Val::ExnRef((raw != 0).then_some(ExnRef {
                store,
                ptr: raw as *mut u8,
            })),
            RefKind::Any if raw as u64 & 3 == HOST_TAG => Val::ExternRef(Some(raw as u64 >> 2)),
            RefKind::Any if raw == 0 && is_extern(ty) => Val::ExternRef(None),
            RefKind::Any => Val::AnyRef((raw != 0).then(|| AnyRef::from_raw(store, raw))),
        }
    }

    /// Writes the value into a 16-byte slot.
    pub(crate) fn write_slot(self, slot: &mut [u8; VALUE_SLOT_SIZE]) -> Result<(), String> {
        *slot = [0; VALUE_SLOT_SIZE];
        match self {
            Val::I32(v) => slot[..4].copy_from_slice(&v.to_le_bytes()),
            Val::I64(v) => slot[..8].copy_from_slice(&v.to_le_bytes()),
            Val::F32(v) => slot[..4].copy_from_slice(&v.to_le_bytes()),
            Val::F64(v) => slot[..8].copy_from_slice(&v.to_le_bytes()),
            Val::V128(v) => slot.copy_from_slice(&v.to_le_bytes()),
            r => slot[..8].copy_from_slice(&(r.to_raw_ref()? as u64).to_le_bytes()),
        }
        Ok(())
    }

    /// A value of `store` read from a slot.
    pub(crate) fn read_slot(slot: &[u8; VALUE_SLOT_SIZE], ty: ValType, store: StoreId) -> Val {
        let u32_at = || u32::from_le_bytes(slot[..4].try_into().unwrap());
        let u64_at = || u64::from_le_bytes(slot[..8].try_into().unwrap());
        match ty {
            ValType::I32 => Val::I32(u32_at() as i32),
            ValType::I64 => Val::I64(u64_at() as i64),
            ValType::F32 => Val::F32(u32_at()),
            ValType::F64 => Val::F64(u64_at()),
            ValType::Ref(r) => Val::from_raw_ref(u64_at() as usize, r, store),
            ValType::V128 => Val::V128(u128::from_le_bytes(*slot)),
        }
    }
}

/// A 16-byte value slot, aligned as compiled code expects (the host-call ABI's unit).
#[repr(C, align(16))]
#[derive(Clone, Copy, Default)]
pub struct Slot(pub [u8; VALUE_SLOT_SIZE]);

impl std::fmt::Display for Val {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Val::I32(v) => write!(f, "{v}"),
            Val::I64(v) => write!(f, "{v}"),
            Val::F32(b) => write!(f, "{}", f32::from_bits(*b)),
            Val::F64(b) => write!(f, "{}", f64::from_bits(*b)),
            Val::V128(v) => write!(f, "{v:#034x}"),
            Val::FuncRef(None) | Val::ExternRef(None) | Val::ExnRef(None) | Val::AnyRef(None) => {
                write!(f, "null")
            }
            Val::AnyRef(Some(a)) => match a.as_i31() {
                Some(v) => write!(f, "<i31 {v}>"),
                None => write!(f, "<anyref>"),
            },
            Val::ExnRef(Some(_)) => write!(f, "<exnref>"),
            Val::FuncRef(Some(_)) => write!(f, "<funcref>"),
            Val::ExternRef(Some(n)) => write!(f, "<externref {n}>"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_round_trip_bit_exact() {
        let nan = 0x7fa0_0001u32; // a signalling NaN
        for (v, t) in [
            (Val::I32(-5), ValType::I32),
            (Val::I64(i64::MIN), ValType::I64),
            (Val::F32(nan), ValType::F32),
            (Val::F64(0x7ff4_0000_0000_0001), ValType::F64),
            (Val::V128(u128::MAX - 5), ValType::V128),
            (Val::ExternRef(Some(0)), ValType::Ref(RefType::EXTERNREF)),
            (Val::ExternRef(None), ValType::Ref(RefType::EXTERNREF)),
        ] {
            let mut slot = [0u8; VALUE_SLOT_SIZE];
            v.write_slot(&mut slot).unwrap();
            assert_eq!(Val::read_slot(&slot, t, StoreId::NONE), v);
        }
    }
}
