//! Limits (issue 16): fuel counts exactly the instructions run, in every build, across calls
//! and host functions; running out traps or asks the host for more; an interrupt from another
//! thread stops loops and recursion; modules compiled without the metering a store asks for
//! are refused; and `wrun --fuel`, `--time-limit` and `--stats` do what they say, natively and
//! in the interpreter.

use runtime_support::artifact::Metering;
use runtime_support::BoundsStrategy;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use waot::{Error, Extern, Linker, Store, TrapCode, Val};
use waot_compiler::{CompileOptions, OptLevel};
use waot_tests::{binary, load_wat};

/// `count(n)` runs 8 instructions per iteration and 1 after the loop: 8n + 1 fuel.
const COUNTING: &str = r#"(module
  (import "host" "refuel" (func $refuel))
  (func $count (export "count") (param $n i32) (result i32) (local $i i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $i))
  ;; 5 + count(n): each instruction counts once, in its own function.
  (func (export "nested") (param $n i32) (result i32)
    (drop (call $count (local.get $n)))
    (call $refuel)
    (i32.const 7))
  (func (export "spin") (loop $l (br $l)))
  (func $f (param i32) (return_call $f (i32.add (local.get 0) (i32.const 1))))
  (func (export "recurse") (call $f (i32.const 0)))
  (func (export "seven") (result i32) (i32.const 7))
  ;; Work, then a trap: explicit after straight-line code, or a fault after a loop.
  (memory 1)
  (func (export "straight_then_unreachable") (drop (i32.const 1)) (drop (i32.const 1)) (drop (i32.const 1)) (drop (i32.const 1)) (drop (i32.const 1)) (drop (i32.const 1)) (drop (i32.const 1)) (drop (i32.const 1)) (drop (i32.const 1)) (drop (i32.const 1)) (unreachable))
  (func (export "loop_then_fault") (param $n i32) (local $i i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (drop (i32.load (i32.const -4)))))"#;

fn options(
    opt_level: OptLevel,
    bounds: BoundsStrategy,
    fuel: bool,
    interrupt: bool,
) -> CompileOptions {
    CompileOptions {
        opt_level,
        bounds,
        metering: Metering {
            fuel,
            interruptible: interrupt,
            custom_costs: false,
            profile: false,
        },
        enabled_proposals: vec!["tail-call".into()],
        ..Default::default()
    }
}

fn instantiate(store: &mut Store, module: &waot::Module, refuel: Option<u64>) -> waot::Instance {
    let f = store.func_new(&[], &[], move |caller, _, _| {
        if let Some(fuel) = refuel {
            caller.store.set_fuel(fuel).unwrap();
        }
        Ok(())
    });
    let mut linker = Linker::new();
    linker.define("host", "refuel", Extern::Func(f));
    linker.instantiate(store, module).unwrap()
}

/// COUNTING compiled with these options, instantiated in a fresh store whose `refuel` import
/// sets the fuel to `refuel`; the directory keeps the artifact.
fn counting_store(
    options: &CompileOptions,
    refuel: Option<u64>,
) -> (tempfile::TempDir, Store, waot::Instance) {
    let d = tempfile::tempdir().unwrap();
    let module = load_wat(d.path(), "m", COUNTING, options);
    let mut store = Store::new();
    let i = instantiate(&mut store, &module, refuel);
    (d, store, i)
}

fn call(
    store: &mut Store,
    i: waot::Instance,
    name: &str,
    args: &[Val],
) -> Result<Vec<Val>, TrapCode> {
    let f = store.get_func(i, name).unwrap();
    match store.call(f, args) {
        Ok(v) => Ok(v),
        Err(Error::Trap(t)) => Err(t.code.unwrap_or_else(|| panic!("{name}: {t}"))),
        Err(e) => panic!("{name}: {e}"),
    }
}

#[test]
fn fuel_counts_every_instruction_exactly_in_every_build() {
    for opt_level in [OptLevel::O0, OptLevel::O2] {
        for bounds in [BoundsStrategy::GuardPages, BoundsStrategy::Explicit] {
            let (_dir, mut store, i) =
                counting_store(&options(opt_level, bounds, true, false), None);
            let what = format!("{opt_level:?} {bounds:?}");
            for n in [1, 2, 1000] {
                let before = store.fuel_consumed();
                assert_eq!(
                    call(&mut store, i, "count", &[Val::I32(n)]),
                    Ok(vec![Val::I32(n)])
                );
                assert_eq!(
                    store.fuel_consumed() - before,
                    8 * n as u64 + 1,
                    "{what}: count({n})"
                );
            }
            let before = store.fuel_consumed();
            call(&mut store, i, "nested", &[Val::I32(10)]).unwrap();
            assert_eq!(store.fuel_consumed() - before, 81 + 5, "{what}: nested");
        }
    }
}

#[test]
fn running_out_of_fuel_traps_and_the_store_runs_on() {
    let (_dir, mut store, i) = counting_store(
        &options(OptLevel::O2, BoundsStrategy::GuardPages, true, false),
        None,
    );
    store.set_fuel(10_000).unwrap();
    assert_eq!(call(&mut store, i, "spin", &[]), Err(TrapCode::OutOfFuel));
    assert_eq!(store.fuel(), Some(0));
    // Fuel is checked at function entries and loop headers: count(100) checks for the last
    // time after 99 iterations (792 fuel), then uses 9 more, going below zero; the next call
    // stops at its entry.
    store.set_fuel(792).unwrap();
    let before = store.fuel_consumed();
    assert_eq!(
        call(&mut store, i, "count", &[Val::I32(100)]),
        Ok(vec![Val::I32(100)])
    );
    assert_eq!(
        (store.fuel(), store.fuel_consumed() - before),
        (Some(0), 801)
    );
    assert_eq!(call(&mut store, i, "seven", &[]), Err(TrapCode::OutOfFuel));
    store.set_fuel(791).unwrap();
    assert_eq!(
        call(&mut store, i, "count", &[Val::I32(100)]),
        Err(TrapCode::OutOfFuel)
    );
    store.set_fuel(1_000).unwrap();
    assert_eq!(call(&mut store, i, "seven", &[]), Ok(vec![Val::I32(7)]));
    // Tail calls without loops are metered at each entry.
    store.set_fuel(1_000_000).unwrap();
    assert_eq!(
        call(&mut store, i, "recurse", &[]),
        Err(TrapCode::OutOfFuel)
    );
}

#[test]
fn a_trap_does_not_give_back_the_fuel_used_before_it() {
    for bounds in [BoundsStrategy::GuardPages, BoundsStrategy::Explicit] {
        let (_dir, mut store, i) =
            counting_store(&options(OptLevel::O2, bounds, true, false), None);
        store.set_fuel(1_000_000).unwrap();
        let before = store.fuel_consumed();
        let r = call(&mut store, i, "straight_then_unreachable", &[]);
        assert_eq!(r, Err(TrapCode::Unreachable));
        // The trap block stores the count: 20 instructions (and the `unreachable`).
        assert!(store.fuel_consumed() - before >= 20, "{bounds:?}");
        store.set_fuel(1 << 40).unwrap();
        let before = store.fuel_consumed();
        let r = call(&mut store, i, "loop_then_fault", &[Val::I32(1000)]);
        assert_eq!(r, Err(TrapCode::MemoryOutOfBounds));
        // The 1,000 iterations: the loop's exit stores the exact fuel, which its strip's start
        // had lowered by all the strip could use.
        let used = store.fuel_consumed() - before;
        assert_eq!(used, 8 * 1000, "{bounds:?}");
    }
}

