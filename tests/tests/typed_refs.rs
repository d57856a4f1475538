//! Typed function references (WebAssembly 3.0) across the host boundary and between modules.
//! Compiled code trusts a reference's static type: `call_ref` calls `(ref $t)` without
//! comparing signatures. So every door through which a reference enters a typed place (export
//! arguments, host results, globals, tables, imports) must refuse a null where the type is
//! non-nullable and a function of any other type; each attempt here is an error, never a call
//! through the wrong signature.

use waot::{Error, Extern, GlobalType, Linker, RefType, Store, Trap, Val, ValType};
use waot_compiler::CompileOptions;
use waot_tests::load_wat;

/// `$t` is `[i32] -> [i32]`; `apply` calls a `(ref $t)` with `call_ref`.
const MODULE: &str = r#"(module
  (type $t (func (param i32) (result i32)))
  (type $u (func (param i64) (result i64)))
  (import "host" "make" (func $make (result (ref $t))))
  (func $inc (export "inc") (type $t) (i32.add (local.get 0) (i32.const 1)))
  (func $wide (export "wide") (type $u) (local.get 0))
  (func $apply (export "apply") (param $f (ref $t)) (param i32) (result i32)
    (call_ref $t (local.get 1) (local.get $f)))
  (func (export "apply_made") (param i32) (result i32)
    (call_ref $t (local.get 0) (call $make)))
  (func (export "apply_global") (param i32) (result i32)
    (call_ref $t (local.get 0) (ref.as_non_null (global.get $g))))
  (global $g (export "g") (mut (ref null $t)) (ref.func $inc))
  (global (export "fixed") (ref $t) (ref.func $inc))
  (table (export "tab") 2 (ref $t) (ref.func $inc))
  (func (export "apply_table") (param i32) (result i32)
    (call_ref $t (local.get 0) (table.get 0 (i32.const 1)))))"#;

struct Setup {
    store: Store,
    instance: waot::Instance,
}

/// What the host function `make` returns, computed from the calling instance.
type Maker = fn(&mut waot::Caller<'_>) -> Val;

/// An instance whose import `make` returns what `make` computes.
fn setup(make: Maker) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let module = load_wat(dir.path(), "m", MODULE, &CompileOptions::default());
    let mut store = Store::new();
    // The host needs the canonical type of `(ref $t)`: the fixed global has it.
    let probe = {
        let m = load_wat(
            dir.path(),
            "probe",
            r#"(module (type $t (func (param i32) (result i32)))
                 (func $f (type $t) (local.get 0))
                 (global (export "t") (ref $t) (ref.func $f)))"#,
            &CompileOptions::default(),
        );
        let i = Linker::new().instantiate(&mut store, &m).unwrap();
        let g = store.get_global(i, "t").unwrap();
        store.global_type(g).unwrap().content_type
    };
    let f = store.func_new(&[], &[probe], move |caller, _, r| {
        r[0] = make(caller);
        Ok(())
    });
    let mut linker = Linker::new();
    linker.define("host", "make", Extern::Func(f));
    let instance = linker.instantiate(&mut store, &module).unwrap();
    Setup { store, instance }
}

fn null(_: &mut waot::Caller<'_>) -> Val {
    Val::FuncRef(None)
}

fn export_func(caller: &waot::Caller<'_>, name: &str) -> Option<waot::Func> {
    match caller.get_export(name) {
        Some(Extern::Func(f)) => Some(f),
        _ => None,
    }
}

fn usage_error<T: std::fmt::Debug>(r: Result<T, Error>, what: &str) {
    match r {
        Err(Error::Usage(m)) => assert!(m.contains(what), "{m}"),
        other => panic!("expected a usage error about {what}, got {other:?}"),
    }
}

#[test]
fn call_ref_calls_a_typed_reference_from_the_host() {
    let mut s = setup(null);
    let (inc, apply) = (
        s.store.get_func(s.instance, "inc").unwrap(),
        s.store.get_func(s.instance, "apply").unwrap(),
    );
    let args = [Val::FuncRef(Some(inc)), Val::I32(41)];
    assert_eq!(s.store.call(apply, &args).unwrap(), vec![Val::I32(42)]);
    let table = s.store.get_func(s.instance, "apply_table").unwrap();
    assert_eq!(
        s.store.call(table, &[Val::I32(1)]).unwrap(),
        vec![Val::I32(2)]
    );
}

