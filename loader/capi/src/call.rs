//! `wasm_func_call`. A compiled function is looked up once, at its first call, and kept in
//! the function object (`Prepared`). A function of numbers only takes the fast path: each
//! argument's kind is compared with the parameter's and its bits go straight into the slot the
//! trampoline reads, with no conversion to the library's `Val`s; everything else goes through
//! `Val`s, checked by the library.

use crate::externs::{wasm_func_t, Target};
use crate::trap::wasm_trap_t;
use crate::values::{kind_of, wasm_val_t, wasm_val_union, Crossing, WAOT_V128};
use crate::vec::wasm_val_vec_t;
use std::mem::MaybeUninit;
use waot::{PreparedCall, RawCall, Slot, Val};

/// Parameters and results kept on the stack; more go to the heap.
const INLINE: usize = 8;

#[derive(Clone)]
pub(crate) struct Prepared {
    call: PreparedCall,
    /// For a function of at most `INLINE` numeric parameters and results, their C kinds.
    numeric: Option<Kinds>,
}

/// Inline, so that preparing a function at its first call allocates nothing (a real-time
/// host's first call may be in its audio callback).
#[derive(Clone, Copy)]
struct Kinds {
    params: [u8; INLINE],
    results: [u8; INLINE],
    param_count: usize,
    result_count: usize,
}

impl Kinds {
    fn of(params: &[waot::ValType], results: &[waot::ValType]) -> Option<Kinds> {
        let mut k = Kinds {
            params: [0; INLINE],
            results: [0; INLINE],
            param_count: params.len(),
            result_count: results.len(),
        };
        if params.len() > INLINE || results.len() > INLINE {
            return None;
        }
        for (slot, t) in k.params.iter_mut().zip(params) {
            *slot = kind_of(*t)?;
        }
        for (slot, t) in k.results.iter_mut().zip(results) {
            *slot = kind_of(*t)?;
        }
        // A v128 does not fit in a `wasm_val_t`: the general path reports it.
        let v128 = k
            .params()
            .iter()
            .chain(k.results())
            .any(|&k| k == WAOT_V128);
        (!v128).then_some(k)
    }

    fn params(&self) -> &[u8] {
        &self.params[..self.param_count]
    }

    fn results(&self) -> &[u8] {
        &self.results[..self.result_count]
    }
}

impl Prepared {
    pub(crate) fn new(call: PreparedCall) -> Prepared {
        let numeric = match call.is_numeric() {
            true => Kinds::of(call.params(), call.results()),
            false => None,
        };
        Prepared { call, numeric }
    }
}

/// The bits of a numeric value, as its slot holds them: a kind with its low bit set
/// (`WASM_I64`, `WASM_F64`) is 8 bytes wide, the others 4, read at their own width (the union's
/// other 4 bytes may be anything the C caller left there). An f32's bits are read as an i32's.
#[inline(always)]
fn bits(v: &wasm_val_t) -> u64 {
    // SAFETY: the kind, checked by the caller to be a number's, says which field is set.
    unsafe {
        match v.kind & 1 {
            1 => v.of.i64 as u64,
            _ => v.of.i32 as u32 as u64,
        }
    }
}

/// A numeric result from its slot, read at its own width: the trampoline stored a 32-bit
/// result with a 4-byte store, and an 8-byte load of it could not take the value from the
/// store buffer (a stall of a dozen cycles on every call).
#[inline(always)]
unsafe fn from_slot(kind: u8, slot: *const Slot) -> wasm_val_t {
    // SAFETY (the caller's): the callee wrote the result's bytes to this slot.
    let of = match kind & 1 {
        1 => wasm_val_union {
            i64: slot.cast::<i64>().read(),
        },
        // The f32's bits are the slot's low 4 bytes, as an i32's are.
        _ => wasm_val_union {
            i64: slot.cast::<u32>().read() as i64,
        },
    };
    wasm_val_t { kind, of }
}

