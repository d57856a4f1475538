;; A WASI threads program (tests/tests/threads.rs): `_start` spawns four threads, each adds
;; 1 to a counter 100,000 times with `i32.atomic.rmw.add` and then signals with
;; `memory.atomic.notify`; the main thread waits with `memory.atomic.wait32` until all four are
;; done and prints the counter. A thread started with argument 99 traps, one with 98 calls
;; `proc_exit(7)` (the test rewrites the spawn argument for those cases).
(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "env" "memory" (memory 1 1 shared))
  (export "memory" (memory 0))
  ;; addr 0: counter, 4: threads done, 64..: text
  (func (export "wasi_thread_start") (param $tid i32) (param $arg i32) (local $i i32)
    (if (i32.eq (local.get $arg) (i32.const 99)) (then unreachable))
    (if (i32.eq (local.get $arg) (i32.const 98)) (then (call $exit (i32.const 7))))
    (local.set $i (i32.const 100000))
    (loop $l
      (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
      (br_if $l (local.tee $i (i32.sub (local.get $i) (i32.const 1)))))
    (drop (i32.atomic.rmw.add (i32.const 4) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 4) (i32.const 1))))
  (func (export "_start") (local $i i32) (local $d i32) (local $n i32) (local $p i32)
    (loop $s
      (if (i32.lt_s (call $spawn (local.get $i)) (i32.const 1)) (then unreachable))
      (br_if $s (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 4))))
    (block $done
      (loop $w
        (local.set $d (i32.atomic.load (i32.const 4)))
        (br_if $done (i32.eq (local.get $d) (i32.const 4)))
        (drop (memory.atomic.wait32 (i32.const 4) (local.get $d) (i64.const -1)))
        (br $w)))
    ;; print the counter in decimal, then a newline
    (local.set $n (i32.atomic.load (i32.const 0)))
    (local.set $p (i32.const 100))
    (i32.store8 (local.get $p) (i32.const 10))
    (loop $digit
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p) (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
      (br_if $digit (local.tee $n (i32.div_u (local.get $n) (i32.const 10)))))
    (i32.store (i32.const 16) (local.get $p))
    (i32.store (i32.const 20) (i32.sub (i32.const 101) (local.get $p)))
    (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))))
