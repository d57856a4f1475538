/* waot's extensions to the WebAssembly C API (wasm.h): loading artifacts from files, limits,
 * and trap details. Functions that can fail return false (or NULL) and, when `error` is not
 * NULL, fill it with a one-line message the caller deletes with wasm_byte_vec_delete. */
#ifndef WAOT_H
#define WAOT_H

#include "wasm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Loads a `.so` or universal wasm made by waotc (checked before any of its code is mapped),
 * or compiles a plain wasm through the cache (~/.cache/waot, by the waotc beside the program
 * or named by WAOTC). A universal wasm whose native code cannot run here (another CPU or
 * target, an untrusted signature, altered bytes) is compiled again from its wasm the same
 * way, unless the engine asks for the interpreter (below). */
own wasm_module_t* waot_module_load(wasm_engine_t*, const char* path, own wasm_message_t* error);

/* Where the modules that waot_module_load (with this engine) and wasm_module_new (with a store
 * made from it afterwards) give run:
 * - WAOT_INTERPRETER_NEVER (the default): native code, or else the module compiled for this
 *   host on load, as above;
 * - WAOT_INTERPRETER_FALLBACK: native code, or else the interpreter (wasmi), with no compiler
 *   (a plain wasm, or a universal one whose native code cannot run here);
 * - WAOT_INTERPRETER_ALWAYS: the interpreter, for every module (a `.so`'s embedded wasm).
 * The interpreter refuses, with a message naming the feature, modules that use exception
 * handling, GC, typed function references or threads. An interpreted module's instances,
 * functions, memories, globals and tables are used through the same functions as native ones,
 * with fuel, interruption and the memory limit below. Functions cross between the two: an
 * interpreted instance imports host functions and native instances' functions, and a native
 * instance imports interpreted functions. Memories, globals and tables do not: an interpreted
 * instance imports those of interpreted instances only (not wasm_memory_new's), and native
 * ones of native instances or the host only. The interpreter links imports by name: two
 * imports of one name must be given the same external. Function references of interpreted
 * code reach C (wasm_func_as_ref, wasm_table_get, globals, call results) and come back to the
 * interpreted code of their store (call arguments, wasm_table_set and _grow, globals);
 * wasm_ref_as_func gives a function C can call, with the fuel and frames of the instance the
 * reference left through. They are no values for native code, nor arguments of host
 * functions (a host function's result may be one of its store's), nor for another store: a
 * trap or false, as for any value of the wrong store; one kept after its store's end makes no
 * function (wasm_ref_as_func returns NULL). False for an unknown mode. */
#define WAOT_INTERPRETER_NEVER 0
#define WAOT_INTERPRETER_FALLBACK 1
#define WAOT_INTERPRETER_ALWAYS 2
bool waot_engine_set_interpreter(wasm_engine_t*, uint8_t mode);

/* Whether the module runs in the interpreter. */
bool waot_module_interpreted(const wasm_module_t*);

/* For a module compiled with `waotc --profile-generate`: how often each of its functions ran
 * (entries and loop iterations), in every instance in this process so far, as the text
 * `wrun --profile-out` writes, for `waotc --profile FILE`. False, and `out` empty, for other
 * modules. Neither argument may be NULL. */
bool waot_module_profile(const wasm_module_t*, own wasm_byte_vec_t* out);

/* The trap's kind (TrapCode: 0 unreachable ... 16 interrupted, 17 out of fuel), or false for a
 * trap a host function raised. */
bool waot_trap_code(const wasm_trap_t*, uint32_t* code);

/* The payload of an exception that no wasm handler caught, when that is what the trap is
 * (false otherwise, when a value has no kind in wasm_val_t: v128, exnref, or when the
 * exception was thrown in another store than the called function's, whose host function
 * passed that store's trap on). */
bool waot_trap_exception(const wasm_trap_t*, own wasm_val_vec_t* payload);

