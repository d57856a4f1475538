//! Typed calls: the signature is checked once, when the `TypedFunc` is made, so a call is a
//! few stores into a stack array and the entry into guest code — no allocation, no lookup.

use crate::api::store::{Func, StoreData};
use crate::api::values::{Slot, Val};
use crate::error::{Error, Result};
use crate::vm::limits::StoreLimits;
use crate::{vm::traps, Trap};
use runtime_support::types::VALUE_SLOT_SIZE;
use wasmparser::ValType;

/// Only this crate implements the typed-call traits: a type of the host's claiming to be a
/// wasm reference type could write any bits where compiled code expects a reference.
mod sealed {
    pub trait Sealed {}
}

/// A Rust type that is a wasm value type: the integer and float types (sealed).
pub trait WasmTy: sealed::Sealed + Copy {
    const TYPE: ValType;
    fn store(self, slot: &mut Slot);
    fn load(slot: &Slot) -> Self;
}

macro_rules! wasm_ty {
    ($t:ty, $vt:expr, $n:expr) => {
        impl sealed::Sealed for $t {}
        impl WasmTy for $t {
            const TYPE: ValType = $vt;
            #[inline]
            fn store(self, slot: &mut Slot) {
                slot.0[..$n].copy_from_slice(&self.to_le_bytes());
            }
            #[inline]
            fn load(slot: &Slot) -> Self {
                <$t>::from_le_bytes(slot.0[..$n].try_into().unwrap())
            }
        }
    };
}

wasm_ty!(i32, ValType::I32, 4);
wasm_ty!(u32, ValType::I32, 4);
wasm_ty!(i64, ValType::I64, 8);
wasm_ty!(u64, ValType::I64, 8);
wasm_ty!(f32, ValType::F32, 4);
wasm_ty!(f64, ValType::F64, 8);

/// Parameters: a tuple of `WasmTy` (sealed).
pub trait WasmParams: sealed::Sealed + Copy {
    const COUNT: usize;
    fn types() -> Vec<ValType>;
    fn store(self, slots: &mut [Slot]);
}

/// Results: `()`, one `WasmTy`, or a tuple of them (sealed).
pub trait WasmResults: sealed::Sealed + Sized {
    const COUNT: usize;
    fn types() -> Vec<ValType>;
    fn load(slots: &[Slot]) -> Self;
}

macro_rules! tuples {
    ($($n:expr => ($($t:ident $i:tt),*);)*) => {$(
        impl<$($t: WasmTy),*> sealed::Sealed for ($($t,)*) {}
        impl<$($t: WasmTy),*> WasmParams for ($($t,)*) {
            const COUNT: usize = $n;
            fn types() -> Vec<ValType> { vec![$($t::TYPE),*] }
            #[inline]
            #[allow(unused_variables)]
            fn store(self, slots: &mut [Slot]) { $(self.$i.store(&mut slots[$i]);)* }
        }
        impl<$($t: WasmTy),*> WasmResults for ($($t,)*) {
            const COUNT: usize = $n;
            fn types() -> Vec<ValType> { vec![$($t::TYPE),*] }
            #[inline]
            #[allow(unused_variables)]
            fn load(slots: &[Slot]) -> Self { ($($t::load(&slots[$i]),)*) }
        }
    )*};
}

#[allow(clippy::unused_unit)] // the empty tuple is the unit
mod tuple_impls {
    use super::*;
    tuples! {
        0 => ();
        1 => (A 0);
        2 => (A 0, B 1);
        3 => (A 0, B 1, C 2);
        4 => (A 0, B 1, C 2, D 3);
    }
}

macro_rules! single_results {
    ($($t:ty),*) => {$(
        impl WasmResults for $t {
            const COUNT: usize = 1;
            fn types() -> Vec<ValType> { vec![<$t as WasmTy>::TYPE] }
            #[inline]
            fn load(slots: &[Slot]) -> Self { <$t as WasmTy>::load(&slots[0]) }
        }
    )*};
}

single_results!(i32, u32, i64, u64, f32, f64);

/// Slots on the stack; enough for every typed signature.
const MAX_SLOTS: usize = 4;
const _: () = assert!(std::mem::size_of::<Slot>() == VALUE_SLOT_SIZE);

