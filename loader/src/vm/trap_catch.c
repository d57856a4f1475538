/* The one place where waot needs C: a catch point for traps. Rust cannot call setjmp soundly,
 * so entering guest code goes through waot_call_catching_traps, and a trap (from a builtin, a
 * host function or the signal handler) leaves through waot_unwind_to_catch.
 *
 * __builtin_setjmp saves only the frame pointer, stack pointer and resume address (the
 * compiler keeps everything else this function needs in its frame), which makes entering
 * guest code a handful of instructions: no signal mask, no register file. After a signal
 * handler's jump here, call_guest puts the interrupted context's signal mask back (signals.rs). */

#include <stdint.h>

/* Everything this file defines is the runtime's own: hidden, so that neither libwaot_c.so nor a
 * library that links libwaot_c.a exports it, and a host's symbol of the same name cannot
 * interpose. */
#define WAOT_INTERNAL __attribute__((visibility("hidden")))

typedef void (*waot_trampoline)(void *code, void *vmctx, void *values);

/* A catch point is the jump buffer (__builtin_setjmp's five words) followed by the enclosing
 * catch point, so the chain of active entries into guest code can be walked (the exception
 * collector scans the stack they span), and by the entered store's limits, which the
 * interrupt signal's handler reads to know whose guest code it stopped. */
#define WAOT_CATCH_PREVIOUS 5
#define WAOT_CATCH_LIMITS 6

/* The thread's entry state (traps.rs, EntryState): the innermost catch point and the stack
 * limit. Here rather than in Rust because a Rust thread-local in a shared library (the C
 * API's) costs a call to __tls_get_addr on every entry into guest code. build.rs compiles this
 * file with TLS descriptors (x86-64's -mtls-dialect=gnu2; AArch64's default): where the
 * library's TLS block is static (loaded with the program, or by dlopen when it fits glibc's
 * optional surplus) the access is a call that returns a constant offset from the thread
 * pointer; otherwise glibc's dynamic resolver. The initial-exec model would save that call
 * (about 1 ns per entry), but it marks the library STATIC_TLS, which takes its whole TLS block
 * (Rust's thread-locals too, 976 bytes) from glibc's small static surplus: a second plugin
 * embedding waot could then fail to load. */
struct waot_entry_state {
    void *catch_point;
    uintptr_t stack_limit;
};
/* Not static: traps.rs reads it through its TLS descriptor inline on x86-64. */
WAOT_INTERNAL __thread struct waot_entry_state waot_entry;

WAOT_INTERNAL struct waot_entry_state *waot_entry_state(void) {
    return &waot_entry;
}

WAOT_INTERNAL int waot_call_catching_traps(void **catch_slot, void *limits, waot_trampoline trampoline,
                             void *code, void *vmctx, void *values) {
    void *buf[7];
    void *volatile previous = *catch_slot;
    void **volatile slot = catch_slot;
    buf[WAOT_CATCH_PREVIOUS] = previous;
    buf[WAOT_CATCH_LIMITS] = limits;
    *catch_slot = buf;
    if (__builtin_setjmp(buf) == 0) {
        trampoline(code, vmctx, values);
        *slot = previous;
        return 0;
    }
    *slot = previous;
    return 1;
}

WAOT_INTERNAL void waot_unwind_to_catch(void *catch_point) {
    __builtin_longjmp((void **)catch_point, 1);
}

/* Exceptions (see runtime_support::exception): a throw is a forced unwind. The unwinder
 * enters each landing pad of compiled code on its way up; a pad either takes the exception or
 * throws it on. The stop function ends the walk at the innermost catch point: an exception
 * that reaches it escaped every wasm handler and becomes the error of the call. */

#include <stdint.h>
#include <unwind.h>

#define WAOT_EXCEPTION_CLASS 0x57414f545741534dULL /* "WAOTWASM" */

/* Defined in Rust (vm/exceptions.rs). Hidden here, so hidden in any library that links this
 * file (the most constraining visibility wins). */
WAOT_INTERNAL void *waot_catch_point(void);
WAOT_INTERNAL void waot_exception_escaped(void *exn);
_Unwind_Reason_Code __gcc_personality_v0(int, _Unwind_Action, _Unwind_Exception_Class,
                                         struct _Unwind_Exception *, struct _Unwind_Context *);

