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

impl Signature {
    /// `ft` with its concrete types named by canonical ids (`canonicalize`); `None` when an
    /// index has no id yet or is past what a type can encode.
    pub fn canonical(ft: &FuncType, ids: &[u64]) -> Option<Signature> {
        let map = |v: &[ValType]| -> Option<Vec<ValType>> {
            v.iter().map(|t| canonicalize(*t, ids)).collect()
        };
        Some(Signature {
            params: map(ft.params())?,
            results: map(ft.results())?,
        })
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

/// A value type as the text format writes it; a concrete type shows its index (a canonical
/// signature id in a canonical type).
pub fn val_type_name(t: ValType) -> String {
    match t {
        ValType::I32 => "i32".into(),
        ValType::I64 => "i64".into(),
        ValType::F32 => "f32".into(),
        ValType::F64 => "f64".into(),
        ValType::V128 => "v128".into(),
        ValType::Ref(r) if r == RefType::FUNCREF => "funcref".into(),
        ValType::Ref(r) if r == RefType::EXTERNREF => "externref".into(),
        ValType::Ref(r) if r == RefType::EXNREF => "exnref".into(),
        ValType::Ref(r) => {
            let null = if r.is_nullable() { "null " } else { "" };
            match concrete_index(r) {
                Some(i) => format!("(ref {null}{i})"),
                None => format!("(ref {null}{})", abstract_name(r)),
            }
        }
    }
}

fn abstract_name(r: RefType) -> String {
    use wasmparser::{AbstractHeapType as A, HeapType};
    match r.heap_type() {
        HeapType::Abstract { ty, .. } => match ty {
            A::Func => "func".into(),
            A::Extern => "extern".into(),
            A::Exn => "exn".into(),
            A::NoFunc => "nofunc".into(),
            A::NoExtern => "noextern".into(),
            A::NoExn => "noexn".into(),
            other => format!("{other:?}").to_lowercase(),
        },
        other => format!("{other:?}"),
    }
}

/// What a reference value is at run time, whatever its static type: the kinds that have
/// different encodings. `Any` is the any and extern hierarchies (they share the encoding of
/// `gc`); a concrete type is a function, struct or array type, which `is_gc_type` tells apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefKind {
    Func,
    Any,
    Exn,
}

pub fn ref_kind(r: RefType, is_gc_type: impl Fn(u32) -> bool) -> RefKind {
    use wasmparser::{AbstractHeapType as A, HeapType};
    match r.heap_type() {
        HeapType::Abstract { ty, .. } => match ty {
            A::Exn | A::NoExn => RefKind::Exn,
            A::Func | A::NoFunc => RefKind::Func,
            _ => RefKind::Any,
        },
        HeapType::Concrete(i) => match i.as_module_index().is_some_and(is_gc_type) {
            true => RefKind::Any,
            false => RefKind::Func,
        },
        _ => RefKind::Func,
    }
}

/// Whether `r` is a reference of the extern hierarchy (`extern`, `noextern`).
pub fn is_extern(r: RefType) -> bool {
    use wasmparser::{AbstractHeapType as A, HeapType};
    matches!(
        r.heap_type(),
        HeapType::Abstract {
            ty: A::Extern | A::NoExtern,
            ..
        }
    )
}

/// The index a concrete heap type names: a module type index in a module's own types, a
/// canonical signature id in a canonical type (see `canonicalize`).
pub fn concrete_index(r: RefType) -> Option<u32> {
    r.type_index()?.as_module_index()
}

/// `t` with every module type index replaced by its canonical signature id (`ids[index]`), so
/// that types from different modules compare equal exactly when they are the same type. The
/// loader's registry numbers ids from 1; `None` past what a type can encode (2^20 ids).
pub fn canonicalize(t: ValType, ids: &[u64]) -> Option<ValType> {
    let ValType::Ref(r) = t else { return Some(t) };
    let Some(index) = concrete_index(r) else {
        return Some(t);
    };
    let id = u32::try_from(*ids.get(index as usize)?).ok()?;
    let packed = wasmparser::PackedIndex::from_module_index(id)?;
    Some(ValType::Ref(RefType::concrete(r.is_nullable(), packed)))
}

/// What subtyping between canonical types needs to know about concrete ones.
pub trait TypeHierarchy {
    /// `gc::KIND_FUNC`, `KIND_STRUCT` or `KIND_ARRAY` of canonical id `id`.
    fn kind(&self, id: u32) -> u32;
    /// Whether `a` is `b` or declares it among its supertypes.
    fn is_sub_id(&self, a: u32, b: u32) -> bool;
}

/// Whether a value of (canonical) type `a` may stand where `b` is expected.
pub fn is_subtype(a: ValType, b: ValType, h: &dyn TypeHierarchy) -> bool {
    let (ValType::Ref(a), ValType::Ref(b)) = (a, b) else {
        return a == b;
    };
    if a.is_nullable() && !b.is_nullable() {
        return false;
    }
    is_heap_subtype(a, b, h)
}

/// Subtyping of the heap types of `a` and `b`, ignoring nullability.
pub fn is_heap_subtype(a: RefType, b: RefType, h: &dyn TypeHierarchy) -> bool {
    use crate::gc::{KIND_ARRAY, KIND_FUNC, KIND_STRUCT};
    use wasmparser::{AbstractHeapType as A, HeapType as H};
    let top = |ty| match ty {
        A::Any | A::Eq | A::I31 | A::Struct | A::Array | A::None => A::Any,
        A::Func | A::NoFunc => A::Func,
        A::Extern | A::NoExtern => A::Extern,
        _ => A::Exn,
    };
    let concrete = |r: RefType| r.type_index().and_then(|i| i.as_module_index());
    let abstract_of = |r: RefType| match r.heap_type() {
        H::Abstract { ty, .. } => Some(ty),
        _ => None,
    };
    match (concrete(a), concrete(b)) {
        (Some(x), Some(y)) => h.is_sub_id(x, y),
        (Some(x), None) => {
            let Some(tb) = abstract_of(b) else {
                return false;
            };
            match h.kind(x) {
                KIND_FUNC => tb == A::Func,
                KIND_STRUCT => matches!(tb, A::Struct | A::Eq | A::Any),
                KIND_ARRAY => matches!(tb, A::Array | A::Eq | A::Any),
                _ => false,
            }
        }
        (None, Some(y)) => match abstract_of(a) {
            Some(A::None) => h.kind(y) != KIND_FUNC,
            Some(A::NoFunc) => h.kind(y) == KIND_FUNC,
            _ => false,
        },
        (None, None) => {
            let (Some(ta), Some(tb)) = (abstract_of(a), abstract_of(b)) else {
                return false;
            };
            if ta == tb {
                return true;
            }
            if top(ta) != top(tb) {
                return false;
            }
            match ta {
                A::None | A::NoFunc | A::NoExtern | A::NoExn => true,
                A::I31 | A::Struct | A::Array => matches!(tb, A::Eq | A::Any),
                A::Eq => tb == A::Any,
                _ => false,
            }
        }
    }
}
