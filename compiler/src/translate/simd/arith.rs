//! Lane-wise arithmetic, bitwise operations, comparisons and shifts.

use super::{FuncTranslator, Result, Shape};
use inkwell::values::{BasicValueEnum, VectorValue};
use inkwell::{FloatPredicate, IntPredicate};

#[derive(Clone, Copy)]
pub enum VBin {
    Add,
    Sub,
    Mul,
    AddSatS,
    AddSatU,
    SubSatS,
    SubSatU,
    MinS,
    MinU,
    MaxS,
    MaxU,
    AvgrU,
    Q15MulrSatS,
    Div,
    Min,
    Max,
    PMin,
    PMax,
}

#[derive(Clone, Copy)]
pub enum VBit {
    And,
    Or,
    Xor,
    AndNot,
}

#[derive(Clone, Copy)]
pub enum VUn {
    Abs,
    Neg,
    Popcnt,
    Sqrt,
    Ceil,
    Floor,
    Trunc,
    Nearest,
}

#[derive(Clone, Copy)]
pub enum VShift {
    Shl,
    ShrS,
    ShrU,
}

impl<'a, 'b, 'ctx> FuncTranslator<'a, 'b, 'ctx> {
    pub fn translate_v_binary(&mut self, shape: Shape, op: VBin) -> Result<()> {
        let r = self.pop_v(shape)?;
        let l = self.pop_v(shape)?;
        let b = &self.builder;
        let ty = self.vec_type(shape).into();
        let call = |t: &Self, name: &str| -> Result<VectorValue<'ctx>> {
            Ok(t.vector_intrinsic(name, &[ty], &[l.into(), r.into()])?
                .into_vector_value())
        };
        let v: VectorValue = match (op, shape.is_float()) {
            (VBin::Add, false) => b.build_int_add(l, r, "")?,
            (VBin::Sub, false) => b.build_int_sub(l, r, "")?,
            (VBin::Mul, false) => b.build_int_mul(l, r, "")?,
            (VBin::Add, true) => b.build_float_add(l, r, "")?,
            (VBin::Sub, true) => b.build_float_sub(l, r, "")?,
            (VBin::Mul, true) => b.build_float_mul(l, r, "")?,
            (VBin::Div, _) => b.build_float_div(l, r, "")?,
            (VBin::AddSatS, _) => call(self, "llvm.sadd.sat")?,
            (VBin::AddSatU, _) => call(self, "llvm.uadd.sat")?,
            (VBin::SubSatS, _) => call(self, "llvm.ssub.sat")?,
            (VBin::SubSatU, _) => call(self, "llvm.usub.sat")?,
            (VBin::MinS, _) => call(self, "llvm.smin")?,
            (VBin::MinU, _) => call(self, "llvm.umin")?,
            (VBin::MaxS, _) => call(self, "llvm.smax")?,
            (VBin::MaxU, _) => call(self, "llvm.umax")?,
            (VBin::Min | VBin::Max, _) => {
                // As for scalars: NaN propagates, -0 < +0, and a NaN result is made quiet.
                let name = if matches!(op, VBin::Min) {
                    "llvm.minimum"
                } else {
                    "llvm.maximum"
                };
                let m = call(self, name)?;
                let nan = b.build_float_compare(FloatPredicate::UNO, l, r, "")?;
                let quiet = b.build_float_add(l, r, "")?;
                b.build_select(nan, quiet, m, "")?.into_vector_value()
            }
            // pmin(a, b) = b < a ? b : a; pmax(a, b) = a < b ? b : a.
            (VBin::PMin, _) => {
                let c = b.build_float_compare(FloatPredicate::OLT, r, l, "")?;
                b.build_select(c, r, l, "")?.into_vector_value()
            }
            (VBin::PMax, _) => {
                let c = b.build_float_compare(FloatPredicate::OLT, l, r, "")?;
                b.build_select(c, r, l, "")?.into_vector_value()
            }
            (VBin::AvgrU, _) => {
                // (a + b + 1) >> 1 without overflow, in lanes twice as wide.
                let wide = self.int_type(shape.lane_bits() * 2).vec_type(shape.lanes());
                let (wl, wr) = (
                    b.build_int_z_extend(l, wide, "")?,
                    b.build_int_z_extend(r, wide, "")?,
                );
                let one = self.splat(
                    self.int_type(shape.lane_bits() * 2)
                        .const_int(1, false)
                        .into(),
                    shape.lanes(),
                )?;
                let sum = b.build_int_add(b.build_int_add(wl, wr, "")?, one, "")?;
                let half = b.build_right_shift(sum, one, false, "")?;
                b.build_int_truncate(half, self.vec_type(shape), "")?
            }
            (VBin::Q15MulrSatS, _) => {
                // (a * b + 0x4000) >> 15, saturated to i16.
                let i32t = self.cx.context.i32_type();
                let wide = i32t.vec_type(8);
                let (wl, wr) = (
                    b.build_int_s_extend(l, wide, "")?,
                    b.build_int_s_extend(r, wide, "")?,
                );
                let round = self.splat(i32t.const_int(0x4000, false).into(), 8)?;
                let fifteen = self.splat(i32t.const_int(15, false).into(), 8)?;
                let p = b.build_int_add(b.build_int_mul(wl, wr, "")?, round, "")?;
                let p = b.build_right_shift(p, fifteen, true, "")?;
                let max = self.splat(i32t.const_int(0x7fff, false).into(), 8)?;
                let p = self
                    .vector_intrinsic("llvm.smin", &[wide.into()], &[p.into(), max.into()])?
                    .into_vector_value();
                b.build_int_truncate(p, self.vec_type(shape), "")?
            }
        };
        self.push_v(v)
    }

    pub fn translate_v_bitwise(&mut self, op: VBit) -> Result<()> {
        let r = self.pop_v(Shape::I64x2)?;
        let l = self.pop_v(Shape::I64x2)?;
        let b = &self.builder;
        let v = match op {
            VBit::And => b.build_and(l, r, "")?,
            VBit::Or => b.build_or(l, r, "")?,
            VBit::Xor => b.build_xor(l, r, "")?,
            VBit::AndNot => b.build_and(l, b.build_not(r, "")?, "")?,
        };
        self.push_v(v)
    }

    pub fn translate_v_not(&mut self) -> Result<()> {
        let v = self.pop_v(Shape::I64x2)?;
        let r = self.builder.build_not(v, "")?;
        self.push_v(r)
    }

    /// `v128.bitselect(a, b, c)`: bits of `a` where `c` is 1, of `b` where it is 0.
    pub fn translate_v_bitselect(&mut self) -> Result<()> {
        let c = self.pop_v(Shape::I64x2)?;
        let f = self.pop_v(Shape::I64x2)?;
        let t = self.pop_v(Shape::I64x2)?;
        let b = &self.builder;
        let v = b.build_or(
            b.build_and(t, c, "")?,
            b.build_and(f, b.build_not(c, "")?, "")?,
            "",
        )?;
        self.push_v(v)
    }

    pub fn translate_v_unary(&mut self, shape: Shape, op: VUn) -> Result<()> {
        let v = self.pop_v(shape)?;
        let ty = self.vec_type(shape).into();
        let b = &self.builder;
        let r: BasicValueEnum = match op {
            VUn::Neg if shape.is_float() => b.build_float_neg(v, "")?.into(),
            VUn::Neg => b.build_int_neg(v, "")?.into(),
            VUn::Abs if shape.is_float() => {
                self.vector_intrinsic("llvm.fabs", &[ty], &[v.into()])?
            }
            VUn::Abs => {
                let no_poison = self.cx.context.bool_type().const_zero();
                self.vector_intrinsic("llvm.abs", &[ty], &[v.into(), no_poison.into()])?
            }
            VUn::Popcnt => self.vector_intrinsic("llvm.ctpop", &[ty], &[v.into()])?,
            VUn::Sqrt => self.vector_intrinsic("llvm.sqrt", &[ty], &[v.into()])?,
            VUn::Ceil => self.vector_intrinsic("llvm.ceil", &[ty], &[v.into()])?,
            VUn::Floor => self.vector_intrinsic("llvm.floor", &[ty], &[v.into()])?,
            VUn::Trunc => self.vector_intrinsic("llvm.trunc", &[ty], &[v.into()])?,
            VUn::Nearest => self.vector_intrinsic("llvm.roundeven", &[ty], &[v.into()])?,
        };
        self.push_v(r.into_vector_value())
    }

    /// Lane-wise compare: all ones where it holds, zero elsewhere.
    pub fn translate_v_icmp(&mut self, shape: Shape, pred: IntPredicate) -> Result<()> {
        let r = self.pop_v(shape)?;
        let l = self.pop_v(shape)?;
        let c = self.builder.build_int_compare(pred, l, r, "")?;
        let v = self
            .builder
            .build_int_s_extend(c, self.vec_type(shape), "")?;
        self.push_v(v)
    }

    pub fn translate_v_fcmp(&mut self, shape: Shape, pred: FloatPredicate) -> Result<()> {
        let r = self.pop_v(shape)?;
        let l = self.pop_v(shape)?;
        let c = self.builder.build_float_compare(pred, l, r, "")?;
        let v = self
            .builder
            .build_int_s_extend(c, self.vec_type(shape.as_int()), "")?;
        self.push_v(v)
    }

    /// Shifts take the count modulo the lane width.
    pub fn translate_v_shift(&mut self, shape: Shape, op: VShift) -> Result<()> {
        let count = self.pop_int();
        let v = self.pop_v(shape)?;
        let bits = shape.lane_bits();
        let masked = self
            .builder
            .build_and(count, self.i32_const(bits as u64 - 1), "")?;
        let lane = self.int_type(bits);
        let lane_count = if bits > 32 {
            self.builder.build_int_z_extend(masked, lane, "")?
        } else {
            self.builder
                .build_int_truncate_or_bit_cast(masked, lane, "")?
        };
        let counts = self.splat(lane_count.into(), shape.lanes())?;
        let b = &self.builder;
        let r = match op {
            VShift::Shl => b.build_left_shift(v, counts, "")?,
            VShift::ShrS => b.build_right_shift(v, counts, true, "")?,
            VShift::ShrU => b.build_right_shift(v, counts, false, "")?,
        };
        self.push_v(r)
    }

    pub fn translate_v_any_true(&mut self) -> Result<()> {
        let v = self.pop();
        let whole = self
            .builder
            .build_bit_cast(v, self.cx.context.i128_type(), "")?
            .into_int_value();
        let c = self.builder.build_int_compare(
            IntPredicate::NE,
            whole,
            self.cx.context.i128_type().const_zero(),
            "",
        )?;
        let r = self.bool_to_i32(c)?;
        self.push(r);
        Ok(())
    }

    pub fn translate_v_all_true(&mut self, shape: Shape) -> Result<()> {
        let v = self.pop_v(shape)?;
        let zero = self.vec_type(shape).const_zero();
        let nonzero = self
            .builder
            .build_int_compare(IntPredicate::NE, v, zero, "")?;
        let all = self.vector_intrinsic(
            "llvm.vector.reduce.and",
            &[nonzero.get_type().into()],
            &[nonzero.into()],
        )?;
        let r = self.bool_to_i32(all.into_int_value())?;
        self.push(r);
        Ok(())
    }

    /// The sign bit of each lane, gathered into the low bits of an i32.
    pub fn translate_v_bitmask(&mut self, shape: Shape) -> Result<()> {
        let v = self.pop_v(shape)?;
        let zero = self.vec_type(shape).const_zero();
        let negative = self
            .builder
            .build_int_compare(IntPredicate::SLT, v, zero, "")?;
        let bits = self
            .builder
            .build_bit_cast(negative, self.int_type_any(shape.lanes()), "")?
            .into_int_value();
        let r = self
            .builder
            .build_int_z_extend(bits, self.cx.context.i32_type(), "")?;
        self.push(r);
        Ok(())
    }

    /// An integer type of any width (for bitmasks of 2, 4, 8 or 16 lanes).
    pub fn int_type_any(&self, bits: u32) -> inkwell::types::IntType<'ctx> {
        self.cx
            .context
            .custom_width_int_type(std::num::NonZeroU32::new(bits).unwrap())
            .unwrap()
    }
}
