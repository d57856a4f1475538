/* The interpreter behind the C API (waot_engine_set_interpreter), on tests/capi/interp.wat:
 * which modules each mode interprets, with no compiler at hand; calls of every value type,
 * host functions (one that calls back into the interpreter, one that traps), traps with their
 * code and frames, memory, globals and tables seen from the host, function references of
 * interpreted code in C and back (refused by another store and by native code), fuel,
 * interruption and the
 * memory limit, calls between interpreted and native instances of one store, WASI, and the
 * host functions' finalizers. */
#include <pthread.h>
#include <unistd.h>

#include "check.h"

/* interp.wat's exports, in order. */
enum {
  MEMORY, COUNTER, TABLE, ALL_TYPES, CALL_PLAIN, DOUBLE, DIVIDE, OUTER, STORE, LOAD, GROW,
  BUMP, SPIN, ECHO_REF, CALL_AT, TWICE, GET_FUNC, LOOP_HOST, CALL_REF, EXPORTS
};

static int finalized;
static void count_finalized(void* env) {
  (void)env;
  finalized++;
}

/* The interpreted `double` that `plain` calls back for -2. */
static const wasm_func_t* reenter;

/* host.plain: x + 1, a trap for -1, and for -2 a call back into the interpreter. */
static wasm_trap_t* plain(void* env, const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  CHECK(env == &finalized);
  int32_t x = args->data[0].of.i32;
  if (x == -1) {
    wasm_message_t m;
    wasm_byte_vec_new(&m, sizeof "the host says no", "the host says no");
    wasm_trap_t* t = wasm_trap_new(NULL, &m);
    wasm_byte_vec_delete(&m);
    return t;
  }
  if (x == -2) {
    wasm_val_t in[1] = {WASM_I32_VAL(21)};
    wasm_val_t out[1] = {WASM_INIT_VAL};
    wasm_val_vec_t a = WASM_ARRAY_VEC(in), r = WASM_ARRAY_VEC(out);
    wasm_trap_t* t = wasm_func_call(reenter, &a, &r);
    if (t) return t;
    results->data[0] = out[0];
    return NULL;
  }
  results->data[0] = (wasm_val_t)WASM_I32_VAL(x + 1);
  return NULL;
}

static wasm_trap_t* pass_ref(const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  results->data[0].kind = WASM_EXTERNREF;
  results->data[0].of.ref = wasm_ref_copy(args->data[0].of.ref);
  return NULL;
}

/* host.pass_ref that returns `smuggled` (a function reference) where it declares an
 * externref. */
static wasm_ref_t* smuggled;
static wasm_trap_t* smuggle(const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  (void)args;
  results->data[0].kind = WASM_EXTERNREF;
  results->data[0].of.ref = wasm_ref_copy(smuggled);
  return NULL;
}

static wasm_func_t* host_func(wasm_store_t* store, int which) {
  const wasm_valkind_t kind[1] = {which == 0 ? WASM_I32 : WASM_EXTERNREF};
  wasm_functype_t* ty = functype(1, kind, 1, kind);
  wasm_func_t* f = which == 0 ? wasm_func_new_with_env(store, ty, plain, &finalized, count_finalized)
                              : wasm_func_new(store, ty, pass_ref);
  wasm_functype_delete(ty);
  CHECK(f);
  return f;
}

/* An instance and its exports. */
typedef struct {
  wasm_instance_t* instance;
  wasm_extern_vec_t e;
} live_t;

/* An instance of `module` (interp.wat) given its two imports. */
static live_t instantiate(wasm_store_t* store, const wasm_module_t* module, wasm_extern_t* first,
                          wasm_extern_t* second) {
  wasm_extern_t* list[2] = {first, second};
  wasm_extern_vec_t imports = WASM_ARRAY_VEC(list);
  wasm_trap_t* trap = NULL;
  live_t l = {wasm_instance_new(store, module, &imports, &trap), WASM_EMPTY_VEC};
  if (trap) fprintf(stderr, "instantiation: %s\n", trap_message(trap));
  CHECK(l.instance && !trap);
  wasm_instance_exports(l.instance, &l.e);
  return l;
}

static void drop_live(live_t* l) {
  wasm_extern_vec_delete(&l->e);
  wasm_instance_delete(l->instance);
}

static int32_t call_i32(const wasm_func_t* f, int32_t x) {
  wasm_val_t in[1] = {WASM_I32_VAL(x)};
  wasm_val_t out[1] = {WASM_INIT_VAL};
  wasm_val_vec_t a = WASM_ARRAY_VEC(in), r = WASM_ARRAY_VEC(out);
  wasm_trap_t* t = wasm_func_call(f, &a, &r);
  if (t) fprintf(stderr, "trap: %s\n", trap_message(t));
  CHECK(!t && out[0].kind == WASM_I32);
  return out[0].of.i32;
}

static wasm_trap_t* call_none(const wasm_func_t* f) {
  wasm_val_vec_t none = WASM_EMPTY_VEC;
  return wasm_func_call(f, &none, &none);
}

static bool trap_code_is(wasm_trap_t* t, uint32_t expected) {
  uint32_t code = 99;
  bool same = t && waot_trap_code(t, &code) && code == expected;
  if (t) wasm_trap_delete(t);
  return same;
}

