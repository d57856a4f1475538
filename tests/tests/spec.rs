//! The gate for correctness: every top-level file of the WebAssembly 2.0 spec suite (the 90
//! scalar files and the 57 SIMD files), compiled ahead of time and run. A failure not listed in
//! `spec-expected-failures.txt` fails the test, and so does a listed one that now passes, so the
//! list only shrinks.

use runtime_support::BoundsStrategy;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Mutex;
use waot::wast::{run_file, FileReport};
use waot_compiler::CompileOptions;
use waot_tests::{testsuite_dir, InProcessCompiler};

/// Files whose modules use memory, run again with explicit bounds checks.
const MEMORY_FILES: &[&str] = &[
    "address.wast",
    "align.wast",
    "bulk.wast",
    "endianness.wast",
    "float_memory.wast",
    "load.wast",
    "memory.wast",
    "memory_copy.wast",
    "memory_fill.wast",
    "memory_grow.wast",
    "memory_init.wast",
    "memory_redundancy.wast",
    "memory_size.wast",
    "memory_trap.wast",
    "store.wast",
    "traps.wast",
    "simd_address.wast",
    "simd_align.wast",
    "simd_load.wast",
    "simd_load_extend.wast",
    "simd_load_splat.wast",
    "simd_load_zero.wast",
    "simd_load8_lane.wast",
    "simd_load16_lane.wast",
    "simd_load32_lane.wast",
    "simd_load64_lane.wast",
    "simd_store.wast",
    "simd_store8_lane.wast",
    "simd_store16_lane.wast",
    "simd_store32_lane.wast",
    "simd_store64_lane.wast",
];

/// Every top-level `.wast` file; `simd` selects the SIMD ones or the others.
fn top_level_files(simd: bool) -> Vec<PathBuf> {
    let dir = testsuite_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (the spec suite must be beside the project)",
                dir.display()
            )
        })
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wast"))
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("simd_")
                == simd
        })
        .collect();
    files.sort();
    files
}

/// Runs `files` on two threads with large stacks; reports in file order.
fn run_all(files: &[PathBuf], options: CompileOptions) -> Vec<(PathBuf, FileReport)> {
    let queue = Mutex::new(files.iter().enumerate().collect::<Vec<_>>());
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            std::thread::Builder::new()
                .stack_size(32 << 20)
                .spawn_scoped(s, || {
                    let compiler = InProcessCompiler {
                        options: options.clone(),
                    };
                    while let Some((i, file)) = queue.lock().unwrap().pop() {
                        let report = run_file(file, &compiler);
                        results.lock().unwrap().push((i, file.clone(), report));
                    }
                })
                .unwrap();
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(i, _, _)| *i);
    results.into_iter().map(|(_, f, r)| (f, r)).collect()
}

/// Runs `files` in the interpreter, in order, validating with `proposals`.
fn run_all_interp(files: &[PathBuf], proposals: &[String]) -> Vec<(PathBuf, FileReport)> {
    files
        .iter()
        .map(|f| {
            (
                f.clone(),
                waot::wast::run_file_with(f, waot::wast::Mode::Interp(proposals)),
            )
        })
        .collect()
}

/// Validation as the 2.0 suite and the proposals' own copies of it expect: WebAssembly 2.0
/// plus `proposals` (with tail calls and exceptions). Without it, modules that 3.0 made valid
/// (two memories, 64-bit limits) would be accepted where those files expect them rejected;
/// `3.0/` holds the files that supersede them.
fn wasm2(proposals: &[&str]) -> Vec<String> {
    std::iter::once("2.0")
        .chain(proposals.iter().copied())
        .map(String::from)
        .collect()
}

fn wasm2_options(proposals: &[&str]) -> CompileOptions {
    CompileOptions {
        enabled_proposals: wasm2(proposals),
        ..CompileOptions::default()
    }
}

fn expected_failures() -> BTreeSet<String> {
    let text = include_str!("../spec-expected-failures.txt");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect()
}

/// A file's name in reports and in the expected-failures list: its path inside the suite
/// (`throw.wast`, `proposals/exception-handling/legacy/throw.wast`).
fn file_key(file: &std::path::Path) -> String {
    let dir = testsuite_dir();
    file.strip_prefix(&dir)
        .unwrap_or(file)
        .to_string_lossy()
        .into_owned()
}

/// Every `.wast` file of a folder of the suite (and its subfolders), sorted, e.g.
/// `proposals/tail-call`.
fn suite_files(folder: &str) -> Vec<PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "wast") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&testsuite_dir().join(folder), &mut files);
    files.sort();
    files
}

