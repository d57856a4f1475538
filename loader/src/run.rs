//! Running a module: as a WASI command (`_start`), or by calling an export.

use crate::{cli_values, RunCli};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use waot::wasi::{self, WasiConfig, WasiCtx};
use waot::{Error, Extern, Instance, Linker, Module, Store, Trap};

/// Exit status when guest code traps (as 128 + SIGABRT, like other runtimes).
const TRAP_EXIT: u8 = 134;

pub fn main(cli: &RunCli) -> ExitCode {
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::Trap(Trap {
            exit_status: Some(status),
            ..
        })) => ExitCode::from(status as u8),
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

fn wasi_config(cli: &RunCli, program_args: &[String]) -> Result<WasiConfig, Error> {
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
    Ok(WasiConfig {
        args,
        env,
        preopen_dirs: cli.dirs.iter().map(|d| parse_dir(d)).collect(),
        preopen_sockets: sockets,
    })
}

fn run(cli: &RunCli) -> Result<(), Error> {
    let module = Module::from_file(&cli.module)?;
    let mut store = Store::new();
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
    let ctx = WasiCtx::new(wasi_config(cli, program_args)?).map_err(Error::Usage)?;
    let mut linker = Linker::new();
    wasi::add_to_linker(&mut linker, &mut store, Arc::new(Mutex::new(ctx)));
    if cli.trap_unknown_imports {
        define_trapping_imports(&mut linker, &mut store, &module);
    }
    let instance = linker.instantiate(&mut store, &module)?;
    let Some((name, args)) = invoked else {
        if cli.reactor {
            return initialize_reactor(&mut store, instance);
        }
        return match store.get_func(instance, "_start") {
            Some(start) => store.call(start, &[]).map(drop),
            None => Ok(()),
        };
    };
    initialize_reactor(&mut store, instance)?;
    let func = store.get_func(instance, &name).ok_or_else(|| {
        Error::Usage(format!(
            "{}: no exported function `{name}`",
            cli.module.display()
        ))
    })?;
    let sig = store.func_signature(func);
    let args = cli_values::parse_args(&sig.params, args)
        .map_err(|m| Error::Usage(format!("{name}: {m}")))?;
    for value in store.call(func, &args)? {
        println!("{}", cli_values::show(&value));
    }
    Ok(())
}

/// A reactor's `_initialize`, if it has one, runs before any export is called.
fn initialize_reactor(store: &mut Store, instance: Instance) -> Result<(), Error> {
    match store.get_func(instance, "_initialize") {
        Some(init) => store.call(init, &[]).map(drop),
        None => Ok(()),
    }
}

/// `--trap-unknown-imports`: function imports nothing defines trap when called.
fn define_trapping_imports(linker: &mut Linker, store: &mut Store, module: &Module) {
    for import in &module.info().imports {
        let runtime_support::module_info::ImportKind::Func(t) = import.kind else {
            continue;
        };
        if linker.get(&import.module, &import.name).is_some() {
            continue;
        }
        let ty = &module.info().types[t as usize];
        let message = format!(
            "call to unresolved import `{}`.`{}`",
            import.module, import.name
        );
        let f = store.func_new(ty.params(), ty.results(), move |_, _, _| {
            let mut trap = Trap::new(waot::TrapCode::UnknownImport);
            trap.message = message.clone();
            Err(trap)
        });
        linker.define(&import.module, &import.name, Extern::Func(f));
    }
}
