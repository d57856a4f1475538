//! Fault handling that fits into a host application: installed once, runs on an alternate
//! signal stack, acts only on faults whose program counter is in compiled guest code while
//! this thread runs guest code, and passes every other fault to the handler that was there
//! before. The interrupt signal (`vm::interrupt`) comes through the same handler.

use crate::{vm::code_registry, vm::traps};
use runtime_support::TrapCode;
use std::cell::Cell;
use std::sync::Once;

/// The faults, then the interrupt signal, which is installed only when a store is given an
/// interrupt handle.
const SIGNALS: [libc::c_int; 5] = [
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGILL,
    libc::SIGFPE,
    crate::vm::interrupt::SIGNAL,
];
static INSTALL: Once = Once::new();
static INSTALL_INTERRUPT: Once = Once::new();
const FAULTS: usize = 4;
static mut PREVIOUS: [std::mem::MaybeUninit<libc::sigaction>; 5] =
    [const { std::mem::MaybeUninit::uninit() }; 5];

const ALT_STACK_SIZE: usize = 64 * 1024;

struct AltStack {
    base: *mut libc::c_void,
}

impl Drop for AltStack {
    fn drop(&mut self) {
        // SAFETY: disable the alternate stack before freeing the mapping it lives in.
        unsafe {
            let disable = libc::stack_t {
                ss_sp: std::ptr::null_mut(),
                ss_flags: libc::SS_DISABLE,
                ss_size: 0,
            };
            libc::sigaltstack(&disable, std::ptr::null_mut());
            libc::munmap(self.base, ALT_STACK_SIZE);
        }
    }
}

thread_local! {
    static ALT_STACK_CHECKED: Cell<bool> = const { Cell::new(false) };
    static OWN_ALT_STACK: std::cell::RefCell<Option<AltStack>> = const { std::cell::RefCell::new(None) };
}

/// Installs the handlers (once per process) and an alternate signal stack (once per thread,
/// unless the thread already has one).
pub fn ensure_installed() {
    INSTALL.call_once(install_handlers);
    if ALT_STACK_CHECKED.with(|c| c.replace(true)) {
        return;
    }
    // SAFETY: querying and setting this thread's alternate stack.
    unsafe {
        let mut old: libc::stack_t = std::mem::zeroed();
        libc::sigaltstack(std::ptr::null(), &mut old);
        if old.ss_flags & libc::SS_DISABLE == 0 {
            return;
        }
        let base = libc::mmap(
            std::ptr::null_mut(),
            ALT_STACK_SIZE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if base == libc::MAP_FAILED {
            return;
        }
        let stack = libc::stack_t {
            ss_sp: base,
            ss_flags: 0,
            ss_size: ALT_STACK_SIZE,
        };
        libc::sigaltstack(&stack, std::ptr::null_mut());
        OWN_ALT_STACK.with(|s| *s.borrow_mut() = Some(AltStack { base }));
    }
}

fn install_handlers() {
    (0..FAULTS).for_each(install);
}

/// Installs the interrupt signal's handler (once per process), when a store first gets an
/// interrupt handle: a process that never interrupts keeps the signal's default.
pub fn install_interrupt_handler() {
    INSTALL_INTERRUPT.call_once(|| install(FAULTS));
}

fn install(i: usize) {
    let sig = SIGNALS[i];
    // SAFETY: installing a handler and saving the previous one, once per signal.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handler as *const () as usize;
        // A fault is not blocked while it is handled (the handler leaves by a jump, and a
        // fault in the handler itself must kill, not hang). The interrupt signal is blocked
        // while any of them is handled: interrupts come every millisecond, and a signal frame
        // nested on another (each several KiB with AVX-512 state) could overflow an alternate
        // stack of 8 KiB, which is what Rust gives its threads. After a jump out of a
        // handler, the interrupted context's mask is put back (`leave_handler`).
        action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        match sig == crate::vm::interrupt::SIGNAL {
            true => action.sa_flags |= libc::SA_RESTART,
            false => action.sa_flags |= libc::SA_NODEFER,
        }
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaddset(&mut action.sa_mask, crate::vm::interrupt::SIGNAL);
        let previous = &raw mut PREVIOUS[i];
        libc::sigaction(sig, &action, (*previous).as_mut_ptr());
    }
}

#[cfg(target_arch = "x86_64")]
unsafe fn pc_and_fp(ctx: *mut libc::c_void) -> (usize, usize) {
    let uc = &*(ctx as *const libc::ucontext_t);
    (
        uc.uc_mcontext.gregs[libc::REG_RIP as usize] as usize,
        uc.uc_mcontext.gregs[libc::REG_RBP as usize] as usize,
    )
}

