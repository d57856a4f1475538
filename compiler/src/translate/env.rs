//! Where runtime structures live, as seen from a function: every vmctx offset used by the
//! translator comes from `runtime_support` through here.

use super::{FuncTranslator, Result};
use inkwell::types::{BasicMetadataTypeEnum, BasicType, BasicTypeEnum, FunctionType};
use inkwell::values::{
    BasicMetadataValueEnum, BasicValueEnum, FunctionValue, IntValue, PointerValue,
};
use inkwell::IntPredicate;
use runtime_support::builtins::AbiType;
use runtime_support::vmctx::{self, GlobalLocation, VmFuncRef, VmMemory, VmRuntimeLimits};
use runtime_support::{BoundsStrategy, Builtin, TrapCode};

impl<'a, 'b, 'ctx> FuncTranslator<'a, 'b, 'ctx> {
    /// `base + offset` as a byte address.
    pub fn byte_offset(&self, base: PointerValue<'ctx>, offset: u32) -> Result<PointerValue<'ctx>> {
        if offset == 0 {
            return Ok(base);
        }
        let i8t = self.cx.context.i8_type();
        let off = self.i64_const(offset as u64);
        // SAFETY: offsets come from the layout of the structure `base` points to.
        Ok(unsafe { self.builder.build_in_bounds_gep(i8t, base, &[off], "")? })
    }

    /// A load whose value cannot change while compiled code runs; LLVM may hoist and merge it.
    pub fn load_invariant(
        &self,
        ty: impl BasicType<'ctx>,
        ptr: PointerValue<'ctx>,
    ) -> Result<BasicValueEnum<'ctx>> {
        let v = self.builder.build_load(ty, ptr, "")?;
        let kind = self.cx.context.get_kind_id("invariant.load");
        let node = self.cx.context.metadata_node(&[]);
        inkwell::values::BasicValue::as_instruction_value(&v)
            .unwrap()
            .set_metadata(node, kind)
            .unwrap();
        Ok(v)
    }

