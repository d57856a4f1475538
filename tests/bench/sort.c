// bench: branchy code: quicksort of pseudo-random integers, repeated.
#include <stdint.h>
#include <stdio.h>

#define N 1000000
static int32_t v[N];

static void qsort_i(int32_t *a, int n) {
    while (n > 16) {
        int32_t p = a[n / 2];
        int i = 0, j = n - 1;
        while (i <= j) {
            while (a[i] < p) i++;
            while (a[j] > p) j--;
            if (i <= j) { int32_t t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; }
        }
        if (j + 1 < n - i) { qsort_i(a, j + 1); a += i; n -= i; }
        else { qsort_i(a + i, n - i); n = j + 1; }
    }
    for (int i = 1; i < n; i++) {
        int32_t x = a[i]; int k = i - 1;
        while (k >= 0 && a[k] > x) { a[k + 1] = a[k]; k--; }
        a[k + 1] = x;
    }
}

int main(void) {
    uint32_t s = 12345;
    int64_t check = 0;
    for (int r = 0; r < 12; r++) {
        for (int i = 0; i < N; i++) { s = s * 1664525u + 1013904223u; v[i] = (int32_t)(s >> 1); }
        qsort_i(v, N);
        check += v[N / 3] + v[r];
    }
    printf("%lld\n", (long long)check);
    return 0;
}
