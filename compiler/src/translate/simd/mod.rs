//! Fixed-width SIMD. A `v128` is an LLVM `<2 x i64>` on the operand stack; each operator
//! bitcasts to the lane shape it works on (free in machine code) and back, so LLVM sees plain
//! vector IR and selects SSE/AVX or NEON instructions.

pub mod arith;
pub mod convert;
mod lanes;
mod memory;
mod relaxed;

use super::{FuncTranslator, Result};
use inkwell::types::VectorType;
use inkwell::values::{BasicMetadataValueEnum, BasicValueEnum, VectorValue};

/// The lane interpretation of a `v128`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    I8x16,
    I16x8,
    I32x4,
    I64x2,
    F32x4,
    F64x2,
}

impl Shape {
    pub fn lanes(self) -> u32 {
        128 / self.lane_bits()
    }

    pub fn lane_bits(self) -> u32 {
        match self {
            Shape::I8x16 => 8,
            Shape::I16x8 => 16,
            Shape::I32x4 | Shape::F32x4 => 32,
            Shape::I64x2 | Shape::F64x2 => 64,
        }
    }

    pub fn is_float(self) -> bool {
        matches!(self, Shape::F32x4 | Shape::F64x2)
    }

    /// The integer shape with the same lanes.
    pub fn as_int(self) -> Shape {
        match self {
            Shape::F32x4 => Shape::I32x4,
            Shape::F64x2 => Shape::I64x2,
            s => s,
        }
    }

    /// The integer shape with lanes twice as wide.
    pub fn widened(self) -> Shape {
        match self {
            Shape::I8x16 => Shape::I16x8,
            Shape::I16x8 => Shape::I32x4,
            _ => Shape::I64x2,
        }
    }
}

impl<'a, 'b, 'ctx> FuncTranslator<'a, 'b, 'ctx> {
    pub fn vec_type(&self, shape: Shape) -> VectorType<'ctx> {
        self.vec_type_n(shape, shape.lanes())
    }

    /// `n` lanes of `shape`'s lane type.
    pub fn vec_type_n(&self, shape: Shape, n: u32) -> VectorType<'ctx> {
        let c = self.cx.context;
        match shape {
            Shape::F32x4 => c.f32_type().vec_type(n),
            Shape::F64x2 => c.f64_type().vec_type(n),
            s => self.int_type(s.lane_bits()).vec_type(n),
        }
    }

    /// Pops a `v128` viewed as `shape`.
    pub fn pop_v(&mut self, shape: Shape) -> Result<VectorValue<'ctx>> {
        let v = self.pop();
        self.cast_v(v, shape)
    }

    pub fn cast_v(&self, v: BasicValueEnum<'ctx>, shape: Shape) -> Result<VectorValue<'ctx>> {
        Ok(self
            .builder
            .build_bit_cast(v, self.vec_type(shape), "")?
            .into_vector_value())
    }

    /// Pushes any 128-bit vector as the canonical `v128`.
    pub fn push_v(&mut self, v: VectorValue<'ctx>) -> Result<()> {
        let canonical = self.cx.val_type(wasmparser::ValType::V128);
        let c = self.builder.build_bit_cast(v, canonical, "")?;
        self.push(c);
        Ok(())
    }

    /// A vector of `n` copies of `scalar`.
    pub fn splat(&self, scalar: BasicValueEnum<'ctx>, n: u32) -> Result<VectorValue<'ctx>> {
        let ty = match scalar {
            BasicValueEnum::IntValue(i) => i.get_type().vec_type(n),
            BasicValueEnum::FloatValue(f) => f.get_type().vec_type(n),
            other => unreachable!("splat of {other:?}"),
        };
        let zero = self.i32_const(0);
        let one = self
            .builder
            .build_insert_element(ty.get_undef(), scalar, zero, "")?;
        let mask = self.cx.context.i32_type().vec_type(n).const_zero();
        Ok(self
            .builder
            .build_shuffle_vector(one, ty.get_undef(), mask, "splat")?)
    }

    /// A constant shuffle mask.
    pub fn mask(&self, indices: impl IntoIterator<Item = u32>) -> VectorValue<'ctx> {
        let i32t = self.cx.context.i32_type();
        let values: Vec<_> = indices
            .into_iter()
            .map(|i| i32t.const_int(i as u64, false))
            .collect();
        VectorType::const_vector(&values)
    }

    /// The even lanes `2i` and the odd lanes `2i + 1` of `v`, for `i < n`.
    pub fn even_odd(
        &self,
        v: VectorValue<'ctx>,
        n: u32,
    ) -> Result<(VectorValue<'ctx>, VectorValue<'ctx>)> {
        let undef = v.get_type().get_undef();
        let even = self.mask((0..n).map(|i| 2 * i));
        let odd = self.mask((0..n).map(|i| 2 * i + 1));
        Ok((
            self.builder.build_shuffle_vector(v, undef, even, "")?,
            self.builder.build_shuffle_vector(v, undef, odd, "")?,
        ))
    }

    /// Calls intrinsic `name` overloaded on the types of `args`' first operand.
    pub fn vector_intrinsic(
        &self,
        name: &str,
        overloads: &[inkwell::types::BasicTypeEnum<'ctx>],
        args: &[BasicMetadataValueEnum<'ctx>],
    ) -> Result<BasicValueEnum<'ctx>> {
        let f = self.intrinsic(name, overloads);
        self.call_intrinsic(f, args)
    }
}
