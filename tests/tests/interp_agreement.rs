//! The interpreter fallback computes what native code computes, where the wasmi version it is
//! built on does not (issue 18; docs/upstream/wasmi-select-fusion.md and
//! wasmi-failed-instance.md), and reports traps with the same backtraces.

use waot::{Linker, Store, Val};
use waot_compiler::CompileOptions;
use waot_tests::load_wat;

fn interpret(wasm: &[u8], name: &str, args: &[Val]) -> Vec<Val> {
    let engine = waot::interp::engine();
    let module = waot::interp::module(&engine, wasm).unwrap();
    let mut store = wasmi::Store::new(&engine, ());
    let linker = wasmi::Linker::<()>::new(&engine);
    let instance = waot::interp::instantiate(&linker, &mut store, &module).unwrap();
    waot::interp::call(&mut store, &instance, name, args).unwrap()
}

/// A `select` whose condition is `eqz` (or `eq`/`ne` with 0) of a local, after an operator
/// whose dropped result wasmi kept in its register: wasmi 2.0.0 took that stale value as the
/// condition.
#[test]
fn select_on_a_comparison_with_zero_after_a_dropped_value() {
    let dropped = [
        "(drop (memory.size))",
        "(drop (global.get $g))",
        "(drop (memory.grow (i32.const 0)))",
        "(drop (ref.func $k))",
        "",
    ];
    let conditions = [
        "(i32.eqz (local.get $a))",
        "(i32.eq (local.get $a) (i32.const 0))",
        "(i32.ne (local.get $a) (i32.const 0))",
        "(i64.eqz (i64.extend_i32_u (local.get $a)))",
        "(i64.ne (local.get $w) (i64.const 0))",
    ];
    let mut funcs = String::new();
    let mut names = Vec::new();
    for (i, pre) in dropped.iter().enumerate() {
        for (j, cond) in conditions.iter().enumerate() {
            for typed in ["", "(result i32)"] {
                let name = format!("f{i}_{j}{}", if typed.is_empty() { "" } else { "t" });
                funcs += &format!(
                    r#"(func (export "{name}") (param $a i32) (param $w i64) (result i32)
                         {pre} (select {typed} (i32.const 11) (local.get $a) {cond}))"#
                );
                names.push(name);
            }
        }
    }
    let wat = format!(
        r#"(module (memory 1) (global $g (mut i32) (i32.const 3))
             (elem declare func $k) (func $k)
             {funcs})"#
    );
    let wasm = wat::parse_str(&wat).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let module = load_wat(dir.path(), "select", &wat, &CompileOptions::default());
    let mut store = Store::new();
    let instance = Linker::new().instantiate(&mut store, &module).unwrap();
    for name in &names {
        let f = store.get_func(instance, name).unwrap();
        for (a, w) in [(0, 0), (5, 0), (0, 9), (7, 7)] {
            let args = [Val::I32(a), Val::I64(w)];
            let native = store.call(f, &args).unwrap();
            assert_eq!(interpret(&wasm, name, &args), native, "{name}({a}, {w})");
        }
    }
}

/// A function that a failed instantiation left in an imported table (WebAssembly 2.0 keeps
/// what the segments before the failing one wrote) runs, and reads its instance's global:
/// with wasmi 2.0.0 alone the process died with SIGSEGV.
#[test]
fn functions_left_by_a_failed_instantiation_run_in_both_modes() {
    let script = r#"
      (module $Mt
        (table (export "tab") 10 funcref)
        (memory (export "mem") 1)
        (type $t (func (result i32)))
        (func (export "call") (param i32) (result i32) (call_indirect (type $t) (local.get 0)))
        (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0))))
      (register "Mt" $Mt)
      (assert_trap
        (module
          (table (import "Mt" "tab") 10 funcref)
          (global $g (mut i32) (i32.const 42))
          (func $f (result i32) (global.set $g (i32.add (global.get $g) (i32.const 1))) (global.get $g))
          (elem (i32.const 7) $f)
          (elem (i32.const 8) $f $f $f $f $f))
        "out of bounds table access")
      (assert_return (invoke $Mt "call" (i32.const 7)) (i32.const 43))
      (assert_return (invoke $Mt "call" (i32.const 7)) (i32.const 44))
      (assert_trap (invoke $Mt "call" (i32.const 8)) "uninitialized element")
      (assert_trap
        (module
          (memory (import "Mt" "mem") 1)
          (table 1 funcref)
          (func $h)
          (elem (i32.const 0) $h)
          (data (i32.const 10) "ab")
          (data (i32.const 65535) "cd"))
        "out of bounds memory access")
      (assert_return (invoke $Mt "load" (i32.const 11)) (i32.const 98))
      (assert_return (invoke $Mt "load" (i32.const 65535)) (i32.const 0))
    "#;
    let compiler = waot_tests::InProcessCompiler {
        options: CompileOptions::default(),
    };
    for mode in [
        waot::wast::Mode::Interp(&[]),
        waot::wast::Mode::Aot(&compiler),
    ] {
        let report = waot::wast::run_script(script, mode);
        assert!(report.failures.is_empty(), "{:?}", report.failures);
        // Every directive of the script.
        assert_eq!(report.passed, 9);
    }
}

