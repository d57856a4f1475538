//! Execution profiles (issue 13): which functions a program's runs used, so that the compiler
//! spends its effort where the time goes. An artifact compiled with `waotc --profile-generate`
//! counts, per defined function, its entries and its loops' iterations; `wrun --profile-out`
//! (or `Module::profile`) writes the counts to a file; `waotc --profile FILE` compiles the
//! functions no run reached (and with `--profile-cold N`, also the least-run ones) with the
//! light tier (fast instruction selection, no optimizer beyond promoting locals), and the rest
//! with the full pipeline.
//!
//! Functions are named by a hash of their body, not by index, so that a profile survives a
//! rebuild that changed some functions: a function the profile does not know (new, or
//! changed) is treated as hot, so a stale profile never makes code slower than it was, it only
//! saves less compile time.
//!
//! The file is text, one function per line: `HASH COUNT INDEX` (hash in 16 hex digits; the
//! index, in the function index space with imports first as in backtraces and `waotc -v`, is
//! for people: the compiler ignores it), after a first line `waot-profile 1`. Lines
//! starting with `#` are comments.

use std::collections::BTreeMap;

/// The symbol of the counters, `[u64; defined functions]`, writable, zero at load.
pub const SYM_PROFILE_COUNTS: &str = "waot_profile_counts";
/// The symbol of the functions' body hashes, `[u64; defined functions]`, read-only.
pub const SYM_PROFILE_HASHES: &str = "waot_profile_hashes";

const MAGIC: &str = "waot-profile 1";

/// By default only functions that no profiled run reached are cold. Counts do not weigh
/// time: a function run once can be a long straight line (yosys's static constructors), and
/// with the least-run thousandth of events cold as well, yosys started 0.5–1 ms later for no
/// gain in compile time (docs/PERFORMANCE.md, "Profile-guided compiles").
pub const DEFAULT_COLD_PER_MILLE: u64 = 0;

/// The hash that names a function: the first 8 bytes (little-endian) of the BLAKE3 hash of
/// its body (locals and code, as in the code section).
pub fn body_hash(body: &[u8]) -> u64 {
    let hash = blake3::hash(body);
    u64::from_le_bytes(hash.as_bytes()[..8].try_into().unwrap())
}

/// The body hash of each defined function of `info`, whose bodies are ranges of `wasm`.
pub fn body_hashes(info: &crate::ModuleInfo, wasm: &[u8]) -> Vec<u64> {
    info.bodies
        .iter()
        .map(|b| body_hash(&wasm[b.clone()]))
        .collect()
}

/// Counts by body hash. Functions with the same body share a count (and a tier).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    pub counts: BTreeMap<u64, u64>,
    /// The last index seen for each hash, written back for people to read.
    pub indices: BTreeMap<u64, u32>,
}

/// What the profile says of one function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Heat {
    /// Never ran, or among the least-run functions that together account for the share of
    /// events `heat` was given.
    Cold,
    Hot,
    /// Not in the profile (new or changed since): compiled as if hot.
    Unknown,
}

impl Profile {
    /// The profile of one run: `(function index, hash, count)` per defined function.
    pub fn from_counts(functions: impl IntoIterator<Item = (u32, u64, u64)>) -> Self {
        let mut p = Profile::default();
        for (index, hash, count) in functions {
            p.add(index, hash, count);
        }
        p
    }

    fn add(&mut self, index: u32, hash: u64, count: u64) {
        let c = self.counts.entry(hash).or_insert(0);
        *c = c.saturating_add(count);
        self.indices.insert(hash, index);
    }

    /// Adds another run's counts (`wrun --profile-out` into an existing file).
    pub fn merge(&mut self, other: &Profile) {
        for (&hash, &count) in &other.counts {
            let index = other.indices.get(&hash).copied().unwrap_or(0);
            self.add(index, hash, count);
        }
    }

