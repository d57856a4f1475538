//! The few C library routines LLVM may call from generated code: `memset`, `memcpy` and
//! `memmove` (from loops it recognizes as such), and the rounding functions that x86-64 has
//! no instruction for before SSE4.1 (`--cpu generic`). An artifact has no undefined symbols,
//! so they are defined in it, hidden, with `no-builtins` so they do not call themselves.

use super::ModuleCx;
use crate::CompileError;
use inkwell::attributes::AttributeLoc;
use inkwell::module::Linkage;
use inkwell::types::FloatType;
use inkwell::values::FunctionValue;
use inkwell::{FloatPredicate, IntPredicate};

type R<T> = Result<T, CompileError>;

pub fn emit_all(cx: &ModuleCx<'_, '_>) -> R<()> {
    emit_memset(cx)?;
    emit_memcpy(cx, "memcpy", false)?;
    emit_memcpy(cx, "memmove", true)?;
    let (f32t, f64t) = (cx.context.f32_type(), cx.context.f64_type());
    for (ty, suffix, bits) in [(f64t, "", 52u32), (f32t, "f", 23)] {
        for op in [Round::Trunc, Round::Floor, Round::Ceil, Round::Even] {
            emit_round(cx, ty, suffix, bits, op)?;
        }
    }
    Ok(())
}

fn declare<'ctx>(
    cx: &ModuleCx<'_, 'ctx>,
    name: &str,
    ty: inkwell::types::FunctionType<'ctx>,
) -> FunctionValue<'ctx> {
    let f = cx.module.add_function(name, ty, Some(Linkage::External));
    f.as_global_value()
        .set_visibility(inkwell::GlobalVisibility::Hidden);
    f.add_attribute(
        AttributeLoc::Function,
        cx.context.create_string_attribute("no-builtins", ""),
    );
    cx.add_attribute(f, "nounwind");
    f
}

fn emit_memset(cx: &ModuleCx<'_, '_>) -> R<()> {
    let (ptr, i32t, i64t, i8t) = (
        cx.ptr_type(),
        cx.context.i32_type(),
        cx.context.i64_type(),
        cx.context.i8_type(),
    );
    let f = declare(
        cx,
        "memset",
        ptr.fn_type(&[ptr.into(), i32t.into(), i64t.into()], false),
    );
    let b = cx.context.create_builder();
    let (entry, body, done) = (
        cx.context.append_basic_block(f, "entry"),
        cx.context.append_basic_block(f, "body"),
        cx.context.append_basic_block(f, "done"),
    );
    b.position_at_end(entry);
    let (dst, value, n) = (
        f.get_nth_param(0).unwrap().into_pointer_value(),
        f.get_nth_param(1).unwrap().into_int_value(),
        f.get_nth_param(2).unwrap().into_int_value(),
    );
    let byte = b.build_int_truncate(value, i8t, "")?;
    let empty = b.build_int_compare(IntPredicate::EQ, n, i64t.const_zero(), "")?;
    b.build_conditional_branch(empty, done, body)?;
    b.position_at_end(body);
    let i = b.build_phi(i64t, "i")?;
    // SAFETY: within the n bytes the caller owns.
    let p = unsafe { b.build_gep(i8t, dst, &[i.as_basic_value().into_int_value()], "")? };
    b.build_store(p, byte)?;
    let next = b.build_int_add(
        i.as_basic_value().into_int_value(),
        i64t.const_int(1, false),
        "",
    )?;
    i.add_incoming(&[(&i64t.const_zero(), entry), (&next, body)]);
    let more = b.build_int_compare(IntPredicate::ULT, next, n, "")?;
    b.build_conditional_branch(more, body, done)?;
    b.position_at_end(done);
    b.build_return(Some(&dst))?;
    Ok(())
}