/// With fuel, a function's entry checks the stack and the fuel with one compare; runaway
/// recursion still ends in `StackOverflow`, and running out of fuel in it in `OutOfFuel`.
#[test]
fn metered_recursion_overflows_the_stack_or_runs_out_of_fuel() {
    let wat = r#"(module
      (func $deep (export "deep") (param i32) (result i32)
        (i32.add (call $deep (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
      (func (export "seven") (result i32) (i32.const 7)))"#;
    for opt_level in [OptLevel::O0, OptLevel::O2] {
        let d = tempfile::tempdir().unwrap();
        let opts = options(opt_level, BoundsStrategy::GuardPages, true, false);
        let module = load_wat(d.path(), "r", wat, &opts);
        let mut store = Store::new();
        let i = Linker::new().instantiate(&mut store, &module).unwrap();
        store.set_fuel(1 << 40).unwrap();
        let r = call(&mut store, i, "deep", &[Val::I32(0)]);
        assert_eq!(r, Err(TrapCode::StackOverflow), "{opt_level:?}");
        assert_eq!(call(&mut store, i, "seven", &[]), Ok(vec![Val::I32(7)]));
        store.set_fuel(10_000).unwrap();
        let deep = store.get_func(i, "deep").unwrap();
        let Err(Error::Trap(t)) = store.call(deep, &[Val::I32(0)]) else {
            panic!("{opt_level:?}: deep ran with 10,000 fuel");
        };
        assert_eq!(t.code, Some(TrapCode::OutOfFuel), "{opt_level:?}");
        // The frames are the guest's: the slow path the check calls is not named for one.
        assert!(
            t.backtrace.len() > 10,
            "{opt_level:?}: {:?}",
            t.backtrace.len()
        );
        assert!(
            t.backtrace.iter().all(|f| f.func_index == 0),
            "{opt_level:?}: {:?}",
            &t.backtrace[..3]
        );
    }
}

/// Functions that check no fuel at entry still stop in bounded time: a tree of calls that
/// doubles at each of 30 levels (2^30 calls, no loops, no recursion) runs out of fuel near
/// its budget, and so does a cycle of tail calls between two functions.
#[test]
fn call_trees_and_call_cycles_run_out_of_fuel() {
    let mut wat = String::from(
        "(module (func $f0 (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))\n",
    );
    for k in 1..=30 {
        wat += &format!(
            "(func $f{k} (param i32) (result i32) (call $f{j} (call $f{j} (local.get 0))))\n",
            j = k - 1
        );
    }
    wat += r#"(func (export "tree") (param i32) (result i32) (call $f30 (local.get 0)))
      (func $ping (param i32) (result i32) (return_call $pong (i32.add (local.get 0) (i32.const 1))))
      (func $pong (param i32) (result i32) (return_call $ping (i32.sub (local.get 0) (i32.const 1))))
      (func (export "ping") (param i32) (result i32) (call $ping (local.get 0))))"#;
    for opt_level in [OptLevel::O0, OptLevel::O2] {
        let d = tempfile::tempdir().unwrap();
        let module = load_wat(
            d.path(),
            "tree",
            &wat,
            &options(opt_level, BoundsStrategy::GuardPages, true, false),
        );
        let mut store = Store::new();
        // A backstop: a call that never ends fails the test instead of hanging it.
        let handle = store.interrupt_handle().unwrap();
        let i = Linker::new().instantiate(&mut store, &module).unwrap();
        for name in ["tree", "ping"] {
            let budget = 1_000_000;
            store.set_fuel(budget).unwrap();
            let before = store.fuel_consumed();
            let h = handle.clone();
            let done = Arc::new(AtomicU32::new(0));
            let finished = done.clone();
            let backstop = std::thread::spawn(move || {
                for _ in 0..300 {
                    std::thread::sleep(Duration::from_millis(100));
                    if finished.load(Ordering::Relaxed) != 0 {
                        return;
                    }
                }
                h.interrupt();
            });
            let r = call(&mut store, i, name, &[Val::I32(0)]);
            done.store(1, Ordering::Relaxed);
            backstop.join().unwrap();
            assert_eq!(r, Err(TrapCode::OutOfFuel), "{opt_level:?} {name}");
            // Past the budget by at most the operators run between two checks.
            let used = store.fuel_consumed() - before;
            assert!(
                (budget..budget + 50_000).contains(&used),
                "{opt_level:?} {name}: {used}"
            );
        }
    }
}

/// Loops of every shape fuel strips take (`fuel_strips.rs`): one `br_if` back (the single-exit
/// form), several branches back (the latch), `br_table` and `br_on_null` back, paths of
/// different costs, a loop over memory that LLVM vectorizes, loops with results and values
/// live across them, several loops in one function (one of them dead), a loop nest whose
/// inner loop runs in strips, and a loop with a call, which strips leave alone.
const LOOPS: &str = r#"(module
  (memory 1)
  (func $id (param i32) (result i32) (local.get 0))
  (elem declare func $id)
  (func (export "one_exit") (param $n i32) (result i32) (local $i i32) (local $acc i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (if (i32.and (local.get $i) (i32.const 4))
        (then (local.set $acc (i32.add (local.get $acc) (local.get $i)))))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $acc))
  (func (export "paths") (param $n i32) (result i32) (local $i i32) (local $acc i32)
    (block $out
      (loop $l
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (if (i32.and (local.get $i) (i32.const 1))
          (then (local.set $acc (i32.add (local.get $acc) (i32.const 3))))
          (else (local.set $acc
            (i32.xor (local.get $acc) (i32.mul (local.get $i) (i32.const 5))))))
        (br_if $out (i32.ge_u (local.get $i) (local.get $n)))
        (br_if $l (i32.rem_u (local.get $i) (i32.const 3)))
        (local.set $acc (i32.rotl (local.get $acc) (i32.const 1)))
        (br $l)))
    (local.get $acc))
  (func (export "table") (param $n i32) (result i32) (local $i i32)
    (block $out
      (loop $l
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $out (i32.ge_u (local.get $i) (local.get $n)))
        (br_table $l $out $l (i32.rem_u (local.get $i) (i32.const 5)))))
    (local.get $i))
  (func (export "on_null") (param $n i32) (result i32) (local $i i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (drop (br_on_null $l (select (result funcref) (ref.null func) (ref.func $id)
        (i32.lt_u (local.get $i) (local.get $n))))))
    (local.get $i))
  (func (export "sum") (param $n i32) (result i32) (local $i i32) (local $s i32)
    (loop $l
      (local.set $s (i32.add (local.get $s)
        (i32.load (i32.shl (i32.and (local.get $i) (i32.const 1023)) (i32.const 2)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.ne (local.get $i) (local.get $n))))
    (local.get $s))
  (func (export "results") (param $n i32) (result i32) (local $i i32)
    (i32.add (i32.mul (local.get $n) (i32.const 3))
      (loop $l (result i32)
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (block $b (result i32)
          (br_if $b (i32.const 5) (i32.and (local.get $i) (i32.const 2)))
          (drop)
          (i32.const 9))
        (br_if $l (i32.lt_u (local.get $i) (local.get $n)))
        (i32.add (local.get $i)))))
  (func (export "several") (param $n i32) (result i32) (local $i i32) (local $j i32)
    (loop $a
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $a (i32.lt_u (local.get $i) (local.get $n))))
    (block $dead
      (br $dead)
      (loop $never (br $never)))
    (loop $b
      (local.set $j (i32.add (local.get $j) (i32.const 2)))
      (br_if $b (i32.lt_u (local.get $j) (local.get $n))))
    (i32.add (local.get $i) (local.get $j)))
  (func (export "nest") (param $n i32) (result i32) (local $i i32) (local $j i32) (local $s i32)
    (loop $outer
      (local.set $j (i32.const 0))
      (loop $inner
        (local.set $s (i32.add (local.get $s) (i32.xor (local.get $i) (local.get $j))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $inner (i32.lt_u (local.get $j) (i32.const 5))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $outer (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $s))
  (func (export "calling") (param $n i32) (result i32) (local $i i32)
    (loop $l
      (local.set $i (call $id (i32.add (local.get $i) (i32.const 1))))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $i))
  ;; Loads from page $n / 16 on, past the memory's one page: faults in iteration $n / 16 + 1.
  (func (export "fault_inside") (param $n i32) (result i32) (local $i i32) (local $s i32)
    (loop $l
      (local.set $s (i32.add (local.get $s) (i32.load (i32.mul (local.get $i) (i32.const 4096)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $s))
  ;; Leave the loop by `br`, `br_if` and `br_table` to an outer block, then fault.
  (func (export "out_br") (param $n i32) (result i32) (local $i i32)
    (block $out
      (loop $l
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (if (i32.ge_u (local.get $i) (local.get $n)) (then (br $out)))
        (br $l)))
    (i32.load (i32.const -4)))
  (func (export "out_br_if") (param $n i32) (result i32) (local $i i32)
    (block $out
      (loop $l
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $out (i32.ge_u (local.get $i) (local.get $n)))
        (br $l)))
    (i32.load (i32.const -4)))
  (func (export "out_table") (param $n i32) (result i32) (local $i i32)
    (block $out
      (loop $l
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_table $l $out (i32.ge_u (local.get $i) (local.get $n)))))
    (i32.load (i32.const -4)))
  (data (i32.const 0) "\01\02\03\04\05\06\07\08"))"#;

/// What a call did: its result or trap, the fuel it used and the fuel left.
fn metered_call(
    store: &mut Store,
    i: waot::Instance,
    name: &str,
    n: i32,
    fuel: u64,
) -> (Result<Vec<Val>, TrapCode>, u64, Option<u64>) {
    store.set_fuel(fuel).unwrap();
    let before = store.fuel_consumed();
    let r = call(store, i, name, &[Val::I32(n)]);
    (r, store.fuel_consumed() - before, store.fuel())
}

/// LOOPS compiled with fuel, in strips or with every header checked; the store and instance,
/// and whether the optimized IR has strips.
fn loops_instance(
    dir: &std::path::Path,
    base: &CompileOptions,
    strips: bool,
) -> (Store, waot::Instance, bool) {
    let name = if strips { "strips" } else { "checks" };
    let ir = dir.join(format!("{name}.ll"));
    let opts = CompileOptions {
        fuel_strips: strips,
        emit_llvm: Some(ir.clone()),
        ..base.clone()
    };
    let module = load_wat(dir, name, LOOPS, &opts);
    let mut store = Store::new();
    let i = Linker::new().instantiate(&mut store, &module).unwrap();
    let has_strips = std::fs::read_to_string(&ir).unwrap().contains("fuel_strip");
    (store, i, has_strips)
}

/// Fuel strips skip loop-header checks that could not go off: with them, every loop gives
/// the same result, uses the same fuel and runs out at the same instruction as with a check at
/// every header, for any amount of fuel and any refills, at -O0 and -O2, with cost tables
/// that make operators free or make one iteration cost more than a strip's fuel, and with
/// interrupt polls. Runs of more than one strip (2^22 fuel) take the second copy of the loop.
#[test]
fn fuel_strips_run_out_where_every_header_check_would() {
    let names = [
        "one_exit", "paths", "table", "on_null", "sum", "results", "several", "nest", "calling",
    ];
    let tables = [
        None,
        Some("local.get 0\nlocal.set 0\ni32.add 0\ndefault 1\n"),
        Some("i32.add 5000000\ndefault 2\n"),
    ];
    // Level, cost table, polls, and the unit of refills (a refill gives 1 to 97 units).
    let configs = [
        (OptLevel::O0, None, false, 1),
        (OptLevel::O2, None, false, 1),
        (OptLevel::O2, tables[1], false, 1),
        (OptLevel::O2, tables[2], true, 1_000_000),
    ];
    for (opt_level, table, interruptible, unit) in configs {
        let d = tempfile::tempdir().unwrap();
        let mut base = options(opt_level, BoundsStrategy::GuardPages, true, interruptible);
        if let Some(text) = table {
            base.fuel_costs = Some(waot_compiler::FuelCosts::parse(text).unwrap());
            base.metering.custom_costs = true;
        }
        let (mut s, si, strips) = loops_instance(d.path(), &base, true);
        let (mut c, ci, checks) = loops_instance(d.path(), &base, false);
        let config = format!("{opt_level:?} {table:?} interruptible {interruptible}");
        assert!(
            strips && !checks,
            "{config}: strips {strips}, checks {checks}"
        );
        let (s, c) = (&mut s, &mut c);
        for name in names {
            for n in [1, 2, 3, 7, 100, 1_000_000] {
                let all = u64::MAX >> 2;
                let expected = metered_call(c, ci, name, n, all);
                assert!(expected.0.is_ok(), "{config} {name}({n})");
                let what = format!("{config} {name}({n})");
                assert_eq!(metered_call(s, si, name, n, all), expected, "{what}");
                if n > 100 {
                    continue;
                }
                // Amounts up to the whole run (every one, for runs of a few thousand): the same
                // trap at the same instruction.
                let step = (expected.1 / 3000).max(1) as usize;
                for fuel in (0..=expected.1 + 2).step_by(step) {
                    assert_eq!(
                        metered_call(s, si, name, n, fuel),
                        metered_call(c, ci, name, n, fuel),
                        "{what} with {fuel} fuel"
                    );
                }
            }
            // Refills of changing sizes: strips begin and end anywhere.
            for store in [&mut *s, &mut *c] {
                let seen = Arc::new(AtomicU32::new(0));
                store.set_fuel_refill(move || match seen.fetch_add(1, Ordering::Relaxed) {
                    k @ 0..=20_000 => unit * (1 + (k as u64 * 7919) % 97),
                    _ => 0,
                });
            }
            let with_refills = metered_call(s, si, name, 3_000, 3);
            assert_eq!(
                with_refills,
                metered_call(c, ci, name, 3_000, 3),
                "{config} {name}"
            );
            assert!(with_refills.0.is_ok(), "{config} {name}: {with_refills:?}");
            s.set_fuel_refill(|| 0);
            c.set_fuel_refill(|| 0);
        }
        // Every way out of a strip stores the exact fuel: a fault after the loop charges what
        // ran (header checks lose the last, partial iteration).
        for name in ["out_br", "out_br_if", "out_table"] {
            let (r, checked, _) = metered_call(c, ci, name, 1000, 1 << 40);
            assert_eq!(r, Err(TrapCode::MemoryOutOfBounds), "{config} {name}");
            let (r, used, _) = metered_call(s, si, name, 1000, 1 << 40);
            assert_eq!(r, Err(TrapCode::MemoryOutOfBounds), "{config} {name}");
            assert!(
                (checked..=checked + checked / 999 + 8).contains(&used),
                "{config} {name}: {used} against {checked}"
            );
        }
        // A fault inside a strip charges at most a strip's fuel (or one iteration's, if more)
        // more than what ran.
        let iteration = metered_call(c, ci, "fault_inside", 2, 1 << 40).1
            - metered_call(c, ci, "fault_inside", 1, 1 << 40).1;
        let (r, exact, _) = metered_call(c, ci, "fault_inside", 1000, 1 << 40);
        assert_eq!(r, Err(TrapCode::MemoryOutOfBounds), "{config}");
        let (r, used, _) = metered_call(s, si, "fault_inside", 1000, 1 << 40);
        assert_eq!(r, Err(TrapCode::MemoryOutOfBounds), "{config}");
        assert!(
            (exact..=exact + iteration.max(1 << 22)).contains(&used),
            "{config}: {used} against {exact}"
        );
    }
}

#[test]
fn an_interrupt_stops_a_wait_that_nothing_would_end() {
    let wat = r#"(module
      (memory 1 1 shared)
      (func (export "wait_forever") (result i32)
        (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))
      (func (export "seven") (result i32) (i32.const 7)))"#;
    let d = tempfile::tempdir().unwrap();
    let module = load_wat(
        d.path(),
        "w",
        wat,
        &options(OptLevel::O2, BoundsStrategy::GuardPages, false, true),
    );
    let mut store = Store::new();
    let handle = store.interrupt_handle().unwrap();
    let i = Linker::new().instantiate(&mut store, &module).unwrap();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        handle.interrupt();
    });
    assert_eq!(
        call(&mut store, i, "wait_forever", &[]),
        Err(TrapCode::Interrupted)
    );
    t.join().unwrap();
    assert_eq!(call(&mut store, i, "seven", &[]), Ok(vec![Val::I32(7)]));
}

#[test]
fn the_refill_callback_resumes_the_guest_and_a_host_function_can_set_fuel() {
    let (_dir, mut store, i) = counting_store(
        &options(OptLevel::O2, BoundsStrategy::GuardPages, true, false),
        Some(1_000_000),
    );
    let refills = Arc::new(AtomicU32::new(0));
    let seen = refills.clone();
    store.set_fuel_refill(move || match seen.fetch_add(1, Ordering::Relaxed) {
        0..=99 => 1_000,
        _ => 0,
    });
    store.set_fuel(100).unwrap();
    // 80,001 fuel: 100 given, then 80 refills of 1,000 (the call ends inside the 80th).
    assert_eq!(
        call(&mut store, i, "count", &[Val::I32(10_000)]),
        Ok(vec![Val::I32(10_000)])
    );
    assert_eq!(refills.load(Ordering::Relaxed), 80);
    assert_eq!(store.fuel_consumed(), 80_001);
    // The refills stop after 100: a loop that never ends traps.
    assert_eq!(call(&mut store, i, "spin", &[]), Err(TrapCode::OutOfFuel));
    assert_eq!(refills.load(Ordering::Relaxed), 101);
    // A host function sets the fuel; the guest sees it when the call returns.
    store.set_fuel(100).unwrap();
    assert_eq!(
        call(&mut store, i, "nested", &[Val::I32(1)]),
        Ok(vec![Val::I32(7)])
    );
    assert_eq!(store.fuel(), Some(1_000_000 - 1));
}

#[test]
fn an_interrupt_stops_loops_and_recursion_and_is_consumed() {
    for opt_level in [OptLevel::O0, OptLevel::O2] {
        let d = tempfile::tempdir().unwrap();
        // Fuel too, as a backstop: an interrupt that is lost fails the test after some seconds
        // instead of hanging it. Optimized, the empty loop runs in fuel strips (of 2^22
        // iterations) whose iterations take no time.
        let opts = options(opt_level, BoundsStrategy::GuardPages, true, true);
        let module = load_wat(d.path(), "m", COUNTING, &opts);
        let mut store = Store::new();
        let handle = store.interrupt_handle().unwrap();
        let backstop = match opt_level {
            OptLevel::O0 => 10_000_000_000,
            _ => 10_000_000_000 << 20,
        };
        store.set_fuel(backstop).unwrap();
        let i = instantiate(&mut store, &module, None);
        for name in ["spin", "recurse"] {
            let h = handle.clone();
            let t = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                h.interrupt();
            });
            let started = Instant::now();
            assert_eq!(
                call(&mut store, i, name, &[]),
                Err(TrapCode::Interrupted),
                "{name}"
            );
            assert!(started.elapsed() < Duration::from_secs(10), "{name}");
            t.join().unwrap();
            // Consumed: the store runs on, and recursion still gets its whole stack.
            assert_eq!(
                call(&mut store, i, "count", &[Val::I32(3)]),
                Ok(vec![Val::I32(3)])
            );
        }
        // Requested while nothing runs: the next call stops, the one after runs.
        handle.interrupt();
        assert_eq!(
            call(&mut store, i, "count", &[Val::I32(3)]),
            Err(TrapCode::Interrupted)
        );
        assert_eq!(
            call(&mut store, i, "count", &[Val::I32(3)]),
            Ok(vec![Val::I32(3)])
        );
        // The handle outlives the store harmlessly.
        drop(store);
        handle.interrupt();
    }
}

#[test]
fn stores_refuse_modules_that_cannot_honour_their_limits() {
    let d = tempfile::tempdir().unwrap();
    let plain = load_wat(
        d.path(),
        "plain",
        COUNTING,
        &options(OptLevel::O1, BoundsStrategy::GuardPages, false, false),
    );
    let fueled = load_wat(
        d.path(),
        "fueled",
        COUNTING,
        &options(OptLevel::O1, BoundsStrategy::GuardPages, true, false),
    );
    let host = |store: &mut Store| {
        let f = store.func_new(&[], &[], |_, _, _| Ok(()));
        let mut l = Linker::new();
        l.define("host", "refuel", Extern::Func(f));
        l
    };
    let refusal = |r: Result<waot::Instance, Error>, flag: &str, name: &str| match r {
        Err(Error::Load(m)) => assert!(m.contains(flag) && m.contains(name), "{m}"),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("instantiated without {flag}"),
    };
    // Asked first, then instantiated.
    let mut store = Store::new();
    store.set_fuel(10).unwrap();
    let l = host(&mut store);
    refusal(l.instantiate(&mut store, &plain), "--fuel", "plain.so");
    l.instantiate(&mut store, &fueled).unwrap();
    // Instantiated first, then asked.
    let mut store = Store::new();
    let l = host(&mut store);
    l.instantiate(&mut store, &plain).unwrap();
    assert!(matches!(store.set_fuel(10), Err(Error::Load(m)) if m.contains("--fuel")));
    // Any code can be interrupted.
    store.interrupt_handle().unwrap();
    l.instantiate(&mut store, &plain).unwrap();
}

fn wrun(args: &[&dyn AsRef<std::ffi::OsStr>]) -> std::process::Output {
    Command::new(binary("wrun")).args(args).output().unwrap()
}

fn waotc(wasm: &std::path::Path, so: &std::path::Path, flags: &[&str]) {
    let o = Command::new(binary("waotc"))
        .args(flags)
        .args(["--cpu", "x86-64-v2"])
        .arg(wasm)
        .arg(so)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

const COMMAND: &str = r#"(module
  (memory (export "memory") 16)
  (func (export "_start") (local $i i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 1000)))))
  (func (export "spin") (loop $l (br $l))))"#;

