//! The three artifact kinds — a shared object, a universal wasm, a plain wasm — and the choice
//! between running native code and interpreting.

pub(crate) mod cache;
pub(crate) mod checks;
pub(crate) mod file_bytes;
pub(crate) mod host_cpu;
pub(crate) mod loaded;
pub(crate) mod native_cache;
pub(crate) mod native_library;

use crate::error::{Error, Result};
use checks::{check_target, file_name};
use loaded::LoadedModule;
use runtime_support::trust::{self, Key};
use runtime_support::universal;
use std::path::{Path, PathBuf};

/// Whose native code runs. Native code inside a wasm file is arbitrary machine code; by
/// default it runs only when signed by a key the user trusts (see `runtime_support::trust`).
#[derive(Clone, Default)]
pub struct TrustPolicy {
    pub keys: Vec<Key>,
    /// Run native code whatever its signature (`--trust-native`).
    pub trust_any: bool,
}

impl TrustPolicy {
    /// `WAOT_KEY`, the user's key and the user's trusted-keys list; a malformed one is an
    /// error.
    pub fn from_environment() -> Result<Self> {
        Ok(TrustPolicy {
            keys: trust::trusted_keys().map_err(Error::Usage)?,
            trust_any: false,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArtifactKind {
    SharedObject,
    UniversalWasm,
    PlainWasm,
}

/// A file as `wrun` sees it, open once and read at most once: every check and load uses those
/// bytes, so a concurrent writer of the file cannot slip anything between check and use.
///
/// A universal file whose checked native code is in the cache (`native_cache`) is not read at
/// open: its native code and header come from the cache entry, and the file is read only if
/// something needs more (the module, or the check under a key the entry's is not).
pub struct Artifact {
    pub path: PathBuf,
    pub kind: ArtifactKind,
    file: std::fs::File,
    bytes: std::sync::OnceLock<crate::artifact::file_bytes::FileBytes>,
    cached: Option<native_cache::Hit>,
}

impl Artifact {
    pub fn open(path: impl AsRef<Path>) -> Result<Artifact> {
        let path = path.as_ref().to_path_buf();
        let cannot_read =
            |e: std::io::Error| Error::Load(format!("{}: cannot read: {e}", path.display()));
        let file = std::fs::File::open(&path).map_err(cannot_read)?;
        if let Some(hit) = native_cache::find(&file) {
            return Ok(Artifact {
                path,
                kind: ArtifactKind::UniversalWasm,
                file,
                bytes: std::sync::OnceLock::new(),
                cached: Some(hit),
            });
        }
        let bytes = crate::artifact::file_bytes::read_open(file.try_clone().map_err(cannot_read)?)
            .map_err(cannot_read)?;
        let kind = if bytes.starts_with(b"\0asm") {
            match universal::split(&bytes).1 {
                Some(_) => ArtifactKind::UniversalWasm,
                None => ArtifactKind::PlainWasm,
            }
        } else if bytes.starts_with(b"\x7fELF") {
            ArtifactKind::SharedObject
        } else {
            return Err(Error::Load(format!(
                "{}: neither a wasm module nor a shared object",
                path.display()
            )));
        };
        Ok(Artifact {
            path,
            kind,
            file,
            bytes: bytes.into(),
            cached: None,
        })
    }

    /// The whole file, read once.
    fn bytes(&self) -> Result<&crate::artifact::file_bytes::FileBytes> {
        if let Some(b) = self.bytes.get() {
            return Ok(b);
        }
        let cannot_read =
            |e: std::io::Error| Error::Load(format!("{}: cannot read: {e}", self.path.display()));
        let file = self.file.try_clone().map_err(cannot_read)?;
        let bytes = crate::artifact::file_bytes::read_open(file).map_err(cannot_read)?;
        Ok(self.bytes.get_or_init(|| bytes))
    }

    /// The wasm module: the file itself without its native section, or the one a shared
    /// object embeds.
    pub fn wasm(&self) -> Result<Vec<u8>> {
        let bytes = self.bytes()?;
        match self.kind {
            ArtifactKind::SharedObject => embedded_wasm(bytes)
                .map_err(|m| Error::Load(format!("{}: {m}", self.path.display()))),
            _ => Ok(universal::split(bytes).0.to_vec()),
        }
    }

    /// What the artifact's native code meters, as its header says (not yet verified: use it
    /// only to refuse). `None` for a plain wasm or an unreadable header.
    pub fn metering(&self) -> Option<runtime_support::artifact::Metering> {
        if let Some(hit) = &self.cached {
            return Some(hit.header.metering);
        }
        let bytes = self.bytes().ok()?;
        match self.kind {
            ArtifactKind::UniversalWasm => {
                let section = universal::split(bytes).1?.ok()?;
                Some(section.header.metering)
            }
            ArtifactKind::SharedObject => {
                use object::{Object, ObjectSection};
                let file = object::File::parse(&**bytes).ok()?;
                let meta = file.section_by_name(runtime_support::artifact::META_SECTION)?;
                let header = runtime_support::artifact::ArtifactHeader::decode(meta.data().ok()?);
                header.ok().map(|h| h.metering)
            }
            ArtifactKind::PlainWasm => None,
        }
    }

    /// The native module (`Module::from_artifact`). A shared object that does not fit is an
    /// error; for wasm files `Err` is the reason to interpret instead.
    pub(crate) fn native_code(
        &self,
        policy: &TrustPolicy,
    ) -> std::result::Result<LoadedModule, NotNative> {
        let name = file_name(&self.path);
        if let Some(module) = self
            .cached
            .as_ref()
            .and_then(|hit| from_cache(hit, &self.file, &name, policy))
        {
            return Ok(module);
        }
        let bytes = self.bytes().map_err(NotNative::Refused)?;
        match self.kind {
            ArtifactKind::SharedObject => {
                LoadedModule::from_shared_object(bytes, &self.path).map_err(NotNative::Refused)
            }
            _ => native_from_wasm(bytes, &name, policy).map_err(NotNative::Fallback),
        }
    }
}

/// Why an artifact does not run natively.
#[derive(Debug)]
pub enum NotNative {
    /// A shared object that cannot run here: an error.
    Refused(Error),
    /// A wasm file: interpret it, telling the user this reason.
    Fallback(String),
}

/// A shared object's embedded module, checked against its header's hash (loading native code
/// reads only the skeleton; this is the interpreter's way in).
fn embedded_wasm(so: &[u8]) -> std::result::Result<Vec<u8>, String> {
    use object::{Object, ObjectSection};
    use runtime_support::artifact::{self, ArtifactHeader};
    let file = object::File::parse(so).map_err(|e| format!("not a shared object: {e}"))?;
    let data = |name: &str| -> std::result::Result<&[u8], String> {
        let section = file
            .section_by_name(name)
            .ok_or(format!("not a waot artifact: no `{name}` section"))?;
        section.data().map_err(|e| e.to_string())
    };
    let header = ArtifactHeader::decode(data(artifact::META_SECTION)?).map_err(|e| e.0)?;
    let wasm = data(artifact::WASM_SECTION)?;
    if wasm.len() as u64 != header.wasm_len || artifact::content_hash(wasm) != header.wasm_hash {
        return Err(
            "the wasm does not match the hash in the metadata header (the artifact was altered)"
                .into(),
        );
    }
    Ok(wasm.to_vec())
}

/// The native code of the universal file open as `file` from its cache entry, when `policy`
/// trusts the key that signed it and it fits this host; `None` sends the caller the long way
/// (reading and checking the whole file), which gives the reason if it does not run.
fn from_cache(
    hit: &native_cache::Hit,
    file: &std::fs::File,
    name: &str,
    policy: &TrustPolicy,
) -> Option<LoadedModule> {
    let trusted = policy.trust_any || policy.keys.iter().any(|k| trust::key_id(k) == hit.key_id);
    if !trusted || check_target(&hit.header).is_err() {
        return None;
    }
    match LoadedModule::from_cached_native(hit, file.try_clone().ok()?, name) {
        Ok(module) => {
            hit.mark_used();
            Some(module)
        }
        Err(_) => {
            hit.forget();
            None
        }
    }
}

/// The native code of a universal wasm, if it fits this host and is trusted; else why not.
fn native_from_wasm(
    file: &crate::artifact::file_bytes::FileBytes,
    name: &str,
    policy: &TrustPolicy,
) -> std::result::Result<LoadedModule, String> {
    let (module, section) = universal::split(file);
    let section = section.ok_or("it is a plain wasm module without native code")?;
    let section = section.map_err(|e| format!("its native section is unreadable ({e})"))?;
    check_target(&section.header)?;
    // The module around the section is not hashed here: native code reads the skeleton inside
    // the signed object instead, and `LoadedModule::wasm` checks the module if something reads it.
    let checked = !policy.trust_any;
    if checked {
        let trusted = policy.keys.iter().any(|k| {
            trust::key_id(k) == section.key_id && trust::verify(k, &section.signed, &section.tag)
        });
        if !trusted {
            return Err(
                "its native code is not signed by a trusted key (--trust-native runs it anyway)"
                    .into(),
            );
        }
    }
    let loaded = LoadedModule::from_native_section(
        &section.object,
        section.header.clone(),
        module.to_vec(),
        name,
    )?;
    // Kept once checked and loaded: an entry that cannot load is never written.
    if checked {
        native_cache::store(&section, file.file(), file.identity());
    }
    Ok(loaded)
}