/* Exception tags. wasm.h has no external kind for them: a tag is an external of kind
 * WAOT_EXTERN_TAG, listed by wasm_module_imports/exports and wasm_instance_exports in the
 * module's order and given to wasm_instance_new like any import, so a module without tags
 * sees only wasm.h's kinds. A tag type is an external type holding the parameters. Tags match
 * an import by type, and two tags are the same only if one is the other (waot_tag_same):
 * a handler catches exactly its own tag's exceptions. A host function throws into its wasm
 * caller by returning waot_trap_new_exception's trap; an exception no handler catches
 * reaches the host as the call's trap, whose tag waot_trap_exception_tag gives (NULL for an
 * exception of another store, passed on by a host function). waot_trap_new_exception returns NULL when the tag is not the
 * store's or the payload does not match the tag's parameters (a v128 cannot be given in a
 * wasm_val_t); its payload is borrowed, and the exception it makes is kept until it is
 * thrown (or, if never returned from a callback, until the store is deleted), then as long as
 * something reaches it. waot_tag_new makes a tag of a plain function type of its parameters: it matches a
 * module's tag import of such a type (not one in a recursion group or with a supertype) whose
 * parameters have C kinds; a tag import of another type takes a tag another instance exports.
 * In types (import and export lists, wasm_func_type, wasm_global_type, wasm_table_type,
 * waot_tag_type), an exnref, whose values never cross, is of kind WAOT_EXNREF, and any other
 * reference C has no kind for reports the kind its values cross as (WASM_FUNCREF for typed
 * function references, WASM_EXTERNREF for GC ones). */
#define WAOT_EXTERN_TAG ((wasm_externkind_t)4)
#define WAOT_EXNREF ((wasm_valkind_t)5)
typedef struct waot_tagtype_t waot_tagtype_t;
own waot_tagtype_t* waot_tagtype_new(own wasm_valtype_vec_t* params);
const wasm_valtype_vec_t* waot_tagtype_params(const waot_tagtype_t*);
void waot_tagtype_delete(own waot_tagtype_t*);
own waot_tagtype_t* waot_tagtype_copy(const waot_tagtype_t*);
wasm_externtype_t* waot_tagtype_as_externtype(waot_tagtype_t*);
const wasm_externtype_t* waot_tagtype_as_externtype_const(const waot_tagtype_t*);
waot_tagtype_t* waot_externtype_as_tagtype(wasm_externtype_t*);
const waot_tagtype_t* waot_externtype_as_tagtype_const(const wasm_externtype_t*);
typedef struct waot_tag_t waot_tag_t;
own waot_tag_t* waot_tag_new(wasm_store_t*, const waot_tagtype_t*);
own waot_tagtype_t* waot_tag_type(const waot_tag_t*);
own waot_tag_t* waot_tag_copy(const waot_tag_t*);
bool waot_tag_same(const waot_tag_t*, const waot_tag_t*);
void waot_tag_delete(own waot_tag_t*);
wasm_extern_t* waot_tag_as_extern(waot_tag_t*);
waot_tag_t* waot_extern_as_tag(wasm_extern_t*);
own wasm_trap_t* waot_trap_new_exception(wasm_store_t*, const waot_tag_t*, const wasm_val_vec_t* payload);
own waot_tag_t* waot_trap_exception_tag(const wasm_trap_t*);

/* WASI preview 1. A configuration collects arguments (argv[0] first), environment variables,
 * preopened directories and the standard streams: inherited from the host unless put in
 * memory, where stdin reads the given bytes and stdout/stderr are captured, up to a limit. */
typedef struct waot_wasi_config_t waot_wasi_config_t;
own waot_wasi_config_t* waot_wasi_config_new(void);
void waot_wasi_config_delete(own waot_wasi_config_t*);
void waot_wasi_config_arg(waot_wasi_config_t*, const char* arg);
void waot_wasi_config_env(waot_wasi_config_t*, const char* name, const char* value);
void waot_wasi_config_preopen_dir(waot_wasi_config_t*, const char* host_path, const char* guest_path);
bool waot_wasi_config_stdio_memory(waot_wasi_config_t*, uint32_t fd, const wasm_byte_vec_t* stdin_bytes);
/* The most bytes an in-memory stream may hold (default 64 MiB): a guest write past it is
 * shortened to fit, then fails with EFBIG. */
void waot_wasi_config_capture_limit(waot_wasi_config_t*, uint64_t bytes);

/* A store's WASI context, made from a configuration it takes (NULL, with a message, when a
 * directory cannot be opened). waot_wasi_imports fills `out` with a module's imports in
 * wasm_instance_new's order: the WASI function for each WASI import, NULL for the others,
 * which the host fills in; it returns how many are NULL. */
typedef struct waot_wasi_t waot_wasi_t;
own waot_wasi_t* waot_wasi_new(wasm_store_t*, own waot_wasi_config_t*, own wasm_message_t* error);
size_t waot_wasi_imports(const waot_wasi_t*, const wasm_module_t*, own wasm_extern_vec_t* out);
/* What the guest wrote to a stream in memory (1 stdout, 2 stderr; 0 gives stdin's bytes). */
bool waot_wasi_output(const waot_wasi_t*, uint32_t fd, own wasm_byte_vec_t* out);
void waot_wasi_delete(own waot_wasi_t*);
/* The status the guest passed to proc_exit, when that is what ended the call. */
bool waot_trap_exit_status(const wasm_trap_t*, int32_t* status);

