//! Interrupts by signal: stopping guest code wherever it runs, with nothing compiled into its
//! loops.
//!
//! `InterruptHandle::interrupt` sets the store's flag and raises its stack limit (so the next
//! function entry stops), then sends `SIGNAL` to the thread running the store's guest code.
//! The handler stops the guest with the trap `interrupted` when the signal finds that thread
//! in compiled code of the interrupted store; compiled code keeps no state the host relies on
//! half-written between two instructions, except an inline GC allocation, which the handler
//! repairs (`gc_heap::repair_bump`). A signal that finds the thread in host code (a builtin,
//! libc, the unwinder) does nothing: a host function stops the guest as it returns, and the
//! interrupter's thread is followed by a resender that signals again every millisecond until
//! the interrupt is consumed or the guest leaves the store.
//!
//! Threads are named by kernel id (`tgkill`), not `pthread_t`: a thread that has ended, or a
//! reused id, gets at worst a stray signal, which the handler passes on (ignored by default).

use crate::vm::limits::StoreLimits;
use crate::vm::{code_registry, gc_heap, traps};
use runtime_support::TrapCode;
use std::cell::Cell;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

/// `SIGURG`: ignored by default, so a stray one harms nothing, and rarely used (Go's runtime
/// preempts goroutines with it for the same reasons). `SA_RESTART` restarts most system calls
/// it lands in.
pub(crate) const SIGNAL: libc::c_int = libc::SIGURG;

/// How often a pending interrupt is signalled again while its guest runs.
const RESEND: Duration = Duration::from_millis(1);

thread_local! {
    static TID: Cell<i32> = const { Cell::new(0) };
}

fn current_tid() -> i32 {
    TID.with(|t| {
        if t.get() == 0 {
            // SAFETY: gettid has no preconditions.
            t.set(unsafe { libc::gettid() });
        }
        t.get()
    })
}

fn send(tid: i32) {
    // SAFETY: tgkill with our own process id reaches at most a thread of this process.
    unsafe {
        libc::syscall(libc::SYS_tgkill, libc::getpid(), tid, SIGNAL);
    }
}

struct Resender {
    pending: Mutex<Vec<Arc<StoreLimits>>>,
    wake: Condvar,
}

static RESENDER: OnceLock<Resender> = OnceLock::new();

fn resender() -> &'static Resender {
    RESENDER.get_or_init(|| {
        std::thread::Builder::new()
            .name("waot-interrupt".into())
            .spawn(resend_loop)
            .expect("the interrupt resender thread starts");
        Resender {
            pending: Mutex::new(Vec::new()),
            wake: Condvar::new(),
        }
    })
}

fn resend_loop() {
    let r = resender();
    let mut pending = r.pending.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        pending.retain(|l| l.interrupt_pending() && l.running() != 0);
        if pending.is_empty() {
            pending = r.wake.wait(pending).unwrap_or_else(|e| e.into_inner());
            continue;
        }
        pending
            .iter()
            .map(|l| l.running())
            .filter(|&tid| tid != 0)
            .for_each(send);
        pending = r
            .wake
            .wait_timeout(pending, RESEND)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
}

/// Keeps signalling the thread that runs `limits`' guest code until the interrupt is taken.
fn follow(limits: &Arc<StoreLimits>) {
    let r = resender();
    let mut pending = r.pending.lock().unwrap_or_else(|e| e.into_inner());
    if !pending.iter().any(|l| Arc::ptr_eq(l, limits)) {
        pending.push(limits.clone());
    }
    r.wake.notify_one();
}

/// After `request_interrupt`: signals the thread running the store's guest code, if one does.
pub(crate) fn signal(limits: &Arc<StoreLimits>) {
    let tid = limits.running();
    if tid != 0 {
        send(tid);
        follow(limits);
    }
}

/// An outermost entry into a store that has an interrupt handle: records this thread, and
/// has an interrupt requested before it signalled (the entry's stack limit stops most calls
/// at once, but a leaf function has no entry check).
pub(crate) fn entering(limits: &Arc<StoreLimits>) {
    limits.set_running(current_tid());
    if limits.interrupt_pending() {
        follow(limits);
    }
}

/// The handler's part for `SIGNAL`: stops the guest (never returns) when this thread runs
/// compiled code of a store with a pending interrupt; returns otherwise.
///
/// # Safety
/// Only from the signal handler, with the interrupted context's program counter and frame
/// pointer.
pub(crate) unsafe fn on_signal(pc: usize, fp: usize) {
    if !traps::in_guest() || !code_registry::contains(pc) {
        return;
    }
    let limits = traps::innermost_limits();
    if limits.is_null() || !(*limits).interrupt_pending() || !(*limits).take_interrupt() {
        return;
    }
    gc_heap::repair_bump((*limits).as_ptr());
    traps::unwind_from_signal(TrapCode::Interrupted, pc, fp)
}
