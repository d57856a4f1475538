//! Linear-memory addressing at its edges: every access follows wasm's rule, the address is
//! `(x + y) mod 2^32`, plus the static offset without wrapping, and an access that does not fit
//! in the memory traps.

use waot::{Error, Linker, Store, TrapCode, Val};
use waot_compiler::CompileOptions;
use waot_tests::load_wat;

const ADDRESSING: &str = r#"
(module
  (memory (export "memory") 1 3)
  (func (export "load8") (param i32 i32) (result i64)
    (i64.extend_i32_u (i32.load8_u (i32.add (local.get 0) (local.get 1)))))
  (func (export "load64") (param i32 i32) (result i64)
    (i64.load (i32.add (local.get 0) (local.get 1))))
  ;; Both halves are used: LLVM may narrow an access to the bytes it needs (see "Known
  ;; deviations" in ARCHITECTURE.md), which these tests do not cover.
  (func (export "load128") (param i32 i32) (result i64) (local v128)
    (local.set 2 (v128.load (i32.add (local.get 0) (local.get 1))))
    (i64.xor (i64x2.extract_lane 0 (local.get 2)) (i64x2.extract_lane 1 (local.get 2))))
  ;; The address goes through a local first, as compilers emit it.
  (func (export "load32_local") (param i32 i32) (result i64) (local i32)
    (local.set 2 (i32.add (local.get 0) (local.get 1)))
    (i64.extend_i32_u (i32.load (local.get 2))))
  ;; A static offset is added after the 32-bit sum wraps, and itself never wraps.
  (func (export "load16_offset") (param i32 i32) (result i64)
    (i64.extend_i32_u (i32.load16_u offset=65520 (i32.add (local.get 0) (local.get 1)))))
  ;; Stores write where loads read: the value comes back through a plain address.
  (func (export "store_then_load") (param i32 i32) (result i64)
    (i64.store (i32.add (local.get 0) (local.get 1)) (i64.const 0x0102030405060708))
    (i64.load (i32.add (local.get 0) (local.get 1))))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
)"#;

/// Each export: its name, access size and static offset.
const ACCESSES: [(&str, u64, u64); 6] = [
    ("load8", 1, 0),
    ("load64", 8, 0),
    ("load128", 16, 0),
    ("load32_local", 4, 0),
    ("load16_offset", 2, 65520),
    ("store_then_load", 8, 0),
];

const EDGES: [u32; 16] = [
    0,
    1,
    8,
    0x7fff,
    0xfff0,
    0xfff8,
    0xffff,
    0x1_0000,
    0x1_fff8,
    0x3_0000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_0000,
    0xffff_fff0,
    0xffff_fff8,
    0xffff_ffff,
];

fn byte_at(i: u64) -> u8 {
    (i.wrapping_mul(131) >> 3) as u8
}

/// What wasm says the export returns: the little-endian value at the effective address (the
/// two halves of a v128 xored), or `None` for a trap.
fn expected(name: &str, size: u64, offset: u64, x: u32, y: u32, len: u64) -> Option<i64> {
    let ea = x.wrapping_add(y) as u64 + offset;
    if ea + size > len {
        return None;
    }
    if name == "store_then_load" {
        return Some(0x0102030405060708);
    }
    let le = |from: u64, n: u64| {
        (0..n)
            .rev()
            .fold(0u64, |v, k| v << 8 | byte_at(from + k) as u64)
    };
    let v = if size == 16 {
        le(ea, 8) ^ le(ea + 8, 8)
    } else {
        le(ea, size)
    };
    Some(v as i64)
}

/// An export's results, or `None` when it trapped out of bounds; any other error fails.
fn in_bounds(r: waot::Result<Vec<Val>>, what: &str) -> Option<Vec<Val>> {
    match r {
        Ok(v) => Some(v),
        Err(Error::Trap(t)) if t.code == Some(TrapCode::MemoryOutOfBounds) => None,
        Err(e) => panic!("{what}: {e}"),
    }
}

/// The one `i64` an export returns, or `None` when it trapped out of bounds.
fn i64_in_bounds(r: waot::Result<Vec<Val>>, what: &str) -> Option<i64> {
    in_bounds(r, what).map(|v| match v[..] {
        [Val::I64(v)] => v,
        _ => panic!("{what}: unexpected results {v:?}"),
    })
}

fn check_all_edges(options: &CompileOptions) {
    let d = tempfile::tempdir().unwrap();
    let module = load_wat(d.path(), "addressing", ADDRESSING, options);
    let mut store = Store::new();
    let inst = Linker::new().instantiate(&mut store, &module).unwrap();
    let memory = store.get_memory(inst, "memory").unwrap();
    let grow = store.get_func(inst, "grow").unwrap();
    for pages in [1u64, 3] {
        if pages == 3 {
            assert_eq!(store.call(grow, &[Val::I32(2)]).unwrap(), vec![Val::I32(1)]);
        }
        let len = pages * 65536;
        for (name, size, offset) in ACCESSES {
            let f = store.get_func(inst, name).unwrap();
            for x in EDGES {
                for y in EDGES {
                    // Fresh contents each time: a store must not leave its mark for the next.
                    for (i, b) in store
                        .memory_data_mut(memory)
                        .unwrap()
                        .iter_mut()
                        .enumerate()
                    {
                        *b = byte_at(i as u64);
                    }
                    let args = [Val::I32(x as i32), Val::I32(y as i32)];
                    let got = i64_in_bounds(store.call(f, &args), name);
                    let want = expected(name, size, offset, x, y, len);
                    assert_eq!(
                        got, want,
                        "{name}({x:#x}, {y:#x}) with {pages} pages: got {got:x?}, want {want:x?}"
                    );
                }
            }
        }
    }
}

#[test]
fn added_addresses_wrap_at_4_gib_and_trap_outside_memory() {
    check_all_edges(&CompileOptions::default());
}

#[test]
fn added_addresses_behave_the_same_with_explicit_bounds_checks() {
    let options = CompileOptions {
        bounds: runtime_support::BoundsStrategy::Explicit,
        ..Default::default()
    };
    check_all_edges(&options);
}

/// Loads whose value the wasm discards — through `br`, `return`, a dropped pure operation, a
/// dropped lane — still trap out of bounds, at every level and in both bounds modes (under
/// guard pages LLVM deleted them even at -O0; 18% of generated modules showed it).
#[test]
fn loads_whose_value_is_discarded_still_trap() {
    let wat = r#"(module (memory 1)
      (func (export "br") (param $p i32) (result i32)
        (block (result i64) (i64.load32_s (local.get $p)) (br 0)) (drop) (i32.const 7))
      (func (export "br_if") (param $p i32) (result i32)
        (block (result f64) (f64.load (local.get $p)) (br_if 0 (i32.const 1))) (drop) (i32.const 7))
      (func (export "return") (param $p i32) (result i32)
        (i32.load16_u (local.get $p)) (i32.const 7) (return))
      (func (export "pure_then_drop") (param $p i32) (result i32)
        (drop (i32.eqz (i32.add (i32.load (local.get $p)) (i32.const 1)))) (i32.const 7))
      (func (export "lane_then_drop") (param $p i32) (result i32)
        (drop (i32x4.extract_lane 1 (v128.load (local.get $p)))) (i32.const 7))
      (func (export "in_a_loop") (param $p i32) (result i32) (local $i i32)
        (loop $l
          (drop (i64.load8_u (i32.add (local.get $p) (local.get $i))))
          (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 4))))
        (i32.const 7)))"#;
    let d = tempfile::tempdir().unwrap();
    let names = [
        "br",
        "br_if",
        "return",
        "pure_then_drop",
        "lane_then_drop",
        "in_a_loop",
    ];
    for bounds in [
        runtime_support::BoundsStrategy::GuardPages,
        runtime_support::BoundsStrategy::Explicit,
    ] {
        for opt_level in [
            waot_compiler::OptLevel::O0,
            waot_compiler::OptLevel::O2,
            waot_compiler::OptLevel::O3,
        ] {
            let options = CompileOptions {
                opt_level,
                bounds,
                ..Default::default()
            };
            let module = load_wat(d.path(), "discard", wat, &options);
            let mut store = Store::new();
            let inst = Linker::new().instantiate(&mut store, &module).unwrap();
            for name in names {
                let f = store.get_func(inst, name).unwrap();
                let how = format!("{name} at -{} with {bounds:?}", opt_level.name());
                assert_eq!(
                    store.call(f, &[Val::I32(8)]).unwrap(),
                    vec![Val::I32(7)],
                    "{how}"
                );
                for p in [0xF800_0000u32, 65535, 0xFFFF_FFFF] {
                    match store.call(f, &[Val::I32(p as i32)]) {
                        Err(Error::Trap(t)) => {
                            assert_eq!(t.code, Some(TrapCode::MemoryOutOfBounds), "{how}")
                        }
                        other => panic!("{how}({p:#x}): expected a trap, got {other:?}"),
                    }
                }
            }
        }
    }
}

