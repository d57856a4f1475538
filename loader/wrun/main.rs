//! `wrun`: run a waot artifact as a WASI command, call one of its exports, or run spec
//! scripts (`wrun wast`).

mod cli_values;
mod ending;
mod run;
mod stats;
mod wast_cmd;

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

const RUN_HELP: &str = "\
Examples:
  wrun app.so arg1 arg2                  run the WASI command `_start` with arguments
  wrun --dir . --dir /data:/srv/data app.so
                                         preopen ./ as `.` and host /srv/data as `/data`
  wrun --env HOME=/home app.so -- --flag give the program an environment; `--` ends wrun's options
  wrun app.so --invoke add 1 -2          call export `add` with (1, -2), print its results
  wrun --reactor app.so add 1 -2         the same, wasmedge style (`_initialize` runs first)
  wrun --tcplisten 127.0.0.1:8080 srv.so hand the guest a listening socket (sock_accept)
  wrun wast tests/*.wast                 run spec scripts (see `wrun wast --help`)

  wrun --fuel 1000000 --time-limit 2s app.so
                                         stop the guest after 10^6 instructions or 2 seconds

Exit status: the guest's `proc_exit` status, 0 when `_start` returns; 1 for bad input
(missing or foreign file, bad flag, unresolved import, an artifact compiled without the
metering a limit needs); 124 when a limit (--fuel, --time-limit) stops the guest; 134 when
guest code traps (the trap and a wasm backtrace are printed on stderr).";

#[derive(Parser)]
#[command(name = "wrun", version, about = "Run a WebAssembly module compiled by waotc", after_help = RUN_HELP)]
pub struct RunCli {
    /// Preopen a directory: `DIR` (the same name in the guest), `GUEST:HOST` (wasmedge) or
    /// `HOST::GUEST` (wasmtime). Repeatable. Example: --dir .:/tmp/work
    #[arg(long = "dir", value_name = "DIR")]
    pub dirs: Vec<String>,
    /// Set an environment variable for the guest. Repeatable. Example: --env LANG=C
    #[arg(long = "env", value_name = "NAME=VALUE")]
    pub env: Vec<String>,
    /// Listen on a TCP address and hand the socket to the guest (after the directories).
    /// Example: --tcplisten 127.0.0.1:8080
    #[arg(long = "tcplisten", value_name = "ADDR")]
    pub tcp_listen: Vec<String>,
    /// Link every function import nothing provides to a function that traps when called, as
    /// in wasmtime. Example: --trap-unknown-imports
    #[arg(long)]
    pub trap_unknown_imports: bool,
    /// Call this export instead of `_start`; the arguments after the module are its
    /// parameters. Example: --invoke add
    #[arg(long, value_name = "NAME")]
    pub invoke: Option<String>,
    /// Always interpret, even when native code could run. Example: --interp
    #[arg(long = "interp", visible_alias = "force-interpreter")]
    pub interp: bool,
    /// Run native code from a universal wasm even if no trusted key signed it.
    /// Example: --trust-native app.wasm
    #[arg(long)]
    pub trust_native: bool,
    /// Compile a plain wasm ahead of time on first use (with waotc, cached per user) and run
    /// the native code. Example: --aot app.wasm
    #[arg(long)]
    pub aot: bool,
    /// Do not print the one-line notice when a module is interpreted instead of run natively.
    /// Example: -q app.wasm
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// The most stack guest code may use, in bytes, with an optional K, M or G suffix
    /// (default 8M); deeper recursion traps with `call stack exhausted`. Example: --max-stack 1M
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_stack: Option<usize>,
    /// Stop the guest after this much work: one unit per wasm instruction executed. Native
    /// code must be compiled with `waotc --fuel`. Example: --fuel 1000000000
    #[arg(long, value_name = "N")]
    pub fuel: Option<u64>,
    /// Stop the guest after this much wall-clock time: `500ms`, `2s`, `1.5m`. Native code
    /// stops wherever it runs (by a signal), or as a host call it made returns.
    /// Example: --time-limit 10s
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub time_limit: Option<std::time::Duration>,
    /// The most memory the guest's linear memories may hold together, in bytes with an
    /// optional K, M or G suffix; `memory.grow` beyond it returns -1 (the interpreter limits
    /// each memory to it). Its GC heap gets the same limit apart; an allocation beyond it
    /// traps. Example: --max-memory 256M
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_memory: Option<usize>,
    /// Print what the run used on stderr when it ends: wall and CPU time, peak resident
    /// memory, and with metered code (`waotc --fuel`) instructions executed and per second.
    #[arg(long)]
    pub stats: bool,
    /// When the run ends (returning, by `proc_exit` or a trap in the main thread), add how
    /// often each function ran to this profile, for `waotc --profile FILE`; the file is
    /// created, or its counts added to. Needs an artifact compiled with
    /// `waotc --profile-generate`. Example: --profile-out app.profile
    #[arg(long, value_name = "FILE")]
    pub profile_out: Option<std::path::PathBuf>,
    /// Treat the module as a reactor, as in wasmedge: run `_initialize` if exported, then call
    /// the export named by the first argument after the module. Example: --reactor app.so add 1 2
    #[arg(long)]
    pub reactor: bool,
    /// The module: a `.so` or universal wasm made by waotc, or a plain wasm.
    pub module: PathBuf,
    /// The program's arguments, or the export's parameters with --invoke/--reactor (`-1`,
    /// `2.5`, `inf`, `nan` are values, not options).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

#[derive(Parser)]
#[command(
    name = "wrun wast",
    about = "Run WebAssembly spec scripts through the AOT compiler"
)]
pub struct WastCli {
    /// `aot` compiles every module with waotc; `interp` runs them in the interpreter.
    #[arg(long, default_value = "aot")]
    pub mode: String,
    /// Accept a post-2.0 proposal when compiling (passed to waotc --enable).
    #[arg(long = "enable", value_name = "PROPOSAL")]
    pub enable: Vec<String>,
    /// Scripts to run.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// `4096`, `64K`, `8M`, `1G` (binary multiples).
fn parse_size(s: &str) -> Result<usize, String> {
    let (digits, shift) = match s.trim().to_ascii_uppercase().strip_suffix(['K', 'M', 'G']) {
        Some(d) => {
            let unit = s.trim().chars().last().unwrap().to_ascii_uppercase();
            (d.to_string(), [10, 20, 30]["KMG".find(unit).unwrap()])
        }
        None => (s.trim().to_string(), 0),
    };
    digits
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| format!("`{s}` is not a size (e.g. 65536, 512K, 8M)"))
}

/// `500ms`, `2s`, `1.5m`, `1h`, `250us` (a number and a unit).
fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let scale = match unit {
        "ns" => 1e-9,
        "us" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => f64::NAN,
    };
    number
        .parse::<f64>()
        .ok()
        .map(|n| n * scale)
        .and_then(|secs| std::time::Duration::try_from_secs_f64(secs).ok())
        .ok_or_else(|| format!("`{s}` is not a duration (e.g. 500ms, 2s, 1.5m)"))
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
            Ok(cli) => wast_cmd::run_wast(cli),
            Err(code) => code,
        };
    }
    match parse_or_exit::<RunCli>(args) {
        Ok(cli) => run::main(&cli),
        Err(code) => code,
    }
}
