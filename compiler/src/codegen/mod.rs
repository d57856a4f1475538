//! Module-level code generation: LLVM set-up, declarations, the symbols the loader reads,
//! optimization and object emission. Function bodies are the translator's business.

pub mod object_cache;
pub(crate) mod partition;
mod pipeline;
mod saturate;
mod support;
mod trampolines;

use crate::report::{defined_index, CompileReport, Phase, PieceTimes};
use crate::{CompileError, CompileOptions, OptLevel};
use inkwell::attributes::AttributeLoc;
use inkwell::context::Context;
use inkwell::module::{Linkage, Module};
use inkwell::targets::{
    CodeModel, InitializationConfig, RelocMode, Target, TargetMachine, TargetTriple,
};
use inkwell::types::{BasicMetadataTypeEnum, BasicType, BasicTypeEnum, FunctionType};
use inkwell::values::{BasicValue, FunctionValue};
use inkwell::{AddressSpace, OptimizationLevel};
pub use partition::Tier;
use runtime_support::artifact::{self, ArtifactHeader};
use runtime_support::{ModuleInfo, VmctxLayout};
use wasmparser::{FuncType, ValType};

/// What every function translation shares: the LLVM module and the module's description.
pub struct ModuleCx<'a, 'ctx> {
    pub context: &'ctx Context,
    pub module: Module<'ctx>,
    pub info: &'a ModuleInfo,
    pub wasm: &'a [u8],
    pub source: &'a str,
    pub layout: VmctxLayout,
    pub options: &'a CompileOptions,
    /// LLVM type of each wasm type index, with the wasm-call ABI.
    pub fn_types: Vec<FunctionType<'ctx>>,
    /// Every defined function declared so far, by defined index (`function`).
    functions: std::cell::RefCell<Vec<Option<FunctionValue<'ctx>>>>,
    /// Function symbols are global (hidden) when other pieces call them.
    shared_symbols: bool,
    /// Name of the stack pointer register for `llvm.read_register`.
    pub sp_register: &'static str,
    /// How many results of the integer class (integers, references) and of the float/vector
    /// class the target returns in registers; more are returned through memory, and such a
    /// call cannot be a guaranteed (`musttail`) tail call.
    pub return_registers: (usize, usize),
    /// The target machine's LLVM feature string (`+sse4.2,...`), for feature-specific lowering.
    pub target_features: String,
    /// With fuel: whether each defined function checks it at entry (`translate::fuel_entry`).
    pub fuel_entry_checks: Option<&'a [bool]>,
}