/// Four memories: the store's one imported twice (indices 0 and 1 name the same bytes), and
/// two defined ones of different sizes. Every instruction acts on the memory it names.
const FOUR_MEMORIES: &str = r#"
(module
  (import "host" "m" (memory $a 1 4))
  (import "host" "m" (memory $b 1 4))
  (memory $c 1)
  (memory $d 2)
  (data (memory $d) (i32.const 70000) "\2a")
  (data $seg "\01\02\03\04")
  (func (export "store") (param $mem i32) (param $at i32) (param $v i32)
    (block $c3 (block $c2 (block $c1 (block $c0
      (br_table $c0 $c1 $c2 $c3 (local.get $mem)))
      (i32.store8 $a (local.get $at) (local.get $v)) (return))
      (i32.store8 $b (local.get $at) (local.get $v)) (return))
      (i32.store8 $c (local.get $at) (local.get $v)) (return))
    (i32.store8 $d (local.get $at) (local.get $v)))
  (func (export "load") (param $mem i32) (param $at i32) (result i32)
    (block $c3 (block $c2 (block $c1 (block $c0
      (br_table $c0 $c1 $c2 $c3 (local.get $mem)))
      (return (i32.load8_u $a (local.get $at))))
      (return (i32.load8_u $b (local.get $at))))
      (return (i32.load8_u $c (local.get $at))))
    (i32.load8_u $d (local.get $at)))
  (func (export "sizes") (result i32)
    ;; Each size in its own decimal digit: a * 1000 + b * 100 + c * 10 + d.
    (i32.add (i32.add (i32.mul (memory.size $a) (i32.const 1000))
                      (i32.mul (memory.size $b) (i32.const 100)))
             (i32.add (i32.mul (memory.size $c) (i32.const 10)) (memory.size $d))))
  (func (export "grow_b") (param i32) (result i32) (memory.grow $b (local.get 0)))
  (func (export "grow_d") (param i32) (result i32) (memory.grow $d (local.get 0)))
  (func (export "copy_c_to_d") (param i32 i32 i32) (memory.copy $d $c (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy_d_to_c") (param i32 i32 i32) (memory.copy $c $d (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy_a_to_b") (param i32 i32 i32) (memory.copy $b $a (local.get 0) (local.get 1) (local.get 2)))
  (func (export "fill_c") (param i32 i32 i32) (memory.fill $c (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init_d") (param i32 i32 i32) (memory.init $d $seg (local.get 0) (local.get 1) (local.get 2)))
)"#;

fn check_four_memories(options: &CompileOptions) {
    let d = tempfile::tempdir().unwrap();
    let module = load_wat(d.path(), "four_memories", FOUR_MEMORIES, options);
    let mut store = Store::new();
    let host = store.memory_new(1, Some(4)).unwrap();
    let mut linker = Linker::new();
    linker.define("host", "m", waot::Extern::Memory(host));
    let inst = linker.instantiate(&mut store, &module).unwrap();
    let i = Val::I32;
    let call = |store: &mut Store, name: &str, args: &[Val]| {
        let f = store.get_func(inst, name).unwrap();
        store.call(f, args)
    };
    let load = |store: &mut Store, mem: i32, at: i32| match call(store, "load", &[i(mem), i(at)]) {
        Ok(v) => v[0],
        Err(e) => panic!("load({mem}, {at}): {e}"),
    };
    let traps = |r| in_bounds(r, "four memories").is_none();

    assert_eq!(load(&mut store, 3, 70000), i(42), "active data in memory 3");
    assert_eq!(call(&mut store, "sizes", &[]).unwrap(), vec![i(1112)]);
    // A store is seen through every index that names the same memory, and nowhere else.
    for mem in 0..4 {
        call(&mut store, "store", &[i(mem), i(100), i(10 + mem)]).unwrap();
    }
    assert_eq!(load(&mut store, 0, 100), i(11));
    assert_eq!(load(&mut store, 1, 100), i(11));
    assert_eq!(load(&mut store, 2, 100), i(12));
    assert_eq!(load(&mut store, 3, 100), i(13));
    assert_eq!(store.memory_data(host).unwrap()[100], 11);
    // Bounds are each memory's own: memory 2 has one page, memory 3 two.
    assert!(traps(call(&mut store, "load", &[i(2), i(65536)])));
    assert_eq!(load(&mut store, 3, 65536), i(0));
    // Growing through one index grows the memory every index of it sees.
    assert_eq!(call(&mut store, "grow_b", &[i(1)]).unwrap(), vec![i(1)]);
    assert_eq!(call(&mut store, "grow_d", &[i(1)]).unwrap(), vec![i(2)]);
    assert_eq!(call(&mut store, "sizes", &[]).unwrap(), vec![i(2213)]);
    assert_eq!(store.memory_pages(host).unwrap(), 2);
    assert_eq!(load(&mut store, 0, 131071), i(0));
    // Copies between memories, in both directions, bounded by each side's own length.
    call(&mut store, "fill_c", &[i(200), i(7), i(3)]).unwrap();
    call(&mut store, "copy_c_to_d", &[i(150_000), i(199), i(5)]).unwrap();
    let got: Vec<Val> = (150_000..150_005).map(|a| load(&mut store, 3, a)).collect();
    assert_eq!(got, [0, 7, 7, 7, 0].map(i));
    assert!(traps(call(
        &mut store,
        "copy_d_to_c",
        &[i(65535), i(0), i(2)]
    )));
    assert!(traps(call(
        &mut store,
        "copy_c_to_d",
        &[i(0), i(65535), i(2)]
    )));
    call(&mut store, "copy_d_to_c", &[i(0), i(70000), i(1)]).unwrap();
    assert_eq!(load(&mut store, 2, 0), i(42));
    // Two indices of one memory: an overlapping copy behaves as memmove.
    for k in 0..8 {
        call(&mut store, "store", &[i(0), i(1000 + k), i(k)]).unwrap();
    }
    call(&mut store, "copy_a_to_b", &[i(1002), i(1000), i(6)]).unwrap();
    let got: Vec<Val> = (1000..1008).map(|a| load(&mut store, 1, a)).collect();
    assert_eq!(got, [0, 1, 0, 1, 2, 3, 4, 5].map(i));
    // A passive segment goes to the memory memory.init names.
    call(&mut store, "init_d", &[i(196_600), i(1), i(3)]).unwrap();
    let got: Vec<Val> = (196_600..196_603).map(|a| load(&mut store, 3, a)).collect();
    assert_eq!(got, [2, 3, 4].map(i));
    assert_eq!(load(&mut store, 2, 196_600 % 65536), i(0));
    assert!(traps(call(&mut store, "init_d", &[i(196_607), i(0), i(2)])));
}

/// Runs `check` in both bounds modes at -O0 and -O2.
fn in_both_bounds_modes_at_o0_and_o2(check: fn(&CompileOptions)) {
    for bounds in [
        runtime_support::BoundsStrategy::GuardPages,
        runtime_support::BoundsStrategy::Explicit,
    ] {
        for opt_level in [waot_compiler::OptLevel::O0, waot_compiler::OptLevel::O2] {
            check(&CompileOptions {
                opt_level,
                bounds,
                ..Default::default()
            });
        }
    }
}

#[test]
fn each_of_several_memories_is_its_own() {
    in_both_bounds_modes_at_o0_and_o2(check_four_memories);
}

/// A 64-bit memory: the access `[addr + offset, addr + offset + size)` is inside or traps,
/// computed without wrapping, for addresses and offsets on both sides of 4 GiB (where the
/// guard-page strategy switches from the reservation to a compare) up to 2^64 - 1.
const MEMORY64: &str = r#"
(module
  (memory (export "memory") i64 1 131072)
  (func (export "load8") (param i64) (result i64) (i64.load8_u (local.get 0)))
  (func (export "load64") (param i64) (result i64) (i64.load (local.get 0)))
  (func (export "load8_4g") (param i64) (result i64) (i64.load8_u offset=0xffffffff (local.get 0)))
  (func (export "load64_4g") (param i64) (result i64) (i64.load offset=0x100000000 (local.get 0)))
  (func (export "load32_huge") (param i64) (result i64)
    (i64.load32_u offset=0xfffffffffffffff0 (local.get 0)))
  (func (export "load128") (param i64) (result i64)
    (i64x2.extract_lane 1 (v128.load offset=8 (local.get 0))))
  (func (export "store8") (param i64) (result i64)
    (i64.store8 offset=1 (local.get 0) (i64.const 0x5a)) (i64.load8_u offset=1 (local.get 0)))
  (func (export "size") (result i64) (memory.size))
  (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0)))
  (func (export "fill") (param i64 i64) (memory.fill (local.get 0) (i32.const 0x77) (local.get 1)))
)"#;

/// Each export: its name, access size and static offset.
const ACCESSES64: [(&str, u64, u64); 7] = [
    ("load8", 1, 0),
    ("load64", 8, 0),
    ("load8_4g", 1, 0xffff_ffff),
    ("load64_4g", 8, 0x1_0000_0000),
    ("load32_huge", 4, 0xffff_ffff_ffff_fff0),
    ("load128", 16, 8),
    ("store8", 1, 1),
];

fn edges64(len: u64) -> Vec<u64> {
    let mut v = vec![
        0,
        1,
        8,
        15,
        16,
        0xffff_ffff,
        1 << 32,
        (1 << 32) + 1,
        1 << 48,
    ];
    v.extend([u64::MAX, u64::MAX - 15, u64::MAX - 0xffff_ffff, 1 << 63]);
    for k in [1, 2, 8, 9, 16, 17] {
        v.push(len - k);
        v.push(len.wrapping_sub(0xffff_ffff + k));
        v.push(len.wrapping_sub(0x1_0000_0000 + k));
    }
    v.extend([len, len + 1]);
    v
}

fn check_memory64(options: &CompileOptions) {
    let d = tempfile::tempdir().unwrap();
    let module = load_wat(d.path(), "memory64", MEMORY64, options);
    let mut store = Store::new();
    let inst = Linker::new().instantiate(&mut store, &module).unwrap();
    let call = |store: &mut Store, name: &str, args: &[Val]| {
        let f = store.get_func(inst, name).unwrap();
        store.call(f, args)
    };
    // Past 4 GiB if the machine lets us commit it (untouched pages cost nothing); every
    // access beyond the length traps either way.
    let grown = call(&mut store, "grow", &[Val::I64(65536)]).unwrap();
    let pages = match grown[..] {
        [Val::I64(1)] => 65537,
        [Val::I64(-1)] => 1,
        _ => panic!("grow: {grown:?}"),
    };
    assert_eq!(
        call(&mut store, "size", &[]).unwrap(),
        vec![Val::I64(pages)]
    );
    let len = pages as u64 * 65536;
    // A memory.fill past 4 GiB: the bytes loads below find there.
    if pages > 1 {
        call(
            &mut store,
            "fill",
            &[Val::I64((1i64 << 32) - 8), Val::I64(24)],
        )
        .unwrap();
    }
    let byte = |a: u64| -> u64 {
        if pages > 1 && ((1 << 32) - 8..(1 << 32) + 16).contains(&a) {
            0x77
        } else {
            0
        }
    };
    for (name, size, offset) in ACCESSES64 {
        for addr in edges64(len) {
            let ea = addr as u128 + offset as u128;
            let want = if ea + size as u128 > len as u128 {
                None
            } else if name == "store8" {
                Some(0x5a)
            } else {
                let ea = ea as u64;
                // load128 returns the high lane: bytes 8..16 of the access.
                let (from, n) = if size == 16 { (ea + 8, 8) } else { (ea, size) };
                Some((0..n).rev().fold(0u64, |v, k| v << 8 | byte(from + k)) as i64)
            };
            let got = i64_in_bounds(call(&mut store, name, &[Val::I64(addr as i64)]), name);
            assert_eq!(
                got, want,
                "{name}({addr:#x}) with {pages} pages: got {got:x?}, want {want:x?}"
            );
            if name == "store8" && got.is_some() {
                // Put the byte back as the model has it.
                let m = store.get_memory(inst, "memory").unwrap();
                let at = (addr + 1) as usize;
                store.memory_data_mut(m).unwrap()[at] = byte(addr + 1) as u8;
            }
        }
    }
}

#[test]
fn memory64_accesses_trap_exactly_past_the_end_up_to_2_pow_64() {
    in_both_bounds_modes_at_o0_and_o2(check_memory64);
}

/// A module of 99 memories whose 100th cannot be created: each failed instantiation must give
/// back the reservations of the ones before it (8 GiB of address space each). Kept, 200 tries
/// would reserve about 155 TiB, more than a process has, and instantiation would start failing
/// for lack of address space instead.
#[test]
fn failed_instantiations_keep_no_memories() {
    let mut wat = String::from("(module");
    for _ in 0..99 {
        wat.push_str(" (memory 0)");
    }
    wat.push_str(" (memory i64 200000))");
    let d = tempfile::tempdir().unwrap();
    let module = load_wat(d.path(), "many", &wat, &CompileOptions::default());
    let mut store = Store::new();
    for attempt in 0..200 {
        match Linker::new().instantiate(&mut store, &module) {
            Err(Error::Link(m)) => assert!(m.contains("exceeds"), "attempt {attempt}: {m}"),
            other => panic!("attempt {attempt}: {other:?}"),
        }
    }
    let fine = load_wat(
        d.path(),
        "fine",
        "(module (memory 1))",
        &CompileOptions::default(),
    );
    Linker::new().instantiate(&mut store, &fine).unwrap();
}

/// One-byte pages (custom-page-sizes): the host's pages are 4 KiB or more, so the bytes past
/// the length up to the host page are mapped, and only a compare keeps accesses in bounds.
#[test]
fn one_byte_pages_end_exactly_at_their_length() {
    let wat = r#"(module
      (memory (export "memory") 5 (pagesize 1))
      (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0)))
      (func (export "load32") (param i32) (result i32) (i32.load offset=1 (local.get 0)))
      (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
      (func (export "size") (result i32) (memory.size)))"#;
    let d = tempfile::tempdir().unwrap();
    for bounds in [
        runtime_support::BoundsStrategy::GuardPages,
        runtime_support::BoundsStrategy::Explicit,
    ] {
        let options = CompileOptions {
            bounds,
            enabled_proposals: vec!["custom-page-sizes".into()],
            ..Default::default()
        };
        let module = load_wat(d.path(), "pages", wat, &options);
        let mut store = Store::new();
        let inst = Linker::new().instantiate(&mut store, &module).unwrap();
        let call = |store: &mut Store, name: &str, args: &[Val]| {
            let f = store.get_func(inst, name).unwrap();
            store.call(f, args)
        };
        let fits = |r| in_bounds(r, "one-byte pages").is_some();
        let mut old = 5;
        for len in [5, 8, 4099] {
            if len > old {
                let grown = call(&mut store, "grow", &[Val::I32(len - old)]).unwrap();
                assert_eq!(grown, vec![Val::I32(old)]);
                old = len;
            }
            assert_eq!(call(&mut store, "size", &[]).unwrap(), vec![Val::I32(len)]);
            for at in [0, len - 1, len, len + 1, 4095, 4096, 8191] {
                let got = fits(call(&mut store, "load8", &[Val::I32(at)]));
                assert_eq!(got, at < len, "{bounds:?}: load8 at {at} of {len}");
                let got = fits(call(&mut store, "load32", &[Val::I32(at)]));
                assert_eq!(got, at + 5 <= len, "{bounds:?}: load32 at {at}+1 of {len}");
            }
        }
    }
}

