//! The runtime functions compiled code calls through the vmctx's builtin table
//! (`api::builtins` lists them with the store's). Each validates its operands, then either
//! returns or raises a trap once nothing that needs dropping is alive.

use crate::vm::instance::{of_vmctx, VmInstance};
use crate::vm::memory::MemoryData;
use crate::vm::traps::{self, Trap};
use runtime_support::TrapCode;

type R<T> = Result<T, TrapCode>;

pub(crate) fn finish<T>(r: R<T>) -> T {
    match r {
        Ok(v) => v,
        Err(code) => traps::raise(Trap::new(code)),
    }
}

/// `finish` for a builtin that may take long or run in a tight loop (bulk memory, table and
/// array operations, GC allocation): an interrupt's signal that came while it ran found no
/// guest code to stop, so the guest stops as the builtin returns.
///
/// # Safety
/// `vmctx` is the calling instance's.
pub(crate) unsafe fn finish_interruptible<T>(vmctx: *mut u8, r: R<T>) -> T {
    let v = finish(r);
    stop_if_interrupted(vmctx);
    v
}

/// Stops the guest if an interrupt is pending (see `finish_interruptible`).
///
/// # Safety
/// `vmctx` is the calling instance's.
pub(crate) unsafe fn stop_if_interrupted(vmctx: *mut u8) {
    let limits = crate::vm::limits::of_vmctx(vmctx);
    if limits.take_pending_interrupt() {
        traps::raise(Trap::new(TrapCode::Interrupted));
    }
}

/// `[start, start + len)` inside `size`, or an out-of-bounds trap.
pub(crate) fn range(start: u64, len: u64, size: u64, code: TrapCode) -> R<std::ops::Range<usize>> {
    match start.checked_add(len) {
        Some(end) if end <= size => Ok(start as usize..end as usize),
        _ => Err(code),
    }
}

/// Memory `index` of an instance, shared: other threads may use a shared memory at the same
/// time, so builtins write through raw copies (`MemoryData::write`) and grow through `&self`.
pub(crate) fn memory(inst: &VmInstance, index: u32) -> &MemoryData {
    // SAFETY: validation checked the index of every memory instruction.
    unsafe { &*inst.memories[index as usize] }
}

pub(crate) unsafe extern "C" fn trap(vmctx: *mut u8, code: u32) {
    let mut code = TrapCode::from_u32(code).unwrap_or(TrapCode::Unreachable);
    // An interrupt sets the stack limit to its maximum: the entry check that fails is its.
    if matches!(code, TrapCode::StackOverflow | TrapCode::Interrupted) {
        code = match crate::vm::limits::of_vmctx(vmctx).take_interrupt() {
            true => TrapCode::Interrupted,
            false => code,
        };
    }
    traps::raise(Trap::new(code))
}

pub(crate) unsafe extern "C" fn memory_fill(
    vmctx: *mut u8,
    mem: u32,
    dst: u64,
    value: u32,
    len: u64,
) {
    let r = memory(of_vmctx(vmctx), mem).range_ptr(dst, len);
    // SAFETY: the range was checked against the memory's current length.
    finish_interruptible(
        vmctx,
        r.map(|p| std::ptr::write_bytes(p, value as u8, len as usize)),
    )
}

pub(crate) unsafe extern "C" fn memory_copy(
    vmctx: *mut u8,
    dst_mem: u32,
    src_mem: u32,
    dst: u64,
    src: u64,
    len: u64,
) {
    let inst = of_vmctx(vmctx);
    // Two indices may name one memory (imported twice), so copy by address, as memmove.
    let (d, s) = (
        inst.memories[dst_mem as usize],
        inst.memories[src_mem as usize],
    );
    let r = (*s)
        .range_ptr(src, len)
        .and_then(|s| (*d).range_ptr(dst, len).map(|d| (s, d)));
    // SAFETY: both ranges were checked against their memory's current length.
    finish_interruptible(vmctx, r.map(|(s, d)| std::ptr::copy(s, d, len as usize)))
}

