//! WASI through the AOT path. Each C program in tests/wasi is built at test time for
//! wasm32-wasi (run by wrun) and for the host; where the behaviour is not sandbox-specific the
//! two runs must print the same and exit the same, so the WASI layer is checked against the
//! operating system rather than against hand-written expectations.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use waot_compiler::{compile_to_file, CompileOptions};
use waot_tests::binary;

struct Program {
    so: PathBuf,
    /// Absent for programs that exist only in the sandbox (they call WASI directly).
    native: PathBuf,
    _dir: tempfile::TempDir,
}

fn clang() -> &'static str {
    "clang-19"
}

/// Builds tests/wasi/NAME.c for wasm32-wasi (then AOT) and for the host.
fn build(name: &str) -> Program {
    build_for(name, true)
}

/// A program that only exists in the sandbox: no native build.
fn build_wasi_only(name: &str) -> Program {
    build_for(name, false)
}

fn build_for(name: &str, with_native: bool) -> Program {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("wasi")
        .join(format!("{name}.c"));
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join(format!("{name}.wasm"));
    let native = dir.path().join(format!("{name}.native"));
    let builds = [(&wasm, Some("--target=wasm32-wasi")), (&native, None)];
    for (out, target) in &builds[..if with_native { 2 } else { 1 }] {
        let mut cmd = Command::new(clang());
        cmd.args(*target).arg("-O2").arg(&src).arg("-o").arg(out);
        let o = cmd
            .output()
            .unwrap_or_else(|e| panic!("{}: {e} (run scripts/setup.sh)", clang()));
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let so = dir.path().join(format!("{name}.so"));
    compile_to_file(
        &std::fs::read(&wasm).unwrap(),
        name,
        &so,
        &CompileOptions::default(),
    )
    .unwrap();
    Program {
        so,
        native,
        _dir: dir,
    }
}

/// Runs `cmd` with `stdin` fed from another thread, so a child that writes more than a pipe
/// holds before reading all its input cannot deadlock with us.
fn run_with_input(mut cmd: Command, stdin: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = pipe.write_all(&input); // the child may exit without reading it all
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    out
}

fn wrun(cwd: &Path, args: &[&str], stdin: &[u8]) -> Output {
    wrun_resolving(cwd, args, stdin, false)
}

/// `wrun`, resolving paths with the walk that stands in for `openat2` when `walk`
/// (`WAOT_WASI_RESOLVER=walk`), as on kernels or sandboxes without it.
fn wrun_resolving(cwd: &Path, args: &[&str], stdin: &[u8], walk: bool) -> Output {
    let mut cmd = Command::new(binary("wrun"));
    cmd.current_dir(cwd).args(args);
    if walk {
        cmd.env("WAOT_WASI_RESOLVER", "walk");
    }
    run_with_input(cmd, stdin)
}

fn native(cwd: &Path, program: &Path, args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Output {
    let mut cmd = Command::new(program);
    cmd.current_dir(cwd)
        .args(args)
        .env_clear()
        .envs(env.iter().copied());
    run_with_input(cmd, stdin)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn assert_same(native: &Output, wasm: &Output) {
    assert_eq!(
        text(&wasm.stdout),
        text(&native.stdout),
        "stdout differs; stderr: {}",
        text(&wasm.stderr)
    );
    assert_eq!(
        wasm.status.code(),
        native.status.code(),
        "exit status differs: {}",
        text(&wasm.stderr)
    );
}

#[test]
fn args_environment_and_exit_status_match_native() {
    let p = build("args_env");
    let d = tempfile::tempdir().unwrap();
    let so = p.so.to_str().unwrap();
    let args = ["first", "with space", "-3", "--flag"];
    let env = [("GREETING", "hello there"), ("EMPTY", ""), ("LANG", "C")];
    let n = native(d.path(), &p.native, &args, &env, b"");
    let mut wargs = vec![
        "--env",
        "GREETING=hello there",
        "--env",
        "EMPTY=",
        "--env",
        "LANG=C",
        so,
        "--",
    ];
    wargs.extend(args);
    let w = wrun(d.path(), &wargs, b"");
    assert_same(&n, &w);
    assert_eq!(w.status.code(), Some(42));
    // Without arguments: exit 0, environment empty.
    let w = wrun(d.path(), &[so], b"");
    assert_eq!(text(&w.stdout), "argc=1\nGREETING=(unset)\n");
    assert_eq!(w.status.code(), Some(0));
}

#[test]
fn clocks_sleep_and_randomness_match_native() {
    let p = build("clocks");
    let d = tempfile::tempdir().unwrap();
    let n = native(d.path(), &p.native, &[], &[], b"");
    let w = wrun(d.path(), &[p.so.to_str().unwrap()], b"");
    assert_same(&n, &w);
    assert!(!text(&w.stdout).contains("=0"), "{}", text(&w.stdout));
}

#[test]
fn stdin_stdout_stderr_pass_large_binary_data() {
    let p = build("stdio");
    let d = tempfile::tempdir().unwrap();
    let input: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let n = native(d.path(), &p.native, &[], &[], &input);
    let w = wrun(d.path(), &[p.so.to_str().unwrap()], &input);
    assert_eq!(w.stdout.len(), input.len() + 8192 * 256);
    assert!(w.stdout == n.stdout, "binary stdout differs");
    assert_eq!(text(&w.stderr), text(&n.stderr));
    assert_eq!(w.status.code(), Some(0));
}

#[test]
fn a_pipe_closed_early_is_an_error_for_the_guest_not_a_crash() {
    let p = build("stdio");
    let d = tempfile::tempdir().unwrap();
    let mut child = Command::new(binary("wrun"))
        .current_dir(d.path())
        .arg(&p.so)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut head = [0u8; 16];
    child.stdout.take().unwrap().read_exact(&mut head).unwrap();
    // stdout is closed now: the guest's writes fail with EPIPE, which it ignores.
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).ends_with("done\n"));
}

#[test]
fn files_and_directories_match_native() {
    let p = build("files");
    let (dn, dw) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let n = native(dn.path(), &p.native, &[], &[], b"");
    let w = wrun(dw.path(), &["--dir", ".", p.so.to_str().unwrap()], b"");
    assert_same(&n, &w);
    assert!(!text(&w.stdout).contains("FAILED"), "{}", text(&w.stdout));
    assert!(text(&w.stdout).ends_with("ls .: . ..\n"));
}

/// Every path operation on every shape of path (trailing slashes, `.` and `..`, empty, through
/// a file, symlinks) gives the errno Linux gives, natively compiled and run from a fresh
/// directory, in AOT code and in the interpreter.
#[test]
fn path_corners_give_the_errors_linux_gives() {
    let p = build("paths");
    let dn = tempfile::tempdir().unwrap();
    let n = native(dn.path(), &p.native, &[], &[], b"");
    assert_eq!(n.status.code(), Some(0), "{}", text(&n.stderr));
    assert!(text(&n.stdout).lines().count() > 900);
    // AOT, the interpreter, and AOT with the walk standing in for `openat2`.
    for (mode, walk) in [
        (&[][..], false),
        (&["--interp", "-q"][..], false),
        (&[][..], true),
    ] {
        let dw = tempfile::tempdir().unwrap();
        let mut args = mode.to_vec();
        args.extend(["--dir", ".", p.so.to_str().unwrap()]);
        let w = wrun_resolving(dw.path(), &args, b"", walk);
        let (expected, got) = (text(&n.stdout), text(&w.stdout));
        let differences: Vec<String> = expected
            .lines()
            .zip(got.lines())
            .filter(|(a, b)| a != b)
            .map(|(a, b)| format!("native {a}, waot {b}"))
            .collect();
        assert!(
            differences.is_empty(),
            "{mode:?} walk {walk}:\n{}",
            differences.join("\n")
        );
        assert_same(&n, &w);
    }
}

#[test]
fn the_sandbox_holds() {
    let p = build_wasi_only("sandbox");
    for walk in [false, true] {
        sandbox_holds(&p, walk);
    }
}

fn sandbox_holds(p: &Program, walk: bool) {
    let top = tempfile::tempdir().unwrap();
    let root = top.path().join("root");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::write(root.join("inside.txt"), "inside\n").unwrap();
    std::fs::write(top.path().join("outside.txt"), "outside\n").unwrap();
    let w = wrun_resolving(&root, &["--dir", ".", p.so.to_str().unwrap()], b"", walk);
    let out = text(&w.stdout);
    assert_eq!(w.status.code(), Some(0), "{out}{}", text(&w.stderr));
    let expect = [
        (
            "open(\"../outside.txt\", O_RDONLY)",
            "-1 (Capabilities insufficient)",
        ),
        (
            "open(\"sub/../../outside.txt\", O_RDONLY)",
            "-1 (Capabilities insufficient)",
        ),
        (
            "open(\"/outside.txt\", O_RDONLY)",
            "-1 (No such file or directory)",
        ),
        ("symlink(\"../outside.txt\", \"escape\")", "0 (ok)"),
        (
            "open(\"escape\", O_RDONLY)",
            "-1 (Capabilities insufficient)",
        ),
        (
            "symlink(\"/etc/passwd\", \"absolute\")",
            "-1 (Operation not permitted)",
        ),
        (
            "mkdir(\"../made-outside\", 0755)",
            "-1 (Capabilities insufficient)",
        ),
        (
            "rename(\"inside.txt\", \"../moved.txt\")",
            "-1 (Capabilities insufficient)",
        ),
        (
            "link(\"inside.txt\", \"../linked.txt\")",
            "-1 (Capabilities insufficient)",
        ),
        (
            "unlink(\"../outside.txt\")",
            "-1 (Capabilities insufficient)",
        ),
        ("stat(\"escape\", &st)", "-1 (Capabilities insufficient)"),
        ("lstat(\"escape\", &st)", "0 (ok)"),
        ("read(fd, buf, sizeof buf - 1)", "7 (ok)"),
        (
            "__wasi_path_open(preopen(), 0, \"..\", 0, 0, 0, 0, &out)",
            "errno 76",
        ),
        (
            "__wasi_path_open(preopen(), 0, \"sub/..\", 0, 0, 0, 0, &out)",
            "errno 0",
        ),
        ("__wasi_fd_write(1, &bad, 1, &n)", "errno 21"),
        (
            "__wasi_fd_write(1, (const __wasi_ciovec_t *)0xfffffffc, 1, &n)",
            "errno 21",
        ),
        ("__wasi_fd_write(77, &bad, 0, &n)", "errno 8"),
        ("__wasi_fd_close(77)", "errno 8"),
        (
            "__wasi_fd_prestat_dir_name(1, (uint8_t *)buf, sizeof buf)",
            "errno 8",
        ),
        ("raw_proc_raise(15)", "errno 52"),
        ("__wasi_fd_renumber(1, 55)", "errno 8"),
        (
            "__wasi_fd_fdstat_set_rights(fd, __WASI_RIGHTS_FD_READ, 0)",
            "errno 0",
        ),
        (
            "__wasi_fd_write(fd, &(__wasi_ciovec_t){(const uint8_t *)\"x\", 1}, 1, &n)",
            "errno 76",
        ),
        (
            "__wasi_fd_fdstat_set_rights(fd, __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE, 0)",
            "errno 76",
        ),
        ("__wasi_fd_tell(fd, &pos)", "errno 0"),
        (
            "__wasi_fd_tell(fd, (__wasi_filesize_t *)0xfffffffc)",
            "errno 21",
        ),
        ("__wasi_fd_renumber(fd, 20)", "errno 8"),
        ("__wasi_fd_renumber(fd, other)", "errno 0"),
        ("read(other, buf, 6)", "6 (ok)"),
        ("read(fd, buf, 6)", "-1 (Bad file descriptor)"),
        ("__wasi_fd_close(preopen())", "errno 0"),
        (
            "__wasi_path_open(preopen(), 0, \"inside.txt\", 0, 0, 0, 0, &out)",
            "errno 8",
        ),
    ];
    for (call, result) in expect {
        let line = out
            .lines()
            .find(|l| l.starts_with(call))
            .unwrap_or_else(|| panic!("no line for {call}:\n{out}"));
        assert!(
            line.ends_with(&format!("-> {result}")),
            "{line}\nexpected -> {result} (walk {walk})"
        );
    }
    assert!(out.contains("content: inside\n"));
    assert!(out.contains("preopen name length 1\n"));
    assert!(out.contains("tell: 3\n"));
    // Nothing outside changed.
    let mut outside: Vec<_> = std::fs::read_dir(top.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    outside.sort();
    assert_eq!(outside, ["outside.txt", "root"]);
    assert_eq!(
        std::fs::read_to_string(top.path().join("outside.txt")).unwrap(),
        "outside\n"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("inside.txt")).unwrap(),
        "inside\n"
    );
}

#[test]
fn a_directory_swapped_for_a_symlink_mid_walk_does_not_escape() {
    let p = build("race");
    for walk in [false, true] {
        swapped_directory(&p, walk);
    }
}

fn swapped_directory(p: &Program, walk: bool) {
    let top = tempfile::tempdir().unwrap();
    let root = top.path().join("root");
    std::fs::create_dir_all(root.join("a/b")).unwrap();
    std::fs::write(root.join("a/b/secret.txt"), "INSIDE").unwrap();
    std::fs::create_dir_all(top.path().join("evil")).unwrap();
    std::fs::write(top.path().join("evil/secret.txt"), "OUTSIDE").unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flips = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let swapper = {
        let (root, top, stop, flips) = (
            root.clone(),
            top.path().to_path_buf(),
            stop.clone(),
            flips.clone(),
        );
        std::thread::spawn(move || {
            let (b, real, link) = (root.join("a/b"), root.join("a/real"), root.join("a/link"));
            std::fs::rename(&b, &real).unwrap();
            std::os::unix::fs::symlink(top.join("evil"), &link).unwrap();
            std::os::unix::fs::symlink("real", &b).unwrap();
            // Flip a/b between a link to the real directory and a link to the outside one.
            let mut outside = false;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let tmp = root.join("a/tmp");
                let target = if outside {
                    "real".to_string()
                } else {
                    top.join("evil").to_string_lossy().into_owned()
                };
                std::os::unix::fs::symlink(&target, &tmp).unwrap();
                std::fs::rename(&tmp, &b).unwrap();
                outside = !outside;
                flips.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            let _ = std::fs::remove_file(&link);
        })
    };
    while flips.load(std::sync::atomic::Ordering::Relaxed) < 100 {
        std::thread::yield_now();
    }
    let w = wrun_resolving(&root, &["--dir", ".", p.so.to_str().unwrap()], b"", walk);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    swapper.join().unwrap();
    // Both states were seen (inside reads, and refused opens while a/b pointed out), and the
    // outside file was never read.
    assert_eq!(
        text(&w.stdout),
        "inside 1 outside 0 failed 1\n",
        "walk {walk}: {}",
        text(&w.stderr)
    );
}

#[test]
fn preopened_sockets_accept_receive_send_and_shut_down() {
    let p = build_wasi_only("socket");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new(binary("wrun"))
        .args(["--tcplisten", &addr])
        .arg(&p.so)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stream = (0..100)
        .find_map(|_| {
            std::net::TcpStream::connect(&addr).ok().or_else(|| {
                std::thread::sleep(std::time::Duration::from_millis(20));
                None
            })
        })
        .expect("wrun listens");
    stream.write_all(b"hello wasi\n").unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    assert_eq!(reply, "HELLO WASI\n");
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        text(&out.stdout),
        "accept: 0\nrecv: 0 11 bytes\nsend: 0 11 bytes\nshutdown: 0\naccept on a file: 57\nshutdown bad how: 28\n"
    );
}

