//! The per-partition object cache (issue 13, `compiler/src/codegen/object_cache.rs`): a
//! recompile reuses the partitions a change did not touch, and what it produces is byte for
//! byte what a compile without the cache produces; a damaged entry is compiled again; compilers
//! writing the cache at once do not disturb each other; `--no-cache` writes nothing; the cache
//! stays within its size, dropping the least recently used entries first.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use waot_tests::binary;

/// A module of `n` functions of a few hundred bytes each (several partitions at -O2), whose
/// function `changed` multiplies by `factor`, and which `_start` calls through a table.
fn module(n: usize, changed: usize, factor: i32) -> Vec<u8> {
    wat::parse_str(module_text(n, changed, factor, |_| "")).unwrap()
}

/// `module`'s text, with `extra(i)` at the end of function `i`.
fn module_text(
    n: usize,
    changed: usize,
    factor: i32,
    extra: impl Fn(usize) -> &'static str,
) -> String {
    let mut wat = String::from("(module (type $t (func (param i32) (result i32)))\n");
    for i in 0..n {
        let k = if i == changed { factor } else { 3 };
        wat.push_str(&format!("(func $f{i} (type $t) (local $x i32)\n"));
        for j in 0..24 {
            wat.push_str(&format!(
                "(local.set $x (i32.add (i32.mul (local.get 0) (i32.const {k})) (i32.const {})))
                 (local.set 0 (i32.xor (local.get $x) (i32.const {j})))\n",
                i * 31 + j
            ));
        }
        wat.push_str(extra(i));
        wat.push_str("(local.get 0))\n");
    }
    wat.push_str(&format!("(table {n} funcref) (elem (i32.const 0)"));
    for i in 0..n {
        wat.push_str(&format!(" $f{i}"));
    }
    wat.push_str(")\n(func (export \"run\") (param i32) (result i32)\n");
    wat.push_str(
        "  (call_indirect (type $t) (local.get 0) (i32.rem_u (local.get 0) (i32.const 7)))))",
    );
    wat
}

/// `waotc --time` of `input` into `output` with the cache under `cache` (or none); the
/// partitions reused and looked up, from its report.
fn waotc(
    input: &Path,
    output: &Path,
    cache: &Path,
    extra: &[&str],
) -> (Output, Option<(usize, usize)>) {
    waotc_capped(input, output, cache, extra, u64::MAX)
}

/// `waotc` as above with the cache bounded to `max_bytes`.
fn waotc_capped(
    input: &Path,
    output: &Path,
    cache: &Path,
    extra: &[&str],
    max_bytes: u64,
) -> (Output, Option<(usize, usize)>) {
    let o = Command::new(binary("waotc"))
        .env("XDG_CACHE_HOME", cache)
        .env("WAOT_CACHE_MAX_BYTES", max_bytes.to_string())
        .args(["--time", "-q", "--cpu", "x86-64-v2"])
        .args(extra)
        .arg(input)
        .arg(output)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{stderr}");
    let reused = stderr.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("cache")?.trim();
        let (hits, rest) = rest.split_once(" of ")?;
        let lookups = rest.split_whitespace().next()?;
        Some((hits.parse().ok()?, lookups.parse().ok()?))
    });
    (o, reused)
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut all = Vec::new();
    for sub in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        for e in std::fs::read_dir(sub.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            all.push(e.path());
        }
    }
    all
}

