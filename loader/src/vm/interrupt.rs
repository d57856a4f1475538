//! Interrupts by signal: stopping guest code wherever it runs, with nothing compiled into its
//! loops.
//!
//! `InterruptHandle::interrupt` sets the store's flag and raises its stack limit (so the next
//! function entry stops), then sends `SIGNAL` to the thread running the store's guest code.
//! The handler stops the guest with the trap `interrupted` when the signal finds that thread
//! in compiled code of the interrupted store; compiled code keeps no state the host relies on
//! half-written between two instructions, except an inline GC allocation, which the handler
//! repairs (`gc_heap::repair_bump`). A signal that finds the thread in host code (a builtin,
//! libc, the unwinder) does nothing: host functions, bulk builtins and `ExnNew` stop the guest
//! as they return, and a resender thread signals again every millisecond until the interrupt
//! is taken or the guest leaves the store.
//!
//! `interrupt` is async-signal-safe (a host may call it from its own `SIGALRM` handler): atomic
//! stores, `membarrier`, `tgkill`, and a byte written to the resender's pipe. Everything that allocates or
//! locks (the handler's installation, the resender, the list of watched stores) happens when
//! the handle is made.
//!
//! Threads are named by kernel id (`tgkill`), not `pthread_t`: a thread that has ended, or a
//! reused id, gets at worst a stray signal, which the handler passes on (ignored by default).
//! A thread that blocks the signal has it unblocked while it runs a watched store's guest code
//! (`unblock_for_call`).

use crate::vm::limits::StoreLimits;
use crate::vm::{code_registry, gc_heap, traps};
use runtime_support::TrapCode;
use std::cell::Cell;
use std::sync::atomic::{AtomicPtr, Ordering::*};
use std::sync::{Arc, Mutex, Once, Weak};

/// `SIGURG`: ignored by default, so a stray one harms nothing, and rarely used (Go's runtime
/// preempts goroutines with it for the same reasons). `SA_RESTART` restarts most system calls
/// it lands in.
pub(crate) const SIGNAL: libc::c_int = libc::SIGURG;

/// How often a pending interrupt is signalled again while its guest runs, in milliseconds.
const RESEND_MS: i32 = 1;

/// `membarrier(2)` commands (Linux 4.14).
const MEMBARRIER_CMD_PRIVATE_EXPEDITED: libc::c_long = 1 << 3;
const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_long = 1 << 4;

/// Whether this process registered for expedited `membarrier`: then `signal` makes every
/// thread of the process pass a full barrier between the interrupt's flag and its look at the
/// running thread, and an entry records its thread with a plain store instead of a fenced
/// one (about 5 ns of every call into an interruptible store). Decided once, when the first
/// handle is made (`watch`), so every handle and every entry agree; a forked child keeps the
/// registration, as the kernel does. Should a barrier fail all the same, the resender looks
/// again (`resend_loop`).
static BARRIER_REGISTERED: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Registers for expedited barriers; where the kernel (or a seccomp filter that answers with
/// an error) refuses, entries keep their sequentially consistent store.
fn register_barrier() {
    // SAFETY: a registration with no arguments.
    let r = unsafe {
        libc::syscall(
            libc::SYS_membarrier,
            MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
            0,
        )
    };
    if r == 0 {
        BARRIER_REGISTERED.store(true, Relaxed);
    }
}

thread_local! {
    /// This thread's kernel id, once asked (reset in a forked child).
    static TID: Cell<i32> = const { Cell::new(0) };
    /// Whether this thread blocked `SIGNAL` at its first call into a watched store: 0 not
    /// known yet, 1 no, 2 yes.
    static BLOCKS: Cell<u8> = const { Cell::new(0) };
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

/// The resender of one process (a forked child makes its own): the stores that have interrupt
/// handles, and the pipe that wakes it.
struct Resender {
    pid: i32,
    watched: Mutex<Vec<Weak<StoreLimits>>>,
    wake_fd: i32,
}

/// Leaked, never freed: a signal handler or another thread may hold it.
static RESENDER: AtomicPtr<Resender> = AtomicPtr::new(std::ptr::null_mut());
static STARTING: Mutex<()> = Mutex::new(());

/// Wakes the resender; async-signal-safe. Not a parent's from a forked child: its descriptor
/// may have been closed and reused there.
fn wake() {
    let r = RESENDER.load(Acquire);
    // SAFETY: a leaked resender; getpid and a non-blocking write of one byte (a full pipe
    // means it is awake already).
    unsafe {
        if !r.is_null() && (*r).pid == libc::getpid() {
            libc::write((*r).wake_fd, [1u8].as_ptr().cast(), 1);
        }
    }
}

/// This process's resender, started if needed.
fn resender() -> Result<&'static Resender, String> {
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    let current = RESENDER.load(Acquire);
    // SAFETY: resenders are leaked.
    if !current.is_null() && unsafe { (*current).pid } == pid {
        return Ok(unsafe { &*current });
    }
    let _starting = STARTING.lock().unwrap_or_else(|e| e.into_inner());
    let current = RESENDER.load(Acquire);
    if !current.is_null() && unsafe { (*current).pid } == pid {
        return Ok(unsafe { &*current });
    }
    let mut fds = [0; 2];
    // SAFETY: a pipe into a two-element array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
        return Err(format!(
            "cannot make the interrupt thread's pipe: {}",
            std::io::Error::last_os_error()
        ));
    }
    let r: &'static Resender = Box::leak(Box::new(Resender {
        pid,
        watched: Mutex::new(Vec::new()),
        wake_fd: fds[1],
    }));
    let read_fd = fds[0];
    // The thread takes no process-directed signal of the host's: it starts with all blocked.
    // SAFETY: this thread's mask, changed around the spawn and put back.
    let spawned = unsafe {
        let (mut all, mut old): (libc::sigset_t, libc::sigset_t) = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        let spawned = std::thread::Builder::new()
            .name("waot-interrupt".into())
            .spawn(move || resend_loop(r, read_fd));
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        spawned
    };
    if let Err(e) = spawned {
        // SAFETY: our own descriptors, used by nothing else.
        unsafe {
            libc::close(fds[0]);
            libc::close(fds[1]);
        }
        return Err(format!("cannot start the interrupt thread: {e}"));
    }
    RESENDER.store(r as *const Resender as *mut Resender, Release);
    Ok(r)
}

