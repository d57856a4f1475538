//! Host-to-guest call overhead of the embedding API for a trivial export
//! `(i32, i32) -> i32`, with the typed and the untyped call (also in a store with an interrupt
//! handle, and compiled with fuel in a store that limits it), the C API's `wasm_func_call` (when
//! `libwaot_c.so` is built), and, when the `wasmtime` Python
//! package is in `target/bench/venv` (made by scripts/bench), wasmtime's from Python in the
//! same run. Run: `cargo bench -p waot-tests --bench call_overhead`.

use std::time::Instant;
use waot::{Linker, Store, Val};
use waot_compiler::{compile_to_file, CompileOptions};

const CALLS: u32 = 20_000_000;

fn per_call(mut f: impl FnMut(u32)) -> f64 {
    for i in 0..1_000_000 {
        f(i); // warm up
    }
    let mut best = f64::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        for i in 0..CALLS {
            f(i);
        }
        best = best.min(start.elapsed().as_nanos() as f64 / CALLS as f64);
    }
    best
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = wat::parse_str(r#"(module (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))"#).unwrap();
    let so = dir.path().join("add.so");
    compile_to_file(&wasm, "add", &so, &CompileOptions::default()).unwrap();
    let module = waot::Module::from_file(&so).unwrap();
    let mut store = Store::new();
    let instance = Linker::new().instantiate(&mut store, &module).unwrap();
    let add = store.get_func(instance, "add").unwrap();
    let typed = store.typed::<(i32, i32), i32>(add).unwrap();
    let mut sum = 0i64;
    let typed_ns = per_call(|i| sum += typed.call(&mut store, (i as i32, 1)).unwrap() as i64);
    let untyped_ns = per_call(|i| {
        if let [Val::I32(r)] = store.call(add, &[Val::I32(i as i32), Val::I32(1)]).unwrap()[..] {
            sum += r as i64;
        }
    });
    println!("waot typed call:    {typed_ns:.1} ns/call");
    println!("waot untyped call:  {untyped_ns:.1} ns/call");
    // A store with an interrupt handle records the running thread at each outermost call.
    let _handle = store.interrupt_handle().unwrap();
    let watched_ns = per_call(|i| sum += typed.call(&mut store, (i as i32, 1)).unwrap() as i64);
    println!("waot typed call, store with an interrupt handle: {watched_ns:.1} ns/call");
    // Compiled with fuel, in a store that limits it: the loader checks the fuel before the
    // call, and the export (which calls nothing) does not.
    let metered = dir.path().join("add_fuel.so");
    let mut options = CompileOptions::default();
    options.metering.fuel = true;
    compile_to_file(&wasm, "add_fuel", &metered, &options).unwrap();
    let module = waot::Module::from_file(&metered).unwrap();
    let mut store = Store::new();
    store.set_fuel(u64::MAX).unwrap();
    let instance = Linker::new().instantiate(&mut store, &module).unwrap();
    let add = store.get_func(instance, "add").unwrap();
    let typed = store.typed::<(i32, i32), i32>(add).unwrap();
    let fuel_ns = per_call(|i| sum += typed.call(&mut store, (i as i32, 1)).unwrap() as i64);
    println!("waot typed call, fuel limited (--fuel): {fuel_ns:.1} ns/call");
    // The C program is another process: the typed call and the C call alternate three times
    // (the best of each), so that a change in the machine's load between them does not read
    // as a difference between the two.
    let mut store = Store::new();
    let instance = Linker::new().instantiate(&mut store, &waot::Module::from_file(&so).unwrap());
    let add = store.get_func(instance.unwrap(), "add").unwrap();
    let typed = store.typed::<(i32, i32), i32>(add).unwrap();
    let (mut typed_best, mut c_best) = (f64::MAX, Ok::<f64, String>(f64::MAX));
    for _ in 0..3 {
        typed_best = typed_best.min(per_call(|i| {
            sum += typed.call(&mut store, (i as i32, 1)).unwrap() as i64
        }));
        c_best = c_best.and_then(|best| Ok(best.min(c_api_ns(dir.path(), &so)?)));
    }
    match c_best {
        Ok(ns) => println!(
            "waot C API call:    {ns:.1} ns/call (wasm_func_call, libwaot_c.so), \
             {:.1} ns above the typed call's {typed_best:.1} ns (alternating, best of 3 each)",
            ns - typed_best
        ),
        Err(why) => println!("waot C API call:    not measured ({why})"),
    }
    let venv =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench/venv/bin/python");
    if venv.exists() {
        let script = r#"
import sys, time, wasmtime
store = wasmtime.Store()
module = wasmtime.Module(store.engine, open(sys.argv[1], "rb").read())
add = wasmtime.Instance(store, module, []).exports(store)["add"]
n = 1_000_000
best = 1e9
for _ in range(3):
    t = time.perf_counter()
    for i in range(n):
        add(store, i, 1)
    best = min(best, (time.perf_counter() - t) / n * 1e9)
print(f"{best:.1f}")
"#;
        let wasm_path = dir.path().join("add.wasm");
        std::fs::write(&wasm_path, &wasm).unwrap();
        let out = std::process::Command::new(&venv)
            .arg("-c")
            .arg(script)
            .arg(&wasm_path)
            .output()
            .unwrap();
        println!(
            "wasmtime (Python package, includes Python's own call cost): {} ns/call",
            String::from_utf8_lossy(&out.stdout).trim()
        );
    } else {
        println!("wasmtime: not measured (run scripts/bench once to make target/bench/venv)");
    }
    assert!(sum != 0);
}

/// tests/capi/call_overhead.c, built against the release `libwaot_c.so` (scripts/test.sh and
/// scripts/build-capi build it), run on the same artifact.
fn c_api_ns(dir: &std::path::Path, so: &std::path::Path) -> Result<f64, String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let lib_dir = root.join("target/release");
    if !lib_dir.join("libwaot_c.so").exists() {
        return Err("build it with `cargo build --release -p waot-capi`".into());
    }
    let exe = dir.join("call_overhead");
    if !exe.exists() {
        let built = std::process::Command::new("clang-19")
            .args(["-O2", "-I"])
            .arg(root.join("loader/capi/include"))
            .arg(root.join("tests/capi/call_overhead.c"))
            .arg("-o")
            .arg(&exe)
            .arg("-L")
            .arg(&lib_dir)
            .arg(format!("-Wl,-rpath,{}", lib_dir.display()))
            .arg("-lwaot_c")
            .output()
            .map_err(|e| format!("clang-19: {e}"))?;
        if !built.status.success() {
            return Err(String::from_utf8_lossy(&built.stderr).into_owned());
        }
    }
    let out = std::process::Command::new(&exe)
        .arg(so)
        .env("LD_LIBRARY_PATH", &lib_dir)
        .output()
        .map_err(|e| e.to_string())?;
    match out.status.success() {
        true => String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .map_err(|e| format!("the C program's output: {e}")),
        false => Err(String::from_utf8_lossy(&out.stderr).into_owned()),
    }
}
