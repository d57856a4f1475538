/* What the C API tests share: a check that stops the program at the first failure, and
 * helpers for names and trap messages. */
#ifndef CHECK_H
#define CHECK_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "waot.h"

#define CHECK(cond)                                                         \
  do {                                                                      \
    if (!(cond)) {                                                          \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      exit(1);                                                              \
    }                                                                       \
  } while (0)

static inline char* trap_message(wasm_trap_t* t) {
  wasm_message_t m;
  wasm_trap_message(t, &m);
  CHECK(m.size > 0 && m.data[m.size - 1] == 0);
  char* s = strdup(m.data);
  wasm_byte_vec_delete(&m);
  return s;
}

/* Whether the trap's message has `text`; deletes the trap. */
static inline bool trap_says(wasm_trap_t* t, const char* text) {
  CHECK(t);
  char* m = trap_message(t);
  bool found = strstr(m, text) != NULL;
  free(m);
  wasm_trap_delete(t);
  return found;
}

static inline bool name_is(const wasm_name_t* n, const char* s) {
  return n->size == strlen(s) && memcmp(n->data, s, n->size) == 0;
}

static inline wasm_functype_t* functype(int np, const wasm_valkind_t* p, int nr,
                                        const wasm_valkind_t* r) {
  wasm_valtype_vec_t params, results;
  wasm_valtype_vec_new_uninitialized(&params, np);
  for (int i = 0; i < np; i++) params.data[i] = wasm_valtype_new(p[i]);
  wasm_valtype_vec_new_uninitialized(&results, nr);
  for (int i = 0; i < nr; i++) results.data[i] = wasm_valtype_new(r[i]);
  return wasm_functype_new(&params, &results);
}

/* Whether WASI stream `fd` (in memory) holds exactly `expected`. */
static inline bool output_is(waot_wasi_t* wasi, uint32_t fd, const char* expected) {
  wasm_byte_vec_t out;
  CHECK(waot_wasi_output(wasi, fd, &out));
  bool same = out.size == strlen(expected) && memcmp(out.data, expected, out.size) == 0;
  if (!same) fprintf(stderr, "fd %u: %.*s\n", fd, (int)out.size, out.data);
  wasm_byte_vec_delete(&out);
  return same;
}

/* The instance of `module` with the WASI imports `wasi` gives (it needs no others), and its
 * exports in `exports`. */
static inline wasm_instance_t* wasi_instance(wasm_store_t* store, const wasm_module_t* module,
                                             const waot_wasi_t* wasi, wasm_extern_vec_t* exports) {
  wasm_extern_vec_t imports;
  CHECK(waot_wasi_imports(wasi, module, &imports) == 0 && imports.size > 0);
  wasm_trap_t* trap = NULL;
  wasm_instance_t* instance = wasm_instance_new(store, module, &imports, &trap);
  CHECK(instance && !trap);
  wasm_extern_vec_delete(&imports);
  wasm_instance_exports(instance, exports);
  return instance;
}

/* The function `module` exports as `name`, among an instance's `exports` (NULL if none). */
static inline wasm_func_t* export_named(const wasm_module_t* module, const wasm_extern_vec_t* exports,
                                       const char* name) {
  wasm_exporttype_vec_t types;
  wasm_module_exports(module, &types);
  wasm_func_t* f = NULL;
  for (size_t i = 0; i < types.size; i++)
    if (name_is(wasm_exporttype_name(types.data[i]), name)) f = wasm_extern_as_func(exports->data[i]);
  wasm_exporttype_vec_delete(&types);
  return f;
}

/* interp.c: the interpreter behind the C API. */
void interpreter(const char* wasm, const char* so, const char* foreign, const char* wasi,
                 const char* metered);
/* tags.c: tags made by the host and by modules, exceptions thrown both ways. */
void tags(wasm_engine_t* engine, const char* path);
/* gc_objects.c: structs and arrays made and written by the host. */
void gc_objects(wasm_engine_t* engine, const char* path);

#endif
