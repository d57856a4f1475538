//! Threads (issue 15): atomics trap exactly as the proposal says in every build, `wait` and
//! `notify` keep their contract, one shared memory serves stores on several host threads at
//! once, and WASI threads run a program whose threads count together, ending the process on a
//! trap or `proc_exit` in any thread.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use waot::{Error, Extern, Linker, SharedMemory, Store, TrapCode, Val};
use waot_compiler::{CompileOptions, OptLevel};
use waot_tests::{binary, load_wat};

const ACCESSES: &str = r#"(module
  (memory (export "memory") 1 1 shared)
  (memory $plain 1 1)
  (func (export "load32") (param i32) (result i32) (i32.atomic.load (local.get 0)))
  (func (export "load64") (param i32) (result i64) (i64.atomic.load offset=8 (local.get 0)))
  (func (export "store16") (param i32) (i64.atomic.store16 (local.get 0) (i64.const -1)))
  (func (export "rmw8") (param i32) (result i32) (i32.atomic.rmw8.add_u (local.get 0) (i32.const 255)))
  (func (export "xchg64") (param i32) (result i64) (i64.atomic.rmw.xchg (local.get 0) (i64.const 5)))
  (func (export "cmpxchg16") (param i32) (param i32) (result i32)
    (i32.atomic.rmw16.cmpxchg_u (local.get 0) (local.get 1) (i32.const 0x1234)))
  (func (export "wait32") (param i32 i32 i64) (result i32)
    (memory.atomic.wait32 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "notify") (param i32) (result i32) (memory.atomic.notify (local.get 0) (i32.const 1)))
  (func (export "wait_plain") (result i32)
    (memory.atomic.wait32 $plain (i32.const 0) (i32.const 0) (i64.const 0))))"#;

fn outcome(
    store: &mut Store,
    i: waot::Instance,
    name: &str,
    args: &[Val],
) -> Result<Vec<Val>, TrapCode> {
    let f = store.get_func(i, name).unwrap();
    match store.call(f, args) {
        Ok(v) => Ok(v),
        Err(Error::Trap(t)) => Err(t.code.expect("a trap code")),
        Err(e) => panic!("{name}: {e}"),
    }
}

#[test]
fn atomics_check_alignment_then_bounds_in_every_build() {
    for bounds in [
        runtime_support::BoundsStrategy::GuardPages,
        runtime_support::BoundsStrategy::Explicit,
    ] {
        for opt_level in [OptLevel::O0, OptLevel::O2] {
            let options = CompileOptions {
                opt_level,
                bounds,
                ..Default::default()
            };
            let d = tempfile::tempdir().unwrap();
            let module = load_wat(d.path(), "atomics", ACCESSES, &options);
            let mut store = Store::new();
            let i = Linker::new().instantiate(&mut store, &module).unwrap();
            let mut run = |name: &str, addr: i32| outcome(&mut store, i, name, &[Val::I32(addr)]);
            let end = 65536;
            // The last aligned access inside, the first aligned one past the end, and
            // misaligned ones inside and past the end (alignment is checked first).
            assert_eq!(run("load32", end - 4), Ok(vec![Val::I32(0)]));
            assert_eq!(run("load32", end), Err(TrapCode::MemoryOutOfBounds));
            assert_eq!(run("load32", end - 2), Err(TrapCode::UnalignedAtomic));
            assert_eq!(run("load32", end + 2), Err(TrapCode::UnalignedAtomic));
            // The offset counts: 8 + addr must be 8-aligned and inside.
            assert_eq!(run("load64", end - 16), Ok(vec![Val::I64(0)]));
            assert_eq!(run("load64", end - 8), Err(TrapCode::MemoryOutOfBounds));
            assert_eq!(run("load64", 4), Err(TrapCode::UnalignedAtomic));
            assert_eq!(run("store16", end - 2), Ok(vec![]));
            assert_eq!(run("store16", 1), Err(TrapCode::UnalignedAtomic));
            // Narrow forms read zero-extended and write only their width.
            assert_eq!(
                run("load32", end - 4),
                Ok(vec![Val::I32(0xffff_0000u32 as i32)])
            );
            assert_eq!(run("rmw8", end - 1), Ok(vec![Val::I32(0xff)]));
            assert_eq!(run("rmw8", end - 1), Ok(vec![Val::I32(0xfe)]));
            assert_eq!(run("rmw8", end), Err(TrapCode::MemoryOutOfBounds));
            assert_eq!(run("xchg64", 8), Ok(vec![Val::I64(0)]));
            assert_eq!(run("xchg64", 8), Ok(vec![Val::I64(5)]));
            assert_eq!(run("xchg64", 12), Err(TrapCode::UnalignedAtomic));
            // cmpxchg compares with the expected value wrapped to 16 bits.
            let cmp = |s: &mut Store, expected: i32| {
                outcome(s, i, "cmpxchg16", &[Val::I32(32), Val::I32(expected)])
            };
            assert_eq!(cmp(&mut store, 1), Ok(vec![Val::I32(0)]));
            assert_eq!(cmp(&mut store, 0x7777_0000), Ok(vec![Val::I32(0)]));
            assert_eq!(cmp(&mut store, 0), Ok(vec![Val::I32(0x1234)]));
        }
    }
}