/* Which module each mode interprets; the compiler is out of reach throughout. */
static void modes(const char* wasm, const char* so, const char* foreign) {
  wasm_message_t error;
  wasm_engine_t* never = wasm_engine_new();
  CHECK(!waot_module_load(never, wasm, &error)); /* a plain wasm needs the compiler */
  wasm_byte_vec_delete(&error);
  wasm_engine_t* fallback = wasm_engine_new();
  CHECK(waot_engine_set_interpreter(fallback, WAOT_INTERPRETER_FALLBACK));
  CHECK(!waot_engine_set_interpreter(fallback, 3));
  wasm_module_t* m = waot_module_load(fallback, wasm, &error);
  CHECK(m && waot_module_interpreted(m));
  wasm_module_delete(m);
  m = waot_module_load(fallback, so, &error);
  CHECK(m && !waot_module_interpreted(m));
  wasm_module_delete(m);
  if (strcmp(foreign, "-") != 0) {
    /* Another target's native code, of a module with exceptions: the interpreter says why. */
    CHECK(!waot_module_load(fallback, foreign, &error));
    CHECK(strstr(error.data, "exception") && strstr(error.data, "interpreter"));
    wasm_byte_vec_delete(&error);
  }
  /* wasm_module_new follows the engine of the store. */
  wasm_store_t* store = wasm_store_new(fallback);
  FILE* f = fopen(wasm, "rb");
  CHECK(f);
  char bytes[4096];
  size_t n = fread(bytes, 1, sizeof bytes, f);
  fclose(f);
  wasm_byte_vec_t binary;
  wasm_byte_vec_new(&binary, n, bytes);
  m = wasm_module_new(store, &binary);
  CHECK(m && waot_module_interpreted(m));
  wasm_module_delete(m);
  wasm_byte_vec_delete(&binary);
  wasm_store_delete(store);
  wasm_engine_delete(fallback);
  wasm_engine_delete(never);
}

static void calls_and_traps(wasm_extern_vec_t* e) {
  wasm_val_t in[4] = {WASM_I32_VAL(1), WASM_I64_VAL(-2), WASM_F32_VAL(3.5f), WASM_F64_VAL(4.25)};
  wasm_val_t out[4];
  wasm_val_vec_t a = WASM_ARRAY_VEC(in), r = WASM_ARRAY_VEC(out);
  wasm_func_t* all = wasm_extern_as_func(e->data[ALL_TYPES]);
  CHECK(wasm_func_param_arity(all) == 4 && wasm_func_result_arity(all) == 4);
  wasm_functype_t* ty = wasm_func_type(all);
  CHECK(wasm_valtype_kind(wasm_functype_params(ty)->data[1]) == WASM_I64);
  CHECK(wasm_valtype_kind(wasm_functype_results(ty)->data[0]) == WASM_F64);
  wasm_functype_delete(ty);
  CHECK(!wasm_func_call(all, &a, &r));
  CHECK(out[0].kind == WASM_F64 && out[0].of.f64 == 4.25 && out[1].of.f32 == 3.5f);
  CHECK(out[2].of.i64 == -2 && out[3].kind == WASM_I32 && out[3].of.i32 == 1);
  /* A wrong kind of argument is refused, not converted. */
  in[1] = (wasm_val_t)WASM_I32_VAL(2);
  CHECK(trap_says(wasm_func_call(all, &a, &r), "type"));

  const wasm_func_t* call_plain = wasm_extern_as_func(e->data[CALL_PLAIN]);
  reenter = wasm_extern_as_func(e->data[DOUBLE]);
  CHECK(call_i32(call_plain, 5) == 6);
  CHECK(call_i32(call_plain, -2) == 42); /* host -> interpreter -> host -> interpreter */
  wasm_val_t x[1] = {WASM_I32_VAL(-1)}, y[1];
  wasm_val_vec_t xa = WASM_ARRAY_VEC(x), ya = WASM_ARRAY_VEC(y);
  CHECK(trap_says(wasm_func_call(call_plain, &xa, &ya), "the host says no"));

  /* A trap of interpreted code: its code, message and frames (innermost first). */
  x[0] = (wasm_val_t)WASM_I32_VAL(0);
  wasm_trap_t* t = wasm_func_call(wasm_extern_as_func(e->data[OUTER]), &xa, &ya);
  CHECK(t);
  char* m = trap_message(t);
  CHECK(strstr(m, "divide by zero"));
  free(m);
  wasm_frame_vec_t trace;
  wasm_trap_trace(t, &trace);
  CHECK(trace.size == 2 && wasm_frame_func_index(trace.data[0]) == 5);
  CHECK(wasm_frame_func_index(trace.data[1]) == 6);
  wasm_frame_vec_delete(&trace);
  CHECK(trap_code_is(t, 5));

  /* v128 through waot_func_call. */
  waot_val_t v = {.kind = WAOT_V128}, w;
  for (int i = 0; i < 16; i++) v.of.v128[i] = (uint8_t)i;
  CHECK(!waot_func_call(wasm_extern_as_func(e->data[TWICE]), &v, 1, &w, 1));
  CHECK(w.kind == WAOT_V128 && w.of.v128[4] == 8 && w.of.v128[15] == 30);

  /* Function references of interpreted code leave it (a call's result, a function's own)
   * and come back (an argument): one function however it left, callable from C. */
  const wasm_func_t* get_func = wasm_extern_as_func(e->data[GET_FUNC]);
  wasm_val_t fr[1] = {WASM_INIT_VAL};
  wasm_val_vec_t fra = WASM_ARRAY_VEC(fr), empty = WASM_EMPTY_VEC;
  CHECK(!wasm_func_call(get_func, &empty, &fra) && fr[0].kind == WASM_FUNCREF && fr[0].of.ref);
  wasm_func_t* doubled = wasm_extern_as_func(e->data[DOUBLE]);
  wasm_ref_t* own_ref = wasm_func_as_ref(doubled);
  CHECK(own_ref && wasm_ref_same(own_ref, fr[0].of.ref));
  CHECK(!wasm_ref_same(own_ref, wasm_func_as_ref(wasm_extern_as_func(e->data[DIVIDE]))));
  wasm_func_t* through_ref = wasm_ref_as_func(fr[0].of.ref);
  CHECK(through_ref && wasm_func_param_arity(through_ref) == 1 && call_i32(through_ref, 21) == 42);
  wasm_val_t cr[2] = {{.kind = WASM_FUNCREF, .of = {.ref = fr[0].of.ref}}, WASM_I32_VAL(8)};
  wasm_val_t cres[1];
  wasm_val_vec_t cra = WASM_ARRAY_VEC(cr), cresa = WASM_ARRAY_VEC(cres);
  CHECK(!wasm_func_call(wasm_extern_as_func(e->data[CALL_REF]), &cra, &cresa) && cres[0].of.i32 == 16);
  wasm_ref_delete(fr[0].of.ref);
  CHECK(wasm_table_set(wasm_extern_as_table(e->data[TABLE]), 1, NULL)); /* as it was */
}

