//! How a module is split into LLVM modules: partitions of about `PARTITION_BYTES` of code,
//! compiled in parallel, and giant functions alone in partitions of their own, compiled
//! cheaply (issue 13: LLVM's optimizer, instruction selector and register allocator are
//! superlinear in a function's blocks, and a function of thousands of `try_table`s took
//! minutes). The split depends only on the module and the optimization level, never on the
//! thread count, so the output is the same for any `-j`.
//!
//! Where a partition ends depends on the code, not only on its size: past `PARTITION_BYTES` it
//! ends after the first function whose body hashes to a multiple of `CUT_EVERY` (or at four
//! times the size). A change to one function then moves at most the boundaries near it; with
//! cuts by size alone, a function that grew by a byte would shift every later boundary, and
//! the object cache (`object_cache`) would miss every later partition.

use crate::OptLevel;
use runtime_support::ModuleInfo;
use std::ops::Range;

/// Wasm code bytes per partition: a module larger than this is split into partitions that
/// are compiled in parallel, each in its own LLVM context, and linked together. A module
/// within one partition keeps every function in one LLVM module (inlining across all of
/// them). 32 KiB keeps every benchmark program (15-23 KB of code with its libc) whole and
/// byte-identical, and balances the threads on larger ones: micropython (371 KB) compiles at
/// -O2 -j2 in 7.8 s instead of 15.4 s with 256 KiB partitions (one of which took most of the
/// time), and in less CPU time (-j1: 15.6 s instead of 19.1 s), with the same run time.
pub const PARTITION_BYTES: usize = 32 * 1024;

/// A function with more structured control instructions than this (`block`, `loop`, `if`,
/// `try`, `try_table`: each makes blocks) is giant. The largest function of micropython has
/// a few hundred.
pub const GIANT_CONTROL: usize = 1_500;

/// Past the size, one function in this many (by hash) ends a partition.
const CUT_EVERY: u64 = 8;

/// Whether a partition may end after this body: a hash of its bytes (FNV-1a) picks one in
/// `CUT_EVERY`.
fn is_cut_point(body: &[u8]) -> bool {
    let hash = body.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    // The high bits: FNV's low bits mix poorly (the lowest is the parity of the input).
    (hash >> 32) % CUT_EVERY == 0
}

/// How hard a partition is optimized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    /// The pipeline of the optimization level asked for.
    Full,
    /// Promotion of locals to registers and local cleanups, then LLVM's fast instruction
    /// selection and register allocation: time linear in the function, slower code.
    Light,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partition {
    /// Defined-function indices.
    pub functions: Range<u32>,
    pub tier: Tier,
}

/// Contiguous ranges of defined-function indices, by code size; each giant function alone,
/// at `Tier::Light` (at `-O0` nothing is giant: everything is compiled cheaply already).
pub fn plan_partitions(
    info: &ModuleInfo,
    wasm: &[u8],
    partition_bytes: usize,
    level: OptLevel,
) -> Vec<Partition> {
    let limit = match partition_bytes {
        // `WAOT_PARTITION_BYTES`, for measurements.
        0 => std::env::var("WAOT_PARTITION_BYTES")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|&n| n > 0)
            .unwrap_or(PARTITION_BYTES),
        n => n,
    };
    let mut parts = Vec::new();
    let (mut start, mut bytes) = (0u32, 0usize);
    let full = |functions| Partition {
        functions,
        tier: Tier::Full,
    };
    for (i, body) in info.bodies.iter().enumerate() {
        let i = i as u32;
        if level != OptLevel::O0 && is_giant(&wasm[body.clone()]) {
            if start < i {
                parts.push(full(start..i));
            }
            parts.push(Partition {
                functions: i..i + 1,
                tier: Tier::Light,
            });
            (start, bytes) = (i + 1, 0);
            continue;
        }
        bytes += body.len();
        if bytes >= limit && (is_cut_point(&wasm[body.clone()]) || bytes >= 4 * limit) {
            parts.push(full(start..i + 1));
            (start, bytes) = (i + 1, 0);
        }
    }
    if start < info.bodies.len() as u32 || parts.is_empty() {
        parts.push(full(start..info.bodies.len() as u32));
    }
    parts
}

/// Whether a function body (locals and code) has more than `GIANT_CONTROL` structured
/// control instructions. A body that does not parse is not giant: translation reports it.
fn is_giant(body: &[u8]) -> bool {
    use wasmparser::Operator as O;
    // Cheaper than the control instructions themselves: most functions are too small to be.
    if body.len() < 2 * GIANT_CONTROL {
        return false;
    }
    let reader = wasmparser::BinaryReader::new(body, 0);
    let Ok(mut ops) = wasmparser::FunctionBody::new(reader).get_operators_reader() else {
        return false;
    };
    let mut control = 0;
    while !ops.eof() {
        match ops.read() {
            Ok(O::Block { .. } | O::Loop { .. } | O::If { .. } | O::Try { .. })
            | Ok(O::TryTable { .. }) => {
                control += 1;
                if control > GIANT_CONTROL {
                    return true;
                }
            }
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    false
}
