//! Relaxed SIMD with one deterministic meaning on every target: the one the interpreter
//! fallback (wasmi) gives, so native code and the interpreter agree, and an artifact built for
//! one machine computes what one built for another does. Most operators mean their strict
//! counterparts (swizzle, saturating truncation, bitselect, min/max, saturating q15mulr, see
//! `dispatch_simd.rs`); here are the two that have none:
//!
//! - `relaxed_madd`/`relaxed_nmadd`: fused (`a * b + c` rounded once), `vfmadd`/`fmla` where
//!   the target has FMA; without it (x86-64 before `x86-64-v3`) each lane calls the runtime's
//!   fused multiply-add (`Builtin::FmaF32/F64`), correct and slow.
//! - `relaxed_dot_i8x16_i7x16`: both operands signed, pairs of products added with wrapping
//!   to 16 bits (then, for the `add` form, pairs of those sign-extended and added to `c`).

use super::Shape::{self, F32x4, I16x8, I32x4, I8x16};
use crate::translate::{FuncTranslator, Result};
use inkwell::values::VectorValue;
use runtime_support::Builtin;

impl<'a, 'b, 'ctx> FuncTranslator<'a, 'b, 'ctx> {
    /// `relaxed_madd` (`a * b + c`) or, `negate`, `relaxed_nmadd` (`-(a * b) + c`), fused.
    pub fn translate_v_madd(&mut self, shape: Shape, negate: bool) -> Result<()> {
        let c = self.pop_v(shape)?;
        let b = self.pop_v(shape)?;
        let a = self.pop_v(shape)?;
        let a = if negate {
            self.builder.build_float_neg(a, "")?
        } else {
            a
        };
        let r = if self.target_has_fma() {
            let ty = self.vec_type(shape);
            self.vector_intrinsic("llvm.fma", &[ty.into()], &[a.into(), b.into(), c.into()])?
                .into_vector_value()
        } else {
            self.fma_by_lane(shape, a, b, c)?
        };
        self.push_v(r)
    }

    fn target_has_fma(&self) -> bool {
        let aarch64 = self
            .cx
            .options
            .target
            .as_deref()
            .is_some_and(|t| t.starts_with("aarch64"))
            || (self.cx.options.target.is_none() && cfg!(target_arch = "aarch64"));
        aarch64 || self.has_feature("fma")
    }

    /// Each lane through the runtime's fused multiply-add, on the lanes' bits.
    fn fma_by_lane(
        &mut self,
        shape: Shape,
        a: VectorValue<'ctx>,
        b: VectorValue<'ctx>,
        c: VectorValue<'ctx>,
    ) -> Result<VectorValue<'ctx>> {
        let builtin = if shape == F32x4 {
            Builtin::FmaF32
        } else {
            Builtin::FmaF64
        };
        let ints = |v: VectorValue<'ctx>| self.cast_v(v.into(), shape.as_int());
        let (a, b, c) = (ints(a)?, ints(b)?, ints(c)?);
        let mut out = self.vec_type(shape.as_int()).get_undef();
        for lane in 0..shape.lanes() {
            let i = self.i32_const(lane as u64);
            let args = [a, b, c].map(|v| self.builder.build_extract_element(v, i, ""));
            let [x, y, z] = args;
            let r = self
                .call_builtin(builtin, &[x?.into(), y?.into(), z?.into()])?
                .expect("fma returns a value")
                .into_int_value();
            out = self.builder.build_insert_element(out, r, i, "")?;
        }
        self.cast_v(out.into(), shape)
    }

    /// `i16x8.relaxed_dot_i8x16_i7x16_s`, and with `add`, `i32x4.relaxed_dot_i8x16_i7x16_add_s`.
    pub fn translate_v_relaxed_dot(&mut self, add: bool) -> Result<()> {
        let c = if add { Some(self.pop_v(I32x4)?) } else { None };
        let b = self.pop_v(I8x16)?;
        let a = self.pop_v(I8x16)?;
        let w16 = self.vec_type_n(I16x8, 16);
        let a = self.builder.build_int_s_extend(a, w16, "")?;
        let b = self.builder.build_int_s_extend(b, w16, "")?;
        let products = self.builder.build_int_mul(a, b, "")?;
        let dot = self.pairwise_add(products, 8)?;
        let Some(c) = c else {
            return self.push_v(dot);
        };
        let w32 = self.vec_type_n(I32x4, 8);
        let dot = self.builder.build_int_s_extend(dot, w32, "")?;
        let sums = self.pairwise_add(dot, 4)?;
        let r = self.builder.build_int_add(sums, c, "")?;
        self.push_v(r)
    }

    /// Lanes `2i` and `2i + 1` of `v` added (wrapping), for `i < n`.
    fn pairwise_add(&self, v: VectorValue<'ctx>, n: u32) -> Result<VectorValue<'ctx>> {
        let (e, o) = self.even_odd(v, n)?;
        Ok(self.builder.build_int_add(e, o, "")?)
    }
}