static void externref(wasm_store_t* store, wasm_extern_vec_t* e) {
  wasm_ref_t* ref = waot_ref_new_extern(store, 1234);
  wasm_val_t in[1] = {{.kind = WASM_EXTERNREF, .of = {.ref = ref}}};
  wasm_val_t out[1] = {WASM_INIT_VAL};
  wasm_val_vec_t a = WASM_ARRAY_VEC(in), r = WASM_ARRAY_VEC(out);
  CHECK(!wasm_func_call(wasm_extern_as_func(e->data[ECHO_REF]), &a, &r));
  uint64_t value = 0;
  CHECK(out[0].kind == WASM_EXTERNREF && waot_ref_extern_value(out[0].of.ref, &value) && value == 1234);
  wasm_ref_delete(out[0].of.ref);
  wasm_ref_delete(ref);
}

static void memory_globals_tables(wasm_extern_vec_t* e) {
  wasm_memory_t* mem = wasm_extern_as_memory(e->data[MEMORY]);
  CHECK(mem && wasm_memory_size(mem) == 1 && wasm_memory_data_size(mem) == 65536);
  wasm_memorytype_t* mt = wasm_memory_type(mem);
  CHECK(wasm_memorytype_limits(mt)->min == 1 && wasm_memorytype_limits(mt)->max == 4);
  wasm_memorytype_delete(mt);
  wasm_val_t st[2] = {WASM_I32_VAL(10), WASM_I32_VAL(77)};
  wasm_val_vec_t sta = WASM_ARRAY_VEC(st), none = WASM_EMPTY_VEC;
  CHECK(!wasm_func_call(wasm_extern_as_func(e->data[STORE]), &sta, &none));
  CHECK(wasm_memory_data(mem)[10] == 77);
  wasm_memory_data(mem)[11] = 5;
  CHECK(call_i32(wasm_extern_as_func(e->data[LOAD]), 11) == 5);
  CHECK(wasm_memory_grow(mem, 1) && wasm_memory_size(mem) == 2);
  CHECK(wasm_memory_data_size(mem) == 2 * 65536 && wasm_memory_data(mem)[10] == 77);
  CHECK(call_i32(wasm_extern_as_func(e->data[GROW]), 1) == 2);
  CHECK(!wasm_memory_grow(mem, 2)); /* past the maximum */

  wasm_global_t* g = wasm_extern_as_global(e->data[COUNTER]);
  wasm_globaltype_t* gt = wasm_global_type(g);
  CHECK(wasm_valtype_kind(wasm_globaltype_content(gt)) == WASM_I32);
  CHECK(wasm_globaltype_mutability(gt) == WASM_VAR);
  wasm_globaltype_delete(gt);
  wasm_val_t v;
  wasm_global_get(g, &v);
  CHECK(v.kind == WASM_I32 && v.of.i32 == 5);
  CHECK(!call_none(wasm_extern_as_func(e->data[BUMP])));
  wasm_global_get(g, &v);
  CHECK(v.of.i32 == 6);
  wasm_val_t nine = WASM_I32_VAL(9), wrong = WASM_I64_VAL(1);
  wasm_global_set(g, &nine);
  wasm_global_set(g, &wrong); /* left unchanged */
  wasm_global_get(g, &v);
  CHECK(v.of.i32 == 9);
  wasm_message_t error;
  waot_val_t wv;
  CHECK(waot_global_get(g, &wv, &error) && wv.kind == WASM_I32 && wv.of.i32 == 9);

  wasm_table_t* table = wasm_extern_as_table(e->data[TABLE]);
  CHECK(table && wasm_table_size(table) == 2);
  wasm_tabletype_t* tt = wasm_table_type(table);
  CHECK(wasm_valtype_kind(wasm_tabletype_element(tt)) == WASM_FUNCREF);
  wasm_tabletype_delete(tt);
  /* An interpreted function in the table: a reference C can call, and put back. */
  wasm_ref_t* elem = wasm_table_get(table, 0);
  CHECK(elem && call_i32(wasm_ref_as_func(elem), 4) == 8);
  CHECK(!wasm_table_get(table, 1)); /* null */
  CHECK(!wasm_table_get(table, 2)); /* past the end */
  CHECK(wasm_table_set(table, 1, elem));
  wasm_ref_t* again = wasm_table_get(table, 1);
  CHECK(again && wasm_ref_same(again, elem));
  wasm_ref_delete(again);
  CHECK(wasm_table_set(table, 1, NULL));
  wasm_ref_delete(elem);
  wasm_val_t at[2] = {WASM_I32_VAL(0), WASM_I32_VAL(7)}, res[1];
  wasm_val_vec_t ata = WASM_ARRAY_VEC(at), resa = WASM_ARRAY_VEC(res);
  CHECK(!wasm_func_call(wasm_extern_as_func(e->data[CALL_AT]), &ata, &resa) && res[0].of.i32 == 14);
  CHECK(wasm_table_grow(table, 3, NULL) && wasm_table_size(table) == 5);
  CHECK(wasm_table_set(table, 0, NULL) && !wasm_table_set(table, 9, NULL));
  /* Another store's function is refused, the table unchanged. */
  wasm_store_t* other = wasm_store_new(NULL);
  wasm_func_t* foreign = host_func(other, 1);
  CHECK(!wasm_table_set(table, 1, wasm_func_as_ref(foreign)));
  CHECK(!wasm_table_grow(table, 1, wasm_func_as_ref(foreign)) && wasm_table_size(table) == 5);
  wasm_func_delete(foreign);
  wasm_store_delete(other);
  CHECK(trap_code_is(wasm_func_call(wasm_extern_as_func(e->data[CALL_AT]), &ata, &resa), 3));
}

