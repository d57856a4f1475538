//! Conversions between lane shapes: widening, narrowing, float/int.

use super::{FuncTranslator, Result, Shape};
use inkwell::values::VectorValue;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Half {
    Low,
    High,
}

impl<'a, 'b, 'ctx> FuncTranslator<'a, 'b, 'ctx> {
    /// The low or high half of `v`'s lanes.
    fn half(&self, v: VectorValue<'ctx>, lanes: u32, half: Half) -> Result<VectorValue<'ctx>> {
        let n = lanes / 2;
        let start = if half == Half::Low { 0 } else { n };
        Ok(self.builder.build_shuffle_vector(
            v,
            v.get_type().get_undef(),
            self.mask(start..start + n),
            "",
        )?)
    }

    /// Half of `from`'s lanes, extended to twice the width.
    fn extend_half(
        &mut self,
        v: VectorValue<'ctx>,
        from: Shape,
        half: Half,
        signed: bool,
    ) -> Result<VectorValue<'ctx>> {
        let h = self.half(v, from.lanes(), half)?;
        let wide = self.vec_type(from.widened());
        Ok(if signed {
            self.builder.build_int_s_extend(h, wide, "")?
        } else {
            self.builder.build_int_z_extend(h, wide, "")?
        })
    }

    pub fn translate_v_extend(&mut self, from: Shape, half: Half, signed: bool) -> Result<()> {
        let v = self.pop_v(from)?;
        let r = self.extend_half(v, from, half, signed)?;
        self.push_v(r)
    }

    pub fn translate_v_extmul(&mut self, from: Shape, half: Half, signed: bool) -> Result<()> {
        let r = self.pop_v(from)?;
        let l = self.pop_v(from)?;
        let (wl, wr) = (
            self.extend_half(l, from, half, signed)?,
            self.extend_half(r, from, half, signed)?,
        );
        let p = self.builder.build_int_mul(wl, wr, "")?;
        self.push_v(p)
    }

    /// Adjacent lanes widened and added.
    pub fn translate_v_extadd_pairwise(&mut self, from: Shape, signed: bool) -> Result<()> {
        let v = self.pop_v(from)?;
        let (even, odd) = self.even_odd(v, from.lanes() / 2)?;
        let wide = self.vec_type(from.widened());
        let (e, o) = if signed {
            (
                self.builder.build_int_s_extend(even, wide, "")?,
                self.builder.build_int_s_extend(odd, wide, "")?,
            )
        } else {
            (
                self.builder.build_int_z_extend(even, wide, "")?,
                self.builder.build_int_z_extend(odd, wide, "")?,
            )
        };
        let r = self.builder.build_int_add(e, o, "")?;
        self.push_v(r)
    }

    /// `i32x4.dot_i16x8_s`: products of adjacent signed lanes, added.
    pub fn translate_v_dot(&mut self) -> Result<()> {
        let r = self.pop_v(Shape::I16x8)?;
        let l = self.pop_v(Shape::I16x8)?;
        let wide = self.cx.context.i32_type().vec_type(8);
        let p = self.builder.build_int_mul(
            self.builder.build_int_s_extend(l, wide, "")?,
            self.builder.build_int_s_extend(r, wide, "")?,
            "",
        )?;
        let undef = wide.get_undef();
        let even = self
            .builder
            .build_shuffle_vector(p, undef, self.mask([0, 2, 4, 6]), "")?;
        let odd = self
            .builder
            .build_shuffle_vector(p, undef, self.mask([1, 3, 5, 7]), "")?;
        let sum = self.builder.build_int_add(even, odd, "")?;
        self.push_v(sum)
    }

