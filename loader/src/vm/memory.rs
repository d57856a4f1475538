//! Linear memories. Each is a reservation of 8 GiB + 64 KiB of anonymous address space, of
//! which only the memory's current size is accessible. A 64-bit memory (memory64) may grow to
//! 8 GiB inside its reservation; compiled code compares each of its accesses with the length
//! (`compiler/src/translate/address.rs`):
//!
//! ```text
//! base           the memory: the first `length` bytes read-write, then inaccessible pages up
//!                to 8 GiB + 64 KiB (4 GiB, the largest 32-bit address, plus as much again for
//!                static offsets, plus the widest access)
//! ```
//!
//! Growing makes more pages accessible in place, never moving `base`. The pages are private
//! anonymous memory: untouched pages cost nothing and each is faulted in once, as ordinary
//! heap memory is. Every byte has one address (see `compiler/src/translate/memory.rs`).

use runtime_support::vmctx::{
    VmMemory, MEMORY32_RESERVATION, MEMORY64_MAX_BYTES, MEMORY64_RESERVATION,
};
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// log2 of the default page size, 64 KiB.
pub const DEFAULT_PAGE_LOG2: u32 = 16;

pub struct MemoryData {
    pub(crate) vm: VmMemory,
    /// In pages.
    pub(crate) maximum: Option<u64>,
    /// Addressed with `i64` (memory64).
    pub(crate) memory64: bool,
    /// log2 of the page size: 16, or 0 (custom-page-sizes: one-byte pages).
    pub(crate) page_log2: u32,
    /// Declared `shared` (threads): `memory.atomic.wait` may park on it, and several threads
    /// may use it at once, so growing it is serialized by this lock (see `grow`).
    pub(crate) shared: bool,
    grow_lock: Mutex<()>,
}

// SAFETY: the mapping is owned by this value.
unsafe impl Send for MemoryData {}

impl MemoryData {
    /// A memory of the module's type `ty`.
    pub fn of_type(ty: &wasmparser::MemoryType) -> Result<Self, String> {
        let log2 = ty.page_size_log2.unwrap_or(DEFAULT_PAGE_LOG2);
        let mut m = Self::new(ty.initial, ty.maximum, ty.memory64, log2)?;
        m.shared = ty.shared;
        Ok(m)
    }

    pub fn new(
        minimum: u64,
        maximum: Option<u64>,
        memory64: bool,
        page_log2: u32,
    ) -> Result<Self, String> {
        let limit = Self::limit(memory64, page_log2);
        if maximum.is_some_and(|max| max < minimum) {
            return Err(format!(
                "memory of {minimum} pages exceeds its maximum of {} pages",
                maximum.unwrap_or(0)
            ));
        }
        if minimum > limit {
            let what = if memory64 {
                "8 GiB this runtime gives a 64-bit memory"
            } else {
                "4 GiB of a 32-bit memory"
            };
            return Err(format!(
                "memory of {minimum} pages exceeds the {limit} pages ({what})"
            ));
        }
        let reservation = super::reservation::take(Self::reservation(memory64))?;
        let m = MemoryData {
            vm: VmMemory {
                base: reservation,
                length: 0,
            },
            maximum,
            memory64,
            page_log2,
            shared: false,
            grow_lock: Mutex::new(()),
        };
        m.set_accessible(minimum << page_log2)?;
        Ok(m)
    }

    /// Makes the first `bytes` of the reservation read-write. The host's pages are larger than
    /// a one-byte wasm page: the bytes past `length` in the last host page stay accessible, and
    /// compiled code checks such a memory's accesses explicitly.
    fn set_accessible(&self, bytes: u64) -> Result<(), String> {
        let up = |n: u64| (n as usize).next_multiple_of(super::reservation::host_page());
        let (from, to) = (up(self.length()), up(bytes));
        if to > from {
            // SAFETY: changes the protection of pages inside our own reservation.
            let r = unsafe {
                libc::mprotect(
                    self.vm.base.add(from) as *mut _,
                    to - from,
                    libc::PROT_READ | libc::PROT_WRITE,
                )
            };
            if r != 0 {
                let error = std::io::Error::last_os_error();
                // A change that failed part-way may have left pages past the length readable;
                // the memory's guard (and the reservation's reuse) needs them inaccessible.
                // SAFETY: as above.
                unsafe {
                    libc::mprotect(self.vm.base.add(from) as *mut _, to - from, libc::PROT_NONE)
                };
                return Err(format!("cannot commit memory: {error}"));
            }
        }
        // SAFETY: aligned; readers in other threads load it (shared memories).
        unsafe { AtomicU64::from_ptr(&self.vm.length as *const u64 as *mut u64) }
            .store(bytes, Ordering::SeqCst);
        Ok(())
    }

    fn reservation(memory64: bool) -> usize {
        if memory64 {
            MEMORY64_RESERVATION as usize
        } else {
            MEMORY32_RESERVATION as usize
        }
    }