impl<'a, 'ctx> ModuleCx<'a, 'ctx> {
    pub fn ptr_type(&self) -> inkwell::types::PointerType<'ctx> {
        self.context.ptr_type(AddressSpace::default())
    }

    pub fn val_type(&self, t: ValType) -> BasicTypeEnum<'ctx> {
        match t {
            ValType::I32 => self.context.i32_type().into(),
            ValType::I64 => self.context.i64_type().into(),
            ValType::F32 => self.context.f32_type().into(),
            ValType::F64 => self.context.f64_type().into(),
            ValType::V128 => self.context.i64_type().vec_type(2).into(),
            ValType::Ref(_) => self.ptr_type().into(),
        }
    }

    /// The return type for a result list: none, the value, or a struct of the values.
    pub fn results_type(&self, results: &[ValType]) -> Option<BasicTypeEnum<'ctx>> {
        match results {
            [] => None,
            [t] => Some(self.val_type(*t)),
            many => {
                let fields: Vec<_> = many.iter().map(|t| self.val_type(*t)).collect();
                Some(self.context.struct_type(&fields, false).into())
            }
        }
    }

    /// The wasm-call ABI: `fn(vmctx: ptr, params...) -> results`.
    pub fn wasm_fn_type(&self, ft: &FuncType) -> FunctionType<'ctx> {
        let mut params: Vec<BasicMetadataTypeEnum> = vec![self.ptr_type().into()];
        params.extend(
            ft.params()
                .iter()
                .map(|t| BasicMetadataTypeEnum::from(self.val_type(*t))),
        );
        match self.results_type(ft.results()) {
            None => self.context.void_type().fn_type(&params, false),
            Some(r) => r.fn_type(&params, false),
        }
    }

    /// Attributes of every function in guest code: unwind tables (exceptions unwind through
    /// guest frames) and frame pointers (so the runtime can walk guest frames for a
    /// backtrace), and probes of large frames (so no access skips the stack guard).
    pub fn add_guest_attributes(&self, f: FunctionValue<'ctx>) {
        let uwtable = inkwell::attributes::Attribute::get_named_enum_kind_id("uwtable");
        f.add_attribute(
            AttributeLoc::Function,
            self.context.create_enum_attribute(uwtable, 2),
        );
        for (key, value) in [("probe-stack", "inline-asm"), ("frame-pointer", "non-leaf")] {
            f.add_attribute(
                AttributeLoc::Function,
                self.context.create_string_attribute(key, value),
            );
        }
    }

    /// Defined function `defined`, declared when first asked for: a partition declares only
    /// the functions it defines or calls, not all of the module's (yosys: 46,000 in each of
    /// hundreds of partitions).
    pub fn function(&self, defined: u32) -> FunctionValue<'ctx> {
        if let Some(f) = self.functions.borrow()[defined as usize] {
            return f;
        }
        let index = self.info.num_imported_funcs + defined;
        let ty = self.fn_types[self.info.funcs[index as usize] as usize];
        let name = format!("{}{index}", artifact::FUNC_SYMBOL_PREFIX);
        let linkage = match self.shared_symbols {
            true => Linkage::External,
            false => Linkage::Internal,
        };
        let f = self.module.add_function(&name, ty, Some(linkage));
        f.set_call_conventions(crate::translate::WASM_CALL_CONV);
        if self.shared_symbols {
            f.as_global_value()
                .set_visibility(inkwell::GlobalVisibility::Hidden);
        }
        self.functions.borrow_mut()[defined as usize] = Some(f);
        f
    }

    /// `--profile-generate`'s counters (`profile::SYM_PROFILE_COUNTS`), declared on first use;
    /// the glue gives them their zeros. Protected: exported for the loader, referenced
    /// directly (no GOT load) by the code.
    pub fn profile_counts(&self) -> inkwell::values::GlobalValue<'ctx> {
        use runtime_support::profile::SYM_PROFILE_COUNTS;
        if let Some(g) = self.module.get_global(SYM_PROFILE_COUNTS) {
            return g;
        }
        let ty = self
            .context
            .i64_type()
            .array_type(self.info.num_defined_funcs());
        let g = self.module.add_global(ty, None, SYM_PROFILE_COUNTS);
        g.set_visibility(inkwell::GlobalVisibility::Protected);
        // The loader reads whole aligned words (and refuses a misaligned symbol).
        g.set_alignment(8);
        g
    }

    pub fn add_attribute(&self, f: FunctionValue<'ctx>, name: &str) {
        let kind = inkwell::attributes::Attribute::get_named_enum_kind_id(name);
        f.add_attribute(
            AttributeLoc::Function,
            self.context.create_enum_attribute(kind, 0),
        );
    }
}

/// Metadata kind on every load from linear memory (`translate::memory`): such a load must
/// happen even when its value is unused, since it traps when out of bounds. The name is
/// shared with `cpp/pipeline.cpp`.
pub const MEMORY_ACCESS_METADATA: &str = "waot.memory";

/// The input being compiled, for LLVM's fatal errors (the last one started, when several
/// compile at once in one process).
pub(crate) static CURRENT_SOURCE: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

/// What LLVM calls instead of aborting on an error it cannot recover from (a bug of waot's
/// or of LLVM's for this input): one line naming the file, exit status 1, no core dump.
extern "C" fn llvm_fatal_error(reason: *const std::ffi::c_char) {
    // SAFETY: LLVM passes a NUL-terminated message.
    let reason = unsafe { std::ffi::CStr::from_ptr(reason) }.to_string_lossy();
    let source = CURRENT_SOURCE
        .try_lock()
        .map(|s| s.clone())
        .unwrap_or_default();
    let line = format!(
        "waotc: {source}: internal compiler error in LLVM: {}\n",
        reason.split_whitespace().collect::<Vec<_>>().join(" ")
    );
    // SAFETY: write(2) and _exit(2) are async-signal-safe; other threads may be inside LLVM,
    // so no destructor or atexit handler may run.
    unsafe {
        libc::write(2, line.as_ptr() as *const _, line.len());
        libc::_exit(1);
    }
}

