//! The compile-on-load cache (`wrun --aot`, and `Module::compile_cached` in the embedding
//! API): a plain wasm is compiled by `waotc` (a separate process: the loader does not link
//! LLVM) once, and the artifact reused afterwards.
//!
//! Entries live in `$XDG_CACHE_HOME/waot` (or `~/.cache/waot`), named by a hash of the wasm,
//! the compiler's version, the target and the options. An entry is checked like any artifact
//! when loaded; a corrupted or foreign one is rebuilt. Concurrent runs take an exclusive lock
//! per entry while compiling, and publish the artifact by rename, so nobody ever loads a
//! partial file and the module is compiled once.

use crate::Error;
use std::path::{Path, PathBuf};

fn cache_dir() -> Result<PathBuf, Error> {
    let base = match std::env::var_os("XDG_CACHE_HOME") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(
            std::env::var_os("HOME")
                .ok_or_else(|| Error::Usage("--aot needs HOME or XDG_CACHE_HOME".into()))?,
        )
        .join(".cache"),
    };
    Ok(base.join("waot"))
}

fn waotc() -> Result<PathBuf, Error> {
    if let Some(p) = std::env::var_os("WAOTC") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().map_err(|e| Error::Usage(e.to_string()))?;
    let p = exe.with_file_name("waotc");
    if p.is_file() {
        Ok(p)
    } else {
        Err(Error::Usage(format!(
            "--aot needs the compiler: {} not found (or set WAOTC)",
            p.display()
        )))
    }
}

/// The key of a cache entry: what the artifact depends on.
fn entry_name(wasm: &[u8]) -> String {
    let key = format!(
        "{}|{}|{}|abi{}|native|O2",
        runtime_support::artifact::hex(&runtime_support::artifact::sha256(wasm)),
        env!("CARGO_PKG_VERSION"),
        std::env::consts::ARCH,
        runtime_support::ABI_VERSION
    );
    runtime_support::artifact::hex(&runtime_support::artifact::sha256(key.as_bytes()))
}

/// The native module for `wasm`, from the cache or compiled into it; `source` names the
/// module in messages. `load` loads an entry, `None` when it is not the module of `wasm`; an
/// entry that does not load is rebuilt, unless it is the one just built.
pub(crate) fn compile_cached<M>(
    wasm: &[u8],
    source: &Path,
    load: impl Fn(&Path) -> Result<Option<M>, Error>,
) -> Result<M, Error> {
    let dir = cache_dir()?;
    std::fs::create_dir_all(&dir).map_err(|e| Error::Usage(format!("{}: {e}", dir.display())))?;
    let name = entry_name(wasm);
    let so = dir.join(format!("{name}.so"));
    if let Ok(Some(m)) = load(&so) {
        return Ok(m);
    }
    // Compile under an exclusive lock; whoever waited finds the entry made.
    let lock_path = dir.join(format!("{name}.lock"));
    let lock = std::fs::File::create(&lock_path)
        .map_err(|e| Error::Usage(format!("{}: {e}", lock_path.display())))?;
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor we own; released when `lock` is closed.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(Error::Usage(format!(
            "{}: cannot lock",
            lock_path.display()
        )));
    }
    if let Ok(Some(m)) = load(&so) {
        return Ok(m);
    }
    // The input goes to a directory of this process's own, under a name that does not
    // change from run to run: waotc's object cache keys on it (LLVM records it).
    let work = dir.join(format!("work.{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| Error::Usage(format!("{}: {e}", work.display())))?;
    let input = format!("{name}.wasm");
    let tmp_wasm = work.join(&input);
    // Absolute: waotc runs in `work`.
    let tmp_so = std::path::absolute(dir.join(format!("{name}.{}.so", std::process::id())))
        .map_err(|e| Error::Usage(format!("{}: {e}", dir.display())))?;
    std::fs::write(&tmp_wasm, wasm)
        .map_err(|e| Error::Usage(format!("{}: {e}", tmp_wasm.display())))?;
    let out = std::process::Command::new(waotc()?)
        .current_dir(&work)
        .arg(&input)
        .arg(&tmp_so)
        .output()
        .map_err(|e| Error::Usage(format!("cannot run waotc: {e}")));
    let _ = std::fs::remove_dir_all(&work);
    let out = out?;
    if !out.status.success() {
        let _ = std::fs::remove_file(&tmp_so);
        let msg = String::from_utf8_lossy(&out.stderr)
            .trim()
            .replace(&input, &source.display().to_string());
        return Err(Error::Load(msg.trim_start_matches("waotc: ").to_string()));
    }
    std::fs::rename(&tmp_so, &so).map_err(|e| Error::Usage(format!("{}: {e}", so.display())))?;
    load(&so)?.ok_or_else(|| {
        Error::Load(format!(
            "{}: the compiled artifact does not hold its module",
            so.display()
        ))
    })
}
