//! Code quality is part of SIMD correctness: common operations must become vector
//! instructions, not per-lane scalar code or calls.

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

/// (export, function index, vector IR it must contain)
const EXPECT: [(&str, u32, &str); 6] = [
    ("add", 0, "add <4 x i32>"),
    ("mul", 1, "fmul <4 x float>"),
    ("shuffle", 2, "shufflevector <16 x i8>"),
    ("load_splat", 3, "shufflevector <4 x i32>"),
    ("load_then_splat", 4, "shufflevector <4 x float>"),
    ("extmul", 5, "mul nsw <8 x i16>"),
];

fn compile(dir: &std::path::Path) -> (String, std::path::PathBuf) {
    let ll = dir.join("k.ll");
    let so = dir.join("k.so");
    let options = CompileOptions {
        emit_llvm: Some(ll.clone()),
        ..Default::default()
    };
    compile_to_file(&wat::parse_str(KERNELS).unwrap(), "k", &so, &options).unwrap();
    (std::fs::read_to_string(ll).unwrap(), so)
}

fn body(ir: &str, index: u32) -> &str {
    let start = ir
        .find(&format!("@waot_func_{index}("))
        .expect("function defined");
    let rest = &ir[start..];
    &rest[..rest.find("\n}\n").unwrap()]
}

#[test]
fn common_simd_operations_stay_vector_operations_in_ir() {
    let dir = tempfile::tempdir().unwrap();
    let (ir, _) = compile(dir.path());
    for (name, index, vector_op) in EXPECT {
        let f = body(&ir, index);
        assert!(
            f.contains(vector_op),
            "{name}: expected `{vector_op}`:\n{f}"
        );
        assert!(!f.contains("extractelement"), "{name}: scalarized:\n{f}");
        let calls: Vec<_> = f
            .lines()
            .filter(|l| {
                l.contains("call ")
                    && !l.contains("@llvm.read_register")
                    && !l.contains("call void %")
            })
            .collect();
        assert!(calls.is_empty(), "{name}: calls {calls:?}");
        assert!(
            !f.contains("br label %loop") && f.matches("br ").count() <= 1,
            "{name}: loops or branches:\n{f}"
        );
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn common_simd_operations_are_single_sse_or_avx_instructions() {
    let dir = tempfile::tempdir().unwrap();
    let (_, so) = compile(dir.path());
    let objdump = "/usr/lib/llvm-19/bin/llvm-objdump";
    let out = Command::new(objdump)
        .args(["-d", "--no-show-raw-insn"])
        .arg(&so)
        .output()
        .expect("llvm-objdump-19");
    let asm = String::from_utf8_lossy(&out.stdout);
    let function = |index: u32| -> String {
        let start = asm
            .find(&format!("<waot_func_{index}>:"))
            .expect("symbol in disassembly");
        let rest = &asm[start..];
        rest[..rest.find("\n\n").unwrap_or(rest.len())].to_string()
    };
    for (index, any_of) in [
        (0, &["paddd"][..]),
        (1, &["mulps"][..]),
        (
            2,
            &[
                "pshufb", "pblendvb", "punpck", "pblendw", "vpermi2b", "vpshufb",
            ][..],
        ),
        (
            3,
            &["vbroadcastss", "vpbroadcastd", "pshufd", "movddup"][..],
        ),
        (4, &["vbroadcastss", "shufps", "pshufd"][..]),
        (5, &["pmullw"][..]),
    ] {
        let f = function(index);
        assert!(
            any_of.iter().any(|m| f.contains(m)),
            "function {index}: none of {any_of:?} in\n{f}"
        );
        // The only call allowed is the stack-limit trap, through the vmctx's builtin table.
        let calls: Vec<_> = f
            .lines()
            .filter(|l| l.contains("call") && !l.contains("callq\t*"))
            .collect();
        assert!(
            calls.is_empty(),
            "function {index} calls out: {calls:?}\n{f}"
        );
    }
}