/// LLVM's process-wide options, set once before the first compile. `WAOT_LLVM_ARGS` adds
/// more (space-separated), for experiments.
fn init_llvm_options() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let mut args = vec!["waotc".to_string()];
        if let Ok(extra) = std::env::var("WAOT_LLVM_ARGS") {
            args.extend(extra.split_whitespace().map(str::to_string));
        }
        let c: Vec<std::ffi::CString> = args
            .iter()
            .map(|a| std::ffi::CString::new(a.as_str()).unwrap())
            .collect();
        let ptrs: Vec<*const std::ffi::c_char> = c.iter().map(|a| a.as_ptr()).collect();
        // SAFETY: argv-style array of NUL-terminated strings that outlive the call.
        unsafe {
            llvm_sys::support::LLVMParseCommandLineOptions(
                ptrs.len() as i32,
                ptrs.as_ptr(),
                std::ptr::null(),
            );
            llvm_sys::error_handling::LLVMInstallFatalErrorHandler(Some(llvm_fatal_error));
        }
    });
}

/// Builds the target machine that options ask for (the host when no target is given), with
/// fast code generation for `Tier::Light`.
pub fn target_machine(
    options: &CompileOptions,
    tier: Tier,
) -> Result<(TargetMachine, String, String), String> {
    init_llvm_options();
    Target::initialize_x86(&InitializationConfig::default());
    Target::initialize_aarch64(&InitializationConfig::default());
    let host = TargetMachine::get_default_triple();
    let triple = match &options.target {
        Some(t) => TargetTriple::create(t),
        None => TargetMachine::get_default_triple(),
    };
    let target = Target::from_triple(&triple).map_err(|e| format!("target `{triple}`: {e}"))?;
    let (cpu, mut features) = match options.cpu.as_str() {
        "native" if triple == host => (
            TargetMachine::get_host_cpu_name().to_string(),
            TargetMachine::get_host_cpu_features().to_string(),
        ),
        "native" | "generic" => ("generic".to_string(), String::new()),
        name => (name.to_string(), String::new()),
    };
    if !options.features.is_empty() {
        if !features.is_empty() {
            features.push(',');
        }
        features.push_str(&options.features);
    }
    let level = match options.opt_level {
        _ if tier == Tier::Light => OptimizationLevel::None,
        OptLevel::O0 => OptimizationLevel::None,
        OptLevel::O1 => OptimizationLevel::Less,
        OptLevel::O2 | OptLevel::Os | OptLevel::Oz => OptimizationLevel::Default,
        OptLevel::O3 => OptimizationLevel::Aggressive,
    };
    let machine = target
        .create_target_machine(
            &triple,
            &cpu,
            &features,
            level,
            RelocMode::PIC,
            CodeModel::Default,
        )
        .ok_or_else(|| format!("LLVM cannot create a target machine for `{triple}` cpu `{cpu}`"))?;
    // The header records every feature the code may use, those the CPU name implies included.
    let features = pipeline::enabled_features(&machine);
    Ok((machine, cpu, features))
}

/// Above this size (instructions and switch cases, when the pass is about to run) a function
/// skips the optimizer's superlinear passes (`cpp/budget.cpp`).
pub const PASS_BUDGET: u32 = 20_000;

/// Above this many instructions in one block, a function skips the superlinear passes on
/// blocks (SLP vectorization, dead-store elimination) and gets the fast instruction selector.
pub const BLOCK_BUDGET: u32 = 4_000;

/// Above this many blocks, a function gets the fast code generation (the register allocator
/// is superlinear in them).
pub const BLOCKS_BUDGET: u32 = 2_000;

