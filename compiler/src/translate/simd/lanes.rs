//! Constants, splats, lane access, shuffles and swizzles.

use super::{FuncTranslator, Result, Shape};
use inkwell::types::VectorType;
use inkwell::values::BasicValueEnum;
use inkwell::IntPredicate;

impl<'a, 'b, 'ctx> FuncTranslator<'a, 'b, 'ctx> {
    pub fn translate_v_const(&mut self, bits: u128) -> Result<()> {
        let i64t = self.cx.context.i64_type();
        let v = VectorType::const_vector(&[
            i64t.const_int(bits as u64, false),
            i64t.const_int((bits >> 64) as u64, false),
        ]);
        self.push_v(v)
    }

    /// Scalar operand to lane type: i32 operands of narrow shapes are truncated.
    fn lane_value(&self, shape: Shape, v: BasicValueEnum<'ctx>) -> Result<BasicValueEnum<'ctx>> {
        Ok(match shape {
            Shape::I8x16 | Shape::I16x8 => self
                .builder
                .build_int_truncate(v.into_int_value(), self.int_type(shape.lane_bits()), "")?
                .into(),
            _ => v,
        })
    }

    pub fn translate_v_splat(&mut self, shape: Shape) -> Result<()> {
        let s = self.pop();
        let s = self.lane_value(shape, s)?;
        let v = self.splat(s, shape.lanes())?;
        self.push_v(v)
    }

    pub fn translate_v_extract(&mut self, shape: Shape, lane: u8, signed: bool) -> Result<()> {
        let v = self.pop_v(shape)?;
        let e = self
            .builder
            .build_extract_element(v, self.i32_const(lane as u64), "")?;
        let e: BasicValueEnum = match shape {
            Shape::I8x16 | Shape::I16x8 => {
                let i32t = self.cx.context.i32_type();
                if signed {
                    self.builder
                        .build_int_s_extend(e.into_int_value(), i32t, "")?
                        .into()
                } else {
                    self.builder
                        .build_int_z_extend(e.into_int_value(), i32t, "")?
                        .into()
                }
            }
            _ => e,
        };
        self.push(e);
        Ok(())
    }

    pub fn translate_v_replace(&mut self, shape: Shape, lane: u8) -> Result<()> {
        let s = self.pop();
        let v = self.pop_v(shape)?;
        let s = self.lane_value(shape, s)?;
        let r = self
            .builder
            .build_insert_element(v, s, self.i32_const(lane as u64), "")?;
        self.push_v(r)
    }

    pub fn translate_v_shuffle(&mut self, lanes: [u8; 16]) -> Result<()> {
        let r = self.pop_v(Shape::I8x16)?;
        let l = self.pop_v(Shape::I8x16)?;
        let v = self.builder.build_shuffle_vector(
            l,
            r,
            self.mask(lanes.iter().map(|&i| i as u32)),
            "",
        )?;
        self.push_v(v)
    }

    /// `i8x16.swizzle`: lane i is `a[s[i]]`, or 0 when `s[i] >= 16`. On x86 this is `pshufb`
    /// after a saturating add that sets the top bit of every out-of-range index; on AArch64
    /// `tbl` has exactly the wasm semantics; elsewhere it is done lane by lane.
    pub fn translate_v_swizzle(&mut self) -> Result<()> {
        let s = self.pop_v(Shape::I8x16)?;
        let a = self.pop_v(Shape::I8x16)?;
        let i8t = self.cx.context.i8_type();
        let triple = self.cx.module.get_triple();
        let triple = triple.as_str().to_string_lossy();
        let v = if triple.starts_with("x86_64") && self.has_feature("ssse3") {
            let bias = self.splat(i8t.const_int(0x70, false).into(), 16)?;
            let ty = self.vec_type(Shape::I8x16).into();
            let idx = self.vector_intrinsic("llvm.uadd.sat", &[ty], &[s.into(), bias.into()])?;
            self.vector_intrinsic("llvm.x86.ssse3.pshuf.b.128", &[], &[a.into(), idx.into()])?
                .into_vector_value()
        } else if triple.starts_with("aarch64") {
            self.vector_intrinsic(
                "llvm.aarch64.neon.tbl1",
                &[self.vec_type(Shape::I8x16).into()],
                &[a.into(), s.into()],
            )?
            .into_vector_value()
        } else {
            let mut out = self.vec_type(Shape::I8x16).const_zero();
            let sixteen = i8t.const_int(16, false);
            for i in 0..16 {
                let idx = self
                    .builder
                    .build_extract_element(s, self.i32_const(i), "")?
                    .into_int_value();
                let in_range =
                    self.builder
                        .build_int_compare(IntPredicate::ULT, idx, sixteen, "")?;
                let safe = self.builder.build_and(idx, i8t.const_int(15, false), "")?;
                let e = self
                    .builder
                    .build_extract_element(a, safe, "")?
                    .into_int_value();
                let e = self
                    .builder
                    .build_select(in_range, e, i8t.const_zero(), "")?;
                out = self
                    .builder
                    .build_insert_element(out, e, self.i32_const(i), "")?;
            }
            out
        };
        self.push_v(v)
    }

    /// Whether the target machine's feature string enables `feature`.
    pub fn has_feature(&self, feature: &str) -> bool {
        self.cx
            .target_features
            .split(',')
            .any(|f| f.strip_prefix('+') == Some(feature))
    }
}
