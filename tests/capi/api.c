/* The C API's groups, each checked: calls with every value type, host functions with and
 * without an environment (finalizers run once), host traps, guest traps with message and
 * frames, memory growth seen from both sides, globals, tables, one module instantiated twice,
 * references (functions and externrefs, owned and lent) and tables from the host, one store
 * per thread on four threads, an uncaught exception's payload, fuel and interruption, and a
 * WASI program with its streams in memory, v128 values, tags and GC objects made by the host
 * (waot.h). Prints one line per
 * group; exits non-zero at the first failure.
 * Usage: api ARTIFACT.so METERED.so WASI.so DIR FOREIGN.wasm V128.so TAGS.so GC.so (DIR holds in.txt; the guest
 * writes out.txt; DIR "-" leaves files out, for valgrind, which does not know openat2;
 * FOREIGN.wasm is ARTIFACT's module as a universal wasm compiled for another target, "-" to
 * skip it under valgrind, whose virtual CPU lacks features of the host that compiling on load
 * targets; V128.so is tests/capi/v128.wat compiled, TAGS.so tests/capi/tags.wat, GC.so tests/capi/gc.wat) */
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

/* The layout the library's waot_val_t has (checked there too). */
_Static_assert(sizeof(waot_val_t) == 24, "waot_val_t is 24 bytes");
_Static_assert(offsetof(waot_val_t, of) == 8, "waot_val_t's payload is at offset 8");


static wasm_engine_t* engine;
static const char* artifact;
static int finalized;

static wasm_trap_t* plain(const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  results->data[0].kind = WASM_I32;
  results->data[0].of.i32 = args->data[0].of.i32 * 2;
  return NULL;
}

static wasm_trap_t* with_env(void* env, const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  double scale = *(double*)env;
  results->data[0].kind = WASM_F64;
  results->data[0].of.f64 = (double)args->data[0].of.i64 * args->data[1].of.f64 * scale;
  return NULL;
}

static void finalize(void* env) {
  CHECK(*(double*)env == 0.5);
  finalized++;
}

static wasm_store_t* fail_store;
static wasm_trap_t* fail(const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  (void)args;
  (void)results;
  wasm_message_t m;
  wasm_byte_vec_new(&m, sizeof "host failure", "host failure");
  wasm_trap_t* t = wasm_trap_new(fail_store, &m);
  wasm_byte_vec_delete(&m);
  return t;
}

static uint64_t passed;
static wasm_trap_t* pass_ref(const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  CHECK(args->data[0].kind == WASM_EXTERNREF);
  passed = 0;
  if (args->data[0].of.ref) CHECK(waot_ref_extern_value(args->data[0].of.ref, &passed));
  /* The argument is lent for the call; the result must be the callee's own. */
  results->data[0].kind = WASM_EXTERNREF;
  results->data[0].of.ref = wasm_ref_copy(args->data[0].of.ref);
  return NULL;
}


/* An instance of the artifact in `store`, with its exports in `exports`. */
/* Host functions that delete the exports vector of the function calling them (and so that
 * function object) during its call, once `doomed` is set: the call must read nothing of the
 * deleted object afterwards, which valgrind checks. */
static wasm_extern_vec_t* doomed;
static void doom(void) {
  if (doomed) wasm_extern_vec_delete(doomed);
  doomed = NULL;
}
static wasm_trap_t* doom_plain(const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  doom();
  return plain(args, results);
}
static wasm_trap_t* doom_fail(const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  doom();
  return fail(args, results);
}
static wasm_trap_t* doom_ref(const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  doom();
  return pass_ref(args, results);
}

static wasm_instance_t* instantiate(wasm_store_t* store, wasm_module_t* module, double* env,
                                    wasm_extern_vec_t* exports) {
  wasm_valkind_t i32 = WASM_I32, i64_f64[] = {WASM_I64, WASM_F64}, f64 = WASM_F64;
  wasm_functype_t* t_plain = functype(1, &i32, 1, &i32);
  wasm_functype_t* t_env = functype(2, i64_f64, 1, &f64);
  wasm_functype_t* t_fail = functype(0, NULL, 0, NULL);
  wasm_func_t* f_plain = wasm_func_new(store, t_plain, plain);
  wasm_func_t* f_env = wasm_func_new_with_env(store, t_env, with_env, env, finalize);
  fail_store = store;
  wasm_func_t* f_fail = wasm_func_new(store, t_fail, fail);
  wasm_valkind_t ext = WASM_EXTERNREF;
  wasm_functype_t* t_ref = functype(1, &ext, 1, &ext);
  wasm_func_t* f_ref = wasm_func_new(store, t_ref, pass_ref);
  CHECK(wasm_func_param_arity(f_env) == 2 && wasm_func_result_arity(f_env) == 1);
  /* A type the C API has no kind for makes no function, and the finalizer does not run: the
   * embedder keeps its environment. */
  wasm_valkind_t unknown = 77;
  wasm_functype_t* t_bad = functype(1, &unknown, 0, NULL);
  int before = finalized;
  CHECK(wasm_func_new_with_env(store, t_bad, with_env, env, finalize) == NULL);
  CHECK(finalized == before);
  wasm_functype_delete(t_bad);
  wasm_extern_t* list[] = {wasm_func_as_extern(f_plain), wasm_func_as_extern(f_env),
                           wasm_func_as_extern(f_fail), wasm_func_as_extern(f_ref)};
  wasm_extern_vec_t imports = WASM_ARRAY_VEC(list);
  wasm_trap_t* trap = NULL;
  wasm_instance_t* instance = wasm_instance_new(store, module, &imports, &trap);
  CHECK(instance && !trap);
  wasm_func_delete(f_plain);
  wasm_func_delete(f_env);
  wasm_func_delete(f_fail);
  wasm_func_delete(f_ref);
  wasm_functype_delete(t_ref);
  wasm_functype_delete(t_plain);
  wasm_functype_delete(t_env);
  wasm_functype_delete(t_fail);
  wasm_instance_exports(instance, exports);
  return instance;
}

enum {
  ALL_TYPES, CALL_PLAIN, CALL_ENV, CALL_FAIL, DIVIDE, OUTER, LOAD, GROW, BUMP, SPIN,
  ECHO_REF, CALL_AT, IS_NULL_FUNC, THROW, MAKE_GC, EXPORTED_FUNCS
};
/* Exports in order: memory, counter, table, then the functions above. */
static wasm_func_t* export_func(wasm_extern_vec_t* e, int which) {
  wasm_func_t* f = wasm_extern_as_func(e->data[3 + which]);
  CHECK(f);
  return f;
}

static int32_t call_i32(wasm_func_t* f, int32_t arg) {
  wasm_val_t a[] = {WASM_I32_VAL(arg)}, r[] = {WASM_INIT_VAL};
  wasm_val_vec_t args = WASM_ARRAY_VEC(a), results = WASM_ARRAY_VEC(r);
  wasm_trap_t* trap = wasm_func_call(f, &args, &results);
  CHECK(!trap && r[0].kind == WASM_I32);
  return r[0].of.i32;
}