/* An externref carrying a host datum the guest can hold but not read (a datum above
 * 2^62 - 1 cannot be carried: NULL), and the datum of one (false for another reference). */
own wasm_ref_t* waot_ref_new_extern(wasm_store_t*, uint64_t value);
bool waot_ref_extern_value(const wasm_ref_t*, uint64_t* value);

/* GC references (structs, arrays, i31) cross as references of the externref kind.
 * waot_ref_gc_kind says which (WAOT_GC_NONE for null or another reference). A field or
 * element read is a value the caller owns (a packed one zero-extended to i32); `out` may be
 * NULL. A reference read outside host callbacks is kept by the store until
 * waot_ref_gc_release or the store's deletion; one read inside a callback is valid for that
 * call only, unless waot_ref_gc_keep keeps it. The reads return false, with a message in
 * `error` (the caller's to delete), for the wrong kind of reference, an index out of range, a
 * reference the store no longer knows, or a v128 field (no C kind). The reference's store
 * must still exist. waot_store_gc frees every object nothing reaches. */
enum { WAOT_GC_NONE = 0, WAOT_GC_I31 = 1, WAOT_GC_STRUCT = 2, WAOT_GC_ARRAY = 3 };
uint8_t waot_ref_gc_kind(const wasm_ref_t*);
own wasm_ref_t* waot_ref_i31_new(wasm_store_t*, uint32_t value);
bool waot_ref_i31_get(const wasm_ref_t*, bool sign_extend, uint32_t* value);
bool waot_ref_struct_get(const wasm_ref_t*, uint32_t field, own wasm_val_t* out, own wasm_message_t* error);
bool waot_ref_array_len(const wasm_ref_t*, uint32_t* length, own wasm_message_t* error);
bool waot_ref_array_get(const wasm_ref_t*, uint32_t index, own wasm_val_t* out, own wasm_message_t* error);
/* The host makes and writes GC objects too: a struct or array of a module's type (its index
 * in the module's type section), with one value per field or element (borrowed; an i32 for a
 * packed one, truncated), in the given store, kept as a read is; and mutable fields and
 * elements set. Values are checked against the field's type as a call's arguments are (a
 * reference of another store is refused; a host externref fits an anyref field, as the guest's
 * any.convert_extern makes it one). NULL or false, with
 * a message, for a type that is not a struct or array, a count that does
 * not match, an immutable or missing field, an index out of range. */
own wasm_ref_t* waot_ref_struct_new(wasm_store_t*, const wasm_module_t*, uint32_t type_index,
                                    const wasm_val_t* fields, size_t n, own wasm_message_t* error);
own wasm_ref_t* waot_ref_array_new(wasm_store_t*, const wasm_module_t*, uint32_t type_index,
                                   const wasm_val_t* elements, size_t n, own wasm_message_t* error);
bool waot_ref_struct_set(wasm_ref_t*, uint32_t field, const wasm_val_t* value, own wasm_message_t* error);
bool waot_ref_array_set(wasm_ref_t*, uint32_t index, const wasm_val_t* value, own wasm_message_t* error);
bool waot_ref_gc_keep(const wasm_ref_t*, own wasm_message_t* error);
void waot_ref_gc_release(const wasm_ref_t*);
typedef struct waot_gc_stats_t {
  uint64_t collections;
  uint64_t pauses; /* each step of incremental marking is one */
  uint64_t longest_pause_ns;
  uint64_t total_pause_ns;
  uint64_t heap_bytes;
} waot_gc_stats_t;
void waot_store_gc(wasm_store_t*);
void waot_store_gc_stats(const wasm_store_t*, waot_gc_stats_t* out);

/* v128 values. wasm_val_t has eight bytes of payload, so a v128 crosses in waot_val_t: the same
 * kinds plus WAOT_V128, with a 16-byte payload (lane bytes in memory order, lane 0 first). A
 * function or global type with a v128 reports WAOT_V128 as that value type's kind, and
 * wasm_valtype_new(WAOT_V128) makes one. wasm.h's functions refuse a v128: wasm_func_call
 * traps (its message names waot_func_call), wasm_func_new returns NULL, wasm_global_get gives
 * a null reference and wasm_global_set leaves the global. The functions below take every
 * kind. Ownership as in wasm.h: arguments' references are lent, results' owned by the caller
 * (waot_val_delete frees one). waot_func_new's callback gets the arguments and fills one
 * slot per result; its finalizer runs once when the function is gone, and not at all when no
 * function was made (NULL: a type with an unknown kind). */