#[test]
fn wrun_stops_guests_at_their_limits_natively_and_interpreted() {
    let d = tempfile::tempdir().unwrap();
    let wasm = d.path().join("c.wasm");
    std::fs::write(&wasm, wat::parse_str(COMMAND).unwrap()).unwrap();
    let metered = d.path().join("metered.so");
    waotc(&wasm, &metered, &["--fuel", "--interruptible"]);
    let plain = d.path().join("plain.so");
    waotc(&wasm, &plain, &[]);
    let stderr = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).into_owned();

    // `_start` runs 8,000 instructions and checks its fuel last after 7,992.
    for (module, extra) in [(&metered, None), (&wasm, Some("--interp"))] {
        let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"--fuel", &"7992"];
        args.extend(extra.iter().map(|e| e as &dyn AsRef<std::ffi::OsStr>));
        args.push(module);
        let o = wrun(&args);
        if extra.is_none() {
            assert!(o.status.success(), "{}", stderr(&o));
        }
        args[1] = &"10";
        let o = wrun(&args);
        assert_eq!(o.status.code(), Some(124), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("all fuel consumed (--fuel 10)"),
            "{}",
            stderr(&o)
        );
    }
    let o = wrun(&[&"--fuel", &"7991", &metered]);
    assert_eq!(o.status.code(), Some(124), "{}", stderr(&o));
    for module in [&metered, &wasm] {
        let interp = module == &wasm;
        let o = wrun(&[&"--stats", &if interp { "--interp" } else { "-q" }, module]);
        assert!(o.status.success(), "{}", stderr(&o));
        // The interpreter counts in wasmi's units, and the backtrace instrumentation's too.
        let instructions = match interp {
            false => "instructions    8000 (fuel consumed)",
            true => "(the interpreter's fuel units: about one per instruction)",
        };
        for line in [instructions, "linear memory   1.0 MiB (peak)"] {
            assert!(stderr(&o).contains(line), "{line}: {}", stderr(&o));
        }
    }

    // A loop that never ends, stopped by the clock, in every mode: polled, by signal alone,
    // interpreted.
    for (module, extra) in [(&metered, "-q"), (&plain, "-q"), (&wasm, "--interp")] {
        let started = Instant::now();
        let o = wrun(&[
            &"--time-limit",
            &"300ms",
            &extra,
            module,
            &"--invoke",
            &"spin",
        ]);
        assert_eq!(o.status.code(), Some(124), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("stopped: interrupted"),
            "{}",
            stderr(&o)
        );
        assert!(started.elapsed() < Duration::from_secs(20));
    }

    // An artifact without fuel metering: one line naming the flag, exit status 1.
    let o = wrun(&[&"--fuel", &"10", &plain]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.contains("recompile with `waotc --fuel`"), "{e}");
}