/// A budget, or the value of `variable` (for measurements; 0 is no limit).
fn budget_from_env(variable: &str, default: u32) -> u32 {
    std::env::var(variable)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What one LLVM module of the artifact holds.
#[derive(Clone)]
pub(crate) struct Piece {
    /// Defined functions translated here, ascending.
    functions: Vec<u32>,
    tier: Tier,
    /// Trampolines, adapters, symbol tables and self-description.
    glue: bool,
    /// Function symbols are global (hidden) when other pieces call them.
    shared_symbols: bool,
}

/// The ELF objects of one compile, in the order they are linked, each written to a temporary
/// file as soon as it is made: a large module's objects (yosys at `-O0`: 1 GB, five times
/// the linked code) are never all in memory at once.
pub struct ObjectFiles {
    _dir: tempfile::TempDir,
    pub paths: Vec<std::path::PathBuf>,
}

/// Translates the whole module and returns ELF objects to link together, in a fixed order,
/// and the metadata header; the times of each phase and function are added to `report`.
pub fn compile_objects(
    wasm: &[u8],
    info: &ModuleInfo,
    source: &str,
    options: &CompileOptions,
    embed_wasm: bool,
    report: &mut CompileReport,
) -> Result<(ObjectFiles, ArtifactHeader), CompileError> {
    let dir =
        tempfile::tempdir().map_err(|e| CompileError::Io(format!("temporary directory: {e}")))?;
    if let Ok(mut current) = CURRENT_SOURCE.lock() {
        *current = source.to_string();
    }
    let (parts, profile) = partition::plan(info, wasm, options);
    report.profile = profile;
    let pieces: Vec<Piece> = if parts.len() == 1 && parts[0].tier == Tier::Full {
        vec![Piece {
            functions: parts[0].functions.clone(),
            tier: Tier::Full,
            glue: true,
            shared_symbols: false,
        }]
    } else {
        let mut p: Vec<Piece> = parts
            .iter()
            .map(|part| Piece {
                functions: part.functions.clone(),
                tier: part.tier,
                glue: false,
                shared_symbols: true,
            })
            .collect();
        p.push(Piece {
            functions: Vec::new(),
            tier: Tier::Full,
            glue: true,
            shared_symbols: true,
        });
        p
    };
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .min(pieces.len())
    .max(1);
    let progress = progress_bar(options, info.bodies.len() as u64, pieces.len());
    // `--emit-llvm` needs every partition's IR: nothing comes from the cache then.
    let cache = options
        .cache_dir
        .as_deref()
        .filter(|_| options.emit_llvm.is_none())
        .map(|dir| object_cache::ObjectCache::new(dir, info, source, options));
    // The largest pieces first, so that a big one does not start last while the other
    // threads idle; results still go in piece order, so the output does not change.
    let cost = |p: &Piece| -> usize {
        let code: usize = p
            .functions
            .iter()
            .map(|&i| info.bodies[i as usize].len())
            .sum();
        match p.tier {
            Tier::Full => code,
            Tier::Light => code / 8,
        }
    };
    let mut order: Vec<usize> = (0..pieces.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(cost(&pieces[i])), i));
    let entry_checks = match options.metering.fuel {
        true => Some(crate::translate::plan_entry_checks(
            wasm,
            info,
            options.fuel_costs.as_deref(),
            source,
        )?),
        false => None,
    };
    let job = Job {
        wasm,
        fuel_entry_checks: entry_checks.as_deref(),
        info,
        source,
        options,
        embed_wasm,
        progress: progress.as_ref(),
        cache: cache.as_ref(),
    };
    let next = std::sync::atomic::AtomicUsize::new(0);
    type Output = Result<
        (
            std::path::PathBuf,
            Option<ArtifactHeader>,
            String,
            PieceTimes,
        ),
        CompileError,
    >;
    let results: Vec<std::sync::Mutex<Option<Output>>> =
        pieces.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..threads {
            let builder = std::thread::Builder::new().stack_size(64 << 20);
            builder
                .spawn_scoped(s, || loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(&i) = order.get(n) else { break };
                    let piece = &pieces[i];
                    let r = compile_piece(&job, piece).and_then(|(object, h, ir, times)| {
                        let path = dir.path().join(format!("part{i}.o"));
                        std::fs::write(&path, object)
                            .map_err(|e| CompileError::Io(format!("{}: {e}", path.display())))?;
                        Ok((path, h, ir, times))
                    });
                    *results[i].lock().unwrap() = Some(r);
                })
                .expect("spawn a compiler thread");
        }
    });
    if let Some(p) = &progress {
        p.finish_and_clear();
    }
    let mut paths = Vec::new();
    let mut header = None;
    let mut ir = String::new();
    let bodies: Vec<usize> = info.bodies.iter().map(|b| b.len()).collect();
    report.partitions = pieces.len();
    report.threads = threads;
    if let Some(c) = &cache {
        use std::sync::atomic::Ordering::Relaxed;
        report.cache = Some((c.counts.hits.load(Relaxed), c.counts.lookups.load(Relaxed)));
        c.prune();
    }
    for r in results {
        let (path, h, text, times) = r.into_inner().unwrap().expect("every piece compiled")?;
        paths.push(path);
        header = header.or(h);
        ir.push_str(&text);
        report.add(&times, info.num_imported_funcs, &bodies);
    }
    if let Some(path) = &options.emit_llvm {
        std::fs::write(path, ir)
            .map_err(|e| CompileError::Io(format!("{}: {e}", path.display())))?;
    }
    let objects = ObjectFiles { _dir: dir, paths };
    Ok((objects, header.expect("the glue piece makes the header")))
}

