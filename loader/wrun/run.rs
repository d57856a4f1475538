//! Running a module: natively when the artifact fits the host and is trusted, interpreted
//! otherwise; as a WASI command (`_start`) or by calling an export.

use crate::{cli_values, ending, RunCli};
use runtime_support::profile::Profile;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use waot::wasi::{self, WasiConfig, WasiCtx};
use waot::{
    interp, Artifact, ArtifactKind, Error, Extern, Linker, Module, NotNative, Store, Trap,
    TrustPolicy, Val, ValType,
};

/// Exit status when guest code traps (as 128 + SIGABRT, like other runtimes).
const TRAP_EXIT: u8 = 134;

/// Exit status when a limit stops the guest (as `timeout`'s).
pub(crate) const LIMIT_EXIT: u8 = 124;

pub fn main(cli: &RunCli) -> ExitCode {
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::Trap(Trap {
            exit_status: Some(status),
            ..
        })) => ExitCode::from(status as u8),
        Err(Error::Trap(Trap {
            code: Some(code @ (waot::TrapCode::OutOfFuel | waot::TrapCode::Interrupted)),
            ..
        })) => {
            let limit = match code {
                waot::TrapCode::OutOfFuel => format!("--fuel {}", cli.fuel.unwrap_or(0)),
                _ => format!("--time-limit {:?}", cli.time_limit.unwrap_or_default()),
            };
            eprintln!(
                "wrun: {}: stopped: {} ({limit})",
                cli.module.display(),
                code.message()
            );
            ExitCode::from(LIMIT_EXIT)
        }
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

/// An instantiated module, native or interpreted.
trait Runner {
    fn signature(&mut self, name: &str) -> Option<(Vec<ValType>, Vec<ValType>)>;
    fn call(&mut self, name: &str, args: &[Val]) -> Result<Vec<Val>, Error>;
    /// Fuel used, when the code counts it.
    fn fuel_consumed(&self) -> Option<u64>;
    /// Bytes of linear memory the guest holds (its peak: memories never shrink).
    fn memory_bytes(&self) -> u64;
    /// What a unit of `fuel_consumed` is.
    fn fuel_unit(&self) -> &'static str {
        "fuel consumed"
    }
    /// GC collections and their pauses, when the guest allocated GC objects.
    fn gc(&self) -> Option<(waot::GcStats, Vec<std::time::Duration>)> {
        None
    }
    /// Each function's count, from code compiled with `--profile-generate`.
    fn profile(&self) -> Option<Profile> {
        None
    }
    fn has_profile(&self) -> bool {
        false
    }
}

struct Native {
    store: Store,
    instance: waot::Instance,
    module: Module,
    metered: bool,
}

impl Runner for Native {
    fn signature(&mut self, name: &str) -> Option<(Vec<ValType>, Vec<ValType>)> {
        let f = self.store.get_func(self.instance, name)?;
        let sig = self.store.func_signature(f).ok()?;
        Some((sig.params, sig.results))
    }

    fn call(&mut self, name: &str, args: &[Val]) -> Result<Vec<Val>, Error> {
        let f = self
            .store
            .get_func(self.instance, name)
            .ok_or_else(|| Error::Usage(format!("no exported function `{name}`")))?;
        self.store.call(f, args)
    }

    fn fuel_consumed(&self) -> Option<u64> {
        self.metered.then(|| self.store.fuel_consumed())
    }

    fn memory_bytes(&self) -> u64 {
        self.store.stats().memory_bytes
    }

    fn gc(&self) -> Option<(waot::GcStats, Vec<std::time::Duration>)> {
        let stats = self.store.gc_stats();
        (stats.collections > 0 || stats.heap_bytes > 0).then(|| (stats, self.store.gc_pauses()))
    }

    fn profile(&self) -> Option<Profile> {
        self.module.profile()
    }

    fn has_profile(&self) -> bool {
        self.module.has_profile()
    }
}

struct Interpreted {
    store: wasmi::Store<interp::InterpData>,
    instance: interp::Instance,
    /// Each defined function's body hash, when the module counts for `--profile-out`.
    hashes: Option<Vec<u64>>,
}

impl Runner for Interpreted {
    fn signature(&mut self, name: &str) -> Option<(Vec<ValType>, Vec<ValType>)> {
        let ty = self
            .instance
            .wasmi()
            .get_func(&self.store, name)?
            .ty(&self.store);
        let back = |t: &wasmi::ValType| match t {
            wasmi::ValType::I32 => ValType::I32,
            wasmi::ValType::I64 => ValType::I64,
            wasmi::ValType::F32 => ValType::F32,
            wasmi::ValType::F64 => ValType::F64,
            wasmi::ValType::V128 => ValType::V128,
            wasmi::ValType::FuncRef => ValType::Ref(waot::RefType::FUNCREF),
            wasmi::ValType::ExternRef => ValType::Ref(waot::RefType::EXTERNREF),
        };
        Some((
            ty.params().iter().map(back).collect(),
            ty.results().iter().map(back).collect(),
        ))
    }

