//! The C API (issue 16): `tests/capi/api.c`, compiled with clang-19 against
//! `loader/capi/include` and linked with `libwaot_c.so` (built by `scripts/test.sh`), exercises
//! every group of the API and exits non-zero at the first failed check. It runs twice: against
//! the release library, and under valgrind against the debug one, which must report no invalid
//! access, no use of uninitialized memory and no leak (definite or indirect: the process-wide
//! registries of signatures and code live until exit by design). Under valgrind two parts are
//! left out: WASI's files (valgrind 3.19 does not know `openat2`) and compiling another
//! target's artifact on load (valgrind's virtual CPU lacks features the host's code uses).

use std::path::{Path, PathBuf};
use std::process::Command;
use waot_tests::binary;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn compile_wat(dir: &Path, name: &str, flags: &[&str]) -> PathBuf {
    let mut all = vec!["--cpu", "x86-64-v2"];
    all.extend(flags);
    compile_wat_to(dir, name, "so", &all)
}

/// The module as a universal wasm for aarch64, which this host compiles again on load (with
/// `waotc`, into a cache of the test's own).
fn foreign(dir: &Path) -> PathBuf {
    let flags = ["--target", "aarch64-unknown-linux-gnu", "--cpu", "generic"];
    compile_wat_to(dir, "foreign", "wasm", &flags)
}

/// What the C program needs to compile on load: the compiler, and a cache in `dir`.
fn compile_env(c: &mut Command, dir: &Path) {
    c.env("WAOTC", binary("waotc"))
        .env("XDG_CACHE_HOME", dir.join("cache"));
}

/// tests/capi/api.wat compiled by waotc to `NAME.EXTENSION` (`so`, or `wasm` for a universal).
fn compile_wat_to(dir: &Path, name: &str, extension: &str, flags: &[&str]) -> PathBuf {
    compile_source(dir, "api.wat", name, extension, flags)
}

/// tests/capi/v128.wat compiled to `v128.so`.
fn v128_module(dir: &Path) -> PathBuf {
    compile_source(dir, "v128.wat", "v128", "so", &["--cpu", "x86-64-v2"])
}

/// tests/capi/tags.wat compiled to `tags.so`.
fn tags_module(dir: &Path) -> PathBuf {
    compile_source(dir, "tags.wat", "tags", "so", &["--cpu", "x86-64-v2"])
}

/// tests/capi/interp.wat compiled to `interp.so`, beside its plain `interp.plain.wasm`.
fn interp_module(dir: &Path) -> PathBuf {
    compile_source(dir, "interp.wat", "interp", "so", &["--cpu", "x86-64-v2"])
}

/// tests/capi/gc.wat compiled to `gc.so`.
fn gc_module(dir: &Path) -> PathBuf {
    compile_source(dir, "gc.wat", "gc", "so", &["--cpu", "x86-64-v2"])
}

fn compile_source(
    dir: &Path,
    source: &str,
    name: &str,
    extension: &str,
    flags: &[&str],
) -> PathBuf {
    let wasm = dir.join(format!("{name}.plain.wasm"));
    let wat = std::fs::read_to_string(root().join("tests/capi").join(source)).unwrap();
    std::fs::write(&wasm, wat::parse_str(wat).unwrap()).unwrap();
    let so = dir.join(format!("{name}.{extension}"));
    let o = Command::new(binary("waotc"))
        .args(flags)
        .arg(&wasm)
        .arg(&so)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    so
}

/// tests/capi/wasi_guest.c for wasm32-wasi, compiled AOT, and the directory it is given
/// (holding the `in.txt` it copies).
fn wasi_guest(dir: &Path) -> (PathBuf, PathBuf) {
    let wasm = dir.join("wasi_guest.wasm");
    let o = Command::new("clang-19")
        .args(["--target=wasm32-wasi", "-O2"])
        .arg(root().join("tests/capi/wasi_guest.c"))
        .arg("-o")
        .arg(&wasm)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let so = dir.join("wasi_guest.so");
    let o = Command::new(binary("waotc"))
        .args(["--cpu", "x86-64-v2"])
        .arg(&wasm)
        .arg(&so)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let data = dir.join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("in.txt"), "copied through WASI\n").unwrap();
    (so, data)
}

