//! Collection cycles of the GC heap: incremental snapshot-at-the-beginning marking.
//!
//! A cycle begins when the heap has grown enough (`wants_collection`): one short pause marks
//! the roots (the store's words, pinned objects and, conservatively, this thread's stack) and
//! sets `VmRuntimeLimits::gc_marking`. Marking then proceeds in steps, each a short pause
//! taken when guest code refills its bump range, paced by allocation (`PACE` units of work
//! per byte allocated), until nothing is left grey; the last step ends the cycle, and the
//! allocator sweeps chunks lazily after it.
//!
//! Between steps guest code runs, so two rules keep every object that was reachable at the
//! beginning (the snapshot) alive:
//! - a store that overwrites a reference in an object (`struct.set`, `array.set`,
//!   `array.fill/copy/init_elem`, the host's `struct_set`/`array_set`) first greys the
//!   reference it overwrites, when `gc_marking` is set (`barrier`): a deletion barrier, so no
//!   path from the snapshot is lost;
//! - objects allocated during marking are black: every bump range handed out while marking is
//!   remembered and its objects marked when it is retired (`blacken`, from the bitmaps alone),
//!   and large objects are marked as they are made. They are never traced: what they hold was reachable at the
//!   beginning or allocated since.
//!
//! Roots outside the heap (globals, tables, element segments, exception payloads, pins, the
//! stack) need no barrier: they are all marked in the first pause, and a value the guest
//! writes to them later was reachable at the beginning or is new. What becomes garbage during
//! marking is freed by the next cycle.

use super::gc_heap::{
    prefetch, size_at, Bitmaps, GcHeap, CHUNK, GRANULE, LARGEST_SMALL, MIN_THRESHOLD, WORDS,
};
use crate::vm::traps::waot_scan_stack;
use runtime_support::gc::{VmTypeInfo, HEADER_SIZE, KIND_ARRAY, OFFSET_ARRAY_LENGTH};
use std::ffi::c_void;
use std::time::{Duration, Instant};

/// Units of marking work (bytes of objects traced, 8 per reference field scanned) done per
/// byte allocated during marking. Marking costs at most about twice the live bytes, so a
/// cycle ends before the heap grows by a quarter of what was live (fewer references
/// overwritten while marking, less garbage kept black; 4 cost live_heap 5-15% more).
const PACE: usize = 8;
/// The most work one step does by default (1-2 ms here; `GcHeap::max_step`). A step is due
/// once `max_step / (2 * PACE)` bytes were allocated since the last (it happens at the next
/// refill of the bump range, so usually later); a step that hits the cap leaves the rest
/// owed to the next.
pub(crate) const MAX_STEP: usize = 2 << 20;
/// The longest a step runs: tracing small scattered objects costs a cache miss each, which
/// units (bytes) undercount, so a step also stops at this time and leaves the rest owed.
const STEP_TIME: Duration = Duration::from_millis(1);
/// Elements of an array of references traced at once (a huge array is traced in slices).
const ARRAY_SLICE: usize = 4096;

/// The marking in progress.
#[derive(Default)]
pub(crate) struct Cycle {
    /// Grey objects: marked, not yet traced.
    work: Vec<usize>,
    /// Arrays of references traced up to an element.
    partial: Vec<(usize, usize)>,
    /// Bytes of small objects marked: traced, and allocated black.
    live: usize,
    black: usize,
    /// Start of the bump range being allocated black, or 0.
    pub(crate) region: usize,
    /// `GcHeap::bytes` when marking began and at the last step.
    began_at: usize,
    stepped_at: usize,
    /// Work owed: units not done by steps that hit `MAX_STEP`.
    debt: usize,
}

impl GcHeap {
    pub fn marking(&self) -> bool {
        self.cycle.is_some()
    }

    /// Whether guest code has allocated enough since the last step for another.
    pub fn step_due(&self) -> bool {
        self.cycle
            .as_ref()
            .is_some_and(|c| self.bytes - c.stepped_at >= self.max_step / (2 * PACE))
    }

    fn set_marking(&mut self, on: bool) {
        // SAFETY: the store's limits outlive its heap; only this thread writes this field.
        unsafe { (*self.bump).gc_marking = on as usize };
    }