/// A compiled function with a known signature.
pub struct TypedFunc<P, R> {
    store: crate::StoreId,
    code: *const u8,
    vmctx: *mut u8,
    trampoline: *const u8,
    _types: std::marker::PhantomData<fn(P) -> R>,
}

impl StoreData {
    /// `f` as a function of `P` to `R`; an error if its signature differs.
    pub fn typed<P: WasmParams, R: WasmResults>(&self, f: Func) -> Result<TypedFunc<P, R>> {
        let sig = self.func_signature(f)?;
        if sig.params != P::types() || sig.results != R::types() {
            return Err(Error::Usage(format!(
                "function is {sig}, not the requested type"
            )));
        }
        let crate::api::handles::FuncKind::Wasm(p) = f.kind else {
            return Err(Error::Usage(
                "typed calls are for functions of an instance".into(),
            ));
        };
        // SAFETY: a Wasm funcref points into a live vmctx of this store.
        let funcref = unsafe { *p };
        let trampoline = self
            .trampolines
            .get(&funcref.type_id)
            .expect("trampoline for every signature")
            .0;
        Ok(TypedFunc {
            store: self.id,
            code: funcref.code,
            vmctx: funcref.vmctx,
            trampoline,
            _types: std::marker::PhantomData,
        })
    }
}

impl<P: WasmParams, R: WasmResults> TypedFunc<P, R> {
    /// Calls the function. With a store other than the one the function came from, an error
    /// (a `Trap` without a code) and no call.
    #[inline]
    pub fn call(&self, store: &mut StoreData, params: P) -> std::result::Result<R, Trap> {
        if store.id != self.store {
            return Err(Trap::host(
                "a typed function was called with a store it does not belong to",
            ));
        }
        let mut slots = [Slot::default(); MAX_SLOTS];
        params.store(&mut slots);
        // SAFETY: the signature was checked when this TypedFunc was made; the slots cover
        // every parameter and result.
        unsafe { store.enter_guest(self.trampoline, self.code, self.vmctx, slots.as_mut_ptr()) }?;
        Ok(R::load(&slots))
    }
}

/// A compiled function ready to call with values checked at each call (`StoreData::prepare`):
/// what `call_into` does, without looking the function up each time. The C API keeps one per
/// function it calls.
#[derive(Clone)]
pub struct PreparedCall {
    store: crate::StoreId,
    code: *const u8,
    vmctx: *mut u8,
    trampoline: *const u8,
    sig: std::sync::Arc<runtime_support::types::Signature>,
    /// Every parameter is a number: checking an argument is comparing its type.
    numeric_params: bool,
    /// Every parameter and result is a number (`call_numeric`).
    numeric: bool,
}

impl StoreData {
    /// Runs `code` through `trampoline` on `slots` (parameters in, results out); a trap comes
    /// back with its exception decoded.
    ///
    /// # Safety
    /// `trampoline` must be the trampoline of `code`'s signature, `vmctx` a live instance's of
    /// this store, `slots` an array with a slot for every parameter and result.
    #[inline(always)]
    pub(crate) unsafe fn enter_guest(
        &mut self,
        trampoline: *const u8,
        code: *const u8,
        vmctx: *mut u8,
        slots: *mut Slot,
    ) -> std::result::Result<(), Trap> {
        // Most compiled functions do not check the fuel at their entry (only those the call
        // graph needs, `translate/fuel_entry.rs`): a call from the host checks it here.
        // Unlimited fuel is never negative, so most stores skip even the load.
        if self.metering.fuel_limited()
            && self
                .limits
                .fuel()
                .load(std::sync::atomic::Ordering::Relaxed)
                < 0
        {
            // SAFETY: `self` is live; the callback may use the store, so the refill goes
            // through a pointer (nothing of `self` read here is kept across it).
            unsafe { crate::api::limits::refill_fuel_until(self, 0) }?;
        }
        let limits: *const StoreLimits = &*self.limits;
        let outermost = self.active_calls == 0;
        self.active_calls += 1;
        // Host functions and builtins reach this store through the pointer their context
        // holds, while `self` is borrowed here (keeping `active_calls`, or what
        // `decode_exception` reads, in registers across the call would lose their changes).
        crate::vm::escape(self as *mut StoreData);
        let outcome = traps::call_guest(
            &*limits,
            self.max_wasm_stack,
            outermost,
            trampoline,
            code,
            vmctx,
            slots as *mut u8,
        );
        self.active_calls -= 1;
        outcome.map_err(|mut trap| {
            self.decode_exception(&mut trap);
            trap
        })
    }

