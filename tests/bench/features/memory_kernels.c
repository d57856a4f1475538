/* Memory-bound kernels without libc, built for wasm32 and wasm64 by scripts/bench-features to
   measure what 64-bit addressing (memory64) costs. Each export takes a repetition count.
   Working sets stay within a few hundred KB: on the machines we measure on, runs that go to
   DRAM vary by several times from one run to the next. */
#define N 128
static double A[N * N], B[N * N], C[N * N];
#define V_LEN (1 << 16)
static unsigned V[V_LEN];
static unsigned seed = 1;
static unsigned rnd(void) { seed = seed * 1103515245u + 12345u; return seed >> 8; }
__attribute__((export_name("matmul"))) double matmul(int reps) {
  for (int i = 0; i < N * N; i++) { A[i] = (i % 7) * 0.5; B[i] = (i % 5) * 0.25; }
  double s = 0;
  for (int r = 0; r < reps; r++) {
    for (int i = 0; i < N; i++)
      for (int j = 0; j < N; j++) {
        double acc = 0;
        for (int k = 0; k < N; k++) acc += A[i * N + k] * B[k * N + j];
        C[i * N + j] = acc;
      }
    s += C[r % (N * N)];
  }
  return s;
}
static void sift(unsigned *a, long start, long end) {
  long root = start;
  while (2 * root + 1 <= end) {
    long child = 2 * root + 1, sw = root;
    if (a[sw] < a[child]) sw = child;
    if (child + 1 <= end && a[sw] < a[child + 1]) sw = child + 1;
    if (sw == root) return;
    unsigned t = a[root]; a[root] = a[sw]; a[sw] = t; root = sw;
  }
}
__attribute__((export_name("heapsort"))) unsigned heapsort(int reps) {
  unsigned x = 0;
  long n = V_LEN;
  for (int r = 0; r < reps; r++) {
    for (long i = 0; i < n; i++) V[i] = rnd();
    for (long s = (n - 2) / 2; s >= 0; s--) sift(V, s, n - 1);
    for (long e = n - 1; e > 0; e--) { unsigned t = V[e]; V[e] = V[0]; V[0] = t; sift(V, 0, e - 1); }
    x ^= V[r & 1023];
  }
  return x;
}
/* Open addressing with linear probing: inserts then lookups of pseudo-random keys. */
__attribute__((export_name("hash"))) unsigned hash(int reps) {
  unsigned found = 0;
  for (int r = 0; r < reps; r++) {
    for (long i = 0; i < V_LEN; i++) V[i] = 0;
    seed = 7 + r;
    for (long i = 0; i < V_LEN / 2; i++) {
      unsigned k = rnd() | 1, h = (k * 2654435761u) & (V_LEN - 1);
      while (V[h] != 0 && V[h] != k) h = (h + 1) & (V_LEN - 1);
      V[h] = k;
    }
    seed = 7 + r;
    for (long i = 0; i < V_LEN; i++) {
      unsigned k = rnd() | 1, h = (k * 2654435761u) & (V_LEN - 1);
      while (V[h] != 0 && V[h] != k) h = (h + 1) & (V_LEN - 1);
      found += V[h] == k;
    }
  }
  return found;
}