static void module_types(wasm_module_t* module) {
  wasm_importtype_vec_t imports;
  wasm_module_imports(module, &imports);
  CHECK(imports.size == 4);
  CHECK(name_is(wasm_importtype_module(imports.data[1]), "host"));
  CHECK(name_is(wasm_importtype_name(imports.data[1]), "with_env"));
  const wasm_externtype_t* t = wasm_importtype_type(imports.data[1]);
  CHECK(wasm_externtype_kind(t) == WASM_EXTERN_FUNC);
  CHECK(wasm_externtype_as_memorytype_const(t) == NULL);
  const wasm_functype_t* ft = wasm_externtype_as_functype_const(t);
  CHECK(ft && wasm_functype_params(ft)->size == 2 && wasm_functype_results(ft)->size == 1);
  CHECK(wasm_valtype_kind(wasm_functype_params(ft)->data[0]) == WASM_I64);
  CHECK(wasm_valtype_kind(wasm_functype_results(ft)->data[0]) == WASM_F64);
  wasm_importtype_vec_delete(&imports);

  wasm_exporttype_vec_t exports, copy;
  wasm_module_exports(module, &exports);
  wasm_exporttype_vec_copy(&copy, &exports);
  wasm_exporttype_vec_delete(&exports);
  CHECK(copy.size == 3 + EXPORTED_FUNCS);
  CHECK(name_is(wasm_exporttype_name(copy.data[0]), "memory"));
  const wasm_memorytype_t* mt = wasm_externtype_as_memorytype_const(wasm_exporttype_type(copy.data[0]));
  CHECK(mt && wasm_memorytype_limits(mt)->min == 1 && wasm_memorytype_limits(mt)->max == 4);
  const wasm_globaltype_t* gt = wasm_externtype_as_globaltype_const(wasm_exporttype_type(copy.data[1]));
  CHECK(gt && wasm_globaltype_mutability(gt) == WASM_VAR);
  CHECK(wasm_valtype_kind(wasm_globaltype_content(gt)) == WASM_I32);
  const wasm_tabletype_t* tt = wasm_externtype_as_tabletype_const(wasm_exporttype_type(copy.data[2]));
  CHECK(tt && wasm_valtype_kind(wasm_tabletype_element(tt)) == WASM_FUNCREF);
  CHECK(wasm_tabletype_limits(tt)->min == 3 && wasm_tabletype_limits(tt)->max == wasm_limits_max_default);
  CHECK(name_is(wasm_exporttype_name(copy.data[3 + DIVIDE]), "divide"));
  /* A type converts to an external type and back in place. */
  wasm_externtype_t* own_copy = wasm_externtype_copy(wasm_exporttype_type(copy.data[3 + DIVIDE]));
  wasm_functype_t* divide = wasm_externtype_as_functype(own_copy);
  CHECK(divide && wasm_functype_as_externtype(divide) == own_copy);
  CHECK(wasm_functype_params(divide)->size == 2);
  wasm_functype_delete(divide);
  wasm_exporttype_vec_delete(&copy);
  printf("module types: ok\n");
}

static int32_t call_at(wasm_extern_vec_t* e, int32_t index, int32_t arg, wasm_trap_t** trap) {
  wasm_val_t a[] = {WASM_I32_VAL(index), WASM_I32_VAL(arg)}, r[] = {WASM_INIT_VAL};
  wasm_val_vec_t args = WASM_ARRAY_VEC(a), results = WASM_ARRAY_VEC(r);
  *trap = wasm_func_call(export_func(e, CALL_AT), &args, &results);
  return r[0].of.i32;
}

/* Externrefs through the guest and a host function, function references out of and into
 * tables, tables made by the host, and who owns which reference. */
static void refs_and_tables(wasm_store_t* store, wasm_extern_vec_t* e) {
  wasm_ref_t* r = waot_ref_new_extern(store, 0xfeed);
  CHECK(r && !waot_ref_new_extern(store, UINT64_MAX) && !waot_ref_new_extern(store, 1ull << 62));
  wasm_ref_t* largest = waot_ref_new_extern(store, (1ull << 62) - 1);
  uint64_t datum = 0;
  CHECK(largest && waot_ref_extern_value(largest, &datum) && datum == (1ull << 62) - 1);
  wasm_ref_delete(largest);
  wasm_val_t a[] = {WASM_REF_VAL(r)}, out[] = {WASM_INIT_VAL};
  wasm_val_vec_t args = WASM_ARRAY_VEC(a), results = WASM_ARRAY_VEC(out);
  CHECK(!wasm_func_call(export_func(e, ECHO_REF), &args, &results));
  CHECK(passed == 0xfeed && out[0].kind == WASM_EXTERNREF && out[0].of.ref != r);
  uint64_t value = 0;
  CHECK(wasm_ref_same(out[0].of.ref, r) && waot_ref_extern_value(out[0].of.ref, &value));
  CHECK(value == 0xfeed);
  wasm_val_t copy;
  wasm_val_copy(&copy, &out[0]);
  CHECK(copy.of.ref != out[0].of.ref && wasm_ref_same(copy.of.ref, r));
  wasm_val_delete(&copy);
  wasm_val_delete(&out[0]);
  a[0].of.ref = NULL;
  passed = 1;
  CHECK(!wasm_func_call(export_func(e, ECHO_REF), &args, &results));
  CHECK(passed == 0 && out[0].of.ref == NULL);

  /* Element 0 is a function the module does not export: the host calls it through its
   * reference. */
  wasm_table_t* table = wasm_extern_as_table(e->data[2]);
  wasm_ref_t* triple = wasm_table_get(table, 0);
  CHECK(triple && !wasm_table_get(table, 1) && !wasm_table_get(table, 3));
  wasm_func_t* f = wasm_ref_as_func(triple);
  CHECK(f && wasm_ref_as_func(triple) == f && call_i32(f, 5) == 15);
  CHECK(!wasm_ref_as_func(r) && !waot_ref_extern_value(triple, &value));
  wasm_ref_t* outer = wasm_func_as_ref(export_func(e, OUTER));
  CHECK(wasm_table_set(table, 1, outer));
  wasm_trap_t* trap;
  CHECK(call_at(e, 1, 4, &trap) == 25 && !trap);
  /* Past the end, an externref in a funcref table: refused, the table unchanged. */
  CHECK(!wasm_table_set(table, 3, outer) && !wasm_table_set(table, 1, r));
  CHECK(call_at(e, 1, 5, &trap) == 20 && !trap);
  CHECK(wasm_table_grow(table, 2, triple) && wasm_table_size(table) == 5);
  CHECK(call_at(e, 4, 2, &trap) == 6 && !trap);
  CHECK(wasm_table_set(table, 4, NULL));
  call_at(e, 4, 2, &trap);
  CHECK(trap);
  wasm_trap_delete(trap);
  wasm_tabletype_t* tt = wasm_table_type(table);
  CHECK(wasm_tabletype_limits(tt)->min == 5 && wasm_valtype_kind(wasm_tabletype_element(tt)) == WASM_FUNCREF);
  wasm_tabletype_delete(tt);

  /* A funcref argument; a reference of the wrong kind is a trap, not a call. */
  wasm_val_t fa[] = {{.kind = WASM_FUNCREF, .of = {.ref = triple}}}, fr[] = {WASM_INIT_VAL};
  wasm_val_vec_t fargs = WASM_ARRAY_VEC(fa), fresults = WASM_ARRAY_VEC(fr);
  CHECK(!wasm_func_call(export_func(e, IS_NULL_FUNC), &fargs, &fresults) && fr[0].of.i32 == 0);
  /* WASM_REF_VAL says externref, but a non-null reference is of its own kind. */
  wasm_val_t by_macro[] = {WASM_REF_VAL(triple)};
  wasm_val_vec_t macro_args = WASM_ARRAY_VEC(by_macro);
  fr[0].of.i32 = 7;
  CHECK(!wasm_func_call(export_func(e, IS_NULL_FUNC), &macro_args, &fresults) && fr[0].of.i32 == 0);
  fa[0].of.ref = r;
  trap = wasm_func_call(export_func(e, IS_NULL_FUNC), &fargs, &fresults);
  CHECK(trap);
  wasm_trap_delete(trap);

  /* A table of the host's, and another store's table, which takes no reference of this one. */
  wasm_limits_t limits = {2, 10};
  wasm_tabletype_t* ext_type = wasm_tabletype_new(wasm_valtype_new(WASM_EXTERNREF), &limits);
  wasm_table_t* host = wasm_table_new(store, ext_type, r);
  CHECK(host && wasm_table_size(host) == 2);
  wasm_ref_t* got = wasm_table_get(host, 1);
  CHECK(wasm_ref_same(got, r) && !wasm_table_grow(host, 9, NULL) && wasm_table_grow(host, 8, NULL));
  CHECK(wasm_table_size(host) == 10 && !wasm_table_get(host, 9));
  wasm_ref_delete(got);
  wasm_table_delete(host);
  wasm_store_t* other = wasm_store_new(engine);
  wasm_valtype_t* funcref = wasm_valtype_new(WASM_FUNCREF);
  wasm_tabletype_t* func_type = wasm_tabletype_new(funcref, &limits);
  wasm_table_t* foreign = wasm_table_new(other, func_type, NULL);
  CHECK(foreign && !wasm_table_set(foreign, 0, outer) && !wasm_table_get(foreign, 0));
  wasm_table_delete(foreign);
  wasm_store_delete(other);
  wasm_tabletype_delete(func_type);
  wasm_tabletype_delete(ext_type);
  wasm_ref_delete(triple);

  /* An exception no handler catches reaches the host with its payload. */
  a[0].of.ref = r;
  wasm_val_vec_t no_results = WASM_EMPTY_VEC;
  trap = wasm_func_call(export_func(e, THROW), &args, &no_results);
  CHECK(trap);
  wasm_val_vec_t payload;
  CHECK(waot_trap_exception(trap, &payload) && payload.size == 3);
  CHECK(payload.data[0].kind == WASM_I32 && payload.data[0].of.i32 == 7);
  CHECK(payload.data[1].kind == WASM_F64 && payload.data[1].of.f64 == 1.5);
  CHECK(payload.data[2].kind == WASM_EXTERNREF && wasm_ref_same(payload.data[2].of.ref, r));
  wasm_val_vec_delete(&payload);
  CHECK(!waot_trap_exit_status(trap, NULL));
  wasm_trap_delete(trap);
  wasm_ref_delete(r);
  printf("references and tables: ok\n");
}

