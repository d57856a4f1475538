/* The C API's call overhead for the benchmark tests/benches/call_overhead.rs: calls the
 * export `add` (i32, i32) -> i32 of ARTIFACT through wasm_func_call, 20 million times per
 * round, and prints the best round's nanoseconds per call. Usage: call_overhead ARTIFACT.so */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "waot.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  wasm_engine_t* engine = wasm_engine_new();
  wasm_message_t error;
  wasm_module_t* module = waot_module_load(engine, argv[1], &error);
  if (!module) {
    fprintf(stderr, "%s\n", error.data);
    return 1;
  }
  wasm_store_t* store = wasm_store_new(engine);
  wasm_extern_vec_t imports = WASM_EMPTY_VEC, exports;
  wasm_trap_t* trap = NULL;
  wasm_instance_t* instance = wasm_instance_new(store, module, &imports, &trap);
  if (!instance) return 1;
  wasm_instance_exports(instance, &exports);
  wasm_func_t* add = wasm_extern_as_func(exports.data[0]);
  const int calls = 20000000;
  double best = 1e9;
  long long sum = 0;
  for (int round = 0; round < 6; round++) {
    double start = now();
    for (int i = 0; i < calls; i++) {
      wasm_val_t a[] = {WASM_I32_VAL(i), WASM_I32_VAL(1)}, r[] = {WASM_INIT_VAL};
      wasm_val_vec_t args = WASM_ARRAY_VEC(a), results = WASM_ARRAY_VEC(r);
      if (wasm_func_call(add, &args, &results)) return 1;
      sum += r[0].of.i32;
    }
    double ns = (now() - start) / calls * 1e9;
    /* The first round warms up. */
    if (round > 0 && ns < best) best = ns;
  }
  printf("%.1f\n", best);
  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_store_delete(store);
  wasm_module_delete(module);
  wasm_engine_delete(engine);
  return sum == 0;
}
