;; The cost of a cast: `run N` tests N references against a non-final type with subtypes (the supertype display at its depth), cycling
;; through objects of four types of one hierarchy, and counts the successes.
(module
  (type $base (sub (struct (field i32))))
  (type $mid (sub $base (struct (field i32) (field i64))))
  (type $low (sub $mid (struct (field i32) (field i64) (field f32))))
  (type $leaf (sub final $low (struct (field i32) (field i64) (field f32) (field f64))))
  (type $objs (array (ref $base)))
  (func (export "run") (param $n i32) (result i64)
    (local $objs (ref $objs)) (local $i i32) (local $hits i64)
    (local.set $objs (array.new_fixed $objs 4
      (struct.new_default $base) (struct.new_default $mid)
      (struct.new_default $low) (struct.new_default $leaf)))
    (loop $l
      (if (ref.test (ref $mid)
            (array.get $objs (local.get $objs) (i32.and (local.get $i) (i32.const 3))))
        (then (local.set $hits (i64.add (local.get $hits) (i64.const 1)))))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                          (local.get $n))))
    (local.get $hits)))
