//! Which addresses hold compiled guest code, for the signal handler (lock-free) and for
//! turning return addresses into wasm function names (under a lock, never in a handler).
//!
//! The ranges live in segments that double in size and are never freed, so a reader in a
//! signal handler never sees memory go away; freed slots are reused. There is no fixed limit:
//! the number of slots is the largest number of modules ever loaded at once.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Slots in segment 0; segment k holds `FIRST_SEGMENT << k`.
const FIRST_SEGMENT: usize = 1024;
const SEGMENTS: usize = 40;

struct Slot {
    start: AtomicUsize,
    end: AtomicUsize,
}

static SEGMENT_PTRS: [AtomicPtr<Slot>; SEGMENTS] =
    [const { AtomicPtr::new(std::ptr::null_mut()) }; SEGMENTS];
/// Slots ever handed out; readers look at no slot beyond.
static USED: AtomicUsize = AtomicUsize::new(0);
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

struct Registry {
    free: Vec<usize>,
    /// By (start address, registration id): the same library may be registered more than
    /// once, by modules that share it.
    symbols: BTreeMap<(usize, u64), Arc<ModuleSymbols>>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    free: Vec::new(),
    symbols: BTreeMap::new(),
});

/// The segment and index within it of slot `i`.
fn locate(i: usize) -> (usize, usize) {
    let k = (usize::BITS - 1 - (i / FIRST_SEGMENT + 1).leading_zeros()) as usize;
    (k, i - FIRST_SEGMENT * ((1 << k) - 1))
}

fn slot(i: usize) -> &'static Slot {
    let (k, j) = locate(i);
    let segment = SEGMENT_PTRS[k].load(Ordering::Acquire);
    assert!(!segment.is_null(), "slot {i} of an unallocated segment");
    // SAFETY: segments are allocated with `FIRST_SEGMENT << k` slots and never freed.
    unsafe { &*segment.add(j) }
}

/// The functions of one loaded artifact.
#[derive(Debug)]
pub struct ModuleSymbols {
    pub module: String,
    pub start: usize,
    pub end: usize,
    pub funcs: FunctionAddresses,
    /// The module's function names, looked up only for a backtrace.
    pub names: FunctionNames,
}

/// `(address, wasm function index)` of a module's functions (`u32::MAX` for trampolines and
/// adapters), sorted by address the first time a backtrace needs them: a start that never
/// traps does not pay for sorting them (yosys: 140,000, about 0.6 ms).
#[derive(Debug)]
pub struct FunctionAddresses {
    unsorted: Mutex<Vec<(usize, u32)>>,
    sorted: std::sync::OnceLock<Vec<(usize, u32)>>,
}

impl FunctionAddresses {
    pub fn new(unsorted: Vec<(usize, u32)>) -> FunctionAddresses {
        FunctionAddresses {
            unsorted: Mutex::new(unsorted),
            sorted: Default::default(),
        }
    }

    /// Sorted by address, one entry per address.
    fn sorted(&self) -> &[(usize, u32)] {
        self.sorted.get_or_init(|| {
            let mut funcs =
                std::mem::take(&mut *self.unsorted.lock().unwrap_or_else(|e| e.into_inner()));
            funcs.sort_unstable();
            funcs.dedup_by_key(|f| f.0);
            funcs
        })
    }
}

/// Whatever keeps a module's code and data mapped (the artifact's loaded library).
pub type KeepAlive = std::sync::Arc<dyn std::any::Any + Send + Sync>;

/// A module's function names: an artifact's names module (`runtime_support::skeleton::names`),
/// copied, checked against its hash and parsed the first time a backtrace asks. Loading never
/// reads it: for yosys, 16 MB.
pub struct FunctionNames {
    /// Keeps the bytes mapped for as long as these names exist: the loaded library, which
    /// this layer only holds.
    library: KeepAlive,
    bytes: *const u8,
    len: usize,
    hash: [u8; 32],
    parsed: std::sync::OnceLock<Vec<(u32, String)>>,
}

impl std::fmt::Debug for FunctionNames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FunctionNames")
            .field("len", &self.len)
            .finish()
    }
}

// SAFETY: `bytes` points at read-only data of `library`, which this value keeps loaded.
unsafe impl Send for FunctionNames {}
unsafe impl Sync for FunctionNames {}

