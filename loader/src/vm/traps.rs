//! Traps: the error a host receives when guest code stops, and the machinery that gets it
//! there without unwinding through foreign frames.
//!
//! Entering guest code sets a catch point (`trap_catch.c`). A trap raised by a builtin or a
//! host function stores a `Trap` in a thread-local and jumps to the catch point; a fault in
//! compiled code (an access in the guard region) reaches the signal handler, which records
//! the trap code and jumps the same way. Everything is per thread, so traps in several
//! threads at once are independent.

use crate::vm::code_registry;
use crate::vm::limits::StoreLimits;
use runtime_support::TrapCode;
use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use std::fmt;

/// Why a call into guest code did not return normally.
#[derive(Clone, Debug, PartialEq)]
pub struct Trap {
    /// The specification's trap kind; `None` for an error raised by a host function.
    pub code: Option<TrapCode>,
    pub message: String,
    /// Innermost frame first.
    pub backtrace: Vec<crate::vm::code_registry::FrameInfo>,
    /// Set when the guest ended itself with WASI `proc_exit`: its exit status.
    pub exit_status: Option<i32>,
    /// Set when an exception escaped every wasm handler (read with `Trap::exception`).
    pub(crate) uncaught: Option<Box<Uncaught>>,
}

/// An exception object that reached the host. What the store decodes it into (its tag and
/// payload, `api::exceptions::Exception`) holds the embedding API's handles and values, which
/// this layer does not know, so it keeps that opaque.
#[derive(Clone)]
pub(crate) struct Uncaught {
    pub object: *mut u8,
    pub decoded: Option<std::sync::Arc<dyn Decoded>>,
    /// For an exception the host made to throw (`StoreData::exception_new`), whose object its
    /// store keeps only until it is thrown: set when it is, in every clone, so that a clone is
    /// not thrown after the object may have been freed.
    pub thrown: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

/// What the store decodes an uncaught exception into, compared and shown through this trait.
pub(crate) trait Decoded: std::any::Any + Send + Sync + fmt::Debug {
    fn as_any(&self) -> &dyn std::any::Any;
    fn eq_dyn(&self, other: &dyn Decoded) -> bool;
}

impl<T: std::any::Any + Send + Sync + fmt::Debug + PartialEq> Decoded for T {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn eq_dyn(&self, other: &dyn Decoded) -> bool {
        other.as_any().downcast_ref::<T>() == Some(self)
    }
}

// SAFETY: `object` is dereferenced only by its store, after checking that the store's heap
// holds it.
unsafe impl Send for Uncaught {}
unsafe impl Sync for Uncaught {}

impl PartialEq for Uncaught {
    fn eq(&self, other: &Self) -> bool {
        self.object == other.object
            && match (&self.decoded, &other.decoded) {
                (None, None) => true,
                (Some(a), Some(b)) => (**a).eq_dyn(&**b),
                _ => false,
            }
    }
}

impl fmt::Debug for Uncaught {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Uncaught")
            .field("object", &self.object)
            .field("decoded", &self.decoded)
            .finish()
    }
}

impl Trap {
    pub fn new(code: TrapCode) -> Self {
        Trap {
            code: Some(code),
            message: code.message().to_string(),
            backtrace: Vec::new(),
            exit_status: None,
            uncaught: None,
        }
    }

    /// An error raised by a host function; it traps the guest like any other trap.
    pub fn host(message: impl Into<String>) -> Self {
        Trap {
            code: None,
            message: message.into(),
            backtrace: Vec::new(),
            exit_status: None,
            uncaught: None,
        }
    }

    /// The guest asked to exit with `status` (WASI `proc_exit`): not an error of the guest.
    pub fn exit(status: i32) -> Self {
        Trap {
            code: None,
            message: format!("exited with status {status}"),
            backtrace: Vec::new(),
            exit_status: Some(status),
            uncaught: None,
        }
    }

