/* GC objects made and written by the host (waot.h), on tests/capi/gc.wat: structs and arrays
 * of a module's types, fields and elements set (packed ones truncated), what the guest then
 * reads, and everything refused with a message: immutable fields and arrays, indices out of
 * range, values of the wrong type or of another store, types that are not structs or
 * arrays. */
#include "check.h"

/* gc.wat's types and exports, in order. */
enum { BYTES, POINT, FIXED };
enum { X, SMALL, ELEMENT, INNER_IS_BYTES };

static int32_t call(wasm_extern_t* f, wasm_ref_t* r, int32_t arg) {
  wasm_val_t a[] = {WASM_REF_VAL(r), WASM_I32_VAL(arg)}, out[] = {WASM_INIT_VAL};
  wasm_func_t* func = wasm_extern_as_func(f);
  wasm_val_vec_t args = {wasm_func_param_arity(func), a}, results = WASM_ARRAY_VEC(out);
  wasm_trap_t* trap = wasm_func_call(func, &args, &results);
  CHECK(!trap && out[0].kind == WASM_I32);
  return out[0].of.i32;
}

/* Whether `ok` failed with a message; deletes the message. */
static bool refused(bool ok, wasm_message_t* error) {
  bool said = !ok && error->size > 0;
  if (!ok) wasm_byte_vec_delete(error);
  return said;
}

