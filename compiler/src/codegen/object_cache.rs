//! The per-partition object cache (issue 13: incremental compiles). A partition's object is
//! kept under a key that hashes everything its code depends on, so a recompile after a change
//! to a few functions compiles only their partitions and links the rest from the cache:
//!
//! - the compiler: a hash of the running program's bytes (a rebuilt `waotc` or embedder is
//!   another compiler, whatever its version says), the LLVM library's version, the artifact
//!   ABI, `WAOT_LLVM_ARGS`, and this cache's format;
//! - every option that changes code: level, bounds strategy, triple, resolved CPU and feature
//!   string, proposals, metering, fuel strips and costs, `keep_every_load`, the compile-time
//!   budgets;
//! - the source name (LLVM records it in the object);
//! - what translation reads of the module besides the bodies: types, the function, table,
//!   memory, global and tag declarations and import counts (not data, element segments,
//!   exports or names, which no function's code depends on);
//! - the partition: its function range, tier, symbol sharing, and each body's bytes and, with
//!   fuel, whether the function checks it at entry (decided from the module's call graph).
//!
//! Entries are `SHA-256(object) ‖ object`, written to a temporary file and renamed into place,
//! so concurrent compilers never see a partial entry and a damaged one is recompiled. The cache
//! is the user's own directory (`~/.cache/waot/objects`): whoever can write it can put code in
//! what `waotc` produces, as whoever can write `waotc` itself can.
//!
//! The cache holds at most `WAOT_CACHE_MAX_BYTES` (default 4 GiB): a compile that wrote to it
//! then removes the least recently used entries (a hit renews an entry's time) until it fits.

use super::{partition::Tier, Piece};
use crate::CompileOptions;
use runtime_support::artifact::{hex, sha256};
use runtime_support::ModuleInfo;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

const FORMAT: &str = "waot-object-cache-1";

/// The default bound on the cache's size.
const DEFAULT_MAX_BYTES: u64 = 4 << 30;

/// The cache directory `waotc` uses unless told `--no-cache`.
pub fn default_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("waot").join("objects"))
}

/// What identifies the code generator: the running program's bytes and LLVM's version
/// (the library is linked dynamically and may change under an unchanged program). Computed
/// once per process; a program that cannot read itself gets a random identity, so it never
/// reuses what it cached.
fn compiler_identity() -> [u8; 32] {
    static ID: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();
    *ID.get_or_init(|| {
        let mut h = Sha256::new();
        match std::env::current_exe().and_then(std::fs::read) {
            Ok(bytes) => h.update(&bytes),
            Err(_) => h.update(format!("{:?}", std::time::SystemTime::now()).as_bytes()),
        }
        let (mut major, mut minor, mut patch) = (0, 0, 0);
        // SAFETY: writes three integers.
        unsafe { llvm_sys::core::LLVMGetVersion(&mut major, &mut minor, &mut patch) };
        h.update(format!("llvm {major}.{minor}.{patch}").as_bytes());
        h.finalize().into()
    })
}

/// How the partitions of one compile fared.
#[derive(Default)]
pub struct CacheCounts {
    pub hits: AtomicUsize,
    pub lookups: AtomicUsize,
}

pub struct ObjectCache<'a> {
    dir: &'a Path,
    /// The hash of everything but the partition: computed once per compile.
    module_key: [u8; 32],
    pub counts: CacheCounts,
}

impl<'a> ObjectCache<'a> {
    pub fn new(dir: &'a Path, info: &ModuleInfo, source: &str, options: &CompileOptions) -> Self {
        let mut h = Sha256::new();
        let mut field = |bytes: &[u8]| {
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(bytes);
        };
        field(FORMAT.as_bytes());
        field(env!("CARGO_PKG_VERSION").as_bytes());
        field(&compiler_identity());
        field(
            std::env::var("WAOT_LLVM_ARGS")
                .unwrap_or_default()
                .as_bytes(),
        );
        field(&runtime_support::ABI_VERSION.to_le_bytes());
        field(source.as_bytes());
        let o = options;
        let opts = format!(
            "{:?} {:?} {:?} {:?} {} {:?} {} {:?} {:?}",
            o.opt_level.name(),
            o.bounds,
            o.target,
            o.enabled_proposals,
            o.keep_every_load,
            o.metering,
            o.fuel_strips,
            o.fuel_costs.as_ref().map(|c| c.fingerprint()),
            [
                "WAOT_PASS_BUDGET",
                "WAOT_BLOCK_BUDGET",
                "WAOT_BLOCKS_BUDGET",
                "WAOT_PASSES"
            ]
            .map(|v| std::env::var(v).ok()),
        );
        field(opts.as_bytes());
        let module = format!(
            "{:?} {:?} {} {:?} {} {:?} {} {:?} {} {:?} {}",
            info.types,
            info.funcs,
            info.num_imported_funcs,
            info.tables,
            info.num_imported_tables,
            info.memories,
            info.num_imported_memories,
            info.globals,
            info.num_imported_globals,
            info.tags,
            info.num_imported_tags,
        );
        field(module.as_bytes());
        ObjectCache {
            dir,
            module_key: h.finalize().into(),
            counts: CacheCounts::default(),
        }
    }