const GROWING: &str = r#"(module
  (memory (export "memory") 1)
  (table $t 1 funcref)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size))
  (func (export "grow_table") (param i32) (result i32) (table.grow $t (ref.null func) (local.get 0))))"#;

#[test]
fn resource_limits_bound_memories_tables_and_instances() {
    let d = tempfile::tempdir().unwrap();
    for bounds in [BoundsStrategy::GuardPages, BoundsStrategy::Explicit] {
        let module = load_wat(
            d.path(),
            "grow",
            GROWING,
            &options(OptLevel::O2, bounds, false, false),
        );
        let mut store = Store::new();
        store.set_resource_limits(waot::ResourceLimits {
            memory_bytes: Some(4 << 16),
            total_memory_bytes: Some(6 << 16),
            table_elements: Some(10),
            instances: Some(2),
            gc_heap_bytes: None,
            trap_on_grow: false,
        });
        let a = Linker::new().instantiate(&mut store, &module).unwrap();
        let b = Linker::new().instantiate(&mut store, &module).unwrap();
        let grow = |store: &mut Store, i, n| call(store, i, "grow", &[Val::I32(n)]);
        // One memory reaches 4 pages, not 5; both together 6, not 7.
        assert_eq!(grow(&mut store, a, 3), Ok(vec![Val::I32(1)]));
        assert_eq!(grow(&mut store, a, 1), Ok(vec![Val::I32(-1)]));
        assert_eq!(grow(&mut store, a, 0), Ok(vec![Val::I32(4)]));
        assert_eq!(grow(&mut store, b, 2), Ok(vec![Val::I32(-1)]));
        assert_eq!(grow(&mut store, b, 1), Ok(vec![Val::I32(1)]));
        assert_eq!(call(&mut store, b, "size", &[]), Ok(vec![Val::I32(2)]));
        // Tables: 1 + 9 elements, not 11.
        assert_eq!(
            call(&mut store, a, "grow_table", &[Val::I32(10)]),
            Ok(vec![Val::I32(-1)])
        );
        assert_eq!(
            call(&mut store, a, "grow_table", &[Val::I32(9)]),
            Ok(vec![Val::I32(1)])
        );
        // A third instance, and host memories beyond the total, are refused.
        let third = Linker::new().instantiate(&mut store, &module);
        assert!(matches!(third, Err(Error::Limit(m)) if m.contains("2 instances")));
        assert!(matches!(store.memory_new(1, None), Err(Error::Limit(_))));
        // The embedder may prefer a trap.
        let mut limits = store.resource_limits().clone();
        limits.trap_on_grow = true;
        store.set_resource_limits(limits);
        assert_eq!(grow(&mut store, a, 1), Err(TrapCode::ResourceLimitExceeded));
        assert_eq!(grow(&mut store, a, 0), Ok(vec![Val::I32(4)]));

        // A module whose initial memory is over the limit does not instantiate.
        let mut store = Store::new();
        store.set_resource_limits(waot::ResourceLimits {
            memory_bytes: Some(1 << 15),
            ..Default::default()
        });
        let r = Linker::new().instantiate(&mut store, &module);
        assert!(matches!(r, Err(Error::Limit(m)) if m.contains("65536 bytes")));
    }
}

