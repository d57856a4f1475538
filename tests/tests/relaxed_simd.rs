//! Relaxed SIMD has one meaning here on every target (compiler/src/translate/simd/relaxed.rs):
//! the inputs where the proposal allows several results give the same one natively, on a CPU
//! with and without FMA, at every level, and in the interpreter.

use waot::wast::{run_script, Mode};
use waot_compiler::{CompileOptions, OptLevel};
use waot_tests::InProcessCompiler;

/// Inputs whose results the proposal leaves open.
const SCRIPT: &str = r#"
(module
  (func (export "madd32") (param f32 f32 f32) (result f32)
    (f32x4.extract_lane 0 (f32x4.relaxed_madd (f32x4.splat (local.get 0))
      (f32x4.splat (local.get 1)) (f32x4.splat (local.get 2)))))
  (func (export "nmadd32") (param f32 f32 f32) (result f32)
    (f32x4.extract_lane 3 (f32x4.relaxed_nmadd (f32x4.splat (local.get 0))
      (f32x4.splat (local.get 1)) (f32x4.splat (local.get 2)))))
  (func (export "madd64") (param f64 f64 f64) (result f64)
    (f64x2.extract_lane 1 (f64x2.relaxed_madd (f64x2.splat (local.get 0))
      (f64x2.splat (local.get 1)) (f64x2.splat (local.get 2)))))
  (func (export "dot") (param i32 i32) (result i32)
    (i16x8.extract_lane_s 0 (i16x8.relaxed_dot_i8x16_i7x16_s
      (i8x16.splat (local.get 0)) (i8x16.splat (local.get 1)))))
  (func (export "dot_add") (param i32 i32 i32) (result i32)
    (i32x4.extract_lane 2 (i32x4.relaxed_dot_i8x16_i7x16_add_s
      (i8x16.splat (local.get 0)) (i8x16.splat (local.get 1)) (i32x4.splat (local.get 2)))))
  (func (export "swizzle") (param i32) (result i32)
    (i8x16.extract_lane_u 0 (i8x16.relaxed_swizzle (v128.const i8x16 7 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15)
      (i8x16.splat (local.get 0)))))
  (func (export "trunc") (param f32) (result i32)
    (i32x4.extract_lane 0 (i32x4.relaxed_trunc_f32x4_s (f32x4.splat (local.get 0)))))
  (func (export "trunc_u") (param f64) (result i32)
    (i32x4.extract_lane 1 (i32x4.relaxed_trunc_f64x2_u_zero (f64x2.splat (local.get 0)))))
  (func (export "min") (param f32 f32) (result i32)
    (i32x4.extract_lane 0 (f32x4.relaxed_min (f32x4.splat (local.get 0)) (f32x4.splat (local.get 1)))))
  (func (export "laneselect") (param i32) (result i32)
    (i32x4.extract_lane 0 (i32x4.relaxed_laneselect (i32x4.splat (i32.const -1))
      (i32x4.splat (i32.const 0)) (i32x4.splat (local.get 0)))))
  (func (export "q15") (param i32 i32) (result i32)
    (i16x8.extract_lane_s 0 (i16x8.relaxed_q15mulr_s (i16x8.splat (local.get 0)) (i16x8.splat (local.get 1))))))

;; (1 + 2^-12)^2 - (1 + 2^-11) is 2^-24 rounded once, 0 rounded twice: fused.
(assert_return (invoke "madd32" (f32.const 0x1.001p0) (f32.const 0x1.001p0) (f32.const -0x1.002p0))
  (f32.const 0x1p-24))
(assert_return (invoke "nmadd32" (f32.const 0x1.001p0) (f32.const 0x1.001p0) (f32.const 0x1.002p0))
  (f32.const -0x1p-24))
(assert_return (invoke "madd64" (f64.const 0x1.0000002p0) (f64.const 0x1.0000002p0)
  (f64.const -0x1.0000004p0)) (f64.const 0x1p-54))
;; The second operand outside i7: signed, and the pair's sum wraps to 16 bits.
(assert_return (invoke "dot" (i32.const -128) (i32.const -128)) (i32.const -32768))
(assert_return (invoke "dot" (i32.const 100) (i32.const 200)) (i32.const -11200))
(assert_return (invoke "dot_add" (i32.const -128) (i32.const -128) (i32.const 5)) (i32.const -65531))
;; Indices of 16 and more select 0, as i8x16.swizzle.
(assert_return (invoke "swizzle" (i32.const 16)) (i32.const 0))
(assert_return (invoke "swizzle" (i32.const 0x80)) (i32.const 0))
(assert_return (invoke "swizzle" (i32.const 0x70)) (i32.const 0))
;; Saturating, NaN to 0.
(assert_return (invoke "trunc" (f32.const nan)) (i32.const 0))
(assert_return (invoke "trunc" (f32.const 3e9)) (i32.const 0x7fffffff))
(assert_return (invoke "trunc" (f32.const -3e9)) (i32.const 0x80000000))
(assert_return (invoke "trunc_u" (f64.const -1)) (i32.const 0))
(assert_return (invoke "trunc_u" (f64.const 5e9)) (i32.const -1))
;; -0 is less than +0, either way round; a NaN wins (canonical quiet NaN bits).
(assert_return (invoke "min" (f32.const 0) (f32.const -0)) (i32.const 0x80000000))
(assert_return (invoke "min" (f32.const -0) (f32.const 0)) (i32.const 0x80000000))
;; A mask that is not all ones or zeros: bitwise.
(assert_return (invoke "laneselect" (i32.const 0x0f0f00ff)) (i32.const 0x0f0f00ff))
(assert_return (invoke "q15" (i32.const -32768) (i32.const -32768)) (i32.const 32767))
"#;

#[test]
fn open_results_are_the_same_everywhere() {
    let report = run_script(SCRIPT, Mode::Interp(&[]));
    assert!(
        report.failures.is_empty(),
        "interpreter: {:?}",
        report.failures
    );
    assert_eq!(report.passed, 19);
    for cpu in ["x86-64-v3", "generic"] {
        for opt_level in [OptLevel::O0, OptLevel::O2] {
            let compiler = InProcessCompiler {
                options: CompileOptions {
                    cpu: cpu.into(),
                    opt_level,
                    ..CompileOptions::default()
                },
            };
            let report = run_script(SCRIPT, Mode::Aot(&compiler));
            let how = format!("--cpu {cpu} -{}", opt_level.name());
            assert!(report.failures.is_empty(), "{how}: {:?}", report.failures);
            assert_eq!(report.passed, 19, "{how}");
        }
    }
}