static void* interrupt_later(void* handle) {
  usleep(50 * 1000);
  waot_interrupt_handle_interrupt(handle);
  return NULL;
}

static uint64_t fuel_of_loop(wasm_store_t* store, const wasm_func_t* loop, int32_t x) {
  uint64_t before = waot_store_fuel_consumed(store);
  wasm_val_t in[2] = {WASM_I32_VAL(1000), WASM_I32_VAL(x)};
  wasm_val_vec_t a = WASM_ARRAY_VEC(in), none = WASM_EMPTY_VEC;
  CHECK(!wasm_func_call(loop, &a, &none));
  return waot_store_fuel_consumed(store) - before;
}

/* A refill callback that adds 20,000 units twice, then stops the guest. */
static int refills;
static uint64_t refill(void* env) {
  CHECK(env == &refills);
  return refills++ < 2 ? 20000 : 0;
}

/* One that runs interpreted code while the call that ran out waits for it: out of fuel at
 * first (it is not asked again meanwhile), then with fuel it sets. */
static wasm_store_t* refill_store;
static const wasm_func_t* refill_double;
static int calling_refills;
static uint64_t calling_refill(void* env) {
  CHECK(env == &calling_refills);
  wasm_val_t in[1] = {WASM_I32_VAL(21)}, out[1] = {WASM_INIT_VAL};
  wasm_val_vec_t a = WASM_ARRAY_VEC(in), r = WASM_ARRAY_VEC(out);
  CHECK(trap_code_is(wasm_func_call(refill_double, &a, &r), 17));
  wasm_message_t error;
  CHECK(waot_store_set_fuel(refill_store, 500, &error));
  CHECK(call_i32(refill_double, 21) == 42);
  return calling_refills++ < 2 ? 20000 : 0;
}

/* The fuel `spin` consumes from 1,000 units with `refill` as the store's callback, until it
 * traps out of fuel. */
static uint64_t spent_with_refill(wasm_store_t* store, const wasm_func_t* spin, waot_fuel_refill_t refill,
                                  void* env) {
  wasm_message_t error;
  CHECK(waot_store_set_fuel(store, 1000, &error));
  uint64_t before = waot_store_fuel_consumed(store);
  waot_store_set_fuel_refill(store, refill, env, NULL);
  CHECK(trap_code_is(call_none(spin), 17));
  return waot_store_fuel_consumed(store) - before;
}

