//! Compile-time budgets (issue 13, `compiler/cpp/budget.cpp` and `codegen/partition.rs`): what
//! keeps a small adversarial module from compiling for minutes changes how a function is
//! compiled, never what it computes. (Their speed is measured by `scripts/compile-bench`.)

use waot::{Linker, Store, Val};
use waot_compiler::{compile_to_file, partition_count, CompileOptions, OptLevel};
use waot_tests::load_wat;

/// `n` `try_table`s around a call that throws for one argument: 3,000 took 140 s at -O2
/// before giant functions got a light partition of their own.
fn try_tables(n: usize) -> String {
    let mut wat = String::from(
        r#"(module (tag $e (param i32))
             (func $may (param i32)
               (if (i32.eq (local.get 0) (i32.const 77)) (then (throw $e (local.get 0)))))
             (func (export "f") (param $p i32) (result i32) (local $x i32)"#,
    );
    for i in 0..n {
        wat.push_str(&format!(
            "(block $h{i} (result i32) (try_table (catch $e $h{i})
               (call $may (i32.add (local.get $p) (i32.const {i})))) (i32.const {i}))
             (local.set $x (i32.add (local.get $x)))\n"
        ));
    }
    wat.push_str("(local.get $x)))");
    wat
}

/// What `f(p)` of `try_tables(n)` returns: the sum of the indices, but the `try_table` whose
/// call throws gives the thrown 77.
fn expected(n: i32, p: i32) -> i32 {
    (0..n).map(|i| if p + i == 77 { 77 } else { i }).sum()
}

fn call_f(module: &waot::Module, p: i32) -> i32 {
    let mut store = Store::new();
    let instance = Linker::new().instantiate(&mut store, module).unwrap();
    let f = store.get_func(instance, "f").unwrap();
    match store.call(f, &[Val::I32(p)]).unwrap().as_slice() {
        [Val::I32(v)] => *v,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_giant_function_is_compiled_alone_and_lightly_and_computes_the_same() {
    let n = 1_600;
    let wasm = wat::parse_str(try_tables(n)).unwrap();
    let o2 = CompileOptions::default();
    // `$may`, then `f` alone; at -O0 there is nothing lighter to do.
    assert_eq!(partition_count(&wasm, &o2).unwrap(), 2);
    let o0 = CompileOptions {
        opt_level: OptLevel::O0,
        ..Default::default()
    };
    assert_eq!(partition_count(&wasm, &o0).unwrap(), 1);
    let dir = tempfile::tempdir().unwrap();
    for (name, options) in [("o2", &o2), ("o0", &o0)] {
        let module = load_wat(dir.path(), name, &try_tables(n), options);
        for p in [5, 0, 77, -3] {
            assert_eq!(call_f(&module, p), expected(n as i32, p), "{name} f({p})");
        }
    }
}

/// A block of more than `BLOCK_BUDGET` instructions (straight-line code a generator or full
/// unrolling makes) is compiled with the fast instruction selector, in pieces: its function
/// is marked `optnone` after optimization and the block split. A small function beside it is
/// not.
#[test]
fn a_giant_block_gets_fast_instruction_selection_and_computes_the_same() {
    let mut wat = String::from(
        "(module (memory (export \"m\") 1) (func $small (export \"small\") (param i32) (result i32)
           (i32.mul (local.get 0) (i32.const 3)))
         (func (export \"f\") (param $p i32) (result i32) (local $x i32)\n",
    );
    for i in 0..3_000 {
        wat.push_str(&format!(
            "(i32.store offset={} (local.get $p) (local.tee $x (i32.add (i32.mul (local.get $x)
               (i32.const 31)) (i32.load offset={} (local.get $p)))))\n",
            (i * 4) % 8_000,
            (i * 12) % 8_000
        ));
    }
    wat.push_str("(local.get $x)))");
    let dir = tempfile::tempdir().unwrap();
    let ir = dir.path().join("f.ll");
    let options = CompileOptions {
        emit_llvm: Some(ir.clone()),
        cpu: "x86-64-v2".into(),
        ..Default::default()
    };
    let wasm = wat::parse_str(&wat).unwrap();
    compile_to_file(&wasm, "f", &dir.path().join("f.so"), &options).unwrap();
    let ir = std::fs::read_to_string(ir).unwrap();
    let attributes = |name: &str| {
        let define = ir
            .lines()
            .find(|l| l.starts_with("define") && l.contains(&format!("@{name}(")))
            .unwrap_or_else(|| panic!("no {name}"));
        // `define ... #3 align 32 {`: the group is the number after `#`.
        let group = define.rsplit('#').next().unwrap();
        let group = group.split_whitespace().next().unwrap();
        ir.lines()
            .find(|l| l.starts_with(&format!("attributes #{group} ")))
            .unwrap()
            .to_string()
    };
    assert!(attributes("waot_func_1").contains("optnone"));
    // Cut into blocks of about 1,000 instructions, which the selector takes one at a time.
    assert!(ir.contains(".chunk"), "the giant block was not split");
    assert!(!attributes("waot_func_0").contains("optnone"));
    // The same results and memory as without any optimization.
    let fast = load_wat(dir.path(), "fast", &wat, &CompileOptions::default());
    let o0 = CompileOptions {
        opt_level: OptLevel::O0,
        ..Default::default()
    };
    let slow = load_wat(dir.path(), "slow", &wat, &o0);
    let run = |module: &waot::Module| {
        let mut store = Store::new();
        let instance = Linker::new().instantiate(&mut store, module).unwrap();
        let memory = store.get_memory(instance, "m").unwrap();
        store.memory_data_mut(memory).unwrap()[..8_000]
            .iter_mut()
            .enumerate()
            .for_each(|(i, b)| *b = (i * 7) as u8);
        let f = store.get_func(instance, "f").unwrap();
        let result = store.call(f, &[Val::I32(100)]).unwrap();
        (result, store.memory_data(memory).unwrap().to_vec())
    };
    assert_eq!(run(&fast), run(&slow));
}
