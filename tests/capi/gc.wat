(module
  (type $bytes (array (mut i16)))
  (type $point (struct (field (mut i32)) (field (mut anyref)) (field i8)))
  (type $fixed (array i64))
  ;; What the guest sees of objects the host made.
  (func (export "x") (param anyref) (result i32)
    (struct.get $point 0 (ref.cast (ref $point) (local.get 0))))
  (func (export "small") (param anyref) (result i32)
    (struct.get_s $point 2 (ref.cast (ref $point) (local.get 0))))
  (func (export "element") (param anyref i32) (result i32)
    (array.get_u $bytes (ref.cast (ref $bytes) (local.get 0)) (local.get 1)))
  (func (export "inner_is_bytes") (param anyref) (result i32)
    (ref.test (ref $bytes) (struct.get $point 1 (ref.cast (ref $point) (local.get 0))))))
