//! Translation of one wasm function body to LLVM IR.
//!
//! `FuncTranslator` holds the state (operand stack, control frames, locals); `dispatch` maps
//! every operator to one helper call; the helpers are split by concern: `control`, `numeric`,
//! `memory` (and `address`), `calls`, `table`, `variables`, `wide`, `gc` and `gc_cast`. `env` answers where runtime structures live, from
//! `runtime_support`'s layout, so no file here knows an offset.

mod address;
mod atomic;
mod calls;
mod control;
mod dispatch;
mod dispatch_atomic;
mod dispatch_gc;
mod dispatch_simd;
mod env;
mod exceptions;
pub(crate) mod fuel_costs;
mod fuel_entry;
mod fuel_strips;
mod gc;
mod gc_cast;
mod loop_exits;
mod memory;
mod metering;
mod numeric;
mod simd;
mod table;
mod variables;
mod wide;

use crate::codegen::ModuleCx;
use crate::CompileError;
use inkwell::attributes::AttributeLoc;
use inkwell::basic_block::BasicBlock;
use inkwell::builder::Builder;
use inkwell::types::BasicTypeEnum;
use inkwell::values::{
    BasicValue, BasicValueEnum, FunctionValue, IntValue, PhiValue, PointerValue,
};
use runtime_support::TrapCode;
use std::collections::HashMap;
use std::ops::Range;
use wasmparser::{BinaryReader, FunctionBody, ValType};

pub use calls::WASM_CALL_CONV;
pub use control::ControlFrame;
pub use exceptions::personality;
pub use fuel_entry::plan_entry_checks;

type Result<T> = std::result::Result<T, CompileError>;

pub struct FuncTranslator<'a, 'b, 'ctx> {
    pub cx: &'b ModuleCx<'a, 'ctx>,
    pub builder: Builder<'ctx>,
    pub function: FunctionValue<'ctx>,
    /// Wasm index of the function (imports included).
    pub func_index: u32,
    pub vmctx: PointerValue<'ctx>,
    pub locals: Vec<(PointerValue<'ctx>, BasicTypeEnum<'ctx>)>,
    /// The value last stored to each local and the block that stored it: a `local.get` in
    /// the same block uses it directly, so LLVM sees an address computed into a local as the
    /// value it is.
    pub local_values: Vec<Option<(BasicBlock<'ctx>, BasicValueEnum<'ctx>)>>,
    pub stack: Vec<BasicValueEnum<'ctx>>,
    pub control: Vec<ControlFrame<'ctx>>,
    /// False after an unconditional branch, until the next reachable label.
    pub reachable: bool,
    /// Blocks opened while unreachable; their contents are skipped.
    pub dead_depth: u32,
    /// Whether the body calls any function (directly, through a table or an import).
    pub makes_calls: bool,
    /// The stack-limit compare at entry, removed again from functions that call nothing.
    pub stack_check: Option<IntValue<'ctx>>,
    /// Whether the body has `return_call`s, which need LLVM's tail calls enabled.
    pub has_tail_calls: bool,
    /// The fuel local and the cost not yet charged (`--fuel`).
    pub fuel: Option<metering::Fuel<'ctx>>,
    /// Per `loop` of the body, in order: how it runs in fuel strips, if it does.
    pub loop_plans: Vec<Option<fuel_strips::StripPlan>>,
    /// `loop` operators read so far, reachable or not.
    pub loops_seen: usize,
    /// Set at the end of a strip-mined loop's first copy: its body is read again.
    pub rewind_loop: bool,
    trap_blocks: HashMap<TrapCode, BasicBlock<'ctx>>,
}

/// Translates defined function `defined_index`, whose body is `body` in the module bytes.
pub fn translate_function(
    cx: &ModuleCx<'_, '_>,
    defined_index: u32,
    body: Range<usize>,
) -> Result<()> {
    let function = cx.function(defined_index);
    let func_index = cx.info.num_imported_funcs + defined_index;
    let builder = cx.context.create_builder();
    let entry = cx.context.append_basic_block(function, "entry");
    builder.position_at_end(entry);
    let vmctx = function.get_nth_param(0).unwrap().into_pointer_value();
    let mut t = FuncTranslator {
        cx,
        builder,
        function,
        func_index,
        vmctx,
        locals: Vec::new(),
        local_values: Vec::new(),
        stack: Vec::new(),
        control: Vec::new(),
        reachable: true,
        dead_depth: 0,
        makes_calls: false,
        stack_check: None,
        has_tail_calls: false,
        fuel: None,
        loop_plans: Vec::new(),
        loops_seen: 0,
        rewind_loop: false,
        trap_blocks: HashMap::new(),
    };
    let body = FunctionBody::new(BinaryReader::new(&cx.wasm[body.clone()], body.start as u64));
    t.translate_body(&body).map_err(|e| match e {
        CompileError::Internal(m) => {
            CompileError::Internal(format!("{}: function {func_index}: {m}", cx.source))
        }
        other => other,
    })
}