#[test]
fn wrun_max_memory_makes_memory_grow_fail_natively_and_interpreted() {
    let d = tempfile::tempdir().unwrap();
    let wasm = d.path().join("g.wasm");
    let wat = r#"(module
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (func (export "_start")
        (call $exit (i32.add (i32.const 40) (i32.eq (memory.grow (i32.const 100)) (i32.const -1))))))"#;
    std::fs::write(&wasm, wat::parse_str(wat).unwrap()).unwrap();
    let so = d.path().join("g.so");
    waotc(&wasm, &so, &[]);
    for module in [&so, &wasm] {
        let o = wrun(&[&"-q", module]);
        assert_eq!(o.status.code(), Some(40));
        let o = wrun(&[&"-q", &"--max-memory", &"1M", module]);
        assert_eq!(
            o.status.code(),
            Some(41),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let o = wrun(&[&"-q", &"--max-memory", &"7M", module]);
        assert_eq!(o.status.code(), Some(40));
    }
}

/// The limit is on the guest's memories together, in the interpreter as natively: its own
/// frame stack (about 1 MiB per instance) does not count, and two memories share the limit.
#[test]
fn wrun_max_memory_counts_the_guests_memories_together_in_the_interpreter_too() {
    let d = tempfile::tempdir().unwrap();
    let wasm = d.path().join("m.wasm");
    // Exits with 10 + what growing memory 1 by a page returned (11, or 9 for -1).
    let wat = r#"(module
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (memory $other 1)
      (func (export "_start")
        (call $exit (i32.add (memory.grow $other (i32.const 1)) (i32.const 10)))))"#;
    std::fs::write(&wasm, wat::parse_str(wat).unwrap()).unwrap();
    let so = d.path().join("m.so");
    waotc(&wasm, &so, &[]);
    for module in [&so, &wasm] {
        for (limit, status) in [("192K", 11), ("191K", 9), ("128K", 9)] {
            let o = wrun(&[&"-q", &"--max-memory", &limit, module]);
            let stderr = String::from_utf8_lossy(&o.stderr);
            assert_eq!(
                o.status.code(),
                Some(status),
                "{limit} {module:?}: {stderr}"
            );
        }
        // Two pages do not fit in one and a half.
        let o = wrun(&[&"-q", &"--max-memory", &"96K", module]);
        assert_eq!(o.status.code(), Some(1), "{module:?}");
    }
}

