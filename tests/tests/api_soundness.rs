//! Safe code using the embedding API cannot cause undefined behaviour (issue 12): every
//! handle carries its store's identity, values crossing the boundary are type-checked in both
//! directions, and what must not be forged cannot be built outside the crate (the
//! `compile_fail` examples in the `waot` crate's documentation). Each attempt here is an error
//! value.

use waot::{Error, Extern, Linker, Store, Trap, Val, ValType};
use waot_compiler::CompileOptions;
use waot_tests::load_wat;

const MODULE: &str = r#"(module
  (import "host" "make" (func $make (result funcref)))
  (import "host" "count" (func $count (result i32)))
  (type $ret7 (func (result i32)))
  (table $t 1 funcref)
  (memory (export "memory") 1)
  (global (export "g") (mut i32) (i32.const 5))
  (global (export "fg") (mut funcref) (ref.null func))
  (tag (export "e") (param i32))
  (func $seven (export "seven") (result i32) (i32.const 7))
  (func (export "id") (param funcref) (result funcref) (local.get 0))
  (func (export "exn_id") (param exnref) (result exnref) (local.get 0))
  (func (export "catch_ref") (result exnref)
    (block $h (result exnref)
      (try_table (catch_all_ref $h) (throw 0 (i32.const 1)))
      (unreachable)))
  ;; Calls whatever the host function returns, as a function of type $ret7.
  (func (export "call_made") (result i32)
    (table.set $t (i32.const 0) (call $make))
    (call_indirect $t (type $ret7) (i32.const 0)))
  (func (export "count") (result i32) (call $count)))"#;

struct Setup {
    store: Store,
    instance: waot::Instance,
}

/// An instance whose host function `make` returns `make_result` and `count` returns
/// `count_result`.
fn setup(make_result: Val, count_result: Val) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let module = load_wat(dir.path(), "m", MODULE, &CompileOptions::default());
    let mut store = Store::new();
    let make = store.func_new(
        &[],
        &[ValType::Ref(waot::RefType::FUNCREF)],
        move |_, _, r| {
            r[0] = make_result;
            Ok(())
        },
    );
    let count = store.func_new(&[], &[ValType::I32], move |_, _, r| {
        r[0] = count_result;
        Ok(())
    });
    let mut linker = Linker::new();
    linker.define("host", "make", Extern::Func(make));
    linker.define("host", "count", Extern::Func(count));
    let instance = linker.instantiate(&mut store, &module).unwrap();
    Setup { store, instance }
}

fn is_usage_error<T: std::fmt::Debug>(r: Result<T, Error>) {
    match r {
        Err(Error::Usage(m)) => assert!(m.contains("another store"), "{m}"),
        other => panic!("expected a usage error about another store, got {other:?}"),
    }
}

#[test]
fn handles_of_another_store_are_errors() {
    let mut a = setup(Val::FuncRef(None), Val::I32(1));
    let mut b = setup(Val::FuncRef(None), Val::I32(1));
    let seven_a = a.store.get_func(a.instance, "seven").unwrap();
    let memory_a = a.store.get_memory(a.instance, "memory").unwrap();
    let global_a = a.store.get_global(a.instance, "g").unwrap();
    let b_store = &mut b.store;
    is_usage_error(b_store.call(seven_a, &[]));
    is_usage_error(b_store.func_signature(seven_a));
    is_usage_error(b_store.typed::<(), i32>(seven_a).map(drop));
    is_usage_error(b_store.memory_data(memory_a).map(|d| d.len()));
    is_usage_error(b_store.memory_grow(memory_a, 1));
    is_usage_error(b_store.global_get(global_a));
    is_usage_error(b_store.global_set(global_a, Val::I32(1)));
    assert!(b_store.get_export(a.instance, "seven").is_none());
    // A function reference of store A as a value in store B.
    let fg_b = b.store.get_global(b.instance, "fg").unwrap();
    is_usage_error(b.store.global_set(fg_b, Val::FuncRef(Some(seven_a))));
    let id_b = b.store.get_func(b.instance, "id").unwrap();
    is_usage_error(b.store.call(id_b, &[Val::FuncRef(Some(seven_a))]));
    // Imports of another store's functions, memories and globals.
    let dir = tempfile::tempdir().unwrap();
    let importer = load_wat(
        dir.path(),
        "importer",
        r#"(module (import "a" "seven" (func (result i32))) (import "a" "memory" (memory 1)))"#,
        &CompileOptions::default(),
    );
    let mut linker = Linker::new();
    linker.define("a", "seven", Extern::Func(seven_a));
    linker.define("a", "memory", Extern::Memory(memory_a));
    is_usage_error(linker.instantiate(&mut b.store, &importer));
    // A typed function of store A called with store B.
    let typed = a.store.typed::<(), i32>(seven_a).unwrap();
    assert_eq!(typed.call(&mut a.store, ()).unwrap(), 7);
    let trap = typed.call(&mut b.store, ()).unwrap_err();
    assert!(trap.message.contains("store"), "{trap}");
}

