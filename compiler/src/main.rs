//! `waotc INPUT.wasm OUTPUT.so`: compile a WebAssembly module ahead of time.

use clap::Parser;
use runtime_support::artifact::Metering;
use runtime_support::BoundsStrategy;
use std::path::PathBuf;
use std::process::ExitCode;
use waot_compiler::{compile_to_file, CompileOptions, OptLevel};

#[derive(Parser)]
#[command(
    name = "waotc",
    version,
    about = "Compile a WebAssembly module ahead of time to a native shared object",
    after_help = "Examples:\n  waotc app.wasm app.so\n  waotc -O3 --emit-llvm app.ll app.wasm app.so\n  waotc --bounds-checks explicit app.wasm app.so\n  waotc --time app.wasm app.so"
)]
struct Cli {
    /// The WebAssembly module (binary format).
    input: PathBuf,
    /// The shared object to write.
    output: PathBuf,
    /// Optimization level: 0, 1, 2, 3, s or z (as -O0 .. -Oz).
    #[arg(short = 'O', default_value = "2", value_name = "LEVEL")]
    opt: String,
    /// How memory accesses are kept in bounds: `guard-pages` (a 4 GiB reservation, no checks
    /// in code) or `explicit` (a compare before every access).
    #[arg(long, default_value = "guard-pages", value_name = "STRATEGY")]
    bounds_checks: String,
    /// Write the optimized LLVM IR to FILE.
    #[arg(long, value_name = "FILE")]
    emit_llvm: Option<PathBuf>,
    /// Target triple (default: the host).
    #[arg(long, value_name = "TRIPLE")]
    target: Option<String>,
    /// CPU to compile for: `native` (default, the host's), `generic` or an LLVM CPU name.
    #[arg(long, default_value = "native")]
    cpu: String,
    /// Extra CPU features, e.g. `+avx2,-avx512f`.
    #[arg(long, default_value = "", value_name = "FEATURES")]
    features: String,
    /// Accept a post-2.0 proposal (e.g. `tail-call`, `extended-const`); repeatable.
    #[arg(long = "enable", value_name = "PROPOSAL")]
    enable: Vec<String>,
    /// Compiler threads (default: one per core). The output is the same for any count.
    #[arg(short = 'j', long = "jobs", value_name = "N", default_value_t = 0)]
    jobs: usize,
    /// No progress bar (it shows only on a terminal, for large modules).
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Print the time of each phase, the cache's reuse and the slowest functions to stderr.
    #[arg(long, short = 'v', visible_alias = "verbose")]
    time: bool,
    /// Compile every partition, reading and writing no cached object (the cache is
    /// `~/.cache/waot/objects`, or under `$XDG_CACHE_HOME`).
    #[arg(long)]
    no_cache: bool,
    /// Meter fuel: every basic block subtracts its instruction count from the store's fuel,
    /// so that the host can bound the work a guest does (`wrun --fuel N`).
    #[arg(long)]
    fuel: bool,
    /// Poll for interrupts at loop headers too. Not needed to interrupt: any code stops by
    /// signal. Polls stop loops even on a thread that blocks the signal (SIGURG), at a cost
    /// (docs/PERFORMANCE.md).
    #[arg(long)]
    interruptible: bool,
    /// With --fuel: charge each operator what this table says (lines `OPERATOR COST`,
    /// `default COST`; see README) instead of one per instruction.
    #[arg(long, value_name = "FILE", requires = "fuel")]
    fuel_costs: Option<PathBuf>,
    /// Count each function's entries and loop iterations, for `wrun --profile-out FILE`; a
    /// build for profiling runs (compile it at -O0 to get it fast: the counts are the same).
    #[arg(long)]
    profile_generate: bool,
    /// Compile the functions that no run in this profile (`wrun --profile-out`) reached with
    /// the light tier, and the rest at the level asked for. Functions the profile does not
    /// know (new or changed) are compiled as hot. Repeatable: the profiles' counts add up.
    #[arg(long, value_name = "FILE", conflicts_with = "profile_generate")]
    profile: Vec<PathBuf>,
    /// With --profile: also compile with the light tier the least-run functions that together
    /// account for at most N thousandths of the profile's counted events (default 0: only
    /// functions no run reached).
    #[arg(long, value_name = "N", requires = "profile", default_value_t = runtime_support::profile::DEFAULT_COLD_PER_MILLE, value_parser = clap::value_parser!(u64).range(0..=1000))]
    profile_cold: u64,
}

/// Parses the command line; a usage error is one line and exit status 1, like any bad input.
fn parse_cli() -> Result<Cli, ExitCode> {
    Cli::try_parse().map_err(|e| {
        use clap::error::ErrorKind;
        if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
            e.exit();
        }
        eprintln!(
            "waotc: {} (see waotc --help)",
            runtime_support::one_line_usage_error(&e.to_string())
        );
        ExitCode::FAILURE
    })
}

fn main() -> ExitCode {
    let cli = match parse_cli() {
        Ok(c) => c,
        Err(code) => return code,
    };
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("waotc: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli) -> Result<(), String> {
    let opt_level = OptLevel::from_name(&cli.opt).ok_or_else(|| {
        format!(
            "unknown optimization level `-O{}` (use 0, 1, 2, 3, s or z)",
            cli.opt
        )
    })?;
    let bounds = BoundsStrategy::from_name(&cli.bounds_checks).ok_or_else(|| {
        format!(
            "unknown bounds strategy `{}` (use guard-pages or explicit)",
            cli.bounds_checks
        )
    })?;
    let source = cli.input.display().to_string();
    let wasm = std::fs::read(&cli.input).map_err(|e| format!("{source}: {e}"))?;
    let fuel_costs = match &cli.fuel_costs {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let table = waot_compiler::FuelCosts::parse(&text)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            Some(table)
        }
        None => None,
    };
    let mut profile: Option<runtime_support::profile::Profile> = None;
    for path in &cli.profile {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let one = runtime_support::profile::Profile::parse(&text)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        profile.get_or_insert_with(Default::default).merge(&one);
    }
    let options = CompileOptions {
        opt_level,
        bounds,
        target: cli.target.clone(),
        cpu: cli.cpu.clone(),
        features: cli.features.clone(),
        emit_llvm: cli.emit_llvm.clone(),
        enabled_proposals: cli.enable.clone(),
        threads: cli.jobs,
        progress: !cli.quiet,
        partition_bytes: 0,
        keep_every_load: false,
        fuel_strips: true,
        metering: Metering {
            fuel: cli.fuel,
            interruptible: cli.interruptible,
            custom_costs: fuel_costs.is_some(),
            profile: cli.profile_generate,
        },
        fuel_costs,
        cache_dir: match cli.no_cache {
            true => None,
            false => waot_compiler::default_cache_dir(),
        },
        profile: profile.map(std::sync::Arc::new),
        profile_cold_per_mille: cli.profile_cold,
    };
    let report =
        compile_to_file(&wasm, &source, &cli.output, &options).map_err(|e| e.to_string())?;
    if cli.time {
        eprint!("{}", report.render(&source, 10));
    }
    // A profile of another module (or of nothing) changes nothing: say so, once.
    if let Some(p) = report
        .profile
        .filter(|p| p.hot.0 + p.cold.0 == 0 && p.unknown.0 > 0)
    {
        eprintln!(
            "waotc: warning: {source}: none of its {} functions is in the profile (a profile of another module?); all compiled as hot",
            p.unknown.0
        );
    }
    Ok(())
}
