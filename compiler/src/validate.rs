//! Validation against exactly the WebAssembly 2.0 feature set, plus proposals asked for.

use crate::{CompileError, CompileOptions};
use wasmparser::{Parser, Payload, Validator, WasmFeatures};

/// The features to validate with: exactly WebAssembly 2.0, plus the named proposals.
pub fn wasm_features(proposals: &[String]) -> Result<WasmFeatures, String> {
    let mut f = WasmFeatures::WASM2;
    for p in proposals {
        let flag = match p.as_str() {
            "simd" => WasmFeatures::SIMD,
            "tail-call" => WasmFeatures::TAIL_CALL,
            "extended-const" => WasmFeatures::EXTENDED_CONST,
            "multi-memory" => WasmFeatures::MULTI_MEMORY,
            "exceptions" | "exception-handling" => WasmFeatures::EXCEPTIONS,
            other => return Err(format!("unknown proposal `{other}`")),
        };
        f.insert(flag);
    }
    Ok(f)
}

/// Validates `wasm`; on error, names the section or function that holds the bad byte.
pub fn validate(wasm: &[u8], source: &str, options: &CompileOptions) -> Result<(), CompileError> {
    let features =
        wasm_features(&options.enabled_proposals).map_err(|m| CompileError::Unsupported {
            source: source.into(),
            message: m,
        })?;
    let mut validator = Validator::new_with_features(features);
    match validator.validate_all(wasm) {
        Ok(_) => Ok(()),
        Err(e) => {
            let offset = e.offset() as usize;
            Err(CompileError::invalid(
                source,
                locate(wasm, offset),
                offset,
                e.message(),
            ))
        }
    }
}

/// Finds the section, or the function body, that contains `offset`.
fn locate(wasm: &[u8], offset: usize) -> Option<String> {
    let mut imported_funcs = 0u32;
    let mut body_index = 0u32;
    let mut found = None;
    for payload in Parser::new(0).parse_all(wasm) {
        let Ok(payload) = payload else { break };
        match &payload {
            Payload::ImportSection(r) => {
                imported_funcs += r
                    .clone()
                    .into_imports()
                    .flatten()
                    .filter(|i| matches!(i.ty, wasmparser::TypeRef::Func(_)))
                    .count() as u32;
            }
            Payload::CodeSectionEntry(body) => {
                if body.range().contains(&(offset as u64)) {
                    return Some(format!("function {}", imported_funcs + body_index));
                }
                body_index += 1;
            }
            _ => {}
        }
        if let Some((id, range)) = payload.as_section() {
            if range.contains(&(offset as u64)) {
                found = Some(section_label(id));
            }
        }
    }
    found
}

fn section_label(id: u8) -> String {
    format!(
        "{} section",
        runtime_support::module_info::section_id_name(id)
    )
}