#[cfg(target_arch = "aarch64")]
unsafe fn pc_and_fp(ctx: *mut libc::c_void) -> (usize, usize) {
    let uc = &*(ctx as *const libc::ucontext_t);
    (uc.uc_mcontext.pc as usize, uc.uc_mcontext.regs[29] as usize)
}

extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo and ucontext.
    unsafe {
        let (pc, fp) = pc_and_fp(ctx);
        if sig == crate::vm::interrupt::SIGNAL {
            crate::vm::interrupt::on_signal(pc, fp, ctx);
            return chain(sig, info, ctx);
        }
        // The program counter first: a fault on a thread that never ran guest code must not
        // touch thread-locals, whose first access in a library loaded by `dlopen` allocates.
        if code_registry::contains(pc) && traps::in_guest() {
            let code = match sig {
                libc::SIGSEGV | libc::SIGBUS => {
                    if traps::is_stack_guard((*info).si_addr() as usize) {
                        TrapCode::StackOverflow
                    } else {
                        TrapCode::MemoryOutOfBounds
                    }
                }
                libc::SIGFPE => TrapCode::IntegerDivisionByZero,
                _ => TrapCode::Unreachable,
            };
            leave_handler(ctx);
            traps::unwind_from_signal(code, pc, fp);
        }
        chain(sig, info, ctx);
    }
}

/// Before a handler jumps out to a catch point: keeps the signal mask of the context the
/// signal interrupted, which `call_guest` puts back once it is off the alternate stack (as
/// returning from the handler would have; the jump does not). Put back here, a pending
/// interrupt signal would arrive at once, its frame nested on this one.
///
/// # Safety
/// `ctx` is the handler's ucontext.
pub(crate) unsafe fn leave_handler(ctx: *mut libc::c_void) {
    let uc = &*(ctx as *const libc::ucontext_t);
    traps::save_signal_mask(uc.uc_sigmask);
    save_float_control(uc);
}

/// Keeps the interrupted context's floating-point control (SSE's MXCSR, the x87 control
/// word), which `call_guest` puts back after the jump: the kernel runs a handler with the
/// defaults, and guest code runs with the host's (its rounding, or the flush-to-zero an audio
/// host sets), which a trap must not leave changed.
#[cfg(all(target_arch = "x86_64", target_pointer_width = "64"))]
unsafe fn save_float_control(uc: &libc::ucontext_t) {
    // The kernel always writes a nonzero MXCSR mask; valgrind's signal frames leave the
    // floating-point state unwritten (zero, or stale bytes), and that is no host's control.
    match uc.uc_mcontext.fpregs.as_ref() {
        Some(fp) if fp.mxcr_mask != 0 => traps::save_float_control(fp.mxcsr, fp.cwd),
        _ => {}
    }
}

#[cfg(not(all(target_arch = "x86_64", target_pointer_width = "64")))]
unsafe fn save_float_control(_: &libc::ucontext_t) {}

/// Hands the signal to whoever handled it before us.
unsafe fn chain(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    let Some(i) = SIGNALS.iter().position(|&s| s == sig) else {
        return;
    };
    let all = &raw const PREVIOUS;
    let previous = (*all)[i].assume_init_ref();
    match previous.sa_sigaction {
        // Not ours to act on: the interrupt signal's default is to ignore it.
        libc::SIG_DFL | libc::SIG_IGN if sig == crate::vm::interrupt::SIGNAL => {}
        libc::SIG_DFL | libc::SIG_IGN => {
            // Restore it and return: the faulting instruction runs again and gets the
            // default action (for a fault: death by the signal, as without us).
            libc::sigaction(sig, previous, std::ptr::null_mut());
        }
        f if previous.sa_flags & libc::SA_SIGINFO != 0 => {
            let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                std::mem::transmute(f);
            f(sig, info, ctx)
        }
        f => {
            let f: extern "C" fn(libc::c_int) = std::mem::transmute(f);
            f(sig)
        }
    }
}

/// Walks the frame-pointer chain of guest frames (compiled with frame pointers) from a
/// faulting context. Async-signal-safe; reads only inside this thread's stack.
pub fn walk_frame_pointers(pc: usize, mut fp: usize, out: &mut [usize]) -> usize {
    let (bottom, top) = traps::stack_bounds();
    out[0] = pc;
    let mut n = 1;
    while n < out.len() && fp >= bottom && fp + 16 <= top && fp.is_multiple_of(8) {
        // SAFETY: fp lies inside this thread's mapped stack.
        let (next, ret) = unsafe { (*(fp as *const usize), *((fp + 8) as *const usize)) };
        if !code_registry::contains(ret) {
            break;
        }
        out[n] = ret;
        n += 1;
        if next <= fp {
            break;
        }
        fp = next;
    }
    n
}
