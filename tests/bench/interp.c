// bench: a switch-heavy bytecode interpreter (br_table): a register machine running a loop.
#include <stdint.h>
#include <stdio.h>

enum { LOADI, ADD, MUL, XOR, SHRI, ANDI, DECJNZ, HALT };
struct insn { uint8_t op, a, b, c; int32_t imm; };

static int64_t run(const struct insn *code, int64_t n) {
    int64_t r[8] = {n};
    for (const struct insn *pc = code;; pc++) {
        switch (pc->op) {
        case LOADI: r[pc->a] = pc->imm; break;
        case ADD: r[pc->a] = r[pc->b] + r[pc->c]; break;
        case MUL: r[pc->a] = r[pc->b] * r[pc->c]; break;
        case XOR: r[pc->a] = r[pc->b] ^ r[pc->c]; break;
        case SHRI: r[pc->a] = (int64_t)((uint64_t)r[pc->b] >> pc->imm); break;
        case ANDI: r[pc->a] = r[pc->b] & pc->imm; break;
        case DECJNZ: if (--r[pc->a] != 0) pc = code + pc->imm - 1; break;
        case HALT: return r[pc->a];
        }
    }
}

int main(void) {
    static const struct insn prog[] = {
        {LOADI, 1, 0, 0, 0},     // acc = 0
        {LOADI, 2, 0, 0, 3},     // k = 3
        {MUL, 1, 1, 2, 0},       // loop: acc *= k
        {ADD, 1, 1, 0, 0},       // acc += n
        {XOR, 3, 1, 0, 0},       // t = acc ^ n
        {SHRI, 3, 3, 0, 3},      // t >>= 3
        {ANDI, 3, 3, 0, 0xffff}, // t &= 0xffff
        {ADD, 1, 1, 3, 0},       // acc += t
        {DECJNZ, 0, 0, 0, 2},    // if --n goto loop
        {HALT, 1, 0, 0, 0},
    };
    int64_t total = 0;
    for (int r = 0; r < 40; r++) total += run(prog, 2000000 + r);
    printf("%lld\n", (long long)total);
    return 0;
}
