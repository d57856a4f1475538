//! `fd_*`: operations on open descriptors.

use super::errno::{self, check, Errno};
use super::memory::GuestMemory;
use super::table::{filetype, rights};
use super::WasiCtx;
use std::os::fd::RawFd;

type R = Result<(), Errno>;

pub const FDFLAG_APPEND: u16 = 1;
pub const FDFLAG_DSYNC: u16 = 2;
pub const FDFLAG_NONBLOCK: u16 = 4;
pub const FDFLAG_RSYNC: u16 = 8;
pub const FDFLAG_SYNC: u16 = 16;

/// Writes a `filestat` (64 bytes) at `ptr`.
pub fn write_filestat(mem: &mut GuestMemory<'_>, ptr: u32, st: &libc::stat) -> R {
    let ns = |s: i64, n: i64| {
        (s as u64)
            .wrapping_mul(1_000_000_000)
            .wrapping_add(n as u64)
    };
    let mut b = [0u8; 64];
    b[0..8].copy_from_slice(&st.st_dev.to_le_bytes());
    b[8..16].copy_from_slice(&st.st_ino.to_le_bytes());
    b[16] = filetype::from_mode(st.st_mode);
    #[allow(clippy::useless_conversion)] // nlink_t is u32 on some targets
    let nlink = u64::from(st.st_nlink);
    b[24..32].copy_from_slice(&nlink.to_le_bytes());
    b[32..40].copy_from_slice(&(st.st_size as u64).to_le_bytes());
    b[40..48].copy_from_slice(&ns(st.st_atime, st.st_atime_nsec).to_le_bytes());
    b[48..56].copy_from_slice(&ns(st.st_mtime, st.st_mtime_nsec).to_le_bytes());
    b[56..64].copy_from_slice(&ns(st.st_ctime, st.st_ctime_nsec).to_le_bytes());
    mem.write(ptr, &b)
}

pub fn fstat(fd: i32) -> Result<libc::stat, Errno> {
    // SAFETY: fstat fills the struct.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        check(libc::fstat(fd, &mut st))?;
        Ok(st)
    }
}

/// The `timespec` pair for futimens/utimensat from WASI's times and `fstflags`.
pub fn timespecs(atim: u64, mtim: u64, flags: u16) -> Result<[libc::timespec; 2], Errno> {
    const ATIM: u16 = 1;
    const ATIM_NOW: u16 = 2;
    const MTIM: u16 = 4;
    const MTIM_NOW: u16 = 8;
    if (flags & ATIM != 0 && flags & ATIM_NOW != 0)
        || (flags & MTIM != 0 && flags & MTIM_NOW != 0)
        || flags & !15 != 0
    {
        return Err(errno::INVAL);
    }
    let one = |t: u64, set: bool, now: bool| libc::timespec {
        tv_sec: (t / 1_000_000_000) as i64,
        tv_nsec: if now {
            libc::UTIME_NOW
        } else if set {
            (t % 1_000_000_000) as i64
        } else {
            libc::UTIME_OMIT
        },
    };
    Ok([
        one(atim, flags & ATIM != 0, flags & ATIM_NOW != 0),
        one(mtim, flags & MTIM != 0, flags & MTIM_NOW != 0),
    ])
}

pub fn fd_advise(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, a: &[u64]) -> R {
    let e = ctx.fds.with_rights(a[0] as u32, rights::FD_ADVISE)?;
    if a[3] > 5 {
        return Err(errno::INVAL);
    }
    let advice = [
        libc::POSIX_FADV_NORMAL,
        libc::POSIX_FADV_SEQUENTIAL,
        libc::POSIX_FADV_RANDOM,
        libc::POSIX_FADV_WILLNEED,
        libc::POSIX_FADV_DONTNEED,
        libc::POSIX_FADV_NOREUSE,
    ][a[3] as usize];
    // SAFETY: plain system call on a descriptor we own.
    match unsafe { libc::posix_fadvise(e.raw(), a[1] as i64, a[2] as i64, advice) } {
        0 => Ok(()),
        e => Err(errno::from_raw_os(e)),
    }
}

