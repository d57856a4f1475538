//! `i31`, `ref.eq` and the casts (`ref.test`, `ref.cast`, `br_on_cast`, `br_on_cast_fail`).
//!
//! A reference word is tagged as `runtime_support::gc` says. A test against an abstract type
//! looks at the tag bits and, for `struct`/`array`, the kind in the object's type information.
//! A test against a concrete struct or array type compares the object's type information with
//! the target's: one pointer compare for a final type, else the supertype display at the
//! target's (static) depth. A function type compares the `VmFuncRef`'s id, and asks the
//! registry (`Builtin::IsSubtype`) only when the target type may have subtypes.

use super::{FuncTranslator, Result};
use inkwell::values::{IntValue, PointerValue};
use inkwell::IntPredicate;
use runtime_support::gc::{VmTypeInfo, HOST_TAG, I31_TAG, KIND_ARRAY, KIND_STRUCT};
use runtime_support::vmctx::{self, VmFuncRef};
use runtime_support::{Builtin, TrapCode};
use wasmparser::{AbstractHeapType as A, CompositeInnerType, HeapType, RefType};

impl<'a, 'b, 'ctx> FuncTranslator<'a, 'b, 'ctx> {
    pub fn translate_ref_eq(&mut self) -> Result<()> {
        let b = self.pop().into_pointer_value();
        let a = self.pop().into_pointer_value();
        let i64t = self.cx.context.i64_type();
        let a = self.builder.build_ptr_to_int(a, i64t, "")?;
        let b = self.builder.build_ptr_to_int(b, i64t, "")?;
        let eq = self.builder.build_int_compare(IntPredicate::EQ, a, b, "")?;
        let r = self.bool_to_i32(eq)?;
        self.push(r);
        Ok(())
    }

    /// `ref.i31`: the low 31 bits, shifted over the tag bit. Computed in 32 bits, so that
    /// equal `i31`s have equal words.
    pub fn translate_ref_i31(&mut self) -> Result<()> {
        let v = self.pop_int();
        let shifted = self.builder.build_left_shift(v, self.i32_const(1), "")?;
        let tagged = self
            .builder
            .build_or(shifted, self.i32_const(I31_TAG), "")?;
        let i64t = self.cx.context.i64_type();
        let word = self.builder.build_int_z_extend(tagged, i64t, "")?;
        let r = self
            .builder
            .build_int_to_ptr(word, self.cx.ptr_type(), "i31")?;
        self.push(r);
        Ok(())
    }

    pub fn translate_i31_get(&mut self, signed: bool) -> Result<()> {
        let r = self.pop().into_pointer_value();
        let is_null = self.builder.build_is_null(r, "")?;
        self.trap_if(is_null, TrapCode::NullI31Reference)?;
        let i32t = self.cx.context.i32_type();
        let word = self.builder.build_ptr_to_int(r, i32t, "")?;
        let one = self.i32_const(1);
        let v = self.builder.build_right_shift(word, one, signed, "")?;
        self.push(v);
        Ok(())
    }

    pub fn translate_ref_test(&mut self, target: RefType) -> Result<()> {
        let v = self.pop().into_pointer_value();
        let ok = self.ref_test(v, target)?;
        let r = self.bool_to_i32(ok)?;
        self.push(r);
        Ok(())
    }

    pub fn translate_ref_cast(&mut self, target: RefType) -> Result<()> {
        let v = self.stack.last().unwrap().into_pointer_value();
        let ok = self.ref_test(v, target)?;
        let fail = self.builder.build_not(ok, "")?;
        self.trap_if(fail, TrapCode::CastFailure)
    }

    /// `br_on_cast` (`on_success`) or `br_on_cast_fail`: the reference stays on the stack
    /// either way.
    pub fn translate_br_on_cast(
        &mut self,
        depth: u32,
        target: RefType,
        on_success: bool,
    ) -> Result<()> {
        let v = self.stack.last().unwrap().into_pointer_value();
        let ok = self.ref_test(v, target)?;
        let taken = match on_success {
            true => ok,
            false => self.builder.build_not(ok, "")?,
        };
        self.branch_if(taken, depth)
    }