/// A trap in the interpreter carries the frames native code reports, innermost first, with
/// the names of the name section; in the start function too.
#[test]
fn interpreted_traps_have_backtraces() {
    let wat = r#"(module
        (memory 1)
        (func $inner (export "inner") (param i32) (result i32) (i32.load (local.get 0)))
        (func $middle (param i32) (result i32) (call $inner (local.get 0)))
        (func $tail (param i32) (result i32) (return_call $middle (local.get 0)))
        (func $outer (export "outer") (param i32) (result i32)
          (drop (call $middle (i32.const 0)))
          (call $tail (local.get 0)))
        (func $fine (export "fine") (result i32) (call $middle (i32.const 4)))
        (func $leafy (result i32) (i32.const 1))
        (func $tailer (result i32) (return_call $leafy))
        (func $after (export "after") (drop (call $tailer)) (unreachable)))"#;
    let wasm = wat::parse_str(wat).unwrap();
    let engine = waot::interp::engine();
    let module = waot::interp::module(&engine, &wasm)
        .unwrap()
        .named("m.wasm");
    let mut store = wasmi::Store::new(&engine, ());
    let linker = wasmi::Linker::<()>::new(&engine);
    let instance = waot::interp::instantiate(&linker, &mut store, &module).unwrap();
    let frames = |r: Result<Vec<Val>, waot::Error>| match r {
        Err(waot::Error::Trap(t)) => t
            .backtrace
            .iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>(),
        other => panic!("not a trap: {other:?}"),
    };
    // `return_call` hands $tail's frame to $middle; the earlier call to $middle returned.
    let got = frames(waot::interp::call(
        &mut store,
        &instance,
        "outer",
        &[Val::I32(-1)],
    ));
    assert_eq!(
        got,
        [
            "m.wasm!inner (function 0)",
            "m.wasm!middle (function 1)",
            "m.wasm!outer (function 3)"
        ]
    );
    // A later call starts from an empty stack, whatever the trap left.
    assert_eq!(
        waot::interp::call(&mut store, &instance, "fine", &[]).unwrap(),
        [Val::I32(0)]
    );
    let got = frames(waot::interp::call(
        &mut store,
        &instance,
        "inner",
        &[Val::I32(65536)],
    ));
    assert_eq!(got, ["m.wasm!inner (function 0)"]);
    // A leaf reached by a tail call has returned: it is not in the trap's frames.
    let got = frames(waot::interp::call(&mut store, &instance, "after", &[]));
    assert_eq!(got, ["m.wasm!after (function 7)"]);

    let start = wat::parse_str(
        r#"(module (func $boom unreachable) (func $start (call $boom)) (start $start))"#,
    )
    .unwrap();
    let module = waot::interp::module(&engine, &start)
        .unwrap()
        .named("s.wasm");
    match waot::interp::instantiate(&linker, &mut store, &module) {
        Err(waot::Error::Trap(t)) => {
            let got: Vec<String> = t.backtrace.iter().map(|f| f.to_string()).collect();
            assert_eq!(
                got,
                ["s.wasm!boom (function 0)", "s.wasm!start (function 1)"]
            );
        }
        other => panic!("the start function did not trap: {:?}", other.map(|_| ())),
    }
}

