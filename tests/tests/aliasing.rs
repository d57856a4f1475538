//! One byte, one address (issue 19). LLVM takes distinct addresses for distinct memory, so
//! compiled code must never reach a byte of linear memory through two different addresses
//! (once it did: `i32.add` results went through a mirror of the memory 4 GiB below it, and
//! LLVM forwarded stores and dropped accesses that in fact touched the same byte). Every case
//! here writes a byte through one address form and reads it through another — a static
//! offset, an `i32.add` whose 32-bit sum wraps, one that does not, a constant, a local, a loop
//! counter, an inlined call — and compares what native code computes with the interpreter, at
//! every optimization level and with both bounds strategies.

use runtime_support::BoundsStrategy;
use std::path::Path;
use std::process::Command;
use waot::{Error, Linker, Store, Val};
use waot_compiler::{compile_to_file, CompileOptions, OptLevel};
use waot_tests::binary;

/// The configurations every case runs in.
fn configurations() -> Vec<CompileOptions> {
    let mut all = Vec::new();
    for opt_level in [OptLevel::O0, OptLevel::O1, OptLevel::O2, OptLevel::O3] {
        all.push(CompileOptions {
            opt_level,
            ..Default::default()
        });
    }
    all.push(CompileOptions {
        bounds: BoundsStrategy::Explicit,
        ..Default::default()
    });
    all
}

fn describe(o: &CompileOptions) -> String {
    format!("-{} --bounds-checks {:?}", o.opt_level.name(), o.bounds)
}

/// What one call did: its results or its trap, and the first bytes of memory afterwards.
#[derive(Debug, PartialEq)]
struct Outcome {
    results: Result<Vec<Val>, String>,
    memory: Vec<u8>,
}

const MEMORY_CHECKED: usize = 1024;

fn trap_kind(e: Error) -> String {
    match e {
        Error::Trap(t) => format!("trap {:?}", t.code),
        e => panic!("not a trap: {e}"),
    }
}

/// Runs `name(args)` in a fresh instance of `wasm` in the interpreter.
fn interpret(wasm: &[u8], name: &str, args: &[Val]) -> Outcome {
    let engine = waot::interp::engine();
    let module = waot::interp::module(&engine, wasm).unwrap();
    let mut store = wasmi::Store::new(&engine, ());
    let instance = wasmi::Linker::<()>::new(&engine)
        .instantiate_and_start(&mut store, &module)
        .unwrap();
    let results = waot::interp::call(&mut store, &instance, name, args).map_err(trap_kind);
    let memory = instance.get_memory(&store, "memory").unwrap();
    Outcome {
        results,
        memory: memory.data(&store)[..MEMORY_CHECKED].to_vec(),
    }
}

/// Runs `name(args)` in a fresh instance of the compiled `module`.
fn run_native(module: &waot::Module, name: &str, args: &[Val]) -> Outcome {
    let mut store = Store::new();
    let instance = Linker::new().instantiate(&mut store, module).unwrap();
    let f = store.get_func(instance, name).unwrap();
    let results = store.call(f, args).map_err(trap_kind);
    let memory = store.get_memory(instance, "memory").unwrap();
    Outcome {
        results,
        memory: store.memory_data(memory).unwrap()[..MEMORY_CHECKED].to_vec(),
    }
}

/// Compiles `wasm` in every configuration and checks each call against the interpreter.
fn check_against_interpreter(label: &str, wasm: &[u8], calls: &[(&str, Vec<Val>)]) {
    let dir = tempfile::tempdir().unwrap();
    let expected: Vec<Outcome> = calls
        .iter()
        .map(|(name, args)| interpret(wasm, name, args))
        .collect();
    for options in configurations() {
        let so = dir.path().join("m.so");
        compile_to_file(wasm, label, &so, &options).unwrap_or_else(|e| panic!("{label}: {e}"));
        let module = waot::Module::from_file(&so).unwrap();
        for ((name, args), want) in calls.iter().zip(&expected) {
            let got = run_native(&module, name, args);
            assert_eq!(
                got.results,
                want.results,
                "{label}: {name}{args:?} with {}",
                describe(&options)
            );
            assert!(
                got.memory == want.memory,
                "{label}: {name}{args:?} with {} leaves different memory",
                describe(&options)
            );
        }
    }
}