pub fn fd_allocate(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, a: &[u64]) -> R {
    let e = ctx.fds.with_rights(a[0] as u32, rights::FD_ALLOCATE)?;
    within(e.size_limit, a[1], a[2])?;
    // SAFETY: as above.
    match unsafe { libc::posix_fallocate(e.raw(), a[1] as i64, a[2] as i64) } {
        0 => Ok(()),
        e => Err(errno::from_raw_os(e)),
    }
}

pub fn fd_close(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, a: &[u64]) -> R {
    ctx.fds.remove(a[0] as u32).map(drop)
}

pub fn fd_datasync(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, a: &[u64]) -> R {
    let e = ctx.fds.with_rights(a[0] as u32, rights::FD_DATASYNC)?;
    // SAFETY: as above.
    check(unsafe { libc::fdatasync(e.raw()) }).map(drop)
}

pub fn fd_sync(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, a: &[u64]) -> R {
    let e = ctx.fds.with_rights(a[0] as u32, rights::FD_SYNC)?;
    // SAFETY: as above.
    check(unsafe { libc::fsync(e.raw()) }).map(drop)
}

pub fn fd_fdstat_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[u64]) -> R {
    let e = ctx.fds.get(a[0] as u32)?;
    // SAFETY: as above.
    let fl = check(unsafe { libc::fcntl(e.raw(), libc::F_GETFL) })?;
    let mut flags = 0u16;
    for (host, wasi) in [
        (libc::O_APPEND, FDFLAG_APPEND),
        (libc::O_NONBLOCK, FDFLAG_NONBLOCK),
        (libc::O_DSYNC, FDFLAG_DSYNC),
    ] {
        if fl & host == host {
            flags |= wasi;
        }
    }
    if fl & libc::O_SYNC == libc::O_SYNC {
        flags |= FDFLAG_SYNC | FDFLAG_RSYNC;
    }
    let mut b = [0u8; 24];
    b[0] = e.filetype;
    b[2..4].copy_from_slice(&flags.to_le_bytes());
    b[8..16].copy_from_slice(&e.rights_base.to_le_bytes());
    b[16..24].copy_from_slice(&e.rights_inheriting.to_le_bytes());
    mem.write(a[1] as u32, &b)
}

pub fn fd_fdstat_set_flags(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, a: &[u64]) -> R {
    let e = ctx
        .fds
        .with_rights(a[0] as u32, rights::FD_FDSTAT_SET_FLAGS)?;
    let flags = a[1] as u16;
    if flags & !(FDFLAG_APPEND | FDFLAG_NONBLOCK) != 0 {
        return Err(errno::NOTSUP); // Linux cannot change the sync flags of an open file.
    }
    let mut fl = 0;
    if flags & FDFLAG_APPEND != 0 {
        fl |= libc::O_APPEND;
    }
    if flags & FDFLAG_NONBLOCK != 0 {
        fl |= libc::O_NONBLOCK;
    }
    // SAFETY: as above.
    check(unsafe { libc::fcntl(e.raw(), libc::F_SETFL, fl) }).map(drop)
}

pub fn fd_fdstat_set_rights(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, a: &[u64]) -> R {
    let e = ctx.fds.get_mut(a[0] as u32)?;
    let (base, inheriting) = (a[1], a[2]);
    if base & !e.rights_base != 0 || inheriting & !e.rights_inheriting != 0 {
        return Err(errno::NOTCAPABLE); // rights can only be dropped
    }
    e.rights_base = base;
    e.rights_inheriting = inheriting;
    Ok(())
}

pub fn fd_filestat_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[u64]) -> R {
    let e = ctx.fds.with_rights(a[0] as u32, rights::FD_FILESTAT_GET)?;
    let st = fstat(e.raw())?;
    write_filestat(mem, a[1] as u32, &st)
}