/// Active data segments, overlapping (the later wins) and reaching the end of the initial
/// memory, a passive one, and one at an imported global's offset (which gets no image).
const DATA: &str = r#"
(module
  (import "env" "at" (global $at i32))
  (memory (export "memory") 2)
  (memory $m1 1)
  (data (i32.const 100) "aaaaaaaa")
  (data (i32.const 104) "bb")
  (data (i32.const 131068) "end!")
  (data $p "passive")
  (data (memory $m1) (global.get $at) "global")
  (func (export "init") (memory.init $p (i32.const 200) (i32.const 0) (i32.const 7)))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "load1") (param i32) (result i32) (i32.load $m1 (local.get 0))))"#;

/// From the second instantiation on, a module's data comes from a copy-on-write image
/// (`memory_image.rs`): every instance must still see exactly its segments, and its writes
/// must stay its own, in one store and across stores.
#[test]
fn instances_of_one_module_get_their_data_and_keep_their_writes() {
    let d = tempfile::tempdir().unwrap();
    let module = load_wat(d.path(), "data", DATA, &CompileOptions::default());
    let word = |s: &[u8]| Val::I32(i32::from_le_bytes(s.try_into().unwrap()));
    let mut stores: Vec<(Store, waot::Instance)> = Vec::new();
    for n in 0..4 {
        let mut store = Store::new();
        let at = store
            .global_new(
                waot::GlobalType {
                    content_type: waot::ValType::I32,
                    mutable: false,
                    shared: false,
                },
                Val::I32(8 + n),
            )
            .unwrap();
        let mut linker = Linker::new();
        linker.define("env", "at", waot::Extern::Global(at));
        // Two instances in this store, then the next store.
        for _ in 0..2 {
            let i = linker.instantiate(&mut store, &module).unwrap();
            let call = |s: &mut Store, name: &str, args: &[Val]| {
                let f = s.get_func(i, name).unwrap();
                s.call(f, args).unwrap()
            };
            assert_eq!(
                call(&mut store, "load", &[Val::I32(100)]),
                vec![word(b"aaaa")]
            );
            assert_eq!(
                call(&mut store, "load", &[Val::I32(104)]),
                vec![word(b"bbaa")]
            );
            assert_eq!(
                call(&mut store, "load", &[Val::I32(131068)]),
                vec![word(b"end!")]
            );
            assert_eq!(
                call(&mut store, "load", &[Val::I32(200)]),
                vec![Val::I32(0)]
            );
            let at = 8 + n;
            assert_eq!(
                call(&mut store, "load1", &[Val::I32(at)]),
                vec![word(b"glob")]
            );
            // Writes of earlier instances are not seen here.
            assert_eq!(
                call(&mut store, "load", &[Val::I32(4096)]),
                vec![Val::I32(0)]
            );
            call(&mut store, "store", &[Val::I32(100), Val::I32(n)]);
            call(&mut store, "store", &[Val::I32(4096), Val::I32(-1)]);
            call(&mut store, "init", &[]);
            assert_eq!(
                call(&mut store, "load", &[Val::I32(200)]),
                vec![word(b"pass")]
            );
            assert_eq!(
                call(&mut store, "load", &[Val::I32(100)]),
                vec![Val::I32(n)]
            );
            let m = store.get_memory(i, "memory").unwrap();
            assert_eq!(&store.memory_data(m).unwrap()[104..106], b"bb");
            stores.push((Store::new(), i));
        }
        drop(store);
    }
}