/* A struct the guest makes, read through waot.h: fields (a packed one zero-extended), the
 * array one holds, i31 values, wrong references refused with a message, a collection that
 * keeps what the host holds. */
static void gc_refs(wasm_store_t* store, wasm_extern_vec_t* e) {
  wasm_val_t a[] = {WASM_I32_VAL(-5)}, out[] = {WASM_INIT_VAL};
  wasm_val_vec_t args = WASM_ARRAY_VEC(a), results = WASM_ARRAY_VEC(out);
  CHECK(!wasm_func_call(export_func(e, MAKE_GC), &args, &results));
  wasm_ref_t* s = out[0].of.ref;
  CHECK(out[0].kind == WASM_EXTERNREF && s && waot_ref_gc_kind(s) == WAOT_GC_STRUCT);
  wasm_message_t error;
  wasm_val_t f0, f1, f2, el;
  CHECK(waot_ref_struct_get(s, 0, &f0, &error) && f0.kind == WASM_I32 && f0.of.i32 == -5);
  CHECK(waot_ref_struct_get(s, 2, &f2, &error) && f2.kind == WASM_I32 && f2.of.i32 == 200);
  CHECK(!waot_ref_struct_get(s, 3, &f0, &error) && error.size > 1);
  wasm_byte_vec_delete(&error);
  CHECK(waot_ref_struct_get(s, 1, &f1, &error) && f1.kind == WASM_EXTERNREF);
  wasm_ref_t* arr = f1.of.ref;
  CHECK(waot_ref_gc_kind(arr) == WAOT_GC_ARRAY);
  uint32_t len = 0;
  CHECK(waot_ref_array_len(arr, &len, &error) && len == 3);
  CHECK(waot_ref_array_get(arr, 2, &el, &error) && el.kind == WASM_I32 && el.of.i32 == 0xffff);
  CHECK(!waot_ref_array_get(arr, 3, &el, &error) && strstr(error.data, "past the array"));
  wasm_byte_vec_delete(&error);
  CHECK(!waot_ref_array_len(s, &len, &error));
  wasm_byte_vec_delete(&error);

  wasm_ref_t* i31 = waot_ref_i31_new(store, 0x7fffffff);
  uint32_t x = 0;
  CHECK(waot_ref_gc_kind(i31) == WAOT_GC_I31 && waot_ref_i31_get(i31, true, &x) && x == UINT32_MAX);
  CHECK(waot_ref_i31_get(i31, false, &x) && x == 0x7fffffff);
  wasm_ref_t* half = waot_ref_i31_new(store, 0x40000000);
  wasm_ref_t* below = waot_ref_i31_new(store, 0x3fffffff);
  wasm_ref_t* high = waot_ref_i31_new(store, 0x80000005); /* bit 31 dropped */
  CHECK(waot_ref_i31_get(half, true, &x) && x == 0xc0000000u);
  CHECK(waot_ref_i31_get(half, false, &x) && x == 0x40000000);
  CHECK(waot_ref_i31_get(below, true, &x) && x == 0x3fffffff);
  CHECK(waot_ref_i31_get(high, true, &x) && x == 5);
  wasm_ref_delete(half);
  wasm_ref_delete(below);
  wasm_ref_delete(high);
  CHECK(!waot_ref_i31_get(s, false, &x) && !waot_ref_array_len(i31, &len, &error));
  wasm_byte_vec_delete(&error);
  wasm_ref_t* ext = waot_ref_new_extern(store, 1);
  CHECK(waot_ref_gc_kind(ext) == WAOT_GC_NONE && waot_ref_gc_kind(NULL) == WAOT_GC_NONE);
  CHECK(!waot_ref_struct_get(ext, 0, &f0, &error));
  wasm_byte_vec_delete(&error);

  /* A read with no place for the value makes nothing (valgrind would see a leak). */
  CHECK(waot_ref_struct_get(s, 1, NULL, &error));

  /* 100 more structs (each with its array): a collection keeps them while the host holds
   * them and frees them once it releases them. */
  wasm_ref_t* more[100];
  for (int k = 0; k < 100; k++) {
    CHECK(!wasm_func_call(export_func(e, MAKE_GC), &args, &results));
    more[k] = out[0].of.ref;
  }
  waot_gc_stats_t held, freed;
  waot_store_gc(store);
  waot_store_gc_stats(store, &held);
  for (int k = 0; k < 100; k++) {
    waot_ref_gc_release(more[k]);
    CHECK(!waot_ref_struct_get(more[k], 0, &f0, &error));
    wasm_byte_vec_delete(&error);
    wasm_ref_delete(more[k]);
  }
  waot_store_gc(store);
  waot_store_gc_stats(store, &freed);
  CHECK(freed.collections == held.collections + 1 && freed.pauses > held.pauses);
  CHECK(freed.heap_bytes > 0 && freed.heap_bytes + 100 * 64 <= held.heap_bytes);
  CHECK(waot_ref_array_get(arr, 0, &el, &error) && el.of.i32 == 0xffff);
  CHECK(waot_ref_struct_get(s, 0, &f0, &error) && f0.of.i32 == -5);
  CHECK(waot_ref_gc_keep(s, &error));
  wasm_ref_delete(ext);
  wasm_ref_delete(i31);
  wasm_val_delete(&f1);
  /* `s` was the last call's result before the loop; its value was not deleted. */
  wasm_ref_delete(s);
  printf("gc references: ok\n");
}