    /// An exception (object `exn`) that no wasm handler caught; decoded by the store.
    pub(crate) fn uncaught(exn: *mut u8) -> Self {
        Trap {
            code: None,
            message: "uncaught wasm exception".into(),
            backtrace: Vec::new(),
            exit_status: None,
            uncaught: Some(Box::new(Uncaught {
                object: exn,
                decoded: None,
                thrown: None,
            })),
        }
    }
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Trap {}

extern "C" {
    /// Calls `visit(ctx, word)` for every word of this thread's stack in `[bottom, top)`,
    /// callee-saved registers spilled first (`trap_catch.c`); 0 when it cannot.
    pub(crate) fn waot_scan_stack(
        bottom: usize,
        top: usize,
        visit: extern "C" fn(*mut c_void, usize),
        ctx: *mut c_void,
    ) -> i32;
    fn waot_call_catching_traps(
        catch_slot: *mut *mut c_void,
        limits: *const c_void,
        trampoline: *const u8,
        code: *const u8,
        vmctx: *mut u8,
        values: *mut u8,
    ) -> i32;
    fn waot_unwind_to_catch(catch_point: *mut c_void) -> !;
}

/// `waot_call_catching_traps`, called directly on x86-64: rustc calls a C function through
/// the GOT with a relocation the linker cannot relax (`R_X86_64_GOTPCREL`), where the
/// function is hidden in the same library and a `call` reaches it.
///
/// # Safety
/// As `waot_call_catching_traps`.
#[cfg(all(target_arch = "x86_64", target_pointer_width = "64"))]
#[inline(always)]
unsafe fn catching_traps(
    catch_slot: *mut *mut c_void,
    limits: *const c_void,
    trampoline: *const u8,
    code: *const u8,
    vmctx: *mut u8,
    values: *mut u8,
) -> i32 {
    let trapped: i32;
    // SAFETY: the caller's; the registers are the C ABI's first six arguments and its
    // result, everything the ABI lets a callee change is declared clobbered, and the stack
    // is aligned for a call (no `nostack`).
    unsafe {
        std::arch::asm!(
            "call {f}",
            f = sym waot_call_catching_traps,
            inout("rdi") catch_slot => _,
            inout("rsi") limits => _,
            inout("rdx") trampoline => _,
            inout("rcx") code => _,
            inout("r8") vmctx => _,
            inout("r9") values => _,
            lateout("eax") trapped,
            clobber_abi("C"),
        );
    }
    trapped
}

#[cfg(not(all(target_arch = "x86_64", target_pointer_width = "64")))]
use waot_call_catching_traps as catching_traps;

const MAX_FRAMES: usize = 64;

/// What every entry into guest code reads, kept in one thread-local. It lives in C
/// (`waot_entry_state`, trap_catch.c), reached through TLS descriptors: in a shared library
/// (the C API's), a Rust thread-local costs a call to `__tls_get_addr` on every access.
#[repr(C)]
struct EntryState {
    /// The innermost catch point (null outside guest code).
    catch: Cell<*mut c_void>,
    /// The lowest stack address guest code may use (0 until the thread first enters).
    stack_limit: Cell<usize>,
}

#[cfg(not(all(target_arch = "x86_64", target_pointer_width = "64")))]
extern "C" {
    fn waot_entry_state() -> *const EntryState;
}

/// This thread's entry state, reached through its TLS descriptor right here rather than by a
/// call (through the GOT) to `waot_entry_state`, which would make the same descriptor call:
/// one call and return less on every entry into guest code.
///
/// The descriptor's resolver keeps every register but `rax` when the library's TLS block is
/// static; glibc's dynamic one (a library loaded by `dlopen` that did not fit the static
/// surplus) called `__tls_get_addr` without saving vector registers before glibc 2.40, so the
/// block declares the C ABI's caller-saved registers clobbered, as a call would.
#[cfg(all(target_arch = "x86_64", target_pointer_width = "64"))]
#[inline(always)]
unsafe fn waot_entry_state() -> *const EntryState {
    let offset: usize;
    // SAFETY: the caller's contract; the sequence is the ABI's general-dynamic TLS descriptor
    // access (which the linker relaxes to a constant in an executable), to a hidden thread-local
    // of this library (trap_catch.c).
    unsafe {
        std::arch::asm!(
            "leaq waot_entry@tlsdesc(%rip), %rax",
            "call *waot_entry@tlscall(%rax)",
            out("rax") offset,
            clobber_abi("C"),
            options(att_syntax, readonly),
        );
    }
    let thread_pointer: usize;
    // SAFETY: on x86-64 Linux, %fs:0 holds the thread pointer itself.
    unsafe {
        std::arch::asm!(
            "movq %fs:0, {}",
            out(reg) thread_pointer,
            options(att_syntax, nostack, pure, readonly, preserves_flags),
        );
    }
    thread_pointer.wrapping_add(offset) as *const EntryState
}

/// Runs `f` with this thread's entry state. Async-signal-safe where the code was loaded with
/// the program (static TLS); in a library loaded by `dlopen`, a thread's first access may
/// allocate its TLS block, as a Rust thread-local's would.
#[inline(always)]
fn with_entry<R>(f: impl FnOnce(&EntryState) -> R) -> R {
    // SAFETY: `waot_entry_state` gives this thread's zero-initialized static, which lives as
    // long as the thread; `Cell`s over a null pointer and 0 are valid, and the reference does
    // not leave this thread or outlive `f`.
    f(unsafe { &*waot_entry_state() })
}

thread_local! {
    static PENDING: RefCell<Option<Trap>> = const { RefCell::new(None) };
    static SIGNAL_TRAP: Cell<u32> = const { Cell::new(u32::MAX) };
    static SIGNAL_PCS: RefCell<([usize; MAX_FRAMES], usize)> = const { RefCell::new(([0; MAX_FRAMES], 0)) };
    static STACK_BOTTOM: Cell<usize> = const { Cell::new(0) };
    static STACK_TOP: Cell<usize> = const { Cell::new(0) };
    /// The signal mask of the context a handler jumped out of, put back by `call_guest`.
    static SIGNAL_MASK: Cell<Option<libc::sigset_t>> = const { Cell::new(None) };
    /// That context's MXCSR and x87 control word (`signals::save_float_control`).
    static SIGNAL_FLOAT_CONTROL: Cell<Option<(u32, u16)>> = const { Cell::new(None) };
}

/// Keeps the floating-point control to put back after a signal handler's jump (as
/// `save_signal_mask`).
pub(crate) fn save_float_control(mxcsr: u32, x87_control: u16) {
    SIGNAL_FLOAT_CONTROL.with(|c| c.set(Some((mxcsr, x87_control))));
}

/// Puts back the floating-point control a signal handler's jump left at the kernel's defaults.
#[cfg(all(target_arch = "x86_64", target_pointer_width = "64"))]
fn restore_float_control() {
    if let Some((mxcsr, x87_control)) = SIGNAL_FLOAT_CONTROL.with(|c| c.take()) {
        // SAFETY: loads the control registers from values the kernel saved for this thread.
        unsafe {
            std::arch::asm!(
                "ldmxcsr [{m}]",
                "fldcw [{c}]",
                m = in(reg) &mxcsr,
                c = in(reg) &x87_control,
                options(nostack, readonly, preserves_flags),
            );
        }
    }
}

#[cfg(not(all(target_arch = "x86_64", target_pointer_width = "64")))]
fn restore_float_control() {}

/// Keeps the mask to put back after a signal handler's jump (`signals::leave_handler`).
/// Async-signal-safe in practice: this thread's Rust thread-locals exist from its first entry
/// into guest code (`stack_limit`), and entries go through glibc's TLS resolver, which keeps
/// the thread's view of them current (only a `dlopen` during the guest call leaves the
/// handler to update it).
pub(crate) fn save_signal_mask(mask: libc::sigset_t) {
    SIGNAL_MASK.with(|m| m.set(Some(mask)));
}

/// Stack that host code needs below the deepest guest frame: host functions, builtins and
/// the trap path run there.
const HOST_STACK_RESERVE: usize = 256 * 1024;

/// The lowest stack address guest code may use on this thread.
fn stack_limit() -> usize {
    let cached = with_entry(|e| e.stack_limit.get());
    if cached != 0 {
        return cached;
    }
    let (bottom, size) = current_stack();
    let reserve = HOST_STACK_RESERVE.min(size / 2);
    let limit = bottom + reserve;
    with_entry(|e| e.stack_limit.set(limit));
    STACK_BOTTOM.with(|c| c.set(bottom));
    STACK_TOP.with(|c| c.set(bottom + size));
    limit
}

fn current_stack() -> (usize, usize) {
    // SAFETY: plain libc queries about the calling thread.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return (0, 0);
        }
        let mut addr = std::ptr::null_mut();
        let mut size = 0;
        libc::pthread_attr_getstack(&attr, &mut addr, &mut size);
        libc::pthread_attr_destroy(&mut attr);
        (addr as usize, size)
    }
}

