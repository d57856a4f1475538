;; The module tests/capi/thread_reuse.c calls from one thread after another.
(module
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "fail") unreachable))