pub(crate) unsafe extern "C" fn memory_init(
    vmctx: *mut u8,
    mem: u32,
    segment: u32,
    dst: u64,
    src: u64,
    len: u64,
) {
    let inst = of_vmctx(vmctx);
    let r = (|| {
        let data = inst.data_segment(segment);
        let s = range(src, len, data.len() as u64, TrapCode::MemoryOutOfBounds)?;
        memory(inst, mem).write(dst, &data[s])
    })();
    finish_interruptible(vmctx, r)
}

pub(crate) unsafe extern "C" fn data_drop(vmctx: *mut u8, segment: u32) {
    of_vmctx(vmctx).data_dropped[segment as usize] = true;
}

pub(crate) unsafe extern "C" fn table_fill(
    vmctx: *mut u8,
    table: u32,
    dst: u64,
    value: usize,
    len: u64,
) {
    let t = &mut *of_vmctx(vmctx).tables[table as usize];
    let r = range(dst, len, t.size(), TrapCode::TableOutOfBounds);
    finish_interruptible(vmctx, r.map(|r| t.elements[r].fill(value)))
}

pub(crate) unsafe extern "C" fn table_copy(
    vmctx: *mut u8,
    dst_table: u32,
    src_table: u32,
    dst: u64,
    src: u64,
    len: u64,
) {
    let inst = of_vmctx(vmctx);
    let (dt, st) = (
        inst.tables[dst_table as usize],
        inst.tables[src_table as usize],
    );
    let r = (|| {
        // The two may be the same table: copy out before borrowing the destination.
        let items: Vec<usize> = {
            let src_table = &*st;
            src_table.elements[range(src, len, src_table.size(), TrapCode::TableOutOfBounds)?]
                .to_vec()
        };
        let dst_table = &mut *dt;
        let d = range(dst, len, dst_table.size(), TrapCode::TableOutOfBounds)?;
        dst_table.elements[d].copy_from_slice(&items);
        Ok(())
    })();
    finish_interruptible(vmctx, r)
}

/// `table.init`, shared with instantiation's active segments.
pub(crate) fn table_init(
    inst: &mut VmInstance,
    table: u32,
    segment: u32,
    dst: u64,
    src: u64,
    len: u64,
) -> R<()> {
    // SAFETY: table pointers of an instance point into its store.
    let t = unsafe { &mut *inst.tables[table as usize] };
    let items = &inst.elem_segments[segment as usize];
    let s = range(src, len, items.len() as u64, TrapCode::TableOutOfBounds)?;
    let d = range(dst, len, t.size(), TrapCode::TableOutOfBounds)?;
    t.elements[d].copy_from_slice(&items[s]);
    Ok(())
}

pub(crate) unsafe extern "C" fn table_init_builtin(
    vmctx: *mut u8,
    table: u32,
    segment: u32,
    dst: u64,
    src: u64,
    len: u64,
) {
    let r = table_init(of_vmctx(vmctx), table, segment, dst, src, len);
    finish_interruptible(vmctx, r)
}

pub(crate) unsafe extern "C" fn elem_drop(vmctx: *mut u8, segment: u32) {
    of_vmctx(vmctx).elem_segments[segment as usize] = Vec::new();
}

pub(crate) unsafe extern "C" fn fma_f32(_vmctx: *mut u8, a: u32, b: u32, c: u32) -> u32 {
    f32::from_bits(a)
        .mul_add(f32::from_bits(b), f32::from_bits(c))
        .to_bits()
}

pub(crate) unsafe extern "C" fn fma_f64(_vmctx: *mut u8, a: u64, b: u64, c: u64) -> u64 {
    f64::from_bits(a)
        .mul_add(f64::from_bits(b), f64::from_bits(c))
        .to_bits()
}