static void deleted_during_call(wasm_module_t* module) {
  wasm_store_t* store = wasm_store_new(engine);
  wasm_valkind_t i32 = WASM_I32, i64_f64[] = {WASM_I64, WASM_F64}, f64 = WASM_F64, ext = WASM_EXTERNREF;
  wasm_functype_t* types[] = {functype(1, &i32, 1, &i32), functype(2, i64_f64, 1, &f64),
                              functype(0, NULL, 0, NULL), functype(1, &ext, 1, &ext)};
  double env = 1;
  fail_store = store;
  wasm_func_t* funcs[] = {wasm_func_new(store, types[0], doom_plain),
                          wasm_func_new_with_env(store, types[1], with_env, &env, NULL),
                          wasm_func_new(store, types[2], doom_fail), wasm_func_new(store, types[3], doom_ref)};
  wasm_extern_t* list[] = {wasm_func_as_extern(funcs[0]), wasm_func_as_extern(funcs[1]),
                           wasm_func_as_extern(funcs[2]), wasm_func_as_extern(funcs[3])};
  wasm_extern_vec_t imports = WASM_ARRAY_VEC(list);
  wasm_trap_t* trap = NULL;
  wasm_instance_t* instance = wasm_instance_new(store, module, &imports, &trap);
  CHECK(instance && !trap);
  wasm_extern_vec_t e;
  wasm_instance_exports(instance, &e);
  /* The numeric fast path, once prepared (the first call prepares it). */
  wasm_func_t* call_plain = export_func(&e, CALL_PLAIN);
  CHECK(call_i32(call_plain, 4) == 8);
  doomed = &e;
  CHECK(call_i32(call_plain, 5) == 10 && !doomed);
  /* A first call, which prepares the function as it calls it. */
  wasm_instance_exports(instance, &e);
  doomed = &e;
  CHECK(call_i32(export_func(&e, CALL_PLAIN), 6) == 12 && !doomed);
  /* A trap after the deletion. */
  wasm_instance_exports(instance, &e);
  doomed = &e;
  wasm_val_vec_t none = WASM_EMPTY_VEC;
  CHECK(trap_says(wasm_func_call(export_func(&e, CALL_FAIL), &none, &none), "host failure") && !doomed);
  /* The general path (a reference), its result converted after the deletion. */
  wasm_instance_exports(instance, &e);
  doomed = &e;
  wasm_ref_t* r = waot_ref_new_extern(store, 77);
  wasm_val_t a[1] = {{.kind = WASM_EXTERNREF, .of = {.ref = r}}}, out[1] = {WASM_INIT_VAL};
  wasm_val_vec_t args = WASM_ARRAY_VEC(a), results = WASM_ARRAY_VEC(out);
  CHECK(!wasm_func_call(export_func(&e, ECHO_REF), &args, &results) && !doomed);
  uint64_t back = 0;
  CHECK(out[0].of.ref && waot_ref_extern_value(out[0].of.ref, &back) && back == 77);
  wasm_ref_delete(out[0].of.ref);
  wasm_ref_delete(r);
  wasm_instance_delete(instance);
  for (int i = 0; i < 4; i++) {
    wasm_func_delete(funcs[i]);
    wasm_functype_delete(types[i]);
  }
  wasm_store_delete(store);
  printf("deleted during a call: ok\n");
}

static void groups(wasm_module_t* module) {
  wasm_store_t* store = wasm_store_new(engine);
  double* env = malloc(sizeof *env);
  *env = 0.5;
  wasm_extern_vec_t e;
  wasm_instance_t* instance = instantiate(store, module, env, &e);
  CHECK(e.size == 3 + EXPORTED_FUNCS);
  CHECK(wasm_extern_kind(e.data[0]) == WASM_EXTERN_MEMORY);
  CHECK(wasm_extern_kind(e.data[1]) == WASM_EXTERN_GLOBAL);
  CHECK(wasm_extern_kind(e.data[2]) == WASM_EXTERN_TABLE);
  CHECK(wasm_extern_as_memory(e.data[1]) == NULL);

  /* Every value type, both ways. */
  wasm_val_t a[] = {WASM_I32_VAL(-7), WASM_I64_VAL(1LL << 40), WASM_F32_VAL(2.5f), WASM_F64_VAL(-0.125)};
  wasm_val_t r[4];
  wasm_val_vec_t args = WASM_ARRAY_VEC(a), results = WASM_ARRAY_VEC(r);
  CHECK(!wasm_func_call(export_func(&e, ALL_TYPES), &args, &results));
  CHECK(r[0].kind == WASM_F64 && r[0].of.f64 == -0.125);
  CHECK(r[1].kind == WASM_F32 && r[1].of.f32 == 2.5f);
  CHECK(r[2].kind == WASM_I64 && r[2].of.i64 == 1LL << 40);
  CHECK(r[3].kind == WASM_I32 && r[3].of.i32 == -7);
  wasm_functype_t* ty = wasm_func_type(export_func(&e, ALL_TYPES));
  CHECK(wasm_functype_params(ty)->size == 4 && wasm_functype_results(ty)->size == 4);
  CHECK(wasm_valtype_kind(wasm_functype_params(ty)->data[2]) == WASM_F32);
  wasm_functype_delete(ty);
  /* A wrong argument type is a trap, not a crash. */
  wasm_val_t wrong[] = {WASM_I64_VAL(1)};
  wasm_val_vec_t wrong_args = WASM_ARRAY_VEC(wrong);
  wasm_val_t one[] = {WASM_INIT_VAL};
  wasm_val_vec_t one_result = WASM_ARRAY_VEC(one);
  wasm_trap_t* trap = wasm_func_call(export_func(&e, CALL_PLAIN), &wrong_args, &one_result);
  CHECK(trap);
  wasm_trap_delete(trap);
  /* So are too few arguments, and too few result slots. */
  wasm_val_vec_t three_args = {3, a};
  trap = wasm_func_call(export_func(&e, ALL_TYPES), &three_args, &results);
  CHECK(trap);
  wasm_trap_delete(trap);
  wasm_val_vec_t three_results = {3, r};
  trap = wasm_func_call(export_func(&e, ALL_TYPES), &args, &three_results);
  CHECK(trap);
  wasm_trap_delete(trap);
  /* A null vector, or one with null data, is empty. */
  CHECK(trap_says(wasm_func_call(export_func(&e, ALL_TYPES), NULL, &results), "given 0"));
  wasm_val_vec_t no_data = {4, NULL};
  CHECK(trap_says(wasm_func_call(export_func(&e, ALL_TYPES), &no_data, &results), "given 0"));
  CHECK(trap_says(wasm_func_call(export_func(&e, ALL_TYPES), &args, NULL), "fewer slots"));
  wasm_val_vec_t no_room = {4, NULL};
  CHECK(trap_says(wasm_func_call(export_func(&e, ALL_TYPES), &args, &no_room), "fewer slots"));
  CHECK(trap_says(wasm_func_call(export_func(&e, CALL_PLAIN), &wrong_args, &one_result), "kind"));
  printf("values: ok\n");

  /* Host functions without and with an environment, and a host trap. */
  CHECK(call_i32(export_func(&e, CALL_PLAIN), 21) == 42);
  wasm_val_t ea[] = {WASM_I64_VAL(6), WASM_F64_VAL(7.0)}, er[] = {WASM_INIT_VAL};
  wasm_val_vec_t eargs = WASM_ARRAY_VEC(ea), eresults = WASM_ARRAY_VEC(er);
  CHECK(!wasm_func_call(export_func(&e, CALL_ENV), &eargs, &eresults));
  CHECK(er[0].kind == WASM_F64 && er[0].of.f64 == 21.0);
  wasm_val_vec_t none = WASM_EMPTY_VEC;
  trap = wasm_func_call(export_func(&e, CALL_FAIL), &none, &none);
  CHECK(trap);
  char* m = trap_message(trap);
  CHECK(strcmp(m, "host failure") == 0);
  uint32_t code;
  CHECK(!waot_trap_code(trap, &code));
  free(m);
  wasm_trap_delete(trap);
  printf("host functions: ok\n");

  /* A guest trap: its message, kind and frames, innermost first. */
  wasm_val_t zero[] = {WASM_I32_VAL(0)};
  wasm_val_vec_t zero_args = WASM_ARRAY_VEC(zero);
  trap = wasm_func_call(export_func(&e, OUTER), &zero_args, &one_result);
  CHECK(trap);
  m = trap_message(trap);
  CHECK(strcmp(m, "integer divide by zero") == 0);
  free(m);
  CHECK(waot_trap_code(trap, &code) && code == 5);
  wasm_frame_t* origin = wasm_trap_origin(trap);
  CHECK(origin && wasm_frame_func_index(origin) == 8);
  wasm_frame_delete(origin);
  wasm_frame_vec_t trace;
  wasm_trap_trace(trap, &trace);
  CHECK(trace.size == 2 && wasm_frame_func_index(trace.data[1]) == 9);
  wasm_frame_vec_delete(&trace);
  wasm_trap_delete(trap);
  CHECK(call_i32(export_func(&e, OUTER), 4) == 25);
  printf("traps: ok\n");

  /* Memory growth seen from the host and from the guest. */
  wasm_memory_t* mem = wasm_extern_as_memory(e.data[0]);
  CHECK(wasm_memory_size(mem) == 1 && wasm_memory_data_size(mem) == 65536);
  CHECK(call_i32(export_func(&e, GROW), 1) == 1);
  CHECK(wasm_memory_size(mem) == 2 && wasm_memory_data_size(mem) == 131072);
  wasm_memory_data(mem)[70000] = 42;
  CHECK(call_i32(export_func(&e, LOAD), 70000) == 42);
  CHECK(wasm_memory_grow(mem, 2));
  CHECK(!wasm_memory_grow(mem, 1)); /* past the maximum of 4 */
  CHECK(call_i32(export_func(&e, GROW), 0) == 4);
  wasm_memorytype_t* mt = wasm_memory_type(mem);
  CHECK(wasm_memorytype_limits(mt)->min == 4 && wasm_memorytype_limits(mt)->max == 4);
  wasm_memorytype_delete(mt);
  waot_store_stats_t stats;
  waot_store_stats(store, &stats);
  CHECK(stats.memory_bytes == 4 * 65536 && stats.instances == 1 && stats.table_elements == 3);
  CHECK(stats.fuel_consumed == 0 && stats.live_exceptions == 0);
  printf("memory: ok\n");

  /* Globals and tables. */
  wasm_global_t* g = wasm_extern_as_global(e.data[1]);
  wasm_val_t v;
  wasm_global_get(g, &v);
  CHECK(v.kind == WASM_I32 && v.of.i32 == 5);
  CHECK(!wasm_func_call(export_func(&e, BUMP), &none, &none));
  wasm_global_get(g, &v);
  CHECK(v.of.i32 == 6);
  wasm_val_t hundred = WASM_I32_VAL(100);
  wasm_global_set(g, &hundred);
  CHECK(!wasm_func_call(export_func(&e, BUMP), &none, &none));
  wasm_global_get(g, &v);
  CHECK(v.of.i32 == 101);
  wasm_globaltype_t* gt = wasm_global_type(g);
  CHECK(wasm_globaltype_mutability(gt) == WASM_VAR && wasm_valtype_kind(wasm_globaltype_content(gt)) == WASM_I32);
  wasm_globaltype_delete(gt);
  CHECK(wasm_table_size(wasm_extern_as_table(e.data[2])) == 3);
  printf("globals and tables: ok\n");
  refs_and_tables(store, &e);
  gc_refs(store, &e);

  /* The same module again: an instance of its own. */
  wasm_extern_vec_t e2;
  wasm_instance_t* second = instantiate(store, module, env, &e2);
  wasm_global_get(wasm_extern_as_global(e2.data[1]), &v);
  CHECK(v.of.i32 == 5);
  CHECK(call_i32(export_func(&e2, GROW), 0) == 1);
  wasm_extern_vec_delete(&e2);
  wasm_instance_delete(second);
  printf("two instances: ok\n");

  wasm_extern_vec_delete(&e);
  wasm_instance_delete(instance);
  /* Both instances' host functions share `env`: each finalizer runs once, with the store. */
  CHECK(finalized == 0);
  wasm_store_delete(store);
  CHECK(finalized == 2);
  free(env);
  printf("finalizers: ok\n");
}

