// bench: indirect calls through function pointers.
#include <stdint.h>
#include <stdio.h>

typedef uint32_t (*op_t)(uint32_t, uint32_t);
static uint32_t add(uint32_t a, uint32_t b) { return a + b; }
static uint32_t sub(uint32_t a, uint32_t b) { return a - b; }
static uint32_t mul(uint32_t a, uint32_t b) { return a * b + 1; }
static uint32_t xr(uint32_t a, uint32_t b) { return a ^ (b << 3); }
static uint32_t rot(uint32_t a, uint32_t b) { return (a << (b & 31)) | (a >> ((32 - (b & 31)) & 31)); }
static uint32_t mx(uint32_t a, uint32_t b) { return a > b ? a : b; }
static uint32_t mn(uint32_t a, uint32_t b) { return a < b ? a : b + 7; }
static uint32_t avg(uint32_t a, uint32_t b) { return (a >> 1) + (b >> 1); }
static volatile op_t table[8] = {add, sub, mul, xr, rot, mx, mn, avg};

int main(void) {
    uint32_t acc = 1, s = 99;
    for (uint32_t i = 0; i < 200000000u; i++) {
        s = s * 1664525u + 1013904223u;
        acc = table[s >> 29](acc, i);
    }
    printf("%u\n", acc);
    return 0;
}
