//! A stress test of the GC: millions of allocations while a pseudo-random graph of 1,024
//! slots is mutated (`struct.set`, `array.set`, `array.copy`, `array.fill`), its references
//! passed through host calls, exceptions and tail calls,
//! with the heap's graph checked after every collection (`gc_verify`). Every edge records the
//! id of the node it points to; ids are never reused, so an edge whose target was freed and
//! its memory given to another node is caught by the guest's own check, and one whose target
//! was freed and not reused by the verifier.

use waot::{Extern, Linker, RefType, Store, Val, ValType};
use waot_compiler::CompileOptions;
use waot_tests::load_wat;

const MODULE: &str = r#"(module
  (rec
    (type $node (struct (field $id i64) (field $edges (ref $edges))))
    (type $edge (struct (field $to (mut (ref null $node))) (field $to_id (mut i64))))
    (type $edges (array (ref $edge))))
  (type $slots (array (mut (ref null $node))))
  (import "host" "pass" (func $pass (param anyref) (result anyref)))
  (tag $carry (param (ref null $node)))
  (global $rng (mut i64) (i64.const 88172645463325252))
  (global $next_id (mut i64) (i64.const 1))
  (global $slots (mut (ref null $slots)) (ref.null $slots))

  (func $rand (param $n i32) (result i32)
    (global.set $rng (i64.add (i64.mul (global.get $rng) (i64.const 6364136223846793005))
                              (i64.const 1442695040888963407)))
    (i32.wrap_i64 (i64.rem_u (i64.shr_u (global.get $rng) (i64.const 33))
                             (i64.extend_i32_u (local.get $n)))))
  (func $edge (result (ref $edge)) (struct.new $edge (ref.null $node) (i64.const -1)))
  (func $new_node (result (ref $node))
    (global.set $next_id (i64.add (global.get $next_id) (i64.const 1)))
    (struct.new $node (global.get $next_id)
      (array.new_fixed $edges 4 (call $edge) (call $edge) (call $edge) (call $edge))))
  (func $slot (result (ref null $node))
    (array.get $slots (global.get $slots) (call $rand (i32.const 1024))))
  (func $set_slot (param $n (ref null $node))
    (array.set $slots (global.get $slots) (call $rand (i32.const 1024)) (local.get $n)))
  (func $link (param $from (ref null $node)) (param $to (ref null $node))
    (local $e (ref $edge))
    (if (ref.is_null (local.get $from)) (then (return)))
    (local.set $e (array.get $edges (struct.get $node $edges (local.get $from))
                                    (call $rand (i32.const 4))))
    (struct.set $edge $to (local.get $e) (local.get $to))
    (struct.set $edge $to_id (local.get $e)
      (if (result i64) (ref.is_null (local.get $to))
        (then (i64.const -1)) (else (struct.get $node $id (local.get $to))))))
  (func $take_edge (param $from (ref null $node)) (result (ref null $node))
    (local $e (ref $edge)) (local $to (ref null $node))
    (if (ref.is_null (local.get $from)) (then (return (ref.null $node))))
    (local.set $e (array.get $edges (struct.get $node $edges (local.get $from))
                                    (call $rand (i32.const 4))))
    (local.set $to (struct.get $edge $to (local.get $e)))
    (struct.set $edge $to (local.get $e) (ref.null $node))
    (struct.set $edge $to_id (local.get $e) (i64.const -1))
    (local.get $to))
  (func $chain (param $n (ref null $node)) (param $d i32) (result (ref null $node))
    (if (i32.eqz (local.get $d)) (then (return (local.get $n))))
    (drop (call $new_node))
    (return_call $chain (local.get $n) (i32.sub (local.get $d) (i32.const 1))))
  (func $through_exception (param $n (ref null $node)) (result (ref null $node))
    (block $caught (result (ref null $node))
      (try_table (catch $carry $caught)
        (drop (call $new_node))
        (throw $carry (local.get $n)))
      (unreachable)))

  (func (export "mutate") (param $steps i32)
    (local $op i32)
    (if (ref.is_null (global.get $slots))
      (then (global.set $slots (array.new_default $slots (i32.const 1024)))))
    (loop $step
      (local.set $op (call $rand (i32.const 11)))
      (if (i32.le_u (local.get $op) (i32.const 2))
        (then (call $set_slot (call $new_node))))
      (if (i32.or (i32.eq (local.get $op) (i32.const 3)) (i32.eq (local.get $op) (i32.const 4)))
        (then (call $link (call $slot) (call $slot))))
      (if (i32.eq (local.get $op) (i32.const 5))
        (then (call $set_slot (ref.cast (ref null $node) (call $pass (call $slot))))))
      (if (i32.eq (local.get $op) (i32.const 6))
        (then (call $set_slot (call $through_exception
                                (call $chain (call $slot) (call $rand (i32.const 40)))))))
      (if (i32.eq (local.get $op) (i32.const 7))
        (then (call $set_slot (ref.null $node))))
      ;; Bulk overwrites of slots, through the array builtins.
      (if (i32.eq (local.get $op) (i32.const 8))
        (then (array.copy $slots $slots
                (global.get $slots) (call $rand (i32.const 1008))
                (global.get $slots) (call $rand (i32.const 1008)) (call $rand (i32.const 16)))))
      (if (i32.eq (local.get $op) (i32.const 9))
        (then (array.fill $slots (global.get $slots) (call $rand (i32.const 1016))
                (if (result (ref null $node)) (call $rand (i32.const 2))
                  (then (call $new_node)) (else (ref.null $node)))
                (call $rand (i32.const 8)))))
      ;; Move an edge's target into a slot, clearing the edge: while marking, the target may
      ;; be reachable only through the edge that `struct.set` overwrites.
      (if (i32.eq (local.get $op) (i32.const 10))
        (then (call $set_slot (call $take_edge (call $slot)))))
      (br_if $step (local.tee $steps (i32.sub (local.get $steps) (i32.const 1))))))

  ;; Edges whose target's id is not the one recorded, two levels down from every slot.
  (func $bad_edges (param $n (ref null $node)) (param $depth i32) (result i32)
    (local $k i32) (local $e (ref $edge)) (local $bad i32)
    (if (ref.is_null (local.get $n)) (then (return (i32.const 0))))
    (loop $edges
      (local.set $e (array.get $edges (struct.get $node $edges (local.get $n)) (local.get $k)))
      (if (ref.is_null (struct.get $edge $to (local.get $e)))
        (then (local.set $bad (i32.add (local.get $bad)
                (i64.ne (struct.get $edge $to_id (local.get $e)) (i64.const -1)))))
        (else
          (local.set $bad (i32.add (local.get $bad)
            (i64.ne (struct.get $edge $to_id (local.get $e))
                    (struct.get $node $id (struct.get $edge $to (local.get $e))))))
          (if (local.get $depth)
            (then (local.set $bad (i32.add (local.get $bad)
                    (call $bad_edges (struct.get $edge $to (local.get $e))
                                     (i32.sub (local.get $depth) (i32.const 1)))))))))
      (br_if $edges (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 1)))
                              (i32.const 4))))
    (local.get $bad))
  (func (export "check") (result i32)
    (local $i i32) (local $bad i32)
    (loop $slots
      (local.set $bad (i32.add (local.get $bad)
        (call $bad_edges (array.get $slots (global.get $slots) (local.get $i)) (i32.const 2))))
      (br_if $slots (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                              (i32.const 1024))))
    (local.get $bad))
)"#;

