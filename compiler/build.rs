//! Builds `cpp/` (waot's LLVM passes and object emission) against the LLVM that llvm-sys links.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=cpp/pipeline.cpp");
    println!("cargo:rerun-if-changed=cpp/emit.cpp");
    println!("cargo:rerun-if-changed=cpp/budget.cpp");
    println!("cargo:rerun-if-changed=cpp/budget.h");
    println!("cargo:rerun-if-env-changed=LLVM_SYS_191_PREFIX");
    let prefix = std::env::var("LLVM_SYS_191_PREFIX").unwrap_or_else(|_| "/usr/lib/llvm-19".into());
    let config = format!("{prefix}/bin/llvm-config");
    let out = Command::new(&config)
        .arg("--cxxflags")
        .output()
        .unwrap_or_else(|e| panic!("{config}: {e} (scripts/setup.sh installs LLVM 19)"));
    let flags = String::from_utf8(out.stdout).expect("llvm-config prints UTF-8");
    let mut build = cc::Build::new();
    // LLVM's headers do not compile cleanly under -Wextra; our file is checked by review.
    build
        .cpp(true)
        .file("cpp/pipeline.cpp")
        .file("cpp/emit.cpp")
        .file("cpp/budget.cpp")
        .opt_level(2)
        .warnings(false);
    for flag in flags.split_whitespace() {
        build.flag(flag);
    }
    build.compile("waot_pipeline");
}
