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
//! is the user's (`$XDG_CACHE_HOME/waot/native`, created private, used through one open
//! descriptor); one that another user could write to is not used. `WAOT_NATIVE_CACHE=0` turns
//! the cache off.

use crate::artifact::file_bytes::{self, FileBytes};
use runtime_support::artifact::{hex, ArtifactHeader};
use runtime_support::universal::{NativeSection, FORMAT_VERSION};
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::fs::{DirBuilderExt, FileExt, MetadataExt};
use std::path::PathBuf;

/// Records of files kept per entry: a file copied, touched or rebuilt many times leaves one
/// record each; the oldest go.
const RECORDS_PER_ENTRY: usize = 16;

/// A cache entry for a universal file: the checked header and shared object.
pub(crate) struct Hit {
    pub header: ArtifactHeader,
    pub key_id: [u8; 8],
    pub object: FileBytes,
    dir: Directory,
    stem: String,
}

impl Hit {
    /// Records a use: recently used entries are the last to go (`prune`).
    pub(crate) fn mark_used(&self) {
        mark_used(&self.dir.path(&format!("{}.header", self.stem)));
    }

    /// Drops an entry that did not load, so that the next check writes it again.
    pub(crate) fn forget(&self) {
        let _ = std::fs::remove_file(self.dir.path(&format!("{}.header", self.stem)));
    }
}

/// The cache directory, open: every name in it is reached through this descriptor
/// (`/proc/self/fd/N/name`), never by walking the path again, so nobody can swap a directory
/// of the path between the check of its owner and its use.
struct Directory(File);