/// Accesses that change nothing and whose result is dropped: code generation turns such an
/// atomic read-modify-write into a fence that touches no memory on x86-64, so a guard page
/// cannot make it trap (fuzzer seed 6686); `notify` reads no memory either.
const DROPPED: &str = r#"(module
  (memory $shared 1 1 shared)
  (memory $empty 0 1)
  (func (export "add0") (param i32) (drop (i32.atomic.rmw.add $shared (local.get 0) (i32.const 0))))
  (func (export "sub0") (param i32) (drop (i64.atomic.rmw8.sub_u $empty (local.get 0) (i64.const 0))))
  (func (export "or0") (param i32) (drop (i32.atomic.rmw16.or_u $shared (local.get 0) (i32.const 0))))
  (func (export "xor0") (param i32) (drop (i64.atomic.rmw.xor $empty (local.get 0) (i64.const 0))))
  (func (export "and1") (param i32) (drop (i32.atomic.rmw.and $shared (local.get 0) (i32.const -1))))
  (func (export "load") (param i32) (drop (i64.atomic.load $empty (local.get 0))))
  (func (export "notify") (param i32) (drop (memory.atomic.notify $empty (local.get 0) (i32.const 0)))))"#;

#[test]
fn atomics_that_change_nothing_still_trap_out_of_bounds() {
    for bounds in [
        runtime_support::BoundsStrategy::GuardPages,
        runtime_support::BoundsStrategy::Explicit,
    ] {
        for opt_level in [OptLevel::O0, OptLevel::O2, OptLevel::O3] {
            let options = CompileOptions {
                opt_level,
                bounds,
                cpu: "x86-64-v2".into(),
                ..Default::default()
            };
            let d = tempfile::tempdir().unwrap();
            let module = load_wat(d.path(), "dropped", DROPPED, &options);
            let mut store = Store::new();
            let i = Linker::new().instantiate(&mut store, &module).unwrap();
            for (name, past_end) in [
                ("add0", 65536),
                ("sub0", 0),
                ("or0", 65536),
                ("xor0", 0),
                ("and1", 65536),
                ("load", 0),
                ("notify", 0),
            ] {
                let got = outcome(&mut store, i, name, &[Val::I32(past_end)]);
                let build = format!("{name} at {past_end}, {opt_level:?} {bounds:?}");
                assert_eq!(got, Err(TrapCode::MemoryOutOfBounds), "{build}");
            }
            assert_eq!(
                outcome(&mut store, i, "add0", &[Val::I32(65532)]),
                Ok(vec![])
            );
        }
    }
}

