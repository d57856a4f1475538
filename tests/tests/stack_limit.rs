//! Guest code's stack is bounded whatever the host's limits (issue 12): with an unlimited
//! stack rlimit the main thread's stack grows until memory runs out, and a host thread may
//! have a huge stack; runaway recursion must still trap, after a bounded depth.

use std::process::Command;
use waot::{Error, Linker, Store, TrapCode, Val};
use waot_compiler::CompileOptions;
use waot_tests::{binary, load_wat};

/// `f` recurses forever, counting its depth in the global `depth`.
const RECURSION: &str = r#"(module
  (global $depth (export "depth") (mut i32) (i32.const 0))
  (func $f (export "f") (param i64) (result i64)
    (global.set $depth (i32.add (global.get $depth) (i32.const 1)))
    (i64.add (call $f (i64.add (local.get 0) (i64.const 1))) (i64.const 1))))"#;

#[test]
fn runaway_recursion_traps_with_an_unlimited_stack_rlimit() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("rec.wasm");
    let so = dir.path().join("rec.so");
    std::fs::write(&wasm, wat::parse_str(RECURSION).unwrap()).unwrap();
    let o = Command::new(binary("waotc"))
        .arg(&wasm)
        .arg(&so)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The address-space limit (4 GiB; the module has no memory to reserve) turns a stack that
    // grows without bound into a crash within seconds instead of exhausting the machine.
    let script = format!(
        "ulimit -s unlimited && ulimit -v 4194304 && exec timeout 60 {} {} --invoke f 0",
        binary("wrun").display(),
        so.display()
    );
    let o = Command::new("sh").arg("-c").arg(&script).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(134), "{stderr}");
    assert!(
        stderr.starts_with("wrun: trap: call stack exhausted"),
        "{stderr}"
    );
}

/// The depth reached when `f` runs on a thread with a 256 MiB stack and `max` as the limit.
fn depth_on_a_big_thread(max: Option<usize>) -> i32 {
    let dir = tempfile::tempdir().unwrap();
    let module = load_wat(dir.path(), "rec", RECURSION, &CompileOptions::default());
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || {
            let mut store = Store::new();
            if let Some(bytes) = max {
                store.set_max_wasm_stack(bytes);
            }
            let instance = Linker::new().instantiate(&mut store, &module).unwrap();
            let f = store.get_func(instance, "f").unwrap();
            match store.call(f, &[Val::I64(0)]) {
                Err(Error::Trap(t)) => assert_eq!(t.code, Some(TrapCode::StackOverflow)),
                other => panic!("expected a trap, got {other:?}"),
            }
            let depth = store.get_global(instance, "depth").unwrap();
            match store.global_get(depth).unwrap() {
                Val::I32(d) => d,
                other => panic!("{other:?}"),
            }
        })
        .unwrap()
        .join()
        .unwrap()
}

#[test]
fn a_host_thread_with_a_huge_stack_is_bounded_by_the_store_limit() {
    // Every frame holds at least a return address and a saved frame pointer (16 bytes).
    let limited = depth_on_a_big_thread(Some(1 << 20));
    assert!(limited > 1000 && limited <= (1 << 20) / 16, "{limited}");
    let default = depth_on_a_big_thread(None);
    assert!(default > limited && default <= (8 << 20) / 16, "{default}");
}

/// `f` calls the host's `down`, which calls `f` again through a `TypedFunc`: recursion that
/// alternates between guest and host frames.
const THROUGH_HOST: &str = r#"(module
  (import "host" "down" (func $down (param i32) (result i32)))
  (func (export "f") (param i32) (result i32)
    (call $down (i32.add (local.get 0) (i32.const 1)))))"#;

/// The deepest `down` reached and the trap that ended a call of `f`, run `calls` times in one
/// store on a thread with a 256 MiB stack and a 1 MiB limit for guest code.
fn recursion_through_the_host(calls: usize) -> Vec<(i32, Option<TrapCode>)> {
    let dir = tempfile::tempdir().unwrap();
    let module = load_wat(
        dir.path(),
        "through",
        THROUGH_HOST,
        &CompileOptions::default(),
    );
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || {
            use std::sync::atomic::{AtomicI32, Ordering};
            use std::sync::{Arc, OnceLock};
            let mut store = Store::new();
            store.set_max_wasm_stack(1 << 20);
            let f_slot: Arc<OnceLock<waot::Func>> = Arc::new(OnceLock::new());
            let deepest = Arc::new(AtomicI32::new(0));
            let (slot, seen) = (f_slot.clone(), deepest.clone());
            let down = store.func_new(
                &[wasmparser::ValType::I32],
                &[wasmparser::ValType::I32],
                move |caller, args, results| {
                    let Val::I32(n) = args[0] else { panic!() };
                    seen.fetch_max(n, Ordering::Relaxed);
                    let f = caller
                        .store
                        .typed::<(i32,), i32>(*slot.get().unwrap())
                        .unwrap();
                    results[0] = Val::I32(f.call(caller.store, (n,))?);
                    Ok(())
                },
            );
            let mut linker = Linker::new();
            linker.define("host", "down", waot::Extern::Func(down));
            let instance = linker.instantiate(&mut store, &module).unwrap();
            let f = store.get_func(instance, "f").unwrap();
            f_slot.set(f).unwrap();
            let f = store.typed::<(i32,), i32>(f).unwrap();
            (0..calls)
                .map(|_| {
                    deepest.store(0, Ordering::Relaxed);
                    let trap = f
                        .call(&mut store, (0,))
                        .expect_err("unbounded recursion returned");
                    (deepest.load(Ordering::Relaxed), trap.code)
                })
                .collect()
        })
        .unwrap()
        .join()
        .unwrap()
}

/// Each entry from the host into guest code nested in a call of the same store keeps the
/// stack limit of the outermost entry: were it renewed at every entry, this recursion would
/// run through the thread's 256 MiB and crash the process. The store counts its calls in
/// progress across host frames that hold `&mut` to it, so a count kept in a register would
/// show here as a renewed limit.
#[test]
fn recursion_through_host_functions_is_bounded_by_the_outermost_entry() {
    let runs = recursion_through_the_host(3);
    let (depth, code) = runs[0];
    assert_eq!(code, Some(TrapCode::StackOverflow));
    // Every level holds a guest frame and the host's frames of a call (hundreds of bytes).
    assert!(depth > 100 && depth <= (1 << 20) / 64, "{depth}");
    // The count of calls in progress came back to zero: the next calls start afresh.
    assert!(runs.iter().all(|r| *r == runs[0]), "{runs:?}");
}
