/* The standard WebAssembly C API, as waot implements it: the subset listed here, with the
 * standard's names, types and ownership rules. A function taking an `own` argument takes
 * ownership of it; one returning `own` hands ownership to the caller, who deletes it with the
 * matching `_delete`. Everything else is borrowed. Objects of a store must not outlive it. */
#ifndef WASM_H
#define WASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define own

typedef char byte_t;
typedef float float32_t;
typedef double float64_t;

/* Vectors: a size and an array the vector owns. One too large to allocate comes out empty
 * (size 0, data NULL). */
#define WASM_DECLARE_VEC(name, ptr_or_none)                                                  \
  typedef struct wasm_##name##_vec_t {                                                       \
    size_t size;                                                                             \
    wasm_##name##_t ptr_or_none* data;                                                       \
  } wasm_##name##_vec_t;                                                                     \
  void wasm_##name##_vec_new_empty(own wasm_##name##_vec_t* out);                            \
  void wasm_##name##_vec_new_uninitialized(own wasm_##name##_vec_t* out, size_t size);       \
  void wasm_##name##_vec_new(own wasm_##name##_vec_t* out, size_t size,                      \
                             own wasm_##name##_t ptr_or_none const data[]);                  \
  void wasm_##name##_vec_copy(own wasm_##name##_vec_t* out, const wasm_##name##_vec_t* src); \
  void wasm_##name##_vec_delete(own wasm_##name##_vec_t* vec);

typedef byte_t wasm_byte_t;
WASM_DECLARE_VEC(byte, )
typedef wasm_byte_vec_t wasm_name_t;
/* A message: its bytes end with a NUL, which `size` counts. */
typedef wasm_byte_vec_t wasm_message_t;

/* Runtime objects. */
typedef struct wasm_engine_t wasm_engine_t;
typedef struct wasm_store_t wasm_store_t;
typedef struct wasm_module_t wasm_module_t;
typedef struct wasm_instance_t wasm_instance_t;
typedef struct wasm_extern_t wasm_extern_t;
typedef struct wasm_func_t wasm_func_t;
typedef struct wasm_global_t wasm_global_t;
typedef struct wasm_table_t wasm_table_t;
typedef struct wasm_memory_t wasm_memory_t;
typedef struct wasm_trap_t wasm_trap_t;
typedef struct wasm_frame_t wasm_frame_t;
typedef struct wasm_ref_t wasm_ref_t;

own wasm_engine_t* wasm_engine_new(void);
void wasm_engine_delete(own wasm_engine_t*);

own wasm_store_t* wasm_store_new(wasm_engine_t*);
void wasm_store_delete(own wasm_store_t*);

/* Types. */
typedef uint8_t wasm_valkind_t;
enum wasm_valkind_enum {
  WASM_I32 = 0,
  WASM_I64 = 1,
  WASM_F32 = 2,
  WASM_F64 = 3,
  WASM_EXTERNREF = 128,
  WASM_FUNCREF = 129,
};

typedef struct wasm_valtype_t wasm_valtype_t;
WASM_DECLARE_VEC(valtype, *)
own wasm_valtype_t* wasm_valtype_new(wasm_valkind_t);
wasm_valkind_t wasm_valtype_kind(const wasm_valtype_t*);
own wasm_valtype_t* wasm_valtype_copy(const wasm_valtype_t*);
void wasm_valtype_delete(own wasm_valtype_t*);

typedef struct wasm_functype_t wasm_functype_t;
own wasm_functype_t* wasm_functype_new(own wasm_valtype_vec_t* params,
                                       own wasm_valtype_vec_t* results);
const wasm_valtype_vec_t* wasm_functype_params(const wasm_functype_t*);
const wasm_valtype_vec_t* wasm_functype_results(const wasm_functype_t*);
own wasm_functype_t* wasm_functype_copy(const wasm_functype_t*);
void wasm_functype_delete(own wasm_functype_t*);

typedef struct wasm_limits_t {
  uint32_t min;
  uint32_t max;
} wasm_limits_t;
static const uint32_t wasm_limits_max_default = 0xffffffff;

