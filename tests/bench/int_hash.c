// bench: integer arithmetic and bit operations: a 64-bit mixing hash over a counter stream.
#include <stdint.h>
#include <stdio.h>

static uint64_t mix(uint64_t x) {
    x ^= x >> 33; x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

int main(void) {
    uint64_t acc = 0, pop = 0;
    for (uint64_t i = 0; i < 150000000ULL; i++) {
        uint64_t h = mix(i ^ acc);
        acc += h;
        pop += __builtin_popcountll(h) + __builtin_ctzll(h | 1);
        acc = (acc << 7) | (acc >> 57);
    }
    printf("%llu %llu\n", (unsigned long long)acc, (unsigned long long)pop);
    return 0;
}
