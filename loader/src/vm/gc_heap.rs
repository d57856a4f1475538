//! The store's heap of GC objects (structs and arrays): a non-moving mark-sweep collector with
//! bump allocation, precise tracing of objects and conservative scanning of native frames.
//!
//! Memory comes in 256 KiB chunks aligned to their size. A chunk begins with three bitmaps,
//! one bit per 16 bytes: where objects start, which are marked, and where marked ones end. Compiled code allocates inline
//! by bumping a cursor through the current free range (the store's `VmRuntimeLimits::
//! gc_cursor`/`gc_limit`) and setting the object's start bit; it calls `GcAlloc` only when the
//! range is used up. So the object a word points into is found from the bitmap (the last start
//! at or before it, then its size), a collection never walks dead objects, marking reads each
//! live object's header once (recording where it ends), and sweeping reads only the bitmaps:
//! the gaps between live objects become free ranges, zeroed when the allocator takes them
//! (outside the pause). A chunk left empty is
//! returned. An object larger than `MAX_SMALL_OBJECT` gets a chunk-aligned block of its own
//! with the same header.
//!
//! Roots are given by the store (`collect`'s `roots`: pinned objects the host has seen, GC
//! references in globals, tables, element segments and exception payloads) plus, while guest
//! code runs on this thread, every word of its stack (see `exn_heap` for why conservatively).
//! An object is traced precisely by its type: the offsets of its reference fields, or all its
//! elements for an array of references. A collection runs only when guest code allocates
//! (the stack is then scannable up to the outermost entry) and never during instantiation.

use runtime_support::gc::{VmTypeInfo, HEADER_SIZE, KIND_ARRAY, OFFSET_ARRAY_LENGTH};
use runtime_support::vmctx::VmRuntimeLimits;
use std::alloc::Layout;
use std::collections::{BTreeMap, HashSet};

pub(crate) const CHUNK: usize = runtime_support::gc::CHUNK_SIZE as usize;
pub(crate) const GRANULE: usize = 16;
pub(crate) const WORDS: usize = runtime_support::gc::STARTS_WORDS as usize;
/// Where a chunk's objects begin, after its three bitmaps.
const OBJECTS: usize = runtime_support::gc::CHUNK_OBJECTS as usize;
/// Larger objects get a block of their own (compiled code allocates only smaller ones).
pub(crate) const LARGEST_SMALL: usize = runtime_support::gc::MAX_SMALL_OBJECT as usize;
/// Bytes allocated before the first collection.
pub(crate) const MIN_THRESHOLD: usize = 4 << 20;
/// Free ranges shorter than this are not handed to the allocator.
const MIN_RANGE: usize = 64;

/// The size in bytes of the object at `at`.
///
/// # Safety
/// `at` is the start of a live object.
pub(crate) unsafe fn size_at(at: usize) -> usize {
    let info = &**(at as *const *const VmTypeInfo);
    match info.kind {
        KIND_ARRAY => {
            let len = *((at + OFFSET_ARRAY_LENGTH as usize) as *const u32);
            runtime_support::gc::array_size(len.into(), info.size) as usize
        }
        _ => info.size as usize,
    }
}

/// A chunk's bitmaps, which live at its start.
pub(crate) struct Bitmaps {
    pub(crate) starts: *mut u64,
    pub(crate) marked: *mut u64,
    /// The last granule of each marked object, set as it is traced.
    pub(crate) ends: *mut u64,
}

impl Bitmaps {
    pub(crate) fn of(base: usize) -> Bitmaps {
        Bitmaps {
            starts: base as *mut u64,
            marked: (base + WORDS * 8) as *mut u64,
            ends: (base + 2 * WORDS * 8) as *mut u64,
        }
    }

    pub(crate) fn get(v: *mut u64, i: usize) -> bool {
        // SAFETY: `i` is a granule of the chunk the bitmap belongs to.
        unsafe { *v.add(i / 64) & (1 << (i % 64)) != 0 }
    }

