//! Both command lines end to end, including bad input: every error is one line with exit
//! status 1, a trap is status 134 with a backtrace.

use object::{Object, ObjectSymbol};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use waot_tests::binary;

const ADD: &str = r#"(module
  (memory 1)
  (func $add (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "halve") (param f64) (result f64) (f64.mul (local.get 0) (f64.const 0.5)))
  (func $boom (export "boom") (param i32) (result i32) (i32.load (local.get 0)))
  (func $deep (export "deep") (param i32) (result i32) (i32.add (call $boom (local.get 0)) (i32.const 1))))"#;

fn run(bin: &str, args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let path = binary(bin);
    assert!(
        path.is_file(),
        "{} is not built; run `cargo build --release --bins` first",
        path.display()
    );
    Command::new(path)
        .args(args.iter().map(|a| a.as_ref()))
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Exit status 1 and a single line on stderr that contains `needle`.
fn assert_one_line_error(o: &Output, needle: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(1), "stderr: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line expected: {err}"
    );
    assert!(err.contains(needle), "`{needle}` not in: {err}");
}

fn write_wasm(dir: &Path, name: &str, wat: &str) -> PathBuf {
    let path = dir.join(format!("{name}.wasm"));
    std::fs::write(&path, wat::parse_str(wat).unwrap()).unwrap();
    path
}

fn compile(dir: &Path, wat: &str, flags: &[&str]) -> PathBuf {
    let wasm = write_wasm(dir, "m", wat);
    let so = dir.join("m.so");
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = flags
        .iter()
        .map(|f| f as &dyn AsRef<std::ffi::OsStr>)
        .collect();
    args.push(&wasm);
    args.push(&so);
    let o = run("waotc", &args);
    assert!(o.status.success(), "waotc failed: {}", stderr(&o));
    so
}

#[test]
fn every_optimization_level_produces_working_code() {
    for level in ["-O0", "-O1", "-O2", "-O3", "-Os", "-Oz"] {
        let d = tempfile::tempdir().unwrap();
        let so = compile(d.path(), ADD, &[level]);
        let o = run("wrun", &[&so, &"--invoke", &"add", &"-1", &"-2"]);
        assert_eq!(stdout(&o).trim(), "-3", "{level}: {}", stderr(&o));
        let o = run("wrun", &[&so, &"--invoke", &"halve", &"inf"]);
        assert_eq!(stdout(&o).trim(), "inf", "{level}");
        let o = run("wrun", &[&so, &"--invoke", &"halve", &"-2.5"]);
        assert_eq!(stdout(&o).trim(), "-1.25", "{level}");
    }
}

#[test]
fn artifacts_have_no_undefined_symbols_and_describe_themselves() {
    let d = tempfile::tempdir().unwrap();
    let so = compile(d.path(), ADD, &[]);
    let bytes = std::fs::read(&so).unwrap();
    let file = object::File::parse(&*bytes).unwrap();
    let undefined: Vec<_> = file
        .dynamic_symbols()
        .filter(|s| s.is_undefined() && !s.name().unwrap_or("").is_empty())
        .map(|s| s.name().unwrap().to_string())
        .collect();
    assert!(undefined.is_empty(), "undefined symbols: {undefined:?}");
    // The tables of code addresses are offsets the linker resolved: the dynamic loader
    // relocates nothing per function or type (the one left is the personality routine's
    // address), so the pages stay clean and shared between processes.
    let many = (0..200)
        .map(|i| {
            format!(
                "(func (export \"f{i}\") (param i{0}) (result i{0}) (local.get 0))",
                if i % 2 == 0 { 32 } else { 64 }
            )
        })
        .collect::<String>();
    let d2 = tempfile::tempdir().unwrap();
    let big = compile(d2.path(), &format!("(module {many})"), &[]);
    let bytes = std::fs::read(&big).unwrap();
    let relocations = object::File::parse(&*bytes)
        .unwrap()
        .dynamic_relocations()
        .map_or(0, |r| r.count());
    assert!(relocations <= 2, "{relocations} dynamic relocations");
    let module = waot::Module::from_file(&so).unwrap();
    let header = module.header();
    assert_eq!(header.abi_version, runtime_support::ABI_VERSION);
    assert_eq!(header.opt_level, "O2");
    let wasm = std::fs::read(d.path().join("m.wasm")).unwrap();
    assert_eq!(module.wasm().unwrap(), wasm);
    // Loading read the skeleton: the module's declarations and data, its code stubbed. The
    // names are apart, for backtraces.
    let skeleton = runtime_support::skeleton::skeleton(&wasm, &[]).unwrap();
    assert_eq!(header.skeleton_len, skeleton.len() as u64);
    assert_eq!(
        header.skeleton_hash,
        runtime_support::artifact::content_hash(&skeleton)
    );
    let names = runtime_support::skeleton::names(&wasm).unwrap();
    assert_eq!(header.names_len, names.len() as u64);
    assert_eq!(
        header.names_hash,
        runtime_support::artifact::content_hash(&names)
    );
}