    /// Begins a cycle: marks what `roots` (reference words), pinned objects and, when `stack`
    /// gives this thread's stack bounds, the stack up to the outermost entry into guest code
    /// reach, then does a first step (which may finish the cycle).
    pub fn begin(&mut self, roots: &[usize], stack: Option<(usize, usize)>) {
        let began = Instant::now();
        if self.start(roots, stack) {
            self.advance(self.max_step / 2, began);
        }
        self.record_pause(began.elapsed());
    }

    /// A step of the cycle in progress: marking paced by what was allocated since the last.
    pub fn step(&mut self) {
        let began = Instant::now();
        self.advance(0, began);
        self.record_pause(began.elapsed());
    }

    /// A whole collection now, which frees everything unreachable: the cycle in progress is
    /// finished first (what it allocated black, and garbage made since it began, it keeps),
    /// then a new one runs from beginning to end.
    pub fn collect(&mut self, roots: &[usize], stack: Option<(usize, usize)>) {
        let began = Instant::now();
        if self.marking() {
            self.drain(usize::MAX, None);
            self.finish();
        }
        if self.start(roots, stack) {
            self.drain(usize::MAX, None);
            self.finish();
        }
        self.record_pause(began.elapsed());
    }

    /// Greys `word`, a reference about to be overwritten in an object, while marking.
    /// Checks that it names an object of this heap (for the host, whose writes may be to
    /// fields the collector does not trace).
    pub fn barrier(&mut self, word: usize) {
        if self.cycle.is_some() && self.is_reference(word) {
            self.mark(word);
        }
    }

    /// `barrier` for a traced field or element (compiled code, the array builtins), which
    /// holds null, an i31, a host value or an object's start: no lookup needed.
    pub fn barrier_traced(&mut self, word: usize) {
        if let Some(c) = self.cycle.as_mut() {
            mark_field(c, word);
        }
    }

    /// Marks the roots and sets `gc_marking`; false (and no cycle) when the stack could not be
    /// scanned, since then nothing may be freed.
    fn start(&mut self, roots: &[usize], stack: Option<(usize, usize)>) -> bool {
        debug_assert!(self.cycle.is_none());
        self.finish_sweep();
        // What is left of the bump range stays unused until the sweep finds it free.
        self.set_range(0, 0);
        self.cycle = Some(Cycle {
            began_at: self.bytes,
            stepped_at: self.bytes,
            ..Cycle::default()
        });
        let pinned: Vec<usize> = self.pinned.iter().chain(&self.scoped).copied().collect();
        for p in pinned.into_iter().chain(roots.iter().copied()) {
            if self.is_reference(p) {
                self.mark(p);
            }
        }
        let scanned = match stack {
            Some((bottom, top)) => {
                extern "C" fn visit(ctx: *mut c_void, word: usize) {
                    // SAFETY: `ctx` is the heap passed below, alive for the call.
                    let heap = unsafe { &mut *(ctx as *mut GcHeap) };
                    // A past-the-end pointer keeps its object too (a loop's end pointer).
                    for w in [word, word.wrapping_sub(1)] {
                        if let Some(start) = heap.find(w) {
                            heap.mark(start);
                        }
                    }
                }
                let ctx = self as *mut GcHeap as *mut c_void;
                // SAFETY: scans this thread's own stack; `visit` only marks.
                unsafe { waot_scan_stack(bottom, top, visit, ctx) != 0 }
            }
            None => true,
        };
        if !scanned {
            // Keep everything: clear the marks and let the heap grow until a cycle can scan.
            self.cycle = None;
            self.sweep(false, 0);
            self.threshold = MIN_THRESHOLD.max(2 * self.bytes);
            return false;
        }
        self.set_marking(true);
        true
    }

    /// Does `at_least` units of marking, or what allocation since the last step asks for;
    /// finishes the cycle when nothing is left grey.
    fn advance(&mut self, at_least: usize, began: Instant) {
        let Some(c) = self.cycle.as_mut() else { return };
        let owed = PACE * (self.bytes - c.stepped_at) + c.debt;
        c.stepped_at = self.bytes;
        // A cycle that has let guest code allocate as much as was live after the last one
        // (normally it ends after half of that) has fallen too far behind allocation: finish
        // it now rather than let the heap grow without bound.
        let overrun = self.bytes - c.began_at > self.last_live.max(MIN_THRESHOLD);
        let budget = match overrun {
            true => usize::MAX,
            false => owed.max(at_least).min(self.max_step),
        };
        let deadline = (!overrun).then(|| began + STEP_TIME);
        let done = self.drain(budget, deadline);
        if let Some(c) = self.cycle.as_mut() {
            c.debt = owed.saturating_sub(done.1);
        }
        if done.0 {
            self.finish();
        }
    }

