//! `wat IN.wat OUT.wasm`: WebAssembly text to binary with the `wat` crate, for scripts that
//! generate modules (`scripts/compile-bench`); wabt's `wat2wasm` in Debian 12 does not know
//! `try_table`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, input, output] = args.as_slice() else {
        eprintln!("usage: wat IN.wat OUT.wasm");
        return ExitCode::FAILURE;
    };
    let result = wat::parse_file(input)
        .map_err(|e| e.to_string())
        .and_then(|wasm| std::fs::write(output, wasm).map_err(|e| format!("{output}: {e}")));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wat: {e}");
            ExitCode::FAILURE
        }
    }
}
