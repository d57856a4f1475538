;; What an atomic read-modify-write costs next to a plain store when no other thread contends
;; (scripts/bench-features): the same loop adds to one of 1,024 words of a shared memory with
;; a load and a store, and with `i32.atomic.rmw.add` (a `lock xadd` on x86-64).
(module
  (memory 1 1 shared)
  (func (export "plain") (param $n i32) (result i32) (local $p i32)
    (loop $l
      (local.set $p (i32.and (i32.mul (local.get $n) (i32.const 40)) (i32.const 4092)))
      (i32.store (local.get $p) (i32.add (i32.load (local.get $p)) (local.get $n)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (i32.load (i32.const 40)))
  (func (export "atomic") (param $n i32) (result i32) (local $p i32)
    (loop $l
      (local.set $p (i32.and (i32.mul (local.get $n) (i32.const 40)) (i32.const 4092)))
      (drop (i32.atomic.rmw.add (local.get $p) (local.get $n)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (i32.load (i32.const 40))))
