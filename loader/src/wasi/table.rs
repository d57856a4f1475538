//! The guest's file descriptors: what each one is, its rights and its flags.

use super::errno::{self, Errno};
use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

pub mod rights {
    pub const FD_DATASYNC: u64 = 1 << 0;
    pub const FD_READ: u64 = 1 << 1;
    pub const FD_SEEK: u64 = 1 << 2;
    pub const FD_FDSTAT_SET_FLAGS: u64 = 1 << 3;
    pub const FD_SYNC: u64 = 1 << 4;
    pub const FD_TELL: u64 = 1 << 5;
    pub const FD_WRITE: u64 = 1 << 6;
    pub const FD_ADVISE: u64 = 1 << 7;
    pub const FD_ALLOCATE: u64 = 1 << 8;
    pub const PATH_CREATE_DIRECTORY: u64 = 1 << 9;
    pub const PATH_CREATE_FILE: u64 = 1 << 10;
    pub const PATH_LINK_SOURCE: u64 = 1 << 11;
    pub const PATH_LINK_TARGET: u64 = 1 << 12;
    pub const PATH_OPEN: u64 = 1 << 13;
    pub const FD_READDIR: u64 = 1 << 14;
    pub const PATH_READLINK: u64 = 1 << 15;
    pub const PATH_RENAME_SOURCE: u64 = 1 << 16;
    pub const PATH_RENAME_TARGET: u64 = 1 << 17;
    pub const PATH_FILESTAT_GET: u64 = 1 << 18;
    pub const PATH_FILESTAT_SET_SIZE: u64 = 1 << 19;
    pub const PATH_FILESTAT_SET_TIMES: u64 = 1 << 20;
    pub const FD_FILESTAT_GET: u64 = 1 << 21;
    pub const FD_FILESTAT_SET_SIZE: u64 = 1 << 22;
    pub const FD_FILESTAT_SET_TIMES: u64 = 1 << 23;
    pub const PATH_SYMLINK: u64 = 1 << 24;
    pub const PATH_REMOVE_DIRECTORY: u64 = 1 << 25;
    pub const PATH_UNLINK_FILE: u64 = 1 << 26;
    pub const POLL_FD_READWRITE: u64 = 1 << 27;
    pub const SOCK_SHUTDOWN: u64 = 1 << 28;
    pub const SOCK_ACCEPT: u64 = 1 << 29;
    pub const ALL: u64 = (1 << 30) - 1;

    /// What a regular file can do.
    pub const FILE: u64 = FD_DATASYNC
        | FD_READ
        | FD_SEEK
        | FD_FDSTAT_SET_FLAGS
        | FD_SYNC
        | FD_TELL
        | FD_WRITE
        | FD_ADVISE
        | FD_ALLOCATE
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_SIZE
        | FD_FILESTAT_SET_TIMES
        | POLL_FD_READWRITE;
    /// What a directory can do.
    pub const DIRECTORY: u64 = FD_FDSTAT_SET_FLAGS
        | FD_SYNC
        | FD_ADVISE
        | PATH_CREATE_DIRECTORY
        | PATH_CREATE_FILE
        | PATH_LINK_SOURCE
        | PATH_LINK_TARGET
        | PATH_OPEN
        | FD_READDIR
        | PATH_READLINK
        | PATH_RENAME_SOURCE
        | PATH_RENAME_TARGET
        | PATH_FILESTAT_GET
        | PATH_FILESTAT_SET_SIZE
        | PATH_FILESTAT_SET_TIMES
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_TIMES
        | PATH_SYMLINK
        | PATH_REMOVE_DIRECTORY
        | PATH_UNLINK_FILE;
    /// A terminal or pipe: no seek or tell (that is how wasi-libc's `isatty` tells).
    pub const STREAM: u64 =
        FD_READ | FD_WRITE | FD_FDSTAT_SET_FLAGS | FD_FILESTAT_GET | POLL_FD_READWRITE;
    pub const SOCKET: u64 = FD_READ
        | FD_WRITE
        | FD_FDSTAT_SET_FLAGS
        | FD_FILESTAT_GET
        | POLL_FD_READWRITE
        | SOCK_SHUTDOWN
        | SOCK_ACCEPT;
}

pub mod filetype {
    pub const UNKNOWN: u8 = 0;
    pub const BLOCK_DEVICE: u8 = 1;
    pub const CHARACTER_DEVICE: u8 = 2;
    pub const DIRECTORY: u8 = 3;
    pub const REGULAR_FILE: u8 = 4;
    pub const SOCKET_DGRAM: u8 = 5;
    pub const SOCKET_STREAM: u8 = 6;
    pub const SYMBOLIC_LINK: u8 = 7;

    pub fn from_mode(mode: u32) -> u8 {
        match mode & libc::S_IFMT {
            libc::S_IFBLK => BLOCK_DEVICE,
            libc::S_IFCHR => CHARACTER_DEVICE,
            libc::S_IFDIR => DIRECTORY,
            libc::S_IFREG => REGULAR_FILE,
            libc::S_IFSOCK => SOCKET_STREAM,
            libc::S_IFLNK => SYMBOLIC_LINK,
            _ => UNKNOWN,
        }
    }
}

pub enum Handle {
    /// One of the host's standard streams, not owned: closing it only forgets it.
    Stdio(RawFd),
    Owned(OwnedFd),
}

pub struct FdEntry {
    pub handle: Handle,
    pub filetype: u8,
    pub rights_base: u64,
    pub rights_inheriting: u64,
    /// For a preopened directory, the name the guest knows it by.
    pub preopen: Option<String>,
    /// For an in-memory standard stream, the size its file may reach: the host holds that
    /// file in memory and reads it whole, so the guest may not grow it without bound.
    pub size_limit: Option<u64>,
}

impl FdEntry {
    pub fn raw(&self) -> RawFd {
        match &self.handle {
            Handle::Stdio(fd) => *fd,
            Handle::Owned(fd) => fd.as_raw_fd(),
        }
    }
}

#[derive(Default)]
pub struct FdTable {
    entries: BTreeMap<u32, FdEntry>,
}

impl FdTable {
    pub fn insert_at(&mut self, fd: u32, entry: FdEntry) {
        self.entries.insert(fd, entry);
    }

    /// Inserts at the lowest free descriptor.
    pub fn insert(&mut self, entry: FdEntry) -> Result<u32, Errno> {
        let mut fd = 0u32;
        for &used in self.entries.keys() {
            if used != fd {
                break;
            }
            fd = fd.checked_add(1).ok_or(errno::NOSYS)?;
        }
        self.entries.insert(fd, entry);
        Ok(fd)
    }

    pub fn get(&self, fd: u32) -> Result<&FdEntry, Errno> {
        self.entries.get(&fd).ok_or(errno::BADF)
    }

    pub fn get_mut(&mut self, fd: u32) -> Result<&mut FdEntry, Errno> {
        self.entries.get_mut(&fd).ok_or(errno::BADF)
    }

    /// The entry for `fd` if it has every right in `needed`; `ENOTCAPABLE` otherwise.
    pub fn with_rights(&self, fd: u32, needed: u64) -> Result<&FdEntry, Errno> {
        let e = self.get(fd)?;
        if e.rights_base & needed != needed {
            return Err(errno::NOTCAPABLE);
        }
        Ok(e)
    }

    pub fn remove(&mut self, fd: u32) -> Result<FdEntry, Errno> {
        self.entries.remove(&fd).ok_or(errno::BADF)
    }

    pub fn contains(&self, fd: u32) -> bool {
        self.entries.contains_key(&fd)
    }
}
