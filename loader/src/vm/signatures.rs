//! The process-wide type registry: equal types from any module get the same id, so
//! `call_indirect`, casts and import checks compare integers, across modules.
//!
//! Types are canonicalized by recursion group, as the GC proposal defines equality: a group's
//! key is its types with every index inside the group written relative to the group and every
//! index outside replaced by that type's id. Equal keys are the same types; a group's members
//! get consecutive ids. A function type outside `(rec ...)` is a final group of one, so a
//! host function's signature has the id of the same plain type in any module.

use runtime_support::gc::{self, VmTypeInfo};
use runtime_support::types::{Signature, TypeHierarchy};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use wasmparser::{
    CompositeInnerType, CompositeType, FieldType, FuncType, PackedIndex, RefType, StorageType,
    SubType, ValType,
};

/// One canonical type.
pub struct TypeRecord {
    /// The type with every index an id.
    pub sub: SubType,
    /// Its signature, for a function type.
    pub sig: Option<Signature>,
    /// What compiled code reads; never freed.
    pub info: &'static VmTypeInfo,
}

impl TypeRecord {
    pub fn kind(&self) -> u32 {
        self.info.kind
    }

    pub fn display(&self) -> &[u64] {
        // SAFETY: `display` points to `depth + 1` ids leaked with the record.
        unsafe { std::slice::from_raw_parts(self.info.display, self.info.depth as usize + 1) }
    }
}

#[derive(Default)]
struct Registry {
    groups: HashMap<Vec<SubType>, u64>,
    /// Records by id - 1.
    records: Vec<Arc<TypeRecord>>,
}

static REGISTRY: Mutex<Option<Registry>> = Mutex::new(None);

fn with<R>(f: impl FnOnce(&mut Registry) -> R) -> R {
    let mut guard = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    f(guard.get_or_insert_with(Default::default))
}

/// The id of the plain (final, non-recursive) function type `sig`; ids start at 1 and are
/// never reused.
pub fn intern(sig: &Signature) -> u64 {
    let sub = SubType {
        is_final: true,
        supertype_idxs: vec![],
        composite_type: CompositeType {
            inner: CompositeInnerType::Func(FuncType::new(
                sig.params.iter().copied(),
                sig.results.iter().copied(),
            )),
            shared: false,
            descriptor_idx: None,
            describes_idx: None,
        },
    };
    // With the registry full (2^20 types in the process) the id is 0, which names no type:
    // such a host function matches no import rather than aborting the host.
    with(|r| r.intern_group(vec![sub])).unwrap_or(0)
}

/// The signature of function type `id`.
pub fn lookup(id: u64) -> Option<Signature> {
    record(id)?.sig.clone()
}

pub fn record(id: u64) -> Option<Arc<TypeRecord>> {
    with(|r| r.records.get((id as usize).checked_sub(1)?).cloned())
}

/// Whether canonical type `id` (what a concrete reference type of the store's types names) is
/// a function type.
pub fn is_function_type(id: u64) -> bool {
    record(id).is_some_and(|r| matches!(r.sub.composite_type.inner, CompositeInnerType::Func(_)))
}

/// Whether `id` names a type of the registry.
pub fn is_registered(id: u64) -> bool {
    record(id).is_some()
}

/// Whether canonical type `a` is `b` or a declared subtype of it.
pub fn is_sub_id(a: u64, b: u64) -> bool {
    if a == b {
        return true;
    }
    let (Some(ra), Some(rb)) = (record(a), record(b)) else {
        return false;
    };
    let depth = rb.info.depth as usize;
    ra.display().get(depth) == Some(&b)
}

/// The registry as `types::is_subtype` asks it.
pub struct Hierarchy;

impl TypeHierarchy for Hierarchy {
    fn kind(&self, id: u32) -> u32 {
        record(id.into()).map_or(u32::MAX, |r| r.kind())
    }

    fn is_sub_id(&self, a: u32, b: u32) -> bool {
        is_sub_id(a.into(), b.into())
    }
}

/// Whether canonical id `id` names a struct or array type.
pub fn is_gc_id(id: u32) -> bool {
    record(id.into()).is_some_and(|r| r.kind() != gc::KIND_FUNC)
}

/// A module's types, canonicalized.
pub struct ModuleTypes {
    /// The signature of each type index (empty for struct and array types).
    pub signatures: Vec<Signature>,
    pub ids: Vec<u64>,
    pub infos: Vec<*const VmTypeInfo>,
}

