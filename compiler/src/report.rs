//! Where a compile's time went: per phase and per function (`waotc --time`).

use std::time::Duration;

/// The times of one compile. Phase times are summed over the compiler threads, so with
/// several threads they add up to more than the wall time.
#[derive(Clone, Debug, Default)]
pub struct CompileReport {
    /// Validating the module and reading its sections.
    pub validate: Duration,
    /// Lowering wasm to LLVM IR, glue (trampolines, adapters, tables) included.
    pub translate: Duration,
    /// LLVM's optimization pipeline.
    pub optimize: Duration,
    /// Instruction selection, register allocation and object emission.
    pub codegen: Duration,
    /// Linking the objects into a shared object, and signing a universal file.
    pub link: Duration,
    /// From the start of the compile to the artifact written.
    pub wall: Duration,
    /// LLVM modules compiled (in parallel, by `threads` threads).
    pub partitions: usize,
    pub threads: usize,
    /// Partitions whose object came from the cache, of those looked up (`None`: no cache).
    pub cache: Option<(usize, usize)>,
    /// What the profile (`--profile`) said of the functions.
    pub profile: Option<ProfileSummary>,
    /// Every defined function, in index order.
    pub functions: Vec<FunctionTimes>,
    /// Function names from the name section, sorted by index.
    pub names: Vec<(u32, String)>,
}

/// Defined functions (and their code bytes) by what the profile said of them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProfileSummary {
    pub hot: (usize, usize),
    /// Compiled at the light tier.
    pub cold: (usize, usize),
    /// Not in the profile (new or changed since): compiled as hot.
    pub unknown: (usize, usize),
}

/// The time spent on one defined function, in seconds. The optimizer's module-level passes
/// (the inliner, interprocedural constant propagation) are no function's: they are in
/// `CompileReport::optimize` only. A function's code generation time includes that of the
/// functions inlined into it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FunctionTimes {
    /// Its index in the module's function index space (imports first).
    pub index: u32,
    /// The size of its body in the code section.
    pub code_bytes: usize,
    pub translate: f64,
    pub optimize: f64,
    pub codegen: f64,
}

impl FunctionTimes {
    pub fn total(&self) -> f64 {
        self.translate + self.optimize + self.codegen
    }
}

/// What one partition spent, to be added up.
#[derive(Clone, Debug, Default)]
pub(crate) struct PieceTimes {
    pub translate: Duration,
    pub optimize: Duration,
    pub codegen: Duration,
    /// (defined function index, phase, seconds)
    pub functions: Vec<(u32, Phase, f64)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    Translate,
    Optimize,
    Codegen,
}

impl CompileReport {
    /// Adds `piece`'s times; `bodies` are the sizes of the defined functions' bodies.
    pub(crate) fn add(&mut self, piece: &PieceTimes, imported: u32, bodies: &[usize]) {
        if self.functions.len() != bodies.len() {
            self.functions = (0..bodies.len())
                .map(|i| FunctionTimes {
                    index: imported + i as u32,
                    code_bytes: bodies[i],
                    ..Default::default()
                })
                .collect();
        }
        self.translate += piece.translate;
        self.optimize += piece.optimize;
        self.codegen += piece.codegen;
        for &(i, phase, seconds) in &piece.functions {
            let Some(f) = self.functions.get_mut(i as usize) else {
                continue;
            };
            match phase {
                Phase::Translate => f.translate += seconds,
                Phase::Optimize => f.optimize += seconds,
                Phase::Codegen => f.codegen += seconds,
            }
        }
    }

    /// The `n` functions that took longest, slowest first.
    pub fn slowest(&self, n: usize) -> Vec<FunctionTimes> {
        let mut all = self.functions.clone();
        all.sort_by(|a, b| b.total().total_cmp(&a.total()).then(a.index.cmp(&b.index)));
        all.truncate(n);
        all
    }
}

/// The defined-function index of an LLVM function named by `artifact::FUNC_SYMBOL_PREFIX`,
/// given the number of imported functions; `None` for glue.
pub(crate) fn defined_index(name: &str, imported: u32) -> Option<u32> {
    let index: u32 = name
        .strip_prefix(runtime_support::artifact::FUNC_SYMBOL_PREFIX)?
        .parse()
        .ok()?;
    index.checked_sub(imported)
}

impl CompileReport {
    /// The report `waotc --time` prints for `source`, naming functions from the module's
    /// name section where it has one.
    pub fn render(&self, source: &str, slowest: usize) -> String {
        use std::fmt::Write;
        let mut out = format!(
            "waotc: {source}: {} functions, {} code bytes, {} partitions on {} threads\n",
            self.functions.len(),
            self.functions.iter().map(|f| f.code_bytes).sum::<usize>(),
            self.partitions,
            self.threads
        );
        let phases = [
            ("validate", self.validate),
            ("translate", self.translate),
            ("optimize", self.optimize),
            ("codegen", self.codegen),
            ("link", self.link),
        ];
        for (name, time) in phases {
            let _ = writeln!(out, "  {name:<10} {:>9.3} s", time.as_secs_f64());
        }
        if let Some((hits, lookups)) = self.cache {
            let _ = writeln!(
                out,
                "  cache      {hits} of {lookups} partitions reused ({:.0}%)",
                100.0 * hits as f64 / lookups.max(1) as f64
            );
        }
        if let Some(p) = self.profile {
            let _ = writeln!(
                out,
                "  profile    {} hot ({} bytes), {} cold ({} bytes, light tier above -O0), {} not in it ({} bytes, as hot)",
                p.hot.0, p.hot.1, p.cold.0, p.cold.1, p.unknown.0, p.unknown.1
            );
        }
        let _ = writeln!(
            out,
            "  {:<10} {:>9.3} s  (phases add up the threads' time)",
            "wall",
            self.wall.as_secs_f64()
        );
        let _ = writeln!(
            out,
            "  slowest functions: {:>9} {:>9} {:>9} {:>9} {:>9}  function",
            "total s", "translate", "optimize", "codegen", "bytes"
        );
        for f in self.slowest(slowest) {
            let name = match self.names.binary_search_by_key(&f.index, |(i, _)| *i) {
                Ok(i) => runtime_support::printable(&self.names[i].1),
                Err(_) => "".into(),
            };
            let _ = writeln!(
                out,
                "  {:>28.3} {:>9.3} {:>9.3} {:>9.3} {:>9}  {} {name}",
                f.total(),
                f.translate,
                f.optimize,
                f.codegen,
                f.code_bytes,
                f.index
            );
        }
        out
    }
}
