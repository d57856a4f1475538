//! What a host may limit a store's guest code to: fuel (work), interruption (time, from
//! another thread). Fuel is measured only by code compiled to measure it (`waotc --fuel`); a
//! store that asks for fuel refuses modules that cannot honour it, rather than letting them
//! run unlimited. Any code can be interrupted (by a signal, see `vm::interrupt`).

use crate::api::instance::of_vmctx;
use crate::api::module::Module;
use crate::api::store::StoreData;
use crate::error::{Error, Result};
use crate::vm::builtins::memory;
use crate::vm::limits::{FuelAccount, InterruptHandle};
use crate::vm::traps::Trap;
use runtime_support::TrapCode;
use std::sync::atomic::Ordering::Relaxed;

/// A host callback that adds fuel when it runs out: how much to add, 0 to stop the guest.
pub type FuelRefill = Box<dyn FnMut() -> u64 + Send>;

#[derive(Default)]
pub(crate) struct MeteringState {
    /// `set_fuel` was called: every module must be compiled with `--fuel`.
    fuel_limited: bool,
    /// Fuel given so far, all of it: consumed = given − left.
    given: i128,
    refill: Option<FuelRefill>,
    /// Bumped by every set or removal of the refill callback: a callback that is running (and
    /// so out of the store) goes back only if nothing replaced or removed it meanwhile.
    refill_changes: u64,
}

impl MeteringState {
    /// Whether `set_fuel` was called: only then can the fuel go below zero.
    #[inline]
    pub fn fuel_limited(&self) -> bool {
        self.fuel_limited
    }

    pub fn new() -> Self {
        MeteringState {
            given: i64::MAX as i128,
            ..Default::default()
        }
    }
}

/// Why `module` cannot run under the limits `state` asks for, if it cannot.
fn refusal(state: &MeteringState, module: &Module) -> Option<String> {
    if !state.fuel_limited || module.header().metering.fuel {
        return None;
    }
    Some(format!(
        "{}: compiled without --fuel, so it cannot run under the store's fuel limit (recompile with `waotc --fuel`)",
        module.name(),
    ))
}

impl StoreData {
    /// Limits the guest code of this store to `fuel` units of work from now on (one per
    /// wasm instruction, structure markers free). Running out traps with `all fuel consumed`
    /// unless a refill callback adds more. Every module of the store must be compiled with
    /// `waotc --fuel`.
    pub fn set_fuel(&mut self, fuel: u64) -> Result<()> {
        self.ask_for(|m| m.fuel_limited = true)?;
        let fuel = fuel.min(i64::MAX as u64) as i64;
        let consumed = self.fuel_consumed() as i128;
        self.limits.fuel().store(fuel, Relaxed);
        self.metering.given = consumed + fuel as i128;
        Ok(())
    }

    /// Fuel left, once `set_fuel` was called.
    pub fn fuel(&self) -> Option<u64> {
        let left = self.limits.fuel().load(Relaxed);
        self.metering.fuel_limited.then_some(left.max(0) as u64)
    }

    /// Work done by metered code of this store (whether or not its fuel is limited): wasm
    /// instructions executed, counted per basic block entered.
    pub fn fuel_consumed(&self) -> u64 {
        let left = self.limits.fuel().load(Relaxed) as i128;
        (self.metering.given - left).clamp(0, u64::MAX as i128) as u64
    }

    /// Called when fuel runs out: returns how much to add (0 stops the guest with a trap).
    /// It runs on the guest's thread, between two basic blocks of guest code.
    pub fn set_fuel_refill(&mut self, refill: impl FnMut() -> u64 + Send + 'static) {
        // The old callback is dropped once it is out of the store: dropping it may run an
        // embedder's finalizer, which may use the store.
        self.metering.refill_changes += 1;
        drop(self.metering.refill.replace(Box::new(refill)));
    }

    /// Removes the refill callback: running out of fuel traps.
    pub fn clear_fuel_refill(&mut self) {
        self.metering.refill_changes += 1;
        drop(self.metering.refill.take());
    }

    /// For the interpreter spending this store's fuel (`interp::Meter::refill`): asks the
    /// refill callback until at least `need` fuel is left; false if it stops first (or there
    /// is none).
    ///
    /// # Safety
    /// `store` is live, and no reference to it is held across this call (the callback may
    /// use the store through its own pointer).
    pub unsafe fn refill_fuel_for(store: *mut StoreData, need: u64) -> bool {
        refill_fuel_until(store, need.min(i64::MAX as u64) as i64).is_ok()
    }

    /// The store's fuel, for the interpreter to spend from (`interp::Meter::fuel_account`).
    pub fn fuel_account(&self) -> FuelAccount {
        FuelAccount {
            limits: self.limits.clone(),
        }
    }