/// Interns each of a module's recursion groups, in order (a group names only itself and
/// earlier groups, which validation checked).
pub fn intern_module_types(
    sub_types: &[SubType],
    groups: &[std::ops::Range<u32>],
) -> Result<ModuleTypes, String> {
    let mut ids: Vec<u64> = Vec::with_capacity(sub_types.len());
    for group in groups {
        let (start, end) = (group.start, group.end);
        let mut key = Vec::with_capacity((end - start) as usize);
        for i in start..end {
            let mut bad = None;
            let sub = map_sub(&sub_types[i as usize], &mut |index| {
                let packed = if (start..end).contains(&index) {
                    PackedIndex::from_rec_group_index(index - start)
                } else {
                    ids.get(index as usize)
                        .and_then(|id| u32::try_from(*id).ok())
                        .and_then(PackedIndex::from_module_index)
                };
                if packed.is_none() {
                    bad = Some(index);
                }
                packed.unwrap_or_else(|| PackedIndex::from_module_index(0).unwrap())
            });
            if let Some(index) = bad {
                return Err(format!(
                    "type {i}: names type {index}, which is later or past what this process \
                     can hold"
                ));
            }
            key.push(sub);
        }
        let first = with(|r| r.intern_group(key))
            .ok_or_else(|| format!("type {start}: too many distinct types in this process"))?;
        ids.extend((0..u64::from(end - start)).map(|k| first + k));
    }
    let records: Vec<_> = ids
        .iter()
        .map(|id| record(*id).expect("interned"))
        .collect();
    for (i, r) in records.iter().enumerate() {
        if holds_exnref(&r.sub) {
            return Err(format!(
                "type {i}: struct and array fields of type exnref are not supported yet"
            ));
        }
    }
    Ok(ModuleTypes {
        signatures: records
            .iter()
            .map(|r| r.sig.clone().unwrap_or_else(|| Signature::new(&[], &[])))
            .collect(),
        infos: records
            .iter()
            .map(|r| r.info as *const VmTypeInfo)
            .collect(),
        ids,
    })
}

impl Registry {
    /// The id of the first type of the group with `key`, registering it if new; `None` when
    /// its ids would not fit where a canonical type names one (`canonicalize`: below 2^20).
    fn intern_group(&mut self, key: Vec<SubType>) -> Option<u64> {
        if let Some(id) = self.groups.get(&key) {
            return Some(*id);
        }
        let first = self.records.len() as u64 + 1;
        let last = first + key.len() as u64 - 1;
        u32::try_from(last)
            .ok()
            .and_then(PackedIndex::from_module_index)?;
        // Members may name each other (and themselves): their kinds come from the key.
        let group_is_gc: Vec<bool> = key
            .iter()
            .map(|s| !matches!(s.composite_type.inner, CompositeInnerType::Func(_)))
            .collect();
        for sub in &key {
            // Rec-group-relative indices become the ids the group now gets.
            let sub = resolve_group(sub, first);
            let record = self.make_record(sub, self.records.len() as u64 + 1, first, &group_is_gc);
            self.records.push(Arc::new(record));
        }
        self.groups.insert(key, first);
        Some(first)
    }

    fn make_record(&self, sub: SubType, id: u64, first: u64, group_is_gc: &[bool]) -> TypeRecord {
        let mut display = match sub.supertype_idxs.first().and_then(|p| p.as_module_index()) {
            Some(s) => self.records[s as usize - 1].display().to_vec(),
            None => Vec::new(),
        };
        display.push(id);
        let is_gc = |i: u32| match u64::from(i).checked_sub(first) {
            Some(k) if (k as usize) < group_is_gc.len() => group_is_gc[k as usize],
            _ => self
                .records
                .get(i as usize - 1)
                .is_some_and(|r| r.kind() != gc::KIND_FUNC),
        };
        let (kind, size, refs, sig) = match &sub.composite_type.inner {
            CompositeInnerType::Func(f) => (
                gc::KIND_FUNC,
                0,
                vec![],
                Some(Signature::new(f.params(), f.results())),
            ),
            CompositeInnerType::Struct(s) => {
                let layout = gc::struct_layout(s);
                let refs = s
                    .fields
                    .iter()
                    .zip(&layout.offsets)
                    .filter(|(f, _)| gc::is_traced(f.element_type, is_gc))
                    .map(|(_, o)| *o)
                    .collect();
                (gc::KIND_STRUCT, layout.size, refs, None)
            }
            CompositeInnerType::Array(a) => {
                let traced = gc::is_traced(a.0.element_type, is_gc);
                let refs = if traced { vec![0] } else { vec![] };
                (
                    gc::KIND_ARRAY,
                    gc::storage_size(a.0.element_type),
                    refs,
                    None,
                )
            }
            CompositeInnerType::Cont(_) => (u32::MAX, 0, vec![], None),
        };
        let display: &'static [u64] = Box::leak(display.into_boxed_slice());
        let refs: &'static [u32] = Box::leak(refs.into_boxed_slice());
        let info = Box::leak(Box::new(VmTypeInfo {
            id,
            depth: display.len() as u32 - 1,
            kind,
            display: display.as_ptr(),
            size,
            num_refs: refs.len() as u32,
            ref_offsets: refs.as_ptr(),
        }));
        TypeRecord { sub, sig, info }
    }
}

