//! Saturating adds recovered from their widened form, after LLVM's own optimizations.
//!
//! C compilers vectorize `v = a[i] + k; a[i] = v > 255 ? 255 : v` over bytes by widening the
//! bytes to i32 lanes, adding, clamping with `umin 255` and narrowing back: for wasm that is
//! `extend`, `i32x4.add`, `i32x4.min_u`, `narrow` (which LLVM folds into a `trunc`), i.e. about
//! ten instructions per 16 bytes. When both addends are known to fit in the narrow lanes, the
//! whole chain is one `uadd.sat` on the narrow lanes (x86 `paddusb`, AArch64 `uqadd`). LLVM 19
//! does not form it (not even from `zext a + zext b`), so this pass does:
//!
//! `trunc(umin(add(A, B), 2^w - 1))` to `<N x iw>`, where A and B are each a `zext` from
//! `<N x iw>`, a constant with every lane at most `2^w - 1`, or a splat of a scalar known to be
//! at most that (`and x, C`, a `zext` from at most w bits), becomes `uadd.sat(a, b)` on
//! `<N x iw>`. The add cannot wrap in the wide lanes (at least twice as wide), so the result
//! is the same value.

use inkwell::builder::Builder;
use inkwell::context::Context;
use inkwell::intrinsics::Intrinsic;
use inkwell::llvm_sys::core::{
    LLVMConstIntGetZExtValue, LLVMGetAggregateElement, LLVMGetMaskValue, LLVMGetNumMaskElements,
    LLVMIsAConstantInt,
};
use inkwell::module::Module;
use inkwell::types::{BasicTypeEnum, VectorType};
use inkwell::values::{
    AsValueRef, BasicValue, BasicValueEnum, CallSiteValue, InstructionOpcode as Op,
    InstructionValue,
};

/// Rewrites every match in `module`.
pub fn form_saturating_adds<'ctx>(context: &'ctx Context, module: &Module<'ctx>) {
    let builder = context.create_builder();
    for f in module.get_functions() {
        for block in f.get_basic_blocks() {
            let mut next = block.get_first_instruction();
            while let Some(i) = next {
                next = i.get_next_instruction();
                if i.get_opcode() == Op::Trunc {
                    rewrite(&builder, module, i);
                }
            }
        }
    }
}

fn rewrite<'ctx>(
    builder: &Builder<'ctx>,
    module: &Module<'ctx>,
    trunc: InstructionValue<'ctx>,
) -> Option<()> {
    let narrow = vector_type(trunc)?;
    let lane = narrow.get_element_type().into_int_type();
    if lane.get_bit_width() > 32 {
        return None;
    }
    let max = (1u64 << lane.get_bit_width()) - 1;
    // LLVM sometimes keeps two halves and concatenates them before the `trunc`.
    let src = operand_instruction(trunc, 0)?;
    let parts = match src.get_opcode() {
        Op::Call => vec![src],
        Op::ShuffleVector if is_concatenation(src) => {
            vec![operand_instruction(src, 0)?, operand_instruction(src, 1)?]
        }
        _ => return None,
    };
    let matched = parts
        .iter()
        .map(|&umin| {
            let part = lane.vec_type(vector_type(umin)?.get_size());
            saturating_add(umin, part, max).map(|(a, b, add)| (a, b, add, part))
        })
        .collect::<Option<Vec<_>>>()?;
    builder.position_before(&trunc);
    let mut sums = Vec::new();
    for &(a, b, _, part) in &matched {
        let a = narrowed(builder, a, part)?;
        let b = narrowed(builder, b, part)?;
        let uadd_sat = Intrinsic::find("llvm.uadd.sat")?.get_declaration(module, &[part.into()])?;
        let call = builder
            .build_call(uadd_sat, &[a.into(), b.into()], "sat")
            .ok()?;
        sums.push(call.try_as_basic_value().basic()?.into_vector_value());
    }
    let result = match sums[..] {
        [one] => one,
        [low, high] => {
            let i32t = module.get_context().i32_type();
            let mask: Vec<_> = (0..narrow.get_size())
                .map(|k| i32t.const_int(k as u64, false))
                .collect();
            let mask = inkwell::types::VectorType::const_vector(&mask);
            builder.build_shuffle_vector(low, high, mask, "").ok()?
        }
        _ => return None,
    };
    trunc.replace_all_uses_with(&result.as_instruction_value()?);
    trunc.erase_from_basic_block();
    // Users before what they use, each once: erasing frees the instruction. The addends are
    // `zext`s and splats (see `fits`), never anything with side effects.
    let adds: Vec<_> = matched.iter().map(|m| m.2).collect();
    let addends = adds
        .iter()
        .flat_map(|&add| [operand_instruction(add, 0), operand_instruction(add, 1)])
        .flatten()
        .collect::<Vec<_>>();
    let mut dead: Vec<InstructionValue> = Vec::new();
    for i in [src].into_iter().chain(parts).chain(adds).chain(addends) {
        if !dead.contains(&i) {
            dead.push(i);
        }
    }
    for i in dead {
        if i.get_first_use().is_none() {
            i.erase_from_basic_block();
        }
    }
    Some(())
}