#[test]
fn traps_exit_134_with_a_backtrace() {
    let d = tempfile::tempdir().unwrap();
    let so = compile(d.path(), ADD, &[]);
    let o = run("wrun", &[&so, &"--invoke", &"deep", &"70000"]);
    assert_eq!(o.status.code(), Some(134));
    let err = stderr(&o);
    assert!(err.contains("trap: out of bounds memory access"), "{err}");
    // At -O2 `boom` is inlined into `deep`: the backtrace names the frame that remains.
    assert!(
        err.contains("at m.so!deep (function 3)"),
        "backtrace names the function: {err}"
    );
}

#[test]
fn start_runs_and_modules_without_start_exit_zero() {
    let d = tempfile::tempdir().unwrap();
    let so = compile(
        d.path(),
        r#"(module (func (export "_start") unreachable))"#,
        &[],
    );
    assert_eq!(run("wrun", &[&so]).status.code(), Some(134));
    let so = compile(d.path(), ADD, &[]);
    assert_eq!(run("wrun", &[&so]).status.code(), Some(0));
}

#[test]
fn waotc_rejects_bad_input_with_one_line() {
    let d = tempfile::tempdir().unwrap();
    let missing = d.path().join("missing.wasm");
    assert_one_line_error(
        &run("waotc", &[&missing, &d.path().join("x.so")]),
        "missing.wasm",
    );

    let good = wat::parse_str(ADD).unwrap();
    let truncated = d.path().join("truncated.wasm");
    std::fs::write(&truncated, &good[..good.len() / 2]).unwrap();
    assert_one_line_error(
        &run("waotc", &[&truncated, &d.path().join("x.so")]),
        "byte offset",
    );

    let invalid = write_wasm(
        d.path(),
        "invalid",
        r#"(module (func (result i32) (i64.const 1)))"#,
    );
    let o = run("waotc", &[&invalid, &d.path().join("x.so")]);
    assert_one_line_error(&o, "in function 0 at byte offset");
    assert!(stderr(&o).contains("type mismatch"), "{}", stderr(&o));

    // A proposal left out of the feature set asked for: the error names it.
    let gc = write_wasm(
        d.path(),
        "gc",
        r#"(module (type $s (struct (field i32)))
             (func (export "_start") (drop (struct.new_default $s))))"#,
    );
    let o = run("waotc", &[&"--enable", &"2.0", &gc, &d.path().join("x.so")]);
    assert_one_line_error(&o, "invalid module");
    assert!(stderr(&o).contains("gc"), "{}", stderr(&o));
    // The interpreter has no GC: one line naming the file and the feature.
    let o = run("wrun", &[&"--interp", &gc]);
    assert_one_line_error(&o, "gc.wasm");
    assert!(stderr(&o).contains("garbage collection"), "{}", stderr(&o));

    // The interpreter has no exception handling: one line naming the file and the feature.
    let exn = write_wasm(
        d.path(),
        "exn",
        r#"(module (tag $e) (func (export "_start") (throw $e)))"#,
    );
    let o = run("wrun", &[&"--interp", &exn]);
    assert_one_line_error(&o, "exn.wasm");
    assert!(stderr(&o).contains("exception handling"), "{}", stderr(&o));
    // Nor typed function references.
    let typed = write_wasm(
        d.path(),
        "typed",
        r#"(module (type $t (func)) (func $f (type $t))
             (func (export "_start") (call_ref $t (ref.func $f))) (elem declare func $f))"#,
    );
    let o = run("wrun", &[&"--interp", &typed]);
    assert_one_line_error(&o, "typed.wasm");
    assert!(
        stderr(&o).contains("typed function references"),
        "{}",
        stderr(&o)
    );

    assert_one_line_error(
        &run("waotc", &[&"-O9", &invalid, &d.path().join("x.so")]),
        "-O9",
    );
    assert_one_line_error(&run("waotc", &[&"--nonsense"]), "--nonsense");

    // Files that are not wasm at all: one line naming the file and what was expected.
    let text_file = d.path().join("notes.txt");
    std::fs::write(&text_file, "(module)\n").unwrap();
    let o = run("waotc", &[&text_file, &d.path().join("x.so")]);
    assert_one_line_error(&o, "notes.txt");
    assert!(
        stderr(&o).contains("not a WebAssembly module"),
        "{}",
        stderr(&o)
    );
    let elf = compile(d.path(), ADD, &[]);
    let o = run("waotc", &[&elf, &d.path().join("y.so")]);
    assert_one_line_error(&o, "an ELF file");
}

