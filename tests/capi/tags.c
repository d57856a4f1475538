/* Tags from C (waot.h), on tests/capi/tags.wat: a module's tag imports and exports listed
 * in order with their types, host-made tags imported and matched by type, exceptions a host
 * function throws caught by wasm handlers of their tag and reaching the host when no handler
 * has it, the tag of an uncaught exception, and the values C has no kind for reported in
 * types as what they cross as. */
#include "check.h"

/* tags.wat's exports, in order. */
enum { OWN, HOST_TAG, CATCH_HOST, THROW_OWN, TYPED, EXN, GC_TAG, EXPORTS };

static waot_tagtype_t* tagtype(int n, const wasm_valkind_t* kinds) {
  wasm_valtype_vec_t params;
  wasm_valtype_vec_new_uninitialized(&params, n);
  for (int i = 0; i < n; i++) params.data[i] = wasm_valtype_new(kinds[i]);
  waot_tagtype_t* t = waot_tagtype_new(&params);
  CHECK(params.size == 0);
  return t;
}

static bool kinds_are(const wasm_valtype_vec_t* v, int n, const wasm_valkind_t* kinds) {
  if (v->size != (size_t)n) return false;
  for (int i = 0; i < n; i++)
    if (wasm_valtype_kind(v->data[i]) != kinds[i]) return false;
  return true;
}

static const wasm_valkind_t I32_F32[] = {WASM_I32, WASM_F32};

static void module_types(const wasm_module_t* module) {
  wasm_importtype_vec_t imports;
  wasm_module_imports(module, &imports);
  CHECK(imports.size == 2 && name_is(wasm_importtype_name(imports.data[0]), "tag"));
  const wasm_externtype_t* t = wasm_importtype_type(imports.data[0]);
  CHECK(wasm_externtype_kind(t) == WAOT_EXTERN_TAG && !wasm_externtype_as_functype_const(t));
  const waot_tagtype_t* tt = waot_externtype_as_tagtype_const(t);
  CHECK(tt && kinds_are(waot_tagtype_params(tt), 2, I32_F32));
  CHECK(wasm_externtype_kind(wasm_importtype_type(imports.data[1])) == WASM_EXTERN_FUNC);
  wasm_importtype_vec_delete(&imports);

  wasm_exporttype_vec_t exports;
  wasm_module_exports(module, &exports);
  CHECK(exports.size == EXPORTS);
  CHECK(name_is(wasm_exporttype_name(exports.data[OWN]), "own"));
  wasm_externtype_t* own_ext = wasm_externtype_copy(wasm_exporttype_type(exports.data[OWN]));
  waot_tagtype_t* own_type = waot_externtype_as_tagtype(own_ext);
  CHECK(own_type && waot_tagtype_as_externtype(own_type) == own_ext);
  wasm_valkind_t i64_ext[] = {WASM_I64, WASM_EXTERNREF};
  CHECK(kinds_are(waot_tagtype_params(own_type), 2, i64_ext));
  waot_tagtype_delete(own_type);
  /* anyref and (ref null $struct) cross as externref-kind references, (ref null $func) as a
   * funcref; an exnref has waot.h's kind. */
  const wasm_functype_t* typed = wasm_externtype_as_functype_const(wasm_exporttype_type(exports.data[TYPED]));
  wasm_valkind_t any = WASM_EXTERNREF, refs[] = {WASM_EXTERNREF, WASM_FUNCREF};
  CHECK(typed && kinds_are(wasm_functype_params(typed), 1, &any));
  CHECK(kinds_are(wasm_functype_results(typed), 2, refs));
  const wasm_globaltype_t* exn = wasm_externtype_as_globaltype_const(wasm_exporttype_type(exports.data[EXN]));
  CHECK(exn && wasm_valtype_kind(wasm_globaltype_content(exn)) == WAOT_EXNREF);
  const waot_tagtype_t* gc = waot_externtype_as_tagtype_const(wasm_exporttype_type(exports.data[GC_TAG]));
  wasm_valkind_t gc_params[] = {WASM_EXTERNREF, WASM_FUNCREF};
  CHECK(gc && kinds_are(waot_tagtype_params(gc), 2, gc_params));
  wasm_exporttype_vec_delete(&exports);
}

