//! The interpreter fallback: wasmi, behind the same import layer as the AOT path. WASI comes
//! from the same `wasi::FUNCTIONS` table; values and traps are converted to this crate's
//! `Val` and `Trap`, so callers see one behaviour in both modes.

mod instrument;
mod limiter;
mod segments;

use crate::api::handles::FuncKind;
use crate::vm::code_registry::FrameInfo;
use crate::wasi::{self, WasiCtx};
use crate::{Error, Func, Trap, TrapCode, Val};
use instrument::Hidden;
pub use limiter::{MemoryLimiter, SharedMemoryLimit};
use runtime_support::ModuleInfo;
use std::sync::Arc;
/// The interpreter's crate, for embedders of its objects (the C API).
pub use wasmi;
use wasmi::{AsContext, AsContextMut, Config, Engine, Extern, Linker, Store};

/// wasmi's limit on nested calls; the instrumentation's frame stack is sized for it.
const MAX_RECURSION_DEPTH: usize = 200_000;

/// The most frames a backtrace shows, as in native code.
const MAX_FRAMES: u32 = 64;

/// A module ready for the interpreter: instrumented to leave backtraces (`instrument`).
#[derive(Clone)]
pub struct Module {
    module: wasmi::Module,
    hidden: Hidden,
    /// The module's name in backtraces.
    name: Arc<str>,
    /// Its structure: segments (`segments`) and function names.
    info: Arc<ModuleInfo>,
    /// The module as given, for a variant with passive segments (`segments`).
    wasm: Arc<[u8]>,
}

impl Module {
    /// The module under `name` in backtraces (native code uses the artifact's file name).
    pub fn named(mut self, name: &str) -> Self {
        self.name = name.into();
        self
    }

    pub fn wasmi(&self) -> &wasmi::Module {
        &self.module
    }

    /// The module's structure, as parsed from its wasm.
    pub fn info(&self) -> &ModuleInfo {
        &self.info
    }

    /// Its name in backtraces.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The sizes in bytes of the memories an instance has beyond the module's own (the
    /// instrumentation's, made as it is instantiated, and never grown).
    pub fn hidden_memory_sizes(&self) -> &[u64] {
        &self.hidden.memory_sizes
    }
}

/// An instance of a [`Module`].
#[derive(Clone)]
pub struct Instance {
    /// Unique in the process: wasmi's handles have no equality (`InterpretedFunc::via`).
    id: usize,
    instance: wasmi::Instance,
    /// The instrumentation's frame stack (`instrument::Hidden`), looked up once.
    frames: Option<Frames>,
    /// Its profile counters, in a module prepared with `prepare_profiled`.
    profile: Option<wasmi::Memory>,
    name: Arc<str>,
    info: Arc<ModuleInfo>,
    budget: SharedBudget,
}

/// What guest code may use in the interpreter (`wrun --fuel`, `--time-limit`), with an
/// engine from `engine_metered`: wasmi counts fuel in its own units (about one per
/// instruction, and the backtrace instrumentation's too), given in slices so that the deadline
/// is checked between them.
#[derive(Clone, Copy, Debug, Default)]
pub struct Budget {
    /// Fuel left; `None` is unlimited.
    pub fuel: Option<u64>,
    pub deadline: Option<std::time::Instant>,
    /// Fuel used so far.
    pub consumed: u64,
}

/// Fuel per slice: between two looks at the clock (about a millisecond of work).
const FUEL_SLICE: u64 = 1 << 20;

/// The address of an instance's profile counters: a memory the instrumentation sized once,
/// which never grows, so the address holds as long as the instance's store.
#[derive(Clone, Copy, Debug)]
pub struct ProfileCounters {
    data: usize,
    len: usize,
}

impl ProfileCounters {
    /// Defined function `i`'s count (0 past the counters).
    ///
    /// # Safety
    /// The instance's store must be alive, and no guest code of it running.
    pub unsafe fn read(&self, i: usize) -> u64 {
        if (i + 1) * 8 > self.len {
            return 0;
        }
        // SAFETY (the caller's): the memory is alive and unchanging; unaligned reads are fine.
        u64::from_le_bytes(unsafe {
            std::ptr::read_unaligned((self.data + i * 8) as *const [u8; 8])
        })
    }
}

#[derive(Clone, Copy)]
struct Frames {
    stack: wasmi::Memory,
    depth: wasmi::Global,
    leaf: wasmi::Global,
}

impl Instance {
    pub fn wasmi(&self) -> &wasmi::Instance {
        &self.instance
    }

    /// A number no other instance of the process has.
    pub fn id(&self) -> usize {
        self.id
    }

