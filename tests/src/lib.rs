//! Helpers shared by the end-to-end tests: compiling wat or wasm in process, and locating the
//! spec suite and the built command-line tools.

pub mod fuzz;

use fuzz::generate::Rng;
use std::path::{Path, PathBuf};
use waot::wast::{CompileFailure, ModuleCompiler};
use waot_compiler::{compile_to_file, CompileError, CompileOptions};

/// The compiler library as a `ModuleCompiler`, so spec scripts run without spawning `waotc`.
pub struct InProcessCompiler {
    pub options: CompileOptions,
}

impl ModuleCompiler for InProcessCompiler {
    fn compile(&self, wasm: &[u8], output: &Path) -> Result<(), CompileFailure> {
        compile_to_file(wasm, "module", output, &self.options)
            .map(drop)
            .map_err(|e| CompileFailure {
                invalid: matches!(e, CompileError::Invalid { .. }),
                message: e.to_string(),
            })
    }
}

/// `../shared/testsuite`, beside the project's root.
pub fn testsuite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/testsuite")
}

/// Compiles wat text to an artifact in `dir` and loads it.
pub fn load_wat(dir: &Path, name: &str, wat: &str, options: &CompileOptions) -> waot::Module {
    let wasm = wat::parse_str(wat).expect("test wat parses");
    let so = dir.join(format!("{name}.so"));
    compile_to_file(&wasm, name, &so, options).unwrap_or_else(|e| panic!("{e}"));
    waot::Module::from_file(&so).unwrap_or_else(|e| panic!("{e}"))
}

/// A built binary of the workspace (`waotc` or `wrun`), beside the running executable: a test
/// runs from `target/release/deps`, the `fuzz` binary from `target/release`.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let mut dir = exe.parent().expect("executable directory");
    if dir.ends_with("deps") {
        dir = dir.parent().expect("target directory");
    }
    dir.join(name)
}

/// Modules of many loads and stores of overlapping bytes through every address form: static
/// offsets, `i32.add`s that wrap and that do not, constants, locals, counter loops (the class
/// of the memory-mirror miscompile, issue 19). `aliasing_wat`'s text, assembled.
pub fn aliasing_module(rng: &mut Rng) -> Vec<u8> {
    wat::parse_str(aliasing_wat(rng)).expect("generated text assembles")
}

/// The values the generated function reads from mutable globals into locals at its start, so
/// that LLVM cannot fold them: `$w` makes sums wrap, `$s` and `$h` make them not wrap or wrap
/// at 2^31, `$z` is 0.
const W: u32 = 0xFFFF_FFF0;
const S: u32 = 16;
const H: u32 = 0x8000_0000;

/// A wasm address expression and static offset whose effective address is `t`.
fn address(rng: &mut Rng, t: u32) -> (String, u32) {
    let o = if t > 0 {
        rng.below(t as u64 + 1) as u32
    } else {
        0
    };
    match rng.below(8) {
        0 => ("(local.get $z)".into(), t),
        1 => (
            format!("(i32.add (local.get $w) (i32.const {}))", t - o + 16),
            o,
        ),
        2 => (
            format!(
                "(i32.add (i32.const {}) (local.get $s))",
                (t - o).wrapping_sub(S) as i32
            ),
            o,
        ),
        3 => (format!("(i32.const {})", t - o), o),
        4 => (
            format!(
                "(i32.add (i32.const 0xFFFFFF00) (i32.const {}))",
                t - o + 0x100
            ),
            o,
        ),
        5 => (
            format!(
                "(i32.add (local.get $h) (i32.const {}))",
                (t - o).wrapping_add(H) as i32
            ),
            o,
        ),
        6 => (
            format!(
                "(local.tee $tmp (i32.add (local.get $w) (i32.const {})))",
                t - o + 16
            ),
            o,
        ),
        _ => (format!("(i32.add (local.get $z) (i32.const {}))", t - o), o),
    }
}