/// `(A, B, add)` when `umin` is `umin(add(A, B), max)` on lanes wider than `part`'s and A and B
/// both fit in `part`'s lanes.
fn saturating_add<'ctx>(
    umin: InstructionValue<'ctx>,
    part: VectorType<'ctx>,
    max: u64,
) -> Option<(
    BasicValueEnum<'ctx>,
    BasicValueEnum<'ctx>,
    InstructionValue<'ctx>,
)> {
    if umin.get_opcode() != Op::Call || !calls(umin, "llvm.umin.") {
        return None;
    }
    let (sum, limit) = (operand(umin, 0)?, operand(umin, 1)?);
    let add = sum.as_instruction_value()?;
    let wide = vector_type(add)?
        .get_element_type()
        .into_int_type()
        .get_bit_width();
    let bits = part.get_element_type().into_int_type().get_bit_width();
    if !every_lane(limit, |v| v == max) || add.get_opcode() != Op::Add || wide <= bits {
        return None;
    }
    let (a, b) = (operand(add, 0)?, operand(add, 1)?);
    (fits(a, part, max) && fits(b, part, max)).then_some((a, b, add))
}

/// Whether `shuffle` lays its two operands end to end.
fn is_concatenation(shuffle: InstructionValue<'_>) -> bool {
    let half = |n| {
        operand(shuffle, n).and_then(|v| match v.get_type() {
            BasicTypeEnum::VectorType(t) => Some(t.get_size()),
            _ => None,
        })
    };
    let mask = shuffle_mask(shuffle);
    half(0).is_some_and(|h| h as usize * 2 == mask.len() && half(1) == Some(h))
        && mask.iter().enumerate().all(|(k, &m)| m == k as i32)
}

/// The lane indices a `shufflevector` picks.
fn shuffle_mask(shuffle: InstructionValue<'_>) -> Vec<i32> {
    let r = shuffle.as_value_ref();
    // SAFETY: `shuffle` is a live shufflevector instruction; `k` is below its mask length.
    unsafe {
        (0..LLVMGetNumMaskElements(r))
            .map(|k| LLVMGetMaskValue(r, k))
            .collect()
    }
}

/// Whether `v`, lane by lane, is a value of `narrow` lanes zero-extended: a `zext` from
/// `narrow`, a constant, or a splat of a scalar at most `max`.
fn fits(v: BasicValueEnum<'_>, narrow: VectorType<'_>, max: u64) -> bool {
    if let Some(i) = v.as_instruction_value() {
        return match i.get_opcode() {
            Op::ZExt => operand(i, 0).is_some_and(|o| o.get_type() == narrow.into()),
            Op::ShuffleVector => splat_scalar(i).is_some_and(|s| scalar_at_most(s, max)),
            _ => false,
        };
    }
    every_lane(v, |lane| lane <= max)
}