    /// Bytes of the guest's exported linear memories (the interpreter reaches no other), the
    /// instrumentation's frame stack and profile counters left out.
    pub fn memory_bytes<T>(&self, store: &wasmi::Store<T>) -> u64 {
        let frames = self.frames.map(|f| f.stack.data_ptr(store));
        let counters = self.profile.map(|m| m.data_ptr(store));
        self.instance
            .exports(store)
            .filter_map(|e| e.into_memory())
            .filter(|m| Some(m.data_ptr(store)) != frames && Some(m.data_ptr(store)) != counters)
            .map(|m| m.data_size(store) as u64)
            .sum()
    }

    /// The module's structure.
    pub fn info(&self) -> &ModuleInfo {
        &self.info
    }

    /// How often each defined function was entered and its loops iterated, in the order of
    /// definition, when the module was prepared with `prepare_profiled`: the counts code
    /// compiled with `waotc --profile-generate` keeps.
    pub fn profile_counts<T>(&self, store: &wasmi::Store<T>) -> Option<Vec<u64>> {
        let data = self.profile?.data(store);
        let n = self.info.num_defined_funcs() as usize;
        let counts = data.chunks_exact(8).take(n);
        Some(
            counts
                .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
                .collect(),
        )
    }

    /// Where `profile_counts` reads, for reading the counts from another thread
    /// (`ProfileCounters::read`).
    pub fn profile_counters<T>(&self, store: &wasmi::Store<T>) -> Option<ProfileCounters> {
        let memory = self.profile?;
        Some(ProfileCounters {
            data: memory.data_ptr(store) as usize,
            len: memory.data_size(store),
        })
    }

    /// What the instance's guest code has left and used.
    pub fn budget(&self) -> Budget {
        *self.budget.lock()
    }
}

/// An engine that accepts what the AOT path accepts (validation itself is done by
/// `runtime_support::validate` first, with exactly the same features; exceptions, which wasmi
/// lacks, are refused before).
pub fn engine() -> Engine {
    Engine::new(&config())
}

/// An engine whose stores count fuel, for a `Budget`.
pub fn engine_metered() -> Engine {
    let mut c = config();
    c.consume_fuel(true);
    Engine::new(&c)
}

fn config() -> Config {
    let mut c = Config::default();
    c.wasm_simd(true)
        .wasm_tail_call(true)
        .wasm_extended_const(true)
        .wasm_memory64(true)
        // Guest modules' memories, and the ring of frames the instrumentation adds after them.
        .wasm_multi_memory(true)
        .wasm_custom_page_sizes(true)
        .wasm_wide_arithmetic(true)
        .wasm_relaxed_simd(true)
        // About what native code gets from a thread's 8 MiB stack; wasmi's defaults (1000
        // frames) stop ordinary recursive C programs. Both stacks are heap memory that grows
        // on demand.
        .set_max_recursion_depth(MAX_RECURSION_DEPTH)
        .set_max_stack_height(256 << 20);
    c
}

pub fn to_wasmi(v: &Val, store: impl AsContextMut) -> Result<wasmi::Val, Error> {
    to_wasmi_in(v, store, 0, None)
}

/// The wasmi object made for each host value an externref carried into a store (`to_wasmi_in`),
/// so that passing the same value again makes no new one: wasmi frees none of them before the
/// store, and a host that passes its handle at every call would otherwise grow the store
/// without bound.
#[derive(Default)]
pub struct ExternRefs(std::collections::HashMap<u64, wasmi::ExternRef>);