    /// Ends marking: the range being allocated black is blackened, then the sweep frees
    /// what is unmarked.
    pub(crate) fn finish(&mut self) {
        self.retire_range();
        self.set_marking(false);
        let cycle = self.cycle.take().expect("a cycle in progress");
        debug_assert!(cycle.work.is_empty() && cycle.partial.is_empty());
        self.sweep(true, cycle.live);
        if self.verify {
            self.check_graph();
        }
        // What was reachable when marking began; what was allocated since is kept until the
        // next cycle whether it is garbage or not, so it does not count towards the growth
        // allowed (else long cycles would raise the threshold cycle after cycle).
        self.last_live = self.bytes - cycle.black;
        self.threshold = MIN_THRESHOLD.max(self.bytes + self.last_live);
        self.stats.collections += 1;
    }

    fn record_pause(&mut self, pause: Duration) {
        self.stats.pauses += 1;
        self.stats.total_pause += pause;
        self.stats.longest_pause = self.stats.longest_pause.max(pause);
        if self.pauses.len() == 4096 {
            self.pauses.remove(0);
        }
        self.pauses.push(pause);
    }

    /// Gives up the bump range; while marking, the objects allocated in it are marked (they
    /// are black: allocated after the snapshot).
    pub(crate) fn retire_range(&mut self) {
        let (cursor, _) = self.range();
        self.set_range(0, 0);
        let Some(c) = self.cycle.as_mut() else { return };
        let start = std::mem::take(&mut c.region);
        if start != 0 {
            self.blacken(start, cursor);
        }
    }

    /// Marks every object of `[start, end)`, a retired bump range. Its objects were
    /// allocated one after another, so each ends where the next starts: the bitmaps alone say
    /// it, word by word (a mark per start, an end before each next start and at `end`),
    /// without reading a header. (An object of the range that a barrier greyed and marking
    /// traced is counted twice in `live`, an estimate for the next threshold only.)
    fn blacken(&mut self, start: usize, end: usize) {
        if end <= start {
            return;
        }
        let base = start & !(CHUNK - 1);
        let maps = Bitmaps::of(base);
        let (first, last) = ((start - base) / GRANULE, (end - base) / GRANULE);
        // The bits of word `w` that are granules of the range.
        let in_range = |w: usize| -> u64 {
            let (lo, hi) = ((w * 64).max(first), (w * 64 + 64).min(last));
            match lo < hi {
                true => (u64::MAX >> (64 - (hi - lo))) << (lo - w * 64),
                false => 0,
            }
        };
        // SAFETY: words of this chunk's start bitmap (`w < WORDS`).
        let starts = |w: usize| match w < WORDS {
            true => (unsafe { *maps.starts.add(w) }) & in_range(w),
            false => 0,
        };
        for w in first / 64..=(last - 1) / 64 {
            let s = starts(w);
            // Granule `i` ends an object when granule `i + 1` starts one.
            let ends = ((s >> 1) | (starts(w + 1) << 63)) & in_range(w);
            // SAFETY: word `w` of this chunk's bitmaps.
            unsafe {
                *maps.marked.add(w) |= s;
                *maps.ends.add(w) |= ends;
            }
        }
        Bitmaps::set(maps.ends, last - 1);
        if let Some(c) = self.cycle.as_mut() {
            c.live += end - start;
            c.black += end - start;
        }
    }

    /// Whether `word` (a root or an overwritten reference) names an object of this heap.
    fn is_reference(&self, word: usize) -> bool {
        word != 0 && word.is_multiple_of(GRANULE) && self.is_start(word)
    }

    /// Marks the object starting at `start` and greys it if it was white.
    pub(crate) fn mark(&mut self, start: usize) {
        let base = start & !(CHUNK - 1);
        let marked = Bitmaps::of(base).marked;
        let i = (start - base) / GRANULE;
        if !Bitmaps::get(marked, i) {
            Bitmaps::set(marked, i);
            if let Some(c) = self.cycle.as_mut() {
                c.work.push(start);
            }
        }
    }

