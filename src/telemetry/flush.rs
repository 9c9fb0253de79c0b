//! Bounded flush and shutdown.
//!
//! The SDK's `force_flush` blocks its caller until the exporter answers (the
//! batch span processor waits up to a fixed 5 s), and an exporter that needs
//! the caller's Tokio runtime deadlocks a current-thread runtime outright.
//! Here each signal has one worker thread that calls the SDK; the caller
//! only waits on a channel with its own deadline. So `force_flush(timeout)`
//! returns within `timeout` from any thread, inside a current-thread or a
//! multi-thread runtime or outside one, whatever the exporter does.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Duration, Instant};

use opentelemetry_sdk::error::OTelSdkResult;

use super::error::{BuildError, Signal, TelemetryError};

/// Flushes queued behind a stuck export before new ones are refused.
const QUEUE_DEPTH: usize = 4;

enum Job {
    Flush(SyncSender<OTelSdkResult>),
    Shutdown(Duration, SyncSender<OTelSdkResult>),
}

/// One signal's flush worker.
pub(crate) struct Worker {
    signal: Signal,
    jobs: SyncSender<Job>,
}

/// What the worker does with each job.
pub(crate) trait Flushable: Send + 'static {
    fn flush(&self) -> OTelSdkResult;
    fn shutdown(&self, timeout: Duration) -> OTelSdkResult;
}

impl Worker {
    pub(crate) fn spawn(signal: Signal, target: impl Flushable) -> Result<Worker, BuildError> {
        let (jobs, queue) = mpsc::sync_channel::<Job>(QUEUE_DEPTH);
        std::thread::Builder::new()
            .name(format!("perfmon-flush-{signal}"))
            .spawn(move || {
                for job in queue {
                    match job {
                        Job::Flush(reply) => {
                            let _ = reply.try_send(target.flush());
                        }
                        Job::Shutdown(timeout, reply) => {
                            let _ = reply.try_send(target.shutdown(timeout));
                            return;
                        }
                    }
                }
            })
            .map_err(|source| BuildError::Spawn {
                what: "the flush worker",
                source,
            })?;
        Ok(Worker { signal, jobs })
    }

    /// Queues a flush; the answer arrives on the returned receiver.
    pub(crate) fn flush(&self) -> Result<Receiver<OTelSdkResult>, TelemetryError> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.send(Job::Flush(reply))?;
        Ok(answer)
    }

    /// Queues the shutdown; the worker exits after it.
    pub(crate) fn shutdown(
        &self,
        timeout: Duration,
    ) -> Result<Receiver<OTelSdkResult>, TelemetryError> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.send(Job::Shutdown(timeout, reply))?;
        Ok(answer)
    }

    fn send(&self, job: Job) -> Result<(), TelemetryError> {
        self.jobs.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => TelemetryError::Busy {
                signal: self.signal,
            },
            TrySendError::Disconnected(_) => TelemetryError::ShutDown,
        })
    }

    pub(crate) fn signal(&self) -> Signal {
        self.signal
    }
}

/// Waits for `answer` until `deadline`, turning every outcome into a result.
pub(crate) fn wait(
    signal: Signal,
    answer: Receiver<OTelSdkResult>,
    deadline: Instant,
    timeout: Duration,
) -> Result<(), TelemetryError> {
    let left = deadline.saturating_duration_since(Instant::now());
    match answer.recv_timeout(left) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(TelemetryError::Export {
            signal,
            message: e.to_string(),
        }),
        Err(RecvTimeoutError::Timeout) => Err(TelemetryError::Timeout { signal, timeout }),
        Err(RecvTimeoutError::Disconnected) => Err(TelemetryError::ShutDown),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    struct Slow(Duration, Arc<AtomicUsize>);
    impl Flushable for Slow {
        fn flush(&self) -> OTelSdkResult {
            std::thread::sleep(self.0);
            self.1.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
        fn shutdown(&self, _: Duration) -> OTelSdkResult {
            Ok(())
        }
    }

    #[test]
    fn a_stuck_flush_times_out_then_refuses_once_the_queue_is_full() {
        let done = Arc::new(AtomicUsize::new(0));
        let worker = Worker::spawn(Signal::Traces, Slow(Duration::from_secs(3), done)).unwrap();
        let timeout = Duration::from_millis(20);
        let started = Instant::now();
        let answer = worker.flush().unwrap();
        let result = wait(Signal::Traces, answer, started + timeout, timeout);
        assert_eq!(
            result,
            Err(TelemetryError::Timeout {
                signal: Signal::Traces,
                timeout
            })
        );
        assert!(started.elapsed() < Duration::from_secs(1));
        // One job runs, QUEUE_DEPTH wait; the next is refused at once.
        let mut refused = None;
        for _ in 0..=QUEUE_DEPTH + 1 {
            if let Err(e) = worker.flush() {
                refused = Some(e);
                break;
            }
        }
        assert_eq!(
            refused,
            Some(TelemetryError::Busy {
                signal: Signal::Traces
            })
        );
    }

    #[test]
    fn a_quick_flush_reports_success() {
        let done = Arc::new(AtomicUsize::new(0));
        let worker = Worker::spawn(Signal::Metrics, Slow(Duration::ZERO, done.clone())).unwrap();
        let timeout = Duration::from_secs(5);
        let answer = worker.flush().unwrap();
        assert_eq!(
            wait(Signal::Metrics, answer, Instant::now() + timeout, timeout),
            Ok(())
        );
        assert_eq!(done.load(Ordering::SeqCst), 1);
    }
}