    pub(crate) fn set(v: *mut u64, i: usize) {
        // SAFETY: as in `get`.
        unsafe { *v.add(i / 64) |= 1 << (i % 64) }
    }
}

/// Puts the store's bump range back the way a free range is (zero, no start bit) after an
/// interrupt stopped compiled code inside an inline allocation: code writes an object's
/// header, length and start bit at the cursor before it advances the cursor (the compiler's
/// `gc_alloc`), so a stop before the advance leaves those and nothing else. Async-signal-safe:
/// plain reads and writes of the store's own range, called by the interrupt signal's handler
/// on the thread that owns the store.
///
/// # Safety
/// `limits` is the store's `VmRuntimeLimits`, this thread runs the store's guest code, and
/// no host code of the store is between two steps of changing the range.
pub(crate) unsafe fn repair_bump(limits: *mut VmRuntimeLimits) {
    let (cursor, limit) = ((*limits).gc_cursor, (*limits).gc_limit);
    if cursor == 0 || cursor + HEADER_SIZE as usize > limit {
        return;
    }
    std::ptr::write_bytes(cursor as *mut u8, 0, HEADER_SIZE as usize);
    let base = cursor & !(CHUNK - 1);
    let i = (cursor - base) / GRANULE;
    *Bitmaps::of(base).starts.add(i / 64) &= !(1 << (i % 64));
}

/// Chunk bases (256 KiB-aligned, so hashed by their chunk number).
const _: () = assert!(CHUNK == 1 << 18);
type Bases = HashSet<usize, crate::vm::address_hash::BuildAddressHasher<18>>;

/// GC activity since the store was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GcStats {
    pub collections: u64,
    /// Pauses: a collection is one, or several when it marks incrementally.
    pub pauses: u64,
    /// The longest and the total time stopped in collections.
    pub longest_pause: std::time::Duration,
    pub total_pause: std::time::Duration,
    /// Bytes in objects: what the last collection left, and what was allocated since (free
    /// ranges handed to the allocator count whole).
    pub heap_bytes: usize,
}

/// Free ranges the allocator has not reached yet, with whether they are zero already, by
/// size class: class `k` holds ranges of `[64 << k, 128 << k)` bytes.
#[derive(Default)]
struct FreeRanges([Vec<(usize, usize, bool)>; 13]);

impl FreeRanges {
    fn push(&mut self, start: usize, end: usize) {
        let class = (usize::BITS - 1 - ((end - start) / MIN_RANGE).leading_zeros()) as usize;
        self.0[class.min(12)].push((start, end, false));
    }

    /// A range of at least `size` bytes from the largest class that has one (more objects
    /// per range), looking at the newest range of each class only: constant time.
    fn take(&mut self, size: usize) -> Option<(usize, usize, bool)> {
        for class in self.0.iter_mut().rev() {
            if class.last().is_some_and(|(s, e, _)| e - s >= size) {
                return class.pop();
            }
        }
        None
    }

    #[cfg(test)]
    fn all(&self) -> Vec<(usize, usize, bool)> {
        self.0.iter().flatten().copied().collect()
    }
}