/// `memcpy`, or with `overlap` `memmove` (copying backwards when the destination is above).
fn emit_memcpy(cx: &ModuleCx<'_, '_>, name: &str, overlap: bool) -> R<()> {
    let (ptr, i64t, i8t) = (cx.ptr_type(), cx.context.i64_type(), cx.context.i8_type());
    let f = declare(
        cx,
        name,
        ptr.fn_type(&[ptr.into(), ptr.into(), i64t.into()], false),
    );
    let b = cx.context.create_builder();
    let entry = cx.context.append_basic_block(f, "entry");
    let fwd = cx.context.append_basic_block(f, "forward");
    let done = cx.context.append_basic_block(f, "done");
    b.position_at_end(entry);
    let (dst, src, n) = (
        f.get_nth_param(0).unwrap().into_pointer_value(),
        f.get_nth_param(1).unwrap().into_pointer_value(),
        f.get_nth_param(2).unwrap().into_int_value(),
    );
    let empty = b.build_int_compare(IntPredicate::EQ, n, i64t.const_zero(), "")?;
    let start = cx.context.append_basic_block(f, "start");
    b.build_conditional_branch(empty, done, start)?;
    b.position_at_end(start);
    let back = if overlap {
        let back = cx.context.append_basic_block(f, "backward");
        let above = b.build_int_compare(
            IntPredicate::UGT,
            b.build_ptr_to_int(dst, i64t, "")?,
            b.build_ptr_to_int(src, i64t, "")?,
            "",
        )?;
        b.build_conditional_branch(above, back, fwd)?;
        Some(back)
    } else {
        b.build_unconditional_branch(fwd)?;
        None
    };
    // Forward: i from 0 up.
    b.position_at_end(fwd);
    let i = b.build_phi(i64t, "i")?;
    let iv = i.as_basic_value().into_int_value();
    // SAFETY: within the n bytes the caller owns.
    let (s, d) = unsafe {
        (
            b.build_gep(i8t, src, &[iv], "")?,
            b.build_gep(i8t, dst, &[iv], "")?,
        )
    };
    b.build_store(d, b.build_load(i8t, s, "")?)?;
    let next = b.build_int_add(iv, i64t.const_int(1, false), "")?;
    i.add_incoming(&[(&i64t.const_zero(), start), (&next, fwd)]);
    b.build_conditional_branch(
        b.build_int_compare(IntPredicate::ULT, next, n, "")?,
        fwd,
        done,
    )?;
    // Backward: i from n down.
    let Some(back) = back else {
        b.position_at_end(done);
        b.build_return(Some(&dst))?;
        return Ok(());
    };
    b.position_at_end(back);
    let j = b.build_phi(i64t, "j")?;
    let jv = j.as_basic_value().into_int_value();
    let k = b.build_int_sub(jv, i64t.const_int(1, false), "")?;
    // SAFETY: as above.
    let (s, d) = unsafe {
        (
            b.build_gep(i8t, src, &[k], "")?,
            b.build_gep(i8t, dst, &[k], "")?,
        )
    };
    b.build_store(d, b.build_load(i8t, s, "")?)?;
    j.add_incoming(&[(&n, start), (&k, back)]);
    b.build_conditional_branch(
        b.build_int_compare(IntPredicate::NE, k, i64t.const_zero(), "")?,
        back,
        done,
    )?;
    b.position_at_end(done);
    b.build_return(Some(&dst))?;
    Ok(())
}

#[derive(Clone, Copy)]
enum Round {
    Trunc,
    Floor,
    Ceil,
    Even,
}

/// Rounding without a rounding instruction. Values of magnitude 2^mantissa and more are
/// integral already; NaN becomes quiet (`x + x`); results keep the sign of zero.
fn emit_round<'ctx>(
    cx: &ModuleCx<'_, 'ctx>,
    ty: FloatType<'ctx>,
    suffix: &str,
    mantissa: u32,
    op: Round,
) -> R<()> {
    let base = match op {
        Round::Trunc => "trunc",
        Round::Floor => "floor",
        Round::Ceil => "ceil",
        Round::Even => "roundeven",
    };
    let f = declare(
        cx,
        &format!("{base}{suffix}"),
        ty.fn_type(&[ty.into()], false),
    );
    let b = cx.context.create_builder();
    b.position_at_end(cx.context.append_basic_block(f, "entry"));
    let x = f.get_nth_param(0).unwrap().into_float_value();
    let fabs = inkwell::intrinsics::Intrinsic::find("llvm.fabs")
        .unwrap()
        .get_declaration(&cx.module, &[ty.into()])
        .unwrap();
    let copysign = inkwell::intrinsics::Intrinsic::find("llvm.copysign")
        .unwrap()
        .get_declaration(&cx.module, &[ty.into()])
        .unwrap();
    let ax = b
        .build_call(fabs, &[x.into()], "")?
        .try_as_basic_value()
        .basic()
        .unwrap()
        .into_float_value();
    let limit = ty.const_float(2f64.powi(mantissa as i32));
    let small = b.build_float_compare(FloatPredicate::OLT, ax, limit, "")?;
    let i64t = cx.context.i64_type();
    let rounded = match op {
        Round::Even => {
            let r = b.build_float_sub(b.build_float_add(ax, limit, "")?, limit, "")?;
            b.build_call(copysign, &[r.into(), x.into()], "")?
                .try_as_basic_value()
                .basic()
                .unwrap()
                .into_float_value()
        }
        _ => {
            let t =
                b.build_signed_int_to_float(b.build_float_to_signed_int(x, i64t, "")?, ty, "")?;
            let t = b
                .build_call(copysign, &[t.into(), x.into()], "")?
                .try_as_basic_value()
                .basic()
                .unwrap()
                .into_float_value();
            let one = ty.const_float(1.0);
            match op {
                Round::Floor => {
                    let above = b.build_float_compare(FloatPredicate::OGT, t, x, "")?;
                    b.build_select(above, b.build_float_sub(t, one, "")?, t, "")?
                        .into_float_value()
                }
                Round::Ceil => {
                    let below = b.build_float_compare(FloatPredicate::OLT, t, x, "")?;
                    b.build_select(below, b.build_float_add(t, one, "")?, t, "")?
                        .into_float_value()
                }
                _ => t,
            }
        }
    };
    let quiet = b.build_float_add(x, x, "")?;
    let is_nan = b.build_float_compare(FloatPredicate::UNO, x, x, "")?;
    let big = b.build_select(is_nan, quiet, x, "")?;
    let r = b.build_select(small, rounded, big.into_float_value(), "")?;
    b.build_return(Some(&r))?;
    Ok(())
}