fn resend_loop(r: &'static Resender, read_fd: i32) {
    // Looks left at stores with an interrupt pending and no thread recorded: an entry's
    // record may reach this thread late if the interrupter's barrier failed, so a wake that
    // finds one is followed by a few more looks, a millisecond apart.
    let mut idle_looks = 0;
    loop {
        let mut idle = false;
        let pending: Vec<Arc<StoreLimits>> = {
            let mut watched = r.watched.lock().unwrap_or_else(|e| e.into_inner());
            watched.retain(|w| w.strong_count() > 0);
            watched
                .iter()
                .filter_map(Weak::upgrade)
                .filter(|l| l.interrupt_pending())
                .filter(|l| {
                    idle |= l.running() == 0;
                    l.running() != 0
                })
                .collect()
        };
        for l in &pending {
            match l.running() {
                0 => {}
                tid => send(tid),
            }
        }
        let timeout = if !pending.is_empty() {
            RESEND_MS
        } else if idle && idle_looks > 0 {
            idle_looks -= 1;
            RESEND_MS
        } else {
            -1
        };
        drop(pending);
        let mut pfd = libc::pollfd {
            fd: read_fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one pollfd; then draining our own non-blocking pipe.
        let woken = unsafe {
            libc::poll(&mut pfd, 1, timeout);
            let mut buf = [0u8; 64];
            let mut woken = false;
            while libc::read(read_fd, buf.as_mut_ptr().cast(), buf.len()) > 0 {
                woken = true;
            }
            woken
        };
        if woken {
            idle_looks = IDLE_LOOKS;
        }
    }
}

/// How many more looks a wake earns a store that has an interrupt pending and no thread
/// recorded (`resend_loop`).
const IDLE_LOOKS: u32 = 3;

/// Makes the store interruptible by signal: the handler installed, the resender started, the
/// store on its list. `in_call`: the store's guest code is running on this thread now (the
/// handle is made by a host function), so the thread is recorded at once.
pub(crate) fn watch(limits: &Arc<StoreLimits>, in_call: bool) -> Result<(), String> {
    crate::vm::signals::install_interrupt_handler();
    static AT_FORK: Once = Once::new();
    AT_FORK.call_once(|| {
        extern "C" fn forget_tid() {
            TID.with(|t| t.set(0));
        }
        // SAFETY: registers a handler that only writes this thread's thread-local.
        unsafe { libc::pthread_atfork(None, None, Some(forget_tid)) };
    });
    let r = resender()?;
    static REGISTER: Once = Once::new();
    REGISTER.call_once(register_barrier);
    {
        let mut watched = r.watched.lock().unwrap_or_else(|e| e.into_inner());
        // Stores that are gone leave here too, not only in the resender's loop, which may
        // sleep for as long as no interrupt comes.
        watched.retain(|w| w.strong_count() > 0);
        if !watched.iter().any(|w| std::ptr::eq(w.as_ptr(), &**limits)) {
            watched.push(Arc::downgrade(limits));
        }
    }
    limits.watch();
    if in_call && entering(limits) {
        limits.block_again_on_exit();
    }
    Ok(())
}

/// After `request_interrupt`: signals the thread running the store's guest code, if one does,
/// and wakes the resender. Async-signal-safe, `errno` included.
pub(crate) fn signal(limits: &StoreLimits) {
    // SAFETY: this thread's errno, saved and put back around the system calls below.
    let errno = unsafe { *libc::__errno_location() };
    if BARRIER_REGISTERED.load(Relaxed) {
        // SAFETY: a barrier across this process's threads; no memory is passed. Should it fail
        // (the kernel's memory), the resender's further looks find a thread recorded late.
        unsafe { libc::syscall(libc::SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0) };
    }
    let tid = limits.running();
    if tid != 0 {
        send(tid);
    }
    wake();
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
}

/// An outermost entry into a watched store: records this thread, has an interrupt requested
/// before it signalled (the entry's stack limit stops most calls at once, but a leaf function
/// has no entry check), and makes sure the signal can arrive (`unblock_for_call`). Returns
/// whether `leaving` must block it again.
pub(crate) fn entering(limits: &StoreLimits) -> bool {
    limits.set_running(current_tid(), BARRIER_REGISTERED.load(Relaxed));
    if limits.interrupt_pending() {
        wake();
    }
    unblock_for_call()
}

/// The end of an outermost call of a watched store: forgets the thread, and blocks the signal
/// again if this call's entry (or a handle made during it) unblocked it.
pub(crate) fn leaving(limits: &StoreLimits, block: bool) {
    limits.clear_running();
    if limits.take_block_again() || block {
        block_again();
    }
}

/// Makes sure the signal can arrive, and says whether it must be blocked again when the call
/// ends (`block_again`) because it was blocked when the call began: the host's mask is the
/// same after as before. Unblocked by an enclosing call already (of this or another watched
/// store), it stays so. A thread found not to block it at its first such call is taken not to
/// (no system call per call).
fn unblock_for_call() -> bool {
    if BLOCKS.with(Cell::get) == 1 {
        return false;
    }
    // SAFETY: changes this thread's mask for SIGNAL only, and reads the old one.
    let was_blocked = unsafe {
        let (mut set, mut old): (libc::sigset_t, libc::sigset_t) = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, SIGNAL);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, &mut old);
        libc::sigismember(&old, SIGNAL) == 1
    };
    BLOCKS.with(|b| {
        if b.get() == 0 {
            b.set(if was_blocked { 2 } else { 1 });
        }
    });
    was_blocked
}

