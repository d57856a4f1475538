//! A store's runtime limits as compiled code reads them (`VmRuntimeLimits`: the stack limit,
//! the interrupt flag, fuel), shared with the threads that may interrupt it.
//!
//! An interrupt sets the flag and then the stack limit to its maximum, so that the next
//! function entry, which compares the stack pointer with the limit anyway, traps; and it
//! signals the thread running the store's guest code, whose handler stops code wherever it
//! is (`vm::interrupt`), so that loops need no poll. Code compiled with `--interruptible`
//! also polls the flag at loop headers. The trap consumes the interrupt and puts the real
//! limit back. Every access to the shared fields is atomic: compiled code reads them with
//! plain (x86-64, AArch64: single-copy atomic) aligned 8-byte loads.

use runtime_support::vmctx::VmRuntimeLimits;
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::Arc;

pub(crate) struct StoreLimits {
    raw: UnsafeCell<VmRuntimeLimits>,
    /// The stack limit the store's outermost entry set, restored when an interrupt is consumed.
    entry_stack_limit: AtomicUsize,
    /// An interrupt handle exists: outermost entries record their thread in `running`.
    watched: AtomicBool,
    /// The kernel id of the thread running the store's guest code, 0 when none (or not
    /// `watched`): where an interrupt's signal goes.
    running: AtomicI32,
    /// A handle made during the store's outermost call unblocked the interrupt signal, to be
    /// blocked again when that call ends.
    block_again: AtomicBool,
}

// SAFETY: the fields other threads touch (`interrupt`, `stack_limit`) are only accessed
// atomically; `fuel` only by the thread running the store (and its compiled code).
unsafe impl Sync for StoreLimits {}
unsafe impl Send for StoreLimits {}

impl StoreLimits {
    pub fn new() -> Arc<StoreLimits> {
        Arc::new(StoreLimits {
            raw: UnsafeCell::new(VmRuntimeLimits {
                stack_limit: 0,
                interrupt: 0,
                fuel: i64::MAX,
                gc_cursor: 0,
                gc_limit: 0,
                gc_marking: 0,
            }),
            entry_stack_limit: AtomicUsize::new(0),
            watched: AtomicBool::new(false),
            running: AtomicI32::new(0),
            block_again: AtomicBool::new(false),
        })
    }

    /// What the vmctx points to.
    #[inline]
    pub fn as_ptr(&self) -> *mut VmRuntimeLimits {
        self.raw.get()
    }

    #[inline]
    fn stack_limit(&self) -> &AtomicUsize {
        // SAFETY: an aligned field of a live allocation, only ever accessed atomically.
        unsafe { AtomicUsize::from_ptr(&raw mut (*self.as_ptr()).stack_limit) }
    }

    #[inline]
    fn interrupt(&self) -> &AtomicU64 {
        // SAFETY: as above.
        unsafe { AtomicU64::from_ptr(&raw mut (*self.as_ptr()).interrupt) }
    }

    #[inline]
    pub fn fuel(&self) -> &AtomicI64 {
        // SAFETY: as above.
        unsafe { AtomicI64::from_ptr(&raw mut (*self.as_ptr()).fuel) }
    }

    /// Sets the stack limit for an outermost entry into the store, unless an interrupt is
    /// pending, which keeps it at its maximum.
    #[inline]
    pub fn enter(&self, limit: usize) {
        self.entry_stack_limit.store(limit, Relaxed);
        if self.stack_limit().load(Relaxed) == limit {
            return;
        }
        // Store, then load the flag: with `request_interrupt`'s store of the flag, then of
        // the limit, either this load sees the flag or the maximum is written after `limit`.
        self.stack_limit().store(limit, SeqCst);
        if self.interrupt().load(SeqCst) != 0 {
            self.stack_limit().store(usize::MAX, SeqCst);
        }
    }

    pub fn request_interrupt(&self) {
        self.interrupt().store(1, SeqCst);
        self.stack_limit().store(usize::MAX, SeqCst);
    }

    pub fn watch(&self) {
        self.watched.store(true, Relaxed);
    }

    #[inline]
    pub fn watched(&self) -> bool {
        self.watched.load(Relaxed)
    }

    /// Records the thread entering the store's guest code. Against `request_interrupt`, either
    /// the entry then sees the flag, or the interrupter sees the thread and signals it: a
    /// sequentially consistent store, or (`fenced_elsewhere`) a plain one when the interrupter
    /// issues a process-wide barrier between its flag and its look at the thread
    /// (`interrupt::signal`).
    #[inline]
    pub fn set_running(&self, tid: i32, fenced_elsewhere: bool) {
        if fenced_elsewhere {
            self.running.store(tid, Relaxed);
            std::sync::atomic::compiler_fence(SeqCst);
        } else {
            self.running.store(tid, SeqCst);
        }
    }