/* What compiled code's personality stub jumps to: the C personality, which enters the
 * landing pads that compiled code's call-site tables name. */
WAOT_INTERNAL void *waot_personality_routine(void) { return (void *)__gcc_personality_v0; }

static _Unwind_Reason_Code waot_stop(int version, _Unwind_Action actions,
                                     _Unwind_Exception_Class cls,
                                     struct _Unwind_Exception *exn,
                                     struct _Unwind_Context *context, void *catch_point) {
    (void)version;
    (void)cls;
    /* The catch point is a local of waot_call_catching_traps: frames whose canonical frame
     * address lies above it are that function's and its callers' (the host's). */
    if ((actions & _UA_END_OF_STACK) || _Unwind_GetCFA(context) > (uintptr_t)catch_point) {
        waot_exception_escaped(exn);
        __builtin_longjmp((void **)catch_point, 1);
    }
    return _URC_NO_REASON;
}

/* The Throw builtin, and the throw of a host adapter (whose first argument is a host
 * context): the first argument is unused. */
WAOT_INTERNAL void waot_throw(void *unused, struct _Unwind_Exception *exn) {
    (void)unused;
    void *catch_point = waot_catch_point();
    exn->exception_class = WAOT_EXCEPTION_CLASS;
    exn->exception_cleanup = 0;
    _Unwind_ForcedUnwind(exn, waot_stop, catch_point);
    /* Only when the unwinder itself fails (no unwind information on the way). */
    waot_exception_escaped(exn);
    __builtin_longjmp((void **)catch_point, 1);
}

/* Under valgrind, the words the scan copies are declared initialized: stack words are read
 * whether or not anything wrote them, and only decide what stays alive. The stack itself keeps
 * its state. Without valgrind's header (or outside valgrind) this is nothing. */
#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define WAOT_DEFINED(p, n) VALGRIND_MAKE_MEM_DEFINED(p, n)
#endif
#endif
#ifndef WAOT_DEFINED
#define WAOT_DEFINED(p, n) ((void)0)
#endif

/* Conservative roots for the exception heap (exn_heap.rs): calls visit(ctx, word) for every
 * word of this thread's stack from the stack pointer up to the outermost active catch point,
 * which lies above every guest frame and every host frame between them (where callee-saved
 * registers of guest frames may have been spilled). __builtin_unwind_init spills this
 * function's callee-saved registers first, so an object kept only in a register is seen too.
 * Scanning needs one contiguous stack: if the stack pointer or any catch point lies outside
 * [bottom, top) (the thread's stack), or the chain does not climb the stack (guest code was
 * entered on another stack, as fibers do), nothing is scanned and 0 is returned: the caller
 * then frees nothing. Returns 1 after a scan. */
WAOT_INTERNAL int waot_scan_stack(uintptr_t bottom, uintptr_t top, void (*visit)(void *, uintptr_t), void *ctx) {
    __builtin_unwind_init();
    uintptr_t sp;
#if defined(__x86_64__)
    __asm__ volatile("movq %%rsp, %0" : "=r"(sp));
#elif defined(__aarch64__)
    __asm__ volatile("mov %0, sp" : "=r"(sp));
#else
#error "waot supports x86-64 and AArch64"
#endif
    uintptr_t outermost = (uintptr_t)waot_catch_point();
    if (outermost == 0 || sp < bottom || sp >= outermost)
        return 0;
    for (;;) {
        if (outermost < bottom || outermost >= top)
            return 0;
        uintptr_t previous = (uintptr_t)((void **)outermost)[WAOT_CATCH_PREVIOUS];
        if (previous == 0)
            break;
        if (previous <= outermost)
            return 0;
        outermost = previous;
    }
    for (uintptr_t at = sp & ~(uintptr_t)7; at + sizeof(uintptr_t) <= outermost;
         at += sizeof(uintptr_t)) {
        uintptr_t word = *(volatile uintptr_t *)at;
        WAOT_DEFINED(&word, sizeof word);
        visit(ctx, word);
    }
    return 1;
}