#[test]
fn a_mutated_graph_survives_millions_of_allocations_intact() {
    stress(None);
}

/// The same with marking cut into steps of at most 16 KiB of work, so that guest code runs,
/// allocates and overwrites references between the steps of every cycle: what the
/// collector's write barrier and black allocation exist for.
#[test]
fn a_graph_mutated_while_marking_incrementally_survives_intact() {
    stress(Some(16 << 10));
}

/// Allocation as nearly all the work, so that interrupts land inside inline allocations:
/// arrays of pseudo-random sizes, kept in a ring of 256 slots so that collections free most.
const ALLOCATING: &str = r#"(module
  (type $bytes (array (mut i8)))
  (type $ring (array (mut (ref null $bytes))))
  (global $rng (mut i32) (i32.const 1))
  (global $ring (mut (ref null $ring)) (ref.null $ring))
  (func (export "allocate") (param $n i32)
    (local $r i32)
    (if (ref.is_null (global.get $ring))
      (then (global.set $ring (array.new_default $ring (i32.const 256)))))
    (loop $l
      (local.set $r (i32.mul (global.get $rng) (i32.const 1103515245)))
      (local.set $r (i32.add (local.get $r) (i32.const 12345)))
      (global.set $rng (local.get $r))
      (array.set $ring (global.get $ring) (i32.and (local.get $r) (i32.const 255))
        (array.new_default $bytes (i32.rem_u (i32.shr_u (local.get $r) (i32.const 8))
                                              (i32.const 400))))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  ;; The sum of the ring's lengths, reading every array's header.
  (func (export "lengths") (result i32) (local $i i32) (local $sum i32) (local $a (ref null $bytes))
    (loop $l
      (local.set $a (array.get $ring (global.get $ring) (local.get $i)))
      (if (i32.eqz (ref.is_null (local.get $a)))
        (then (local.set $sum (i32.add (local.get $sum) (array.len (local.get $a))))))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 256))))
    (local.get $sum)))"#;