/// `waotc --fuel-costs`: a table of what each operator costs, compiled into the code. The
/// interpreter, which cannot count that way, refuses to meter such a module; bad tables and a
/// table without `--fuel` are one-line errors.
#[test]
fn a_fuel_cost_table_decides_what_each_operator_charges() {
    let d = tempfile::tempdir().unwrap();
    let wasm = d.path().join("c.wasm");
    std::fs::write(&wasm, wat::parse_str(COMMAND).unwrap()).unwrap();
    let table = d.path().join("costs.txt");
    // Per iteration of `_start`'s loop: one i32.add, one i32.lt_u and six other operators.
    std::fs::write(&table, "# test\ni32.add 10\nI32LtU 100\ndefault 2\n").unwrap();
    let so = d.path().join("costly.so");
    let table_arg = table.to_str().unwrap();
    waotc(&wasm, &so, &["--fuel", "--fuel-costs", table_arg]);
    let o = wrun(&[&"--stats", &so]);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{stderr}");
    // (10 + 100 + 6 * 2) * 1000 iterations.
    assert!(
        stderr.contains("instructions    122000 (fuel consumed)"),
        "{stderr}"
    );
    // The universal form carries the same code; the interpreter will not meter it.
    let universal = d.path().join("costly_aot.wasm");
    waotc(&wasm, &universal, &["--fuel", "--fuel-costs", table_arg]);
    let o = wrun(&[&"--interp", &"--fuel", &"1000000", &universal]);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--fuel-costs"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    // Without a fuel limit it interprets as usual.
    let o = wrun(&[&"--interp", &universal]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    for (text, flags, error) in [
        (
            "i32.add 1\nfrobnicate 2\n",
            &["--fuel"][..],
            "line 2: no operator is named `frobnicate`",
        ),
        ("i32.add one\n", &["--fuel"][..], "line 1: cost `one`"),
        ("i32.add 1\n", &[][..], "--fuel"),
    ] {
        std::fs::write(&table, text).unwrap();
        let o = Command::new(binary("waotc"))
            .args(flags)
            .args(["--fuel-costs", table_arg, "--cpu", "x86-64-v2"])
            .arg(&wasm)
            .arg(d.path().join("bad.so"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
        assert_eq!(o.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(error), "{error}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    }
}

/// Guest code that polls nothing (no `--interruptible`): the interrupt's signal stops it.
const UNPOLLED: &str = r#"(module
  (import "host" "nap" (func $nap))
  (tag $t (param i32))
  (func (export "spin") (loop $l (br $l)))
  (func $f (param i32) (return_call $f (i32.add (local.get 0) (i32.const 1))))
  (func (export "recurse") (call $f (i32.const 0)))
  ;; Nearly all its time in a host function that sleeps.
  (func (export "napping") (loop $l (call $nap) (br $l)))
  ;; Nearly all its time in the unwinder.
  (func (export "throwing") (local $i i32)
    (loop $l
      (block $caught (result i32)
        (try_table (catch $t $caught) (throw $t (local.get $i)))
        (unreachable))
      (local.set $i (i32.add (i32.const 1)))
      (br $l)))
  ;; Nearly all its time in memset.
  (memory 16)
  (func (export "filling") (loop $l (memory.fill (i32.const 0) (i32.const 7) (i32.const 1048576)) (br $l)))
  ;; acc = acc * 31 + i for i below n, calling the host every 2^16 iterations.
  (func (export "mix") (param $n i32) (result i64) (local $i i32) (local $acc i64)
    (loop $l
      (local.set $acc (i64.add (i64.mul (local.get $acc) (i64.const 31))
                               (i64.extend_i32_u (local.get $i))))
      (if (i32.eqz (i32.and (local.get $i) (i32.const 65535))) (then (call $nap)))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (local.get $acc))
  (func (export "seven") (result i32) (i32.const 7)))"#;

/// Aborts the test process if it is still running after `secs`: a lost interrupt would
/// otherwise hang the test run instead of failing it.
fn watchdog(secs: u64, what: &'static str) -> Arc<std::sync::atomic::AtomicBool> {
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = done.clone();
    std::thread::spawn(move || {
        let started = Instant::now();
        while !seen.load(Ordering::Relaxed) {
            if started.elapsed() > Duration::from_secs(secs) {
                eprintln!("{what}: still running after {secs} s: an interrupt was lost");
                std::process::abort();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    done
}

fn unpolled_store(opt_level: OptLevel, dir: &std::path::Path) -> (Store, waot::Instance) {
    let opts = CompileOptions {
        enabled_proposals: vec!["tail-call".into(), "exceptions".into()],
        ..options(opt_level, BoundsStrategy::GuardPages, false, false)
    };
    let module = load_wat(dir, "unpolled", UNPOLLED, &opts);
    assert!(!module.header().metering.interruptible);
    let mut store = Store::new();
    let nap = store.func_new(&[], &[], |_, _, _| {
        std::thread::sleep(Duration::from_micros(200));
        Ok(())
    });
    let mut linker = Linker::new();
    linker.define("host", "nap", Extern::Func(nap));
    let i = linker.instantiate(&mut store, &module).unwrap();
    (store, i)
}

#[test]
fn an_interrupt_stops_code_that_polls_nothing_wherever_it_runs() {
    let done = watchdog(120, "an_interrupt_stops_code_that_polls_nothing");
    for opt_level in [OptLevel::O0, OptLevel::O2] {
        let d = tempfile::tempdir().unwrap();
        let (mut store, i) = unpolled_store(opt_level, d.path());
        let handle = store.interrupt_handle().unwrap();
        for name in ["spin", "recurse", "napping", "throwing", "filling"] {
            let mut latencies = Vec::new();
            for round in 0..5 {
                let h = handle.clone();
                let t = std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(20 + 10 * round));
                    h.interrupt();
                    Instant::now()
                });
                assert_eq!(
                    call(&mut store, i, name, &[]),
                    Err(TrapCode::Interrupted),
                    "{opt_level:?} {name}"
                );
                let returned = Instant::now();
                // Signalled at once, or again every millisecond: well under a second.
                let took = returned.saturating_duration_since(t.join().unwrap());
                assert!(took < Duration::from_secs(1), "{name}: {took:?}");
                latencies.push(took);
                assert_eq!(call(&mut store, i, "seven", &[]), Ok(vec![Val::I32(7)]));
            }
            latencies.sort();
            eprintln!("{opt_level:?} {name}: from interrupt() to the trap: {latencies:?}");
        }
        // Requested while nothing runs: the next call stops, even a leaf with no entry check.
        handle.interrupt();
        assert_eq!(call(&mut store, i, "spin", &[]), Err(TrapCode::Interrupted));
        assert_eq!(call(&mut store, i, "seven", &[]), Ok(vec![Val::I32(7)]));
    }
    done.store(true, Ordering::Relaxed);
}

/// The interrupt signal arriving when no interrupt is pending (sent by hand, as a stray
/// `SIGURG` would be), in guest code and in host functions, changes no result.
#[test]
fn stray_interrupt_signals_change_nothing() {
    let d = tempfile::tempdir().unwrap();
    let (mut store, i) = unpolled_store(OptLevel::O2, d.path());
    let n: u32 = 60_000_000;
    let expected = (0..n).fold(0i64, |acc, i| acc.wrapping_mul(31).wrapping_add(i.into()));
    for watched in [false, true] {
        if watched {
            store.interrupt_handle().unwrap();
        }
        // SAFETY: plain queries of this process and thread.
        let (pid, tid) = unsafe { (libc::getpid(), libc::gettid()) };
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sent = Arc::new(AtomicU32::new(0));
        let (s, c) = (stop.clone(), sent.clone());
        let t = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                // SAFETY: a signal to a thread of this process.
                unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, libc::SIGURG) };
                c.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_micros(50));
            }
        });
        let got = call(&mut store, i, "mix", &[Val::I32(n as i32)]);
        stop.store(true, Ordering::Relaxed);
        t.join().unwrap();
        assert_eq!(got, Ok(vec![Val::I64(expected)]), "watched: {watched}");
        assert!(
            sent.load(Ordering::Relaxed) > 10,
            "the guest ran too briefly"
        );
    }
}

