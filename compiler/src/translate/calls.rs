//! Direct, imported and indirect calls, and their tail-call forms.
//!
//! Every wasm function uses the C calling convention. A `return_call` to a function of the same
//! type whose results come back in registers (x86-64: up to 3 integer and 4 float/vector
//! results; AArch64: 8 and 8) is a `musttail` call, which LLVM must turn into a jump. Any other
//! is a `tail` call, which x86-64 and AArch64 turn into a jump whenever the callee takes all
//! its arguments in registers and returns in registers (up to 5 integer and 8 float parameters
//! besides the vmctx), and otherwise an ordinary call: LLVM cannot jump to a callee whose
//! results travel through memory, and `musttail` there would abort the compiler. So unbounded
//! recursion through `return_call` runs in constant stack except across types beyond those
//! limits, or with more results than the return registers hold. (LLVM's `tailcc` guarantees
//! every case, but its callee-popped, 16-byte padded argument area costs every call an extra
//! stack adjustment: 1.45× on a recursive Fibonacci.)
//!
//! Inside a handler (`try_table`, legacy `try`) a call becomes an `invoke` whose unwind edge
//! leads to the handler's landing pad.

use super::{FuncTranslator, Result};
use inkwell::values::{BasicValueEnum, CallSiteValue, FunctionValue, PointerValue};
use runtime_support::vmctx::VmFuncRef;
use runtime_support::TrapCode;

/// The calling convention of every function with the wasm-call ABI (LLVM's C convention).
pub const WASM_CALL_CONV: u32 = 0;

#[derive(Clone, Copy)]
enum Callee<'ctx> {
    Direct(FunctionValue<'ctx>),
    Indirect(PointerValue<'ctx>),
}

impl<'a, 'b, 'ctx> FuncTranslator<'a, 'b, 'ctx> {
    fn call_args(
        &mut self,
        callee_vmctx: PointerValue<'ctx>,
        type_index: u32,
    ) -> Vec<BasicValueEnum<'ctx>> {
        let n = self.cx.info.types[type_index as usize].params().len();
        let mut args: Vec<BasicValueEnum> = vec![callee_vmctx.into()];
        args.extend(self.pop_n(n));
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

    /// Emits the call (an invoke inside a handler) and pushes its results; with `tail`, the
    /// call replaces this function's frame and what follows is unreachable.
    fn emit_wasm_call(
        &mut self,
        type_index: u32,
        callee: Callee<'ctx>,
        callee_vmctx: PointerValue<'ctx>,
        tail: bool,
    ) -> Result<()> {
        self.makes_calls = true;
        self.store_fuel()?;
        let args = self.call_args(callee_vmctx, type_index);
        let ty = self.cx.fn_types[type_index as usize];
        // A tail call has left every handler of this frame: it is never an invoke.
        let pad = if tail { None } else { self.landing_pad() };
        let call = if let Some(pad) = pad {
            let normal = self.new_block("invoke_cont");
            let call = match callee {
                Callee::Direct(f) => self
                    .builder
                    .build_direct_invoke(f, &args, normal, pad, "")?,
                Callee::Indirect(p) => self
                    .builder
                    .build_indirect_invoke(ty, p, &args, normal, pad, "")?,
            };
            self.builder.position_at_end(normal);
            call
        } else {
            let args: Vec<_> = args.into_iter().map(Into::into).collect();
            match callee {
                Callee::Direct(f) => self.builder.build_call(f, &args, "")?,
                Callee::Indirect(p) => self.builder.build_indirect_call(ty, p, &args, "")?,
            }
        };
        call.set_call_convention(WASM_CALL_CONV);
        if !tail {
            self.reload_fuel()?;
            return self.push_call_results(call, type_index);
        }
        let own_type = self.cx.info.funcs[self.func_index as usize];
        let callee_type = &self.cx.info.types[type_index as usize];
        let same_type = self.cx.info.types[own_type as usize] == *callee_type;
        if same_type && self.returns_in_registers(callee_type.results()) {
            call.set_tail_call_kind(inkwell::values::LLVMTailCallKind::LLVMTailCallKindMustTail);
        } else {
            call.set_tail_call(true);
        }
        self.has_tail_calls = true;
        match call.try_as_basic_value().basic() {
            Some(v) => self.builder.build_return(Some(&v))?,
            None => self.builder.build_return(None)?,
        };
        self.reachable = false;
        Ok(())
    }

    /// Whether a function with these results returns them all in registers.
    fn returns_in_registers(&self, results: &[wasmparser::ValType]) -> bool {
        use wasmparser::ValType::*;
        let floats = results
            .iter()
            .filter(|t| matches!(t, F32 | F64 | V128))
            .count();
        let (int_regs, float_regs) = self.cx.return_registers;
        results.len() - floats <= int_regs && floats <= float_regs
    }

    pub fn translate_call(&mut self, func: u32, tail: bool) -> Result<()> {
        let type_index = self.cx.info.funcs[func as usize];
        let imported = self.cx.info.num_imported_funcs;
        if func < imported {
            let funcref = self.funcref_ptr(func)?;
            let (code, callee) = self.funcref_code_and_vmctx(funcref)?;
            self.emit_wasm_call(type_index, Callee::Indirect(code), callee, tail)
        } else {
            let f = self.cx.function(func - imported);
            self.emit_wasm_call(type_index, Callee::Direct(f), self.vmctx, tail)
        }
    }

    /// A bounds check, a null check and one compare of canonical signature ids.
    pub fn translate_call_indirect(
        &mut self,
        type_index: u32,
        table: u32,
        tail: bool,
    ) -> Result<()> {
        let index = self.pop_int();
        let funcref = self.table_element(table, index, TrapCode::UndefinedElement)?;
        let is_null = self.builder.build_is_null(funcref, "")?;
        self.trap_if(is_null, TrapCode::IndirectCallToNull)?;
        let i64t = self.cx.context.i64_type();
        let id_p = self.byte_offset(funcref, VmFuncRef::OFFSET_TYPE_ID)?;
        let actual = self.builder.build_load(i64t, id_p, "")?.into_int_value();
        // A declared subtype of the expected type may be called too (GC).
        let matches = self.is_subtype_id(actual, type_index)?;
        let mismatch = self.builder.build_not(matches, "")?;
        self.trap_if(mismatch, TrapCode::BadSignature)?;
        let (code, callee) = self.funcref_code_and_vmctx(funcref)?;
        self.emit_wasm_call(type_index, Callee::Indirect(code), callee, tail)
    }

    /// `call_ref`: a null check and the call; the operand's static type is the callee's, so
    /// there is no signature to compare.
    pub fn translate_call_ref(&mut self, type_index: u32, tail: bool) -> Result<()> {
        let funcref = self.pop().into_pointer_value();
        let is_null = self.builder.build_is_null(funcref, "")?;
        self.trap_if(is_null, TrapCode::NullFunctionReference)?;
        let (code, callee) = self.funcref_code_and_vmctx(funcref)?;
        self.emit_wasm_call(type_index, Callee::Indirect(code), callee, tail)
    }
}