#[test]
fn arguments_of_the_wrong_type_or_null_are_refused() {
    let mut s = setup(null);
    let (wide, apply) = (
        s.store.get_func(s.instance, "wide").unwrap(),
        s.store.get_func(s.instance, "apply").unwrap(),
    );
    // `wide` is a function, but of `[i64] -> [i64]`: called as `$t` it would read garbage.
    usage_error(
        s.store
            .call(apply, &[Val::FuncRef(Some(wide)), Val::I32(1)]),
        "do not match",
    );
    usage_error(
        s.store.call(apply, &[Val::FuncRef(None), Val::I32(1)]),
        "do not match",
    );
    usage_error(
        s.store.call(apply, &[Val::ExternRef(Some(1)), Val::I32(1)]),
        "do not match",
    );
    // A function of the right type but of another store, dropped since: refused before its
    // (dangling) type is ever read.
    let other = setup(null);
    let foreign = other.store.get_func(other.instance, "inc").unwrap();
    drop(other);
    usage_error(
        s.store
            .call(apply, &[Val::FuncRef(Some(foreign)), Val::I32(1)]),
        "store",
    );
}

#[test]
fn host_results_of_the_wrong_type_or_null_trap() {
    fn wrong(caller: &mut waot::Caller<'_>) -> Val {
        Val::FuncRef(export_func(caller, "wide"))
    }
    fn right(caller: &mut waot::Caller<'_>) -> Val {
        Val::FuncRef(export_func(caller, "inc"))
    }
    let makers: [(Maker, bool); 3] = [(null, false), (wrong, false), (right, true)];
    for (make, ok) in makers {
        let mut s = setup(make);
        let f = s.store.get_func(s.instance, "apply_made").unwrap();
        match s.store.call(f, &[Val::I32(9)]) {
            Ok(v) if ok => assert_eq!(v, vec![Val::I32(10)]),
            Err(Error::Trap(Trap { message, .. })) if !ok => {
                assert!(message.contains("host function results"), "{message}")
            }
            other => panic!("ok={ok}: {other:?}"),
        }
    }
}

#[test]
fn typed_globals_take_only_their_type() {
    let mut s = setup(null);
    let g = s.store.get_global(s.instance, "g").unwrap();
    let (inc, wide) = (
        s.store.get_func(s.instance, "inc").unwrap(),
        s.store.get_func(s.instance, "wide").unwrap(),
    );
    usage_error(s.store.global_set(g, Val::FuncRef(Some(wide))), "given");
    // Null is fine in `(ref null $t)`, and `ref.as_non_null` then traps.
    s.store.global_set(g, Val::FuncRef(None)).unwrap();
    let apply = s.store.get_func(s.instance, "apply_global").unwrap();
    match s.store.call(apply, &[Val::I32(1)]) {
        Err(Error::Trap(t)) => assert_eq!(t.code, Some(waot::TrapCode::NullReference)),
        other => panic!("{other:?}"),
    }
    s.store.global_set(g, Val::FuncRef(Some(inc))).unwrap();
    assert_eq!(
        s.store.call(apply, &[Val::I32(1)]).unwrap(),
        vec![Val::I32(2)]
    );
    // A host global of the typed type checks its initial value the same way.
    let ty = s.store.global_type(g).unwrap();
    usage_error(s.store.global_new(ty, Val::FuncRef(Some(wide))), "given");
    let non_null = GlobalType {
        content_type: match ty.content_type {
            ValType::Ref(r) => ValType::Ref(r.as_non_null()),
            t => t,
        },
        ..ty
    };
    usage_error(s.store.global_new(non_null, Val::FuncRef(None)), "given");
    assert!(s
        .store
        .global_new(non_null, Val::FuncRef(Some(inc)))
        .is_ok());
}

#[test]
fn the_host_cannot_make_up_types_or_non_null_tables() {
    let mut s = setup(null);
    // A concrete type names a canonical id; one no module defined is refused.
    let made_up = RefType::concrete(
        true,
        wasmparser::PackedIndex::from_module_index(999_999).unwrap(),
    );
    let ty = GlobalType {
        content_type: ValType::Ref(made_up),
        mutable: true,
        shared: false,
    };
    usage_error(
        s.store.global_new(ty, Val::FuncRef(None)),
        "names no function type",
    );
    usage_error(
        s.store.table_new(made_up, 1, None),
        "names no function type",
    );
    // A table of non-nullable references would start full of nulls.
    let g = s.store.get_global(s.instance, "fixed").unwrap();
    let ValType::Ref(t) = s.store.global_type(g).unwrap().content_type else {
        unreachable!()
    };
    usage_error(s.store.table_new(t, 1, None), "non-nullable");
    // The module's typed table reports its canonical element type.
    let tab = match s.store.get_export(s.instance, "tab") {
        Some(Extern::Table(tab)) => tab,
        other => panic!("{other:?}"),
    };
    let tt = s.store.table_type(tab).unwrap();
    assert_eq!((tt.element_type, tt.initial, tt.table64), (t, 2, false));
    assert!(s.store.table_new(t.nullable(), 1, None).is_ok());
}

