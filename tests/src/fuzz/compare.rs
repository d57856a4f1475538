//! Comparing what two modes observed, NaNs as the specification allows, and sorting the
//! differences into documented classes and real divergences.

use super::execute::{Call, Outcome, Value};
use waot::Val;

/// How two modes' observations relate.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verdict {
    Same,
    /// Differences only in NaN bits (sign, payload) where the specification lets results
    /// differ: every differing value, lane or memory range is a NaN in both.
    NanBits,
    /// Under guard pages at `-O2`, an out-of-bounds access that `-O0` and explicit checks
    /// trap on did not trap: LLVM deleted a load whose value became unused, or narrowed one
    /// to the lanes it used (ARCHITECTURE.md, "Known limitations").
    OptimizedAwayTrap,
    /// One side ran out of stack where the other did not: the limits differ (8 MiB of native
    /// stack, 200,000 interpreted frames), so one recursion can end either way. Nothing after
    /// that point is compared: the guest's state differs from there on.
    StackLimit,
    /// Anything else: a bug.
    Divergence(String),
}

/// Two floats' bits are as good as equal: equal, or both NaNs.
fn float_bits_agree(a: u64, b: u64, bits: u32) -> bool {
    let nan = |x: u64| match bits {
        32 => f32::from_bits(x as u32).is_nan(),
        _ => f64::from_bits(x).is_nan(),
    };
    a == b || (nan(a) && nan(b))
}

/// Whether two 128-bit values differ only in lanes that are NaNs in both, read as f32x4 or
/// as f64x2.
fn v128_agree(a: u128, b: u128) -> bool {
    let lanes = |bits: u32| {
        let n = 128 / bits;
        (0..n).all(|i| {
            let mask = if bits == 64 {
                u64::MAX as u128
            } else {
                u32::MAX as u128
            };
            let (x, y) = ((a >> (i * bits)) & mask, (b >> (i * bits)) & mask);
            float_bits_agree(x as u64, y as u64, bits)
        })
    };
    a == b || lanes(32) || lanes(64)
}

fn value_agrees(a: &Value, b: &Value) -> Option<bool> {
    if a == b {
        return Some(true);
    }
    let nan_only = match (a, b) {
        (Value::Num(Val::F32(x)), Value::Num(Val::F32(y))) => {
            float_bits_agree(*x as u64, *y as u64, 32)
        }
        (Value::Num(Val::F64(x)), Value::Num(Val::F64(y))) => float_bits_agree(*x, *y, 64),
        (Value::Num(Val::V128(x)), Value::Num(Val::V128(y))) => v128_agree(*x, *y),
        _ => false,
    };
    nan_only.then_some(false)
}

/// Whether every run of differing bytes lies inside a 4- or 8-byte window that holds a NaN in
/// both memories (a float stored with other NaN bits).
fn memory_differs_only_in_nans(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] == b[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i < a.len() && a[i] != b[i] {
            i += 1;
        }
        let covered = [4usize, 8].iter().any(|&w| {
            (i.saturating_sub(w)..=start).any(|s| {
                if s + w > a.len() || s + w < i {
                    return false;
                }
                let read = |m: &[u8]| {
                    let mut v = [0u8; 8];
                    v[..w].copy_from_slice(&m[s..s + w]);
                    u64::from_le_bytes(v)
                };
                let (x, y) = (read(a), read(b));
                let nan = |v: u64| match w {
                    4 => f32::from_bits(v as u32).is_nan(),
                    _ => f64::from_bits(v).is_nan(),
                };
                nan(x) && nan(y)
            })
        });
        if !covered {
            return false;
        }
    }
    true
}

/// The interpreter's one table trap stands for either of native code's.
fn table_traps_agree(x: &str, y: &str) -> bool {
    let either = |k: &str| k == "TableOutOfBounds" || k == "UndefinedElement";
    (x == super::execute::TABLE_TRAPS && either(y))
        || (y == super::execute::TABLE_TRAPS && either(x))
}

/// Compares `other` with `reference`; NaN-bit differences are allowed.
pub fn compare(reference: &Outcome, other: &Outcome) -> Verdict {
    let mut nan = false;
    let stack = "StackOverflow";
    match (&reference.instantiated, &other.instantiated) {
        (Err(x), Err(y)) if x == y || table_traps_agree(x, y) => return Verdict::Same,
        (x, y)
            if x != y
                && (x.as_ref().err() == Some(&stack.into())
                    || y.as_ref().err() == Some(&stack.into())) =>
        {
            return Verdict::StackLimit
        }
        _ => {}
    }
    if reference.instantiated != other.instantiated {
        return Verdict::Divergence(format!(
            "instantiation: {:?} vs {:?}",
            reference.instantiated, other.instantiated
        ));
    }
    for (i, ((name, a), (_, b))) in reference.calls.iter().zip(&other.calls).enumerate() {
        let ran_out = |c: &Call| *c == Call::Trapped(stack.into());
        if a != b && (ran_out(a) || ran_out(b)) {
            return Verdict::StackLimit;
        }
        let agree = match (a, b) {
            (Call::Returned(x), Call::Returned(y)) if x.len() == y.len() => {
                let per_value: Vec<_> = x.iter().zip(y).map(|(p, q)| value_agrees(p, q)).collect();
                if per_value.iter().all(Option::is_some) {
                    nan |= per_value.contains(&Some(false));
                    true
                } else {
                    false
                }
            }
            (Call::Trapped(x), Call::Trapped(y)) => x == y || table_traps_agree(x, y),
            (x, y) => x == y,
        };
        if !agree {
            return Verdict::Divergence(format!("call {i} `{name}`: {a:?} vs {b:?}"));
        }
    }
    for (i, (a, b)) in reference.memories.iter().zip(&other.memories).enumerate() {
        if a != b {
            if !memory_differs_only_in_nans(a, b) {
                let at = a.iter().zip(b.iter()).position(|(x, y)| x != y);
                return Verdict::Divergence(format!(
                    "memory {i} differs (first at byte {at:?}, sizes {} and {})",
                    a.len(),
                    b.len()
                ));
            }
            nan = true;
        }
    }
    for ((name, a), (_, b)) in reference.globals.iter().zip(&other.globals) {
        match value_agrees(a, b) {
            Some(true) => {}
            Some(false) => nan = true,
            None => return Verdict::Divergence(format!("global `{name}`: {a:?} vs {b:?}")),
        }
    }
    if nan {
        Verdict::NanBits
    } else {
        Verdict::Same
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nans_in_memory_and_lanes_may_differ_but_numbers_may_not() {
        let mut a = vec![0u8; 16];
        let mut b = vec![0u8; 16];
        a[4..8].copy_from_slice(&0x7fc0_0000u32.to_le_bytes());
        b[4..8].copy_from_slice(&0xffc0_0001u32.to_le_bytes());
        assert!(memory_differs_only_in_nans(&a, &b));
        b[12] = 1;
        assert!(!memory_differs_only_in_nans(&a, &b));
        assert!(v128_agree(0x7fc0_0000, 0x7fc0_0001));
        assert!(!v128_agree(1, 2));
    }
}
