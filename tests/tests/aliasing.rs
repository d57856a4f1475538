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
use waot_tests::fuzz::generate::Rng;
use waot_tests::{aliasing_wat, binary};

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
    let linker = wasmi::Linker::<()>::new(&engine);
    let instance = waot::interp::instantiate(&linker, &mut store, &module).unwrap();
    let results = waot::interp::call(&mut store, &instance, name, args).map_err(trap_kind);
    let memory = instance.wasmi().get_memory(&store, "memory").unwrap();
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

#[test]
fn generated_overlapping_accesses_agree_with_the_interpreter() {
    let modules: u64 = std::env::var("WAOT_ALIAS_MODULES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    for seed in 1..=modules {
        let mut rng = Rng::new(seed);
        let wat = aliasing_wat(&mut rng);
        let wasm = wat::parse_str(&wat).unwrap_or_else(|e| panic!("{e}\n{wat}"));
        let label = format!("generated module {seed}");
        let result =
            std::panic::catch_unwind(|| check_against_interpreter(&label, &wasm, &[("f", vec![])]));
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
