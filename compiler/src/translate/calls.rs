//! Direct, imported and indirect calls.

use super::{FuncTranslator, Result};
use inkwell::values::{BasicMetadataValueEnum, BasicValueEnum, CallSiteValue, PointerValue};
use inkwell::IntPredicate;
use runtime_support::vmctx::VmFuncRef;
use runtime_support::TrapCode;

impl<'a, 'b, 'ctx> FuncTranslator<'a, 'b, 'ctx> {
    fn call_args(
        &mut self,
        callee_vmctx: PointerValue<'ctx>,
        type_index: u32,
    ) -> Vec<BasicMetadataValueEnum<'ctx>> {
        let n = self.cx.info.types[type_index as usize].params().len();
        let mut args: Vec<BasicMetadataValueEnum> = vec![callee_vmctx.into()];
        args.extend(self.pop_n(n).into_iter().map(BasicMetadataValueEnum::from));
        args
    }

    fn push_call_results(&mut self, call: CallSiteValue<'ctx>, type_index: u32) -> Result<()> {
        let n = self.cx.info.types[type_index as usize].results().len();
        let Some(value) = call.try_as_basic_value().basic() else {
            return Ok(());
        };
        if n == 1 {
            self.push(value);
            return Ok(());
        }
        for i in 0..n {
            let v: BasicValueEnum =
                self.builder
                    .build_extract_value(value.into_struct_value(), i as u32, "")?;
            self.push(v);
        }
        Ok(())
    }

    pub fn translate_call(&mut self, func: u32) -> Result<()> {
        self.makes_calls = true;
        let type_index = self.cx.info.funcs[func as usize];
        let imported = self.cx.info.num_imported_funcs;
        let call = if func < imported {
            let funcref = self.funcref_ptr(func)?;
            let (code, callee) = self.funcref_code_and_vmctx(funcref)?;
            let args = self.call_args(callee, type_index);
            let ty = self.cx.fn_types[type_index as usize];
            self.builder.build_indirect_call(ty, code, &args, "")?
        } else {
            let args = self.call_args(self.vmctx, type_index);
            let callee = self.cx.functions[(func - imported) as usize];
            self.builder.build_call(callee, &args, "")?
        };
        self.push_call_results(call, type_index)
    }

    /// A bounds check, a null check and one compare of canonical signature ids.
    pub fn translate_call_indirect(&mut self, type_index: u32, table: u32) -> Result<()> {
        self.makes_calls = true;
        let index = self.pop_int();
        let funcref = self.table_element(table, index, TrapCode::UndefinedElement)?;
        let is_null = self.builder.build_is_null(funcref, "")?;
        self.trap_if(is_null, TrapCode::IndirectCallToNull)?;
        let i64t = self.cx.context.i64_type();
        let id_p = self.byte_offset(funcref, VmFuncRef::OFFSET_TYPE_ID)?;
        let actual = self.builder.build_load(i64t, id_p, "")?.into_int_value();
        let expected = self.type_id(type_index)?;
        let mismatch = self
            .builder
            .build_int_compare(IntPredicate::NE, actual, expected, "")?;
        self.trap_if(mismatch, TrapCode::BadSignature)?;
        let (code, callee) = self.funcref_code_and_vmctx(funcref)?;
        let args = self.call_args(callee, type_index);
        let ty = self.cx.fn_types[type_index as usize];
        let call = self.builder.build_indirect_call(ty, code, &args, "")?;
        self.push_call_results(call, type_index)
    }
}
