//! Exception handling: `try_table`, `throw`, `throw_ref`, and the legacy `try`/`catch`/
//! `catch_all`/`rethrow`/`delegate`.
//!
//! Each handler has a landing pad, the unwind destination of every call inside it, and a
//! dispatch block that receives the exception (from the pad, or straight from a `throw` in
//! the same function, which needs no unwinding). Dispatch compares the exception's tag with
//! the catch clauses in order; when none matches it passes the exception to the next handler
//! outward, or rethrows it to the caller. Entering a handler executes nothing. The layout of
//! exception objects is `runtime_support::exception`'s.

use super::control::FrameKind;
use super::{FuncTranslator, Result};
use inkwell::basic_block::BasicBlock;
use inkwell::module::Linkage;
use inkwell::values::{BasicValueEnum, FunctionValue, PhiValue, PointerValue};
use inkwell::IntPredicate;
use runtime_support::exception;
use runtime_support::{Builtin, TrapCode};
use wasmparser::{BlockType, Catch, TryTable};

/// Where exceptions raised inside a handler go.
#[derive(Clone, Copy)]
pub struct Handler<'ctx> {
    /// Unwind destination of calls inside the handler.
    pub pad: BasicBlock<'ctx>,
    /// Receives the exception object in `exn` and tests the catch clauses.
    pub dispatch: BasicBlock<'ctx>,
    pub exn: PhiValue<'ctx>,
}

/// The personality routine of every function with a landing pad (defined in the glue piece).
pub fn personality<'ctx>(cx: &crate::codegen::ModuleCx<'_, 'ctx>) -> FunctionValue<'ctx> {
    if let Some(f) = cx.module.get_function(exception::SYM_PERSONALITY) {
        return f;
    }
    let c = cx.context;
    let ptr = cx.ptr_type();
    let ty = c.i32_type().fn_type(
        &[
            c.i32_type().into(),
            c.i32_type().into(),
            c.i64_type().into(),
            ptr.into(),
            ptr.into(),
        ],
        false,
    );
    let f = cx
        .module
        .add_function(exception::SYM_PERSONALITY, ty, Some(Linkage::External));
    f.as_global_value()
        .set_visibility(inkwell::GlobalVisibility::Hidden);
    f
}