impl ExternRefs {
    /// How many host values have an object.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// `to_wasmi`, taking back the functions of the interpreter's store that `owner` names
/// (`InterpretedFunc::owner`, never 0): a function of another store is refused, since wasmi
/// panics at it. With `refs` (the store's own), an externref's object is made once per value.
pub fn to_wasmi_in(
    v: &Val,
    store: impl AsContextMut,
    owner: usize,
    refs: Option<&std::cell::RefCell<ExternRefs>>,
) -> Result<wasmi::Val, Error> {
    Ok(match *v {
        Val::FuncRef(Some(Func {
            kind: FuncKind::Interpreted(f),
            ..
        })) => {
            if owner == 0 || f.owner != owner {
                return Err(Error::Usage(
                    "a function reference of another store's interpreted code".into(),
                ));
            }
            wasmi::Val::FuncRef(wasmi::Nullable::Val(f.func))
        }
        Val::I32(x) => wasmi::Val::I32(x),
        Val::I64(x) => wasmi::Val::I64(x),
        Val::F32(b) => wasmi::Val::F32(wasmi::F32::from_bits(b)),
        Val::F64(b) => wasmi::Val::F64(wasmi::F64::from_bits(b)),
        Val::V128(b) => wasmi::Val::V128(b.into()),
        Val::FuncRef(None) => wasmi::Val::FuncRef(wasmi::Nullable::Null),
        Val::ExternRef(None) => wasmi::Val::ExternRef(wasmi::Nullable::Null),
        Val::ExternRef(Some(n)) => wasmi::Val::ExternRef(wasmi::Nullable::Val(match refs {
            Some(refs) => *refs
                .borrow_mut()
                .0
                .entry(n)
                .or_insert_with(|| wasmi::ExternRef::new(store, n)),
            None => wasmi::ExternRef::new(store, n),
        })),
        Val::ExnRef(_) => {
            return Err(Error::Usage(
                "the interpreter does not support exception references".into(),
            ))
        }
        Val::AnyRef(_) => {
            return Err(Error::Usage(
                "the interpreter does not support GC references".into(),
            ))
        }
        Val::FuncRef(Some(_)) => {
            return Err(Error::Usage(
                "function references cannot be passed to the interpreter".into(),
            ))
        }
    })
}

pub fn from_wasmi(v: &wasmi::Val, store: impl AsContext) -> Val {
    from_wasmi_in(v, store, 0, 0)
}

/// `from_wasmi` for the interpreter's store that `owner` names (`to_wasmi_in`), leaving it
/// through the instance whose id is `via` (`InterpretedFunc`).
pub fn from_wasmi_in(v: &wasmi::Val, store: impl AsContext, owner: usize, via: usize) -> Val {
    match v {
        wasmi::Val::I32(x) => Val::I32(*x),
        wasmi::Val::I64(x) => Val::I64(*x),
        wasmi::Val::F32(f) => Val::F32(f.to_bits()),
        wasmi::Val::F64(f) => Val::F64(f.to_bits()),
        wasmi::Val::V128(x) => Val::V128(x.as_u128()),
        wasmi::Val::FuncRef(f) => Val::FuncRef(f.val().map(|f| {
            Func::interpreted(crate::InterpretedFunc {
                owner,
                via,
                func: *f,
            })
        })),
        wasmi::Val::ExternRef(r) => Val::ExternRef(match r {
            wasmi::Nullable::Val(r) => r
                .data(store.as_context())
                .downcast_ref::<u64>()
                .copied()
                .or(Some(u64::MAX)),
            wasmi::Nullable::Null => None,
        }),
    }
}

/// wasmi's error as this crate's: a trap with the same kinds as compiled code, an exit, or a
/// host function's error.
pub fn error(e: wasmi::Error) -> Error {
    if let Some(status) = e.i32_exit_status() {
        return Error::Trap(Trap::exit(status));
    }
    if let Some(HostTrap(trap)) = e.downcast_ref::<HostTrap>() {
        return Error::Trap(trap.clone());
    }
    if let Some(LimitReached(code)) = e.downcast_ref::<LimitReached>() {
        return Error::Trap(Trap::new(*code));
    }
    // wasmi reports fuel that cannot cover a function's first block as an error, not as a
    // resumable call.
    if matches!(e.kind(), wasmi::errors::ErrorKind::ResumableOutOfFuel(_)) {
        return Error::Trap(Trap::new(TrapCode::OutOfFuel));
    }
    if let Some(code) = e.as_trap_code() {
        use wasmi::TrapCode as W;
        let ours = match code {
            W::UnreachableCodeReached => TrapCode::Unreachable,
            W::MemoryOutOfBounds => TrapCode::MemoryOutOfBounds,
            // wasmi has one trap for an out-of-range `call_indirect` (undefined element) and
            // for table accesses out of bounds; its message names both, and so does ours.
            W::TableOutOfBounds => {
                let mut trap = Trap::new(TrapCode::TableOutOfBounds);
                trap.message = "undefined element: out of bounds table access".into();
                return Error::Trap(trap);
            }
            W::IndirectCallToNull => TrapCode::IndirectCallToNull,
            W::IntegerDivisionByZero => TrapCode::IntegerDivisionByZero,
            W::IntegerOverflow => TrapCode::IntegerOverflow,
            W::BadConversionToInteger => TrapCode::BadConversionToInteger,
            W::StackOverflow => TrapCode::StackOverflow,
            W::BadSignature => TrapCode::BadSignature,
            _ => return Error::Trap(Trap::host(e.to_string())),
        };
        return Error::Trap(Trap::new(ours));
    }
    match e.kind() {
        wasmi::errors::ErrorKind::Linker(_) | wasmi::errors::ErrorKind::Instantiation(_) => {
            let text = e.to_string();
            // Out-of-bounds segments at instantiation are traps in WebAssembly 2.0.
            if text.contains("out of bounds") {
                let code = if text.contains("table") {
                    TrapCode::TableOutOfBounds
                } else {
                    TrapCode::MemoryOutOfBounds
                };
                return Error::Trap(Trap::new(code));
            }
            Error::Link(text)
        }
        _ => Error::Trap(Trap::host(e.to_string())),
    }
}

/// What an interpreted WASI program's store holds: its WASI state and its memory limit.
pub struct InterpData {
    pub wasi: WasiCtx,
    pub limiter: MemoryLimiter,
}

impl InterpData {
    /// A store for `wasi`, whose memories may hold `max_memory` bytes together (the
    /// instrumentation's left out: instantiate through `InterpData::instantiate_observed`).
    pub fn store(engine: &Engine, wasi: WasiCtx, max_memory: Option<u64>) -> Store<InterpData> {
        let data = InterpData {
            wasi,
            limiter: MemoryLimiter::new(max_memory),
        };
        let mut store = Store::new(engine, data);
        store.limiter(|d| &mut d.limiter);
        store
    }

