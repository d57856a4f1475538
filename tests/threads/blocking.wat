;; WASI threads and blocking calls (tests/tests/threads.rs): thread 0 sleeps 3 s in
;; `poll_oneoff`, thread 1 blocks reading stdin (a pipe no one writes), and meanwhile the main
;; thread writes a line and returns from `_start`, which ends the process. A sleeping or
;; blocked thread must not hold up the main thread's WASI calls.
(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  (export "memory" (memory 0))
  ;; 0: threads about to block; 64: a clock subscription (48 bytes); 128: its event;
  ;; 192: an iovec; 256: the text "main\n"; 512: a read buffer.
  (data (i32.const 256) "main\n")
  (func $sleep (param $ns i64)
    (i64.store (i32.const 64) (i64.const 0))        ;; userdata
    (i32.store8 (i32.const 72) (i32.const 0))        ;; clock
    (i32.store (i32.const 80) (i32.const 1))         ;; monotonic
    (i64.store (i32.const 88) (local.get $ns))       ;; timeout
    (i64.store (i32.const 96) (i64.const 0))         ;; precision
    (i32.store16 (i32.const 104) (i32.const 0))      ;; relative
    (drop (call $poll (i32.const 64) (i32.const 128) (i32.const 1) (i32.const 160))))
  (func (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1)))
    (if (i32.eqz (local.get $arg))
      (then (call $sleep (i64.const 3000000000)))
      (else
        (i32.store (i32.const 192) (i32.const 512))
        (i32.store (i32.const 196) (i32.const 16))
        (drop (call $fd_read (i32.const 0) (i32.const 192) (i32.const 1) (i32.const 200))))))
  (func (export "_start") (local $n i32)
    (drop (call $spawn (i32.const 0)))
    (drop (call $spawn (i32.const 1)))
    (block $both
      (loop $w
        (local.set $n (i32.atomic.load (i32.const 0)))
        (br_if $both (i32.eq (local.get $n) (i32.const 2)))
        (drop (memory.atomic.wait32 (i32.const 0) (local.get $n) (i64.const -1)))
        (br $w)))
    ;; Let both reach their blocking calls.
    (call $sleep (i64.const 200000000))
    (i32.store (i32.const 192) (i32.const 256))
    (i32.store (i32.const 196) (i32.const 5))
    (drop (call $fd_write (i32.const 1) (i32.const 192) (i32.const 1) (i32.const 200)))))