/// Blocks the signal again at the end of a call that unblocked it.
fn block_again() {
    // SAFETY: blocks SIGNAL in this thread, as it was before the call.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, SIGNAL);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

/// Whether the store whose guest code this thread runs (innermost) has an interrupt pending:
/// for host functions that wait (WASI `poll_oneoff`), whose system call the signal ends with
/// `EINTR`.
pub(crate) fn pending_on_this_thread() -> bool {
    let limits = traps::innermost_limits();
    // SAFETY: the limits of a store whose call is on this thread's stack.
    !limits.is_null() && unsafe { (*limits).interrupt_pending() }
}

/// The handler's part for `SIGNAL`: stops the guest (never returns) when this thread runs
/// compiled code of a store with a pending interrupt; returns otherwise. The program counter
/// is looked at first: it needs no thread-local, which a thread that never ran guest code may
/// not have yet.
///
/// # Safety
/// Only from the signal handler, with the interrupted context's program counter, frame
/// pointer and ucontext.
pub(crate) unsafe fn on_signal(pc: usize, fp: usize, ctx: *mut libc::c_void) {
    if !code_registry::contains(pc) || !traps::in_guest() {
        return;
    }
    let limits = traps::innermost_limits();
    if limits.is_null() || !(*limits).take_pending_interrupt() {
        return;
    }
    gc_heap::repair_bump((*limits).as_ptr());
    crate::vm::signals::leave_handler(ctx);
    traps::unwind_from_signal(TrapCode::Interrupted, pc, fp)
}
