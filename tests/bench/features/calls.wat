;; What `call_ref` costs next to `call_indirect` (scripts/bench-features): the same loop calls
;; one of four small functions chosen by the counter, through a `funcref` table with
;; `call_indirect` (bounds check, null check, signature compare) and through a table of
;; `(ref $t)` with `table.get` and `call_ref` (bounds check, null check).
(module
  (type $t (func (param i32) (result i32)))
  (func $f0 (type $t) (i32.add (local.get 0) (i32.const 1)))
  (func $f1 (type $t) (i32.xor (local.get 0) (i32.const 0x5bd1e995)))
  (func $f2 (type $t) (i32.mul (local.get 0) (i32.const 3)))
  (func $f3 (type $t) (i32.rotl (local.get 0) (i32.const 7)))
  (table $untyped 4 funcref)
  (elem (table $untyped) (i32.const 0) func $f0 $f1 $f2 $f3)
  (table $typed 4 (ref $t) (ref.func $f0))
  (elem (table $typed) (i32.const 0) (ref $t) (ref.func $f0) (ref.func $f1) (ref.func $f2)
    (ref.func $f3))
  (func (export "call_indirect") (param $n i32) (result i32) (local $acc i32)
    (loop $l
      (local.set $acc (call_indirect $untyped (type $t) (local.get $acc)
        (i32.and (i32.add (local.get $n) (local.get $acc)) (i32.const 3))))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $acc))
  (func (export "call_ref") (param $n i32) (result i32) (local $acc i32)
    (loop $l
      (local.set $acc (call_ref $t (local.get $acc)
        (table.get $typed (i32.and (i32.add (local.get $n) (local.get $acc)) (i32.const 3)))))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $acc)))
