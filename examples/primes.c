// A small freestanding program for the bundled example: no WASI, only exported functions,
// so it runs with `wrun --invoke`. Rebuild primes.wasm with scripts/build-examples.sh.

#define LIMIT 2000000
static unsigned char composite[LIMIT + 1];

// Number of primes <= n (sieve of Eratosthenes in linear memory).
__attribute__((export_name("count_primes"))) int count_primes(int n) {
    if (n > LIMIT) n = LIMIT;
    for (int i = 0; i <= n; i++) composite[i] = 0;
    int count = 0;
    for (int i = 2; i <= n; i++) {
        if (composite[i]) continue;
        count++;
        for (long long j = (long long)i * i; j <= n; j += i) composite[j] = 1;
    }
    return count;
}

// Recursive Fibonacci: call-heavy.
__attribute__((export_name("fib"))) int fib(int n) {
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

// Integer square root by Newton's method, in double precision.
__attribute__((export_name("isqrt"))) long long isqrt(long long x) {
    if (x < 2) return x;
    double r = (double)x;
    for (int i = 0; i < 64; i++) r = 0.5 * (r + (double)x / r);
    long long s = (long long)r;
    while (s * s > x) s--;
    while ((s + 1) * (s + 1) <= x) s++;
    return s;
}