void gc_objects(wasm_engine_t* engine, const char* path) {
  wasm_message_t error;
  wasm_module_t* module = waot_module_load(engine, path, &error);
  if (!module) fprintf(stderr, "%s\n", error.data);
  CHECK(module);
  wasm_store_t* store = wasm_store_new(engine);
  wasm_extern_vec_t none = WASM_EMPTY_VEC, e;
  wasm_instance_t* instance = wasm_instance_new(store, module, &none, NULL);
  CHECK(instance);
  wasm_instance_exports(instance, &e);

  wasm_val_t elements[] = {WASM_I32_VAL(1), WASM_I32_VAL(0x12345)};
  wasm_ref_t* bytes = waot_ref_array_new(store, module, BYTES, elements, 2, &error);
  uint32_t len = 0;
  CHECK(bytes && waot_ref_gc_kind(bytes) == WAOT_GC_ARRAY && waot_ref_array_len(bytes, &len, NULL) && len == 2);
  CHECK(call(e.data[ELEMENT], bytes, 1) == 0x2345);
  wasm_val_t fields[] = {WASM_I32_VAL(7), WASM_REF_VAL(bytes), WASM_I32_VAL(300)};
  wasm_ref_t* point = waot_ref_struct_new(store, module, POINT, fields, 3, &error);
  CHECK(point && waot_ref_gc_kind(point) == WAOT_GC_STRUCT);
  CHECK(call(e.data[X], point, 0) == 7 && call(e.data[SMALL], point, 0) == 44);
  CHECK(call(e.data[INNER_IS_BYTES], point, 0) == 1);

  /* Writes the guest sees. */
  wasm_val_t nine = WASM_I32_VAL(9), minus_one = WASM_I32_VAL(-1);
  CHECK(waot_ref_struct_set(point, 0, &nine, &error) && call(e.data[X], point, 0) == 9);
  CHECK(waot_ref_array_set(bytes, 0, &minus_one, &error) && call(e.data[ELEMENT], bytes, 0) == 0xffff);
  wasm_ref_t* i31 = waot_ref_i31_new(store, 5);
  wasm_val_t small = WASM_REF_VAL(i31);
  CHECK(waot_ref_struct_set(point, 1, &small, &error) && call(e.data[INNER_IS_BYTES], point, 0) == 0);
  wasm_val_t read;
  CHECK(waot_ref_struct_get(point, 1, &read, NULL));
  uint32_t v = 0;
  CHECK(waot_ref_i31_get(read.of.ref, false, &v) && v == 5);
  wasm_val_delete(&read);
  /* A host value fits an anyref field, as the guest's any.convert_extern makes it one. */
  wasm_ref_t* host = waot_ref_new_extern(store, 3);
  wasm_val_t ext = WASM_REF_VAL(host);
  uint64_t datum = 0;
  CHECK(waot_ref_struct_set(point, 1, &ext, &error) && waot_ref_struct_get(point, 1, &read, NULL));
  CHECK(waot_ref_extern_value(read.of.ref, &datum) && datum == 3);
  wasm_val_delete(&read);

  /* Refused, each with a message, the object unchanged. */
  wasm_val_t wide = WASM_I64_VAL(1);
  CHECK(refused(waot_ref_struct_set(point, 2, &nine, &error), &error)); /* immutable */
  CHECK(refused(waot_ref_struct_set(point, 3, &nine, &error), &error)); /* no such field */
  CHECK(refused(waot_ref_struct_set(point, 0, &wide, &error), &error)); /* wrong type */
  CHECK(refused(waot_ref_array_set(bytes, 2, &nine, &error), &error));  /* past the end */
  CHECK(refused(waot_ref_array_set(point, 0, &nine, &error), &error));  /* not an array */
  CHECK(refused(waot_ref_struct_set(bytes, 0, &nine, &error), &error)); /* not a struct */
  CHECK(refused(waot_ref_struct_set(host, 0, &nine, &error), &error)); /* not a GC object */
  wasm_store_t* other = wasm_store_new(engine);
  wasm_ref_t* foreign = waot_ref_array_new(other, module, BYTES, elements, 2, &error);
  CHECK(foreign);
  wasm_val_t foreign_val = WASM_REF_VAL(foreign);
  CHECK(refused(waot_ref_struct_set(point, 1, &foreign_val, &error), &error)); /* another store */
  fields[1] = foreign_val;
  CHECK(!waot_ref_struct_new(store, module, POINT, fields, 3, &error));
  wasm_byte_vec_delete(&error);
  fields[1].of.ref = bytes;
  wasm_ref_delete(foreign);
  wasm_store_delete(other);
  CHECK(call(e.data[X], point, 0) == 9 && call(e.data[ELEMENT], bytes, 1) == 0x2345);

  wasm_val_t one = WASM_I64_VAL(1);
  CHECK(!waot_ref_struct_new(store, module, BYTES, fields, 3, &error)); /* an array type */
  wasm_byte_vec_delete(&error);
  CHECK(!waot_ref_array_new(store, module, POINT, elements, 2, &error)); /* a struct type */
  wasm_byte_vec_delete(&error);
  CHECK(!waot_ref_struct_new(store, module, 99, NULL, 0, &error)); /* no such type */
  wasm_byte_vec_delete(&error);
  CHECK(!waot_ref_struct_new(store, module, POINT, fields, 2, &error)); /* a field short */
  wasm_byte_vec_delete(&error);
  wasm_ref_t* fixed = waot_ref_array_new(store, module, FIXED, &one, 1, &error);
  CHECK(fixed && refused(waot_ref_array_set(fixed, 0, &one, &error), &error)); /* immutable */
  wasm_ref_t* empty = waot_ref_array_new(store, module, BYTES, NULL, 0, &error);
  CHECK(empty && waot_ref_array_len(empty, &len, NULL) && len == 0);

  /* Released, they are collected; a released reference reads nothing. */
  waot_gc_stats_t before, after;
  waot_store_gc(store);
  waot_store_gc_stats(store, &before);
  waot_ref_gc_release(fixed);
  waot_ref_gc_release(empty);
  waot_store_gc(store);
  waot_store_gc_stats(store, &after);
  CHECK(after.heap_bytes < before.heap_bytes);
  CHECK(refused(waot_ref_array_len(empty, &len, &error), &error));
  CHECK(call(e.data[X], point, 0) == 9);

  wasm_ref_delete(fixed);
  wasm_ref_delete(empty);
  wasm_ref_delete(host);
  wasm_ref_delete(i31);
  wasm_ref_delete(point);
  wasm_ref_delete(bytes);
  wasm_extern_vec_delete(&e);
  wasm_instance_delete(instance);
  wasm_store_delete(store);
  wasm_module_delete(module);
  printf("gc objects from the host: ok\n");
}
