//! Profiles (issue 13): code compiled with `--profile-generate` counts each function's entries
//! and loop iterations exactly, at every level, in counters all instances of an artifact
//! share; `wrun --profile-out` writes and merges them; `waotc --profile` compiles what the
//! runs hardly used at the light tier, treats functions the profile does not know as hot, and
//! computes the same results; bad profiles and misuse are one-line errors.

use runtime_support::profile::{body_hash, Profile};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use waot::{Linker, Store, Val};
use waot_compiler::{compile_to_file, CompileOptions, OptLevel};
use waot_tests::binary;

/// `run(n)` calls `leaf` n times in a loop whose header runs n + 1 times; `never` is never
/// called. `LEAF_ADDS` varies `leaf`'s body.
fn module_wat(leaf_adds: i32) -> String {
    format!(
        r#"(module
          (func $leaf (param i32) (result i32) (i32.add (local.get 0) (i32.const {leaf_adds})))
          (func $never (export "never") (result i32) (i32.const 7))
          (func (export "run") (param $n i32) (result i32) (local $i i32) (local $s i32)
            (block $done
              (loop $l
                (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
                (local.set $s (call $leaf (local.get $s)))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br $l)))
            (local.get $s)))"#
    )
}

fn hashes(wasm: &[u8]) -> Vec<u64> {
    let info = runtime_support::ModuleInfo::parse(wasm).unwrap();
    info.bodies
        .iter()
        .map(|b| body_hash(&wasm[b.clone()]))
        .collect()
}

fn call_run(store: &mut Store, instance: waot::Instance, n: i32) -> i32 {
    let f = store.get_func(instance, "run").unwrap();
    match store.call(f, &[Val::I32(n)]).unwrap()[..] {
        [Val::I32(v)] => v,
        ref other => panic!("run returned {other:?}"),
    }
}

#[test]
fn counts_are_exact_at_every_level_and_shared_by_instances() {
    let wasm = wat::parse_str(module_wat(1)).unwrap();
    let expected_hashes = hashes(&wasm);
    for level in [OptLevel::O0, OptLevel::O2] {
        let d = tempfile::tempdir().unwrap();
        let so = d.path().join("m.so");
        let mut options = CompileOptions {
            opt_level: level,
            cpu: "x86-64-v2".into(),
            cache_dir: None,
            ..Default::default()
        };
        options.metering.profile = true;
        compile_to_file(&wasm, "m", &so, &options).unwrap();
        let module = waot::Module::from_file(&so).unwrap();
        let counts =
            |p: &Profile| -> Vec<u64> { expected_hashes.iter().map(|h| p.counts[h]).collect() };
        let p = module.profile().expect("a profiled artifact has counts");
        assert_eq!(counts(&p), [0, 0, 0], "{level:?}: nothing ran yet");
        let mut store = Store::new();
        let instance = Linker::new().instantiate(&mut store, &module).unwrap();
        assert_eq!(call_run(&mut store, instance, 1000), 1000);
        let p = module.profile().unwrap();
        // leaf: 1,000 entries; never: none; run: one entry and 1,001 loop headers.
        assert_eq!(counts(&p), [1000, 0, 1002], "{level:?}");
        assert_eq!(p.indices[&expected_hashes[2]], 2, "{level:?}");
        // A second instance in another store counts into the same counters.
        let mut other = Store::new();
        let second = Linker::new().instantiate(&mut other, &module).unwrap();
        assert_eq!(call_run(&mut other, second, 10), 10);
        assert_eq!(
            counts(&module.profile().unwrap()),
            [1010, 0, 1014],
            "{level:?}"
        );
        // An artifact compiled without the flag has none.
        let plain = d.path().join("plain.so");
        options.metering.profile = false;
        compile_to_file(&wasm, "plain", &plain, &options).unwrap();
        assert!(waot::Module::from_file(&plain).unwrap().profile().is_none());
    }
}