static void limits(wasm_store_t* store, wasm_extern_vec_t* e) {
  const wasm_func_t* spin = wasm_extern_as_func(e->data[SPIN]);
  wasm_message_t error;
  /* A host function's call back into the interpreter is counted as well as the caller's own
   * work around it: the loop costs more with it, not less. */
  CHECK(waot_store_set_fuel(store, UINT64_MAX, &error));
  const wasm_func_t* loop = wasm_extern_as_func(e->data[LOOP_HOST]);
  uint64_t plain_fuel = fuel_of_loop(store, loop, 5), reentering = fuel_of_loop(store, loop, -2);
  CHECK(plain_fuel > 1000 * 20 && reentering > plain_fuel);
  /* And a budget holds with calls back in: fuel runs out. */
  CHECK(waot_store_set_fuel(store, 50000, &error));
  wasm_val_t forever[2] = {WASM_I32_VAL(0), WASM_I32_VAL(-2)};
  wasm_val_vec_t fa = WASM_ARRAY_VEC(forever), none = WASM_EMPTY_VEC;
  uint64_t before = waot_store_fuel_consumed(store);
  CHECK(trap_code_is(wasm_func_call(loop, &fa, &none), 17));
  uint64_t spent = waot_store_fuel_consumed(store) - before;
  CHECK(spent <= 50000 && spent > 50000 - 100); /* up to what the next block would need */
  CHECK(waot_store_set_fuel(store, 100000, &error));
  CHECK(trap_code_is(call_none(spin), 17));
  CHECK(waot_store_fuel_consumed(store) >= 100000);
  /* The store's refill callback serves interpreted code too. */
  spent = spent_with_refill(store, spin, refill, &refills);
  CHECK(refills == 3 && spent > 40000 && spent <= 41000);
  refill_store = store;
  refill_double = wasm_extern_as_func(e->data[DOUBLE]);
  spent = spent_with_refill(store, spin, calling_refill, &calling_refills);
  CHECK(calling_refills == 3 && spent > 41000 && spent <= 42600);
  waot_store_set_fuel_refill(store, NULL, NULL, NULL);
  CHECK(waot_store_set_fuel(store, UINT64_MAX, &error));
  waot_interrupt_handle_t* handle = waot_store_interrupt_handle(store, &error);
  CHECK(handle);
  pthread_t thread;
  pthread_create(&thread, NULL, interrupt_later, handle);
  CHECK(trap_code_is(call_none(spin), 16));
  pthread_join(thread, NULL);
  CHECK(call_i32(wasm_extern_as_func(e->data[DOUBLE]), 4) == 8); /* one call was stopped */
  waot_interrupt_handle_delete(handle);

  /* The memory (3 pages now) may not grow past the limit, which native memories share. */
  wasm_memory_t* mem = wasm_extern_as_memory(e->data[MEMORY]);
  waot_store_set_memory_limit(store, 3 * 65536 + 100);
  CHECK(!wasm_memory_grow(mem, 1));
  CHECK(call_i32(wasm_extern_as_func(e->data[GROW]), 1) == -1);
  wasm_memorytype_t* mt = wasm_memorytype_new(&(wasm_limits_t){1, 1});
  CHECK(!wasm_memory_new(store, mt)); /* a native page would pass the store's limit */
  waot_store_set_memory_limit(store, 4 * 65536);
  wasm_memory_t* native = wasm_memory_new(store, mt);
  CHECK(native);
  CHECK(!wasm_memory_grow(mem, 1)); /* the native memory took the last page */
  wasm_memory_delete(native);
  wasm_memorytype_delete(mt);
  waot_store_stats_t stats;
  waot_store_stats(store, &stats);
  CHECK(stats.fuel_consumed >= 100000);
}

/* One store, both sides: an interpreted instance calls a native one's function, and a native
 * instance calls an interpreted one's. */
