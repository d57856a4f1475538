//! The process-wide signature registry: equal signatures from any module get the same id, so
//! `call_indirect` compares one integer, across modules.

use runtime_support::types::Signature;
use std::collections::HashMap;
use std::sync::Mutex;
use wasmparser::FuncType;

/// Ids by signature, and signatures by id - 1.
type Registry = (HashMap<Signature, u64>, Vec<Signature>);

static REGISTRY: Mutex<Option<Registry>> = Mutex::new(None);

/// The id of `sig`; ids start at 1 and are never reused.
pub fn intern(sig: &Signature) -> u64 {
    let mut guard = REGISTRY.lock().unwrap();
    let (map, list) = guard.get_or_insert_with(Default::default);
    if let Some(id) = map.get(sig) {
        return *id;
    }
    list.push(sig.clone());
    let id = list.len() as u64;
    map.insert(sig.clone(), id);
    id
}

/// The signature with id `id`.
pub fn lookup(id: u64) -> Option<Signature> {
    let guard = REGISTRY.lock().unwrap();
    guard
        .as_ref()
        .and_then(|(_, list)| list.get((id as usize).checked_sub(1)?).cloned())
}

/// The canonical signature and id of each of a module's types, in order. Without the GC
/// proposal a type refers only to earlier ones (no recursion), whose ids are known by then.
pub fn intern_module_types(types: &[FuncType]) -> Result<(Vec<Signature>, Vec<u64>), String> {
    let mut sigs = Vec::with_capacity(types.len());
    let mut ids = Vec::with_capacity(types.len());
    for (i, ft) in types.iter().enumerate() {
        let sig = Signature::canonical(ft, &ids).ok_or_else(|| {
            format!("type {i}: refers to a later type, or too many distinct types in this process")
        })?;
        let id = intern(&sig);
        // Every id must fit where a canonical type names it (`canonicalize`).
        if u32::try_from(id)
            .ok()
            .and_then(wasmparser::PackedIndex::from_module_index)
            .is_none()
        {
            return Err(format!("type {i}: too many distinct types in this process"));
        }
        ids.push(id);
        sigs.push(sig);
    }
    Ok((sigs, ids))
}

/// Whether `id` names a signature of the registry.
pub fn is_registered(id: u64) -> bool {
    lookup(id).is_some()
}
