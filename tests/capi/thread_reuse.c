/* One store used by one thread after another, with the library opened by dlopen: run with
 * GLIBC_TUNABLES=glibc.rtld.optional_static_tls=0, the library's thread-locals are then
 * allocated per thread on the heap (freed when a later thread takes over the ended one's
 * stack), and a later thread usually takes over the ended one's thread pointer (glibc reuses
 * stacks). A store that kept the ended thread's entry state (to skip the TLS access on the
 * next entry) would write a freed block; valgrind reports that, and a trap then finds no catch
 * point. Usage: thread_reuse LIB MODULE where MODULE exports `add` (i32, i32) -> i32 and
 * `fail` () -> () (traps). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

/* Only check.h's CHECK: its helpers call the library, which this program opens itself. */
#include "check.h"

#define API(name) static __typeof__(name)* p_##name
API(wasm_engine_new);
API(wasm_engine_delete);
API(wasm_store_new);
API(wasm_store_delete);
API(waot_module_load);
API(wasm_module_delete);
API(wasm_instance_new);
API(wasm_instance_delete);
API(wasm_instance_exports);
API(wasm_extern_vec_delete);
API(wasm_extern_as_func);
API(wasm_func_call);
API(wasm_trap_delete);

static wasm_func_t *add, *fail;

static void* thread_main(void* arg) {
  int round = *(int*)arg;
  wasm_val_t a[] = {WASM_I32_VAL(round), WASM_I32_VAL(1)}, r[] = {WASM_INIT_VAL};
  wasm_val_vec_t args = WASM_ARRAY_VEC(a), results = WASM_ARRAY_VEC(r);
  CHECK(p_wasm_func_call(add, &args, &results) == NULL);
  CHECK(r[0].of.i32 == round + 1);
  wasm_val_vec_t none = WASM_EMPTY_VEC;
  wasm_trap_t* trap = p_wasm_func_call(fail, &none, &none);
  CHECK(trap != NULL);
  p_wasm_trap_delete(trap);
  return NULL;
}

int main(int argc, char** argv) {
  CHECK(argc == 3);
  void* lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    fprintf(stderr, "%s\n", dlerror());
    return 1;
  }
#define LOOKUP(name) CHECK((p_##name = (__typeof__(name)*)dlsym(lib, #name)) != NULL)
  LOOKUP(wasm_engine_new);
  LOOKUP(wasm_engine_delete);
  LOOKUP(wasm_store_new);
  LOOKUP(wasm_store_delete);
  LOOKUP(waot_module_load);
  LOOKUP(wasm_module_delete);
  LOOKUP(wasm_instance_new);
  LOOKUP(wasm_instance_delete);
  LOOKUP(wasm_instance_exports);
  LOOKUP(wasm_extern_vec_delete);
  LOOKUP(wasm_extern_as_func);
  LOOKUP(wasm_func_call);
  LOOKUP(wasm_trap_delete);
  wasm_engine_t* engine = p_wasm_engine_new();
  wasm_message_t error;
  wasm_module_t* module = p_waot_module_load(engine, argv[2], &error);
  if (!module) {
    fprintf(stderr, "%.*s\n", (int)error.size, error.data);
    return 1;
  }
  wasm_store_t* store = p_wasm_store_new(engine);
  wasm_extern_vec_t imports = WASM_EMPTY_VEC, exports;
  wasm_trap_t* trap = NULL;
  wasm_instance_t* instance = p_wasm_instance_new(store, module, &imports, &trap);
  CHECK(instance);
  p_wasm_instance_exports(instance, &exports);
  CHECK(exports.size == 2);
  add = p_wasm_extern_as_func(exports.data[0]);
  fail = p_wasm_extern_as_func(exports.data[1]);
  /* Some memory taken between threads, so that the heap is not in the same state for each
   * (whether the next thread's thread-locals land where the last one's were is up to glibc). */
  void* held[64];
  for (int round = 0; round < 64; round++) {
    pthread_t t;
    CHECK(pthread_create(&t, NULL, thread_main, &round) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    held[round] = malloc(1024);
  }
  for (int i = 0; i < 64; i++) free(held[i]);
  p_wasm_extern_vec_delete(&exports);
  p_wasm_instance_delete(instance);
  p_wasm_store_delete(store);
  p_wasm_module_delete(module);
  p_wasm_engine_delete(engine);
  puts("thread reuse: ok");
  return 0;
}
