//! How a module is split into LLVM modules: partitions of about `PARTITION_BYTES` of code,
//! compiled in parallel, and giant functions alone in partitions of their own, compiled
//! cheaply (issue 13: LLVM's optimizer, instruction selector and register allocator are
//! superlinear in a function's blocks, and a function of thousands of `try_table`s took
//! minutes). The split depends only on the module, the optimization level and the profile
//! (`--profile`: cold functions get light partitions of their own), never on the thread
//! count, so the output is the same for any `-j`.
//!
//! Where a partition ends depends on the code, not only on its size: past `PARTITION_BYTES` it
//! ends after the first function whose body hashes to a multiple of `CUT_EVERY` (or at four
//! times the size). A change to one function then moves at most the boundaries near it; with
//! cuts by size alone, a function that grew by a byte would shift every later boundary, and
//! the object cache (`object_cache`) would miss every later partition.

use crate::report::ProfileSummary;
use crate::OptLevel;
use runtime_support::profile::{body_hashes, Heat, Profile};
use runtime_support::ModuleInfo;

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

/// Light partitions hold this many times `PARTITION_BYTES`: their code costs about an eighth
/// as much to compile, and fewer partitions repeat fewer declarations.
const LIGHT_FACTOR: usize = 4;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partition {
    /// Defined-function indices, ascending: contiguous unless a profile sorted some out.
    pub functions: Vec<u32>,
    pub tier: Tier,
}

/// The partition being filled, of one tier.
struct Open {
    functions: Vec<u32>,
    bytes: usize,
    limit: usize,
    tier: Tier,
}

impl Open {
    fn new(tier: Tier, limit: usize) -> Self {
        Open {
            functions: Vec::new(),
            bytes: 0,
            limit,
            tier,
        }
    }

    /// Adds function `i`; returns the partition it completes, if any.
    fn add(&mut self, i: u32, body: &[u8]) -> Option<Partition> {
        self.functions.push(i);
        self.bytes += body.len();
        let full = self.bytes >= self.limit && (is_cut_point(body) || self.bytes >= 4 * self.limit);
        full.then(|| self.close()).flatten()
    }

    fn close(&mut self) -> Option<Partition> {
        self.bytes = 0;
        let functions = std::mem::take(&mut self.functions);
        (!functions.is_empty()).then_some(Partition {
            functions,
            tier: self.tier,
        })
    }
}

/// Ranges of defined-function indices, by code size; each giant function alone, at
/// `Tier::Light` (at `-O0` nothing is giant: everything is compiled cheaply already).
/// Functions that `cold` marks (from a profile: `runtime_support::profile`) go to partitions
/// of their own at `Tier::Light`; without a profile (`cold` empty) every partition is a
/// contiguous range.
pub fn plan_partitions(
    info: &ModuleInfo,
    wasm: &[u8],
    partition_bytes: usize,
    level: OptLevel,
    cold: &[bool],
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
    let mut full = Open::new(Tier::Full, limit);
    let mut light = Open::new(Tier::Light, LIGHT_FACTOR * limit);
    for (i, body) in info.bodies.iter().enumerate() {
        let (i, body) = (i as u32, &wasm[body.clone()]);
        if level != OptLevel::O0 && is_giant(body) {
            parts.extend(full.close());
            parts.push(Partition {
                functions: vec![i],
                tier: Tier::Light,
            });
            continue;
        }
        let open = match cold.get(i as usize) {
            Some(true) if level != OptLevel::O0 => &mut light,
            _ => &mut full,
        };
        parts.extend(open.add(i, body));
    }
    parts.extend(light.close());
    let last = full.close();
    if last.is_some() || parts.is_empty() {
        parts.push(last.unwrap_or(Partition {
            functions: Vec::new(),
            tier: Tier::Full,
        }));
    }
    parts
}

/// The partitions of `wasm` compiled with `options` (its profile included), and what the
/// profile said of the functions.
pub fn plan(
    info: &ModuleInfo,
    wasm: &[u8],
    options: &crate::CompileOptions,
) -> (Vec<Partition>, Option<ProfileSummary>) {
    let heat = heat(
        info,
        wasm,
        options.profile.as_deref(),
        options.profile_cold_per_mille,
    );
    let summary = heat.as_ref().map(|h| h.summary(info));
    let cold = heat.map_or_else(Vec::new, |h| h.cold);
    let parts = plan_partitions(
        info,
        wasm,
        options.partition_bytes,
        options.opt_level,
        &cold,
    );
    (parts, summary)
}

/// What a profile says of each defined function.
struct ModuleHeat {
    heat: Vec<Heat>,
    /// Compiled at `Tier::Light`.
    cold: Vec<bool>,
}

/// The heat of `info`'s functions by `profile` (`None` without one), the least-run functions
/// that account for `cold_per_mille` thousandths of its events cold too.
fn heat(
    info: &ModuleInfo,
    wasm: &[u8],
    profile: Option<&Profile>,
    cold_per_mille: u64,
) -> Option<ModuleHeat> {
    let heat = profile?.heat(&body_hashes(info, wasm), cold_per_mille);
    let cold = heat.iter().map(|h| *h == Heat::Cold).collect();
    Some(ModuleHeat { heat, cold })
}

impl ModuleHeat {
    fn summary(&self, info: &ModuleInfo) -> ProfileSummary {
        let mut s = ProfileSummary::default();
        for (h, body) in self.heat.iter().zip(&info.bodies) {
            let slot = match h {
                Heat::Hot => &mut s.hot,
                Heat::Cold => &mut s.cold,
                Heat::Unknown => &mut s.unknown,
            };
            slot.0 += 1;
            slot.1 += body.len();
        }
        s
    }
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
