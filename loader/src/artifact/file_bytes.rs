//! A file's bytes for the checks before loading, with the descriptor they came from. A shared
//! object is mapped rather than read (a 130 MB artifact read into the heap cost a third of a
//! second of page zeroing and copying before its program started) and later loaded from the
//! same descriptor (`native_library`), so the checks and `dlopen` see the same file even if
//! the path is replaced in between. Everything else (a universal wasm, whose signature is
//! checked on these bytes and whose native code is then loaded from them) is read into memory
//! once, so that nobody can change it between the check and the use.

use std::fs::File;
use std::io::Read;
use std::path::Path;

pub(crate) struct FileBytes {
    data: Data,
    file: File,
    /// A read file's identity just before it was read (`native_cache::identity`).
    identity: Option<String>,
}

enum Data {
    Owned(Vec<u8>),
    Mapped { ptr: *mut u8, len: usize },
}

impl FileBytes {
    /// The open file the bytes were read from.
    pub(crate) fn file(&self) -> &File {
        &self.file
    }

    /// The file's identity just before it was read, if it was read (not mapped) and old
    /// enough to have one.
    pub(crate) fn identity(&self) -> Option<&str> {
        self.identity.as_deref()
    }
}

impl std::ops::Deref for FileBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &self.data {
            Data::Owned(v) => v,
            // SAFETY: a live read-only mapping of `len` bytes.
            Data::Mapped { ptr, len } => unsafe { std::slice::from_raw_parts(*ptr, *len) },
        }
    }
}

impl Drop for FileBytes {
    fn drop(&mut self) {
        if let Data::Mapped { ptr, len } = self.data {
            // SAFETY: mapped in `read` with this length.
            unsafe { libc::munmap(ptr as *mut libc::c_void, len) };
        }
    }
}

/// The bytes of the file at `path`: mapped when it is an ELF file, read otherwise.
pub(crate) fn read(path: &Path) -> std::io::Result<FileBytes> {
    read_open(File::open(path)?)
}

/// [`read`] of a file already open.
pub(crate) fn read_open(mut file: File) -> std::io::Result<FileBytes> {
    use std::io::Seek;
    file.rewind()?;
    let len = file.metadata()?.len() as usize;
    let mut magic = [0u8; 4];
    let is_elf = len >= 4 && file.read_exact(&mut magic).is_ok() && &magic == b"\x7fELF";
    if is_elf {
        use std::os::fd::AsRawFd;
        // SAFETY: a fresh private read-only mapping of the whole file.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr != libc::MAP_FAILED {
            return Ok(FileBytes {
                data: Data::Mapped {
                    ptr: ptr as *mut u8,
                    len,
                },
                file,
                identity: None,
            });
        }
    }
    file.rewind()?;
    let identity = crate::artifact::native_cache::identity(&file);
    let mut bytes = Vec::with_capacity(len);
    file.read_to_end(&mut bytes)?;
    Ok(FileBytes {
        data: Data::Owned(bytes),
        file,
        identity,
    })
}
