;; A chained hash map of structs: 65,536 buckets, `run N` inserts N pseudo-random keys
;; (updating the value of a key seen before), then looks each up again. Returns a checksum of
;; the values found.
(module
  (type $entry (struct (field $key i64) (field $val (mut i64)) (field $next (ref null $entry))))
  (type $buckets (array (mut (ref null $entry))))
  (func $slot (param $k i64) (result i32)
    (i32.wrap_i64 (i64.and (i64.shr_u (i64.mul (local.get $k) (i64.const 0x9e3779b97f4a7c15))
                                      (i64.const 40))
                           (i64.const 0xffff))))
  (func $find (param $m (ref $buckets)) (param $k i64) (result (ref null $entry))
    (local $e (ref null $entry))
    (local.set $e (array.get $buckets (local.get $m) (call $slot (local.get $k))))
    (block $found
      (loop $walk
        (br_if $found (ref.is_null (local.get $e)))
        (br_if $found (i64.eq (struct.get $entry $key (local.get $e)) (local.get $k)))
        (local.set $e (struct.get $entry $next (local.get $e)))
        (br $walk)))
    (local.get $e))
  (func (export "run") (param $n i32) (result i64)
    (local $m (ref $buckets)) (local $i i32) (local $k i64) (local $e (ref null $entry))
    (local $s i32) (local $sum i64)
    (local.set $m (array.new_default $buckets (i32.const 65536)))
    (local.set $k (i64.const 1))
    (loop $insert
      (local.set $k (i64.add (i64.mul (local.get $k) (i64.const 6364136223846793005))
                             (i64.const 1442695040888963407)))
      (local.set $e (call $find (local.get $m) (i64.shr_u (local.get $k) (i64.const 44))))
      (if (ref.is_null (local.get $e))
        (then
          (local.set $s (call $slot (i64.shr_u (local.get $k) (i64.const 44))))
          (array.set $buckets (local.get $m) (local.get $s)
            (struct.new $entry (i64.shr_u (local.get $k) (i64.const 44))
                               (i64.extend_i32_u (local.get $i))
                               (array.get $buckets (local.get $m) (local.get $s)))))
        (else (struct.set $entry $val (local.get $e) (i64.extend_i32_u (local.get $i)))))
      (br_if $insert (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                               (local.get $n))))
    (local.set $k (i64.const 1))
    (local.set $i (i32.const 0))
    (loop $lookup
      (local.set $k (i64.add (i64.mul (local.get $k) (i64.const 6364136223846793005))
                             (i64.const 1442695040888963407)))
      (local.set $e (call $find (local.get $m) (i64.shr_u (local.get $k) (i64.const 44))))
      (local.set $sum (i64.add (local.get $sum) (struct.get $entry $val (local.get $e))))
      (br_if $lookup (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                               (local.get $n))))
    (local.get $sum)))
