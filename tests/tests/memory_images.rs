//! Memory images in the artifact (issue 14): a module with a large data segment starts with its
//! memory mapped copy-on-write from the artifact file (a universal file's from the file its
//! native code came from), each instance sees the module's data whatever another wrote, the
//! file never changes, `.so`, universal and interpreter agree, random segment layouts give the
//! memory their segments make, a failed instantiation leaves memory as the specification
//! does, and an image that is altered or does not fit its memory is refused at load with a
//! one-line error.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use waot::{Linker, Module, Store, Val};
use waot_tests::binary;

const KEY: &str = "6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b";
/// Where the large segment starts in memory: past the first 64 KiB page, not on a page.
const BIG_AT: u32 = 65_536 + 100;
const BIG_LEN: usize = 200_000;
/// A small segment overlapping the large one's end: later segments win.
const SMALL_AT: u32 = BIG_AT + BIG_LEN as u32 - 3;
const SMALL: &[u8] = b"overlap!";
const PAGES: u32 = 8;

fn big_bytes() -> Vec<u8> {
    (0..BIG_LEN as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

/// The initial contents of the module's memory.
fn initial_memory() -> Vec<u8> {
    let mut m = vec![0u8; PAGES as usize * 65536];
    m[BIG_AT as usize..][..BIG_LEN].copy_from_slice(&big_bytes());
    m[SMALL_AT as usize..][..SMALL.len()].copy_from_slice(SMALL);
    m
}

/// What `sum` returns for `memory`: the sum of each byte times its address plus one.
fn expected_sum(memory: &[u8]) -> i64 {
    memory
        .iter()
        .enumerate()
        .map(|(i, &b)| (i as i64 + 1) * b as i64)
        .sum()
}

fn module_wat() -> String {
    let escaped = |bytes: &[u8]| {
        bytes
            .iter()
            .map(|b| format!("\\{b:02x}"))
            .collect::<String>()
    };
    format!(
        r#"(module
          (memory (export "memory") {PAGES})
          (data (i32.const {BIG_AT}) "{}")
          (data (i32.const {SMALL_AT}) "{}")
          (func (export "sum") (result i64) (local $i i32) (local $s i64)
            (loop $l
              (local.set $s (i64.add (local.get $s)
                (i64.mul (i64.extend_i32_u (i32.add (local.get $i) (i32.const 1)))
                         (i64.load8_u (local.get $i)))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $l (i32.lt_u (local.get $i) (i32.const {}))))
            (local.get $s))
          (func (export "poke") (param i32 i32) (i32.store8 (local.get 0) (local.get 1))))"#,
        escaped(&big_bytes()),
        escaped(SMALL),
        PAGES * 65536
    )
}

fn waotc(dir: &Path, output: &str) -> PathBuf {
    let wasm = dir.join("images.wasm");
    std::fs::write(&wasm, wat::parse_str(module_wat()).unwrap()).unwrap();
    let out = dir.join(output);
    let o = Command::new(binary("waotc"))
        .env("WAOT_KEY", KEY)
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .args(["-q", "-O1"])
        .arg(&wasm)
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

fn wrun(dir: &Path, args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let mut c = Command::new(binary("wrun"));
    c.env("WAOT_KEY", KEY)
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .env("XDG_CONFIG_HOME", dir.join("config"));
    for a in args {
        c.arg(a);
    }
    c.output().unwrap()
}

fn stdout(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// The mapping of this process that holds `addr`, as `/proc/self/maps` shows it.
fn mapping_of(addr: usize) -> String {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    maps.lines()
        .find(|line| {
            let range = line.split_whitespace().next().unwrap();
            let (lo, hi) = range.split_once('-').unwrap();
            let lo = usize::from_str_radix(lo, 16).unwrap();
            let hi = usize::from_str_radix(hi, 16).unwrap();
            (lo..hi).contains(&addr)
        })
        .unwrap_or_else(|| panic!("no mapping holds {addr:#x}"))
        .to_string()
}

#[test]
fn instances_map_the_artifacts_image_copy_on_write() {
    let d = tempfile::tempdir().unwrap();
    let so = waotc(d.path(), "images.so");
    let before = std::fs::read(&so).unwrap();
    let module = Module::from_file(&so).unwrap();
    let images = &module.header().images;
    assert_eq!(images.len(), 1, "{images:?}");
    assert_eq!((images[0].memory, images[0].memory_offset), (0, 65536));

    let memory = initial_memory();
    let expected = expected_sum(&memory);
    let instantiate = |store: &mut Store| {
        let instance = Linker::new().instantiate(store, &module).unwrap();
        let sum = store.get_func(instance, "sum").unwrap();
        let poke = store.get_func(instance, "poke").unwrap();
        let mem = store.get_memory(instance, "memory").unwrap();
        (sum, poke, mem)
    };
    let sum_of = |store: &mut Store, f| match store.call(f, &[]).unwrap()[..] {
        [Val::I64(v)] => v,
        ref other => panic!("unexpected {other:?}"),
    };
    let mut first = Store::new();
    let (sum, poke, mem) = instantiate(&mut first);
    assert_eq!(first.memory_data(mem).unwrap(), &memory[..]);
    // The image's pages are the artifact file's, not copies.
    let base = first.memory_data(mem).unwrap().as_ptr() as usize;
    let mapping = mapping_of(base + BIG_AT as usize);
    assert!(
        mapping.ends_with(&so.display().to_string()),
        "the data is not mapped from the artifact: {mapping}"
    );
    assert_eq!(sum_of(&mut first, sum), expected);
    first
        .call(poke, &[Val::I32(BIG_AT as i32 + 5), Val::I32(0)])
        .unwrap();
    let mut changed = memory.clone();
    changed[BIG_AT as usize + 5] = 0;
    assert_ne!(memory[BIG_AT as usize + 5], 0);
    assert_eq!(sum_of(&mut first, sum), expected_sum(&changed));

    // Another instance, while the first lives and after it is gone: the module's data.
    let mut second = Store::new();
    let (sum2, _, mem2) = instantiate(&mut second);
    assert_eq!(second.memory_data(mem2).unwrap(), &memory[..]);
    assert_eq!(sum_of(&mut second, sum2), expected);
    drop(first);
    let mut third = Store::new();
    let (sum3, _, _) = instantiate(&mut third);
    assert_eq!(sum_of(&mut third, sum3), expected);
    assert_eq!(std::fs::read(&so).unwrap(), before, "the artifact changed");
}

/// A universal file's image comes from the file its native code was loaded from: a sealed
/// memory file after the check, or the cache entry on later loads; mapped either way.
#[test]
fn a_universal_files_image_is_mapped_too() {
    let d = tempfile::tempdir().unwrap();
    let universal = waotc(d.path(), "images_aot.wasm");
    let policy = waot::TrustPolicy {
        keys: vec![runtime_support::trust::parse_hex_key(KEY).unwrap()],
        trust_any: false,
    };
    for round in 0..2 {
        let artifact = waot::Artifact::open(&universal).unwrap();
        let module = match Module::from_artifact(&artifact, &policy) {
            Ok(m) => m,
            Err(e) => panic!("not native: {e:?}"),
        };
        assert_eq!(module.header().images.len(), 1);
        let mut store = Store::new();
        let instance = Linker::new().instantiate(&mut store, &module).unwrap();
        let mem = store.get_memory(instance, "memory").unwrap();
        assert_eq!(store.memory_data(mem).unwrap(), &initial_memory()[..]);
        let base = store.memory_data(mem).unwrap().as_ptr() as usize;
        let mapping = mapping_of(base + BIG_AT as usize);
        let path = mapping.split_whitespace().nth(5);
        assert!(
            path.is_some_and(|p| p.starts_with("/memfd:waot-native") || p.ends_with(".so")),
            "round {round}: the data is not mapped from the native code's file: {mapping}"
        );
    }
}

#[test]
fn shared_objects_universal_files_and_the_interpreter_agree() {
    let d = tempfile::tempdir().unwrap();
    let so = waotc(d.path(), "images.so");
    let universal = waotc(d.path(), "images_aot.wasm");
    let expected = expected_sum(&initial_memory()).to_string();
    let invoke = |file: &Path, extra: &[&str]| {
        let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = Vec::new();
        for e in extra {
            args.push(e);
        }
        args.extend([&file as &dyn AsRef<std::ffi::OsStr>, &"--invoke", &"sum"]);
        stdout(&wrun(d.path(), &args))
    };
    assert_eq!(invoke(&so, &[]), expected);
    assert_eq!(invoke(&so, &["--interp"]), expected);
    // The first start checks the universal file's code and caches it; the next loads it from
    // the cache, whose file the image is then mapped from.
    assert_eq!(invoke(&universal, &[]), expected);
    assert_eq!(invoke(&universal, &[]), expected);
    assert_eq!(invoke(&universal, &["--interp"]), expected);
}

fn header_end(bytes: &[u8]) -> usize {
    use object::{Object, ObjectSection};
    let file = object::File::parse(bytes).unwrap();
    let section = file
        .section_by_name(runtime_support::artifact::META_SECTION)
        .unwrap();
    let (start, size) = section.file_range().unwrap();
    (start + size) as usize
}

fn assert_refused(dir: &Path, name: &str, bytes: &[u8], needle: &str) {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    let o = wrun(dir, &[&path, &"--invoke", &"sum"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{name}: {err}");
    assert_eq!(err.trim().lines().count(), 1, "{name}: {err}");
    assert!(err.contains(needle), "{name}: {err}");
    assert!(err.contains(name), "{name}: {err}");
}

#[test]
fn altered_images_and_images_that_do_not_fit_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let so = waotc(d.path(), "images.so");
    let bytes = std::fs::read(&so).unwrap();
    let image_start = {
        use object::{Object, ObjectSection};
        let file = object::File::parse(&*bytes).unwrap();
        let s = file
            .section_by_name(runtime_support::artifact::IMAGES_SECTION)
            .unwrap();
        s.file_range().unwrap().0 as usize
    };
    // A byte of data in the image.
    let mut altered = bytes.clone();
    altered[image_start + 100 + 7] ^= 1;
    assert_refused(
        d.path(),
        "altered.so",
        &altered,
        "memory images do not match",
    );

    // The header's one image entry, its last 28 bytes: memory, memory offset, section
    // offset, length. The header itself is not hashed (a shared object is trusted code); its
    // fields are checked against what they decide.
    let end = header_end(&bytes);
    let entry = end - 28;
    let field = |bytes: &mut Vec<u8>, at: usize, value: u64| {
        let width = if at == 0 { 4 } else { 8 };
        let at = entry + if at == 0 { 0 } else { 4 + (at - 1) * 8 };
        bytes[at..at + width].copy_from_slice(&value.to_le_bytes()[..width]);
    };
    let cases: [(&str, usize, u64, &str); 6] = [
        ("memory-1.so", 0, 1, "which the module lacks"),
        ("past-end.so", 1, 7 * 65536, "does not fit"),
        ("unaligned.so", 1, 65536 + 4096, "does not fit"),
        ("huge-offset.so", 1, u64::MAX - 65535, "does not fit"),
        ("outside-section.so", 2, 65536, "does not fit"),
        ("empty.so", 3, 0, "does not fit"),
    ];
    for (name, at, value, needle) in cases {
        let mut altered = bytes.clone();
        field(&mut altered, at, value);
        assert_refused(d.path(), name, &altered, needle);
    }
    // The symbol through which the loader reads the images, moved off the section's start
    // (its value in `.dynsym`: ELF64 entries of 24 bytes, the value at offset 8).
    let mut moved = bytes.clone();
    {
        use object::{Object, ObjectSection, ObjectSymbol};
        let file = object::File::parse(&*bytes).unwrap();
        let dynsym = file
            .section_by_name(".dynsym")
            .unwrap()
            .file_range()
            .unwrap()
            .0;
        let symbol = file
            .dynamic_symbols()
            .find(|s| s.name() == Ok(runtime_support::artifact::SYM_IMAGES))
            .unwrap();
        let at = dynsym as usize + symbol.index().0 * 24 + 8;
        let value = u64::from_le_bytes(moved[at..at + 8].try_into().unwrap());
        assert_eq!(value, symbol.address());
        moved[at..at + 8].copy_from_slice(&(value + 4096).to_le_bytes());
    }
    assert_refused(d.path(), "moved.so", &moved, "does not name the start");
    // The images section's length in the header (before its hash, the count and the entry).
    let mut longer = bytes.clone();
    let at = end - 28 - 4 - 32 - 8;
    let len = u64::from_le_bytes(longer[at..at + 8].try_into().unwrap());
    longer[at..at + 8].copy_from_slice(&(len + 65536).to_le_bytes());
    assert_refused(d.path(), "longer.so", &longer, "memory images do not match");
}

/// `wat` compiled by `waotc -O0` to `NAME.so` in `dir`, and loaded.
fn load_o0(dir: &Path, name: &str, wat: &str) -> Module {
    let wasm = dir.join(format!("{name}.wasm"));
    std::fs::write(&wasm, wat::parse_str(wat).unwrap()).unwrap();
    let so = dir.join(format!("{name}.so"));
    let o = Command::new(binary("waotc"))
        .args(["-q", "-O0"])
        .arg(&wasm)
        .arg(&so)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    Module::from_file(&so).unwrap()
}

/// A small deterministic generator (xorshift), so that every run checks the same layouts.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn random_segment_layouts_start_with_the_memory_the_segments_make() {
    let d = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut imaged = 0;
    for case in 0..16 {
        let pages = 1 + rng.below(12) as u32;
        let size = pages as usize * 65536;
        // Segments in order, overlapping and empty ones among them; a large one in most cases
        // so that the artifact carries an image.
        let mut segments: Vec<(u32, Vec<u8>)> = Vec::new();
        for s in 0..1 + rng.below(6) {
            let len = match rng.below(4) {
                0 => 0,
                1 => rng.below(64) as usize,
                _ if s == 0 => 65_536 + rng.below(size as u64 / 2) as usize,
                _ => rng.below(100_000) as usize,
            }
            .min(size);
            let at = rng.below((size - len) as u64 + 1) as u32;
            let bytes = (0..len).map(|_| rng.next() as u8 | 1).collect();
            segments.push((at, bytes));
        }
        let mut expected = vec![0u8; size];
        for (at, bytes) in &segments {
            expected[*at as usize..][..bytes.len()].copy_from_slice(bytes);
        }
        let escaped = |b: &[u8]| b.iter().map(|b| format!("\\{b:02x}")).collect::<String>();
        let data: String = segments
            .iter()
            .map(|(at, b)| format!("(data (i32.const {at}) \"{}\")", escaped(b)))
            .collect();
        let wat = format!("(module (memory (export \"memory\") {pages}) {data})");
        let module = load_o0(d.path(), &format!("case{case}"), &wat);
        imaged += module.header().images.len();
        // The first instance maps the artifact's image (or copies); the second and third
        // may use an image the loader built.
        for round in 0..3 {
            let mut store = Store::new();
            let instance = Linker::new().instantiate(&mut store, &module).unwrap();
            let mem = store.get_memory(instance, "memory").unwrap();
            let got = store.memory_data(mem).unwrap();
            if got != &expected[..] {
                let first = got.iter().zip(&expected).position(|(a, b)| a != b);
                panic!("case {case} ({segments:?} lengths), round {round}: first difference at {first:?}",
                    segments = segments.iter().map(|(a, b)| (*a, b.len())).collect::<Vec<_>>());
            }
        }
    }
    assert!(
        imaged >= 6,
        "only {imaged} of 16 cases had an image in their artifact"
    );
}

/// A function of a failed instantiation can stay reachable through an imported table, and
/// then reads the memory the specification leaves: without the data segments that did not
/// run. So a module whose element segments write an imported table has no image; one whose
/// element segments do not fail behaves the same either way.
#[test]
fn memories_of_a_failed_instantiation_read_as_the_specification_leaves_them() {
    let d = tempfile::tempdir().unwrap();
    let module = |failing: bool, name: &str| {
        let data = "\\5a".repeat(70_000);
        let second = if failing {
            "(elem (i32.const 5) $read)"
        } else {
            ""
        };
        let wat = format!(
            r#"(module
              (import "host" "table" (table 2 funcref))
              (memory 4)
              (data (i32.const 65536) "{data}")
              (func $read (result i32) (i32.load8_u (i32.const 65536)))
              (elem (i32.const 0) $read)
              {second})"#
        );
        load_o0(d.path(), name, &wat)
    };
    for failing in [true, false] {
        let m = module(failing, if failing { "failing" } else { "fine" });
        assert!(m.header().images.is_empty(), "failing: {failing}");
        // Twice: the second instantiation may use an image the loader built.
        for round in 0..2 {
            let mut store = Store::new();
            let table = store
                .table_new(wasmparser::RefType::FUNCREF, 2, None)
                .unwrap();
            let mut linker = Linker::new();
            linker.define("host", "table", waot::Extern::Table(table));
            let result = linker.instantiate(&mut store, &m);
            assert_eq!(result.is_err(), failing, "round {round}");
            let Some(Val::FuncRef(Some(read))) = store.table_get(table, 0).unwrap() else {
                panic!("the first element segment was applied");
            };
            let expected = if failing { 0 } else { 0x5a };
            assert_eq!(
                store.call(read, &[]).unwrap(),
                vec![Val::I32(expected)],
                "failing: {failing}, round {round}"
            );
        }
    }
}
