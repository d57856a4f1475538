//! waotc: ahead-of-time compilation of WebAssembly modules to native shared objects.
//!
//! The pipeline is: validate (wasmparser) → describe the module (`runtime_support::ModuleInfo`)
//! → translate every function to LLVM IR (`translate`) → add trampolines, host adapters and the
//! self-description (`codegen`) → optimize and emit an object → link a shared object (`link`).

mod codegen;
mod error;
mod link;
mod options;
mod report;
mod translate;
mod validate;

pub use codegen::object_cache::default_dir as default_cache_dir;
pub use error::CompileError;
pub use options::{CompileOptions, OptLevel};
pub use report::{CompileReport, FunctionTimes, ProfileSummary};
pub use translate::fuel_costs::FuelCosts;
pub use validate::{validate, wasm_features};

use std::path::Path;

/// How many partitions `wasm` is compiled in with `options` (independent of the threads).
pub fn partition_count(wasm: &[u8], options: &CompileOptions) -> Result<usize, CompileError> {
    let info = runtime_support::ModuleInfo::parse(wasm)
        .map_err(|e| CompileError::invalid("module", None, e.offset, &e.message))?;
    let (parts, _) = codegen::partition::plan(&info, wasm, options);
    Ok(parts.len())
}

/// What `compile_to_file` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputKind {
    /// A shared object that embeds the wasm.
    SharedObject,
    /// The original wasm plus a custom section with the (signed) shared object.
    Universal,
}

impl OutputKind {
    /// `.so`, `.dylib` and `.dll` are shared objects; anything else is universal wasm.
    pub fn for_path(path: &Path) -> OutputKind {
        match path.extension().and_then(|e| e.to_str()) {
            Some("so" | "dylib" | "dll") => OutputKind::SharedObject,
            _ => OutputKind::Universal,
        }
    }
}

/// Compiles `wasm` and writes to `output` the kind of artifact its name implies. `source`
/// names the input in error messages. Returns where the time went.
pub fn compile_to_file(
    wasm: &[u8],
    source: &str,
    output: &Path,
    options: &CompileOptions,
) -> Result<CompileReport, CompileError> {
    compile_as(wasm, source, output, OutputKind::for_path(output), options)
}

/// [`compile_to_file`] with the kind of artifact given.
pub fn compile_as(
    wasm: &[u8],
    source: &str,
    output: &Path,
    kind: OutputKind,
    options: &CompileOptions,
) -> Result<CompileReport, CompileError> {
    let started = std::time::Instant::now();
    let mut report = CompileReport::default();
    // A universal file's native section may already be there (recompiling one): the module
    // is what precedes it.
    let (wasm, _) = runtime_support::universal::split(wasm);
    validate(wasm, source, options)?;
    let info = runtime_support::ModuleInfo::parse(wasm)
        .map_err(|e| CompileError::invalid(source, None, e.offset, &e.message))?;
    report.validate = started.elapsed();
    report.names = (*info.func_names).clone();
    let embed = kind == OutputKind::SharedObject;
    let (objects, header) =
        codegen::compile_objects(wasm, &info, source, options, embed, &mut report)?;
    let linking = std::time::Instant::now();
    write_artifact(wasm, output, kind, &objects, &header)?;
    report.link = linking.elapsed();
    report.wall = started.elapsed();
    Ok(report)
}

/// Links `objects` and writes the artifact of `kind` to `output`.
fn write_artifact(
    wasm: &[u8],
    output: &Path,
    kind: OutputKind,
    objects: &codegen::ObjectFiles,
    header: &runtime_support::artifact::ArtifactHeader,
) -> Result<(), CompileError> {
    match kind {
        OutputKind::SharedObject => link::link_shared_object(&objects.paths, output),
        OutputKind::Universal => {
            let dir = tempfile::tempdir()
                .map_err(|e| CompileError::Io(format!("temporary directory: {e}")))?;
            let so = dir.path().join("native.so");
            link::link_shared_object(&objects.paths, &so)?;
            let so = std::fs::read(&so)
                .map_err(|e| CompileError::Io(format!("{}: {e}", so.display())))?;
            let key = runtime_support::trust::signing_key().map_err(CompileError::Io)?;
            let key_id = runtime_support::trust::key_id(&key);
            let file = runtime_support::universal::append_section(wasm, header, &so, key_id, |m| {
                runtime_support::trust::tag(&key, m)
            });
            let mut replacement = new_file_beside(output, 0o666)?;
            std::io::Write::write_all(&mut replacement, &file)
                .map_err(|e| CompileError::Io(format!("{}: {e}", output.display())))?;
            replace_with(replacement, output)
        }
    }
}

/// A temporary file beside `output` (beside the file it links to, if it is a symbolic link),
/// to be renamed over it, created with `mode` less the umask as any new file would be.
fn new_file_beside(output: &Path, mode: u32) -> Result<tempfile::NamedTempFile, CompileError> {
    use std::os::unix::fs::PermissionsExt;
    let target = resolved(output);
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    tempfile::Builder::new()
        .prefix(".waotc-")
        .permissions(std::fs::Permissions::from_mode(mode))
        .tempfile_in(dir)
        .map_err(|e| CompileError::Io(format!("{}: {e}", output.display())))
}

/// `output`, or the file it links to.
fn resolved(output: &Path) -> std::path::PathBuf {
    match std::fs::symlink_metadata(output) {
        Ok(m) if m.file_type().is_symlink() => {
            std::fs::canonicalize(output).unwrap_or_else(|_| output.to_path_buf())
        }
        _ => output.to_path_buf(),
    }
}

/// Renames `replacement` over `output`. A program still running the old file keeps its
/// pages: the new artifact is a new file, never the old one rewritten in place.
fn replace_with(replacement: tempfile::NamedTempFile, output: &Path) -> Result<(), CompileError> {
    replacement
        .persist(resolved(output))
        .map(|_| ())
        .map_err(|e| CompileError::Io(format!("{}: {}", output.display(), e.error)))
}
