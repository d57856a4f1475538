//! Linear memory: loads, stores and the memory instructions (addresses: `address.rs`).
//! Builtins take 64-bit addresses and sizes; a 32-bit memory's are zero-extended.

use super::{FuncTranslator, Result};
use inkwell::types::BasicTypeEnum;
use inkwell::values::{BasicMetadataValueEnum, BasicValueEnum, PointerValue};
use runtime_support::builtins::AbiType;
use runtime_support::Builtin;
use wasmparser::MemArg;

/// How a narrow load widens to its result.
#[derive(Clone, Copy)]
pub enum Extend {
    None,
    Signed,
    Unsigned,
}

impl<'a, 'b, 'ctx> FuncTranslator<'a, 'b, 'ctx> {
    /// A load of `ty` from linear memory at `p`: unaligned, and marked as a linear-memory
    /// access (`MEMORY_ACCESS_METADATA`) so that one LLVM would delete as unused is kept: it
    /// must trap when out of bounds (`pipeline.cpp`).
    pub fn load_memory(
        &mut self,
        ty: BasicTypeEnum<'ctx>,
        p: PointerValue<'ctx>,
    ) -> Result<BasicValueEnum<'ctx>> {
        let v = self.builder.build_load(ty, p, "")?;
        let load = inkwell::values::BasicValue::as_instruction_value(&v).expect("a load");
        load.set_alignment(1)
            .map_err(|e| crate::CompileError::Internal(e.to_string()))?;
        let context = self.cx.context;
        let kind = context.get_kind_id(crate::codegen::MEMORY_ACCESS_METADATA);
        load.set_metadata(context.metadata_node(&[]), kind)
            .map_err(|e| crate::CompileError::Internal(e.to_string()))?;
        Ok(v)
    }

    /// Loads `mem_ty` and widens it to `result_ty` as `extend` says.
    pub fn translate_load(
        &mut self,
        memarg: MemArg,
        mem_ty: BasicTypeEnum<'ctx>,
        result_ty: BasicTypeEnum<'ctx>,
        extend: Extend,
    ) -> Result<()> {
        let size = byte_size(mem_ty);
        let p = self.effective_address(&memarg, size)?;
        let v = self.load_memory(mem_ty, p)?;
        let v = match extend {
            Extend::None => v,
            Extend::Signed => self
                .builder
                .build_int_s_extend(v.into_int_value(), result_ty.into_int_type(), "")?
                .into(),
            Extend::Unsigned => self
                .builder
                .build_int_z_extend(v.into_int_value(), result_ty.into_int_type(), "")?
                .into(),
        };
        self.push(v);
        Ok(())
    }

    /// Stores the top of the stack as `mem_ty`, truncating integers.
    pub fn translate_store(&mut self, memarg: MemArg, mem_ty: BasicTypeEnum<'ctx>) -> Result<()> {
        let v = self.pop();
        let size = byte_size(mem_ty);
        let p = self.effective_address(&memarg, size)?;
        let v = match (v, mem_ty) {
            (inkwell::values::BasicValueEnum::IntValue(i), BasicTypeEnum::IntType(t))
                if i.get_type().get_bit_width() != t.get_bit_width() =>
            {
                self.builder.build_int_truncate(i, t, "")?.into()
            }
            _ => v,
        };
        let st = self.builder.build_store(p, v)?;
        st.set_alignment(1).unwrap();
        Ok(())
    }

    pub fn memory64(&self, mem: u32) -> bool {
        self.cx.info.memories[mem as usize].memory64
    }

    /// log2 of memory `mem`'s page size: 16, or 0 for one-byte pages (custom-page-sizes).
    pub fn page_log2(&self, mem: u32) -> u32 {
        self.cx.info.memories[mem as usize]
            .page_size_log2
            .unwrap_or(16)
    }

    pub fn translate_memory_size(&mut self, mem: u32) -> Result<()> {
        let len = self.memory_length(mem)?;
        let pages = self.builder.build_right_shift(
            len,
            self.i64_const(self.page_log2(mem) as u64),
            false,
            "",
        )?;
        self.push(pages);
        self.narrow_top(!self.memory64(mem))
    }

    /// Calls builtin `b` with the top `n` operands (after `leading` immediates), each 32-bit
    /// integer zero-extended where the builtin takes 64 bits, and pushes its result, if any.
    pub fn builtin_with_operands(&mut self, b: Builtin, leading: &[u32], n: usize) -> Result<()> {
        let operands = self.pop_n(n);
        let mut args: Vec<BasicMetadataValueEnum> = leading
            .iter()
            .map(|v| self.i32_const(*v as u64).into())
            .collect();
        let (params, _) = b.signature();
        let i64t = self.cx.context.i64_type();
        for (v, t) in operands.into_iter().zip(&params[leading.len()..]) {
            let v = match (v, t) {
                (BasicValueEnum::IntValue(i), AbiType::I64) => self
                    .builder
                    .build_int_z_extend_or_bit_cast(i, i64t, "")?
                    .into(),
                _ => v,
            };
            args.push(v.into());
        }
        if let Some(r) = self.call_builtin(b, &args)? {
            self.push(r);
        }
        Ok(())
    }

    /// Truncates the 64-bit integer on top of the stack to 32 bits when `narrow`: the result of
    /// a builtin for a 32-bit memory or table (-1 stays -1).
    pub fn narrow_top(&mut self, narrow: bool) -> Result<()> {
        if narrow {
            let v = self.pop_int();
            let v = self
                .builder
                .build_int_truncate(v, self.cx.context.i32_type(), "")?;
            self.push(v);
        }
        Ok(())
    }

    pub fn translate_memory_grow(&mut self, mem: u32) -> Result<()> {
        self.builtin_with_operands(Builtin::MemoryGrow, &[mem], 1)?;
        self.narrow_top(!self.memory64(mem))
    }

    pub fn translate_memory_fill(&mut self, mem: u32) -> Result<()> {
        self.builtin_with_operands(Builtin::MemoryFill, &[mem], 3)
    }

    pub fn translate_memory_copy(&mut self, dst_mem: u32, src_mem: u32) -> Result<()> {
        self.builtin_with_operands(Builtin::MemoryCopy, &[dst_mem, src_mem], 3)
    }

    pub fn translate_memory_init(&mut self, mem: u32, segment: u32) -> Result<()> {
        self.builtin_with_operands(Builtin::MemoryInit, &[mem, segment], 3)
    }

    pub fn translate_data_drop(&mut self, segment: u32) -> Result<()> {
        self.builtin_with_operands(Builtin::DataDrop, &[segment], 0)
    }
}

fn byte_size(t: BasicTypeEnum<'_>) -> u64 {
    match t {
        BasicTypeEnum::IntType(i) => i.get_bit_width() as u64 / 8,
        BasicTypeEnum::FloatType(f) => f.get_bit_width() as u64 / 8,
        _ => 16,
    }
}