#[test]
fn a_store_through_an_added_address_is_seen_by_a_load_through_a_plain_one() {
    // The smallest reproducer: at the default level this returned 1.
    let wat = r#"(module (memory (export "memory") 1)
      (func (export "f") (param $p i32) (result i32)
        (i32.store (local.get $p) (i32.const 1))
        (i32.store (i32.add (local.get $p) (i32.const 0)) (i32.const 2))
        (i32.load (local.get $p))))"#;
    let wasm = wat::parse_str(wat).unwrap();
    let calls: Vec<_> = [0, 16, 100, 65532, 65533, -1]
        .iter()
        .map(|&p| ("f", vec![Val::I32(p)]))
        .collect();
    check_against_interpreter("reproducer", &wasm, &calls);
}

/// Hand-written shapes of the class: each export writes and reads one byte range through
/// different address forms and returns what it read.
const FORMS: &str = r#"(module (memory (export "memory") 1)
  ;; Static offset, then an i32.add that wraps (w = 0xFFFFFFF0) to the same byte.
  (func (export "offset_then_wrapping_add") (param $w i32) (result i64)
    (i64.store offset=64 (i32.const 0) (i64.const 0x1111))
    (i64.store (i32.add (local.get $w) (i32.const 80)) (i64.const 0x2222))
    (i64.load offset=64 (i32.const 0)))
  ;; The other way round, with a sum that does not wrap (s = 16).
  (func (export "add_then_offset") (param $s i32) (result i64)
    (i64.store (i32.add (local.get $s) (i32.const 48)) (i64.const 0x3333))
    (i64.store offset=64 (i32.const 0) (i64.const 0x4444))
    (i64.load (i32.add (local.get $s) (i32.const 48))))
  ;; A wrapping and a non-wrapping sum of the same byte.
  (func (export "wrapping_and_not") (param $w i32) (param $s i32) (result i32)
    (i32.store (i32.add (local.get $w) (i32.const 48)) (i32.const 5))
    (i32.store (i32.add (local.get $s) (i32.const 16)) (i32.const 6))
    (i32.load (i32.add (local.get $w) (i32.const 48))))
  ;; Constants LLVM folds: 0xFFFFFF00 + 0x120 wraps to 0x20.
  (func (export "constant_wrap") (result i32)
    (i32.store (i32.const 0x20) (i32.const 7))
    (i32.store (i32.add (i32.const 0xFFFFFF00) (i32.const 0x120)) (i32.const 8))
    (i32.load (i32.const 0x20)))
  ;; A static offset on top of a wrapping sum.
  (func (export "wrap_plus_offset") (param $w i32) (result i32)
    (i32.store offset=8 (i32.add (local.get $w) (i32.const 24)) (i32.const 9))
    (i32.store (i32.const 24) (i32.const 10))
    (i32.load offset=8 (i32.add (local.get $w) (i32.const 24))))
  ;; The address kept in a local, as compilers emit it.
  (func (export "through_a_local") (param $w i32) (result i32) (local $a i32)
    (local.set $a (i32.add (local.get $w) (i32.const 40)))
    (i32.store (local.get $a) (i32.const 11))
    (i32.store offset=24 (i32.const 0) (i32.const 12))
    (i32.load (local.get $a)))
  ;; v128 halves against scalar stores.
  (func (export "vector_and_scalar") (param $w i32) (result i64) (local $v v128)
    (v128.store (i32.add (local.get $w) (i32.const 144)) (v128.const i64x2 1 2))
    (i64.store offset=136 (i32.const 0) (i64.const 3))
    (local.set $v (v128.load offset=128 (i32.const 0)))
    (i64.add (i64x2.extract_lane 0 (local.get $v)) (i64x2.extract_lane 1 (local.get $v))))
  ;; A loop over an array addressed by a counter running from -64 up to 0 (every sum wraps),
  ;; while a field of the same array is updated through a static offset: nbody's shape.
  (func (export "counter_loop") (param $n i32) (result i64) (local $i i32) (local $sum i64) (local $k i32)
    (loop $outer
      (local.set $i (i32.const -64))
      (loop $inner
        (i64.store (i32.add (local.get $i) (i32.const 320))
          (i64.add (i64.load (i32.add (local.get $i) (i32.const 320))) (i64.const 1)))
        (i64.store offset=272 (i32.const 0) (i64.add (i64.load offset=272 (i32.const 0)) (i64.const 100)))
        (local.set $sum (i64.add (local.get $sum) (i64.load offset=264 (i32.const 0))))
        (br_if $inner (local.tee $i (i32.add (local.get $i) (i32.const 8)))))
      (br_if $outer (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 1))) (local.get $n))))
    (i64.add (local.get $sum) (i64.load offset=272 (i32.const 0))))
  ;; Inlined helpers, one storing through an offset and one loading through a sum.
  (func $put (param $p i32) (param $v i32) (i32.store offset=12 (local.get $p) (local.get $v)))
  (func $get (param $x i32) (param $y i32) (result i32) (i32.load (i32.add (local.get $x) (local.get $y))))
  (func (export "across_calls") (param $w i32) (result i32)
    (call $put (i32.const 100) (i32.const 13))
    (drop (call $get (local.get $w) (i32.const 128)))
    (call $put (i32.const 100) (i32.const 14))
    (call $get (local.get $w) (i32.const 128)))
)"#;