/// A trusted key with characters that are not hex digits, some of them several bytes long
/// (once sliced at byte offsets, which panicked): one line, exit status 1, in both tools.
#[test]
fn malformed_keys_are_one_line_errors() {
    let d = tempfile::tempdir().unwrap();
    let wasm = write_wasm(d.path(), "plain", ADD);
    let universal = d.path().join("u.wasm");
    let config = d.path().join("config");
    let cmd = |bin: &str| {
        let mut c = Command::new(binary(bin));
        c.env("XDG_CONFIG_HOME", &config).env_remove("WAOT_KEY");
        c
    };
    let o = cmd("waotc").arg(&wasm).arg(&universal).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    for bad in [
        format!("é{}", "a".repeat(62)),
        format!("{}€", "0".repeat(61)),
        "ü".repeat(32),
    ] {
        let o = cmd("waotc")
            .env("WAOT_KEY", &bad)
            .arg(&wasm)
            .arg(d.path().join("v.wasm"))
            .output()
            .unwrap();
        assert_one_line_error(&o, "WAOT_KEY");
        let o = cmd("wrun")
            .env("WAOT_KEY", &bad)
            .arg(&universal)
            .output()
            .unwrap();
        assert_one_line_error(&o, "WAOT_KEY");
        std::fs::write(config.join("waot/trusted-keys"), format!("# mine\n{bad}\n")).unwrap();
        let o = cmd("wrun").arg(&universal).output().unwrap();
        assert_one_line_error(&o, "trusted-keys line 2");
        std::fs::remove_file(config.join("waot/trusted-keys")).unwrap();
    }
}

