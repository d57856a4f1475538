//! Garbage collection (WebAssembly 3.0 GC) end to end: garbage, cycles included, is freed
//! while guest code allocates, and nothing reachable is: not objects held only in native
//! frames (locals and operands of many nested calls), nor in globals, tables, exception
//! payloads or the host's hands. Every check reads the objects' contents back after many
//! collections, so a freed and reused object shows as a wrong sum.

use runtime_support::TrapCode;
use waot::{AnyKind, Error, Linker, Store, Val};
use waot_compiler::CompileOptions;
use waot_tests::load_wat;

const MODULE: &str = r#"(module
  (type $arr (array (mut i64)))
  (type $node (struct (field $next (mut (ref null $node))) (field $v i64)
                      (field $data (ref null $arr))))
  (global $kept (mut (ref null $node)) (ref.null $node))
  (table $t 4 (ref null $node))
  (tag $boom (param (ref null $node)))

  ;; Two nodes pointing at each other, each with a 16-element array: garbage once dropped.
  (func $cycle (param $i i64)
    (local $a (ref null $node)) (local $b (ref null $node))
    (local.set $a (struct.new $node (ref.null $node) (local.get $i)
                                    (array.new $arr (local.get $i) (i32.const 16))))
    (local.set $b (struct.new $node (local.get $a) (local.get $i) (ref.null $arr)))
    (struct.set $node $next (local.get $a) (local.get $b)))

  (func $churn (export "churn") (param $n i32)
    (loop $l
      (call $cycle (i64.extend_i32_u (local.get $n)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))

  ;; A list of n nodes with values 1..n; node k's array holds k in every element.
  (func $list (export "list") (param $n i32) (result (ref null $node))
    (local $head (ref null $node))
    (loop $l
      (local.set $head
        (struct.new $node (local.get $head) (i64.extend_i32_u (local.get $n))
          (array.new $arr (i64.extend_i32_u (local.get $n)) (i32.const 4))))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $head))

  ;; The sum of values plus the sum of the arrays' last elements: n(n+1) for an intact list.
  (func $sum (export "sum") (param $p (ref null $node)) (result i64)
    (local $s i64)
    (block $done
      (loop $l
        (br_if $done (ref.is_null (local.get $p)))
        (local.set $s (i64.add (local.get $s)
          (i64.add (struct.get $node $v (local.get $p))
                   (array.get $arr (struct.get $node $data (local.get $p)) (i32.const 3)))))
        (local.set $p (struct.get $node $next (local.get $p)))
        (br $l)))
    (local.get $s))

  ;; The list lives only in a local while garbage is made.
  (func (export "list_in_local") (param $n i32) (param $garbage i32) (result i64)
    (local $head (ref null $node))
    (local.set $head (call $list (local.get $n)))
    (call $churn (local.get $garbage))
    (call $sum (local.get $head)))

  ;; Each of `depth` frames holds its own node while the deepest makes garbage.
  (func $deep (export "deep") (param $depth i32) (param $garbage i32) (result i64)
    (local $mine (ref $node))
    (local.set $mine (struct.new $node (ref.null $node) (i64.extend_i32_u (local.get $depth))
                       (array.new $arr (i64.extend_i32_u (local.get $depth)) (i32.const 4))))
    (if (result i64) (i32.eqz (local.get $depth))
      (then (call $churn (local.get $garbage)) (i64.const 0))
      (else
        (i64.add (call $deep (i32.sub (local.get $depth) (i32.const 1)) (local.get $garbage))
                 (call $sum (local.get $mine))))))

  (func (export "keep") (param $n i32)
    (global.set $kept (call $list (local.get $n)))
    (table.set $t (i32.const 2) (call $list (local.get $n))))
  (func (export "sum_kept") (result i64)
    (i64.add (call $sum (global.get $kept)) (call $sum (table.get $t (i32.const 2)))))

  ;; A list carried only by an exception while garbage is made.
  (func (export "through_exception") (param $n i32) (param $garbage i32) (result i64)
    (block $caught (result (ref null $node))
      (try_table (catch $boom $caught)
        (call $throw_list (local.get $n) (local.get $garbage)))
      (i64.const -1)
      (return))
    (call $sum))
  (func $throw_list (param $n i32) (param $garbage i32)
    (local $l (ref null $node))
    (local.set $l (call $list (local.get $n)))
    (call $churn (local.get $garbage))
    (throw $boom (local.get $l)))

  (func (export "huge") (param i32) (result (ref $arr))
    (array.new_default $arr (local.get 0)))
  (func (export "i31") (param i32) (result i31ref) (ref.i31 (local.get 0)))
)"#;

fn instance() -> (Store, waot::Instance) {
    let dir = tempfile::tempdir().unwrap();
    let module = load_wat(dir.path(), "gc", MODULE, &CompileOptions::default());
    let mut store = Store::new();
    let instance = Linker::new().instantiate(&mut store, &module).unwrap();
    (store, instance)
}

fn call(store: &mut Store, i: waot::Instance, name: &str, args: &[Val]) -> Vec<Val> {
    let f = store.get_func(i, name).unwrap();
    store
        .call(f, args)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn intact(n: i64) -> Val {
    Val::I64(n * (n + 1))
}

#[test]
fn garbage_and_cycles_are_collected_in_bounded_memory() {
    let (mut store, i) = instance();
    // 500,000 cycles of two nodes and a 144-byte array: about 250 MB allocated in all.
    call(&mut store, i, "churn", &[Val::I32(500_000)]);
    assert!(store.gc_collections() >= 5, "{}", store.gc_collections());
    let bytes = store.gc_heap_bytes();
    assert!(bytes < 32 << 20, "{bytes} bytes still held after the churn");
    store.collect_garbage();
    assert!(store.gc_heap_bytes() < 1 << 20, "{}", store.gc_heap_bytes());
}

#[test]
fn objects_held_only_by_native_frames_survive() {
    let (mut store, i) = instance();
    let r = call(
        &mut store,
        i,
        "list_in_local",
        &[Val::I32(20_000), Val::I32(200_000)],
    );
    assert_eq!(r, vec![intact(20_000)]);
    // 300 frames each holding one node (a list of one: value d plus array element d).
    let r = call(&mut store, i, "deep", &[Val::I32(300), Val::I32(200_000)]);
    let expected: i64 = (1..=300).map(|d| 2 * d).sum();
    assert_eq!(r, vec![Val::I64(expected)]);
    assert!(store.gc_collections() >= 2);
}

#[test]
fn objects_in_globals_tables_and_exceptions_survive() {
    let (mut store, i) = instance();
    call(&mut store, i, "keep", &[Val::I32(5_000)]);
    call(&mut store, i, "churn", &[Val::I32(200_000)]);
    store.collect_garbage();
    assert_eq!(
        call(&mut store, i, "sum_kept", &[]),
        vec![Val::I64(2 * 5_000 * 5_001)]
    );
    let r = call(
        &mut store,
        i,
        "through_exception",
        &[Val::I32(3_000), Val::I32(200_000)],
    );
    assert_eq!(r, vec![intact(3_000)]);
}

#[test]
fn objects_the_host_holds_survive_and_stay_readable() {
    let (mut store, i) = instance();
    let list = call(&mut store, i, "list", &[Val::I32(1_000)]);
    let Val::AnyRef(Some(r)) = list[0] else {
        panic!("{list:?}")
    };
    assert_eq!(r.kind(), AnyKind::Struct);
    call(&mut store, i, "churn", &[Val::I32(200_000)]);
    store.collect_garbage();
    assert_eq!(call(&mut store, i, "sum", &list), vec![intact(1_000)]);
}

#[test]
fn references_cannot_cross_stores_or_be_made_up() {
    let (mut a, ia) = instance();
    let (mut b, ib) = instance();
    let list = call(&mut a, ia, "list", &[Val::I32(3)]);
    let sum = b.get_func(ib, "sum").unwrap();
    assert!(
        matches!(b.call(sum, &list), Err(Error::Usage(_))),
        "another store's object"
    );
    // An i31 belongs to no store and is not a struct.
    let i31 = call(&mut a, ia, "i31", &[Val::I32(-1)]);
    let Val::AnyRef(Some(r)) = i31[0] else {
        panic!("{i31:?}")
    };
    assert_eq!((r.kind(), r.as_i31()), (AnyKind::I31, Some(0x7fff_ffff)));
    assert!(matches!(b.call(sum, &i31), Err(Error::Usage(_))));
}

#[test]
fn an_array_too_large_is_a_trap() {
    let (mut store, i) = instance();
    let f = store.get_func(i, "huge").unwrap();
    match store.call(f, &[Val::I32(-1)]) {
        Err(Error::Trap(t)) => assert_eq!(t.code, Some(TrapCode::GcAllocationFailed)),
        other => panic!("{other:?}"),
    }
    // The store still works.
    assert_eq!(
        call(&mut store, i, "sum", &[Val::AnyRef(None)]),
        vec![Val::I64(0)]
    );
}

#[test]
fn the_store_limit_bounds_the_heap_and_exceeding_it_is_a_trap() {
    let (mut store, i) = instance();
    store.set_resource_limits(waot::ResourceLimits {
        gc_heap_bytes: Some(8 << 20),
        ..Default::default()
    });
    // Garbage is collected to make room: 100 MB allocated within 8 MB.
    call(&mut store, i, "churn", &[Val::I32(200_000)]);
    assert!(store.gc_heap_bytes() <= 8 << 20);
    // 200,000 live nodes with their arrays (about 16 MB) do not fit.
    let list = store.get_func(i, "list").unwrap();
    match store.call(list, &[Val::I32(200_000)]) {
        Err(Error::Trap(t)) => assert_eq!(t.code, Some(TrapCode::GcAllocationFailed)),
        other => panic!("{other:?}"),
    }
    // What did fit is garbage again (a collection from the host, with no guest frames to
    // scan, frees it all), and the store goes on.
    store.collect_garbage();
    assert!(store.gc_heap_bytes() < 1 << 20, "{}", store.gc_heap_bytes());
    assert_eq!(
        call(
            &mut store,
            i,
            "list_in_local",
            &[Val::I32(1_000), Val::I32(10_000)]
        ),
        vec![intact(1_000)]
    );
}

#[test]
fn the_host_reads_and_makes_structs_and_arrays() {
    let dir = tempfile::tempdir().unwrap();
    let module = load_wat(dir.path(), "gc", MODULE, &CompileOptions::default());
    let mut store = Store::new();
    let i = Linker::new().instantiate(&mut store, &module).unwrap();
    let list = call(&mut store, i, "list", &[Val::I32(3)]);
    let Val::AnyRef(Some(head)) = list[0] else {
        panic!("{list:?}")
    };
    // Node 1 (the head): value 1, data [1, 1, 1, 1], next node 2.
    assert_eq!(store.struct_field(head, 1).unwrap(), Val::I64(1));
    let Val::AnyRef(Some(data)) = store.struct_field(head, 2).unwrap() else {
        panic!()
    };
    assert_eq!(store.array_len(data).unwrap(), 4);
    assert_eq!(store.array_get(data, 3).unwrap(), Val::I64(1));
    assert!(matches!(store.array_get(data, 4), Err(Error::Usage(_))));
    assert!(matches!(store.struct_field(head, 3), Err(Error::Usage(_))));
    assert!(matches!(store.array_len(head), Err(Error::Usage(_))));
    let Val::AnyRef(Some(second)) = store.struct_field(head, 0).unwrap() else {
        panic!()
    };
    assert_eq!(store.struct_field(second, 1).unwrap(), Val::I64(2));

    // A node the host makes, in front of the guest's list: 10 + 7 (its array's last element).
    let (arr, node) = (module.type_id(0).unwrap(), module.type_id(1).unwrap());
    let data = store
        .array_new(arr, &[Val::I64(0), Val::I64(0), Val::I64(0), Val::I64(7)])
        .unwrap();
    let mine = store
        .struct_new(node, &[list[0], Val::I64(10), data])
        .unwrap();
    store.collect_garbage();
    let sum = call(&mut store, i, "sum", &[mine]);
    assert_eq!(sum, vec![Val::I64(17 + 12)]);
    let Val::AnyRef(Some(mine_ref)) = mine else {
        panic!()
    };
    let Val::AnyRef(Some(data_ref)) = data else {
        panic!()
    };
    // The host writes fields and elements too: the node loses its next, its array's last
    // element becomes -1.
    store.struct_set(mine_ref, 0, Val::AnyRef(None)).unwrap();
    store.array_set(data_ref, 3, Val::I64(-1)).unwrap();
    assert_eq!(call(&mut store, i, "sum", &[mine]), vec![Val::I64(10 - 1)]);
    // Immutable fields, wrong types and indices past the end are refused.
    assert!(matches!(
        store.struct_set(mine_ref, 1, Val::I64(1)),
        Err(Error::Usage(_))
    ));
    assert!(matches!(
        store.struct_set(mine_ref, 0, Val::I64(1)),
        Err(Error::Usage(_))
    ));
    assert!(matches!(
        store.array_set(data_ref, 4, Val::I64(0)),
        Err(Error::Usage(_))
    ));
    // Fields of the wrong type are refused, as arguments are.
    assert!(matches!(
        store.struct_new(node, &[Val::I64(1), Val::I64(10), data]),
        Err(Error::Usage(_))
    ));
    assert!(matches!(
        store.struct_new(node, &[list[0], Val::I64(10), list[0]]),
        Err(Error::Usage(_))
    ));
    assert!(matches!(store.array_new(node, &[]), Err(Error::Usage(_))));
}

/// Inside a host function, what the host reads or makes is valid for that call (unless it
/// keeps it): a host function that walks a guest list node by node pins nothing.
#[test]
fn references_a_host_function_reads_are_scoped_to_its_call() {
    let dir = tempfile::tempdir().unwrap();
    let walker = r#"(module
      (type $node (struct (field $next (mut (ref null $node))) (field $v i64)))
      (import "host" "next" (func $next (param anyref) (result anyref)))
      (func (export "walk") (param $n i32) (result i64)
        (local $head (ref null $node)) (local $p anyref) (local $count i64)
        (loop $build
          (local.set $head (struct.new $node (local.get $head) (i64.extend_i32_u (local.get $n))))
          (br_if $build (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
        (local.set $p (local.get $head))
        (block $done
          (loop $walk
            (br_if $done (ref.is_null (local.get $p)))
            (local.set $count (i64.add (local.get $count) (i64.const 1)))
            (local.set $p (call $next (local.get $p)))
            (br $walk)))
        (local.get $count)))"#;
    let module = load_wat(dir.path(), "walker", walker, &CompileOptions::default());
    let mut store = Store::new();
    let any = waot::ValType::Ref(waot::RefType::ANYREF);
    let next = store.func_new(&[any], &[any], |caller, args, results| {
        let Val::AnyRef(Some(node)) = args[0] else {
            return Err(waot::Trap::host("not a node"));
        };
        results[0] = caller
            .store
            .struct_field(node, 0)
            .map_err(|e| waot::Trap::host(e.to_string()))?;
        Ok(())
    });
    let mut linker = Linker::new();
    linker.define("host", "next", waot::Extern::Func(next));
    let i = linker.instantiate(&mut store, &module).unwrap();
    assert_eq!(
        call(&mut store, i, "walk", &[Val::I32(10_000)]),
        vec![Val::I64(10_000)]
    );
    store.collect_garbage();
    assert!(
        store.gc_heap_bytes() < 64 << 10,
        "{} bytes kept",
        store.gc_heap_bytes()
    );
}

/// While the collector marks in small steps, the host moves the tail of a long list from one
/// node to a node it just made: the host's `struct_set` must hand the collector the reference
/// it overwrites (the only path to the tail when marking began), or the tail is freed.
#[test]
fn the_hosts_writes_during_incremental_marking_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let module = load_wat(dir.path(), "gc", MODULE, &CompileOptions::default());
    let mut store = Store::new();
    store.gc_verify(true);
    store.gc_max_step(64);
    let i = Linker::new().instantiate(&mut store, &module).unwrap();
    // Made before any collection: all of it is reachable when the first cycle begins.
    let list = call(&mut store, i, "list", &[Val::I32(1_000)]);
    let Val::AnyRef(Some(mut node)) = list[0] else {
        panic!("{list:?}")
    };
    // About 6 MB of garbage: a cycle begins at 4 MiB and, 64 units per step, has traced a
    // few nodes of the list when this returns.
    call(&mut store, i, "churn", &[Val::I32(30_000)]);
    let before = store.gc_stats();
    assert_eq!(before.collections, 0, "{before:?}");
    assert!(before.pauses > 0, "{before:?}");
    // Node 499, whose `next` (node 500) is the only way to the tail.
    for _ in 1..499 {
        let Val::AnyRef(Some(next)) = store.struct_field(node, 0).unwrap() else {
            panic!()
        };
        node = next;
    }
    let tail = store.struct_field(node, 0).unwrap();
    let data = store.struct_field(node, 2).unwrap();
    let holder = store
        .struct_new(
            module.type_id(1).unwrap(),
            &[Val::AnyRef(None), Val::I64(0), data],
        )
        .unwrap();
    let Val::AnyRef(Some(holder_ref)) = holder else {
        panic!()
    };
    store.struct_set(node, 0, Val::AnyRef(None)).unwrap();
    store.struct_set(holder_ref, 0, tail).unwrap();
    call(&mut store, i, "churn", &[Val::I32(60_000)]);
    assert!(store.gc_stats().collections >= 1);
    assert_eq!(store.gc_verify(true), Vec::<String>::new());
    // Nodes 500..=1000 through the holder (its own value 0, its array's last element 499).
    let tail_sum = 1_000 * 1_001 - 499 * 500;
    assert_eq!(
        call(&mut store, i, "sum", &[holder]),
        vec![Val::I64(tail_sum + 499)]
    );
    assert_eq!(call(&mut store, i, "sum", &list), vec![Val::I64(499 * 500)]);
}
