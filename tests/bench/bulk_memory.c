// bench: bulk memory: copies and fills of blocks (memory.copy/memory.fill with -mbulk-memory).
// wasm-flags: -mbulk-memory
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define BLOCK (1 << 16)
static uint8_t src[BLOCK * 4], dst[BLOCK * 4];

int main(void) {
    for (int i = 0; i < (int)sizeof src; i++) src[i] = (uint8_t)(i * 31 + 7);
    uint64_t check = 0;
    for (int r = 0; r < 360000; r++) {
        int off = (r * 4099) % (BLOCK * 3);
        __builtin_memcpy(dst + off, src + (r % BLOCK), BLOCK - (r & 255));
        __builtin_memset(dst + (r % 1024), r & 0xff, 4096);
        __builtin_memmove(dst + 8, dst, 1000);
        check += dst[(r * 17) % sizeof dst];
    }
    printf("%llu\n", (unsigned long long)check);
    return 0;
}
