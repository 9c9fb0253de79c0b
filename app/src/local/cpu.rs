//! The process's CPU time (all threads, user and system), for the load
//! tool's CPU per message: unlike throughput, it does not move when another
//! process on the machine takes a core for a while.

use std::time::Duration;

/// CPU time this process has used so far; zero where the clock is missing.
pub(super) fn process_time() -> Duration {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_work_this_process_does() {
        let before = process_time();
        let mut x = 0u64;
        let until = std::time::Instant::now() + Duration::from_millis(30);
        while std::time::Instant::now() < until {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let spent = process_time() - before;
        // A busy loop of 30 ms of wall time is at least a few ms of CPU,
        // even on a machine shared with others.
        assert!(
            spent >= Duration::from_millis(3),
            "{spent:?} after {x} turns"
        );
    }
}
