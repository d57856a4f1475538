//! The process-wide signature registry: equal signatures from any module get the same id, so
//! `call_indirect` compares one integer, across modules.

use runtime_support::types::Signature;
use std::collections::HashMap;
use std::sync::Mutex;

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