pub(crate) struct GcHeap {
    /// Where compiled code bumps: the store's `VmRuntimeLimits`.
    pub(crate) bump: *mut VmRuntimeLimits,
    /// Bases of the chunks of small objects.
    chunks: Bases,
    /// Free ranges the allocator has not reached yet, with whether they are zero already.
    free: FreeRanges,
    /// Blocks of one large object each: base to size. The object is at `base + OBJECTS`.
    large: BTreeMap<usize, usize>,
    pub(crate) pinned: HashSet<usize>,
    /// Objects known for the duration of host calls in progress (their arguments), innermost
    /// last; roots like `pinned`.
    pub(crate) scoped: Vec<usize>,
    /// Host calls in progress (nested scopes).
    scopes: usize,
    /// Bytes in objects and in ranges handed to the allocator since the last collection:
    /// what triggers collections.
    pub(crate) bytes: usize,
    /// Bytes of chunks and large blocks held: what the limit bounds.
    committed: usize,
    pub(crate) threshold: usize,
    /// Bytes reachable when the last cycle began, as it found them.
    pub(crate) last_live: usize,
    /// The most memory (chunks and large blocks, bitmaps included) the heap may hold; an
    /// allocation that needs more fails (a trap). Memory comes in 256 KiB chunks, so a limit
    /// below that allows no small object.
    pub limit: usize,
    /// Pause times pushed by each collection, for `stats`.
    pub(crate) pauses: Vec<std::time::Duration>,
    pub(crate) stats: GcStats,
    /// When set, every collection ends by checking the graph (`check_graph`), recording what
    /// is wrong in `violations`: a debugging aid, slow.
    pub verify: bool,
    pub violations: Vec<String>,
    /// The most marking work one step does (`gc_cycle::MAX_STEP`; tests make it small so
    /// that marking spans many steps).
    pub max_step: usize,
    /// Chunks with marks left by the last cycle, not swept yet.
    unswept: Vec<usize>,
    /// The marking in progress (`gc_cycle`).
    pub(crate) cycle: Option<crate::vm::gc_cycle::Cycle>,
}

fn block_layout(size: usize) -> Layout {
    Layout::from_size_align(size, CHUNK).expect("block layout")
}

impl GcHeap {
    /// A heap whose bump range lives in `bump` (the store's limits, which outlive it).
    pub fn new(bump: *mut VmRuntimeLimits) -> GcHeap {
        GcHeap {
            bump,
            chunks: Bases::default(),
            free: FreeRanges::default(),
            large: BTreeMap::new(),
            pinned: HashSet::new(),
            scoped: Vec::new(),
            scopes: 0,
            bytes: 0,
            committed: 0,
            threshold: MIN_THRESHOLD,
            last_live: 0,
            limit: usize::MAX,
            pauses: Vec::new(),
            stats: GcStats::default(),
            verify: cfg!(debug_assertions),
            violations: Vec::new(),
            max_step: crate::vm::gc_cycle::MAX_STEP,
            unswept: Vec::new(),
            cycle: None,
        }
    }

    pub fn stats(&self) -> GcStats {
        GcStats {
            heap_bytes: self.bytes,
            ..self.stats
        }
    }

    /// Every pause so far, oldest first (the last 4,096).
    pub fn pauses(&self) -> &[std::time::Duration] {
        &self.pauses
    }

