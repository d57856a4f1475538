//! Checks of an artifact's native part made from the file's bytes before `dlopen`: that it
//! was compiled for this host, and where its code symbols lie.

use crate::vm::code_registry::{self, FunctionNames, ModuleSymbols};
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

/// Where the code lies as linked: the text section, and the code tables' symbol, from which
/// the load bias follows. Backtraces need each function's address, which the code tables give
/// once the library is loaded (`ModuleSymbols` from `code_ranges`): the per-function symbol
/// table (`.symtab`, tens of thousands of entries and never mapped by `dlopen`) is not read.
pub(crate) struct SymbolLayout {
    text: (usize, usize),
    /// The linked address of `artifact::SYM_TRAMPOLINES`, an exported (dynamic) symbol.
    trampolines: usize,
}

impl SymbolLayout {
    /// Also checks that each symbol through which the loader reads a checked section (the
    /// skeleton, the names, the images, the module) names that section's start: the bytes read
    /// through the library are the ones hashed.
    pub fn read(file: &object::File<'_>) -> std::result::Result<Self, String> {
        let text = file.section_by_name(".text").ok_or("no .text section")?;
        let address = |name: &str| -> std::result::Result<u64, String> {
            file.dynamic_symbols()
                .find(|s| s.name_bytes().ok() == Some(name.as_bytes()))
                .map(|s| s.address())
                .ok_or_else(|| format!("no dynamic symbol `{name}`"))
        };
        let trampolines = address(artifact::SYM_TRAMPOLINES)? as usize;
        for (symbol, section) in [
            (artifact::SYM_SKELETON, artifact::SKELETON_SECTION),
            (artifact::SYM_NAMES, artifact::NAMES_SECTION),
            (artifact::SYM_IMAGES, artifact::IMAGES_SECTION),
            (artifact::SYM_WASM, artifact::WASM_SECTION),
        ] {
            let start = file
                .section_by_name(section)
                .ok_or_else(|| format!("not a waot artifact: no `{section}` section"))?
                .address();
            if start != address(symbol)? {
                return Err(format!(
                    "symbol `{symbol}` does not name the start of section `{section}` (the artifact was altered)"
                ));
            }
        }
        Ok(SymbolLayout {
            text: (
                text.address() as usize,
                (text.address() + text.size()) as usize,
            ),
            trampolines,
        })
    }

    /// How far the library was loaded from its linked addresses, given where it put
    /// `SYM_TRAMPOLINES`.
    pub fn bias(&self, trampoline_table: usize) -> usize {
        trampoline_table.wrapping_sub(self.trampolines)
    }

    /// The code registry's view of the loaded module: its text and every function's address
    /// (wasm index, or `u32::MAX` for trampolines and adapters), from the code tables the
    /// library holds; `trampoline_table` is where the library put `SYM_TRAMPOLINES`.
    pub fn symbols(
        &self,
        trampoline_table: usize,
        module: &str,
        info: &ModuleInfo,
        functions: &[*const u8],
        glue: &[&[*const u8]],
        names: FunctionNames,
    ) -> ModuleSymbols {
        let bias = self.bias(trampoline_table);
        let defined = functions
            .iter()
            .enumerate()
            .map(|(i, p)| (*p as usize, info.num_imported_funcs + i as u32));
        let glue = glue
            .iter()
            .flat_map(|t| t.iter().map(|p| (*p as usize, u32::MAX)));
        let funcs = code_registry::FunctionAddresses::new(defined.chain(glue).collect());
        ModuleSymbols {
            module: module.to_string(),
            start: self.text.0.wrapping_add(bias),
            end: self.text.1.wrapping_add(bias),
            funcs,
            names,
        }
    }
}
