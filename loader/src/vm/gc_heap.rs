//! The store's heap of GC objects (structs and arrays): a non-moving mark-sweep collector with
//! bump allocation, precise tracing of objects and conservative scanning of native frames.
//!
//! Objects of up to `LARGEST_SMALL` bytes live in 256 KiB chunks aligned to their size.
//! Compiled code allocates inline by bumping a cursor through the current free range (the
//! store's `VmRuntimeLimits::gc_cursor`/`gc_limit`) and calls `GcAlloc` only when the range is
//! used up. A chunk is always parseable: every object's header gives its size, and every free
//! range holds a filler header with its length, so a collection walks each chunk from its
//! start. That walk records where objects start (one bit per 16 bytes), which is how a word
//! found in a native frame is mapped to the object it points into. Sweeping coalesces dead
//! objects into free ranges, zeroes them (so allocation need not) and hands them to the bump
//! allocator; a chunk left empty is returned. Larger objects are allocated one by one and
//! found in an ordered map.
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
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::c_void;

const CHUNK: usize = 256 << 10;
const GRANULE: usize = 16;
const GRANULES: usize = CHUNK / GRANULE;
/// Larger objects are allocated one by one (compiled code allocates only smaller ones inline).
const LARGEST_SMALL: usize = runtime_support::gc::MAX_SMALL_OBJECT as usize;
/// Bytes allocated before the first collection.
const MIN_THRESHOLD: usize = 4 << 20;
/// Free ranges shorter than this are left as fillers until their neighbours die too.
const MIN_RANGE: usize = 64;

/// The header of a free range: its "type" is this, its length (in bytes) where an array's is.
static FILLER: VmTypeInfo = VmTypeInfo {
    id: 0,
    depth: 0,
    kind: u32::MAX,
    display: std::ptr::null(),
    size: 0,
    num_refs: 0,
    ref_offsets: std::ptr::null(),
};

fn filler() -> *const VmTypeInfo {
    &FILLER
}

/// The size in bytes of the object or free range at `at`.
///
/// # Safety
/// `at` is the start of an object or free range of a chunk.
unsafe fn size_at(at: usize) -> usize {
    let info = *(at as *const *const VmTypeInfo);
    let len = *((at + OFFSET_ARRAY_LENGTH as usize) as *const u32) as usize;
    if info == filler() {
        return len;
    }
    let info = &*info;
    match info.kind {
        KIND_ARRAY => (HEADER_SIZE as usize + len * info.size as usize).next_multiple_of(GRANULE),
        _ => info.size as usize,
    }
}

/// Writes a free range's header over `[start, end)`.
///
/// # Safety
/// The range is inside a chunk, 16-aligned, and holds nothing live.
unsafe fn write_filler(start: usize, end: usize) {
    *(start as *mut *const VmTypeInfo) = filler();
    *((start + OFFSET_ARRAY_LENGTH as usize) as *mut u32) = (end - start) as u32;
}

struct Chunk {
    /// One bit per granule where an object starts; valid during a collection.
    starts: Vec<u64>,
    marked: Vec<u64>,
}

fn bit(v: &[u64], i: usize) -> bool {
    v[i / 64] & (1 << (i % 64)) != 0
}

fn set(v: &mut [u64], i: usize) {
    v[i / 64] |= 1 << (i % 64);
}

/// GC activity since the store was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GcStats {
    pub collections: u64,
    /// The longest and the total time stopped in collections.
    pub longest_pause: std::time::Duration,
    pub total_pause: std::time::Duration,
    /// Bytes in objects (and free ranges handed to the allocator) after the last collection.
    pub heap_bytes: usize,
}

pub(crate) struct GcHeap {
    /// Where compiled code bumps: the store's `VmRuntimeLimits`.
    bump: *mut VmRuntimeLimits,
    chunks: HashMap<usize, Chunk>,
    /// Zeroed free ranges the allocator has not reached yet.
    free: Vec<(usize, usize)>,
    /// Large objects: start to size.
    large: BTreeMap<usize, usize>,
    large_marked: HashSet<usize>,
    pinned: HashSet<usize>,
    /// Objects known for the duration of host calls in progress (their arguments), innermost
    /// last; roots like `pinned`.
    scoped: Vec<usize>,
    /// Bytes in objects and in ranges handed to the allocator since the last collection.
    bytes: usize,
    threshold: usize,
    /// The most the heap may hold; an allocation past it fails (a trap).
    pub limit: usize,
    /// Pause times pushed by each collection, for `stats`.
    pauses: Vec<std::time::Duration>,
    stats: GcStats,
    /// When set, every collection ends by checking the graph (`verify`), recording what is
    /// wrong in `violations`: a debugging aid, slow.
    pub verify: bool,
    pub violations: Vec<String>,
}