/// Address space is reused between memories (issue 14): a memory grown and written, then
/// dropped, leaves nothing for the next one, in pages it had from the start or grew into.
#[test]
fn a_memory_in_reused_address_space_starts_zeroed_at_its_own_size() {
    const WAT: &str = r#"(module (memory (export "memory") 1)
      (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
      (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
      (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1))))"#;
    let d = tempfile::tempdir().unwrap();
    let module = load_wat(d.path(), "reuse", WAT, &CompileOptions::default());
    let last_of_grown = Val::I32(5 * 65536 - 4);
    for round in 0..8 {
        let mut store = Store::new();
        let i = Linker::new().instantiate(&mut store, &module).unwrap();
        let mut call = |name: &str, args: &[Val]| {
            let f = store.get_func(i, name).unwrap();
            store.call(f, args)
        };
        assert_eq!(call("load", &[Val::I32(8)]).unwrap(), vec![Val::I32(0)]);
        // The grown pages of an earlier round are out of bounds until grown again, then zero.
        assert!(matches!(
            call("load", &[last_of_grown]),
            Err(Error::Trap(t)) if t.code == Some(TrapCode::MemoryOutOfBounds)
        ));
        assert_eq!(call("grow", &[Val::I32(4)]).unwrap(), vec![Val::I32(1)]);
        assert_eq!(call("load", &[last_of_grown]).unwrap(), vec![Val::I32(0)]);
        call("store", &[Val::I32(8), Val::I32(round + 1)]).unwrap();
        call("store", &[last_of_grown, Val::I32(-1)]).unwrap();
    }
}

