//! WASI threads (`wasi`.`thread-spawn`): each spawned thread runs in a store of its own, with
//! its own instance of the same module and its own stack limit, sharing the imported shared
//! memories and the WASI context. As the proposal says, a trap or `proc_exit` in any thread
//! ends the whole process.

use super::WasiCtx;
use crate::{Error, Extern, Linker, Module, SharedMemory, Store, StoreData, Trap, Val, ValType};
use runtime_support::module_info::ImportKind;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// The import that spawns a thread, and the export the new thread starts in.
const SPAWN: (&str, &str) = ("wasi", "thread-spawn");
const START: &str = "wasi_thread_start";

/// Stack of a spawned host thread: the guest's limit and room for the host's frames.
const HOST_STACK_SLACK: usize = 4 << 20;

/// What every thread of one program shares.
struct Program {
    module: Module,
    /// Each imported shared memory, with its import names.
    memories: Vec<(String, String, SharedMemory)>,
    ctx: Arc<Mutex<WasiCtx>>,
    max_wasm_stack: Option<usize>,
    resource_limits: crate::ResourceLimits,
    next_tid: AtomicI32,
}

/// Whether `module` asks for WASI threads.
pub fn wanted(module: &Module) -> bool {
    module
        .info()
        .imports
        .iter()
        .any(|i| (i.module.as_str(), i.name.as_str()) == SPAWN)
}

/// Defines `thread-spawn` and the module's imported shared memories (created here) in
/// `linker`, for the main thread's `store`. Each spawned thread's store gets the main store's
/// stack and resource limits.
pub fn add_to_linker(
    linker: &mut Linker,
    store: &mut StoreData,
    module: &Module,
    ctx: Arc<Mutex<WasiCtx>>,
    max_wasm_stack: Option<usize>,
) -> Result<(), Error> {
    if store.fuel().is_some() {
        return Err(Error::Usage(format!(
            "{}: a fuel limit does not bound WASI threads yet (each thread has a store of its own); run it without --fuel",
            module.name()
        )));
    }
    let mut memories = Vec::new();
    for import in &module.info().imports {
        if let ImportKind::Memory(ty) = import.kind {
            if !ty.shared {
                continue;
            }
            let m = store.shared_memory_of_type(&ty)?;
            let shared = store.shared_memory(m)?.expect("a shared memory");
            linker.define(&import.module, &import.name, Extern::Memory(m));
            memories.push((import.module.clone(), import.name.clone(), shared));
        }
    }
    let program = Arc::new(Program {
        module: module.clone(),
        memories,
        ctx,
        max_wasm_stack,
        resource_limits: store.resource_limits().clone(),
        next_tid: AtomicI32::new(1),
    });
    define_spawn(linker, store, program);
    Ok(())
}

fn define_spawn(linker: &mut Linker, store: &mut StoreData, program: Arc<Program>) {
    let spawn = store.func_new(&[ValType::I32], &[ValType::I32], move |_, args, results| {
        let Val::I32(arg) = args[0] else {
            unreachable!("checked signature")
        };
        results[0] = Val::I32(spawn(&program, arg));
        Ok(())
    });
    linker.define(SPAWN.0, SPAWN.1, Extern::Func(spawn));
}

/// Starts a thread running `wasi_thread_start(tid, arg)`; its id, or a negative number if
/// none can be started.
fn spawn(program: &Arc<Program>, arg: i32) -> i32 {
    // Thread ids are positive and at most 2^29 - 1 (the proposal's range).
    let tid = program.next_tid.fetch_add(1, Ordering::Relaxed);
    if !(1..1 << 29).contains(&tid) {
        return -1;
    }
    let stack = program
        .max_wasm_stack
        .unwrap_or(crate::vm::traps::DEFAULT_MAX_WASM_STACK)
        + HOST_STACK_SLACK;
    let program = program.clone();
    let started = std::thread::Builder::new()
        .name(format!("wasi-thread-{tid}"))
        .stack_size(stack)
        .spawn(move || {
            if let Err(e) = run_thread(&program, tid, arg) {
                end_process(e);
            }
        });
    if started.is_ok() {
        tid
    } else {
        -1
    }
}

fn run_thread(program: &Arc<Program>, tid: i32, arg: i32) -> Result<(), Error> {
    let mut store = Store::new();
    if let Some(bytes) = program.max_wasm_stack {
        store.set_max_wasm_stack(bytes);
    }
    store.set_resource_limits(program.resource_limits.clone());
    let mut linker = Linker::new();
    super::add_to_linker(&mut linker, &mut store, program.ctx.clone());
    for (module, name, memory) in &program.memories {
        let m = store.import_shared_memory(memory);
        linker.define(module, name, Extern::Memory(m));
    }
    define_spawn(&mut linker, &mut store, program.clone());
    let instance = linker.instantiate(&mut store, &program.module)?;
    let start = store.get_func(instance, START).ok_or_else(|| {
        Error::Link(format!(
            "{}: a module that spawns threads must export `{START}`",
            program.module.name()
        ))
    })?;
    store.call(start, &[Val::I32(tid), Val::I32(arg)])?;
    Ok(())
}

/// What runs before a spawned thread ends the process (set once).
static EXIT_HOOK: OnceLock<fn()> = OnceLock::new();

/// Makes `hook` run before a spawned thread's trap, `proc_exit` or failure ends the process
/// (`wrun` writes the run's profile there); the first hook set stays.
pub fn on_process_exit(hook: fn()) {
    let _ = EXIT_HOOK.set(hook);
}

/// A thread's trap, `proc_exit` or failure ends the process, as `wrun` ends it for the main
/// thread's.
fn end_process(e: Error) -> ! {
    let status = match e {
        Error::Trap(Trap {
            exit_status: Some(status),
            ..
        }) => status,
        Error::Trap(trap) => {
            eprintln!("wrun: trap in a spawned thread: {}", trap.message);
            for frame in &trap.backtrace {
                eprintln!("    at {frame}");
            }
            134
        }
        other => {
            eprintln!("wrun: spawned thread: {other}");
            1
        }
    };
    if let Some(hook) = EXIT_HOOK.get() {
        hook();
    }
    std::process::exit(status)
}
