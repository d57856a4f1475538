//! Resolving imports by name.

use crate::api::module::Module;
use crate::api::store::{Extern, Instance, StoreData};
use crate::error::{Error, Result};
use std::collections::HashMap;

/// Definitions by `(module, name)`, from which a module's imports are resolved.
#[derive(Default, Clone)]
pub struct Linker {
    defs: HashMap<(String, String), Extern>,
}

impl Linker {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn define(&mut self, module: &str, name: &str, ext: Extern) -> &mut Self {
        self.defs
            .insert((module.to_string(), name.to_string()), ext);
        self
    }

    /// Defines every export of `instance` under `module`.
    pub fn define_instance(
        &mut self,
        store: &StoreData,
        module: &str,
        instance: Instance,
    ) -> &mut Self {
        for name in store.export_names(instance) {
            if let Some(ext) = store.get_export(instance, &name) {
                self.define(module, &name, ext);
            }
        }
        self
    }

    pub fn get(&self, module: &str, name: &str) -> Option<Extern> {
        self.defs
            .get(&(module.to_string(), name.to_string()))
            .copied()
    }

    /// The imports of `module`, resolved; the first unresolved one is an error.
    pub fn resolve(&self, module: &Module) -> Result<Vec<Extern>> {
        module
            .info()
            .imports
            .iter()
            .map(|i| {
                self.get(&i.module, &i.name).ok_or_else(|| {
                    Error::Link(format!(
                        "{}: unknown import `{}`.`{}`",
                        module.name(),
                        runtime_support::printable(&i.module),
                        runtime_support::printable(&i.name)
                    ))
                })
            })
            .collect()
    }

    pub fn instantiate(&self, store: &mut StoreData, module: &Module) -> Result<Instance> {
        let imports = self.resolve(module)?;
        store.instantiate(module, &imports)
    }
}
