;; Every way into and out of a handler, each in a loop: export `p_NAME` runs its pattern $n
;; times with payloads 1..=$n and returns their sum (mod 2^32), trapping if a kept exception
;; reference ever reads back a wrong payload. `all` runs every pattern.
;; tests/tests/exception_ownership.rs runs each a million times and checks that the store's
;; exception objects stay few; under valgrind, that none is used after it was freed.
(module
  (tag $e (param i32))
  (tag $f (param i32))
  (tag $box (param exnref))
  (global $kept (mut exnref) (ref.null exn))
  (table $slots 4 exnref)

  (func $throw_e (param i32) (throw $e (local.get 0)))

  ;; try_table / catch
  (func $p_catch (export "p_catch") (param $n i32) (result i32) (local $sum i32)
    (loop $next
      (block $h (result i32)
        (try_table (catch $e $h) (call $throw_e (local.get $n)))
        (unreachable))
      (local.set $sum (i32.add (local.get $sum)))
      (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $sum))

  ;; catch_ref, the reference dropped
  (func $p_catch_ref_drop (export "p_catch_ref_drop") (param $n i32) (result i32) (local $sum i32)
    (loop $next
      (block $h (result i32 exnref)
        (try_table (catch_ref $e $h) (throw $e (local.get $n)))
        (unreachable))
      (drop)
      (local.set $sum (i32.add (local.get $sum)))
      (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $sum))

  ;; catch_ref, then throw_ref to an outer catch
  (func $p_throw_ref (export "p_throw_ref") (param $n i32) (result i32) (local $sum i32)
    (loop $next
      (block $outer (result i32)
        (try_table (catch $e $outer)
          (block $inner (result i32 exnref)
            (try_table (catch_ref $e $inner) (call $throw_e (local.get $n)))
            (unreachable))
          (throw_ref)
          (drop))
        (unreachable))
      (local.set $sum (i32.add (local.get $sum)))
      (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $sum))

  ;; catch_all_ref, then throw_ref
  (func $p_catch_all_ref (export "p_catch_all_ref") (param $n i32) (result i32) (local $sum i32)
    (loop $next
      (block $outer (result i32)
        (try_table (catch $e $outer)
          (block $inner (result exnref)
            (try_table (catch_all_ref $inner) (throw $e (local.get $n)))
            (unreachable))
          (throw_ref))
        (unreachable))
      (local.set $sum (i32.add (local.get $sum)))
      (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $sum))

  ;; A reference kept in a local from one iteration to the next, thrown again then.
  (func $p_kept_local (export "p_kept_local") (param $n i32) (result i32)
    (local $sum i32) (local $old exnref) (local $new exnref) (local $v i32)
    (loop $next
      (block $h (result i32 exnref)
        (try_table (catch_ref $e $h) (call $throw_e (local.get $n)))
        (unreachable))
      (local.set $new)
      (local.set $v)
      (if (i32.eqz (ref.is_null (local.get $old)))
        (then
          ;; Last iteration's exception: its payload must still be n + 1.
          (block $h2 (result i32)
            (try_table (catch $e $h2) (throw_ref (local.get $old)))
            (unreachable))
          (if (i32.ne (i32.add (local.get $n) (i32.const 1))) (then (unreachable)))))
      (local.set $old (local.get $new))
      (local.set $sum (i32.add (local.get $sum) (local.get $v)))
      (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $sum))

  ;; A reference kept in a global, thrown again on the next iteration.
  (func $p_kept_global (export "p_kept_global") (param $n i32) (result i32) (local $sum i32)
    (global.set $kept (ref.null exn))
    (loop $next
      (if (i32.eqz (ref.is_null (global.get $kept)))
        (then
          (block $h (result i32)
            (try_table (catch $e $h) (throw_ref (global.get $kept)))
            (unreachable))
          (if (i32.ne (i32.sub (local.get $n) (i32.const -1))) (then (unreachable)))))
      (block $h (result i32 exnref)
        (try_table (catch_ref $e $h) (throw $e (local.get $n)))
        (unreachable))
      (global.set $kept)
      (local.set $sum (i32.add (local.get $sum)))
      (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (global.set $kept (ref.null exn))
    (local.get $sum))

  ;; References kept in a table, four iterations long.
  (func $p_kept_table (export "p_kept_table") (param $n i32) (result i32)
    (local $sum i32) (local $slot i32) (local $new exnref)
    (table.fill $slots (i32.const 0) (ref.null exn) (i32.const 4))
    (loop $next
      (local.set $slot (i32.and (local.get $n) (i32.const 3)))
      (if (i32.eqz (ref.is_null (table.get $slots (local.get $slot))))
        (then
          (block $h (result i32)
            (try_table (catch $e $h) (throw_ref (table.get $slots (local.get $slot))))
            (unreachable))
          (if (i32.ne (i32.sub (local.get $n) (i32.const -4))) (then (unreachable)))))
      (block $h (result i32 exnref)
        (try_table (catch_ref $e $h) (call $throw_e (local.get $n)))
        (unreachable))
      (local.set $new)
      (table.set $slots (local.get $slot) (local.get $new))
      (local.set $sum (i32.add (local.get $sum)))
      (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (table.fill $slots (i32.const 0) (ref.null exn) (i32.const 4))
    (local.get $sum))

  ;; An exception carried in another's payload, thrown again from there.
  (func $p_boxed (export "p_boxed") (param $n i32) (result i32) (local $sum i32)
    (loop $next
      (block $h (result i32)
        (try_table (catch $e $h)
          (block $unboxed (result exnref)
            (try_table (catch $box $unboxed)
              (block $inner (result i32 exnref)
                (try_table (catch_ref $e $inner) (throw $e (local.get $n)))
                (unreachable))
              (throw $box)
              (drop))
            (unreachable))
          (throw_ref))
        (unreachable))
      (local.set $sum (i32.add (local.get $sum)))
      (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $sum))

  ;; Legacy try / catch
  (func $p_legacy_catch (export "p_legacy_catch") (param $n i32) (result i32) (local $sum i32)
    (loop $next
      (try (result i32)
        (do (call $throw_e (local.get $n)) (i32.const 0))
        (catch $e))
      (local.set $sum (i32.add (local.get $sum)))
      (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $sum))

  ;; Legacy catch_all, the payload recomputed
  (func $p_legacy_catch_all (export "p_legacy_catch_all") (param $n i32) (result i32) (local $sum i32)
    (loop $next
      (try (do (throw $e (local.get $n)))
        (catch_all (local.set $sum (i32.add (local.get $sum) (local.get $n)))))
      (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $sum))

  ;; The reviewer's use after free: an inner catch_all receives the outer clause's exception
  ;; through `rethrow 1` and is left normally; the outer clause then rethrows it.
  (func $p_legacy_rethrow (export "p_legacy_rethrow") (param $n i32) (result i32) (local $sum i32)
    (loop $next
      (try (result i32)
        (do
          (try
            (do (throw $e (local.get $n)))
            (catch $e
              (drop)
              (try (do (rethrow 1)) (catch_all))
              (rethrow 0)))
          (i32.const 0))
        (catch $e))
      (local.set $sum (i32.add (local.get $sum)))
      (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $sum))

  ;; Legacy delegate to an outer handler
  (func $p_legacy_delegate (export "p_legacy_delegate") (param $n i32) (result i32) (local $sum i32)
    (loop $next
      (try (result i32)
        (do
          (try (do (call $throw_e (local.get $n))) (delegate 0))
          (i32.const 0))
        (catch $e))
      (local.set $sum (i32.add (local.get $sum)))
      (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $sum))

  ;; A legacy catch clause left by a branch (the leak of the previous design)
  (func $p_legacy_branch_out (export "p_legacy_branch_out") (param $n i32) (result i32) (local $sum i32)
    (loop $next
      (block $out (result i32)
        (try (do (throw $e (local.get $n)))
          (catch $e (br $out)))
        (unreachable))
      (local.set $sum (i32.add (local.get $sum)))
      (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $sum))

  ;; A legacy catch clause left by throwing another exception
  (func $p_legacy_throw_out (export "p_legacy_throw_out") (param $n i32) (result i32) (local $sum i32)
    (loop $next
      (block $h (result i32)
        (try_table (catch $f $h)
          (try (do (call $throw_e (local.get $n)))
            (catch $e (throw $f))))
        (unreachable))
      (local.set $sum (i32.add (local.get $sum)))
      (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $sum))

  ;; Rethrow through a function boundary (a forced unwind through a frame)
  (func $rethrow_inside (param i32)
    (try (do (throw $e (local.get 0))) (catch_all (rethrow 0))))
  (func $p_across_calls (export "p_across_calls") (param $n i32) (result i32) (local $sum i32)
    (loop $next
      (try (result i32)
        (do (call $rethrow_inside (local.get $n)) (i32.const 0))
        (catch $e))
      (local.set $sum (i32.add (local.get $sum)))
      (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $sum))

  (func (export "all") (param $n i32) (result i32) (local $expected i32)
    (local.set $expected
      (i32.wrap_i64 (i64.shr_u
        (i64.mul (i64.extend_i32_u (local.get $n)) (i64.add (i64.extend_i32_u (local.get $n)) (i64.const 1)))
        (i64.const 1))))
    (if (i32.ne (call $p_catch (local.get $n)) (local.get $expected)) (then (unreachable)))
    (if (i32.ne (call $p_catch_ref_drop (local.get $n)) (local.get $expected)) (then (unreachable)))
    (if (i32.ne (call $p_throw_ref (local.get $n)) (local.get $expected)) (then (unreachable)))
    (if (i32.ne (call $p_catch_all_ref (local.get $n)) (local.get $expected)) (then (unreachable)))
    (if (i32.ne (call $p_kept_local (local.get $n)) (local.get $expected)) (then (unreachable)))
    (if (i32.ne (call $p_kept_global (local.get $n)) (local.get $expected)) (then (unreachable)))
    (if (i32.ne (call $p_kept_table (local.get $n)) (local.get $expected)) (then (unreachable)))
    (if (i32.ne (call $p_boxed (local.get $n)) (local.get $expected)) (then (unreachable)))
    (if (i32.ne (call $p_legacy_catch (local.get $n)) (local.get $expected)) (then (unreachable)))
    (if (i32.ne (call $p_legacy_catch_all (local.get $n)) (local.get $expected)) (then (unreachable)))
    (if (i32.ne (call $p_legacy_rethrow (local.get $n)) (local.get $expected)) (then (unreachable)))
    (if (i32.ne (call $p_legacy_delegate (local.get $n)) (local.get $expected)) (then (unreachable)))
    (if (i32.ne (call $p_legacy_branch_out (local.get $n)) (local.get $expected)) (then (unreachable)))
    (if (i32.ne (call $p_legacy_throw_out (local.get $n)) (local.get $expected)) (then (unreachable)))
    (if (i32.ne (call $p_across_calls (local.get $n)) (local.get $expected)) (then (unreachable)))
    (local.get $expected))
)