fn progress_bar(
    options: &CompileOptions,
    functions: u64,
    pieces: usize,
) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !options.progress || !std::io::stderr().is_terminal() || functions < 2000 {
        return None;
    }
    let bar = indicatif::ProgressBar::new(functions);
    let style = indicatif::ProgressStyle::with_template(
        "{prefix} [{bar:40}] {pos}/{len} functions compiled, {msg}, {eta} left",
    )
    .expect("valid template")
    .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix("waotc");
    bar.set_message(format!("{pieces} partitions"));
    Some(bar)
}

/// One LLVM module: translate, optimize, emit.
/// What every piece of one compile shares.
struct Job<'a> {
    wasm: &'a [u8],
    fuel_entry_checks: Option<&'a [bool]>,
    info: &'a ModuleInfo,
    source: &'a str,
    options: &'a CompileOptions,
    embed_wasm: bool,
    progress: Option<&'a indicatif::ProgressBar>,
    cache: Option<&'a object_cache::ObjectCache<'a>>,
}

fn compile_piece(
    job: &Job<'_>,
    piece: &Piece,
) -> Result<(Vec<u8>, Option<ArtifactHeader>, String, PieceTimes), CompileError> {
    let Job {
        wasm,
        fuel_entry_checks,
        info,
        source,
        options,
        embed_wasm,
        progress,
        cache,
    } = *job;
    let mut times = PieceTimes::default();
    let started = std::time::Instant::now();
    let (machine, cpu, features) =
        target_machine(options, piece.tier).map_err(CompileError::Link)?;
    // The glue holds the header (the module's hashes): always made afresh, and cheap.
    let cached = cache.filter(|_| !piece.glue).map(|c| {
        (
            c,
            c.key(piece, wasm, info, &cpu, &features, fuel_entry_checks),
        )
    });
    if let Some((c, key)) = &cached {
        if let Some(object) = c.get(key) {
            if let Some(p) = progress {
                p.inc(piece.functions.len() as u64);
            }
            times.translate = started.elapsed();
            return Ok((object, None, String::new(), times));
        }
    }
    let triple = machine.get_triple();
    let triple_str = triple.as_str().to_string_lossy().into_owned();
    let sp_register = if triple_str.starts_with("aarch64") {
        "sp"
    } else {
        "rsp"
    };
    if !(triple_str.starts_with("x86_64") || triple_str.starts_with("aarch64")) {
        return Err(CompileError::Unsupported {
            source: source.into(),
            message: format!("target `{triple_str}`: only 64-bit x86 and AArch64 are supported"),
        });
    }
    let context = Context::create();
    let module = context.create_module(source);
    module.set_triple(&triple);
    module.set_data_layout(&machine.get_target_data().get_data_layout());
    let mut cx = ModuleCx {
        context: &context,
        module,
        info,
        wasm,
        source,
        layout: info.vmctx_layout(),
        options,
        fn_types: Vec::new(),
        functions: Default::default(),
        shared_symbols: piece.shared_symbols,
        sp_register,
        return_registers: if triple_str.starts_with("aarch64") {
            (8, 8)
        } else {
            (3, 4)
        },
        target_features: features.clone(),
        fuel_entry_checks,
    };
    cx.fn_types = info.types.iter().map(|t| cx.wasm_fn_type(t)).collect();
    declare_functions(&mut cx, &piece.functions);
    for &i in &piece.functions {
        let start = std::time::Instant::now();
        crate::translate::translate_function(&cx, i, info.bodies[i as usize].clone())?;
        let seconds = start.elapsed().as_secs_f64();
        times.functions.push((i, Phase::Translate, seconds));
    }
    let header = if piece.glue {
        trampolines::emit_all(&cx)?;
        support::emit_all(&cx)?;
        emit_personality(&cx)?;
        if options.metering.profile {
            emit_profile_tables(&cx);
        }
        Some(emit_self_description(
            &cx,
            &triple_str,
            &cpu,
            &features,
            embed_wasm,
        )?)
    } else {
        None
    };
    if let Err(e) = cx.module.verify() {
        return Err(CompileError::Internal(format!(
            "{source}: invalid IR: {}",
            e.to_string()
        )));
    }
    times.translate = started.elapsed();
    let imported = info.num_imported_funcs;
    let started = std::time::Instant::now();
    // The light tier promotes locals and cleans up locally, each linear in the function; its
    // loads are all kept, as at -O0, since the fast instruction selector is -O0's.
    let passes = match piece.tier {
        // `WAOT_PASSES` replaces the pipeline, for measurements.
        Tier::Full => std::env::var("WAOT_PASSES")
            .ok()
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| format!("default<{}>", options.opt_level.name())),
        Tier::Light => "function(sroa,early-cse,simplifycfg)".to_string(),
    };
    let keep_every_load =
        options.opt_level == OptLevel::O0 || options.keep_every_load || piece.tier == Tier::Light;
    let mut on_function = |name: &str, seconds: f64| {
        if let Some(i) = defined_index(name, imported) {
            times.functions.push((i, Phase::Optimize, seconds));
        }
    };
    let budgets = pipeline::Budgets {
        passes: budget_from_env("WAOT_PASS_BUDGET", PASS_BUDGET),
        block: budget_from_env("WAOT_BLOCK_BUDGET", BLOCK_BUDGET),
        blocks: budget_from_env("WAOT_BLOCKS_BUDGET", BLOCKS_BUDGET),
    };
    pipeline::optimize(
        &cx.module,
        &machine,
        &passes,
        keep_every_load,
        budgets,
        &mut on_function,
    )
    .map_err(|e| CompileError::Internal(format!("optimizer: {e}")))?;
    if options.opt_level != OptLevel::O0 {
        saturate::form_saturating_adds(&context, &cx.module);
    }
    let ir = if options.emit_llvm.is_some() {
        cx.module.print_to_string().to_string()
    } else {
        String::new()
    };
    times.optimize = started.elapsed();
    let started = std::time::Instant::now();
    let mut on_function = |name: &str, seconds: f64| {
        if let Some(i) = defined_index(name, imported) {
            times.functions.push((i, Phase::Codegen, seconds));
            if let Some(p) = progress {
                p.inc(1);
            }
        }
    };
    let object = pipeline::emit_object(&cx.module, &machine, &mut on_function)
        .map_err(|e| CompileError::Internal(format!("code generation: {e}")))?;
    times.codegen = started.elapsed();
    if let Some((c, key)) = &cached {
        c.put(key, &object);
    }
    if let Some(p) = progress {
        // Functions inlined everywhere and deleted were never emitted: they are done too.
        let emitted = times
            .functions
            .iter()
            .filter(|(_, phase, _)| *phase == Phase::Codegen)
            .count();
        p.inc((piece.functions.len() - emitted.min(piece.functions.len())) as u64);
    }
    Ok((object, header, ir, times))
}

