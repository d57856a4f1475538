//! One line per operator: what each wasm instruction means, in terms of the helpers.

use super::memory::Extend::{None as Plain, Signed, Unsigned};
use super::numeric::{FloatBinOp as FB, FloatUnOp as FU, IntBinOp as IB, IntUnOp as IU};
use super::wide::Wide;
use super::{FuncTranslator, Result};
use inkwell::{FloatPredicate as FP, IntPredicate as IP};
use wasmparser::Operator as Op;

impl<'a, 'b, 'ctx> FuncTranslator<'a, 'b, 'ctx> {
    pub fn translate_operator(&mut self, op: Op<'_>) -> Result<()> {
        if !self.reachable {
            return match op {
                Op::Block { .. }
                | Op::Loop { .. }
                | Op::If { .. }
                | Op::TryTable { .. }
                | Op::Try { .. } => self.enter_dead(),
                Op::Else => self.translate_else(),
                Op::Catch { tag_index } => self.translate_catch(Some(tag_index)),
                Op::CatchAll => self.translate_catch(None),
                Op::Delegate { relative_depth } => self.translate_delegate(relative_depth),
                Op::End => self.translate_end(),
                _ => Ok(()),
            };
        }
        self.meter(&op)?;
        let c = self.cx.context;
        let (i8t, i16t, i32t, i64t) = (c.i8_type(), c.i16_type(), c.i32_type(), c.i64_type());
        let (f32t, f64t) = (c.f32_type(), c.f64_type());
        match op {
            Op::Unreachable => self.translate_unreachable(),
            Op::Nop => self.translate_nop(),
            Op::Block { blockty } => self.translate_block(blockty),
            Op::Loop { blockty } => self.translate_loop(blockty),
            Op::If { blockty } => self.translate_if(blockty),
            Op::Else => self.translate_else(),
            Op::End => self.translate_end(),
            Op::Br { relative_depth } => self.translate_br(relative_depth),
            Op::BrIf { relative_depth } => self.translate_br_if(relative_depth),
            Op::BrTable { targets } => self.translate_br_table(targets),
            Op::BrOnNull { relative_depth } => self.translate_br_on_null(relative_depth),
            Op::BrOnNonNull { relative_depth } => self.translate_br_on_non_null(relative_depth),
            Op::Return => self.translate_return(),
            Op::Call { function_index } => self.translate_call(function_index, false),
            Op::ReturnCall { function_index } => self.translate_call(function_index, true),
            Op::CallIndirect {
                type_index,
                table_index,
            } => self.translate_call_indirect(type_index, table_index, false),
            Op::ReturnCallIndirect {
                type_index,
                table_index,
            } => self.translate_call_indirect(type_index, table_index, true),
            Op::CallRef { type_index } => self.translate_call_ref(type_index, false),
            Op::ReturnCallRef { type_index } => self.translate_call_ref(type_index, true),
            Op::TryTable { try_table } => self.translate_try_table(try_table),
            Op::Throw { tag_index } => self.translate_throw(tag_index),
            Op::ThrowRef => self.translate_throw_ref(),
            Op::Try { blockty } => self.translate_try(blockty),
            Op::Catch { tag_index } => self.translate_catch(Some(tag_index)),
            Op::CatchAll => self.translate_catch(None),
            Op::Rethrow { relative_depth } => self.translate_rethrow(relative_depth),
            Op::Delegate { relative_depth } => self.translate_delegate(relative_depth),
            Op::Drop => self.translate_drop(),
            Op::Select | Op::TypedSelect { .. } => self.translate_select(),

            Op::LocalGet { local_index } => self.translate_local_get(local_index),
            Op::LocalSet { local_index } => self.translate_local_set(local_index),
            Op::LocalTee { local_index } => self.translate_local_tee(local_index),
            Op::GlobalGet { global_index } => self.translate_global_get(global_index),
            Op::GlobalSet { global_index } => self.translate_global_set(global_index),

            Op::I32Load { memarg } => self.translate_load(memarg, i32t.into(), i32t.into(), Plain),
            Op::I64Load { memarg } => self.translate_load(memarg, i64t.into(), i64t.into(), Plain),
            Op::F32Load { memarg } => self.translate_load(memarg, f32t.into(), f32t.into(), Plain),
            Op::F64Load { memarg } => self.translate_load(memarg, f64t.into(), f64t.into(), Plain),
            Op::I32Load8S { memarg } => {
                self.translate_load(memarg, i8t.into(), i32t.into(), Signed)
            }
            Op::I32Load8U { memarg } => {
                self.translate_load(memarg, i8t.into(), i32t.into(), Unsigned)
            }
            Op::I32Load16S { memarg } => {
                self.translate_load(memarg, i16t.into(), i32t.into(), Signed)
            }
            Op::I32Load16U { memarg } => {
                self.translate_load(memarg, i16t.into(), i32t.into(), Unsigned)
            }
            Op::I64Load8S { memarg } => {
                self.translate_load(memarg, i8t.into(), i64t.into(), Signed)
            }
            Op::I64Load8U { memarg } => {
                self.translate_load(memarg, i8t.into(), i64t.into(), Unsigned)
            }
            Op::I64Load16S { memarg } => {
                self.translate_load(memarg, i16t.into(), i64t.into(), Signed)
            }
            Op::I64Load16U { memarg } => {
                self.translate_load(memarg, i16t.into(), i64t.into(), Unsigned)
            }
            Op::I64Load32S { memarg } => {
                self.translate_load(memarg, i32t.into(), i64t.into(), Signed)
            }
            Op::I64Load32U { memarg } => {
                self.translate_load(memarg, i32t.into(), i64t.into(), Unsigned)
            }
            Op::I32Store { memarg } => self.translate_store(memarg, i32t.into()),
            Op::I64Store { memarg } => self.translate_store(memarg, i64t.into()),
            Op::F32Store { memarg } => self.translate_store(memarg, f32t.into()),
            Op::F64Store { memarg } => self.translate_store(memarg, f64t.into()),
            Op::I32Store8 { memarg } | Op::I64Store8 { memarg } => {
                self.translate_store(memarg, i8t.into())
            }
            Op::I32Store16 { memarg } | Op::I64Store16 { memarg } => {
                self.translate_store(memarg, i16t.into())
            }
            Op::I64Store32 { memarg } => self.translate_store(memarg, i32t.into()),
            Op::MemorySize { mem } => self.translate_memory_size(mem),
            Op::MemoryGrow { mem } => self.translate_memory_grow(mem),
            Op::MemoryFill { mem } => self.translate_memory_fill(mem),
            Op::MemoryCopy { dst_mem, src_mem } => self.translate_memory_copy(dst_mem, src_mem),
            Op::MemoryInit { data_index, mem } => self.translate_memory_init(mem, data_index),
            Op::DataDrop { data_index } => self.translate_data_drop(data_index),

            Op::TableGet { table } => self.translate_table_get(table),
            Op::TableSet { table } => self.translate_table_set(table),
            Op::TableSize { table } => self.translate_table_size(table),
            Op::TableGrow { table } => self.translate_table_grow(table),
            Op::TableFill { table } => self.translate_table_fill(table),
            Op::TableCopy {
                dst_table,
                src_table,
            } => self.translate_table_copy(dst_table, src_table),
            Op::TableInit { elem_index, table } => self.translate_table_init(table, elem_index),
            Op::ElemDrop { elem_index } => self.translate_elem_drop(elem_index),
            Op::RefNull { .. } => self.translate_ref_null(),
            Op::RefIsNull => self.translate_ref_is_null(),
            Op::RefAsNonNull => self.translate_ref_as_non_null(),
            Op::RefFunc { function_index } => self.translate_ref_func(function_index),

            Op::I32Const { value } => self.translate_int_const(i32t, value as u32 as u64),
            Op::I64Const { value } => self.translate_int_const(i64t, value as u64),
            Op::F32Const { value } => self.translate_float_const(f32t, value.bits() as u64),
            Op::F64Const { value } => self.translate_float_const(f64t, value.bits()),

            Op::I32Eqz | Op::I64Eqz => self.translate_eqz(),
            Op::I32Eq | Op::I64Eq => self.translate_int_compare(IP::EQ),
            Op::I32Ne | Op::I64Ne => self.translate_int_compare(IP::NE),
            Op::I32LtS | Op::I64LtS => self.translate_int_compare(IP::SLT),
            Op::I32LtU | Op::I64LtU => self.translate_int_compare(IP::ULT),
            Op::I32GtS | Op::I64GtS => self.translate_int_compare(IP::SGT),
            Op::I32GtU | Op::I64GtU => self.translate_int_compare(IP::UGT),
            Op::I32LeS | Op::I64LeS => self.translate_int_compare(IP::SLE),
            Op::I32LeU | Op::I64LeU => self.translate_int_compare(IP::ULE),
            Op::I32GeS | Op::I64GeS => self.translate_int_compare(IP::SGE),
            Op::I32GeU | Op::I64GeU => self.translate_int_compare(IP::UGE),
            Op::F32Eq | Op::F64Eq => self.translate_float_compare(FP::OEQ),
            Op::F32Ne | Op::F64Ne => self.translate_float_compare(FP::UNE),
            Op::F32Lt | Op::F64Lt => self.translate_float_compare(FP::OLT),
            Op::F32Gt | Op::F64Gt => self.translate_float_compare(FP::OGT),
            Op::F32Le | Op::F64Le => self.translate_float_compare(FP::OLE),
            Op::F32Ge | Op::F64Ge => self.translate_float_compare(FP::OGE),

            Op::I32Clz | Op::I64Clz => self.translate_int_unary(IU::Clz),
            Op::I32Ctz | Op::I64Ctz => self.translate_int_unary(IU::Ctz),
            Op::I32Popcnt | Op::I64Popcnt => self.translate_int_unary(IU::Popcnt),
            Op::I32Add | Op::I64Add => self.translate_int_binary(IB::Add),
            Op::I64Add128 => self.translate_wide(Wide::Add128),
            Op::I64Sub128 => self.translate_wide(Wide::Sub128),
            Op::I64MulWideS => self.translate_wide(Wide::MulWideS),
            Op::I64MulWideU => self.translate_wide(Wide::MulWideU),
            Op::I32Sub | Op::I64Sub => self.translate_int_binary(IB::Sub),
            Op::I32Mul | Op::I64Mul => self.translate_int_binary(IB::Mul),
            Op::I32DivS | Op::I64DivS => self.translate_int_binary(IB::DivS),
            Op::I32DivU | Op::I64DivU => self.translate_int_binary(IB::DivU),
            Op::I32RemS | Op::I64RemS => self.translate_int_binary(IB::RemS),
            Op::I32RemU | Op::I64RemU => self.translate_int_binary(IB::RemU),
            Op::I32And | Op::I64And => self.translate_int_binary(IB::And),
            Op::I32Or | Op::I64Or => self.translate_int_binary(IB::Or),
            Op::I32Xor | Op::I64Xor => self.translate_int_binary(IB::Xor),
            Op::I32Shl | Op::I64Shl => self.translate_int_binary(IB::Shl),
            Op::I32ShrS | Op::I64ShrS => self.translate_int_binary(IB::ShrS),
            Op::I32ShrU | Op::I64ShrU => self.translate_int_binary(IB::ShrU),
            Op::I32Rotl | Op::I64Rotl => self.translate_int_binary(IB::Rotl),
            Op::I32Rotr | Op::I64Rotr => self.translate_int_binary(IB::Rotr),

            Op::F32Abs | Op::F64Abs => self.translate_float_unary(FU::Abs),
            Op::F32Neg | Op::F64Neg => self.translate_float_unary(FU::Neg),
            Op::F32Ceil | Op::F64Ceil => self.translate_float_unary(FU::Ceil),
            Op::F32Floor | Op::F64Floor => self.translate_float_unary(FU::Floor),
            Op::F32Trunc | Op::F64Trunc => self.translate_float_unary(FU::Trunc),
            Op::F32Nearest | Op::F64Nearest => self.translate_float_unary(FU::Nearest),
            Op::F32Sqrt | Op::F64Sqrt => self.translate_float_unary(FU::Sqrt),
            Op::F32Add | Op::F64Add => self.translate_float_binary(FB::Add),
            Op::F32Sub | Op::F64Sub => self.translate_float_binary(FB::Sub),
            Op::F32Mul | Op::F64Mul => self.translate_float_binary(FB::Mul),
            Op::F32Div | Op::F64Div => self.translate_float_binary(FB::Div),
            Op::F32Min | Op::F64Min => self.translate_float_binary(FB::Min),
            Op::F32Max | Op::F64Max => self.translate_float_binary(FB::Max),
            Op::F32Copysign | Op::F64Copysign => self.translate_float_binary(FB::Copysign),

            Op::I32WrapI64 => self.translate_wrap(),
            Op::I64ExtendI32S => self.translate_extend(true),
            Op::I64ExtendI32U => self.translate_extend(false),
            Op::I32Extend8S | Op::I64Extend8S => self.translate_sign_extend_low(8),
            Op::I32Extend16S | Op::I64Extend16S => self.translate_sign_extend_low(16),
            Op::I64Extend32S => self.translate_sign_extend_low(32),
            Op::I32TruncF32S | Op::I32TruncF64S => self.translate_trunc(i32t, true),
            Op::I32TruncF32U | Op::I32TruncF64U => self.translate_trunc(i32t, false),
            Op::I64TruncF32S | Op::I64TruncF64S => self.translate_trunc(i64t, true),
            Op::I64TruncF32U | Op::I64TruncF64U => self.translate_trunc(i64t, false),
            Op::I32TruncSatF32S | Op::I32TruncSatF64S => self.translate_trunc_sat(i32t, true),
            Op::I32TruncSatF32U | Op::I32TruncSatF64U => self.translate_trunc_sat(i32t, false),
            Op::I64TruncSatF32S | Op::I64TruncSatF64S => self.translate_trunc_sat(i64t, true),
            Op::I64TruncSatF32U | Op::I64TruncSatF64U => self.translate_trunc_sat(i64t, false),
            Op::F32ConvertI32S | Op::F32ConvertI64S => self.translate_convert(f32t, true),
            Op::F32ConvertI32U | Op::F32ConvertI64U => self.translate_convert(f32t, false),
            Op::F64ConvertI32S | Op::F64ConvertI64S => self.translate_convert(f64t, true),
            Op::F64ConvertI32U | Op::F64ConvertI64U => self.translate_convert(f64t, false),
            Op::F32DemoteF64 => self.translate_demote(),
            Op::F64PromoteF32 => self.translate_promote(),
            Op::I32ReinterpretF32 => self.translate_reinterpret(i32t.into()),
            Op::I64ReinterpretF64 => self.translate_reinterpret(i64t.into()),
            Op::F32ReinterpretI32 => self.translate_reinterpret(f32t.into()),
            Op::F64ReinterpretI64 => self.translate_reinterpret(f64t.into()),

            other => self.translate_simd_operator(other),
        }
    }
}
