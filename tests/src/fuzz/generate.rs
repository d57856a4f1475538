//! Generated modules and the arguments their exports are called with, all from a seed.

use waot::Val;

/// A small deterministic generator (xorshift64*): the same seed gives the same module and
/// arguments on every machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

/// What kind of module a seed makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// wasm-smith with the features waot runs (SIMD, references, bulk memory, tail calls,
    /// multi-value), float results canonicalized half of the time; no exceptions, so the
    /// interpreter takes part.
    Smith,
    /// The same with exception handling and threads (a shared memory, atomic instructions) on:
    /// compared among the AOT modes only. No `memory.atomic.wait`: with one thread it could
    /// only time out or block forever.
    SmithExceptions,
    /// `Smith` with up to three memories, 64-bit memories and tables, extended constant
    /// expressions, relaxed SIMD (WebAssembly 3.0) and wide arithmetic.
    SmithMemories,
    /// Many loads and stores of overlapping bytes through every address form
    /// (`crate::aliasing_module`): the class of the memory-mirror miscompile.
    Aliasing,
    /// `Smith` with garbage collection (structs, arrays, i31, casts, recursive types): compared
    /// among the AOT modes only (the interpreter has no GC), and every run must end in results
    /// or a trap, never a crash.
    SmithGc,
}

impl Flavor {
    pub fn of(seed: u64) -> Flavor {
        match (seed % 5, seed % 10) {
            (0, _) => Flavor::Aliasing,
            (1, _) => Flavor::SmithExceptions,
            (_, 7) => Flavor::SmithMemories,
            (_, 9) => Flavor::SmithGc,
            _ => Flavor::Smith,
        }
    }
}

/// Fuel every generated function burns per loop iteration and call
/// (`wasm_smith::Module::ensure_termination`): generated loops end, and deep recursion
/// stops long before any stack limit.
pub const FUEL: u32 = 20_000;

/// The module for `seed`.
pub fn module(seed: u64) -> Vec<u8> {
    match Flavor::of(seed) {
        Flavor::Aliasing => crate::aliasing_module(&mut Rng::new(seed)),
        flavor => smith(seed, flavor),
    }
}

fn smith(seed: u64, flavor: Flavor) -> Vec<u8> {
    let exceptions = flavor == Flavor::SmithExceptions;
    let memories = flavor == Flavor::SmithMemories;
    let gc = flavor == Flavor::SmithGc;
    let mut rng = Rng::new(seed);
    let config = wasm_smith::Config {
        min_funcs: 1,
        max_funcs: 8,
        max_imports: 0,
        export_everything: true,
        max_instructions: 200,
        max_memories: if memories { 3 } else { 1 },
        max_memory32_bytes: 4 << 16,
        max_memory64_bytes: 4 << 16,
        memory_max_size_required: true,
        max_tables: 2,
        max_table_elements: 64,
        table_max_size_required: true,
        max_data_segments: 4,
        max_element_segments: 4,
        max_globals: 8,
        max_tags: if exceptions { 4 } else { 0 },
        simd_enabled: true,
        relaxed_simd_enabled: memories,
        exceptions_enabled: exceptions,
        tail_call_enabled: true,
        bulk_memory_enabled: true,
        reference_types_enabled: true,
        multi_value_enabled: true,
        saturating_float_to_int_enabled: true,
        sign_extension_ops_enabled: true,
        gc_enabled: gc,
        memory64_enabled: memories,
        threads_enabled: exceptions,
        wide_arithmetic_enabled: memories,
        custom_page_sizes_enabled: false,
        extended_const_enabled: memories,
        shared_everything_threads_enabled: false,
        canonicalize_nans: rng.below(2) == 0,
        ..wasm_smith::Config::default()
    };
    // Retry with more entropy when wasm-smith runs out of it before a module is complete (or,
    // with threads, made one that waits).
    for size in [4096, 16384, 65536].repeat(if exceptions { 4 } else { 1 }) {
        let bytes = rng.bytes(size);
        let mut u = arbitrary::Unstructured::new(&bytes);
        let Ok(mut module) = wasm_smith::Module::new(config.clone(), &mut u) else {
            continue;
        };
        if module.ensure_termination(FUEL).is_ok() {
            let wasm = module.to_bytes();
            if !exceptions || !waits(&wasm) {
                return wasm;
            }
        }
    }
    // A module wasm-smith always accepts: an empty one.
    b"\0asm\x01\0\0\0".to_vec()
}

/// Whether a module contains `memory.atomic.wait32/64`.
fn waits(wasm: &[u8]) -> bool {
    use wasmparser::{Operator, Parser, Payload};
    Parser::new(0).parse_all(wasm).flatten().any(|p| match p {
        Payload::CodeSectionEntry(body) => body.get_operators_reader().is_ok_and(|mut r| {
            std::iter::from_fn(|| (!r.eof()).then(|| r.read().ok()).flatten()).any(|op| {
                matches!(
                    op,
                    Operator::MemoryAtomicWait32 { .. } | Operator::MemoryAtomicWait64 { .. }
                )
            })
        }),
        _ => false,
    })
}

/// An argument of type `ty`: edge values (0, -1, extremes, NaNs, addresses near the end of a
/// page) more often than not.
pub fn argument(rng: &mut Rng, ty: wasmparser::ValType) -> Val {
    use wasmparser::ValType::*;
    let pick = |rng: &mut Rng, edges: &[u64]| {
        if rng.below(3) == 0 {
            rng.next_u64()
        } else {
            edges[rng.below(edges.len() as u64) as usize]
        }
    };
    match ty {
        I32 => Val::I32(pick(
            rng,
            &[0, 1, u32::MAX as u64, 0x8000_0000, 65535, 65536, 131071, 16],
        ) as i32),
        I64 => Val::I64(pick(rng, &[0, 1, u64::MAX, 1 << 63, 65536, 0xffff_ffff]) as i64),
        F32 => Val::F32(pick(
            rng,
            &[
                0,
                0x8000_0000,
                0x3f80_0000,
                0x7fc0_0000,
                0x7fa0_0001,
                0xff80_0000,
                0x4f00_0000,
            ],
        ) as u32),
        F64 => Val::F64(pick(
            rng,
            &[
                0,
                1 << 63,
                0x3ff0_0000_0000_0000,
                0x7ff8_0000_0000_0000,
                0x7ff4_0000_0000_0001,
                0x43e0_0000_0000_0000,
            ],
        )),
        V128 => Val::V128((rng.next_u64() as u128) << 64 | rng.next_u64() as u128),
        Ref(r) if r.is_func_ref() => Val::FuncRef(None),
        Ref(_) => Val::default_for(ty),
    }
}