static void both_sides(const char* so) {
  wasm_engine_t* always = wasm_engine_new();
  CHECK(waot_engine_set_interpreter(always, WAOT_INTERPRETER_ALWAYS));
  wasm_engine_t* native_engine = wasm_engine_new();
  wasm_message_t error;
  wasm_module_t* interpreted = waot_module_load(always, so, &error); /* the .so's own wasm */
  CHECK(interpreted && waot_module_interpreted(interpreted));
  wasm_module_t* native = waot_module_load(native_engine, so, &error);
  CHECK(native && !waot_module_interpreted(native));
  wasm_store_t* store = wasm_store_new(native_engine);
  wasm_func_t* plain_f = host_func(store, 0);
  wasm_func_t* ref_f = host_func(store, 1);
  live_t n = instantiate(store, native, wasm_func_as_extern(plain_f), wasm_func_as_extern(ref_f));
  /* The interpreted instance's host.plain is the native `double`. */
  live_t i = instantiate(store, interpreted, n.e.data[DOUBLE], wasm_func_as_extern(ref_f));
  CHECK(call_i32(wasm_extern_as_func(i.e.data[CALL_PLAIN]), 5) == 10);
  /* And a native instance whose host.plain is the interpreted `double`. */
  live_t n2 = instantiate(store, native, i.e.data[DOUBLE], wasm_func_as_extern(ref_f));
  CHECK(call_i32(wasm_extern_as_func(n2.e.data[CALL_PLAIN]), 7) == 14);
  /* native -> interpreted -> host, and the host's trap back through both. */
  live_t i2 = instantiate(store, interpreted, wasm_func_as_extern(plain_f), wasm_func_as_extern(ref_f));
  live_t n3 = instantiate(store, native, i2.e.data[CALL_PLAIN], wasm_func_as_extern(ref_f));
  const wasm_func_t* through = wasm_extern_as_func(n3.e.data[CALL_PLAIN]);
  CHECK(call_i32(through, 3) == 4);
  wasm_val_t x[1] = {WASM_I32_VAL(-1)}, y[1];
  wasm_val_vec_t xa = WASM_ARRAY_VEC(x), ya = WASM_ARRAY_VEC(y);
  CHECK(trap_says(wasm_func_call(through, &xa, &ya), "the host says no"));
  /* Another store's interpreted function is no import of this store's native instance. */
  wasm_store_t* other = wasm_store_new(native_engine);
  wasm_func_t* other_plain = host_func(other, 0);
  wasm_func_t* other_ref = host_func(other, 1);
  live_t oi = instantiate(other, interpreted, wasm_func_as_extern(other_plain), wasm_func_as_extern(other_ref));
  wasm_extern_t* foreign[2] = {oi.e.data[DOUBLE], wasm_func_as_extern(ref_f)};
  wasm_extern_vec_t foreign_imports = WASM_ARRAY_VEC(foreign);
  wasm_trap_t* trap = NULL;
  CHECK(!wasm_instance_new(store, native, &foreign_imports, &trap));
  CHECK(trap_says(trap, "another store"));
  trap = NULL;
  CHECK(!wasm_instance_new(store, interpreted, &foreign_imports, &trap));
  CHECK(trap_says(trap, "another store"));
  /* A host function's result of another type than it declares is a trap, not a value read
   * as that type. */
  smuggled = wasm_func_as_ref(wasm_extern_as_func(i.e.data[DOUBLE]));
  const wasm_valkind_t ext[1] = {WASM_EXTERNREF};
  wasm_functype_t* ext_ty = functype(1, ext, 1, ext);
  wasm_func_t* smuggler = wasm_func_new(store, ext_ty, smuggle);
  wasm_functype_delete(ext_ty);
  live_t is = instantiate(store, interpreted, wasm_func_as_extern(plain_f), wasm_func_as_extern(smuggler));
  wasm_val_t null_ref[1] = {{.kind = WASM_EXTERNREF, .of = {.ref = NULL}}}, echoed[1];
  wasm_val_vec_t nra = WASM_ARRAY_VEC(null_ref), echoeda = WASM_ARRAY_VEC(echoed);
  CHECK(trap_says(wasm_func_call(wasm_extern_as_func(is.e.data[ECHO_REF]), &nra, &echoeda), "declares"));
  drop_live(&is);
  wasm_func_delete(smuggler);
  /* Nor is its function reference a value for this store's code, interpreted or native. */
  wasm_ref_t* foreign_ref = wasm_func_as_ref(wasm_extern_as_func(oi.e.data[DOUBLE]));
  CHECK(foreign_ref);
  wasm_val_t fa[2] = {{.kind = WASM_FUNCREF, .of = {.ref = foreign_ref}}, WASM_I32_VAL(1)};
  wasm_val_t fres[1];
  wasm_val_vec_t faa = WASM_ARRAY_VEC(fa), fresa = WASM_ARRAY_VEC(fres);
  CHECK(trap_says(wasm_func_call(wasm_extern_as_func(i.e.data[CALL_REF]), &faa, &fresa), "another store"));
  CHECK(!wasm_table_set(wasm_extern_as_table(i.e.data[TABLE]), 1, foreign_ref));
  /* This store's interpreted function is no value for its native code either. */
  fa[0].of.ref = wasm_func_as_ref(wasm_extern_as_func(i.e.data[DOUBLE]));
  CHECK(trap_says(wasm_func_call(wasm_extern_as_func(n.e.data[CALL_REF]), &faa, &fresa), "another store"));
  CHECK(!wasm_table_set(wasm_extern_as_table(n.e.data[TABLE]), 1, fa[0].of.ref));
  wasm_ref_t* kept = wasm_ref_copy(foreign_ref);
  /* And one whose function was made before the end (the reference keeps it). */
  wasm_ref_t* kept_made = wasm_ref_copy(foreign_ref);
  CHECK(kept_made && wasm_ref_as_func(kept_made));
  drop_live(&oi);
  wasm_func_delete(other_plain);
  wasm_func_delete(other_ref);
  wasm_store_delete(other);
  /* A reference kept past its store's end names no function. */
  CHECK(kept && !wasm_ref_as_func(kept));
  wasm_ref_delete(kept);
  CHECK(!wasm_ref_as_func(kept_made) && !wasm_ref_as_func_const(kept_made));
  wasm_ref_delete(kept_made);

  /* A native memory is not an interpreted instance's import, and the reverse. */
  wasm_extern_t* bad[2] = {n.e.data[MEMORY], wasm_func_as_extern(ref_f)};
  wasm_extern_vec_t bad_imports = WASM_ARRAY_VEC(bad);
  trap = NULL;
  CHECK(!wasm_instance_new(store, interpreted, &bad_imports, &trap));
  CHECK(trap_says(trap, "interpreted code imports functions"));
  bad[0] = i.e.data[MEMORY];
  trap = NULL;
  CHECK(!wasm_instance_new(store, native, &bad_imports, &trap));
  CHECK(trap_says(trap, "cannot be imported by native code"));
  drop_live(&n3);
  drop_live(&i2);
  drop_live(&n2);
  drop_live(&i);
  drop_live(&n);
  wasm_func_delete(plain_f);
  wasm_func_delete(ref_f);
  int before = finalized;
  wasm_store_delete(store);
  CHECK(finalized == before + 1);

  /* A memory limit set before the store's first interpreted instance: its page counts (the
   * interpreter's own frame stack does not), and leaves no room for a native one. */
  store = wasm_store_new(native_engine);
  waot_store_set_memory_limit(store, 65536);
  plain_f = host_func(store, 0);
  ref_f = host_func(store, 1);
  i = instantiate(store, interpreted, wasm_func_as_extern(plain_f), wasm_func_as_extern(ref_f));
  wasm_extern_t* imports_list[2] = {wasm_func_as_extern(plain_f), wasm_func_as_extern(ref_f)};
  wasm_extern_vec_t imports = WASM_ARRAY_VEC(imports_list);
  trap = NULL;
  CHECK(!wasm_instance_new(store, native, &imports, &trap));
  CHECK(trap);
  wasm_trap_delete(trap);
  waot_store_stats_t stats;
  waot_store_stats(store, &stats);
  CHECK(stats.memory_bytes == 65536);
  drop_live(&i);
  wasm_func_delete(plain_f);
  wasm_func_delete(ref_f);
  wasm_store_delete(store);
  wasm_module_delete(native);
  wasm_module_delete(interpreted);
  wasm_engine_delete(native_engine);
  wasm_engine_delete(always);
}