const SPINNER: &str = r#"(module
  (import "host" "outside" (func $outside))
  (func (export "spin") (loop $l (br $l)))
  (func (export "outside_then_spin") (call $outside) (loop $l (br $l)))
  (func (export "outside") (call $outside))
  ;; A finite loop of about 10^9 steps the optimizer cannot shorten.
  (func (export "busy") (param $n i32) (result i32) (local $x i32)
    (loop $l
      (local.set $x (i32.add (i32.mul (local.get $x) (i32.const 1664525)) (i32.const 1013904223)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $x)))"#;

/// A store with SPINNER whose `outside` import runs `outside`.
fn spinner(
    dir: &std::path::Path,
    outside: impl Fn(&mut waot::Caller<'_>) -> Result<(), waot::Trap> + Send + Sync + 'static,
) -> (Store, waot::Instance) {
    let module = load_wat(
        dir,
        "spinner",
        SPINNER,
        &options(OptLevel::O2, BoundsStrategy::GuardPages, false, false),
    );
    let mut store = Store::new();
    let f = store.func_new(&[], &[], move |caller, _, _| outside(caller));
    let mut linker = Linker::new();
    linker.define("host", "outside", Extern::Func(f));
    let i = linker.instantiate(&mut store, &module).unwrap();
    (store, i)
}

fn interrupt_later(handle: waot::InterruptHandle, ms: u64) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(ms));
        handle.interrupt();
    })
}

/// Interrupts that land as the call enters, on a leaf loop that only the signal can stop: an
/// entry records its thread without a fence of its own when the interrupter issues a
/// process-wide barrier (`membarrier`), and either side must still see the other. The
/// interrupter spins until the caller announces its call, then interrupts after 0 to about
/// 2 µs, so that many interrupts land within the entry itself.
#[test]
fn interrupts_racing_the_entry_are_never_lost() {
    let done = watchdog(120, "interrupts_racing_the_entry_are_never_lost");
    let d = tempfile::tempdir().unwrap();
    let (mut store, i) = spinner(d.path(), |_| Ok(()));
    let handle = store.interrupt_handle().unwrap();
    let rounds: u64 = 3000;
    let announced = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let a = announced.clone();
    let interrupter = std::thread::spawn(move || {
        for round in 1..=rounds {
            while a.load(Ordering::Acquire) != round {
                std::hint::spin_loop();
            }
            for _ in 0..(round * 7919) % 4000 {
                std::hint::spin_loop();
            }
            handle.interrupt();
        }
    });
    for round in 1..=rounds {
        announced.store(round, Ordering::Release);
        assert_eq!(
            call(&mut store, i, "spin", &[]),
            Err(TrapCode::Interrupted),
            "round {round}"
        );
    }
    interrupter.join().unwrap();
    assert_eq!(
        call(&mut store, i, "busy", &[Val::I32(10)]).map(|v| v.len()),
        Ok(1)
    );
    done.store(true, Ordering::Relaxed);
}

/// A handle made by a host function while the guest runs stops that same call.
#[test]
fn a_handle_made_during_a_call_stops_that_call() {
    let done = watchdog(60, "a_handle_made_during_a_call_stops_that_call");
    let d = tempfile::tempdir().unwrap();
    let (mut store, i) = spinner(d.path(), |caller| {
        let handle = caller.store.interrupt_handle().unwrap();
        interrupt_later(handle, 30);
        Ok(())
    });
    assert_eq!(
        call(&mut store, i, "outside_then_spin", &[]),
        Err(TrapCode::Interrupted)
    );
    done.store(true, Ordering::Relaxed);
}

/// A thread that blocks the signal has it unblocked for the call, and blocked again after.
#[test]
fn a_thread_that_blocks_the_signal_is_interrupted_all_the_same() {
    let done = watchdog(60, "a_thread_that_blocks_the_signal");
    std::thread::spawn(|| {
        let d = tempfile::tempdir().unwrap();
        let (mut store, i) = spinner(d.path(), |_| Ok(()));
        let handle = store.interrupt_handle().unwrap();
        block_interrupt_signal();
        for _ in 0..2 {
            let t = interrupt_later(handle.clone(), 30);
            assert_eq!(call(&mut store, i, "spin", &[]), Err(TrapCode::Interrupted));
            t.join().unwrap();
            assert!(
                interrupt_signal_blocked(),
                "the thread's mask was not restored"
            );
        }
    })
    .join()
    .unwrap();
    done.store(true, Ordering::Relaxed);
}

