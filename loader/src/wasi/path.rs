//! `path_*`: everything that names a file relative to a directory descriptor.
//!
//! The sandbox is the kernel's: every path is resolved with `openat2(RESOLVE_BENEATH |
//! RESOLVE_NO_MAGICLINKS)` from the directory the guest names, so `..`, absolute paths and
//! symlinks (also ones the guest made, also a directory swapped for a symlink mid-walk) cannot
//! leave it; the kernel's EXDEV becomes ENOTCAPABLE. Operations on a last component (unlink,
//! mkdir, rename, ...) resolve its parent that way and act on the name with the `*at` calls,
//! never following a final symlink.

use super::errno::{self, check, Errno};
use super::fd::{timespecs, write_filestat};
use super::memory::GuestMemory;
use super::table::{filetype, rights, FdEntry, Handle};
use super::WasiCtx;
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

type R = Result<(), Errno>;

const LOOKUP_SYMLINK_FOLLOW: u32 = 1;
const OFLAG_CREAT: u16 = 1;
const OFLAG_DIRECTORY: u16 = 2;
const OFLAG_EXCL: u16 = 4;
const OFLAG_TRUNC: u16 = 8;

fn cstring(s: &str) -> Result<CString, Errno> {
    CString::new(s).map_err(|_| errno::ILSEQ)
}

/// `openat2` beneath `dir`.
fn open_beneath(dir: i32, path: &str, flags: i32, mode: u64) -> Result<OwnedFd, Errno> {
    let c = cstring(path)?;
    // SAFETY: open_how is plain data; zero is "no flags".
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (flags | libc::O_CLOEXEC) as u64;
    how.mode = mode;
    how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS;
    // SAFETY: openat2 with a valid path and `how` of the size we pass.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir,
            c.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    let fd = check(fd)? as i32;
    // SAFETY: a new descriptor, owned from here.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A path split for an operation on its last component.
enum Target {
    /// Act on `name` inside `parent`.
    Entry {
        parent: OwnedFd,
        name: CString,
        trailing_slash: bool,
    },
    /// The path ends in `.` or `..`: it names a directory, resolved as a whole.
    Dir(OwnedFd),
}

fn resolve_target(dir: i32, path: &str) -> Result<Target, Errno> {
    if path.is_empty() {
        return Err(errno::NOENT);
    }
    let trimmed = path.trim_end_matches('/');
    let trailing_slash = trimmed.len() != path.len();
    if trimmed.is_empty() {
        return Err(errno::NOTCAPABLE); // "/" is absolute
    }
    let (parent, name) = match trimmed.rfind('/') {
        Some(i) => (&trimmed[..i], &trimmed[i + 1..]),
        None => (".", trimmed),
    };
    let parent = if parent.is_empty() { "/" } else { parent };
    if name == "." || name == ".." {
        return Ok(Target::Dir(open_beneath(
            dir,
            trimmed,
            libc::O_PATH | libc::O_DIRECTORY,
            0,
        )?));
    }
    let parent = open_beneath(dir, parent, libc::O_PATH | libc::O_DIRECTORY, 0)?;
    Ok(Target::Entry {
        parent,
        name: cstring(name)?,
        trailing_slash,
    })
}

fn dir_with(ctx: &WasiCtx, fd: u64, needed: u64) -> Result<i32, Errno> {
    let e = ctx.fds.with_rights(fd as u32, needed)?;
    if e.filetype != filetype::DIRECTORY {
        return Err(errno::NOTDIR);
    }
    Ok(e.raw())
}

fn path<'m>(mem: &'m GuestMemory<'_>, ptr: u64, len: u64) -> Result<&'m str, Errno> {
    mem.read_str(ptr as u32, len as u32)
}

pub fn path_create_directory(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[u64]) -> R {
    let dir = dir_with(ctx, a[0], rights::PATH_CREATE_DIRECTORY)?;
    match resolve_target(dir, path(mem, a[1], a[2])?)? {
        Target::Dir(_) => Err(errno::EXIST),
        // SAFETY: mkdirat on a directory we hold.
        Target::Entry { parent, name, .. } => {
            check(unsafe { libc::mkdirat(parent.as_raw_fd(), name.as_ptr(), 0o777) }).map(drop)
        }
    }
}

fn stat_target(target: &Target, follow: bool) -> Result<libc::stat, Errno> {
    // SAFETY: fstatat fills the struct; descriptors are ours.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        match target {
            Target::Dir(fd) => check(libc::fstatat(
                fd.as_raw_fd(),
                c"".as_ptr(),
                &mut st,
                libc::AT_EMPTY_PATH,
            ))?,
            Target::Entry {
                parent,
                name,
                trailing_slash,
            } => {
                let flags = if follow || *trailing_slash {
                    0
                } else {
                    libc::AT_SYMLINK_NOFOLLOW
                };
                check(libc::fstatat(
                    parent.as_raw_fd(),
                    name.as_ptr(),
                    &mut st,
                    flags,
                ))?
            }
        };
        Ok(st)
    }
}

