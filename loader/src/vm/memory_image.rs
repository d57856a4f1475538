//! Memory images (issue 14): a defined memory's initial contents, built once per module in an
//! anonymous file and mapped copy-on-write at each instantiation, so that a module with
//! megabytes of data segments neither copies nor commits them until the program writes.
//!
//! A memory gets an image only when instantiation cannot fail while applying its segments:
//! every active data segment that targets it has a constant offset (no `global.get`) and ends
//! inside its initial size, the memory is not shared (threads re-instantiate into it) and has
//! 64 KiB pages (the image covers whole host pages). Otherwise the segments are copied, as
//! before. Applying segments at the memory's creation instead of after the element segments is
//! not observable: a memory an instance defines is unreachable if instantiation fails.

use runtime_support::module_info::{ConstOp, ModuleInfo, SegmentMode};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// The initial bytes of one memory, `len` bytes (a multiple of the host page) in `file`.
pub(crate) struct MemoryImage {
    file: OwnedFd,
    len: usize,
}

impl MemoryImage {
    /// Maps the image over the first `len` bytes of a reservation whose first `accessible`
    /// bytes are read-write. `false` if it could not (the caller copies instead).
    ///
    /// # Safety
    /// `base` is the start of a reservation the caller owns, at least `accessible` bytes.
    pub(crate) unsafe fn map_at(&self, base: *mut u8, accessible: u64) -> bool {
        if self.len as u64 > accessible {
            return false;
        }
        let p = libc::mmap(
            base as *mut _,
            self.len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_FIXED,
            self.file.as_raw_fd(),
            0,
        );
        p == base as *mut _
    }
}

/// An image for each defined memory of the module that can have one (`None` otherwise),
/// indexed from the first defined memory.
pub(crate) fn build(info: &ModuleInfo, wasm: &[u8]) -> Vec<Option<MemoryImage>> {
    let first = info.num_imported_memories as usize;
    (first..info.memories.len())
        .map(|index| image_of(info, wasm, index as u32))
        .collect()
}

fn image_of(info: &ModuleInfo, wasm: &[u8], index: u32) -> Option<MemoryImage> {
    let ty = &info.memories[index as usize];
    if ty.shared || ty.page_size_log2.is_some_and(|l| l != 16) {
        return None;
    }
    let size = ty.initial.checked_mul(65536)?;
    let mut segments = Vec::new();
    for seg in &info.datas {
        let SegmentMode::Active { index: i, offset } = &seg.mode else {
            continue;
        };
        if *i != index {
            continue;
        }
        let start = match offset[..] {
            [ConstOp::I32(v)] => v as u32 as u64,
            [ConstOp::I64(v)] => v as u64,
            _ => return None,
        };
        let end = start.checked_add(seg.bytes.len() as u64)?;
        if end > size {
            return None;
        }
        segments.push((start as usize, seg.bytes.clone()));
    }
    let end = segments.iter().map(|(s, r)| s + r.len()).max()?;
    if segments.iter().all(|(_, r)| r.is_empty()) {
        return None;
    }
    let host_page = super::reservation::host_page();
    let len = end.next_multiple_of(host_page);
    let mut bytes = vec![0u8; len];
    // In order: a later segment overwrites an earlier one where they overlap.
    for (start, range) in &segments {
        bytes[*start..*start + range.len()].copy_from_slice(&wasm[range.clone()]);
    }
    let file = anonymous_file(&bytes)?;
    Some(MemoryImage { file, len })
}

/// A sealed, unnamed in-memory file holding `bytes`.
fn anonymous_file(bytes: &[u8]) -> Option<OwnedFd> {
    // SAFETY: a constant NUL-terminated name; the descriptor is owned from here on.
    let fd = unsafe { libc::memfd_create(c"waot-memory-image".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return None;
    }
    // SAFETY: a fresh descriptor we own.
    let file = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut written = 0;
    while written < bytes.len() {
        // SAFETY: writes from a live slice.
        let n = unsafe {
            libc::write(
                fd,
                bytes[written..].as_ptr() as *const _,
                bytes.len() - written,
            )
        };
        if n <= 0 {
            return None;
        }
        written += n as usize;
    }
    Some(file)
}
