/* The one place where waot needs C: a catch point for traps. Rust cannot call setjmp soundly,
 * so entering guest code goes through waot_call_catching_traps, and a trap (from a builtin, a
 * host function or the signal handler) leaves through waot_unwind_to_catch.
 *
 * __builtin_setjmp saves only the frame pointer, stack pointer and resume address (the
 * compiler keeps everything else this function needs in its frame), which makes entering
 * guest code a handful of instructions: no signal mask, no register file. The signal handler
 * is installed with SA_NODEFER, so leaving it by a jump leaves no signal blocked. */

typedef void (*waot_trampoline)(void *code, void *vmctx, void *values);

int waot_call_catching_traps(void **catch_slot, waot_trampoline trampoline, void *code,
                             void *vmctx, void *values) {
    void *buf[5];
    void *volatile previous = *catch_slot;
    void **volatile slot = catch_slot;
    *catch_slot = buf;
    if (__builtin_setjmp(buf) == 0) {
        trampoline(code, vmctx, values);
        *slot = previous;
        return 0;
    }
    *slot = previous;
    return 1;
}

void waot_unwind_to_catch(void *catch_point) {
    __builtin_longjmp((void **)catch_point, 1);
}