/// One access at `addr` + `offset`: a store of a value derived from `$acc`, or a load folded
/// into `$acc`.
fn access(rng: &mut Rng, addr: &str, offset: u32) -> String {
    let k = rng.below(1000);
    let store = rng.below(2) == 0;
    let value64 = format!("(i64.add (local.get $acc) (i64.const {k}))");
    let value32 = format!("(i32.wrap_i64 {value64})");
    let fold = |v: String| {
        format!("(local.set $acc (i64.xor (i64.rotl (local.get $acc) (i64.const 7)) {v}))")
    };
    match (rng.below(5), store) {
        (0, true) => format!("(i32.store8 offset={offset} {addr} {value32})"),
        (0, false) => fold(format!("(i64.load8_u offset={offset} {addr})")),
        (1, true) => format!("(i32.store16 offset={offset} {addr} {value32})"),
        (1, false) => fold(format!("(i64.load16_u offset={offset} {addr})")),
        (2, true) => format!("(i32.store offset={offset} {addr} {value32})"),
        (2, false) => fold(format!(
            "(i64.extend_i32_u (i32.load offset={offset} {addr}))"
        )),
        (3, true) => format!("(i64.store offset={offset} {addr} {value64})"),
        (3, false) => fold(format!("(i64.load offset={offset} {addr})")),
        (_, true) => {
            format!("(v128.store offset={offset} {addr} (i64x2.splat {value64}))")
        }
        (_, false) => fold(format!(
            "(i64.xor (i64x2.extract_lane 0 (local.tee $v (v128.load offset={offset} {addr}))) \
             (i64x2.extract_lane 1 (local.get $v)))"
        )),
    }
    .replace("offset=0 ", "")
        + "\n"
}

/// A function of straight-line accesses and counter loops over 64 bytes that overlap.
pub fn aliasing_wat(rng: &mut Rng) -> String {
    let mut body = String::new();
    for _ in 0..4 + rng.below(5) {
        if rng.below(3) == 0 {
            // A loop whose counter runs from -8n up to 0, addressing t + 8k through wrapping
            // sums, with accesses to fixed bytes of the same range inside.
            let n = 2 + rng.below(6) as u32;
            let t = rng.below(48) as u32;
            body += &format!("(local.set $i (i32.const {}))\n(loop $l\n", -(8 * n as i32));
            for _ in 0..1 + rng.below(3) {
                let k = rng.below(1000);
                let at = format!("(i32.add (local.get $i) (i32.const {}))", t + 8 * n);
                body += &match rng.below(3) {
                    0 => format!("(i64.store {at} (i64.add (i64.load {at}) (i64.const {k})))\n"),
                    1 => format!("(local.set $acc (i64.add (local.get $acc) (i64.load {at})))\n"),
                    _ => {
                        let fixed = rng.below(64) as u32;
                        let (addr, offset) = address(rng, fixed);
                        access(rng, &addr, offset)
                    }
                };
            }
            body += "(br_if $l (local.tee $i (i32.add (local.get $i) (i32.const 8)))))\n";
        } else {
            for _ in 0..1 + rng.below(6) {
                let t = rng.below(64) as u32;
                let (addr, offset) = address(rng, t);
                body += &access(rng, &addr, offset);
            }
        }
    }
    format!(
        r#"(module (memory (export "memory") 1)
  (global $gw (mut i32) (i32.const {W}))
  (global $gs (mut i32) (i32.const {S}))
  (global $gh (mut i32) (i32.const {H}))
  (global $gz (mut i32) (i32.const 0))
  (func (export "f") (result i64)
    (local $w i32) (local $s i32) (local $h i32) (local $z i32)
    (local $acc i64) (local $i i32) (local $tmp i32) (local $v v128)
    (local.set $w (global.get $gw))
    (local.set $s (global.get $gs))
    (local.set $h (global.get $gh))
    (local.set $z (global.get $gz))
    (local.set $acc (i64.const 0x0123456789abcdef))
{body}    (local.get $acc)))"#
    )
}