impl FunctionNames {
    /// # Safety
    /// `bytes` points at `len` readable bytes that `library` maps while it is loaded.
    pub unsafe fn new(
        library: KeepAlive,
        bytes: *const u8,
        len: usize,
        hash: [u8; 32],
    ) -> FunctionNames {
        FunctionNames {
            library,
            bytes,
            len,
            hash,
            parsed: Default::default(),
        }
    }

    /// The name of function `index`, if the module names it. Names whose bytes do not match
    /// their hash are treated as absent: a backtrace shows indices then.
    pub fn lookup(&self, index: u32) -> Option<String> {
        let _ = &self.library;
        let names = self.parsed.get_or_init(|| {
            // One copy, hashed and parsed: the file behind the mapping could change between
            // two reads.
            // SAFETY: see `new`.
            let bytes = unsafe { std::slice::from_raw_parts(self.bytes, self.len) }.to_vec();
            if runtime_support::artifact::content_hash(&bytes) != self.hash {
                return Vec::new();
            }
            runtime_support::ModuleInfo::parse(&bytes)
                .map(|info| std::sync::Arc::unwrap_or_clone(info.func_names))
                .unwrap_or_default()
        });
        names
            .binary_search_by_key(&index, |(i, _)| *i)
            .ok()
            .map(|at| names[at].1.clone())
    }
}

/// One guest frame of a backtrace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameInfo {
    pub module: String,
    pub func_index: u32,
    pub func_name: Option<String>,
}

impl std::fmt::Display for FrameInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use runtime_support::printable;
        let module = printable(&self.module);
        match &self.func_name {
            Some(n) => write!(
                f,
                "{module}!{} (function {})",
                printable(n),
                self.func_index
            ),
            None => write!(f, "{module}!function {}", self.func_index),
        }
    }
}

/// A registration that ends when dropped.
#[derive(Debug)]
pub struct Registration {
    slot: usize,
    key: (usize, u64),
}

pub fn register(symbols: ModuleSymbols) -> Registration {
    let mut registry = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    let i = match registry.free.pop() {
        Some(i) => i,
        None => {
            let i = USED.load(Ordering::Relaxed);
            let (k, _) = locate(i);
            if SEGMENT_PTRS[k].load(Ordering::Acquire).is_null() {
                let segment: Box<[Slot]> = (0..FIRST_SEGMENT << k)
                    .map(|_| Slot {
                        start: AtomicUsize::new(0),
                        end: AtomicUsize::new(0),
                    })
                    .collect();
                SEGMENT_PTRS[k].store(Box::leak(segment).as_mut_ptr(), Ordering::Release);
            }
            i
        }
    };
    let s = slot(i);
    s.end.store(symbols.end, Ordering::Release);
    s.start.store(symbols.start, Ordering::Release);
    if i == USED.load(Ordering::Relaxed) {
        USED.store(i + 1, Ordering::Release);
    }
    let key = (symbols.start, NEXT_ID.fetch_add(1, Ordering::Relaxed));
    registry.symbols.insert(key, Arc::new(symbols));
    Registration { slot: i, key }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut registry = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
        let s = slot(self.slot);
        s.start.store(0, Ordering::Release);
        s.end.store(0, Ordering::Release);
        registry.free.push(self.slot);
        registry.symbols.remove(&self.key);
    }
}

/// Whether `pc` lies in compiled guest code. Async-signal-safe: atomic loads only.
pub fn contains(pc: usize) -> bool {
    let used = USED.load(Ordering::Acquire);
    let mut base = 0;
    for (k, segment) in SEGMENT_PTRS.iter().enumerate() {
        if base >= used {
            break;
        }
        let ptr = segment.load(Ordering::Acquire);
        if ptr.is_null() {
            break;
        }
        let n = (FIRST_SEGMENT << k).min(used - base);
        // SAFETY: the segment has `FIRST_SEGMENT << k` slots and is never freed.
        let slots = unsafe { std::slice::from_raw_parts(ptr, n) };
        for s in slots {
            let start = s.start.load(Ordering::Acquire);
            if start == 0 || pc < start {
                continue;
            }
            let end = s.end.load(Ordering::Acquire);
            // A slot freed and reused between the two loads would pair this start with
            // another module's end: the range counts only if start is unchanged.
            if pc < end && s.start.load(Ordering::Acquire) == start {
                return true;
            }
        }
        base += FIRST_SEGMENT << k;
    }
    false
}