#[test]
fn wait_and_notify_keep_their_contract() {
    let d = tempfile::tempdir().unwrap();
    let module = load_wat(d.path(), "wait", ACCESSES, &CompileOptions::default());
    let mut store = Store::new();
    let i = Linker::new().instantiate(&mut store, &module).unwrap();
    let wait = |s: &mut Store, expected: i32, timeout: i64| {
        outcome(
            s,
            i,
            "wait32",
            &[Val::I32(0), Val::I32(expected), Val::I64(timeout)],
        )
    };
    // Not the expected value: 1 at once, even with no timeout.
    assert_eq!(wait(&mut store, 5, -1), Ok(vec![Val::I32(1)]));
    // The expected value and nobody to notify: 2 once the timeout has passed.
    let t0 = std::time::Instant::now();
    assert_eq!(wait(&mut store, 0, 20_000_000), Ok(vec![Val::I32(2)]));
    assert!(t0.elapsed() >= std::time::Duration::from_millis(20));
    assert_eq!(
        outcome(&mut store, i, "notify", &[Val::I32(0)]),
        Ok(vec![Val::I32(0)])
    );
    assert_eq!(
        outcome(
            &mut store,
            i,
            "wait32",
            &[Val::I32(2), Val::I32(0), Val::I64(0)]
        ),
        Err(TrapCode::UnalignedAtomic)
    );
    // A memory that is not shared can never be notified by another thread.
    assert_eq!(
        outcome(&mut store, i, "wait_plain", &[]),
        Err(TrapCode::ExpectedSharedMemory)
    );
    // The host gets no slice of a shared memory: other threads change it.
    let m = store.get_memory(i, "memory").unwrap();
    assert!(matches!(store.memory_data(m), Err(Error::Usage(_))));
}

const WORKER: &str = r#"(module
  (import "env" "memory" (memory 1 4 shared))
  (func (export "add") (param $n i32)
    (loop $l
      (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "get") (result i32) (i32.atomic.load (i32.const 0)))
  (func (export "grow") (result i32) (memory.grow (i32.const 1)))
  (func (export "size") (result i32) (memory.size))
  (func (export "last") (result i32) (i32.atomic.load (i32.sub (i32.mul (memory.size)
    (i32.const 65536)) (i32.const 4)))))"#;

#[test]
fn one_shared_memory_serves_stores_on_several_host_threads() {
    let d = tempfile::tempdir().unwrap();
    let module = load_wat(d.path(), "worker", WORKER, &CompileOptions::default());
    let mut store = Store::new();
    let m = store.shared_memory_new(1, 4).unwrap();
    let shared: SharedMemory = store.shared_memory(m).unwrap().unwrap();
    let mut linker = Linker::new();
    linker.define("env", "memory", Extern::Memory(m));
    let main = linker.instantiate(&mut store, &module).unwrap();
    let module = Arc::new(module);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (module, shared) = (module.clone(), shared.clone());
            std::thread::spawn(move || {
                let mut store = Store::new();
                let m = store.import_shared_memory(&shared);
                let mut linker = Linker::new();
                linker.define("env", "memory", Extern::Memory(m));
                let i = linker.instantiate(&mut store, &module).unwrap();
                let add = store.get_func(i, "add").unwrap();
                store.call(add, &[Val::I32(250_000)]).unwrap();
                let grow = store.get_func(i, "grow").unwrap();
                store.call(grow, &[]).unwrap()
            })
        })
        .collect();
    let mut old_sizes: Vec<i32> = threads
        .into_iter()
        .map(|t| match t.join().unwrap()[..] {
            [Val::I32(v)] => v,
            ref other => panic!("{other:?}"),
        })
        .collect();
    old_sizes.sort();
    // Every increment counted; the growths were serialized (each saw the one before), the
    // last one failed at the maximum, and the main thread's instance sees it all.
    let call = |store: &mut Store, name: &str| {
        let f = store.get_func(main, name).unwrap();
        store.call(f, &[]).unwrap()
    };
    assert_eq!(call(&mut store, "get"), vec![Val::I32(1_000_000)]);
    assert_eq!(old_sizes, vec![-1, 1, 2, 3]);
    assert_eq!(call(&mut store, "size"), vec![Val::I32(4)]);
    assert_eq!(call(&mut store, "last"), vec![Val::I32(0)]);
    assert_eq!(shared.pages(), 4);
    let ty = store.memory_type(m).unwrap();
    assert!(ty.shared && !ty.memory64);
    assert_eq!((ty.initial, ty.maximum), (4, Some(4)));
    // The host reads and writes a shared memory by copying, never through a slice.
    let mut word = [0u8; 4];
    shared.read(0, &mut word).unwrap();
    assert_eq!(u32::from_le_bytes(word), 1_000_000);
    shared.write(0, &7u32.to_le_bytes()).unwrap();
    assert_eq!(call(&mut store, "get"), vec![Val::I32(7)]);
    assert!(shared.read(4 * 65536 - 2, &mut word).is_none());
    assert!(shared.write(u64::MAX, &word).is_none());
}