    /// Two vectors of `from` narrowed with saturation to one of half-width lanes.
    pub fn translate_v_narrow(&mut self, from: Shape, signed: bool) -> Result<()> {
        let r = self.pop_v(from)?;
        let l = self.pop_v(from)?;
        let all = self
            .builder
            .build_shuffle_vector(l, r, self.mask(0..2 * from.lanes()), "")?;
        let narrow_bits = from.lane_bits() / 2;
        let lane = self.int_type(from.lane_bits());
        let (lo, hi) = if signed {
            let max = (1u64 << (narrow_bits - 1)) - 1;
            (
                lane.const_int((-(1i64 << (narrow_bits - 1))) as u64, true),
                lane.const_int(max, false),
            )
        } else {
            (
                lane.const_zero(),
                lane.const_int((1u64 << narrow_bits) - 1, false),
            )
        };
        let n = 2 * from.lanes();
        let ty = all.get_type().into();
        let clamped = self.vector_intrinsic(
            "llvm.smax",
            &[ty],
            &[all.into(), self.splat(lo.into(), n)?.into()],
        )?;
        let clamped = self.vector_intrinsic(
            "llvm.smin",
            &[ty],
            &[clamped.into(), self.splat(hi.into(), n)?.into()],
        )?;
        let narrow = self.int_type(narrow_bits).vec_type(n);
        let v = self
            .builder
            .build_int_truncate(clamped.into_vector_value(), narrow, "")?;
        self.push_v(v)
    }

    pub fn translate_v_trunc_sat_f32(&mut self, signed: bool) -> Result<()> {
        let v = self.pop_v(Shape::F32x4)?;
        let name = if signed {
            "llvm.fptosi.sat"
        } else {
            "llvm.fptoui.sat"
        };
        let out = self.vec_type(Shape::I32x4);
        let r = self.vector_intrinsic(name, &[out.into(), v.get_type().into()], &[v.into()])?;
        self.push_v(r.into_vector_value())
    }

    /// `i32x4.trunc_sat_f64x2_{s,u}_zero`: two results, then two zero lanes.
    pub fn translate_v_trunc_sat_f64_zero(&mut self, signed: bool) -> Result<()> {
        let v = self.pop_v(Shape::F64x2)?;
        let name = if signed {
            "llvm.fptosi.sat"
        } else {
            "llvm.fptoui.sat"
        };
        let two = self.cx.context.i32_type().vec_type(2);
        let r = self
            .vector_intrinsic(name, &[two.into(), v.get_type().into()], &[v.into()])?
            .into_vector_value();
        let v =
            self.builder
                .build_shuffle_vector(r, two.const_zero(), self.mask([0, 1, 2, 3]), "")?;
        self.push_v(v)
    }

    pub fn translate_v_convert_i32(&mut self, signed: bool) -> Result<()> {
        let v = self.pop_v(Shape::I32x4)?;
        let f = self.vec_type(Shape::F32x4);
        let r = if signed {
            self.builder.build_signed_int_to_float(v, f, "")?
        } else {
            self.builder.build_unsigned_int_to_float(v, f, "")?
        };
        self.push_v(r)
    }

    pub fn translate_v_convert_low_i32(&mut self, signed: bool) -> Result<()> {
        let v = self.pop_v(Shape::I32x4)?;
        let low = self.half(v, 4, Half::Low)?;
        let f = self.vec_type(Shape::F64x2);
        let r = if signed {
            self.builder.build_signed_int_to_float(low, f, "")?
        } else {
            self.builder.build_unsigned_int_to_float(low, f, "")?
        };
        self.push_v(r)
    }

    pub fn translate_v_demote(&mut self) -> Result<()> {
        let v = self.pop_v(Shape::F64x2)?;
        let two = self.cx.context.f32_type().vec_type(2);
        let d = self.builder.build_float_trunc(v, two, "")?;
        let r =
            self.builder
                .build_shuffle_vector(d, two.const_zero(), self.mask([0, 1, 2, 3]), "")?;
        self.push_v(r)
    }

    pub fn translate_v_promote(&mut self) -> Result<()> {
        let v = self.pop_v(Shape::F32x4)?;
        let low = self.half(v, 4, Half::Low)?;
        let r = self
            .builder
            .build_float_ext(low, self.vec_type(Shape::F64x2), "")?;
        self.push_v(r)
    }
}