/// Frames stay exact when calls cross instances: a function of another instance (through an
/// import or a shared table) pushes on its own instance's stack, which nobody there pops, more
/// times than that stack has room for; and a call from it back into the first instance leaves
/// no frame behind there. The loop overflowed the frame stack of `b` (a spurious out-of-bounds
/// trap) and the re-entry left `h` in `run`'s backtrace.
#[test]
fn frames_stay_exact_across_instances() {
    let b = wat::parse_str(
        r#"(module
            (table (export "t") 1 funcref) (type $v (func))
            (func $helper)
            (func (export "g") (call $helper))
            (func (export "k") (call_indirect (type $v) (i32.const 0))))"#,
    )
    .unwrap();
    let a = wat::parse_str(
        r#"(module
            (import "b" "g" (func $g)) (import "b" "k" (func $k))
            (import "b" "t" (table 1 funcref))
            (func $leaf)
            (func $h (call $leaf))
            (elem (i32.const 0) $h)
            (func $run (export "run") (param $n i32)
              (loop $again
                (call $g)
                (br_if $again (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
              (call $k)
              (unreachable)))"#,
    )
    .unwrap();
    let engine = waot::interp::engine();
    let mut store = wasmi::Store::new(&engine, ());
    let mut linker = wasmi::Linker::<()>::new(&engine);
    let b = waot::interp::module(&engine, &b).unwrap().named("b.wasm");
    let b = waot::interp::instantiate(&linker, &mut store, &b).unwrap();
    linker.instance(&mut store, "b", *b.wasmi()).unwrap();
    let a = waot::interp::module(&engine, &a).unwrap().named("a.wasm");
    let a = waot::interp::instantiate(&linker, &mut store, &a).unwrap();
    match waot::interp::call(&mut store, &a, "run", &[Val::I32(300_000)]) {
        Err(waot::Error::Trap(t)) => {
            assert_eq!(t.code, Some(waot::TrapCode::Unreachable), "{t}");
            let got: Vec<String> = t.backtrace.iter().map(|f| f.to_string()).collect();
            assert_eq!(got, ["a.wasm!run (function 4)"]);
        }
        other => panic!("run did not trap: {other:?}"),
    }
}

/// `v128.store8_lane` and `v128.store16_lane` with a static offset of 2^16 or more and a value
/// from a global or local: wasmi 2.0.0 jumped to a garbage address and killed the process
/// (fuzzer seed 41593; docs/upstream/wasmi-store-lane-offset.md). In bounds they store the
/// lane; past the end they trap, as native code does.
#[test]
fn lane_stores_at_large_offsets_store_or_trap_as_native_code() {
    let wat = r#"(module (memory (export "m") 3 3)
        (global $g (mut v128) (v128.const i32x4 0x04030201 0x08070605 0x0c0b0a09 0x100f0e0d))
        (func (export "s8") (param $a i32) (result i32)
          (v128.store8_lane offset=189472 6 (local.get $a) (global.get $g))
          (i32.load offset=189472 (local.get $a)))
        (func (export "s16") (param $a i32) (result i32) (local $v v128)
          (local.set $v (global.get $g))
          (v128.store16_lane offset=65536 3 (local.get $a) (local.get $v))
          (i32.load offset=65536 (local.get $a))))"#;
    let wasm = wat::parse_str(wat).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let module = load_wat(dir.path(), "lanes", wat, &CompileOptions::default());
    let mut store = Store::new();
    let instance = Linker::new().instantiate(&mut store, &module).unwrap();
    for (name, addresses) in [
        ("s8", [0, 7, 196608 - 189472 - 1, 196608 - 189472]),
        ("s16", [0, 3, 196608 - 65536 - 2, 196608 - 65536 - 1]),
    ] {
        let f = store.get_func(instance, name).unwrap();
        for a in addresses {
            let args = [Val::I32(a)];
            let native = store.call(f, &args).map_err(|e| e.to_string());
            let interpreted = interpret_result(&wasm, name, &args);
            assert_eq!(interpreted, native, "{name}({a})");
        }
    }
}

fn interpret_result(wasm: &[u8], name: &str, args: &[Val]) -> Result<Vec<Val>, String> {
    let engine = waot::interp::engine();
    let module = waot::interp::module(&engine, wasm).unwrap();
    let mut store = wasmi::Store::new(&engine, ());
    let linker = wasmi::Linker::<()>::new(&engine);
    let instance = waot::interp::instantiate(&linker, &mut store, &module).unwrap();
    waot::interp::call(&mut store, &instance, name, args).map_err(|e| e.to_string())
}

/// A host value passed to interpreted code again and again in an externref gets one wasmi
/// object, which every conversion returns (wasmi frees none before its store): the C API
/// keeps one `ExternRefs` per store.
#[test]
fn an_externref_value_gets_one_object_per_store() {
    use waot::interp::{from_wasmi, to_wasmi_in, ExternRefs};
    let engine = waot::interp::engine();
    let mut store = waot::interp::wasmi::Store::new(&engine, ());
    let refs = std::cell::RefCell::new(ExternRefs::default());
    for round in 0..1000u64 {
        for value in [7u64, 8, round % 3] {
            let v = to_wasmi_in(&Val::ExternRef(Some(value)), &mut store, 0, Some(&refs)).unwrap();
            assert_eq!(from_wasmi(&v, &store), Val::ExternRef(Some(value)));
        }
    }
    assert_eq!(refs.borrow().len(), 5); // 7, 8, 0, 1 and 2
}
