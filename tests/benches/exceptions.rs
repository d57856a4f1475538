//! What exception handling costs: (1) a call-heavy kernel whose 64 functions each wrap their
//! call in a `try_table` that never catches anything, against the same kernel without the
//! `try_table`s (zero-cost handlers: entering one must execute nothing); (2) one throw and
//! catch across a call (a forced unwind through one frame) and inside one function (a branch).
//! Run: `cargo bench -p waot-tests --bench exceptions`.

use std::time::Instant;
use waot::{Linker, Store, Val};
use waot_compiler::{compile_to_file, CompileOptions};

const FUNCS: usize = 64;

/// The kernel: `run(n)` calls each of 64 functions n times; function k mixes its argument
/// through a helper called indirectly (a real call), wrapped in a `try_table` when `handlers`
/// is set.
fn kernel(handlers: bool) -> String {
    let mut wat = String::from(
        r#"(module
  (tag $e (param i32))
  (type $mix_t (func (param i32) (result i32)))
  (table 1 1 funcref)
  (elem (i32.const 0) $mix)
  (func $mix (param i32) (result i32)
    (i32.xor (i32.mul (local.get 0) (i32.const 0x9e3779b1))
             (i32.shr_u (local.get 0) (i32.const 15))))
"#,
    );
    for k in 0..FUNCS {
        // Through the table, so that LLVM cannot inline the call away.
        let call = format!(
            "(call_indirect (type $mix_t) (i32.add (local.get 0) (i32.const {k})) (i32.const 0))"
        );
        let body = if handlers {
            format!(
                "(block $h (result i32) (try_table (result i32) (catch $e $h) {call}) (return)) (drop) (i32.const -1)"
            )
        } else {
            call
        };
        wat.push_str(&format!("  (func $f{k} (param i32) (result i32) {body})\n"));
    }
    wat.push_str("  (func (export \"run\") (param $n i32) (result i32) (local $acc i32)\n");
    wat.push_str("    (loop $l\n");
    for k in 0..FUNCS {
        wat.push_str(&format!(
            "      (local.set $acc (call $f{k} (i32.add (local.get $acc) (local.get $n))))\n"
        ));
    }
    wat.push_str(
        "      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))\n    (local.get $acc))\n",
    );
    // Throw and catch: across one call, and within the function.
    wat.push_str(
        r#"  (func $thrower (param i32) (throw $e (local.get 0)))
  (func (export "throw_across_call") (param $n i32) (result i32) (local $acc i32)
    (loop $l
      (block $h (result i32)
        (try_table (catch $e $h) (call $thrower (local.get $n)))
        (i32.const 0))
      (local.set $acc (i32.add (local.get $acc)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $acc))
  (func (export "throw_local") (param $n i32) (result i32) (local $acc i32)
    (loop $l
      (block $h (result i32)
        (try_table (catch $e $h) (throw $e (local.get $n)))
        (i32.const 0))
      (local.set $acc (i32.add (local.get $acc)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $acc))
)"#,
    );
    wat
}

fn best_of(runs: usize, mut f: impl FnMut() -> f64) -> f64 {
    (0..runs).map(|_| f()).fold(f64::MAX, f64::min)
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let mut timings = Vec::new();
    for handlers in [false, true] {
        let wasm = wat::parse_str(kernel(handlers)).unwrap();
        let so = dir.path().join(format!("k{handlers}.so"));
        compile_to_file(&wasm, "kernel", &so, &CompileOptions::default()).unwrap();
        let module = waot::Module::from_file(&so).unwrap();
        let mut store = Store::new();
        let inst = Linker::new().instantiate(&mut store, &module).unwrap();
        let run = store.get_func(inst, "run").unwrap();
        let n = 2_000_000;
        let mut result = Vec::new();
        let seconds = best_of(5, || {
            let start = Instant::now();
            result = store.call(run, &[Val::I32(n)]).unwrap();
            start.elapsed().as_secs_f64()
        });
        timings.push((handlers, seconds, result));
        if handlers {
            for name in ["throw_across_call", "throw_local"] {
                let f = store.get_func(inst, name).unwrap();
                let n = 200_000;
                let ns = best_of(5, || {
                    let start = Instant::now();
                    store.call(f, &[Val::I32(n)]).unwrap();
                    start.elapsed().as_nanos() as f64 / n as f64
                });
                println!("{name:<22} {ns:>9.1} ns per throw and catch");
            }
            let alive = store.live_exceptions();
            store.collect_exceptions();
            println!(
                "exception objects after 2,000,000 throws: {alive} not yet collected \
                 ({} collections), {} after collect_exceptions",
                store.exception_collections(),
                store.live_exceptions()
            );
        }
    }
    assert_eq!(timings[0].2, timings[1].2, "both kernels compute the same");
    let (plain, with) = (timings[0].1, timings[1].1);
    println!(
        "kernel, {} calls:      {:.3} s without try_table, {:.3} s with one try_table per call ({:+.1}%)",
        2_000_000 * FUNCS,
        plain,
        with,
        (with / plain - 1.0) * 100.0
    );
}