/* One store's fuel is one budget: what native code spends, the interpreter does not get. */
static void one_fuel_budget(const char* metered) {
  wasm_engine_t* native_engine = wasm_engine_new();
  wasm_engine_t* always = wasm_engine_new();
  CHECK(waot_engine_set_interpreter(always, WAOT_INTERPRETER_ALWAYS));
  wasm_message_t error;
  wasm_module_t* native = waot_module_load(native_engine, metered, &error);
  wasm_module_t* interpreted = waot_module_load(always, metered, &error);
  CHECK(native && interpreted && waot_module_interpreted(interpreted));
  wasm_store_t* store = wasm_store_new(native_engine);
  wasm_func_t* plain_f = host_func(store, 0);
  wasm_func_t* ref_f = host_func(store, 1);
  live_t n = instantiate(store, native, wasm_func_as_extern(plain_f), wasm_func_as_extern(ref_f));
  live_t i = instantiate(store, interpreted, wasm_func_as_extern(plain_f), wasm_func_as_extern(ref_f));
  CHECK(waot_store_set_fuel(store, 100000, &error));
  CHECK(call_i32(wasm_extern_as_func(i.e.data[DOUBLE]), 2) == 4); /* the interpreter spends */
  uint64_t interpreted_spent = waot_store_fuel_consumed(store);
  CHECK(interpreted_spent > 0 && interpreted_spent < 100);
  CHECK(trap_code_is(call_none(wasm_extern_as_func(n.e.data[SPIN])), 17)); /* native takes the rest */
  CHECK(trap_code_is(call_none(wasm_extern_as_func(i.e.data[BUMP])), 17)); /* none left */
  CHECK(waot_store_set_fuel(store, 100000, &error));
  CHECK(trap_code_is(call_none(wasm_extern_as_func(i.e.data[SPIN])), 17)); /* and the reverse */
  /* At most what one more block would have needed is left. */
  CHECK(waot_store_fuel_consumed(store) > 2 * 100000 - 100);
  CHECK(trap_code_is(call_none(wasm_extern_as_func(n.e.data[SPIN])), 17));
  drop_live(&i);
  drop_live(&n);
  wasm_func_delete(plain_f);
  wasm_func_delete(ref_f);
  wasm_store_delete(store);
  wasm_module_delete(native);
  wasm_module_delete(interpreted);
  wasm_engine_delete(always);
  wasm_engine_delete(native_engine);
}