impl Directory {
    /// The cache directory, made private if `create` and it is missing; `None` when the cache
    /// is off, or the directory is not this user's alone (another user could write to it).
    fn open(create: bool) -> Option<Directory> {
        if std::env::var_os("WAOT_NATIVE_CACHE").is_some_and(|v| v == "0") {
            return None;
        }
        let base = match std::env::var_os("XDG_CACHE_HOME") {
            Some(d) if !d.is_empty() => PathBuf::from(d),
            _ => PathBuf::from(std::env::var_os("HOME")?).join(".cache"),
        };
        let path = base.join("waot").join("native");
        if create && !path.is_dir() {
            std::fs::create_dir_all(path.parent()?).ok()?;
            let _ = std::fs::DirBuilder::new().mode(0o700).create(&path);
        }
        let c_path = std::ffi::CString::new(path.into_os_string().into_encoded_bytes()).ok()?;
        // SAFETY: a NUL-terminated path; the descriptor is owned at once.
        let fd = unsafe {
            libc::open(
                c_path.as_ptr(),
                libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_RDONLY | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return None;
        }
        // SAFETY: a new descriptor nothing else owns.
        let dir = unsafe { File::from_raw_fd(fd) };
        let m = dir.metadata().ok()?;
        // SAFETY: geteuid has no preconditions.
        let mine = m.uid() == unsafe { libc::geteuid() } && m.mode() & 0o022 == 0;
        mine.then_some(Directory(dir))
    }

    fn path(&self, name: &str) -> PathBuf {
        PathBuf::from(format!("/proc/self/fd/{}/{name}", self.0.as_raw_fd()))
    }

    fn clone(&self) -> Option<Directory> {
        self.0.try_clone().ok().map(Directory)
    }
}

/// Sets the time of an entry's header, its last use.
fn mark_used(header: &std::path::Path) {
    if let Ok(f) = File::options().write(true).open(header) {
        let _ = f.set_modified(std::time::SystemTime::now());
    }
}

fn stem(key_id: &[u8; 8], tag: &[u8; 32]) -> String {
    format!("{}-{}-v{FORMAT_VERSION}", hex(key_id), hex(tag))
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
pub(crate) fn identity(file: &File) -> Option<String> {
    let m = file.metadata().ok()?;
    let since_epoch = std::time::Duration::new(
        u64::try_from(m.ctime()).ok()?,
        u32::try_from(m.ctime_nsec()).ok()?.min(999_999_999),
    );
    let changed = std::time::UNIX_EPOCH.checked_add(since_epoch)?;
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
    let dir = Directory::open(false)?;
    let stem = stem(&key_id, &tag);
    if !dir
        .path(&format!("{stem}.{}.seen", identity(file)?))
        .is_file()
    {
        return None;
    }
    let header = std::fs::read(dir.path(&format!("{stem}.header"))).ok()?;
    let header = ArtifactHeader::decode(&header).ok()?;
    let object = file_bytes::read(&dir.path(&format!("{stem}.so"))).ok()?;
    Some(Hit {
        header,
        key_id,
        object,
        dir: dir.clone()?,
        stem,
    })
}

/// Keeps a section whose tag was checked, read from `file` when its identity was
/// `identity_when_read`. Best effort: a cache that cannot be written costs the next start its
/// time, nothing else.
pub(crate) fn store(section: &NativeSection, file: &File, identity_when_read: Option<&str>) {
    // Recorded only if the file is still what was read: a change since the read, or one too
    // recent to show, leaves no record.
    let Some(id) = identity_when_read.filter(|id| identity(file).as_deref() == Some(*id)) else {
        return;
    };
    let Some(dir) = Directory::open(true) else {
        return;
    };
    let stem = stem(&section.key_id, &section.tag);
    // The record of the file last: an entry is used only once all of it is there.
    let header = dir.path(&format!("{stem}.header"));
    let complete = header.is_file() && dir.path(&format!("{stem}.so")).is_file();
    if complete {
        // Just used: not the first to go when `prune` runs below.
        mark_used(&header);
    }
    let complete = complete
        || (write(&dir, &format!("{stem}.so"), &section.object)
            && write(&dir, &format!("{stem}.header"), &section.header.encode()));
    if complete && write(&dir, &format!("{stem}.{id}.seen"), &[]) {
        prune(&dir);
    }
}

/// Writes `name` in `dir` whole or not at all (a temporary file renamed into place).
fn write(dir: &Directory, name: &str, bytes: &[u8]) -> bool {
    let Ok(mut file) = tempfile::NamedTempFile::new_in(dir.path("")) else {
        return false;
    };
    std::io::Write::write_all(&mut file, bytes).is_ok() && file.persist(dir.path(name)).is_ok()
}

/// One entry's files, for `prune`.
#[derive(Default)]
struct EntryFiles {
    /// The header's time: the entry's last use.
    last_use: Option<std::time::SystemTime>,
    bytes: u64,
    /// Every file of the entry, and its records by age.
    files: Vec<PathBuf>,
    records: Vec<(std::time::SystemTime, PathBuf)>,
}

/// Keeps at most `RECORDS_PER_ENTRY` records per entry, and removes the least recently used
/// entries while the directory holds more than `WAOT_CACHE_MAX_BYTES` (default 4 GiB).
fn prune(dir: &Directory) {
    let max = std::env::var("WAOT_CACHE_MAX_BYTES")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(4 << 30);
    let Ok(listing) = std::fs::read_dir(dir.path("")) else {
        return;
    };
    let mut entries: std::collections::BTreeMap<String, EntryFiles> = Default::default();
    for e in listing.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let (Ok(m), Some((stem, rest))) = (e.metadata(), name.split_once('.')) else {
            continue;
        };
        if stem.is_empty() {
            continue; // a temporary file being written
        }
        let entry = entries.entry(stem.to_string()).or_default();
        let time = m.modified().unwrap_or(std::time::UNIX_EPOCH);
        entry.bytes += m.len();
        entry.files.push(e.path());
        match rest {
            "header" => entry.last_use = Some(time),
            _ if rest.ends_with(".seen") => entry.records.push((time, e.path())),
            _ => {}
        }
    }
    for entry in entries.values_mut() {
        entry.records.sort();
        let extra = entry.records.len().saturating_sub(RECORDS_PER_ENTRY);
        for (_, old) in entry.records.drain(..extra) {
            let _ = std::fs::remove_file(old);
        }
    }
    let mut total: u64 = entries.values().map(|e| e.bytes).sum();
    let mut by_age: Vec<_> = entries.into_values().collect();
    by_age.sort_by_key(|e| e.last_use);
    for entry in by_age {
        if total <= max {
            break;
        }
        for f in entry.files {
            let _ = std::fs::remove_file(f);
        }
        total -= entry.bytes;
    }
}
