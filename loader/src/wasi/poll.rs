//! `poll_oneoff`: clock and descriptor subscriptions over poll(2).

use super::errno::{self, Errno};
use super::memory::GuestMemory;
use super::misc::{host_clock, now};
use super::table::rights;
use super::WasiCtx;

type R = Result<(), Errno>;

const EVENT_CLOCK: u8 = 0;
const EVENT_FD_READ: u8 = 1;
const EVENT_FD_WRITE: u8 = 2;
const SUBCLOCK_ABSTIME: u16 = 1;
const EVENTRW_HANGUP: u16 = 1;

struct Event {
    userdata: u64,
    error: Errno,
    kind: u8,
    nbytes: u64,
    flags: u16,
}

enum Sub {
    /// Fires when the monotonic clock passes `deadline` (ns).
    Clock { userdata: u64, deadline: u64 },
    Fd {
        userdata: u64,
        kind: u8,
        poll_index: usize,
    },
}

pub fn poll_oneoff(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, a: &[u64]) -> R {
    poll(Some(ctx), mem, a)
}

/// `poll_oneoff` whose subscriptions are all clocks (a `sleep`): it needs no descriptor, so it
/// runs without the context's lock and a sleeping thread does not hold up other threads' WASI
/// calls. `None` if any subscription is on a descriptor (or the list is unreadable).
pub fn clocks_unlocked(mem: &mut GuestMemory<'_>, a: &[u64]) -> Option<R> {
    let (subs_ptr, count) = (a[0] as u32, a[2] as u32);
    let clock_only = (0..count).all(|i| {
        subs_ptr
            .checked_add(48 * i + 8)
            .and_then(|at| mem.slice(at, 1).ok())
            .is_some_and(|kind| kind[0] == EVENT_CLOCK)
    });
    (count > 0 && clock_only).then(|| poll(None, mem, a))
}