static void* thread_main(void* arg) {
  wasm_module_t* module = arg;
  wasm_store_t* store = wasm_store_new(engine);
  double* env = malloc(sizeof *env);
  *env = 0.5;
  wasm_extern_vec_t e;
  wasm_instance_t* instance = instantiate(store, module, env, &e);
  for (int i = 1; i <= 20000; i++) CHECK(call_i32(export_func(&e, OUTER), i) == 100 / i);
  wasm_extern_vec_delete(&e);
  wasm_instance_delete(instance);
  wasm_store_delete(store);
  free(env);
  return NULL;
}

static void* interrupter(void* arg) {
  usleep(50 * 1000);
  waot_interrupt_handle_interrupt(arg);
  return NULL;
}

/* Whether a profile's text (`waot-profile 1`, then `HASH COUNT INDEX` lines) counts a run. */
static bool profile_has_a_count(const wasm_byte_vec_t* text) {
  char* copy = malloc(text->size + 1);
  memcpy(copy, text->data, text->size);
  copy[text->size] = 0;
  bool counted = false;
  CHECK(strncmp(copy, "waot-profile 1\n", 15) == 0);
  for (char* line = strtok(copy, "\n"); line; line = strtok(NULL, "\n")) {
    unsigned long long hash, count;
    unsigned index;
    if (sscanf(line, "%16llx %llu %u", &hash, &count, &index) == 3 && count > 0) counted = true;
  }
  free(copy);
  return counted;
}

/* A refill callback that adds 100,000 units three times, then stops the guest. */
static int refills, refill_finalized;
static uint64_t refill(void* env) {
  CHECK(env == &refills);
  return refills++ < 3 ? 100000 : 0;
}
static void refill_done(void* env) {
  CHECK(env == &refills);
  refill_finalized++;
}

/* A refill callback that uses its store: it calls the guest (which runs out without asking it
 * again) and sets the fuel (which its amount is added to), twice, then stops the guest. */
static wasm_store_t* refill_store;
static const wasm_func_t* refill_spin;
static int reentrant_refills;
static uint64_t reentrant_refill(void* env) {
  CHECK(env == &reentrant_refills);
  if (reentrant_refills++ >= 2) return 0;
  wasm_val_vec_t none = WASM_EMPTY_VEC;
  uint32_t code;
  wasm_trap_t* t = wasm_func_call(refill_spin, &none, &none);
  CHECK(t && waot_trap_code(t, &code) && code == 17);
  wasm_trap_delete(t);
  wasm_message_t error;
  CHECK(waot_store_set_fuel(refill_store, 500, &error));
  return 1000;
}

/* A refill callback that removes itself the first time it runs: it is not asked again, and
 * its finalizer runs once, when it returns (its environment is gone after that). */
static int self_removing_refills, self_removing_finalized;
static uint64_t self_removing_refill(void* env) {
  /* Asked again, it would be asked forever: fail at once. */
  CHECK(env == &self_removing_refills && self_removing_refills++ == 0);
  waot_store_set_fuel_refill(refill_store, NULL, NULL, NULL);
  CHECK(self_removing_finalized == 0);
  return 1000;
}
static void self_removing_done(void* env) {
  CHECK(env == &self_removing_refills);
  self_removing_finalized++;
}