    /// The key of `piece` compiled for `cpu` with `features`.
    pub fn key(
        &self,
        piece: &Piece,
        wasm: &[u8],
        info: &ModuleInfo,
        cpu: &str,
        features: &str,
        fuel_entry_checks: Option<&[bool]>,
    ) -> String {
        let mut h = Sha256::new();
        h.update(self.module_key);
        for s in [cpu, features] {
            h.update((s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        }
        let tier = match piece.tier {
            Tier::Full => 0u8,
            Tier::Light => 1,
        };
        h.update((piece.functions.len() as u64).to_le_bytes());
        h.update([tier, piece.shared_symbols as u8]);
        for &i in &piece.functions {
            h.update(i.to_le_bytes());
            let body = &wasm[info.bodies[i as usize].clone()];
            h.update((body.len() as u64).to_le_bytes());
            h.update(body);
            // Decided from the whole module's calls, not from the body alone.
            if let Some(checks) = fuel_entry_checks {
                h.update([checks[i as usize] as u8]);
            }
        }
        hex(&h.finalize())
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(&key[..2]).join(format!("{key}.o"))
    }

    /// The object cached under `key`, if an intact one is there.
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.counts.lookups.fetch_add(1, Relaxed);
        let entry = std::fs::read(self.path(key)).ok()?;
        let (sum, object) = entry.split_at_checked(32)?;
        if sum != sha256(object) {
            return None;
        }
        // Recently used: pruning keeps it over older entries.
        if let Ok(f) = std::fs::File::options().write(true).open(self.path(key)) {
            let _ = f.set_modified(std::time::SystemTime::now());
        }
        self.counts.hits.fetch_add(1, Relaxed);
        Some(object.to_vec())
    }

    /// After a compile that added entries: removes the least recently used until the cache
    /// holds at most `WAOT_CACHE_MAX_BYTES`. Entries another compiler removes or adds at
    /// the same time are no error.
    pub fn prune(&self) {
        if self.counts.hits.load(Relaxed) == self.counts.lookups.load(Relaxed) {
            return;
        }
        let max = std::env::var("WAOT_CACHE_MAX_BYTES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_MAX_BYTES);
        let mut entries = Vec::new();
        for sub in std::fs::read_dir(self.dir).into_iter().flatten().flatten() {
            for e in std::fs::read_dir(sub.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                // Entries only: another compiler's temporary files are not ours to remove.
                if e.path().extension().is_none_or(|x| x != "o") {
                    continue;
                }
                let Ok(meta) = e.metadata() else { continue };
                let used = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
                entries.push((used, meta.len(), e.path()));
            }
        }
        let mut total: u64 = entries.iter().map(|e| e.1).sum();
        entries.sort();
        for (_, len, path) in entries {
            if total <= max {
                break;
            }
            let _ = std::fs::remove_file(path);
            total = total.saturating_sub(len);
        }
    }

    /// Keeps `object` under `key`. A cache that cannot be written is no error: the compile
    /// goes on without it.
    pub fn put(&self, key: &str, object: &[u8]) {
        static UNIQUE: AtomicUsize = AtomicUsize::new(0);
        let path = self.path(key);
        let Some(dir) = path.parent() else { return };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        let tmp = dir.join(format!(
            ".{key}.{}.{}.tmp",
            std::process::id(),
            UNIQUE.fetch_add(1, Relaxed)
        ));
        let mut entry = sha256(object).to_vec();
        entry.extend_from_slice(object);
        if std::fs::write(&tmp, &entry).is_ok() && std::fs::rename(&tmp, &path).is_ok() {
            return;
        }
        let _ = std::fs::remove_file(&tmp);
    }
}
