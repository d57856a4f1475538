;; A string builder over arrays of i8: `run N` builds, 64 times over, the decimal numbers
;; 0..N/64 joined by commas into a buffer that doubles (array.new_default + array.copy) when
;; full, then sums its bytes. Each round's buffers become garbage.
(module
  (type $bytes (array (mut i8)))
  (type $builder (struct (field $buf (mut (ref $bytes))) (field $len (mut i32))))
  (func $push (param $b (ref $builder)) (param $c i32)
    (local $buf (ref $bytes)) (local $len i32) (local $new (ref $bytes))
    (local.set $buf (struct.get $builder $buf (local.get $b)))
    (local.set $len (struct.get $builder $len (local.get $b)))
    (if (i32.eq (local.get $len) (array.len (local.get $buf)))
      (then
        (local.set $new (array.new_default $bytes (i32.shl (local.get $len) (i32.const 1))))
        (array.copy $bytes $bytes (local.get $new) (i32.const 0)
                                  (local.get $buf) (i32.const 0) (local.get $len))
        (struct.set $builder $buf (local.get $b) (local.get $new))
        (local.set $buf (local.get $new))))
    (array.set $bytes (local.get $buf) (local.get $len) (local.get $c))
    (struct.set $builder $len (local.get $b) (i32.add (local.get $len) (i32.const 1))))
  (func $number (param $b (ref $builder)) (param $v i32)
    (if (i32.ge_u (local.get $v) (i32.const 10))
      (then (call $number (local.get $b) (i32.div_u (local.get $v) (i32.const 10)))))
    (call $push (local.get $b) (i32.add (i32.const 48) (i32.rem_u (local.get $v) (i32.const 10)))))
  (func (export "run") (param $n i32) (result i64)
    (local $round i32) (local $i i32) (local $b (ref null $builder)) (local $sum i64)
    (local $buf (ref null $bytes)) (local $j i32)
    (loop $rounds
      (local.set $b (struct.new $builder (array.new_default $bytes (i32.const 16)) (i32.const 0)))
      (local.set $i (i32.const 0))
      (loop $append
        (call $number (ref.as_non_null (local.get $b)) (local.get $i))
        (call $push (ref.as_non_null (local.get $b)) (i32.const 44))
        (br_if $append (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                                 (i32.div_u (local.get $n) (i32.const 64)))))
      (local.set $buf (struct.get $builder $buf (local.get $b)))
      (local.set $j (i32.const 0))
      (loop $sum
        (local.set $sum (i64.add (local.get $sum)
          (i64.extend_i32_u (array.get_u $bytes (local.get $buf) (local.get $j)))))
        (br_if $sum (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 1)))
                              (struct.get $builder $len (local.get $b)))))
      (br_if $rounds (i32.lt_u (local.tee $round (i32.add (local.get $round) (i32.const 1)))
                               (i32.const 64))))
    (local.get $sum)))
