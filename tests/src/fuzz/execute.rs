//! Running one module in each mode: every export called in order, with the same arguments,
//! in one instance; then the exported memories and globals.

use super::generate::{argument, Rng};
use runtime_support::BoundsStrategy;
use waot::{Error, Extern, Linker, Store, Val};
use waot_compiler::{compile_to_file, CompileOptions, OptLevel};

/// Where the module runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Interpreter,
    AotO0,
    AotDefault,
    /// Explicit bounds checks, and metered (`--fuel --interruptible`, no limit set): metering
    /// must not change what a program computes.
    AotExplicitBounds,
    /// The default level with every other function cold by a profile (compiled at the light
    /// tier, in partitions of their own) and every function counting for a profile
    /// (`--profile-generate`): neither may change what a program computes.
    AotProfiled,
}

impl Mode {
    pub const ALL: [Mode; 5] = [
        Mode::Interpreter,
        Mode::AotO0,
        Mode::AotDefault,
        Mode::AotExplicitBounds,
        Mode::AotProfiled,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Mode::Interpreter => "interpreter",
            Mode::AotO0 => "aot -O0",
            Mode::AotDefault => "aot -O2",
            Mode::AotExplicitBounds => "aot --bounds-checks explicit --fuel --interruptible",
            Mode::AotProfiled => "aot -O2 --profile-generate, half the functions cold",
        }
    }

    fn options(self) -> Option<CompileOptions> {
        let opt_level = match self {
            Mode::Interpreter => return None,
            Mode::AotO0 => OptLevel::O0,
            _ => OptLevel::O2,
        };
        let bounds = match self {
            Mode::AotExplicitBounds => BoundsStrategy::Explicit,
            _ => BoundsStrategy::GuardPages,
        };
        Some(CompileOptions {
            opt_level,
            bounds,
            metering: runtime_support::artifact::Metering {
                fuel: self == Mode::AotExplicitBounds,
                interruptible: self == Mode::AotExplicitBounds,
                custom_costs: false,
                profile: self == Mode::AotProfiled,
            },
            ..Default::default()
        })
    }
}

/// What a value became, comparable across modes (references by kind and nullness only).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Num(Val),
    FuncRef(bool),
    ExternRef(Option<u64>),
    ExnRef(bool),
    /// An `i31`'s value, or a struct or array by kind (objects of different stores have no
    /// identity in common).
    I31(u32),
    Object(Option<waot::AnyKind>),
}

impl From<Val> for Value {
    fn from(v: Val) -> Value {
        match v {
            Val::FuncRef(f) => Value::FuncRef(f.is_some()),
            Val::ExternRef(e) => Value::ExternRef(e),
            Val::ExnRef(e) => Value::ExnRef(e.is_some()),
            Val::AnyRef(Some(a)) if a.as_i31().is_some() => Value::I31(a.as_i31().unwrap()),
            Val::AnyRef(a) => Value::Object(a.map(|a| a.kind())),
            other => Value::Num(other),
        }
    }
}

/// The interpreter's trap for a table index out of range, which native code reports as
/// `TableOutOfBounds` or, for `call_indirect`, `UndefinedElement`.
pub const TABLE_TRAPS: &str = "TableOutOfBounds or UndefinedElement";

/// How one call ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Call {
    Returned(Vec<Value>),
    /// A trap's kind (`TrapCode` name), or `exception` for an uncaught exception.
    Trapped(String),
}

/// Everything a mode observed.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// `Err` when instantiation failed (a trap in the start function or a segment).
    pub instantiated: Result<(), String>,
    pub calls: Vec<(String, Call)>,
    pub memories: Vec<Vec<u8>>,
    pub globals: Vec<(String, Value)>,
}

/// The exports to call, with their arguments: drawn once, used by every mode.
pub fn calls_for(wasm: &[u8], seed: u64) -> Vec<(String, Vec<Val>)> {
    let Ok(info) = runtime_support::ModuleInfo::parse(wasm) else {
        return Vec::new();
    };
    let mut rng = Rng::new(seed ^ 0x5eed);
    info.exports
        .iter()
        .filter(|e| e.kind == wasmparser::ExternalKind::Func)
        .map(|e| {
            let ty = info.func_type(e.index);
            let args = ty.params().iter().map(|t| argument(&mut rng, *t)).collect();
            (e.name.clone(), args)
        })
        .collect()
}

fn trap_kind(e: Error) -> String {
    match e {
        Error::Trap(t) if t.exception().is_some() => "exception".into(),
        Error::Trap(t) => match t.code {
            Some(code) => format!("{code:?}"),
            None => format!("host: {}", t.message),
        },
        other => format!("error: {other}"),
    }
}

/// Runs `wasm` in `mode`; `None` when the mode cannot run it (the interpreter and exception
/// handling).
pub fn run(
    wasm: &[u8],
    mode: Mode,
    calls: &[(String, Vec<Val>)],
    dir: &std::path::Path,
) -> Result<Option<Outcome>, String> {
    run_with(wasm, mode, calls, dir, false)
}

/// Runs `wasm` in native `mode` with every linear-memory load kept (`keep_every_load`): the
/// evidence that a divergence of an optimized mode comes from deleted loads.
pub fn run_keeping_loads(
    wasm: &[u8],
    mode: Mode,
    calls: &[(String, Vec<Val>)],
    dir: &std::path::Path,
) -> Result<Option<Outcome>, String> {
    run_with(wasm, mode, calls, dir, true)
}

