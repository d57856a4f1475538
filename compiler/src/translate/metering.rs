//! Metering for the host's limits (`waotc --fuel`, `--interruptible`).
//!
//! Fuel lives in a local (an alloca that `mem2reg` turns into SSA values), loaded from the
//! store's `VmRuntimeLimits::fuel` at entry. Each operator adds its cost to a pending count,
//! and the count is subtracted from the local once per basic block: before every operator
//! that ends or joins a block, branches or calls. The local goes back to memory before every
//! call and return, and is reloaded after a call and in a landing pad, so callees (and host
//! functions, which may add fuel) see the exact amount. Loop headers and the entries of the
//! functions that need it (`fuel_entry`: recursion, indirect and imported calls, heavy call
//! trees) compare it with zero; below zero, `Builtin::OutOfFuel` asks the host for more or
//! traps. Other functions run a bounded number of operators before their caller's next
//! check, and a call from the host is checked by the loader. Loops without calls or inner
//! loops are checked once per strip of iterations instead (`fuel_strips`).
//!
//! A trap by fault loses the work done since the fuel was last stored: at a call, a loop
//! header, or a strip-mined loop's start and exits (which store the fuel a whole strip could
//! use, then the exact fuel left: a fault inside a strip overcharges, and never undercharges).
//!
//! Interrupts: any compiled code stops where it is when the interrupt's signal reaches its
//! thread (the loader's `vm::interrupt`), so nothing here is needed for that. Every function
//! entry also compares the stack pointer with the store's stack limit, which an interrupt sets
//! to its maximum; with `--interruptible`, loop headers also poll `VmRuntimeLimits::interrupt`
//! (once per strip in loops that run in fuel strips), so that loops stop even where the
//! signal cannot reach.

use super::{FuncTranslator, Result};
use inkwell::types::BasicType;
use inkwell::values::{FunctionValue, InstructionValue, IntValue, PointerValue};
use inkwell::{AtomicOrdering, IntPredicate};
use runtime_support::vmctx::{self, VmRuntimeLimits};
use runtime_support::{Builtin, TrapCode};
use wasmparser::Operator as Op;

/// The fuel an operator costs by default: one per instruction, except for the markers of
/// structure, which compile to no code.
pub fn fuel_cost(op: &Op<'_>) -> u64 {
    match op {
        Op::Nop
        | Op::Block { .. }
        | Op::Loop { .. }
        | Op::Else
        | Op::End
        | Op::TryTable { .. }
        | Op::Try { .. }
        | Op::Catch { .. }
        | Op::CatchAll
        | Op::Delegate { .. } => 0,
        _ => 1,
    }
}

/// Whether the pending fuel must be charged before `op`: it ends, joins or leaves a block, or
/// calls a function that uses the stored fuel.
fn ends_block(op: &Op<'_>) -> bool {
    matches!(
        op,
        Op::Loop { .. }
            | Op::If { .. }
            | Op::Else
            | Op::End
            | Op::Br { .. }
            | Op::BrIf { .. }
            | Op::BrTable { .. }
            | Op::BrOnNull { .. }
            | Op::BrOnNonNull { .. }
            | Op::BrOnCast { .. }
            | Op::BrOnCastFail { .. }
            | Op::Return
            | Op::Unreachable
            | Op::Call { .. }
            | Op::CallIndirect { .. }
            | Op::CallRef { .. }
            | Op::ReturnCall { .. }
            | Op::ReturnCallIndirect { .. }
            | Op::ReturnCallRef { .. }
            | Op::Throw { .. }
            | Op::ThrowRef
            | Op::Rethrow { .. }
            | Op::Catch { .. }
            | Op::CatchAll
            | Op::Delegate { .. }
            | Op::TryTable { .. }
            | Op::Try { .. }
    )
}

/// Per-function fuel state.
pub struct Fuel<'ctx> {
    local: PointerValue<'ctx>,
    /// Cost of the operators since the last charge.
    pending: u64,
}

