//! Memory images (issue 14, `runtime_support::memory_image`): a defined memory's initial
//! contents in a file, mapped copy-on-write over the start of each new instance's memory, so
//! that a module with megabytes of data segments neither copies nor commits them until the
//! program writes.
//!
//! The file is the artifact itself when the compiler wrote the images into it (checked at load
//! against the header's hash; mapped from the descriptor the library was loaded from, so the
//! same bytes as the library's), or an in-memory file the loader builds from the
//! skeleton at a module's second instantiation when the artifact has none (a module
//! instantiated once copies its data, which costs no more than building the image).

use runtime_support::memory_image::{self, ImageLayout};
use runtime_support::module_info::ModuleInfo;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Arc;

/// The initial bytes of one memory: `len` bytes at `file_offset` in `file` are the memory's
/// from `memory_offset` on (multiples of the host page, but for an artifact's image whose
/// section is not on a page in the file, which is copied instead).
pub(crate) struct MemoryImage {
    file: Arc<OwnedFd>,
    file_offset: u64,
    memory_offset: u64,
    len: usize,
    /// The same bytes in memory (the library's mapping of its images section), to copy from
    /// where they cannot be mapped; `None` for an image built from the skeleton, whose segments
    /// still hold them.
    bytes: Option<*const u8>,
}

// SAFETY: `bytes` points into a library that the module owning the image keeps loaded, and is
// only read.
unsafe impl Send for MemoryImage {}
unsafe impl Sync for MemoryImage {}

impl MemoryImage {
    /// An image in the artifact file `file`; `bytes` is its copy in the loaded library.
    ///
    /// # Safety
    /// `bytes` is readable for `len` bytes while the image lives.
    pub(crate) unsafe fn in_artifact(
        file: Arc<OwnedFd>,
        file_offset: u64,
        memory_offset: u64,
        len: usize,
        bytes: *const u8,
    ) -> MemoryImage {
        MemoryImage {
            file,
            file_offset,
            memory_offset,
            len,
            bytes: Some(bytes),
        }
    }

    /// Puts the image in place in the memory at `base`, whose first `accessible` bytes are
    /// read-write: mapped, or copied where it cannot be. `Ok(false)` if neither (an image
    /// built from the skeleton that could not be mapped: the caller applies the segments); an
    /// error if the image does not fit the memory (`check_images` makes that unreachable) or a
    /// failed mapping left the memory unusable.
    ///
    /// # Safety
    /// `base` is the start of a memory's reservation that the caller owns, at least
    /// `accessible` bytes accessible, and no other thread uses it yet.
    pub(crate) unsafe fn install(&self, base: *mut u8, accessible: u64) -> Result<bool, String> {
        let end = self.memory_offset.checked_add(self.len as u64);
        if end.is_none_or(|end| end > accessible) {
            return Err("a memory image does not fit its memory".into());
        }
        let at = base.add(self.memory_offset as usize);
        let p = libc::mmap(
            at as *mut _,
            self.len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_FIXED,
            self.file.as_raw_fd(),
            self.file_offset as libc::off_t,
        );
        if p == at as *mut _ {
            return Ok(true);
        }
        let error = std::io::Error::last_os_error();
        // An offset that is not a page's (`EINVAL`) fails before anything is unmapped.
        if error.raw_os_error() == Some(libc::EINVAL) {
            return Ok(self.copy_to(at));
        }
        // Any other failure of `MAP_FIXED` may have unmapped the range first (kernels before
        // 6.12 do): put fresh memory back before anything is written there, or fail the
        // instantiation.
        let p = libc::mmap(
            at as *mut _,
            self.len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
            -1,
            0,
        );
        if p != at as *mut _ {
            return Err(format!(
                "mapping a memory image failed ({error}), and so did restoring the memory: {}",
                std::io::Error::last_os_error()
            ));
        }
        Ok(self.copy_to(at))
    }

    /// Copies the image's bytes to `at` if it has them (`false` if not: the caller applies
    /// the segments).
    unsafe fn copy_to(&self, at: *mut u8) -> bool {
        let Some(bytes) = self.bytes else {
            return false;
        };
        std::ptr::copy_nonoverlapping(bytes, at, self.len);
        true
    }
}

/// An image for each defined memory of the module that can have one (`None` otherwise),
/// indexed from the first defined memory, built from the skeleton's segments.
pub(crate) fn build(info: &ModuleInfo, skeleton: &[u8]) -> Vec<Option<MemoryImage>> {
    let first = info.num_imported_memories;
    (first..info.memories.len() as u32)
        .map(|index| image_of(info, skeleton, &memory_image::layout(info, index)?))
        .collect()
}

fn image_of(info: &ModuleInfo, skeleton: &[u8], layout: &ImageLayout) -> Option<MemoryImage> {
    if !(layout.start | layout.len).is_multiple_of(super::reservation::host_page() as u64) {
        return None;
    }
    let mut bytes = vec![0u8; usize::try_from(layout.len).ok()?];
    memory_image::fill(layout, info, skeleton, &mut bytes);
    let file = anonymous_file(&bytes)?;
    Some(MemoryImage {
        file: Arc::new(file),
        file_offset: 0,
        memory_offset: layout.start,
        len: bytes.len(),
        bytes: None,
    })
}

/// An unnamed in-memory file holding `bytes`, which no one else can reach.
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