    /// Whether the reference `v` is of type `target` (an `i1`).
    fn ref_test(&mut self, v: PointerValue<'ctx>, target: RefType) -> Result<IntValue<'ctx>> {
        let bool_t = self.cx.context.bool_type();
        let is_null = self.builder.build_is_null(v, "")?;
        let not_null = self.builder.build_not(is_null, "")?;
        let present = match target.heap_type() {
            HeapType::Abstract { ty, .. } => match ty {
                A::Any | A::Func | A::Extern | A::Exn => not_null,
                A::None | A::NoFunc | A::NoExtern | A::NoExn => bool_t.const_zero(),
                _ => self.and_then(not_null, |s| s.test_abstract(v, ty))?,
            },
            HeapType::Concrete(i) => {
                let index = i.as_module_index().expect("a module's own type index");
                self.and_then(not_null, |s| s.test_concrete(v, index))?
            }
            _ => bool_t.const_zero(),
        };
        match target.is_nullable() {
            true => Ok(self.builder.build_or(present, is_null, "")?),
            false => Ok(present),
        }
    }

    /// `cond && then()`, evaluating `then` only when `cond` holds.
    fn and_then(
        &mut self,
        cond: IntValue<'ctx>,
        then: impl FnOnce(&mut Self) -> Result<IntValue<'ctx>>,
    ) -> Result<IntValue<'ctx>> {
        let from = self.current_block();
        let then_block = self.new_block("test");
        let done = self.new_block("tested");
        self.builder
            .build_conditional_branch(cond, then_block, done)?;
        self.builder.position_at_end(then_block);
        let r = then(self)?;
        let then_end = self.current_block();
        self.builder.build_unconditional_branch(done)?;
        self.builder.position_at_end(done);
        let phi = self.builder.build_phi(self.cx.context.bool_type(), "")?;
        let no = self.cx.context.bool_type().const_zero();
        phi.add_incoming(&[(&no, from), (&r, then_end)]);
        Ok(phi.as_basic_value().into_int_value())
    }