    /// [`instantiate_observed`], with the memories the instrumentation adds uncounted.
    pub fn instantiate_observed(
        linker: &Linker<InterpData>,
        store: &mut Store<InterpData>,
        module: &Module,
        budget: Budget,
        before_start: impl FnOnce(&Instance, &Store<InterpData>),
    ) -> Result<Instance, Error> {
        store.data_mut().limiter.expect_instance_of(module);
        let instance = instantiate_observed(linker, store, module, budget, before_start);
        store.data_mut().limiter.instantiated();
        instance
    }
}

impl AsMut<WasiCtx> for InterpData {
    fn as_mut(&mut self) -> &mut WasiCtx {
        &mut self.wasi
    }
}

impl AsMut<WasiCtx> for WasiCtx {
    fn as_mut(&mut self) -> &mut WasiCtx {
        self
    }
}

/// Defines every WASI function in an interpreter linker whose store data holds the WASI context.
pub fn add_wasi<T: AsMut<WasiCtx> + 'static>(linker: &mut Linker<T>) -> Result<(), Error> {
    for f in wasi::FUNCTIONS {
        linker
            .func_new(
                wasi::MODULE,
                f.name,
                wasi_type(f),
                move |mut caller, args, results| {
                    let memory = guest_memory(&caller)?;
                    let (bytes, ctx) = memory.data_and_store_mut(&mut caller);
                    results[0] = wasi_dispatch(f, ctx.as_mut(), bytes, args);
                    Ok(())
                },
            )
            .map_err(|e| Error::Link(e.to_string()))?;
    }
    let exit = wasmi::FuncType::new([wasmi::ValType::I32], []);
    linker
        .func_new(wasi::MODULE, "proc_exit", exit, |_, args, _| {
            proc_exit(args)
        })
        .map_err(|e| Error::Link(e.to_string()))?;
    Ok(())
}

/// WASI function `name` (of `wasi::MODULE`) for interpreted guests, on a context that the
/// functions of several instances share (the C API's). None for a name WASI does not have.
pub fn wasi_func<T>(
    store: impl AsContextMut<Data = T>,
    name: &str,
    ctx: Arc<std::sync::Mutex<WasiCtx>>,
) -> Option<wasmi::Func> {
    if name == "proc_exit" {
        let exit = wasmi::FuncType::new([wasmi::ValType::I32], []);
        return Some(wasmi::Func::new(store, exit, |_, args, _| proc_exit(args)));
    }
    let f = wasi::FUNCTIONS.iter().find(|f| f.name == name)?;
    Some(wasmi::Func::new(
        store,
        wasi_type(f),
        move |mut caller, args, results| {
            let memory = guest_memory(&caller)?;
            let bytes = memory.data_mut(&mut caller);
            let mut ctx = ctx.lock().unwrap_or_else(|p| p.into_inner());
            results[0] = wasi_dispatch(f, &mut ctx, bytes, args);
            Ok(())
        },
    ))
}

fn wasi_type(f: &wasi::WasiFunction) -> wasmi::FuncType {
    let params: Vec<wasmi::ValType> = f.params.iter().map(|t| to_wasmi_type(*t)).collect();
    wasmi::FuncType::new(params, [wasmi::ValType::I32])
}

/// The memory WASI reads and writes: the caller's export `memory`.
fn guest_memory<T>(caller: &wasmi::Caller<'_, T>) -> Result<wasmi::Memory, wasmi::Error> {
    match caller.get_export("memory") {
        Some(Extern::Memory(m)) => Ok(m),
        _ => Err(wasmi::Error::new(
            "WASI needs the module to export its memory as `memory`",
        )),
    }
}

fn wasi_dispatch(
    f: &wasi::WasiFunction,
    ctx: &mut WasiCtx,
    memory: &mut [u8],
    args: &[wasmi::Val],
) -> wasmi::Val {
    let raw: Vec<u64> = args
        .iter()
        .map(|a| match a {
            wasmi::Val::I32(x) => *x as u32 as u64,
            wasmi::Val::I64(x) => *x as u64,
            _ => 0,
        })
        .collect();
    wasmi::Val::I32(wasi::dispatch(f, ctx, memory, &raw))
}

