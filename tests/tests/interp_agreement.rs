//! The interpreter fallback computes what native code computes, where the wasmi version it is
//! built on does not (issue 18; docs/upstream/wasmi-select-fusion.md).

use waot::{Linker, Store, Val};
use waot_compiler::CompileOptions;
use waot_tests::load_wat;

fn interpret(wasm: &[u8], name: &str, args: &[Val]) -> Vec<Val> {
    let engine = waot::interp::engine();
    let module = waot::interp::module(&engine, wasm).unwrap();
    let mut store = wasmi::Store::new(&engine, ());
    let instance = wasmi::Linker::<()>::new(&engine)
        .instantiate_and_start(&mut store, &module)
        .unwrap();
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