    /// `f`, if it is a compiled function, looked up once for repeated calls.
    pub fn prepare(&self, f: Func) -> Result<Option<PreparedCall>> {
        self.owns(f.store, "function")?;
        let crate::api::handles::FuncKind::Wasm(p) = f.kind else {
            return Ok(None);
        };
        // SAFETY: a Wasm funcref points into a live vmctx of this store.
        let funcref = unsafe { *p };
        let (trampoline, sig) = self
            .trampolines
            .get(&funcref.type_id)
            .expect("trampoline for every signature");
        Ok(Some(PreparedCall {
            store: self.id,
            code: funcref.code,
            vmctx: funcref.vmctx,
            trampoline: *trampoline,
            numeric_params: sig.params.iter().all(|t| !matches!(t, ValType::Ref(_))),
            numeric: sig
                .params
                .iter()
                .chain(&sig.results)
                .all(|t| !matches!(t, ValType::Ref(_))),
            sig: sig.clone(),
        }))
    }
}

/// A prepared function's code, instance and trampoline (`PreparedCall::raw`): the C API keeps
/// this on the stack during a call, since a host function the call reaches may delete the
/// function object that holds the `PreparedCall`.
#[derive(Clone, Copy)]
pub struct RawCall {
    code: *const u8,
    vmctx: *mut u8,
    trampoline: *const u8,
}

impl RawCall {
    /// `PreparedCall::call_numeric_raw` through the copy.
    ///
    /// # Safety
    /// As `PreparedCall::call_numeric_raw`, for the function this was copied from.
    #[inline(always)]
    pub unsafe fn call(
        self,
        store: &mut StoreData,
        slots: *mut Slot,
    ) -> std::result::Result<(), Trap> {
        // SAFETY: the trampoline is the callee's signature's; the caller's slots cover
        // parameters and results, whose every bit pattern is a valid value; the caller's
        // store is the one whose live code and vmctx these are.
        unsafe { store.enter_guest(self.trampoline, self.code, self.vmctx, slots) }
    }
}

impl PreparedCall {
    pub fn param_count(&self) -> usize {
        self.sig.params.len()
    }

    pub fn params(&self) -> &[ValType] {
        &self.sig.params
    }

    pub fn results(&self) -> &[ValType] {
        &self.sig.results
    }

    /// Every parameter and result is a number, so `call_numeric` may call it.
    pub fn is_numeric(&self) -> bool {
        self.numeric
    }

    /// Calls a function of numbers only (`is_numeric`) on raw slots: the parameters' bits in
    /// on entry (an `i32` in the low 4 bytes of its slot, and so on), the results' on return.
    /// Any bits are a valid number, so nothing is checked but the count of slots: the
    /// embedder that already knows its types (the C API) pays for no conversion.
    #[inline(always)]
    pub fn call_numeric(
        &self,
        store: &mut StoreData,
        slots: &mut [Slot],
    ) -> std::result::Result<(), Trap> {
        if slots.len() < self.slot_count() {
            return Err(Trap::host(
                "a numeric call needs a slot for each parameter and result",
            ));
        }
        if store.id != self.store || !self.numeric {
            return Err(Trap::host(
                "a numeric call needs a function of numbers only, of the store it is called with",
            ));
        }
        // SAFETY: the slots cover parameters and results, and are initialized; the function
        // is numeric and this store's.
        unsafe { self.call_numeric_raw(store, slots.as_mut_ptr()) }
    }

    /// How many slots `call_numeric` needs: one per parameter or result, whichever are more.
    #[inline]
    pub fn slot_count(&self) -> usize {
        self.sig.params.len().max(self.sig.results.len())
    }

