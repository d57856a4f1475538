// bench: SIMD matrix multiply written with 128-bit vector types (GCC/Clang vector extensions,
// so the same source is SIMD on the host and wasm SIMD on wasm32).
// wasm-flags: -msimd128
// Native builds use -ffp-contract=off: wasm has no fused multiply-add, and both must print the
// same result.
#include <stdio.h>
#include <string.h>

typedef float v4f __attribute__((vector_size(16), aligned(16)));
#define N 256

static float a[N][N] __attribute__((aligned(16)));
static float b[N][N] __attribute__((aligned(16)));
static float c[N][N] __attribute__((aligned(16)));

static void matmul(void) {
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j += 16) {
            v4f acc0 = {0}, acc1 = {0}, acc2 = {0}, acc3 = {0};
            for (int k = 0; k < N; k++) {
                v4f s = {a[i][k], a[i][k], a[i][k], a[i][k]};
                acc0 += s * *(v4f *)&b[k][j];
                acc1 += s * *(v4f *)&b[k][j + 4];
                acc2 += s * *(v4f *)&b[k][j + 8];
                acc3 += s * *(v4f *)&b[k][j + 12];
            }
            *(v4f *)&c[i][j] = acc0;
            *(v4f *)&c[i][j + 4] = acc1;
            *(v4f *)&c[i][j + 8] = acc2;
            *(v4f *)&c[i][j + 12] = acc3;
        }
    }
}

int main(void) {
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            a[i][j] = (float)((i * 7 + j * 3) % 17) / 16.0f;
            b[i][j] = (float)((i * 5 + j * 11) % 13) / 12.0f;
        }
    double checksum = 0;
    for (int r = 0; r < 480; r++) {
        matmul();
        checksum += c[r % N][(r * 7) % N];
        a[r % N][r % N] += 0.5f;
    }
    printf("checksum %.6f\n", checksum);
    return 0;
}
