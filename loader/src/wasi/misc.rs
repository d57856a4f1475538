//! Arguments, environment, clocks, randomness, process and socket calls.

use super::errno::{self, check, Errno};
use super::memory::GuestMemory;
use super::table::{filetype, rights, FdEntry, Handle};
use super::WasiCtx;
use std::os::fd::{FromRawFd, OwnedFd};

type R = Result<(), Errno>;

/// Writes `items` as NUL-terminated strings at `buf`, with pointers to them at `ptrs`.
fn write_strings(mem: &mut GuestMemory<'_>, items: &[String], ptrs: u32, buf: u32) -> R {
    let mut at = buf;
    for (i, s) in items.iter().enumerate() {
        mem.write_u32(ptrs + 4 * i as u32, at)?;
        mem.write(at, s.as_bytes())?;
        mem.write_u8(at + s.len() as u32, 0)?;
        at += s.len() as u32 + 1;
    }
    Ok(())
}

fn write_sizes(mem: &mut GuestMemory<'_>, items: &[String], count_ptr: u32, size_ptr: u32) -> R {
    mem.write_u32(count_ptr, items.len() as u32)?;
    mem.write_u32(size_ptr, items.iter().map(|s| s.len() as u32 + 1).sum())
}

pub fn args_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[u64]) -> R {
    write_strings(mem, &ctx.args, a[0] as u32, a[1] as u32)
}

pub fn args_sizes_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[u64]) -> R {
    write_sizes(mem, &ctx.args, a[0] as u32, a[1] as u32)
}

pub fn environ_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[u64]) -> R {
    write_strings(mem, &ctx.env, a[0] as u32, a[1] as u32)
}

pub fn environ_sizes_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[u64]) -> R {
    write_sizes(mem, &ctx.env, a[0] as u32, a[1] as u32)
}

pub fn host_clock(id: u64) -> Result<libc::clockid_t, Errno> {
    Ok(match id {
        0 => libc::CLOCK_REALTIME,
        1 => libc::CLOCK_MONOTONIC,
        2 => libc::CLOCK_PROCESS_CPUTIME_ID,
        3 => libc::CLOCK_THREAD_CPUTIME_ID,
        _ => return Err(errno::INVAL),
    })
}

pub fn now(clock: libc::clockid_t) -> Result<u64, Errno> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime fills ts.
    check(unsafe { libc::clock_gettime(clock, &mut ts) })?;
    Ok(ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
}

pub fn clock_res_get(_: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[u64]) -> R {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_getres fills ts.
    check(unsafe { libc::clock_getres(host_clock(a[0])?, &mut ts) })?;
    mem.write_u64(
        a[1] as u32,
        ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64,
    )
}

pub fn clock_time_get(_: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[u64]) -> R {
    let t = now(host_clock(a[0])?)?;
    mem.write_u64(a[2] as u32, t)
}

pub fn random_get(_: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[u64]) -> R {
    let buf = mem.slice_mut(a[0] as u32, a[1] as u32)?;
    let mut filled = 0;
    while filled < buf.len() {
        // SAFETY: getrandom writes into the remaining part of buf.
        let n = unsafe {
            libc::getrandom(
                buf[filled..].as_mut_ptr() as *mut libc::c_void,
                buf.len() - filled,
                0,
            )
        };
        filled += check(n)? as usize;
    }
    Ok(())
}

pub fn sched_yield(_: &mut WasiCtx, _: &mut GuestMemory<'_>, _: &[u64]) -> R {
    std::thread::yield_now();
    Ok(())
}

/// Signals are not delivered to the guest: a host process should not be killed on a guest's
/// request. Reported as unsupported.
pub fn proc_raise(_: &mut WasiCtx, _: &mut GuestMemory<'_>, _: &[u64]) -> R {
    Err(errno::NOSYS)
}

fn socket(ctx: &WasiCtx, fd: u64, needed: u64) -> Result<i32, Errno> {
    let e = ctx.fds.get(fd as u32)?;
    if e.filetype != filetype::SOCKET_STREAM && e.filetype != filetype::SOCKET_DGRAM {
        return Err(errno::NOTSOCK);
    }
    if e.rights_base & needed != needed {
        return Err(errno::NOTCAPABLE);
    }
    Ok(e.raw())
}

pub fn sock_accept(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[u64]) -> R {
    let listener = socket(ctx, a[0], rights::SOCK_ACCEPT)?;
    let flags = a[1] as u16;
    if flags & !super::fd::FDFLAG_NONBLOCK != 0 {
        return Err(errno::INVAL);
    }
    let mut sflags = libc::SOCK_CLOEXEC;
    if flags & super::fd::FDFLAG_NONBLOCK != 0 {
        sflags |= libc::SOCK_NONBLOCK;
    }
    // SAFETY: accept4 on a listening socket we hold; the peer address is not wanted.
    let fd = check(unsafe {
        libc::accept4(listener, std::ptr::null_mut(), std::ptr::null_mut(), sflags)
    })?;
    // SAFETY: a new descriptor, owned from here.
    let handle = Handle::Owned(unsafe { OwnedFd::from_raw_fd(fd) });
    let entry = FdEntry {
        handle,
        filetype: filetype::SOCKET_STREAM,
        rights_base: rights::SOCKET & !rights::SOCK_ACCEPT,
        rights_inheriting: 0,
        preopen: None,
        size_limit: None,
    };
    let new = ctx.fds.insert(entry)?;
    mem.write_u32(a[2] as u32, new)
}

pub fn sock_recv(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[u64]) -> R {
    let fd = socket(ctx, a[0], rights::FD_READ)?;
    let mut iovs = mem.iovecs(a[1] as u32, a[2] as u32)?;
    let riflags = a[3] as u16;
    if riflags & !3 != 0 {
        return Err(errno::INVAL);
    }
    let mut flags = 0;
    if riflags & 1 != 0 {
        flags |= libc::MSG_PEEK;
    }
    if riflags & 2 != 0 {
        flags |= libc::MSG_WAITALL;
    }
    // SAFETY: msghdr over iovecs into guest memory checked by `iovecs`.
    let (n, truncated) = unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = iovs.as_mut_ptr();
        msg.msg_iovlen = iovs.len();
        let n = check(libc::recvmsg(fd, &mut msg, flags))?;
        (n, msg.msg_flags & libc::MSG_TRUNC != 0)
    };
    mem.write_u32(a[4] as u32, n as u32)?;
    mem.write_u16(a[5] as u32, truncated as u16)
}

pub fn sock_send(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[u64]) -> R {
    let fd = socket(ctx, a[0], rights::FD_WRITE)?;
    let mut iovs = mem.iovecs(a[1] as u32, a[2] as u32)?;
    if a[3] != 0 {
        return Err(errno::INVAL);
    }
    // SAFETY: as above; MSG_NOSIGNAL turns a closed peer into EPIPE, not SIGPIPE.
    let n = unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = iovs.as_mut_ptr();
        msg.msg_iovlen = iovs.len();
        check(libc::sendmsg(fd, &msg, libc::MSG_NOSIGNAL))?
    };
    mem.write_u32(a[4] as u32, n as u32)
}

pub fn sock_shutdown(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, a: &[u64]) -> R {
    let fd = socket(ctx, a[0], rights::SOCK_SHUTDOWN)?;
    let how = match a[1] {
        1 => libc::SHUT_RD,
        2 => libc::SHUT_WR,
        3 => libc::SHUT_RDWR,
        _ => return Err(errno::INVAL),
    };
    // SAFETY: shutdown on a socket we hold.
    check(unsafe { libc::shutdown(fd, how) }).map(drop)
}