    /// The most pages a memory may have here: 4 GiB for a 32-bit one (and no more pages than
    /// an `i32` counts), `MEMORY64_MAX_BYTES` for a 64-bit one.
    fn limit(memory64: bool, page_log2: u32) -> u64 {
        if memory64 {
            MEMORY64_MAX_BYTES >> page_log2
        } else {
            ((1u64 << 32) >> page_log2).min(u32::MAX as u64)
        }
    }

    pub fn pages(&self) -> u64 {
        self.length() >> self.page_log2
    }

    /// The current length in bytes; another thread may grow a shared memory at any time.
    pub(crate) fn length(&self) -> u64 {
        // SAFETY: the field is aligned; writers of a shared memory store it atomically.
        unsafe { AtomicU64::from_ptr(&self.vm.length as *const u64 as *mut u64) }
            .load(Ordering::SeqCst)
    }

    /// Grows by `delta` pages; the old size in pages, or `None` if the maximum forbids it.
    /// A shared memory grows under its lock, and its new length is published atomically
    /// after its pages are accessible, so a thread that sees the length can use the bytes.
    /// Takes `&self`: threads sharing the memory grow it at once (only the length and the
    /// pages' protection change, under the lock).
    #[cfg(test)]
    pub fn grow(&self, delta: u64) -> Option<u64> {
        self.grow_if(delta, |_| true).ok()
    }

    /// `grow`, if `allowed(old length in bytes)` says so, asked under the lock that serializes
    /// growth (so that threads growing a shared memory at once cannot all pass a limit).
    /// `Err(true)`: `allowed` refused; `Err(false)`: the memory's own maximum did.
    pub fn grow_if(&self, delta: u64, allowed: impl FnOnce(u64) -> bool) -> Result<u64, bool> {
        let _serialized = self.grow_lock.lock().unwrap_or_else(|e| e.into_inner());
        if delta > 0 && !allowed(self.length()) {
            return Err(true);
        }
        self.grow_unlocked(delta).ok_or(false)
    }

    fn grow_unlocked(&self, delta: u64) -> Option<u64> {
        let old = self.pages();
        let new = old.checked_add(delta)?;
        let limit = Self::limit(self.memory64, self.page_log2);
        if new > self.maximum.unwrap_or(limit).min(limit) {
            return None;
        }
        self.set_accessible(new << self.page_log2).ok()?;
        Some(old)
    }

    /// The host address of `[offset, offset + len)`, or an out-of-bounds trap: what the
    /// builtins write through, by raw copies (other threads may access a shared memory).
    pub(crate) fn range_ptr(
        &self,
        offset: u64,
        len: u64,
    ) -> Result<*mut u8, runtime_support::TrapCode> {
        match offset.checked_add(len) {
            // SAFETY: inside the accessible length.
            Some(end) if end <= self.length() => Ok(unsafe { self.vm.base.add(offset as usize) }),
            _ => Err(runtime_support::TrapCode::MemoryOutOfBounds),
        }
    }

    /// Asks for huge pages under `[start, end)`, which data segments are about to fill, when it
    /// spans at least one (2 MiB, rounded outwards within the accessible length): a page fault
    /// per 4 KiB page of megabytes of data costs more than the copy itself, the more so in a
    /// virtual machine, and the host's transparent huge pages (`madvise` mode) take one per
    /// 2 MiB. The advice commits nothing by itself: each 2 MiB that a segment writes into is
    /// committed whole, so a small segment far from the others may cost a whole huge page;
    /// where the host has no transparent huge pages the advice does nothing.
    pub(crate) fn expect_writes(&self, start: u64, end: u64) {
        const HUGE: u64 = 2 << 20;
        if self.shared || end.saturating_sub(start) < HUGE {
            return;
        }
        let from = start & !(HUGE - 1);
        let to = end.next_multiple_of(HUGE).min(self.length());
        if to > from {
            // SAFETY: advice on accessible pages of this memory; it changes no contents.
            unsafe {
                libc::madvise(
                    self.vm.base.add(from as usize) as *mut _,
                    (to - from) as usize,
                    libc::MADV_HUGEPAGE,
                )
            };
        }
    }

    /// Copies `bytes` to `offset`, or traps out of bounds (data segments, `memory.init`).
    pub(crate) fn write(&self, offset: u64, bytes: &[u8]) -> Result<(), runtime_support::TrapCode> {
        let p = self.range_ptr(offset, bytes.len() as u64)?;
        // SAFETY: checked above; a raw copy, as other threads may use a shared memory.
        unsafe { std::ptr::copy(bytes.as_ptr(), p, bytes.len()) };
        Ok(())
    }

    /// Whether host address `addr` starts `size` accessible bytes of this memory.
    pub(crate) fn holds(&self, addr: *const u8, size: u64) -> bool {
        let offset = (addr as usize).wrapping_sub(self.vm.base as usize) as u64;
        self.range_ptr(offset, size).is_ok()
    }