/* The instance's objects report the same kinds as the module's export types. */
static void object_types(wasm_extern_vec_t* e) {
  wasm_functype_t* typed = wasm_func_type(wasm_extern_as_func(e->data[TYPED]));
  wasm_valkind_t any = WASM_EXTERNREF, refs[] = {WASM_EXTERNREF, WASM_FUNCREF};
  CHECK(typed && kinds_are(wasm_functype_params(typed), 1, &any));
  CHECK(kinds_are(wasm_functype_results(typed), 2, refs));
  wasm_functype_delete(typed);
  wasm_globaltype_t* exn = wasm_global_type(wasm_extern_as_global(e->data[EXN]));
  CHECK(exn && wasm_valtype_kind(wasm_globaltype_content(exn)) == WAOT_EXNREF);
  wasm_globaltype_delete(exn);
  waot_tagtype_t* gc = waot_tag_type(waot_extern_as_tag(e->data[GC_TAG]));
  CHECK(gc && kinds_are(waot_tagtype_params(gc), 2, refs));
  waot_tagtype_delete(gc);
}

/* The thrower's environment: its store and the tags it throws. */
struct thrower {
  wasm_store_t* store;
  waot_tag_t* caught; /* the module's handler catches this one */
  waot_tag_t* stray;  /* and not this one */
};

/* thrower(0) returns; thrower(n) throws `caught` with (n, 2.5), thrower(-n) `stray`. */
static wasm_trap_t* thrower(void* env, const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  (void)results;
  struct thrower* t = env;
  int32_t n = args->data[0].of.i32;
  if (n == 0) return NULL;
  wasm_val_t values[] = {WASM_I32_VAL(n < 0 ? -n : n), WASM_F32_VAL(2.5f)};
  wasm_val_vec_t payload = WASM_ARRAY_VEC(values);
  wasm_trap_t* trap = waot_trap_new_exception(t->store, n < 0 ? t->stray : t->caught, &payload);
  CHECK(trap);
  return trap;
}

/* A host function that calls `f` on `args` (of another store) and passes its trap on. */
struct pass_on {
  const wasm_func_t* f;
  const wasm_val_vec_t* args;
};
static wasm_trap_t* pass_on(void* env, const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  (void)args;
  (void)results;
  struct pass_on* p = env;
  wasm_val_vec_t no_results = WASM_EMPTY_VEC;
  return wasm_func_call(p->f, p->args, &no_results);
}

static wasm_trap_t* call(wasm_extern_t* f, int32_t arg, int32_t* i, float* x) {
  wasm_val_t a[] = {WASM_I32_VAL(arg)}, r[] = {WASM_INIT_VAL, WASM_INIT_VAL};
  wasm_val_vec_t args = WASM_ARRAY_VEC(a), results = WASM_ARRAY_VEC(r);
  wasm_trap_t* trap = wasm_func_call(wasm_extern_as_func(f), &args, &results);
  if (!trap) {
    CHECK(r[0].kind == WASM_I32 && r[1].kind == WASM_F32);
    *i = r[0].of.i32;
    *x = r[1].of.f32;
  }
  return trap;
}

static wasm_instance_t* instantiate(wasm_store_t* store, const wasm_module_t* module,
                                    wasm_extern_t* tag, wasm_extern_t* func, wasm_trap_t** trap) {
  wasm_extern_t* list[] = {tag, func};
  wasm_extern_vec_t imports = WASM_ARRAY_VEC(list);
  *trap = NULL;
  return wasm_instance_new(store, module, &imports, trap);
}

