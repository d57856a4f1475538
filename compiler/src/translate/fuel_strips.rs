//! Fuel checks that leave inner loops vectorizable (`waotc --fuel`).
//!
//! A fuel check at a loop header is a call inside the loop, and LLVM's vectorizer gives up on
//! such loops. But a loop whose body makes no call and opens no loop costs at most `C` fuel
//! per iteration, the sum of its operators' costs, so with `f` fuel left at its header it can
//! run `f / C + 1` more iterations without a check going off. Such a loop runs in strips: an
//! outer header counts the iterations the strip may run (at most [`STRIP_FUEL`] divided by
//! `C` or by the body's operator count, if more; only when the fuel is short of that does it
//! check the fuel and divide), and the wasm loop's own header is checked by that count alone,
//! which folds into the loop's exit condition. Every header visit a strip skips would have found
//! the fuel not negative, so the guest runs out of fuel at the same instruction as with a
//! check at every header, and uses the same fuel.
//!
//! LLVM's vectorizer needs the loop's trip count, which it cannot know for a loop entered
//! again in the middle, so the body is translated twice: the first copy runs the first strip,
//! from the loop's entry; the second runs every strip after it.
//!
//! At a strip's start the store's fuel is lowered by the most the strip can use (not below
//! zero), and its exits store the exact fuel, so a stop inside it that stores nothing (a
//! fault, an interrupt) charges up to `STRIP_FUEL` (or one iteration, if more) more than the
//! guest used, and gives back at most the last iteration when the strip ran past zero.

use super::control::{ControlFrame, FrameKind};
use super::loop_exits::exits_on_memory;
use super::{FuncTranslator, Result};
use crate::CompileError;
use inkwell::basic_block::BasicBlock;
use inkwell::values::{BasicValue, InstructionOpcode, IntValue, PointerValue};
use inkwell::IntPredicate;
use wasmparser::{BlockType, FunctionBody, Operator as Op, OperatorsReader};

/// The most fuel a strip may use, and the most operators it may run, between two checks (at
/// least one iteration's): it bounds what a trap inside a strip may overcharge, and how long
/// `--interruptible` code runs between two polls. A vectorized loop takes one extra exit per
/// strip.
pub const STRIP_FUEL: u64 = 1 << 22;

/// Loops whose one iteration may cost more than this are checked at every header, so that a
/// strip's charge cannot overflow.
const MAX_ITERATION_COST: u64 = 1 << 32;

/// How a loop runs in strips, decided before its body is translated.
#[derive(Clone, Copy)]
pub struct StripPlan {
    /// The most one iteration costs: the sum of the costs of the operators in the body.
    pub cost: u64,
    /// The operators in the body: the most one iteration runs.
    pub ops: u64,
    /// Whether the only branch back to the loop is one conditional branch.
    pub one_br_if: bool,
}

/// A loop being scanned by `plan_fuel_strips`.
struct OpenLoop<'r> {
    plan: usize,
    /// Its body, for `loop_exits`.
    body: OperatorsReader<'r>,
    cost: u64,
    ops: u64,
    eligible: bool,
    branches: u32,
    conditional: bool,
}

/// A strip-mined loop: where an exhausted count goes to check the fuel, and the count.
#[derive(Clone, Copy)]
pub struct Strip<'ctx> {
    /// The outer header: checks the fuel and starts a strip.
    pub outer: BasicBlock<'ctx>,
    /// Where a `br` to the loop counts down the strip before going to the header.
    pub latch: BasicBlock<'ctx>,
    /// Iterations left in the strip.
    budget: PointerValue<'ctx>,
    pub plan: StripPlan,
    /// The first copy of the body, entered only from before the loop.
    first_copy: bool,
    /// Not zero once the loop's `br_if` fell through in this strip (an i32).
    fell: PointerValue<'ctx>,
}

fn is_call(op: &Op<'_>) -> bool {
    matches!(
        op,
        Op::Call { .. }
            | Op::CallIndirect { .. }
            | Op::CallRef { .. }
            | Op::ReturnCall { .. }
            | Op::ReturnCallIndirect { .. }
            | Op::ReturnCallRef { .. }
    )
}

/// Whether an operator inside a loop keeps it from being strip-mined: calls and exceptions
/// store and reload the fuel, and an inner loop's iterations are not bounded by the cost.
pub(super) fn breaks_strip(op: &Op<'_>) -> bool {
    is_call(op)
        || matches!(
            op,
            Op::Loop { .. }
                | Op::Throw { .. }
                | Op::ThrowRef
                | Op::Rethrow { .. }
                | Op::Try { .. }
                | Op::TryTable { .. }
                | Op::Catch { .. }
                | Op::CatchAll
                | Op::Delegate { .. }
        )
}