static void limits(const char* metered) {
  wasm_message_t error;
  wasm_module_t* module = waot_module_load(engine, metered, &error);
  CHECK(module);
  wasm_store_t* store = wasm_store_new(engine);
  waot_interrupt_handle_t* handle = waot_store_interrupt_handle(store, &error);
  CHECK(handle);
  CHECK(waot_store_set_fuel(store, 1000000, &error));
  double* env = malloc(sizeof *env);
  *env = 0.5;
  wasm_extern_vec_t e;
  wasm_instance_t* instance = instantiate(store, module, env, &e);
  wasm_val_vec_t none = WASM_EMPTY_VEC;
  uint32_t code;
  wasm_trap_t* trap = wasm_func_call(export_func(&e, SPIN), &none, &none);
  CHECK(trap && waot_trap_code(trap, &code) && code == 17);
  wasm_trap_delete(trap);
  CHECK(waot_store_fuel_consumed(store) >= 1000000);
  /* A refill callback resumes the guest until it says stop; its finalizer runs once. */
  CHECK(waot_store_set_fuel(store, 1000, &error));
  uint64_t before = waot_store_fuel_consumed(store);
  waot_store_set_fuel_refill(store, refill, &refills, refill_done);
  trap = wasm_func_call(export_func(&e, SPIN), &none, &none);
  CHECK(trap && waot_trap_code(trap, &code) && code == 17);
  wasm_trap_delete(trap);
  CHECK(refills == 4 && waot_store_fuel_consumed(store) - before >= 301000);
  /* Replaced: the old callback's finalizer runs then. One that uses its store. */
  refill_store = store;
  refill_spin = export_func(&e, SPIN);
  waot_store_set_fuel_refill(store, reentrant_refill, &reentrant_refills, NULL);
  CHECK(refill_finalized == 1);
  before = waot_store_fuel_consumed(store);
  trap = wasm_func_call(export_func(&e, SPIN), &none, &none);
  CHECK(trap && waot_trap_code(trap, &code) && code == 17);
  wasm_trap_delete(trap);
  CHECK(reentrant_refills == 3 && waot_store_fuel_consumed(store) - before >= 3000);
  waot_store_set_fuel_refill(store, NULL, &refills, refill_done); /* a finalizer alone: at once */
  CHECK(refill_finalized == 2);
  CHECK(waot_store_set_fuel(store, 100, &error));
  waot_store_set_fuel_refill(store, self_removing_refill, &self_removing_refills, self_removing_done);
  trap = wasm_func_call(export_func(&e, SPIN), &none, &none);
  CHECK(trap && waot_trap_code(trap, &code) && code == 17);
  wasm_trap_delete(trap);
  CHECK(self_removing_refills == 1 && self_removing_finalized == 1);
  waot_store_stats_t stats;
  waot_store_stats(store, &stats);
  CHECK(stats.fuel_consumed == waot_store_fuel_consumed(store));
  CHECK(waot_store_set_fuel(store, UINT64_MAX, &error));
  pthread_t t;
  pthread_create(&t, NULL, interrupter, handle);
  trap = wasm_func_call(export_func(&e, SPIN), &none, &none);
  pthread_join(t, NULL);
  CHECK(trap && waot_trap_code(trap, &code) && code == 16);
  wasm_trap_delete(trap);
  /* The metered artifact also counts for a profile: the spinning loop's function ran. */
  wasm_byte_vec_t profile;
  CHECK(waot_module_profile(module, &profile));
  CHECK(profile_has_a_count(&profile));
  wasm_byte_vec_delete(&profile);
  wasm_extern_vec_delete(&e);
  wasm_instance_delete(instance);
  wasm_store_delete(store);
  /* The handle outlives its store. */
  waot_interrupt_handle_interrupt(handle);
  waot_interrupt_handle_delete(handle);
  free(env);
  /* A store that asks for fuel refuses an unmetered module, with a message. */
  wasm_module_t* plain_module = waot_module_load(engine, artifact, &error);
  CHECK(!waot_module_profile(plain_module, &profile) && profile.size == 0);
  wasm_byte_vec_delete(&profile);
  store = wasm_store_new(engine);
  CHECK(waot_store_set_fuel(store, 10, &error));
  wasm_extern_vec_t no_imports = WASM_EMPTY_VEC;
  trap = NULL;
  CHECK(!wasm_instance_new(store, plain_module, &no_imports, &trap) && trap);
  char* m = trap_message(trap);
  CHECK(strstr(m, "--fuel") != NULL);
  free(m);
  wasm_trap_delete(trap);
  wasm_store_delete(store);
  /* Any module can be interrupted: a loop compiled without polls stops by signal (within the
   * alarm's 60 s, or the test fails instead of hanging). */
  alarm(60);
  store = wasm_store_new(engine);
  handle = waot_store_interrupt_handle(store, &error);
  CHECK(handle);
  env = malloc(sizeof *env);
  *env = 0.5;
  instance = instantiate(store, plain_module, env, &e);
  pthread_create(&t, NULL, interrupter, handle);
  trap = wasm_func_call(export_func(&e, SPIN), &none, &none);
  pthread_join(t, NULL);
  CHECK(trap && waot_trap_code(trap, &code) && code == 16);
  alarm(0);
  wasm_trap_delete(trap);
  wasm_extern_vec_delete(&e);
  wasm_instance_delete(instance);
  wasm_store_delete(store);
  waot_interrupt_handle_delete(handle);
  free(env);
  wasm_module_delete(plain_module);
  wasm_module_delete(module);
  printf("limits: ok\n");
}

static char* read_file(const char* path) {
  FILE* f = fopen(path, "r");
  CHECK(f);
  static char buf[256];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = 0;
  fclose(f);
  return buf;
}

/* A WASI program with arguments, environment, a preopened directory and its streams in
 * memory; then the errors: a directory that is not there, an import WASI does not fill. */
static void wasi(const char* path, const char* dir, wasm_module_t* plain) {
  wasm_message_t error;
  wasm_module_t* module = waot_module_load(engine, path, &error);
  CHECK(module);
  wasm_store_t* store = wasm_store_new(engine);
  waot_wasi_config_t* config = waot_wasi_config_new();
  waot_wasi_config_arg(config, "guest");
  waot_wasi_config_arg(config, "one");
  waot_wasi_config_env(config, "GREETING", "hello");
  bool files = strcmp(dir, "-") != 0;
  if (files)
    waot_wasi_config_preopen_dir(config, dir, "/data");
  else
    waot_wasi_config_env(config, "FILES", "no");
  wasm_byte_vec_t input;
  wasm_byte_vec_new(&input, 3, "abc");
  CHECK(waot_wasi_config_stdio_memory(config, 0, &input));
  wasm_byte_vec_delete(&input);
  wasm_byte_vec_t prefix;
  wasm_byte_vec_new(&prefix, 5, "out:\n");
  CHECK(waot_wasi_config_stdio_memory(config, 1, &prefix)); /* the guest appends */
  wasm_byte_vec_delete(&prefix);
  CHECK(waot_wasi_config_stdio_memory(config, 2, NULL));
  CHECK(!waot_wasi_config_stdio_memory(config, 3, NULL));
  waot_wasi_t* wasi = waot_wasi_new(store, config, &error);
  CHECK(wasi);
  wasm_extern_vec_t exports;
  wasm_instance_t* instance = wasi_instance(store, module, wasi, &exports);
  wasm_func_t* start = export_named(module, &exports, "_start");
  CHECK(start);
  wasm_val_vec_t none = WASM_EMPTY_VEC;
  wasm_trap_t* trap = wasm_func_call(start, &none, &none);
  int32_t status = -1;
  CHECK(trap && waot_trap_exit_status(trap, &status) && status == 3);
  wasm_trap_delete(trap);
  CHECK(output_is(wasi, 1, "out:\nargs: 2 guest one\nenv: hello\nstdin: ABC\n"));
  CHECK(output_is(wasi, 2, "to stderr\n"));
  CHECK(output_is(wasi, 0, "abc"));
  if (files) {
    char out_path[4096];
    snprintf(out_path, sizeof out_path, "%s/out.txt", dir);
    CHECK(strcmp(read_file(out_path), "copied through WASI\n") == 0);
  }
  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  waot_wasi_delete(wasi);

  /* A capture limit stops the guest's output there, and the call goes on to its exit. */
  config = waot_wasi_config_new();
  waot_wasi_config_arg(config, "guest");
  waot_wasi_config_env(config, "FILES", "no");
  CHECK(waot_wasi_config_stdio_memory(config, 0, NULL));
  CHECK(waot_wasi_config_stdio_memory(config, 1, NULL));
  CHECK(waot_wasi_config_stdio_memory(config, 2, NULL));
  waot_wasi_config_capture_limit(config, 12);
  wasi = waot_wasi_new(store, config, &error);
  CHECK(wasi);
  instance = wasi_instance(store, module, wasi, &exports);
  start = export_named(module, &exports, "_start");
  trap = wasm_func_call(start, &none, &none);
  CHECK(trap && waot_trap_exit_status(trap, &status) && status == 3);
  wasm_trap_delete(trap);
  CHECK(output_is(wasi, 1, "args: 1 gues"));
  CHECK(output_is(wasi, 2, "to stderr\n"));
  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  waot_wasi_delete(wasi);

  /* An inherited stream has nothing to read back; a missing directory is an error naming it. */
  config = waot_wasi_config_new();
  wasi = waot_wasi_new(store, config, &error);
  CHECK(wasi);
  wasm_byte_vec_t out;
  CHECK(!waot_wasi_output(wasi, 1, &out));
  /* A module with imports of its own gets NULL for them, and instantiating with a NULL is an
   * error naming the import, not a crash. */
  wasm_extern_vec_t imports;
  CHECK(waot_wasi_imports(wasi, plain, &imports) == 4 && imports.size == 4 && !imports.data[0]);
  trap = NULL;
  CHECK(!wasm_instance_new(store, plain, &imports, &trap) && trap);
  char* m = trap_message(trap);
  CHECK(strstr(m, "import 0") != NULL);
  free(m);
  wasm_trap_delete(trap);
  wasm_extern_vec_delete(&imports);
  waot_wasi_delete(wasi);
  config = waot_wasi_config_new();
  waot_wasi_config_preopen_dir(config, "/nonexistent/waot-dir", "/data");
  CHECK(!waot_wasi_new(store, config, &error));
  CHECK(strstr(error.data, "/nonexistent/waot-dir") != NULL);
  wasm_byte_vec_delete(&error);
  wasm_store_delete(store);
  wasm_module_delete(module);
  printf("wasi: ok\n");
}