fn proc_exit(args: &[wasmi::Val]) -> Result<(), wasmi::Error> {
    let wasmi::Val::I32(code) = args[0] else {
        unreachable!("validated signature")
    };
    Err(wasmi::Error::i32_exit(code))
}

pub fn to_wasmi_type(t: wasmparser::ValType) -> wasmi::ValType {
    match t {
        wasmparser::ValType::I32 => wasmi::ValType::I32,
        wasmparser::ValType::I64 => wasmi::ValType::I64,
        wasmparser::ValType::F32 => wasmi::ValType::F32,
        wasmparser::ValType::F64 => wasmi::ValType::F64,
        wasmparser::ValType::V128 => wasmi::ValType::V128,
        wasmparser::ValType::Ref(r) if r.is_func_ref() => wasmi::ValType::FuncRef,
        wasmparser::ValType::Ref(_) => wasmi::ValType::ExternRef,
    }
}

/// Compiles (validates, instruments and translates) `wasm` for the interpreter after
/// validating it with exactly the AOT path's features.
pub fn module(engine: &Engine, wasm: &[u8]) -> Result<Module, Error> {
    module_with(engine, wasm, false)
}

/// [`module`], its instances counting for a profile (`Instance::profile_counts`).
pub fn module_profiled(engine: &Engine, wasm: &[u8]) -> Result<Module, Error> {
    module_with(engine, wasm, true)
}

fn module_with(engine: &Engine, wasm: &[u8], profile: bool) -> Result<Module, Error> {
    runtime_support::validate::validate(wasm, &[]).map_err(|e| Error::Load(e.to_string()))?;
    check_supported(wasm).map_err(Error::Load)?;
    prepare_with(engine, wasm, profile)
}

/// [`module`] for a `wasm` that its caller validated and checked already.
pub fn prepare(engine: &Engine, wasm: &[u8]) -> Result<Module, Error> {
    prepare_with(engine, wasm, false)
}

fn prepare_with(engine: &Engine, wasm: &[u8], profile: bool) -> Result<Module, Error> {
    let (instrumented, hidden) =
        instrument::instrument_with(wasm, instrument::PassiveFrom::NONE, profile)
            .map_err(Error::Load)?;
    let module =
        wasmi::Module::new(engine, &instrumented).map_err(|e| Error::Load(e.to_string()))?;
    let info = ModuleInfo::parse(wasm).map_err(|e| Error::Load(e.to_string()))?;
    Ok(Module {
        module,
        hidden,
        name: "".into(),
        info: Arc::new(info),
        wasm: wasm.into(),
    })
}

/// Instantiates `module` and runs its start function; a trap there has its backtrace.
pub fn instantiate<T>(
    linker: &Linker<T>,
    store: &mut Store<T>,
    module: &Module,
) -> Result<Instance, Error> {
    instantiate_limited(linker, store, module, Budget::default())
}

/// `instantiate`, with the start function and every later call limited by `budget` (the
/// engine must be `engine_metered` for a limit to hold).
pub fn instantiate_limited<T>(
    linker: &Linker<T>,
    store: &mut Store<T>,
    module: &Module,
    budget: Budget,
) -> Result<Instance, Error> {
    instantiate_observed(linker, store, module, budget, |_, _| {})
}

/// [`instantiate_limited`], calling `before_start` with the instance before its start
/// function runs (`wrun` learns where its profile counters are).
pub fn instantiate_observed<T>(
    linker: &Linker<T>,
    store: &mut Store<T>,
    module: &Module,
    budget: Budget,
    before_start: impl FnOnce(&Instance, &Store<T>),
) -> Result<Instance, Error> {
    let budget = Arc::new(Meter::new(budget));
    instantiate_inner(linker, store, module, budget, before_start)
}

/// [`instantiate_limited`], the instance's calls sharing `budget` with others' (the C API's
/// store-wide fuel).
pub fn instantiate_sharing<T>(
    linker: &Linker<T>,
    store: &mut Store<T>,
    module: &Module,
    budget: SharedBudget,
) -> Result<Instance, Error> {
    instantiate_inner(linker, store, module, budget, |_, _| {})
}

/// A budget that several instances' calls draw from.
pub type SharedBudget = Arc<Meter>;

/// A budget and the interruption of the calls that draw from it.
#[derive(Default)]
pub struct Meter {
    pub budget: std::sync::Mutex<Budget>,
    /// A native store's interrupt handle, whose interrupts stop the interpreter's calls too
    /// (the C API's stores have both sides): each stops one call, of either side, the running
    /// one or else the next, within a slice of fuel here (with a metered engine).
    pub interrupts: std::sync::OnceLock<crate::InterruptHandle>,
    /// A native store's fuel, which the budget's fuel is then: calls spend from it (and from
    /// nothing else), so one budget covers the store's compiled code and the interpreter.
    pub fuel_account: std::sync::OnceLock<crate::FuelAccount>,
    /// Asked for at least the given fuel when a call has less left (the native store's refill
    /// callback, `StoreData::refill_fuel_for`): false if the callback said stop (the call then
    /// traps). Called between slices, with the budget unlocked.
    pub refill: std::sync::OnceLock<Box<dyn Fn(u64) -> bool + Send + Sync>>,
    /// The fuel the store's running slice was given, not yet charged to the budget.
    slice: std::sync::atomic::AtomicU64,
    /// Calls running with this meter: more than one when a host function called back in.
    depth: std::sync::atomic::AtomicU32,
}

