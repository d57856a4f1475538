//! The interpreter fallback: wasmi, behind the same import layer as the AOT path. WASI comes
//! from the same `wasi::FUNCTIONS` table; values and traps are converted to this crate's
//! `Val` and `Trap`, so callers see one behaviour in both modes.

mod rewrite;

pub use rewrite::commit_comparisons;

use crate::wasi::{self, WasiCtx};
use crate::{Error, Func, Trap, TrapCode, Val};
use wasmi::{Config, Engine, Extern, Linker, Module, Store};

/// An engine that accepts what the AOT path accepts: WebAssembly 2.0 (validation itself is
/// done by `runtime_support::validate` first, with exactly the same features).
pub fn engine() -> Engine {
    let mut c = Config::default();
    c.wasm_simd(true)
        .wasm_tail_call(true)
        .wasm_extended_const(true)
        .wasm_multi_memory(false)
        .wasm_custom_page_sizes(false)
        .wasm_wide_arithmetic(false)
        .wasm_relaxed_simd(false)
        // About what native code gets from a thread's 8 MiB stack; wasmi's defaults (1000
        // frames) stop ordinary recursive C programs. Both stacks are heap memory that grows
        // on demand.
        .set_max_recursion_depth(200_000)
        .set_max_stack_height(256 << 20);
    Engine::new(&c)
}

pub fn to_wasmi(v: &Val, store: &mut Store<impl Sized>) -> Result<wasmi::Val, Error> {
    Ok(match *v {
        Val::I32(x) => wasmi::Val::I32(x),
        Val::I64(x) => wasmi::Val::I64(x),
        Val::F32(b) => wasmi::Val::F32(wasmi::F32::from_bits(b)),
        Val::F64(b) => wasmi::Val::F64(wasmi::F64::from_bits(b)),
        Val::V128(b) => wasmi::Val::V128(b.into()),
        Val::FuncRef(None) => wasmi::Val::FuncRef(wasmi::Nullable::Null),
        Val::ExternRef(None) => wasmi::Val::ExternRef(wasmi::Nullable::Null),
        Val::ExternRef(Some(n)) => {
            wasmi::Val::ExternRef(wasmi::Nullable::Val(wasmi::ExternRef::new(store, n)))
        }
        Val::ExnRef(_) => {
            return Err(Error::Usage(
                "the interpreter does not support exception references".into(),
            ))
        }
        Val::FuncRef(Some(_)) => {
            return Err(Error::Usage(
                "function references cannot be passed to the interpreter".into(),
            ))
        }
    })
}

pub fn from_wasmi(v: &wasmi::Val, store: &Store<impl Sized>) -> Val {
    match v {
        wasmi::Val::I32(x) => Val::I32(*x),
        wasmi::Val::I64(x) => Val::I64(*x),
        wasmi::Val::F32(f) => Val::F32(f.to_bits()),
        wasmi::Val::F64(f) => Val::F64(f.to_bits()),
        wasmi::Val::V128(x) => Val::V128(x.as_u128()),
        wasmi::Val::FuncRef(f) => Val::FuncRef(f.val().is_some().then(Func::interpreted)),
        wasmi::Val::ExternRef(r) => Val::ExternRef(match r {
            wasmi::Nullable::Val(r) => r
                .data(store)
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

/// Defines every WASI function in an interpreter linker whose store data is the WASI context.
pub fn add_wasi(linker: &mut Linker<WasiCtx>) -> Result<(), Error> {
    for f in wasi::FUNCTIONS {
        let params: Vec<wasmi::ValType> = f.params.iter().map(|t| to_wasmi_type(*t)).collect();
        let ty = wasmi::FuncType::new(params, [wasmi::ValType::I32]);
        linker
            .func_new(
                wasi::MODULE,
                f.name,
                ty,
                move |mut caller, args, results| {
                    let raw: Vec<u64> = args
                        .iter()
                        .map(|a| match a {
                            wasmi::Val::I32(x) => *x as u32 as u64,
                            wasmi::Val::I64(x) => *x as u64,
                            _ => 0,
                        })
                        .collect();
                    let memory = match caller.get_export("memory") {
                        Some(Extern::Memory(m)) => m,
                        _ => {
                            return Err(wasmi::Error::new(
                                "WASI needs the module to export its memory as `memory`",
                            ))
                        }
                    };
                    let (bytes, ctx) = memory.data_and_store_mut(&mut caller);
                    results[0] = wasmi::Val::I32(wasi::dispatch(f, ctx, bytes, &raw));
                    Ok(())
                },
            )
            .map_err(|e| Error::Link(e.to_string()))?;
    }
    let exit = wasmi::FuncType::new([wasmi::ValType::I32], []);
    linker
        .func_new(wasi::MODULE, "proc_exit", exit, |_, args, _| {
            let wasmi::Val::I32(code) = args[0] else {
                unreachable!("validated signature")
            };
            Err(wasmi::Error::i32_exit(code))
        })
        .map_err(|e| Error::Link(e.to_string()))?;
    Ok(())
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

/// Compiles (validates and translates) `wasm` for the interpreter after validating it with
/// exactly the AOT path's features.
pub fn module(engine: &Engine, wasm: &[u8]) -> Result<Module, Error> {
    runtime_support::validate::validate(wasm, &[]).map_err(|e| Error::Load(e.to_string()))?;
    check_supported(wasm).map_err(Error::Load)?;
    Module::new(engine, rewrite::commit_comparisons(wasm)).map_err(|e| Error::Load(e.to_string()))
}

/// The one feature the AOT path has and the interpreter lacks.
pub fn check_supported(wasm: &[u8]) -> Result<(), String> {
    if runtime_support::validate::uses_exceptions(wasm) {
        return Err(
            "the module uses exception handling (tags, try_table/throw or legacy \
                    try/catch), which the interpreter fallback does not support: run it \
                    natively (compile it with waotc for this host)"
                .into(),
        );
    }
    Ok(())
}

/// Calls `name` in `instance` with `args`.
pub fn call<T>(
    store: &mut Store<T>,
    instance: &wasmi::Instance,
    name: &str,
    args: &[Val],
) -> Result<Vec<Val>, Error> {
    let func = instance
        .get_func(&*store, name)
        .ok_or_else(|| Error::Usage(format!("no exported function `{name}`")))?;
    let ty = func.ty(&*store);
    let wargs = args
        .iter()
        .map(|a| to_wasmi(a, store))
        .collect::<Result<Vec<_>, _>>()?;
    let mut results: Vec<wasmi::Val> = ty
        .results()
        .iter()
        .map(|t| wasmi::Val::default_for_ty(*t))
        .collect();
    func.call(&mut *store, &wargs, &mut results)
        .map_err(error)?;
    Ok(results.iter().map(|v| from_wasmi(v, store)).collect())
}
