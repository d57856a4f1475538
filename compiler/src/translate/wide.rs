//! Wide arithmetic (the wide-arithmetic proposal): 128-bit sums and differences of `i64` pairs
//! and the full 128-bit product of two `i64`s, as LLVM `i128` operations, which x86-64 and
//! AArch64 lower to `add`/`adc`, `sub`/`sbb` and one widening multiply.

use super::{FuncTranslator, Result};
use inkwell::values::IntValue;

/// Which wide operation.
#[derive(Clone, Copy)]
pub enum Wide {
    Add128,
    Sub128,
    MulWideS,
    MulWideU,
}

impl<'a, 'b, 'ctx> FuncTranslator<'a, 'b, 'ctx> {
    pub fn translate_wide(&mut self, op: Wide) -> Result<()> {
        let i128t = self.cx.context.i128_type();
        let r = match op {
            Wide::Add128 | Wide::Sub128 => {
                let (b_hi, b_lo) = (self.pop_int(), self.pop_int());
                let (a_hi, a_lo) = (self.pop_int(), self.pop_int());
                let a = self.join128(a_lo, a_hi)?;
                let b = self.join128(b_lo, b_hi)?;
                match op {
                    Wide::Add128 => self.builder.build_int_add(a, b, "")?,
                    _ => self.builder.build_int_sub(a, b, "")?,
                }
            }
            Wide::MulWideS | Wide::MulWideU => {
                let (b, a) = (self.pop_int(), self.pop_int());
                let signed = matches!(op, Wide::MulWideS);
                let a = self
                    .builder
                    .build_int_cast_sign_flag(a, i128t, signed, "")?;
                let b = self
                    .builder
                    .build_int_cast_sign_flag(b, i128t, signed, "")?;
                self.builder.build_int_mul(a, b, "")?
            }
        };
        let i64t = self.cx.context.i64_type();
        let lo = self.builder.build_int_truncate(r, i64t, "")?;
        let hi = self
            .builder
            .build_right_shift(r, i128t.const_int(64, false), false, "")?;
        let hi = self.builder.build_int_truncate(hi, i64t, "")?;
        self.push(lo);
        self.push(hi);
        Ok(())
    }

    /// `hi:lo` as one `i128`.
    fn join128(&self, lo: IntValue<'ctx>, hi: IntValue<'ctx>) -> Result<IntValue<'ctx>> {
        let i128t = self.cx.context.i128_type();
        let lo = self.builder.build_int_z_extend(lo, i128t, "")?;
        let hi = self.builder.build_int_z_extend(hi, i128t, "")?;
        let hi = self
            .builder
            .build_left_shift(hi, i128t.const_int(64, false), "")?;
        Ok(self.builder.build_or(hi, lo, "")?)
    }
}