fn release_lib_dir() -> PathBuf {
    binary("waotc").parent().unwrap().to_path_buf()
}

fn build_c(dir: &Path, name: &str, extra: &[&str], lib_dir: &Path) -> PathBuf {
    assert!(
        lib_dir.join("libwaot_c.so").exists(),
        "{}/libwaot_c.so is missing: scripts/test.sh builds it (`cargo build [--release] -p waot-capi`)",
        lib_dir.display()
    );
    let exe = dir.join(name);
    let o = Command::new("clang-19")
        .args([
            "-O1",
            "-gdwarf-4",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-std=c11",
            "-D_DEFAULT_SOURCE",
        ])
        .args(extra)
        .arg("-I")
        .arg(root().join("loader/capi/include"))
        .arg(root().join("tests/capi/api.c"))
        .arg(root().join("tests/capi/tags.c"))
        .arg(root().join("tests/capi/gc_objects.c"))
        .arg(root().join("tests/capi/interp.c"))
        .arg("-o")
        .arg(&exe)
        .arg("-L")
        .arg(lib_dir)
        .arg(format!("-Wl,-rpath,{}", lib_dir.display()))
        .args(["-lwaot_c", "-lpthread"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    exe
}

const GROUPS: [&str; 19] = [
    "module types: ok",
    "values: ok",
    "host functions: ok",
    "traps: ok",
    "memory: ok",
    "globals and tables: ok",
    "references and tables: ok",
    "gc references: ok",
    "two instances: ok",
    "finalizers: ok",
    "deleted during a call: ok",
    "threads: ok",
    "wasi: ok",
    "another target's artifact: ok",
    "v128 values: ok",
    "tags: ok",
    "gc objects from the host: ok",
    "limits: ok",
    "interpreter: ok",
];

fn run(exe: &Path, plain: &Path, metered: &Path, wasi: &(PathBuf, PathBuf), foreign: &Path) {
    let mut c = Command::new(exe);
    compile_env(&mut c, plain.parent().unwrap());
    let o = c
        .arg(plain)
        .arg(metered)
        .arg(&wasi.0)
        .arg(&wasi.1)
        .arg(foreign)
        .arg(v128_module(plain.parent().unwrap()))
        .arg(tags_module(plain.parent().unwrap()))
        .arg(gc_module(plain.parent().unwrap()))
        .args(interp_args(plain.parent().unwrap()))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{}\n{stdout}\n{stderr}", exe.display());
    assert_eq!(stdout.lines().collect::<Vec<_>>(), GROUPS, "{stderr}");
}

#[test]
fn every_group_of_the_c_api_works_from_c() {
    let d = tempfile::tempdir().unwrap();
    // -O0 keeps `divide` out of `outer`, so the trap's frames are exactly both.
    let plain = compile_wat(d.path(), "api", &["-O0"]);
    let metered = compile_wat(
        d.path(),
        "metered",
        &["--fuel", "--interruptible", "--profile-generate"],
    );
    let wasi = wasi_guest(d.path());
    let exe = build_c(d.path(), "api", &[], &release_lib_dir());
    run(&exe, &plain, &metered, &wasi, &foreign(d.path()));
}

#[test]
fn the_c_api_test_is_clean_under_valgrind() {
    let d = tempfile::tempdir().unwrap();
    let plain = compile_wat(d.path(), "api", &["-O0"]);
    let metered = compile_wat(
        d.path(),
        "metered",
        &["--fuel", "--interruptible", "--profile-generate"],
    );
    // Against the debug build of the library: it keeps Rust's checks of unsafe preconditions,
    // and optimized code's wide loads of partly initialized values are not reported as uses
    // of uninitialized memory.
    let wasi = wasi_guest(d.path());
    let exe = build_c(d.path(), "api_debug", &[], &debug_lib_dir());
    let valgrind: [&str; 5] = [
        "--leak-check=full",
        "--errors-for-leak-kinds=definite,indirect",
        "--error-exitcode=99",
        "--quiet",
        "--",
    ];
    // Cargo's library path for tests (target/release) would win over the executable's runpath.
    let o = Command::new("valgrind")
        .env("LD_LIBRARY_PATH", debug_lib_dir())
        .args(valgrind)
        .arg(&exe)
        .arg(&plain)
        .arg(&metered)
        .arg(&wasi.0)
        // valgrind 3.19 does not know openat2, by which WASI opens every path: no files.
        .arg("-")
        // Its virtual CPU lacks features of this one, which compiling on load targets.
        .arg("-")
        .arg(v128_module(d.path()))
        .arg(tags_module(d.path()))
        .arg(gc_module(d.path()))
        .args(interp_args(d.path()))
        .output()
        .expect("valgrind runs (scripts/setup.sh installs it)");
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    let groups: Vec<_> = GROUPS
        .into_iter()
        .filter(|g| !g.starts_with("another target"))
        .collect();
    assert_eq!(stdout.lines().collect::<Vec<_>>(), groups, "{stderr}");
}

/// The interpreter group's files: interp.wat as a plain wasm, natively and natively with
/// fuel, and the WASI guest's plain wasm (made by `wasi_guest`).
fn interp_args(dir: &Path) -> [PathBuf; 4] {
    let so = interp_module(dir);
    let flags = ["--cpu", "x86-64-v2", "--fuel"];
    let metered = compile_source(dir, "interp.wat", "interp_fuel", "so", &flags);
    [
        dir.join("interp.plain.wasm"),
        so,
        dir.join("wasi_guest.wasm"),
        metered,
    ]
}

fn debug_lib_dir() -> PathBuf {
    root().join("target/debug")
}

/// `examples/synth/run.sh`: the real-time host renders 60 s of audio through the C API,
/// bit-identical to the native build, with no heap call and no system call in the render loop.
#[test]
fn the_real_time_host_example_allocates_nothing_and_makes_no_system_call() {
    let d = tempfile::tempdir().unwrap();
    let o = Command::new(root().join("examples/synth/run.sh"))
        .env("WAOT_NO_BUILD", "1")
        .env("WAOT_SYNTH_OUT", d.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for line in [
        "samples: bit-identical to the native build",
        "heap calls during the render loop: 0",
        "system calls during the render loop: 0",
    ] {
        assert!(stdout.contains(line), "{line}: {stdout}");
    }
}

/// Every function `wasm.h` and `waot.h` declare (the vector functions `WASM_DECLARE_VEC`
/// declares included) is defined by `libwaot_c.so`, a host never fails to link, and the library
/// exports nothing else, which a host's symbols could collide with.
#[test]
fn the_library_exports_exactly_the_functions_the_headers_declare() {
    let mut declared = std::collections::BTreeSet::new();
    for header in ["wasm.h", "waot.h"] {
        let text =
            std::fs::read_to_string(root().join("loader/capi/include").join(header)).unwrap();
        for line in text
            .lines()
            .filter(|l| !l.trim_start().starts_with("#define"))
        {
            for (i, _) in line.match_indices('(') {
                let name: String = line[..i]
                    .chars()
                    .rev()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect::<String>()
                    .chars()
                    .rev()
                    .collect();
                if (name.starts_with("wasm_") || name.starts_with("waot_")) && !name.ends_with("_t")
                {
                    declared.insert(name);
                }
            }
            if let Some(rest) = line.trim().strip_prefix("WASM_DECLARE_VEC(") {
                let element = rest.split(',').next().unwrap().trim();
                for f in ["new_empty", "new_uninitialized", "new", "copy", "delete"] {
                    declared.insert(format!("wasm_{element}_vec_{f}"));
                }
            }
        }
    }
    let lib = release_lib_dir().join("libwaot_c.so");
    let o = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(&lib)
        .output()
        .unwrap();
    let defined: std::collections::BTreeSet<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2).map(str::to_string))
        .collect();
    let missing: Vec<_> = declared.iter().filter(|d| !defined.contains(*d)).collect();
    assert!(declared.len() > 100, "{declared:?}");
    assert!(missing.is_empty(), "declared but not defined: {missing:?}");
    // And it exports nothing else: the runtime's own entry points stay inside.
    let extra: Vec<_> = defined.iter().filter(|d| !declared.contains(*d)).collect();
    assert!(
        extra.is_empty(),
        "exported but declared by no header: {extra:?}"
    );
}

/// The library needs no static TLS: a plugin host `dlopen`s it (or several plugins that each
/// embed it) without drawing on glibc's small static TLS surplus, which a library marked
/// `STATIC_TLS` (any initial-exec access) takes its whole TLS block from. Its thread-locals
/// are reached through TLS descriptors or `__tls_get_addr`.
#[test]
fn the_library_can_be_opened_by_dlopen_without_static_tls() {
    use object::read::elf::{Dyn, ElfFile64, FileHeader};
    let lib = release_lib_dir().join("libwaot_c.so");
    let bytes = std::fs::read(&lib).unwrap();
    let elf = ElfFile64::<object::Endianness>::parse(&*bytes).unwrap();
    let endian = elf.endian();
    let (header, data) = (elf.elf_header(), elf.data());
    let sections = header.sections(endian, data).unwrap();
    let (dynamic, _) = sections
        .dynamic(endian, data)
        .unwrap()
        .expect("a dynamic section");
    let mut flags = 0;
    for entry in dynamic {
        if entry.d_tag(endian) == object::elf::DT_FLAGS as u64 {
            flags = entry.d_val(endian);
        }
    }
    assert_eq!(
        flags & object::elf::DF_STATIC_TLS as u64,
        0,
        "{} needs static TLS",
        lib.display()
    );
    // And two copies of it (as two plugins that each embed waot would bring) both open, from
    // a program that linked neither. Nothing in them is called, so closing them is safe.
    let dir = tempfile::tempdir().unwrap();
    let mut handles = Vec::new();
    for copy in ["a", "b"] {
        let path = dir.path().join(format!("libwaot_c_{copy}.so"));
        std::fs::copy(&lib, &path).unwrap();
        let path = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: opens a library whose initializers only set up Rust's runtime; dlerror's
        // message is read before the next dl call.
        unsafe {
            let handle = libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL);
            let why = || {
                std::ffi::CStr::from_ptr(libc::dlerror())
                    .to_string_lossy()
                    .into_owned()
            };
            assert!(!handle.is_null(), "dlopen of copy {copy} failed: {}", why());
            assert!(!libc::dlsym(handle, c"wasm_engine_new".as_ptr()).is_null());
            handles.push(handle);
        }
    }
    for handle in handles {
        // SAFETY: nothing from the library is in use.
        unsafe { libc::dlclose(handle) };
    }
}