/// Calls the function; null on success with the results written to `results` (which must
/// have a slot for each), a trap otherwise. Up to 8 parameters and results, nothing is
/// allocated.
#[no_mangle]
pub unsafe extern "C" fn wasm_func_call(
    f: *const wasm_func_t,
    args: *const wasm_val_vec_t,
    results: *mut wasm_val_vec_t,
) -> *mut wasm_trap_t {
    if let Some(Some(Prepared {
        call,
        numeric: Some(kinds),
    })) = (*f).0.prepared.get()
    {
        // A null vector, or one with null data, is empty, as everywhere in the API.
        let (given, c_args) = match args.as_ref() {
            Some(a) if !a.data.is_null() => (a.size, a.data.cast_const()),
            _ => (0, std::ptr::null()),
        };
        let (room, c_results) = match results.as_mut() {
            Some(r) if !r.data.is_null() => (r.size, r.data),
            _ => (0, std::ptr::null_mut()),
        };
        if given != kinds.param_count || room < kinds.result_count {
            return wrong_arity(kinds, given);
        }
        return numeric_call(f, call.raw(), kinds, c_args, c_results);
    }
    let c_args = args.as_ref().map_or(&[][..], |a| a.as_slice());
    let c_results = match results.as_mut() {
        Some(r) if !r.data.is_null() && r.size > 0 => {
            std::slice::from_raw_parts_mut(r.data, r.size)
        }
        _ => &mut [],
    };
    first_or_general_call(f, c_args, c_results)
}

/// The first call (which prepares the function) and every call of a function that takes or
/// returns references: out of line, so that the usual call's path stays short.
#[inline(never)]
unsafe fn first_or_general_call(
    f: *const wasm_func_t,
    c_args: &[wasm_val_t],
    c_results: &mut [wasm_val_t],
) -> *mut wasm_trap_t {
    let prepared = (*f)
        .0
        .prepared
        .get_or_init(|| match wasm_func_t::handle(f) {
            Target::Native(store, h) => store.prepare(h).ok().flatten().map(Prepared::new),
            Target::Interp(..) => None,
        });
    if let Some(Prepared {
        call,
        numeric: Some(kinds),
    }) = prepared.as_ref()
    {
        if c_args.len() != kinds.param_count || c_results.len() < kinds.result_count {
            return wrong_arity(kinds, c_args.len());
        }
        return numeric_call(
            f,
            call.raw(),
            kinds,
            c_args.as_ptr(),
            c_results.as_mut_ptr(),
        );
    }
    // A copy: nothing of the function object is used once guest code runs.
    let call = prepared.as_ref().map(|p| p.call.clone());
    general_call(f, call, c_args, c_results)
}

/// Through `Val`s, checked by the library; apart, so that the fast path's frame stays small.
#[inline(never)]
unsafe fn general_call(
    f: *const wasm_func_t,
    prepared: Option<PreparedCall>,
    c_args: &[wasm_val_t],
    c_results: &mut [wasm_val_t],
) -> *mut wasm_trap_t {
    let arity = match &prepared {
        Some(p) => p.result_count(),
        None => match crate::externs::func_types(f) {
            Some((_, results)) => results.len(),
            None => return wasm_trap_t::from_message("the function's store has no such function"),
        },
    };
    // Refused before the call: results that cannot be handed back after its effects.
    let crossing = Crossing::of_func(&*f);
    if crossing.v128 {
        return wasm_trap_t::from_message(
            "a v128 does not fit in a wasm_val_t: waot_func_call takes waot_val_t",
        );
    }
    if crossing.exn_result {
        return wasm_trap_t::from_message("the C API has no value kind for an exnref result");
    }
    if c_results.len() < arity {
        return too_few_results();
    }
    // Values on the stack for up to INLINE parameters and results, only as many initialized
    // as are used: the call path allocates nothing and clears little.
    let mut arg_buf = [const { MaybeUninit::<Val>::uninit() }; INLINE];
    let mut result_buf = [const { MaybeUninit::<Val>::uninit() }; INLINE];
    let (mut arg_heap, mut result_heap) = (Vec::new(), Vec::new());
    let vals: &[Val] = if c_args.len() <= INLINE {
        for (slot, c) in arg_buf.iter_mut().zip(c_args) {
            match c.to_val() {
                Ok(x) => _ = slot.write(x),
                Err(m) => return wasm_trap_t::from_message(&m),
            }
        }
        // SAFETY: the first `c_args.len()` elements were written above.
        std::slice::from_raw_parts(arg_buf.as_ptr().cast::<Val>(), c_args.len())
    } else {
        for c in c_args {
            match c.to_val() {
                Ok(x) => arg_heap.push(x),
                Err(m) => return wasm_trap_t::from_message(&m),
            }
        }
        &arg_heap
    };
    let outs: &mut [Val] = if arity <= INLINE {
        for slot in &mut result_buf[..arity] {
            slot.write(Val::I32(0));
        }
        // SAFETY: the first `arity` elements were written above.
        std::slice::from_raw_parts_mut(result_buf.as_mut_ptr().cast::<Val>(), arity)
    } else {
        result_heap.resize(arity, Val::I32(0));
        &mut result_heap
    };
    // Nothing of the function object is read once guest code runs (a host function may
    // delete it): what the call needs is copied out of it first.
    let store_ptr = (*f).0.store;
    let outcome = match (prepared, wasm_func_t::handle(f)) {
        (Some(p), Target::Native(store, _)) => p.call(store, vals, outs),
        _ => crate::externs::func_call(f, vals, outs),
    };
    if let Err(e) = outcome {
        return wasm_trap_t::of_call(Some(store_ptr), e);
    }
    for (slot, v) in c_results.iter_mut().zip(outs.iter()) {
        match wasm_val_t::from_val(store_ptr, v) {
            Ok(c) => *slot = c,
            Err(m) => return wasm_trap_t::from_message(&m),
        }
    }
    std::ptr::null_mut()
}