impl Meter {
    pub fn new(budget: Budget) -> Meter {
        Meter {
            budget: std::sync::Mutex::new(budget),
            ..Meter::default()
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Budget> {
        self.budget.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Charges the running slice, which has `left` of its fuel, to the budget; the slice goes
    /// on from `left`.
    fn charge(&self, left: u64) -> std::sync::MutexGuard<'_, Budget> {
        let given = self.slice.swap(left, std::sync::atomic::Ordering::Relaxed);
        let used = given.saturating_sub(left);
        let mut budget = self.lock();
        budget.consumed += used;
        match self.fuel_account.get() {
            Some(account) => account.spend(used),
            None => {
                if let Some(f) = &mut budget.fuel {
                    *f = f.saturating_sub(used);
                }
            }
        }
        budget
    }

    /// Fuel left; `None` is unlimited.
    fn fuel(&self, budget: &Budget) -> Option<u64> {
        match self.fuel_account.get() {
            Some(account) => Some(account.left()),
            None => budget.fuel,
        }
    }

    fn start_slice(&self, fuel: u64) {
        self.slice.store(fuel, std::sync::atomic::Ordering::Relaxed);
    }

    /// A call entering with this meter's slice running (a host function's call back into
    /// the interpreter): charges what the calling slice used so far, so that the call draws
    /// on what the budget has left; `left` is what that slice has left.
    fn settle(&self, left: u64) {
        drop(self.charge(left));
    }

    /// As that call returns: the calling slice goes on with what it had left, within what the
    /// budget has left now.
    fn resume<T>(&self, store: &mut wasmi::StoreContextMut<'_, T>, left: u64) {
        let fuel = self.fuel(&self.lock()).map_or(left, |f| f.min(left));
        self.start_slice(fuel);
        store.set_fuel(fuel).ok();
    }

    fn interrupted(&self) -> bool {
        self.interrupts.get().is_some_and(|h| h.take())
    }
}

fn instantiate_inner<T>(
    linker: &Linker<T>,
    store: &mut Store<T>,
    module: &Module,
    budget: SharedBudget,
    before_start: impl FnOnce(&Instance, &Store<T>),
) -> Result<Instance, Error> {
    // Segments run no guest code; with a metered engine nothing runs without fuel.
    store.set_fuel(u64::MAX).ok();
    if let Some((passive, code)) = segments::first_out_of_bounds(&module.info, linker, store) {
        // What the failed instantiation writes, from a complete instance (`segments`).
        let profile = module.hidden.profile.is_some();
        let (wasm, _) =
            instrument::instrument_with(&module.wasm, passive, profile).map_err(Error::Load)?;
        let variant = wasmi::Module::new(module.module.engine(), &wasm)
            .map_err(|e| Error::Load(e.to_string()))?;
        linker
            .instantiate_and_start(&mut *store, &variant)
            .map_err(error)?;
        return Err(Error::Trap(Trap::new(code)));
    }
    let instance = linker
        .instantiate_and_start(&mut *store, &module.module)
        .map_err(error)?;
    let hidden = &module.hidden;
    let frames = (|| {
        Some(Frames {
            stack: instance.get_memory(&*store, &hidden.frames)?,
            depth: instance.get_global(&*store, &hidden.depth)?,
            leaf: instance.get_global(&*store, &hidden.leaf)?,
        })
    })();
    let profile = match &hidden.profile {
        Some(name) => Some(
            instance
                .get_memory(&*store, name)
                .ok_or_else(|| Error::Load("the profile counters are missing".into()))?,
        ),
        None => None,
    };
    static NEXT_ID: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
    let instance = Instance {
        id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        instance,
        frames,
        profile,
        name: module.name.clone(),
        info: module.info.clone(),
        budget,
    };
    before_start(&instance, store);
    if let Some(start) = &module.hidden.start {
        let func = instance
            .instance
            .get_func(&*store, start)
            .ok_or_else(|| Error::Load("the instrumented start function is missing".into()))?;
        call_framed(store.as_context_mut(), &instance, func, &[], &mut [])?;
    }
    Ok(instance)
}

/// Calls `func` of `instance` from the host; a trap carries the frames the instrumentation
/// left, innermost first. The frame stack is as it was before afterwards, whatever a trap left
/// on it: a call from a host function that the guest called pushes on top of the guest's
/// frames, which stay intact (and are part of a backtrace from inside, as natively).
fn call_framed<T>(
    mut store: wasmi::StoreContextMut<'_, T>,
    instance: &Instance,
    func: wasmi::Func,
    args: &[wasmi::Val],
    results: &mut [wasmi::Val],
) -> Result<(), Error> {
    let saved = instance
        .frames
        .map(|f| (f.depth.get(&store), f.leaf.get(&store)));
    let outcome = call_within_budget(store.as_context_mut(), instance, func, args, results)
        .map_err(|e| {
            let mut error = error(e);
            if let Error::Trap(trap) = &mut error {
                if trap.exit_status.is_none() {
                    trap.backtrace = backtrace(&store, instance);
                }
            }
            error
        });
    if let (Some(frames), Some((depth, leaf))) = (instance.frames, saved) {
        frames.depth.set(store.as_context_mut(), depth).ok();
        frames.leaf.set(store.as_context_mut(), leaf).ok();
    }
    outcome
}

/// `func.call`, in slices of fuel when the engine is metered: between slices, the budget's
/// fuel and deadline decide whether the call goes on.
///
/// A call may come while another runs in the store (a host function's call back into the
/// interpreter), whose slice's fuel is the store's: with the same meter, that slice is charged
/// first and goes on afterwards with what it had left, within what the budget has left (so
/// the work of both is counted once); with another meter, its fuel is put back as it was.
fn call_within_budget<T>(
    mut store: wasmi::StoreContextMut<'_, T>,
    instance: &Instance,
    func: wasmi::Func,
    args: &[wasmi::Val],
    results: &mut [wasmi::Val],
) -> Result<(), wasmi::Error> {
    use std::sync::atomic::Ordering::Relaxed;
    let Ok(outer_left) = store.get_fuel() else {
        return func.call(store, args, results);
    };
    let meter = &instance.budget;
    let nested = meter.depth.fetch_add(1, Relaxed) > 0;
    if nested {
        meter.settle(outer_left);
    }
    let outcome = metered_call(store.as_context_mut(), meter, func, args, results);
    meter.depth.fetch_sub(1, Relaxed);
    match nested {
        true => meter.resume(&mut store, outer_left),
        false => drop(store.set_fuel(outer_left)),
    }
    outcome
}

fn metered_call<T>(
    mut store: wasmi::StoreContextMut<'_, T>,
    meter: &Meter,
    func: wasmi::Func,
    args: &[wasmi::Val],
    results: &mut [wasmi::Val],
) -> Result<(), wasmi::Error> {
    // The lock is held only between slices: a host function may call into the interpreter
    // again (`call_within_budget`).
    if meter.interrupted() {
        return Err(wasmi::Error::host(LimitReached(TrapCode::Interrupted)));
    }
    let given = meter
        .fuel(&meter.lock())
        .unwrap_or(u64::MAX)
        .min(FUEL_SLICE);
    meter.start_slice(given);
    store.set_fuel(given)?;
    let mut call = func.call_resumable(store.as_context_mut(), args, results);
    loop {
        let mut budget = meter.charge(store.get_fuel().unwrap_or(0));
        let resumable = match call? {
            wasmi::ResumableCall::Finished => return Ok(()),
            wasmi::ResumableCall::HostTrap(t) => return Err(t.into_host_error()),
            wasmi::ResumableCall::OutOfFuel(t) => t,
        };
        let stopped = |budget: &Budget| {
            meter.interrupted()
                || budget
                    .deadline
                    .is_some_and(|d| std::time::Instant::now() >= d)
        };
        let mut past_deadline = stopped(&budget);
        let need = resumable.required_fuel().max(1);
        let mut fuel = meter.fuel(&budget);
        let mut refused = false;
        if !past_deadline && fuel.is_some_and(|f| f < need) {
            if let Some(refill) = meter.refill.get() {
                // Unlocked: the callback is the embedder's, and may use the store. As in
                // compiled code, a callback that says stop stops the call, whatever fuel it
                // may have set meanwhile; an interrupt meanwhile stops it too.
                drop(budget);
                // The callback may use this wasmi store through the embedder's own pointer
                // (call it, instantiate in it) while `store` is held here.
                crate::vm::escape(&mut store as *mut wasmi::StoreContextMut<'_, T>);
                refused = !refill(need);
                budget = meter.lock();
                fuel = meter.fuel(&budget);
                past_deadline = stopped(&budget);
            }
        }
        let code = match fuel {
            _ if past_deadline => Some(TrapCode::Interrupted),
            _ if refused => Some(TrapCode::OutOfFuel),
            Some(f) if f < need => Some(TrapCode::OutOfFuel),
            _ => None,
        };
        if let Some(code) = code {
            return Err(wasmi::Error::host(LimitReached(code)));
        }
        let given = fuel.unwrap_or(u64::MAX).min(FUEL_SLICE.max(need));
        meter.start_slice(given);
        drop(budget);
        store.set_fuel(given)?;
        call = resumable.resume(store.as_context_mut(), results);
    }
}

/// A limit of the `Budget` stopped the call (carried through wasmi's error as a host error).
#[derive(Debug)]
struct LimitReached(TrapCode);

impl std::fmt::Display for LimitReached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.message())
    }
}