    /// `call_numeric` on slots the caller need not have cleared: only the parameters' bytes
    /// are read, and the callee writes the results'.
    ///
    /// # Safety
    /// The function is numeric (`is_numeric`) and `store` is the one it was prepared in (the
    /// C API checks both once, when it prepares the function, not at every call). `slots`
    /// points to `slot_count()` writable slots, each parameter's holding its value at its
    /// width from the slot's start (4 bytes for `i32` and `f32`, 8 for `i64` and `f64`, 16 for
    /// `v128`).
    #[inline(always)]
    pub unsafe fn call_numeric_raw(
        &self,
        store: &mut StoreData,
        slots: *mut Slot,
    ) -> std::result::Result<(), Trap> {
        debug_assert!(store.id == self.store && self.numeric);
        // SAFETY: the caller's, for this function.
        unsafe { self.raw().call(store, slots) }
    }

    /// What `call_numeric_raw` needs, copied out, for a caller that may lose this
    /// `PreparedCall` while guest code runs.
    #[inline(always)]
    pub fn raw(&self) -> RawCall {
        RawCall {
            code: self.code,
            vmctx: self.vmctx,
            trampoline: self.trampoline,
        }
    }

    pub fn result_count(&self) -> usize {
        self.sig.results.len()
    }

    /// Calls the function with `args` (checked against its parameter types), writing its
    /// results (one slot each) to `results`. Up to 8 parameters and results, nothing is
    /// allocated.
    pub fn call(&self, store: &mut StoreData, args: &[Val], results: &mut [Val]) -> Result<()> {
        if store.id != self.store {
            return Err(Error::Usage(
                "a prepared call was made with a store it does not belong to".into(),
            ));
        }
        let callee = Callee {
            code: self.code,
            vmctx: self.vmctx,
            trampoline: self.trampoline,
            sig: &self.sig,
            numeric_params: self.numeric_params,
        };
        // SAFETY: the store id says the code and vmctx are this live store's, and the
        // trampoline is their signature's.
        unsafe { store.call_compiled(&callee, args, results) }
    }
}

/// What calling a compiled function with checked values needs (`StoreData::call_compiled`).
pub(crate) struct Callee<'a> {
    pub code: *const u8,
    pub vmctx: *mut u8,
    pub trampoline: *const u8,
    pub sig: &'a runtime_support::types::Signature,
    /// Every parameter is a number: checking an argument is comparing its type.
    pub numeric_params: bool,
}

impl StoreData {
    /// Calls `callee` with `args` (checked against its parameter types), writing its results
    /// (one slot each) to `results`. Up to 8 parameters and results, nothing is allocated.
    ///
    /// # Safety
    /// `callee`'s code and vmctx must be a live function of this store, and its trampoline
    /// and signature that function's.
    pub(crate) unsafe fn call_compiled(
        &mut self,
        callee: &Callee<'_>,
        args: &[Val],
        results: &mut [Val],
    ) -> Result<()> {
        let sig = callee.sig;
        let numbers_match = callee.numeric_params
            && args.len() == sig.params.len()
            && args.iter().zip(&sig.params).all(|(a, t)| a.ty() == *t);
        if !numbers_match {
            self.check_vals(&sig.params, args, "arguments")?;
        }
        crate::api::store::check_result_slots(sig.results.len(), results)?;
        const INLINE: usize = 8;
        let n = args.len().max(results.len()).max(1);
        let mut inline = [Slot::default(); INLINE];
        let mut heap = Vec::new();
        let slots: &mut [Slot] = if n <= INLINE {
            &mut inline[..n]
        } else {
            heap.resize(n, Slot::default());
            &mut heap
        };
        for (slot, arg) in slots.iter_mut().zip(args) {
            arg.write_slot(&mut slot.0).map_err(Error::Usage)?;
        }
        // SAFETY (the caller's): the trampoline is the callee's signature's; the slots cover
        // parameters and results.
        unsafe {
            self.enter_guest(
                callee.trampoline,
                callee.code,
                callee.vmctx,
                slots.as_mut_ptr(),
            )
        }?;
        for ((out, t), s) in results.iter_mut().zip(&sig.results).zip(slots.iter()) {
            *out = self.host_val(&s.0, *t);
        }
        Ok(())
    }
}
