use crate::translate::fuel_costs::FuelCosts;
use runtime_support::artifact::Metering;
use runtime_support::BoundsStrategy;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptLevel {
    O0,
    O1,
    O2,
    O3,
    Os,
    Oz,
}

impl OptLevel {
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s.trim_start_matches('-') {
            "O0" | "0" => OptLevel::O0,
            "O1" | "1" => OptLevel::O1,
            "O2" | "2" => OptLevel::O2,
            "O3" | "3" => OptLevel::O3,
            "Os" | "s" => OptLevel::Os,
            "Oz" | "z" => OptLevel::Oz,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            OptLevel::O0 => "O0",
            OptLevel::O1 => "O1",
            OptLevel::O2 => "O2",
            OptLevel::O3 => "O3",
            OptLevel::Os => "Os",
            OptLevel::Oz => "Oz",
        }
    }
}

#[derive(Clone, Debug)]
pub struct CompileOptions {
    pub opt_level: OptLevel,
    pub bounds: BoundsStrategy,
    /// LLVM target triple; `None` is the host.
    pub target: Option<String>,
    /// `native`, `generic` or an LLVM CPU name.
    pub cpu: String,
    /// Extra LLVM features, e.g. `+avx2,-avx512f`.
    pub features: String,
    /// Write the optimized IR here.
    pub emit_llvm: Option<PathBuf>,
    /// Post-2.0 proposals to accept, by wasmparser feature name (e.g. `tail-call`).
    pub enabled_proposals: Vec<String>,
    /// Compiler threads; 0 is one per core. The output does not depend on it.
    pub threads: usize,
    /// Show a progress bar on a terminal for long compiles.
    pub progress: bool,
    /// Wasm code bytes per partition (0: the default, 256 KiB). Partitions are what threads
    /// compile in parallel; fewer, larger ones inline more.
    pub partition_bytes: usize,
    /// Keep every linear-memory load, in order, as `-O0` does, at any level (slower code). For
    /// diagnosis: a build whose behaviour changes with it lost a trap to a deleted load
    /// (ARCHITECTURE.md, "Known limitations"); the fuzzer classifies divergences with it.
    pub keep_every_load: bool,
    /// Fuel metering and interrupt polling at loop headers (`--fuel`, `--interruptible`).
    pub metering: Metering,
    /// With fuel metered, run loops without calls or inner loops in strips whose headers are
    /// not checked (`translate::fuel_strips`), so that LLVM can still vectorize them. Off,
    /// every loop header checks the fuel; the fuel used and where it runs out are the same.
    /// For tests and measurements.
    pub fuel_strips: bool,
    /// What each operator costs in fuel (`--fuel-costs`): one per instruction without.
    /// Needs `metering.fuel`; sets `metering.custom_costs` in the artifact.
    pub fuel_costs: Option<std::sync::Arc<FuelCosts>>,
    /// Where partitions' objects are cached between compiles (`waotc` uses
    /// `~/.cache/waot/objects` unless `--no-cache`); `None` compiles everything.
    pub cache_dir: Option<PathBuf>,
    /// What earlier runs used (`--profile`): the functions they hardly ran are compiled at the
    /// light tier (`runtime_support::profile`).
    pub profile: Option<std::sync::Arc<runtime_support::profile::Profile>>,
    /// With a profile, the least-run functions that together account for at most this many
    /// thousandths of its events are cold too (`--profile-cold`); 0, the default, leaves cold
    /// only what never ran.
    pub profile_cold_per_mille: u64,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions {
            opt_level: OptLevel::O2,
            bounds: BoundsStrategy::GuardPages,
            target: None,
            cpu: "native".into(),
            features: String::new(),
            emit_llvm: None,
            enabled_proposals: Vec::new(),
            threads: 0,
            progress: false,
            partition_bytes: 0,
            keep_every_load: false,
            metering: Metering::default(),
            fuel_strips: true,
            fuel_costs: None,
            cache_dir: None,
            profile: None,
            profile_cold_per_mille: runtime_support::profile::DEFAULT_COLD_PER_MILLE,
        }
    }
}