    /// Bytes in objects not yet freed, and in the range being allocated from.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn wants_collection(&self, size: usize) -> bool {
        self.bytes + size > self.threshold
    }

    pub(crate) fn range(&self) -> (usize, usize) {
        // SAFETY: the store's limits outlive its heap; only this thread touches these fields.
        unsafe { ((*self.bump).gc_cursor, (*self.bump).gc_limit) }
    }

    pub(crate) fn set_range(&mut self, cursor: usize, limit: usize) {
        // SAFETY: as in `range`.
        unsafe {
            (*self.bump).gc_cursor = cursor;
            (*self.bump).gc_limit = limit;
        }
    }

    /// A block of `size` bytes (a multiple of `CHUNK`), zeroed, aligned to `CHUNK`, unless the
    /// memory the heap holds would pass its limit.
    fn new_block(&mut self, size: usize) -> Option<usize> {
        if size > self.limit.saturating_sub(self.committed) {
            return None;
        }
        // SAFETY: non-zero size.
        let base = unsafe { std::alloc::alloc_zeroed(block_layout(size)) } as usize;
        if base == 0 {
            return None;
        }
        self.committed += size;
        Some(base)
    }

    /// A zeroed object of `size` bytes (a multiple of 16), its start recorded, or `None` past
    /// the limit or when memory runs out. Its header is the caller's to write.
    pub fn alloc(&mut self, size: usize) -> Option<*mut u8> {
        debug_assert!(size.is_multiple_of(GRANULE) && size >= GRANULE);
        if size > LARGEST_SMALL {
            let total = (OBJECTS + size).next_multiple_of(CHUNK);
            let base = match self.new_block(total) {
                Some(base) => base,
                None => {
                    // Chunks not swept yet may be empty ones, counted against the limit
                    // until swept.
                    self.finish_sweep();
                    self.new_block(total)?
                }
            };
            self.large.insert(base, total);
            self.bytes += total;
            let maps = Bitmaps::of(base);
            Bitmaps::set(maps.starts, OBJECTS / GRANULE);
            if self.cycle.is_some() {
                // Allocated during marking: black.
                Bitmaps::set(maps.marked, OBJECTS / GRANULE);
            }
            return Some((base + OBJECTS) as *mut u8);
        }
        loop {
            let (cursor, limit) = self.range();
            if cursor != 0 && limit - cursor >= size {
                self.set_range(cursor + size, limit);
                let base = cursor & !(CHUNK - 1);
                Bitmaps::set(Bitmaps::of(base).starts, (cursor - base) / GRANULE);
                return Some(cursor as *mut u8);
            }
            self.retire_range();
            self.refill(size)?;
        }
    }

    /// Makes the bump range a zeroed free range of at least `size` bytes (after
    /// `retire_range`).
    fn refill(&mut self, size: usize) -> Option<()> {
        let (start, end) = self.take_range(size)?;
        self.set_range(start, end);
        if let Some(c) = self.cycle.as_mut() {
            c.region = start;
        }
        Some(())
    }

    /// A free range of at least `size` bytes, zeroed: the largest known, else one from
    /// sweeping more chunks, else a new chunk. Sweeping is paced so that it is done before
    /// the heap grows to the next cycle's threshold, whose first pause would otherwise sweep
    /// what is left.
    fn take_range(&mut self, size: usize) -> Option<(usize, usize)> {
        let found = loop {
            if let Some(r) = self.free.take(size) {
                break Some(r);
            }
            match self.unswept.pop() {
                Some(base) => self.sweep_chunk(base),
                None => break None,
            }
        };
        let (start, end) = match found {
            Some((start, end, zeroed)) => {
                if !zeroed {
                    // SAFETY: a free range of one of our chunks: nothing lives in it.
                    unsafe { std::ptr::write_bytes(start as *mut u8, 0, end - start) };
                }
                (start, end)
            }
            None => {
                let base = self.new_block(CHUNK)?;
                self.chunks.insert(base);
                (base + OBJECTS, base + CHUNK)
            }
        };
        self.bytes += end - start;
        // Chunks left to sweep in proportion to the growth left before the threshold.
        let headroom = self.threshold.saturating_sub(self.bytes).max(1);
        let due = (self.unswept.len() * (end - start)).div_ceil(headroom);
        for _ in 0..due.min(self.unswept.len()) {
            let base = self.unswept.pop().expect("counted");
            self.sweep_chunk(base);
        }
        Some((start, end))
    }

    /// Whether `ptr` is an object the host may name: one it has seen and kept, or an argument
    /// of a host call in progress.
    pub fn contains(&self, ptr: usize) -> bool {
        self.pinned.contains(&ptr) || self.scoped.contains(&ptr)
    }

    /// Starts a host call's scope: what `pin_scoped` adds until `scope_end(mark)`.
    pub fn scope_begin(&mut self) -> usize {
        self.scopes += 1;
        self.scoped.len()
    }

    pub fn scope_end(&mut self, mark: usize) {
        self.scopes -= 1;
        self.scoped.truncate(mark);
    }

    /// Keeps an object the host receives: for the host call in progress if there is one
    /// (`pin_scoped`), else for the store's lifetime (`pin`).
    pub fn pin_for_host(&mut self, ptr: usize) {
        match self.scopes {
            0 => self.pin(ptr),
            _ => self.pin_scoped(ptr),
        }
    }

    pub fn pin_scoped(&mut self, ptr: usize) {
        if ptr != 0 && ptr.is_multiple_of(GRANULE) {
            self.scoped.push(ptr);
        }
    }

    /// Keeps the object at `ptr` for the store's lifetime: the host may hold it anywhere.
    pub fn pin(&mut self, ptr: usize) {
        if ptr != 0 && ptr.is_multiple_of(GRANULE) {
            self.pinned.insert(ptr);
        }
    }

    pub fn unpin(&mut self, ptr: usize) {
        self.pinned.remove(&ptr);
    }

    /// Frees what was not marked (everything is kept when `freeing` is false) and clears the
    /// marks: large blocks now, chunks of small objects lazily (`sweep_chunk`, as the
    /// allocator needs ranges, and the rest before the next cycle marks). Reads the bitmaps
    /// only.
    pub(crate) fn sweep(&mut self, freeing: bool, live_small: usize) {
        debug_assert!(self.unswept.is_empty());
        if !freeing {
            // Nothing was traced, so no ends are known: keep every object and hand out no
            // free range of these chunks until a collection that frees.
            for &base in &self.chunks {
                let maps = Bitmaps::of(base);
                for w in 0..WORDS {
                    // SAFETY: word `w` of this chunk's bitmaps.
                    unsafe {
                        *maps.marked.add(w) = 0;
                        *maps.ends.add(w) = 0;
                    }
                }
            }
        } else {
            // A sweep that frees finds every free range anew.
            self.free = FreeRanges::default();
            self.unswept = self.chunks.iter().copied().collect();
        }
        let mut dead = Vec::new();
        for (&base, &size) in &self.large {
            let maps = Bitmaps::of(base);
            if freeing && !Bitmaps::get(maps.marked, OBJECTS / GRANULE) {
                dead.push((base, size));
            }
            // SAFETY: the block's first mark word.
            unsafe { *maps.marked.add(OBJECTS / GRANULE / 64) = 0 };
        }
        for (base, size) in dead {
            self.large.remove(&base);
            self.committed -= size;
            // SAFETY: allocated in `new_block` with this layout; nothing reaches it.
            unsafe { std::alloc::dealloc(base as *mut u8, block_layout(size)) };
        }
        if freeing {
            self.bytes = live_small + self.large.values().sum::<usize>();
        }
    }

    /// Sweeps the chunks not swept yet.
    pub(crate) fn finish_sweep(&mut self) {
        while let Some(base) = self.unswept.pop() {
            self.sweep_chunk(base);
        }
    }

    /// Frees a chunk's unmarked objects: per bitmap word, `starts &= marked`, and the gaps
    /// between a live object's end and the next live start become free ranges. A chunk left
    /// empty goes back to the system.
    fn sweep_chunk(&mut self, base: usize) {
        let maps = Bitmaps::of(base);
        let mut end_of_live = base + OBJECTS;
        let mut any = false;
        for w in 0..WORDS {
            // SAFETY: word `w` of this chunk's bitmaps.
            let (keep, ends) = unsafe {
                let keep = *maps.starts.add(w) & *maps.marked.add(w);
                let ends = *maps.ends.add(w);
                *maps.starts.add(w) = keep;
                *maps.marked.add(w) = 0;
                *maps.ends.add(w) = 0;
                (keep, ends)
            };
            // Starts and ends in address order; in one granule the start comes first.
            let mut bits = keep | ends;
            while bits != 0 {
                let b = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let at = base + (w * 64 + b) * GRANULE;
                if keep & (1 << b) != 0 {
                    any = true;
                    // Marking gives every kept object its end bit, so the gap is never
                    // negative; checked in release builds too, as wrapping would free a live
                    // object's memory.
                    let gap = at
                        .checked_sub(end_of_live)
                        .expect("GC sweep: a kept object starts inside the one before it");
                    if gap >= MIN_RANGE {
                        self.free.push(end_of_live, at);
                    }
                }
                if ends & (1 << b) != 0 {
                    end_of_live = at + GRANULE;
                }
            }
        }
        if !any {
            self.chunks.remove(&base);
            self.committed -= CHUNK;
            // SAFETY: allocated in `new_block` with this layout; nothing lives in it.
            unsafe { std::alloc::dealloc(base as *mut u8, block_layout(CHUNK)) };
        } else if base + CHUNK - end_of_live >= MIN_RANGE {
            self.free.push(end_of_live, base + CHUNK);
        }
    }

    /// Every object left: the starts left by the sweep, and in chunks not swept yet, the
    /// marked starts.
    fn objects(&self) -> Vec<usize> {
        let unswept: HashSet<usize> = self.unswept.iter().copied().collect();
        let mut out = Vec::new();
        for &base in &self.chunks {
            let maps = Bitmaps::of(base);
            for i in OBJECTS / GRANULE..CHUNK / GRANULE {
                // In a chunk not swept yet, the objects left are those marked.
                let left = !unswept.contains(&base) || Bitmaps::get(maps.marked, i);
                if left && Bitmaps::get(maps.starts, i) {
                    out.push(base + i * GRANULE);
                }
            }
        }
        out.extend(self.large.keys().map(|b| b + OBJECTS));
        out
    }

    /// Checks that the bump range is as a free range is, zero and with no object starting in
    /// it: what guest code stopped by an interrupt must leave (see `repair_bump`). Records
    /// what it finds in `violations`.
    pub(crate) fn check_bump(&mut self) {
        let (cursor, limit) = self.range();
        if cursor == 0 {
            return;
        }
        let base = cursor & !(CHUNK - 1);
        let starts = Bitmaps::of(base).starts;
        if let Some(a) = (cursor..limit)
            .step_by(GRANULE)
            .find(|a| Bitmaps::get(starts, (a - base) / GRANULE))
        {
            self.violations.push(format!(
                "bump range {cursor:#x}..{limit:#x}: an object starts at {a:#x}"
            ));
        }
        // The object just below the cursor, the last one made, is whole: it has its type.
        let last = (base + OBJECTS..cursor)
            .step_by(GRANULE)
            .rev()
            .find(|a| Bitmaps::get(starts, (a - base) / GRANULE));
        // SAFETY: an object's header, inside its chunk.
        if last.is_some_and(|obj| unsafe { (*(obj as *const usize)) == 0 }) {
            self.violations.push(format!(
                "bump range {cursor:#x}..{limit:#x}: the object at {:#x} has no type",
                last.unwrap_or(0)
            ));
        }
        // SAFETY: the bump range lies in one of our chunks.
        let bytes = unsafe { std::slice::from_raw_parts(cursor as *const u8, limit - cursor) };
        if let Some(k) = bytes.iter().position(|&b| b != 0) {
            self.violations.push(format!(
                "bump range {cursor:#x}..{limit:#x}: byte {:#x} is not zero",
                cursor + k
            ));
        }
    }

    /// Checks, after a sweep, that every object left has a registered type and that every
    /// reference it holds names an object left (not a freed one): what a collector that
    /// missed a root or a field would break. Records what it finds in `violations`.
    pub(crate) fn check_graph(&mut self) {
        // No free range may hold (part of) an object left.
        for (start, end, _) in self.free.0.iter().flatten().copied().collect::<Vec<_>>() {
            let inside = (start..end)
                .step_by(GRANULE)
                .find(|&a| self.find(a).is_some());
            if let Some(a) = inside {
                self.violations.push(format!(
                    "free range {start:#x}..{end:#x} holds object memory at {a:#x}"
                ));
            }
        }
        let objects = self.objects();
        let live: HashSet<usize> = objects.iter().copied().collect();
        for obj in objects {
            // SAFETY: a live object; its header names its type.
            let info = unsafe { *(obj as *const *const VmTypeInfo) };
            if info.is_null() {
                self.violations.push(format!("object {obj:#x} has no type"));
                continue;
            }
            // SAFETY: registered type information.
            let info = unsafe { &*info };
            let words: Vec<usize> = if info.kind == KIND_ARRAY && info.num_refs > 0 {
                // SAFETY: an array's length and elements, inside the object.
                unsafe {
                    let len = *((obj + OFFSET_ARRAY_LENGTH as usize) as *const u32) as usize;
                    (0..len)
                        .map(|k| *((obj + HEADER_SIZE as usize + 8 * k) as *const usize))
                        .collect()
                }
            } else if info.kind == KIND_ARRAY {
                Vec::new()
            } else {
                // SAFETY: the type's reference offsets lie inside the object.
                unsafe {
                    std::slice::from_raw_parts(info.ref_offsets, info.num_refs as usize)
                        .iter()
                        .map(|o| *((obj + *o as usize) as *const usize))
                        .collect()
                }
            };
            for w in words {
                if w != 0 && w.is_multiple_of(GRANULE) && !live.contains(&w) {
                    self.violations
                        .push(format!("object {obj:#x} holds {w:#x}, which was freed"));
                }
            }
        }
    }

    /// The start of the object `addr` points into, if any.
    pub(crate) fn find(&self, addr: usize) -> Option<usize> {
        let base = addr & !(CHUNK - 1);
        if self.chunks.contains(&base) {
            if addr < base + OBJECTS {
                return None;
            }
            // The last start at or before the granule, then whether the object reaches.
            let starts = Bitmaps::of(base).starts;
            let mut i = (addr - base) / GRANULE;
            loop {
                // SAFETY: word `i / 64` of this chunk's start bitmap.
                let word = unsafe { *starts.add(i / 64) } & (u64::MAX >> (63 - i % 64));
                if word != 0 {
                    let start = base + (i / 64 * 64 + 63 - word.leading_zeros() as usize) * GRANULE;
                    // SAFETY: a recorded object start of this chunk.
                    let size = unsafe { size_at(start) };
                    return (addr < start + size).then_some(start);
                }
                if i < 64 {
                    return None;
                }
                i = i / 64 * 64 - 1;
            }
        }
        let (&base, &block) = self.large.range(..=addr).next_back()?;
        let start = base + OBJECTS;
        // SAFETY: a large block's object, live until its block is freed.
        (addr >= start && addr < base + block && addr < start + unsafe { size_at(start) })
            .then_some(start)
    }

    /// Whether `word` is exactly an object's start.
    pub(crate) fn is_start(&self, word: usize) -> bool {
        let base = word & !(CHUNK - 1);
        if self.chunks.contains(&base) {
            return word >= base + OBJECTS
                && Bitmaps::get(Bitmaps::of(base).starts, (word - base) / GRANULE);
        }
        word - base == OBJECTS && self.large.contains_key(&base)
    }
}

impl Drop for GcHeap {
    fn drop(&mut self) {
        for &base in &self.chunks {
            // SAFETY: allocated in `new_block` with this layout; the store is gone.
            unsafe { std::alloc::dealloc(base as *mut u8, block_layout(CHUNK)) };
        }
        for (&base, &size) in &self.large {
            // SAFETY: as above.
            unsafe { std::alloc::dealloc(base as *mut u8, block_layout(size)) };
        }
    }
}

/// Asks the CPU to bring the line at `addr` into cache; a hint, never a fault.
pub(crate) fn prefetch(addr: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching has no architectural effect, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(addr as *const i8)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = addr;
}

#[cfg(test)]
#[path = "gc_heap_tests.rs"]
mod tests;
