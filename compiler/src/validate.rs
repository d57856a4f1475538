//! Validation against exactly the WebAssembly 2.0 feature set, plus proposals asked for (the
//! shared implementation in `runtime_support::validate`).

use crate::{CompileError, CompileOptions};

pub use runtime_support::validate::wasm_features;

/// Validates `wasm`; on error, names the section or function that holds the bad byte.
pub fn validate(wasm: &[u8], source: &str, options: &CompileOptions) -> Result<(), CompileError> {
    if let Err(m) = wasm_features(&options.enabled_proposals) {
        return Err(CompileError::Unsupported {
            source: source.into(),
            message: m,
        });
    }
    runtime_support::validate::validate(wasm, &options.enabled_proposals)
        .map_err(|e| CompileError::invalid(source, e.location, e.offset, &e.message))
}