/// The innermost catch point of this thread (null outside guest code).
pub(crate) fn catch_point() -> *mut c_void {
    with_entry(|e| e.catch.get())
}

pub(crate) fn set_pending(trap: Trap) {
    PENDING.with(|p| *p.borrow_mut() = Some(trap));
}

/// True while this thread runs guest code (possibly with host frames on top).
pub(crate) fn in_guest() -> bool {
    with_entry(|e| !e.catch.get().is_null())
}

/// The limits of the store whose guest code this thread entered last (null outside guest
/// code). Async-signal-safe.
pub(crate) fn innermost_limits() -> *const StoreLimits {
    let point = catch_point() as *const *const StoreLimits;
    if point.is_null() {
        return std::ptr::null();
    }
    // SAFETY: a live catch point of `waot_call_catching_traps`, whose word 6 is the limits.
    unsafe { *point.add(CATCH_LIMITS) }
}

/// Word of a catch point that holds the entered store's limits (`trap_catch.c`).
const CATCH_LIMITS: usize = 6;

/// The default of `StoreData::set_max_wasm_stack`: about what guest code got on an ordinary
/// 8 MiB main thread before the limit existed.
pub const DEFAULT_MAX_WASM_STACK: usize = 8 << 20;

/// Calls `trampoline(code, vmctx, values)` and turns any trap into `Err`. Guest code may use
/// at most `max_stack` bytes of stack below the store's outermost entry, and never the
/// thread's last `HOST_STACK_RESERVE`: whatever the thread's stack or rlimit (`ulimit -s unlimited` gives
/// the main thread a stack that grows until memory runs out), runaway recursion traps.
///
/// # Safety
/// `trampoline` must be the trampoline for `code`'s signature, `vmctx` the callee's context,
/// `values` an array with a slot for every parameter and result.
#[inline(always)]
pub(crate) unsafe fn call_guest(
    limits: &StoreLimits,
    max_stack: usize,
    outermost: bool,
    trampoline: *const u8,
    code: *const u8,
    vmctx: *mut u8,
    values: *mut u8,
) -> Result<(), Trap> {
    // The thread's stack limit doubles as its "handlers and alternate stack are set up" flag,
    // so the usual entry costs one thread-local access.
    let (mut limit, slot) = with_entry(|e| (e.stack_limit.get(), e.catch.as_ptr()));
    if limit == 0 {
        limit = first_entry_on_thread();
    }
    // Entries nested in this store's own calls keep the limit its outermost entry set, so
    // recursion through host functions cannot renew the budget; `outermost` says this store
    // is not running yet on this thread (it may be nested in another store's call).
    let mut block_again = false;
    if outermost {
        let here = &limit as *const usize as usize;
        limits.enter(limit.max(here.saturating_sub(max_stack)));
        if limits.watched() {
            block_again = crate::vm::interrupt::entering(limits);
        }
    }
    let limits_ptr = limits as *const StoreLimits as *const c_void;
    let trapped = catching_traps(slot, limits_ptr, trampoline, code, vmctx, values) != 0;
    if trapped {
        return Err(after_trap(limits, outermost, block_again));
    }
    // Read again: a host function may have made the first handle during the call.
    if outermost && limits.watched() {
        crate::vm::interrupt::leaving(limits, block_again);
    }
    Ok(())
}

