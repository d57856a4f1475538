;; The benchmarks game's binary-trees: a long-lived tree of depth N, then many short-lived
;; trees of depths 4, 6, ... N, each built bottom-up and walked. `run N` returns the node count.
(module
  (type $tree (struct (field $l (ref null $tree)) (field $r (ref null $tree))))
  (func $make (param $d i32) (result (ref $tree))
    (if (result (ref $tree)) (i32.eqz (local.get $d))
      (then (struct.new $tree (ref.null $tree) (ref.null $tree)))
      (else (struct.new $tree
              (call $make (i32.sub (local.get $d) (i32.const 1)))
              (call $make (i32.sub (local.get $d) (i32.const 1)))))))
  (func $check (param $t (ref $tree)) (result i64)
    (local $l (ref null $tree))
    (local.set $l (struct.get $tree $l (local.get $t)))
    (if (result i64) (ref.is_null (local.get $l))
      (then (i64.const 1))
      (else (i64.add (i64.const 1)
              (i64.add (call $check (ref.as_non_null (local.get $l)))
                       (call $check (ref.as_non_null (struct.get $tree $r (local.get $t)))))))))
  (func (export "run") (param $max i32) (result i64)
    (local $long (ref null $tree)) (local $d i32) (local $i i32) (local $n i32) (local $sum i64)
    (local.set $sum (call $check (call $make (i32.add (local.get $max) (i32.const 1)))))
    (local.set $long (call $make (local.get $max)))
    (local.set $d (i32.const 4))
    (block $out
      (loop $depths
        (br_if $out (i32.gt_s (local.get $d) (local.get $max)))
        (local.set $n (i32.shl (i32.const 1)
          (i32.add (i32.sub (local.get $max) (local.get $d)) (i32.const 4))))
        (local.set $i (i32.const 0))
        (block $done
          (loop $iters
            (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
            (local.set $sum (i64.add (local.get $sum) (call $check (call $make (local.get $d)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $iters)))
        (local.set $d (i32.add (local.get $d) (i32.const 2)))
        (br $depths)))
    (i64.add (local.get $sum) (call $check (ref.as_non_null (local.get $long))))))