/* Two imports of one name: the interpreter links by name, so they must be given one external. */
static void duplicate_imports(wasm_engine_t* always, const char* wasm) {
  static const char bytes[] = {
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,              /* (module */
      0x01, 0x04, 0x01, 0x60, 0x00, 0x00,                          /* (type (func)) */
      0x02, 0x0d, 0x02, 0x01, 0x61, 0x01, 0x66, 0x00, 0x00,        /* (import "a" "f" (func)) */
      0x01, 0x61, 0x01, 0x66, 0x00, 0x00};                         /* twice */
  wasm_store_t* store = wasm_store_new(always);
  wasm_byte_vec_t binary;
  wasm_byte_vec_new(&binary, sizeof bytes, bytes);
  wasm_module_t* module = wasm_module_new(store, &binary);
  wasm_byte_vec_delete(&binary);
  CHECK(module && waot_module_interpreted(module));
  wasm_functype_t* ty = functype(0, NULL, 0, NULL);
  wasm_func_t* f = wasm_func_new(store, ty, pass_ref);
  wasm_func_t* g = wasm_func_new(store, ty, pass_ref);
  wasm_functype_delete(ty);
  wasm_extern_t* two[2] = {wasm_func_as_extern(f), wasm_func_as_extern(g)};
  wasm_extern_vec_t imports = WASM_ARRAY_VEC(two);
  wasm_trap_t* trap = NULL;
  CHECK(!wasm_instance_new(store, module, &imports, &trap));
  CHECK(trap_says(trap, "links by name"));
  /* One function through two objects is one external. */
  wasm_func_t* copy = wasm_func_copy(f);
  two[1] = wasm_func_as_extern(copy);
  trap = NULL;
  wasm_instance_t* instance = wasm_instance_new(store, module, &imports, &trap);
  CHECK(instance && !trap);
  wasm_instance_delete(instance);
  wasm_func_delete(copy);
  /* So are two objects of one interpreted function, and two interpreted functions are not. */
  wasm_module_t* other = waot_module_load(always, wasm, NULL);
  CHECK(other);
  wasm_func_t* plain_f = host_func(store, 0);
  wasm_func_t* ref_f = host_func(store, 1);
  live_t exporter = instantiate(store, other, wasm_func_as_extern(plain_f), wasm_func_as_extern(ref_f));
  wasm_extern_t* bump = wasm_extern_copy(exporter.e.data[BUMP]);
  two[0] = exporter.e.data[BUMP];
  two[1] = bump;
  trap = NULL;
  instance = wasm_instance_new(store, module, &imports, &trap);
  CHECK(instance && !trap);
  wasm_instance_delete(instance);
  two[1] = exporter.e.data[SPIN];
  CHECK(!wasm_instance_new(store, module, &imports, &trap));
  CHECK(trap_says(trap, "links by name"));
  wasm_extern_delete(bump);
  drop_live(&exporter);
  wasm_func_delete(plain_f);
  wasm_func_delete(ref_f);
  wasm_module_delete(other);
  wasm_func_delete(f);
  wasm_func_delete(g);
  wasm_module_delete(module);
  wasm_store_delete(store);
}

/* A WASI program, interpreted: its streams in memory, its exit status. */
static void wasi(wasm_engine_t* always, const char* path) {
  wasm_message_t error;
  wasm_module_t* module = waot_module_load(always, path, &error);
  CHECK(module && waot_module_interpreted(module));
  wasm_store_t* store = wasm_store_new(always);
  waot_wasi_config_t* config = waot_wasi_config_new();
  waot_wasi_config_arg(config, "guest");
  waot_wasi_config_env(config, "FILES", "no");
  wasm_byte_vec_t input;
  wasm_byte_vec_new(&input, 2, "hi");
  CHECK(waot_wasi_config_stdio_memory(config, 0, &input));
  wasm_byte_vec_delete(&input);
  CHECK(waot_wasi_config_stdio_memory(config, 1, NULL));
  CHECK(waot_wasi_config_stdio_memory(config, 2, NULL));
  waot_wasi_t* w = waot_wasi_new(store, config, &error);
  CHECK(w);
  wasm_extern_vec_t exports;
  wasm_instance_t* instance = wasi_instance(store, module, w, &exports);
  wasm_func_t* start = export_named(module, &exports, "_start");
  CHECK(start);
  wasm_trap_t* trap = call_none(start);
  int32_t status = -1;
  CHECK(trap && waot_trap_exit_status(trap, &status) && status == 3);
  wasm_trap_delete(trap);
  CHECK(output_is(w, 1, "args: 1 guest -\nenv: (none)\nstdin: HI\n"));
  CHECK(output_is(w, 2, "to stderr\n"));
  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  waot_wasi_delete(w);
  wasm_store_delete(store);
  wasm_module_delete(module);
}

void interpreter(const char* wasm, const char* so, const char* foreign, const char* wasi_path,
                 const char* metered) {
  /* Whatever the program's environment says, no compiler: the interpreter needs none. */
  setenv("WAOTC", "/nonexistent/waotc", 1);
  modes(wasm, so, foreign);

  wasm_engine_t* always = wasm_engine_new();
  CHECK(waot_engine_set_interpreter(always, WAOT_INTERPRETER_ALWAYS));
  wasm_message_t error;
  wasm_module_t* module = waot_module_load(always, wasm, &error);
  CHECK(module && waot_module_interpreted(module));
  wasm_exporttype_vec_t types;
  wasm_module_exports(module, &types);
  CHECK(types.size == EXPORTS);
  wasm_exporttype_vec_delete(&types);
  wasm_store_t* store = wasm_store_new(always);
  wasm_func_t* plain_f = host_func(store, 0);
  wasm_func_t* ref_f = host_func(store, 1);
  live_t l = instantiate(store, module, wasm_func_as_extern(plain_f), wasm_func_as_extern(ref_f));
  wasm_extern_vec_t* e = &l.e;
  CHECK(e->size == EXPORTS && wasm_extern_kind(e->data[MEMORY]) == WASM_EXTERN_MEMORY);
  CHECK(wasm_extern_kind(e->data[TABLE]) == WASM_EXTERN_TABLE && !wasm_extern_as_func(e->data[TABLE]));
  calls_and_traps(e);
  externref(store, e);
  memory_globals_tables(e);
  limits(store, e);
  drop_live(&l);
  wasm_func_delete(plain_f);
  wasm_func_delete(ref_f);
  int before = finalized;
  wasm_store_delete(store);
  CHECK(finalized == before + 1);
  wasm_module_delete(module);

  both_sides(so);
  one_fuel_budget(metered);
  duplicate_imports(always, wasm);
  wasi(always, wasi_path);
  wasm_engine_delete(always);
  printf("interpreter: ok\n");
}
