// bench: call-heavy code: many small non-inlined functions.
#include <stdint.h>
#include <stdio.h>

#define NOINLINE __attribute__((noinline))
NOINLINE static uint32_t f1(uint32_t x) { return x * 3 + 1; }
NOINLINE static uint32_t f2(uint32_t x) { return (x >> 1) ^ f1(x); }
NOINLINE static uint32_t f3(uint32_t x, uint32_t y) { return f2(x) + f1(y); }
NOINLINE static uint64_t f4(uint64_t a, uint32_t b, uint32_t c) { return a + f3(b, c) + f2(c); }

int main(void) {
    uint64_t acc = 0;
    for (uint32_t i = 0; i < 120000000u; i++) acc = f4(acc, i, i ^ (uint32_t)acc);
    printf("%llu\n", (unsigned long long)acc);
    return 0;
}
