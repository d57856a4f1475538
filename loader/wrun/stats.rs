//! `wrun --stats`: what a run used, printed on stderr when it ends (also after a trap).

use std::time::{Duration, Instant};

/// Prints wall and CPU time, peak resident and linear memory, for metered code instructions
/// and, when the guest allocated GC objects, the collections and their pauses.
pub fn print(
    started: Instant,
    instructions: Option<(u64, &str)>,
    linear_memory: Option<u64>,
    gc: Option<(waot::GcStats, Vec<Duration>)>,
) {
    let wall = started.elapsed().as_secs_f64();
    // SAFETY: getrusage fills the struct it is given.
    let usage = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let (user, system) = (seconds(usage.ru_utime), seconds(usage.ru_stime));
    eprintln!("wrun: stats: wall time       {:.3} s", wall);
    eprintln!(
        "wrun: stats: CPU time        {:.3} s (user {user:.3} s, system {system:.3} s)",
        user + system
    );
    // Linux reports the peak in KiB.
    eprintln!(
        "wrun: stats: peak memory     {:.1} MiB resident",
        usage.ru_maxrss as f64 / 1024.0
    );
    if let Some(bytes) = linear_memory {
        eprintln!(
            "wrun: stats: linear memory   {:.1} MiB (peak)",
            bytes as f64 / (1024.0 * 1024.0)
        );
    }
    match instructions {
        Some((n, unit)) => {
            eprintln!("wrun: stats: instructions    {n} ({unit})");
            eprintln!(
                "wrun: stats: per second      {:.0}",
                n as f64 / wall.max(1e-9)
            );
        }
        None => eprintln!(
            "wrun: stats: instructions    not counted (compile with `waotc --fuel` to count them)"
        ),
    }
    if let Some((stats, mut pauses)) = gc {
        pauses.sort_unstable();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let median = pauses.get(pauses.len() / 2).copied().unwrap_or_default();
        eprintln!(
            "wrun: stats: GC              {} collections, pause longest {:.2} ms, median \
             {:.2} ms, total {:.1} ms; heap {:.1} MiB",
            stats.collections,
            ms(stats.longest_pause),
            ms(median),
            ms(stats.total_pause),
            stats.heap_bytes as f64 / (1024.0 * 1024.0)
        );
    }
}
