//! The embedding API's handle to a loaded module (`artifact::loaded` loads and checks it).

use crate::artifact::loaded::LoadedModule;
use crate::artifact::{Artifact, NotNative, TrustPolicy};
use crate::error::{Error, Result};
use runtime_support::artifact::ArtifactHeader;
use runtime_support::types::Signature;
use runtime_support::ModuleInfo;
use std::path::Path;
use std::sync::Arc;

/// A loaded, checked artifact. Cheap to clone; instances keep it alive.
#[derive(Clone)]
pub struct Module {
    pub(crate) inner: Arc<LoadedModule>,
}

impl Module {
    /// Loads and checks a shared object made by `waotc`, or the native code of a universal
    /// wasm when it fits this host and is signed by a trusted key (see `Artifact` for choosing
    /// between native code and the interpreter).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Module> {
        use crate::artifact::ArtifactKind;
        let path = path.as_ref();
        let artifact = Artifact::open(path)?;
        // Only native code inside a wasm file needs a trust policy (and a readable key list).
        let policy = match artifact.kind {
            ArtifactKind::SharedObject => TrustPolicy::default(),
            _ => TrustPolicy::from_environment()?,
        };
        Module::from_artifact(&artifact, &policy).map_err(|e| match e {
            NotNative::Refused(e) => e,
            NotNative::Fallback(reason) => Error::Load(format!(
                "{}: no native code to run: {reason}",
                path.display()
            )),
        })
    }

    /// The artifact's native module. A shared object that does not fit is an error; for wasm
    /// files `Err` is the reason to interpret instead.
    pub fn from_artifact(
        artifact: &Artifact,
        policy: &TrustPolicy,
    ) -> std::result::Result<Module, NotNative> {
        Ok(Module {
            inner: Arc::new(artifact.native_code(policy)?),
        })
    }

    /// Compiles a plain wasm on first use through the per-user cache (see `cache`).
    pub fn compile_cached(wasm: &[u8], source: &Path) -> Result<Module> {
        crate::artifact::cache::compile_cached(wasm, source, |so| {
            let module = Module::from_file(so)?;
            let holds_wasm = module.wasm()? == wasm;
            Ok(holds_wasm.then_some(module))
        })
    }

    pub fn name(&self) -> &str {
        &self.inner.name
    }

    pub fn header(&self) -> &ArtifactHeader {
        &self.inner.header
    }

    /// The original wasm bytes embedded in the artifact, checked against the header's hash
    /// the first time they are read (loading reads only the skeleton).
    pub fn wasm(&self) -> Result<&[u8]> {
        self.inner.wasm()
    }

    /// The canonical signature of type `index` (concrete types named by canonical ids): what a
    /// host function standing in for an import of that type declares.
    pub fn signature(&self, index: u32) -> Option<&Signature> {
        self.inner.signatures.get(index as usize)
    }

    /// The canonical id of type `index`: what `StoreData::struct_new`/`array_new` take, and
    /// what a concrete reference type names in the store's types.
    pub fn type_id(&self, index: u32) -> Option<u64> {
        self.inner.type_ids.get(index as usize).copied()
    }

    /// For an artifact compiled with `waotc --profile-generate`: how often each function was
    /// entered and its loops iterated, by every instance of this artifact in the process so
    /// far (they share the counters). `None` for other artifacts.
    pub fn profile(&self) -> Option<runtime_support::profile::Profile> {
        self.inner.profile()
    }

    /// Whether the artifact was compiled with `waotc --profile-generate` (`profile` is then
    /// `Some`).
    pub fn has_profile(&self) -> bool {
        self.inner.has_profile()
    }

    /// The module's structure, as its skeleton declares it (`bodies` is empty: loading does not
    /// read the skeleton's stub bodies; the active data segments of a memory whose image the
    /// artifact carries are empty, their bytes in the image).
    pub fn info(&self) -> &ModuleInfo {
        &self.inner.info
    }
}