/// With SYMLINK_FOLLOW the whole path is opened beneath the directory (a link may not lead
/// out); without it the last component is looked at itself.
fn follow_target(dir: i32, p: &str, lookup: u64) -> Result<Target, Errno> {
    if lookup as u32 & LOOKUP_SYMLINK_FOLLOW != 0 {
        return Ok(Target::Dir(open_beneath(dir, p, libc::O_PATH, 0)?));
    }
    resolve_target(dir, p)
}

pub fn path_filestat_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[u64]) -> R {
    let dir = dir_with(ctx, a[0], rights::PATH_FILESTAT_GET)?;
    let target = follow_target(dir, path(mem, a[2], a[3])?, a[1])?;
    let st = stat_target(&target, false)?;
    write_filestat(mem, a[4] as u32, &st)
}

pub fn path_filestat_set_times(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[u64]) -> R {
    let dir = dir_with(ctx, a[0], rights::PATH_FILESTAT_SET_TIMES)?;
    let target = follow_target(dir, path(mem, a[2], a[3])?, a[1])?;
    let times = timespecs(a[4], a[5], a[6] as u16)?;
    // SAFETY: utimensat on descriptors we hold.
    let r = unsafe {
        match &target {
            // An O_PATH descriptor: change it through /proc-free AT_EMPTY_PATH semantics.
            Target::Dir(fd) => libc::utimensat(
                fd.as_raw_fd(),
                c"".as_ptr(),
                times.as_ptr(),
                libc::AT_EMPTY_PATH,
            ),
            Target::Entry { parent, name, .. } => libc::utimensat(
                parent.as_raw_fd(),
                name.as_ptr(),
                times.as_ptr(),
                libc::AT_SYMLINK_NOFOLLOW,
            ),
        }
    };
    check(r).map(drop)
}

pub fn path_link(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[u64]) -> R {
    let old_dir = dir_with(ctx, a[0], rights::PATH_LINK_SOURCE)?;
    let new_dir = dir_with(ctx, a[4], rights::PATH_LINK_TARGET)?;
    let old = follow_target(old_dir, path(mem, a[2], a[3])?, a[1])?;
    let Target::Entry {
        parent: new_parent,
        name: new_name,
        ..
    } = resolve_target(new_dir, path(mem, a[5], a[6])?)?
    else {
        return Err(errno::EXIST);
    };
    // SAFETY: linkat on descriptors we hold.
    let r = unsafe {
        match &old {
            Target::Dir(fd) => libc::linkat(
                fd.as_raw_fd(),
                c"".as_ptr(),
                new_parent.as_raw_fd(),
                new_name.as_ptr(),
                libc::AT_EMPTY_PATH,
            ),
            Target::Entry { parent, name, .. } => libc::linkat(
                parent.as_raw_fd(),
                name.as_ptr(),
                new_parent.as_raw_fd(),
                new_name.as_ptr(),
                0,
            ),
        }
    };
    check(r).map(drop)
}

pub fn path_open(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[u64]) -> R {
    let (dirfd, lookup, oflags) = (a[0] as u32, a[1] as u32, a[4] as u16);
    let (want_base, want_inheriting, fdflags) = (a[5], a[6], a[7] as u16);
    let mut needed = rights::PATH_OPEN;
    if oflags & OFLAG_CREAT != 0 {
        needed |= rights::PATH_CREATE_FILE;
    }
    if oflags & OFLAG_TRUNC != 0 {
        needed |= rights::PATH_FILESTAT_SET_SIZE;
    }
    let parent = ctx.fds.with_rights(dirfd, needed)?;
    if parent.filetype != filetype::DIRECTORY {
        return Err(errno::NOTDIR);
    }
    let (dir, inheritable) = (parent.raw(), parent.rights_inheriting);
    let p = path(mem, a[2], a[3])?;
    let writes =
        want_base & (rights::FD_WRITE | rights::FD_ALLOCATE | rights::FD_FILESTAT_SET_SIZE) != 0;
    let reads = want_base & (rights::FD_READ | rights::FD_READDIR) != 0;
    let mut flags = match (reads, writes) {
        (_, false) => libc::O_RDONLY,
        (false, true) => libc::O_WRONLY,
        (true, true) => libc::O_RDWR,
    };
    for (wasi, host) in [
        (OFLAG_CREAT, libc::O_CREAT),
        (OFLAG_DIRECTORY, libc::O_DIRECTORY),
        (OFLAG_EXCL, libc::O_EXCL),
        (OFLAG_TRUNC, libc::O_TRUNC),
    ] {
        if oflags & wasi != 0 {
            flags |= host;
        }
    }
    for (wasi, host) in [
        (super::fd::FDFLAG_APPEND, libc::O_APPEND),
        (super::fd::FDFLAG_DSYNC, libc::O_DSYNC),
        (super::fd::FDFLAG_NONBLOCK, libc::O_NONBLOCK),
        (super::fd::FDFLAG_RSYNC, libc::O_RSYNC),
        (super::fd::FDFLAG_SYNC, libc::O_SYNC),
    ] {
        if fdflags & wasi != 0 {
            flags |= host;
        }
    }
    if lookup & LOOKUP_SYMLINK_FOLLOW == 0 {
        flags |= libc::O_NOFOLLOW;
    }
    let mode = if oflags & OFLAG_CREAT != 0 { 0o666 } else { 0 };
    let fd = open_beneath(dir, p, flags, mode)?;
    let st = super::fd::fstat(fd.as_raw_fd())?;
    let kind = filetype::from_mode(st.st_mode);
    let max = if kind == filetype::DIRECTORY {
        rights::DIRECTORY
    } else {
        rights::FILE
    };
    let entry = FdEntry {
        handle: Handle::Owned(fd),
        filetype: kind,
        rights_base: want_base & inheritable & max,
        rights_inheriting: want_inheriting & inheritable,
        preopen: None,
    };
    let new = ctx.fds.insert(entry)?;
    mem.write_u32(a[8] as u32, new)
}