    pub fn data(&self) -> &[u8] {
        // SAFETY: the first `length` bytes are mapped read-write.
        unsafe { std::slice::from_raw_parts(self.vm.base, self.vm.length as usize) }
    }

    pub fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: as above, and we hold the only reference.
        unsafe { std::slice::from_raw_parts_mut(self.vm.base, self.vm.length as usize) }
    }
}

/// A memory that stores on several threads use at once (threads proposal): what
/// `Store::shared_memory_new` makes and `Store::shared_memory` hands to another thread's store
/// (`Store::import_shared_memory`). Its bytes are never handed out as a Rust slice: guest
/// threads change them at any time.
#[derive(Clone)]
pub struct SharedMemory(pub(crate) Arc<SharedMemoryData>);

pub(crate) struct SharedMemoryData(UnsafeCell<MemoryData>);

// SAFETY: compiled code and the builtins use the memory through raw pointers, growing it under
// its lock (`MemoryData::grow`); the host reaches it only through those builtins and WASI.
unsafe impl Send for SharedMemoryData {}
unsafe impl Sync for SharedMemoryData {}

impl SharedMemory {
    pub(crate) fn new(mut data: MemoryData) -> SharedMemory {
        data.shared = true;
        SharedMemory(Arc::new(SharedMemoryData(UnsafeCell::new(data))))
    }

    pub(crate) fn ptr(&self) -> *mut MemoryData {
        self.0 .0.get()
    }

    /// The current size in pages.
    pub fn pages(&self) -> u64 {
        // SAFETY: reads immutable fields and the atomically written length.
        unsafe { (*self.ptr()).pages() }
    }

    /// The current length in bytes.
    pub fn len(&self) -> u64 {
        // SAFETY: as in `pages`.
        unsafe { (*self.ptr()).length() }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Copies `buf.len()` bytes at `offset` out of the memory; `None` past its end. Bytes that
    /// guest threads write meanwhile may or may not be seen, as for any racing read.
    pub fn read(&self, offset: u64, buf: &mut [u8]) -> Option<()> {
        let at = self.range(offset, buf.len())?;
        // SAFETY: inside the accessible length, which never shrinks; a raw copy, never a
        // reference to memory other threads write.
        unsafe { std::ptr::copy(at, buf.as_mut_ptr(), buf.len()) };
        Some(())
    }

    /// Copies `data` into the memory at `offset`; `None` past its end.
    pub fn write(&self, offset: u64, data: &[u8]) -> Option<()> {
        let at = self.range(offset, data.len())?;
        // SAFETY: as in `read`.
        unsafe { std::ptr::copy(data.as_ptr(), at, data.len()) };
        Some(())
    }

    fn range(&self, offset: u64, len: usize) -> Option<*mut u8> {
        let end = offset.checked_add(len as u64)?;
        // SAFETY: the base never changes.
        (end <= self.len()).then(|| unsafe { (*self.ptr()).vm.base.add(offset as usize) })
    }
}

/// A store's memory: its own, or one it shares with other stores.
// The box is the point: compiled code holds the address, which must not move.
pub(crate) enum MemorySlot {
    Owned(Box<MemoryData>),
    Shared(SharedMemory),
}

impl MemorySlot {
    pub fn ptr(&mut self) -> *mut MemoryData {
        match self {
            MemorySlot::Owned(m) => &mut **m,
            MemorySlot::Shared(m) => m.ptr(),
        }
    }

    pub fn get(&self) -> &MemoryData {
        match self {
            MemorySlot::Owned(m) => m,
            // SAFETY: shared access to the fields that never change and the atomic length.
            MemorySlot::Shared(m) => unsafe { &*m.ptr() },
        }
    }
}

impl Drop for MemoryData {
    fn drop(&mut self) {
        let used = (self.length() as usize).next_multiple_of(super::reservation::host_page());
        // SAFETY: our own reservation, which nothing uses any more.
        unsafe {
            super::reservation::give_back(self.vm.base, Self::reservation(self.memory64), used)
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grow_respects_maximum_and_keeps_base() {
        let m = MemoryData::new(1, Some(3), false, 16).unwrap();
        let base = m.vm.base;
        assert_eq!(m.grow(2), Some(1));
        assert_eq!(m.grow(1), None);
        assert_eq!(m.pages(), 3);
        assert_eq!(m.vm.base, base);
        m.write(3 * 65536 - 1, &[7]).unwrap();
        assert_eq!(m.data()[3 * 65536 - 1], 7);
        assert!(m.write(3 * 65536, &[7]).is_err());
    }

    #[test]
    fn a_memory_reaches_4_gib_and_no_further() {
        let mut m = MemoryData::new(0, None, false, 16).unwrap();
        assert!(MemoryData::new(2, Some(1), false, 16).is_err());
        assert_eq!(m.grow(65536), Some(0));
        assert_eq!(m.grow(1), None);
        m.data_mut()[(4 << 30) - 1] = 9;
        assert_eq!(m.data()[(4 << 30) - 1], 9);
        assert!(MemoryData::new(65537, None, false, 16).is_err());
    }
}
