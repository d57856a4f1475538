//! Value types as compiled code and the loader see them.

use wasmparser::{FuncType, RefType, ValType};

/// Size of one slot of the value array used by trampolines and host calls. 16 bytes so that a
/// `v128` fits once SIMD lands; scalars use the low bytes (little-endian).
pub const VALUE_SLOT_SIZE: usize = 16;

/// A function signature in a form that can be hashed and compared across modules: two
/// modules' types are the same signature exactly when their `Signature`s are equal.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Signature {
    pub params: Vec<ValType>,
    pub results: Vec<ValType>,
}

impl Signature {
    pub fn new(params: &[ValType], results: &[ValType]) -> Self {
        Signature {
            params: params.to_vec(),
            results: results.to_vec(),
        }
    }
}

impl From<&FuncType> for Signature {
    fn from(ft: &FuncType) -> Self {
        Signature::new(ft.params(), ft.results())
    }
}

impl std::fmt::Display for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |v: &[ValType]| {
            v.iter()
                .map(|t| val_type_name(*t))
                .collect::<Vec<_>>()
                .join(" ")
        };
        write!(
            f,
            "(func (param {}) (result {}))",
            list(&self.params),
            list(&self.results)
        )
    }
}

pub fn val_type_name(t: ValType) -> &'static str {
    match t {
        ValType::I32 => "i32",
        ValType::I64 => "i64",
        ValType::F32 => "f32",
        ValType::F64 => "f64",
        ValType::V128 => "v128",
        ValType::Ref(r) if r == RefType::FUNCREF => "funcref",
        ValType::Ref(r) if r == RefType::EXTERNREF => "externref",
        ValType::Ref(_) => "ref",
    }
}
