//! `fuzz`: differential fuzzing of waot (see `waot_tests::fuzz`), for `scripts/fuzz`.
//!
//! ```text
//! fuzz modules FIRST LAST [DIR]   run seeds FIRST..=LAST, saving divergent modules to DIR
//! fuzz bytes FIRST LAST           feed random and mutated bytes to every reader
//! fuzz write SEED FILE            write the module of SEED to FILE (to reproduce one)
//! fuzz print FILE                 print a module as text (every proposal waot runs)
//! ```
//! Prints a summary (modules per class, each divergence) and exits 1 if anything diverged.

use std::process::ExitCode;
use waot_tests::fuzz;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let seed = |i: usize| args.get(i).and_then(|s| s.parse::<u64>().ok());
    if let (Some("write"), Some(seed), Some(file)) =
        (args.get(1).map(String::as_str), seed(2), args.get(3))
    {
        return match std::fs::write(file, fuzz::generate::module(seed)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("fuzz: {file}: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let (Some("print"), Some(file)) = (args.get(1).map(String::as_str), args.get(2)) {
        let text = std::fs::read(file)
            .map_err(|e| e.to_string())
            .and_then(|wasm| wasmprinter::print_bytes(wasm).map_err(|e| e.to_string()));
        return match text {
            Ok(text) => {
                println!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("fuzz: {file}: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let (Some(first), Some(last)) = (seed(2), seed(3)) else {
        eprintln!(
            "usage: fuzz modules|bytes FIRST LAST [DIR], fuzz write SEED FILE, fuzz print FILE"
        );
        return ExitCode::FAILURE;
    };
    match args[1].as_str() {
        "modules" => {
            let save = std::path::PathBuf::from(args.get(4).map_or("target/fuzz", String::as_str));
            let mut summary = fuzz::Summary::default();
            for seed in first..=last {
                let report = fuzz::run_seed(seed);
                if !report.divergences().is_empty() {
                    std::fs::create_dir_all(&save).ok();
                    let path = save.join(format!("divergence-{seed}.wasm"));
                    std::fs::write(&path, &report.wasm).ok();
                    for d in report.divergences() {
                        eprintln!(
                            "seed {seed} ({:?}): {d} (module: {})",
                            report.flavor,
                            path.display()
                        );
                    }
                }
                summary.add(&report);
            }
            summary.print();
            if summary.divergent_seeds.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        "bytes" => {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let mut failures = 0;
            for seed in first..=last {
                if let Err(e) = fuzz::bytes::run_seed(seed, dir.path()) {
                    eprintln!("{e}");
                    failures += 1;
                }
            }
            println!("{} inputs, {failures} failures", last - first + 1);
            if failures == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        other => {
            eprintln!("fuzz: unknown target `{other}`");
            ExitCode::FAILURE
        }
    }
}
