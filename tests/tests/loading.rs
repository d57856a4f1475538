//! Each loaded module runs exactly the native code it checked (issue 12): `dlopen` returns an
//! already loaded library for a name it has seen, so loading must never depend on a name that
//! another module has used. And there is no limit on how many modules a process loads.

use std::path::Path;
use std::process::Command;
use waot::{Artifact, Error, Linker, Module, Store, TrapCode, TrustPolicy, Val};
use waot_tests::binary;

/// A module whose export `answer` returns `n`, and whose export `crash` faults (an access
/// outside its memory: a trap only if the signal handler knows the code is guest code).
fn source(n: i32) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module (memory 1)
          (func (export "answer") (result i32) (i32.const {n}))
          (func (export "crash") (result i32) (i32.load (i32.const 70000))))"#
    ))
    .unwrap()
}

const KEY: &str = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";

/// Compiles `wasm` with the `waotc` command into `output` (a `.so`, or a universal `.wasm`
/// signed with `KEY`).
fn waotc(dir: &Path, wasm: &[u8], output: &Path) {
    let input = dir.join("input.wasm");
    std::fs::write(&input, wasm).unwrap();
    let o = Command::new(binary("waotc"))
        .env("WAOT_KEY", KEY)
        .arg(&input)
        .arg(output)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn answer(module: &Module) -> i32 {
    let mut store = Store::new();
    let instance = Linker::new().instantiate(&mut store, module).unwrap();
    let f = store.get_func(instance, "answer").unwrap();
    match store.call(f, &[]).unwrap()[..] {
        [Val::I32(v)] => v,
        ref other => panic!("unexpected {other:?}"),
    }
}

fn trusted_native(path: &Path) -> Module {
    let policy = TrustPolicy {
        keys: vec![runtime_support::trust::parse_hex_key(KEY).unwrap()],
        trust_any: false,
    };
    let artifact = Artifact::open(path).unwrap();
    match waot::Module::from_artifact(&artifact, &policy) {
        Ok(m) => m,
        Err(e) => panic!("{}: not native: {e:?}", path.display()),
    }
}

#[test]
fn two_universal_modules_alive_together_each_run_their_own_code() {
    let dir = tempfile::tempdir().unwrap();
    let modules: Vec<(i32, Module)> = (1..=4)
        .map(|n| {
            let path = dir.path().join(format!("u{n}.wasm"));
            waotc(dir.path(), &source(n), &path);
            (n, trusted_native(&path))
        })
        .collect();
    for (n, m) in &modules {
        assert_eq!(answer(m), *n, "universal module {n}");
    }
    // Dropping one and loading another reuses descriptor numbers: still its own code.
    let (_, first) = modules.into_iter().next().unwrap();
    drop(first);
    let path = dir.path().join("u5.wasm");
    waotc(dir.path(), &source(5), &path);
    assert_eq!(answer(&trusted_native(&path)), 5);
}

#[test]
fn a_rebuilt_shared_object_at_the_same_path_loads_as_itself() {
    let dir = tempfile::tempdir().unwrap();
    let so = dir.path().join("app.so");
    waotc(dir.path(), &source(1), &so);
    let old = Module::from_file(&so).unwrap();
    waotc(dir.path(), &source(2), &so);
    let new = Module::from_file(&so).unwrap();
    assert_eq!((answer(&old), answer(&new)), (1, 2));
    // And the same file loaded twice is the same code, shared.
    let again = Module::from_file(&so).unwrap();
    assert_eq!(answer(&again), 2);
    assert_eq!(answer(&old), 1);
    // Rewritten in place (same inode) while `new` is loaded: the next load runs what it
    // checked, from a private copy. (`new` itself now maps changed pages and is not called.)
    let other = dir.path().join("other.so");
    waotc(dir.path(), &source(3), &other);
    std::fs::write(&so, std::fs::read(&other).unwrap()).unwrap();
    assert_eq!(answer(&Module::from_file(&so).unwrap()), 3);
    drop((new, again));
}

/// Loads `so` `count` times (all alive together when `keep`) and then traps in the last one.
fn trap_after_loading(so: &Path, count: usize, keep: bool) {
    let mut alive = Vec::new();
    let mut last = None;
    for _ in 0..count {
        let m = Module::from_file(so).unwrap();
        if keep {
            alive.push(m.clone());
        }
        last = Some(m);
    }
    let module = last.unwrap();
    let mut store = Store::new();
    let instance = Linker::new().instantiate(&mut store, &module).unwrap();
    let crash = store.get_func(instance, "crash").unwrap();
    match store.call(crash, &[]) {
        Err(Error::Trap(t)) => assert_eq!(t.code, Some(TrapCode::MemoryOutOfBounds)),
        other => panic!("expected a trap, got {other:?}"),
    }
    drop(alive);
}

#[test]
fn a_trap_in_the_hundred_thousandth_module_is_still_a_trap() {
    let dir = tempfile::tempdir().unwrap();
    let so = dir.path().join("m.so");
    waotc(dir.path(), &source(7), &so);
    trap_after_loading(&so, 100_000, false);
    trap_after_loading(&so, 100_000, true);
}

/// Universal modules are each loaded as their own library (a sealed memory file per load), so
/// these are 4,200 distinct code ranges alive together: more than the registry's old fixed
/// 4,096 slots, after which a trap in guest code crashed the host.
#[test]
fn a_trap_with_4200_distinct_modules_alive_is_still_a_trap() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("u.wasm");
    waotc(dir.path(), &source(3), &path);
    let modules: Vec<Module> = (0..4200).map(|_| trusted_native(&path)).collect();
    for module in [&modules[0], &modules[4199]] {
        let mut store = Store::new();
        let instance = Linker::new().instantiate(&mut store, module).unwrap();
        let crash = store.get_func(instance, "crash").unwrap();
        match store.call(crash, &[]) {
            Err(Error::Trap(t)) => assert_eq!(t.code, Some(TrapCode::MemoryOutOfBounds)),
            other => panic!("expected a trap, got {other:?}"),
        }
        assert_eq!(answer(module), 3);
    }
}