    /// A handle that stops this store's guest code from any thread (see `InterruptHandle`).
    /// Any module can be interrupted; from now on, each outermost call records its thread
    /// (one atomic store on entry and one on exit), where the interrupt's signal goes. The
    /// first handle of the process installs the signal's handler and starts a thread that
    /// resends it; `Error::Limit` if that thread cannot start.
    pub fn interrupt_handle(&mut self) -> Result<InterruptHandle> {
        crate::vm::interrupt::watch(&self.limits, self.active_calls > 0).map_err(Error::Limit)?;
        Ok(InterruptHandle {
            limits: self.limits.clone(),
        })
    }

    /// Refuses `module` when it cannot honour the limits this store asks for.
    pub(crate) fn check_metering(&self, module: &Module) -> Result<()> {
        match refusal(&self.metering, module) {
            Some(reason) => Err(Error::Load(reason)),
            None => Ok(()),
        }
    }

    /// Asks for a kind of limit, unless an instance cannot honour it.
    fn ask_for(&mut self, set: impl Fn(&mut MeteringState)) -> Result<()> {
        let fuel_limited = self.metering.fuel_limited;
        set(&mut self.metering);
        let checked = self
            .instances
            .iter()
            .try_for_each(|inst| self.check_metering(&inst.module));
        if checked.is_err() {
            self.metering.fuel_limited = fuel_limited;
        }
        checked
    }
}

/// Asks `store`'s refill callback until at least `min` fuel is left (`Builtin::OutOfFuel`
/// asks for 0: not negative).
///
/// The callback may use the store (its environment may hold it), so no reference to the
/// store lives across it: every access goes through `store`, in a function not inlined into a
/// caller whose `&mut` would let the compiler keep a field's value across the call. The
/// callback is out of the store while it runs, so a guest call it makes that runs out of fuel
/// traps rather than calling it again, and it goes back unless it was replaced or removed
/// meanwhile (by itself, or by a host function it called), when it is dropped instead; its fuel
/// is added to what is left after it returns (it may have set the fuel), not to what was left
/// before.
///
/// # Safety
/// `store` is live, and no reference to it is held across this call.
#[inline(never)]
pub(crate) unsafe fn refill_fuel_until(
    store: *mut StoreData,
    min: i64,
) -> std::result::Result<(), Trap> {
    loop {
        if (*store).limits.fuel().load(Relaxed) >= min {
            return Ok(());
        }
        let Some(mut refill) = (*store).metering.refill.take() else {
            return Err(Trap::new(TrapCode::OutOfFuel));
        };
        let changes = (*store).metering.refill_changes;
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(&mut refill));
        if (*store).metering.refill_changes == changes {
            (*store).metering.refill = Some(refill);
        } else {
            // Dropping it may run an embedder's finalizer, which may use the store.
            drop(refill);
        }
        let added = outcome
            .map_err(|_| Trap::host("the fuel refill callback panicked"))?
            .min(i64::MAX as u64) as i64;
        if added == 0 {
            return Err(Trap::new(TrapCode::OutOfFuel));
        }
        let _ = (*store)
            .limits
            .fuel()
            .fetch_update(Relaxed, Relaxed, |f| Some(f.saturating_add(added)));
        (*store).metering.given += added as i128;
    }
}

/// How much memory and how many tables' elements and instances a store may hold
/// (`StoreData::set_resource_limits`). `None` is no limit beyond the module's own.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResourceLimits {
    /// Bytes any one memory may reach.
    pub memory_bytes: Option<u64>,
    /// Bytes all memories of the store may reach together (shared memories count in every
    /// store that holds them).
    pub total_memory_bytes: Option<u64>,
    /// Elements any one table may reach.
    pub table_elements: Option<u64>,
    /// Instances the store may hold.
    pub instances: Option<usize>,
    /// Bytes the store's GC heap (structs and arrays) may hold; an allocation that does not
    /// fit even after a collection traps with `allocation failed: GC heap exhausted`.
    pub gc_heap_bytes: Option<u64>,
    /// A `memory.grow` or `table.grow` beyond a limit traps with `resource limit exceeded`
    /// instead of returning -1, as a program that cannot handle -1 would fail later anyway.
    pub trap_on_grow: bool,
}

impl StoreData {
    /// Sets the limits checked from now on by instantiation, `memory.grow`, `table.grow` and
    /// the host's `memory_new`, `table_new` and `memory_grow`. What exists already stays.
    pub fn set_resource_limits(&mut self, limits: ResourceLimits) {
        let gc = limits
            .gc_heap_bytes
            .map_or(usize::MAX, |b| b.min(usize::MAX as u64) as usize);
        self.gc_heap.get_mut().limit = gc;
        self.resource_limits = limits;
    }

    pub fn resource_limits(&self) -> &ResourceLimits {
        &self.resource_limits
    }

    pub(crate) fn memory_bytes_total(&self) -> u64 {
        self.memories.iter().map(|m| m.get().length()).sum()
    }