/// Megabytes of active data (which instantiation asks to put in huge pages where the host has
/// them) arrive exactly, with zeros around them, at the first instantiation and the next.
#[test]
fn megabytes_of_data_segments_arrive_exactly_around_huge_page_boundaries() {
    const PATTERN: &str = "0123456789abcdef";
    let big = PATTERN.repeat((3 << 20) / PATTERN.len());
    let (at, tail_at) = (1000usize, (6 << 20) + 5);
    let wat = format!(
        r#"(module (memory (export "memory") 128)
             (data (i32.const {at}) "{big}")
             (data (i32.const {tail_at}) "tail"))"#
    );
    let d = tempfile::tempdir().unwrap();
    let module = load_wat(d.path(), "bigdata", &wat, &CompileOptions::default());
    let mut store = Store::new();
    for _ in 0..2 {
        let i = Linker::new().instantiate(&mut store, &module).unwrap();
        let m = store.get_memory(i, "memory").unwrap();
        let data = store.memory_data(m).unwrap();
        assert_eq!(data.len(), 128 << 16);
        assert!(data[..at].iter().all(|&b| b == 0));
        assert!(data[at..at + big.len()] == *big.as_bytes());
        assert!(data[at + big.len()..tail_at].iter().all(|&b| b == 0));
        assert_eq!(&data[tail_at..tail_at + 4], b"tail");
        assert!(data[tail_at + 4..].iter().all(|&b| b == 0));
    }
}