impl wasmi::errors::HostError for LimitReached {}

/// A trap of native code that interpreted code called (an embedder's host function), carried
/// through wasmi intact to the interpreter's caller.
#[derive(Debug)]
pub struct HostTrap(pub Trap);

impl std::fmt::Display for HostTrap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0, f)
    }
}

impl wasmi::errors::HostError for HostTrap {}

fn backtrace(store: &impl AsContext, instance: &Instance) -> Vec<FrameInfo> {
    let Some(frames) = instance.frames else {
        return Vec::new();
    };
    let global = |g: wasmi::Global| match g.get(store) {
        wasmi::Val::I32(v) => v as u32,
        _ => 0,
    };
    let (top, leaf) = (global(frames.depth), global(frames.leaf));
    let stack = frames.stack.data(store);
    // The top is only ever masked to the stack's size; clamped all the same, for a bogus one.
    let top = (top & instrument::FRAME_MASK).min((stack.len() / 4).saturating_sub(1) as u32 * 4);
    let pushed = (1..=top / 4).rev().filter_map(|slot| {
        let at = slot as usize * 4;
        Some(u32::from_le_bytes(stack.get(at..at + 4)?.try_into().ok()?))
    });
    let names = &instance.info.func_names;
    leaf.checked_sub(1)
        .into_iter()
        .chain(pushed)
        .take(MAX_FRAMES as usize)
        .map(|func_index| FrameInfo {
            module: instance.name.to_string(),
            func_index,
            func_name: names
                .binary_search_by_key(&func_index, |(i, _)| *i)
                .ok()
                .map(|i| names[i].1.clone()),
        })
        .collect()
}