fn run(bin: &str, args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let path = binary(bin);
    assert!(path.is_file(), "{} is not built", path.display());
    Command::new(path)
        .args(args.iter().map(|a| a.as_ref()))
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn waotc(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let o = run("waotc", args);
    assert!(o.status.success(), "waotc: {}", text(&o.stderr));
    o
}

/// `waotc -O0 --profile-generate`: a build for profiling runs.
fn profiling_build(wasm: &Path, so: &Path) {
    waotc(&[
        &"-q",
        &"-O0",
        &"--no-cache",
        &"--profile-generate",
        &wasm,
        &so,
    ]);
}

fn write_wasm(dir: &Path, name: &str, wat: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, wat::parse_str(wat).unwrap()).unwrap();
    path
}

/// Exit status 1 and one line on stderr containing `needle`.
fn assert_one_line_error(o: &Output, needle: &str) {
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "stderr: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line expected: {err}"
    );
    assert!(err.contains(needle), "`{needle}` not in: {err}");
}

/// The `profile` line of `waotc -v`.
fn profile_line(o: &Output) -> String {
    text(&o.stderr)
        .lines()
        .find(|l| l.trim_start().starts_with("profile"))
        .unwrap_or_else(|| panic!("no profile line: {}", text(&o.stderr)))
        .trim()
        .to_string()
}

/// Compiles `wasm` to `so` with `waotc -v --profile P` for each of `profiles`, and `extra`
/// flags; returns the `profile` line.
fn compile_guided(wasm: &Path, so: &Path, profiles: &[&Path], extra: &[&str]) -> String {
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"-q", &"-v", &"--no-cache"];
    for p in profiles {
        args.push(&"--profile");
        args.push(p);
    }
    args.extend(extra.iter().map(|e| e as &dyn AsRef<std::ffi::OsStr>));
    args.push(&wasm);
    args.push(&so);
    profile_line(&waotc(&args))
}

#[test]
fn profiles_are_written_merged_and_compiled_from() {
    let d = tempfile::tempdir().unwrap();
    let wasm = write_wasm(d.path(), "m.wasm", &module_wat(1));
    let profiling = d.path().join("profiling.so");
    profiling_build(&wasm, &profiling);
    let out = d.path().join("m.profile");
    for _ in 0..2 {
        let o = run(
            "wrun",
            &[
                &"--profile-out",
                &out,
                &profiling,
                &"--invoke",
                &"run",
                &"100",
            ],
        );
        assert!(o.status.success(), "{}", text(&o.stderr));
        assert_eq!(text(&o.stdout).trim(), "100");
    }
    let profile = Profile::parse(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let h = hashes(&std::fs::read(&wasm).unwrap());
    assert_eq!(
        h.iter().map(|h| profile.counts[h]).collect::<Vec<_>>(),
        [200, 0, 204],
        "two runs merged"
    );

    // `never` never ran: cold. The compiled code computes what the plain build does.
    let sizes: Vec<usize> = runtime_support::ModuleInfo::parse(&std::fs::read(&wasm).unwrap())
        .unwrap()
        .bodies
        .iter()
        .map(|b| b.len())
        .collect();
    let guided = d.path().join("guided.so");
    assert_eq!(
        compile_guided(&wasm, &guided, &[&out], &[]),
        format!(
            "profile    2 hot ({} bytes), 1 cold ({} bytes, light tier above -O0), 0 not in it (0 bytes, as hot)",
            sizes[0] + sizes[2],
            sizes[1]
        )
    );
    for (export, args, result) in [("run", &["12345"][..], "12345"), ("never", &[], "7")] {
        let mut a: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&guided, &"--invoke", &export];
        a.extend(args.iter().map(|s| s as &dyn AsRef<std::ffi::OsStr>));
        let o = run("wrun", &a);
        assert_eq!(
            text(&o.stdout).trim(),
            result,
            "{export}: {}",
            text(&o.stderr)
        );
    }

    // With the whole share of events allowed cold, everything the profile knows is cold,
    // and the code still computes the same.
    let all_cold = d.path().join("all-cold.so");
    let line = compile_guided(&wasm, &all_cold, &[&out], &["--profile-cold", "1000"]);
    assert!(
        line.starts_with("profile    0 hot (0 bytes), 3 cold"),
        "{line}"
    );
    let o = run("wrun", &[&all_cold, &"--invoke", &"run", &"77"]);
    assert_eq!(text(&o.stdout).trim(), "77", "{}", text(&o.stderr));

    // Two profiles add up: one in which only `never` ran makes it hot too.
    let other = d.path().join("other.profile");
    let h = hashes(&std::fs::read(&wasm).unwrap());
    let only_never = Profile::from_counts([(0, h[0], 0), (1, h[1], 5), (2, h[2], 0)]);
    std::fs::write(&other, only_never.render()).unwrap();
    let line = compile_guided(&wasm, &d.path().join("both.so"), &[&out, &other], &[]);
    assert!(line.starts_with("profile    3 hot"), "{line}");

    // A profile of another module matches nothing: a warning, and everything hot.
    let unrelated = d.path().join("unrelated.profile");
    std::fs::write(&unrelated, "waot-profile 1\n0123456789abcdef 5 0\n").unwrap();
    let o = waotc(&[
        &"-q",
        &"--profile",
        &unrelated,
        &wasm,
        &d.path().join("u.so"),
    ]);
    let err = text(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("warning") && err.contains("none of its 3 functions is in the profile"),
        "{err}"
    );

    // `leaf` changed since the profile: not in it, so compiled as hot.
    let changed = write_wasm(d.path(), "changed.wasm", &module_wat(2));
    assert_eq!(
        compile_guided(&changed, &d.path().join("c.so"), &[&out], &[]),
        format!(
            "profile    1 hot ({} bytes), 1 cold ({} bytes, light tier above -O0), 1 not in it ({} bytes, as hot)",
            sizes[2], sizes[1], sizes[0]
        )
    );
}