#[test]
fn dir_mappings_in_every_spelling() {
    let p = build("cat");
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("in.txt"), "mapped\n").unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let h = host.path().to_str().unwrap();
    let so = p.so.to_str().unwrap();
    for spec in [format!("/data:{h}"), format!("{h}::/data")] {
        let w = wrun(cwd.path(), &["--dir", &spec, so, "/data/in.txt"], b"");
        assert_eq!(
            text(&w.stdout),
            "mapped\n",
            "--dir {spec}: {}",
            text(&w.stderr)
        );
    }
    let w = wrun(host.path(), &["--dir", ".", so, "in.txt"], b"");
    assert_eq!(text(&w.stdout), "mapped\n");
    // Without a preopen nothing is reachable.
    let w = wrun(host.path(), &[so, "in.txt"], b"");
    assert_eq!(w.status.code(), Some(2));
    // A missing host directory is a one-line error.
    let w = wrun(cwd.path(), &["--dir", "/nonexistent/dir", so], b"");
    assert_eq!(w.status.code(), Some(1));
    assert_eq!(text(&w.stderr).lines().count(), 1, "{}", text(&w.stderr));
}

#[test]
fn a_trapping_program_prints_a_backtrace_with_function_names() {
    let p = build("cat");
    let d = tempfile::tempdir().unwrap();
    for mode in [&[][..], &["--interp", "-q"][..]] {
        let mut args = mode.to_vec();
        args.extend([p.so.to_str().unwrap(), "!"]);
        let w = wrun(d.path(), &args, b"");
        assert_eq!(w.status.code(), Some(134));
        let err = text(&w.stderr);
        assert!(err.starts_with("wrun: trap: unreachable\n"), "{err}");
        assert!(
            err.contains("    at cat.so!main (function ")
                || err.contains("    at cat.so!__main_argc_argv (function "),
            "{mode:?}: {err}"
        );
        assert!(err.contains("    at cat.so!_start"), "{mode:?}: {err}");
    }
}