pub fn path_readlink(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[u64]) -> R {
    let dir = dir_with(ctx, a[0], rights::PATH_READLINK)?;
    let Target::Entry { parent, name, .. } = resolve_target(dir, path(mem, a[1], a[2])?)? else {
        return Err(errno::INVAL);
    };
    let mut buf = vec![0u8; 4096];
    // SAFETY: readlinkat writes at most buf.len() bytes.
    let n = check(unsafe {
        libc::readlinkat(
            parent.as_raw_fd(),
            name.as_ptr(),
            buf.as_mut_ptr() as *mut libc::c_char,
            buf.len(),
        )
    })? as usize;
    let n = n.min(a[4] as usize); // truncated to the guest's buffer, as readlink does
    mem.write(a[3] as u32, &buf[..n])?;
    mem.write_u32(a[5] as u32, n as u32)
}

pub fn path_remove_directory(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[u64]) -> R {
    let dir = dir_with(ctx, a[0], rights::PATH_REMOVE_DIRECTORY)?;
    match resolve_target(dir, path(mem, a[1], a[2])?)? {
        Target::Dir(_) => Err(errno::INVAL),
        // SAFETY: unlinkat on a directory we hold.
        Target::Entry { parent, name, .. } => {
            check(unsafe { libc::unlinkat(parent.as_raw_fd(), name.as_ptr(), libc::AT_REMOVEDIR) })
                .map(drop)
        }
    }
}

pub fn path_unlink_file(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[u64]) -> R {
    let dir = dir_with(ctx, a[0], rights::PATH_UNLINK_FILE)?;
    match resolve_target(dir, path(mem, a[1], a[2])?)? {
        Target::Dir(_) => Err(errno::ISDIR),
        Target::Entry {
            trailing_slash: true,
            parent,
            name,
        } => {
            // "file/" names a directory: unlinking it is EISDIR or ENOTDIR, as on Linux.
            let st = stat_target(
                &Target::Entry {
                    parent,
                    name,
                    trailing_slash: true,
                },
                false,
            )?;
            Err(if filetype::from_mode(st.st_mode) == filetype::DIRECTORY {
                errno::ISDIR
            } else {
                errno::NOTDIR
            })
        }
        // SAFETY: as above.
        Target::Entry { parent, name, .. } => {
            check(unsafe { libc::unlinkat(parent.as_raw_fd(), name.as_ptr(), 0) }).map(drop)
        }
    }
}

pub fn path_rename(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[u64]) -> R {
    let old_dir = dir_with(ctx, a[0], rights::PATH_RENAME_SOURCE)?;
    let new_dir = dir_with(ctx, a[3], rights::PATH_RENAME_TARGET)?;
    let old = resolve_target(old_dir, path(mem, a[1], a[2])?)?;
    let new = resolve_target(new_dir, path(mem, a[4], a[5])?)?;
    let (
        Target::Entry {
            parent: op,
            name: on,
            ..
        },
        Target::Entry {
            parent: np,
            name: nn,
            ..
        },
    ) = (old, new)
    else {
        return Err(errno::INVAL);
    };
    // SAFETY: renameat on directories we hold.
    check(unsafe { libc::renameat(op.as_raw_fd(), on.as_ptr(), np.as_raw_fd(), nn.as_ptr()) })
        .map(drop)
}

pub fn path_symlink(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[u64]) -> R {
    let target = path(mem, a[0], a[1])?.to_string();
    let dir = dir_with(ctx, a[2], rights::PATH_SYMLINK)?;
    if target.starts_with('/') {
        // An absolute target can never resolve inside the sandbox; refuse it, as others do.
        return Err(errno::PERM);
    }
    let Target::Entry { parent, name, .. } = resolve_target(dir, path(mem, a[3], a[4])?)? else {
        return Err(errno::EXIST);
    };
    let target = cstring(&target)?;
    // SAFETY: symlinkat on a directory we hold.
    check(unsafe { libc::symlinkat(target.as_ptr(), parent.as_raw_fd(), name.as_ptr()) }).map(drop)
}