fn wrun_counter(spawn_arg: Option<i32>) -> std::process::Output {
    let d = tempfile::tempdir().unwrap();
    let mut wat =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("threads/counter.wat"))
            .unwrap();
    if let Some(arg) = spawn_arg {
        wat = wat.replace(
            "(call $spawn (local.get $i))",
            &format!("(call $spawn (i32.const {arg}))"),
        );
    }
    let so = compile_with_waotc(d.path(), &wat);
    Command::new(binary("wrun")).arg(&so).output().unwrap()
}

/// `wat` compiled by the `waotc` binary into `dir`; the artifact's path.
fn compile_with_waotc(dir: &Path, wat: &str) -> std::path::PathBuf {
    let wasm = dir.join("m.wasm");
    std::fs::write(&wasm, wat::parse_str(wat).unwrap()).unwrap();
    let so = dir.join("m.so");
    let c = Command::new(binary("waotc"))
        .arg(&wasm)
        .arg(&so)
        .output()
        .unwrap();
    assert!(c.status.success(), "{}", String::from_utf8_lossy(&c.stderr));
    so
}

#[test]
fn wasi_threads_count_together_and_end_the_process_on_a_trap_or_exit() {
    for _ in 0..5 {
        let o = wrun_counter(None);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(String::from_utf8_lossy(&o.stdout), "400000\n");
    }
    let o = wrun_counter(Some(99));
    assert_eq!(o.status.code(), Some(134));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("trap in a spawned thread: unreachable"),
        "{err}"
    );
    assert_eq!(wrun_counter(Some(98)).status.code(), Some(7));
}

/// Runs `wrun` on `wat` (a file in tests/threads) with stdin a pipe no one writes; its output
/// and how long it took, killing it after `limit`.
fn wrun_with_idle_stdin(file: &str, limit: Duration) -> (std::process::Output, Duration) {
    let d = tempfile::tempdir().unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("threads")
        .join(file);
    let so = compile_with_waotc(d.path(), &std::fs::read_to_string(path).unwrap());
    let t0 = Instant::now();
    let mut child = Command::new(binary("wrun"))
        .arg(&so)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _idle_stdin = child.stdin.take();
    while child.try_wait().unwrap().is_none() && t0.elapsed() < limit {
        std::thread::sleep(Duration::from_millis(20));
    }
    let elapsed = t0.elapsed();
    child.kill().ok();
    (child.wait_with_output().unwrap(), elapsed)
}

#[test]
fn a_sleeping_or_blocked_thread_does_not_hold_up_other_threads_wasi_calls() {
    let (o, elapsed) = wrun_with_idle_stdin("blocking.wat", Duration::from_secs(20));
    assert!(o.status.success(), "{o:?}");
    assert_eq!(String::from_utf8_lossy(&o.stdout), "main\n");
    // The sleeping thread would take 3 s and the reading one forever.
    assert!(elapsed < Duration::from_millis(2500), "took {elapsed:?}");
}
