//! Structs and arrays (GC). Allocation bumps the store's cursor inline and calls the
//! `GcAlloc` builtin only when the bump range is used up (memory comes zeroed either way);
//! field and element accesses are inline: a null check, for arrays a bounds check
//! against the length in the header, and a load or store at the offset `runtime_support::gc`
//! lays out. Bulk array instructions go through builtins.

use super::{FuncTranslator, Result};
use inkwell::types::BasicTypeEnum;
use inkwell::values::{BasicMetadataValueEnum, BasicValueEnum, IntValue, PointerValue};
use inkwell::IntPredicate;
use runtime_support::gc::{self, HEADER_SIZE, OFFSET_ARRAY_LENGTH};
use runtime_support::vmctx::{self, VmRuntimeLimits};
use runtime_support::{Builtin, TrapCode};
use wasmparser::{CompositeInnerType, FieldType, StorageType, StructType};

impl<'a, 'b, 'ctx> FuncTranslator<'a, 'b, 'ctx> {
    fn struct_type(&self, ty: u32) -> &'a StructType {
        match &self.cx.info.sub_types[ty as usize].composite_type.inner {
            CompositeInnerType::Struct(s) => s,
            _ => unreachable!("validation: type {ty} is a struct"),
        }
    }

    fn array_element(&self, ty: u32) -> FieldType {
        match &self.cx.info.sub_types[ty as usize].composite_type.inner {
            CompositeInnerType::Array(a) => a.0,
            _ => unreachable!("validation: type {ty} is an array"),
        }
    }

    fn storage_type(&self, t: StorageType) -> BasicTypeEnum<'ctx> {
        match t {
            StorageType::I8 => self.cx.context.i8_type().into(),
            StorageType::I16 => self.cx.context.i16_type().into(),
            StorageType::Val(v) => self.cx.val_type(v),
        }
    }

    /// A new zeroed object of type `ty` (`length` elements for an array), its header written.
    /// Inline: bump the store's cursor when the object fits in the range left; else the
    /// `GcAlloc` builtin (which may collect).
    fn gc_alloc(&mut self, ty: u32, length: IntValue<'ctx>) -> Result<PointerValue<'ctx>> {
        self.makes_calls = true;
        let i64t = self.cx.context.i64_type();
        let size = match &self.cx.info.sub_types[ty as usize].composite_type.inner {
            CompositeInnerType::Struct(s) => self.i64_const(gc::struct_layout(s).size.into()),
            CompositeInnerType::Array(a) => {
                let esize = self.i64_const(gc::storage_size(a.0.element_type).into());
                let n = self.builder.build_int_z_extend(length, i64t, "")?;
                let bytes = self.builder.build_int_mul(n, esize, "")?;
                let raw = self.builder.build_int_add(
                    bytes,
                    self.i64_const(u64::from(HEADER_SIZE) + 15),
                    "",
                )?;
                self.builder.build_and(raw, self.i64_const(!15), "size")?
            }
            _ => unreachable!("validation: type {ty} is a struct or an array"),
        };
        let limits = self.vmctx_pointer(vmctx::OFFSET_LIMITS, true)?;
        let cursor_p = self.byte_offset(limits, VmRuntimeLimits::OFFSET_GC_CURSOR)?;
        let limit_p = self.byte_offset(limits, VmRuntimeLimits::OFFSET_GC_LIMIT)?;
        let cursor = self
            .builder
            .build_load(i64t, cursor_p, "")?
            .into_int_value();
        let limit = self.builder.build_load(i64t, limit_p, "")?.into_int_value();
        let end = self.builder.build_int_add(cursor, size, "")?;
        let small = self.builder.build_int_compare(
            IntPredicate::ULE,
            size,
            self.i64_const(gc::MAX_SMALL_OBJECT.into()),
            "",
        )?;
        let room = self
            .builder
            .build_int_compare(IntPredicate::ULE, end, limit, "")?;
        let fits = self.builder.build_and(small, room, "")?;
        let (fast, slow, done) = (
            self.new_block("gc_bump"),
            self.new_block("gc_alloc_call"),
            self.new_block("gc_allocated"),
        );
        self.branch_unlikely(self.builder.build_not(fits, "")?, slow, fast)?;

        // An interrupt may stop this code between any two instructions (a signal, see the
        // loader's `vm::interrupt`). The header and the start bit are written first, the
        // cursor last, and compiler fences keep LLVM from moving any store across the cursor's:
        // stopped before it, only the header's 16 bytes and the bit at the cursor differ from
        // a free range, which the runtime clears (`GcHeap::repair_bump`); after it, the object
        // is whole and its fields are still zero.
        self.builder.position_at_end(fast);
        let obj = self
            .builder
            .build_int_to_ptr(cursor, self.cx.ptr_type(), "obj")?;
        let info = self.type_info(ty)?;
        self.builder.build_store(obj, info)?;
        let len_p = self.byte_offset(obj, OFFSET_ARRAY_LENGTH)?;
        self.builder.build_store(len_p, length)?;
        self.record_start(cursor)?;
        let fence = |b: &inkwell::builder::Builder<'ctx>| {
            b.build_fence(inkwell::AtomicOrdering::SequentiallyConsistent, true, "")
        };
        fence(&self.builder)?;
        self.builder.build_store(cursor_p, end)?;
        fence(&self.builder)?;
        self.builder.build_unconditional_branch(done)?;

        self.builder.position_at_end(slow);
        let args = [self.i32_const(ty.into()).into(), length.into()];
        let called = self
            .call_builtin(Builtin::GcAlloc, &args)?
            .expect("a result")
            .into_pointer_value();
        let slow_end = self.current_block();
        self.builder.build_unconditional_branch(done)?;

        self.builder.position_at_end(done);
        let phi = self.builder.build_phi(self.cx.ptr_type(), "new")?;
        phi.add_incoming(&[(&obj, fast), (&called, slow_end)]);
        Ok(phi.as_basic_value().into_pointer_value())
    }

    /// Sets the start bit of the object at address `at` in its chunk's bitmap (at the
    /// chunk's aligned base), which is how the collector finds objects.
    fn record_start(&mut self, at: IntValue<'ctx>) -> Result<()> {
        let i64t = self.cx.context.i64_type();
        let b = &self.builder;
        let base = b.build_and(at, self.i64_const(!(gc::CHUNK_SIZE - 1)), "")?;
        let word_index = b.build_and(
            b.build_right_shift(at, self.i64_const(10), false, "")?,
            self.i64_const(gc::STARTS_WORDS - 1),
            "",
        )?;
        let word_addr = b.build_int_add(
            base,
            b.build_left_shift(word_index, self.i64_const(3), "")?,
            "",
        )?;
        let word_p = b.build_int_to_ptr(word_addr, self.cx.ptr_type(), "")?;
        let bit = b.build_and(
            b.build_right_shift(at, self.i64_const(4), false, "")?,
            self.i64_const(63),
            "",
        )?;
        let mask = b.build_left_shift(self.i64_const(1), bit, "")?;
        let word = b.build_load(i64t, word_p, "")?.into_int_value();
        let word = b.build_or(word, mask, "")?;
        b.build_store(word_p, word)?;
        Ok(())
    }

    fn null_check(&mut self, obj: PointerValue<'ctx>, code: TrapCode) -> Result<()> {
        let is_null = self.builder.build_is_null(obj, "")?;
        self.trap_if(is_null, code)
    }

    /// Stores `v` into a field or element of storage type `t` at `addr`.
    fn store_storage(
        &mut self,
        addr: PointerValue<'ctx>,
        v: BasicValueEnum<'ctx>,
        t: StorageType,
    ) -> Result<()> {
        let v: BasicValueEnum = match t {
            StorageType::I8 | StorageType::I16 => {
                let ty = self.storage_type(t).into_int_type();
                self.builder
                    .build_int_truncate(v.into_int_value(), ty, "")?
                    .into()
            }
            StorageType::Val(_) => v,
        };
        self.builder.build_store(addr, v)?;
        Ok(())
    }

    /// Loads a field or element of storage type `t` from `addr`, extending a packed one.
    fn load_storage(
        &mut self,
        addr: PointerValue<'ctx>,
        t: StorageType,
        signed: bool,
    ) -> Result<BasicValueEnum<'ctx>> {
        let v = self.builder.build_load(self.storage_type(t), addr, "")?;
        Ok(match t {
            StorageType::I8 | StorageType::I16 => {
                let i32t = self.cx.context.i32_type();
                let v = v.into_int_value();
                match signed {
                    true => self.builder.build_int_s_extend(v, i32t, "")?,
                    false => self.builder.build_int_z_extend(v, i32t, "")?,
                }
                .into()
            }
            StorageType::Val(_) => v,
        })
    }

    pub fn translate_struct_new(&mut self, ty: u32) -> Result<()> {
        let fields = self.struct_type(ty);
        let values = self.pop_n(fields.fields.len());
        let obj = self.gc_alloc(ty, self.i32_const(0))?;
        let layout = gc::struct_layout(fields);
        for ((v, f), off) in values
            .into_iter()
            .zip(fields.fields.iter())
            .zip(layout.offsets)
        {
            let addr = self.byte_offset(obj, off)?;
            self.store_storage(addr, v, f.element_type)?;
        }
        self.push(obj);
        Ok(())
    }

    pub fn translate_struct_new_default(&mut self, ty: u32) -> Result<()> {
        let obj = self.gc_alloc(ty, self.i32_const(0))?;
        self.push(obj);
        Ok(())
    }

    fn field_address(&mut self, ty: u32, field: u32) -> Result<(PointerValue<'ctx>, FieldType)> {
        let s = self.struct_type(ty);
        let off = gc::struct_layout(s).offsets[field as usize];
        let obj = self.pop().into_pointer_value();
        self.null_check(obj, TrapCode::NullStructReference)?;
        Ok((self.byte_offset(obj, off)?, s.fields[field as usize]))
    }

    pub fn translate_struct_get(&mut self, ty: u32, field: u32, signed: bool) -> Result<()> {
        let (addr, f) = self.field_address(ty, field)?;
        let v = self.load_storage(addr, f.element_type, signed)?;
        self.push(v);
        Ok(())
    }

    pub fn translate_struct_set(&mut self, ty: u32, field: u32) -> Result<()> {
        let v = self.pop();
        let (addr, f) = self.field_address(ty, field)?;
        self.write_barrier(addr, f.element_type)?;
        self.store_storage(addr, v, f.element_type)
    }

    /// Before a store that overwrites a traced reference in an object: while the collector
    /// marks (`VmRuntimeLimits::gc_marking`), hand it the old reference (`GcBarrier`), so
    /// that nothing reachable when marking began is lost. One load and a branch otherwise.
    fn write_barrier(&mut self, addr: PointerValue<'ctx>, t: StorageType) -> Result<()> {
        let types = &self.cx.info.sub_types;
        let is_gc = |i: u32| {
            !matches!(
                types[i as usize].composite_type.inner,
                CompositeInnerType::Func(_)
            )
        };
        if !gc::is_traced(t, is_gc) {
            return Ok(());
        }
        self.makes_calls = true;
        let i64t = self.cx.context.i64_type();
        let limits = self.vmctx_pointer(vmctx::OFFSET_LIMITS, true)?;
        let flag_p = self.byte_offset(limits, VmRuntimeLimits::OFFSET_GC_MARKING)?;
        let flag = self
            .builder
            .build_load(i64t, flag_p, "gc_marking")?
            .into_int_value();
        let marking =
            self.builder
                .build_int_compare(IntPredicate::NE, flag, self.i64_const(0), "")?;
        let (check, grey, done) = (
            self.new_block("gc_barrier"),
            self.new_block("gc_barrier_call"),
            self.new_block("gc_store"),
        );
        self.branch_unlikely(marking, check, done)?;
        self.builder.position_at_end(check);
        // Only an object needs greying: not null, an i31 or a host value.
        let old = self.builder.build_load(i64t, addr, "old")?.into_int_value();
        let b = &self.builder;
        let low = b.build_and(old, self.i64_const(15), "")?;
        let aligned = b.build_int_compare(IntPredicate::EQ, low, self.i64_const(0), "")?;
        let not_null = b.build_int_compare(IntPredicate::NE, old, self.i64_const(0), "")?;
        let object = b.build_and(aligned, not_null, "")?;
        b.build_conditional_branch(object, grey, done)?;
        self.builder.position_at_end(grey);
        self.call_builtin(Builtin::GcBarrier, &[old.into()])?;
        self.builder.build_unconditional_branch(done)?;
        self.builder.position_at_end(done);
        Ok(())
    }

    /// An array's length, after its null check.
    fn array_length(&mut self, arr: PointerValue<'ctx>) -> Result<IntValue<'ctx>> {
        self.null_check(arr, TrapCode::NullArrayReference)?;
        let p = self.byte_offset(arr, OFFSET_ARRAY_LENGTH)?;
        let i32t = self.cx.context.i32_type();
        Ok(self.builder.build_load(i32t, p, "len")?.into_int_value())
    }

    /// The address of element `index` of an array of `t`, unchecked.
    fn element_address(
        &mut self,
        arr: PointerValue<'ctx>,
        index: IntValue<'ctx>,
        t: StorageType,
    ) -> Result<PointerValue<'ctx>> {
        let i64t = self.cx.context.i64_type();
        let index = self.builder.build_int_z_extend(index, i64t, "")?;
        let size = self.i64_const(gc::storage_size(t).into());
        let scaled = self.builder.build_int_mul(index, size, "")?;
        let off = self
            .builder
            .build_int_add(scaled, self.i64_const(HEADER_SIZE.into()), "")?;
        let i8t = self.cx.context.i8_type();
        // SAFETY: the caller checked the index against the array's length.
        Ok(unsafe { self.builder.build_in_bounds_gep(i8t, arr, &[off], "")? })
    }

    /// Element `index` of `arr`, after the null and bounds checks.
    fn checked_element(
        &mut self,
        arr: PointerValue<'ctx>,
        index: IntValue<'ctx>,
        t: StorageType,
    ) -> Result<PointerValue<'ctx>> {
        let len = self.array_length(arr)?;
        let out = self
            .builder
            .build_int_compare(IntPredicate::UGE, index, len, "")?;
        self.trap_if(out, TrapCode::ArrayOutOfBounds)?;
        self.element_address(arr, index, t)
    }

    pub fn translate_array_get(&mut self, ty: u32, signed: bool) -> Result<()> {
        let t = self.array_element(ty).element_type;
        let index = self.pop_int();
        let arr = self.pop().into_pointer_value();
        let addr = self.checked_element(arr, index, t)?;
        let v = self.load_storage(addr, t, signed)?;
        self.push(v);
        Ok(())
    }

    pub fn translate_array_set(&mut self, ty: u32) -> Result<()> {
        let t = self.array_element(ty).element_type;
        let v = self.pop();
        let index = self.pop_int();
        let arr = self.pop().into_pointer_value();
        let addr = self.checked_element(arr, index, t)?;
        self.write_barrier(addr, t)?;
        self.store_storage(addr, v, t)
    }

    pub fn translate_array_len(&mut self) -> Result<()> {
        let arr = self.pop().into_pointer_value();
        let len = self.array_length(arr)?;
        self.push(len);
        Ok(())
    }

    pub fn translate_array_new_default(&mut self, ty: u32) -> Result<()> {
        let len = self.pop_int();
        let arr = self.gc_alloc(ty, len)?;
        self.push(arr);
        Ok(())
    }

    pub fn translate_array_new_fixed(&mut self, ty: u32, n: u32) -> Result<()> {
        let t = self.array_element(ty).element_type;
        let values = self.pop_n(n as usize);
        let arr = self.gc_alloc(ty, self.i32_const(n.into()))?;
        for (i, v) in values.into_iter().enumerate() {
            let addr = self.element_address(arr, self.i32_const(i as u64), t)?;
            self.store_storage(addr, v, t)?;
        }
        self.push(arr);
        Ok(())
    }

    /// `array.new`: allocation, then the fill.
    pub fn translate_array_new(&mut self, ty: u32) -> Result<()> {
        let len = self.pop_int();
        let value = self.pop();
        let arr = self.gc_alloc(ty, len)?;
        let (low, high) = self.value_bits(value)?;
        let args = [
            arr.into(),
            self.i32_const(0).into(),
            low.into(),
            high.into(),
            len.into(),
        ];
        self.call_builtin(Builtin::ArrayFill, &args)?;
        self.push(arr);
        Ok(())
    }

    pub fn translate_array_fill(&mut self, _ty: u32) -> Result<()> {
        let len = self.pop_int();
        let value = self.pop();
        let index = self.pop_int();
        let arr = self.pop().into_pointer_value();
        let (low, high) = self.value_bits(value)?;
        let args: [BasicMetadataValueEnum; 5] = [
            arr.into(),
            index.into(),
            low.into(),
            high.into(),
            len.into(),
        ];
        self.call_builtin(Builtin::ArrayFill, &args)?;
        Ok(())
    }

    /// A value's bits as two `i64`s, low first (the high half is non-zero only for v128).
    fn value_bits(&self, v: BasicValueEnum<'ctx>) -> Result<(IntValue<'ctx>, IntValue<'ctx>)> {
        let i64t = self.cx.context.i64_type();
        let b = &self.builder;
        let zero = i64t.const_zero();
        Ok(match v {
            BasicValueEnum::IntValue(i) => (b.build_int_z_extend_or_bit_cast(i, i64t, "")?, zero),
            BasicValueEnum::FloatValue(f) => {
                let int = match f.get_type() == self.cx.context.f32_type() {
                    true => self.cx.context.i32_type(),
                    false => i64t,
                };
                let i = b.build_bit_cast(f, int, "")?.into_int_value();
                (b.build_int_z_extend_or_bit_cast(i, i64t, "")?, zero)
            }
            BasicValueEnum::PointerValue(p) => (b.build_ptr_to_int(p, i64t, "")?, zero),
            BasicValueEnum::VectorValue(v) => {
                let v = b
                    .build_bit_cast(v, i64t.vec_type(2), "")?
                    .into_vector_value();
                let lo = b.build_extract_element(v, self.i32_const(0), "")?;
                let hi = b.build_extract_element(v, self.i32_const(1), "")?;
                (lo.into_int_value(), hi.into_int_value())
            }
            other => unreachable!("no wasm value is {other:?}"),
        })
    }
}