extern "C" {
    fn waot_scan_stack(
        bottom: usize,
        top: usize,
        visit: extern "C" fn(*mut c_void, usize),
        ctx: *mut c_void,
    ) -> i32;
}

impl GcHeap {
    /// A heap whose bump range lives in `bump` (the store's limits, which outlive it).
    pub fn new(bump: *mut VmRuntimeLimits) -> GcHeap {
        GcHeap {
            bump,
            chunks: HashMap::new(),
            free: Vec::new(),
            large: BTreeMap::new(),
            large_marked: HashSet::new(),
            pinned: HashSet::new(),
            scoped: Vec::new(),
            bytes: 0,
            threshold: MIN_THRESHOLD,
            limit: usize::MAX,
            pauses: Vec::new(),
            stats: GcStats::default(),
            verify: cfg!(debug_assertions),
            violations: Vec::new(),
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

    fn range(&self) -> (usize, usize) {
        // SAFETY: the store's limits outlive its heap; only this thread touches these fields.
        unsafe { ((*self.bump).gc_cursor, (*self.bump).gc_limit) }
    }

    fn set_range(&mut self, cursor: usize, limit: usize) {
        // SAFETY: as in `range`.
        unsafe {
            (*self.bump).gc_cursor = cursor;
            (*self.bump).gc_limit = limit;
        }
    }

    /// Makes what is left of the bump range a free range again, so its chunk parses.
    fn seal(&mut self) {
        let (cursor, limit) = self.range();
        if cursor < limit {
            // SAFETY: the unused rest of a zeroed free range.
            unsafe { write_filler(cursor, limit) };
        }
        self.set_range(0, 0);
    }

    /// A zeroed object of `size` bytes (a multiple of 16), or `None` past the limit or when
    /// memory runs out. Its header is the caller's to write.
    pub fn alloc(&mut self, size: usize) -> Option<*mut u8> {
        debug_assert!(size.is_multiple_of(GRANULE) && size >= GRANULE);
        if size > LARGEST_SMALL {
            if size > self.limit.saturating_sub(self.bytes) {
                return None;
            }
            let layout = Layout::from_size_align(size, GRANULE).ok()?;
            // SAFETY: non-zero size.
            let p = unsafe { std::alloc::alloc_zeroed(layout) };
            if p.is_null() {
                return None;
            }
            self.large.insert(p as usize, size);
            self.bytes += size;
            return Some(p);
        }
        loop {
            let (cursor, limit) = self.range();
            if cursor != 0 && limit - cursor >= size {
                self.set_range(cursor + size, limit);
                return Some(cursor as *mut u8);
            }
            self.refill(size)?;
        }
    }

    /// Makes the bump range a free range of at least `size` bytes.
    fn refill(&mut self, size: usize) -> Option<()> {
        self.seal();
        while let Some((start, end)) = self.free.pop() {
            if end - start >= size {
                self.bytes += end - start;
                self.set_range(start, end);
                return Some(());
            }
            // Too short for this object: it stays a filler until its neighbours die.
        }
        if CHUNK > self.limit.saturating_sub(self.bytes) {
            return None;
        }
        let layout = Layout::from_size_align(CHUNK, CHUNK).expect("chunk layout");
        // SAFETY: non-zero size.
        let base = unsafe { std::alloc::alloc_zeroed(layout) } as usize;
        if base == 0 {
            return None;
        }
        self.chunks.insert(
            base,
            Chunk {
                starts: vec![0; GRANULES / 64],
                marked: vec![0; GRANULES / 64],
            },
        );
        self.bytes += CHUNK;
        self.set_range(base, base + CHUNK);
        Some(())
    }

    /// Whether `ptr` is an object the host may name: one it has seen and kept, or an argument
    /// of a host call in progress.
    pub fn contains(&self, ptr: usize) -> bool {
        self.pinned.contains(&ptr) || self.scoped.contains(&ptr)
    }

    /// Starts a host call's scope: what `pin_scoped` adds until `scope_end(mark)`.
    pub fn scope_begin(&self) -> usize {
        self.scoped.len()
    }

    pub fn scope_end(&mut self, mark: usize) {
        self.scoped.truncate(mark);
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

    /// Frees every object not reachable from pinned objects, `roots` (reference words) and,
    /// when `stack` gives this thread's stack bounds, the stack up to the outermost entry into
    /// guest code.
    pub fn collect(&mut self, roots: &[usize], stack: Option<(usize, usize)>) {
        let began = std::time::Instant::now();
        self.seal();
        self.free.clear();
        self.find_starts();
        let mut marker = Marker {
            heap: self,
            work: Vec::new(),
        };
        let pinned: Vec<usize> = (marker.heap.pinned.iter())
            .chain(&marker.heap.scoped)
            .copied()
            .collect();
        for p in pinned {
            marker.mark_exact(p);
        }
        for &word in roots {
            marker.mark_exact(word);
        }
        let scanned = match stack {
            Some((bottom, top)) => {
                extern "C" fn visit(ctx: *mut c_void, word: usize) {
                    // SAFETY: `ctx` is the marker passed below, alive for the call.
                    let marker = unsafe { &mut *(ctx as *mut Marker<'_>) };
                    // A past-the-end pointer keeps its object too (a loop's end pointer).
                    marker.mark_interior(word);
                    marker.mark_interior(word.wrapping_sub(1));
                }
                let ctx = &mut marker as *mut Marker as *mut c_void;
                // SAFETY: scans this thread's own stack; `visit` only marks.
                unsafe { waot_scan_stack(bottom, top, visit, ctx) != 0 }
            }
            None => true,
        };
        if scanned {
            marker.drain();
        }
        self.sweep(scanned);
        if self.verify {
            self.check_graph();
        }
        self.threshold = MIN_THRESHOLD.max(2 * self.bytes);
        let pause = began.elapsed();
        self.stats.collections += 1;
        self.stats.total_pause += pause;
        self.stats.longest_pause = self.stats.longest_pause.max(pause);
        if self.pauses.len() == 4096 {
            self.pauses.remove(0);
        }
        self.pauses.push(pause);
    }

    /// Walks every chunk, recording where objects start.
    fn find_starts(&mut self) {
        for (&base, chunk) in self.chunks.iter_mut() {
            chunk.starts.iter_mut().for_each(|w| *w = 0);
            chunk.marked.iter_mut().for_each(|w| *w = 0);
            let mut at = base;
            while at < base + CHUNK {
                // SAFETY: chunks parse: `at` is an object or free range start.
                let size = unsafe { size_at(at) };
                // SAFETY: as above; an object's header is readable.
                if unsafe { *(at as *const *const VmTypeInfo) } != filler() {
                    set(&mut chunk.starts, (at - base) / GRANULE);
                }
                at += size.max(GRANULE);
            }
        }
    }

    /// Frees what was not marked (everything is kept when `freeing` is false).
    fn sweep(&mut self, freeing: bool) {
        let mut empty = Vec::new();
        let mut live = 0;
        for (&base, chunk) in self.chunks.iter() {
            let mut at = base;
            let mut dead_from: Option<usize> = None;
            let mut chunk_live = 0;
            let finish = |from: usize, to: usize, free: &mut Vec<(usize, usize)>| {
                // SAFETY: `[from, to)` holds only dead objects and free ranges of this chunk.
                unsafe {
                    std::ptr::write_bytes(from as *mut u8, 0, to - from);
                    write_filler(from, to);
                }
                if to - from >= MIN_RANGE {
                    free.push((from, to));
                }
            };
            while at < base + CHUNK {
                // SAFETY: chunks parse.
                let size = unsafe { size_at(at) }.max(GRANULE);
                let i = (at - base) / GRANULE;
                let alive = bit(&chunk.starts, i) && (!freeing || bit(&chunk.marked, i));
                if alive {
                    if let Some(from) = dead_from.take() {
                        finish(from, at, &mut self.free);
                    }
                    chunk_live += size;
                } else if dead_from.is_none() {
                    dead_from = Some(at);
                }
                at += size;
            }
            if let Some(from) = dead_from {
                finish(from, base + CHUNK, &mut self.free);
            }
            if chunk_live == 0 {
                empty.push(base);
            }
            live += chunk_live;
        }
        // Empty chunks go back to the system, their free range with them.
        let layout = Layout::from_size_align(CHUNK, CHUNK).expect("chunk layout");
        for base in &empty {
            self.chunks.remove(base);
            // SAFETY: allocated in `refill` with this layout; nothing lives in it.
            unsafe { std::alloc::dealloc(*base as *mut u8, layout) };
        }
        self.free
            .retain(|(s, _)| !empty.contains(&(s & !(CHUNK - 1))));
        // Largest ranges last: `refill` pops them first.
        self.free.sort_unstable_by_key(|(s, e)| e - s);
        let dead: Vec<(usize, usize)> = self
            .large
            .iter()
            .filter(|(s, _)| freeing && !self.large_marked.contains(s))
            .map(|(s, z)| (*s, *z))
            .collect();
        for (start, size) in dead {
            self.large.remove(&start);
            // SAFETY: allocated in `alloc` with this layout; nothing reaches it.
            unsafe {
                std::alloc::dealloc(
                    start as *mut u8,
                    Layout::from_size_align_unchecked(size, GRANULE),
                )
            };
        }
        self.large_marked.clear();
        self.bytes = live + self.large.values().sum::<usize>();
    }

    /// Checks, after a sweep, that every object left has a registered type and that every
    /// reference it holds names an object left (not a freed one): what a collector that
    /// missed a root or a field would break. Records what it finds in `violations`.
    fn check_graph(&mut self) {
        let mut live: HashSet<usize> = self.large.keys().copied().collect();
        let mut objects = Vec::new();
        for &base in self.chunks.keys() {
            let mut at = base;
            while at < base + CHUNK {
                // SAFETY: chunks parse after a sweep.
                let size = unsafe { size_at(at) }.max(GRANULE);
                // SAFETY: as above.
                if unsafe { *(at as *const *const VmTypeInfo) } != filler() {
                    live.insert(at);
                    objects.push(at);
                }
                at += size;
            }
        }
        objects.extend(self.large.keys().copied());
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

    /// The start of the object `addr` points into, during a collection.
    fn find(&self, addr: usize) -> Option<usize> {
        let base = addr & !(CHUNK - 1);
        if let Some(chunk) = self.chunks.get(&base) {
            // The last start at or before the granule, then whether the object reaches.
            let mut i = (addr - base) / GRANULE;
            loop {
                let word = chunk.starts[i / 64] & (u64::MAX >> (63 - i % 64));
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
        let (&start, &size) = self.large.range(..=addr).next_back()?;
        (addr < start + size).then_some(start)
    }
}

impl Drop for GcHeap {
    fn drop(&mut self) {
        let layout = Layout::from_size_align(CHUNK, CHUNK).expect("chunk layout");
        for &base in self.chunks.keys() {
            // SAFETY: allocated in `refill` with this layout; the store is gone.
            unsafe { std::alloc::dealloc(base as *mut u8, layout) };
        }
        for (&start, &size) in &self.large {
            // SAFETY: allocated in `alloc` with this layout.
            unsafe {
                std::alloc::dealloc(
                    start as *mut u8,
                    Layout::from_size_align_unchecked(size, GRANULE),
                )
            };
        }
    }
}

struct Marker<'a> {
    heap: &'a mut GcHeap,
    work: Vec<usize>,
}

impl Marker<'_> {
    /// Marks the object a reference word names (only exact object starts: an i31, a host
    /// value or anything else is ignored).
    fn mark_exact(&mut self, word: usize) {
        if word == 0 || !word.is_multiple_of(GRANULE) {
            return;
        }
        let base = word & !(CHUNK - 1);
        let is_start = match self.heap.chunks.get(&base) {
            Some(c) => bit(&c.starts, (word - base) / GRANULE),
            None => self.heap.large.contains_key(&word),
        };
        if is_start {
            self.mark_start(word);
        }
    }

    /// Marks the object a word found in a native frame points into.
    fn mark_interior(&mut self, word: usize) {
        if let Some(start) = self.heap.find(word) {
            self.mark_start(start);
        }
    }

    fn mark_start(&mut self, start: usize) {
        let base = start & !(CHUNK - 1);
        let fresh = match self.heap.chunks.get_mut(&base) {
            Some(c) => {
                let i = (start - base) / GRANULE;
                let fresh = !bit(&c.marked, i);
                set(&mut c.marked, i);
                fresh
            }
            None => self.heap.large_marked.insert(start),
        };
        if fresh {
            self.work.push(start);
        }
    }

    fn drain(&mut self) {
        while let Some(obj) = self.work.pop() {
            // SAFETY: a live object of this heap; its header names its registered type.
            unsafe {
                let info = &*(*(obj as *const *const VmTypeInfo));
                if info.num_refs == 0 {
                    continue;
                }
                if info.kind == KIND_ARRAY {
                    let len = *((obj + OFFSET_ARRAY_LENGTH as usize) as *const u32) as usize;
                    for k in 0..len {
                        let at = obj + HEADER_SIZE as usize + 8 * k;
                        self.mark_exact(*(at as *const usize));
                    }
                } else {
                    let offsets =
                        std::slice::from_raw_parts(info.ref_offsets, info.num_refs as usize);
                    for off in offsets {
                        self.mark_exact(*((obj + *off as usize) as *const usize));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use runtime_support::gc::KIND_STRUCT;

    fn leak_type(kind: u32, size: u32, refs: &[u32]) -> *const VmTypeInfo {
        let refs: &'static [u32] = Box::leak(refs.to_vec().into_boxed_slice());
        let display: &'static [u64] = Box::leak(vec![1u64].into_boxed_slice());
        Box::leak(Box::new(VmTypeInfo {
            id: 1,
            depth: 0,
            kind,
            display: display.as_ptr(),
            size,
            num_refs: refs.len() as u32,
            ref_offsets: refs.as_ptr(),
        }))
    }

    fn heap() -> (Box<VmRuntimeLimits>, GcHeap) {
        let mut limits = Box::<VmRuntimeLimits>::default();
        let heap = GcHeap::new(&mut *limits);
        (limits, heap)
    }

    fn new_object(heap: &mut GcHeap, info: *const VmTypeInfo, size: usize, len: u32) -> usize {
        let p = heap.alloc(size).unwrap();
        // SAFETY: a fresh object of `size` bytes.
        unsafe {
            *(p as *mut *const VmTypeInfo) = info;
            *(p.add(OFFSET_ARRAY_LENGTH as usize) as *mut u32) = len;
        }
        p as usize
    }

    #[test]
    fn unreachable_objects_and_cycles_are_freed_reachable_ones_kept() {
        let pair = leak_type(KIND_STRUCT, 32, &[16, 24]);
        let (_limits, mut heap) = heap();
        let new = |heap: &mut GcHeap| new_object(heap, pair, 32, 0);
        let (a, b, c, d) = (
            new(&mut heap),
            new(&mut heap),
            new(&mut heap),
            new(&mut heap),
        );
        // a -> b, c <-> d (a cycle nothing else reaches), b -> an i31.
        // SAFETY: fields of live objects.
        unsafe {
            *((a + 16) as *mut usize) = b;
            *((c + 16) as *mut usize) = d;
            *((d + 24) as *mut usize) = c;
            *((b + 16) as *mut usize) = (7 << 1) | 1;
        }
        heap.collect(&[a], None);
        assert_eq!(heap.bytes(), 64, "a and b");
        heap.collect(&[a + 8], None);
        assert_eq!(
            heap.bytes(),
            0,
            "a root word is exact; inside an object is not a reference"
        );
    }

    #[test]
    fn frames_keep_objects_by_interior_pointers_and_freed_space_is_zeroed_and_reused() {
        let arr = leak_type(KIND_ARRAY, 8, &[0]);
        let (_limits, mut heap) = heap();
        let a = new_object(&mut heap, arr, 48, 4);
        let big = new_object(&mut heap, arr, 16 + 8 * 2000, 2000);
        let c = new_object(&mut heap, arr, 48, 4);
        // SAFETY: elements of live arrays.
        unsafe {
            *((a + 16) as *mut usize) = big;
            *((c + 40) as *mut u64) = 0xdead;
        }
        // A frame holding a pointer into the middle of `a` keeps `a`, and through it `big`.
        heap.seal();
        heap.find_starts();
        assert_eq!(heap.find(a + 40), Some(a));
        assert_eq!(heap.find(big + 16_000), Some(big));
        assert_eq!(heap.find(big + 16_016), None);
        let mut marker = Marker {
            heap: &mut heap,
            work: Vec::new(),
        };
        marker.mark_interior(a + 40);
        marker.drain();
        heap.sweep(true);
        assert_eq!(heap.bytes(), 48 + 16_016, "a and big");
        // c's space is zeroed and handed out again.
        let e = heap.alloc(48).unwrap() as usize;
        assert_eq!(e, c);
        // SAFETY: a fresh object.
        assert_eq!(unsafe { *((e + 40) as *const u64) }, 0);
    }

    #[test]
    fn the_limit_is_a_failure_not_an_abort() {
        let (_limits, mut heap) = heap();
        heap.limit = 1 << 20;
        assert!(heap.alloc(2 << 20).is_none());
        let mut n = 0;
        while heap.alloc(4096).is_some() {
            n += 1;
        }
        assert!((200..=256).contains(&n), "{n}");
    }
}
