;; Pause times under a large live heap: `run N` keeps 400,000 records live (a struct and a
;; 24-element i64 array each, about 100 MB), then N times replaces a pseudo-random record with
;; a new one, so the old one becomes garbage while the live heap stays the same size.
;; Returns the sum of the first element of every record at the end.
(module
  (type $data (array (mut i64)))
  (type $rec (struct (field $id i64) (field $data (ref $data))))
  (type $table (array (mut (ref null $rec))))
  (func $record (param $id i64) (result (ref $rec))
    (struct.new $rec (local.get $id) (array.new $data (local.get $id) (i32.const 24))))
  (func (export "run") (param $n i32) (result i64)
    (local $t (ref $table)) (local $i i32) (local $k i64) (local $sum i64)
    (local.set $t (array.new_default $table (i32.const 400000)))
    (loop $fill
      (array.set $table (local.get $t) (local.get $i)
        (call $record (i64.extend_i32_u (local.get $i))))
      (br_if $fill (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                             (i32.const 400000))))
    (local.set $i (i32.const 0))
    (local.set $k (i64.const 7))
    (loop $replace
      (local.set $k (i64.add (i64.mul (local.get $k) (i64.const 6364136223846793005))
                             (i64.const 1442695040888963407)))
      (array.set $table (local.get $t)
        (i32.wrap_i64 (i64.rem_u (i64.shr_u (local.get $k) (i64.const 33)) (i64.const 400000)))
        (call $record (i64.extend_i32_u (local.get $i))))
      (br_if $replace (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                                (local.get $n))))
    (local.set $i (i32.const 0))
    (loop $sum
      (local.set $sum (i64.add (local.get $sum)
        (array.get $data (struct.get $rec $data (array.get $table (local.get $t) (local.get $i)))
                         (i32.const 0))))
      (br_if $sum (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                            (i32.const 400000))))
    (local.get $sum)))