/// A store entered by one thread after another, each ending before the next starts, with the
/// library opened by `dlopen` and its thread-locals allocated per thread (glibc's
/// `optional_static_tls=0`): a later thread usually takes over an ended one's thread pointer,
/// and a store must not keep using the ended thread's freed entry state (a cache of it was
/// tried: ARCHITECTURE.md, "Traps"). Natively against the release library, and under
/// valgrind against the debug one.
#[test]
fn a_store_entered_by_successive_threads_uses_each_ones_own_state() {
    let d = tempfile::tempdir().unwrap();
    let so = compile_source(
        d.path(),
        "thread_reuse.wat",
        "reuse",
        "so",
        &["--cpu", "x86-64-v2"],
    );
    let exe = d.path().join("thread_reuse");
    let o = Command::new("clang-19")
        .args([
            "-O1",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-std=c11",
            "-D_DEFAULT_SOURCE",
            "-I",
        ])
        .arg(root().join("loader/capi/include"))
        .arg(root().join("tests/capi/thread_reuse.c"))
        .arg("-o")
        .arg(&exe)
        .args(["-lpthread", "-ldl"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let tunables = "glibc.rtld.optional_static_tls=0";
    let o = Command::new(&exe)
        .env("GLIBC_TUNABLES", tunables)
        .arg(release_lib_dir().join("libwaot_c.so"))
        .arg(&so)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(out.trim(), "thread reuse: ok");
    let o = Command::new("valgrind")
        .env("GLIBC_TUNABLES", tunables)
        .args(["--error-exitcode=99", "--quiet", "--"])
        .arg(&exe)
        .arg(debug_lib_dir().join("libwaot_c.so"))
        .arg(&so)
        .output()
        .expect("valgrind runs (scripts/setup.sh installs it)");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(out.trim(), "thread reuse: ok");
}