impl<'a, 'b, 'ctx> FuncTranslator<'a, 'b, 'ctx> {
    fn translate_body(&mut self, body: &FunctionBody<'_>) -> Result<()> {
        let ft = self.cx.info.func_type(self.func_index).clone();
        for (i, t) in ft.params().iter().enumerate() {
            let slot = self.declare_local(*t)?;
            let param = self.function.get_nth_param(i as u32 + 1).unwrap();
            self.builder.build_store(slot, param)?;
        }
        for local in body.get_locals_reader().map_err(|e| self.invalid(e))? {
            let (count, ty) = local.map_err(|e| self.invalid(e))?;
            for _ in 0..count {
                let slot = self.declare_local(ty)?;
                let zero = self.zero(ty);
                self.builder.build_store(slot, zero)?;
            }
        }
        let fuel = self.cx.options.metering.fuel;
        if fuel {
            self.loop_plans = self.plan_fuel_strips(body)?;
        }
        let defined = (self.func_index - self.cx.info.num_imported_funcs) as usize;
        let entry_check = self
            .cx
            .fuel_entry_checks
            .is_some_and(|checks| checks[defined]);
        if fuel && entry_check {
            // One compare-and-branch at entry for both the stack and the fuel.
            let exhausted = self.stack_exhausted()?;
            self.start_metering(Some(exhausted))?;
        } else {
            self.check_stack_limit()?;
            if fuel {
                self.start_metering(None)?;
            }
        }
        self.count_profile()?;
        self.push_function_frame(ft.results())?;
        let mut ops = body.get_operators_reader().map_err(|e| self.invalid(e))?;
        // Where the last strip-mined loop's body starts: it has no inner loops.
        let mut strip_body = None;
        while !ops.eof() {
            let op = ops.read().map_err(|e| self.invalid(e))?;
            if let wasmparser::Operator::Loop { .. } = op {
                self.loops_seen += 1;
                if let Some(Some(_)) = self.loop_plans.get(self.loops_seen - 1) {
                    strip_body = Some(ops.clone());
                }
            }
            self.translate_operator(op)?;
            if std::mem::take(&mut self.rewind_loop) {
                ops = strip_body.take().expect("a strip-mined loop was read");
            }
        }
        // A function that calls nothing cannot recurse: the caller's check covers it, and a
        // frame larger than the host reserve still meets the guard page below the stack
        // (probed, and reported as stack exhaustion). LLVM deletes the now unused loads, but
        // not an interruptible function's atomic load of the limit: that goes here.
        if let (false, Some(check)) = (self.makes_calls, self.stack_check) {
            check.replace_all_uses_with(self.cx.context.bool_type().const_zero());
            if let Some(compare) = check.as_instruction() {
                let limit = compare
                    .get_operand(1)
                    .and_then(|o| o.value())
                    .and_then(|v| v.as_instruction_value());
                compare.erase_from_basic_block();
                if let Some(load) = limit.filter(|l| l.get_first_use().is_none()) {
                    load.erase_from_basic_block();
                }
            }
        }
        if self.has_tail_calls {
            self.function
                .remove_string_attribute(AttributeLoc::Function, "disable-tail-calls");
        }
        Ok(())
    }

    /// A reader's error in the body, as a compile error naming its offset.
    fn invalid(&self, e: wasmparser::BinaryReaderError) -> CompileError {
        CompileError::invalid(self.cx.source, None, e.offset() as usize, e.message())
    }

