/* The one place where waot needs C: a catch point for traps. Rust cannot call setjmp soundly,
 * so entering guest code goes through waot_call_catching_traps, and a trap (from a builtin, a
 * host function or the signal handler) leaves through waot_unwind_to_catch.
 *
 * _setjmp/_longjmp do not save or restore the signal mask: no system call per entry. The
 * signal handler is installed with SA_NODEFER, so leaving it by longjmp leaves no signal
 * blocked. */
#include <setjmp.h>

typedef void (*waot_trampoline)(void *code, void *vmctx, void *values);

int waot_call_catching_traps(void **catch_slot, waot_trampoline trampoline, void *code,
                             void *vmctx, void *values) {
    jmp_buf buf;
    void *previous = *catch_slot;
    *catch_slot = &buf;
    if (_setjmp(buf) == 0) {
        trampoline(code, vmctx, values);
        *catch_slot = previous;
        return 0;
    }
    *catch_slot = previous;
    return 1;
}

void waot_unwind_to_catch(void *catch_point) {
    _longjmp(*(jmp_buf *)catch_point, 1);
}
