//! Locals, globals and the parametric instructions.

use super::{FuncTranslator, Result};
use inkwell::values::BasicValueEnum;
use inkwell::IntPredicate;

impl<'a, 'b, 'ctx> FuncTranslator<'a, 'b, 'ctx> {
    pub fn translate_local_get(&mut self, index: u32) -> Result<()> {
        let block = self.builder.get_insert_block();
        let v = match self.local_values[index as usize] {
            // Straight-line code since the store: nothing else can have changed the local.
            Some((stored_in, v)) if Some(stored_in) == block => v,
            _ => {
                let (slot, ty) = self.locals[index as usize];
                self.builder.build_load(ty, slot, "")?
            }
        };
        self.push(v);
        Ok(())
    }

    pub fn translate_local_set(&mut self, index: u32) -> Result<()> {
        let v = self.pop();
        self.store_local(index, v)
    }

    pub fn translate_local_tee(&mut self, index: u32) -> Result<()> {
        let v = *self.stack.last().expect("validated: tee has an operand");
        self.store_local(index, v)
    }

    fn store_local(&mut self, index: u32, v: BasicValueEnum<'ctx>) -> Result<()> {
        self.builder.build_store(self.locals[index as usize].0, v)?;
        self.local_values[index as usize] = self.builder.get_insert_block().map(|b| (b, v));
        Ok(())
    }

    pub fn translate_global_get(&mut self, index: u32) -> Result<()> {
        let ty = self
            .cx
            .val_type(self.cx.info.globals[index as usize].content_type);
        let p = self.global_ptr(index)?;
        let v = self.builder.build_load(ty, p, "")?;
        self.push(v);
        Ok(())
    }

    pub fn translate_global_set(&mut self, index: u32) -> Result<()> {
        let v = self.pop();
        let p = self.global_ptr(index)?;
        self.builder.build_store(p, v)?;
        Ok(())
    }

    pub fn translate_select(&mut self) -> Result<()> {
        let cond = self.pop_int();
        let b = self.pop();
        let a = self.pop();
        let c = self.builder.build_int_compare(
            IntPredicate::NE,
            cond,
            cond.get_type().const_zero(),
            "",
        )?;
        let v = self.builder.build_select(c, a, b, "")?;
        self.push(v);
        Ok(())
    }

    /// A dropped load must still trap when out of bounds: it is kept by `pipeline.cpp`, like
    /// every load whose value nothing uses.
    pub fn translate_drop(&mut self) -> Result<()> {
        self.pop();
        Ok(())
    }

    pub fn translate_nop(&mut self) -> Result<()> {
        Ok(())
    }
}
