//! Values of every kind from C, v128 included (`waot.h`): wasm.h's `wasm_val_t` has eight bytes
//! of payload, so a v128 travels in `waot_val_t`, the same kinds with a 16-byte payload. The
//! calls, host functions and globals here take it; wasm.h's refuse a v128 with a message that
//! names them.

use crate::externs::{boxed, wasm_func_t, wasm_global_t, Env};
use crate::runtime::wasm_store_t;
use crate::trap::wasm_trap_t;
use crate::types::{wasm_functype_t, wasm_globaltype_t};
use crate::values::{
    kind_of, wasm_ref_copy, wasm_ref_delete, wasm_ref_t, wasm_val_t, wasm_val_union,
    wasm_valkind_t, WAOT_V128, WASM_EXTERNREF, WASM_F32, WASM_F64, WASM_FUNCREF, WASM_I32,
    WASM_I64,
};
use crate::vec::{report, wasm_message_t};
use std::ffi::c_void;
use waot::{Extern, StoreData, Trap, Val};

#[repr(C)]
#[derive(Clone, Copy)]
pub union waot_val_union {
    pub i32: i32,
    pub i64: i64,
    pub f32: f32,
    pub f64: f64,
    pub ref_: *mut wasm_ref_t,
    /// Lane bytes in memory order (lane 0 first), as `v128.store` writes them.
    pub v128: [u8; 16],
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct waot_val_t {
    pub kind: wasm_valkind_t,
    pub of: waot_val_union,
}

// The layout waot.h declares: a kind byte, then the union at offset 8.
const _: () = assert!(std::mem::size_of::<waot_val_t>() == 24);
const _: () = assert!(std::mem::offset_of!(waot_val_t, of) == 8);

impl waot_val_t {
    /// The C form of `v`, owning a new reference for a non-null one.
    pub(crate) fn from_val(store: *mut StoreData, v: &Val) -> Result<waot_val_t, String> {
        if let Val::V128(bits) = *v {
            return Ok(waot_val_t {
                kind: WAOT_V128,
                of: waot_val_union {
                    v128: bits.to_le_bytes(),
                },
            });
        }
        let narrow = wasm_val_t::from_val(store, v)?;
        let mut of = waot_val_union { v128: [0; 16] };
        // SAFETY: `from_val` set the field its kind names; only that one is read.
        unsafe {
            match narrow.kind {
                WASM_I32 => of.i32 = narrow.of.i32,
                WASM_F32 => of.f32 = narrow.of.f32,
                WASM_I64 => of.i64 = narrow.of.i64,
                WASM_F64 => of.f64 = narrow.of.f64,
                _ => of.ref_ = narrow.of.ref_,
            }
        }
        Ok(waot_val_t {
            kind: narrow.kind,
            of,
        })
    }

    /// The value, its reference borrowed.
    pub(crate) fn to_val(self) -> Result<Val, String> {
        if self.kind == WAOT_V128 {
            // SAFETY: the kind says the v128 field is set.
            return Ok(Val::V128(u128::from_le_bytes(unsafe { self.of.v128 })));
        }
        // SAFETY: the kind says which field the caller set; only that one is read (C may
        // have left the rest of the union uninitialized).
        let of = unsafe {
            match self.kind {
                WASM_I32 => wasm_val_union { i32: self.of.i32 },
                WASM_F32 => wasm_val_union { f32: self.of.f32 },
                WASM_I64 => wasm_val_union { i64: self.of.i64 },
                WASM_F64 => wasm_val_union { f64: self.of.f64 },
                WASM_FUNCREF | WASM_EXTERNREF => wasm_val_union { ref_: self.of.ref_ },
                k => return Err(format!("unknown value kind {k}")),
            }
        };
        wasm_val_t {
            kind: self.kind,
            of,
        }
        .to_val()
    }

    fn is_ref(&self) -> bool {
        matches!(self.kind, WASM_FUNCREF | WASM_EXTERNREF)
    }

    /// Frees the value's reference, if it owns one.
    fn release(&mut self) {
        if self.is_ref() {
            // SAFETY: the value owns its reference (null or one this API made).
            unsafe { wasm_ref_delete(self.of.ref_) };
            self.of.ref_ = std::ptr::null_mut();
        }
    }
}

/// Frees the value's reference, if it has one.
#[no_mangle]
pub unsafe extern "C" fn waot_val_delete(v: *mut waot_val_t) {
    if let Some(v) = v.as_mut() {
        v.release();
    }
}

#[no_mangle]
pub unsafe extern "C" fn waot_val_copy(out: *mut waot_val_t, src: *const waot_val_t) {
    let mut copy = *src;
    if copy.is_ref() {
        copy.of.ref_ = wasm_ref_copy(copy.of.ref_);
    }
    out.write(copy);
}

/// `wasm_func_call` with values of every kind: `nargs` arguments (references lent), and
/// `nresults` slots, of which the function's results fill the first (owning their
/// references); null on success, a trap otherwise.
#[no_mangle]
pub unsafe extern "C" fn waot_func_call(
    f: *const wasm_func_t,
    args: *const waot_val_t,
    nargs: usize,
    results: *mut waot_val_t,
    nresults: usize,
) -> *mut wasm_trap_t {
    let args = match nargs {
        0 => &[][..],
        n => std::slice::from_raw_parts(args, n),
    };
    if crate::values::Crossing::of_func(&*f).exn_result {
        return wasm_trap_t::from_message("the C API has no value kind for an exnref result");
    }
    let arity = crate::externs::func_arity(f).1;
    if nresults < arity {
        return wasm_trap_t::from_message(
            "the results array has fewer slots than the function has results",
        );
    }
    let vals = match args
        .iter()
        .map(|a| a.to_val())
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(v) => v,
        Err(m) => return wasm_trap_t::from_message(&m),
    };
    let mut outs = vec![Val::I32(0); arity];
    // Copied first: a host function the call reaches may delete the function object.
    let store = (*f).0.store;
    if let Err(e) = crate::externs::func_call(f, &vals, &mut outs) {
        return wasm_trap_t::of_call(Some(store), e);
    }
    let mut converted = Vec::with_capacity(arity);
    for v in &outs {
        match waot_val_t::from_val(store, v) {
            Ok(c) => converted.push(c),
            Err(m) => {
                converted.iter_mut().for_each(waot_val_t::release);
                return wasm_trap_t::from_message(&m);
            }
        }
    }
    if arity > 0 {
        std::ptr::copy_nonoverlapping(converted.as_ptr(), results, arity);
    }
    std::ptr::null_mut()
}

