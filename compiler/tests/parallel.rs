//! Parallel compilation: large modules are split into partitions compiled on several threads,
//! and the artifact is byte-identical whatever the thread count.

use waot_compiler::{compile_to_file, partition_count, CompileOptions, OptLevel};

/// A module with enough code for several partitions: `n` functions that call each other.
fn big_module(n: usize) -> Vec<u8> {
    let mut wat = String::from("(module (memory 1)\n");
    for i in 0..n {
        let callee = (i * 7 + 3) % n;
        wat.push_str(&format!(
            "(func $f{i} (export \"f{i}\") (param i32) (result i32) (local i32)
               (local.set 1 (i32.const {i}))
               (block (loop
                 (br_if 1 (i32.ge_u (local.get 1) (local.get 0)))
                 (i32.store (i32.and (local.get 1) (i32.const 1020)) (i32.mul (local.get 1) (i32.const 31)))
                 (local.set 1 (i32.add (local.get 1) (i32.load (i32.and (local.get 0) (i32.const 1020)))))
                 (local.set 1 (i32.add (local.get 1) (i32.const 1)))
                 (br 0)))
               (if (result i32) (i32.gt_u (local.get 0) (i32.const 1000))
                 (then (call $f{callee} (i32.shr_u (local.get 0) (i32.const 1))))
                 (else (i32.xor (local.get 1) (i32.const {i})))))\n"
        ));
    }
    wat.push(')');
    wat::parse_str(&wat).unwrap()
}

#[test]
fn output_is_identical_for_any_thread_count() {
    let wasm = big_module(600);
    // Small partitions, so that a small module spans several (the default is 256 KiB).
    let base = CompileOptions {
        opt_level: OptLevel::O1,
        partition_bytes: 8 * 1024,
        ..Default::default()
    };
    assert!(
        partition_count(&wasm, &base).unwrap() >= 4,
        "the test module must span several partitions"
    );
    let dir = tempfile::tempdir().unwrap();
    let mut outputs = Vec::new();
    for threads in [1, 2, 3, 2] {
        let so = dir.path().join(format!("j{threads}-{}.so", outputs.len()));
        let options = CompileOptions {
            threads,
            ..base.clone()
        };
        compile_to_file(&wasm, "big", &so, &options).unwrap();
        outputs.push(std::fs::read(&so).unwrap());
    }
    for (i, o) in outputs.iter().enumerate().skip(1) {
        assert!(
            o == &outputs[0],
            "output {i} differs from the single-threaded one"
        );
    }
}