    /// Parses a profile file's text; `Err` names the line.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut lines = text.lines().enumerate();
        match lines.next() {
            Some((_, first)) if first.trim() == MAGIC => {}
            _ => return Err(format!("line 1: not a waot profile (expected `{MAGIC}`)")),
        }
        let mut p = Profile::default();
        for (n, line) in lines {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |what: &str| format!("line {}: {what}: `{line}`", n + 1);
            let mut fields = line.split_ascii_whitespace();
            let hash = fields
                .next()
                .filter(|h| h.len() == 16)
                .and_then(|h| u64::from_str_radix(h, 16).ok())
                .ok_or_else(|| bad("expected a 16-digit hex hash"))?;
            let count = fields
                .next()
                .and_then(|c| c.parse::<u64>().ok())
                .ok_or_else(|| bad("expected a count"))?;
            let index = match fields.next() {
                Some(i) => i
                    .parse::<u32>()
                    .map_err(|_| bad("expected a function index"))?,
                None => 0,
            };
            if fields.next().is_some() {
                return Err(bad("more than three fields"));
            }
            p.add(index, hash, count);
        }
        Ok(p)
    }

    /// The file's text, functions by index.
    pub fn render(&self) -> String {
        let mut rows: Vec<(u32, u64, u64)> = self
            .counts
            .iter()
            .map(|(&h, &c)| (self.indices.get(&h).copied().unwrap_or(0), h, c))
            .collect();
        rows.sort();
        let mut out = format!(
            "{MAGIC}\n# body hash, entries and loop iterations, function index (imports counted)\n"
        );
        for (index, hash, count) in rows {
            out.push_str(&format!("{hash:016x} {count} {index}\n"));
        }
        out
    }

    /// The heat of each function, given their body hashes: the least-run functions whose
    /// counts add up to at most `cold_per_mille` thousandths of the profile's total are cold
    /// (and every function that never ran), the rest of those the profile knows hot.
    pub fn heat(&self, hashes: &[u64], cold_per_mille: u64) -> Vec<Heat> {
        let total: u128 = self.counts.values().map(|&c| u128::from(c)).sum();
        let budget = total * u128::from(cold_per_mille) / 1000;
        // Cold hashes, least-run first, until the budget is spent; ties go by hash, so the
        // result does not depend on the order of the functions.
        let mut known: Vec<(u64, u64)> = self.counts.iter().map(|(&h, &c)| (c, h)).collect();
        known.sort_unstable();
        let mut spent = 0u128;
        let mut cold = std::collections::HashSet::new();
        for (count, hash) in known {
            spent += u128::from(count);
            if count > 0 && spent > budget {
                break;
            }
            cold.insert(hash);
        }
        hashes
            .iter()
            .map(|h| match (self.counts.contains_key(h), cold.contains(h)) {
                (false, _) => Heat::Unknown,
                (true, true) => Heat::Cold,
                (true, false) => Heat::Hot,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_survives_its_text() {
        let p = Profile::from_counts([(0, 0xdead_beef, 5), (3, u64::MAX, 0), (7, 1, u64::MAX)]);
        let text = p.render();
        assert!(text.starts_with("waot-profile 1\n"), "{text}");
        assert!(text.contains("00000000deadbeef 5 0\n"), "{text}");
        assert_eq!(Profile::parse(&text).unwrap(), p);
    }

    #[test]
    fn merging_adds_counts_and_saturates() {
        let mut a = Profile::from_counts([(0, 1, 10), (1, 2, u64::MAX - 1)]);
        a.merge(&Profile::from_counts([(0, 1, 5), (1, 2, 9), (4, 3, 1)]));
        assert_eq!(a.counts[&1], 15);
        assert_eq!(a.counts[&2], u64::MAX);
        assert_eq!(a.counts[&3], 1);
        assert_eq!(a.indices[&3], 4);
    }

    #[test]
    fn malformed_files_are_refused_naming_the_line() {
        for (text, what) in [
            ("", "line 1"),
            ("waot-profile 2\n", "line 1"),
            (
                "waot-profile 1\nxyz 1 0\n",
                "line 2: expected a 16-digit hex hash",
            ),
            (
                "waot-profile 1\n# c\n00000000deadbeef\n",
                "line 3: expected a count",
            ),
            ("waot-profile 1\n00000000deadbeef -1\n", "expected a count"),
            (
                "waot-profile 1\n00000000deadbeef 1 x\n",
                "expected a function index",
            ),
            (
                "waot-profile 1\n00000000deadbeef 1 2 3\n",
                "more than three",
            ),
            ("waot-profile 1\n0000000000deadbeef 1\n", "16-digit"),
        ] {
            let e = Profile::parse(text).unwrap_err();
            assert!(e.contains(what), "{text:?}: {e}");
        }
    }

    #[test]
    fn heat_marks_the_least_run_thousandth_cold() {
        // Total 1,000,000: up to 1,000 events may be cold.
        let p = Profile::from_counts([
            (0, 10, 0),
            (1, 11, 400),
            (2, 12, 600),
            (3, 13, 1),
            (4, 14, 998_999),
        ]);
        let heat = p.heat(&[10, 11, 12, 13, 14, 99], 1);
        assert_eq!(
            heat,
            [
                Heat::Cold, // never ran
                Heat::Cold, // 1 + 400 = 401
                Heat::Hot,  // 401 + 600 > 1,000
                Heat::Cold, // least run after the zeros
                Heat::Hot,
                Heat::Unknown, // not in the profile
            ]
        );
    }

    #[test]
    fn by_default_only_what_never_ran_is_cold() {
        let p = Profile::from_counts([(0, 10, 0), (1, 11, 1), (2, 12, 1_000_000)]);
        assert_eq!(
            p.heat(&[10, 11, 12], DEFAULT_COLD_PER_MILLE),
            [Heat::Cold, Heat::Hot, Heat::Hot]
        );
        // All of it: everything the profile knows is cold.
        assert_eq!(p.heat(&[10, 11, 12], 1000), [Heat::Cold; 3]);
    }

    #[test]
    fn a_profile_of_nothing_run_makes_everything_known_cold() {
        let p = Profile::from_counts([(0, 1, 0), (1, 2, 0)]);
        assert_eq!(
            p.heat(&[1, 2, 3], DEFAULT_COLD_PER_MILLE),
            [Heat::Cold, Heat::Cold, Heat::Unknown]
        );
    }

    #[test]
    fn body_hashes_differ_by_a_byte() {
        assert_ne!(body_hash(&[1, 0, 0x0b]), body_hash(&[1, 0, 0x01, 0x0b]));
        assert_eq!(body_hash(b"abc"), body_hash(b"abc"));
    }
}
