//! Loading a checked shared object with `dlopen`, so that the library runs exactly the bytes
//! that were checked.
//!
//! `dlopen` identifies libraries by name first and by file identity (device and inode)
//! second: asked for a name it has loaded, it returns the loaded library without looking at
//! the file. So waot never `dlopen`s by a path someone else can change: a shared object is
//! loaded from the descriptor its checks read (`/proc/self/fd/N`), and native code from a
//! universal file from a sealed memory file holding the bytes whose signature was verified.
//! Descriptor numbers are reused, so before each load the name is compared with every
//! library already loaded and, if one has it, the descriptor is duplicated to a number no
//! library is known by.
//!
//! `dlopen` of a file it has loaded under another name returns the loaded library and adds
//! the new name to it, so the name would later stand for that library. waot therefore never
//! asks `dlopen` for a file it has loaded: a shared object already loaded (same device, inode,
//! size and modification times) is shared through `SHARED`; one whose identity matches but
//! whose times differ was rewritten in place, and gets a private copy of the checked bytes.
//! A file the dynamic loader has loaded under a path (by the host, say) is not asked for
//! either: its checked bytes are loaded as a private copy. After each load the library's
//! recorded name must be the one asked for; otherwise the name was an alias the loader had
//! added to another library, the load is undone and another name tried.

use std::collections::{HashMap, HashSet};
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Arc, Mutex, Weak};

pub(crate) type Library = Arc<libloading::Library>;

/// Loads are serialized: the name check and the `dlopen` must see the same set of libraries.
static LOADING: Mutex<()> = Mutex::new(());

/// Shared objects loaded from files, by device and inode: their full identity when loaded,
/// and the library while some module uses it.
type SharedFiles = HashMap<(u64, u64), (FileIdentity, Weak<libloading::Library>)>;
static SHARED: Mutex<Option<SharedFiles>> = Mutex::new(None);