/// The thread's first entry into guest code: signal handlers and its stack limit.
#[cold]
#[inline(never)]
fn first_entry_on_thread() -> usize {
    crate::vm::signals::ensure_installed();
    stack_limit()
}

/// The end of a call that trapped (out of line, so that the usual call's path stays short):
/// the signal mask a handler's jump left, the watch, the trap.
#[cold]
#[inline(never)]
unsafe fn after_trap(limits: &StoreLimits, outermost: bool, block_again: bool) -> Trap {
    if let Some(mask) = SIGNAL_MASK.with(|m| m.take()) {
        libc::pthread_sigmask(libc::SIG_SETMASK, &mask, std::ptr::null_mut());
    }
    restore_float_control();
    if outermost && limits.watched() {
        crate::vm::interrupt::leaving(limits, block_again);
    }
    take_trap()
}

fn take_trap() -> Trap {
    if let Some(trap) = PENDING.with(|p| p.borrow_mut().take()) {
        return trap;
    }
    let code = SIGNAL_TRAP.with(|c| c.replace(u32::MAX));
    let code = TrapCode::from_u32(code).unwrap_or(TrapCode::MemoryOutOfBounds);
    let mut trap = Trap::new(code);
    trap.backtrace = SIGNAL_PCS.with(|p| {
        let (pcs, n) = &*p.borrow();
        code_registry::symbolize(&pcs[..*n])
    });
    trap
}

