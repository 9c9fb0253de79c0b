//! [`FlushMode`]: when an invocation's telemetry leaves the function.

use std::str::FromStr;
use std::time::Duration;

/// When the Lambda layer flushes an invocation's telemetry
/// (`PERFMON_FLUSH_MODE`, or in code with
/// [`PerformanceLayer::with_flush_mode`](super::PerformanceLayer::with_flush_mode)).
///
/// Every flush is bounded by the flush budget and by the invocation's
/// deadline less a margin, counted from the moment the flush starts.
///
/// With many invocations at once
/// ([`PerformanceLayer::with_concurrency`](super::PerformanceLayer::with_concurrency)
/// above 1), one flush at a time serves all of them: spans leave as their
/// invocations end, metrics at quiet moments or every
/// `OTEL_METRIC_EXPORT_INTERVAL`. `Sync` then waits for the flush that
/// exports the invocation's spans; `AfterResponse` and `Adaptive` wait for
/// nothing, and `Adaptive` keeps flushes an `interval` apart while
/// invocations run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FlushMode {
    /// `sync`: at the end of the handler, before the response goes back.
    /// The caller waits for the export.
    Sync,
    /// `after-response` (the default): once the response has been posted to
    /// the Runtime API, before the runtime asks for the next event. The
    /// caller does not wait for the export; Lambda does not freeze the
    /// environment before the next-event request, so nothing is lost. The
    /// flush still counts in the invocation's billed duration.
    ///
    /// Needs the runtime-level [`FlushLayer`](super::FlushLayer), which
    /// [`LambdaMonitoring::run`](super::LambdaMonitoring::run) installs;
    /// without it the layer flushes as `sync` does.
    AfterResponse,
    /// `adaptive`: as `after-response` while invocations are rare (the
    /// previous one started more than `interval` earlier), and at most once
    /// per `interval` while they arrive faster. Telemetry of the last
    /// invocations of a burst waits for the next flush: the next
    /// invocation's, or the shutdown's when Lambda reclaims the environment.
    /// EMF lines then aggregate several invocations and carry the ids of
    /// the one that flushed.
    Adaptive {
        /// `PERFMON_FLUSH_INTERVAL_MS`, else 20 s.
        interval: Duration,
    },
}

/// The default of `PERFMON_FLUSH_MODE`: the response never waits for the
/// export, and every invocation's telemetry still leaves before the next
/// one starts.
pub const DEFAULT_FLUSH_MODE: FlushMode = FlushMode::AfterResponse;

impl FromStr for FlushMode {
    type Err = String;

    /// `sync`, `after-response` or `adaptive` (with the default interval).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "sync" => Ok(FlushMode::Sync),
            "after-response" => Ok(FlushMode::AfterResponse),
            "adaptive" => Ok(FlushMode::Adaptive {
                interval: crate::env::PERFMON_FLUSH_INTERVAL_MS_DEFAULT,
            }),
            _ => Err("sync, after-response or adaptive".to_owned()),
        }
    }
}

impl std::fmt::Display for FlushMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FlushMode::Sync => "sync",
            FlushMode::AfterResponse => "after-response",
            FlushMode::Adaptive { .. } => "adaptive",
        })
    }
}

impl FlushMode {
    /// The mode in the order code, `PERFMON_FLUSH_MODE` (with
    /// `PERFMON_FLUSH_INTERVAL_MS` for `adaptive`), default.
    pub fn resolve(code: Option<FlushMode>) -> Result<FlushMode, crate::env::EnvError> {
        use crate::env::{
            resolve, resolve_millis, PERFMON_FLUSH_INTERVAL_MS, PERFMON_FLUSH_INTERVAL_MS_DEFAULT,
            PERFMON_FLUSH_MODE,
        };
        if let Some(mode) = code {
            return Ok(mode);
        }
        match resolve(None, PERFMON_FLUSH_MODE, DEFAULT_FLUSH_MODE)? {
            FlushMode::Adaptive { .. } => Ok(FlushMode::Adaptive {
                interval: resolve_millis(
                    None,
                    PERFMON_FLUSH_INTERVAL_MS,
                    PERFMON_FLUSH_INTERVAL_MS_DEFAULT,
                )?,
            }),
            mode => Ok(mode),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_round_trip_through_their_names() {
        for mode in [
            FlushMode::Sync,
            FlushMode::AfterResponse,
            FlushMode::Adaptive {
                interval: crate::env::PERFMON_FLUSH_INTERVAL_MS_DEFAULT,
            },
        ] {
            assert_eq!(mode.to_string().parse::<FlushMode>(), Ok(mode));
        }
        assert!("async".parse::<FlushMode>().is_err());
    }
}