typedef struct wasm_memorytype_t wasm_memorytype_t;
own wasm_memorytype_t* wasm_memorytype_new(const wasm_limits_t*);
const wasm_limits_t* wasm_memorytype_limits(const wasm_memorytype_t*);
void wasm_memorytype_delete(own wasm_memorytype_t*);

typedef uint8_t wasm_mutability_t;
enum wasm_mutability_enum { WASM_CONST = 0, WASM_VAR = 1 };
typedef struct wasm_globaltype_t wasm_globaltype_t;
own wasm_globaltype_t* wasm_globaltype_new(own wasm_valtype_t*, wasm_mutability_t);
const wasm_valtype_t* wasm_globaltype_content(const wasm_globaltype_t*);
wasm_mutability_t wasm_globaltype_mutability(const wasm_globaltype_t*);
void wasm_globaltype_delete(own wasm_globaltype_t*);

typedef struct wasm_tabletype_t wasm_tabletype_t;
own wasm_tabletype_t* wasm_tabletype_new(own wasm_valtype_t* element, const wasm_limits_t*);
const wasm_valtype_t* wasm_tabletype_element(const wasm_tabletype_t*);
const wasm_limits_t* wasm_tabletype_limits(const wasm_tabletype_t*);
own wasm_tabletype_t* wasm_tabletype_copy(const wasm_tabletype_t*);
void wasm_tabletype_delete(own wasm_tabletype_t*);
own wasm_memorytype_t* wasm_memorytype_copy(const wasm_memorytype_t*);
own wasm_globaltype_t* wasm_globaltype_copy(const wasm_globaltype_t*);

typedef uint8_t wasm_externkind_t;
enum wasm_externkind_enum {
  WASM_EXTERN_FUNC = 0,
  WASM_EXTERN_GLOBAL = 1,
  WASM_EXTERN_TABLE = 2,
  WASM_EXTERN_MEMORY = 3,
};

/* The type of an external; the four kinds of type convert to and from it in place. */
typedef struct wasm_externtype_t wasm_externtype_t;
wasm_externkind_t wasm_externtype_kind(const wasm_externtype_t*);
own wasm_externtype_t* wasm_externtype_copy(const wasm_externtype_t*);
void wasm_externtype_delete(own wasm_externtype_t*);
wasm_externtype_t* wasm_functype_as_externtype(wasm_functype_t*);
wasm_externtype_t* wasm_globaltype_as_externtype(wasm_globaltype_t*);
wasm_externtype_t* wasm_tabletype_as_externtype(wasm_tabletype_t*);
wasm_externtype_t* wasm_memorytype_as_externtype(wasm_memorytype_t*);
const wasm_externtype_t* wasm_functype_as_externtype_const(const wasm_functype_t*);
const wasm_externtype_t* wasm_globaltype_as_externtype_const(const wasm_globaltype_t*);
const wasm_externtype_t* wasm_tabletype_as_externtype_const(const wasm_tabletype_t*);
const wasm_externtype_t* wasm_memorytype_as_externtype_const(const wasm_memorytype_t*);
/* NULL when the type is of another kind. */
wasm_functype_t* wasm_externtype_as_functype(wasm_externtype_t*);
wasm_globaltype_t* wasm_externtype_as_globaltype(wasm_externtype_t*);
wasm_tabletype_t* wasm_externtype_as_tabletype(wasm_externtype_t*);
wasm_memorytype_t* wasm_externtype_as_memorytype(wasm_externtype_t*);
const wasm_functype_t* wasm_externtype_as_functype_const(const wasm_externtype_t*);
const wasm_globaltype_t* wasm_externtype_as_globaltype_const(const wasm_externtype_t*);
const wasm_tabletype_t* wasm_externtype_as_tabletype_const(const wasm_externtype_t*);
const wasm_memorytype_t* wasm_externtype_as_memorytype_const(const wasm_externtype_t*);

/* A module's imports and exports. Names are not NUL-terminated. */
typedef struct wasm_importtype_t wasm_importtype_t;
WASM_DECLARE_VEC(importtype, *)
const wasm_name_t* wasm_importtype_module(const wasm_importtype_t*);
const wasm_name_t* wasm_importtype_name(const wasm_importtype_t*);
const wasm_externtype_t* wasm_importtype_type(const wasm_importtype_t*);
void wasm_importtype_delete(own wasm_importtype_t*);

