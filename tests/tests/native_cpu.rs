//! `--cpu native` works on whatever machine runs the tests: its code runs and computes what
//! the baseline CPU's code computes (the instruction-level checks compile for fixed CPUs,
//! compiler/tests/simd_codegen.rs).

use waot::{Linker, Store, Val};
use waot_compiler::{compile_to_file, CompileOptions};

const KERNELS: &str = r#"(module
  (memory (export "memory") 1)
  (data (i32.const 4) "\00\00\c0\3f")
  (func (export "add") (param v128 v128) (result v128) (i32x4.add (local.get 0) (local.get 1)))
  (func (export "mul") (param v128 v128) (result v128) (f32x4.mul (local.get 0) (local.get 1)))
  (func (export "shuffle") (param v128 v128) (result v128)
    (i8x16.shuffle 0 17 2 19 4 21 6 23 8 25 10 27 12 29 14 31 (local.get 0) (local.get 1)))
  (func (export "load_splat") (param i32) (result v128) (v128.load32_splat (local.get 0)))
  (func (export "load_then_splat") (param i32) (result v128) (f32x4.splat (f32.load (local.get 0))))
  (func (export "extmul") (param v128 v128) (result v128) (i16x8.extmul_low_i8x16_s (local.get 0) (local.get 1))))"#;

/// `--cpu native` compiles and runs, whatever this machine is, and computes what the baseline
/// CPU's code computes.
#[test]
fn native_cpu_code_runs_and_agrees_with_the_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = wat::parse_str(KERNELS).unwrap();
    let mut results = Vec::new();
    for cpu in ["native", "generic"] {
        let so = dir.path().join(format!("{cpu}-run.so"));
        let options = CompileOptions {
            cpu: cpu.into(),
            ..Default::default()
        };
        compile_to_file(&wasm, "k", &so, &options).unwrap();
        let module = waot::Module::from_file(&so).unwrap();
        let mut store = Store::new();
        let instance = Linker::new().instantiate(&mut store, &module).unwrap();
        let a = Val::V128(0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10);
        let b = Val::V128(0xf0e0_d0c0_b0a0_9080_7060_5040_3020_1000);
        let mut out = Vec::new();
        for name in ["add", "mul", "shuffle", "extmul"] {
            let f = store.get_func(instance, name).unwrap();
            out.push(store.call(f, &[a, b]).unwrap());
        }
        for name in ["load_splat", "load_then_splat"] {
            let f = store.get_func(instance, name).unwrap();
            out.push(store.call(f, &[Val::I32(4)]).unwrap());
        }
        results.push(out);
    }
    assert_eq!(results[0], results[1]);
}
