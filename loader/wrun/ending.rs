//! How a run ends, and who writes its profile (`--profile-out`). The main thread ends it by
//! returning; the time limit's watchdog (`watch_time_limit`) and a spawned WASI thread's trap
//! or `proc_exit` end it by ending the process. Whichever comes first writes the profile, once,
//! holding `ENDING` throughout, so no other ending cuts its write short, and the watchdog lets
//! a run the main thread has finished be.

use crate::run::LIMIT_EXIT;
use crate::RunCli;
use runtime_support::profile::Profile;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};

/// How long an interrupted guest may take to reach a check before `wrun` exits anyway.
const INTERRUPT_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

struct Ending {
    main_returned: bool,
    profile_written: bool,
}

static ENDING: Mutex<Ending> = Mutex::new(Ending {
    main_returned: false,
    profile_written: false,
});

fn ending() -> MutexGuard<'static, Ending> {
    ENDING.lock().unwrap_or_else(|e| e.into_inner())
}

impl Ending {
    /// Adds what `counted` reads to the profile in `path`, unless that was done; `None` when
    /// nothing was written.
    fn write(
        &mut self,
        path: &Path,
        counted: impl FnOnce() -> Option<Profile>,
    ) -> Option<Result<(), String>> {
        if std::mem::replace(&mut self.profile_written, true) {
            return None;
        }
        Some(write_profile(path, &counted()?))
    }
}

/// Where the profile goes and how to read its counts from any thread, for the endings that
/// end the process: set before guest code runs.
type ExitCounts = (PathBuf, Box<dyn Fn() -> Option<Profile> + Send + Sync>);
static EXIT_COUNTS: OnceLock<ExitCounts> = OnceLock::new();

/// Makes the endings that end the process write the profile `counted` reads to `path`.
pub fn count_at_exit(path: PathBuf, counted: impl Fn() -> Option<Profile> + Send + Sync + 'static) {
    let _ = EXIT_COUNTS.set((path, Box::new(counted)));
    waot::wasi::threads::on_process_exit(before_thread_exit);
}

/// The counts `count_at_exit` registered, read now.
pub fn counts_at_exit() -> Option<Profile> {
    EXIT_COUNTS.get().and_then(|(_, counted)| counted())
}

/// Writes the profile as another thread ends the process, unless it was written.
fn write_at_exit(ending: &mut Ending) {
    if let Some((path, counted)) = EXIT_COUNTS.get() {
        if let Some(Err(e)) = ending.write(path, counted) {
            eprintln!("wrun: {e}");
        }
    }
}

/// A spawned WASI thread is about to end the process: the lock stays taken, so no other
/// ending races it to another exit status.
fn before_thread_exit() {
    let mut ending = ending();
    write_at_exit(&mut ending);
    std::mem::forget(ending);
}

/// The main thread's run returned: writes the profile `counted` reads to `path` (if given)
/// unless another ending did, and keeps the watchdog from ending the process after it. `Some`
/// error when the write failed.
pub fn main_returned(
    path: Option<&Path>,
    counted: impl FnOnce() -> Option<Profile>,
) -> Option<Result<(), String>> {
    let mut ending = ending();
    ending.main_returned = true;
    ending.write(path?, counted)
}

/// Ends the run at `limit`: `interrupt` stops running guest code, and guest code blocked in a
/// host call (a read, `memory.atomic.wait`, another WASI thread's loop), which reaches no
/// check, is ended with the process a grace period later, unless the run has returned.
pub fn watch_time_limit(
    cli: &RunCli,
    limit: std::time::Duration,
    interrupt: impl FnOnce() + Send + 'static,
) {
    let module = cli.module.display().to_string();
    std::thread::spawn(move || {
        std::thread::sleep(limit);
        interrupt();
        std::thread::sleep(INTERRUPT_GRACE);
        let mut ending = ending();
        if ending.main_returned {
            return;
        }
        eprintln!("wrun: {module}: stopped: time limit reached while the guest was blocked (--time-limit {limit:?})");
        write_at_exit(&mut ending);
        std::process::exit(LIMIT_EXIT.into());
    });
}

/// Adds `profile` to the one in `path`, or creates it. Runs that write one file at once take
/// turns (an exclusive `flock` on its directory, where the file system has `flock` for a
/// directory: NFS does not, and there runs that end together may lose one's counts), and each
/// writes the whole file to a temporary one beside it, synced, then renamed over it, so that
/// a reader never sees half a profile. A symbolic link to an existing file is followed; an
/// existing file keeps its permissions.
fn write_profile(path: &Path, profile: &Profile) -> Result<(), String> {
    use std::os::fd::AsRawFd;
    let shown = path.display();
    let fail = |e: std::io::Error| format!("{shown}: {e}");
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let lock = std::fs::File::open(&dir).map_err(fail)?;
    // SAFETY: flock(2) on a descriptor this function owns; released when `lock` closes.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
        let e = std::io::Error::last_os_error();
        // Without `flock` for directories (NFS emulates it with write locks, which a
        // directory opened for reading cannot take), the write goes ahead unlocked.
        if !matches!(
            e.raw_os_error(),
            Some(libc::EBADF | libc::ENOLCK | libc::EOPNOTSUPP | libc::EINVAL)
        ) {
            return Err(fail(e));
        }
    }
    let (mut total, permissions) = match std::fs::read_to_string(&path) {
        Ok(text) => (
            Profile::parse(&text).map_err(|e| format!("{shown}: {e}"))?,
            Some(std::fs::metadata(&path).map_err(fail)?.permissions()),
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Profile::default(), None),
        Err(e) => return Err(fail(e)),
    };
    total.merge(profile);
    let mut file = tempfile::NamedTempFile::new_in(&dir).map_err(fail)?;
    std::io::Write::write_all(&mut file, total.render().as_bytes()).map_err(fail)?;
    let permissions =
        permissions.unwrap_or_else(|| std::os::unix::fs::PermissionsExt::from_mode(0o644));
    file.as_file().set_permissions(permissions).map_err(fail)?;
    file.as_file().sync_all().map_err(fail)?;
    file.persist(&path).map_err(|e| fail(e.error))?;
    Ok(())
}
