//! `wrun`: run a waot artifact, call one of its exports, or run spec scripts.

mod cli_values;

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;
use waot::wast::{run_file, FileReport, ProcessCompiler};
use waot::{Error, Linker, Module, Store};

/// Exit status when guest code traps (as 128 + SIGABRT, like other runtimes).
const TRAP_EXIT: u8 = 134;

#[derive(Parser)]
#[command(
    name = "wrun",
    version,
    about = "Run a WebAssembly module compiled by waotc",
    after_help = "Examples:\n  wrun app.so                      run _start\n  wrun app.so --invoke add 1 -2    call export `add`, print its results\n  wrun --reactor app.so add 1 -2   the same, wasmedge style\n  wrun wast tests/*.wast            run spec scripts (see `wrun wast --help`)\n\nExit status: 0 on success, 1 for bad input (missing file, bad flag, unresolved import),\n134 when guest code traps (the trap and a wasm backtrace are printed on stderr)."
)]
struct RunCli {
    /// Call this export instead of `_start`; the remaining arguments are its parameters.
    #[arg(long, value_name = "NAME")]
    invoke: Option<String>,
    /// Treat the module as a reactor, as in wasmedge: run `_initialize` if exported, then call
    /// the export named by the first argument after the module (or by --invoke).
    #[arg(long)]
    reactor: bool,
    /// The artifact (`.so` made by waotc).
    module: PathBuf,
    /// Arguments: parameters of the invoked export (`-1`, `2.5`, `inf`, `nan` are values).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

#[derive(Parser)]
#[command(
    name = "wrun wast",
    about = "Run WebAssembly spec scripts through the AOT compiler"
)]
struct WastCli {
    /// `aot` compiles every module with waotc; `interp` is not available yet.
    #[arg(long, default_value = "aot")]
    mode: String,
    /// Accept a post-2.0 proposal when compiling (passed to waotc --enable).
    #[arg(long = "enable", value_name = "PROPOSAL")]
    enable: Vec<String>,
    /// Scripts to run.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// Parses a command line; a usage error is one line and exit status 1, like any bad input.
fn parse_or_exit<T: Parser>(args: Vec<String>) -> Result<T, ExitCode> {
    T::try_parse_from(args).map_err(|e| {
        use clap::error::ErrorKind;
        if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
            e.exit();
        }
        eprintln!(
            "wrun: {} (see wrun --help)",
            runtime_support::one_line_usage_error(&e.to_string())
        );
        ExitCode::FAILURE
    })
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("wast") {
        args.splice(0..2, ["wrun wast".to_string()]);
        return match parse_or_exit::<WastCli>(args) {
            Ok(cli) => run_wast(cli),
            Err(code) => code,
        };
    }
    let cli = match parse_or_exit::<RunCli>(args) {
        Ok(c) => c,
        Err(code) => return code,
    };
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::Trap(trap)) => {
            eprintln!("wrun: trap: {}", trap.message);
            for frame in &trap.backtrace {
                eprintln!("    at {frame}");
            }
            ExitCode::from(TRAP_EXIT)
        }
        Err(e) => {
            eprintln!("wrun: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &RunCli) -> Result<(), Error> {
    let module = Module::from_file(&cli.module)?;
    let mut store = Store::new();
    let instance = Linker::new().instantiate(&mut store, &module)?;
    // `--invoke NAME ARGS...`, or wasmedge's `--reactor MODULE NAME ARGS...`; otherwise the
    // command `_start`, whose arguments are the program's (WASI, later), not parameters.
    let (name, args): (String, &[String]) = match (&cli.invoke, cli.reactor) {
        (Some(name), _) => (name.clone(), &cli.args),
        (None, true) => match cli.args.split_first() {
            Some((name, rest)) => (name.clone(), rest),
            None => return initialize_reactor(&mut store, instance),
        },
        (None, false) => {
            return match store.get_func(instance, "_start") {
                Some(start) => store.call(start, &[]).map(drop),
                None => Ok(()),
            };
        }
    };
    initialize_reactor(&mut store, instance)?;
    let func = store.get_func(instance, &name).ok_or_else(|| {
        Error::Usage(format!(
            "{}: no exported function `{name}`",
            cli.module.display()
        ))
    })?;
    let sig = store.func_signature(func);
    let args = cli_values::parse_args(&sig.params, args)
        .map_err(|m| Error::Usage(format!("{name}: {m}")))?;
    for value in store.call(func, &args)? {
        println!("{}", cli_values::show(&value));
    }
    Ok(())
}

/// A reactor's `_initialize`, if it has one, runs before any export is called.
fn initialize_reactor(store: &mut Store, instance: waot::Instance) -> Result<(), Error> {
    match store.get_func(instance, "_initialize") {
        Some(init) => store.call(init, &[]).map(drop),
        None => Ok(()),
    }
}

/// Runs scripts on one thread per core (each with its own store); reports in file order.
fn run_files_in_parallel(files: &[PathBuf], compiler: &ProcessCompiler) -> Vec<FileReport> {
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
                    *reports[i].lock().unwrap() = Some(run_file(file, compiler));
                })
                .expect("spawn a wast worker");
        }
    });
    reports
        .into_iter()
        .map(|r| r.into_inner().unwrap().expect("every file ran"))
        .collect()
}

fn run_wast(cli: WastCli) -> ExitCode {
    if cli.mode != "aot" {
        eprintln!(
            "wrun wast: mode `{}` is not available yet (only `aot`)",
            cli.mode
        );
        return ExitCode::FAILURE;
    }
    let args: Vec<String> = cli
        .enable
        .iter()
        .flat_map(|p| ["--enable".to_string(), p.clone()])
        .collect();
    let compiler = match ProcessCompiler::beside_current_exe(args) {
        Ok(c) => c,
        Err(m) => {
            eprintln!("wrun wast: {m}");
            return ExitCode::FAILURE;
        }
    };
    let reports = run_files_in_parallel(&cli.files, &compiler);
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