#[test]
fn unknown_imports_fail_to_link_or_trap_when_asked() {
    let d = tempfile::tempdir().unwrap();
    let wasm = wat::parse_str(
        r#"(module
      (import "host" "hook" (func $hook (param i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "_start") (drop (call $hook (i32.const 1)))))"#,
    )
    .unwrap();
    let so = d.path().join("m.so");
    compile_to_file(&wasm, "m", &so, &CompileOptions::default()).unwrap();
    let so = so.to_str().unwrap();
    let w = wrun(d.path(), &[so], b"");
    assert_eq!(w.status.code(), Some(1));
    assert!(
        text(&w.stderr).contains("unknown import `host`.`hook`"),
        "{}",
        text(&w.stderr)
    );
    let w = wrun(d.path(), &["--trap-unknown-imports", so], b"");
    assert_eq!(w.status.code(), Some(134));
    assert!(
        text(&w.stderr).contains("call to unresolved import `host`.`hook`"),
        "{}",
        text(&w.stderr)
    );
}

#[test]
fn the_interpreter_serves_the_same_wasi_layer() {
    for (name, args) in [
        ("files", vec!["--dir", "."]),
        ("args_env", vec!["--env", "GREETING=hi"]),
    ] {
        let p = build(name);
        let (dn, dw) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let n = native(dn.path(), &p.native, &["x"], &[("GREETING", "hi")], b"");
        let mut wargs = vec!["--interp"];
        wargs.extend(args);
        wargs.extend([p.so.to_str().unwrap(), "x"]);
        let w = wrun(dw.path(), &wargs, b"");
        assert_same(&n, &w);
    }
}

