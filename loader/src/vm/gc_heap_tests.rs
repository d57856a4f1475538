//! Unit tests of the GC heap and its incremental cycles (`gc_heap`, `gc_cycle`).

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
    assert!(heap.violations.is_empty(), "{:?}", heap.violations);
    heap.collect(&[a + 16], None);
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
    // Enough after c for a free range the allocator takes.
    let d = new_object(&mut heap, arr, 96, 10);
    let e = new_object(&mut heap, arr, 48, 4);
    // SAFETY: elements of live arrays.
    unsafe {
        *((a + 16) as *mut usize) = big;
        *((c + 40) as *mut u64) = 0xdead;
        *((d + 40) as *mut u64) = 0xdead;
    }
    assert_eq!(heap.find(a + 40), Some(a));
    assert_eq!(heap.find(big + 16_000), Some(big));
    assert_eq!(heap.find(big + 16_016), None);
    // A frame holding a pointer into the middle of `a` keeps `a`, and through it `big`;
    // the root `e` keeps `e`.
    heap.cycle = Some(Default::default());
    let inside = heap.find(a + 40).unwrap();
    heap.mark(inside);
    heap.mark(e);
    assert!(heap.drain(usize::MAX, None).0);
    heap.finish();
    heap.finish_sweep();
    assert_eq!(
        heap.bytes(),
        48 + 48 + (OBJECTS + 16_016).next_multiple_of(CHUNK)
    );
    // c and d's space is a free range, handed out again zeroed.
    assert!(
        heap.free.all().contains(&(c, e, false)),
        "{:?}",
        heap.free.all()
    );
    heap.free = FreeRanges::default();
    heap.free.push(c, e);
    heap.set_range(0, 0);
    // An object too large for it comes from a new chunk, and the range stays.
    let g = heap.alloc(4096).unwrap() as usize;
    assert_ne!(g & !(CHUNK - 1), c & !(CHUNK - 1));
    assert_eq!(heap.free.all(), vec![(c, e, false)]);
    heap.set_range(0, 0);
    let f = heap.alloc(144).unwrap() as usize;
    assert_eq!(f, c);
    // SAFETY: a fresh object.
    assert!((0..144).all(|k| unsafe { *((f + k) as *const u8) } == 0));
}

#[test]
fn incremental_marking_keeps_what_was_reachable_when_it_began_and_what_is_new() {
    let pair = leak_type(KIND_STRUCT, 32, &[16, 24]);
    let (_limits, mut heap) = heap();
    heap.verify = true;
    heap.max_step = 64;
    // root -> n[0] -> n[1] -> ... -> n[99] through field 16.
    let root = new_object(&mut heap, pair, 32, 0);
    let n: Vec<usize> = (0..100)
        .map(|_| new_object(&mut heap, pair, 32, 0))
        .collect();
    let link = |from: usize, field: usize, to: usize| {
        // SAFETY: a field of a live object.
        unsafe { *((from + field) as *mut usize) = to };
    };
    link(root, 16, n[0]);
    for k in 1..100 {
        link(n[k - 1], 16, n[k]);
    }
    heap.begin(&[root], None);
    assert!(heap.marking(), "64 units of work cannot mark 101 objects");
    // Between steps the guest moves the tail behind a new object, cutting the old path
    // (the barrier greys what it overwrites), and hangs the new object on the root.
    heap.barrier(n[1]);
    link(n[0], 16, 0);
    let fresh = new_object(&mut heap, pair, 32, 0);
    link(fresh, 16, n[1]);
    link(root, 24, fresh);
    let mut steps = 0;
    while heap.marking() {
        heap.step();
        steps += 1;
    }
    assert!(heap.violations.is_empty(), "{:?}", heap.violations);
    assert!(steps > 10, "{steps} steps");
    heap.finish_sweep();
    let live: HashSet<usize> = heap.objects().into_iter().collect();
    assert!(live.contains(&root) && live.contains(&fresh));
    assert!(n.iter().all(|o| live.contains(o)));
    // Cut the tail off and collect: its 99 objects go.
    link(fresh, 16, 0);
    heap.collect(&[root], None);
    heap.finish_sweep();
    assert_eq!(heap.objects().len(), 3, "root, n[0] and fresh");
    assert!(heap.violations.is_empty(), "{:?}", heap.violations);
}