/// Where each defined function starts on x86-64, whose front ends (many of them) fetch and
/// cache decoded code in 32-byte windows: at LLVM's default 16 bytes, a small hot function's
/// place decided its speed (the `recursion` benchmark ran 18% slower for a function 16 bytes
/// off, with identical code; docs/PERFORMANCE.md, "Functions on 32-byte boundaries"). Padding
/// costs about 8 bytes per function. Other targets and `-Os`/`-Oz` keep LLVM's choice.
const X86_64_FUNCTION_ALIGN: u32 = 32;

/// Declares the functions in `here`, which will get bodies, in index order; others are
/// declared as calls need them (`ModuleCx::function`).
fn declare_functions(cx: &mut ModuleCx<'_, '_>, here: &[u32]) {
    *cx.functions.get_mut() = vec![None; cx.info.num_defined_funcs() as usize];
    // The triple the target machine resolved (the host's without `--target`); the size
    // levels keep LLVM's alignment, as they ask for less code.
    let triple = cx.module.get_triple();
    let align = triple.as_str().to_bytes().starts_with(b"x86_64")
        && !matches!(cx.options.opt_level, OptLevel::Os | OptLevel::Oz);
    for &i in here {
        let f = cx.function(i);
        // Traps leave by longjmp, never by unwinding; large frames are probed so that no
        // access skips the stack guard. No tail calls: turning `(call $self)` into a jump would
        // make runaway recursion loop forever instead of exhausting the stack, as wasm requires.
        // The translator lifts this from functions with `return_call`, whose calls marked
        // `tail` LLVM honours only where tail calls are enabled.
        cx.add_guest_attributes(f);
        if align {
            f.as_global_value().set_alignment(X86_64_FUNCTION_ALIGN);
        }
        let tail = cx
            .context
            .create_string_attribute("disable-tail-calls", "true");
        f.add_attribute(AttributeLoc::Function, tail);
    }
}

