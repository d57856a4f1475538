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

pub const WASM_PAGE: u64 = 65536;
/// 4 GiB: every 32-bit address is below it.
const MAX_PAGES: u64 = 65536;
/// What a 64-bit memory may grow to inside its reservation.
const MAX_PAGES_64: u64 = MEMORY64_MAX_BYTES / WASM_PAGE;

pub struct MemoryData {
    pub(crate) vm: VmMemory,
    pub(crate) maximum: Option<u64>,
    /// Addressed with `i64` (memory64).
    pub(crate) memory64: bool,
}

// SAFETY: the mapping is owned by this value.
unsafe impl Send for MemoryData {}

impl MemoryData {
    pub fn new(minimum: u64, maximum: Option<u64>, memory64: bool) -> Result<Self, String> {
        let limit = Self::limit(memory64);
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
        // SAFETY: a fresh anonymous reservation, inaccessible until pages are made accessible.
        let reservation = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                Self::reservation(memory64),
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if reservation == libc::MAP_FAILED {
            return Err(format!(
                "cannot reserve address space for a memory: {}",
                std::io::Error::last_os_error()
            ));
        }
        let mut m = MemoryData {
            vm: VmMemory {
                base: reservation as *mut u8,
                length: 0,
            },
            maximum,
            memory64,
        };
        m.set_accessible(minimum * WASM_PAGE)?;
        Ok(m)
    }

    /// Makes the first `bytes` of the reservation read-write.
    fn set_accessible(&mut self, bytes: u64) -> Result<(), String> {
        if bytes > self.vm.length {
            let old = self.vm.length as usize;
            // SAFETY: changes the protection of pages inside our own reservation.
            let r = unsafe {
                libc::mprotect(
                    self.vm.base.add(old) as *mut _,
                    bytes as usize - old,
                    libc::PROT_READ | libc::PROT_WRITE,
                )
            };
            if r != 0 {
                return Err(format!(
                    "cannot commit memory: {}",
                    std::io::Error::last_os_error()
                ));
            }
        }
        self.vm.length = bytes;
        Ok(())
    }

    fn reservation(memory64: bool) -> usize {
        if memory64 {
            MEMORY64_RESERVATION as usize
        } else {
            MEMORY32_RESERVATION as usize
        }
    }

    fn limit(memory64: bool) -> u64 {
        if memory64 {
            MAX_PAGES_64
        } else {
            MAX_PAGES
        }
    }

    pub fn pages(&self) -> u64 {
        self.vm.length / WASM_PAGE
    }

    /// Grows by `delta` pages; the old size in pages, or `None` if the maximum forbids it.
    pub fn grow(&mut self, delta: u64) -> Option<u64> {
        let old = self.pages();
        let new = old.checked_add(delta)?;
        let limit = Self::limit(self.memory64);
        if new > self.maximum.unwrap_or(limit).min(limit) {
            return None;
        }
        self.set_accessible(new * WASM_PAGE).ok()?;
        Some(old)
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

impl Drop for MemoryData {
    fn drop(&mut self) {
        // SAFETY: unmapping our own reservation.
        unsafe { libc::munmap(self.vm.base as *mut _, Self::reservation(self.memory64)) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grow_respects_maximum_and_keeps_base() {
        let mut m = MemoryData::new(1, Some(3), false).unwrap();
        let base = m.vm.base;
        assert_eq!(m.grow(2), Some(1));
        assert_eq!(m.grow(1), None);
        assert_eq!(m.pages(), 3);
        assert_eq!(m.vm.base, base);
        m.data_mut()[3 * 65536 - 1] = 7;
        assert_eq!(m.data()[3 * 65536 - 1], 7);
    }

    #[test]
    fn a_memory_reaches_4_gib_and_no_further() {
        let mut m = MemoryData::new(0, None, false).unwrap();
        assert_eq!(m.grow(65536), Some(0));
        assert_eq!(m.grow(1), None);
        m.data_mut()[(4 << 30) - 1] = 9;
        assert_eq!(m.data()[(4 << 30) - 1], 9);
        assert!(MemoryData::new(65537, None, false).is_err());
    }
}
