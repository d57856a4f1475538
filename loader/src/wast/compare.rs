//! Script values: arguments to our values, expected results against ours (NaN patterns too).

use crate::Val;
use wast::core::{AbstractHeapType, HeapType, NanPattern, WastArgCore, WastRetCore};
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
        WastArgCore::RefNull(HeapType::Abstract {
            ty: AbstractHeapType::Func,
            ..
        }) => Val::FuncRef(None),
        WastArgCore::RefNull(HeapType::Abstract {
            ty: AbstractHeapType::Extern,
            ..
        }) => Val::ExternRef(None),
        WastArgCore::RefExtern(n) => Val::ExternRef(Some(*n as u64)),
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
        (Val::FuncRef(None) | Val::ExternRef(None), WastRetCore::RefNull(_)) => true,
        (Val::ExternRef(a), WastRetCore::RefExtern(e)) => match e {
            Some(n) => *a == Some(*n as u64),
            None => a.is_some(),
        },
        (Val::FuncRef(a), WastRetCore::RefFunc(_)) => a.is_some(),
        (_, WastRetCore::Either(cases)) => cases.iter().any(|c| matches(actual, c)),
        _ => false,
    }
}