/// Checks a run against the expected failures. An entry `FILE:LINE` applies to every mode,
/// `FILE:LINE@aot` or `FILE:LINE@interp` to one (a label ending in `interp` is an interpreter
/// run).
fn check(label: &str, results: Vec<(PathBuf, FileReport)>) {
    let mode = if label.ends_with("interp") {
        "@interp"
    } else {
        "@aot"
    };
    let expected: BTreeSet<String> = expected_failures()
        .into_iter()
        .filter(|k| !k.contains('@') || k.ends_with(mode))
        .collect();
    let (mut passed, mut failed) = (0, 0);
    let mut unexpected = Vec::new();
    let mut seen = BTreeSet::new();
    for (file, report) in &results {
        let name = file_key(file);
        println!(
            "{label} {name}: {} passed, {} failed",
            report.passed,
            report.failures.len()
        );
        passed += report.passed;
        failed += report.failures.len();
        for (line, reason) in &report.failures {
            let key = format!("{name}:{line}");
            let moded = format!("{key}{mode}");
            if expected.contains(&key) {
                seen.insert(key);
            } else if expected.contains(&moded) {
                seen.insert(moded);
            } else {
                unexpected.push(format!("{key} {reason}"));
            }
        }
    }
    println!("{label}: {passed} passed, {failed} failed");
    assert!(
        unexpected.is_empty(),
        "unexpected spec failures:\n{}",
        unexpected.join("\n")
    );
    let ran: BTreeSet<String> = results.iter().map(|(f, _)| file_key(f)).collect();
    let stale: Vec<_> = expected
        .iter()
        .filter(|k| ran.contains(k.split(':').next().unwrap()) && !seen.contains(*k))
        .collect();
    assert!(
        stale.is_empty(),
        "these now pass; remove them from spec-expected-failures.txt: {stale:?}"
    );
}

/// Runs `files` ahead of time validating with `proposals` (with explicit bounds checks too
/// when `explicit`), and in the interpreter, checking each run; at least `directives` ran.
fn check_everywhere(
    label: &str,
    files: &[PathBuf],
    proposals: &[String],
    directives: usize,
    explicit: bool,
) {
    let options = CompileOptions {
        enabled_proposals: proposals.to_vec(),
        ..CompileOptions::default()
    };
    let aot = run_all(files, options.clone());
    let total: usize = aot.iter().map(|(_, r)| r.passed + r.failures.len()).sum();
    assert!(total >= directives, "{label}: ran {total} directives");
    check(label, aot);
    if explicit {
        let explicit = CompileOptions {
            bounds: BoundsStrategy::Explicit,
            ..options
        };
        check(&format!("{label}-explicit"), run_all(files, explicit));
    }
    check(&format!("{label}-interp"), run_all_interp(files, proposals));
}

#[test]
fn spec_suite_scalar_files_pass_aot() {
    let files = top_level_files(false);
    assert_eq!(files.len(), 90, "the suite's 90 scalar files");
    check("aot", run_all(&files, wasm2_options(&[])));
}

#[test]
fn spec_suite_simd_files_pass_aot() {
    let files = top_level_files(true);
    assert_eq!(files.len(), 57, "the suite's 57 SIMD files");
    check("aot-simd", run_all(&files, wasm2_options(&[])));
}

#[test]
fn spec_suite_memory_files_pass_with_explicit_bounds_checks() {
    let files: Vec<PathBuf> = MEMORY_FILES
        .iter()
        .map(|f| testsuite_dir().join(f))
        .collect();
    let options = CompileOptions {
        bounds: BoundsStrategy::Explicit,
        ..wasm2_options(&[])
    };
    check("explicit-bounds", run_all(&files, options));
}

/// The 3.0 suite's files for 64-bit memories, run with explicit bounds checks (the default
/// run covers guard pages).
const MEMORY64_FILES: &[&str] = &[
    "address64.wast",
    "align64.wast",
    "bulk64.wast",
    "endianness64.wast",
    "float_memory64.wast",
    "load64.wast",
    "memory64.wast",
    "memory64-imports.wast",
    "memory_copy64.wast",
    "memory_fill64.wast",
    "memory_grow64.wast",
    "memory_init64.wast",
    "memory_redundancy64.wast",
    "memory_trap64.wast",
];

#[test]
fn memory64_files_pass_with_explicit_bounds_checks() {
    let files: Vec<PathBuf> = MEMORY64_FILES
        .iter()
        .map(|f| testsuite_dir().join("3.0").join(f))
        .collect();
    let options = CompileOptions {
        bounds: BoundsStrategy::Explicit,
        ..CompileOptions::default()
    };
    let results = run_all(&files, options);
    let total: usize = results.iter().map(|(_, r)| r.passed).sum();
    assert!(total >= 5_900, "about 5,950 assertions, passed {total}");
    check("memory64-explicit-bounds", results);
}

#[test]
fn spec_suite_passes_in_the_interpreter_too() {
    let mut files = top_level_files(false);
    files.extend(top_level_files(true));
    check("interp", run_all_interp(&files, &wasm2(&[])));
}

