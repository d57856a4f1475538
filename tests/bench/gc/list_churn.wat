;; A queue of 1,000,000 live nodes as a linked list: `run N` pops N nodes from the head and
;; appends N new ones at the tail, so the live heap stays ~32 MB while N nodes become garbage.
;; Returns the sum of the popped values.
(module
  (type $node (struct (field $next (mut (ref null $node))) (field $v i64)))
  (func (export "run") (param $n i32) (result i64)
    (local $head (ref null $node)) (local $tail (ref null $node)) (local $new (ref null $node))
    (local $i i32) (local $sum i64)
    (local.set $head (struct.new $node (ref.null $node) (i64.const 0)))
    (local.set $tail (local.get $head))
    (loop $build
      (local.set $new (struct.new $node (ref.null $node) (i64.extend_i32_u (local.get $i))))
      (struct.set $node $next (local.get $tail) (local.get $new))
      (local.set $tail (local.get $new))
      (br_if $build (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                              (i32.const 1000000))))
    (local.set $i (i32.const 0))
    (loop $churn
      (local.set $sum (i64.add (local.get $sum) (struct.get $node $v (local.get $head))))
      (local.set $head (struct.get $node $next (local.get $head)))
      (local.set $new (struct.new $node (ref.null $node) (i64.extend_i32_u (local.get $i))))
      (struct.set $node $next (local.get $tail) (local.get $new))
      (local.set $tail (local.get $new))
      (br_if $churn (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                              (local.get $n))))
    (local.get $sum)))
