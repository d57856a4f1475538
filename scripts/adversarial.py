"""Adversarial modules for compile time (issue 13): shapes that make compilers superlinear.

Each generator returns WebAssembly text; `scripts/compile-bench` converts it with wat2wasm and
times waotc on it. Sizes are chosen so that a compiler linear in the size of each function
compiles every module in about a second; all are deterministic.
"""
import random

TYPES = ["i32", "i64", "f32", "f64", "v128"]
LOAD = {"i32": "i32.load", "i64": "i64.load", "f32": "f32.load", "f64": "f64.load", "v128": "v128.load"}
STORE = {t: l.replace("load", "store") for t, l in LOAD.items()}
OPS = {
    "i32": ["i32.add", "i32.mul", "i32.xor", "i32.sub"],
    "i64": ["i64.add", "i64.mul", "i64.xor", "i64.sub"],
    "f32": ["f32.add", "f32.mul", "f32.sub"],
    "f64": ["f64.add", "f64.mul", "f64.sub"],
    "v128": ["i32x4.add", "f32x4.mul", "v128.xor", "f64x2.add", "i16x8.mul"],
}
SIZE = {"i32": 4, "i64": 8, "f32": 4, "f64": 8, "v128": 16}


def header(params="(param $p i32)", result="(result i32)"):
    return f'(module (memory 1) (func (export "f") {params} {result}'


def many_locals(ty, n=2000, ops=3000, ifs=0, seed=1):
    """`n` locals of one type, all loaded first, mixed by `ops` operations (each in an `if`
    on a loaded condition when `ifs`), all stored at the end: every local lives throughout."""
    rng = random.Random(seed)
    size = SIZE[ty]
    out = [header(), f"  (local {' '.join([ty] * n)})"]
    for i in range(n):
        out.append(f"  (local.set {i + 1} ({LOAD[ty]} offset={(i * size) % 60000} (local.get 0)))")
    for k in range(ops):
        a, b, c = (rng.randrange(n) + 1 for _ in range(3))
        op = f"(local.set {a} ({rng.choice(OPS[ty])} (local.get {b}) (local.get {c})))"
        if ifs:
            op = f"(if (i32.load offset={(k * 4) % 4000} (local.get 0)) (then {op}))"
        out.append("  " + op)
    for i in range(n):
        out.append(f"  ({STORE[ty]} offset={(i * size) % 60000} (local.get 0) (local.get {i + 1}))")
    out.append("  (i32.const 0)))")
    return "\n".join(out)


def long_block(n=40000, seed=2):
    """One basic block of `n` dependent and independent arithmetic operations on the stack."""
    rng = random.Random(seed)
    out = [header(), "  (local $a i32) (local $b i32) (local $c i32)"]
    out.append("  (local.set $a (local.get 0)) (local.set $b (i32.load (local.get 0)))")
    for _ in range(n):
        x, y = rng.choice("abc"), rng.choice("abc")
        out.append(f"  (local.set ${rng.choice('abc')} ({rng.choice(OPS['i32'])} (local.get ${x}) (i32.const {rng.randrange(1 << 20)})))")
        if rng.random() < 0.1:
            out.append(f"  (i32.store offset={rng.randrange(4000) * 4} (local.get 0) (local.get ${y}))")
    out.append("  (i32.add (local.get $a) (i32.add (local.get $b) (local.get $c)))))")
    return "\n".join(out)


def deep_nesting(depth=3000):
    """`depth` nested blocks, each left early by a `br_if` to a random outer block."""
    rng = random.Random(3)
    out = [header(), "  (local $x i32) (local.set $x (local.get 0))"]
    for d in range(depth):
        out.append(f"  (block $b{d}")
        out.append(f"    (local.set $x (i32.add (local.get $x) (i32.const {d})))")
        out.append(f"    (br_if $b{rng.randrange(d + 1)} (i32.eqz (i32.and (local.get $x) (i32.const 7))))")
    out.append("  " + ")" * depth)
    out.append("  (local.get $x)))")
    return "\n".join(out)