#[test]
fn misuse_and_bad_profiles_are_one_line_errors() {
    let d = tempfile::tempdir().unwrap();
    let wasm = write_wasm(d.path(), "m.wasm", &module_wat(1));
    let plain = d.path().join("plain.so");
    waotc(&[&"-q", &"-O0", &wasm, &plain]);
    let out = d.path().join("p.profile");
    let o = run(
        "wrun",
        &[&"--profile-out", &out, &plain, &"--invoke", &"never"],
    );
    assert_one_line_error(&o, "--profile-generate");
    assert!(!out.exists(), "no profile written");

    let so = d.path().join("x.so");
    let bad = d.path().join("bad.profile");
    std::fs::write(&bad, "waot-profile 1\nnot-a-hash 3\n").unwrap();
    let o = run("waotc", &[&"--profile", &bad, &wasm, &so]);
    assert_one_line_error(&o, "bad.profile: line 2: expected a 16-digit hex hash");
    let o = run(
        "waotc",
        &[&"--profile", &d.path().join("missing"), &wasm, &so],
    );
    assert_one_line_error(&o, "missing");
    let o = run(
        "waotc",
        &[&"--profile", &bad, &"--profile-generate", &wasm, &so],
    );
    assert_one_line_error(&o, "cannot be used with");
    let good = d.path().join("good.profile");
    std::fs::write(&good, "waot-profile 1\n").unwrap();
    let o = run(
        "waotc",
        &[&"--profile", &good, &"--profile-cold", &"1001", &wasm, &so],
    );
    assert_one_line_error(&o, "--profile-cold");
    let o = run("waotc", &[&"--profile-cold", &"1", &wasm, &so]);
    assert_one_line_error(&o, "--profile");

    // A profile that cannot be written fails a run that succeeded, with one line.
    let profiling = d.path().join("profiling.so");
    waotc(&[&"-q", &"-O0", &"--profile-generate", &wasm, &profiling]);
    let o = run(
        "wrun",
        &[
            &"--profile-out",
            &d.path(),
            &profiling,
            &"--invoke",
            &"never",
        ],
    );
    assert_one_line_error(&o, d.path().to_str().unwrap());

    // A profile file that is not one is not overwritten by a run.
    std::fs::write(&bad, "something else\n").unwrap();
    let o = run(
        "wrun",
        &[&"--profile-out", &bad, &profiling, &"--invoke", &"never"],
    );
    assert_one_line_error(&o, "bad.profile: line 1: not a waot profile");
    assert_eq!(std::fs::read_to_string(&bad).unwrap(), "something else\n");
}

