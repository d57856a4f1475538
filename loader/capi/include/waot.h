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
 * or compiles a plain wasm through the cache. */
own wasm_module_t* waot_module_load(wasm_engine_t*, const char* path, own wasm_message_t* error);

/* The trap's kind (TrapCode: 0 unreachable ... 16 interrupted, 17 out of fuel), or false for a
 * trap a host function raised. */
bool waot_trap_code(const wasm_trap_t*, uint32_t* code);

/* An externref carrying a host datum the guest can hold but not read (UINT64_MAX cannot be
 * carried: NULL), and the datum of one (false for another reference). */
own wasm_ref_t* waot_ref_new_extern(wasm_store_t*, uint64_t value);
bool waot_ref_extern_value(const wasm_ref_t*, uint64_t* value);

/* Fuel (modules compiled with `waotc --fuel`): a budget of instructions. */
bool waot_store_set_fuel(wasm_store_t*, uint64_t fuel, own wasm_message_t* error);
uint64_t waot_store_fuel_consumed(const wasm_store_t*);

/* Interruption from any thread (modules compiled with `waotc --interruptible`). A handle may
 * outlive its store and be used from any thread. */
typedef struct waot_interrupt_handle_t waot_interrupt_handle_t;
own waot_interrupt_handle_t* waot_store_interrupt_handle(wasm_store_t*, own wasm_message_t* error);
void waot_interrupt_handle_interrupt(const waot_interrupt_handle_t*);
void waot_interrupt_handle_delete(own waot_interrupt_handle_t*);

/* The most bytes the store's memories may hold together; memory.grow past it returns -1. */
void waot_store_set_memory_limit(wasm_store_t*, uint64_t bytes);

#ifdef __cplusplus
}
#endif

#endif