typedef struct wasm_exporttype_t wasm_exporttype_t;
WASM_DECLARE_VEC(exporttype, *)
const wasm_name_t* wasm_exporttype_name(const wasm_exporttype_t*);
const wasm_externtype_t* wasm_exporttype_type(const wasm_exporttype_t*);
void wasm_exporttype_delete(own wasm_exporttype_t*);

/* References: a function or a host datum (waot.h makes externrefs). A null reference is a
 * null pointer. A wasm_val_t owns its reference: wasm_val_delete deletes it, wasm_val_copy
 * copies it, and a host callback's arguments are lent to it for the call only. */
own wasm_ref_t* wasm_ref_copy(const wasm_ref_t*);
void wasm_ref_delete(own wasm_ref_t*);
bool wasm_ref_same(const wasm_ref_t*, const wasm_ref_t*);

typedef struct wasm_val_t {
  wasm_valkind_t kind;
  union {
    int32_t i32;
    int64_t i64;
    float32_t f32;
    float64_t f64;
    wasm_ref_t* ref;
  } of;
} wasm_val_t;
WASM_DECLARE_VEC(val, )
void wasm_val_delete(own wasm_val_t*);
void wasm_val_copy(own wasm_val_t* out, const wasm_val_t*);

/* Frames and traps. */
WASM_DECLARE_VEC(frame, *)
own wasm_frame_t* wasm_frame_copy(const wasm_frame_t*);
void wasm_frame_delete(own wasm_frame_t*);
/* The function's index in its module (imports included). Offsets and the instance are not
 * recorded by waot's traps yet. */
uint32_t wasm_frame_func_index(const wasm_frame_t*);

own wasm_trap_t* wasm_trap_new(wasm_store_t*, const wasm_message_t*);
void wasm_trap_message(const wasm_trap_t*, own wasm_message_t* out);
own wasm_frame_t* wasm_trap_origin(const wasm_trap_t*);
void wasm_trap_trace(const wasm_trap_t*, own wasm_frame_vec_t* out);
void wasm_trap_delete(own wasm_trap_t*);

/* Modules: from a waot artifact's bytes (a shared object or a universal wasm) or a plain wasm
 * (compiled on first use by waotc, cached). waot.h loads one from a file. */
own wasm_module_t* wasm_module_new(wasm_store_t*, const wasm_byte_vec_t* binary);
void wasm_module_delete(own wasm_module_t*);
/* In the module's order, without tags (which the C API has no kind for). */
void wasm_module_imports(const wasm_module_t*, own wasm_importtype_vec_t* out);
void wasm_module_exports(const wasm_module_t*, own wasm_exporttype_vec_t* out);

/* Functions. */
typedef own wasm_trap_t* (*wasm_func_callback_t)(const wasm_val_vec_t* args,
                                                 own wasm_val_vec_t* results);
typedef own wasm_trap_t* (*wasm_func_callback_with_env_t)(void* env, const wasm_val_vec_t* args,
                                                          own wasm_val_vec_t* results);
own wasm_func_t* wasm_func_new(wasm_store_t*, const wasm_functype_t*, wasm_func_callback_t);
own wasm_func_t* wasm_func_new_with_env(wasm_store_t*, const wasm_functype_t* type,
                                        wasm_func_callback_with_env_t, void* env,
                                        void (*finalizer)(void*));
own wasm_functype_t* wasm_func_type(const wasm_func_t*);
size_t wasm_func_param_arity(const wasm_func_t*);
size_t wasm_func_result_arity(const wasm_func_t*);
own wasm_trap_t* wasm_func_call(const wasm_func_t*, const wasm_val_vec_t* args,
                                wasm_val_vec_t* results);
own wasm_func_t* wasm_func_copy(const wasm_func_t*);
void wasm_func_delete(own wasm_func_t*);
/* The casts between a function and its reference borrow: the result lives as long as the
 * argument. A host function becomes a table element once an instance has imported it. */
wasm_ref_t* wasm_func_as_ref(wasm_func_t*);
const wasm_ref_t* wasm_func_as_ref_const(const wasm_func_t*);
wasm_func_t* wasm_ref_as_func(wasm_ref_t*);
const wasm_func_t* wasm_ref_as_func_const(const wasm_ref_t*);