    /// Traces grey objects until none is left, `budget` units are done or `deadline` has
    /// passed: whether none is left, and the units done. Objects pass through a small FIFO whose entries are
    /// prefetched when they enter, so that the header of each is (mostly) in cache by the time
    /// it is read: marking is bound by those cache misses.
    pub(crate) fn drain(&mut self, budget: usize, deadline: Option<Instant>) -> (bool, usize) {
        const AHEAD: usize = 16;
        // How many objects are traced between two looks at the clock.
        const CLOCK: u32 = 64;
        let Some(mut c) = self.cycle.take() else {
            return (true, 0);
        };
        // A ring of AHEAD slots: `head` is the oldest, `len` how many are in use.
        let mut ring = [0usize; AHEAD];
        let (mut head, mut len) = (0, 0);
        let mut units = 0;
        let (mut until_clock, mut budget) = (CLOCK, budget);
        loop {
            until_clock -= 1;
            if until_clock == 0 {
                until_clock = CLOCK;
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    budget = 0;
                }
            }
            while len < AHEAD {
                let Some(obj) = c.work.pop() else { break };
                prefetch(obj);
                ring[(head + len) % AHEAD] = obj;
                len += 1;
            }
            if len == 0 {
                // Only slices of large arrays may be left.
                if units >= budget {
                    break;
                }
                let Some((obj, from)) = c.partial.pop() else {
                    break;
                };
                units += trace_slice(&mut c, obj, from);
                continue;
            }
            if units >= budget {
                // Grey objects taken out of the stack go back for the next step.
                for k in 0..len {
                    c.work.push(ring[(head + k) % AHEAD]);
                }
                break;
            }
            let obj = ring[head];
            head = (head + 1) % AHEAD;
            len -= 1;
            units += trace(&mut c, obj);
        }
        let done = c.work.is_empty() && c.partial.is_empty();
        self.cycle = Some(c);
        (done, units)
    }
}

/// Records where the grey object `obj` ends and marks what it references (the first slice of
/// a large array of references, the rest left in `partial`); the units of work done.
fn trace(c: &mut Cycle, obj: usize) -> usize {
    // SAFETY: a live object of this heap; its header names its registered type.
    unsafe {
        let info = &*(*(obj as *const *const VmTypeInfo));
        let size = size_at(obj);
        let base = obj & !(CHUNK - 1);
        if size <= LARGEST_SMALL {
            // A small object: where it ends, for the sweep (large ones need none).
            Bitmaps::set(Bitmaps::of(base).ends, (obj + size - base) / GRANULE - 1);
            c.live += size;
        }
        if info.num_refs == 0 {
            return size;
        }
        if info.kind == KIND_ARRAY {
            return size + trace_slice(c, obj, 0);
        }
        let offsets = std::slice::from_raw_parts(info.ref_offsets, info.num_refs as usize);
        for off in offsets {
            mark_field(c, *((obj + *off as usize) as *const usize));
        }
        size + 8 * offsets.len()
    }
}

/// Marks elements `from..` of the array of references `obj`, at most `ARRAY_SLICE` of them,
/// leaving the rest in `partial`; the units of work done.
fn trace_slice(c: &mut Cycle, obj: usize, from: usize) -> usize {
    // SAFETY: a live array of references; its length is in its header.
    let elements = unsafe { *((obj + OFFSET_ARRAY_LENGTH as usize) as *const u32) } as usize;
    let to = elements.min(from + ARRAY_SLICE);
    for k in from..to {
        let at = obj + HEADER_SIZE as usize + 8 * k;
        // SAFETY: element `k < elements` of the array.
        mark_field(c, unsafe { *(at as *const usize) });
    }
    if to < elements {
        c.partial.push((obj, to));
    }
    8 * (to - from)
}

/// Marks the object a traced field names. Fields of GC types hold null, an i31, a host value
/// or an object's start, never anything else (types are checked at every door), so the field
/// needs no lookup: its chunk's bitmap is at its aligned base.
fn mark_field(c: &mut Cycle, word: usize) {
    if word != 0 && word.is_multiple_of(GRANULE) {
        let base = word & !(CHUNK - 1);
        let marked = Bitmaps::of(base).marked;
        let i = (word - base) / GRANULE;
        if !Bitmaps::get(marked, i) {
            Bitmaps::set(marked, i);
            c.work.push(word);
        }
    }
}