pub fn fd_filestat_set_size(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, a: &[u64]) -> R {
    let e = ctx
        .fds
        .with_rights(a[0] as u32, rights::FD_FILESTAT_SET_SIZE)?;
    let size = i64::try_from(a[1]).map_err(|_| errno::INVAL)?;
    within(e.size_limit, 0, a[1])?;
    // SAFETY: as above.
    check(unsafe { libc::ftruncate(e.raw(), size) }).map(drop)
}

pub fn fd_filestat_set_times(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, a: &[u64]) -> R {
    let e = ctx
        .fds
        .with_rights(a[0] as u32, rights::FD_FILESTAT_SET_TIMES)?;
    let times = timespecs(a[1], a[2], a[3] as u16)?;
    // SAFETY: as above.
    check(unsafe { libc::futimens(e.raw(), times.as_ptr()) }).map(drop)
}

/// Which vectored transfer: `readv`/`writev`, or with an offset `preadv`/`pwritev`.
#[derive(Clone, Copy)]
enum Transfer {
    Read,
    Write,
    ReadAt,
    WriteAt,
}

/// The shared shape of fd_read, fd_write, fd_pread and fd_pwrite: rights, iovecs checked
/// against guest memory, one system call straight into or out of guest memory, and the
/// count written back. `a` is `(fd, iovs, iovs_len, [offset,] nwritten_ptr)`.
fn vectored(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[u64], how: Transfer) -> R {
    let e = ctx.fds.with_rights(a[0] as u32, how.rights())?;
    let room = match (e.size_limit, how) {
        (Some(limit), Transfer::Write | Transfer::WriteAt) => {
            Some(limit.saturating_sub(write_offset(e.raw(), a, how)?))
        }
        _ => None,
    };
    transfer(e.raw(), mem, a, how, room)
}

/// Where a write on `fd` lands: the end of the file when it appends (Linux appends even a
/// `pwrite`, whatever its offset), else the offset of a `pwrite` or the file's position.
fn write_offset(fd: RawFd, a: &[u64], how: Transfer) -> Result<u64, Errno> {
    // SAFETY: fcntl and lseek on a descriptor of the table.
    let flags = check(unsafe { libc::fcntl(fd, libc::F_GETFL) })?;
    Ok(match how {
        _ if flags & libc::O_APPEND != 0 => fstat(fd)?.st_size as u64,
        Transfer::WriteAt => a[3],
        // SAFETY: as above.
        _ => check(unsafe { libc::lseek(fd, 0, libc::SEEK_CUR) })? as u64,
    })
}

/// Whether a file of at most `limit` bytes may span `offset..offset + len`.
fn within(limit: Option<u64>, offset: u64, len: u64) -> R {
    match limit {
        Some(limit) if offset.checked_add(len).is_none_or(|end| end > limit) => Err(errno::FBIG),
        _ => Ok(()),
    }
}

impl Transfer {
    fn rights(self) -> u64 {
        match self {
            Transfer::Read => rights::FD_READ,
            Transfer::Write => rights::FD_WRITE,
            Transfer::ReadAt => rights::FD_READ | rights::FD_SEEK,
            Transfer::WriteAt => rights::FD_WRITE | rights::FD_SEEK,
        }
    }
}

