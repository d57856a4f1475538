//! Universal wasm, the interpreter fallback, trust, targets and the compile-on-load cache,
//! through both command lines. Every test has its own configuration and cache directories.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output};
use waot_tests::binary;

const PROGRAM: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello from wasm\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 16))
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $exit (i32.const 7)))
  (func (export "mul") (param i64 i64) (result i64) (i64.mul (local.get 0) (local.get 1))))"#;

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let e = Env {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(e.path("tmp")).unwrap();
        e
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn cmd(&self, bin: &str, config: &str) -> Command {
        let mut c = Command::new(binary(bin));
        c.env("XDG_CONFIG_HOME", self.path(config))
            .env("XDG_CACHE_HOME", self.path("cache"))
            .env("TMPDIR", self.path("tmp"))
            .env_remove("WAOT_KEY");
        c
    }

    fn waotc(&self, args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
        self.cmd("waotc", "config").args(args).output().unwrap()
    }

    fn wrun(&self, config: &str, args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
        self.cmd("wrun", config).args(args).output().unwrap()
    }

    fn write_wasm(&self, name: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, wat::parse_str(PROGRAM).unwrap()).unwrap();
        p
    }

    fn universal(&self, extra: &[&str]) -> PathBuf {
        let wasm = self.write_wasm("plain.wasm");
        let out = self.path("app.wasm");
        let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = extra
            .iter()
            .map(|a| a as &dyn AsRef<std::ffi::OsStr>)
            .collect();
        args.push(&wasm);
        args.push(&out);
        let o = self.waotc(&args);
        assert!(o.status.success(), "{}", text(&o.stderr));
        out
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ran_ok(o: &Output) {
    assert_eq!(
        text(&o.stdout),
        "hello from wasm\n",
        "stderr: {}",
        text(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(7));
}

#[test]
fn universal_output_is_valid_wasm_and_runs_natively_when_trusted() {
    let e = Env::new();
    let app = e.universal(&[]);
    let v = Command::new("wasm-validate")
        .arg(&app)
        .output()
        .expect("wasm-validate (wabt)");
    assert!(v.status.success(), "{}", text(&v.stderr));
    let o = e.wrun("config", &[&app]);
    ran_ok(&o);
    assert_eq!(text(&o.stderr), "", "native run, no notice");
    // Native code was loaded from memory: nothing left in the temporary directory.
    assert_eq!(std::fs::read_dir(e.path("tmp")).unwrap().count(), 0);
    // The file is the original module plus one custom section.
    let plain = std::fs::read(e.path("plain.wasm")).unwrap();
    let universal = std::fs::read(&app).unwrap();
    assert!(universal.starts_with(&plain));
}

#[test]
fn untrusted_native_code_is_interpreted_with_a_notice() {
    let e = Env::new();
    let app = e.universal(&[]);
    let o = e.wrun("other-user", &[&app]);
    ran_ok(&o);
    assert_eq!(text(&o.stderr), format!("wrun: interpreting {}: its native code is not signed by a trusted key (--trust-native runs it anyway)\n", app.display()));
    let o = e.wrun("other-user", &[&"--quiet", &app]);
    ran_ok(&o);
    assert_eq!(text(&o.stderr), "");
    let o = e.wrun("other-user", &[&"--trust-native", &app]);
    ran_ok(&o);
    assert_eq!(text(&o.stderr), "");
    // A trusted-keys list makes another user's key trusted.
    let key = std::fs::read_to_string(e.path("config/waot/key")).unwrap();
    std::fs::create_dir_all(e.path("other-user/waot")).unwrap();
    std::fs::write(e.path("other-user/waot/trusted-keys"), key).unwrap();
    let o = e.wrun("other-user", &[&app]);
    ran_ok(&o);
    assert_eq!(text(&o.stderr), "");
}

#[test]
fn a_shared_ci_key_signs_and_verifies() {
    let e = Env::new();
    let key = "ab".repeat(32);
    let wasm = e.write_wasm("plain.wasm");
    let app = e.path("ci.wasm");
    let o = e
        .cmd("waotc", "ci-runner")
        .env("WAOT_KEY", &key)
        .arg(&wasm)
        .arg(&app)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        !e.path("ci-runner/waot/key").exists(),
        "the shared key is used, no user key made"
    );
    let o = e
        .cmd("wrun", "user")
        .env("WAOT_KEY", &key)
        .arg(&app)
        .output()
        .unwrap();
    ran_ok(&o);
    assert_eq!(text(&o.stderr), "");
    let o = e
        .cmd("wrun", "user")
        .env("WAOT_KEY", "cd".repeat(32))
        .arg(&app)
        .output()
        .unwrap();
    ran_ok(&o);
    assert!(text(&o.stderr).contains("not signed by a trusted key"));
}

#[test]
fn altered_universal_files_run_what_was_signed_or_fall_back_to_the_interpreter() {
    let e = Env::new();
    let app = e.universal(&[]);
    let bytes = std::fs::read(&app).unwrap();
    let plain_len = std::fs::read(e.path("plain.wasm")).unwrap().len();
    // The module around the native section: change the greeting in its data segment. Native
    // code never reads it (it reads the skeleton inside the signed section), so the signed
    // program runs, greeting as compiled; the interpreter runs the module as it now is.
    let mut module_altered = bytes.clone();
    let at = find(&module_altered, b"hello from wasm");
    assert!(at < plain_len, "the first greeting is the module's");
    module_altered[at] = b'j';
    let p = e.path("altered-module.wasm");
    std::fs::write(&p, &module_altered).unwrap();
    let o = e.wrun("config", &[&p]);
    assert_eq!(text(&o.stdout), "hello from wasm\n", "{}", text(&o.stderr));
    assert!(
        !text(&o.stderr).contains("interpreting"),
        "{}",
        text(&o.stderr)
    );
    let o = e.wrun("config", &[&"--interp", &p]);
    assert_eq!(text(&o.stdout), "jello from wasm\n", "{}", text(&o.stderr));
    // The skeleton inside the signed section: the signature no longer holds, and the module,
    // unaltered, is interpreted.
    let mut skeleton_altered = bytes.clone();
    let at = plain_len + find(&bytes[plain_len..], b"hello from wasm");
    skeleton_altered[at] = b'j';
    let p = e.path("altered-skeleton.wasm");
    std::fs::write(&p, &skeleton_altered).unwrap();
    let o = e.wrun("config", &[&p]);
    assert_eq!(text(&o.stdout), "hello from wasm\n", "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("wrun: interpreting"),
        "{}",
        text(&o.stderr)
    );
    // The native code: flip a byte in the middle of the section.
    let mut native_altered = bytes.clone();
    let mid = plain_len + (bytes.len() - plain_len) / 2;
    native_altered[mid] ^= 0xff;
    let p = e.path("altered-native.wasm");
    std::fs::write(&p, &native_altered).unwrap();
    let o = e.wrun("config", &[&p]);
    ran_ok(&o);
    assert!(
        text(&o.stderr).contains("wrun: interpreting"),
        "{}",
        text(&o.stderr)
    );
}

/// The cache of checked native code (issue 14): a universal file checked once starts from it
/// without being read; another user's key, or any change to the file, goes the long way and
/// gets the same answers as without the cache.
#[test]
fn a_checked_universal_file_starts_from_the_cache_until_it_changes() {
    let e = Env::new();
    let app = e.universal(&[]);
    let native = e.path("cache/waot/native");
    let files = |ext: &str| -> Vec<PathBuf> {
        std::fs::read_dir(&native)
            .map(|d| {
                d.map(|f| f.unwrap().path())
                    .filter(|p| p.to_string_lossy().ends_with(ext))
                    .collect()
            })
            .unwrap_or_default()
    };
    // A file just written may still change within the clock's tick: it is recorded once it
    // is a second old.
    ran_ok(&e.wrun("config", &[&app]));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    ran_ok(&e.wrun("config", &[&app]));
    assert_eq!(files(".seen").len(), 1);
    assert_eq!(files(".so").len(), 1);
    let header = files(".header").pop().unwrap();
    let mode = std::fs::metadata(&native).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700, "the cache directory is private");
    // A hit marks the entry used: its header's time moves.
    let used = || std::fs::metadata(&header).unwrap().modified().unwrap();
    let past = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
    let unuse = || {
        let f = std::fs::File::options().write(true).open(&header).unwrap();
        f.set_modified(past).unwrap();
    };
    unuse();
    let o = e.wrun("config", &[&app]);
    ran_ok(&o);
    assert_eq!(text(&o.stderr), "");
    assert!(used() > past, "the second start came from the cache");
    // `--trust-native` takes the entry too.
    unuse();
    ran_ok(&e.wrun("other-user", &[&"--trust-native", &app]));
    assert!(used() > past);
    // A damaged entry is dropped, the file checked again and the entry written anew.
    let so = files(".so").pop().unwrap();
    std::fs::write(&so, b"not a shared object").unwrap();
    let o = e.wrun("config", &[&app]);
    ran_ok(&o);
    assert_eq!(text(&o.stderr), "");
    assert!(std::fs::read(&so).unwrap().starts_with(b"\x7fELF"));
    assert!(header.is_file());
    // Another user, who does not trust the key, is not served the entry.
    unuse();
    let o = e.wrun("other-user", &[&app]);
    ran_ok(&o);
    assert!(
        text(&o.stderr).contains("not signed by a trusted key"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(used(), past);
    // A cache another user could write to is not used.
    let open = std::fs::Permissions::from_mode(0o777);
    std::fs::set_permissions(&native, open).unwrap();
    ran_ok(&e.wrun("config", &[&app]));
    assert_eq!(used(), past);
    std::fs::set_permissions(&native, std::fs::Permissions::from_mode(0o700)).unwrap();
    // The native code altered in place, keeping its tag: the file is checked again and its
    // code refused, now and once the change is old, exactly as without the cache.
    let mut bytes = std::fs::read(&app).unwrap();
    let plain_len = std::fs::read(e.path("plain.wasm")).unwrap().len();
    let mid = plain_len + (bytes.len() - plain_len) / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&app, &bytes).unwrap();
    for _ in 0..2 {
        let o = e.wrun("config", &[&app]);
        ran_ok(&o);
        assert!(
            text(&o.stderr).contains("wrun: interpreting"),
            "{}",
            text(&o.stderr)
        );
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
    assert_eq!(used(), past);
    // WAOT_NATIVE_CACHE=0 neither reads nor writes the cache.
    bytes[mid] ^= 0xff;
    let fresh = e.path("fresh.wasm");
    std::fs::write(&fresh, &bytes).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let seen = files(".seen").len();
    let o = e
        .cmd("wrun", "config")
        .env("WAOT_NATIVE_CACHE", "0")
        .arg(&fresh)
        .output()
        .unwrap();
    ran_ok(&o);
    assert_eq!(files(".seen").len(), seen);
    ran_ok(&e.wrun("config", &[&fresh]));
    assert_eq!(
        files(".seen").len(),
        seen + 1,
        "a copy is checked once itself"
    );
}

#[test]
fn an_aarch64_universal_artifact_runs_here_in_the_interpreter() {
    let e = Env::new();
    let app = e.universal(&["--target", "aarch64-unknown-linux-gnu", "--cpu", "generic"]);
    let o = e.wrun("config", &[&app]);
    ran_ok(&o);
    assert!(
        text(&o.stderr).contains("compiled for aarch64-unknown-linux-gnu"),
        "{}",
        text(&o.stderr)
    );
    let o = e.wrun("config", &[&app, &"--invoke", &"mul", &"-3", &"5"]);
    assert_eq!(text(&o.stdout), "-15\n");
    // The same cross-compiled code as a .so is refused, never run.
    let so = e.path("arm.so");
    let o = e.waotc(&[
        &"--target",
        &"aarch64-unknown-linux-gnu",
        &"--cpu",
        &"generic",
        &e.path("plain.wasm"),
        &so,
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = e.wrun("config", &[&so]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("compiled for aarch64"),
        "{}",
        text(&o.stderr)
    );
    // ... but its embedded wasm can be interpreted.
    ran_ok(&e.wrun("config", &[&"--interp", &so]));
}

#[test]
fn plain_wasm_is_interpreted_or_compiled_on_load_and_cached() {
    let e = Env::new();
    let wasm = e.write_wasm("plain.wasm");
    let o = e.wrun("config", &[&wasm]);
    ran_ok(&o);
    assert!(text(&o.stderr).contains("plain wasm module without native code"));
    // --aot: compiled once, then reused.
    ran_ok(&e.wrun("config", &[&"--aot", &wasm]));
    let entries = |e: &Env| -> Vec<PathBuf> {
        let mut v: Vec<_> = std::fs::read_dir(e.path("cache/waot"))
            .unwrap()
            .map(|d| d.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "so"))
            .collect();
        v.sort();
        v
    };
    let first = entries(&e);
    assert_eq!(first.len(), 1);
    let stamp = std::fs::metadata(&first[0]).unwrap().modified().unwrap();
    ran_ok(&e.wrun("config", &[&"--aot", &wasm]));
    assert_eq!(
        std::fs::metadata(&first[0]).unwrap().modified().unwrap(),
        stamp,
        "reused, not rebuilt"
    );
    // A corrupted entry is detected and rebuilt.
    std::fs::write(&first[0], b"garbage").unwrap();
    ran_ok(&e.wrun("config", &[&"--aot", &wasm]));
    assert!(std::fs::read(&first[0]).unwrap().starts_with(b"\x7fELF"));
    // Concurrent first runs: all succeed, one entry.
    std::fs::remove_dir_all(e.path("cache")).unwrap();
    let children: Vec<_> = (0..4)
        .map(|_| e.cmd("wrun", "config").arg("--aot").arg(&wasm).output())
        .collect();
    for c in children {
        ran_ok(&c.unwrap());
    }
    assert_eq!(entries(&e).len(), 1);
}

#[test]
fn interp_and_native_agree_on_traps() {
    let e = Env::new();
    let wasm = e.path("t.wasm");
    std::fs::write(
        &wasm,
        wat::parse_str(
            r#"(module (memory 1)
      (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
      (func (export "oob") (result i32) (i32.load (i32.const 70000))))"#,
        )
        .unwrap(),
    )
    .unwrap();
    let so = e.path("t.so");
    assert!(e.waotc(&[&wasm, &so]).status.success());
    for (args, message) in [
        (["div", "1", "0"], "integer divide by zero"),
        (["div", "-2147483648", "-1"], "integer overflow"),
    ] {
        for mode in [&"--interp" as &dyn AsRef<std::ffi::OsStr>, &"--quiet"] {
            let o = e.wrun(
                "config",
                &[mode, &so, &"--invoke", &args[0], &args[1], &args[2]],
            );
            assert_eq!(o.status.code(), Some(134));
            assert!(
                text(&o.stderr).starts_with(&format!("wrun: trap: {message}")),
                "{}",
                text(&o.stderr)
            );
        }
    }
    let o = e.wrun("config", &[&"--interp", &so, &"--invoke", &"oob"]);
    assert!(text(&o.stderr).starts_with("wrun: trap: out of bounds memory access"));
}

fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("present")
}
