//! WASI preview 1 (`wasi_snapshot_preview1`).
//!
//! The implementation is written once over `GuestMemory` (a checked view of linear memory)
//! and raw `u64` arguments (`FUNCTIONS`), independent of how the guest runs; `add_to_linker`
//! wires it to the AOT runtime's host functions, and an interpreter can wire the same table.

mod beneath;
pub mod errno;
mod fd;
pub mod memory;
mod misc;
mod path;
mod poll;
pub mod table;
pub mod threads;

use crate::{Caller, Extern, Linker, StoreData, Trap, ValType};
use memory::GuestMemory;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use table::{filetype, rights, FdEntry, FdTable, Handle};

pub const MODULE: &str = "wasi_snapshot_preview1";

/// What a guest gets: its arguments, environment, directories and sockets.
#[derive(Default)]
pub struct WasiConfig {
    /// `argv`, the program name first.
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// `(name the guest sees, host directory)`.
    pub preopen_dirs: Vec<(String, PathBuf)>,
    /// Listening sockets handed to the guest, after the directories.
    pub preopen_sockets: Vec<std::net::TcpListener>,
    /// stdin, stdout and stderr.
    pub stdio: [Stdio; 3],
    /// The most bytes the file of an in-memory stream (`Stdio::Memory`) may hold, or the
    /// bytes it starts with if more; `None` is [`DEFAULT_CAPTURE_LIMIT`]. A write past it is
    /// shortened to fit, then fails with `EFBIG`, as on a file at its size limit.
    pub capture_limit: Option<u64>,
}

/// The default of [`WasiConfig::capture_limit`]: 64 MiB.
pub const DEFAULT_CAPTURE_LIMIT: u64 = 64 << 20;

/// Where one of the guest's standard streams goes.
#[derive(Default)]
pub enum Stdio {
    /// The host's own stream.
    #[default]
    Inherit,
    /// An in-memory file holding these bytes: stdin reads them, then end of file; stdout and
    /// stderr append after them, and the host reads it all with `WasiCtx::captured`.
    Memory(Vec<u8>),
}

pub struct WasiCtx {
    pub(crate) args: Vec<String>,
    pub(crate) env: Vec<String>,
    pub(crate) fds: FdTable,
    /// The in-memory standard streams, kept apart from the descriptor table so that the guest
    /// closing or renumbering one loses nothing the host reads; each with its size limit.
    captured: [Option<(std::fs::File, u64)>; 3],
}

impl WasiCtx {
    /// Opens the preopened directories; stdin, stdout and stderr are the host's.
    pub fn new(config: WasiConfig) -> Result<WasiCtx, String> {
        let mut fds = FdTable::default();
        let mut captured = [None, None, None];
        let capture_limit = config.capture_limit.unwrap_or(DEFAULT_CAPTURE_LIMIT);
        for (fd, stdio) in config.stdio.into_iter().enumerate() {
            let mut size_limit = None;
            let (handle, kind) = match stdio {
                Stdio::Inherit => {
                    let kind = fd::fstat(fd as i32)
                        .map(|st| filetype::from_mode(st.st_mode))
                        .unwrap_or(filetype::UNKNOWN);
                    (Handle::Stdio(fd as i32), kind)
                }
                Stdio::Memory(bytes) => {
                    // stdin reads from the start; output appends after the given bytes.
                    let file =
                        memory_file(&bytes, fd == 0).map_err(|e| format!("stdio {fd}: {e}"))?;
                    let kept = file.try_clone().map_err(|e| format!("stdio {fd}: {e}"))?;
                    let limit = capture_limit.max(bytes.len() as u64);
                    captured[fd] = Some((kept, limit));
                    size_limit = Some(limit);
                    (Handle::Owned(OwnedFd::from(file)), filetype::REGULAR_FILE)
                }
            };
            let base = if kind == filetype::REGULAR_FILE {
                rights::FILE
            } else {
                rights::STREAM
            };
            let entry = FdEntry {
                handle,
                filetype: kind,
                rights_base: base,
                rights_inheriting: 0,
                preopen: None,
                size_limit,
            };
            fds.insert_at(fd as u32, entry);
        }
        for (guest, host) in config.preopen_dirs {
            let dir =
                std::fs::File::open(&host).map_err(|e| format!("--dir {}: {e}", host.display()))?;
            if !dir
                .metadata()
                .map_err(|e| format!("--dir {}: {e}", host.display()))?
                .is_dir()
            {
                return Err(format!("--dir {}: not a directory", host.display()));
            }
            let entry = FdEntry {
                handle: Handle::Owned(OwnedFd::from(dir)),
                filetype: filetype::DIRECTORY,
                rights_base: rights::DIRECTORY,
                rights_inheriting: rights::ALL,
                preopen: Some(guest),
                size_limit: None,
            };
            fds.insert(entry)
                .map_err(|_| "too many descriptors".to_string())?;
        }
        for listener in config.preopen_sockets {
            let fd = listener.as_raw_fd();
            std::mem::forget(listener);
            // SAFETY: ownership moves from the listener, which was forgotten.
            let handle = Handle::Owned(unsafe { OwnedFd::from_raw_fd(fd) });
            let entry = FdEntry {
                handle,
                filetype: filetype::SOCKET_STREAM,
                rights_base: rights::SOCKET,
                rights_inheriting: rights::SOCKET,
                preopen: None,
                size_limit: None,
            };
            fds.insert(entry)
                .map_err(|_| "too many descriptors".to_string())?;
        }
        Ok(WasiCtx {
            args: config.args,
            env: config
                .env
                .into_iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
            fds,
            captured,
        })
    }

