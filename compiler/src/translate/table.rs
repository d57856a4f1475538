//! Tables and references. `table.get`, `table.set`, `table.size` and the reference
//! instructions are inline loads, stores and compares (an element is one pointer, with no
//! barrier); growing, filling, copying and segments go through builtins.

use super::{FuncTranslator, Result};
use inkwell::values::{IntValue, PointerValue};
use inkwell::IntPredicate;
use runtime_support::vmctx::VmTable;
use runtime_support::{Builtin, TrapCode};

impl<'a, 'b, 'ctx> FuncTranslator<'a, 'b, 'ctx> {
    pub fn translate_table_get(&mut self, table: u32) -> Result<()> {
        let index = self.pop_int();
        let v = self.table_element(table, index, TrapCode::TableOutOfBounds)?;
        self.push(v);
        Ok(())
    }

    pub fn translate_table_set(&mut self, table: u32) -> Result<()> {
        let value = self.pop().into_pointer_value();
        let index = self.pop_int();
        let slot = self.table_slot(table, index, TrapCode::TableOutOfBounds)?;
        self.builder.build_store(slot, value)?;
        Ok(())
    }

    pub fn translate_table_grow(&mut self, table: u32) -> Result<()> {
        self.builtin_with_operands(Builtin::TableGrow, &[table], 2)?;
        self.narrow_top(!self.table64(table))
    }

    pub fn table64(&self, table: u32) -> bool {
        self.cx.info.tables[table as usize].table64
    }

    pub fn translate_table_fill(&mut self, table: u32) -> Result<()> {
        self.builtin_with_operands(Builtin::TableFill, &[table], 3)
    }

    pub fn translate_table_copy(&mut self, dst: u32, src: u32) -> Result<()> {
        self.builtin_with_operands(Builtin::TableCopy, &[dst, src], 3)
    }

    pub fn translate_table_init(&mut self, table: u32, segment: u32) -> Result<()> {
        self.builtin_with_operands(Builtin::TableInit, &[table, segment], 3)
    }

    pub fn translate_elem_drop(&mut self, segment: u32) -> Result<()> {
        self.builtin_with_operands(Builtin::ElemDrop, &[segment], 0)
    }

    pub fn translate_table_size(&mut self, table: u32) -> Result<()> {
        let t = self.table_ptr(table)?;
        let p = self.byte_offset(t, VmTable::OFFSET_LENGTH)?;
        let len = self
            .builder
            .build_load(self.cx.context.i64_type(), p, "")?
            .into_int_value();
        self.push(len);
        self.narrow_top(!self.table64(table))
    }

    pub fn translate_ref_null(&mut self) -> Result<()> {
        self.push(self.cx.ptr_type().const_null());
        Ok(())
    }

    pub fn translate_ref_is_null(&mut self) -> Result<()> {
        let v = self.pop().into_pointer_value();
        let c = self.builder.build_is_null(v, "")?;
        let r = self.bool_to_i32(c)?;
        self.push(r);
        Ok(())
    }

    pub fn translate_ref_as_non_null(&mut self) -> Result<()> {
        let v = self.pop().into_pointer_value();
        let is_null = self.builder.build_is_null(v, "")?;
        self.trap_if(is_null, TrapCode::NullReference)?;
        self.push(v);
        Ok(())
    }

    pub fn translate_ref_func(&mut self, func: u32) -> Result<()> {
        let p = self.funcref_ptr(func)?;
        self.push(p);
        Ok(())
    }

    /// Loads element `index` of `table` after a bounds check that traps with `code`. A table
    /// whose maximum equals its minimum never grows: its length is a constant and its
    /// elements never move, so the checks need no loads that LLVM cannot hoist.
    pub fn table_element(
        &mut self,
        table: u32,
        index: IntValue<'ctx>,
        code: TrapCode,
    ) -> Result<PointerValue<'ctx>> {
        let slot = self.table_slot(table, index, code)?;
        let ptr = self.cx.ptr_type();
        Ok(self
            .builder
            .build_load(ptr, slot, "elem")?
            .into_pointer_value())
    }

    /// The address of element `index` of `table`, after a bounds check that traps with `code`.
    fn table_slot(
        &mut self,
        table: u32,
        index: IntValue<'ctx>,
        code: TrapCode,
    ) -> Result<PointerValue<'ctx>> {
        let ty = self.cx.info.tables[table as usize];
        let fixed = ty.maximum == Some(ty.initial);
        let t = self.table_ptr(table)?;
        let i64t = self.cx.context.i64_type();
        let len = if fixed {
            i64t.const_int(ty.initial, false)
        } else {
            let len_p = self.byte_offset(t, VmTable::OFFSET_LENGTH)?;
            self.builder.build_load(i64t, len_p, "")?.into_int_value()
        };
        let index = self
            .builder
            .build_int_z_extend_or_bit_cast(index, i64t, "")?;
        let oob = self
            .builder
            .build_int_compare(IntPredicate::UGE, index, len, "")?;
        self.trap_if(oob, code)?;
        let elems_p = self.byte_offset(t, VmTable::OFFSET_ELEMENTS)?;
        let ptr = self.cx.ptr_type();
        let elems = if fixed {
            self.load_invariant(ptr, elems_p)?.into_pointer_value()
        } else {
            self.builder
                .build_load(ptr, elems_p, "")?
                .into_pointer_value()
        };
        // SAFETY: index < length, checked above.
        Ok(unsafe { self.builder.build_gep(ptr, elems, &[index], "")? })
    }
}
