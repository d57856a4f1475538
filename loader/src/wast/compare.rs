//! Script values: arguments to our values, expected results against ours (NaN patterns too).

use crate::{AnyKind, Val};
use wast::core::{AbstractHeapType, HeapType, NanPattern, V128Pattern, WastArgCore, WastRetCore};
use wast::WastArg;

pub fn arg_value(arg: &WastArg<'_>) -> Result<Val, String> {
    let WastArg::Core(arg) = arg else {
        return Err("component arguments are not supported".into());
    };
    Ok(match arg {
        WastArgCore::I32(v) => Val::I32(*v),
        WastArgCore::I64(v) => Val::I64(*v),
        WastArgCore::F32(f) => Val::F32(f.bits),
        WastArgCore::F64(f) => Val::F64(f.bits),
        WastArgCore::RefNull(HeapType::Abstract { ty, .. }) => match ty {
            AbstractHeapType::Func | AbstractHeapType::NoFunc => Val::FuncRef(None),
            AbstractHeapType::Extern | AbstractHeapType::NoExtern => Val::ExternRef(None),
            AbstractHeapType::Exn | AbstractHeapType::NoExn => Val::ExnRef(None),
            _ => Val::AnyRef(None),
        },
        // A host reference: the same word whether guest code sees it as extern or any.
        WastArgCore::RefExtern(n) | WastArgCore::RefHost(n) => Val::ExternRef(Some(*n as u64)),
        WastArgCore::V128(v) => Val::V128(u128::from_le_bytes(v.to_le_bytes())),
        other => return Err(format!("unsupported argument {other:?}")),
    })
}

pub fn matches(actual: &Val, expected: &WastRetCore<'_>) -> bool {
    match (actual, expected) {
        (Val::I32(a), WastRetCore::I32(e)) => a == e,
        (Val::I64(a), WastRetCore::I64(e)) => a == e,
        (Val::F32(a), WastRetCore::F32(p)) => match p {
            NanPattern::CanonicalNan => a & 0x7fff_ffff == 0x7fc0_0000,
            NanPattern::ArithmeticNan => a & 0x7fc0_0000 == 0x7fc0_0000,
            NanPattern::Value(v) => *a == v.bits,
        },
        (Val::F64(a), WastRetCore::F64(p)) => match p {
            NanPattern::CanonicalNan => a & 0x7fff_ffff_ffff_ffff == 0x7ff8_0000_0000_0000,
            NanPattern::ArithmeticNan => a & 0x7ff8_0000_0000_0000 == 0x7ff8_0000_0000_0000,
            NanPattern::Value(v) => *a == v.bits,
        },
        (
            Val::FuncRef(None) | Val::ExternRef(None) | Val::ExnRef(None) | Val::AnyRef(None),
            WastRetCore::RefNull(_),
        ) => true,
        (Val::ExternRef(a), WastRetCore::RefHost(n)) => *a == Some(*n as u64),
        // An externref guest code made from an anyref (`extern.convert_any`).
        (Val::AnyRef(a), WastRetCore::RefExtern(None)) => a.is_some(),
        (Val::AnyRef(Some(_)) | Val::ExternRef(Some(_)), WastRetCore::RefAny) => true,
        (Val::AnyRef(Some(_)), WastRetCore::RefEq) => true,
        (Val::AnyRef(Some(a)), WastRetCore::RefI31) => a.kind() == AnyKind::I31,
        (Val::AnyRef(Some(a)), WastRetCore::RefStruct) => a.kind() == AnyKind::Struct,
        (Val::AnyRef(Some(a)), WastRetCore::RefArray) => a.kind() == AnyKind::Array,
        (Val::ExternRef(a), WastRetCore::RefExtern(e)) => match e {
            Some(n) => *a == Some(*n as u64),
            None => a.is_some(),
        },
        (Val::FuncRef(a), WastRetCore::RefFunc(_)) => a.is_some(),
        (Val::V128(a), WastRetCore::V128(p)) => v128_matches(*a, p),
        (_, WastRetCore::Either(cases)) => cases.iter().any(|c| matches(actual, c)),
        _ => false,
    }
}

fn f32_matches(bits: u32, p: &NanPattern<wast::token::F32>) -> bool {
    matches(&Val::F32(bits), &WastRetCore::F32(*p))
}

fn f64_matches(bits: u64, p: &NanPattern<wast::token::F64>) -> bool {
    matches(&Val::F64(bits), &WastRetCore::F64(*p))
}

/// Lane by lane, lane 0 in the low bits; float lanes may be NaN patterns.
fn v128_matches(v: u128, p: &V128Pattern) -> bool {
    let b = v.to_le_bytes();
    let lane = |i: usize, n: usize| -> u64 {
        let mut x = [0u8; 8];
        x[..n].copy_from_slice(&b[i * n..i * n + n]);
        u64::from_le_bytes(x)
    };
    match p {
        V128Pattern::I8x16(e) => e
            .iter()
            .enumerate()
            .all(|(i, e)| lane(i, 1) as u8 == *e as u8),
        V128Pattern::I16x8(e) => e
            .iter()
            .enumerate()
            .all(|(i, e)| lane(i, 2) as u16 == *e as u16),
        V128Pattern::I32x4(e) => e
            .iter()
            .enumerate()
            .all(|(i, e)| lane(i, 4) as u32 == *e as u32),
        V128Pattern::I64x2(e) => e.iter().enumerate().all(|(i, e)| lane(i, 8) == *e as u64),
        V128Pattern::F32x4(e) => e
            .iter()
            .enumerate()
            .all(|(i, e)| f32_matches(lane(i, 4) as u32, e)),
        V128Pattern::F64x2(e) => e
            .iter()
            .enumerate()
            .all(|(i, e)| f64_matches(lane(i, 8), e)),
    }
}
