//! Checks of an artifact's native part made from the file's bytes before `dlopen`: that it
//! was compiled for this host, and where its code symbols lie.

use crate::vm::code_registry::ModuleSymbols;
use object::{Object, ObjectSection, ObjectSymbol};
use runtime_support::artifact::{self, ArtifactHeader};
use runtime_support::ModuleInfo;
use std::path::Path;

/// The target this loader runs native code for, as the start of an LLVM triple.
fn host_arch_prefix() -> &'static str {
    if cfg!(target_arch = "x86_64") {
        "x86_64"
    } else {
        "aarch64"
    }
}

pub(crate) fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

pub(crate) fn check_target(header: &ArtifactHeader) -> std::result::Result<(), String> {
    if !header.target_triple.starts_with(host_arch_prefix())
        || !header.target_triple.contains("linux")
    {
        return Err(format!(
            "compiled for {}, but this host is {}-linux",
            header.target_triple,
            host_arch_prefix()
        ));
    }
    if let Some(f) = crate::artifact::host_cpu::first_missing_feature(&header.cpu_features) {
        return Err(format!(
            "compiled for CPU `{}` with feature `{f}`, which this CPU lacks (recompile with --cpu generic)",
            header.cpu
        ));
    }
    Ok(())
}

/// Addresses of code symbols as linked, to locate the text and name functions in backtraces.
pub(crate) struct SymbolLayout {
    pub first_code_symbol: Option<usize>,
    text: (usize, usize),
    /// (linked address, wasm function index or u32::MAX for glue)
    code: Vec<(usize, u32)>,
}

impl SymbolLayout {
    pub fn read(file: &object::File<'_>, info: &ModuleInfo) -> std::result::Result<Self, String> {
        let text = file.section_by_name(".text").ok_or("no .text section")?;
        let mut code = Vec::new();
        let mut first_trampoline = None;
        let mut first_function = None;
        // Bytes, not `str`: a module has a symbol per function, and start-up should not
        // validate 100,000 names as UTF-8.
        for sym in file.symbols() {
            let Ok(name) = sym.name_bytes() else { continue };
            if let Some(index) = name.strip_prefix(artifact::FUNC_SYMBOL_PREFIX.as_bytes()) {
                let Some(index) = std::str::from_utf8(index)
                    .ok()
                    .and_then(|i| i.parse::<u32>().ok())
                else {
                    continue;
                };
                if index == info.num_imported_funcs {
                    first_function = Some(sym.address() as usize);
                }
                code.push((sym.address() as usize, index));
            } else if name.starts_with(b"waot_trampoline_")
                || name.starts_with(b"waot_host_adapter_")
            {
                if name == b"waot_trampoline_0" {
                    first_trampoline = Some(sym.address() as usize);
                }
                code.push((sym.address() as usize, u32::MAX));
            }
        }
        code.sort();
        Ok(SymbolLayout {
            first_code_symbol: if info.types.is_empty() {
                first_function
            } else {
                first_trampoline
            },
            text: (
                text.address() as usize,
                (text.address() + text.size()) as usize,
            ),
            code,
        })
    }

    pub fn symbols(&self, bias: usize, module: &str, info: &ModuleInfo) -> ModuleSymbols {
        let funcs = self
            .code
            .iter()
            .map(|&(addr, index)| (addr.wrapping_add(bias), index))
            .collect();
        ModuleSymbols {
            module: module.to_string(),
            start: self.text.0.wrapping_add(bias),
            end: self.text.1.wrapping_add(bias),
            funcs,
            names: info.func_names.clone(),
        }
    }
}