#[test]
fn a_module_without_functions_has_an_empty_profile() {
    let wasm = wat::parse_str(r#"(module (memory (export "m") 1))"#).unwrap();
    let d = tempfile::tempdir().unwrap();
    let so = d.path().join("m.so");
    let mut options = CompileOptions {
        cpu: "x86-64-v2".into(),
        ..Default::default()
    };
    options.metering.profile = true;
    compile_to_file(&wasm, "m", &so, &options).unwrap();
    let module = waot::Module::from_file(&so).unwrap();
    assert!(module.has_profile());
    assert_eq!(module.profile().unwrap(), Profile::default());
}

/// Where the dynamic symbol `name`'s entry lies in an ELF64 file.
fn dynsym_entry(elf: &[u8], name: &str) -> usize {
    use object::{Object, ObjectSection, ObjectSymbol};
    let file = object::File::parse(elf).unwrap();
    let table = file.section_by_name(".dynsym").unwrap();
    let index = file
        .dynamic_symbols()
        .find(|s| s.name() == Ok(name))
        .unwrap()
        .index()
        .0;
    table.file_range().unwrap().0 as usize + 24 * index
}

/// A `.so`'s dynamic symbols and header are not authenticated: a damaged or hostile one that
/// claims counters it lacks, or whose counters are the wrong size, misaligned or outside the
/// data, is refused at load with a message, before any read.
#[test]
fn altered_profile_symbols_are_refused_at_load() {
    use runtime_support::artifact::ArtifactHeader;
    use runtime_support::profile::SYM_PROFILE_COUNTS;
    let wasm = wat::parse_str(module_wat(1)).unwrap();
    let d = tempfile::tempdir().unwrap();
    let compile = |name: &str, profile: bool| {
        let so = d.path().join(name);
        let mut options = CompileOptions {
            cpu: "x86-64-v2".into(),
            ..Default::default()
        };
        options.metering.profile = profile;
        compile_to_file(&wasm, name, &so, &options).unwrap();
        std::fs::read(&so).unwrap()
    };
    let refused = |name: &str, bytes: &[u8], needle: &str| {
        let path = d.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let e = waot::Module::from_file(&path).err().expect("refused");
        assert!(e.to_string().contains(needle), "{name}: {e}");
    };

    let profiled = compile("profiled.so", true);
    let entry = dynsym_entry(&profiled, SYM_PROFILE_COUNTS);
    let field = |bytes: &mut Vec<u8>, at: usize, f: &dyn Fn(u64) -> u64| {
        let v = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
        bytes[at..at + 8].copy_from_slice(&f(v).to_le_bytes());
    };
    // st_value at +8, st_size at +16.
    for (name, at, change) in [
        ("longer.so", 16, &(|v: u64| v + 8) as &dyn Fn(u64) -> u64),
        ("shorter.so", 16, &|v: u64| v - 8),
        ("misaligned.so", 8, &|v: u64| v + 4),
        ("elsewhere.so", 8, &|_| 0x40),
    ] {
        let mut bytes = profiled.clone();
        field(&mut bytes, entry + at, change);
        refused(name, &bytes, "the profile symbol `waot_profile_counts`");
    }

    // The header's profile bit on an artifact without counters.
    let mut plain = compile("plain.so", false);
    let file = {
        use object::{Object, ObjectSection};
        let f = object::File::parse(&*plain).unwrap();
        let meta = f
            .section_by_name(runtime_support::artifact::META_SECTION)
            .unwrap();
        meta.file_range().unwrap()
    };
    let (start, len) = (file.0 as usize, file.1 as usize);
    let mut header = ArtifactHeader::decode(&plain[start..start + len]).unwrap();
    header.metering.profile = true;
    let encoded = header.encode();
    assert_eq!(
        encoded.len(),
        len,
        "the flag does not change the header's length"
    );
    plain[start..start + len].copy_from_slice(&encoded);
    refused("claims.so", &plain, "is missing");
}

/// A C program for `the_interpreter_counts_what_native_code_counts`: recursion, calls
/// through pointers, nested loops and wasi-libc's own functions (qsort, printf).
const COUNTED_C: &str = r#"
#include <stdio.h>
#include <stdlib.h>
static int by_value(const void* a, const void* b) { return *(const int*)a - *(const int*)b; }
static int fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
static int twice(int x) { return 2 * x; }
static int square(int x) { return x * x; }
int main(void) {
  int (*ops[])(int) = {twice, square};
  int v[200];
  unsigned s = 7;
  long sum = 0;
  for (int i = 0; i < 200; i++) { s = s * 1103515245u + 12345u; v[i] = (int)(s >> 16) % 1000; }
  qsort(v, 200, sizeof v[0], by_value);
  for (int i = 0; i < 200; i++)
    for (int j = 0; j < i % 7; j++) sum += ops[(i + j) & 1](v[i]);
  printf("%d %ld %d\n", v[0], sum, fib(15));
  return 0;
}
"#;

/// `wrun --profile-out` in the interpreter (a plain wasm, or `--interp`) counts what code
/// compiled with `--profile-generate` counts: entries and loop iterations, exactly, so the two
/// runs write the same profile. Also for a start function and a run that ends in a trap.
#[test]
fn the_interpreter_counts_what_native_code_counts() {
    let d = tempfile::tempdir().unwrap();
    let c = d.path().join("counted.c");
    std::fs::write(&c, COUNTED_C).unwrap();
    let program = d.path().join("counted.wasm");
    let o = Command::new("clang-19")
        .args(["--target=wasm32-wasi", "-O2"])
        .arg(&c)
        .arg("-o")
        .arg(&program)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let trapping = write_wasm(
        d.path(),
        "trapping.wasm",
        r#"(module
          (global $g (mut i32) (i32.const 0))
          (func $leaf (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))
          (func $init (global.set $g (call $leaf (i32.const 5))))
          (start $init)
          (func (export "boom") (param $n i32) (local $i i32)
            (loop $l
              (global.set $g (call $leaf (global.get $g)))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
            unreachable))"#,
    );
    for (wasm, invoke) in [
        (&program, &[][..]),
        (&trapping, &["--invoke", "boom", "37"][..]),
    ] {
        let profiling = d.path().join("profiling.so");
        profiling_build(wasm, &profiling);
        let (native, interpreted) = (d.path().join("native"), d.path().join("interpreted"));
        let _ = std::fs::remove_file(&native);
        let _ = std::fs::remove_file(&interpreted);
        let mut outputs = Vec::new();
        for (out, artifact, modes) in [
            (&native, &profiling, &[][..]),
            (&interpreted, wasm, &["--interp"][..]),
        ] {
            let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"--profile-out", out];
            args.extend(modes.iter().map(|a| a as &dyn AsRef<std::ffi::OsStr>));
            args.extend([&"--quiet" as &dyn AsRef<std::ffi::OsStr>, artifact]);
            args.extend(invoke.iter().map(|a| a as &dyn AsRef<std::ffi::OsStr>));
            let o = run("wrun", &args);
            outputs.push((o.status.code(), text(&o.stdout)));
        }
        assert_eq!(outputs[0], outputs[1], "{}", wasm.display());
        let (native, interpreted) = (
            std::fs::read_to_string(&native).unwrap(),
            std::fs::read_to_string(&interpreted).unwrap(),
        );
        assert_eq!(native, interpreted, "{}", wasm.display());
        let profile = Profile::parse(&native).unwrap();
        assert!(profile.counts.values().filter(|&&c| c > 0).count() >= 3);
    }
}

