//! Exceptions across the host boundary and tail calls, through the embedding API.

use waot::{Error, Extern, Linker, Store, Trap, Val, ValType};
use waot_compiler::CompileOptions;
use waot_tests::load_wat;

const EXN: &str = r#"
(module
  (import "host" "tag" (tag $host (param i32)))
  (import "host" "throw" (func $host_throw (param i32)))
  (import "host" "reenter" (func $reenter (param i32) (result i32)))
  (tag $pair (export "pair") (param i32 f64))
  (func $throw_pair (export "throw_pair") (param i32 f64)
    (throw $pair (local.get 0) (local.get 1)))
  ;; A host throw caught by wasm: payload + 1.
  (func (export "catch_host") (param i32) (result i32)
    (block $h (result i32)
      (try_table (catch $host $h) (call $host_throw (local.get 0)))
      (i32.const -1))
    (i32.add (i32.const 1)))
  ;; The host calls back into "throw_pair" and lets the exception through; caught here.
  (func (export "through_host") (param i32) (result i32)
    (block $h (result i32 f64)
      (try_table (catch $pair $h) (drop (call $reenter (local.get 0))))
      (return (i32.const -1)))
    (drop))
  ;; Many throws and catches in a loop, with a function frame in between each time.
  (func (export "loop") (param $n i32) (result i32) (local $sum i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (block $h (result i32 f64)
          (try_table (catch $pair $h)
            (call $throw_pair (local.get $n) (f64.const 0.5)))
          (unreachable))
        (drop)
        (local.set $sum (i32.add (local.get $sum)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $sum))
)"#;

/// An instance of `module` with the host's tag and functions (`reenter` only if given).
fn link(
    store: &mut Store,
    module: &waot::Module,
    tag: waot::Tag,
    throw: waot::Func,
    reenter: Option<waot::Func>,
) -> waot::Instance {
    let mut linker = Linker::new();
    linker.define("host", "tag", Extern::Tag(tag));
    linker.define("host", "throw", Extern::Func(throw));
    if let Some(reenter) = reenter {
        linker.define("host", "reenter", Extern::Func(reenter));
    }
    linker.instantiate(store, module).unwrap()
}

#[test]
fn exceptions_cross_host_frames_in_both_directions() {
    let d = tempfile::tempdir().unwrap();
    let module = load_wat(d.path(), "exn", EXN, &CompileOptions::default());
    let mut store = Store::new();
    let tag = store.tag_new(&[ValType::I32]);
    let throw = store.func_new(&[ValType::I32], &[], move |caller, args, _| {
        Err(caller.store.exception_new(tag, args).unwrap())
    });
    let reenter = store.func_new(&[ValType::I32], &[ValType::I32], |caller, args, _| {
        let Some(Extern::Func(f)) = caller.get_export("throw_pair") else {
            unreachable!()
        };
        match caller.store.call(f, &[args[0], Val::f64(2.5)]) {
            // The exception comes back to the host as a value, which it throws on.
            Err(Error::Trap(t)) => {
                let e = t.exception().expect("an exception");
                assert_eq!(e.payload, vec![args[0], Val::f64(2.5)]);
                Err(t)
            }
            other => panic!("expected an exception, got {other:?}"),
        }
    });
    let inst = link(&mut store, &module, tag, throw, Some(reenter));
    let call = |store: &mut Store, name: &str, args: &[Val]| {
        let f = store.get_func(inst, name).unwrap();
        store.call(f, args)
    };

    assert_eq!(
        call(&mut store, "catch_host", &[Val::I32(41)]).unwrap(),
        vec![Val::I32(42)]
    );
    assert_eq!(
        call(&mut store, "through_host", &[Val::I32(7)]).unwrap(),
        vec![Val::I32(7)]
    );
    // Uncaught: the embedder gets the tag and the payload.
    let Some(Extern::Tag(pair)) = store.get_export(inst, "pair") else {
        panic!("tag export")
    };
    match call(&mut store, "throw_pair", &[Val::I32(3), Val::f64(-1.0)]) {
        Err(Error::Trap(t @ Trap { code: None, .. })) => {
            let e = t.exception().expect("an exception");
            assert_eq!(e.tag, Some(pair));
            assert_eq!(e.payload, vec![Val::I32(3), Val::f64(-1.0)]);
        }
        other => panic!("expected an uncaught exception, got {other:?}"),
    }
    // The typed call decodes an uncaught exception too.
    let typed = store
        .typed::<(i32, f64), ()>(store.get_func(inst, "throw_pair").unwrap())
        .unwrap();
    let e = typed.call(&mut store, (5, 0.25)).unwrap_err();
    let e = e.exception().expect("an exception");
    assert_eq!(e.tag, Some(pair));
    assert_eq!(e.payload, vec![Val::I32(5), Val::f64(0.25)]);
    // 1 + 2 + ... + 10000, every term thrown and caught; the store reclaims them as it goes
    // and, collected now, holds only the three exceptions that reached the host (the one the
    // host made was caught by wasm, so it is gone).
    let collections = store.exception_collections();
    assert_eq!(
        call(&mut store, "loop", &[Val::I32(10_000)]).unwrap(),
        vec![Val::I32(50_005_000)]
    );
    assert!(store.exception_collections() > collections);
    store.collect_exceptions();
    assert_eq!(store.live_exceptions(), 3);
    // The instance stays usable after all of it.
    assert_eq!(
        call(&mut store, "catch_host", &[Val::I32(1)]).unwrap(),
        vec![Val::I32(2)]
    );
}

/// A host function that throws on every call leaves nothing behind once its exceptions are
/// caught: the store keeps a host-made exception only until it is thrown. A clone of one
/// thrown already is refused (its object may be gone), with a message.
#[test]
fn host_made_exceptions_are_freed_once_caught() {
    let d = tempfile::tempdir().unwrap();
    let module = load_wat(d.path(), "exn", EXN, &CompileOptions::default());
    let mut store = Store::new();
    let tag = store.tag_new(&[ValType::I32]);
    let kept = std::sync::Arc::new(std::sync::Mutex::new(None::<Trap>));
    let keep = kept.clone();
    let throw = store.func_new(&[ValType::I32], &[], move |caller, args, _| {
        if args[0] == Val::I32(-1) {
            // Throws again what an earlier call threw.
            return Err(keep.lock().unwrap().clone().expect("a kept exception"));
        }
        let exception = caller.store.exception_new(tag, args).unwrap();
        *keep.lock().unwrap() = Some(exception.clone());
        Err(exception)
    });
    let reenter = store.func_new(&[ValType::I32], &[ValType::I32], |_, _, _| Ok(()));
    let inst = link(&mut store, &module, tag, throw, Some(reenter));
    let catch_host = store.get_func(inst, "catch_host").unwrap();
    for i in 0..5_000 {
        assert_eq!(
            store.call(catch_host, &[Val::I32(i)]).unwrap(),
            vec![Val::I32(i + 1)]
        );
    }
    assert!(
        store.live_exceptions() < 2_500,
        "{}",
        store.live_exceptions()
    );
    store.collect_exceptions();
    assert_eq!(store.live_exceptions(), 0);
    match store.call(catch_host, &[Val::I32(-1)]) {
        Err(Error::Trap(t)) => assert!(t.message.contains("thrown before"), "{t:?}"),
        other => panic!("expected a refusal, got {other:?}"),
    }

    // Another store refuses one, which stays throwable in its own store, once.
    let fresh = store.exception_new(tag, &[Val::I32(123)]).unwrap();
    *kept.lock().unwrap() = Some(fresh.clone());
    let mut other = Store::new();
    let other_tag = other.tag_new(&[ValType::I32]);
    let other_throw = other.func_new(&[ValType::I32], &[], move |_, _, _| Err(fresh.clone()));
    let other_reenter = other.func_new(&[ValType::I32], &[ValType::I32], |_, _, _| Ok(()));
    let other_inst = link(
        &mut other,
        &module,
        other_tag,
        other_throw,
        Some(other_reenter),
    );
    let other_catch = other.get_func(other_inst, "catch_host").unwrap();
    match other.call(other_catch, &[Val::I32(0)]) {
        Err(Error::Trap(t)) => assert!(t.message.contains("another store"), "{t:?}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(
        store.call(catch_host, &[Val::I32(-1)]).unwrap(),
        vec![Val::I32(124)]
    );
    assert!(store.call(catch_host, &[Val::I32(-1)]).is_err());
}

/// Once thrown, a host-made exception is kept as guest-thrown ones are: held as an `exnref`
/// in a local while thousands of other exceptions (of the same size, so freed memory would be
/// reused) force collections, it is rethrown intact; escaping to the host, it is kept.
#[test]
fn host_made_exceptions_live_while_wasm_or_the_host_holds_them() {
    let d = tempfile::tempdir().unwrap();
    let wat = r#"(module
      (import "host" "tag" (tag $host (param i32)))
      (import "host" "throw" (func $host_throw (param i32)))
      (tag $noise (param i32))
      (func $churn (param $n i32)
        (block $done
          (loop $l
            (br_if $done (i32.eqz (local.get $n)))
            (block $h (result i32)
              (try_table (catch $noise $h) (throw $noise (local.get $n)))
              (unreachable))
            (drop)
            (local.set $n (i32.sub (local.get $n) (i32.const 1)))
            (br $l))))
      (func (export "keep_and_rethrow") (param i32) (result i32) (local $e exnref)
        (local.set $e
          (block $h (result exnref)
            (try_table (catch_all_ref $h) (call $host_throw (local.get 0)))
            (unreachable)))
        (call $churn (i32.const 5000))
        (block $p (result i32)
          (try_table (catch $host $p) (throw_ref (local.get $e)))
          (unreachable)))
      (func (export "let_through") (param i32) (call $host_throw (local.get 0))))"#;
    let module = load_wat(d.path(), "held", wat, &CompileOptions::default());
    let mut store = Store::new();
    let tag = store.tag_new(&[ValType::I32]);
    let throw = store.func_new(&[ValType::I32], &[], move |caller, args, _| {
        Err(caller.store.exception_new(tag, args).unwrap())
    });
    let inst = link(&mut store, &module, tag, throw, None);
    let keep = store.get_func(inst, "keep_and_rethrow").unwrap();
    let collections = store.exception_collections();
    for i in 0..4 {
        assert_eq!(
            store.call(keep, &[Val::I32(70 + i)]).unwrap(),
            vec![Val::I32(70 + i)]
        );
    }
    assert!(store.exception_collections() > collections);
    let through = store.get_func(inst, "let_through").unwrap();
    let Err(Error::Trap(trap)) = store.call(through, &[Val::I32(9)]) else {
        panic!("expected the exception")
    };
    store.collect_exceptions();
    assert_eq!(store.live_exceptions(), 1, "the one the host holds");
    let exception = trap.exception().expect("an exception");
    assert_eq!(
        (exception.tag, &exception.payload[..]),
        (Some(tag), &[Val::I32(9)][..])
    );
}

#[test]
fn exception_payload_types_are_checked() {
    let mut store = Store::new();
    let tag = store.tag_new(&[ValType::I64]);
    assert!(store.exception_new(tag, &[Val::I32(1)]).is_err());
    assert!(store.exception_new(tag, &[Val::I64(1)]).is_ok());
}

#[test]
fn return_call_runs_in_constant_stack() {
    let d = tempfile::tempdir().unwrap();
    // Ten million mutually recursive tail calls through a table and directly; without real
    // tail calls this exhausts any stack.
    let wat = r#"(module
      (type $t (func (param i64 i64) (result i64)))
      (table funcref (elem $even $odd))
      (func $even (param $n i64) (param $acc i64) (result i64)
        (if (result i64) (i64.eqz (local.get $n))
          (then (local.get $acc))
          (else (return_call_indirect (type $t)
                  (i64.sub (local.get $n) (i64.const 1))
                  (i64.add (local.get $acc) (i64.const 2))
                  (i32.const 1)))))
      (func $odd (param $n i64) (param $acc i64) (result i64)
        (if (result i64) (i64.eqz (local.get $n))
          (then (local.get $acc))
          (else (return_call $even (i64.sub (local.get $n) (i64.const 1)) (local.get $acc)))))
      (export "even" (func $even))
      ;; Across types: (i64, i64) -> (i32, i32, f64) -> (i64, i64), still in registers.
      (func $a (export "a") (param $n i64) (param $acc i64) (result i64)
        (if (result i64) (i64.eqz (local.get $n))
          (then (local.get $acc))
          (else (return_call $b (i32.wrap_i64 (local.get $n)) (i32.const 1) (f64.convert_i64_s (local.get $acc))))))
      (func $b (param $n i32) (param $inc i32) (param $acc f64) (result i64)
        (return_call $a
          (i64.extend_i32_u (i32.sub (local.get $n) (i32.const 1)))
          (i64.add (i64.trunc_f64_s (local.get $acc)) (i64.extend_i32_u (local.get $inc)))))
      ;; Through the table (never inlined), across types with five integer parameters.
      (type $c_t (func (param i64 i64) (result i64)))
      (type $d_t (func (param i32 i32 i32 i32 i32) (result i64)))
      (table $t2 2 funcref)
      (elem (table $t2) (i32.const 0) func $c $d)
      (func $c (export "c") (param $n i64) (param $acc i64) (result i64)
        (if (result i64) (i64.eqz (local.get $n))
          (then (local.get $acc))
          (else (return_call_indirect $t2 (type $d_t)
                  (i32.wrap_i64 (local.get $n)) (i32.wrap_i64 (local.get $acc))
                  (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 1)))))
      (func $d (param $n i32) (param $acc i32) (param $inc i32) (param i32) (param i32) (result i64)
        (return_call_indirect $t2 (type $c_t)
          (i64.extend_i32_u (i32.sub (local.get $n) (i32.const 1)))
          (i64.extend_i32_u (i32.add (local.get $acc) (local.get $inc)))
          (i32.const 0))))"#;
    let module = load_wat(d.path(), "tail", wat, &CompileOptions::default());
    let mut store = Store::new();
    let inst = Linker::new().instantiate(&mut store, &module).unwrap();
    let even = store.get_func(inst, "even").unwrap();
    assert_eq!(
        store
            .call(even, &[Val::I64(10_000_000), Val::I64(0)])
            .unwrap(),
        vec![Val::I64(10_000_000)]
    );
    for name in ["a", "c"] {
        let f = store.get_func(inst, name).unwrap();
        assert_eq!(
            store.call(f, &[Val::I64(10_000_000), Val::I64(0)]).unwrap(),
            vec![Val::I64(10_000_000)],
            "{name}"
        );
    }
}

/// Tail calls to functions with more results than the target returns in registers (x86-64:
/// 3 integer, 4 float; AArch64: 8 and 8). LLVM cannot make those jumps, and marking them
/// `musttail` aborted the compiler; they are ordinary calls now (ARCHITECTURE.md), and every
/// other same-type tail call is still a guaranteed jump.
#[test]
fn tail_calls_with_results_beyond_the_return_registers_compile_and_run() {
    let d = tempfile::tempdir().unwrap();
    let cases: [(&str, &str, Vec<Val>); 5] = [
        ("i32 i32 i32 i32", "(i32.const 7)", vec![Val::I32(7); 4]),
        (
            "f64 f64 f64 f64 f64",
            "(f64.const 2.5)",
            vec![Val::f64(2.5); 5],
        ),
        (
            "i64 i64 i64 i64 i64 i64 i64 i64 i64",
            "(i64.const -3)",
            vec![Val::I64(-3); 9],
        ),
        (
            "v128 v128 v128 v128 v128",
            "(v128.const i64x2 1 2)",
            vec![Val::V128(2 << 64 | 1); 5],
        ),
        (
            "i32 i32 i32 f64 f64 f64 f64",
            "",
            vec![
                Val::I32(1),
                Val::I32(2),
                Val::I32(3),
                Val::f64(4.0),
                Val::f64(5.0),
                Val::f64(6.0),
                Val::f64(7.0),
            ],
        ),
    ];
    for (i, (results, value, expected)) in cases.iter().enumerate() {
        let body = if value.is_empty() {
            "(i32.const 1) (i32.const 2) (i32.const 3) (f64.const 4) (f64.const 5) (f64.const 6) (f64.const 7)".to_string()
        } else {
            vec![*value; expected.len()].join(" ")
        };
        // `f` counts down by tail calls of its own type, directly and through a table, then
        // returns its results.
        let wat = format!(
            r#"(module
              (type $t (func (param i32) (result {results})))
              (table 1 funcref) (elem (i32.const 0) $f)
              (func $f (export "f") (type $t)
                (if (i32.eqz (local.get 0)) (then (return {body})))
                (if (i32.and (local.get 0) (i32.const 1))
                  (then (return_call_indirect (type $t) (i32.sub (local.get 0) (i32.const 1)) (i32.const 0))))
                (return_call $f (i32.sub (local.get 0) (i32.const 1)))))"#
        );
        for opt_level in [waot_compiler::OptLevel::O0, waot_compiler::OptLevel::O2] {
            let options = CompileOptions {
                opt_level,
                ..Default::default()
            };
            let module = load_wat(d.path(), &format!("many{i}"), &wat, &options);
            let mut store = Store::new();
            let inst = Linker::new().instantiate(&mut store, &module).unwrap();
            let f = store.get_func(inst, "f").unwrap();
            assert_eq!(
                &store.call(f, &[Val::I32(1000)]).unwrap(),
                expected,
                "({results}) at -{}",
                opt_level.name()
            );
            // And for AArch64, whose return registers differ.
            let wasm = wat::parse_str(&wat).unwrap();
            let aarch64 = CompileOptions {
                opt_level,
                target: Some("aarch64-unknown-linux-gnu".into()),
                cpu: "generic".into(),
                ..Default::default()
            };
            waot_compiler::compile_to_file(&wasm, "m", &d.path().join("arm.so"), &aarch64)
                .unwrap_or_else(|e| panic!("({results}) for aarch64: {e}"));
        }
    }
}