/// Store A's host function runs store B's guest code: an interrupt of A does not stop B (A
/// stops when its host function returns); an interrupt of B stops B alone; and A, back in its
/// own code after B's call, still stops by signal. All on a thread that blocks the signal,
/// whose mask is the same afterwards.
#[test]
fn interrupts_of_nested_stores_stop_only_their_own_store() {
    let done = watchdog(120, "interrupts_of_nested_stores");
    std::thread::spawn(|| {
        block_interrupt_signal();
        let d = tempfile::tempdir().unwrap();
        let inner_handle = nested_store(d.path());
        let outer_handle = Arc::new(std::sync::OnceLock::<waot::InterruptHandle>::new());
        let outcome = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mode = Arc::new(AtomicU32::new(0));
        let (a, seen, m) = (outer_handle.clone(), outcome.clone(), mode.clone());
        let (mut outer, ai) = spinner(d.path(), move |_| {
            with_nested(|b, bi| {
                if m.load(Ordering::Relaxed) == 0 {
                    // A's interrupt is pending (and resent) all through B's loop.
                    a.get().unwrap().interrupt();
                    let busy = call(b, bi, "busy", &[Val::I32(50_000_000)]);
                    seen.lock().unwrap().push(busy.map(|_| ()));
                } else {
                    let t = interrupt_later(inner_handle.clone(), 20);
                    let spin = call(b, bi, "spin", &[]);
                    t.join().unwrap();
                    seen.lock().unwrap().push(spin.map(|_| ()));
                    // A is interrupted once it spins again, after this returns.
                    interrupt_later(a.get().unwrap().clone(), 30);
                }
            });
            Ok(())
        });
        outer_handle
            .set(outer.interrupt_handle().unwrap())
            .ok()
            .unwrap();
        for round in 0..2 {
            mode.store(round, Ordering::Relaxed);
            assert_eq!(
                call(&mut outer, ai, "outside_then_spin", &[]),
                Err(TrapCode::Interrupted),
                "round {round}"
            );
        }
        let seen = outcome.lock().unwrap().clone();
        assert_eq!(seen, vec![Ok(()), Err(TrapCode::Interrupted)]);
        assert!(interrupt_signal_blocked(), "the thread's mask changed");
    })
    .join()
    .unwrap();
    done.store(true, Ordering::Relaxed);
}

/// On a thread that blocks the signal: a watched store nested in an unwatched one is
/// interrupted by signal all the same, and a handle made during an outer call unblocks the
/// signal for that call only.
#[test]
fn a_blocked_signal_reaches_nested_and_newly_watched_stores() {
    let done = watchdog(
        120,
        "a_blocked_signal_reaches_nested_and_newly_watched_stores",
    );
    std::thread::spawn(|| {
        block_interrupt_signal();
        let d = tempfile::tempdir().unwrap();
        let inner_handle = nested_store(d.path());
        let outcome = Arc::new(std::sync::Mutex::new(None));
        let seen = outcome.clone();
        // The outer store has no handle: its calls leave the mask alone.
        let (mut outer, ai) = spinner(d.path(), move |_| {
            with_nested(|b, bi| {
                let t = interrupt_later(inner_handle.clone(), 30);
                *seen.lock().unwrap() = Some(call(b, bi, "spin", &[]));
                t.join().unwrap();
            });
            Ok(())
        });
        assert_eq!(call(&mut outer, ai, "outside", &[]), Ok(vec![]));
        assert_eq!(
            outcome.lock().unwrap().clone(),
            Some(Err(TrapCode::Interrupted))
        );
        assert!(interrupt_signal_blocked(), "the thread's mask changed");
        // A store that makes its first handle in the middle of its call.
        let (mut late, li) = spinner(d.path(), |caller| {
            interrupt_later(caller.store.interrupt_handle().unwrap(), 30);
            Ok(())
        });
        assert_eq!(
            call(&mut late, li, "outside_then_spin", &[]),
            Err(TrapCode::Interrupted)
        );
        assert!(interrupt_signal_blocked(), "the thread's mask changed");
    })
    .join()
    .unwrap();
    done.store(true, Ordering::Relaxed);
}

thread_local! {
    /// A SPINNER store for host functions on this thread to call (stores are not `Send`).
    static NESTED: std::cell::RefCell<Option<(Store, waot::Instance)>> =
        const { std::cell::RefCell::new(None) };
}

/// Makes this thread's nested store, with an interrupt handle, and returns the handle.
fn nested_store(dir: &std::path::Path) -> waot::InterruptHandle {
    let (mut store, i) = spinner(dir, |_| Ok(()));
    let handle = store.interrupt_handle().unwrap();
    NESTED.with(|n| *n.borrow_mut() = Some((store, i)));
    handle
}

fn with_nested<R>(f: impl FnOnce(&mut Store, waot::Instance) -> R) -> R {
    NESTED.with(|n| {
        let mut n = n.borrow_mut();
        let (store, i) = n.as_mut().expect("nested_store was called on this thread");
        f(store, *i)
    })
}

fn block_interrupt_signal() {
    // SAFETY: this thread's own mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGURG);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

fn interrupt_signal_blocked() -> bool {
    // SAFETY: this thread's own mask.
    unsafe {
        let mut mask: libc::sigset_t = std::mem::zeroed();
        libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut mask);
        libc::sigismember(&mask, libc::SIGURG) == 1
    }
}

static ALARM_HANDLE: std::sync::OnceLock<waot::InterruptHandle> = std::sync::OnceLock::new();

/// `interrupt` from a signal handler (a host's `SIGALRM` timeout).
#[test]
fn an_interrupt_from_a_signal_handler_stops_the_guest() {
    let done = watchdog(60, "an_interrupt_from_a_signal_handler");
    let d = tempfile::tempdir().unwrap();
    let (mut store, i) = spinner(d.path(), |_| Ok(()));
    ALARM_HANDLE
        .set(store.interrupt_handle().unwrap())
        .ok()
        .unwrap();
    extern "C" fn on_alarm(_: libc::c_int) {
        if let Some(h) = ALARM_HANDLE.get() {
            h.interrupt();
        }
    }
    // SAFETY: a handler for SIGALRM, then a one-shot timer of 50 ms for this process.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_alarm as *const () as usize;
        // Restarted: the alarm may land in another test's thread.
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGALRM, &action, std::ptr::null_mut());
        let timer = libc::itimerval {
            it_interval: libc::timeval {
                tv_sec: 0,
                tv_usec: 0,
            },
            it_value: libc::timeval {
                tv_sec: 0,
                tv_usec: 50_000,
            },
        };
        libc::setitimer(libc::ITIMER_REAL, &timer, std::ptr::null_mut());
    }
    assert_eq!(call(&mut store, i, "spin", &[]), Err(TrapCode::Interrupted));
    done.store(true, Ordering::Relaxed);
}

/// A guest asleep in WASI `poll_oneoff` (10 s) stops when interrupted, not when it wakes.
#[test]
fn wrun_time_limit_ends_a_wasi_sleep() {
    let wat = r#"(module
      (import "wasi_snapshot_preview1" "poll_oneoff"
        (func $poll (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      ;; One clock subscription at 0: relative timeout of 10 s at offset 24.
      (data (i32.const 24) "\00\e4\0b\54\02\00\00\00")
      (func (export "_start") (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))))"#;
    let d = tempfile::tempdir().unwrap();
    let wasm = d.path().join("sleep.wasm");
    std::fs::write(&wasm, wat::parse_str(wat).unwrap()).unwrap();
    let so = d.path().join("sleep.so");
    waotc(&wasm, &so, &[]);
    let started = Instant::now();
    let o = wrun(&[&"--time-limit", &"200ms", &so]);
    let took = started.elapsed();
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(124), "{e}");
    assert!(e.contains("stopped: interrupted"), "{e}");
    // The message tells a stop by the interrupt from the exit 1 s after the limit that a
    // guest blocked in the host gets; the time only bounds a loaded machine's start-up.
    assert!(took < Duration::from_secs(5), "{took:?}: {e}");
}
