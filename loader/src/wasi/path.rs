//! `path_*`: everything that names a file relative to a directory descriptor.
//!
//! The sandbox is the kernel's: every path is resolved with `openat2(RESOLVE_BENEATH |
//! RESOLVE_NO_MAGICLINKS)` (or, where the kernel lacks it, the walk of `beneath`, which gives
//! the same answers) from the directory the guest names, so `..`, absolute paths and
//! symlinks (also ones the guest made, also a directory swapped for a symlink mid-walk) cannot
//! leave it; the kernel's EXDEV becomes ENOTCAPABLE. Operations on a last component (unlink,
//! mkdir, rename, ...) resolve its parent that way and act on the name with the `*at` calls,
//! never following a final symlink.
//!
//! A trailing slash keeps Linux's meaning (tests/wasi/paths.c compares every case with the
//! same calls made natively): the calls that never follow the last component — `mkdirat`,
//! `unlinkat`, `renameat`, `symlinkat` and `linkat`'s new name — get the name with its slash,
//! and the kernel answers ENOENT, ENOTDIR, EISDIR or EEXIST as it would natively. Where a
//! trailing slash makes the kernel follow a final symlink (`fstatat`, `utimensat`,
//! `readlinkat`, `linkat`'s old name), the path is resolved beneath the directory instead, so
//! no symlink is followed out of the sandbox even to answer with an error.

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

/// Whether `openat2` works here, probed once by the host (never decided by a guest's call):
/// kernels before 5.6 answer ENOSYS, and some seccomp profiles EPERM to a call they do not
/// know; either makes every open take the walk (`beneath`). `WAOT_WASI_RESOLVER=walk` takes
/// it regardless (for tests of the walk).
fn have_openat2() -> bool {
    static HAVE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *HAVE.get_or_init(|| {
        if std::env::var_os("WAOT_WASI_RESOLVER").is_some_and(|v| v == "walk") {
            return false;
        }
        let probe = openat2_beneath(libc::AT_FDCWD, ".", libc::O_PATH | libc::O_DIRECTORY, 0);
        !matches!(probe, Err(libc::ENOSYS | libc::EPERM))
    })
}

/// A path opened beneath `dir` (`..`, absolute paths and symlinks cannot leave it), with
/// `openat2`, or by the walk where the kernel lacks it.
fn open_beneath(dir: i32, path: &str, flags: i32, mode: u64) -> Result<OwnedFd, Errno> {
    let opened = match have_openat2() {
        true => openat2_beneath(dir, path, flags, mode),
        false => super::beneath::open_beneath_walk(dir, path, flags, mode),
    };
    opened.map_err(errno::from_raw_os)
}

/// `openat2` beneath `dir`; a raw errno on failure.
fn openat2_beneath(dir: i32, path: &str, flags: i32, mode: u64) -> Result<OwnedFd, i32> {
    let c = CString::new(path).map_err(|_| libc::EILSEQ)?;
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
    if fd < 0 {
        return Err(std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO));
    }
    // SAFETY: a new descriptor, owned from here.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// A path split for an operation on its last component.
enum Target {
    /// Act on `name` inside `parent`; `slashed` is the name with the path's trailing slash,
    /// if it had one.
    Entry {
        parent: OwnedFd,
        name: CString,
        slashed: CString,
    },
    /// The path ends in `.` or `..`: it names a directory, resolved as a whole.
    Dir(OwnedFd),
}

impl Target {
    /// The name for calls that never follow the last component: with its trailing slash, so
    /// the kernel applies Linux's rules for it.
    fn entry_as_given(&self) -> Option<(i32, &CString)> {
        match self {
            Target::Entry {
                parent, slashed, ..
            } => Some((parent.as_raw_fd(), slashed)),
            Target::Dir(_) => None,
        }
    }
}

/// The last component of `path`, trailing slashes ignored.
fn last_component(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    trimmed.rsplit('/').next().unwrap_or(trimmed)
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
    let slashed = if trailing_slash {
        format!("{name}/")
    } else {
        name.to_string()
    };
    Ok(Target::Entry {
        parent,
        name: cstring(name)?,
        slashed: cstring(&slashed)?,
    })
}