fn run_with(
    wasm: &[u8],
    mode: Mode,
    calls: &[(String, Vec<Val>)],
    dir: &std::path::Path,
    keep_every_load: bool,
) -> Result<Option<Outcome>, String> {
    match mode.options() {
        None => interpret(wasm, calls),
        // The default build is instantiated once before, so that its instance gets its data
        // from the module's copy-on-write memory images (`memory_image.rs`), which the other
        // modes, instantiated once, copy.
        Some(mut options) => {
            options.keep_every_load = keep_every_load;
            if mode == Mode::AotProfiled {
                options.profile = Some(std::sync::Arc::new(half_cold(wasm)?));
            }
            native(wasm, &options, calls, dir, mode == Mode::AotDefault).map(Some)
        }
    }
}

/// A profile in which the functions of even index never ran and the others ran much.
fn half_cold(wasm: &[u8]) -> Result<runtime_support::profile::Profile, String> {
    use runtime_support::profile::{body_hashes, Profile};
    let info = runtime_support::ModuleInfo::parse(wasm).map_err(|e| e.message)?;
    let hashes = body_hashes(&info, wasm).into_iter().enumerate();
    Ok(Profile::from_counts(
        hashes.map(|(i, h)| (i as u32, h, (i as u64 % 2) * 1_000_000)),
    ))
}

fn native(
    wasm: &[u8],
    options: &CompileOptions,
    calls: &[(String, Vec<Val>)],
    dir: &std::path::Path,
    second_instance: bool,
) -> Result<Outcome, String> {
    let so = dir.join("module.so");
    compile_to_file(wasm, "fuzz", &so, options).map_err(|e| format!("compile: {e}"))?;
    let module = waot::Module::from_file(&so).map_err(|e| format!("load: {e}"))?;
    if second_instance {
        let _first = Linker::new().instantiate(&mut Store::new(), &module);
    }
    let mut store = Store::new();
    let mut outcome = Outcome {
        instantiated: Ok(()),
        calls: Vec::new(),
        memories: Vec::new(),
        globals: Vec::new(),
    };
    let instance = match Linker::new().instantiate(&mut store, &module) {
        Ok(i) => i,
        Err(e) => {
            outcome.instantiated = Err(trap_kind(e));
            return Ok(outcome);
        }
    };
    for (name, args) in calls {
        let f = store
            .get_func(instance, name)
            .ok_or_else(|| format!("no export {name}"))?;
        let call = match store.call(f, args) {
            Ok(values) => Call::Returned(values.into_iter().map(Value::from).collect()),
            Err(e) => Call::Trapped(trap_kind(e)),
        };
        outcome.calls.push((name.clone(), call));
    }
    for name in store.export_names(instance) {
        match store.get_export(instance, &name) {
            Some(Extern::Memory(m)) => {
                outcome.memories.push(memory_bytes(&store, m)?);
            }
            Some(Extern::Global(g)) => {
                let v = store.global_get(g).map_err(|e| e.to_string())?;
                outcome.globals.push((name, v.into()));
            }
            _ => {}
        }
    }
    Ok(outcome)
}

fn interpret(wasm: &[u8], calls: &[(String, Vec<Val>)]) -> Result<Option<Outcome>, String> {
    if waot::interp::check_supported(wasm).is_err() {
        return Ok(None);
    }
    let engine = waot::interp::engine();
    // The module is valid and supported: failing to load it is a finding, not a skip.
    let module = waot::interp::module(&engine, wasm)
        .map_err(|e| format!("the interpreter cannot load a valid module: {e}"))?;
    let mut store = wasmi::Store::new(&engine, ());
    let mut outcome = Outcome {
        instantiated: Ok(()),
        calls: Vec::new(),
        memories: Vec::new(),
        globals: Vec::new(),
    };
    let linker = wasmi::Linker::<()>::new(&engine);
    let instance = match waot::interp::instantiate(&linker, &mut store, &module) {
        Ok(i) => i,
        Err(e) => {
            outcome.instantiated = Err(interpreted_trap(trap_kind(e)));
            return Ok(Some(outcome));
        }
    };
    for (name, args) in calls {
        let call = match waot::interp::call(&mut store, &instance, name, args) {
            Ok(values) => Call::Returned(values.into_iter().map(Value::from).collect()),
            Err(e) => Call::Trapped(interpreted_trap(trap_kind(e))),
        };
        outcome.calls.push((name.clone(), call));
    }
    // In the module's export order, as the native modes report them.
    let names: Vec<String> = runtime_support::ModuleInfo::parse(wasm)
        .map(|info| info.exports.iter().map(|e| e.name.clone()).collect())
        .unwrap_or_default();
    for name in names {
        let Some(export) = instance.wasmi().get_export(&store, &name) else {
            continue;
        };
        match export {
            wasmi::Extern::Memory(m) => outcome.memories.push(m.data(&store).to_vec()),
            wasmi::Extern::Global(g) => {
                let v = waot::interp::from_wasmi(&g.get(&store), &store);
                outcome.globals.push((name, v.into()));
            }
            _ => {}
        }
    }
    Ok(Some(outcome))
}

/// The interpreter's trap `kind` as compared: its one table trap stands for either of native
/// code's (ARCHITECTURE.md, "The interpreter").
fn interpreted_trap(kind: String) -> String {
    match kind.as_str() {
        "TableOutOfBounds" => TABLE_TRAPS.into(),
        _ => kind,
    }
}

/// A memory's bytes: a shared one (threads) through `SharedMemory::read`.
fn memory_bytes(store: &waot::Store, m: waot::Memory) -> Result<Vec<u8>, String> {
    match store.shared_memory(m).map_err(|e| e.to_string())? {
        Some(shared) => {
            let mut bytes = vec![0; shared.len() as usize];
            shared.read(0, &mut bytes).ok_or("shared memory shrank")?;
            Ok(bytes)
        }
        None => Ok(store.memory_data(m).map_err(|e| e.to_string())?.to_vec()),
    }
}
