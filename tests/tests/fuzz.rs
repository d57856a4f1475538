//! The differential fuzzer's fixed-seed run (issue 18): a few hundred generated modules in
//! the interpreter and three native modes, and mutated inputs to every reader. Each runs as
//! the `fuzz` binary in its own process with a time limit, so a crash or a hang of waot is a
//! failure of this test, not of the test runner. `scripts/fuzz --hours N` runs longer.

use std::process::Command;
use std::time::{Duration, Instant};
use waot_tests::binary;

/// Runs `fuzz ARGS`, failing if it takes longer than `limit`.
fn fuzz(args: &[&str], limit: Duration) -> (bool, String) {
    let out_dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(binary("fuzz"));
    command.args(args).arg(out_dir.path());
    let out = within(command, limit);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn generated_modules_agree_in_every_mode() {
    let (ok, report) = fuzz(&["modules", "1", "250"], Duration::from_secs(240));
    println!("{report}");
    assert!(ok, "{report}");
}

/// Seed 21762: at -O2 a load that traps is deleted (its value turns out unused) and a later
/// load traps instead, after a global was written: every call traps alike, only the global
/// differs. The harness finds the cause by compiling once more with every load kept, which
/// agrees with the interpreter, and counts it in the documented class, not as a divergence.
#[test]
fn a_later_trap_after_a_deleted_load_is_classified_by_evidence() {
    let (ok, report) = fuzz(&["modules", "21762", "21762"], Duration::from_secs(120));
    assert!(ok, "{report}");
    assert!(
        report.contains("1  out-of-bounds access optimized away"),
        "{report}"
    );
}

#[test]
fn mutated_inputs_are_errors_never_crashes() {
    let (ok, report) = fuzz(&["bytes", "1", "4000"], Duration::from_secs(240));
    println!("{report}");
    assert!(ok, "{report}");
}

/// A reduced module of a past finding: compiled by `waotc` with each of `options` within a
/// time limit, its export `f` must give what the interpreter gives (results or trap).
struct Finding {
    name: &'static str,
    wat: &'static str,
    options: &'static [&'static str],
}

const EVERY_LEVEL: &[&str] = &["-O0", "-O1", "-O2", "-Os", "--bounds-checks=explicit"];

const FINDINGS: &[Finding] = &[
    // At -O0, v128 constants reused at another lane shape reached the instruction selector
    // as constant expressions, and LLVM 19 looped forever on this compare + abs whose store
    // is overwritten.
    Finding {
        name: "seed-197",
        wat: r#"(module (memory 1)
          (func (export "f") (result v128)
            i32.const 16
            v128.const i64x2 3862460077286881405 -531363271826412652
            v128.const i64x2 -656665871089801733 -1225512388853021705
            i32x4.le_s
            f32x4.abs
            v128.store
            i32.const 16
            v128.const i64x2 0 0
            v128.store
            i32.const 16
            v128.load))"#,
        options: EVERY_LEVEL,
    },
    // A lane of a constant vector is a constant expression, not a ConstantFP; reading it as
    // one to fold `x + 0`-style arithmetic crashed the compiler (SIGSEGV).
    Finding {
        name: "seed-409",
        wat: r#"(module (func (export "f") (result f32)
          v128.const i32x4 1 0x3f800000 3 4
          f32x4.extract_lane 1
          f32.const 1
          f32.add))"#,
        options: EVERY_LEVEL,
    },
    // An out-of-bounds load whose value only went into a local never read again: the store
    // to the local's stack slot counted as a use, so the load was not kept and, once the
    // local was promoted, deleted; the start function did not trap.
    Finding {
        name: "seed-711",
        wat: r#"(module (memory 0 2)
          (func (export "f") (local f32)
            memory.size
            f32.load
            f32.floor
            local.set 0))"#,
        options: EVERY_LEVEL,
    },
    // At -O0 the instruction selector folded the extraction of a lane the load never wrote
    // and deleted the load. (At -O1 and above LLVM does the same; the documented limitation.)
    Finding {
        name: "seed-858",
        wat: r#"(module (memory 0 1)
          (func (export "f") (result i32)
            memory.size
            v128.load32_zero
            i8x16.extract_lane_u 15))"#,
        options: &["-O0", "--bounds-checks=explicit"],
    },
];

#[test]
fn past_findings_compile_and_agree() {
    let dir = tempfile::tempdir().unwrap();
    for finding in FINDINGS {
        let name = finding.name;
        let wasm = dir.path().join(format!("{name}.wasm"));
        std::fs::write(&wasm, wat::parse_str(finding.wat).unwrap()).unwrap();
        let interpreted = invoke(&["--interp".as_ref(), "-q".as_ref(), wasm.as_os_str()]);
        for option in finding.options {
            let so = dir.path().join(format!("{name}{option}.so"));
            let mut waotc = Command::new(binary("waotc"));
            waotc.arg(option).arg(&wasm).arg(&so);
            let compiled = within(waotc, Duration::from_secs(60));
            assert!(compiled.status.success(), "{name} {option}: {compiled:?}");
            let native = invoke(&[so.as_os_str()]);
            assert_eq!(native, interpreted, "{name} {option}");
        }
    }
}

/// `wrun ARGS --invoke f`: exit status, output and the first line of errors (a trap's
/// message; native backtraces follow it).
fn invoke(args: &[&std::ffi::OsStr]) -> (Option<i32>, String, String) {
    let out = Command::new(binary("wrun"))
        .args(["--invoke", "f"])
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let first = stderr.lines().next().unwrap_or("").to_string();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        first,
    )
}

/// Runs `command`, failing if it takes longer than `limit`.
fn within(mut command: Command, limit: Duration) -> std::process::Output {
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            child.kill().ok();
            panic!("{command:?} took longer than {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}