#[test]
fn imports_match_by_canonical_type_and_subtyping() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = setup(null);
    let exports = |s: &Setup, names: &[&str]| -> Vec<(String, Extern)> {
        names
            .iter()
            .map(|n| (n.to_string(), s.store.get_export(s.instance, n).unwrap()))
            .collect()
    };
    let link = |s: &mut Setup, wat: &str, name: &str| {
        let m = load_wat(dir.path(), name, wat, &CompileOptions::default());
        let mut linker = Linker::new();
        for (n, e) in exports(s, &["g", "fixed", "tab", "inc"]) {
            linker.define("m", &n, e);
        }
        linker.instantiate(&mut s.store, &m)
    };
    // The same type written in another module, with its index elsewhere: it is the same type.
    let ok = r#"(module
      (type $pad (func))
      (type $t2 (func (param i32) (result i32)))
      (import "m" "fixed" (global $f (ref null $t2)))
      (import "m" "g" (global (mut (ref null $t2))))
      (import "m" "tab" (table 2 (ref $t2)))
      (import "m" "inc" (func (type $t2)))
      (func (export "run") (result i32)
        (call_ref $t2 (i32.const 4) (ref.as_non_null (global.get $f)))))"#;
    let i = link(&mut s, ok, "ok").unwrap();
    let run = s.store.get_func(i, "run").unwrap();
    assert_eq!(s.store.call(run, &[]).unwrap(), vec![Val::I32(5)]);
    // A mutable global is read and written: its type must be exactly the import's.
    let mutable_sub = r#"(module (type $t (func (param i32) (result i32)))
      (import "m" "g" (global (mut (ref $t)))))"#;
    assert!(matches!(
        link(&mut s, mutable_sub, "ms"),
        Err(Error::Link(_))
    ));
    // Another signature is another type.
    let other = r#"(module (type $t (func (param i64) (result i32)))
      (import "m" "fixed" (global (ref $t))))"#;
    assert!(matches!(link(&mut s, other, "o"), Err(Error::Link(_))));
    // A table's element type must be exactly the import's: `funcref` is not `(ref $t)`.
    let table = r#"(module (import "m" "tab" (table 2 funcref)))"#;
    assert!(matches!(link(&mut s, table, "t"), Err(Error::Link(_))));
}

#[test]
fn typed_tables_take_only_their_type_from_the_host() {
    let mut s = setup(null);
    let Some(Extern::Table(tab)) = s.store.get_export(s.instance, "tab") else {
        panic!("no table export")
    };
    let (wide, host) = (
        s.store.get_func(s.instance, "wide").unwrap(),
        s.store.func_new(&[], &[], |_, _, _| Ok(())),
    );
    usage_error(s.store.table_set(tab, 1, Val::FuncRef(Some(wide))), "given");
    usage_error(s.store.table_set(tab, 1, Val::FuncRef(None)), "given");
    usage_error(s.store.table_set(tab, 1, Val::ExternRef(Some(1))), "given");
    usage_error(s.store.table_set(tab, 1, Val::FuncRef(Some(host))), "given");
    usage_error(s.store.table_grow(tab, 1, Val::FuncRef(None)), "given");
    // Past the end is an error, not a write.
    let inc = s.store.get_func(s.instance, "inc").unwrap();
    usage_error(
        s.store.table_set(tab, 2, Val::FuncRef(Some(inc))),
        "out of bounds",
    );
    assert_eq!(
        s.store.table_grow(tab, 3, Val::FuncRef(Some(inc))).unwrap(),
        2
    );
    assert_eq!(s.store.table_size(tab).unwrap(), 5);
    s.store.table_set(tab, 4, Val::FuncRef(Some(inc))).unwrap();
    assert_eq!(
        s.store.table_get(tab, 4).unwrap(),
        Some(Val::FuncRef(Some(inc)))
    );
    // A growth limit the store sets holds for the host too.
    s.store.set_resource_limits(waot::ResourceLimits {
        table_elements: Some(6),
        ..Default::default()
    });
    assert!(matches!(
        s.store.table_grow(tab, 2, Val::FuncRef(Some(inc))),
        Err(Error::Limit(_))
    ));
    assert_eq!(
        s.store.table_grow(tab, 1, Val::FuncRef(Some(inc))).unwrap(),
        5
    );
}