/// `ctx` is `None` only for clock-only subscriptions.
fn poll(ctx: Option<&mut WasiCtx>, mem: &mut GuestMemory<'_>, a: &[u64]) -> R {
    let (subs_ptr, events_ptr, count) = (a[0] as u32, a[1] as u32, a[2] as u32);
    if count == 0 {
        return Err(errno::INVAL);
    }
    mem.slice(subs_ptr, count.checked_mul(48).ok_or(errno::FAULT)?)?;
    mem.slice(events_ptr, count.checked_mul(32).ok_or(errno::FAULT)?)?;
    let start = now(libc::CLOCK_MONOTONIC)?;
    let mut subs = Vec::new();
    let mut pollfds: Vec<libc::pollfd> = Vec::new();
    let mut events = Vec::new();
    for i in 0..count {
        let at = subs_ptr + 48 * i;
        let userdata = mem.read_u64(at)?;
        let kind = mem.slice(at + 8, 1)?[0];
        match kind {
            EVENT_CLOCK => {
                let id = mem.read_u32(at + 16)? as u64;
                let timeout = mem.read_u64(at + 24)?;
                let flags = u16::from_le_bytes(mem.slice(at + 40, 2)?.try_into().unwrap());
                let clock = match host_clock(id) {
                    Ok(c) => c,
                    Err(e) => {
                        events.push(Event {
                            userdata,
                            error: e,
                            kind,
                            nbytes: 0,
                            flags: 0,
                        });
                        continue;
                    }
                };
                // Everything is measured on the monotonic clock; an absolute time on another
                // clock becomes a relative wait from that clock's now.
                let relative = if flags & SUBCLOCK_ABSTIME != 0 {
                    timeout.saturating_sub(now(clock)?)
                } else {
                    timeout
                };
                subs.push(Sub::Clock {
                    userdata,
                    deadline: start.saturating_add(relative),
                });
            }
            EVENT_FD_READ | EVENT_FD_WRITE => {
                let fd = mem.read_u32(at + 16)?;
                let entry = match &ctx {
                    Some(ctx) => ctx.fds.with_rights(fd, rights::POLL_FD_READWRITE),
                    None => Err(errno::BADF),
                };
                match entry {
                    Ok(e) => {
                        let events = if kind == EVENT_FD_READ {
                            libc::POLLIN
                        } else {
                            libc::POLLOUT
                        };
                        pollfds.push(libc::pollfd {
                            fd: e.raw(),
                            events,
                            revents: 0,
                        });
                        subs.push(Sub::Fd {
                            userdata,
                            kind,
                            poll_index: pollfds.len() - 1,
                        });
                    }
                    Err(e) => events.push(Event {
                        userdata,
                        error: e,
                        kind,
                        nbytes: 0,
                        flags: 0,
                    }),
                }
            }
            _ => return Err(errno::INVAL),
        }
    }
    // Wait only when nothing has happened yet (errors count as events).
    let earliest = subs
        .iter()
        .filter_map(|s| {
            if let Sub::Clock { deadline, .. } = s {
                Some(*deadline)
            } else {
                None
            }
        })
        .min();
    loop {
        let elapsed_now = now(libc::CLOCK_MONOTONIC)?;
        let timeout_ms = if !events.is_empty() {
            0
        } else {
            match earliest {
                None => -1,
                Some(d) => {
                    (d.saturating_sub(elapsed_now).div_ceil(1_000_000)).min(i32::MAX as u64) as i32
                }
            }
        };
        // SAFETY: pollfds is a valid array of its length.
        let n = unsafe {
            libc::poll(
                pollfds.as_mut_ptr(),
                pollfds.len() as libc::nfds_t,
                timeout_ms,
            )
        };
        if n < 0 {
            let e = errno::last();
            // EINTR: a signal; an interrupt of the guest ends the wait (the host function's
            // return then stops the guest), any other goes on waiting.
            if e == 27 && !crate::vm::interrupt::pending_on_this_thread() {
                continue;
            }
            return Err(e);
        }
        let t = now(libc::CLOCK_MONOTONIC)?;
        for s in &subs {
            match *s {
                Sub::Clock { userdata, deadline } if deadline <= t => events.push(Event {
                    userdata,
                    error: 0,
                    kind: EVENT_CLOCK,
                    nbytes: 0,
                    flags: 0,
                }),
                Sub::Fd {
                    userdata,
                    kind,
                    poll_index,
                } => {
                    let p = pollfds[poll_index];
                    if p.revents == 0 {
                        continue;
                    }
                    let hangup = p.revents & libc::POLLHUP != 0;
                    let error = if p.revents & libc::POLLNVAL != 0 {
                        errno::BADF
                    } else {
                        0
                    };
                    let nbytes = if kind == EVENT_FD_READ {
                        readable_bytes(p.fd)
                    } else {
                        0
                    };
                    let flags = if hangup { EVENTRW_HANGUP } else { 0 };
                    events.push(Event {
                        userdata,
                        error,
                        kind,
                        nbytes,
                        flags,
                    });
                }
                _ => {}
            }
        }
        if !events.is_empty() {
            break;
        }
    }
    for (i, e) in events.iter().enumerate() {
        let at = events_ptr + 32 * i as u32;
        let mut b = [0u8; 32];
        b[0..8].copy_from_slice(&e.userdata.to_le_bytes());
        b[8..10].copy_from_slice(&e.error.to_le_bytes());
        b[10] = e.kind;
        b[16..24].copy_from_slice(&e.nbytes.to_le_bytes());
        b[24..26].copy_from_slice(&e.flags.to_le_bytes());
        mem.write(at, &b)?;
    }
    mem.write_u32(a[3] as u32, events.len() as u32)
}

/// Bytes ready to read (FIONREAD); for a regular file, what remains after the offset.
fn readable_bytes(fd: i32) -> u64 {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int.
    if unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) } == 0 {
        return n.max(0) as u64;
    }
    0
}
