//! One line per operator of the GC proposal (structs, arrays, i31, casts).

use super::{FuncTranslator, Result};
use crate::CompileError;
use runtime_support::Builtin;
use wasmparser::{HeapType, Operator as Op, RefType};

impl<'a, 'b, 'ctx> FuncTranslator<'a, 'b, 'ctx> {
    pub fn translate_gc_operator(&mut self, op: Op<'_>) -> Result<()> {
        match op {
            Op::RefEq => self.translate_ref_eq(),
            Op::RefI31 => self.translate_ref_i31(),
            Op::I31GetS => self.translate_i31_get(true),
            Op::I31GetU => self.translate_i31_get(false),
            Op::AnyConvertExtern | Op::ExternConvertAny => Ok(()),
            Op::RefTestNonNull { hty } => self.translate_ref_test(ref_type(false, hty)),
            Op::RefTestNullable { hty } => self.translate_ref_test(ref_type(true, hty)),
            Op::RefCastNonNull { hty } => self.translate_ref_cast(ref_type(false, hty)),
            Op::RefCastNullable { hty } => self.translate_ref_cast(ref_type(true, hty)),
            Op::BrOnCast {
                relative_depth,
                to_ref_type,
                ..
            } => self.translate_br_on_cast(relative_depth, to_ref_type, true),
            Op::BrOnCastFail {
                relative_depth,
                to_ref_type,
                ..
            } => self.translate_br_on_cast(relative_depth, to_ref_type, false),

            Op::StructNew { struct_type_index } => self.translate_struct_new(struct_type_index),
            Op::StructNewDefault { struct_type_index } => {
                self.translate_struct_new_default(struct_type_index)
            }
            Op::StructGet {
                struct_type_index,
                field_index,
            } => self.translate_struct_get(struct_type_index, field_index, false),
            Op::StructGetS {
                struct_type_index,
                field_index,
            } => self.translate_struct_get(struct_type_index, field_index, true),
            Op::StructGetU {
                struct_type_index,
                field_index,
            } => self.translate_struct_get(struct_type_index, field_index, false),
            Op::StructSet {
                struct_type_index,
                field_index,
            } => self.translate_struct_set(struct_type_index, field_index),

            Op::ArrayNew { array_type_index } => self.translate_array_new(array_type_index),
            Op::ArrayNewDefault { array_type_index } => {
                self.translate_array_new_default(array_type_index)
            }
            Op::ArrayNewFixed {
                array_type_index,
                array_size,
            } => self.translate_array_new_fixed(array_type_index, array_size),
            Op::ArrayNewData {
                array_type_index,
                array_data_index,
            } => self.builtin_with_operands(
                Builtin::ArrayNewData,
                &[array_type_index, array_data_index],
                2,
            ),
            Op::ArrayNewElem {
                array_type_index,
                array_elem_index,
            } => self.builtin_with_operands(
                Builtin::ArrayNewElem,
                &[array_type_index, array_elem_index],
                2,
            ),
            Op::ArrayGet { array_type_index } => self.translate_array_get(array_type_index, false),
            Op::ArrayGetS { array_type_index } => self.translate_array_get(array_type_index, true),
            Op::ArrayGetU { array_type_index } => self.translate_array_get(array_type_index, false),
            Op::ArraySet { array_type_index } => self.translate_array_set(array_type_index),
            Op::ArrayLen => self.translate_array_len(),
            Op::ArrayFill { array_type_index } => self.translate_array_fill(array_type_index),
            Op::ArrayCopy { .. } => self.builtin_with_operands(Builtin::ArrayCopy, &[], 5),
            Op::ArrayInitData {
                array_data_index, ..
            } => self.builtin_with_operands(Builtin::ArrayInitData, &[array_data_index], 4),
            Op::ArrayInitElem {
                array_elem_index, ..
            } => self.builtin_with_operands(Builtin::ArrayInitElem, &[array_elem_index], 4),

            other => Err(CompileError::Unsupported {
                source: self.cx.source.to_string(),
                message: format!("function {}: operator {other:?}", self.func_index),
            }),
        }
    }
}

/// A reference type the parser read, so one that packs.
fn ref_type(nullable: bool, hty: HeapType) -> RefType {
    RefType::new(nullable, hty).expect("a heap type read from the module fits")
}