/// `path` resolved as a whole beneath `dir`, following a final symlink as a trailing slash
/// asks (a directory, or the error the kernel gives for what is there).
fn resolve_slashed(dir: i32, path: &str) -> Result<Target, Errno> {
    Ok(Target::Dir(open_beneath(dir, path, libc::O_PATH, 0)?))
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
    let target = resolve_target(dir, path(mem, a[1], a[2])?)?;
    let Some((parent, name)) = target.entry_as_given() else {
        return Err(errno::EXIST);
    };
    // SAFETY: mkdirat on a directory we hold.
    check(unsafe { libc::mkdirat(parent, name.as_ptr(), 0o777) }).map(drop)
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
            Target::Entry { parent, name, .. } => {
                let flags = if follow { 0 } else { libc::AT_SYMLINK_NOFOLLOW };
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

/// With SYMLINK_FOLLOW, or a trailing slash (which follows a final symlink on Linux), the
/// whole path is opened beneath the directory (a link may not lead out); otherwise the last
/// component is looked at itself.
fn follow_target(dir: i32, p: &str, lookup: u64) -> Result<Target, Errno> {
    if lookup as u32 & LOOKUP_SYMLINK_FOLLOW != 0 || (p.ends_with('/') && p.len() > 1) {
        return resolve_slashed(dir, p);
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
    // Linux looks the source up first: a missing one is ENOENT whatever the new path is.
    let old_is_dir = stat_target(&old, false)?.st_mode & libc::S_IFMT == libc::S_IFDIR;
    let new = resolve_target(new_dir, path(mem, a[5], a[6])?)?;
    let Target::Entry {
        parent: new_parent,
        name: new_name,
        slashed: new_slashed,
    } = &new
    else {
        return Err(errno::EXIST);
    };
    if old_is_dir {
        // No hard link to a directory; but the new name is checked first, as Linux does.
        let exists = stat_target(&new, false).is_ok();
        return Err(if exists {
            errno::EXIST
        } else if new_slashed != new_name {
            errno::NOENT
        } else {
            errno::PERM
        });
    }
    // SAFETY: linkat on descriptors we hold.
    let r = unsafe {
        match &old {
            // A descriptor of what a symlink led to: linked through its /proc name, which
            // needs no capability (AT_EMPTY_PATH does).
            Target::Dir(fd) => {
                let proc = cstring(&format!("/proc/self/fd/{}", fd.as_raw_fd()))?;
                libc::linkat(
                    libc::AT_FDCWD,
                    proc.as_ptr(),
                    new_parent.as_raw_fd(),
                    new_slashed.as_ptr(),
                    libc::AT_SYMLINK_FOLLOW,
                )
            }
            Target::Entry { parent, name, .. } => libc::linkat(
                parent.as_raw_fd(),
                name.as_ptr(),
                new_parent.as_raw_fd(),
                new_slashed.as_ptr(),
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
        size_limit: None,
    };
    let new = ctx.fds.insert(entry)?;
    mem.write_u32(a[8] as u32, new)
}

pub fn path_readlink(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[u64]) -> R {
    let dir = dir_with(ctx, a[0], rights::PATH_READLINK)?;
    let p = path(mem, a[1], a[2])?;
    let target = if p.ends_with('/') {
        resolve_slashed(dir, p)?
    } else {
        resolve_target(dir, p)?
    };
    // A directory (named by `.`, `..` or a trailing slash) is not a symbolic link.
    let Target::Entry { parent, name, .. } = target else {
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
    let p = path(mem, a[1], a[2])?;
    let target = resolve_target(dir, p)?;
    let Some((parent, name)) = target.entry_as_given() else {
        // Linux: removing `.` is invalid, `..` is a directory that is not empty.
        return Err(if last_component(p) == ".." {
            errno::NOTEMPTY
        } else {
            errno::INVAL
        });
    };
    // SAFETY: unlinkat on a directory we hold.
    check(unsafe { libc::unlinkat(parent, name.as_ptr(), libc::AT_REMOVEDIR) }).map(drop)
}

pub fn path_unlink_file(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[u64]) -> R {
    let dir = dir_with(ctx, a[0], rights::PATH_UNLINK_FILE)?;
    let target = resolve_target(dir, path(mem, a[1], a[2])?)?;
    let Some((parent, name)) = target.entry_as_given() else {
        return Err(errno::ISDIR);
    };
    // SAFETY: unlinkat on a directory we hold.
    check(unsafe { libc::unlinkat(parent, name.as_ptr(), 0) }).map(drop)
}

pub fn path_rename(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[u64]) -> R {
    let old_dir = dir_with(ctx, a[0], rights::PATH_RENAME_SOURCE)?;
    let new_dir = dir_with(ctx, a[3], rights::PATH_RENAME_TARGET)?;
    let old = resolve_target(old_dir, path(mem, a[1], a[2])?)?;
    let new = resolve_target(new_dir, path(mem, a[4], a[5])?)?;
    let (Some((op, on)), Some((np, nn))) = (old.entry_as_given(), new.entry_as_given()) else {
        // Linux refuses to rename `.` or `..`, or onto them, once both parents resolve.
        return Err(errno::BUSY);
    };
    // SAFETY: renameat on directories we hold.
    check(unsafe { libc::renameat(op, on.as_ptr(), np, nn.as_ptr()) }).map(drop)
}

pub fn path_symlink(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[u64]) -> R {
    let target = path(mem, a[0], a[1])?.to_string();
    let dir = dir_with(ctx, a[2], rights::PATH_SYMLINK)?;
    if target.starts_with('/') {
        // An absolute target can never resolve inside the sandbox; refuse it, as others do.
        return Err(errno::PERM);
    }
    let link = resolve_target(dir, path(mem, a[3], a[4])?)?;
    let Some((parent, name)) = link.entry_as_given() else {
        return Err(errno::EXIST);
    };
    let target = cstring(&target)?;
    // SAFETY: symlinkat on a directory we hold.
    check(unsafe { libc::symlinkat(target.as_ptr(), parent, name.as_ptr()) }).map(drop)
}