/// `v` as `narrow` lanes; `fits(v, ..)` holds.
fn narrowed<'ctx>(
    builder: &Builder<'ctx>,
    v: BasicValueEnum<'ctx>,
    narrow: VectorType<'ctx>,
) -> Option<BasicValueEnum<'ctx>> {
    match v.as_instruction_value() {
        Some(i) if i.get_opcode() == Op::ZExt => operand(i, 0),
        Some(i) => {
            let s = splat_scalar(i)?.into_int_value();
            let lane = narrow.get_element_type().into_int_type();
            let s = builder.build_int_truncate(s, lane, "").ok()?;
            let zero = builder.build_insert_element(narrow.get_poison(), s, lane.const_zero(), "");
            let zero = zero.ok()?;
            let mask = narrow.get_context().i32_type().vec_type(narrow.get_size());
            builder
                .build_shuffle_vector(zero, narrow.get_poison(), mask.const_zero(), "")
                .ok()
                .map(Into::into)
        }
        None => builder
            .build_int_truncate(v.into_vector_value(), narrow, "")
            .ok()
            .map(Into::into),
    }
}

/// The scalar a `shufflevector` broadcasts, if it is a splat of element 0 of an
/// `insertelement` at index 0.
fn splat_scalar(shuffle: InstructionValue<'_>) -> Option<BasicValueEnum<'_>> {
    if shuffle_mask(shuffle).iter().any(|&m| m != 0) {
        return None;
    }
    let insert = operand_instruction(shuffle, 0)?;
    if insert.get_opcode() != Op::InsertElement || !every_lane(operand(insert, 2)?, |k| k == 0) {
        return None;
    }
    operand(insert, 1)
}

fn scalar_at_most(s: BasicValueEnum<'_>, max: u64) -> bool {
    let Some(i) = s.as_instruction_value() else {
        return every_lane(s, |v| v <= max);
    };
    match i.get_opcode() {
        Op::And => (0..2).any(|k| operand(i, k).is_some_and(|c| every_lane(c, |v| v <= max))),
        Op::ZExt => operand(i, 0).is_some_and(|o| {
            let w = o.into_int_value().get_type().get_bit_width();
            w < 64 && (1u64 << w) - 1 <= max
        }),
        _ => false,
    }
}

/// Whether `v` is an integer constant (scalar or vector) whose every lane satisfies `ok`.
fn every_lane(v: BasicValueEnum<'_>, ok: impl Fn(u64) -> bool) -> bool {
    let r = v.as_value_ref();
    // SAFETY: queries on a live value; `LLVMGetAggregateElement` returns null past the end or
    // for non-constants.
    unsafe {
        if !LLVMIsAConstantInt(r).is_null() {
            return ok(LLVMConstIntGetZExtValue(r));
        }
        let BasicTypeEnum::VectorType(t) = v.get_type() else {
            return false;
        };
        (0..t.get_size()).all(|k| {
            let e = LLVMGetAggregateElement(r, k);
            !e.is_null() && !LLVMIsAConstantInt(e).is_null() && ok(LLVMConstIntGetZExtValue(e))
        })
    }
}

fn vector_type<'ctx>(i: InstructionValue<'ctx>) -> Option<VectorType<'ctx>> {
    match BasicTypeEnum::try_from(i.get_type()).ok()? {
        BasicTypeEnum::VectorType(t) if t.get_element_type().is_int_type() => Some(t),
        _ => None,
    }
}

fn operand(i: InstructionValue<'_>, n: u32) -> Option<BasicValueEnum<'_>> {
    i.get_operand(n)?.value()
}

fn operand_instruction(i: InstructionValue<'_>, n: u32) -> Option<InstructionValue<'_>> {
    operand(i, n)?.as_instruction_value()
}

fn calls(call: InstructionValue<'_>, prefix: &str) -> bool {
    CallSiteValue::try_from(call)
        .ok()
        .and_then(|c| c.get_called_fn_value())
        .is_some_and(|f| f.get_name().to_bytes().starts_with(prefix.as_bytes()))
}
