//! WASI preview 1 error numbers, exactly as the specification numbers them, and the mapping
//! from the host's errors.

pub type Errno = u16;

pub const SUCCESS: Errno = 0;
pub const TOOBIG: Errno = 1;
pub const ACCES: Errno = 2;
pub const AGAIN: Errno = 6;
pub const BADF: Errno = 8;
pub const BUSY: Errno = 10;
pub const EXIST: Errno = 20;
pub const FAULT: Errno = 21;
pub const FBIG: Errno = 22;
pub const ILSEQ: Errno = 25;
pub const INVAL: Errno = 28;
pub const IO: Errno = 29;
pub const ISDIR: Errno = 31;
pub const LOOP: Errno = 32;
pub const NAMETOOLONG: Errno = 37;
pub const NOENT: Errno = 44;
pub const NOSYS: Errno = 52;
pub const NOTDIR: Errno = 54;
pub const NOTEMPTY: Errno = 55;
pub const NOTSOCK: Errno = 57;
pub const NOTSUP: Errno = 58;
pub const OVERFLOW: Errno = 61;
pub const PERM: Errno = 63;
pub const PIPE: Errno = 64;
pub const SPIPE: Errno = 70;
pub const XDEV: Errno = 75;
pub const NOTCAPABLE: Errno = 76;

/// The WASI errno for a Linux errno.
pub fn from_raw_os(e: i32) -> Errno {
    use libc::*;
    match e {
        E2BIG => 1,
        EACCES => 2,
        EADDRINUSE => 3,
        EADDRNOTAVAIL => 4,
        EAFNOSUPPORT => 5,
        EAGAIN => 6,
        EALREADY => 7,
        EBADF => 8,
        EBADMSG => 9,
        EBUSY => 10,
        ECANCELED => 11,
        ECHILD => 12,
        ECONNABORTED => 13,
        ECONNREFUSED => 14,
        ECONNRESET => 15,
        EDEADLK => 16,
        EDESTADDRREQ => 17,
        EDOM => 18,
        EDQUOT => 19,
        EEXIST => 20,
        EFAULT => 21,
        EFBIG => 22,
        EHOSTUNREACH => 23,
        EIDRM => 24,
        EILSEQ => 25,
        EINPROGRESS => 26,
        EINTR => 27,
        EINVAL => 28,
        EIO => 29,
        EISCONN => 30,
        EISDIR => 31,
        ELOOP => 32,
        EMFILE => 33,
        EMLINK => 34,
        EMSGSIZE => 35,
        EMULTIHOP => 36,
        ENAMETOOLONG => 37,
        ENETDOWN => 38,
        ENETRESET => 39,
        ENETUNREACH => 40,
        ENFILE => 41,
        ENOBUFS => 42,
        ENODEV => 43,
        ENOENT => 44,
        ENOEXEC => 45,
        ENOLCK => 46,
        ENOLINK => 47,
        ENOMEM => 48,
        ENOMSG => 49,
        ENOPROTOOPT => 50,
        ENOSPC => 51,
        ENOSYS => 52,
        ENOTCONN => 53,
        ENOTDIR => 54,
        ENOTEMPTY => 55,
        ENOTRECOVERABLE => 56,
        ENOTSOCK => 57,
        ENOTSUP => 58,
        ENOTTY => 59,
        ENXIO => 60,
        EOVERFLOW => 61,
        EOWNERDEAD => 62,
        EPERM => 63,
        EPIPE => 64,
        EPROTO => 65,
        EPROTONOSUPPORT => 66,
        EPROTOTYPE => 67,
        ERANGE => 68,
        EROFS => 69,
        ESPIPE => 70,
        ESRCH => 71,
        ESTALE => 72,
        ETIMEDOUT => 73,
        ETXTBSY => 74,
        // RESOLVE_BENEATH reports an escape from the directory as EXDEV: for the guest that
        // is a missing capability, as in other runtimes.
        EXDEV => NOTCAPABLE,
        _ => IO,
    }
}

/// The errno of the last failed libc call.
pub fn last() -> Errno {
    from_raw_os(
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO),
    )
}

pub fn from_io(e: &std::io::Error) -> Errno {
    e.raw_os_error().map_or(IO, from_raw_os)
}

/// `Ok(v)` for a non-negative libc return value, else the errno.
pub fn check<T: Copy + PartialOrd + Default>(r: T) -> Result<T, Errno> {
    if r < T::default() {
        Err(last())
    } else {
        Ok(r)
    }
}