    pub(super) fn vmctx_pointer(&self, offset: u32, invariant: bool) -> Result<PointerValue<'ctx>> {
        let p = self.byte_offset(self.vmctx, offset)?;
        let ptr = self.cx.ptr_type();
        let v = if invariant {
            self.load_invariant(ptr, p)?
        } else {
            self.builder.build_load(ptr, p, "")?
        };
        Ok(v.into_pointer_value())
    }

    /// The `VmMemory` of memory `index`: which memory a slot names never changes.
    fn memory_struct(&self, index: u32) -> Result<PointerValue<'ctx>> {
        self.vmctx_pointer(self.cx.layout.memory(index), true)
    }

    /// Base of memory `index`. It never moves under the guard-page strategy, so the load is
    /// invariant.
    pub fn memory_base(&self, index: u32) -> Result<PointerValue<'ctx>> {
        let mem = self.memory_struct(index)?;
        let p = self.byte_offset(mem, VmMemory::OFFSET_BASE)?;
        let ptr = self.cx.ptr_type();
        let base = match self.cx.options.bounds {
            BoundsStrategy::GuardPages => self.load_invariant(ptr, p)?,
            BoundsStrategy::Explicit => self.builder.build_load(ptr, p, "membase")?,
        };
        Ok(base.into_pointer_value())
    }

    /// Current size of memory `index` in bytes.
    pub fn memory_length(&self, index: u32) -> Result<IntValue<'ctx>> {
        let mem = self.memory_struct(index)?;
        let p = self.byte_offset(mem, VmMemory::OFFSET_LENGTH)?;
        Ok(self
            .builder
            .build_load(self.cx.context.i64_type(), p, "memlen")?
            .into_int_value())
    }

    /// Pointer to the storage of global `index`.
    pub fn global_ptr(&self, index: u32) -> Result<PointerValue<'ctx>> {
        match self.cx.layout.global(index) {
            GlobalLocation::Inline(off) => self.byte_offset(self.vmctx, off),
            GlobalLocation::Indirect(off) => self.vmctx_pointer(off, true),
        }
    }

    /// Pointer to the `VmTable` of table `index`.
    pub fn table_ptr(&self, index: u32) -> Result<PointerValue<'ctx>> {
        self.vmctx_pointer(self.cx.layout.table(index), true)
    }

    /// Pointer to the `VmFuncRef` of function `index` in this instance.
    pub fn funcref_ptr(&self, index: u32) -> Result<PointerValue<'ctx>> {
        self.byte_offset(self.vmctx, self.cx.layout.funcref(index))
    }

    /// Canonical signature id of type `type_index`, as the loader assigned it.
    pub fn type_id(&self, type_index: u32) -> Result<IntValue<'ctx>> {
        let ids = self.vmctx_pointer(vmctx::OFFSET_TYPE_IDS, true)?;
        let p = self.byte_offset(ids, type_index * 8)?;
        Ok(self
            .load_invariant(self.cx.context.i64_type(), p)?
            .into_int_value())
    }

    /// Loads a `VmFuncRef`'s code and callee context.
    pub fn funcref_code_and_vmctx(
        &self,
        funcref: PointerValue<'ctx>,
    ) -> Result<(PointerValue<'ctx>, PointerValue<'ctx>)> {
        let ptr = self.cx.ptr_type();
        let code = self.builder.build_load(
            ptr,
            self.byte_offset(funcref, VmFuncRef::OFFSET_CODE)?,
            "code",
        )?;
        let ctx = self.builder.build_load(
            ptr,
            self.byte_offset(funcref, VmFuncRef::OFFSET_VMCTX)?,
            "callee_vmctx",
        )?;
        Ok((code.into_pointer_value(), ctx.into_pointer_value()))
    }

    fn abi_type(&self, t: AbiType) -> BasicTypeEnum<'ctx> {
        match t {
            AbiType::I32 => self.cx.context.i32_type().into(),
            AbiType::I64 => self.cx.context.i64_type().into(),
            AbiType::Ptr => self.cx.ptr_type().into(),
        }
    }

    fn builtin_type(&self, b: Builtin) -> FunctionType<'ctx> {
        let (params, result) = b.signature();
        let mut ps: Vec<BasicMetadataTypeEnum> = vec![self.cx.ptr_type().into()];
        ps.extend(
            params
                .iter()
                .map(|t| BasicMetadataTypeEnum::from(self.abi_type(*t))),
        );
        match result {
            None => self.cx.context.void_type().fn_type(&ps, false),
            Some(r) => self.abi_type(r).fn_type(&ps, false),
        }
    }

    /// Calls a runtime builtin through the vmctx's builtin table.
    pub fn call_builtin(
        &self,
        b: Builtin,
        args: &[BasicMetadataValueEnum<'ctx>],
    ) -> Result<Option<BasicValueEnum<'ctx>>> {
        let table = self.vmctx_pointer(vmctx::OFFSET_BUILTINS, true)?;
        let slot = self.byte_offset(table, b.index() * 8)?;
        let f = self
            .load_invariant(self.cx.ptr_type(), slot)?
            .into_pointer_value();
        let mut all: Vec<BasicMetadataValueEnum> = vec![self.vmctx.into()];
        all.extend_from_slice(args);
        let call = self
            .builder
            .build_indirect_call(self.builtin_type(b), f, &all, "")?;
        // Only a throw unwinds (a trap leaves by longjmp, which no frame sees).
        let attrs: &[&str] = match b {
            Builtin::Throw => &["noreturn", "cold"],
            Builtin::Trap => &["noreturn", "cold", "nounwind"],
            _ => &["nounwind"],
        };
        for attr in attrs {
            let kind = inkwell::attributes::Attribute::get_named_enum_kind_id(attr);
            let a = self.cx.context.create_enum_attribute(kind, 0);
            call.add_attribute(inkwell::attributes::AttributeLoc::Function, a);
        }
        Ok(call.try_as_basic_value().basic())
    }

    pub fn intrinsic(&self, name: &str, types: &[BasicTypeEnum<'ctx>]) -> FunctionValue<'ctx> {
        let i = inkwell::intrinsics::Intrinsic::find(name)
            .unwrap_or_else(|| panic!("no intrinsic {name}"));
        i.get_declaration(&self.cx.module, types)
            .unwrap_or_else(|| panic!("bad intrinsic {name}"))
    }

    pub fn call_intrinsic(
        &self,
        f: FunctionValue<'ctx>,
        args: &[BasicMetadataValueEnum<'ctx>],
    ) -> Result<BasicValueEnum<'ctx>> {
        let call = self.builder.build_call(f, args, "")?;
        Ok(call
            .try_as_basic_value()
            .basic()
            .expect("intrinsic returns a value"))
    }

    /// One compare per function entry: the stack pointer against the store's stack limit.
    pub fn check_stack_limit(&mut self) -> Result<()> {
        let exhausted = self.stack_exhausted()?;
        self.trap_if(exhausted, TrapCode::StackOverflow)
    }

    /// Whether the stack pointer is below the store's stack limit, at entry.
    pub fn stack_exhausted(&mut self) -> Result<IntValue<'ctx>> {
        let i64t = self.cx.context.i64_type();
        let limits = self.vmctx_pointer(vmctx::OFFSET_LIMITS, true)?;
        let p = self.byte_offset(limits, VmRuntimeLimits::OFFSET_STACK_LIMIT)?;
        // An interrupt raises the limit (see `metering`).
        let limit = match self.cx.options.metering.interruptible {
            true => self.load_polled(p, "stack_limit")?,
            false => self
                .builder
                .build_load(i64t, p, "stack_limit")?
                .into_int_value(),
        };
        let read = self.intrinsic("llvm.read_register", &[i64t.into()]);
        let name = self.cx.context.metadata_string(self.cx.sp_register);
        let node = self.cx.context.metadata_node(&[name.into()]);
        let sp = self.call_intrinsic(read, &[node.into()])?.into_int_value();
        let exhausted = self
            .builder
            .build_int_compare(IntPredicate::ULT, sp, limit, "")?;
        self.stack_check = Some(exhausted);
        Ok(exhausted)
    }
}
