//! Linking the object into a shared object with LLVM 19's `ld.lld`.

use crate::CompileError;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Finds `ld.lld` for LLVM 19: `$WAOT_LD`, then `ld.lld-19` on `PATH`, then the LLVM 19
/// installation named by `LLVM_SYS_191_PREFIX` or Debian's `/usr/lib/llvm-19`.
pub fn find_linker() -> Result<PathBuf, CompileError> {
    if let Some(p) = std::env::var_os("WAOT_LD") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(CompileError::Link(format!(
                "WAOT_LD={} does not exist",
                p.display()
            )))
        };
    }
    let mut candidates = Vec::new();
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join("ld.lld-19")));
    }
    if let Some(prefix) = std::env::var_os("LLVM_SYS_191_PREFIX") {
        candidates.push(PathBuf::from(prefix).join("bin/ld.lld"));
    }
    candidates.push(PathBuf::from("/usr/lib/llvm-19/bin/ld.lld"));
    candidates.into_iter().find(|p| p.is_file()).ok_or_else(|| {
        CompileError::Link(
            "cannot find LLVM 19's ld.lld (looked for $WAOT_LD, ld.lld-19 on PATH and \
             /usr/lib/llvm-19/bin/ld.lld); run scripts/setup.sh or set WAOT_LD"
                .into(),
        )
    })
}

/// Links the object files `objects`, in order, into the shared object `output`. `-z defs`
/// makes any undefined symbol an error: compiled code reaches the runtime only through the
/// vmctx.
pub fn link_shared_object(objects: &[PathBuf], output: &Path) -> Result<(), CompileError> {
    let linker = find_linker()?;
    let dir =
        tempfile::tempdir().map_err(|e| CompileError::Io(format!("temporary directory: {e}")))?;
    let tmp_out = dir.path().join("module.so");
    let result = Command::new(&linker)
        .args([
            "-shared",
            "-z",
            "defs",
            "-z",
            "noexecstack",
            "--hash-style=gnu",
            "--build-id=none",
            "--eh-frame-hdr",
            "-o",
        ])
        .arg(&tmp_out)
        .args(objects)
        .output()
        .map_err(|e| CompileError::Link(format!("cannot run {}: {e}", linker.display())))?;
    if !result.status.success() {
        let stderr = String::from_utf8_lossy(&result.stderr);
        let first = stderr.lines().next().unwrap_or("").trim();
        return Err(CompileError::Link(format!(
            "{} failed: {first}",
            linker.display()
        )));
    }
    // The output may be on another file system: copy beside it, then rename over it.
    let replacement = crate::new_file_beside(output, 0o777)?;
    std::fs::copy(&tmp_out, replacement.path())
        .map_err(|e| CompileError::Io(format!("{}: {e}", output.display())))?;
    crate::replace_with(replacement, output)
}
