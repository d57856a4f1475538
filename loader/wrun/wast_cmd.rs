//! `wrun wast`: spec scripts, one thread per core.

use crate::WastCli;
use std::path::PathBuf;
use std::process::ExitCode;
use waot::wast::{run_file_with, FileReport, Mode, ProcessCompiler};

fn run_files_in_parallel(files: &[PathBuf], mode: Mode<'_>) -> Vec<FileReport> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let reports: Vec<std::sync::Mutex<Option<FileReport>>> =
        files.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..threads {
            std::thread::Builder::new()
                .stack_size(16 << 20)
                .spawn_scoped(s, || loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(file) = files.get(i) else { break };
                    *reports[i].lock().unwrap() = Some(run_file_with(file, mode));
                })
                .expect("spawn a wast worker");
        }
    });
    reports
        .into_iter()
        .map(|r| r.into_inner().unwrap().expect("every file ran"))
        .collect()
}

pub fn run_wast(cli: WastCli) -> ExitCode {
    let args: Vec<String> = cli
        .enable
        .iter()
        .flat_map(|p| ["--enable".to_string(), p.clone()])
        .collect();
    let compiler;
    let mode = match cli.mode.as_str() {
        "aot" => match ProcessCompiler::beside_current_exe(args) {
            Ok(c) => {
                compiler = c;
                Mode::Aot(&compiler)
            }
            Err(m) => {
                eprintln!("wrun wast: {m}");
                return ExitCode::FAILURE;
            }
        },
        "interp" => Mode::Interp(&cli.enable),
        other => {
            eprintln!("wrun wast: unknown mode `{other}` (aot or interp)");
            return ExitCode::FAILURE;
        }
    };
    let reports = run_files_in_parallel(&cli.files, mode);
    let (mut passed, mut failed) = (0, 0);
    for (file, report) in cli.files.iter().zip(&reports) {
        println!(
            "{}: {} passed, {} failed",
            file.display(),
            report.passed,
            report.failures.len()
        );
        for (line, reason) in &report.failures {
            println!("  line {line}: {reason}");
        }
        passed += report.passed;
        failed += report.failures.len();
    }
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