#define WAOT_V128 ((wasm_valkind_t)4)
typedef struct waot_val_t {
  wasm_valkind_t kind;
  union {
    int32_t i32;
    int64_t i64;
    float32_t f32;
    float64_t f64;
    struct wasm_ref_t* ref;
    uint8_t v128[16];
  } of;
} waot_val_t;
void waot_val_delete(own waot_val_t*);
void waot_val_copy(own waot_val_t* out, const waot_val_t*);
own wasm_trap_t* waot_func_call(const wasm_func_t*, const waot_val_t* args, size_t nargs,
                                waot_val_t* results, size_t nresults);
typedef own wasm_trap_t* (*waot_func_callback_t)(void* env, const waot_val_t* args,
                                                 own waot_val_t* results);
own wasm_func_t* waot_func_new(wasm_store_t*, const wasm_functype_t*, waot_func_callback_t,
                               void* env, void (*finalizer)(void*));
own wasm_global_t* waot_global_new(wasm_store_t*, const wasm_globaltype_t*, const waot_val_t*);
bool waot_global_get(const wasm_global_t*, own waot_val_t* out, own wasm_message_t* error);
bool waot_global_set(wasm_global_t*, const waot_val_t*, own wasm_message_t* error);

/* Fuel (modules compiled with `waotc --fuel`, and interpreted ones): a budget of instructions,
 * one for both: what native code spends, interpreted code does not get, and the reverse. The
 * interpreter counts in its own units (about one per instruction) and stops before the
 * first block it cannot pay for. */
bool waot_store_set_fuel(wasm_store_t*, uint64_t fuel, own wasm_message_t* error);
uint64_t waot_store_fuel_consumed(const wasm_store_t*);
/* Called on the guest's thread when the store's fuel runs out, in native or interpreted code:
 * returns how much fuel to add, and the guest goes on where it stopped; 0 stops it with trap
 * code 17 (all fuel consumed). It is asked again until the guest's next step fits (the
 * interpreter may need many units at once, for a bulk memory operation). It may use the store:
 * a guest call it makes that runs out of fuel traps rather than calling it again, and fuel it
 * sets is added to. A NULL callback removes it. The finalizer, if any, runs with env once the
 * callback is replaced, removed (at once, for a NULL callback with a finalizer), or its store
 * deleted; a callback replaced or removed while it runs (by itself) is finalized when it
 * returns, and not asked again. */
typedef uint64_t (*waot_fuel_refill_t)(void* env);
void waot_store_set_fuel_refill(wasm_store_t*, waot_fuel_refill_t refill, void* env,
                                void (*finalizer)(void*));

/* Interruption from any thread, of any module: the guest stops with trap code 16 wherever it
 * runs (a signal, SIGURG, reaches the thread running it; see ARCHITECTURE.md, "Limits: fuel
 * and interruption"), or as a host function it called returns. A handle may outlive its store
 * and be used from any thread; waot_interrupt_handle_interrupt is async-signal-safe (it may be
 * called from the host's own signal handler). The first handle installs a SIGURG handler
 * (chaining to any earlier one) and starts a thread that resends the signal. */
typedef struct waot_interrupt_handle_t waot_interrupt_handle_t;
own waot_interrupt_handle_t* waot_store_interrupt_handle(wasm_store_t*, own wasm_message_t* error);
void waot_interrupt_handle_interrupt(const waot_interrupt_handle_t*);
void waot_interrupt_handle_delete(own waot_interrupt_handle_t*);

/* The most bytes the store's memories may hold together; memory.grow past it returns -1. */
void waot_store_set_memory_limit(wasm_store_t*, uint64_t bytes);

/* What the store's guests have used so far. Memories never shrink while the store lives, so
 * memory_bytes is also the peak. fuel_consumed counts instructions of `--fuel` code. Nothing
 * is counted on the call path: time the calls you make to get time. */
typedef struct waot_store_stats_t {
  uint64_t fuel_consumed;
  uint64_t memory_bytes;
  uint64_t table_elements;
  uint64_t instances;
  uint64_t live_exceptions;
} waot_store_stats_t;
void waot_store_stats(const wasm_store_t*, waot_store_stats_t* out);

#ifdef __cplusplus
}
#endif

#endif