/// Whether a struct or array type has a field of the exception hierarchy, which the
/// exception heap would not see as a root.
pub(crate) fn holds_exnref(sub: &SubType) -> bool {
    let exn = |f: &FieldType| match f.element_type {
        StorageType::Val(ValType::Ref(r)) => {
            runtime_support::types::ref_kind(r, |_| true) == runtime_support::types::RefKind::Exn
        }
        _ => false,
    };
    match &sub.composite_type.inner {
        CompositeInnerType::Struct(s) => s.fields.iter().any(exn),
        CompositeInnerType::Array(a) => exn(&a.0),
        _ => false,
    }
}

/// `sub` with its rec-group-relative indices made ids (`first` + index).
fn resolve_group(sub: &SubType, first: u64) -> SubType {
    // `map_sub` sees only module indices; rec-group ones are kept aside by `map_packed`.
    map_packed_sub(sub, &mut |p| match p.as_rec_group_index() {
        Some(i) => PackedIndex::from_module_index((first + u64::from(i)) as u32).expect("fits"),
        None => p,
    })
}

/// `sub` with every module type index `i` replaced by `f(i)`.
fn map_sub(sub: &SubType, f: &mut dyn FnMut(u32) -> PackedIndex) -> SubType {
    map_packed_sub(sub, &mut |p| match p.as_module_index() {
        Some(i) => f(i),
        None => p,
    })
}

fn map_packed_sub(sub: &SubType, f: &mut dyn FnMut(PackedIndex) -> PackedIndex) -> SubType {
    let inner = match &sub.composite_type.inner {
        CompositeInnerType::Func(ft) => {
            let params: Vec<_> = ft.params().iter().map(|t| map_val(*t, f)).collect();
            let results: Vec<_> = ft.results().iter().map(|t| map_val(*t, f)).collect();
            CompositeInnerType::Func(FuncType::new(params, results))
        }
        CompositeInnerType::Struct(s) => CompositeInnerType::Struct(wasmparser::StructType {
            fields: s.fields.iter().map(|x| map_field(x, f)).collect(),
        }),
        CompositeInnerType::Array(a) => {
            CompositeInnerType::Array(wasmparser::ArrayType(map_field(&a.0, f)))
        }
        other => other.clone(),
    };
    SubType {
        is_final: sub.is_final,
        supertype_idxs: sub.supertype_idxs.iter().map(|p| f(*p)).collect(),
        composite_type: CompositeType {
            inner,
            shared: sub.composite_type.shared,
            descriptor_idx: sub.composite_type.descriptor_idx,
            describes_idx: sub.composite_type.describes_idx,
        },
    }
}

fn map_val(t: ValType, f: &mut dyn FnMut(PackedIndex) -> PackedIndex) -> ValType {
    match t {
        ValType::Ref(r) => match r.type_index() {
            Some(p) => ValType::Ref(RefType::concrete(r.is_nullable(), f(p))),
            None => t,
        },
        t => t,
    }
}

fn map_field(x: &FieldType, f: &mut dyn FnMut(PackedIndex) -> PackedIndex) -> FieldType {
    FieldType {
        element_type: match x.element_type {
            StorageType::Val(v) => StorageType::Val(map_val(v, f)),
            s => s,
        },
        mutable: x.mutable,
    }
}