    fn call(&mut self, name: &str, args: &[Val]) -> Result<Vec<Val>, Error> {
        interp::call(&mut self.store, &self.instance, name, args)
    }

    fn fuel_consumed(&self) -> Option<u64> {
        self.store
            .get_fuel()
            .is_ok()
            .then(|| self.instance.budget().consumed)
    }

    fn memory_bytes(&self) -> u64 {
        self.instance.memory_bytes(&self.store)
    }

    fn fuel_unit(&self) -> &'static str {
        "the interpreter's fuel units: about one per instruction"
    }

    fn profile(&self) -> Option<Profile> {
        let counts = self.instance.profile_counts(&self.store)?;
        let imported = self.instance.info().num_imported_funcs;
        let hashes = self.hashes.as_ref()?;
        Some(interpreted_profile(imported, hashes, counts.into_iter()))
    }

    fn has_profile(&self) -> bool {
        self.hashes.is_some()
    }
}

/// `DIR`, `GUEST:HOST` (wasmedge) or `HOST::GUEST` (wasmtime) as (guest, host).
fn parse_dir(spec: &str) -> (String, std::path::PathBuf) {
    if let Some((host, guest)) = spec.split_once("::") {
        return (guest.to_string(), host.into());
    }
    match spec.split_once(':') {
        Some((guest, host)) => (guest.to_string(), host.into()),
        None => (spec.to_string(), spec.into()),
    }
}

fn wasi_ctx(cli: &RunCli, program_args: &[String]) -> Result<WasiCtx, Error> {
    let mut env = Vec::new();
    for e in &cli.env {
        let (k, v) = e
            .split_once('=')
            .ok_or_else(|| Error::Usage(format!("--env {e}: expected NAME=VALUE")))?;
        env.push((k.to_string(), v.to_string()));
    }
    let mut sockets = Vec::new();
    for addr in &cli.tcp_listen {
        let l = std::net::TcpListener::bind(addr)
            .map_err(|e| Error::Usage(format!("--tcplisten {addr}: {e}")))?;
        sockets.push(l);
    }
    let mut args = vec![cli.module.display().to_string()];
    args.extend(program_args.iter().cloned());
    let config = WasiConfig {
        args,
        env,
        preopen_dirs: cli.dirs.iter().map(|d| parse_dir(d)).collect(),
        preopen_sockets: sockets,
        ..Default::default()
    };
    WasiCtx::new(config).map_err(Error::Usage)
}

/// The profile of an interpreted run: each defined function's hash and count.
fn interpreted_profile(
    imported: u32,
    hashes: &[u64],
    counts: impl Iterator<Item = u64>,
) -> Profile {
    let functions = hashes.iter().zip(counts).enumerate();
    Profile::from_counts(functions.map(|(i, (&hash, count))| (imported + i as u32, hash, count)))
}

fn run(cli: &RunCli) -> Result<(), Error> {
    let started = std::time::Instant::now();
    let mut runner = None;
    let mut outcome = run_with(cli, &mut runner);
    let trapped = matches!(outcome, Err(Error::Trap(_)));
    let counted = || match &runner {
        Some(r) => r.profile(),
        // No instance (its start function trapped, say): what ran is counted all the same.
        None if trapped => ending::counts_at_exit(),
        None => None,
    };
    if let Some(Err(e)) = ending::main_returned(cli.profile_out.as_deref(), counted) {
        // A run that succeeded, `proc_exit(0)` included, fails for want of its profile;
        // another failure is reported as it is, after this line.
        match outcome {
            Ok(())
            | Err(Error::Trap(Trap {
                exit_status: Some(0),
                ..
            })) => {
                outcome = Err(Error::Usage(e));
            }
            _ => eprintln!("wrun: {e}"),
        }
    }
    if cli.stats {
        let r = runner.as_deref();
        let fuel = r.and_then(|r| Some((r.fuel_consumed()?, r.fuel_unit())));
        crate::stats::print(
            started,
            fuel,
            r.map(|r| r.memory_bytes()),
            r.and_then(|r| r.gc()),
        );
    }
    outcome
}

