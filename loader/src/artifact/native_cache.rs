//! Verified native code of universal files, kept for the next start (issue 14). Starting a
//! universal file means reading all of it, checking the tag over its native code and copying
//! that code into a sealed memory file to load it: for a 130 MB file, a tenth of a second
//! before the first guest instruction. Once a section's tag has been checked, its shared
//! object and header are written here, named by its key id and tag; the next start reads the
//! file's last 40 bytes (that key id and tag) and, when an entry has that name and the trust
//! policy accepts the key, loads the entry's shared object as a `.so` artifact is loaded,
//! without reading the rest of the file. The module itself is read, and checked against the
//! header's hash, only if something asks for it.
//!
//! An entry is used only for a file seen before: its checked tag is recorded together with the
//! file's identity (device, inode, size, modification and change times), so a file altered
//! since, in any byte, is read and checked again, and refused as before. (A file changed in
//! the same clock tick as it was checked would keep its identity: files changed less than a
//! second before their check are not recorded.) Whatever a recorded file holds, a hit runs
//! exactly the code its tag was checked over, which the policy's key signed. The directory
//! is the user's (`$XDG_CACHE_HOME/waot/native`, created private); one that another user
//! could write to is not used. `WAOT_NATIVE_CACHE=0` turns the cache off.

use crate::artifact::file_bytes::{self, FileBytes};
use runtime_support::artifact::{hex, ArtifactHeader};
use runtime_support::universal::NativeSection;
use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// A cache entry for a universal file: the checked header and shared object.
pub(crate) struct Hit {
    pub header: ArtifactHeader,
    pub key_id: [u8; 8],
    pub object: FileBytes,
    header_path: PathBuf,
}

impl Hit {
    /// Records a use: recently used entries are the last to go (`prune`).
    pub(crate) fn mark_used(&self) {
        if let Ok(f) = File::options().write(true).open(&self.header_path) {
            let _ = f.set_modified(std::time::SystemTime::now());
        }
    }
}

/// The cache directory, if the cache is on, creating it private; `None` when it cannot be made
/// or someone else could write to it.
fn directory() -> Option<PathBuf> {
    if std::env::var_os("WAOT_NATIVE_CACHE").is_some_and(|v| v == "0") {
        return None;
    }
    let base = match std::env::var_os("XDG_CACHE_HOME") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(std::env::var_os("HOME")?).join(".cache"),
    };
    let dir = base.join("waot").join("native");
    if !dir.is_dir() {
        std::fs::create_dir_all(&dir).ok()?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).ok()?;
    }
    private(&dir).then_some(dir)
}

/// Whether `dir` is a directory of this user that nobody else may write to.
fn private(dir: &Path) -> bool {
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    std::fs::symlink_metadata(dir)
        .is_ok_and(|m| m.is_dir() && m.uid() == me && m.mode() & 0o022 == 0)
}

fn stem(key_id: &[u8; 8], tag: &[u8; 32]) -> String {
    format!("{}-{}", hex(key_id), hex(tag))
}

/// The key id and tag in the last 40 bytes of `file`, when it starts like a wasm module.
fn key_and_tag(file: &File) -> Option<([u8; 8], [u8; 32])> {
    let len = file.metadata().ok()?.len();
    let mut magic = [0u8; 4];
    file.read_exact_at(&mut magic, 0).ok()?;
    if &magic != b"\0asm" || len < 48 {
        return None;
    }
    let mut tail = [0u8; 40];
    file.read_exact_at(&mut tail, len - 40).ok()?;
    Some((tail[..8].try_into().ok()?, tail[8..].try_into().ok()?))
}

/// What identifies `file` as the same, unchanged file: a hash of its device, inode, size
/// and modification and change times; `None` if it changed less than a second ago.
fn identity(file: &File) -> Option<String> {
    let m = file.metadata().ok()?;
    let changed = std::time::UNIX_EPOCH
        + std::time::Duration::new(m.ctime().max(0) as u64, m.ctime_nsec().max(0) as u32);
    let age = std::time::SystemTime::now().duration_since(changed).ok()?;
    if age < std::time::Duration::from_secs(1) {
        return None;
    }
    let id = format!(
        "{} {} {} {} {} {} {}",
        m.dev(),
        m.ino(),
        m.size(),
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec()
    );
    Some(hex(&runtime_support::artifact::sha256(id.as_bytes())[..16]))
}

/// The entry for the universal file open as `file`, if it was checked before, unchanged.
pub(crate) fn find(file: &File) -> Option<Hit> {
    let (key_id, tag) = key_and_tag(file)?;
    let dir = directory()?;
    let stem = stem(&key_id, &tag);
    if !dir
        .join(format!("{stem}.{}.seen", identity(file)?))
        .is_file()
    {
        return None;
    }
    let header_path = dir.join(format!("{stem}.header"));
    let header = ArtifactHeader::decode(&std::fs::read(&header_path).ok()?).ok()?;
    let object = file_bytes::read(&dir.join(format!("{stem}.so"))).ok()?;
    Some(Hit {
        header,
        key_id,
        object,
        header_path,
    })
}

/// Keeps a section whose tag was checked, read from `file`. Best effort: a cache that cannot
/// be written costs the next start its time, nothing else.
pub(crate) fn store(section: &NativeSection, file: &File) {
    let (Some(dir), Some(identity)) = (directory(), identity(file)) else {
        return;
    };
    let stem = stem(&section.key_id, &section.tag);
    // The record of the file last: an entry is used only once all of it is there.
    let complete = dir.join(format!("{stem}.header")).is_file()
        || (write(&dir, &format!("{stem}.so"), &section.object)
            && write(&dir, &format!("{stem}.header"), &section.header.encode()));
    if complete && write(&dir, &format!("{stem}.{identity}.seen"), &[]) {
        prune(&dir);
    }
}

/// Writes `name` in `dir` whole or not at all (a temporary file renamed into place).
fn write(dir: &Path, name: &str, bytes: &[u8]) -> bool {
    let Ok(mut file) = tempfile::NamedTempFile::new_in(dir) else {
        return false;
    };
    std::io::Write::write_all(&mut file, bytes).is_ok() && file.persist(dir.join(name)).is_ok()
}

/// Removes the least recently used entries while the directory holds more than
/// `WAOT_CACHE_MAX_BYTES` (default 4 GiB).
fn prune(dir: &Path) {
    use std::time::{SystemTime, UNIX_EPOCH};
    let max = std::env::var("WAOT_CACHE_MAX_BYTES")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(4 << 30);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    // Per entry: its last use (the header's time), its bytes, its files.
    let mut all: std::collections::BTreeMap<String, (SystemTime, u64, Vec<PathBuf>)> =
        Default::default();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let (Ok(m), Some((stem, rest))) = (e.metadata(), name.split_once('.')) else {
            continue;
        };
        if stem.is_empty() {
            continue; // a temporary file being written
        }
        let slot = all
            .entry(stem.to_string())
            .or_insert((UNIX_EPOCH, 0, Vec::new()));
        slot.1 += m.len();
        slot.2.push(e.path());
        if rest == "header" {
            slot.0 = m.modified().unwrap_or(UNIX_EPOCH);
        }
    }
    let mut total: u64 = all.values().map(|v| v.1).sum();
    let mut by_age: Vec<_> = all.into_values().collect();
    by_age.sort_by_key(|(used, _, _)| *used);
    for (_, bytes, files) in by_age {
        if total <= max {
            break;
        }
        for f in files {
            let _ = std::fs::remove_file(f);
        }
        total -= bytes;
    }
}
