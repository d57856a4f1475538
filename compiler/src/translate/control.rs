//! Structured control flow: blocks, loops and ifs become LLVM blocks whose parameters and
//! results are phi nodes; a branch adds its values as incoming edges.

use super::exceptions::Handler;
use super::fuel_strips::{reads_memory, Strip};
use super::{FuncTranslator, Result};
use inkwell::basic_block::BasicBlock;
use inkwell::values::{BasicValueEnum, IntValue, PhiValue, PointerValue};
use inkwell::IntPredicate;
use runtime_support::TrapCode;
use std::collections::HashMap;
use wasmparser::{BlockType, BrTable, ValType};

pub enum FrameKind<'ctx> {
    Function,
    Block,
    Loop {
        header: BasicBlock<'ctx>,
        header_phis: Vec<PhiValue<'ctx>>,
        /// Set when the loop runs in fuel strips (`fuel_strips`); it has no parameters.
        strip: Option<Strip<'ctx>>,
    },
    If {
        else_block: BasicBlock<'ctx>,
        params: Vec<BasicValueEnum<'ctx>>,
        has_else: bool,
    },
    /// A `try_table`: a block whose calls unwind to `handler`.
    TryTable {
        handler: Handler<'ctx>,
    },
    /// A legacy `try`, in its body (`catching` false) or in one of its catch clauses.
    LegacyTry {
        handler: Handler<'ctx>,
        catching: bool,
        /// Where the next catch clause's tag test goes; `None` after `catch_all`.
        next_test: Option<BasicBlock<'ctx>>,
        /// The caught exception's tag, loaded in the dispatch block.
        tag: PointerValue<'ctx>,
    },
}

pub struct ControlFrame<'ctx> {
    pub kind: FrameKind<'ctx>,
    pub end: BasicBlock<'ctx>,
    pub end_phis: Vec<PhiValue<'ctx>>,
    /// Operand stack height below the frame's parameters.
    pub height: usize,
}

impl<'a, 'b, 'ctx> FuncTranslator<'a, 'b, 'ctx> {
    fn block_signature(&self, ty: BlockType) -> (Vec<ValType>, Vec<ValType>) {
        match ty {
            BlockType::Empty => (vec![], vec![]),
            BlockType::Type(t) => (vec![], vec![t]),
            BlockType::FuncType(i) => {
                let ft = &self.cx.info.types[i as usize];
                (ft.params().to_vec(), ft.results().to_vec())
            }
        }
    }

    pub fn push_function_frame(&mut self, results: &[ValType]) -> Result<()> {
        let end = self.new_block("return");
        let end_phis = self.make_phis(end, results)?;
        self.control.push(ControlFrame {
            kind: FrameKind::Function,
            end,
            end_phis,
            height: 0,
        });
        Ok(())
    }

    /// Opens a construct in dead code: only its nesting is tracked.
    pub fn enter_dead(&mut self) -> Result<()> {
        self.dead_depth += 1;
        Ok(())
    }

    pub fn translate_block(&mut self, ty: BlockType) -> Result<()> {
        self.push_block_frame(ty, FrameKind::Block)
    }

    /// A frame that branches to its end, like `block`.
    pub fn push_block_frame(&mut self, ty: BlockType, kind: FrameKind<'ctx>) -> Result<()> {
        let (params, results) = self.block_signature(ty);
        let end = self.new_block("block_end");
        let end_phis = self.make_phis(end, &results)?;
        let height = self.stack.len() - params.len();
        self.control.push(ControlFrame {
            kind,
            end,
            end_phis,
            height,
        });
        Ok(())
    }

    pub fn translate_loop(&mut self, ty: BlockType) -> Result<()> {
        let (params, results) = self.block_signature(ty);
        let plan = self.loop_plans.get(self.loops_seen - 1).copied().flatten();
        let end = self.new_block("loop_end");
        let end_phis = self.make_phis(end, &results)?;
        let (header, header_phis, strip) = match plan {
            Some(plan) => {
                let (header, strip) = self.open_strip(plan)?;
                (header, Vec::new(), Some(strip))
            }
            _ => {
                let header = self.new_block("loop");
                let header_phis = self.make_phis(header, &params)?;
                let values = self.pop_n(params.len());
                add_incoming(&header_phis, &values, self.current_block());
                self.builder.build_unconditional_branch(header)?;
                self.builder.position_at_end(header);
                self.meter_loop_header()?;
                self.count_profile()?;
                (header, header_phis, None)
            }
        };
        let height = self.stack.len();
        self.stack
            .extend(header_phis.iter().map(|p| p.as_basic_value()));
        let kind = FrameKind::Loop {
            header,
            header_phis,
            strip,
        };
        self.control.push(ControlFrame {
            kind,
            end,
            end_phis,
            height,
        });
        Ok(())
    }

