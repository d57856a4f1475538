//! Exception objects belong to their store, which frees those nothing can reach.
//!
//! Compiled code copies `exnref`s freely (locals, operand stack, registers) and several legacy
//! handlers may hold one object at once, so no handler may free what it caught. Instead the
//! store collects: when the number of objects reaches a threshold (twice what survived the
//! last collection, at least `MIN_THRESHOLD`), objects are marked from the roots and the
//! unmarked ones freed.
//!
//! Roots are every place an object's address can be: pinned objects (those the host has
//! seen, as a `Val::ExnRef` or an uncaught exception, which live as long as the store), lent
//! ones (made by the host to throw, until they are thrown: `lend`, `give_back`), the
//! cells of `exnref` globals, the elements of `exnref` tables, and — while guest code runs on
//! this thread — every word of the stack from the current stack pointer up to the outermost
//! entry into guest code, with the callee-saved registers spilled first (`waot_scan_stack` in
//! `trap_catch.c`). If that stack cannot be scanned (guest code entered on a stack other than
//! the thread's, as fibers do), the collection frees nothing. The stack is
//! scanned conservatively: any word that falls inside an object (compiled code may keep a
//! pointer to a payload slot rather than to the object) keeps it. Marked objects' payloads
//! are scanned the same way, so an exception carried in another's payload lives too. A word
//! that only looks like a pointer keeps an object a little longer; nothing reachable is ever
//! freed.

use runtime_support::exception::OFFSET_PAYLOAD;
use std::alloc::Layout;
use std::collections::HashMap;
use std::ffi::c_void;

/// Objects allocated before the first collection.
const MIN_THRESHOLD: usize = 1024;

/// Objects by their (16-aligned) address.
type Objects = HashMap<usize, Object, crate::vm::address_hash::BuildAddressHasher<4>>;

pub(crate) struct ExnHeap {
    objects: Objects,
    threshold: usize,
    collections: u64,
}

struct Object {
    layout: Layout,
    pinned: bool,
    /// Held by host-made exceptions not yet thrown.
    lent: u32,
}

use crate::vm::traps::waot_scan_stack;

impl Default for ExnHeap {
    fn default() -> Self {
        ExnHeap {
            objects: Objects::default(),
            threshold: MIN_THRESHOLD,
            collections: 0,
        }
    }
}

impl ExnHeap {
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn collections(&self) -> u64 {
        self.collections
    }

    pub fn wants_collection(&self) -> bool {
        self.objects.len() >= self.threshold
    }

    /// A zeroed object of `size` bytes, 16-byte aligned.
    pub fn alloc(&mut self, size: usize) -> *mut u8 {
        let layout = Layout::from_size_align(size, 16).expect("small object");
        // SAFETY: non-zero size (every object has its header).
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
        if ptr.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        self.objects.insert(
            ptr as usize,
            Object {
                layout,
                pinned: false,
                lent: 0,
            },
        );
        ptr
    }

    /// Calls `f` with every payload word of every object not yet freed: what exception
    /// payloads may hold of other heaps (GC references).
    pub fn for_each_payload_word(&self, mut f: impl FnMut(usize)) {
        for (&start, o) in &self.objects {
            let mut at = start + OFFSET_PAYLOAD as usize;
            while at + 8 <= start + o.layout.size() {
                // SAFETY: inside a live object of ours, 8-byte aligned.
                f(unsafe { *(at as *const usize) });
                at += 8;
            }
        }
    }

    /// Whether `ptr` is an object of this heap.
    pub fn contains(&self, ptr: *const u8) -> bool {
        self.objects.contains_key(&(ptr as usize))
    }

    /// Keeps `ptr` for the store's lifetime: the host may hold it anywhere. False if it is
    /// not an object of this heap.
    pub fn pin(&mut self, ptr: *const u8) -> bool {
        match self.objects.get_mut(&(ptr as usize)) {
            Some(o) => {
                o.pinned = true;
                true
            }
            None => false,
        }
    }

    /// Keeps `ptr` until `give_back`: a host-made exception until it is thrown. False if it is
    /// not an object of this heap.
    pub fn lend(&mut self, ptr: *const u8) -> bool {
        match self.objects.get_mut(&(ptr as usize)) {
            Some(o) => {
                o.lent += 1;
                true
            }
            None => false,
        }
    }

    /// Ends a `lend`: the object lives on only if something reaches it.
    pub fn give_back(&mut self, ptr: *const u8) {
        if let Some(o) = self.objects.get_mut(&(ptr as usize)) {
            o.lent = o.lent.saturating_sub(1);
        }
    }

