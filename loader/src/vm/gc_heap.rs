//! The store's heap of GC objects (structs and arrays): a non-moving mark-sweep collector with
//! precise tracing of objects and conservative scanning of native frames.
//!
//! Objects of up to `LARGEST_CLASS` bytes live in 256 KiB chunks aligned to their size, each
//! chunk holding objects of one size class, so the object a word points into is found in
//! constant time: the chunk from the word's high bits, the slot by one division. Larger objects
//! are allocated one by one and found in an ordered map. A chunk keeps two bitmaps, allocated
//! and marked; sweeping frees unmarked slots onto their class's free list, and allocation
//! takes from the free list, then from the chunk's untouched tail.
//!
//! Roots are given by the store (`collect`'s `roots`: pinned objects the host has seen, GC
//! references in globals, tables, element segments and exception payloads) plus, while guest
//! code runs on this thread, every word of its stack (see `exn_heap` for why conservatively).
//! An object is traced precisely by its type: the offsets of its reference fields, or all its
//! elements for an array of references. A collection runs only when guest code allocates
//! (the stack is then scannable up to the outermost entry) and never during instantiation.

use runtime_support::gc::{VmTypeInfo, HEADER_SIZE, KIND_ARRAY, OFFSET_ARRAY_LENGTH};
use std::alloc::Layout;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::c_void;

const CHUNK: usize = 256 << 10;
const CLASSES: [u32; 20] = [
    16, 32, 48, 64, 80, 96, 128, 160, 192, 256, 320, 384, 512, 768, 1024, 1536, 2048, 3072, 4096,
    8192,
];
const LARGEST_CLASS: usize = 8192;
/// Bytes allocated before the first collection.
const MIN_THRESHOLD: usize = 4 << 20;

struct Chunk {
    class: usize,
    size: usize,
    /// Slots below `bump` have been handed out at least once.
    bump: usize,
    slots: usize,
    allocated: Vec<u64>,
    marked: Vec<u64>,
}

fn bit(v: &[u64], i: usize) -> bool {
    v[i / 64] & (1 << (i % 64)) != 0
}

fn set(v: &mut [u64], i: usize, on: bool) {
    if on {
        v[i / 64] |= 1 << (i % 64);
    } else {
        v[i / 64] &= !(1 << (i % 64));
    }
}

pub(crate) struct GcHeap {
    chunks: HashMap<usize, Chunk>,
    /// The chunk each class bump-allocates from.
    current: [Option<usize>; CLASSES.len()],
    free: [Vec<usize>; CLASSES.len()],
    /// Large objects: start to size.
    large: BTreeMap<usize, usize>,
    large_marked: HashSet<usize>,
    pinned: HashSet<usize>,
    /// Bytes in live or not yet swept objects.
    bytes: usize,
    threshold: usize,
    /// The most the heap may hold; an allocation past it fails (a trap).
    pub limit: usize,
    collections: u64,
    /// Set while instantiating: objects then live only in Rust locals, so none may run.
    pub no_collection: bool,
}

impl Default for GcHeap {
    fn default() -> Self {
        GcHeap {
            chunks: HashMap::new(),
            current: [None; CLASSES.len()],
            free: Default::default(),
            large: BTreeMap::new(),
            large_marked: HashSet::new(),
            pinned: HashSet::new(),
            bytes: 0,
            threshold: MIN_THRESHOLD,
            limit: 16 << 30,
            collections: 0,
            no_collection: false,
        }
    }
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
    pub fn collections(&self) -> u64 {
        self.collections
    }