    /// The thread left the store's guest code. No fence: an interrupter that still sees the
    /// thread sends it a signal that finds no guest code, which the handler passes on, and the
    /// resender stops once it sees the store idle.
    pub fn clear_running(&self) {
        self.running.store(0, Release);
    }

    pub fn running(&self) -> i32 {
        self.running.load(SeqCst)
    }

    pub fn block_again_on_exit(&self) {
        self.block_again.store(true, Relaxed);
    }

    pub fn take_block_again(&self) -> bool {
        // Only the thread running the store touches it: a load first keeps the usual exit
        // free of a read-modify-write.
        self.block_again.load(Relaxed) && self.block_again.swap(false, Relaxed)
    }

    pub fn interrupt_pending(&self) -> bool {
        self.interrupt().load(SeqCst) != 0
    }

    /// Consumes an interrupt whose flag is set (not the stale kind `take_interrupt` also
    /// recognizes, which only an entry's failed stack check may take): for the places that
    /// stop guest code wherever it is, the signal's handler, host returns and builtins.
    pub fn take_pending_interrupt(&self) -> bool {
        self.interrupt_pending() && self.take_interrupt()
    }

    /// Consumes a pending interrupt, restoring the stack limit; false if there was none. A
    /// limit left at its maximum with no flag is a racing interrupt's, whose flag a loop poll
    /// consumed before the requester raised the limit: it is an interrupt too.
    pub fn take_interrupt(&self) -> bool {
        if self.interrupt().swap(0, SeqCst) == 0 {
            let stale = self.stack_limit().load(SeqCst) == usize::MAX;
            if stale {
                self.stack_limit()
                    .store(self.entry_stack_limit.load(Relaxed), SeqCst);
            }
            return stale;
        }
        self.stack_limit()
            .store(self.entry_stack_limit.load(Relaxed), SeqCst);
        // An interrupt requested meanwhile keeps the limit at its maximum.
        if self.interrupt().load(SeqCst) != 0 {
            self.stack_limit().store(usize::MAX, SeqCst);
        }
        true
    }
}

/// Stops a store's guest code from any thread (`StoreData::interrupt_handle`).
///
/// Guest code stops with the trap `interrupted` wherever it is: the interrupt signals the
/// thread running it (see `vm::interrupt`). A host function or WASI call in progress
/// finishes first (a WASI sleep ends early), and the guest stops as it returns. An interrupt
/// requested while no guest code runs stops the next call as it begins; each interrupt stops
/// one call. `interrupt` is async-signal-safe: a host may call it from a signal handler.
#[derive(Clone)]
pub struct InterruptHandle {
    pub(crate) limits: Arc<StoreLimits>,
}

impl InterruptHandle {
    pub fn interrupt(&self) {
        self.limits.request_interrupt();
        crate::vm::interrupt::signal(&self.limits);
    }

    /// Consumes an interrupt requested and not yet taken, for code that polls (the
    /// interpreter's slices of fuel): true if there was one.
    pub fn take(&self) -> bool {
        self.limits.take_interrupt()
    }
}

/// A store's fuel, for code that meters itself (the interpreter, `interp::Meter`): what it
/// spends comes out of the same budget as compiled code's (`StoreData::fuel_account`). The
/// store's refill callback reaches the interpreter through `Meter::refill`, which the C API
/// sets.
#[derive(Clone)]
pub struct FuelAccount {
    pub(crate) limits: Arc<StoreLimits>,
}

impl FuelAccount {
    /// Fuel left (0 when it ran out).
    pub fn left(&self) -> u64 {
        self.limits.fuel().load(Relaxed).max(0) as u64
    }

    pub fn spend(&self, units: u64) {
        let units = units.min(i64::MAX as u64) as i64;
        let _ = self
            .limits
            .fuel()
            .fetch_update(Relaxed, Relaxed, |f| Some(f.saturating_sub(units)));
    }
}

/// The vmctx's limits of the instance whose vmctx is `vmctx`.
///
/// # Safety
/// `vmctx` must be a live instance's vmctx.
pub(crate) unsafe fn of_vmctx<'a>(vmctx: *mut u8) -> &'a StoreLimits {
    let raw =
        *(vmctx.add(runtime_support::vmctx::OFFSET_LIMITS as usize) as *const *mut VmRuntimeLimits);
    // SAFETY: vmctxs hold `as_ptr()` of their store's `StoreLimits`, the address of its
    // `raw` field (`UnsafeCell` is `repr(transparent)`), which the store keeps alive.
    &*(raw as *const u8)
        .sub(std::mem::offset_of!(StoreLimits, raw))
        .cast::<StoreLimits>()
}