/// `wrun --profile-out` of `wasm` compiled with `--profile-generate`, stdin a pipe nobody
/// writes; the exit status and each function's count.
fn profiled_ending(d: &Path, name: &str, wat: &str, flags: &[&str]) -> (Option<i32>, Vec<u64>) {
    let wasm = write_wasm(d, &format!("{name}.wasm"), wat);
    let so = d.join(format!("{name}.so"));
    profiling_build(&wasm, &so);
    let out = d.join(format!("{name}.profile"));
    let mut child = Command::new(binary("wrun"))
        .args(flags)
        .arg("--profile-out")
        .arg(&out)
        .arg(&so)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let _idle_stdin = child.stdin.take();
    let o = child.wait_with_output().unwrap();
    let text = std::fs::read_to_string(&out)
        .unwrap_or_else(|e| panic!("{name}: no profile ({e}): {}", self::text(&o.stderr)));
    let profile = Profile::parse(&text).unwrap();
    let counts = hashes(&std::fs::read(&wasm).unwrap())
        .iter()
        .map(|h| profile.counts[h])
        .collect();
    (o.status.code(), counts)
}

/// The endings that stop a run from another thread write its profile too: the time limit
/// ending a guest blocked in a read, a spawned WASI thread's `proc_exit`; and so does a start
/// function's trap, before there is an instance.
#[test]
fn every_ending_writes_the_profile() {
    let d = tempfile::tempdir().unwrap();
    // spin(5): one entry and five loop headers.
    let spin = r#"(func $spin (param $n i32)
        (loop $l (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))"#;
    let blocked = format!(
        r#"(module
          (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
          (memory (export "memory") 1)
          {spin}
          (func (export "_start")
            (call $spin (i32.const 5))
            (i32.store (i32.const 0) (i32.const 16))
            (i32.store (i32.const 4) (i32.const 8))
            (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 32)))))"#
    );
    let (status, counts) = profiled_ending(d.path(), "blocked", &blocked, &["--time-limit", "1s"]);
    assert_eq!((status, counts), (Some(124), vec![6, 1]));
    // In the interpreter too, which the time limit now also ends there.
    let interp = ["--interp", "--quiet", "--time-limit", "1s"];
    let (status, counts) = profiled_ending(d.path(), "blocked-interp", &blocked, &interp);
    assert_eq!((status, counts), (Some(124), vec![6, 1]));

    let thread_exits = format!(
        r#"(module
          (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
          (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
          (import "env" "memory" (memory 1 1 shared))
          {spin}
          (func (export "wasi_thread_start") (param i32 i32)
            (call $spin (i32.const 5))
            (call $exit (i32.const 3)))
          (func (export "_start")
            (drop (call $spawn (i32.const 0)))
            (loop $forever (br $forever))))"#
    );
    // The limit only keeps a failure from hanging the test: the thread ends the run first.
    let (status, counts) =
        profiled_ending(d.path(), "thread", &thread_exits, &["--time-limit", "60s"]);
    assert_eq!(status, Some(3));
    assert_eq!(counts[..2], [6, 1], "{counts:?}");
    assert!(counts[2] >= 1, "{counts:?}");

    let start_traps = format!(
        r#"(module
          {spin}
          (func $init (call $spin (i32.const 5)) unreachable)
          (start $init)
          (func (export "_start")))"#
    );
    let (status, counts) = profiled_ending(d.path(), "start", &start_traps, &[]);
    assert_ne!(status, Some(0));
    assert_eq!(counts, [6, 1, 0]);
    let interp = ["--interp", "--quiet"];
    let (status, counts) = profiled_ending(d.path(), "start-interp", &start_traps, &interp);
    assert_ne!(status, Some(0));
    assert_eq!(counts, [6, 1, 0]);

    // A run that never started (an import nothing provides) writes no profile of zeros, which
    // would make its functions cold.
    let unlinked = write_wasm(
        d.path(),
        "unlinked.wasm",
        r#"(module (import "env" "missing" (func)) (func (export "_start")))"#,
    );
    let so = d.path().join("unlinked.so");
    profiling_build(&unlinked, &so);
    let out = d.path().join("unlinked.profile");
    let o = run("wrun", &[&"--profile-out", &out, &so]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(!out.exists());
}