#[test]
fn a_recompile_reuses_untouched_partitions_and_matches_a_cold_compile() {
    let d = tempfile::tempdir().unwrap();
    let cache = d.path().join("cache");
    let src = d.path().join("app.wasm");
    std::fs::write(&src, module(300, 150, 3)).unwrap();
    let first = d.path().join("first.so");
    let (_, reused) = waotc(&src, &first, &cache, &[]);
    let (hits, parts) = reused.expect("the report names the cache");
    assert_eq!(hits, 0);
    assert!(parts >= 3, "{parts} partitions");
    let objects = cache.join("waot/objects");
    let first_entries = entries(&objects);
    assert_eq!(first_entries.len(), parts);

    // Unchanged: everything reused, the same bytes.
    let again = d.path().join("again.so");
    assert_eq!(waotc(&src, &again, &cache, &[]).1, Some((parts, parts)));
    assert_eq!(
        std::fs::read(&first).unwrap(),
        std::fs::read(&again).unwrap()
    );

    // One function changed: its partition (and at most its neighbour, if a boundary moved)
    // is compiled again, and the artifact is what a compile without the cache makes.
    std::fs::write(&src, module(300, 150, 5)).unwrap();
    let changed = d.path().join("changed.so");
    let (_, reused) = waotc(&src, &changed, &cache, &[]);
    let (hits, lookups) = reused.unwrap();
    assert!(hits + 2 >= lookups && hits < lookups, "{hits} of {lookups}");
    let cold = d.path().join("cold.so");
    let (_, none) = waotc(&src, &cold, &d.path().join("unused"), &["--no-cache"]);
    assert_eq!(none, None, "--no-cache reports no cache");
    assert!(
        !d.path().join("unused").exists(),
        "--no-cache writes nothing"
    );
    assert_eq!(
        std::fs::read(&changed).unwrap(),
        std::fs::read(&cold).unwrap()
    );
    assert_ne!(
        std::fs::read(&changed).unwrap(),
        std::fs::read(&first).unwrap()
    );

    // A damaged entry is not used: that partition is compiled again, the output unchanged.
    std::fs::write(&src, module(300, 150, 3)).unwrap();
    // One of the original's entries (the cache also holds the changed module's now).
    let entry = &first_entries[first_entries.len() / 2];
    let mut bytes = std::fs::read(entry).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    std::fs::write(entry, bytes).unwrap();
    let repaired = d.path().join("repaired.so");
    let (hits, lookups) = waotc(&src, &repaired, &cache, &[]).1.unwrap();
    assert_eq!(hits + 1, lookups);
    assert_eq!(
        std::fs::read(&first).unwrap(),
        std::fs::read(&repaired).unwrap()
    );
}

/// Every option in the key is written the same way each run: a fuel cost table (a hash map)
/// too, so a recompile with one reuses everything.
#[test]
fn a_recompile_with_a_fuel_cost_table_reuses_everything() {
    let d = tempfile::tempdir().unwrap();
    let cache = d.path().join("cache");
    let src = d.path().join("app.wasm");
    std::fs::write(&src, module(300, 0, 3)).unwrap();
    let costs = d.path().join("costs.txt");
    std::fs::write(
        &costs,
        "i32.add 2\ni32.mul 5\ni32.xor 3\nlocal.get 0\ndefault 1\n",
    )
    .unwrap();
    let flags = ["--fuel", "--fuel-costs", costs.to_str().unwrap()];
    let (_, first) = waotc(&src, &d.path().join("a.so"), &cache, &flags);
    assert_eq!(first.unwrap().0, 0);
    let (hits, lookups) = waotc(&src, &d.path().join("b.so"), &cache, &flags)
        .1
        .unwrap();
    assert_eq!(hits, lookups);
}

#[test]
fn compilers_sharing_a_cache_at_once_agree() {
    let d = tempfile::tempdir().unwrap();
    let cache = d.path().join("cache");
    let src = d.path().join("app.wasm");
    std::fs::write(&src, module(200, 0, 3)).unwrap();
    let spawn = |out: &str| {
        Command::new(binary("waotc"))
            .env("XDG_CACHE_HOME", &cache)
            .args(["-q", "-j1", "--cpu", "x86-64-v2"])
            .arg(&src)
            .arg(d.path().join(out))
            .spawn()
            .unwrap()
    };
    let (mut a, mut b) = (spawn("a.so"), spawn("b.so"));
    assert!(a.wait().unwrap().success() && b.wait().unwrap().success());
    let a = std::fs::read(d.path().join("a.so")).unwrap();
    assert_eq!(a, std::fs::read(d.path().join("b.so")).unwrap());
    // No temporary file is left behind, and a third compile reuses everything.
    let objects = cache.join("waot/objects");
    assert!(entries(&objects)
        .iter()
        .all(|p| p.extension().is_some_and(|e| e == "o")));
    let (_, reused) = waotc(&src, &d.path().join("c.so"), &cache, &[]);
    let (hits, lookups) = reused.unwrap();
    assert_eq!(hits, lookups);
    assert_eq!(a, std::fs::read(d.path().join("c.so")).unwrap());
}