impl<'a, 'b, 'ctx> FuncTranslator<'a, 'b, 'ctx> {
    /// A new handler: its landing pad and an empty dispatch block that has loaded nothing yet.
    fn new_handler(&mut self) -> Result<Handler<'ctx>> {
        let here = self.current_block();
        let pad = self.new_block("landing_pad");
        let dispatch = self.new_block("dispatch");
        let ptr = self.cx.ptr_type();
        self.builder.position_at_end(dispatch);
        let exn = self.builder.build_phi(ptr, "exn")?;
        self.builder.position_at_end(pad);
        let personality = personality(self.cx);
        self.function.set_personality_function(personality);
        let pad_type = self
            .cx
            .context
            .struct_type(&[ptr.into(), self.cx.context.i32_type().into()], false);
        // A cleanup pad: the throw is a forced unwind, which enters every pad on its way.
        let lp = self
            .builder
            .build_landing_pad(pad_type, personality, &[], true, "lp")?;
        let object = self
            .builder
            .build_extract_value(lp.into_struct_value(), 0, "exn_object")?;
        exn.add_incoming(&[(&object, pad)]);
        self.reload_fuel()?;
        self.builder.build_unconditional_branch(dispatch)?;
        self.builder.position_at_end(here);
        Ok(Handler { pad, dispatch, exn })
    }

    /// The innermost handler whose body encloses frame `depth` (0: the innermost frame).
    fn active_handler(&self, depth: usize) -> Option<Handler<'ctx>> {
        let top = self.control.len().checked_sub(1 + depth)?;
        self.control[..=top]
            .iter()
            .rev()
            .find_map(|f| match &f.kind {
                FrameKind::TryTable { handler } => Some(*handler),
                FrameKind::LegacyTry {
                    handler,
                    catching: false,
                    ..
                } => Some(*handler),
                _ => None,
            })
    }

    /// The unwind destination for a call here, if any handler encloses it.
    pub fn landing_pad(&self) -> Option<BasicBlock<'ctx>> {
        self.active_handler(0).map(|h| h.pad)
    }

    /// Passes `exn` to `handler`'s dispatch, or throws it to the caller when there is none.
    fn throw_to(
        &mut self,
        handler: Option<Handler<'ctx>>,
        exn: BasicValueEnum<'ctx>,
    ) -> Result<()> {
        match handler {
            Some(h) => {
                h.exn.add_incoming(&[(&exn, self.current_block())]);
                self.builder.build_unconditional_branch(h.dispatch)?;
            }
            None => {
                self.store_fuel()?;
                self.call_builtin(Builtin::Throw, &[exn.into()])?;
                self.builder.build_unreachable()?;
            }
        }
        Ok(())
    }

    fn throw_exn(&mut self, exn: BasicValueEnum<'ctx>) -> Result<()> {
        let handler = self.active_handler(0);
        self.throw_to(handler, exn)?;
        self.reachable = false;
        Ok(())
    }

    pub fn translate_throw(&mut self, tag: u32) -> Result<()> {
        let ty = self.cx.info.tags[tag as usize];
        let n = self.cx.info.types[ty as usize].params().len();
        let exn = self
            .call_builtin(Builtin::ExnNew, &[self.i32_const(tag as u64).into()])?
            .expect("exn.new returns the object")
            .into_pointer_value();
        for (i, v) in self.pop_n(n).into_iter().enumerate() {
            let p = self.byte_offset(exn, exception::payload_offset(i as u32))?;
            self.builder.build_store(p, v)?;
        }
        self.throw_exn(exn.into())
    }

    pub fn translate_throw_ref(&mut self) -> Result<()> {
        let exn = self.pop().into_pointer_value();
        let is_null = self.builder.build_is_null(exn, "")?;
        self.trap_if(is_null, TrapCode::NullExnRef)?;
        self.throw_exn(exn.into())
    }

    fn exn_tag(&self, exn: PointerValue<'ctx>) -> Result<PointerValue<'ctx>> {
        let p = self.byte_offset(exn, exception::OFFSET_TAG)?;
        Ok(self
            .builder
            .build_load(self.cx.ptr_type(), p, "tag")?
            .into_pointer_value())
    }

    /// Branches to `yes` when the exception's tag is this instance's tag `tag`, else to a new
    /// block, which is returned.
    fn test_tag(
        &mut self,
        exn_tag: PointerValue<'ctx>,
        tag: u32,
        yes: BasicBlock<'ctx>,
    ) -> Result<BasicBlock<'ctx>> {
        let slot = self.byte_offset(self.vmctx, self.cx.layout.tag(tag))?;
        let expected = self.load_invariant(self.cx.ptr_type(), slot)?;
        let same = self.builder.build_int_compare(
            IntPredicate::EQ,
            exn_tag,
            expected.into_pointer_value(),
            "",
        )?;
        let no = self.new_block("next_catch");
        self.builder.build_conditional_branch(same, yes, no)?;
        Ok(no)
    }

    fn payload(&self, exn: PointerValue<'ctx>, tag: u32) -> Result<Vec<BasicValueEnum<'ctx>>> {
        let ty = &self.cx.info.types[self.cx.info.tags[tag as usize] as usize];
        let mut values = Vec::new();
        for (i, t) in ty.params().iter().enumerate() {
            let p = self.byte_offset(exn, exception::payload_offset(i as u32))?;
            values.push(
                self.builder
                    .build_load(self.cx.val_type(*t), p, "payload")?,
            );
        }
        Ok(values)
    }

    pub fn translate_try_table(&mut self, table: TryTable) -> Result<()> {
        let handler = self.new_handler()?;
        let outer = self.active_handler(0);
        let here = self.current_block();
        self.builder.position_at_end(handler.dispatch);
        let exn = handler.exn.as_basic_value().into_pointer_value();
        let tag = self.exn_tag(exn)?;
        let mut open = true;
        for catch in &table.catches {
            let (tag_index, label, with_ref) = match *catch {
                Catch::One { tag, label } => (Some(tag), label, false),
                Catch::OneRef { tag, label } => (Some(tag), label, true),
                Catch::All { label } => (None, label, false),
                Catch::AllRef { label } => (None, label, true),
            };
            let taken = self.new_block("catch");
            match tag_index {
                Some(t) => {
                    let next = self.test_tag(tag, t, taken)?;
                    self.builder.position_at_end(taken);
                    let mut values = self.payload(exn, t)?;
                    if with_ref {
                        values.push(exn.into());
                    }
                    self.branch_with(label, &values)?;
                    self.builder.position_at_end(next);
                }
                None => {
                    self.builder.build_unconditional_branch(taken)?;
                    self.builder.position_at_end(taken);
                    let values: Vec<BasicValueEnum> =
                        if with_ref { vec![exn.into()] } else { vec![] };
                    self.branch_with(label, &values)?;
                    open = false;
                    break;
                }
            }
        }
        if open {
            self.throw_to(outer, exn.into())?;
        }
        self.builder.position_at_end(here);
        self.push_block_frame(table.ty, FrameKind::TryTable { handler })
    }

    pub fn translate_try(&mut self, ty: BlockType) -> Result<()> {
        let handler = self.new_handler()?;
        let here = self.current_block();
        self.builder.position_at_end(handler.dispatch);
        let tag = self.exn_tag(handler.exn.as_basic_value().into_pointer_value())?;
        self.builder.position_at_end(here);
        let kind = FrameKind::LegacyTry {
            handler,
            catching: false,
            next_test: Some(handler.dispatch),
            tag,
        };
        self.push_block_frame(ty, kind)
    }

    /// `catch tag` (`Some`) or `catch_all` (`None`) of a legacy `try`.
    pub fn translate_catch(&mut self, tag: Option<u32>) -> Result<()> {
        if self.dead_depth > 0 {
            return Ok(());
        }
        self.fall_through_to_end()?;
        let frame = self.control.last_mut().expect("catch inside a try");
        let FrameKind::LegacyTry {
            handler,
            catching,
            next_test,
            tag: exn_tag,
        } = &mut frame.kind
        else {
            unreachable!("validated: catch belongs to a try")
        };
        *catching = true;
        let (handler, exn_tag, height) = (*handler, *exn_tag, frame.height);
        let test = next_test
            .take()
            .expect("validated: nothing follows catch_all");
        let taken = self.new_block("catch");
        self.builder.position_at_end(test);
        let next = match tag {
            Some(t) => Some(self.test_tag(exn_tag, t, taken)?),
            None => {
                self.builder.build_unconditional_branch(taken)?;
                None
            }
        };
        if let FrameKind::LegacyTry { next_test, .. } = &mut self.control.last_mut().unwrap().kind {
            *next_test = next;
        }
        self.builder.position_at_end(taken);
        self.stack.truncate(height);
        if let Some(t) = tag {
            let exn = handler.exn.as_basic_value().into_pointer_value();
            let values = self.payload(exn, t)?;
            self.stack.extend(values);
        }
        self.reachable = true;
        Ok(())
    }

    pub fn translate_rethrow(&mut self, depth: u32) -> Result<()> {
        let frame = &self.control[self.control.len() - 1 - depth as usize];
        let FrameKind::LegacyTry { handler, .. } = &frame.kind else {
            unreachable!("validated: rethrow names a catch")
        };
        let exn = handler.exn.as_basic_value();
        self.throw_exn(exn)
    }

    /// At the end of a legacy `try` (or its `delegate depth`), exceptions that no clause took
    /// go on to the handler enclosing the target frame.
    pub fn close_legacy_try(&mut self, delegate: Option<u32>) -> Result<()> {
        let frame = self.control.last().expect("end closes a frame");
        let FrameKind::LegacyTry {
            handler,
            next_test: Some(test),
            ..
        } = &frame.kind
        else {
            return Ok(());
        };
        let (exn, test) = (handler.exn.as_basic_value(), *test);
        let outer = self.active_handler(1 + delegate.unwrap_or(0) as usize);
        let here = self.builder.get_insert_block();
        self.builder.position_at_end(test);
        self.throw_to(outer, exn)?;
        if let Some(here) = here {
            self.builder.position_at_end(here);
        }
        Ok(())
    }

    pub fn translate_delegate(&mut self, depth: u32) -> Result<()> {
        if self.dead_depth > 0 {
            self.dead_depth -= 1;
            return Ok(());
        }
        self.translate_end_of(Some(depth))
    }
}
