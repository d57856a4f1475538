;; What relaxed SIMD buys on a dot product (scripts/bench-features): the same loop over two
;; 4 KB vectors of f32, accumulating with `f32x4.relaxed_madd` (one fused multiply-add) and
;; with the strict `f32x4.mul` + `f32x4.add`, with one accumulator (each step waits for the
;; last: latency-bound) and with four (`*4`: throughput-bound, as vectorizing compilers emit). Returns the sum's bits, which may differ in the
;; last place between the two (fused rounding), so the script compares the exports' timings,
;; not their values.
(module
  (memory 1)
  (func $fill (local $i i32)
    (loop $l
      (f32.store (local.get $i) (f32.convert_i32_u (i32.and (local.get $i) (i32.const 255))))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 4))) (i32.const 8192)))))
  (start $fill)
  (func (export "strict") (param $n i32) (result i32) (local $i i32) (local $acc v128)
    (loop $rep
      (local.set $i (i32.const 0))
      (loop $l
        (local.set $acc (f32x4.add (local.get $acc)
          (f32x4.mul (v128.load (local.get $i)) (v128.load offset=4096 (local.get $i)))))
        (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 16))) (i32.const 4096))))
      (br_if $rep (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (i32.trunc_sat_f32_u (f32x4.extract_lane 0 (local.get $acc))))
  (func (export "relaxed") (param $n i32) (result i32) (local $i i32) (local $acc v128)
    (loop $rep
      (local.set $i (i32.const 0))
      (loop $l
        (local.set $acc (f32x4.relaxed_madd (v128.load (local.get $i))
          (v128.load offset=4096 (local.get $i)) (local.get $acc)))
        (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 16))) (i32.const 4096))))
      (br_if $rep (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (i32.trunc_sat_f32_u (f32x4.extract_lane 0 (local.get $acc))))
  (func (export "strict4") (param $n i32) (result i32) (local $i i32)
    (local $a v128) (local $b v128) (local $c v128) (local $d v128)
    (loop $rep
      (local.set $i (i32.const 0))
      (loop $l
        (local.set $a (f32x4.add (local.get $a)
          (f32x4.mul (v128.load (local.get $i)) (v128.load offset=4096 (local.get $i)))))
        (local.set $b (f32x4.add (local.get $b)
          (f32x4.mul (v128.load offset=16 (local.get $i)) (v128.load offset=4112 (local.get $i)))))
        (local.set $c (f32x4.add (local.get $c)
          (f32x4.mul (v128.load offset=32 (local.get $i)) (v128.load offset=4128 (local.get $i)))))
        (local.set $d (f32x4.add (local.get $d)
          (f32x4.mul (v128.load offset=48 (local.get $i)) (v128.load offset=4144 (local.get $i)))))
        (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 64))) (i32.const 4096))))
      (br_if $rep (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (i32.trunc_sat_f32_u (f32x4.extract_lane 0 (f32x4.add (f32x4.add (local.get $a) (local.get $b))
      (f32x4.add (local.get $c) (local.get $d))))))
  (func (export "relaxed4") (param $n i32) (result i32) (local $i i32)
    (local $a v128) (local $b v128) (local $c v128) (local $d v128)
    (loop $rep
      (local.set $i (i32.const 0))
      (loop $l
        (local.set $a (f32x4.relaxed_madd (v128.load (local.get $i))
          (v128.load offset=4096 (local.get $i)) (local.get $a)))
        (local.set $b (f32x4.relaxed_madd (v128.load offset=16 (local.get $i))
          (v128.load offset=4112 (local.get $i)) (local.get $b)))
        (local.set $c (f32x4.relaxed_madd (v128.load offset=32 (local.get $i))
          (v128.load offset=4128 (local.get $i)) (local.get $c)))
        (local.set $d (f32x4.relaxed_madd (v128.load offset=48 (local.get $i))
          (v128.load offset=4144 (local.get $i)) (local.get $d)))
        (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 64))) (i32.const 4096))))
      (br_if $rep (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (i32.trunc_sat_f32_u (f32x4.extract_lane 0 (f32x4.add (f32x4.add (local.get $a) (local.get $b))
      (f32x4.add (local.get $c) (local.get $d)))))))
