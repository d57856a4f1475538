// A real-time host, shaped like an audio plugin: it loads the synthesizer compiled to wasm
// (synth.so) through the C API and calls its `render(128)` once per 128-frame block at 48 kHz
// (375 blocks a second) for 60 seconds of audio, checking each block against the same synth
// built natively into this program. It reports the per-call time (mean, worst, against the
// block's 2.67 ms deadline), the overhead of calling an empty export, and how many heap
// allocations the render loop made (malloc and friends are interposed: it must be none).
// `getppid()` marks the loop's start and end for `strace` (run.sh counts the system calls
// between the marks).
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "waot.h"

#define FRAMES 128
#define BLOCKS (375 * 60)

float* native_synth_buffer(void);
void native_render(int frames);

// Heap calls while `counting` is set, from any code in the process (the library's included).
extern void* __libc_malloc(size_t);
extern void* __libc_calloc(size_t, size_t);
extern void* __libc_realloc(void*, size_t);
extern void* __libc_memalign(size_t, size_t);
extern void __libc_free(void*);
static volatile int counting;
static volatile long heap_calls;
void* malloc(size_t n) { if (counting) heap_calls++; return __libc_malloc(n); }
void* calloc(size_t n, size_t s) { if (counting) heap_calls++; return __libc_calloc(n, s); }
void* realloc(void* p, size_t n) { if (counting) heap_calls++; return __libc_realloc(p, n); }
void free(void* p) { if (counting && p) heap_calls++; __libc_free(p); }
void* memalign(size_t a, size_t n) { if (counting) heap_calls++; return __libc_memalign(a, n); }
void* aligned_alloc(size_t a, size_t n) { return memalign(a, n); }
int posix_memalign(void** out, size_t a, size_t n) {
  *out = memalign(a, n);
  return *out ? 0 : 12;
}

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);  // vDSO: no system call
  return t.tv_sec * 1e9 + t.tv_nsec;
}

static wasm_func_t* export_named(wasm_extern_vec_t* e, size_t index) {
  wasm_func_t* f = wasm_extern_as_func(e->data[index]);
  if (!f) { fprintf(stderr, "export %zu is not a function\n", index); exit(1); }
  return f;
}

int main(int argc, char** argv) {
  if (argc < 2) { fprintf(stderr, "usage: host synth.so\n"); return 1; }
  wasm_engine_t* engine = wasm_engine_new();
  wasm_store_t* store = wasm_store_new(engine);
  wasm_message_t error;
  wasm_module_t* module = waot_module_load(engine, argv[1], &error);
  if (!module) { fprintf(stderr, "host: %s\n", error.data); return 1; }
  wasm_extern_vec_t no_imports = WASM_EMPTY_VEC;
  wasm_trap_t* trap = NULL;
  wasm_instance_t* instance = wasm_instance_new(store, module, &no_imports, &trap);
  if (!instance) { fprintf(stderr, "host: instantiation failed\n"); return 1; }
  wasm_extern_vec_t e;
  wasm_instance_exports(instance, &e);
  // Exports: memory, synth_buffer, render, noop (the order clang emits them in).
  wasm_memory_t* memory = NULL;
  wasm_func_t *buffer_fn = NULL, *render = NULL, *noop = NULL;
  for (size_t i = 0; i < e.size; i++) {
    if (wasm_extern_kind(e.data[i]) == WASM_EXTERN_MEMORY) { memory = wasm_extern_as_memory(e.data[i]); continue; }
    wasm_func_t* f = export_named(&e, i);
    size_t params = wasm_func_param_arity(f), results = wasm_func_result_arity(f);
    if (params == 0 && results == 1) buffer_fn = f;
    else if (params == 1) render = f;
    else noop = f;
  }
  if (!memory || !buffer_fn || !render || !noop) { fprintf(stderr, "host: unexpected exports\n"); return 1; }

  wasm_val_t none_args[1], offset[] = {WASM_INIT_VAL};
  wasm_val_vec_t none = {0, none_args}, offset_vec = WASM_ARRAY_VEC(offset);
  if (wasm_func_call(buffer_fn, &none, &offset_vec)) return 1;
  const float* guest = (const float*)(wasm_memory_data(memory) + offset[0].of.i32);
  const float* native = native_synth_buffer();

  wasm_val_t frames[] = {WASM_I32_VAL(FRAMES)};
  wasm_val_vec_t frames_vec = WASM_ARRAY_VEC(frames), no_results = {0, none_args};
  double total = 0, worst = 0;
  long mismatched = 0;
  getppid();
  counting = 1;
  for (int b = 0; b < BLOCKS; b++) {
    double t0 = now_ns();
    wasm_trap_t* t = wasm_func_call(render, &frames_vec, &no_results);
    double dt = now_ns() - t0;
    if (t) { counting = 0; fprintf(stderr, "host: render trapped\n"); return 1; }
    total += dt;
    if (dt > worst) worst = dt;
    native_render(FRAMES);
    if (memcmp(guest, native, FRAMES * sizeof(float)) != 0) mismatched++;
  }
  counting = 0;
  getppid();

  const int calls = 1000000;
  double t0 = now_ns();
  for (int i = 0; i < calls; i++) wasm_func_call(noop, &none, &no_results);
  double per_call = (now_ns() - t0) / calls;

  printf("blocks: %d of %d frames (60 s of audio at 48 kHz)\n", BLOCKS, FRAMES);
  printf("samples: %s (%ld of %d blocks differ from the native build)\n",
         mismatched ? "DIFFER" : "bit-identical to the native build", mismatched, BLOCKS);
  printf("render: mean %.2f us, worst %.2f us, deadline %.0f us\n", total / BLOCKS / 1e3, worst / 1e3,
         FRAMES / 48000.0 * 1e6);
  printf("empty export: %.1f ns per wasm_func_call\n", per_call);
  printf("heap calls during the render loop: %ld\n", heap_calls);

  wasm_extern_vec_delete(&e);
  wasm_instance_delete(instance);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  return mismatched || heap_calls ? 1 : 0;
}