/// The symbols and sections through which the loader finds and checks the code. Without
/// `embed_wasm` (universal files, where the module is outside) the wasm section is empty; the
/// skeleton, which loading reads, is always there.
fn emit_self_description(
    cx: &ModuleCx<'_, '_>,
    triple: &str,
    cpu: &str,
    features: &str,
    embed_wasm: bool,
) -> Result<ArtifactHeader, CompileError> {
    use runtime_support::memory_image::{self, IMAGE_ALIGN};
    let plan = memory_image::plan(cx.info);
    let imaged: Vec<u32> = plan.iter().map(|l| l.memory).collect();
    let skeleton = runtime_support::skeleton::skeleton(cx.wasm, &imaged)
        .map_err(|e| CompileError::Internal(format!("the module's skeleton: {e}")))?;
    let mut images_bytes = Vec::new();
    let mut images = Vec::new();
    for layout in &plan {
        let at = images_bytes.len();
        images_bytes.resize(at + layout.len as usize, 0);
        memory_image::fill(layout, cx.info, cx.wasm, &mut images_bytes[at..]);
        images.push(artifact::ImageEntry {
            memory: layout.memory,
            memory_offset: layout.start,
            section_offset: at as u64,
            len: layout.len,
        });
    }
    let names = runtime_support::skeleton::names(cx.wasm)
        .map_err(|e| CompileError::Internal(format!("the module's names: {e}")))?;
    let funcs: Vec<_> = (0..cx.info.num_defined_funcs())
        .map(|i| cx.function(i).as_global_value().as_pointer_value())
        .collect();
    add_offset_table(cx, artifact::SYM_FUNCTIONS, &funcs);

    let header = ArtifactHeader {
        abi_version: runtime_support::ABI_VERSION,
        compiler_version: env!("CARGO_PKG_VERSION").into(),
        target_triple: triple.into(),
        cpu: cpu.into(),
        cpu_features: features.into(),
        opt_level: cx.options.opt_level.name().into(),
        bounds: cx.options.bounds,
        metering: runtime_support::artifact::Metering {
            // What the code was compiled with decides, whatever the flag says.
            custom_costs: cx.options.metering.fuel && cx.options.fuel_costs.is_some(),
            ..cx.options.metering
        },
        wasm_len: cx.wasm.len() as u64,
        wasm_hash: artifact::content_hash(cx.wasm),
        skeleton_len: skeleton.len() as u64,
        skeleton_hash: artifact::content_hash(&skeleton),
        names_len: names.len() as u64,
        names_hash: artifact::content_hash(&names),
        images_len: images_bytes.len() as u64,
        images_hash: artifact::content_hash(&images_bytes),
        images,
    };
    add_bytes(cx, "waot_meta", artifact::META_SECTION, &header.encode());
    add_bytes(
        cx,
        artifact::SYM_WASM,
        artifact::WASM_SECTION,
        if embed_wasm { cx.wasm } else { &[] },
    );
    add_bytes(
        cx,
        artifact::SYM_SKELETON,
        artifact::SKELETON_SECTION,
        &skeleton,
    );
    add_bytes(cx, artifact::SYM_NAMES, artifact::NAMES_SECTION, &names);
    // Aligned in the file as in memory, so that the loader maps each image from the file
    // (and not at all when empty, which would only pad the file).
    let images_global = add_bytes(
        cx,
        artifact::SYM_IMAGES,
        artifact::IMAGES_SECTION,
        &images_bytes,
    );
    if !images_bytes.is_empty() {
        images_global.set_alignment(IMAGE_ALIGN as u32);
    }
    Ok(header)
}

