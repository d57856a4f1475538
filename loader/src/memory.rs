//! Linear memories. Each is a reservation of 12 GiB of address space, of which only the
//! memory's current size is accessible, in two places backed by the same pages (a memfd):
//!
//! ```text
//! base - 4 GiB   the mirror: the same pages again (VmMemory::MIRROR_OFFSET)
//! base           the memory: the first `length` bytes accessible, then a guard up to 8 GiB
//!                (4 GiB, the largest 32-bit address, plus as much again for static offsets)
//! ```
//!
//! Compiled code reaches the mirror when it adds the two operands of an `i32.add` in 64 bits:
//! a sum that would wrap in 32 bits lands in the memory, one that would not lands in the
//! mirror, and both name the same byte. Growing maps more of the file in both places, never
//! moving `base`; untouched pages cost nothing.

use runtime_support::vmctx::VmMemory;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

pub const WASM_PAGE: u64 = 65536;
/// One page short of 4 GiB; see `VmMemory::MAX_MIRRORED_PAGES`.
const MAX_PAGES: u64 = VmMemory::MAX_MIRRORED_PAGES;
const MIRROR: usize = VmMemory::MIRROR_OFFSET as usize;
const RESERVATION: usize = MIRROR + (8 << 30) + (64 << 10);

pub struct MemoryData {
    pub(crate) vm: VmMemory,
    pub(crate) maximum: Option<u64>,
    pages_file: OwnedFd,
}

// SAFETY: the mapping is owned by this value.
unsafe impl Send for MemoryData {}

impl MemoryData {
    pub fn new(minimum: u64, maximum: Option<u64>) -> Result<Self, String> {
        if minimum > MAX_PAGES {
            return Err(format!(
                "memory of {minimum} pages exceeds the {MAX_PAGES} pages (4 GiB - 64 KiB) waot supports"
            ));
        }
        let os_error = |what: &str| format!("{what}: {}", std::io::Error::last_os_error());
        // SAFETY: a fresh anonymous memory file, owned from here on.
        let fd = unsafe { libc::memfd_create(c"waot-memory".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(os_error("cannot create the pages of a memory"));
        }
        // SAFETY: `fd` is ours and open.
        let pages_file = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: a fresh anonymous reservation, inaccessible until pages are mapped into it.
        let reservation = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                RESERVATION,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if reservation == libc::MAP_FAILED {
            return Err(os_error("cannot reserve address space for a memory"));
        }
        let mut m = MemoryData {
            vm: VmMemory {
                // SAFETY: inside the reservation just made.
                base: unsafe { (reservation as *mut u8).add(MIRROR) },
                length: 0,
            },
            maximum,
            pages_file,
        };
        m.set_accessible(minimum * WASM_PAGE)?;
        Ok(m)
    }

    /// Extends the file to `bytes` and maps the new part at `base` and in the mirror.
    fn set_accessible(&mut self, bytes: u64) -> Result<(), String> {
        if bytes > self.vm.length {
            let old = self.vm.length as usize;
            let fd = self.pages_file.as_raw_fd();
            let failed = |what: &str| format!("{what}: {}", std::io::Error::last_os_error());
            // SAFETY: resizing our own file.
            if unsafe { libc::ftruncate(fd, bytes as libc::off_t) } != 0 {
                return Err(failed("cannot grow memory"));
            }
            for view in [self.vm.base, self.vm.base.wrapping_sub(MIRROR)] {
                // SAFETY: replaces inaccessible pages of our reservation with the file's.
                let r = unsafe {
                    libc::mmap(
                        view.add(old) as *mut _,
                        bytes as usize - old,
                        libc::PROT_READ | libc::PROT_WRITE,
                        libc::MAP_SHARED | libc::MAP_FIXED,
                        fd,
                        old as libc::off_t,
                    )
                };
                if r == libc::MAP_FAILED {
                    return Err(failed("cannot commit memory"));
                }
            }
        }
        self.vm.length = bytes;
        Ok(())
    }

    pub fn pages(&self) -> u64 {
        self.vm.length / WASM_PAGE
    }

    /// Grows by `delta` pages; the old size in pages, or `None` if the maximum forbids it.
    pub fn grow(&mut self, delta: u64) -> Option<u64> {
        let old = self.pages();
        let new = old.checked_add(delta)?;
        if new > self.maximum.unwrap_or(MAX_PAGES).min(MAX_PAGES) {
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
        // SAFETY: unmapping our own reservation; the file closes with `pages_file`.
        unsafe { libc::munmap(self.vm.base.sub(MIRROR) as *mut _, RESERVATION) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grow_respects_maximum_and_keeps_base() {
        let mut m = MemoryData::new(1, Some(3)).unwrap();
        let base = m.vm.base;
        assert_eq!(m.grow(2), Some(1));
        assert_eq!(m.grow(1), None);
        assert_eq!(m.pages(), 3);
        assert_eq!(m.vm.base, base);
        m.data_mut()[3 * 65536 - 1] = 7;
        assert_eq!(m.data()[3 * 65536 - 1], 7);
    }

    #[test]
    fn the_mirror_shows_the_same_pages_after_growth() {
        let mut m = MemoryData::new(1, None).unwrap();
        assert_eq!(m.grow(1), Some(1));
        m.data_mut()[65536 + 5] = 42;
        // SAFETY: the mirror of the two accessible pages.
        let mirrored = unsafe { *m.vm.base.sub(MIRROR).add(65536 + 5) };
        assert_eq!(mirrored, 42);
    }

    #[test]
    fn memories_stop_one_page_short_of_4_gib() {
        assert!(MemoryData::new(65536, None).is_err());
        let mut m = MemoryData::new(0, None).unwrap();
        assert_eq!(m.grow(65536), None);
    }
}
