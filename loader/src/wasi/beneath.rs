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
/// The most directories the walk holds at once (a PATH_MAX path without links has at most
/// 2,048 components; links can splice in more).
const MAX_DEPTH: usize = 1024;

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

/// The target of symlink `name` in `dir` (`name` empty: `dir` itself, an `O_PATH` descriptor
/// of a link), or `None` when it is not a symlink.
fn read_link(dir: i32, name: &str) -> Result<Option<String>, i32> {
    let c = CString::new(name).map_err(|_| libc::EILSEQ)?;
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: the buffer is as long as we say.
    let n = unsafe { libc::readlinkat(dir, c.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    match n {
        -1 if errno() == libc::EINVAL => Ok(None),
        -1 => Err(errno()),
        // A target as long as the buffer may have been cut short.
        n if n as usize >= buf.len() => Err(libc::ENAMETOOLONG),
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
    // As the kernel: a path must fit in PATH_MAX (this also bounds the walk's work).
    if path.len() >= libc::PATH_MAX as usize {
        return Err(libc::ENAMETOOLONG);
    }
    if path.starts_with('/') {
        return Err(libc::EXDEV);
    }
    let follow_last = flags & libc::O_NOFOLLOW == 0;
    // Components still to walk, and how many of them are not empty (a trailing slash leaves
    // empty ones, which make the last component a directory).
    let mut pending: VecDeque<String> = path.split('/').map(String::from).collect();
    let mut named = pending.iter().filter(|c| !c.is_empty()).count();
    let mut stack: Vec<OwnedFd> = Vec::new();
    let mut links = 0;
    loop {
        let cur = stack.last().map_or(dir, |f| f.as_raw_fd());
        let Some(comp) = pending.pop_front() else {
            // Nothing left: the path named the directory the walk is in.
            return open_at(cur, ".", flags, mode);
        };
        if comp.is_empty() {
            continue;
        }
        named -= 1;
        // A trailing `.` is a component of its own, as for the kernel.
        let last = named == 0;
        let dir_required = last && !pending.is_empty();
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
            // One descriptor per level: a walk deeper than any PATH_MAX path without links
            // would go is refused rather than run out of descriptors.
            if stack.len() >= MAX_DEPTH {
                return Err(libc::ENAMETOOLONG);
            }
            let step = libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW;
            match open_at(cur, &comp, step, 0) {
                Ok(fd) => stack.push(fd),
                Err(e @ (libc::ENOTDIR | libc::ELOOP)) => match read_link(cur, &comp)? {
                    Some(target) => named += expand(&mut pending, &target, &mut links)?,
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
        // A trailing slash makes the kernel follow a final symlink even under O_NOFOLLOW.
        let follow = follow_last || dir_required;
        // The last component, opened as asked but never following a symlink itself.
        let own = flags | libc::O_NOFOLLOW | if dir_required { libc::O_DIRECTORY } else { 0 };
        let opened = open_at(cur, &comp, own, mode);
        let target = match &opened {
            // An O_PATH open of a link opens the link: read it through that descriptor, so
            // that a name swapped meanwhile cannot answer for it.
            Ok(fd) if follow && flags & libc::O_PATH != 0 && is_symlink(fd) => {
                read_link(fd.as_raw_fd(), "")?
            }
            Err(libc::ELOOP | libc::ENOTDIR) if follow => read_link(cur, &comp)?,
            _ => None,
        };
        let Some(target) = target else {
            return opened;
        };
        // The rest of the path (its trailing slash) applies to the link's target.
        let rest: Vec<String> = pending.drain(..).collect();
        named += expand(&mut pending, &target, &mut links)?;
        pending.extend(rest);
    }
}

/// Puts a symlink's `target` in front of the components still to walk; how many of them are
/// names (not empty).
fn expand(pending: &mut VecDeque<String>, target: &str, links: &mut u32) -> Result<usize, i32> {
    *links += 1;
    if *links > MAX_LINKS {
        return Err(libc::ELOOP);
    }
    if target.is_empty() {
        return Err(libc::ENOENT);
    }
    if target.starts_with('/') {
        return Err(libc::EXDEV);
    }
    let mut named = 0;
    for c in target.split('/').rev() {
        named += usize::from(!c.is_empty());
        pending.push_front(c.to_string());
    }
    Ok(named)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn walk(dir: &std::path::Path, path: &str, flags: i32) -> Result<OwnedFd, i32> {
        let d = std::fs::File::open(dir).unwrap();
        open_beneath_walk(d.as_raw_fd(), path, flags, 0o644)
    }

    #[test]
    fn escapes_loops_and_long_paths_are_refused_and_links_inside_are_followed() {
        let top = tempfile::tempdir().unwrap();
        let root = top.path().join("root");
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/b/f"), "in").unwrap();
        std::fs::write(top.path().join("secret"), "out").unwrap();
        symlink("../secret", root.join("up")).unwrap();
        symlink(top.path().join("secret"), root.join("abs")).unwrap();
        symlink("loop2", root.join("loop1")).unwrap();
        symlink("loop1", root.join("loop2")).unwrap();
        symlink("a/b", root.join("ab")).unwrap();
        symlink("a/../a/b/f", root.join("to_f")).unwrap();
        let rd = libc::O_RDONLY;
        assert_eq!(walk(&root, "../secret", rd).err(), Some(libc::EXDEV));
        assert_eq!(walk(&root, "a/../../secret", rd).err(), Some(libc::EXDEV));
        assert_eq!(walk(&root, "up", rd).err(), Some(libc::EXDEV));
        assert_eq!(walk(&root, "abs", rd).err(), Some(libc::EXDEV));
        assert_eq!(walk(&root, "/etc/passwd", rd).err(), Some(libc::EXDEV));
        assert_eq!(walk(&root, "loop1", rd).err(), Some(libc::ELOOP));
        assert_eq!(walk(&root, "", rd).err(), Some(libc::ENOENT));
        let long = "a/".repeat(2100);
        assert_eq!(walk(&root, &long, rd).err(), Some(libc::ENAMETOOLONG));
        assert!(walk(&root, "ab/f", rd).is_ok());
        assert!(walk(&root, "to_f", rd).is_ok());
        assert!(walk(&root, "a/b/../b/./f", rd).is_ok());
        // Not following the last link: the link itself (O_PATH) or ELOOP.
        assert_eq!(
            walk(&root, "to_f", rd | libc::O_NOFOLLOW).err(),
            Some(libc::ELOOP)
        );
        let link = walk(&root, "to_f", libc::O_PATH | libc::O_NOFOLLOW).unwrap();
        assert!(is_symlink(&link));
        // Following it under O_PATH reaches the file.
        let file = walk(&root, "to_f", libc::O_PATH).unwrap();
        assert!(!is_symlink(&file));
        // Creating through a dangling link creates its target beneath the root, and a
        // dangling link out of the root creates nothing.
        symlink("a/new", root.join("dangling")).unwrap();
        symlink("../created-outside", root.join("out")).unwrap();
        assert!(walk(&root, "dangling", libc::O_CREAT | libc::O_WRONLY).is_ok());
        assert!(root.join("a/new").exists());
        assert_eq!(
            walk(&root, "out", libc::O_CREAT | libc::O_WRONLY).err(),
            Some(libc::EXDEV)
        );
        assert!(!top.path().join("created-outside").exists());
    }
}
