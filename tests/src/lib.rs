//! Helpers shared by the end-to-end tests: compiling wat or wasm in process, and locating the
//! spec suite and the built command-line tools.

use std::path::{Path, PathBuf};
use waot::wast::{CompileFailure, ModuleCompiler};
use waot_compiler::{compile_to_file, CompileError, CompileOptions};

/// The compiler library as a `ModuleCompiler`, so spec scripts run without spawning `waotc`.
pub struct InProcessCompiler {
    pub options: CompileOptions,
}

impl ModuleCompiler for InProcessCompiler {
    fn compile(&self, wasm: &[u8], output: &Path) -> Result<(), CompileFailure> {
        compile_to_file(wasm, "module", output, &self.options).map_err(|e| CompileFailure {
            invalid: matches!(e, CompileError::Invalid { .. }),
            message: e.to_string(),
        })
    }
}

/// `../shared/testsuite`, beside the project's root.
pub fn testsuite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/testsuite")
}

/// Compiles wat text to an artifact in `dir` and loads it.
pub fn load_wat(dir: &Path, name: &str, wat: &str, options: &CompileOptions) -> waot::Module {
    let wasm = wat::parse_str(wat).expect("test wat parses");
    let so = dir.join(format!("{name}.so"));
    compile_to_file(&wasm, name, &so, options).unwrap_or_else(|e| panic!("{e}"));
    waot::Module::from_file(&so).unwrap_or_else(|e| panic!("{e}"))
}

/// A built binary of the workspace (`waotc` or `wrun`), next to the test executable.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target directory");
    dir.join(name)
}
