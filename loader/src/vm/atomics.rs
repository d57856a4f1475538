//! `memory.atomic.wait32/64` and `memory.atomic.notify` (threads proposal): a process-wide
//! table of parked threads keyed by host address, so that waiters on one shared memory are
//! found from any instance or thread that maps it. The value is compared while holding the
//! table's lock, and `notify` takes the same lock, so a notification cannot fall between a
//! waiter's compare and its parking (no lost wake-up).

use crate::vm::builtins::memory;
use crate::vm::instance::of_vmctx;
use crate::vm::traps::{self, Trap};
use runtime_support::TrapCode;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI32, AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Waiter {
    woken: Mutex<bool>,
    condvar: Condvar,
}

/// Parked waiters by host address, in arrival order (`notify` wakes the oldest first).
static WAITERS: Mutex<Option<HashMap<usize, Vec<Arc<Waiter>>>>> = Mutex::new(None);

fn waiters() -> std::sync::MutexGuard<'static, Option<HashMap<usize, Vec<Arc<Waiter>>>>> {
    WAITERS.lock().unwrap_or_else(|e| e.into_inner())
}

/// How often a parked waiter looks at its store's interrupt flag.
const INTERRUPT_POLL: Duration = Duration::from_millis(5);

/// `wait` returns it when `interrupted` held.
const WAIT_INTERRUPTED: u32 = 3;

/// Parks until notified or `timeout_ns` (negative: forever) has passed, if `equal` holds
/// under the lock, looking at `interrupted` every few milliseconds. 0: woken, 1: the value
/// was not the expected one, 2: timed out, `WAIT_INTERRUPTED`.
fn wait(
    addr: usize,
    equal: impl FnOnce() -> bool,
    timeout_ns: i64,
    interrupted: impl Fn() -> bool,
) -> u32 {
    let waiter = {
        let mut table = waiters();
        if !equal() {
            return 1;
        }
        let waiter = Arc::new(Waiter::default());
        table
            .get_or_insert_with(HashMap::new)
            .entry(addr)
            .or_default()
            .push(waiter.clone());
        waiter
    };
    let deadline = (timeout_ns >= 0)
        .then(|| Instant::now().checked_add(Duration::from_nanos(timeout_ns as u64)))
        .flatten();
    let mut woken = waiter.woken.lock().unwrap_or_else(|e| e.into_inner());
    let mut stopped = false;
    while !*woken {
        if interrupted() {
            stopped = true;
            break;
        }
        let slice = match deadline {
            None => INTERRUPT_POLL,
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    break;
                }
                (d - now).min(INTERRUPT_POLL)
            }
        };
        woken = waiter
            .condvar
            .wait_timeout(woken, slice)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
    if *woken {
        return 0;
    }
    drop(woken);
    // Timed out or interrupted: leave the table, unless a notify took this waiter out in the
    // meantime (then it was woken).
    let mut table = waiters();
    let queue = table.as_mut().and_then(|t| t.get_mut(&addr));
    if let Some(queue) = queue {
        if let Some(i) = queue.iter().position(|w| Arc::ptr_eq(w, &waiter)) {
            queue.remove(i);
            if queue.is_empty() {
                table.as_mut().unwrap().remove(&addr);
            }
            return if stopped { WAIT_INTERRUPTED } else { 2 };
        }
    }
    0
}

/// Wakes up to `count` waiters at `addr`; how many.
fn notify(addr: usize, count: u32) -> u32 {
    let mut table = waiters();
    let Some(queue) = table.as_mut().and_then(|t| t.get_mut(&addr)) else {
        return 0;
    };
    let n = queue.len().min(count as usize);
    for w in queue.drain(..n) {
        *w.woken.lock().unwrap_or_else(|e| e.into_inner()) = true;
        w.condvar.notify_one();
    }
    if queue.is_empty() {
        table.as_mut().unwrap().remove(&addr);
    }
    n as u32
}

/// Traps unless `[addr, addr + size)` is inside memory `mem`: under guard pages compiled code
/// checks no bounds and leaves it to the fault, which a builtin would not turn into a trap.
unsafe fn require_inside(vmctx: *mut u8, mem: u32, addr: *mut u8, size: u64) {
    if !memory(of_vmctx(vmctx), mem).holds(addr, size) {
        traps::raise(Trap::new(TrapCode::MemoryOutOfBounds));
    }
}

/// A wait on an unshared memory traps: no other thread could ever notify it.
unsafe fn require_shared(vmctx: *mut u8, mem: u32) {
    if !memory(of_vmctx(vmctx), mem).shared {
        traps::raise(Trap::new(TrapCode::ExpectedSharedMemory));
    }
}

pub(crate) unsafe extern "C" fn atomic_notify(
    vmctx: *mut u8,
    mem: u32,
    addr: *mut u8,
    count: u32,
) -> u32 {
    require_inside(vmctx, mem, addr, 4);
    // An unshared memory has no waiters: the table has none at its addresses.
    notify(addr as usize, count)
}

pub(crate) unsafe extern "C" fn atomic_wait32(
    vmctx: *mut u8,
    mem: u32,
    addr: *mut u8,
    expected: u32,
    timeout_ns: i64,
) -> u32 {
    checked_wait(vmctx, mem, addr, 4, timeout_ns, || {
        // SAFETY: inside the memory and 4-byte aligned (`checked_wait`, compiled code).
        (*(addr as *const AtomicI32)).load(Ordering::SeqCst) == expected as i32
    })
}

pub(crate) unsafe extern "C" fn atomic_wait64(
    vmctx: *mut u8,
    mem: u32,
    addr: *mut u8,
    expected: u64,
    timeout_ns: i64,
) -> u32 {
    checked_wait(vmctx, mem, addr, 8, timeout_ns, || {
        // SAFETY: inside the memory and 8-byte aligned (`checked_wait`, compiled code).
        (*(addr as *const AtomicI64)).load(Ordering::SeqCst) == expected as i64
    })
}

/// A wait of `size` bytes at `addr` of memory `mem`, after its traps.
unsafe fn checked_wait(
    vmctx: *mut u8,
    mem: u32,
    addr: *mut u8,
    size: u64,
    timeout_ns: i64,
    equal: impl FnOnce() -> bool,
) -> u32 {
    require_inside(vmctx, mem, addr, size);
    require_shared(vmctx, mem);
    let limits = crate::vm::limits::of_vmctx(vmctx);
    let outcome = wait(addr as usize, equal, timeout_ns, || {
        limits.interrupt_pending()
    });
    if outcome == WAIT_INTERRUPTED {
        limits.take_interrupt();
        traps::raise(Trap::new(runtime_support::TrapCode::Interrupted));
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_wakes_a_parked_waiter_and_timeouts_expire() {
        let cell = Box::leak(Box::new(AtomicI32::new(7)));
        let addr = cell as *const AtomicI32 as usize;
        assert_eq!(wait(addr, || false, -1, || false), 1);
        assert_eq!(wait(addr, || true, 1_000_000, || false), 2);
        assert_eq!(wait(addr, || true, -1, || true), WAIT_INTERRUPTED);
        assert_eq!(notify(addr, 1), 0);
        let t = std::thread::spawn(move || wait(addr, || true, -1, || false));
        while notify(addr, 1) == 0 {
            std::thread::yield_now();
        }
        assert_eq!(t.join().unwrap(), 0);
    }
}
