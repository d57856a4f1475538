//! Who frees an exception object (issue 12). Each pattern of `tests/exceptions/ownership.wat`
//! enters and leaves handlers one way — catch, catch_ref, catch_all_ref, throw_ref, references
//! kept in locals, globals, tables and other exceptions' payloads, legacy catch, catch_all,
//! rethrow (the reviewer's use after free), delegate, clauses left by a branch or a throw,
//! forced unwinds through frames — a million times, and must compute the right sum while the
//! store's exception objects stay few. Under valgrind a smaller run must show no invalid
//! access (objects are freed with the system allocator, so a use after free is reported).

use std::path::{Path, PathBuf};
use std::process::Command;
use waot::{Linker, Store, Val};
use waot_compiler::{compile_to_file, CompileOptions, OptLevel};
use waot_tests::binary;

const PATTERNS: [&str; 15] = [
    "p_catch",
    "p_catch_ref_drop",
    "p_throw_ref",
    "p_catch_all_ref",
    "p_kept_local",
    "p_kept_global",
    "p_kept_table",
    "p_boxed",
    "p_legacy_catch",
    "p_legacy_catch_all",
    "p_legacy_rethrow",
    "p_legacy_delegate",
    "p_legacy_branch_out",
    "p_legacy_throw_out",
    "p_across_calls",
];

fn compiled(dir: &Path, options: &CompileOptions) -> PathBuf {
    let wat = Path::new(env!("CARGO_MANIFEST_DIR")).join("exceptions/ownership.wat");
    let text = std::fs::read_to_string(&wat).unwrap();
    let wasm = wat::parse_str(waot::wast::unfold_legacy_try(&text)).unwrap();
    let so = dir.join(format!("ownership-{}.so", options.opt_level.name()));
    compile_to_file(&wasm, "ownership", &so, options).unwrap();
    so
}

fn sum_to(n: u32) -> i32 {
    (n as u64 * (n as u64 + 1) / 2) as u32 as i32
}

/// Runs every pattern `n` times; after each call the store holds at most `bound` exception
/// objects, and none once collected.
fn run_patterns(opt_level: OptLevel, n: u32, bound: usize) {
    let dir = tempfile::tempdir().unwrap();
    let options = CompileOptions {
        opt_level,
        ..Default::default()
    };
    let module = waot::Module::from_file(compiled(dir.path(), &options)).unwrap();
    let mut store = Store::new();
    let instance = Linker::new().instantiate(&mut store, &module).unwrap();
    for name in PATTERNS {
        let f = store.get_func(instance, name).unwrap();
        let result = store.call(f, &[Val::I32(n as i32)]);
        assert_eq!(
            result.unwrap(),
            vec![Val::I32(sum_to(n))],
            "{name} at -{}",
            opt_level.name()
        );
        let live = store.live_exceptions();
        assert!(
            live <= bound,
            "{name}: {live} exception objects after {n} throws"
        );
        store.collect_exceptions();
        assert_eq!(store.live_exceptions(), 0, "{name}: garbage left");
    }
}

#[test]
fn a_million_throws_of_every_pattern_keep_few_objects() {
    // The store collects when objects reach twice what survived (at least 1024): a few
    // survive each time (the kept references), so the count stays near 1024, however many
    // iterations ran.
    run_patterns(OptLevel::O2, 1_000_000, 1100);
}

#[test]
fn every_pattern_is_right_without_optimization() {
    run_patterns(OptLevel::O0, 20_000, 1100);
}

#[test]
fn no_pattern_touches_a_freed_object_under_valgrind() {
    let dir = tempfile::tempdir().unwrap();
    // Valgrind's virtual CPU lacks some of this machine's features: the baseline CPU.
    let options = CompileOptions {
        cpu: "generic".into(),
        ..Default::default()
    };
    let so = compiled(dir.path(), &options);
    let suppressions = Path::new(env!("CARGO_MANIFEST_DIR")).join("exceptions/valgrind.supp");
    // 3000 iterations: several collections per pattern.
    let o = Command::new("valgrind")
        .args(["-q", "--error-exitcode=99", "--leak-check=no"])
        .arg(format!("--suppressions={}", suppressions.display()))
        .arg(binary("wrun"))
        .arg(&so)
        .args(["--invoke", "all", "3000"])
        .output()
        .expect("valgrind");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("{}\n", sum_to(3000))
    );
}

/// Instantiation that fails after the instance's globals were defined must not leave their
/// cells (inside the discarded instance) where the collector reads `exnref` globals.
#[test]
fn a_failed_instantiation_leaves_nothing_the_collector_reads() {
    // 10,000 globals make the instance's context (160 KB) large enough that, with malloc's
    // threshold pinned at 64 KiB, freeing it unmaps it and a read of it faults; the table is
    // larger than the runtime allows, so instantiation fails after the globals.
    // SAFETY: sets an allocator tunable; affects only where large blocks come from.
    unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, 64 * 1024) };
    let globals: String = (0..10_000)
        .map(|_| "(global (mut exnref) (ref.null exn))")
        .collect();
    let wat = format!("(module {globals} (table 20000000 funcref))");
    let dir = tempfile::tempdir().unwrap();
    let module = waot_tests::load_wat(dir.path(), "big", &wat, &CompileOptions::default());
    let mut store = Store::new();
    assert!(Linker::new().instantiate(&mut store, &module).is_err());
    store.collect_exceptions();
    // The store is still usable.
    let wat = wat::parse_str(
        r#"(module (tag $e (param i32))
             (func (export "f") (result i32)
               (block $h (result i32) (try_table (catch $e $h) (throw $e (i32.const 9))) (i32.const 0))))"#,
    )
    .unwrap();
    let so = dir.path().join("ok.so");
    compile_to_file(&wat, "ok", &so, &CompileOptions::default()).unwrap();
    let module = waot::Module::from_file(&so).unwrap();
    let instance = Linker::new().instantiate(&mut store, &module).unwrap();
    let f = store.get_func(instance, "f").unwrap();
    assert_eq!(store.call(f, &[]).unwrap(), vec![Val::I32(9)]);
}
