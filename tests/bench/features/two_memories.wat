;; The same loop over memory 0 and over memory 1 (scripts/bench-features): what an access to a
;; second memory costs next to memory 0. Each pass reads and writes 64K words of 4 pages.
(module
  (memory $m0 4)
  (memory $m1 4)
  (func $pass0 (param $reps i32) (result i32) (local $i i32) (local $acc i32)
    (loop $rep
      (local.set $i (i32.const 0))
      (loop $word
        (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31))
          (i32.load $m0 (local.get $i))))
        (i32.store $m0 (local.get $i) (i32.add (local.get $acc) (local.get $i)))
        (br_if $word (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 4)))
          (i32.const 262144))))
      (br_if $rep (local.tee $reps (i32.sub (local.get $reps) (i32.const 1)))))
    (local.get $acc))
  (func $pass1 (param $reps i32) (result i32) (local $i i32) (local $acc i32)
    (loop $rep
      (local.set $i (i32.const 0))
      (loop $word
        (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31))
          (i32.load $m1 (local.get $i))))
        (i32.store $m1 (local.get $i) (i32.add (local.get $acc) (local.get $i)))
        (br_if $word (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 4)))
          (i32.const 262144))))
      (br_if $rep (local.tee $reps (i32.sub (local.get $reps) (i32.const 1)))))
    (local.get $acc))
  (export "memory0" (func $pass0))
  (export "memory1" (func $pass1)))