    pub fn translate_if(&mut self, ty: BlockType) -> Result<()> {
        let (params, results) = self.block_signature(ty);
        let cond = self.pop_int();
        let then_block = self.new_block("then");
        let else_block = self.new_block("else");
        let end = self.new_block("if_end");
        let end_phis = self.make_phis(end, &results)?;
        let zero = cond.get_type().const_zero();
        let taken = self
            .builder
            .build_int_compare(IntPredicate::NE, cond, zero, "")?;
        self.builder
            .build_conditional_branch(taken, then_block, else_block)?;
        self.builder.position_at_end(then_block);
        let height = self.stack.len() - params.len();
        let params = self.stack[height..].to_vec();
        let kind = FrameKind::If {
            else_block,
            params,
            has_else: false,
        };
        self.control.push(ControlFrame {
            kind,
            end,
            end_phis,
            height,
        });
        Ok(())
    }

    pub fn translate_else(&mut self) -> Result<()> {
        if self.dead_depth > 0 {
            return Ok(());
        }
        self.fall_through_to_end()?;
        let frame = self.control.last_mut().expect("else inside an if");
        let FrameKind::If {
            else_block,
            params,
            has_else,
        } = &mut frame.kind
        else {
            unreachable!("validated: else closes an if")
        };
        *has_else = true;
        let (else_block, params, height) = (*else_block, params.clone(), frame.height);
        self.stack.truncate(height);
        self.stack.extend(params);
        self.builder.position_at_end(else_block);
        self.reachable = true;
        Ok(())
    }

    /// When the current code is reachable, branches to the innermost frame's end with the
    /// frame's results.
    pub fn fall_through_to_end(&mut self) -> Result<()> {
        if !self.reachable {
            return Ok(());
        }
        let frame = self.control.last().unwrap();
        let (end, phis) = (frame.end, frame.end_phis.clone());
        let values = self.pop_n(phis.len());
        add_incoming(&phis, &values, self.current_block());
        self.builder.build_unconditional_branch(end)?;
        Ok(())
    }

    pub fn translate_end(&mut self) -> Result<()> {
        if self.dead_depth > 0 {
            self.dead_depth -= 1;
            return Ok(());
        }
        self.translate_end_of(None)
    }

    /// Closes the innermost frame; `delegate` is the depth of a legacy `delegate`.
    pub fn translate_end_of(&mut self, delegate: Option<u32>) -> Result<()> {
        self.fall_through_to_end()?;
        self.close_legacy_try(delegate)?;
        let frame = self.control.pop().expect("end closes a frame");
        if self.reopen_strip(&frame)? {
            self.rewind_loop = true;
            return Ok(());
        }
        if let FrameKind::If {
            else_block,
            params,
            has_else: false,
        } = &frame.kind
        {
            // Without an else, the parameters pass through as the results.
            self.builder.position_at_end(*else_block);
            add_incoming(&frame.end_phis, params, *else_block);
            self.builder.build_unconditional_branch(frame.end)?;
        }
        self.stack.truncate(frame.height);
        self.builder.position_at_end(frame.end);
        let live = frame.end.get_first_use().is_some();
        if !live {
            for phi in &frame.end_phis {
                phi.as_instruction().erase_from_basic_block();
            }
            self.builder.build_unreachable()?;
            self.reachable = false;
            return Ok(());
        }
        self.reachable = true;
        if let FrameKind::Loop { strip: Some(_), .. } = frame.kind {
            self.leave_strip()?;
        }
        let values: Vec<BasicValueEnum> =
            frame.end_phis.iter().map(|p| p.as_basic_value()).collect();
        if matches!(frame.kind, FrameKind::Function) {
            self.store_fuel()?;
            self.build_return(&values)?;
            self.reachable = false;
        } else {
            self.stack.extend(values);
        }
        Ok(())
    }

