//! Code quality is part of SIMD correctness: common operations must become vector
//! instructions, not per-lane scalar code or calls. The code is compiled for fixed CPU levels,
//! each with its own expectations, so the checks mean the same on any machine (a machine with
//! AVX-512 compiles a shuffle for `--cpu native` to a masked move, one without to a blend);
//! whether `--cpu native` works at all is checked by running the code
//! (tests/tests/native_cpu.rs).

mod common;

use common::function_body;
use std::process::Command;
use waot_compiler::{compile_to_file, CompileOptions};

const KERNELS: &str = r#"(module
  (memory 1)
  (func (export "add") (param v128 v128) (result v128) (i32x4.add (local.get 0) (local.get 1)))
  (func (export "mul") (param v128 v128) (result v128) (f32x4.mul (local.get 0) (local.get 1)))
  (func (export "shuffle") (param v128 v128) (result v128)
    (i8x16.shuffle 0 17 2 19 4 21 6 23 8 25 10 27 12 29 14 31 (local.get 0) (local.get 1)))
  (func (export "load_splat") (param i32) (result v128) (v128.load32_splat (local.get 0)))
  (func (export "load_then_splat") (param i32) (result v128) (f32x4.splat (f32.load (local.get 0))))
  (func (export "extmul") (param v128 v128) (result v128) (i16x8.extmul_low_i8x16_s (local.get 0) (local.get 1))))"#;

const EXPORTS: [&str; 6] = [
    "add",
    "mul",
    "shuffle",
    "load_splat",
    "load_then_splat",
    "extmul",
];

/// (export, vector IR it must contain), the same for every target.
const IR: [(&str, &str); 6] = [
    ("add", "add <4 x i32>"),
    ("mul", "fmul <4 x float>"),
    ("shuffle", "shufflevector <16 x i8>"),
    ("load_splat", "shufflevector <4 x i32>"),
    ("load_then_splat", "shufflevector <4 x float>"),
    ("extmul", "mul nsw <8 x i16>"),
];

/// A target and CPU, and the one instruction each export must compile to (in order).
struct Level {
    target: Option<&'static str>,
    cpu: &'static str,
    instructions: [&'static str; 6],
}

const LEVELS: [Level; 4] = [
    Level {
        target: Some("x86_64-unknown-linux-gnu"),
        cpu: "x86-64-v2",
        instructions: ["paddd", "mulps", "pblendvb", "pshufd", "shufps", "pmullw"],
    },
    Level {
        target: Some("x86_64-unknown-linux-gnu"),
        cpu: "x86-64-v3",
        instructions: [
            "vpaddd",
            "vmulps",
            "vpblendvb",
            "vbroadcastss",
            "vbroadcastss",
            "vpmullw",
        ],
    },
    Level {
        target: Some("x86_64-unknown-linux-gnu"),
        cpu: "x86-64-v4",
        // With AVX-512 the byte blend is a masked move.
        instructions: [
            "vpaddd",
            "vmulps",
            "vmovdqu8",
            "vbroadcastss",
            "vbroadcastss",
            "vpmullw",
        ],
    },
    Level {
        target: Some("aarch64-unknown-linux-gnu"),
        cpu: "generic",
        instructions: [
            "add\tv0.4s",
            "fmul\tv0.4s",
            "tbl\tv0.16b",
            "ld1r\t",
            "ld1r\t",
            "smull\tv0.8h",
        ],
    },
];

fn compile(dir: &std::path::Path, level: &Level) -> (String, std::path::PathBuf) {
    let ll = dir.join(format!("{}.ll", level.cpu));
    let so = dir.join(format!("{}.so", level.cpu));
    let options = CompileOptions {
        emit_llvm: Some(ll.clone()),
        target: level.target.map(str::to_string),
        cpu: level.cpu.into(),
        ..Default::default()
    };
    compile_to_file(&wat::parse_str(KERNELS).unwrap(), "k", &so, &options).unwrap();
    (std::fs::read_to_string(ll).unwrap(), so)
}

#[test]
fn common_simd_operations_stay_vector_operations_in_ir() {
    let dir = tempfile::tempdir().unwrap();
    for level in &LEVELS {
        let (ir, _) = compile(dir.path(), level);
        for (index, (name, vector_op)) in IR.iter().enumerate() {
            let f = function_body(&ir, index);
            let at = format!("{name} for {}", level.cpu);
            assert!(f.contains(vector_op), "{at}: expected `{vector_op}`:\n{f}");
            assert!(!f.contains("extractelement"), "{at}: scalarized:\n{f}");
            let calls: Vec<_> = f
                .lines()
                .filter(|l| {
                    l.contains("call ")
                        && !l.contains("@llvm.read_register")
                        && !l.contains("call void %")
                })
                .collect();
            assert!(calls.is_empty(), "{at}: calls {calls:?}");
            assert!(
                !f.contains("br label %loop") && f.matches("br ").count() <= 1,
                "{at}: loops or branches:\n{f}"
            );
        }
    }
}

#[test]
fn common_simd_operations_are_single_vector_instructions_at_each_cpu_level() {
    let dir = tempfile::tempdir().unwrap();
    let objdump = "/usr/lib/llvm-19/bin/llvm-objdump";
    for level in &LEVELS {
        let (_, so) = compile(dir.path(), level);
        let out = Command::new(objdump)
            .args(["-d", "--no-show-raw-insn"])
            .arg(&so)
            .output()
            .expect("llvm-objdump (LLVM 19)");
        let asm = String::from_utf8_lossy(&out.stdout);
        for (index, instruction) in level.instructions.iter().enumerate() {
            let start = asm
                .find(&format!("<waot_func_{index}>:"))
                .expect("symbol in disassembly");
            let rest = &asm[start..];
            let f = &rest[..rest.find("\n\n").unwrap_or(rest.len())];
            let at = format!("{} for {}", EXPORTS[index], level.cpu);
            assert!(f.contains(instruction), "{at}: no `{instruction}` in\n{f}");
            // The only call allowed is the stack-limit trap, through the builtin table.
            let calls: Vec<_> = f
                .lines()
                .filter(|l| {
                    (l.contains("\tcall") && !l.contains("callq\t*")) || l.contains("\tbl\t")
                })
                .collect();
            assert!(calls.is_empty(), "{at} calls out: {calls:?}\n{f}");
        }
    }
}
