// bench: fresh memory touched once, one write per 4 KiB page, as a program does with a large
// heap allocation: the time is page faults (1.5 GiB, 393,216 pages), then one pass that reads
// every page back.
#include <stdio.h>
#include <stdlib.h>

#define SIZE (1536ul << 20)

int main(void) {
    unsigned char *p = malloc(SIZE);
    if (!p) {
        puts("out of memory");
        return 1;
    }
    for (unsigned long i = 0; i < SIZE; i += 4096) p[i] = (unsigned char)(i >> 12);
    unsigned long sum = 0;
    for (unsigned long i = 0; i < SIZE; i += 4096) sum += p[i];
    printf("%lu\n", sum);
    return 0;
}
