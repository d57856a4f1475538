//! Instantiation from an already loaded module (issue 14): a fresh store and instance per
//! request, as a server running each request in a new instance does, for a module with no
//! data and for one with 1 MB of data segments, touched or not after instantiation. Prints
//! the median and 90th percentile per instantiation, including dropping the store.
//! Run: `cargo bench -p waot-tests --bench instantiation`.

use std::time::Instant;
use waot::{Linker, Store, Val};
use waot_compiler::{compile_to_file, CompileOptions};

const ROUNDS: usize = 2000;

/// A module of `data_kb` KiB of data (a pattern, as in a real program's static data) in 17
/// pages, and an export reading the data's last word.
fn module_wat(data_kb: usize) -> String {
    let bytes: String = (0..data_kb * 1024)
        .map(|i| format!("\\{:02x}", (i * 7 + i / 4096) as u8))
        .collect();
    let data = if data_kb == 0 {
        String::new()
    } else {
        format!("(data (i32.const 4096) \"{bytes}\")")
    };
    format!(
        r#"(module (memory 17) {data}
             (func (export "last") (result i32) (i32.load (i32.const {}))))"#,
        4096 + data_kb * 1024 - 4
    )
}

fn measure(module: &waot::Module, touch: bool) -> (f64, f64) {
    let mut times = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let start = Instant::now();
        let mut store = Store::new();
        let instance = Linker::new().instantiate(&mut store, module).unwrap();
        if touch {
            let f = store.get_func(instance, "last").unwrap();
            let [Val::I32(_)] = store.call(f, &[]).unwrap()[..] else {
                panic!()
            };
        }
        drop(store);
        times.push(start.elapsed().as_nanos() as f64 / 1000.0);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (times[ROUNDS / 2], times[ROUNDS * 9 / 10])
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    println!("{:<28} {:>10} {:>10}", "module", "median µs", "p90 µs");
    for (name, kb, touch) in [
        ("no data", 0, false),
        ("1 MB of data", 1024, false),
        ("1 MB of data, then a call", 1024, true),
    ] {
        let wasm = wat::parse_str(module_wat(kb)).unwrap();
        let so = dir.path().join(format!("m{kb}.so"));
        compile_to_file(&wasm, "m", &so, &CompileOptions::default()).unwrap();
        let module = waot::Module::from_file(&so).unwrap();
        let (median, p90) = measure(&module, touch);
        println!("{name:<28} {median:>10.1} {p90:>10.1}");
    }
}