fn run_with(cli: &RunCli, slot: &mut Option<Box<dyn Runner>>) -> Result<(), Error> {
    // `--invoke NAME ARGS...`, or wasmedge's `--reactor MODULE NAME ARGS...`: ARGS are the
    // export's parameters. Otherwise the command `_start`, and ARGS are the program's.
    let invoked: Option<(String, &[String])> = match (&cli.invoke, cli.reactor) {
        (Some(name), _) => Some((name.clone(), &cli.args)),
        (None, true) => cli.args.split_first().map(|(n, rest)| (n.clone(), rest)),
        (None, false) => None,
    };
    let program_args: &[String] = if invoked.is_some() || cli.reactor {
        &[]
    } else {
        &cli.args
    };
    let ctx = wasi_ctx(cli, program_args)?;
    let artifact = Artifact::open(&cli.module)?;
    let runner: Box<dyn Runner> = if cli.interp {
        interpreted(cli, &artifact, ctx)?
    } else if artifact.kind == ArtifactKind::PlainWasm && cli.aot {
        let module = waot::Module::compile_cached(&artifact.wasm()?, &cli.module)?;
        native(cli, module, ctx)?
    } else {
        let policy = TrustPolicy {
            trust_any: cli.trust_native,
            ..TrustPolicy::from_environment()?
        };
        match waot::Module::from_artifact(&artifact, &policy) {
            Ok(module) => native(cli, module, ctx)?,
            Err(NotNative::Refused(e)) => return Err(e),
            Err(NotNative::Fallback(reason)) => {
                if !cli.quiet {
                    eprintln!("wrun: interpreting {}: {reason}", cli.module.display());
                }
                interpreted(cli, &artifact, ctx)?
            }
        }
    };
    let runner = slot.insert(runner);
    if cli.profile_out.is_some() && !runner.has_profile() {
        return Err(Error::Usage(format!(
            "{}: --profile-out needs native code compiled with `waotc --profile-generate`, or the interpreter (--interp)",
            cli.module.display()
        )));
    }
    let Some((name, args)) = invoked else {
        if cli.reactor {
            return initialize_reactor(runner.as_mut());
        }
        if runner.signature("_start").is_none() {
            return Ok(());
        }
        return runner.call("_start", &[]).map(drop);
    };
    initialize_reactor(runner.as_mut())?;
    let (params, _) = runner.signature(&name).ok_or_else(|| {
        Error::Usage(format!(
            "{}: no exported function `{name}`",
            cli.module.display()
        ))
    })?;
    let args =
        cli_values::parse_args(&params, args).map_err(|m| Error::Usage(format!("{name}: {m}")))?;
    for value in runner.call(&name, &args)? {
        println!("{}", cli_values::show(&value));
    }
    Ok(())
}

fn native(cli: &RunCli, module: Module, ctx: WasiCtx) -> Result<Box<dyn Runner>, Error> {
    if let Some(path) = cli.profile_out.clone().filter(|_| module.has_profile()) {
        let counted = module.clone();
        ending::count_at_exit(path, move || counted.profile());
    }
    let mut store = Store::new();
    if let Some(bytes) = cli.max_stack {
        store.set_max_wasm_stack(bytes);
    }
    if let Some(fuel) = cli.fuel {
        store.set_fuel(fuel)?;
    }
    if let Some(bytes) = cli.max_memory {
        store.set_resource_limits(waot::ResourceLimits {
            total_memory_bytes: Some(bytes as u64),
            gc_heap_bytes: Some(bytes as u64),
            ..Default::default()
        });
    }
    if let Some(limit) = cli.time_limit {
        let handle = store.interrupt_handle()?;
        ending::watch_time_limit(cli, limit, move || handle.interrupt());
    }
    let mut linker = Linker::new();
    let ctx = Arc::new(Mutex::new(ctx));
    wasi::add_to_linker(&mut linker, &mut store, ctx.clone());
    if wasi::threads::wanted(&module) {
        wasi::threads::add_to_linker(&mut linker, &mut store, &module, ctx, cli.max_stack)?;
    }
    if cli.trap_unknown_imports {
        for (module_name, name, t) in
            unresolved_functions(&module.info().imports, |m, n| linker.get(m, n).is_some())
        {
            // Canonical types: an import that names a function type links by its id.
            let sig = module.signature(t).expect("a type of the module").clone();
            let message = unresolved_message(&module_name, &name);
            let f = store.func_new(&sig.params, &sig.results, move |_, _, _| {
                Err(unresolved_trap(&message))
            });
            linker.define(&module_name, &name, Extern::Func(f));
        }
    }
    let metered = module.header().metering.fuel;
    let instance = linker.instantiate(&mut store, &module)?;
    Ok(Box::new(Native {
        store,
        instance,
        module,
        metered,
    }))
}

