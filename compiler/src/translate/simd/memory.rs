//! SIMD loads and stores: whole vectors, extending loads, splats, zero-extended and lane
//! loads, lane stores. Addresses go through the same `effective_address` as scalar accesses.

use super::{FuncTranslator, Result, Shape};
use inkwell::types::BasicTypeEnum;
use inkwell::values::BasicValueEnum;
use wasmparser::MemArg;

impl<'a, 'b, 'ctx> FuncTranslator<'a, 'b, 'ctx> {
    fn load_unaligned(
        &mut self,
        memarg: &MemArg,
        ty: BasicTypeEnum<'ctx>,
        size: u64,
    ) -> Result<BasicValueEnum<'ctx>> {
        let p = self.effective_address(memarg, size)?;
        self.load_memory(ty, p)
    }

    pub fn translate_v_load(&mut self, memarg: MemArg) -> Result<()> {
        let ty = self.cx.val_type(wasmparser::ValType::V128);
        let v = self.load_unaligned(&memarg, ty, 16)?;
        self.push(v);
        Ok(())
    }

    pub fn translate_v_store(&mut self, memarg: MemArg) -> Result<()> {
        let v = self.pop();
        let p = self.effective_address(&memarg, 16)?;
        self.builder.build_store(p, v)?.set_alignment(1).unwrap();
        Ok(())
    }

    /// `v128.load{8x8,16x4,32x2}_{s,u}`: 8 bytes, each lane extended to twice its width.
    pub fn translate_v_load_extend(
        &mut self,
        memarg: MemArg,
        from: Shape,
        signed: bool,
    ) -> Result<()> {
        let half = self.vec_type_n(from, from.lanes() / 2);
        let v = self
            .load_unaligned(&memarg, half.into(), 8)?
            .into_vector_value();
        let wide = self.vec_type(from.widened());
        let r = if signed {
            self.builder.build_int_s_extend(v, wide, "")?
        } else {
            self.builder.build_int_z_extend(v, wide, "")?
        };
        self.push_v(r)
    }

    pub fn translate_v_load_splat(&mut self, memarg: MemArg, shape: Shape) -> Result<()> {
        let lane = self.int_type(shape.lane_bits());
        let s = self.load_unaligned(&memarg, lane.into(), shape.lane_bits() as u64 / 8)?;
        let v = self.splat(s, shape.lanes())?;
        self.push_v(v)
    }

    /// `v128.load{32,64}_zero`: one lane loaded, the others zero.
    pub fn translate_v_load_zero(&mut self, memarg: MemArg, shape: Shape) -> Result<()> {
        let lane = self.int_type(shape.lane_bits());
        let s = self.load_unaligned(&memarg, lane.into(), shape.lane_bits() as u64 / 8)?;
        let zero = self.vec_type(shape).const_zero();
        let v = self
            .builder
            .build_insert_element(zero, s, self.i32_const(0), "")?;
        self.push_v(v)
    }

    pub fn translate_v_load_lane(&mut self, memarg: MemArg, shape: Shape, lane: u8) -> Result<()> {
        let v = self.pop_v(shape)?;
        let ty = self.int_type(shape.lane_bits());
        let s = self.load_unaligned(&memarg, ty.into(), shape.lane_bits() as u64 / 8)?;
        let r = self
            .builder
            .build_insert_element(v, s, self.i32_const(lane as u64), "")?;
        self.push_v(r)
    }

    pub fn translate_v_store_lane(&mut self, memarg: MemArg, shape: Shape, lane: u8) -> Result<()> {
        let v = self.pop_v(shape)?;
        let e = self
            .builder
            .build_extract_element(v, self.i32_const(lane as u64), "")?;
        let p = self.effective_address(&memarg, shape.lane_bits() as u64 / 8)?;
        self.builder.build_store(p, e)?.set_alignment(1).unwrap();
        Ok(())
    }
}