/// Leaves guest code with `trap`. Must only be called from code that guest code called
/// (builtins, host adapters), with no live values that need dropping.
pub(crate) fn raise(mut trap: Trap) -> ! {
    if trap.backtrace.is_empty() {
        trap.backtrace = code_registry::symbolize(&capture_guest_pcs());
    }
    PENDING.with(|p| *p.borrow_mut() = Some(trap));
    let point = with_entry(|e| e.catch.get());
    assert!(!point.is_null(), "a trap was raised outside guest code");
    // SAFETY: the catch point belongs to a waot_call_catching_traps frame below us.
    unsafe { waot_unwind_to_catch(point) }
}

/// Return addresses of guest frames on the current stack, innermost first.
fn capture_guest_pcs() -> Vec<usize> {
    let mut pcs = Vec::new();
    unwind::walk(|pc| {
        if code_registry::contains(pc) {
            pcs.push(pc);
        }
        pcs.len() < MAX_FRAMES
    });
    pcs
}

/// Called by the signal handler for a fault in guest code: records the trap and jumps to the
/// catch point. Async-signal-safe: no allocation, no locks.
///
/// # Safety
/// Only from the signal handler, when `in_guest()` holds.
pub(crate) unsafe fn unwind_from_signal(code: TrapCode, pc: usize, fp: usize) -> ! {
    SIGNAL_TRAP.with(|c| c.set(code as u32));
    SIGNAL_PCS.with(|p| {
        if let Ok(mut p) = p.try_borrow_mut() {
            let (pcs, n) = &mut *p;
            *n = crate::vm::signals::walk_frame_pointers(pc, fp, pcs);
        }
    });
    let point = with_entry(|e| e.catch.get());
    waot_unwind_to_catch(point)
}

/// This thread's stack as `(lowest address, one past the highest)`, once guest code ran.
pub(crate) fn stack_bounds() -> (usize, usize) {
    (STACK_BOTTOM.with(|c| c.get()), STACK_TOP.with(|c| c.get()))
}

/// Whether `addr` is just below this thread's stack, where an overflow faults.
pub(crate) fn is_stack_guard(addr: usize) -> bool {
    let bottom = STACK_BOTTOM.with(|c| c.get());
    bottom != 0 && addr < bottom + 4096 && addr + 1024 * 1024 >= bottom
}

mod unwind {
    use std::ffi::c_void;

    #[repr(C)]
    struct UnwindContext(c_void);

    extern "C" {
        fn _Unwind_Backtrace(
            trace: extern "C" fn(*mut UnwindContext, *mut c_void) -> i32,
            arg: *mut c_void,
        ) -> i32;
        fn _Unwind_GetIP(ctx: *mut UnwindContext) -> usize;
    }

    /// Walks the stack with the unwinder (guest code carries unwind tables), calling `f` with
    /// each return address until it returns false.
    pub fn walk(mut f: impl FnMut(usize) -> bool) {
        extern "C" fn trace(ctx: *mut UnwindContext, arg: *mut c_void) -> i32 {
            // SAFETY: `arg` is the `&mut dyn FnMut` passed below, alive for the whole walk.
            let f = unsafe { &mut *(arg as *mut &mut dyn FnMut(usize) -> bool) };
            // SAFETY: ctx is the unwinder's context for this frame.
            let ip = unsafe { _Unwind_GetIP(ctx) };
            if ip == 0 || !f(ip) {
                return 5; // _URC_END_OF_STACK
            }
            0 // _URC_NO_REASON
        }
        let mut dyn_f: &mut dyn FnMut(usize) -> bool = &mut f;
        // SAFETY: the callback only uses `arg` as the closure above.
        unsafe { _Unwind_Backtrace(trace, &mut dyn_f as *mut _ as *mut c_void) };
    }
}