/// Interrupted from another thread every 50 to 250 microseconds, guest code stops between
/// any two instructions, inside inline allocations too; the runtime repairs what a stopped
/// allocation left (`repair_bump`), and the heap's verifier, run after every collection,
/// must find nothing wrong. Without the repair this test crashes or reports violations.
#[test]
fn allocations_interrupted_anywhere_leave_the_heap_intact() {
    let dir = tempfile::tempdir().unwrap();
    let module = load_wat(dir.path(), "alloc", ALLOCATING, &CompileOptions::default());
    let mut store = Store::new();
    store.gc_verify(true);
    store.gc_max_step(16 << 10);
    let instance = Linker::new().instantiate(&mut store, &module).unwrap();
    let allocate = store.get_func(instance, "allocate").unwrap();
    let lengths = store.get_func(instance, "lengths").unwrap();
    let handle = store.interrupt_handle().unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = stop.clone();
    let interrupter = std::thread::spawn(move || {
        let mut rng = 0x2545_f491_4f6c_dd1d_u64;
        while !seen.load(std::sync::atomic::Ordering::Relaxed) {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            std::thread::sleep(std::time::Duration::from_micros(50 + rng % 200));
            handle.interrupt();
        }
    });
    // At least 2 s, and until enough interrupts and collections happened (a loaded machine
    // gives fewer per second), within a minute.
    let (mut interrupted, started) = (0u32, std::time::Instant::now());
    let enough =
        |interrupted: u32, store: &Store| interrupted >= 1000 && store.gc_stats().collections >= 20;
    while started.elapsed() < std::time::Duration::from_secs(2)
        || (!enough(interrupted, &store) && started.elapsed() < std::time::Duration::from_secs(60))
    {
        match store.call(allocate, &[Val::I32(100_000)]) {
            Ok(_) => {}
            Err(waot::Error::Trap(t)) if t.code == Some(waot::TrapCode::Interrupted) => {
                interrupted += 1;
                // What the stopped code left of an allocation was repaired.
                let wrong = store.gc_verify(true);
                assert!(
                    wrong.is_empty(),
                    "after {interrupted} interrupts: {wrong:?}"
                );
            }
            Err(e) => panic!("after {interrupted} interrupts: {e}"),
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    interrupter.join().unwrap();
    // An interrupt that came between calls stops the first call after it.
    let sum = loop {
        store.collect_garbage();
        match store.call(lengths, &[]) {
            Ok(v) => break v,
            Err(waot::Error::Trap(t)) if t.code == Some(waot::TrapCode::Interrupted) => {
                interrupted += 1
            }
            Err(e) => panic!("lengths: {e}"),
        }
    };
    let stats = store.gc_stats();
    eprintln!("{interrupted} interrupts, lengths {sum:?}, {stats:?}");
    assert!(interrupted >= 1000, "too few interrupts to mean anything");
    assert!(stats.collections >= 20, "{stats:?}");
    assert!(matches!(sum[..], [Val::I32(n)] if n > 0 && n < 256 * 400));
    assert_eq!(store.gc_verify(true), Vec::<String>::new());
}

fn stress(max_step: Option<usize>) {
    let dir = tempfile::tempdir().unwrap();
    let module = load_wat(dir.path(), "stress", MODULE, &CompileOptions::default());
    let mut store = Store::new();
    store.gc_verify(true);
    if let Some(units) = max_step {
        store.gc_max_step(units);
    }
    // The host passes each reference back and keeps none: nothing is pinned.
    let any = ValType::Ref(RefType::ANYREF);
    let pass = store.func_new(&[any], &[any], |_, args, results| {
        results[0] = args[0];
        Ok(())
    });
    let mut linker = Linker::new();
    linker.define("host", "pass", Extern::Func(pass));
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let mutate = store.get_func(instance, "mutate").unwrap();
    let check = store.get_func(instance, "check").unwrap();
    for round in 0..6 {
        store.call(mutate, &[Val::I32(250_000)]).unwrap();
        assert_eq!(
            store.call(check, &[]).unwrap(),
            vec![Val::I32(0)],
            "round {round}"
        );
    }
    let stats = store.gc_stats();
    assert!(stats.collections >= 10, "{stats:?}");
    if max_step.is_some() {
        // Many steps per cycle: each pause is a step.
        assert!(stats.pauses >= 5 * stats.collections, "{stats:?}");
        eprintln!("{stats:?}");
    }
    assert_eq!(store.gc_verify(true), Vec::<String>::new());
    assert!(stats.heap_bytes < 64 << 20, "{stats:?}");
}