/// A path with a NUL byte is EILSEQ for every path function, in both modes: never cut at the
/// NUL (which would act on `f`).
#[test]
fn a_path_with_a_nul_byte_is_an_error_not_a_shorter_path() {
    let wat = r#"(module
      (import "wasi_snapshot_preview1" "path_filestat_get"
        (func $stat (param i32 i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "path_open"
        (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "path_unlink_file"
        (func $unlink (param i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "path_create_directory"
        (func $mkdir (param i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "path_rename"
        (func $rename (param i32 i32 i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "path_symlink"
        (func $symlink (param i32 i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 0) "f\00x")
      (data (i32.const 8) "g")
      (func (export "stat") (result i32) (call $stat (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 3) (i32.const 64)))
      (func (export "open") (result i32)
        (call $open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 3) (i32.const 1)
          (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 64)))
      (func (export "unlink") (result i32) (call $unlink (i32.const 3) (i32.const 0) (i32.const 3)))
      (func (export "mkdir") (result i32) (call $mkdir (i32.const 3) (i32.const 0) (i32.const 3)))
      (func (export "rename") (result i32)
        (call $rename (i32.const 3) (i32.const 0) (i32.const 3) (i32.const 3) (i32.const 8) (i32.const 1)))
      (func (export "symlink") (result i32)
        (call $symlink (i32.const 8) (i32.const 1) (i32.const 3) (i32.const 0) (i32.const 3))))"#;
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("nul.wasm");
    std::fs::write(&wasm, wat::parse_str(wat).unwrap()).unwrap();
    let so = dir.path().join("nul.so");
    compile_to_file(
        &std::fs::read(&wasm).unwrap(),
        "nul",
        &so,
        &CompileOptions::default(),
    )
    .unwrap();
    for module in [&so, &wasm] {
        for op in ["stat", "open", "unlink", "mkdir", "rename", "symlink"] {
            let work = tempfile::tempdir().unwrap();
            std::fs::write(work.path().join("f"), b"kept").unwrap();
            let w = wrun(
                work.path(),
                &["-q", "--dir", ".", module.to_str().unwrap(), "--invoke", op],
                b"",
            );
            assert_eq!(
                text(&w.stdout),
                "25\n",
                "{op} {module:?}: {}",
                text(&w.stderr)
            );
            assert_eq!(std::fs::read(work.path().join("f")).unwrap(), b"kept");
            let names: Vec<_> = std::fs::read_dir(work.path()).unwrap().collect();
            assert_eq!(names.len(), 1, "{op}: {names:?}");
        }
    }
}