/// Maps return addresses to guest functions; addresses outside guest code are skipped.
pub fn symbolize(pcs: &[usize]) -> Vec<FrameInfo> {
    // Under the lock only the lookup of each frame's module; the functions are sorted and the
    // names read after it (the first backtrace of a module sorts its addresses, and hashes and
    // parses its names), so loads and drops elsewhere wait for nothing.
    let mut modules = Vec::new();
    {
        let registry = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
        for &pc in pcs {
            let Some((_, m)) = registry.symbols.range(..=(pc, u64::MAX)).next_back() else {
                continue;
            };
            if pc < m.end {
                modules.push((m.clone(), pc));
            }
        }
    }
    let mut frames = Vec::new();
    for (m, pc) in modules {
        let funcs = m.funcs.sorted();
        let i = funcs.partition_point(|(addr, _)| *addr <= pc.saturating_sub(1));
        if i == 0 {
            continue;
        }
        let (_, index) = funcs[i - 1];
        if index == u32::MAX {
            continue; // a trampoline or host adapter, not a wasm function
        }
        frames.push(FrameInfo {
            module: m.module.clone(),
            func_index: index,
            func_name: m.names.lookup(index),
        });
    }
    frames
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names naming function 7 "seven", as an artifact carries them.
    fn names_of_seven() -> FunctionNames {
        let module: &'static [u8] = b"\0asm\x01\0\0\0\x00\x0f\x04name\x01\x08\x01\x07\x05seven";
        // The program itself stands in for the library that would hold the bytes.
        let this = libloading::Library::from(libloading::os::unix::Library::this());
        // SAFETY: static bytes.
        unsafe {
            FunctionNames::new(
                std::sync::Arc::new(this),
                module.as_ptr(),
                module.len(),
                runtime_support::artifact::content_hash(module),
            )
        }
    }

    fn symbols(start: usize) -> ModuleSymbols {
        ModuleSymbols {
            module: format!("m{start}"),
            start,
            end: start + 16,
            funcs: FunctionAddresses::new(vec![(start, 7)]),
            names: names_of_seven(),
        }
    }

    #[test]
    fn function_addresses_are_sorted_when_first_asked_with_wasm_functions_first() {
        let funcs = FunctionAddresses::new(vec![(30, 2), (20, u32::MAX), (10, 0), (20, 1)]);
        assert_eq!(funcs.sorted(), &[(10, 0), (20, 1), (30, 2)]);
        assert_eq!(funcs.sorted(), &[(10, 0), (20, 1), (30, 2)]);
    }

    #[test]
    fn names_are_read_when_asked_and_only_if_their_hash_holds() {
        let names = names_of_seven();
        assert_eq!(names.lookup(7).as_deref(), Some("seven"));
        assert_eq!(names.lookup(8), None);
        let damaged = FunctionNames {
            hash: [0; 32],
            ..names_of_seven()
        };
        assert_eq!(damaged.lookup(7), None, "a backtrace shows indices instead");
    }

    #[test]
    fn slots_map_to_growing_segments() {
        assert_eq!(locate(0), (0, 0));
        assert_eq!(locate(1023), (0, 1023));
        assert_eq!(locate(1024), (1, 0));
        assert_eq!(locate(3071), (1, 2047));
        assert_eq!(locate(3072), (2, 0));
    }

    #[test]
    fn many_more_registrations_than_one_segment_all_count() {
        // Far above any address a test module is loaded at.
        let base = usize::MAX / 2;
        let regs: Vec<Registration> = (0..20_000)
            .map(|i| register(symbols(base + 64 * i)))
            .collect();
        for i in [0, 4095, 4096, 19_999] {
            let pc = base + 64 * i + 3;
            assert!(contains(pc), "module {i}");
            assert_eq!(
                symbolize(&[pc + 1])[0].module,
                format!("m{}", base + 64 * i)
            );
        }
        assert!(!contains(base + 64 * 20_000 + 3));
        drop(regs);
        assert!(!contains(base + 3));
        assert!(symbolize(&[base + 4]).is_empty());
    }
}