    /// Everything in an in-memory standard stream (`Stdio::Memory`) now: what the guest wrote
    /// to stdout or stderr, or stdin's bytes. `None` for an inherited stream.
    pub fn captured(&self, fd: u32) -> Option<std::io::Result<Vec<u8>>> {
        use std::os::unix::fs::FileExt;
        let (file, limit) = self.captured.get(fd as usize)?.as_ref()?;
        Some((|| {
            // The WASI functions keep the file within its limit; the limit also bounds what
            // is read, and an allocation that fails is an error, not an abort.
            let len = file.metadata()?.len().min(*limit);
            let len = usize::try_from(len).map_err(std::io::Error::other)?;
            let mut bytes = Vec::new();
            bytes
                .try_reserve_exact(len)
                .map_err(std::io::Error::other)?;
            bytes.resize(len, 0);
            file.read_exact_at(&mut bytes, 0)?;
            Ok(bytes)
        })())
    }
}

/// An anonymous in-memory file holding `bytes`, positioned at its start (`rewind`) or end.
fn memory_file(bytes: &[u8], rewind: bool) -> std::io::Result<std::fs::File> {
    use std::io::{Seek, Write};
    // SAFETY: memfd_create with a constant name; the descriptor is owned at once.
    let fd = unsafe { libc::memfd_create(c"waot-wasi-stdio".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a new descriptor nothing else owns.
    let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
    file.write_all(bytes)?;
    if rewind {
        file.rewind()?;
    }
    Ok(file)
}

/// Why a WASI call ended the guest rather than returning an errno.
pub enum Stop {
    Exit(i32),
}

type Impl = fn(&mut WasiCtx, &mut GuestMemory<'_>, &[u64]) -> Result<(), errno::Errno>;

/// One function of the interface: its name, parameter types, and implementation. Every
/// function but `proc_exit` returns an errno (`i32`).
pub struct WasiFunction {
    pub name: &'static str,
    pub params: &'static [ValType],
    pub call: Impl,
}

const I: ValType = ValType::I32;
const L: ValType = ValType::I64;

macro_rules! wasi_functions {
    ($($module:ident :: $name:ident ( $($t:ident),* );)*) => {
        pub static FUNCTIONS: &[WasiFunction] = &[
            $(WasiFunction { name: stringify!($name), params: &[$($t),*], call: $module::$name },)*
        ];
    };
}

wasi_functions! {
    misc::args_get(I, I);
    misc::args_sizes_get(I, I);
    misc::environ_get(I, I);
    misc::environ_sizes_get(I, I);
    misc::clock_res_get(I, I);
    misc::clock_time_get(I, L, I);
    fd::fd_advise(I, L, L, I);
    fd::fd_allocate(I, L, L);
    fd::fd_close(I);
    fd::fd_datasync(I);
    fd::fd_fdstat_get(I, I);
    fd::fd_fdstat_set_flags(I, I);
    fd::fd_fdstat_set_rights(I, L, L);
    fd::fd_filestat_get(I, I);
    fd::fd_filestat_set_size(I, L);
    fd::fd_filestat_set_times(I, L, L, I);
    fd::fd_pread(I, I, I, L, I);
    fd::fd_prestat_get(I, I);
    fd::fd_prestat_dir_name(I, I, I);
    fd::fd_pwrite(I, I, I, L, I);
    fd::fd_read(I, I, I, I);
    fd::fd_readdir(I, I, I, L, I);
    fd::fd_renumber(I, I);
    fd::fd_seek(I, L, I, I);
    fd::fd_sync(I);
    fd::fd_tell(I, I);
    fd::fd_write(I, I, I, I);
    path::path_create_directory(I, I, I);
    path::path_filestat_get(I, I, I, I, I);
    path::path_filestat_set_times(I, I, I, I, L, L, I);
    path::path_link(I, I, I, I, I, I, I);
    path::path_open(I, I, I, I, I, L, L, I, I);
    path::path_readlink(I, I, I, I, I, I);
    path::path_remove_directory(I, I, I);
    path::path_rename(I, I, I, I, I, I);
    path::path_symlink(I, I, I, I, I);
    path::path_unlink_file(I, I, I);
    poll::poll_oneoff(I, I, I, I);
    misc::proc_raise(I);
    misc::random_get(I, I);
    misc::sched_yield();
    misc::sock_accept(I, I, I);
    misc::sock_recv(I, I, I, I, I, I);
    misc::sock_send(I, I, I, I, I);
    misc::sock_shutdown(I, I);
}

/// Whether this WASI implementation defines `module`.`name`.
pub fn provides(module: &str, name: &str) -> bool {
    module == MODULE && (name == "proc_exit" || FUNCTIONS.iter().any(|f| f.name == name))
}

/// Runs `f` with the guest's arguments; returns the errno to hand back.
pub fn dispatch(f: &WasiFunction, ctx: &mut WasiCtx, memory: &mut [u8], args: &[u64]) -> i32 {
    let mut mem = GuestMemory::new(memory);
    match (f.call)(ctx, &mut mem, args) {
        Ok(()) => errno::SUCCESS as i32,
        Err(e) => e as i32,
    }
}

/// Defines every WASI function (and `proc_exit`) in `linker` for `ctx`.
pub fn add_to_linker(linker: &mut Linker, store: &mut StoreData, ctx: Arc<Mutex<WasiCtx>>) {
    for f in FUNCTIONS {
        let ctx = ctx.clone();
        let func = store.func_new(f.params, &[ValType::I32], move |caller, args, results| {
            let raw: Vec<u64> = args.iter().map(crate::Val::to_raw_bits).collect();
            let memory = guest_memory(caller)?;
            // Calls that may block for long without needing the context past a check run
            // after its lock is released (WASI threads share the context).
            let mut mem = GuestMemory::new(memory);
            let unlocked = fd::stdio_unlocked(&ctx, f.name, &mut mem, &raw).or_else(|| {
                (f.name == "poll_oneoff")
                    .then(|| poll::clocks_unlocked(&mut mem, &raw))
                    .flatten()
            });
            let errno = match unlocked {
                Some(r) => r.err().unwrap_or(errno::SUCCESS) as i32,
                None => {
                    let mut ctx = ctx.lock().unwrap_or_else(|p| p.into_inner());
                    dispatch(f, &mut ctx, memory, &raw)
                }
            };
            results[0] = crate::Val::I32(errno);
            Ok(())
        });
        linker.define(MODULE, f.name, Extern::Func(func));
    }
    let exit = store.func_new(&[ValType::I32], &[], |_, args, _| {
        let crate::Val::I32(code) = args[0] else {
            unreachable!("validated signature")
        };
        Err(Trap::exit(code))
    });
    linker.define(MODULE, "proc_exit", Extern::Func(exit));
}

/// The calling instance's exported memory, which WASI reads and writes.
fn guest_memory<'a>(caller: &'a mut Caller<'_>) -> Result<&'a mut [u8], Trap> {
    match caller.get_export("memory") {
        Some(Extern::Memory(m)) => caller
            .store
            .guest_bytes_mut(m)
            .map_err(|e| Trap::host(e.to_string())),
        _ => Err(Trap::host(
            "WASI needs the module to export its memory as `memory`",
        )),
    }
}
