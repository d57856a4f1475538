//! Opening a path beneath a directory without `openat2`: for kernels before 5.6 and for
//! sandboxes (seccomp profiles) that refuse the call.
//!
//! The walk does in user space what `RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS` asks of the
//! kernel, with the same answers: every component is opened with `openat(O_NOFOLLOW)` relative
//! to a directory descriptor the walk holds, so the kernel never follows a symlink or a `..`
//! for it; `..` pops the walk's own stack of directories (above the starting one is `EXDEV`); a
//! symlink is read (`readlinkat`) and its target spliced into the components still to walk,
//! an absolute target being `EXDEV`, at most 40 times (`ELOOP`). A directory swapped for a
//! symlink mid-walk is therefore seen as a symlink and walked as one, beneath the directory.

use std::collections::VecDeque;
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// As Linux's `MAXSYMLINKS`.
const MAX_LINKS: u32 = 40;

fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

fn open_at(dir: i32, name: &str, flags: i32, mode: u64) -> Result<OwnedFd, i32> {
    let c = CString::new(name).map_err(|_| libc::EILSEQ)?;
    // SAFETY: a valid directory descriptor and name; the mode is read only with O_CREAT.
    let fd = unsafe { libc::openat(dir, c.as_ptr(), flags | libc::O_CLOEXEC, mode as u32) };
    match fd {
        -1 => Err(errno()),
        // SAFETY: a new descriptor, owned from here.
        fd => Ok(unsafe { OwnedFd::from_raw_fd(fd) }),
    }
}

/// The target of symlink `name` in `dir`, or `None` when it is not a symlink.
fn read_link(dir: i32, name: &str) -> Result<Option<String>, i32> {
    let c = CString::new(name).map_err(|_| libc::EILSEQ)?;
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: the buffer is as long as we say.
    let n = unsafe { libc::readlinkat(dir, c.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    match n {
        -1 if errno() == libc::EINVAL => Ok(None),
        -1 => Err(errno()),
        n => {
            buf.truncate(n as usize);
            String::from_utf8(buf).map(Some).map_err(|_| libc::EILSEQ)
        }
    }
}

fn is_symlink(fd: &OwnedFd) -> bool {
    // SAFETY: fstat into a zeroed struct of a descriptor we own.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        libc::fstat(fd.as_raw_fd(), &mut st) == 0 && st.st_mode & libc::S_IFMT == libc::S_IFLNK
    }
}

/// `openat2(dir, path, { flags, mode, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS })`, walked
/// component by component. Errors are raw errnos (`EXDEV` for an escape).
pub fn open_beneath_walk(dir: i32, path: &str, flags: i32, mode: u64) -> Result<OwnedFd, i32> {
    if path.is_empty() {
        return Err(libc::ENOENT);
    }
    if path.starts_with('/') {
        return Err(libc::EXDEV);
    }
    let follow_last = flags & libc::O_NOFOLLOW == 0;
    // Components still to walk, and whether the path (as expanded so far) ends in a slash,
    // which makes its last component a directory.
    let mut pending: VecDeque<String> = path.split('/').map(String::from).collect();
    let mut stack: Vec<OwnedFd> = Vec::new();
    let mut links = 0;
    loop {
        let cur = stack.last().map_or(dir, |f| f.as_raw_fd());
        // Skip empty and `.` components, noting whether they ended the path.
        let Some(comp) = pending.pop_front() else {
            // Nothing left: the path named the directory the walk is in.
            return open_at(cur, ".", flags, mode);
        };
        // The last component is followed only by slashes (which make it a directory); a
        // trailing `.` is a component of its own, as for the kernel.
        let last = pending.iter().all(|c| c.is_empty());
        let dir_required = last && !pending.is_empty();
        if comp.is_empty() {
            continue;
        }
        if comp == "." {
            if last {
                return open_at(cur, ".", flags, mode);
            }
            continue;
        }
        if comp == ".." {
            if stack.pop().is_none() {
                return Err(libc::EXDEV);
            }
            continue;
        }
        if !last {
            let step = libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW;
            match open_at(cur, &comp, step, 0) {
                Ok(fd) => {
                    stack.push(fd);
                    continue;
                }
                Err(e @ (libc::ENOTDIR | libc::ELOOP)) => match read_link(cur, &comp)? {
                    Some(target) => expand(&mut pending, &target, &mut links)?,
                    None => return Err(e),
                },
                Err(e) => return Err(e),
            }
            continue;
        }
        // A name with a trailing slash cannot be created, whatever it names.
        if dir_required && flags & libc::O_CREAT != 0 {
            return Err(libc::EISDIR);
        }
        // The last component, opened as asked but never following a symlink itself.
        let own = flags | libc::O_NOFOLLOW | if dir_required { libc::O_DIRECTORY } else { 0 };
        let opened = open_at(cur, &comp, own, mode);
        let link = match &opened {
            Ok(fd) if follow_last && flags & libc::O_PATH != 0 && is_symlink(fd) => true,
            Err(libc::ELOOP | libc::ENOTDIR) if follow_last => true,
            _ => false,
        };
        if !link {
            return opened;
        }
        match read_link(cur, &comp)? {
            Some(target) => {
                // The rest of the path (its trailing slash) applies to the link's target.
                let rest: Vec<String> = pending.drain(..).collect();
                expand(&mut pending, &target, &mut links)?;
                pending.extend(rest);
            }
            None => return opened,
        }
    }
}

/// Puts a symlink's `target` in front of the components still to walk.
fn expand(pending: &mut VecDeque<String>, target: &str, links: &mut u32) -> Result<(), i32> {
    *links += 1;
    if *links > MAX_LINKS {
        return Err(libc::ELOOP);
    }
    if target.starts_with('/') {
        return Err(libc::EXDEV);
    }
    for c in target.split('/').rev() {
        pending.push_front(c.to_string());
    }
    Ok(())
}