    fn word(&self, v: PointerValue<'ctx>) -> Result<IntValue<'ctx>> {
        Ok(self
            .builder
            .build_ptr_to_int(v, self.cx.context.i64_type(), "")?)
    }

    /// Whether the low tag bits of non-null `v` are `tag` under `mask`.
    fn tag_is(&self, v: PointerValue<'ctx>, mask: u64, tag: u64) -> Result<IntValue<'ctx>> {
        let w = self.word(v)?;
        let bits = self.builder.build_and(w, self.i64_const(mask), "")?;
        Ok(self
            .builder
            .build_int_compare(IntPredicate::EQ, bits, self.i64_const(tag), "")?)
    }

    /// The `VmTypeInfo` of object `v`. A plain load: an object's header never changes while it
    /// lives, but its memory is reused after it dies (the type information it points to is
    /// immutable, and loaded `invariant`).
    fn object_type_info(&self, v: PointerValue<'ctx>) -> Result<PointerValue<'ctx>> {
        let p = self.byte_offset(v, runtime_support::gc::OFFSET_TYPE_INFO)?;
        Ok(self
            .builder
            .build_load(self.cx.ptr_type(), p, "")?
            .into_pointer_value())
    }

    fn test_abstract(&mut self, v: PointerValue<'ctx>, ty: A) -> Result<IntValue<'ctx>> {
        match ty {
            A::Eq => {
                let host = self.tag_is(v, 3, HOST_TAG)?;
                Ok(self.builder.build_not(host, "")?)
            }
            A::I31 => self.tag_is(v, I31_TAG, I31_TAG),
            A::Struct | A::Array => {
                let kind = if ty == A::Struct {
                    KIND_STRUCT
                } else {
                    KIND_ARRAY
                };
                let is_object = self.tag_is(v, 3, 0)?;
                self.and_then(is_object, |s| {
                    let info = s.object_type_info(v)?;
                    let p = s.byte_offset(info, VmTypeInfo::OFFSET_KIND)?;
                    let i32t = s.cx.context.i32_type();
                    let k = s.load_invariant(i32t, p)?.into_int_value();
                    Ok(s.builder.build_int_compare(
                        IntPredicate::EQ,
                        k,
                        s.i32_const(kind.into()),
                        "",
                    )?)
                })
            }
            _ => Ok(self.cx.context.bool_type().const_zero()),
        }
    }

    /// How many declared supertypes type `index` of this module has above it.
    fn type_depth(&self, index: u32) -> u32 {
        let mut depth = 0;
        let mut t = index;
        while let Some(s) = self.cx.info.sub_types[t as usize]
            .supertype_idxs
            .first()
            .and_then(|p| p.as_module_index())
        {
            depth += 1;
            t = s;
        }
        depth
    }

    fn test_concrete(&mut self, v: PointerValue<'ctx>, index: u32) -> Result<IntValue<'ctx>> {
        let sub = &self.cx.info.sub_types[index as usize];
        let i64t = self.cx.context.i64_type();
        if let CompositeInnerType::Func(_) = sub.composite_type.inner {
            let p = self.byte_offset(v, VmFuncRef::OFFSET_TYPE_ID)?;
            let actual = self.builder.build_load(i64t, p, "")?.into_int_value();
            return self.is_subtype_id(actual, index);
        }
        let is_object = self.tag_is(v, 3, 0)?;
        let is_final = sub.is_final;
        self.and_then(is_object, |s| {
            let info = s.object_type_info(v)?;
            if is_final {
                let want = s.type_info(index)?;
                let (a, b) = (s.word(info)?, s.word(want)?);
                return Ok(s.builder.build_int_compare(IntPredicate::EQ, a, b, "")?);
            }
            let depth = s.type_depth(index);
            let p = s.byte_offset(info, VmTypeInfo::OFFSET_DEPTH)?;
            let i32t = s.cx.context.i32_type();
            let have = s.load_invariant(i32t, p)?.into_int_value();
            let deep_enough = s.builder.build_int_compare(
                IntPredicate::UGE,
                have,
                s.i32_const(depth.into()),
                "",
            )?;
            s.and_then(deep_enough, |s| {
                let p = s.byte_offset(info, VmTypeInfo::OFFSET_DISPLAY)?;
                let display = s.load_invariant(s.cx.ptr_type(), p)?.into_pointer_value();
                let at = s.byte_offset(display, depth * 8)?;
                let id = s.load_invariant(i64t, at)?.into_int_value();
                let want = s.type_id(index)?;
                Ok(s.builder
                    .build_int_compare(IntPredicate::EQ, id, want, "")?)
            })
        })
    }

    /// Whether canonical id `actual` is function type `index` or a subtype of it: one compare
    /// when `index` is final, else the registry on a mismatch.
    pub fn is_subtype_id(&mut self, actual: IntValue<'ctx>, index: u32) -> Result<IntValue<'ctx>> {
        let want = self.type_id(index)?;
        let same = self
            .builder
            .build_int_compare(IntPredicate::EQ, actual, want, "")?;
        if self.cx.info.sub_types[index as usize].is_final {
            return Ok(same);
        }
        let differs = self.builder.build_not(same, "")?;
        let sub = self.and_then(differs, |s| {
            let r = s
                .call_builtin(Builtin::IsSubtype, &[actual.into(), want.into()])?
                .expect("a result")
                .into_int_value();
            Ok(s.builder
                .build_int_compare(IntPredicate::NE, r, s.i32_const(0), "")?)
        })?;
        Ok(self.builder.build_or(same, sub, "")?)
    }

    /// The `VmTypeInfo` of type `index` of this module, as the loader registered it.
    pub(super) fn type_info(&self, index: u32) -> Result<PointerValue<'ctx>> {
        let infos = self.vmctx_pointer(vmctx::OFFSET_TYPE_INFOS, true)?;
        let p = self.byte_offset(infos, index * 8)?;
        Ok(self
            .load_invariant(self.cx.ptr_type(), p)?
            .into_pointer_value())
    }
}