void tags(wasm_engine_t* engine, const char* path) {
  wasm_module_t* module = waot_module_load(engine, path, NULL);
  CHECK(module);
  module_types(module);

  wasm_store_t* store = wasm_store_new(engine);
  waot_tagtype_t* t_i32_f32 = tagtype(2, I32_F32);
  struct thrower env = {store, waot_tag_new(store, t_i32_f32), waot_tag_new(store, t_i32_f32)};
  CHECK(env.caught && env.stray && !waot_tag_same(env.caught, env.stray));
  waot_tagtype_t* got = waot_tag_type(env.caught);
  CHECK(got && kinds_are(waot_tagtype_params(got), 2, I32_F32));
  waot_tagtype_delete(got);
  wasm_valkind_t i32 = WASM_I32;
  wasm_valtype_vec_t params;
  wasm_valtype_vec_new_uninitialized(&params, 1);
  params.data[0] = wasm_valtype_new(i32);
  wasm_valtype_vec_t none = WASM_EMPTY_VEC;
  wasm_functype_t* t_thrower = wasm_functype_new(&params, &none);
  wasm_func_t* f_thrower = wasm_func_new_with_env(store, t_thrower, thrower, &env, NULL);
  wasm_extern_t* tag_ext = waot_tag_as_extern(env.caught);
  CHECK(wasm_extern_kind(tag_ext) == WAOT_EXTERN_TAG && waot_extern_as_tag(tag_ext) == env.caught);
  CHECK(!wasm_extern_as_func(tag_ext) && !waot_extern_as_tag(wasm_func_as_extern(f_thrower)));

  /* Imports are matched by kind and by the tag's type. */
  wasm_trap_t* trap;
  waot_tagtype_t* t_i64 = tagtype(1, (wasm_valkind_t[]){WASM_I64});
  waot_tag_t* wrong = waot_tag_new(store, t_i64);
  CHECK(!instantiate(store, module, waot_tag_as_extern(wrong), wasm_func_as_extern(f_thrower), &trap));
  CHECK(trap_says(trap, "tag"));
  CHECK(!instantiate(store, module, wasm_func_as_extern(f_thrower), wasm_func_as_extern(f_thrower), &trap));
  CHECK(trap);
  wasm_trap_delete(trap);
  wasm_instance_t* instance = instantiate(store, module, tag_ext, wasm_func_as_extern(f_thrower), &trap);
  CHECK(instance && !trap);
  wasm_extern_vec_t e;
  wasm_instance_exports(instance, &e);
  CHECK(e.size == EXPORTS && wasm_extern_kind(e.data[OWN]) == WAOT_EXTERN_TAG);
  CHECK(waot_tag_same(waot_extern_as_tag(e.data[HOST_TAG]), env.caught));
  CHECK(!waot_tag_same(waot_extern_as_tag(e.data[OWN]), env.caught));
  object_types(&e);

  /* The host's exception of the handler's tag is caught in wasm, with its payload. */
  int32_t i = 0;
  float x = 0;
  CHECK(!call(e.data[CATCH_HOST], 0, &i, &x) && i == -1 && x == 0);
  CHECK(!call(e.data[CATCH_HOST], 9, &i, &x) && i == 9 && x == 2.5f);
  /* One of another tag of the same type passes the handler and reaches the host. */
  trap = call(e.data[CATCH_HOST], -4, &i, &x);
  CHECK(trap);
  waot_tag_t* tag = waot_trap_exception_tag(trap);
  CHECK(tag && waot_tag_same(tag, env.stray) && !waot_tag_same(tag, env.caught));
  waot_tag_delete(tag);
  wasm_val_vec_t payload;
  CHECK(waot_trap_exception(trap, &payload) && payload.size == 2);
  CHECK(payload.data[0].of.i32 == 4 && payload.data[1].of.f32 == 2.5f);
  wasm_val_vec_delete(&payload);
  wasm_trap_delete(trap);

  /* A module's own tag, thrown by wasm, reaches the host as that tag. */
  wasm_ref_t* r = waot_ref_new_extern(store, 42);
  wasm_val_t a[] = {WASM_I64_VAL(-3), WASM_REF_VAL(r)};
  wasm_val_vec_t args = WASM_ARRAY_VEC(a), no_results = WASM_EMPTY_VEC;
  trap = wasm_func_call(wasm_extern_as_func(e.data[THROW_OWN]), &args, &no_results);
  CHECK(trap);
  tag = waot_trap_exception_tag(trap);
  CHECK(tag && waot_tag_same(tag, waot_extern_as_tag(e.data[OWN])));
  waot_tagtype_t* own_type = waot_tag_type(tag);
  CHECK(kinds_are(waot_tagtype_params(own_type), 2, (wasm_valkind_t[]){WASM_I64, WASM_EXTERNREF}));
  waot_tagtype_delete(own_type);
  waot_tag_delete(tag);
  CHECK(waot_trap_exception(trap, &payload) && payload.size == 2 && payload.data[0].of.i64 == -3);
  CHECK(wasm_ref_same(payload.data[1].of.ref, r));
  wasm_val_vec_delete(&payload);
  wasm_trap_delete(trap);

  /* Passed on by a host function of another store, called by the host: the trap reaches the
   * host, but its exception is not that store's, so neither its tag nor its payload is given. */
  wasm_store_t* passing_store = wasm_store_new(engine);
  struct pass_on passing = {wasm_extern_as_func(e.data[THROW_OWN]), &args};
  wasm_valtype_vec_t no_types = WASM_EMPTY_VEC, no_types2 = WASM_EMPTY_VEC;
  wasm_functype_t* t_none = wasm_functype_new(&no_types, &no_types2);
  wasm_func_t* f_pass = wasm_func_new_with_env(passing_store, t_none, pass_on, &passing, NULL);
  trap = wasm_func_call(f_pass, &no_results, &no_results);
  CHECK(trap && !waot_trap_exception_tag(trap) && !waot_trap_exception(trap, &payload));
  wasm_trap_delete(trap);
  wasm_func_delete(f_pass);
  wasm_functype_delete(t_none);
  wasm_store_delete(passing_store);

  /* Throwing with the wrong payload or another store's tag makes no trap. */
  wasm_val_t bad[] = {WASM_I64_VAL(1), WASM_F32_VAL(1)};
  wasm_val_vec_t bad_payload = WASM_ARRAY_VEC(bad), short_payload = {1, bad};
  CHECK(!waot_trap_new_exception(store, env.caught, &bad_payload));
  CHECK(!waot_trap_new_exception(store, env.caught, &short_payload));
  wasm_store_t* other = wasm_store_new(engine);
  wasm_val_t good[] = {WASM_I32_VAL(1), WASM_F32_VAL(1)};
  wasm_val_vec_t good_payload = WASM_ARRAY_VEC(good);
  CHECK(!waot_trap_new_exception(other, env.caught, &good_payload));
  trap = waot_trap_new_exception(store, env.caught, &good_payload);
  CHECK(trap_says(trap, "exception"));
  wasm_store_delete(other);

  /* A host function called by the host throws to it directly. */
  trap = call(wasm_func_as_extern(f_thrower), 3, &i, &x);
  tag = waot_trap_exception_tag(trap);
  CHECK(trap && tag && waot_tag_same(tag, env.caught));
  waot_tag_delete(tag);
  wasm_trap_delete(trap);

  /* An exception of another store's tag, thrown into this store's guest, is refused there: a
   * trap that says so, caught by no handler. */
  wasm_store_t* second_store = wasm_store_new(engine);
  struct thrower strange = {store, env.caught, env.stray};
  wasm_func_t* f_strange = wasm_func_new_with_env(second_store, t_thrower, thrower, &strange, NULL);
  waot_tag_t* second_tag = waot_tag_new(second_store, t_i32_f32);
  wasm_instance_t* elsewhere = instantiate(second_store, module, waot_tag_as_extern(second_tag),
                                           wasm_func_as_extern(f_strange), &trap);
  CHECK(elsewhere && !trap);
  wasm_extern_vec_t e3;
  wasm_instance_exports(elsewhere, &e3);
  trap = call(e3.data[CATCH_HOST], 1, &i, &x);
  CHECK(!waot_trap_exception_tag(trap));
  CHECK(trap_says(trap, "another store"));
  wasm_extern_vec_delete(&e3);
  wasm_instance_delete(elsewhere);
  waot_tag_delete(second_tag);
  wasm_func_delete(f_strange);
  wasm_store_delete(second_store);

  /* A tag a module exports is imported by the next instance: the same tag. */
  wasm_instance_t* second = instantiate(store, module, e.data[HOST_TAG], wasm_func_as_extern(f_thrower), &trap);
  CHECK(second && !trap);
  wasm_extern_vec_t e2;
  wasm_instance_exports(second, &e2);
  CHECK(!call(e2.data[CATCH_HOST], 6, &i, &x) && i == 6);
  CHECK(!waot_tag_same(waot_extern_as_tag(e2.data[OWN]), waot_extern_as_tag(e.data[OWN])));
  wasm_extern_vec_delete(&e2);
  wasm_instance_delete(second);

  wasm_ref_delete(r);
  wasm_extern_vec_delete(&e);
  wasm_instance_delete(instance);
  wasm_func_delete(f_thrower);
  wasm_functype_delete(t_thrower);
  waot_tag_delete(wrong);
  waot_tagtype_delete(t_i64);
  waot_tag_delete(env.caught);
  waot_tag_delete(env.stray);
  waot_tagtype_delete(t_i32_f32);
  wasm_store_delete(store);
  wasm_module_delete(module);
  printf("tags: ok\n");
}