    /// Whether a memory of `current` bytes may grow by `delta` bytes (`None`: overflowed).
    pub(crate) fn memory_may_grow(&self, current: u64, delta: Option<u64>) -> Result<()> {
        let l = &self.resource_limits;
        if delta == Some(0) || (l.memory_bytes.is_none() && l.total_memory_bytes.is_none()) {
            return Ok(());
        }
        let new = delta.and_then(|d| current.checked_add(d));
        if too_big(new, l.memory_bytes) {
            return Err(limit_error("a memory", new, l.memory_bytes, "bytes"));
        }
        self.total_may_grow(delta)
    }

    fn total_may_grow(&self, delta: Option<u64>) -> Result<()> {
        let max = self.resource_limits.total_memory_bytes;
        if delta == Some(0) || max.is_none() {
            return Ok(());
        }
        let total = delta.and_then(|d| self.memory_bytes_total().checked_add(d));
        match too_big(total, max) {
            true => Err(limit_error("all memories", total, max, "bytes")),
            false => Ok(()),
        }
    }

    pub(crate) fn table_may_grow(&self, current: u64, delta: u64) -> Result<()> {
        let Some(max) = self.resource_limits.table_elements.filter(|_| delta > 0) else {
            return Ok(());
        };
        let new = current.checked_add(delta);
        match new {
            Some(n) if n <= max => Ok(()),
            _ => Err(limit_error("a table", new, Some(max), "elements")),
        }
    }

    /// `memory.grow`/`table.grow` denied by a limit: -1, or a trap if the embedder said so.
    pub(crate) fn grow_denied(&self) -> u64 {
        if self.resource_limits.trap_on_grow {
            crate::vm::traps::raise(Trap::new(TrapCode::ResourceLimitExceeded));
        }
        u64::MAX
    }

    /// Refuses an instantiation of `module` that would exceed a limit.
    pub(crate) fn check_instantiation_limits(&self, module: &Module) -> Result<()> {
        let l = &self.resource_limits;
        if let Some(max) = l.instances.filter(|&m| self.instances.len() >= m) {
            return Err(Error::Limit(format!(
                "{}: the store may hold {max} instances, and has them",
                module.name()
            )));
        }
        let info = module.info();
        let named = |e: Error| Error::Limit(format!("{}: {e}", module.name()));
        let mut total = Some(0u64);
        for mem in &info.memories[info.num_imported_memories as usize..] {
            let log2 = mem.page_size_log2.unwrap_or(16);
            let bytes = mem.initial.checked_mul(1 << log2);
            self.memory_may_grow(0, bytes).map_err(named)?;
            total = total.zip(bytes).and_then(|(t, b)| t.checked_add(b));
        }
        self.total_may_grow(total).map_err(named)?;
        for t in &info.table_defs {
            self.table_may_grow(0, t.ty.initial).map_err(named)?;
        }
        Ok(())
    }
}

fn too_big(value: Option<u64>, max: Option<u64>) -> bool {
    max.is_some_and(|m| value.is_none_or(|v| v > m))
}

fn limit_error(what: &str, wanted: Option<u64>, max: Option<u64>, unit: &str) -> Error {
    let wanted = wanted.map_or("more than 2^64".to_string(), |w| w.to_string());
    Error::Limit(format!(
        "{what} would hold {wanted} {unit}, more than the store's limit of {} {unit}",
        max.unwrap_or(0)
    ))
}

// The builtins that consult the store's limits.

/// Fuel ran out: the refill policy adds more, or the guest stops.
pub(crate) unsafe extern "C" fn out_of_fuel(vmctx: *mut u8) {
    let store: *mut StoreData = of_vmctx(vmctx).store;
    if let Err(trap) = refill_fuel_until(store, 0) {
        crate::vm::traps::raise(trap)
    }
}

pub(crate) unsafe extern "C" fn memory_grow(vmctx: *mut u8, mem: u32, delta: u64) -> u64 {
    let inst = of_vmctx(vmctx);
    let m = memory(&inst.vm, mem);
    let store = &*inst.store;
    let bytes = delta.checked_mul(1 << m.page_log2);
    match m.grow_if(delta, |length| store.memory_may_grow(length, bytes).is_ok()) {
        Ok(old) => old,
        Err(true) => store.grow_denied(),
        Err(false) => u64::MAX,
    }
}

pub(crate) unsafe extern "C" fn table_grow(
    vmctx: *mut u8,
    table: u32,
    init: usize,
    delta: u64,
) -> u64 {
    let inst = of_vmctx(vmctx);
    let t = &mut *inst.vm.tables[table as usize];
    let store = &*inst.store;
    if store.table_may_grow(t.size(), delta).is_err() {
        return store.grow_denied();
    }
    t.grow(delta, init).unwrap_or(u64::MAX)
}