/* Globals. */
own wasm_global_t* wasm_global_new(wasm_store_t*, const wasm_globaltype_t*, const wasm_val_t*);
own wasm_globaltype_t* wasm_global_type(const wasm_global_t*);
void wasm_global_get(const wasm_global_t*, own wasm_val_t* out);
void wasm_global_set(wasm_global_t*, const wasm_val_t*);
void wasm_global_delete(own wasm_global_t*);

/* Memories. */
typedef uint32_t wasm_memory_pages_t;
static const size_t MEMORY_PAGE_SIZE = 0x10000;
own wasm_memory_t* wasm_memory_new(wasm_store_t*, const wasm_memorytype_t*);
own wasm_memorytype_t* wasm_memory_type(const wasm_memory_t*);
byte_t* wasm_memory_data(wasm_memory_t*);
size_t wasm_memory_data_size(const wasm_memory_t*);
wasm_memory_pages_t wasm_memory_size(const wasm_memory_t*);
bool wasm_memory_grow(wasm_memory_t*, wasm_memory_pages_t delta);
void wasm_memory_delete(own wasm_memory_t*);

/* Tables. References passed in are borrowed (null for the null reference); wasm_table_get's
 * result is the caller's, null for a null element or an index past the end. */
typedef uint32_t wasm_table_size_t;
own wasm_table_t* wasm_table_new(wasm_store_t*, const wasm_tabletype_t*, wasm_ref_t* init);
own wasm_tabletype_t* wasm_table_type(const wasm_table_t*);
own wasm_ref_t* wasm_table_get(const wasm_table_t*, wasm_table_size_t index);
bool wasm_table_set(wasm_table_t*, wasm_table_size_t index, wasm_ref_t*);
wasm_table_size_t wasm_table_size(const wasm_table_t*);
bool wasm_table_grow(wasm_table_t*, wasm_table_size_t delta, wasm_ref_t* init);
void wasm_table_delete(own wasm_table_t*);

/* Externals: a function, global, table or memory; the casts return the same object. */
WASM_DECLARE_VEC(extern, *)
wasm_externkind_t wasm_extern_kind(const wasm_extern_t*);
own wasm_extern_t* wasm_extern_copy(const wasm_extern_t*);
void wasm_extern_delete(own wasm_extern_t*);
wasm_extern_t* wasm_func_as_extern(wasm_func_t*);
wasm_extern_t* wasm_global_as_extern(wasm_global_t*);
wasm_extern_t* wasm_table_as_extern(wasm_table_t*);
wasm_extern_t* wasm_memory_as_extern(wasm_memory_t*);
wasm_func_t* wasm_extern_as_func(wasm_extern_t*);
wasm_global_t* wasm_extern_as_global(wasm_extern_t*);
wasm_table_t* wasm_extern_as_table(wasm_extern_t*);
wasm_memory_t* wasm_extern_as_memory(wasm_extern_t*);

/* Instances: imports in the module's import order; exports in the module's export order,
 * without tags. */
own wasm_instance_t* wasm_instance_new(wasm_store_t*, const wasm_module_t*,
                                       const wasm_extern_vec_t* imports, own wasm_trap_t** trap);
void wasm_instance_exports(const wasm_instance_t*, own wasm_extern_vec_t* out);
void wasm_instance_delete(own wasm_instance_t*);

/* Convenience. */
#define WASM_EMPTY_VEC {0, NULL}
#define WASM_ARRAY_VEC(array) {sizeof(array) / sizeof(*(array)), array}
#define WASM_I32_VAL(i) {.kind = WASM_I32, .of = {.i32 = i}}
#define WASM_I64_VAL(i) {.kind = WASM_I64, .of = {.i64 = i}}
#define WASM_F32_VAL(z) {.kind = WASM_F32, .of = {.f32 = z}}
#define WASM_F64_VAL(z) {.kind = WASM_F64, .of = {.f64 = z}}
/* A non-null reference's own kind is what counts; the kind given matters for null only. */
#define WASM_REF_VAL(r) {.kind = WASM_EXTERNREF, .of = {.ref = r}}
#define WASM_INIT_VAL {.kind = WASM_EXTERNREF, .of = {.ref = NULL}}

#ifdef __cplusplus
}
#endif

#endif
