//! The saturating-add peephole (`compiler/src/codegen/saturate.rs`) computes what the widened
//! wasm computes, for every byte value, with the addend known to fit and with it unknown.

use waot::{Linker, Store, Val};
use waot_compiler::{compile_to_file, CompileOptions};
use waot_tests::load_wat;

/// A byte loop body as C compilers vectorize `v = a[i] + k; a[i] = v > 255 ? 255 : v`:
/// widened to i32 lanes, added, clamped, narrowed. With `k` masked to 0..=3 it is `uadd.sat`
/// on bytes; with `k` unknown the i32 sum can exceed 255 + 255 and it must stay as it is.
fn saturating_module() -> String {
    let body = |k: &str| {
        let lanes = |ext8: &str, ext16: &str| {
            format!(
                "(i32x4.min_u (i32x4.add (i32x4.splat {k}) (i32x4.extend_{ext16}_i16x8_u \
                 (i16x8.extend_{ext8}_i8x16_u (v128.load (i32.const 0))))) \
                 (v128.const i32x4 255 255 255 255))"
            )
        };
        format!(
            "(v128.store (i32.const 0) (i8x16.narrow_i16x8_u \
               (i16x8.narrow_i32x4_u {} {}) (i16x8.narrow_i32x4_u {} {})))",
            lanes("low", "low"),
            lanes("low", "high"),
            lanes("high", "low"),
            lanes("high", "high")
        )
    };
    format!(
        "(module (memory (export \"memory\") 1)
           (func (export \"masked\") (param i32) {})
           (func (export \"unmasked\") (param i32) {}))",
        body("(i32.and (local.get 0) (i32.const 3))"),
        body("(local.get 0)")
    )
}

#[test]
fn saturating_byte_adds_match_wasm_for_every_byte_and_addend() {
    let d = tempfile::tempdir().unwrap();
    let wat = saturating_module();
    let m = load_wat(d.path(), "saturating", &wat, &CompileOptions::default());
    let mut store = Store::new();
    let inst = Linker::new().instantiate(&mut store, &m).unwrap();
    let memory = store.get_memory(inst, "memory").unwrap();
    for export in ["masked", "unmasked"] {
        let f = store.get_func(inst, export).unwrap();
        for k in [
            0u32,
            1,
            2,
            3,
            4,
            7,
            200,
            255,
            256,
            257,
            0xffff_ff00,
            0xffff_ffff,
        ] {
            let addend = if export == "masked" { k & 3 } else { k } as u64;
            for first in (0..256).step_by(16) {
                let bytes: Vec<u8> = (first..first + 16).map(|b| b as u8).collect();
                store.memory_data_mut(memory).unwrap()[..16].copy_from_slice(&bytes);
                store.call(f, &[Val::I32(k as i32)]).unwrap();
                // wasm: i32 lanes add modulo 2^32, then min_u 255, then narrow.
                let want: Vec<u8> = bytes
                    .iter()
                    .map(|&b| (b as u64 + addend).rem_euclid(1 << 32).min(255) as u8)
                    .collect();
                assert_eq!(
                    &store.memory_data(memory).unwrap()[..16],
                    &want[..],
                    "{export}({k:#x})"
                );
            }
        }
    }
}

#[test]
fn widened_saturating_byte_adds_become_uadd_sat_when_the_addend_fits() {
    // For fixed CPU levels (vector widths differ with AVX2 and AVX-512) and AArch64.
    for (target, cpu) in [
        ("x86_64-unknown-linux-gnu", "x86-64-v2"),
        ("x86_64-unknown-linux-gnu", "x86-64-v3"),
        ("x86_64-unknown-linux-gnu", "x86-64-v4"),
        ("aarch64-unknown-linux-gnu", "generic"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let ll = dir.path().join("s.ll");
        let options = CompileOptions {
            emit_llvm: Some(ll.clone()),
            target: Some(target.into()),
            cpu: cpu.into(),
            ..Default::default()
        };
        let so = dir.path().join("s.so");
        let wasm = wat::parse_str(saturating_module()).unwrap();
        compile_to_file(&wasm, "s", &so, &options).unwrap();
        let ir = std::fs::read_to_string(ll).unwrap();
        let body = |index: u32| {
            let start = ir.find(&format!("@waot_func_{index}(")).unwrap();
            ir[start..start + ir[start..].find("\n}\n").unwrap()].to_string()
        };
        let (masked, unmasked) = (body(0), body(1));
        assert!(
            masked.contains("@llvm.uadd.sat.v") && masked.contains("i8>"),
            "{cpu}: {masked}"
        );
        assert!(!masked.contains("umin"), "{cpu}: {masked}");
        assert!(!unmasked.contains("uadd.sat"), "{cpu}: {unmasked}");
    }
}