fn total_bytes(dir: &Path) -> u64 {
    entries(dir)
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum()
}

#[test]
fn the_cache_keeps_within_its_size_dropping_the_least_recently_used() {
    let d = tempfile::tempdir().unwrap();
    let (a, b) = (d.path().join("a/app.wasm"), d.path().join("b/app.wasm"));
    for (path, n) in [(&a, 300), (&b, 200)] {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, module(n, 0, 3)).unwrap();
    }
    // What b's entries take, measured in a cache of its own.
    let scratch = d.path().join("scratch");
    waotc(&b, &d.path().join("b0.so"), &scratch, &[]);
    let b_bytes = total_bytes(&scratch.join("waot/objects"));

    let cache = d.path().join("cache");
    let objects = cache.join("waot/objects");
    let a_so = d.path().join("a1.so");
    waotc(&a, &a_so, &cache, &[]);
    assert!(total_bytes(&objects) > 0);
    // Compiling b within b's size drops all of a's older entries and keeps b's.
    let b_so = d.path().join("b1.so");
    waotc_capped(&b, &b_so, &cache, &[], b_bytes);
    assert_eq!(total_bytes(&objects), b_bytes);
    let (hits, lookups) = waotc_capped(&b, &d.path().join("b2.so"), &cache, &[], b_bytes)
        .1
        .unwrap();
    assert_eq!(hits, lookups);
    let a_again = d.path().join("a2.so");
    assert_eq!(waotc(&a, &a_again, &cache, &[]).1.unwrap().0, 0);
    assert_eq!(
        std::fs::read(&a_so).unwrap(),
        std::fs::read(&a_again).unwrap()
    );
    // A bound smaller than one entry leaves the cache empty after a compile that wrote to it,
    // and the compile itself unharmed.
    std::fs::write(&b, module(200, 7, 5)).unwrap();
    let tiny = d.path().join("b3.so");
    waotc_capped(&b, &tiny, &cache, &[], 1);
    assert_eq!(total_bytes(&objects), 0);
    let cold = d.path().join("b3-cold.so");
    waotc(&b, &cold, &d.path().join("unused"), &["--no-cache"]);
    assert_eq!(std::fs::read(&tiny).unwrap(), std::fs::read(&cold).unwrap());
}

/// With fuel, whether a function checks it at entry depends on the calls of the whole module
/// (`translate/fuel_entry.rs`), not on its body alone: a change far away that puts an unchanged
/// function on a cycle of calls recompiles that function's partition too.
#[test]
fn with_fuel_a_new_cycle_of_calls_recompiles_the_unchanged_function_on_it() {
    let d = tempfile::tempdir().unwrap();
    let cache = d.path().join("cache");
    let src = d.path().join("app.wasm");
    // Function 0 calls function 299, in another partition; with `back`, 299 calls 0.
    let cyclic = |back: bool| {
        let call = |i: usize| match (i, back) {
            (0, _) => "(drop (call $f299 (local.get 0)))",
            (299, true) => "(drop (call $f0 (local.get 0)))",
            _ => "",
        };
        wat::parse_str(module_text(300, 299, if back { 5 } else { 3 }, call)).unwrap()
    };
    std::fs::write(&src, cyclic(false)).unwrap();
    let (_, first) = waotc(&src, &d.path().join("a.so"), &cache, &["--fuel"]);
    assert_eq!(first.unwrap().0, 0);
    std::fs::write(&src, cyclic(true)).unwrap();
    let changed = d.path().join("b.so");
    let (_, reused) = waotc(&src, &changed, &cache, &["--fuel"]);
    let (hits, lookups) = reused.unwrap();
    assert!(
        hits + 3 >= lookups && hits + 2 <= lookups,
        "{hits} of {lookups}"
    );
    let cold = d.path().join("cold.so");
    waotc(
        &src,
        &cold,
        &d.path().join("unused"),
        &["--fuel", "--no-cache"],
    );
    assert_eq!(
        std::fs::read(&changed).unwrap(),
        std::fs::read(&cold).unwrap()
    );
}