#[test]
fn objects_allocated_while_marking_survive_and_bound_the_free_ranges() {
    let arr = leak_type(KIND_ARRAY, 8, &[]);
    let refs = leak_type(KIND_ARRAY, 8, &[0]);
    let (_limits, mut heap) = heap();
    heap.verify = true;
    // A root holding 4 arrays, with garbage between them.
    let root = new_object(&mut heap, refs, 48, 4);
    for k in 0..4 {
        let child = new_object(&mut heap, arr, 208, 24);
        new_object(&mut heap, arr, 208, 24);
        // SAFETY: element `k` of the live root.
        unsafe { *((root + 16 + 8 * k) as *mut usize) = child };
    }
    heap.max_step = 64;
    heap.begin(&[root], None);
    let mut kept = Vec::new();
    // Allocated while marking: black, of sizes on both sides of the smallest free range,
    // several bump ranges of them, and large ones.
    for k in 0..3000 {
        let len = [2u32, 10, 24, 500, 2000][k % 5];
        let size = runtime_support::gc::array_size(len.into(), 8) as usize;
        let obj = new_object(&mut heap, arr, size, len);
        if k % 3 == 0 {
            kept.push(obj);
        }
    }
    assert!(heap.marking());
    while heap.marking() {
        heap.step();
    }
    assert!(heap.violations.is_empty(), "{:?}", heap.violations);
    let live: HashSet<usize> = heap.objects().into_iter().collect();
    heap.finish_sweep();
    assert_eq!(
        live,
        heap.objects().into_iter().collect(),
        "the objects left before and after the lazy sweep"
    );
    assert!(live.contains(&root));
    assert!(kept.iter().all(|o| live.contains(o)), "black objects freed");
    // The next cycle frees what nothing references, and the ranges are checked again.
    heap.collect(&[root], None);
    heap.finish_sweep();
    assert_eq!(heap.objects().len(), 5, "the root and its 4 arrays");
    assert!(heap.violations.is_empty(), "{:?}", heap.violations);
}

#[test]
fn a_collection_during_marking_frees_what_became_garbage_and_huge_arrays_are_traced_whole() {
    let leaf = leak_type(KIND_STRUCT, 32, &[]);
    let refs = leak_type(KIND_ARRAY, 8, &[0]);
    let (_limits, mut heap) = heap();
    heap.verify = true;
    heap.max_step = 64;
    // An array of 10,000 references (traced in slices) to 10,000 leaves.
    let n = 10_000;
    let size = runtime_support::gc::array_size(n as u64, 8) as usize;
    let root = new_object(&mut heap, refs, size, n as u32);
    let leaves: Vec<usize> = (0..n).map(|_| new_object(&mut heap, leaf, 32, 0)).collect();
    for (k, l) in leaves.iter().enumerate() {
        // SAFETY: element `k` of the live root.
        unsafe { *((root + 16 + 8 * k) as *mut usize) = *l };
    }
    heap.begin(&[root], None);
    assert!(heap.marking());
    // While marking, the second half of the leaves is dropped (through the barrier).
    for k in n / 2..n {
        let at = (root + 16 + 8 * k) as *mut usize;
        // SAFETY: element `k` of the live root.
        unsafe {
            heap.barrier(*at);
            *at = 0;
        }
    }
    // A whole collection finishes this cycle (which keeps them) and runs another.
    heap.collect(&[root], None);
    assert!(heap.violations.is_empty(), "{:?}", heap.violations);
    heap.finish_sweep();
    let live: HashSet<usize> = heap.objects().into_iter().collect();
    assert_eq!(live.len(), 1 + n / 2);
    assert!(leaves[..n / 2].iter().all(|l| live.contains(l)));
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