    /// Bytes in objects not yet freed.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn wants_collection(&self, size: usize) -> bool {
        !self.no_collection && self.bytes + size > self.threshold
    }

    /// A zeroed object of `size` bytes (a multiple of 16), or `None` past the limit or when
    /// memory runs out.
    pub fn alloc(&mut self, size: usize) -> Option<*mut u8> {
        if size > self.limit.saturating_sub(self.bytes) {
            return None;
        }
        let (ptr, charged) = if size > LARGEST_CLASS {
            let layout = Layout::from_size_align(size, 16).ok()?;
            // SAFETY: non-zero size.
            let p = unsafe { std::alloc::alloc_zeroed(layout) };
            if p.is_null() {
                return None;
            }
            self.large.insert(p as usize, size);
            (p, size)
        } else {
            let class = CLASSES.iter().position(|c| *c as usize >= size)?;
            (self.alloc_small(class)?, CLASSES[class] as usize)
        };
        // Counted as sweeping uncounts it: by the slot's size.
        self.bytes += charged;
        Some(ptr)
    }

    fn alloc_small(&mut self, class: usize) -> Option<*mut u8> {
        let size = CLASSES[class] as usize;
        if let Some(p) = self.free[class].pop() {
            let base = p & !(CHUNK - 1);
            let chunk = self.chunks.get_mut(&base).expect("free slot of a chunk");
            set(&mut chunk.allocated, (p - base) / size, true);
            // SAFETY: a free slot of our chunk, `size` bytes.
            unsafe { std::ptr::write_bytes(p as *mut u8, 0, size) };
            return Some(p as *mut u8);
        }
        loop {
            if let Some(base) = self.current[class] {
                let chunk = self.chunks.get_mut(&base).expect("current chunk");
                if chunk.bump < chunk.slots {
                    let i = chunk.bump;
                    chunk.bump += 1;
                    set(&mut chunk.allocated, i, true);
                    // Never handed out before: still zero from `alloc_zeroed`.
                    return Some((base + i * size) as *mut u8);
                }
            }
            let layout = Layout::from_size_align(CHUNK, CHUNK).expect("chunk layout");
            // SAFETY: non-zero size.
            let base = unsafe { std::alloc::alloc_zeroed(layout) } as usize;
            if base == 0 {
                return None;
            }
            let slots = CHUNK / size;
            self.chunks.insert(
                base,
                Chunk {
                    class,
                    size,
                    bump: 0,
                    slots,
                    allocated: vec![0; slots.div_ceil(64)],
                    marked: vec![0; slots.div_ceil(64)],
                },
            );
            self.current[class] = Some(base);
        }
    }

    /// The start of the object `addr` points into, if any.
    pub fn find(&self, addr: usize) -> Option<usize> {
        let base = addr & !(CHUNK - 1);
        if let Some(chunk) = self.chunks.get(&base) {
            let i = (addr - base) / chunk.size;
            return (i < chunk.bump && bit(&chunk.allocated, i)).then_some(base + i * chunk.size);
        }
        let (&start, &size) = self.large.range(..=addr).next_back()?;
        (addr < start + size).then_some(start)
    }

    /// Whether `ptr` is the start of an object of this heap.
    pub fn contains(&self, ptr: usize) -> bool {
        ptr != 0 && self.find(ptr) == Some(ptr)
    }

    /// Keeps the object at `ptr` for the store's lifetime: the host may hold it anywhere.
    pub fn pin(&mut self, ptr: usize) {
        if self.contains(ptr) {
            self.pinned.insert(ptr);
        }
    }

    /// Frees every object not reachable from pinned objects, `roots` (reference words) and,
    /// when `stack` gives this thread's stack bounds, the stack up to the outermost entry into
    /// guest code.
    pub fn collect(&mut self, roots: &[usize], stack: Option<(usize, usize)>) {
        self.collections += 1;
        let mut marker = Marker {
            heap: self,
            work: Vec::new(),
        };
        let pinned: Vec<usize> = marker.heap.pinned.iter().copied().collect();
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
            self.sweep();
        } else {
            // The stack that may hold references could not be scanned: keep everything.
            self.clear_marks();
        }
        self.threshold = self.next_threshold();
    }

    fn next_threshold(&self) -> usize {
        MIN_THRESHOLD.max(2 * self.bytes)
    }

    fn clear_marks(&mut self) {
        for c in self.chunks.values_mut() {
            c.marked.iter_mut().for_each(|w| *w = 0);
        }
        self.large_marked.clear();
    }

    fn sweep(&mut self) {
        for (&base, c) in self.chunks.iter_mut() {
            for w in 0..c.allocated.len() {
                let dead = c.allocated[w] & !c.marked[w];
                if dead != 0 {
                    for b in 0..64 {
                        if dead & (1 << b) != 0 {
                            self.free[c.class].push(base + (w * 64 + b) * c.size);
                            self.bytes -= c.size;
                        }
                    }
                    c.allocated[w] &= !dead;
                }
                c.marked[w] = 0;
            }
        }
        let dead: Vec<(usize, usize)> = self
            .large
            .iter()
            .filter(|(s, _)| !self.large_marked.contains(s))
            .map(|(s, z)| (*s, *z))
            .collect();
        for (start, size) in dead {
            self.large.remove(&start);
            self.bytes -= size;
            // SAFETY: allocated in `alloc` with this layout; nothing reaches it.
            unsafe {
                std::alloc::dealloc(
                    start as *mut u8,
                    Layout::from_size_align_unchecked(size, 16),
                )
            };
        }
        self.large_marked.clear();
    }
}

impl Drop for GcHeap {
    fn drop(&mut self) {
        let layout = Layout::from_size_align(CHUNK, CHUNK).expect("chunk layout");
        for &base in self.chunks.keys() {
            // SAFETY: allocated in `alloc_small` with this layout; the store is gone.
            unsafe { std::alloc::dealloc(base as *mut u8, layout) };
        }
        for (&start, &size) in &self.large {
            // SAFETY: allocated in `alloc` with this layout.
            unsafe {
                std::alloc::dealloc(
                    start as *mut u8,
                    Layout::from_size_align_unchecked(size, 16),
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
        if word != 0 && word & 15 == 0 && self.heap.find(word) == Some(word) {
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
                let i = (start - base) / c.size;
                let fresh = !bit(&c.marked, i);
                set(&mut c.marked, i, true);
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

    #[test]
    fn unreachable_objects_and_cycles_are_freed_reachable_ones_kept() {
        let pair = leak_type(KIND_STRUCT, 32, &[16, 24]);
        let mut heap = GcHeap::default();
        let new = |heap: &mut GcHeap| {
            let p = heap.alloc(32).unwrap();
            // SAFETY: a fresh 32-byte object.
            unsafe { *(p as *mut *const VmTypeInfo) = pair };
            p as usize
        };
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
        assert!(heap.contains(a) && heap.contains(b));
        assert!(
            !heap.contains(c) && !heap.contains(d),
            "the cycle is collected"
        );
        assert_eq!(heap.bytes(), 64);
        let e = new(&mut heap);
        assert!(e == c || e == d, "a freed slot is reused");
        // SAFETY: reading a field of a live object.
        assert_eq!(unsafe { *((e + 16) as *const usize) }, 0, "and zeroed");
        heap.collect(&[], None);
        assert_eq!(heap.bytes(), 0);
    }

    #[test]
    fn interior_and_large_objects_are_found() {
        let mut heap = GcHeap::default();
        let small = heap.alloc(48).unwrap() as usize;
        let large = heap.alloc(100_000).unwrap() as usize;
        assert_eq!(heap.find(small + 47), Some(small));
        assert_eq!(heap.find(large + 99_999), Some(large));
        assert_eq!(heap.find(large + 100_000), None);
        assert!(heap.alloc(heap.limit).is_none(), "past the limit");
    }
}
