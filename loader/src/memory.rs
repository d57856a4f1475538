//! Linear memories. Each is a reservation of 8 GiB of address space (4 GiB, the largest
//! 32-bit address, plus a guard as large again so that `address + offset` of any access falls
//! inside it), of which only the current size is accessible. Growing changes protections, never
//! the base; untouched pages cost nothing.

use runtime_support::vmctx::VmMemory;

pub const WASM_PAGE: u64 = 65536;
const MAX_PAGES: u64 = 65536;
const RESERVATION: usize = (8 << 30) + (64 << 10);

pub struct MemoryData {
    pub(crate) vm: VmMemory,
    pub(crate) maximum: Option<u64>,
}

// SAFETY: the mapping is owned by this value.
unsafe impl Send for MemoryData {}

impl MemoryData {
    pub fn new(minimum: u64, maximum: Option<u64>) -> Result<Self, String> {
        if minimum > MAX_PAGES {
            return Err(format!("memory of {minimum} pages exceeds 4 GiB"));
        }
        // SAFETY: a fresh anonymous reservation, inaccessible until protected below.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                RESERVATION,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(format!(
                "cannot reserve address space for a memory: {}",
                std::io::Error::last_os_error()
            ));
        }
        let mut m = MemoryData {
            vm: VmMemory {
                base: base as *mut u8,
                length: 0,
            },
            maximum,
        };
        m.set_accessible(minimum * WASM_PAGE)?;
        Ok(m)
    }

    fn set_accessible(&mut self, bytes: u64) -> Result<(), String> {
        if bytes > self.vm.length {
            // SAFETY: the range lies inside our reservation.
            let r = unsafe {
                libc::mprotect(
                    self.vm.base.add(self.vm.length as usize) as *mut _,
                    (bytes - self.vm.length) as usize,
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
        // SAFETY: unmapping our own reservation.
        unsafe { libc::munmap(self.vm.base as *mut _, RESERVATION) };
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
}
