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

#[test]
fn mutated_inputs_are_errors_never_crashes() {
    let (ok, report) = fuzz(&["bytes", "1", "4000"], Duration::from_secs(240));
    println!("{report}");
    assert!(ok, "{report}");
}

/// Reduced modules of past findings, each compiled by `waotc` at every level within a time
/// limit and run natively and interpreted with the same output.
#[test]
fn past_findings_compile_and_agree() {
    // Seed 197: at -O0, v128 constants reused at another lane shape reached the instruction
    // selector as constant expressions, and LLVM 19 looped forever on this compare + abs
    // whose store is overwritten.
    let findings = [(
        "seed-197",
        r#"(module (memory 1)
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
    )];
    let dir = tempfile::tempdir().unwrap();
    for (name, wat) in findings {
        let wasm = dir.path().join(format!("{name}.wasm"));
        std::fs::write(&wasm, wat::parse_str(wat).unwrap()).unwrap();
        let interpreted = run(&[
            "--interp".as_ref(),
            "-q".as_ref(),
            "--invoke".as_ref(),
            "f".as_ref(),
            wasm.as_os_str(),
        ]);
        for level in ["-O0", "-O1", "-O2", "-Os"] {
            let so = dir.path().join(format!("{name}{level}.so"));
            let mut waotc = Command::new(binary("waotc"));
            waotc.arg(level).arg(&wasm).arg(&so);
            let compiled = within(waotc, Duration::from_secs(60));
            assert!(compiled.status.success(), "{name} {level}: {compiled:?}");
            let native = run(&["--invoke".as_ref(), "f".as_ref(), so.as_os_str()]);
            assert_eq!(native, interpreted, "{name} {level}");
        }
    }
}

fn run(args: &[&std::ffi::OsStr]) -> String {
    let out = Command::new(binary("wrun")).args(args).output().unwrap();
    assert!(out.status.success(), "wrun {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
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