/// Whether `value` is computed from a load of memory (not of a local's slot) or a call's
/// result, as far as a few steps back show: a loop that exits on such a value has no trip
/// count LLVM can compute, so it cannot be vectorized, and the single-exit form of its
/// `br_if` would only cost it the reduction that says which exit was taken.
pub fn reads_memory(value: IntValue<'_>) -> bool {
    fn walk(value: inkwell::values::BasicValueEnum<'_>, depth: u32) -> bool {
        let Some(i) = value.as_instruction_value() else {
            return false;
        };
        match i.get_opcode() {
            InstructionOpcode::Load => !matches!(
                i.get_operand(0)
                    .and_then(|o| o.value())
                    .and_then(|p| p.as_instruction_value())
                    .map(|p| p.get_opcode()),
                Some(InstructionOpcode::Alloca)
            ),
            InstructionOpcode::Call => true,
            InstructionOpcode::Phi => false,
            _ if depth == 0 => true,
            _ => (0..i.get_num_operands()).any(|k| {
                i.get_operand(k)
                    .and_then(|o| o.value())
                    .is_some_and(|o| walk(o, depth - 1))
            }),
        }
    }
    walk(value.into(), 8)
}

impl<'a, 'b, 'ctx> FuncTranslator<'a, 'b, 'ctx> {
    /// For each `loop` of the body in order, whether it can run in strips (no calls, no
    /// exceptions, no inner loops, no parameters) and how. Only with fuel metered.
    pub fn plan_fuel_strips(&self, body: &FunctionBody<'_>) -> Result<Vec<Option<StripPlan>>> {
        let mut plans = Vec::new();
        // A profile (`--profile-generate`) counts every loop header, which strips would skip.
        if !self.cx.options.fuel_strips || self.cx.options.metering.profile {
            return Ok(plans);
        }
        // Open constructs, innermost last: the index of a loop in `loops`, `None` for others.
        let mut open: Vec<Option<usize>> = Vec::new();
        let mut loops: Vec<OpenLoop> = Vec::new();
        let mut ops = body.get_operators_reader().map_err(|e| self.invalid(e))?;
        while !ops.eof() {
            let op = ops.read().map_err(|e| self.invalid(e))?;
            if let Some(inner) = loops.last_mut() {
                inner.cost = inner.cost.saturating_add(self.op_cost(&op));
                inner.ops += 1;
                inner.eligible &= !breaks_strip(&op);
            }
            let mut branch_to = |depth: u32, conditional: bool| {
                let at = open.len().checked_sub(1 + depth as usize);
                if let Some(&Some(target)) = at.map(|at| &open[at]) {
                    loops[target].branches += 1;
                    loops[target].conditional = conditional;
                }
            };
            match &op {
                Op::Br { relative_depth } => branch_to(*relative_depth, false),
                Op::BrIf { relative_depth }
                | Op::BrOnNull { relative_depth }
                | Op::BrOnNonNull { relative_depth }
                | Op::BrOnCast { relative_depth, .. }
                | Op::BrOnCastFail { relative_depth, .. } => branch_to(*relative_depth, true),
                Op::BrTable { targets } => {
                    // Each target counted twice: never the one-`br_if` form.
                    for depth in targets.targets().chain([Ok(targets.default())]) {
                        let depth = depth.map_err(|e| self.invalid(e))?;
                        branch_to(depth, false);
                        branch_to(depth, false);
                    }
                }
                _ => {}
            }
            match op {
                Op::Loop { blockty } => {
                    plans.push(None);
                    let eligible = match blockty {
                        BlockType::FuncType(i) => {
                            self.cx.info.types[i as usize].params().is_empty()
                        }
                        _ => true,
                    };
                    open.push(Some(loops.len()));
                    loops.push(OpenLoop {
                        plan: plans.len() - 1,
                        body: ops.clone(),
                        cost: 0,
                        ops: 0,
                        eligible,
                        branches: 0,
                        conditional: false,
                    });
                }
                Op::Block { .. } | Op::If { .. } | Op::Try { .. } | Op::TryTable { .. } => {
                    open.push(None)
                }
                Op::End | Op::Delegate { .. } => {
                    if let Some(Some(_)) = open.pop() {
                        let l = loops.pop().expect("an open loop");
                        let fits = l.cost <= MAX_ITERATION_COST;
                        // Checked only for loops that would run in strips: their bodies hold
                        // no loop, so each operator is read at most twice more.
                        if l.eligible && fits && !exits_on_memory(&l.body, self.locals.len()) {
                            plans[l.plan] = Some(StripPlan {
                                cost: l.cost,
                                ops: l.ops,
                                one_br_if: l.branches == 1 && l.conditional,
                            });
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(plans)
    }

    /// Opens a strip-mined loop from the current block and starts its first copy; returns
    /// the wasm loop's header, where the builder is left.
    pub fn open_strip(&mut self, plan: StripPlan) -> Result<(BasicBlock<'ctx>, Strip<'ctx>)> {
        let budget = self.entry_alloca("strip", self.cx.context.i64_type())?;
        let fell = self.entry_alloca("fell", self.cx.context.i32_type())?;
        let first = self.new_block("fuel_strip");
        self.builder.build_unconditional_branch(first)?;
        let strip = Strip {
            outer: self.new_block("fuel_strips"),
            latch: self.new_block("strip_latch"),
            budget,
            fell,
            plan,
            first_copy: true,
        };
        let header = self.start_strip(first, strip)?;
        Ok((header, strip))
    }

    /// Closes the first copy of a strip-mined loop (`frame`, popped) and opens the second at
    /// the same body, which the caller translates again. False when no strip of the first
    /// copy can end early, and the loop is closed.
    pub fn reopen_strip(&mut self, frame: &ControlFrame<'ctx>) -> Result<bool> {
        let FrameKind::Loop {
            strip: Some(first), ..
        } = frame.kind
        else {
            return Ok(false);
        };
        if !first.first_copy {
            return Ok(false);
        }
        // A loop whose first copy never branches back needs no second.
        let delete = |block: BasicBlock<'ctx>| {
            // SAFETY: nothing uses the block, and only its own instructions use theirs.
            unsafe { block.delete() }
                .map_err(|()| CompileError::Internal("strip block delete".into()))
        };
        if first.latch.get_first_use().is_none() {
            delete(first.latch)?;
        }
        if first.outer.get_first_use().is_none() {
            delete(first.outer)?;
            return Ok(false);
        }
        let strip = Strip {
            latch: self.new_block("strip_latch"),
            first_copy: false,
            ..first
        };
        let header = self.start_strip(strip.outer, strip)?;
        self.stack.truncate(frame.height);
        self.control.push(ControlFrame {
            kind: FrameKind::Loop {
                header,
                header_phis: Vec::new(),
                strip: Some(strip),
            },
            end: frame.end,
            end_phis: frame.end_phis.clone(),
            height: frame.height,
        });
        self.reachable = true;
        Ok(true)
    }

    /// Fills `outer`: checks the fuel, starts a strip and enters a new header, and fills the
    /// strip's latch; returns the header, where the builder is left.
    fn start_strip(
        &mut self,
        outer: BasicBlock<'ctx>,
        strip: Strip<'ctx>,
    ) -> Result<BasicBlock<'ctx>> {
        let i64t = self.cx.context.i64_type();
        let cost = strip.plan.cost;
        let header = self.new_block("loop");
        self.builder.position_at_end(outer);
        // `left / cost + 1` iterations keep every header but the strip's first at or above
        // zero, when `left` is not negative. With fuel for a whole strip, as is usual, that
        // is more than the cap: one compare, no check and no division. The cap bounds
        // operators too, for `--interruptible`'s polls when operators cost nothing.
        let most_runs = (STRIP_FUEL / cost.max(strip.plan.ops).max(1)).max(1);
        let cap = i64t.const_int(most_runs, false);
        let left = self.fuel_left()?;
        let enough = i64t.const_int(most_runs * cost, false);
        let whole = self
            .builder
            .build_int_compare(IntPredicate::SGE, left, enough, "")?;
        let fast = self.current_block();
        let part = self.new_block("strip_part");
        let join = self.new_block("strip_runs");
        self.branch_unlikely(self.builder.build_not(whole, "")?, part, join)?;
        self.builder.position_at_end(part);
        let some = match cost {
            0 => {
                self.check_fuel_left()?;
                cap
            }
            c => {
                let left = self.check_fuel_left()?;
                let quotient =
                    self.builder
                        .build_int_unsigned_div(left, i64t.const_int(c, false), "")?;
                let some = self
                    .builder
                    .build_int_add(quotient, i64t.const_int(1, false), "")?;
                let small = self
                    .builder
                    .build_int_compare(IntPredicate::ULT, some, cap, "")?;
                self.builder
                    .build_select(small, some, cap, "")?
                    .into_int_value()
            }
        };
        let part_end = self.current_block();
        self.builder.build_unconditional_branch(join)?;
        self.builder.position_at_end(join);
        let runs = self.builder.build_phi(i64t, "strip")?;
        runs.add_incoming(&[(&cap, fast), (&some, part_end)]);
        let runs = runs.as_basic_value().into_int_value();
        let left = self.fuel_left()?;
        self.builder.build_store(strip.budget, runs)?;
        self.builder
            .build_store(strip.fell, self.cx.context.i32_type().const_zero())?;
        let most = self
            .builder
            .build_int_mul(runs, i64t.const_int(cost, false), "")?;
        // Not below zero: a stop inside the strip (a fault, an interrupt) must not leave the
        // store owing fuel the guest may not have used. That gives back at most the last
        // iteration's cost, when the strip may run past zero.
        let charged = self.builder.build_int_sub(left, most, "")?;
        let owing =
            self.builder
                .build_int_compare(IntPredicate::SLT, charged, i64t.const_zero(), "")?;
        let charged = self
            .builder
            .build_select(owing, i64t.const_zero(), charged, "")?
            .into_int_value();
        self.pin_fuel(charged)?;
        self.poll_interrupt()?;
        self.builder.build_unconditional_branch(header)?;

        self.builder.position_at_end(strip.latch);
        let more = self.count_down(strip.budget)?;
        self.builder
            .build_conditional_branch(more, header, strip.outer)?;

        self.builder.position_at_end(header);
        Ok(header)
    }

    /// Counts one iteration off the strip; true while iterations are left. A `br_if` that
    /// is not taken counts too, which only ends a strip early.
    fn count_down(&mut self, budget: PointerValue<'ctx>) -> Result<IntValue<'ctx>> {
        let i64t = self.cx.context.i64_type();
        let runs = self.builder.build_load(i64t, budget, "strip")?;
        let runs =
            self.builder
                .build_int_nsw_sub(runs.into_int_value(), i64t.const_int(1, false), "")?;
        self.builder.build_store(budget, runs)?;
        Ok(self
            .builder
            .build_int_compare(IntPredicate::SGT, runs, i64t.const_zero(), "")?)
    }

    /// The loop's one `br_if` back to its header: a single exit whose condition is the
    /// branch's and the count's, so that LLVM sees a loop with a computable trip count. Which
    /// of the two ended the strip is known outside the loop from an any-of reduction of the
    /// branch's condition, since the vectorizer accepts no other value computed in the loop
    /// and used after it.
    pub fn branch_if_strip(
        &mut self,
        taken: IntValue<'ctx>,
        header: BasicBlock<'ctx>,
        strip: Strip<'ctx>,
    ) -> Result<()> {
        let (bool_type, i32t) = (self.cx.context.bool_type(), self.cx.context.i32_type());
        let more = self.count_down(strip.budget)?;
        // An i32 select: LLVM 19 vectorizes that reduction (any-of), not one of i1s.
        let fell = self.builder.build_load(i32t, strip.fell, "fell")?;
        let fell = self
            .builder
            .build_select(taken, fell, i32t.const_int(1, false).into(), "fell")?
            .into_int_value();
        self.builder.build_store(strip.fell, fell)?;
        let fell = self
            .builder
            .build_int_compare(IntPredicate::NE, fell, i32t.const_zero(), "")?;
        let again = self
            .builder
            .build_select(taken, more, bool_type.const_zero(), "")?
            .into_int_value();
        let exit = self.new_block("strip_exit");
        let cont = self.new_block("br_if_cont");
        self.builder.build_conditional_branch(again, header, exit)?;
        self.builder.position_at_end(exit);
        self.builder
            .build_conditional_branch(fell, cont, strip.outer)?;
        self.builder.position_at_end(cont);
        Ok(())
    }

    /// Whether a branch to the frame `depth` levels out leaves a strip-mined loop.
    pub fn leaves_strip(&self, depth: u32) -> bool {
        let target = self.control.len() - 1 - depth as usize;
        self.control[target + 1..]
            .iter()
            .any(|f| matches!(f.kind, FrameKind::Loop { strip: Some(_), .. }))
    }

    /// Leaving a strip-mined loop: the store's fuel, lowered for the whole strip, becomes the
    /// exact fuel left, so that a trap after the loop charges only what ran.
    pub fn leave_strip(&mut self) -> Result<()> {
        self.pin_fuel_left()
    }

    /// The strip of the frame `depth` levels out, if it is a strip-mined loop.
    pub fn strip_of(&self, depth: u32) -> Option<(BasicBlock<'ctx>, Strip<'ctx>)> {
        let frame = &self.control[self.control.len() - 1 - depth as usize];
        match &frame.kind {
            FrameKind::Loop {
                header,
                strip: Some(strip),
                ..
            } => Some((*header, *strip)),
            _ => None,
        }
    }
}