/* A universal wasm for another target: compiled again for this host on load. */
static void foreign(const char* path) {
  if (strcmp(path, "-") == 0) return;
  wasm_message_t error;
  wasm_module_t* module = waot_module_load(engine, path, &error);
  if (!module) fprintf(stderr, "%.*s\n", (int)error.size, error.data);
  CHECK(module);
  wasm_store_t* store = wasm_store_new(engine);
  double* env = malloc(sizeof *env);
  *env = 0.5;
  wasm_extern_vec_t e;
  wasm_instance_t* instance = instantiate(store, module, env, &e);
  CHECK(call_i32(export_func(&e, OUTER), 4) == 25);
  wasm_extern_vec_delete(&e);
  wasm_instance_delete(instance);
  wasm_store_delete(store);
  wasm_module_delete(module);
  free(env);
  printf("another target's artifact: ok\n");
}

/* mix(v, n) = (each byte of v plus n, the sum of v's bytes) */
static int mixes;
static wasm_trap_t* mix(void* env, const waot_val_t* args, waot_val_t* results) {
  CHECK(*(int*)env == 42);
  CHECK(args[0].kind == WAOT_V128 && args[1].kind == WASM_I32);
  int64_t sum = 0;
  results[0].kind = WAOT_V128;
  for (int i = 0; i < 16; i++) {
    sum += args[0].of.v128[i];
    results[0].of.v128[i] = (uint8_t)(args[0].of.v128[i] + args[1].of.i32);
  }
  results[1].kind = WASM_I64;
  results[1].of.i64 = sum;
  mixes++;
  return NULL;
}

static int mix_finalized;
static void mix_finalize(void* env) {
  CHECK(*(int*)env == 42);
  mix_finalized++;
}

static waot_val_t v128_of(const uint32_t lanes[4]) {
  waot_val_t v = {.kind = WAOT_V128};
  memcpy(v.of.v128, lanes, 16);
  return v;
}

