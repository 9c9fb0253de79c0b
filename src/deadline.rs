//! [`Deadline`]: when an invocation's work must be done.

use std::time::{Duration, Instant};

use opentelemetry::Context;

/// Time kept between a call's timeout and the [`Deadline`], for the
/// handler to end its operation and answer.
pub const CALL_MARGIN: Duration = Duration::from_millis(50);

/// The shortest [`Deadline::call_timeout`]: a call made with no time left
/// fails at once, as a timeout.
const MIN_CALL_TIMEOUT: Duration = Duration::from_millis(1);

/// When an invocation's work must be done, carried in its OTel context,
/// so that what the handler calls can give up in time.
///
/// The Lambda layer puts one in each invocation's context: the
/// invocation's deadline less the flush budget (and a margin), but never
/// before half its remaining time. At that moment the layer ends the root
/// span as a timeout and flushes, whether or not the handler has
/// returned, so a hung call still leaves its trace. Calls made before
/// then should fail first, so that the handler can still answer: the AWS
/// SDK's [`DeadlineTimeouts`](crate::aws_sdk::DeadlineTimeouts) sets each
/// call's timeouts from it, and a handler can do the same for its own
/// calls with [`Deadline::current`] and [`Deadline::call_timeout`].
///
/// Outside an invocation, or under a deadline that is not plausible (the
/// local emulator's), there is none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Deadline(Instant);

impl Deadline {
    /// A deadline at `instant`.
    pub fn at(instant: Instant) -> Self {
        Deadline(instant)
    }

    /// A deadline `after` from now.
    pub fn after(after: Duration) -> Self {
        Deadline(Instant::now() + after)
    }

    /// The deadline of the invocation whose context is current, if any.
    pub fn current() -> Option<Self> {
        Context::map_current(|cx| cx.get::<Deadline>().copied())
    }

    /// The instant it falls at.
    pub fn instant(&self) -> Instant {
        self.0
    }

    /// The time left until it, zero once it has passed.
    pub fn remaining(&self) -> Duration {
        self.0.saturating_duration_since(Instant::now())
    }

    /// The timeout for a call made now: the time left less
    /// [`CALL_MARGIN`], at least 1 ms.
    pub fn call_timeout(&self) -> Duration {
        self.remaining()
            .saturating_sub(CALL_MARGIN)
            .max(MIN_CALL_TIMEOUT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_travels_in_the_context_and_counts_down() {
        assert_eq!(Deadline::current(), None);
        let deadline = Deadline::after(Duration::from_secs(60));
        let _current = Context::current().with_value(deadline).attach();
        assert_eq!(Deadline::current(), Some(deadline));
        let left = deadline.remaining();
        assert!(left <= Duration::from_secs(60) && left > Duration::from_secs(59));
        assert!(deadline.call_timeout() <= left - CALL_MARGIN);
        assert_eq!(
            Deadline::at(Instant::now()).remaining(),
            Duration::ZERO,
            "a passed deadline has nothing left"
        );
        assert_eq!(
            Deadline::at(Instant::now()).call_timeout(),
            MIN_CALL_TIMEOUT
        );
    }
}
