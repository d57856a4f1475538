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

/// What a reference value is at run time, whatever its static type: the three kinds that
/// have different encodings. Without the GC proposal every concrete (indexed) heap type is a
/// function type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefKind {
    Func,
    Extern,
    Exn,
}

pub fn ref_kind(r: RefType) -> RefKind {
    use wasmparser::{AbstractHeapType as A, HeapType};
    match r.heap_type() {
        HeapType::Abstract {
            ty: A::Exn | A::NoExn,
            ..
        } => RefKind::Exn,
        HeapType::Abstract {
            ty: A::Extern | A::NoExtern,
            ..
        } => RefKind::Extern,
        _ => RefKind::Func,
    }
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

/// Whether a value of (canonical) type `a` may stand where `b` is expected. Without the GC
/// proposal's declared subtypes a function type is a subtype only of itself, of `func`, and a
/// supertype of `nofunc`.
pub fn is_subtype(a: ValType, b: ValType) -> bool {
    use wasmparser::{AbstractHeapType as A, HeapType as H};
    let (ValType::Ref(a), ValType::Ref(b)) = (a, b) else {
        return a == b;
    };
    if a.is_nullable() && !b.is_nullable() {
        return false;
    }
    match (a.heap_type(), b.heap_type()) {
        (x, y) if x == y => true,
        (H::Concrete(_), H::Abstract { ty: A::Func, .. }) => true,
        (H::Abstract { ty: A::NoFunc, .. }, H::Concrete(_) | H::Abstract { ty: A::Func, .. }) => {
            true
        }
        (
            H::Abstract {
                ty: A::NoExtern, ..
            },
            H::Abstract { ty: A::Extern, .. },
        ) => true,
        (H::Abstract { ty: A::NoExn, .. }, H::Abstract { ty: A::Exn, .. }) => true,
        _ => false,
    }
}