/* v128 values through waot_val_t: calls, a host function, globals; wasm.h's refuse them. */
static void v128(const char* path) {
  wasm_message_t error;
  wasm_module_t* module = waot_module_load(engine, path, &error);
  CHECK(module);
  wasm_store_t* store = wasm_store_new(engine);
  wasm_valkind_t p[] = {WAOT_V128, WASM_I32}, r[] = {WAOT_V128, WASM_I64};
  wasm_functype_t* t_mix = functype(2, p, 2, r);
  int env = 42;
  /* wasm.h's host functions cannot take a v128: no function, and the embedder's environment
   * is left alone. */
  CHECK(wasm_func_new_with_env(store, t_mix, with_env, &env, mix_finalize) == NULL);
  CHECK(mix_finalized == 0);
  wasm_func_t* f_mix = waot_func_new(store, t_mix, mix, &env, mix_finalize);
  CHECK(f_mix);
  wasm_functype_delete(t_mix);
  wasm_extern_t* list[] = {wasm_func_as_extern(f_mix)};
  wasm_extern_vec_t imports = WASM_ARRAY_VEC(list);
  wasm_trap_t* trap = NULL;
  wasm_instance_t* instance = wasm_instance_new(store, module, &imports, &trap);
  CHECK(instance && !trap);
  wasm_func_delete(f_mix);
  wasm_extern_vec_t e;
  wasm_instance_exports(instance, &e);
  CHECK(e.size == 8);
  wasm_global_t* g = wasm_extern_as_global(e.data[0]);
  wasm_global_t* k = wasm_extern_as_global(e.data[1]);
  wasm_global_t* n = wasm_extern_as_global(e.data[2]);
  wasm_func_t* add = wasm_extern_as_func(e.data[3]);
  wasm_func_t* call_mix = wasm_extern_as_func(e.data[4]);
  wasm_func_t* echo_ref = wasm_extern_as_func(e.data[5]);
  wasm_func_t* counted = wasm_extern_as_func(e.data[6]);
  wasm_func_t* no_exn = wasm_extern_as_func(e.data[7]);
  CHECK(g && k && n && add && call_mix && echo_ref && counted && no_exn);

  /* Types report the kind. */
  wasm_functype_t* t_add = wasm_func_type(add);
  CHECK(t_add);
  const wasm_valtype_vec_t* params = wasm_functype_params(t_add);
  CHECK(params->size == 3 && wasm_valtype_kind(params->data[0]) == WAOT_V128 &&
        wasm_valtype_kind(params->data[2]) == WASM_F64);
  wasm_functype_delete(t_add);
  wasm_globaltype_t* t_g = wasm_global_type(g);
  CHECK(wasm_valtype_kind(wasm_globaltype_content(t_g)) == WAOT_V128);
  wasm_globaltype_delete(t_g);

  /* Calls. */
  uint32_t a[4] = {1, 2, 3, 0xffffffff}, b[4] = {10, 20, 30, 2};
  waot_val_t args[3] = {v128_of(a), v128_of(b), {.kind = WASM_F64, .of.f64 = 2.5}};
  waot_val_t results[2];
  CHECK(waot_func_call(add, args, 3, results, 2) == NULL);
  uint32_t sum[4];
  CHECK(results[0].kind == WAOT_V128 && results[1].kind == WASM_F64);
  memcpy(sum, results[0].of.v128, 16);
  CHECK(sum[0] == 11 && sum[1] == 22 && sum[2] == 33 && sum[3] == 1);
  CHECK(results[1].of.f64 == -2.5);
  /* Too few result slots, a wrong kind: traps, nothing written. */
  results[0].kind = 77;
  CHECK(trap_says(waot_func_call(add, args, 3, results, 1), "fewer slots"));
  args[1].kind = WASM_I64;
  wasm_trap_t* wrong_kind = waot_func_call(add, args, 3, results, 2);
  CHECK(wrong_kind);
  wasm_trap_delete(wrong_kind);
  CHECK(results[0].kind == 77);
  args[1].kind = WAOT_V128;
  /* wasm_func_call cannot carry one, and says what can. */
  wasm_val_t narrow[3] = {WASM_I64_VAL(1), WASM_I64_VAL(2), WASM_F64_VAL(2.5)};
  narrow[0].kind = WAOT_V128;
  narrow[1].kind = WAOT_V128;
  wasm_val_t narrow_results[2] = {WASM_INIT_VAL, WASM_INIT_VAL};
  wasm_val_vec_t nargs = WASM_ARRAY_VEC(narrow), nresults = WASM_ARRAY_VEC(narrow_results);
  CHECK(trap_says(wasm_func_call(add, &nargs, &nresults), "waot_func_call"));
  /* A v128 result only: refused before the function runs. */
  wasm_val_vec_t none = WASM_EMPTY_VEC, one = {1, narrow_results};
  CHECK(trap_says(wasm_func_call(counted, &none, &one), "waot_func_call"));
  wasm_val_t count;
  wasm_global_get(n, &count);
  CHECK(count.kind == WASM_I32 && count.of.i32 == 0);
  CHECK(waot_func_call(counted, NULL, 0, results, 1) == NULL && results[0].kind == WAOT_V128);
  wasm_global_get(n, &count);
  CHECK(count.of.i32 == 1);
  /* An exnref result has no kind at all: refused before the function runs, both ways. */
  CHECK(trap_says(wasm_func_call(no_exn, &none, &one), "exnref"));
  CHECK(trap_says(waot_func_call(no_exn, NULL, 0, results, 1), "exnref"));
  wasm_global_get(n, &count);
  CHECK(count.of.i32 == 1);

  /* The host function, through the guest. */
  uint8_t bytes[16];
  for (int i = 0; i < 16; i++) bytes[i] = (uint8_t)(i * 16);
  waot_val_t m = {.kind = WAOT_V128};
  memcpy(m.of.v128, bytes, 16);
  CHECK(waot_func_call(call_mix, &m, 1, results, 2) == NULL);
  CHECK(mixes == 1 && results[1].kind == WASM_I64 && results[1].of.i64 == 16 * 15 * 16 / 2);
  for (int i = 0; i < 16; i++) CHECK(results[0].of.v128[i] == (uint8_t)(bytes[i] + 3));

  /* References cross too, owned as in wasm.h. */
  waot_val_t ref_args[2] = {{.kind = WASM_EXTERNREF, .of.ref = waot_ref_new_extern(store, 99)},
                            {.kind = WASM_I32, .of.i32 = -4}};
  CHECK(waot_func_call(echo_ref, ref_args, 2, results, 2) == NULL);
  uint64_t datum = 0;
  CHECK(results[0].kind == WASM_I32 && results[0].of.i32 == -4);
  CHECK(results[1].kind == WASM_EXTERNREF && waot_ref_extern_value(results[1].of.ref, &datum));
  CHECK(datum == 99);
  waot_val_t copy;
  waot_val_copy(&copy, &results[1]);
  CHECK(wasm_ref_same(copy.of.ref, results[1].of.ref));
  waot_val_delete(&copy);
  waot_val_delete(&results[1]);
  waot_val_delete(&ref_args[0]);

  /* Globals. */
  waot_val_t v;
  CHECK(waot_global_get(g, &v, NULL));
  uint32_t lanes[4];
  memcpy(lanes, v.of.v128, 16);
  CHECK(v.kind == WAOT_V128 && lanes[0] == 1 && lanes[3] == 4);
  uint32_t next[4] = {5, 6, 7, 8};
  waot_val_t nv = v128_of(next);
  CHECK(waot_global_set(g, &nv, NULL));
  CHECK(waot_global_get(g, &v, NULL));
  CHECK(memcmp(v.of.v128, next, 16) == 0);
  /* A constant global, a value of another kind: refused, the global unchanged. */
  CHECK(!waot_global_set(k, &nv, &error));
  wasm_byte_vec_delete(&error);
  waot_val_t i = {.kind = WASM_I32, .of.i32 = 1};
  CHECK(!waot_global_set(g, &i, &error));
  CHECK(error.size > 0);
  wasm_byte_vec_delete(&error);
  CHECK(waot_global_get(g, &v, NULL) && memcmp(v.of.v128, next, 16) == 0);
  int64_t k_lanes[2];
  CHECK(waot_global_get(k, &v, NULL));
  memcpy(k_lanes, v.of.v128, 16);
  CHECK(k_lanes[0] == -1 && k_lanes[1] == 7);
  /* wasm_global_set leaves it; a host global of v128. */
  wasm_globaltype_t* t_host = wasm_globaltype_new(wasm_valtype_new(WAOT_V128), WASM_VAR);
  wasm_global_t* host = waot_global_new(store, t_host, &nv);
  CHECK(host && waot_global_get(host, &v, NULL) && memcmp(v.of.v128, next, 16) == 0);
  waot_val_t wrong = {.kind = WASM_F32, .of.f32 = 1};
  CHECK(waot_global_new(store, t_host, &wrong) == NULL);
  wasm_globaltype_delete(t_host);
  wasm_global_delete(host);

  wasm_extern_vec_delete(&e);
  wasm_instance_delete(instance);
  wasm_store_delete(store);
  CHECK(mix_finalized == 1);
  wasm_module_delete(module);
  printf("v128 values: ok\n");
}

int main(int argc, char** argv) {
  CHECK(argc == 13);
  artifact = argv[1];
  engine = wasm_engine_new();
  wasm_message_t error;
  CHECK(!waot_module_load(engine, "/nonexistent/app.so", &error));
  CHECK(error.size > 1 && strstr(error.data, "app.so") != NULL);
  wasm_byte_vec_delete(&error);
  /* A vector too large to allocate comes out empty, rather than aborting the host. */
  wasm_byte_vec_t huge_bytes;
  wasm_byte_vec_new_uninitialized(&huge_bytes, SIZE_MAX);
  CHECK(huge_bytes.size == 0 && huge_bytes.data == NULL);
  wasm_val_vec_t huge_vals;
  wasm_val_vec_new_uninitialized(&huge_vals, SIZE_MAX / 2);
  CHECK(huge_vals.size == 0 && huge_vals.data == NULL);
  wasm_byte_vec_new_uninitialized(&huge_bytes, (size_t)1 << 62); /* a size, but no memory */
  CHECK(huge_bytes.size == 0 && huge_bytes.data == NULL);
  wasm_extern_vec_t huge_externs;
  wasm_extern_vec_new_uninitialized(&huge_externs, SIZE_MAX / 4);
  CHECK(huge_externs.size == 0 && huge_externs.data == NULL);
  wasm_module_t* module = waot_module_load(engine, artifact, &error);
  CHECK(module);
  module_types(module);
  groups(module);
  deleted_during_call(module);

  pthread_t threads[4];
  for (int i = 0; i < 4; i++) pthread_create(&threads[i], NULL, thread_main, module);
  for (int i = 0; i < 4; i++) pthread_join(threads[i], NULL);
  CHECK(finalized == 2 + 4);
  printf("threads: ok\n");
  wasi(argv[3], argv[4], module);
  foreign(argv[5]);
  wasm_module_delete(module);
  v128(argv[6]);

  tags(engine, argv[7]);
  gc_objects(engine, argv[8]);
  limits(argv[2]);
  wasm_engine_delete(engine);
  /* Last: it takes the compiler out of reach. */
  interpreter(argv[9], argv[10], argv[5], argv[11], argv[12]);
  return 0;
}