type Callback =
    unsafe extern "C" fn(*mut c_void, *const waot_val_t, *mut waot_val_t) -> *mut wasm_trap_t;

/// A host function of type `ty` that any kind crosses, v128 included: `callback(env, args,
/// results)` gets the arguments (references lent for the call) and fills one slot per result
/// (references it gives). `finalizer(env)` runs once when the function is gone; not at all if
/// no function was made (null: a type with an unknown kind).
#[no_mangle]
pub unsafe extern "C" fn waot_func_new(
    store: *mut wasm_store_t,
    ty: *const wasm_functype_t,
    callback: Callback,
    env: *mut c_void,
    finalizer: Option<unsafe extern "C" fn(*mut c_void)>,
) -> *mut wasm_func_t {
    let Ok((params, results)) = (*ty).types() else {
        return std::ptr::null_mut();
    };
    let env = Env { env, finalizer };
    // Each result slot starts as its kind's zero, as wasm.h's host functions do.
    let kinds: Vec<u8> = results
        .iter()
        .map(|t| kind_of(*t).unwrap_or(WASM_EXTERNREF))
        .collect();
    let data = (*store).data();
    let f = (*data).func_new(&params, &results, move |caller, args, out| {
        // The whole environment (which is Send), not its pointer field, is what the closure
        // holds: its finalizer runs when the function is dropped.
        let env: &Env = &env;
        let store: *mut StoreData = &mut *caller.store;
        let mut c_args = args
            .iter()
            .map(|v| waot_val_t::from_val(store, v))
            .collect::<Result<Vec<_>, _>>()
            .map_err(Trap::host)?;
        let mut c_results: Vec<waot_val_t> = kinds
            .iter()
            .map(|&kind| waot_val_t {
                kind,
                of: waot_val_union { v128: [0; 16] },
            })
            .collect();
        // SAFETY: the embedder's callback, with arrays that live across the call.
        let trap = unsafe { callback(env.env, c_args.as_ptr(), c_results.as_mut_ptr()) };
        let converted = if trap.is_null() {
            out.iter_mut().zip(&c_results).try_for_each(|(slot, v)| {
                *slot = v.to_val().map_err(Trap::host)?;
                Ok(())
            })
        } else {
            // SAFETY: the callback hands over a trap it owns.
            Err(unsafe { Box::from_raw(trap) }.trap)
        };
        c_args.iter_mut().for_each(waot_val_t::release);
        c_results.iter_mut().for_each(waot_val_t::release);
        converted
    });
    boxed(data, Extern::Func(f)) as *mut wasm_func_t
}

/// A global of type `ty` holding `value` (its reference lent); null for a value of another
/// type.
#[no_mangle]
pub unsafe extern "C" fn waot_global_new(
    store: *mut wasm_store_t,
    ty: *const wasm_globaltype_t,
    value: *const waot_val_t,
) -> *mut wasm_global_t {
    crate::externs::new_global(store, ty, (*value).to_val())
}

/// The global's value, which the caller owns; false, with a message in `error`, if the store
/// no longer has it.
#[no_mangle]
pub unsafe extern "C" fn waot_global_get(
    g: *const wasm_global_t,
    out: *mut waot_val_t,
    error: *mut wasm_message_t,
) -> bool {
    let value = crate::externs::global_get(g)
        .map_err(|e| e.to_string())
        .and_then(|v| waot_val_t::from_val((*g).0.store, &v));
    match value {
        Ok(v) => {
            out.write(v);
            true
        }
        Err(m) => {
            report(error, &m);
            false
        }
    }
}

/// Sets a mutable global (`value`'s reference lent); false, with a message in `error`, for a
/// constant global or a value of another type.
#[no_mangle]
pub unsafe extern "C" fn waot_global_set(
    g: *mut wasm_global_t,
    value: *const waot_val_t,
    error: *mut wasm_message_t,
) -> bool {
    let set = (*value)
        .to_val()
        .and_then(|v| crate::externs::global_set(g, v).map_err(|e| e.to_string()));
    set.map_err(|m| report(error, &m)).is_ok()
}
