//! [`DeadlineTimeouts`]: each AWS SDK call's timeouts from the invocation's
//! [`Deadline`], so that a call that hangs fails as a timeout while the
//! invocation can still answer and flush.

use std::time::Duration;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::{dyn_dispatch_hint, Intercept};
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::timeout::{MergeTimeoutConfig, TimeoutConfig};

use crate::Deadline;

/// The SDK interceptor that bounds every call on a client by the current
/// invocation's [`Deadline`] ([`Deadline::call_timeout`]): the call's
/// operation timeout becomes the time left, unless the client's own is
/// shorter; the client's attempt timeout, when it has one, stays if it is
/// shorter than that (leaving room for a retry), and otherwise the
/// operation timeout bounds each attempt. Outside an invocation (nothing
/// in the context), the client's own timeouts apply.
///
/// The client's timeouts are those of its config; a timeout set for one
/// call (`customize().config_override(...)`) is not seen, and the time
/// left replaces it.
///
/// ```no_run
/// use perfmon_lambda::aws_sdk::{DeadlineTimeouts, TracingInterceptor};
///
/// # async fn run(telemetry: &perfmon_lambda::Telemetry) {
/// let sdk = aws_config::load_from_env().await;
/// let config = aws_sdk_dynamodb::config::Builder::from(&sdk)
///     .interceptor(TracingInterceptor::new(telemetry))
///     .interceptor(DeadlineTimeouts::new())
///     .build();
/// let client = aws_sdk_dynamodb::Client::from_conf(config);
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct DeadlineTimeouts;

impl DeadlineTimeouts {
    /// The interceptor.
    pub fn new() -> Self {
        DeadlineTimeouts
    }
}

/// The timeouts for a call that has `left`, over the client's
/// `configured` ones.
fn bounded(configured: &TimeoutConfig, left: Duration) -> TimeoutConfig {
    let operation = configured.operation_timeout().map_or(left, |c| c.min(left));
    let mut timeouts = TimeoutConfig::builder().operation_timeout(operation);
    // Only a shorter one: an attempt timeout equal to the operation's
    // could fire on the same tick and start a retry that the operation's
    // then cancels. A longer one of the client's stays below, unused.
    if let Some(attempt) = configured
        .operation_attempt_timeout()
        .filter(|attempt| *attempt < operation)
    {
        timeouts = timeouts.operation_attempt_timeout(attempt);
    }
    timeouts.build()
}

#[dyn_dispatch_hint]
impl Intercept for DeadlineTimeouts {
    fn name(&self) -> &'static str {
        "perfmon::DeadlineTimeouts"
    }

    /// Before the SDK reads the call's timeouts: a layer over the client's,
    /// with only the two it sets (the others merge from below).
    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(deadline) = Deadline::current() {
            let timeouts = bounded(&cfg.load::<MergeTimeoutConfig>(), deadline.call_timeout());
            cfg.interceptor_state().store_put(timeouts);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_left_bounds_both_timeouts_and_a_shorter_one_stays() {
        let ms = Duration::from_millis;
        let none = TimeoutConfig::builder().build();
        let t = bounded(&none, ms(950));
        assert_eq!(
            (t.operation_timeout(), t.operation_attempt_timeout()),
            (Some(ms(950)), None)
        );
        assert_eq!(t.connect_timeout(), None, "left to the client's");
        let configured = TimeoutConfig::builder()
            .operation_timeout(ms(5_000))
            .operation_attempt_timeout(ms(300))
            .build();
        let t = bounded(&configured, ms(950));
        assert_eq!(
            (t.operation_timeout(), t.operation_attempt_timeout()),
            (Some(ms(950)), Some(ms(300)))
        );
        let t = bounded(&configured, ms(200));
        assert_eq!(
            (t.operation_timeout(), t.operation_attempt_timeout()),
            (Some(ms(200)), None),
            "the operation's bounds the attempt"
        );
        let short = TimeoutConfig::builder().operation_timeout(ms(100)).build();
        assert_eq!(bounded(&short, ms(950)).operation_timeout(), Some(ms(100)));
    }
}