fn interpreted(cli: &RunCli, artifact: &Artifact, ctx: WasiCtx) -> Result<Box<dyn Runner>, Error> {
    if cli.fuel.is_some() && artifact.metering().is_some_and(|m| m.custom_costs) {
        return Err(Error::Usage(format!(
            "{}: its fuel costs come from a table (waotc --fuel-costs), which the interpreter \
             cannot follow: run it natively, or recompile without --fuel-costs",
            cli.module.display()
        )));
    }
    let wasm = &artifact.wasm()?;
    let limited = cli.fuel.is_some() || cli.time_limit.is_some();
    let engine = match limited || cli.stats {
        true => interp::engine_metered(),
        false => interp::engine(),
    };
    let file = cli.module.file_name().unwrap_or_default().to_string_lossy();
    // The interpreter counts what `--profile-generate` code counts, for any module.
    let module = match cli.profile_out {
        Some(_) => interp::module_profiled(&engine, wasm),
        None => interp::module(&engine, wasm),
    };
    let module = module
        .map_err(|e| Error::Load(format!("{}: {e}", cli.module.display())))?
        .named(&file);
    let mut store = interp::InterpData::store(&engine, ctx, cli.max_memory.map(|b| b as u64));
    let mut linker = wasmi::Linker::new(&engine);
    interp::add_wasi(&mut linker)?;
    let info = runtime_support::ModuleInfo::parse(wasm).map_err(|e| Error::Load(e.to_string()))?;
    let missing: Vec<_> = unresolved_functions(&info.imports, wasi::provides);
    for (module_name, name, t) in missing {
        if !cli.trap_unknown_imports {
            return Err(Error::Link(format!(
                "{}: unknown import `{}`.`{}`",
                cli.module.display(),
                runtime_support::printable(&module_name),
                runtime_support::printable(&name)
            )));
        }
        let ty = &info.types[t as usize];
        let wty = wasmi::FuncType::new(
            ty.params().iter().map(|t| interp::to_wasmi_type(*t)),
            ty.results().iter().map(|t| interp::to_wasmi_type(*t)),
        );
        let message = unresolved_message(&module_name, &name);
        linker
            .func_new(&module_name, &name, wty, move |_, _, _| {
                Err(wasmi::Error::new(message.clone()))
            })
            .map_err(|e| Error::Link(e.to_string()))?;
    }
    let budget = interp::Budget {
        fuel: cli.fuel,
        deadline: cli.time_limit.map(|d| std::time::Instant::now() + d),
        consumed: 0,
    };
    if let Some(limit) = cli.time_limit {
        // The budget's deadline stops running guest code (between slices of fuel).
        ending::watch_time_limit(cli, limit, || {});
    }
    let hashes = cli
        .profile_out
        .as_ref()
        .map(|_| runtime_support::profile::body_hashes(&info, wasm));
    let count_at_exit = |instance: &interp::Instance, store: &wasmi::Store<_>| {
        let counters = instance.profile_counters(store);
        if let (Some(path), Some(hashes), Some(counters)) = (&cli.profile_out, &hashes, counters) {
            let (path, hashes) = (path.clone(), hashes.clone());
            let imported = info.num_imported_funcs;
            ending::count_at_exit(path, move || {
                // SAFETY: the counters' memory never grows or moves while the store lives, and
                // the store outlives this: it runs only before the main thread's
                // `ending::main_returned`, which comes before the store is dropped (or never,
                // below). A guest still running (a host call that returned after the limit,
                // before the next fuel slice stopped it) may add to a count as it is read: the
                // read is of whole counts, at worst one behind.
                let counts = (0..hashes.len()).map(|i| unsafe { counters.read(i) });
                Some(interpreted_profile(imported, &hashes, counts))
            });
        }
    };
    let instance = match interp::InterpData::instantiate_observed(
        &linker,
        &mut store,
        &module,
        budget,
        count_at_exit,
    ) {
        Ok(instance) => instance,
        Err(e) => {
            // What the start function counted is read as the run ends, from this store.
            if cli.profile_out.is_some() {
                std::mem::forget(store);
            }
            return Err(e);
        }
    };
    Ok(Box::new(Interpreted {
        store,
        instance,
        hashes,
    }))
}

/// Function imports nothing defines, as (module, name, type index).
fn unresolved_functions(
    imports: &[runtime_support::module_info::Import],
    defined: impl Fn(&str, &str) -> bool,
) -> Vec<(String, String, u32)> {
    imports
        .iter()
        .filter_map(|i| match i.kind {
            runtime_support::module_info::ImportKind::Func(t) if !defined(&i.module, &i.name) => {
                Some((i.module.clone(), i.name.clone(), t))
            }
            _ => None,
        })
        .collect()
}

fn unresolved_message(module: &str, name: &str) -> String {
    format!("call to unresolved import `{module}`.`{name}`")
}

fn unresolved_trap(message: &str) -> Trap {
    let mut trap = Trap::new(waot::TrapCode::UnknownImport);
    trap.message = message.to_string();
    trap
}

/// A reactor's `_initialize`, if it has one, runs before any export is called.
fn initialize_reactor(runner: &mut dyn Runner) -> Result<(), Error> {
    if runner.signature("_initialize").is_some() {
        runner.call("_initialize", &[])?;
    }
    Ok(())
}