/// The personality stub every landing pad names: it jumps through a pointer the loader sets
/// (see `runtime_support::exception`), so the artifact itself links against nothing.
fn emit_personality(cx: &ModuleCx<'_, '_>) -> Result<(), CompileError> {
    use runtime_support::exception::SYM_PERSONALITY_TARGET;
    let ptr = cx.ptr_type();
    let target = cx.module.add_global(ptr, None, SYM_PERSONALITY_TARGET);
    target.set_initializer(&ptr.const_null());
    let f = crate::translate::personality(cx);
    // Outside `.text`, the guest code the loader registers: the unwinder calls the stub, and
    // an interrupt's signal landing in it must not take it for guest code to stop.
    f.set_section(Some(runtime_support::exception::PERSONALITY_SECTION));
    let builder = cx.context.create_builder();
    builder.position_at_end(cx.context.append_basic_block(f, "entry"));
    let callee = builder
        .build_load(ptr, target.as_pointer_value(), "personality")?
        .into_pointer_value();
    let args: Vec<inkwell::values::BasicMetadataValueEnum> = f
        .get_param_iter()
        .map(inkwell::values::BasicMetadataValueEnum::from)
        .collect();
    let call = builder.build_indirect_call(f.get_type(), callee, &args, "")?;
    call.set_tail_call_kind(inkwell::values::LLVMTailCallKind::LLVMTailCallKindMustTail);
    let result = call.try_as_basic_value().basic().expect("an i32");
    builder.build_return(Some(&result))?;
    Ok(())
}

/// `--profile-generate`'s counters, zero, and each function's body hash, for the loader to
/// write a profile (`runtime_support::profile`).
fn emit_profile_tables(cx: &ModuleCx<'_, '_>) {
    use runtime_support::profile::{body_hashes, SYM_PROFILE_HASHES};
    let i64t = cx.context.i64_type();
    let counts = cx.profile_counts();
    counts.set_initializer(&counts.get_value_type().into_array_type().const_zero());
    let hashes: Vec<_> = body_hashes(cx.info, cx.wasm)
        .into_iter()
        .map(|h| i64t.const_int(h, false))
        .collect();
    let table = cx.module.add_global(
        i64t.array_type(hashes.len() as u32),
        None,
        SYM_PROFILE_HASHES,
    );
    table.set_initializer(&i64t.const_array(&hashes));
    table.set_constant(true);
    table.set_alignment(8);
}

/// A table of code addresses stored as each one's distance from the table itself (`i64`), so
/// that the linker resolves every entry and the loader applies no relocation to it: the pages
/// stay clean and shared between processes. The loader adds the table's address back.
pub fn add_offset_table<'ctx>(
    cx: &ModuleCx<'_, 'ctx>,
    name: &str,
    values: &[inkwell::values::PointerValue<'ctx>],
) {
    let i64t = cx.context.i64_type();
    let global = cx
        .module
        .add_global(i64t.array_type(values.len() as u32), None, name);
    let base = global.as_pointer_value().const_to_int(i64t);
    let offsets: Vec<_> = values
        .iter()
        .map(|v| v.const_to_int(i64t).const_sub(base))
        .collect();
    global.set_initializer(&i64t.const_array(&offsets).as_basic_value_enum());
    global.set_constant(true);
}

fn add_bytes<'ctx>(
    cx: &ModuleCx<'_, 'ctx>,
    name: &str,
    section: &str,
    bytes: &[u8],
) -> inkwell::values::GlobalValue<'ctx> {
    let value = cx.context.const_string(bytes, false);
    let global = cx.module.add_global(value.get_type(), None, name);
    global.set_initializer(&value);
    global.set_constant(true);
    global.set_section(Some(section));
    global.set_alignment(1);
    global
}
