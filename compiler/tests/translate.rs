//! The compiler on its own: where errors are reported, and properties of the IR that the
//! runtime relies on.

mod common;

use common::function_body;
use std::path::PathBuf;
use waot_compiler::{compile_to_file, CompileError, CompileOptions, OptLevel};

fn compile_ir(wat: &str, opt_level: OptLevel) -> Result<String, CompileError> {
    compile_ir_with(wat, opt_level, |_| {})
}

fn compile_ir_with(
    wat: &str,
    opt_level: OptLevel,
    adjust: impl FnOnce(&mut CompileOptions),
) -> Result<String, CompileError> {
    let dir = tempfile::tempdir().unwrap();
    let ll: PathBuf = dir.path().join("m.ll");
    // A fixed CPU: the IR must not depend on the machine that runs the test.
    let mut options = CompileOptions {
        opt_level,
        emit_llvm: Some(ll.clone()),
        target: Some("x86_64-unknown-linux-gnu".into()),
        cpu: "x86-64-v3".into(),
        ..Default::default()
    };
    adjust(&mut options);
    compile_to_file(
        &wat::parse_str(wat).unwrap(),
        "m.wasm",
        &dir.path().join("m.so"),
        &options,
    )?;
    Ok(std::fs::read_to_string(ll).unwrap())
}

fn compile_bytes(bytes: &[u8]) -> Result<(), CompileError> {
    let dir = tempfile::tempdir().unwrap();
    compile_to_file(
        bytes,
        "m.wasm",
        &dir.path().join("m.so"),
        &CompileOptions::default(),
    )
    .map(drop)
}

#[test]
fn invalid_body_is_reported_in_its_function_with_offset() {
    let wat = r#"(module
      (import "env" "f" (func))
      (func (result i32) (i32.const 1))
      (func (result i32) (f32.const 1)))"#;
    let err = compile_bytes(&wat::parse_str(wat).unwrap()).unwrap_err();
    let CompileError::Invalid {
        location, offset, ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(location, "function 2", "imports count in the index: {err}");
    assert!(*offset > 8);
    let line = err.to_string();
    assert!(
        line.starts_with("m.wasm: invalid module in function 2 at byte offset 0x"),
        "{line}"
    );
    assert_eq!(line.lines().count(), 1);
}

#[test]
fn malformed_section_is_reported_by_name() {
    // A type section whose entry has form 0x61 instead of 0x60 (func).
    let bytes = b"\0asm\x01\0\0\0\x01\x04\x01\x61\x00\x00";
    let err = compile_bytes(bytes).unwrap_err();
    assert!(
        err.to_string()
            .contains("in type section at byte offset 0xb"),
        "{err}"
    );
    let err = compile_bytes(b"\0asm\x01\0").unwrap_err();
    assert!(matches!(err, CompileError::Invalid { .. }), "{err}");
}

