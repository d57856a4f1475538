// bench: plain loops that the C compiler auto-vectorizes (with -msimd128 for wasm): an int16
// dot product, a saturating brightness filter and a float saxpy.
// wasm-flags: -msimd128
#include <stdint.h>
#include <stdio.h>

#define N 4096
static int16_t x[N], y[N];
static uint8_t img[N * 4];
static float fa[N], fb[N];

__attribute__((noinline)) static int64_t dot(void) {
    int32_t s = 0;
    for (int i = 0; i < N; i++) s += x[i] * y[i];
    return s;
}

__attribute__((noinline)) static void brighten(uint8_t k) {
    for (int i = 0; i < N * 4; i++) {
        unsigned v = img[i] + k;
        img[i] = v > 255 ? 255 : (uint8_t)v;
    }
}

__attribute__((noinline)) static void saxpy(float a) {
    for (int i = 0; i < N; i++) fb[i] = a * fa[i] + fb[i];
}

int main(void) {
    for (int i = 0; i < N; i++) {
        x[i] = (int16_t)((i * 37) % 201 - 100);
        y[i] = (int16_t)((i * 91) % 157 - 78);
        fa[i] = (float)(i % 10) * 0.25f;
        fb[i] = 1.0f;
    }
    int64_t total = 0;
    for (int r = 0; r < 400000; r++) {
        total += dot();
        x[r % N] = (int16_t)(r & 63);
        brighten((uint8_t)(r & 3));
        if ((r & 1023) == 0)
            for (int i = 0; i < N * 4; i++) img[i] = (uint8_t)(i * 13);
        saxpy(r & 1 ? 0.5f : -0.5f);
    }
    double fsum = 0;
    for (int i = 0; i < N; i++) fsum += fb[i];
    int64_t isum = 0;
    for (int i = 0; i < N * 4; i++) isum += img[i];
    printf("dot %lld img %lld saxpy %.3f\n", (long long)total, (long long)isum, fsum);
    return 0;
}
