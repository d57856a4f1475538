//! Integer and floating-point operators with exact wasm semantics.

use super::{FuncTranslator, Result};
use inkwell::types::{BasicTypeEnum, FloatType, IntType};
use inkwell::values::{AsValueRef, BasicValueEnum, FloatValue, IntValue};
use inkwell::{FloatPredicate, IntPredicate};
use runtime_support::TrapCode;

#[derive(Clone, Copy)]
pub enum IntBinOp {
    Add,
    Sub,
    Mul,
    And,
    Or,
    Xor,
    Shl,
    ShrS,
    ShrU,
    Rotl,
    Rotr,
    DivS,
    DivU,
    RemS,
    RemU,
}

#[derive(Clone, Copy)]
pub enum IntUnOp {
    Clz,
    Ctz,
    Popcnt,
}

#[derive(Clone, Copy)]
pub enum FloatBinOp {
    Add,
    Sub,
    Mul,
    Div,
    Min,
    Max,
    Copysign,
}

#[derive(Clone, Copy)]
pub enum FloatUnOp {
    Abs,
    Neg,
    Sqrt,
    Ceil,
    Floor,
    Trunc,
    Nearest,
}

impl<'a, 'b, 'ctx> FuncTranslator<'a, 'b, 'ctx> {
    pub fn int_type(&self, bits: u32) -> IntType<'ctx> {
        let c = self.cx.context;
        match bits {
            8 => c.i8_type(),
            16 => c.i16_type(),
            32 => c.i32_type(),
            _ => c.i64_type(),
        }
    }

    pub fn bool_to_i32(&self, b: IntValue<'ctx>) -> Result<IntValue<'ctx>> {
        Ok(self
            .builder
            .build_int_z_extend(b, self.cx.context.i32_type(), "")?)
    }

    pub fn translate_int_const(&mut self, ty: IntType<'ctx>, bits: u64) -> Result<()> {
        self.push(ty.const_int(bits, false));
        Ok(())
    }

    /// Float constants are made from their bits so that NaN payloads survive exactly.
    pub fn translate_float_const(&mut self, ty: FloatType<'ctx>, bits: u64) -> Result<()> {
        let int = self.int_type(ty.get_bit_width()).const_int(bits, false);
        let f = self.builder.build_bit_cast(int, ty, "")?;
        self.push(f);
        Ok(())
    }

    pub fn translate_int_binary(&mut self, op: IntBinOp) -> Result<()> {
        let r = self.pop_int();
        let l = self.pop_int();
        let b = &self.builder;
        let ty = l.get_type();
        let bits = ty.get_bit_width() as u64;
        let mask =
            |b: &inkwell::builder::Builder<'ctx>| b.build_and(r, ty.const_int(bits - 1, false), "");
        let v = match op {
            IntBinOp::Add => b.build_int_add(l, r, "")?,
            IntBinOp::Sub => b.build_int_sub(l, r, "")?,
            IntBinOp::Mul => b.build_int_mul(l, r, "")?,
            IntBinOp::And => b.build_and(l, r, "")?,
            IntBinOp::Or => b.build_or(l, r, "")?,
            IntBinOp::Xor => b.build_xor(l, r, "")?,
            IntBinOp::Shl => b.build_left_shift(l, mask(b)?, "")?,
            IntBinOp::ShrS => b.build_right_shift(l, mask(b)?, true, "")?,
            IntBinOp::ShrU => b.build_right_shift(l, mask(b)?, false, "")?,
            IntBinOp::Rotl | IntBinOp::Rotr => {
                let name = if matches!(op, IntBinOp::Rotl) {
                    "llvm.fshl"
                } else {
                    "llvm.fshr"
                };
                let f = self.intrinsic(name, &[ty.into()]);
                self.call_intrinsic(f, &[l.into(), l.into(), r.into()])?
                    .into_int_value()
            }
            IntBinOp::DivS | IntBinOp::DivU | IntBinOp::RemS | IntBinOp::RemU => {
                return self.translate_division(op, l, r)
            }
        };
        self.push(v);
        Ok(())
    }

    /// Division traps on a zero divisor, `div_s` also on `MIN / -1`; `rem_s(MIN, -1)` is 0,
    /// computed without the hardware fault by dividing by 1 instead.
    fn translate_division(
        &mut self,
        op: IntBinOp,
        l: IntValue<'ctx>,
        r: IntValue<'ctx>,
    ) -> Result<()> {
        let ty = l.get_type();
        let bits = ty.get_bit_width();
        let is_zero = self
            .builder
            .build_int_compare(IntPredicate::EQ, r, ty.const_zero(), "")?;
        self.trap_if(is_zero, TrapCode::IntegerDivisionByZero)?;
        let minus_one = ty.const_all_ones();
        let v = match op {
            IntBinOp::DivS => {
                let min = ty.const_int(1u64 << (bits - 1), false);
                let l_min = self
                    .builder
                    .build_int_compare(IntPredicate::EQ, l, min, "")?;
                let r_m1 = self
                    .builder
                    .build_int_compare(IntPredicate::EQ, r, minus_one, "")?;
                let overflow = self.builder.build_and(l_min, r_m1, "")?;
                self.trap_if(overflow, TrapCode::IntegerOverflow)?;
                self.builder.build_int_signed_div(l, r, "")?
            }
            IntBinOp::DivU => self.builder.build_int_unsigned_div(l, r, "")?,
            IntBinOp::RemS => {
                let r_m1 = self
                    .builder
                    .build_int_compare(IntPredicate::EQ, r, minus_one, "")?;
                let safe = self
                    .builder
                    .build_select(r_m1, ty.const_int(1, false), r, "")?;
                self.builder
                    .build_int_signed_rem(l, safe.into_int_value(), "")?
            }
            IntBinOp::RemU => self.builder.build_int_unsigned_rem(l, r, "")?,
            _ => unreachable!("not a division"),
        };
        self.push(v);
        Ok(())
    }

    pub fn translate_int_unary(&mut self, op: IntUnOp) -> Result<()> {
        let v = self.pop_int();
        let ty = v.get_type();
        let no_poison = self.cx.context.bool_type().const_zero();
        let r = match op {
            IntUnOp::Clz => self.call_intrinsic(
                self.intrinsic("llvm.ctlz", &[ty.into()]),
                &[v.into(), no_poison.into()],
            )?,
            IntUnOp::Ctz => self.call_intrinsic(
                self.intrinsic("llvm.cttz", &[ty.into()]),
                &[v.into(), no_poison.into()],
            )?,
            IntUnOp::Popcnt => {
                self.call_intrinsic(self.intrinsic("llvm.ctpop", &[ty.into()]), &[v.into()])?
            }
        };
        self.push(r);
        Ok(())
    }

    pub fn translate_eqz(&mut self) -> Result<()> {
        let v = self.pop_int();
        let c =
            self.builder
                .build_int_compare(IntPredicate::EQ, v, v.get_type().const_zero(), "")?;
        let r = self.bool_to_i32(c)?;
        self.push(r);
        Ok(())
    }

    pub fn translate_int_compare(&mut self, pred: IntPredicate) -> Result<()> {
        let r = self.pop_int();
        let l = self.pop_int();
        let c = self.builder.build_int_compare(pred, l, r, "")?;
        let v = self.bool_to_i32(c)?;
        self.push(v);
        Ok(())
    }

    pub fn translate_float_compare(&mut self, pred: FloatPredicate) -> Result<()> {
        let r = self.pop().into_float_value();
        let l = self.pop().into_float_value();
        let c = self.builder.build_float_compare(pred, l, r, "")?;
        let v = self.bool_to_i32(c)?;
        self.push(v);
        Ok(())
    }

    /// Returns `v` with a NaN made quiet. LLVM folds `x * 1.0`, `x - 0.0` and the like to
    /// `x`, which would pass a signalling NaN through where wasm requires an arithmetic one.
    fn quiet_nan(&self, v: FloatValue<'ctx>) -> Result<FloatValue<'ctx>> {
        let fty = v.get_type();
        let bits = fty.get_bit_width();
        let ity = self.int_type(bits);
        let raw = self.builder.build_bit_cast(v, ity, "")?.into_int_value();
        let quiet_bit = ity.const_int(1u64 << (if bits == 32 { 22 } else { 51 }), false);
        let quieted = self.builder.build_or(raw, quiet_bit, "")?;
        let quieted = self
            .builder
            .build_bit_cast(quieted, fty, "")?
            .into_float_value();
        let is_nan = self
            .builder
            .build_float_compare(FloatPredicate::UNO, v, v, "")?;
        Ok(self
            .builder
            .build_select(is_nan, quieted, v, "")?
            .into_float_value())
    }

    /// Whether `v` is a constant that makes an arithmetic operation an identity or a negation.
    fn is_foldable_constant(v: FloatValue<'ctx>) -> bool {
        // `get_constant` reads any constant as a ConstantFP; a constant expression (a bitcast
        // of an integer, a lane of a constant vector) is not one and would crash LLVM.
        // SAFETY: a live value; the call only inspects its kind.
        let is_constant_fp =
            unsafe { !llvm_sys::core::LLVMIsAConstantFP(v.as_value_ref()).is_null() };
        is_constant_fp
            && v.get_constant()
                .is_some_and(|(c, _)| c == 0.0 || c.abs() == 1.0)
    }

    pub fn translate_float_binary(&mut self, op: FloatBinOp) -> Result<()> {
        let r = self.pop().into_float_value();
        let l = self.pop().into_float_value();
        let arithmetic = matches!(
            op,
            FloatBinOp::Add | FloatBinOp::Sub | FloatBinOp::Mul | FloatBinOp::Div
        );
        let foldable =
            arithmetic && (Self::is_foldable_constant(l) || Self::is_foldable_constant(r));
        let b = &self.builder;
        let ty: BasicTypeEnum = l.get_type().into();
        let v: FloatValue = match op {
            FloatBinOp::Add => b.build_float_add(l, r, "")?,
            FloatBinOp::Sub => b.build_float_sub(l, r, "")?,
            FloatBinOp::Mul => b.build_float_mul(l, r, "")?,
            FloatBinOp::Div => b.build_float_div(l, r, "")?,
            FloatBinOp::Copysign => {
                let f = self.intrinsic("llvm.copysign", &[ty]);
                self.call_intrinsic(f, &[l.into(), r.into()])?
                    .into_float_value()
            }
            FloatBinOp::Min | FloatBinOp::Max => {
                // llvm.minimum/maximum order -0 below +0 and propagate NaN; the NaN they return
                // may still be signalling, so a NaN result is recomputed as `l + r`, which is
                // always a quiet (arithmetic) NaN.
                let name = if matches!(op, FloatBinOp::Min) {
                    "llvm.minimum"
                } else {
                    "llvm.maximum"
                };
                let f = self.intrinsic(name, &[ty]);
                let m = self
                    .call_intrinsic(f, &[l.into(), r.into()])?
                    .into_float_value();
                let nan = b.build_float_compare(FloatPredicate::UNO, l, r, "")?;
                let quiet = b.build_float_add(l, r, "")?;
                b.build_select(nan, quiet, m, "")?.into_float_value()
            }
        };
        let v = if foldable { self.quiet_nan(v)? } else { v };
        self.push(v);
        Ok(())
    }

    pub fn translate_float_unary(&mut self, op: FloatUnOp) -> Result<()> {
        let v = self.pop().into_float_value();
        let ty: BasicTypeEnum = v.get_type().into();
        let name = match op {
            FloatUnOp::Neg => {
                let r = self.builder.build_float_neg(v, "")?;
                self.push(r);
                return Ok(());
            }
            FloatUnOp::Abs => "llvm.fabs",
            FloatUnOp::Sqrt => "llvm.sqrt",
            FloatUnOp::Ceil => "llvm.ceil",
            FloatUnOp::Floor => "llvm.floor",
            FloatUnOp::Trunc => "llvm.trunc",
            FloatUnOp::Nearest => "llvm.roundeven",
        };
        let r = self.call_intrinsic(self.intrinsic(name, &[ty]), &[v.into()])?;
        self.push(r);
        Ok(())
    }

    pub fn translate_wrap(&mut self) -> Result<()> {
        let v = self.pop_int();
        let r = self
            .builder
            .build_int_truncate(v, self.cx.context.i32_type(), "")?;
        self.push(r);
        Ok(())
    }

    pub fn translate_extend(&mut self, signed: bool) -> Result<()> {
        let v = self.pop_int();
        let i64t = self.cx.context.i64_type();
        let r = if signed {
            self.builder.build_int_s_extend(v, i64t, "")?
        } else {
            self.builder.build_int_z_extend(v, i64t, "")?
        };
        self.push(r);
        Ok(())
    }

    /// `iN.extendM_s`: sign-extends the low M bits in place.
    pub fn translate_sign_extend_low(&mut self, from_bits: u32) -> Result<()> {
        let v = self.pop_int();
        let narrow = self.int_type(from_bits);
        let t = self.builder.build_int_truncate(v, narrow, "")?;
        let r = self.builder.build_int_s_extend(t, v.get_type(), "")?;
        self.push(r);
        Ok(())
    }

    /// Trapping float-to-int truncation: NaN is an invalid conversion, anything outside the
    /// open interval (MIN - 1, MAX + 1) an overflow. The bounds are exact in the source type.
    pub fn translate_trunc(&mut self, dst: IntType<'ctx>, signed: bool) -> Result<()> {
        let v = self.pop().into_float_value();
        let fty = v.get_type();
        let is_f32 = fty.get_bit_width() == 32;
        let bits = dst.get_bit_width();
        let nan = self
            .builder
            .build_float_compare(FloatPredicate::UNO, v, v, "")?;
        self.trap_if(nan, TrapCode::BadConversionToInteger)?;
        // (lower bound, lower bound inclusive, upper bound exclusive)
        let (lo, lo_inclusive, hi) = match (signed, bits, is_f32) {
            (true, 32, false) => (-2147483649.0, false, 2147483648.0),
            (true, _, _) => (
                -(2f64.powi(bits as i32 - 1)),
                true,
                2f64.powi(bits as i32 - 1),
            ),
            (false, _, _) => (-1.0, false, 2f64.powi(bits as i32)),
        };
        let lo_pred = if lo_inclusive {
            FloatPredicate::OGE
        } else {
            FloatPredicate::OGT
        };
        let above = self
            .builder
            .build_float_compare(lo_pred, v, fty.const_float(lo), "")?;
        let below =
            self.builder
                .build_float_compare(FloatPredicate::OLT, v, fty.const_float(hi), "")?;
        let in_range = self.builder.build_and(above, below, "")?;
        let out = self.builder.build_not(in_range, "")?;
        self.trap_if(out, TrapCode::IntegerOverflow)?;
        let r = if signed {
            self.builder.build_float_to_signed_int(v, dst, "")?
        } else {
            self.builder.build_float_to_unsigned_int(v, dst, "")?
        };
        self.push(r);
        Ok(())
    }

    pub fn translate_trunc_sat(&mut self, dst: IntType<'ctx>, signed: bool) -> Result<()> {
        let v = self.pop().into_float_value();
        let name = if signed {
            "llvm.fptosi.sat"
        } else {
            "llvm.fptoui.sat"
        };
        let f = self.intrinsic(name, &[dst.into(), v.get_type().into()]);
        let r = self.call_intrinsic(f, &[v.into()])?;
        self.push(r);
        Ok(())
    }

    pub fn translate_convert(&mut self, dst: FloatType<'ctx>, signed: bool) -> Result<()> {
        let v = self.pop_int();
        let r = if signed {
            self.builder.build_signed_int_to_float(v, dst, "")?
        } else {
            self.builder.build_unsigned_int_to_float(v, dst, "")?
        };
        self.push(r);
        Ok(())
    }

    pub fn translate_demote(&mut self) -> Result<()> {
        let v = self.pop().into_float_value();
        // fptrunc(fpext x) folds to x: quiet the result so a signalling NaN does not survive.
        let r = self
            .builder
            .build_float_trunc(v, self.cx.context.f32_type(), "")?;
        let r = self.quiet_nan(r)?;
        self.push(r);
        Ok(())
    }

    pub fn translate_promote(&mut self) -> Result<()> {
        let v = self.pop().into_float_value();
        let r = self
            .builder
            .build_float_ext(v, self.cx.context.f64_type(), "")?;
        self.push(r);
        Ok(())
    }

    pub fn translate_reinterpret(&mut self, to: BasicTypeEnum<'ctx>) -> Result<()> {
        let v: BasicValueEnum = self.pop();
        let r = self.builder.build_bit_cast(v, to, "")?;
        self.push(r);
        Ok(())
    }
}
