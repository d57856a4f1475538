//! Validation with exactly the WebAssembly 2.0 feature set (plus proposals asked for), shared
//! by the compiler and the interpreter so both accept and reject the same modules.

use wasmparser::{Parser, Payload, Validator, WasmFeatures};

/// Why a module is invalid or malformed: where, and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationError {
    /// `function N` or `NAME section`, when known.
    pub location: Option<String>,
    pub offset: usize,
    pub message: String,
}

impl std::fmt::Display for ValidationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid module")?;
        if let Some(l) = &self.location {
            write!(f, " in {l}")?;
        }
        write!(f, " at byte offset {:#x}: {}", self.offset, self.message)
    }
}

/// What every module may use without asking: WebAssembly 2.0 plus the proposals of
/// WebAssembly 3.0 that waot implements: tail calls, exception handling (with its legacy
/// form, which older toolchains still emit), multiple memories, 64-bit memories and tables,
/// extended constant expressions, typed function references, garbage collection, relaxed SIMD, wide arithmetic and
/// threads (shared memories and atomics).
pub fn default_features() -> WasmFeatures {
    WasmFeatures::WASM2
        | WasmFeatures::TAIL_CALL
        | WasmFeatures::EXCEPTIONS
        | WasmFeatures::LEGACY_EXCEPTIONS
        | WasmFeatures::MULTI_MEMORY
        | WasmFeatures::EXTENDED_CONST
        | WasmFeatures::MEMORY64
        | WasmFeatures::WIDE_ARITHMETIC
        | WasmFeatures::RELAXED_SIMD
        | WasmFeatures::FUNCTION_REFERENCES
        | WasmFeatures::GC
        | WasmFeatures::THREADS
}

/// What waot implements but enables only when named: proposals not yet standard whose modules
/// differ at run time (custom page sizes: a memory of one-byte pages). `wasm_features` maps
/// each name in; keep both in step.
const OPT_IN: WasmFeatures = WasmFeatures::CUSTOM_PAGE_SIZES;

/// The default features plus the named proposals. `2.0`, wherever it is in the list, makes
/// the base WebAssembly 2.0 with tail calls and exception handling (the set before 3.0's other
/// proposals) and the others add to it, so that the 2.0 spec suite, which expects their
/// modules rejected, runs as written.
pub fn wasm_features(proposals: &[String]) -> Result<WasmFeatures, String> {
    let mut f = if proposals.iter().any(|p| p == "2.0") {
        WasmFeatures::WASM2
            | WasmFeatures::TAIL_CALL
            | WasmFeatures::EXCEPTIONS
            | WasmFeatures::LEGACY_EXCEPTIONS
    } else {
        default_features()
    };
    for p in proposals {
        let flag = match p.as_str() {
            "2.0" => continue,
            "memory64" => WasmFeatures::MEMORY64,
            "wide-arithmetic" => WasmFeatures::WIDE_ARITHMETIC,
            "custom-page-sizes" => WasmFeatures::CUSTOM_PAGE_SIZES,
            "tail-call" => WasmFeatures::TAIL_CALL,
            "extended-const" => WasmFeatures::EXTENDED_CONST,
            "multi-memory" => WasmFeatures::MULTI_MEMORY,
            "function-references" => WasmFeatures::FUNCTION_REFERENCES,
            "gc" => WasmFeatures::GC | WasmFeatures::FUNCTION_REFERENCES,
            "threads" => WasmFeatures::THREADS,
            "exceptions" | "exception-handling" => {
                WasmFeatures::EXCEPTIONS | WasmFeatures::LEGACY_EXCEPTIONS
            }
            other => return Err(format!("unknown proposal `{other}`")),
        };
        f.insert(flag);
    }
    Ok(f)
}

/// The proposals the interpreter fallback (wasmi) lacks, with how to name them in one line.
const NOT_IN_INTERPRETER: [(WasmFeatures, &str); 4] = [
    (
        WasmFeatures::EXCEPTIONS.union(WasmFeatures::LEGACY_EXCEPTIONS),
        "exception handling (tags, try_table/throw or legacy try/catch)",
    ),
    (
        WasmFeatures::GC,
        "garbage collection (structs, arrays, i31, casts)",
    ),
    (
        // GC includes typed function references, so both go.
        WasmFeatures::FUNCTION_REFERENCES.union(WasmFeatures::GC),
        "typed function references (call_ref, (ref $t), br_on_null ...)",
    ),
    (
        WasmFeatures::THREADS,
        "threads (shared memories, atomic instructions)",
    ),
];

/// The first proposal that a module `validate` accepted needs and the interpreter fallback
/// does not support, by name.
pub fn feature_the_interpreter_lacks(valid_wasm: &[u8]) -> Option<&'static str> {
    // Everything any `--enable` accepts, so that only the one feature left out can fail it.
    let all = default_features() | OPT_IN;
    NOT_IN_INTERPRETER.iter().find_map(|(feature, name)| {
        let without = all - *feature;
        Validator::new_with_features(without)
            .validate_all(valid_wasm)
            .is_err()
            .then_some(*name)
    })
}

pub fn validate(wasm: &[u8], proposals: &[String]) -> Result<(), ValidationError> {
    let features = wasm_features(proposals).map_err(|m| ValidationError {
        location: None,
        offset: 0,
        message: m,
    })?;
    if let Some(message) = not_wasm(wasm) {
        return Err(ValidationError {
            location: None,
            offset: 0,
            message,
        });
    }
    let mut validator = Validator::new_with_features(features);
    validator.validate_all(wasm).map(drop).map_err(|e| {
        let offset = e.offset() as usize;
        ValidationError {
            location: locate(wasm, offset),
            offset,
            // wasmparser's messages may span lines (debug dumps); errors are one line.
            message: e.message().split_whitespace().collect::<Vec<_>>().join(" "),
        }
    })
}

/// What a file that does not start like a wasm module is instead, said in one line.
fn not_wasm(bytes: &[u8]) -> Option<String> {
    if bytes.starts_with(b"\0asm") {
        return None;
    }
    let text = |b: &u8| b.is_ascii_graphic() || b.is_ascii_whitespace();
    let what = if bytes.len() < 4 {
        "too short"
    } else if bytes.starts_with(b"\x7fELF") {
        "an ELF file (a shared object or executable)"
    } else if bytes.iter().take(64).all(text) {
        "text (WebAssembly text must be assembled first, e.g. with wat2wasm)"
    } else {
        "something else"
    };
    Some(format!(
        "not a WebAssembly module: it does not start with the magic bytes \\0asm; it is {what}"
    ))
}

/// The function body, else the section, that contains `offset`.
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
                found = Some(format!(
                    "{} section",
                    crate::module_info::section_id_name(id)
                ));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_2_0_base_holds_wherever_it_is_named() {
        for list in [["multi-memory", "2.0"], ["2.0", "multi-memory"]] {
            let list: Vec<String> = list.iter().map(|s| s.to_string()).collect();
            let f = wasm_features(&list).unwrap();
            assert!(f.contains(WasmFeatures::MULTI_MEMORY), "{list:?}");
            assert!(!f.contains(WasmFeatures::MEMORY64), "{list:?}");
            assert!(f.contains(WasmFeatures::EXCEPTIONS), "{list:?}");
        }
        assert!(default_features().contains(WasmFeatures::MEMORY64));
    }
}