/// The system call of a transfer on host descriptor `fd`, with the guest's iovecs, writing
/// at most `room` bytes when given (none left: `EFBIG`).
fn transfer(
    fd: RawFd,
    mem: &mut GuestMemory<'_>,
    a: &[u64],
    how: Transfer,
    room: Option<u64>,
) -> R {
    let mut iovs = mem.iovecs(a[1] as u32, a[2] as u32)?;
    if let Some(mut room) = room {
        if room == 0 && iovs.iter().any(|v| v.iov_len > 0) {
            return Err(errno::FBIG);
        }
        for v in &mut iovs {
            v.iov_len = v.iov_len.min(room as usize);
            room -= v.iov_len as u64;
        }
    }
    let (ptr, len) = (iovs.as_ptr(), iovs.len() as i32);
    let offset = || i64::try_from(a[3]).map_err(|_| errno::INVAL);
    // SAFETY: every iovec points into guest memory, checked by `iovecs`.
    let n = unsafe {
        match how {
            Transfer::Read => libc::readv(fd, ptr, len),
            Transfer::Write => libc::writev(fd, ptr, len),
            Transfer::ReadAt => libc::preadv(fd, ptr, len, offset()?),
            Transfer::WriteAt => libc::pwritev(fd, ptr, len, offset()?),
        }
    };
    let n = check(n)?;
    let out = if matches!(how, Transfer::Read | Transfer::Write) {
        a[3]
    } else {
        a[4]
    };
    mem.write_u32(out as u32, n as u32)
}

/// `fd_read`/`fd_write` on one of the host's standard streams, whose descriptor the table
/// never closes: the rights are checked under the context's lock and the system call, which
/// may block (a read of the terminal), runs after it is released, so other threads' WASI
/// calls go on. `None` for any other descriptor or function.
pub fn stdio_unlocked(
    ctx: &std::sync::Mutex<WasiCtx>,
    name: &str,
    mem: &mut GuestMemory<'_>,
    a: &[u64],
) -> Option<R> {
    let how = match name {
        "fd_read" => Transfer::Read,
        "fd_write" => Transfer::Write,
        _ => return None,
    };
    let fd = {
        let ctx = ctx.lock().unwrap_or_else(|p| p.into_inner());
        match ctx.fds.with_rights(a[0] as u32, how.rights()) {
            Ok(e) => match e.handle {
                super::table::Handle::Stdio(fd) => fd,
                super::table::Handle::Owned(_) => return None,
            },
            Err(e) => return Some(Err(e)),
        }
    };
    Some(transfer(fd, mem, a, how, None))
}

pub fn fd_read(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[u64]) -> R {
    vectored(ctx, mem, a, Transfer::Read)
}

pub fn fd_write(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[u64]) -> R {
    vectored(ctx, mem, a, Transfer::Write)
}

pub fn fd_pread(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[u64]) -> R {
    vectored(ctx, mem, a, Transfer::ReadAt)
}

pub fn fd_pwrite(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[u64]) -> R {
    vectored(ctx, mem, a, Transfer::WriteAt)
}

pub fn fd_seek(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[u64]) -> R {
    let (offset, whence) = (a[1] as i64, a[2] as u8);
    // Asking where we are is `tell`; moving needs `seek`.
    let needed = if offset == 0 && whence == 1 {
        rights::FD_TELL
    } else {
        rights::FD_SEEK
    };
    let e = ctx.fds.with_rights(a[0] as u32, needed)?;
    let whence = match whence {
        0 => libc::SEEK_SET,
        1 => libc::SEEK_CUR,
        2 => libc::SEEK_END,
        _ => return Err(errno::INVAL),
    };
    // SAFETY: as above.
    let pos = check(unsafe { libc::lseek(e.raw(), offset, whence) })?;
    mem.write_u64(a[3] as u32, pos as u64)
}

pub fn fd_tell(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[u64]) -> R {
    let e = ctx.fds.with_rights(a[0] as u32, rights::FD_TELL)?;
    // SAFETY: as above.
    let pos = check(unsafe { libc::lseek(e.raw(), 0, libc::SEEK_CUR) })?;
    mem.write_u64(a[1] as u32, pos as u64)
}

/// The name a preopened directory is known by; EBADF for any other descriptor.
fn preopen_name(ctx: &WasiCtx, fd: u64) -> Result<&str, Errno> {
    ctx.fds
        .get(fd as u32)?
        .preopen
        .as_deref()
        .ok_or(errno::BADF)
}