/// Files whose operations need runtime support routines on a baseline CPU (x86-64 has no
/// rounding instructions before SSE4.1), compiled with `--cpu generic`.
const BASELINE_CPU_FILES: &[&str] = &[
    "f32.wast",
    "f64.wast",
    "float_exprs.wast",
    "float_misc.wast",
    "conversions.wast",
    "memory_fill.wast",
    "memory_copy.wast",
    "simd_f32x4_rounding.wast",
    "simd_f64x2_rounding.wast",
    "simd_i8x16_arith2.wast",
];

#[test]
fn spec_files_pass_on_a_baseline_cpu() {
    let files: Vec<PathBuf> = BASELINE_CPU_FILES
        .iter()
        .map(|f| testsuite_dir().join(f))
        .collect();
    let options = CompileOptions {
        cpu: "generic".into(),
        ..wasm2_options(&[])
    };
    check("generic-cpu", run_all(&files, options));
}

#[test]
fn exception_handling_proposal_passes_aot_with_its_legacy_form() {
    let files = suite_files("proposals/exception-handling");
    assert_eq!(files.len(), 12, "8 files and 4 in legacy/");
    let results = run_all(&files, wasm2_options(&[]));
    let total: usize = results
        .iter()
        .map(|(_, r)| r.passed + r.failures.len())
        .sum();
    assert!(total >= 440, "about 440 directives, ran {total}");
    check("exceptions", results);
}

/// Every `.wast` file of the WebAssembly 3.0 core suite (`3.0/`, its `legacy/` and `custom/`),
/// with the features waot enables by default.
fn core_3_0_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["3.0", "3.0/legacy", "3.0/custom"] {
        let mut here: Vec<PathBuf> = std::fs::read_dir(testsuite_dir().join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "wast"))
            .collect();
        here.sort();
        files.extend(here);
    }
    files
}

#[test]
fn tail_call_proposal_passes_aot_and_in_the_interpreter() {
    let files = suite_files("proposals/tail-call");
    assert_eq!(files.len(), 2);
    check_everywhere("tail-call", &files, &wasm2(&[]), 110, false);
}

/// The typed function references proposal's own suite, on the 2.0 base it was written for.
/// AOT only: the interpreter (wasmi) lacks the proposal (the 3.0 suite's `@interp` lines).
#[test]
fn function_references_proposal_passes_aot() {
    let files = suite_files("proposals/function-references");
    assert_eq!(files.len(), 28);
    let aot = run_all(&files, wasm2_options(&["function-references"]));
    let total: usize = aot.iter().map(|(_, r)| r.passed + r.failures.len()).sum();
    assert!(total >= 1870, "ran {total} directives");
    check("function-references", aot);
}

/// The threads proposal's suite (shared memories, atomics, wait and notify), AOT in both
/// bounds modes: the interpreter (wasmi) lacks the proposal.
#[test]
fn threads_proposal_passes_aot_in_both_bounds_modes() {
    let files = suite_files("proposals/threads");
    assert_eq!(files.len(), 4);
    for bounds in [BoundsStrategy::GuardPages, BoundsStrategy::Explicit] {
        let options = CompileOptions {
            bounds,
            ..wasm2_options(&["threads"])
        };
        let aot = run_all(&files, options);
        let total: usize = aot.iter().map(|(_, r)| r.passed + r.failures.len()).sum();
        assert!(total >= 440, "ran {total} directives");
        check(&format!("threads-{bounds:?}"), aot);
    }
}

#[test]
fn multi_memory_proposal_passes_aot_in_both_bounds_modes_and_in_the_interpreter() {
    let files = suite_files("proposals/multi-memory");
    assert_eq!(files.len(), 47);
    check_everywhere(
        "multi-memory",
        &files,
        &wasm2(&["multi-memory"]),
        1680,
        true,
    );
}

#[test]
fn extended_const_proposal_passes_aot_and_in_the_interpreter() {
    let files = suite_files("proposals/extended-const");
    assert_eq!(files.len(), 3);
    check_everywhere(
        "extended-const",
        &files,
        &wasm2(&["extended-const"]),
        290,
        false,
    );
}

#[test]
fn webassembly_3_0_suite_passes_aot_and_in_the_interpreter_but_for_listed_features() {
    let files = core_3_0_files();
    assert_eq!(files.len(), 257 + 4 + 3);
    check_everywhere("3.0", &files, &[], 65_000, false);
}

#[test]
fn wide_arithmetic_proposal_passes_aot_and_in_the_interpreter() {
    let files = suite_files("3.0/proposals/wide-arithmetic");
    assert_eq!(files.len(), 1);
    check_everywhere("wide-arithmetic", &files, &[], 109, false);
}

#[test]
fn custom_page_sizes_proposal_passes_aot_in_both_bounds_modes_and_in_the_interpreter() {
    let files = suite_files("3.0/proposals/custom-page-sizes");
    assert_eq!(files.len(), 5);
    let proposals = ["custom-page-sizes".to_string()];
    check_everywhere("custom-page-sizes", &files, &proposals, 207, true);
}