#[test]
fn wrun_rejects_bad_artifacts_with_one_line() {
    let d = tempfile::tempdir().unwrap();
    assert_one_line_error(&run("wrun", &[&d.path().join("nope.so")]), "cannot read");
    let wasm = write_wasm(d.path(), "plain", ADD);
    // A plain wasm is interpreted, with a notice; anything else is refused.
    let o = run("wrun", &[&wasm]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("plain wasm module without native code"));
    let text_file = d.path().join("notes.txt");
    std::fs::write(&text_file, "not a module").unwrap();
    assert_one_line_error(
        &run("wrun", &[&text_file]),
        "neither a wasm module nor a shared object",
    );

    let so = compile(d.path(), ADD, &[]);
    let bytes = std::fs::read(&so).unwrap();
    let truncated = d.path().join("truncated.so");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    let o = run("wrun", &[&truncated]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));

    // Another ABI version: the four bytes after the header's magic.
    let at = find(&bytes, b"WAOTMETA") + 8;
    let mut other_abi = bytes.clone();
    other_abi[at..at + 4].copy_from_slice(&99u32.to_le_bytes());
    let path = d.path().join("abi.so");
    std::fs::write(&path, &other_abi).unwrap();
    assert_one_line_error(&run("wrun", &[&path]), "ABI version 99");

    // The header's length of the embedded module altered (the module is hashed only when
    // read, but that length says how much is read): refused at load.
    let meta = {
        use object::{Object, ObjectSection};
        let file = object::File::parse(&*bytes).unwrap();
        let section = file
            .section_by_name(runtime_support::artifact::META_SECTION)
            .unwrap();
        let (start, size) = section.file_range().unwrap();
        (start + size) as usize
    };
    // wasm_len sits before the wasm hash, the skeleton's length and hash and the names' length
    // and hash (32 + 2 × (8 + 32)); names_len before the names' hash; then the images' length,
    // hash and count (44 bytes: this module has no image).
    let meta = meta - 44;
    for (at, what) in [(meta - 112 - 8, "wasm"), (meta - 32 - 8, "names")] {
        let mut longer = bytes.clone();
        let len = u64::from_le_bytes(longer[at..at + 8].try_into().unwrap());
        longer[at..at + 8].copy_from_slice(&(len + 4096).to_le_bytes());
        let path = d.path().join(format!("longer-{what}.so"));
        std::fs::write(&path, &longer).unwrap();
        assert_one_line_error(&run("wrun", &[&path]), "not the length");
    }

    // The skeleton altered (what loading reads: an export name in it): refused at load.
    let wasm_bytes = std::fs::read(&wasm).unwrap();
    let skeleton = runtime_support::skeleton::skeleton(&wasm_bytes, &[]).unwrap();
    let start = find(&bytes, &skeleton);
    let name = start + find(&skeleton, b"halve");
    let mut altered = bytes.clone();
    altered[name] = b'H';
    let path = d.path().join("altered.so");
    std::fs::write(&path, &altered).unwrap();
    assert_one_line_error(&run("wrun", &[&path]), "skeleton does not match");
    // The embedded module altered: native code, which never reads it, runs; the interpreter,
    // which would run it, refuses it.
    let start = find(&bytes, &wasm_bytes);
    let name = start + find(&wasm_bytes, b"halve");
    let mut altered = bytes.clone();
    altered[name] = b'H';
    let path = d.path().join("altered-module.so");
    std::fs::write(&path, &altered).unwrap();
    let o = run("wrun", &[&path, &"--invoke", &"halve", &"8"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_one_line_error(
        &run("wrun", &[&"--interp", &path, &"--invoke", &"halve", &"8"]),
        "the wasm does not match the hash",
    );
}

#[test]
fn wrun_reports_unknown_imports_and_bad_invocations() {
    let d = tempfile::tempdir().unwrap();
    let so = compile(
        d.path(),
        r#"(module (import "env" "hook" (func (param i32 i32 i32 i32) (result i32))))"#,
        &[],
    );
    assert_one_line_error(&run("wrun", &[&so]), "unknown import `env`.`hook`");
    let so = compile(d.path(), ADD, &[]);
    assert_one_line_error(
        &run("wrun", &[&so, &"--invoke", &"nothere"]),
        "no exported function `nothere`",
    );
    assert_one_line_error(
        &run("wrun", &[&so, &"--invoke", &"add", &"1"]),
        "expects 2 arguments",
    );
    assert_one_line_error(
        &run("wrun", &[&so, &"--invoke", &"add", &"1", &"x"]),
        "not a valid",
    );
    assert_one_line_error(&run("wrun", &[&"--bogus", &so]), "--bogus");
}

#[test]
fn emit_llvm_shows_bounds_checks_only_when_asked() {
    let d = tempfile::tempdir().unwrap();
    let wasm = write_wasm(d.path(), "m", ADD);
    let guard_ll = d.path().join("guard.ll");
    let explicit_ll = d.path().join("explicit.ll");
    let so = d.path().join("m.so");
    assert!(run("waotc", &[&"--emit-llvm", &guard_ll, &wasm, &so])
        .status
        .success());
    let o = run(
        "waotc",
        &[
            &"--bounds-checks",
            &"explicit",
            &"--emit-llvm",
            &explicit_ll,
            &wasm,
            &so,
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let guard = std::fs::read_to_string(&guard_ll).unwrap();
    let explicit = std::fs::read_to_string(&explicit_ll).unwrap();
    assert!(
        guard.contains("define internal i32 @waot_func_2"),
        "IR of every function"
    );
    assert!(!guard.contains("%memlen"), "guard pages: no length loads");
    assert!(
        explicit.contains("%memlen"),
        "explicit: the access is compared with the length"
    );
    let o = run("wrun", &[&so, &"--invoke", &"boom", &"65533"]);
    assert_eq!(o.status.code(), Some(134));
    assert!(stderr(&o).contains("out of bounds memory access"));
}

#[test]
fn wast_subcommand_reports_per_file_and_total() {
    let d = tempfile::tempdir().unwrap();
    let good = d.path().join("good.wast");
    std::fs::write(
        &good,
        r#"(module (func (export "f") (result i32) (i32.const 7)))
(assert_return (invoke "f") (i32.const 7))
(assert_trap (module (func $s unreachable) (start $s)) "unreachable")
(assert_invalid (module (func (result i32))) "type mismatch")"#,
    )
    .unwrap();
    let bad = d.path().join("bad.wast");
    std::fs::write(
        &bad,
        r#"(module (func (export "f") (result i32) (i32.const 7)))
(assert_return (invoke "f") (i32.const 8))"#,
    )
    .unwrap();
    let o = run("wrun", &[&"wast", &good]);
    assert!(o.status.success(), "{}", stdout(&o));
    assert!(
        stdout(&o).ends_with("4 passed, 0 failed\n"),
        "{}",
        stdout(&o)
    );
    let o = run("wrun", &[&"wast", &good, &bad]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains("bad.wast: 1 passed, 1 failed\n  line 2: "),
        "{out}"
    );
    assert!(out.ends_with("5 passed, 1 failed\n"), "{out}");
}

fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("needle present")
}

#[test]
fn a_missing_linker_is_a_clear_error() {
    let d = tempfile::tempdir().unwrap();
    let wasm = write_wasm(d.path(), "m", ADD);
    let o = Command::new(binary("waotc"))
        .env("WAOT_LD", "/nonexistent/ld.lld")
        .arg(&wasm)
        .arg(d.path().join("m.so"))
        .output()
        .unwrap();
    assert_one_line_error(&o, "WAOT_LD=/nonexistent/ld.lld does not exist");
}

#[test]
fn reactor_style_invocation_as_in_wasmedge() {
    let d = tempfile::tempdir().unwrap();
    let so = compile(
        d.path(),
        r#"(module
      (global $base (mut i32) (i32.const 0))
      (func (export "_initialize") (global.set $base (i32.const 100)))
      (func (export "add") (param i32) (result i32) (i32.add (global.get $base) (local.get 0))))"#,
        &[],
    );
    let o = run("wrun", &[&"--reactor", &so, &"add", &"-1"]);
    assert_eq!(stdout(&o), "99\n", "{}", stderr(&o));
}

#[cfg(target_arch = "x86_64")]
#[test]
fn artifacts_for_a_cpu_feature_this_machine_lacks_are_refused_before_loading() {
    let lacking = [
        ("avx512f", std::arch::is_x86_feature_detected!("avx512f")),
        (
            "avx512vbmi2",
            std::arch::is_x86_feature_detected!("avx512vbmi2"),
        ),
        ("gfni", std::arch::is_x86_feature_detected!("gfni")),
        ("tbm", std::arch::is_x86_feature_detected!("tbm")),
    ]
    .into_iter()
    .find(|(_, present)| !present)
    .map(|(name, _)| name);
    let Some(feature) = lacking else {
        eprintln!("skipped: this CPU has every candidate feature");
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let plus = format!("+{feature}");
    let so = compile(d.path(), ADD, &["--cpu", "generic", "--features", &plus]);
    let o = run("wrun", &[&so, &"--invoke", &"add", &"1", &"2"]);
    assert_one_line_error(&o, &format!("feature `{feature}`, which this CPU lacks"));
}

/// A CPU name implies features its name does not spell (x86-64-v4: AVX-512; bdver2: TBM);
/// the header records them all, so code for such a CPU is refused on a machine without them
/// instead of faulting on its first instruction of them.
#[test]
fn artifacts_for_a_cpu_whose_implied_features_this_machine_lacks_are_refused() {
    let candidates = [
        ("x86-64-v4", std::arch::is_x86_feature_detected!("avx512f")),
        ("bdver2", std::arch::is_x86_feature_detected!("tbm")),
    ];
    let Some((cpu, _)) = candidates.into_iter().find(|(_, present)| !present) else {
        eprintln!("skipped: this CPU has AVX-512 and TBM");
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let so = compile(d.path(), ADD, &["--cpu", cpu]);
    let o = run("wrun", &[&so, &"--invoke", &"add", &"1", &"2"]);
    assert_one_line_error(&o, &format!("compiled for CPU `{cpu}` with feature"));
}

/// `waotc --time` reports each phase and the slowest functions, named from the name section
/// and with their code sizes; every defined function of a small module is listed.
#[test]
fn time_reports_phases_and_the_slowest_functions() {
    let d = tempfile::tempdir().unwrap();
    let wasm = write_wasm(d.path(), "m", ADD);
    let o = run("waotc", &[&"--time", &"-q", &wasm, &d.path().join("m.so")]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("4 functions"), "{err}");
    for phase in [
        "validate",
        "translate",
        "optimize",
        "codegen",
        "link",
        "wall",
    ] {
        let line = err
            .lines()
            .find(|l| l.trim_start().starts_with(phase))
            .unwrap_or_else(|| panic!("no {phase} in {err}"));
        let seconds: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        assert!(seconds >= 0.0, "{line}");
    }
    let functions: Vec<&str> = err
        .lines()
        .skip_while(|l| !l.contains("slowest functions"))
        .skip(1)
        .collect();
    assert_eq!(functions.len(), 4, "{err}");
    assert!(functions.iter().any(|l| l.ends_with(" 0 add")), "{err}");
    assert!(functions.iter().any(|l| l.ends_with(" 3 deep")), "{err}");
}

/// Names a module chooses (its name section, its imports) are printed with control
/// characters escaped: a module cannot send escape sequences to the terminal or add lines of
/// its own to a backtrace, a one-line error or `waotc --time`.
#[test]
fn names_from_a_module_cannot_reach_the_terminal_raw() {
    let d = tempfile::tempdir().unwrap();
    let trap = write_wasm(
        d.path(),
        "trap",
        r#"(module (func (@name "x\1b[31mred\0awrun: forged") (export "f") unreachable))"#,
    );
    let so = d.path().join("trap.so");
    let o = run("waotc", &[&"--time", &"-q", &trap, &so]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut outputs = vec![stderr(&o)];
    for args in [
        vec![&"--invoke" as &dyn AsRef<std::ffi::OsStr>, &"f", &so],
        vec![&"--interp", &"--invoke", &"f", &trap],
    ] {
        let o = run("wrun", &args);
        assert!(stderr(&o).contains("trap: unreachable"), "{}", stderr(&o));
        outputs.push(stderr(&o));
    }
    let import = write_wasm(
        d.path(),
        "import",
        r#"(module (import "e\1b]0;title\07" "n\0a" (func)))"#,
    );
    let o = run("wrun", &[&"-q", &import]);
    assert_one_line_error(&o, "unknown import");
    outputs.push(stderr(&o));
    for out in outputs {
        assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out:?}");
        assert!(
            !out.lines().any(|l| l.starts_with("wrun: forged")),
            "{out:?}"
        );
        assert!(out.contains("\\u{1b}"), "{out:?}");
    }
}
