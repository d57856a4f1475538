//! The embedding API end to end: host functions, imports and exports, traps as values.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use waot::{Error, Extern, GlobalType, Linker, Store, Trap, TrapCode, Val, ValType};
use waot_compiler::CompileOptions;
use waot_tests::load_wat;

fn dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn trap_code(r: waot::Result<Vec<Val>>) -> Option<TrapCode> {
    match r {
        Err(Error::Trap(t)) => t.code,
        other => panic!("expected a trap, got {other:?}"),
    }
}

const ARITH: &str = r#"
(module
  (memory (export "memory") 1 2)
  (global $counter (export "counter") (mut i32) (i32.const 0))
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "swap") (param i64 f64) (result f64 i64) (local.get 1) (local.get 0))
  (func $rec (export "recurse") (param i32) (result i32)
    (i32.add (call $rec (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func (export "bump") (result i32)
    (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
    (global.get $counter))
)"#;

#[test]
fn traps_are_values_and_instances_stay_usable() {
    let d = dir();
    let module = load_wat(d.path(), "arith", ARITH, &CompileOptions::default());
    let mut store = Store::new();
    let inst = Linker::new().instantiate(&mut store, &module).unwrap();
    let div = store.get_func(inst, "div").unwrap();
    let load = store.get_func(inst, "load").unwrap();
    let recurse = store.get_func(inst, "recurse").unwrap();
    assert_eq!(
        trap_code(store.call(div, &[Val::I32(1), Val::I32(0)])),
        Some(TrapCode::IntegerDivisionByZero)
    );
    assert_eq!(
        trap_code(store.call(div, &[Val::I32(i32::MIN), Val::I32(-1)])),
        Some(TrapCode::IntegerOverflow)
    );
    assert_eq!(
        trap_code(store.call(load, &[Val::I32(65534)])),
        Some(TrapCode::MemoryOutOfBounds)
    );
    assert_eq!(
        trap_code(store.call(recurse, &[Val::I32(0)])),
        Some(TrapCode::StackOverflow)
    );
    assert_eq!(
        store.call(div, &[Val::I32(7), Val::I32(-2)]).unwrap(),
        vec![Val::I32(-3)]
    );
    let swap = store.get_func(inst, "swap").unwrap();
    assert_eq!(
        store.call(swap, &[Val::I64(5), Val::f64(2.5)]).unwrap(),
        vec![Val::f64(2.5), Val::I64(5)]
    );
}

#[test]
fn trap_backtrace_names_functions() {
    let d = dir();
    let wat = r#"(module
      (func $inner (export "inner") (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0)))
      (func $outer (export "outer") (result i32) (i32.add (call $inner (i32.const 0)) (i32.const 1))))"#;
    let module = load_wat(
        d.path(),
        "bt",
        wat,
        &CompileOptions {
            opt_level: waot_compiler::OptLevel::O0,
            ..Default::default()
        },
    );
    let mut store = Store::new();
    let inst = Linker::new().instantiate(&mut store, &module).unwrap();
    let outer = store.get_func(inst, "outer").unwrap();
    let Err(Error::Trap(trap)) = store.call(outer, &[]) else {
        panic!("expected a trap")
    };
    let names: Vec<_> = trap
        .backtrace
        .iter()
        .map(|f| f.func_name.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        names,
        vec!["inner".to_string(), "outer".to_string()],
        "{trap:?}"
    );
}

#[test]
fn traps_in_several_threads_are_independent() {
    let d = dir();
    let module = load_wat(d.path(), "arith", ARITH, &CompileOptions::default());
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let module = module.clone();
            std::thread::spawn(move || {
                let mut store = Store::new();
                let inst = Linker::new().instantiate(&mut store, &module).unwrap();
                let div = store.get_func(inst, "div").unwrap();
                let load = store.get_func(inst, "load").unwrap();
                for i in 0..200 {
                    let oob = store.call(load, &[Val::I32(70000 + i)]);
                    assert_eq!(trap_code(oob), Some(TrapCode::MemoryOutOfBounds));
                    let zero = store.call(div, &[Val::I32(i), Val::I32(0)]);
                    assert_eq!(trap_code(zero), Some(TrapCode::IntegerDivisionByZero));
                    let ok = store
                        .call(div, &[Val::I32(i * 6 + t), Val::I32(3)])
                        .unwrap();
                    assert_eq!(ok, vec![Val::I32((i * 6 + t) / 3)]);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn host_functions_see_caller_memory_and_can_trap() {
    let d = dir();
    let wat = r#"(module
      (import "env" "log" (func $log (param i32 i32)))
      (import "env" "fail" (func $fail (param i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 16) "hello, host")
      (func (export "run") (call $log (i32.const 16) (i32.const 11)))
      (func (export "try") (param i32) (result i32) (i32.add (call $fail (local.get 0)) (i32.const 1))))"#;
    let module = load_wat(d.path(), "host", wat, &CompileOptions::default());
    let mut store = Store::new();
    let seen = Arc::new(std::sync::Mutex::new(String::new()));
    let seen2 = seen.clone();
    let log = store.func_new(
        &[ValType::I32, ValType::I32],
        &[],
        move |caller, args, _| {
            let (Val::I32(ptr), Val::I32(len)) = (args[0], args[1]) else {
                unreachable!()
            };
            let Some(Extern::Memory(mem)) = caller.get_export("memory") else {
                return Err(Trap::host("no memory"));
            };
            let bytes = &caller.store.memory_data(mem).unwrap()[ptr as usize..(ptr + len) as usize];
            *seen2.lock().unwrap() = String::from_utf8_lossy(bytes).into_owned();
            Ok(())
        },
    );
    let fail = store.func_new(&[ValType::I32], &[ValType::I32], |_, args, results| {
        if args[0] == Val::I32(0) {
            return Err(Trap::host("refused zero"));
        }
        results[0] = args[0];
        Ok(())
    });
    let mut linker = Linker::new();
    linker
        .define("env", "log", Extern::Func(log))
        .define("env", "fail", Extern::Func(fail));
    let inst = linker.instantiate(&mut store, &module).unwrap();
    let run = store.get_func(inst, "run").unwrap();
    store.call(run, &[]).unwrap();
    assert_eq!(*seen.lock().unwrap(), "hello, host");
    let try_ = store.get_func(inst, "try").unwrap();
    assert_eq!(
        store.call(try_, &[Val::I32(41)]).unwrap(),
        vec![Val::I32(42)]
    );
    match store.call(try_, &[Val::I32(0)]) {
        Err(Error::Trap(t)) => assert_eq!((t.code, t.message.as_str()), (None, "refused zero")),
        other => panic!("{other:?}"),
    }
    assert_eq!(store.call(try_, &[Val::I32(1)]).unwrap(), vec![Val::I32(2)]);
}

#[test]
fn host_functions_can_reenter_guest_code() {
    let d = dir();
    let wat = r#"(module
      (import "env" "twice" (func $twice (param i32) (result i32)))
      (func (export "double") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
      (func (export "crash") (param i32) (result i32) (i32.div_u (local.get 0) (i32.const 0)))
      (func (export "quad") (param i32) (result i32) (call $twice (local.get 0))))"#;
    let module = load_wat(d.path(), "reenter", wat, &CompileOptions::default());
    let mut store = Store::new();
    let calls = Arc::new(AtomicU32::new(0));
    let calls2 = calls.clone();
    let twice = store.func_new(
        &[ValType::I32],
        &[ValType::I32],
        move |caller, args, results| {
            calls2.fetch_add(1, Ordering::SeqCst);
            let name = if args[0] == Val::I32(-1) {
                "crash"
            } else {
                "double"
            };
            let Some(Extern::Func(f)) = caller.get_export(name) else {
                unreachable!()
            };
            let once = caller
                .store
                .call(f, args)
                .map_err(|e| Trap::host(e.to_string()))?;
            results[0] = caller
                .store
                .call(f, &once)
                .map_err(|e| Trap::host(e.to_string()))?[0];
            Ok(())
        },
    );
    let mut linker = Linker::new();
    linker.define("env", "twice", Extern::Func(twice));
    let inst = linker.instantiate(&mut store, &module).unwrap();
    let quad = store.get_func(inst, "quad").unwrap();
    assert_eq!(
        store.call(quad, &[Val::I32(5)]).unwrap(),
        vec![Val::I32(20)]
    );
    match store.call(quad, &[Val::I32(-1)]) {
        Err(Error::Trap(t)) => assert!(t.message.contains("integer divide by zero"), "{t:?}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(store.call(quad, &[Val::I32(1)]).unwrap(), vec![Val::I32(4)]);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[test]
fn mutable_globals_and_tables_are_shared_across_instances() {
    let d = dir();
    let a = load_wat(
        d.path(),
        "a",
        r#"(module
      (global (export "g") (mut i64) (i64.const 10))
      (type $t (func (param i32) (result i32)))
      (table (export "tab") 2 funcref)
      (elem (i32.const 0) $inc $neg)
      (func $inc (type $t) (i32.add (local.get 0) (i32.const 1)))
      (func $neg (param f32) (result f32) (f32.neg (local.get 0))))"#,
        &CompileOptions::default(),
    );
    let b = load_wat(
        d.path(),
        "b",
        r#"(module
      (import "a" "g" (global $g (mut i64)))
      (import "a" "tab" (table 2 funcref))
      (type $same (func (param i32) (result i32)))
      (func (export "add") (param i64) (global.set $g (i64.add (global.get $g) (local.get 0))))
      (func (export "call") (param i32 i32) (result i32) (call_indirect (type $same) (local.get 1) (local.get 0))))"#,
        &CompileOptions::default(),
    );
    let mut store = Store::new();
    let ia = Linker::new().instantiate(&mut store, &a).unwrap();
    let mut linker = Linker::new();
    linker.define_instance(&store, "a", ia);
    let ib = linker.instantiate(&mut store, &b).unwrap();
    let add = store.get_func(ib, "add").unwrap();
    store.call(add, &[Val::I64(5)]).unwrap();
    let g = store.get_global(ia, "g").unwrap();
    assert_eq!(store.global_get(g).unwrap(), Val::I64(15));
    store.global_set(g, Val::I64(100)).unwrap();
    store.call(add, &[Val::I64(1)]).unwrap();
    assert_eq!(store.global_get(g).unwrap(), Val::I64(101));
    let call = store.get_func(ib, "call").unwrap();
    assert_eq!(
        store.call(call, &[Val::I32(0), Val::I32(41)]).unwrap(),
        vec![Val::I32(42)]
    );
    assert_eq!(
        trap_code(store.call(call, &[Val::I32(1), Val::I32(0)])),
        Some(TrapCode::BadSignature)
    );
    assert_eq!(
        trap_code(store.call(call, &[Val::I32(2), Val::I32(0)])),
        Some(TrapCode::UndefinedElement)
    );
}

#[test]
fn instantiation_reports_link_errors_and_start_traps() {
    let d = dir();
    let needs = load_wat(
        d.path(),
        "needs",
        r#"(module (import "env" "f" (func (param i32))))"#,
        &CompileOptions::default(),
    );
    let mut store = Store::new();
    match Linker::new().instantiate(&mut store, &needs) {
        Err(Error::Link(m)) => assert!(m.contains("unknown import `env`.`f`"), "{m}"),
        other => panic!("{other:?}"),
    }
    let wrong = store.func_new(&[ValType::I64], &[], |_, _, _| Ok(()));
    let mut linker = Linker::new();
    linker.define("env", "f", Extern::Func(wrong));
    match linker.instantiate(&mut store, &needs) {
        Err(Error::Link(m)) => assert!(m.contains("incompatible import type"), "{m}"),
        other => panic!("{other:?}"),
    }
    let start = load_wat(
        d.path(),
        "start",
        r#"(module (func $s unreachable) (start $s))"#,
        &CompileOptions::default(),
    );
    match Linker::new().instantiate(&mut store, &start) {
        Err(Error::Trap(t)) => assert_eq!(t.code, Some(TrapCode::Unreachable)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn host_reads_and_writes_memory_and_globals() {
    let d = dir();
    let module = load_wat(d.path(), "arith", ARITH, &CompileOptions::default());
    let mut store = Store::new();
    let inst = Linker::new().instantiate(&mut store, &module).unwrap();
    let mem = store.get_memory(inst, "memory").unwrap();
    store.memory_data_mut(mem).unwrap()[100..104].copy_from_slice(&0x1234_5678u32.to_le_bytes());
    let load = store.get_func(inst, "load").unwrap();
    assert_eq!(
        store.call(load, &[Val::I32(100)]).unwrap(),
        vec![Val::I32(0x1234_5678)]
    );
    assert_eq!(store.memory_grow(mem, 1).unwrap(), 1);
    assert!(store.memory_grow(mem, 1).is_err(), "maximum is 2 pages");
    assert_eq!(
        store.call(load, &[Val::I32(65536 + 4)]).unwrap(),
        vec![Val::I32(0)]
    );
    let bump = store.get_func(inst, "bump").unwrap();
    store.call(bump, &[]).unwrap();
    let counter = store.get_global(inst, "counter").unwrap();
    assert_eq!(store.global_get(counter).unwrap(), Val::I32(1));
    let ty = GlobalType {
        content_type: ValType::I32,
        mutable: false,
        shared: false,
    };
    let constant = store.global_new(ty, Val::I32(3)).unwrap();
    assert!(store.global_set(constant, Val::I32(4)).is_err());
}