#[test]
fn unknown_proposals_are_refused() {
    let options = CompileOptions {
        enabled_proposals: vec!["teleportation".into()],
        ..Default::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let err = compile_to_file(
        &wat::parse_str("(module)").unwrap(),
        "m",
        &dir.path().join("m.so"),
        &options,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("unknown proposal `teleportation`"),
        "{err}"
    );
}

#[test]
fn functions_that_call_check_the_stack_limit_and_leaves_do_not() {
    let wat = r#"(module
      (func $leaf (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
      (func $caller (export "c") (param i32) (result i32) (call $leaf (local.get 0)))
      (func $self (export "r") (call $self)))"#;
    let ir = compile_ir(wat, OptLevel::O2).unwrap();
    let checks = |index: u32| {
        let start = ir.find(&format!("@waot_func_{index}(")).unwrap();
        let body = &ir[start..];
        body[..body.find("\n}\n").unwrap()].contains("@llvm.read_register.i64")
    };
    assert!(!checks(0), "a leaf cannot recurse: no check");
    assert!(checks(2), "recursion is checked:\n{ir}");
    // $caller may be inlined into nothing but a leaf body; if it calls, it checks.
    let start = ir.find("@waot_func_1(").unwrap();
    let body = &ir[start..][..ir[start..].find("\n}\n").unwrap()];
    assert_eq!(
        body.contains("call "),
        body.contains("@llvm.read_register.i64"),
        "{body}"
    );
}

#[test]
fn every_defined_function_starts_on_a_32_byte_boundary() {
    // A small hot function's speed depended on where it fell on x86-64 (PERFORMANCE.md,
    // "Functions on 32-byte boundaries"); at -O0 too.
    let wat = r#"(module (func $a (result i32) (i32.const 1))
                   (func $b (export "b") (result i32) (i32.add (call $a) (call $a)))
                   (func (export "c") (param i32) (result i32) (local.get 0)))"#;
    let defines = |ir: &str| -> Vec<String> {
        ir.lines()
            .filter(|l| l.starts_with("define") && l.contains("@waot_func_"))
            .map(str::to_string)
            .collect()
    };
    for level in [OptLevel::O0, OptLevel::O2] {
        // One partition, and one per function (split modules share hidden symbols).
        for partition_bytes in [0, 1] {
            let ir = compile_ir_with(wat, level, |o| o.partition_bytes = partition_bytes);
            let defined = defines(&ir.unwrap());
            assert_eq!(defined.len(), 3, "{defined:?}");
            for define in defined {
                assert!(define.ends_with(" align 32 {"), "{level:?}: {define}");
            }
        }
    }
    // Without `--target` the host's triple decides.
    #[cfg(target_arch = "x86_64")]
    for define in defines(&compile_ir_with(wat, OptLevel::O2, |o| o.target = None).unwrap()) {
        assert!(define.ends_with(" align 32 {"), "{define}");
    }
    // The size levels ask for less code.
    for define in defines(&compile_ir(wat, OptLevel::Os).unwrap()) {
        assert!(!define.contains(" align "), "{define}");
    }
    // Elsewhere LLVM's own alignment stands.
    let arm = compile_ir_with(wat, OptLevel::O2, |o| {
        o.target = Some("aarch64-unknown-linux-gnu".into());
        o.cpu = "generic".into();
    })
    .unwrap();
    assert_eq!(defines(&arm).len(), 3, "{arm}");
    for define in defines(&arm) {
        assert!(!define.contains(" align "), "{define}");
    }
}

#[test]
fn runaway_recursion_stays_a_call_at_o3() {
    let ir = compile_ir(r#"(module (func $f (export "f") (call $f)))"#, OptLevel::O3).unwrap();
    let body = &ir[ir.find("define internal void @waot_func_0").unwrap()..];
    let body = &body[..body.find("\n}\n").unwrap()];
    assert!(
        body.contains("call void @waot_func_0"),
        "recursion must not become a loop:\n{body}"
    );
}

#[test]
fn float_constants_keep_their_nan_payloads() {
    let ir = compile_ir(
        r#"(module (func (export "f") (result f32) (f32.const nan:0x200001)))"#,
        OptLevel::O2,
    )
    .unwrap();
    assert!(
        ir.contains("ret float 0x7FF4000020000000"),
        "signalling NaN constant must survive:\n{ir}"
    );
}

#[test]
fn every_scalar_operator_family_translates_at_every_level() {
    let wat = r#"(module
      (memory 1) (table 2 funcref) (global $g (mut f64) (f64.const 0))
      (type $t (func (param i32) (result i32)))
      (func $id (type $t) (local.get 0))
      (elem (i32.const 0) $id)
      (func (export "mix") (param i32 i64 f32 f64) (result i64 f64)
        (local i32)
        (local.set 4 (call_indirect (type $t) (i32.popcnt (local.get 0)) (i32.const 0)))
        (i64.store offset=8 (i32.const 0) (i64.rotl (local.get 1) (i64.extend_i32_s (local.get 4))))
        (global.set $g (f64.nearest (f64.promote_f32 (f32.min (local.get 2) (f32.const -0)))))
        (block (result i64)
          (br_table 0 0 (i64.load offset=8 (i32.const 0)) (i32.wrap_i64 (local.get 1))))
        (f64.add (global.get $g) (f64.convert_i64_u (i64.trunc_sat_f64_s (local.get 3)))))
      (func (export "bulk") (param i32)
        (memory.fill (i32.const 0) (i32.const 7) (local.get 0))
        (memory.copy (i32.const 100) (i32.const 0) (local.get 0))
        (drop (memory.grow (i32.const 1)))
        (table.set 0 (i32.const 1) (ref.null func))
        (drop (table.grow 0 (ref.func $id) (i32.const 1)))))"#;
    for level in [
        OptLevel::O0,
        OptLevel::O1,
        OptLevel::O2,
        OptLevel::O3,
        OptLevel::Os,
        OptLevel::Oz,
    ] {
        compile_ir(wat, level).unwrap_or_else(|e| panic!("{level:?}: {e}"));
    }
}

#[test]
fn return_call_is_a_guaranteed_tail_call() {
    let ir = compile_ir(
        r#"(module
          (func $even (param i64) (result i32)
            (if (result i32) (i64.eqz (local.get 0)) (then (i32.const 1))
              (else (return_call $odd (i64.sub (local.get 0) (i64.const 1))))))
          (func $odd (export "odd") (param i64) (result i32)
            (if (result i32) (i64.eqz (local.get 0)) (then (i32.const 0))
              (else (return_call $even (i64.sub (local.get 0) (i64.const 1)))))))"#,
        OptLevel::O0,
    )
    .unwrap();
    assert!(ir.contains("musttail call i32 @waot_func_1"), "{ir}");
    let odd = &ir[ir.find("define internal i32 @waot_func_1").unwrap()..];
    let odd = &odd[..odd.find("\n}\n").unwrap()];
    assert!(!odd.contains("disable-tail-calls"), "{odd}");
}

