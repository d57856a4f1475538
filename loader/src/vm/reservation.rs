//! Address space for linear memories, reused (issue 14). A host that runs each request in a
//! fresh instance would otherwise map and unmap gigabytes of address space per memory, each
//! a change to the process's memory map that every thread of the host contends for. A
//! released reservation is reset in one call, its used pages replaced by fresh inaccessible
//! zero pages, and kept in a process-wide pool of a few; the next memory of its size takes
//! it. Nothing of the previous memory survives: what was ever accessible (its length, which
//! only grows, and a memory image mapped inside it) is replaced, and the rest was never
//! readable or written.

use std::sync::Mutex;

/// Released reservations kept per size; more are unmapped. Each holds only address space.
const POOL_CAPACITY: usize = 16;

/// Released reservations: `(size, base)`.
static POOL: Mutex<Vec<(usize, usize)>> = Mutex::new(Vec::new());

/// The host's page size (at least 4 KiB).
pub(crate) fn host_page() -> usize {
    // SAFETY: sysconf has no preconditions.
    (unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize).max(4096)
}

/// A reservation of `size` bytes, inaccessible: from the pool, or mapped.
pub(crate) fn take(size: usize) -> Result<*mut u8, String> {
    let mut pool = POOL.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(i) = pool.iter().rposition(|&(s, _)| s == size) {
        return Ok(pool.swap_remove(i).1 as *mut u8);
    }
    drop(pool);
    let map = || {
        // SAFETY: a fresh anonymous reservation, inaccessible until pages are made accessible.
        unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        }
    };
    let mut reservation = map();
    if reservation == libc::MAP_FAILED {
        // The pool's address space may be what is missing (a limit on it, `RLIMIT_AS`):
        // give it all back and try once more.
        for (s, base) in std::mem::take(&mut *POOL.lock().unwrap_or_else(|p| p.into_inner())) {
            // SAFETY: pooled reservations belong to nobody.
            unsafe { libc::munmap(base as *mut _, s) };
        }
        reservation = map();
    }
    if reservation == libc::MAP_FAILED {
        return Err(format!(
            "cannot reserve address space for a memory: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(reservation as *mut u8)
}

/// Returns a reservation of `size` bytes at `base` whose first `used` bytes (a multiple of
/// the host page) may have been accessible, mapped or written.
///
/// # Safety
/// `base` came from [`take`] with `size`, and nothing uses the memory any more.
pub(crate) unsafe fn give_back(base: *mut u8, size: usize, used: usize) {
    let used = used.min(size);
    let reset = used == 0 || {
        let p = libc::mmap(
            base as *mut _,
            used,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_FIXED,
            -1,
            0,
        );
        p == base as *mut _
    };
    if reset {
        let mut pool = POOL.lock().unwrap_or_else(|p| p.into_inner());
        if pool.iter().filter(|&&(s, _)| s == size).count() < POOL_CAPACITY {
            pool.push((size, base as usize));
            return;
        }
    }
    libc::munmap(base as *mut _, size);
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIZE: usize = 1 << 30;

    /// The permissions `/proc/self/maps` shows for the page at `addr`.
    fn protection(addr: usize) -> String {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        maps.lines()
            .find_map(|line| {
                let (range, rest) = line.split_once(' ')?;
                let (from, to) = range.split_once('-')?;
                let from = usize::from_str_radix(from, 16).ok()?;
                let to = usize::from_str_radix(to, 16).ok()?;
                (from <= addr && addr < to).then(|| rest[..4].to_string())
            })
            .unwrap()
    }

    #[test]
    fn a_reused_reservation_is_zero_and_inaccessible() {
        let page = 4096;
        let base = take(SIZE).unwrap();
        // SAFETY: the first two pages of our own reservation, made accessible and written.
        unsafe {
            assert_eq!(
                libc::mprotect(base as *mut _, 2 * page, libc::PROT_READ | libc::PROT_WRITE),
                0
            );
            base.write_bytes(0xAB, 2 * page);
            give_back(base, SIZE, 2 * page);
        }
        // The pool is process-wide: another test may take it first; look until it comes back.
        let again = (0..64).map(|_| take(SIZE).unwrap()).collect::<Vec<_>>();
        let reused = again.iter().find(|&&b| b == base).copied();
        for &b in &again {
            if let Some(r) = reused.filter(|&r| r == b) {
                // SAFETY: as above; the pages must read as zero once accessible again.
                assert_eq!(
                    protection(r as usize),
                    "---p",
                    "reused pages are inaccessible"
                );
                unsafe {
                    assert_eq!(libc::mprotect(r as *mut _, 2 * page, libc::PROT_READ), 0);
                    assert!(std::slice::from_raw_parts(r, 2 * page)
                        .iter()
                        .all(|&x| x == 0));
                }
            }
            // SAFETY: ours, unused.
            unsafe { give_back(b, SIZE, 2 * page) };
        }
        assert!(reused.is_some(), "the released reservation was not reused");
    }
}