impl<'a, 'b, 'ctx> FuncTranslator<'a, 'b, 'ctx> {
    pub(super) fn limits_field(&self, offset: u32) -> Result<PointerValue<'ctx>> {
        let limits = self.vmctx_pointer(vmctx::OFFSET_LIMITS, true)?;
        self.byte_offset(limits, offset)
    }

    /// At function entry, after the locals: loads the fuel and, for a function that checks it
    /// at entry (`fuel_entry`; `stack_exhausted` given), checks it together with the stack.
    pub fn start_metering(&mut self, stack_exhausted: Option<IntValue<'ctx>>) -> Result<()> {
        let local = self.entry_alloca("fuel", self.cx.context.i64_type())?;
        self.fuel = Some(Fuel { local, pending: 0 });
        self.reload_fuel()?;
        if let Some(exhausted) = stack_exhausted {
            self.check_fuel_and(exhausted)?;
        }
        Ok(())
    }

    /// A slot in the entry block, where `mem2reg` promotes it (before its first instruction:
    /// the block may be ended already).
    pub(super) fn entry_alloca(
        &mut self,
        name: &str,
        ty: impl BasicType<'ctx>,
    ) -> Result<PointerValue<'ctx>> {
        let here = self.current_block();
        let entry = self
            .function
            .get_first_basic_block()
            .expect("the entry exists");
        match entry.get_first_instruction() {
            Some(first) => self.builder.position_before(&first),
            None => self.builder.position_at_end(entry),
        }
        let slot = self.builder.build_alloca(ty, name)?;
        self.builder.position_at_end(here);
        Ok(slot)
    }

    /// What `op` costs under the module's cost table.
    pub(super) fn op_cost(&self, op: &Op<'_>) -> u64 {
        match &self.cx.options.fuel_costs {
            Some(table) => table.cost(op),
            None => fuel_cost(op),
        }
    }

    /// Called for every reachable operator before it is translated.
    pub fn meter(&mut self, op: &Op<'_>) -> Result<()> {
        if self.fuel.is_none() {
            return Ok(());
        }
        let cost = self.op_cost(op);
        if let Some(fuel) = &mut self.fuel {
            fuel.pending += cost;
        }
        if ends_block(op) {
            self.charge_fuel()?;
        }
        Ok(())
    }

    /// Subtracts the pending cost from the local.
    fn charge_fuel(&mut self) -> Result<()> {
        let Some(fuel) = &mut self.fuel else {
            return Ok(());
        };
        let (local, pending) = (fuel.local, std::mem::take(&mut fuel.pending));
        if pending == 0 {
            return Ok(());
        }
        let i64t = self.cx.context.i64_type();
        let left = self
            .builder
            .build_load(i64t, local, "fuel")?
            .into_int_value();
        let left = self
            .builder
            .build_int_sub(left, i64t.const_int(pending, false), "")?;
        self.builder.build_store(local, left)?;
        Ok(())
    }

    /// Stores the local for a callee or the caller (before a call, a return or a trap); the
    /// store, if fuel is metered.
    pub fn store_fuel(&mut self) -> Result<Option<InstructionValue<'ctx>>> {
        let Some(fuel) = &self.fuel else {
            return Ok(None);
        };
        let local = fuel.local;
        let i64t = self.cx.context.i64_type();
        let left = self.builder.build_load(i64t, local, "fuel")?;
        let field = self.limits_field(VmRuntimeLimits::OFFSET_FUEL)?;
        Ok(Some(self.builder.build_store(field, left)?))
    }

    /// Reloads the local after a call, or in a landing pad.
    pub fn reload_fuel(&mut self) -> Result<()> {
        let Some(fuel) = &self.fuel else {
            return Ok(());
        };
        let local = fuel.local;
        let i64t = self.cx.context.i64_type();
        let field = self.limits_field(VmRuntimeLimits::OFFSET_FUEL)?;
        let left = self.builder.build_load(i64t, field, "fuel")?;
        self.builder.build_store(local, left)?;
        Ok(())
    }

    /// `i64 waot_fuel_slow(vmctx, fuel, stack_exhausted)`, made once per LLVM module: stores
    /// the fuel, then traps if the stack is exhausted, else calls `Builtin::OutOfFuel` (which
    /// refills or traps) and returns the fuel then.
    fn fuel_slow_path(&mut self) -> Result<FunctionValue<'ctx>> {
        const NAME: &str = "waot_fuel_slow";
        if let Some(f) = self.cx.module.get_function(NAME) {
            return Ok(f);
        }
        let (i64t, ptr) = (self.cx.context.i64_type(), self.cx.ptr_type());
        let bool_type = self.cx.context.bool_type();
        let ty = i64t.fn_type(&[ptr.into(), i64t.into(), bool_type.into()], false);
        let f = self
            .cx
            .module
            .add_function(NAME, ty, Some(inkwell::module::Linkage::Internal));
        self.cx.add_guest_attributes(f);
        for attr in ["cold", "noinline", "nounwind"] {
            self.cx.add_attribute(f, attr);
        }
        f.set_section(Some(runtime_support::artifact::HOST_CODE_SECTION));
        // Built by this translator, borrowed: its builder, function and context pointer.
        let (function, vmctx, here) = (self.function, self.vmctx, self.current_block());
        self.function = f;
        self.vmctx = f.get_nth_param(0).expect("vmctx").into_pointer_value();
        let entry = self.cx.context.append_basic_block(f, "entry");
        let overflow = self.cx.context.append_basic_block(f, "stack_overflow");
        let refill = self.cx.context.append_basic_block(f, "refill");
        self.builder.position_at_end(entry);
        let field = self.limits_field(VmRuntimeLimits::OFFSET_FUEL)?;
        let fuel = f.get_nth_param(1).expect("fuel");
        self.builder.build_store(field, fuel)?;
        let exhausted = f.get_nth_param(2).expect("stack").into_int_value();
        self.builder
            .build_conditional_branch(exhausted, overflow, refill)?;
        self.builder.position_at_end(overflow);
        let code = self.i32_const(TrapCode::StackOverflow as u64);
        self.call_builtin(Builtin::Trap, &[code.into()])?;
        self.builder.build_unreachable()?;
        self.builder.position_at_end(refill);
        self.call_builtin(Builtin::OutOfFuel, &[])?;
        let left = self.builder.build_load(i64t, field, "fuel")?;
        self.builder.build_return(Some(&left))?;
        (self.function, self.vmctx) = (function, vmctx);
        self.builder.position_at_end(here);
        Ok(f)
    }

    /// The fuel local's value here. Only with fuel metered.
    pub(super) fn fuel_left(&self) -> Result<IntValue<'ctx>> {
        let Some(fuel) = &self.fuel else {
            unreachable!("read only when fuel is metered")
        };
        let i64t = self.cx.context.i64_type();
        Ok(self
            .builder
            .build_load(i64t, fuel.local, "fuel")?
            .into_int_value())
    }

    /// Below zero, asks the host for more fuel (or traps) and continues; gives the fuel left
    /// after it (not negative). Only with fuel metered.
    pub(super) fn check_fuel_left(&mut self) -> Result<IntValue<'ctx>> {
        let no = self.cx.context.bool_type().const_zero();
        self.check_fuel_and(no)
    }

    /// Below zero, or when `stack_exhausted` (then it traps), calls the cold slow path; gives
    /// the fuel left after it.
    fn check_fuel_and(&mut self, stack_exhausted: IntValue<'ctx>) -> Result<IntValue<'ctx>> {
        let Some(fuel) = &self.fuel else {
            unreachable!("checked only when fuel is metered")
        };
        let local = fuel.local;
        let i64t = self.cx.context.i64_type();
        let left = self.fuel_left()?;
        let empty =
            self.builder
                .build_int_compare(IntPredicate::SLT, left, i64t.const_zero(), "")?;
        let slow = self.builder.build_or(empty, stack_exhausted, "")?;
        let refill = self.new_block("out_of_fuel");
        let cont = self.new_block("fuel_ok");
        self.branch_unlikely(slow, refill, cont)?;
        self.builder.position_at_end(refill);
        // One call to a shared cold function: the inliner weighs each check by its size.
        let helper = self.fuel_slow_path()?;
        let args = [self.vmctx.into(), left.into(), stack_exhausted.into()];
        let refilled = self
            .builder
            .build_call(helper, &args, "fuel")?
            .try_as_basic_value()
            .basic()
            .expect("the slow path returns the fuel");
        self.builder.build_store(local, refilled)?;
        self.builder.build_unconditional_branch(cont)?;
        self.builder.position_at_end(cont);
        self.fuel_left()
    }

    /// At a loop header: the fuel check, and with `--interruptible` the interrupt poll.
    pub fn meter_loop_header(&mut self) -> Result<()> {
        if self.fuel.is_some() {
            self.check_fuel_left()?;
            // Each iteration's fuel reaches the store, so a trap after many iterations, a
            // fault included, cannot give the work back.
            self.pin_fuel_left()?;
        }
        self.poll_interrupt()
    }

    /// With `--profile-generate`, adds one to this function's count: at entry and at each
    /// loop header. Volatile, so that LLVM keeps no count in a register across a loop, which
    /// a trap would lose; not atomic: threads running the same code may lose counts, which a
    /// profile can spare.
    pub fn count_profile(&mut self) -> Result<()> {
        if !self.cx.options.metering.profile {
            return Ok(());
        }
        let i64t = self.cx.context.i64_type();
        let counts = self.cx.profile_counts();
        let defined = self.func_index - self.cx.info.num_imported_funcs;
        // SAFETY: `defined` is below the array's length, the number of defined functions.
        let slot = unsafe {
            self.builder.build_in_bounds_gep(
                counts.get_value_type().into_array_type(),
                counts.as_pointer_value(),
                &[i64t.const_zero(), i64t.const_int(u64::from(defined), false)],
                "profile",
            )?
        };
        let volatile = |i: InstructionValue<'ctx>| {
            i.set_volatile(true)
                .map_err(|e| crate::CompileError::Internal(format!("profile count: {e}")))
        };
        let count = self.builder.build_load(i64t, slot, "count")?;
        let load = inkwell::values::BasicValue::as_instruction_value(&count)
            .expect("a load is an instruction");
        volatile(load)?;
        let count =
            self.builder
                .build_int_add(count.into_int_value(), i64t.const_int(1, false), "")?;
        volatile(self.builder.build_store(slot, count)?)?;
        Ok(())
    }

    /// Stores the fuel local's value as the store's fuel, if fuel is metered; volatile, so
    /// that LLVM neither sinks it out of a loop nor merges it with a later store (a fault,
    /// which LLVM does not see, may come between).
    pub(super) fn pin_fuel_left(&mut self) -> Result<()> {
        if self.fuel.is_some() {
            let left = self.fuel_left()?;
            self.pin_fuel(left)?;
        }
        Ok(())
    }

    /// Stores `value` as the store's fuel, volatile (see `pin_fuel_left`).
    pub(super) fn pin_fuel(&mut self, value: IntValue<'ctx>) -> Result<()> {
        let field = self.limits_field(VmRuntimeLimits::OFFSET_FUEL)?;
        let store = self.builder.build_store(field, value)?;
        store
            .set_volatile(true)
            .map_err(|e| crate::CompileError::Internal(format!("fuel store: {e}")))
    }

    /// With `--interruptible`, traps when the store's interrupt flag is set.
    pub(super) fn poll_interrupt(&mut self) -> Result<()> {
        if !self.cx.options.metering.interruptible {
            return Ok(());
        }
        let i64t = self.cx.context.i64_type();
        let field = self.limits_field(VmRuntimeLimits::OFFSET_INTERRUPT)?;
        let flag = self.load_polled(field, "interrupt")?;
        let set = self
            .builder
            .build_int_compare(IntPredicate::NE, flag, i64t.const_zero(), "")?;
        self.trap_if(set, TrapCode::Interrupted)
    }

    /// A load of a field another thread may change (the interrupt flag, and in interruptible
    /// code the stack limit): atomic, so that LLVM neither hoists it out of a loop nor merges
    /// it with another. A self tail call that LLVM turns into a loop keeps its entry's check.
    pub fn load_polled(&self, field: PointerValue<'ctx>, name: &str) -> Result<IntValue<'ctx>> {
        let value = self
            .builder
            .build_load(self.cx.context.i64_type(), field, name)?;
        let load = inkwell::values::BasicValue::as_instruction_value(&value)
            .expect("a load is an instruction");
        load.set_atomic_ordering(AtomicOrdering::Monotonic)
            .and_then(|()| load.set_alignment(8))
            .map_err(|e| crate::CompileError::Internal(format!("{name} poll: {e}")))?;
        Ok(value.into_int_value())
    }
}