#[test]
fn handles_outliving_their_store_are_errors() {
    let a = setup(Val::FuncRef(None), Val::I32(1));
    let seven = a.store.get_func(a.instance, "seven").unwrap();
    let memory = a.store.get_memory(a.instance, "memory").unwrap();
    drop(a);
    // Stores made later never reuse the identity.
    let mut later = setup(Val::FuncRef(None), Val::I32(1));
    is_usage_error(later.store.call(seven, &[]));
    is_usage_error(later.store.memory_data(memory).map(|d| d.len()));
}

#[test]
fn exception_references_of_another_store_are_errors() {
    let mut a = setup(Val::FuncRef(None), Val::I32(1));
    let mut b = setup(Val::FuncRef(None), Val::I32(1));
    let catch_ref = a.store.get_func(a.instance, "catch_ref").unwrap();
    let exn = a.store.call(catch_ref, &[]).unwrap()[0];
    assert!(matches!(exn, Val::ExnRef(Some(_))));
    let exn_id_a = a.store.get_func(a.instance, "exn_id").unwrap();
    assert_eq!(a.store.call(exn_id_a, &[exn]).unwrap(), vec![exn]);
    let exn_id_b = b.store.get_func(b.instance, "exn_id").unwrap();
    is_usage_error(b.store.call(exn_id_b, &[exn]));
    drop(a);
    is_usage_error(b.store.call(exn_id_b, &[exn]));
}

/// A host function's results go to compiled code, which trusts their types.
#[test]
fn host_results_are_checked_against_the_declared_types() {
    // An i64 where a funcref is declared: a forged reference that call_indirect would call.
    let mut s = setup(Val::I64(0x4141_4141), Val::I32(1));
    let call_made = s.store.get_func(s.instance, "call_made").unwrap();
    match s.store.call(call_made, &[]) {
        Err(Error::Trap(Trap {
            code: None,
            message,
            ..
        })) => {
            assert!(message.contains("host function results"), "{message}")
        }
        other => panic!("expected a trap, got {other:?}"),
    }
    // A function reference of another store.
    let other = setup(Val::FuncRef(None), Val::I32(1));
    let foreign = other.store.get_func(other.instance, "seven").unwrap();
    let mut s = setup(Val::FuncRef(Some(foreign)), Val::I32(1));
    let call_made = s.store.get_func(s.instance, "call_made").unwrap();
    assert!(matches!(s.store.call(call_made, &[]), Err(Error::Trap(_))));
    // A float where an i32 is declared.
    let mut s = setup(Val::FuncRef(None), Val::f32(1.5));
    let count = s.store.get_func(s.instance, "count").unwrap();
    assert!(matches!(s.store.call(count, &[]), Err(Error::Trap(_))));
    // And the right types work: the host returns the instance's own function.
    let mut s = setup(Val::FuncRef(None), Val::I32(3));
    let count = s.store.get_func(s.instance, "count").unwrap();
    assert_eq!(s.store.call(count, &[]).unwrap(), vec![Val::I32(3)]);
}