    fn build_return(&mut self, values: &[BasicValueEnum<'ctx>]) -> Result<()> {
        match values {
            [] => self.builder.build_return(None)?,
            [v] => self.builder.build_return(Some(v))?,
            many => self.builder.build_aggregate_return(many)?,
        };
        Ok(())
    }

    /// The block a branch to `depth` jumps to, and the phis that receive its values.
    fn branch_target(&self, depth: u32) -> (BasicBlock<'ctx>, Vec<PhiValue<'ctx>>) {
        let frame = &self.control[self.control.len() - 1 - depth as usize];
        match &frame.kind {
            FrameKind::Loop {
                strip: Some(strip), ..
            } => (strip.latch, Vec::new()),
            FrameKind::Loop {
                header,
                header_phis,
                ..
            } => (*header, header_phis.clone()),
            _ => (frame.end, frame.end_phis.clone()),
        }
    }

    /// The values a branch to `target` carries: the top of the stack, not popped.
    fn branch_values(&self, phis: &[PhiValue<'ctx>]) -> Vec<BasicValueEnum<'ctx>> {
        self.stack[self.stack.len() - phis.len()..].to_vec()
    }

    /// Branches to the frame `depth` with `values` (not from the operand stack).
    pub fn branch_with(&mut self, depth: u32, values: &[BasicValueEnum<'ctx>]) -> Result<()> {
        let (target, phis) = self.branch_target(depth);
        add_incoming(&phis, values, self.current_block());
        self.builder.build_unconditional_branch(target)?;
        Ok(())
    }

    pub fn translate_br(&mut self, depth: u32) -> Result<()> {
        if self.leaves_strip(depth) {
            self.leave_strip()?;
        }
        let (target, phis) = self.branch_target(depth);
        let values = self.branch_values(&phis);
        add_incoming(&phis, &values, self.current_block());
        self.builder.build_unconditional_branch(target)?;
        self.reachable = false;
        Ok(())
    }

    pub fn translate_br_if(&mut self, depth: u32) -> Result<()> {
        let cond = self.pop_int();
        let zero = cond.get_type().const_zero();
        let taken = self
            .builder
            .build_int_compare(IntPredicate::NE, cond, zero, "")?;
        self.branch_if(taken, depth)
    }

    /// `br_on_null`: branches without the reference when it is null, else keeps it.
    pub fn translate_br_on_null(&mut self, depth: u32) -> Result<()> {
        let r = self.pop().into_pointer_value();
        let is_null = self.builder.build_is_null(r, "")?;
        self.branch_if(is_null, depth)?;
        self.push(r);
        Ok(())
    }

    /// `br_on_non_null`: branches with the reference when it is not null, else drops it.
    pub fn translate_br_on_non_null(&mut self, depth: u32) -> Result<()> {
        let r = self.stack.last().unwrap().into_pointer_value();
        let not_null = self.builder.build_is_not_null(r, "")?;
        self.branch_if(not_null, depth)?;
        self.pop();
        Ok(())
    }

    /// Branches to `depth` with the top of the stack when `taken`, else falls through.
    pub(super) fn branch_if(&mut self, taken: IntValue<'ctx>, depth: u32) -> Result<()> {
        if let Some((header, strip)) = self.strip_of(depth) {
            if strip.plan.one_br_if && !reads_memory(taken) {
                return self.branch_if_strip(taken, header, strip);
            }
        }
        let (mut target, phis) = self.branch_target(depth);
        let values = self.branch_values(&phis);
        let mut from = self.current_block();
        if self.leaves_strip(depth) {
            // An edge block, to store the exact fuel on the way out only.
            let edge = self.new_block("strip_leave");
            self.builder.position_at_end(edge);
            self.leave_strip()?;
            self.builder.build_unconditional_branch(target)?;
            self.builder.position_at_end(from);
            (from, target) = (edge, edge);
        }
        add_incoming(&phis, &values, from);
        let cont = self.new_block("br_if_cont");
        self.builder.build_conditional_branch(taken, target, cont)?;
        self.builder.position_at_end(cont);
        Ok(())
    }

    /// Each distinct target gets one edge block, so that every phi sees one edge per block.
    pub fn translate_br_table(&mut self, table: BrTable<'_>) -> Result<()> {
        let index = self.pop_int();
        let here = self.current_block();
        let mut edges: HashMap<u32, BasicBlock<'ctx>> = HashMap::new();
        let mut edge = |t: &mut Self, depth: u32| -> Result<BasicBlock<'ctx>> {
            if let Some(b) = edges.get(&depth) {
                return Ok(*b);
            }
            let (target, phis) = t.branch_target(depth);
            let values = t.branch_values(&phis);
            let block = t.new_block("br_table_edge");
            t.builder.position_at_end(block);
            if t.leaves_strip(depth) {
                t.leave_strip()?;
            }
            add_incoming(&phis, &values, block);
            t.builder.build_unconditional_branch(target)?;
            t.builder.position_at_end(here);
            edges.insert(depth, block);
            Ok(block)
        };
        let mut cases = Vec::new();
        for (i, depth) in table.targets().enumerate() {
            let depth = depth.map_err(|e| {
                crate::CompileError::invalid(self.cx.source, None, e.offset() as usize, e.message())
            })?;
            cases.push((self.i32_const(i as u64), edge(self, depth)?));
        }
        let default = edge(self, table.default())?;
        self.builder.build_switch(index, default, &cases)?;
        self.reachable = false;
        Ok(())
    }

    pub fn translate_return(&mut self) -> Result<()> {
        self.translate_br(self.control.len() as u32 - 1)
    }

    pub fn translate_unreachable(&mut self) -> Result<()> {
        self.trap(TrapCode::Unreachable)
    }
}

pub fn add_incoming<'ctx>(
    phis: &[PhiValue<'ctx>],
    values: &[BasicValueEnum<'ctx>],
    from: BasicBlock<'ctx>,
) {
    for (phi, v) in phis.iter().zip(values) {
        phi.add_incoming(&[(v, from)]);
    }
}
