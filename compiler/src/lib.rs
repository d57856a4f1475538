//! waotc: ahead-of-time compilation of WebAssembly modules to native shared objects.
//!
//! The pipeline is: validate (wasmparser) → describe the module (`runtime_support::ModuleInfo`)
//! → translate every function to LLVM IR (`translate`) → add trampolines, host adapters and the
//! self-description (`codegen`) → optimize and emit an object → link a shared object (`link`).

mod codegen;
mod error;
mod link;
mod options;
mod translate;
mod validate;

pub use error::CompileError;
pub use options::{CompileOptions, OptLevel};
pub use validate::{validate, wasm_features};

use std::path::Path;

/// Compiles `wasm` and writes a shared object to `output`. `source` names the input in error
/// messages.
pub fn compile_to_file(
    wasm: &[u8],
    source: &str,
    output: &Path,
    options: &CompileOptions,
) -> Result<(), CompileError> {
    validate(wasm, source, options)?;
    let info = runtime_support::ModuleInfo::parse(wasm)
        .map_err(|e| CompileError::invalid(source, None, e.offset, &e.message))?;
    let object = codegen::compile_object(wasm, &info, source, options)?;
    link::link_shared_object(&object, output)
}
