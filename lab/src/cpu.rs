//! CPU time for the load tool's CPU per message: the whole process's (all
//! threads, user and system), or that of the threads whose names start
//! with a prefix (one side of a paired round). Unlike throughput, it does
//! not move when another process on the machine takes a core for a while.

use std::collections::HashMap;
use std::time::Duration;

/// CPU time this process has used so far; zero where the clock is missing.
fn process_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the call's duration.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// A round's CPU clock: the whole process's, or that of the threads named
/// with a prefix (one side of a paired round).
#[derive(Debug, Clone)]
pub(super) enum Cpu {
    Process(Duration),
    Threads(ThreadsCpu),
}

impl Cpu {
    /// The process's clock now, or the `threads*` threads' (zero where
    /// `/proc` is missing).
    pub(super) fn now(threads: Option<&str>) -> Self {
        match threads {
            None => Cpu::Process(process_time()),
            Some(prefix) => Cpu::Threads(ThreadsCpu::now(prefix).unwrap_or_default()),
        }
    }

    /// CPU time used since `earlier`, a reading of the same clock.
    pub(super) fn since(&self, earlier: &Cpu) -> Duration {
        match (self, earlier) {
            (Cpu::Process(now), Cpu::Process(then)) => now.saturating_sub(*then),
            (Cpu::Threads(now), Cpu::Threads(then)) => now.since(then),
            _ => Duration::ZERO,
        }
    }
}

/// The CPU time each live thread of this process whose name starts with a
/// prefix has used so far (Linux: `/proc/self/task`).
#[derive(Debug, Clone, Default)]
pub(super) struct ThreadsCpu(HashMap<String, Duration>);

impl ThreadsCpu {
    /// The threads named `prefix*` now; `None` where `/proc` is missing.
    pub(super) fn now(prefix: &str) -> Option<Self> {
        let tasks = std::fs::read_dir("/proc/self/task").ok()?;
        let mut threads = HashMap::new();
        for task in tasks.flatten() {
            let path = task.path();
            let named = std::fs::read_to_string(path.join("comm"))
                .is_ok_and(|name| name.trim_end().starts_with(prefix));
            if !named {
                continue;
            }
            // Time on a CPU, ns: the first field. A thread gone since the
            // listing is left out.
            let ns = std::fs::read_to_string(path.join("schedstat"))
                .ok()
                .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok());
            if let Some(ns) = ns {
                threads.insert(
                    task.file_name().to_string_lossy().into_owned(),
                    Duration::from_nanos(ns),
                );
            }
        }
        Some(ThreadsCpu(threads))
    }

    /// CPU time these threads used since `earlier`: a thread born since
    /// counts whole, one gone since counts nothing.
    pub(super) fn since(&self, earlier: &ThreadsCpu) -> Duration {
        self.0
            .iter()
            .map(|(tid, now)| now.saturating_sub(earlier.0.get(tid).copied().unwrap_or_default()))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keeps the calling thread busy for `wall`.
    fn spin(wall: Duration) -> u64 {
        let mut x = 0u64;
        let until = std::time::Instant::now() + wall;
        while std::time::Instant::now() < until {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        x
    }

    #[test]
    fn counts_the_threads_named_with_a_prefix_and_no_other() {
        let (go, going) = std::sync::mpsc::channel::<()>();
        let (ready, spun) = std::sync::mpsc::channel();
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let busy = std::thread::Builder::new()
            .name("cpu-test-busy".into())
            .spawn(move || {
                going.recv().unwrap();
                spin(Duration::from_millis(30));
                ready.send(()).unwrap();
                stopped.recv().unwrap();
            })
            .unwrap();
        let before = ThreadsCpu::now("cpu-test-busy").expect("Linux has /proc");
        go.send(()).unwrap();
        spun.recv().unwrap();
        let busy_time = ThreadsCpu::now("cpu-test-busy").unwrap().since(&before);
        let none = ThreadsCpu::now("cpu-test-none").unwrap();
        stop.send(()).unwrap();
        busy.join().unwrap();
        // 30 ms of spinning is at least a few ms of CPU, even on a machine
        // shared with others.
        assert!(busy_time >= Duration::from_millis(3), "{busy_time:?}");
        assert_eq!(none.since(&ThreadsCpu::default()), Duration::ZERO);
        // The thread has exited: it no longer counts.
        let after = ThreadsCpu::now("cpu-test-busy").unwrap();
        assert_eq!(after.since(&before), Duration::ZERO);
    }

    #[test]
    fn counts_the_work_this_process_does() {
        let before = process_time();
        let x = spin(Duration::from_millis(30));
        let spent = process_time() - before;
        // A busy loop of 30 ms of wall time is at least a few ms of CPU,
        // even on a machine shared with others.
        assert!(
            spent >= Duration::from_millis(3),
            "{spent:?} after {x} turns"
        );
    }
}