/// What tells a file and its version apart: device, inode, size and both times.
#[derive(Clone, Copy, PartialEq, Eq)]
struct FileIdentity {
    dev: u64,
    ino: u64,
    size: i64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

fn identity(file: &File) -> Result<FileIdentity, String> {
    use std::os::unix::fs::MetadataExt;
    let m = file.metadata().map_err(|e| format!("fstat: {e}"))?;
    Ok(FileIdentity {
        dev: m.dev(),
        ino: m.ino(),
        size: m.size() as i64,
        mtime: (m.mtime(), m.mtime_nsec()),
        ctime: (m.ctime(), m.ctime_nsec()),
    })
}

/// The start of glibc's `struct link_map`, the part its `<link.h>` documents.
#[repr(C)]
struct LinkMap {
    _l_addr: usize,
    l_name: *const c_char,
}

/// Loads the shared object open as `file`, whose checked contents are `bytes`. Also gives the
/// file the library was loaded from (a private copy's memory file if not `file`), from which
/// the artifact's memory images are mapped: the same bytes the library maps.
pub(crate) fn load_file(file: &File, bytes: &[u8]) -> Result<(Library, File), String> {
    let same = || {
        file.try_clone()
            .map_err(|e| format!("duplicating a descriptor: {e}"))
    };
    let id = identity(file)?;
    let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    let shared = shared.get_or_insert_with(HashMap::new);
    if let Some((loaded, weak)) = shared.get(&(id.dev, id.ino)) {
        if let Some(library) = weak.upgrade() {
            if *loaded == id {
                return Ok((library, same()?));
            }
            // Rewritten in place while loaded: the loaded copy is not what was checked.
            return load_bytes(bytes);
        }
    }
    let library = match load_descriptor(file.as_raw_fd())? {
        Some(library) => Arc::new(library),
        None => return load_bytes(bytes),
    };
    shared.retain(|_, (_, weak)| weak.strong_count() > 0);
    shared.insert((id.dev, id.ino), (id, Arc::downgrade(&library)));
    Ok((library, same()?))
}

/// Loads `bytes` as a shared object from a sealed anonymous memory file: nothing is left in
/// the file system, and nobody can change the bytes after they were checked. Also gives that
/// file.
pub(crate) fn load_bytes(bytes: &[u8]) -> Result<(Library, File), String> {
    use std::io::Write;
    let flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    // SAFETY: memfd_create with a constant name; the descriptor is owned below.
    let fd = unsafe { libc::memfd_create(c"waot-native".as_ptr(), flags) };
    if fd < 0 {
        return Err(format!("memfd_create: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: a new descriptor, owned from here.
    let mut file = unsafe { File::from_raw_fd(fd) };
    file.write_all(bytes)
        .map_err(|e| format!("writing native code to memory: {e}"))?;
    let seals = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE | libc::F_SEAL_SEAL;
    // SAFETY: fcntl on our own descriptor.
    if unsafe { libc::fcntl(fd, libc::F_ADD_SEALS, seals) } != 0 {
        return Err(format!(
            "sealing native code: {}",
            std::io::Error::last_os_error()
        ));
    }
    let library = load_descriptor(fd)?
        .ok_or("the dynamic loader returned an already loaded library for new native code")?;
    Ok((Arc::new(library), file))
}

/// Attempts at a fresh name before giving up on sharing the file (`load_descriptor`).
const NAME_ATTEMPTS: usize = 8;

/// `dlopen`s the file open as `fd` under a name no loaded library answers to; `None` if the
/// dynamic loader has this file loaded already (under a name waot did not give it), or keeps
/// answering with other libraries (then each such load is undone).
fn load_descriptor(fd: c_int) -> Result<Option<libloading::Library>, String> {
    let _serialized = LOADING.lock().unwrap_or_else(|e| e.into_inner());
    let (mut taken, identities) = loaded_libraries();
    // SAFETY: fstat of a descriptor we hold.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return Err(format!("fstat: {}", std::io::Error::last_os_error()));
    }
    if identities.contains(&(st.st_dev, st.st_ino)) {
        return Ok(None);
    }
    let mut duplicate: Option<OwnedFd> = None;
    let mut current = fd;
    for _ in 0..NAME_ATTEMPTS {
        let name = loop {
            if !taken.contains(&current) {
                break format!("{FD_PREFIX}{current}");
            }
            let mut wanted = current + 1;
            while taken.contains(&wanted) {
                wanted += 1;
            }
            // SAFETY: duplicates a descriptor we hold to the lowest free number >= `wanted`.
            let d = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, wanted) };
            if d < 0 {
                return Err(format!(
                    "duplicating a descriptor: {}",
                    std::io::Error::last_os_error()
                ));
            }
            // SAFETY: a new descriptor, owned from here; the previous duplicate closes.
            duplicate = Some(unsafe { OwnedFd::from_raw_fd(d) });
            current = d;
        };
        let library = dlopen(&name)?;
        if library_name(library.handle)? == name {
            return Ok(Some(library.into_library()));
        }
        // The name was an alias the dynamic loader had added to another library (it does when
        // someone loads one file under two names): undo and take another.
        drop(library);
        taken.insert(current);
    }
    drop(duplicate);
    Ok(None)
}

/// A handle `dlopen` returned, closed when dropped unless made a `Library`.
struct Opened {
    handle: *mut c_void,
}

impl Opened {
    fn into_library(self) -> libloading::Library {
        let handle = self.handle;
        std::mem::forget(self);
        // SAFETY: a handle dlopen returned, owned from here (dlclose on drop).
        unsafe { libloading::os::unix::Library::from_raw(handle) }.into()
    }
}

impl Drop for Opened {
    fn drop(&mut self) {
        // SAFETY: a handle of ours, closed once.
        unsafe { libc::dlclose(self.handle) };
    }
}

fn dlopen(name: &str) -> Result<Opened, String> {
    let c_name = CString::new(name).expect("no NUL in a path we made");
    // SAFETY: the object passed every check; loading runs only its initializers, which waotc
    // never emits.
    let handle = unsafe { libc::dlopen(c_name.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if handle.is_null() {
        // SAFETY: dlerror returns a message owned by the dynamic loader, or null.
        let message = unsafe {
            let e = libc::dlerror();
            if e.is_null() {
                "unknown error".to_string()
            } else {
                CStr::from_ptr(e).to_string_lossy().into_owned()
            }
        };
        return Err(format!("dlopen failed: {message}"));
    }
    Ok(Opened { handle })
}

const FD_PREFIX: &str = "/proc/self/fd/";

/// The descriptor numbers N of the loaded libraries named `/proc/self/fd/N`, and the device
/// and inode of those named by another absolute path (a `/proc/self/fd/N` name may stand for
/// another file by now). One pass over the dynamic loader's list, allocating only for paths.
fn loaded_libraries() -> (HashSet<c_int>, HashSet<(u64, u64)>) {
    struct Seen {
        descriptors: HashSet<c_int>,
        paths: Vec<std::path::PathBuf>,
    }
    unsafe extern "C" fn visit(
        info: *mut libc::dl_phdr_info,
        _size: usize,
        data: *mut c_void,
    ) -> c_int {
        let seen = &mut *(data as *mut Seen);
        let name = (*info).dlpi_name;
        if name.is_null() {
            return 0;
        }
        let name = CStr::from_ptr(name).to_bytes();
        match name.strip_prefix(FD_PREFIX.as_bytes()) {
            Some(n) => {
                if let Some(n) = std::str::from_utf8(n).ok().and_then(|n| n.parse().ok()) {
                    seen.descriptors.insert(n);
                }
            }
            None if name.first() == Some(&b'/') => {
                use std::os::unix::ffi::OsStrExt;
                seen.paths
                    .push(std::ffi::OsStr::from_bytes(name).to_os_string().into());
            }
            None => {}
        }
        0
    }
    let mut seen = Seen {
        descriptors: HashSet::new(),
        paths: Vec::new(),
    };
    // SAFETY: the callback only reads the loader's records and writes to `seen`.
    unsafe { libc::dl_iterate_phdr(Some(visit), &mut seen as *mut Seen as *mut c_void) };
    let identities = seen
        .paths
        .iter()
        .filter_map(|p| {
            use std::os::unix::fs::MetadataExt;
            let m = std::fs::metadata(p).ok()?;
            Some((m.dev(), m.ino()))
        })
        .collect();
    (seen.descriptors, identities)
}

/// The name the dynamic loader records for the library behind `handle`.
fn library_name(handle: *mut c_void) -> Result<String, String> {
    let mut map: *const LinkMap = std::ptr::null();
    // SAFETY: RTLD_DI_LINKMAP stores a pointer to the library's link_map in `map`.
    let r = unsafe {
        libc::dlinfo(
            handle,
            libc::RTLD_DI_LINKMAP,
            &mut map as *mut _ as *mut c_void,
        )
    };
    if r != 0 || map.is_null() {
        return Err("dlinfo failed on a loaded library".into());
    }
    // SAFETY: a live link_map of a loaded library; its name is a C string.
    let name = unsafe { (*map).l_name };
    if name.is_null() {
        return Ok(String::new());
    }
    // SAFETY: as above.
    Ok(unsafe { CStr::from_ptr(name) }
        .to_string_lossy()
        .into_owned())
}