#[test]
fn every_address_form_reaches_the_same_byte() {
    let wasm = wat::parse_str(FORMS).unwrap();
    let w = Val::I32(0xFFFF_FFF0u32 as i32);
    let s = Val::I32(16);
    let calls = vec![
        ("offset_then_wrapping_add", vec![w]),
        ("add_then_offset", vec![s]),
        ("wrapping_and_not", vec![w, s]),
        ("constant_wrap", vec![]),
        ("wrap_plus_offset", vec![w]),
        ("through_a_local", vec![w]),
        ("vector_and_scalar", vec![w]),
        ("counter_loop", vec![Val::I32(3)]),
        ("across_calls", vec![w]),
    ];
    check_against_interpreter("forms", &wasm, &calls);
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The generated function's parameters, passed at run time so that LLVM cannot fold them:
/// `$w` makes sums wrap, `$s` and `$h` make them not wrap or wrap at 2^31, `$z` is 0.
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
fn generate(rng: &mut Rng) -> String {
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
  (func (export "f") (param $w i32) (param $s i32) (param $h i32) (param $z i32) (result i64)
    (local $acc i64) (local $i i32) (local $tmp i32) (local $v v128)
    (local.set $acc (i64.const 0x0123456789abcdef))
{body}    (local.get $acc)))"#
    )
}

#[test]
fn generated_overlapping_accesses_agree_with_the_interpreter() {
    let modules: u64 = std::env::var("WAOT_ALIAS_MODULES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let args = vec![
        Val::I32(W as i32),
        Val::I32(S as i32),
        Val::I32(H as i32),
        Val::I32(0),
    ];
    for seed in 1..=modules {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let wat = generate(&mut rng);
        let wasm = wat::parse_str(&wat).unwrap_or_else(|e| panic!("{e}\n{wat}"));
        let label = format!("generated module {seed}");
        let result = std::panic::catch_unwind(|| {
            check_against_interpreter(&label, &wasm, &[("f", args.clone())])
        });
        if let Err(e) = result {
            eprintln!("{wat}");
            std::panic::resume_unwind(e);
        }
    }
}

/// Builds tests/alias/NAME.c natively and for wasm32-wasi with `defines`; returns the wasm
/// and what the native build prints.
fn build_c(dir: &Path, name: &str, defines: &[&str]) -> (Vec<u8>, String) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("alias")
        .join(format!("{name}.c"));
    let wasm = dir.join(format!("{name}.wasm"));
    let native = dir.join(format!("{name}.native"));
    for (out, target) in [(&wasm, Some("--target=wasm32-wasi")), (&native, None)] {
        let o = Command::new("clang-19")
            .args(target)
            .arg("-O2")
            .args(defines)
            .arg(&src)
            .arg("-o")
            .arg(out)
            .arg("-lm")
            .output()
            .expect("clang-19 (run scripts/setup.sh)");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let printed = Command::new(&native).output().unwrap();
    (
        std::fs::read(&wasm).unwrap(),
        String::from_utf8(printed.stdout).unwrap(),
    )
}

fn check_c_program(name: &str, defines: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let (wasm, native) = build_c(dir.path(), name, defines);
    for options in configurations() {
        let so = dir.path().join(format!("{name}.so"));
        compile_to_file(&wasm, name, &so, &options).unwrap();
        let out = Command::new(binary("wrun")).arg(&so).output().unwrap();
        assert!(out.status.success(), "{name} with {}", describe(&options));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            native,
            "{name} with {} prints what native code prints",
            describe(&options)
        );
    }
}

#[test]
fn nbody_prints_the_native_energy_at_every_level() {
    check_c_program("nbody", &["-DSTEPS=20000"]);
}

#[test]
fn a_field_written_through_both_address_forms_reads_back() {
    check_c_program("struct_alias", &[]);
}