    fn declare_local(&mut self, t: ValType) -> Result<PointerValue<'ctx>> {
        let ty = self.cx.val_type(t);
        let slot = self.builder.build_alloca(ty, "local")?;
        self.locals.push((slot, ty));
        self.local_values.push(None);
        Ok(slot)
    }

    pub fn zero(&self, t: ValType) -> BasicValueEnum<'ctx> {
        match self.cx.val_type(t) {
            BasicTypeEnum::IntType(i) => i.const_zero().into(),
            BasicTypeEnum::FloatType(f) => f.const_zero().into(),
            BasicTypeEnum::PointerType(p) => p.const_null().into(),
            BasicTypeEnum::VectorType(v) => v.const_zero().into(),
            other => unreachable!("no wasm value has LLVM type {other:?}"),
        }
    }

    pub fn push(&mut self, v: impl Into<BasicValueEnum<'ctx>>) {
        self.stack.push(v.into());
    }

    pub fn pop(&mut self) -> BasicValueEnum<'ctx> {
        self.stack
            .pop()
            .expect("validated code never pops an empty stack")
    }

    pub fn pop_int(&mut self) -> IntValue<'ctx> {
        self.pop().into_int_value()
    }

    pub fn pop_n(&mut self, n: usize) -> Vec<BasicValueEnum<'ctx>> {
        let at = self.stack.len() - n;
        self.stack.split_off(at)
    }

    pub fn i32_const(&self, v: u64) -> IntValue<'ctx> {
        self.cx.context.i32_type().const_int(v, false)
    }

    pub fn i64_const(&self, v: u64) -> IntValue<'ctx> {
        self.cx.context.i64_type().const_int(v, false)
    }

    pub fn new_block(&self, name: &str) -> BasicBlock<'ctx> {
        self.cx.context.append_basic_block(self.function, name)
    }

    pub fn current_block(&self) -> BasicBlock<'ctx> {
        self.builder
            .get_insert_block()
            .expect("builder is positioned")
    }

    /// Adds phis for `types` at the start of `block`, keeping the builder where it was.
    pub fn make_phis(
        &self,
        block: BasicBlock<'ctx>,
        types: &[ValType],
    ) -> Result<Vec<PhiValue<'ctx>>> {
        let here = self.builder.get_insert_block();
        self.builder.position_at_end(block);
        let phis = types
            .iter()
            .map(|t| self.builder.build_phi(self.cx.val_type(*t), "phi"))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        if let Some(here) = here {
            self.builder.position_at_end(here);
        }
        Ok(phis)
    }

    /// Branches to the trap block for `code` when `cond` holds, and continues otherwise.
    pub fn trap_if(&mut self, cond: IntValue<'ctx>, code: TrapCode) -> Result<()> {
        let trap = self.trap_block(code)?;
        let cont = self.new_block("ok");
        self.branch_unlikely(cond, trap, cont)?;
        self.builder.position_at_end(cont);
        Ok(())
    }

    /// Branches to `unlikely` when `cond` holds, to `otherwise` else; the first is cold.
    pub fn branch_unlikely(
        &mut self,
        cond: IntValue<'ctx>,
        unlikely: BasicBlock<'ctx>,
        otherwise: BasicBlock<'ctx>,
    ) -> Result<()> {
        let expect = self.intrinsic("llvm.expect", &[self.cx.context.bool_type().into()]);
        let cold = self.cx.context.bool_type().const_zero();
        let cond = self
            .call_intrinsic(expect, &[cond.into(), cold.into()])?
            .into_int_value();
        self.builder
            .build_conditional_branch(cond, unlikely, otherwise)?;
        Ok(())
    }

    /// Traps unconditionally; what follows is unreachable.
    pub fn trap(&mut self, code: TrapCode) -> Result<()> {
        let trap = self.trap_block(code)?;
        self.builder.build_unconditional_branch(trap)?;
        self.reachable = false;
        Ok(())
    }

    fn trap_block(&mut self, code: TrapCode) -> Result<BasicBlock<'ctx>> {
        if let Some(b) = self.trap_blocks.get(&code) {
            return Ok(*b);
        }
        let here = self.current_block();
        let block = self.new_block("trap");
        self.builder.position_at_end(block);
        // The work done before the trap stays consumed.
        self.store_fuel()?;
        let code_value = self.i32_const(code as u64);
        self.call_builtin(runtime_support::Builtin::Trap, &[code_value.into()])?;
        self.builder.build_unreachable()?;
        self.builder.position_at_end(here);
        self.trap_blocks.insert(code, block);
        Ok(block)
    }
}