fn too_few_results() -> *mut wasm_trap_t {
    wasm_trap_t::from_message("the results vector has fewer slots than the function has results")
}

/// The fast path: kinds compared, bits copied.
///
/// # Safety
/// `c_args` points to the function's number of parameters of values, `c_results` to room for
/// its results (either may dangle when there are none). `kinds` is the function object's,
/// read only before the call (a pointer, not a reference: the object may be gone after it).
#[inline(always)]
unsafe fn numeric_call(
    f: *const wasm_func_t,
    call: RawCall,
    kinds: *const Kinds,
    c_args: *const wasm_val_t,
    c_results: *mut wasm_val_t,
) -> *mut wasm_trap_t {
    // Not cleared: the callee reads only the parameters' bytes, written here, and writes the
    // results'.
    let mut slots = [const { MaybeUninit::<Slot>::uninit() }; INLINE];
    let base = slots.as_mut_ptr().cast::<Slot>();
    for (i, kind) in (*kinds).params().iter().enumerate() {
        let arg = &*c_args.add(i);
        if arg.kind != *kind {
            return wrong_kind(arg.kind, *kind);
        }
        base.add(i).cast::<u64>().write(bits(arg));
    }
    // `call` is a copy, and the result kinds and the store's address are copied too: a host
    // function the call reaches may delete the function object (through the vector of exports
    // it came in), and nothing of it is read once guest code runs.
    let store_ptr = (*f).0.store;
    let (result_kinds, result_count) = ((*kinds).results, (*kinds).result_count);
    // SAFETY: `Kinds` holds at most INLINE parameters and results, so the slots cover them,
    // and every parameter's slot was written above; a `Prepared` has `Kinds` only for a
    // numeric function, prepared in the function's own store.
    if let Err(trap) = call.call(&mut *store_ptr, base) {
        return wasm_trap_t::of_call(Some(store_ptr), waot::Error::Trap(trap));
    }
    for (i, kind) in result_kinds[..result_count].iter().enumerate() {
        c_results.add(i).write(from_slot(*kind, base.add(i)));
    }
    std::ptr::null_mut()
}

#[cold]
fn wrong_arity(kinds: &Kinds, given: usize) -> *mut wasm_trap_t {
    if given != kinds.param_count {
        return wasm_trap_t::from_message(&format!(
            "the function takes {} arguments, given {given}",
            kinds.param_count
        ));
    }
    too_few_results()
}

#[cold]
fn wrong_kind(given: u8, expected: u8) -> *mut wasm_trap_t {
    wasm_trap_t::from_message(&format!(
        "an argument of kind {given} where the function takes kind {expected}"
    ))
}