pub fn fd_prestat_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[u64]) -> R {
    let name = preopen_name(ctx, a[0])?;
    let len = name.len() as u32;
    mem.write(a[1] as u32, &[0, 0, 0, 0])?;
    mem.write_u32(a[1] as u32 + 4, len)
}

pub fn fd_prestat_dir_name(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[u64]) -> R {
    let name = preopen_name(ctx, a[0])?;
    if (a[2] as usize) < name.len() {
        return Err(errno::NAMETOOLONG);
    }
    mem.write(a[1] as u32, name.as_bytes())
}

pub fn fd_renumber(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, a: &[u64]) -> R {
    let (from, to) = (a[0] as u32, a[1] as u32);
    if !ctx.fds.contains(to) {
        return Err(errno::BADF);
    }
    let entry = ctx.fds.remove(from)?;
    ctx.fds.insert_at(to, entry);
    Ok(())
}

/// Directory entries via getdents64; a cookie is the index of the next entry.
pub fn fd_readdir(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[u64]) -> R {
    let e = ctx.fds.with_rights(a[0] as u32, rights::FD_READDIR)?;
    if e.filetype != filetype::DIRECTORY {
        return Err(errno::NOTDIR);
    }
    let (buf, buf_len, cookie) = (a[1] as u32, a[2] as u32, a[3]);
    let entries = read_dir_entries(e.raw())?;
    let mut out = Vec::with_capacity(buf_len as usize);
    for (i, (ino, dtype, name)) in entries
        .iter()
        .enumerate()
        .skip(cookie.min(usize::MAX as u64) as usize)
    {
        if out.len() >= buf_len as usize {
            break;
        }
        out.extend_from_slice(&(i as u64 + 1).to_le_bytes());
        out.extend_from_slice(&ino.to_le_bytes());
        out.extend_from_slice(&(name.len() as u32).to_le_bytes());
        out.extend_from_slice(&[*dtype, 0, 0, 0]);
        out.extend_from_slice(name);
    }
    out.truncate(buf_len as usize); // a last, partial entry tells the guest to read again
    mem.write(buf, &out)?;
    mem.write_u32(a[4] as u32, out.len() as u32)
}

fn read_dir_entries(dir: i32) -> Result<Vec<(u64, u8, Vec<u8>)>, Errno> {
    // A fresh descriptor, so the guest's own offset and concurrent readers do not matter.
    // SAFETY: openat on a directory we hold, closed below by OwnedFd.
    let fd = check(unsafe {
        libc::openat(
            dir,
            c".".as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    })?;
    // SAFETY: fd was just opened and is owned here.
    let fd = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
    let mut entries = Vec::new();
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        // SAFETY: the kernel writes at most buf.len() bytes.
        let n = unsafe { libc::syscall(libc::SYS_getdents64, raw, buf.as_mut_ptr(), buf.len()) };
        let n = check(n)? as usize;
        if n == 0 {
            return Ok(entries);
        }
        let mut at = 0;
        while at < n {
            let ino = u64::from_ne_bytes(buf[at..at + 8].try_into().unwrap());
            let reclen = u16::from_ne_bytes(buf[at + 16..at + 18].try_into().unwrap()) as usize;
            let dtype = buf[at + 18];
            let name = &buf[at + 19..at + reclen];
            let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
            let kind = match dtype {
                libc::DT_BLK => filetype::BLOCK_DEVICE,
                libc::DT_CHR => filetype::CHARACTER_DEVICE,
                libc::DT_DIR => filetype::DIRECTORY,
                libc::DT_REG => filetype::REGULAR_FILE,
                libc::DT_SOCK => filetype::SOCKET_STREAM,
                libc::DT_LNK => filetype::SYMBOLIC_LINK,
                _ => filetype::UNKNOWN,
            };
            entries.push((ino, kind, name.to_vec()));
            at += reclen;
        }
    }
}