    /// Frees every object not reachable from pinned or lent objects, `roots` (words that may point
    /// into objects) and, when `stack` gives this thread's stack bounds (guest code is running
    /// on it), the stack up to the outermost entry into guest code.
    pub fn collect(&mut self, roots: &[usize], stack: Option<(usize, usize)>) {
        self.collections += 1;
        let mut ranges: Vec<(usize, usize, bool)> = self
            .objects
            .iter()
            .map(|(&start, o)| (start, start + o.layout.size(), o.pinned || o.lent > 0))
            .collect();
        ranges.sort_unstable();
        let mut marker = Marker {
            ranges: &ranges,
            marked: vec![false; ranges.len()],
            work: Vec::new(),
        };
        for (i, r) in ranges.iter().enumerate() {
            if r.2 {
                marker.mark_index(i);
            }
        }
        for &word in roots {
            marker.mark(word);
        }
        if let Some((bottom, top)) = stack {
            extern "C" fn visit(ctx: *mut c_void, word: usize) {
                // SAFETY: `ctx` is the marker passed below, alive for the call.
                unsafe { (*(ctx as *mut Marker<'_>)).mark(word) }
            }
            let ctx = &mut marker as *mut Marker as *mut c_void;
            // SAFETY: scans this thread's own stack; `visit` only records words.
            if unsafe { waot_scan_stack(bottom, top, visit, ctx) } == 0 {
                // The stack that may hold references could not be scanned: keep everything.
                self.threshold = MIN_THRESHOLD.max(2 * self.objects.len());
                return;
            }
        }
        while let Some(i) = marker.work.pop() {
            let (start, end, _) = ranges[i];
            let mut at = start + OFFSET_PAYLOAD as usize;
            while at + 8 <= end {
                // SAFETY: inside a live object of ours, 8-byte aligned (objects are 16-aligned).
                let word = unsafe { *(at as *const usize) };
                marker.mark(word);
                at += 8;
            }
        }
        let Marker { marked, .. } = marker;
        for (i, (start, _, _)) in ranges.iter().enumerate() {
            if !marked[i] {
                let o = self.objects.remove(start).expect("listed above");
                // SAFETY: allocated in `alloc` with this layout; nothing reaches it.
                unsafe { std::alloc::dealloc(*start as *mut u8, o.layout) };
            }
        }
        self.threshold = MIN_THRESHOLD.max(2 * self.objects.len());
    }
}

impl Drop for ExnHeap {
    fn drop(&mut self) {
        for (&start, o) in &self.objects {
            // SAFETY: allocated in `alloc` with this layout; the store is gone.
            unsafe { std::alloc::dealloc(start as *mut u8, o.layout) };
        }
    }
}

struct Marker<'a> {
    /// (start, end, pinned), sorted by start.
    ranges: &'a [(usize, usize, bool)],
    marked: Vec<bool>,
    work: Vec<usize>,
}

impl Marker<'_> {
    /// Marks the object `word` points into (its end included), if any.
    fn mark(&mut self, word: usize) {
        let (Some(first), Some(last)) = (self.ranges.first(), self.ranges.last()) else {
            return;
        };
        if word < first.0 || word > last.1 {
            return;
        }
        let i = self.ranges.partition_point(|r| r.0 <= word);
        if i > 0 && word <= self.ranges[i - 1].1 {
            self.mark_index(i - 1);
        }
    }

    fn mark_index(&mut self, i: usize) {
        if !self.marked[i] {
            self.marked[i] = true;
            self.work.push(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreachable_objects_are_freed_and_reachable_ones_kept() {
        let mut heap = ExnHeap::default();
        let a = heap.alloc(64);
        let b = heap.alloc(64);
        let c = heap.alloc(80);
        let d = heap.alloc(64);
        // c's payload holds a pointer into d's payload; b is pinned; a is reached by a root
        // pointing at its end.
        // SAFETY: 8-byte aligned slots inside c's payload.
        unsafe { *(c.add(OFFSET_PAYLOAD as usize) as *mut usize) = d as usize + 50 };
        heap.pin(b);
        heap.collect(&[a as usize + 64, c as usize], None);
        assert_eq!(heap.len(), 4);
        heap.collect(&[c as usize], None);
        assert!(!heap.contains(a) && heap.contains(b) && heap.contains(c) && heap.contains(d));
        heap.collect(&[], None);
        assert_eq!(heap.len(), 1, "only the pinned one is left");
    }
}