/// The features the AOT path has and the interpreter lacks.
pub fn check_supported(wasm: &[u8]) -> Result<(), String> {
    match runtime_support::validate::feature_the_interpreter_lacks(wasm) {
        Some(feature) => Err(format!(
            "the module uses {feature}, which the interpreter fallback does not support: \
             run it natively (compile it with waotc for this host)"
        )),
        None => Ok(()),
    }
}

/// Calls `name` in `instance` with `args`; a trap carries the backtrace.
pub fn call<T>(
    store: &mut Store<T>,
    instance: &Instance,
    name: &str,
    args: &[Val],
) -> Result<Vec<Val>, Error> {
    let func = instance
        .instance
        .get_func(&*store, name)
        .ok_or_else(|| Error::Usage(format!("no exported function `{name}`")))?;
    call_func(store.as_context_mut(), Some(instance), func, args)
}

/// Calls `func` with `args` from the host, in a store or in a host function's caller (a call
/// back into the interpreter). `instance`, the function's own when it has one, gives a trap
/// its backtrace and the call its budget.
pub fn call_func<T>(
    store: wasmi::StoreContextMut<'_, T>,
    instance: Option<&Instance>,
    func: wasmi::Func,
    args: &[Val],
) -> Result<Vec<Val>, Error> {
    call_func_in(store, instance, func, args, 0, None)
}

/// `call_func` in the interpreter's store that `owner` names (`to_wasmi_in`): its functions
/// are taken as arguments, and results that are its functions say so.
pub fn call_func_in<T>(
    mut store: wasmi::StoreContextMut<'_, T>,
    instance: Option<&Instance>,
    func: wasmi::Func,
    args: &[Val],
    owner: usize,
    refs: Option<&std::cell::RefCell<ExternRefs>>,
) -> Result<Vec<Val>, Error> {
    let ty = func.ty(&store);
    if args.len() != ty.params().len() {
        return Err(Error::Usage(format!(
            "the function takes {} arguments, given {}",
            ty.params().len(),
            args.len()
        )));
    }
    let wargs = args
        .iter()
        .map(|a| to_wasmi_in(a, &mut store, owner, refs))
        .collect::<Result<Vec<_>, _>>()?;
    let mut results: Vec<wasmi::Val> = ty
        .results()
        .iter()
        .map(|t| wasmi::Val::default_for_ty(*t))
        .collect();
    match instance {
        Some(instance) => {
            call_framed(store.as_context_mut(), instance, func, &wargs, &mut results)?
        }
        None => func
            .call(store.as_context_mut(), &wargs, &mut results)
            .map_err(error)?,
    }
    Ok(results
        .iter()
        .map(|v| from_wasmi_in(v, &store, owner, instance.map_or(0, Instance::id)))
        .collect())
}