def big_br_table(targets=20000, blocks=400):
    """A `br_table` with `targets` entries over `blocks` nested blocks, each doing some work."""
    rng = random.Random(4)
    out = [header(), "  (local $x i32) (local.set $x (local.get 0))"]
    out.append("  " + " ".join(f"(block $b{i}" for i in range(blocks)))
    labels = " ".join(f"$b{rng.randrange(blocks)}" for _ in range(targets))
    out.append(f"  (br_table {labels} $b0 (local.get 0))")
    for i in range(blocks):
        out.append(f"  ) (local.set $x (i32.mul (local.get $x) (i32.const {i + 3})))")
    out.append("  (local.get $x)))")
    return "\n".join(out)


def try_tables(n=3000):
    """`n` `try_table`s in one function, each around a call that may throw, catching a tag."""
    out = ['(module (memory 1) (tag $e (param i32))',
           '  (func $may (param i32) (if (i32.eq (local.get 0) (i32.const 77)) (then (throw $e (local.get 0)))))',
           '  (func (export "f") (param $p i32) (result i32) (local $x i32)']
    for i in range(n):
        out.append(f"  (block $h{i} (result i32) (try_table (catch $e $h{i})"
                   f" (call $may (i32.add (local.get $p) (i32.const {i})))) (i32.const {i}))")
        out.append("  (local.set $x (i32.add (local.get $x)))")
    out.append("  (local.get $x)))")
    return "\n".join(out)


def legacy_try(n=3000):
    """`n` legacy `try`/`catch` blocks (flat syntax: the folded form is not parsed by every
    tool), each around a call that may throw."""
    out = ['(module (tag $e (param i32))',
           '  (func $may (param i32) (if (i32.eq (local.get 0) (i32.const 77)) (then (throw $e (local.get 0)))))',
           '  (func (export "f") (param $p i32) (result i32) (local $x i32)']
    for i in range(n):
        out.append(f"  try local.get $p i32.const {i} i32.add call $may"
                   " catch $e local.get $x i32.add local.set $x end")
    out.append("  (local.get $x)))")
    return "\n".join(out)


def many_functions(n=20000):
    """`n` tiny functions (every one in the function table, so none is dropped), a seventh
    of them called by the export: the per-function cost of the pipeline."""
    out = ["(module (memory 1)"]
    for i in range(n):
        out.append(f"  (func $f{i} (param i32) (result i32)"
                   f" (i32.add (local.get 0) (i32.load offset={i % 1000 * 4} (local.get 0))))")
    calls = "".join(f"(local.set 0 (call $f{i} (local.get 0)))" for i in range(0, n, 7))
    out.append(f'  (func (export "f") (param i32) (result i32) {calls} (local.get 0)))')
    return "\n".join(out)


def inlined_kernels(copies=600):
    """One function made of `copies` small loops, as a producer's inliner leaves them."""
    out = [header(), "  (local $i i32) (local $s i32)"]
    for k in range(copies):
        out.append(f"  (local.set $i (i32.const 0))")
        out.append(f"  (loop $l{k}")
        out.append(f"    (local.set $s (i32.add (local.get $s) (i32.load offset={(k * 8) % 4000} (local.get $i))))")
        out.append(f"    (i32.store offset={(k * 16) % 4000} (local.get $i) (i32.mul (local.get $s) (i32.const {k + 1})))")
        out.append(f"    (br_if $l{k} (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 4))) (i32.const {64 + k % 32}))))")
    out.append("  (local.get $s)))")
    return "\n".join(out)


MODULES = {
    **{f"locals-{t}": (lambda t=t: many_locals(t)) for t in TYPES},
    "locals-v128-ifs": lambda: many_locals("v128", ops=500, ifs=True),
    "long-block": long_block,
    "deep-nesting": deep_nesting,
    "br-table": big_br_table,
    "try-tables": try_tables,
    "legacy-try": legacy_try,
    "many-functions": many_functions,
    "inlined-kernels": inlined_kernels,
}
