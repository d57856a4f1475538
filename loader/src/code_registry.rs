//! Which addresses hold compiled guest code, for the signal handler (lock-free) and for
//! turning return addresses into wasm function names (under a lock, never in a handler).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const SLOTS: usize = 4096;
static RANGES: [(AtomicUsize, AtomicUsize); SLOTS] =
    [const { (AtomicUsize::new(0), AtomicUsize::new(0)) }; SLOTS];
static SYMBOLS: Mutex<Vec<Arc<ModuleSymbols>>> = Mutex::new(Vec::new());

/// The functions of one loaded artifact.
#[derive(Debug)]
pub struct ModuleSymbols {
    pub module: String,
    pub start: usize,
    pub end: usize,
    /// `(address, wasm function index, name)`, sorted by address.
    pub funcs: Vec<(usize, u32, Option<String>)>,
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
        match &self.func_name {
            Some(n) => write!(f, "{}!{} (function {})", self.module, n, self.func_index),
            None => write!(f, "{}!function {}", self.module, self.func_index),
        }
    }
}

/// A registration that ends when dropped.
#[derive(Debug)]
pub struct Registration {
    slot: Option<usize>,
    symbols: Arc<ModuleSymbols>,
}

pub fn register(symbols: ModuleSymbols) -> Registration {
    let symbols = Arc::new(symbols);
    let mut slot = None;
    for (i, (start, end)) in RANGES.iter().enumerate() {
        if start
            .compare_exchange(0, symbols.start, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            end.store(symbols.end, Ordering::Release);
            slot = Some(i);
            break;
        }
    }
    SYMBOLS.lock().unwrap().push(symbols.clone());
    Registration { slot, symbols }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(i) = self.slot {
            RANGES[i].1.store(0, Ordering::Release);
            RANGES[i].0.store(0, Ordering::Release);
        }
        SYMBOLS
            .lock()
            .unwrap()
            .retain(|s| !Arc::ptr_eq(s, &self.symbols));
    }
}

/// Whether `pc` lies in compiled guest code. Async-signal-safe.
pub fn contains(pc: usize) -> bool {
    RANGES.iter().any(|(start, end)| {
        let s = start.load(Ordering::Acquire);
        s != 0 && pc >= s && pc < end.load(Ordering::Acquire)
    })
}

/// Maps return addresses to guest functions; addresses outside guest code are skipped.
pub fn symbolize(pcs: &[usize]) -> Vec<FrameInfo> {
    let Ok(symbols) = SYMBOLS.lock() else {
        return Vec::new();
    };
    let mut frames = Vec::new();
    for &pc in pcs {
        let Some(m) = symbols.iter().find(|m| pc >= m.start && pc < m.end) else {
            continue;
        };
        let i = m
            .funcs
            .partition_point(|(addr, _, _)| *addr <= pc.saturating_sub(1));
        if i == 0 {
            continue;
        }
        let (_, index, name) = &m.funcs[i - 1];
        if *index == u32::MAX {
            continue; // a trampoline or host adapter, not a wasm function
        }
        frames.push(FrameInfo {
            module: m.module.clone(),
            func_index: *index,
            func_name: name.clone(),
        });
    }
    frames
}