#[test]
fn try_table_runs_no_code_on_entry_and_invokes_calls() {
    let ir = compile_ir(
        r#"(module
          (tag $e (param i32))
          (func $g (param i32) (result i32) (local.get 0))
          (func (export "f") (param i32) (result i32)
            (block $h (result i32)
              (try_table (result i32) (catch $e $h) (call $g (local.get 0))))))"#,
        OptLevel::O0,
    )
    .unwrap();
    let f = &ir[ir.find("define internal i32 @waot_func_1").unwrap()..];
    let f = &f[..f.find("\n}\n").unwrap()];
    assert!(f.contains("personality ptr @waot_personality"), "{f}");
    assert!(f.contains("invoke i32 @waot_func_0"), "{f}");
    assert!(f.contains("landingpad { ptr, i32 }"), "{f}");
    // Only the stack check and the argument's spill precede the invoke: no setjmp, no call.
    let entry = &f[..f.find("invoke").unwrap()];
    assert!(
        !entry.contains("call ptr") && !entry.contains("setjmp"),
        "{f}"
    );
}

#[test]
fn every_access_addresses_its_byte_one_way() {
    // LLVM takes distinct addresses for distinct memory, so an `i32.add` address must become
    // the same `base + zext(addr) + offset` as any other access to that byte: the 32-bit sum is
    // formed first, and there is no second view of the memory below its base.
    let wat = r#"(module (memory 1)
      (func (export "direct") (param i32 i32) (result i32)
        (i32.load (i32.add (local.get 0) (local.get 1))))
      (func (export "through_local") (param i32 i32) (result i32) (local i32)
        (local.set 2 (i32.add (local.get 0) (local.get 1)))
        (i32.load (local.get 2))))"#;
    let ir = compile_ir(wat, OptLevel::O2).unwrap();
    let body = |name: &str| {
        let start = ir
            .find(&format!("@{name}("))
            .unwrap_or_else(|| panic!("{name}:\n{ir}"));
        ir[start..ir[start..].find("\n}").unwrap() + start].to_string()
    };
    for f in ["waot_func_0", "waot_func_1"] {
        let b = body(f);
        assert!(b.contains("add i32"), "{f} forms the 32-bit sum:\n{b}");
        assert!(!b.contains("-4294967296"), "{f} has no second view:\n{b}");
    }
}

/// A callee inlined into its caller runs in the caller's frame, whose stack check at entry
/// has passed: its own check is folded away, and with its trap path the stores of the fuel
/// that the trap could have seen (one per inlined call before). Interruptible code reloads
/// the limit at each check, as a poll, and keeps every one.
#[test]
fn an_inlined_callees_stack_check_is_folded_unless_it_polls() {
    // A function that calls nothing checks nothing (its caller's check covers it): the
    // callee here calls one.
    let wat = r#"(module
      (func $leaf (param i32) (result i32)
        (i32.add (i32.mul (local.get 0) (i32.const 3)) (i32.const 1)))
      (func $callee (param i32) (result i32)
        (i32.xor (call $leaf (local.get 0)) (i32.const 5)))
      (func (export "run") (param i32) (result i32)
        (call $callee (call $callee (call $callee (local.get 0))))))"#;
    let checks = |ir: &str| function_body(ir, 2).matches("@llvm.read_register").count();
    let fuel_stores = |ir: &str| function_body(ir, 2).matches("store i64").count();
    let plain = compile_ir(wat, OptLevel::O2).unwrap();
    assert!(
        !function_body(&plain, 2).contains(" call i32"),
        "all inlined: {plain}"
    );
    assert_eq!(checks(&plain), 1, "{plain}");
    let fuel = compile_ir_with(wat, OptLevel::O2, |o| o.metering.fuel = true).unwrap();
    assert_eq!(checks(&fuel), 1, "{fuel}");
    assert_eq!(
        fuel_stores(&fuel),
        1,
        "the fuel is stored once, at the return: {fuel}"
    );
    let polled = compile_ir_with(wat, OptLevel::O2, |o| o.metering.interruptible = true).unwrap();
    assert_eq!(checks(&polled), 4, "{polled}");
    // The leaf's unused poll of the limit is gone too (LLVM keeps an atomic load).
    assert!(
        !function_body(&polled, 0).contains("load atomic"),
        "{polled}"
    );
}
