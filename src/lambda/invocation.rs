//! What the layer reads from an invocation: its deadline, and its parent
//! trace context (Lambda's X-Ray header, else the W3C headers of the event).

use std::collections::HashMap;
use std::time::Duration;

use opentelemetry::propagation::{Extractor, TextMapCompositePropagator, TextMapPropagator};
use opentelemetry::{Context, KeyValue};
use opentelemetry_aws::trace::XrayPropagator;

/// Deadlines further than this from now are not believed (Lambda's longest
/// timeout is 15 minutes).
const MAX_PLAUSIBLE_REMAINING: Duration = Duration::from_secs(15 * 60 + 60);
/// Time kept back from the deadline for the runtime to post the response.
const DEADLINE_MARGIN: Duration = Duration::from_millis(50);
/// Deadlines below this many ms since the epoch (2001-09-09) are not epochs.
const MIN_EPOCH_MS: u64 = 1_000_000_000_000;

/// The flush timeout for an invocation whose deadline is `deadline_ms`.
pub fn flush_timeout(budget: Duration, deadline_ms: u64, now_ms: u64) -> Duration {
    if deadline_ms < MIN_EPOCH_MS || deadline_ms <= now_ms {
        return budget;
    }
    let remaining = Duration::from_millis(deadline_ms - now_ms);
    if remaining > MAX_PLAUSIBLE_REMAINING {
        return budget;
    }
    budget.min(remaining.saturating_sub(DEADLINE_MARGIN))
}

/// How long an invocation whose deadline is `deadline_ms` may work before
/// the layer ends it as a timeout and flushes: its remaining time less the
/// flush `budget` and the margin, but at least half its remaining time.
/// `None` for an implausible deadline, as [`flush_timeout`] reads it.
pub fn work_time(budget: Duration, deadline_ms: u64, now_ms: u64) -> Option<Duration> {
    if deadline_ms < MIN_EPOCH_MS || deadline_ms <= now_ms {
        return None;
    }
    let remaining = Duration::from_millis(deadline_ms - now_ms);
    if remaining > MAX_PLAUSIBLE_REMAINING {
        return None;
    }
    Some(
        remaining
            .saturating_sub(budget.saturating_add(DEADLINE_MARGIN))
            .max(remaining / 2),
    )
}

/// The attributes the invoked ARN gives (semantic conventions for FaaS on
/// AWS): `cloud.resource_id`, the function's ARN without the alias or
/// version it was invoked through; `aws.lambda.invoked_arn`, the ARN as
/// invoked; `cloud.account.id`, when the ARN holds one.
pub fn arn_attributes(invoked_arn: &str) -> Vec<KeyValue> {
    let mut out = Vec::with_capacity(3);
    if invoked_arn.is_empty() {
        return out;
    }
    // arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
    let parts: Vec<&str> = invoked_arn.splitn(8, ':').collect();
    let function_arn = if parts.len() == 8 {
        &invoked_arn[..invoked_arn.len() - parts[7].len() - 1]
    } else {
        invoked_arn
    };
    out.push(KeyValue::new("cloud.resource_id", function_arn.to_owned()));
    out.push(KeyValue::new(
        "aws.lambda.invoked_arn",
        invoked_arn.to_owned(),
    ));
    if let Some(account) = parts.get(4).filter(|a| !a.is_empty()) {
        out.push(KeyValue::new("cloud.account.id", (*account).to_owned()));
    }
    out
}

/// The parent context of an invocation, through `propagators`: Lambda's
/// X-Ray `header` (the `Context.xray_trace_id`) when there is one, else a
/// W3C `traceparent` in the event's `headers`; W3C `baggage` from the
/// headers either way. A malformed header is no context: the invocation
/// starts a new trace.
pub fn parent_context(
    propagators: &TextMapCompositePropagator,
    header: Option<&str>,
    headers: &dyn Extractor,
) -> Context {
    struct Carrier<'a> {
        xray: Option<&'a str>,
        headers: &'a dyn Extractor,
    }
    impl Extractor for Carrier<'_> {
        fn get(&self, key: &str) -> Option<&str> {
            if key.eq_ignore_ascii_case(XRAY_HEADER) {
                // Lambda's header only: the one its segment belongs to.
                // (On Lambda it continues the trace of the header the
                // caller sent, when the front door passes one.)
                return self.xray;
            }
            self.headers.get(key)
        }
        fn keys(&self) -> Vec<&str> {
            let mut keys = self.headers.keys();
            keys.extend(self.xray.map(|_| XRAY_HEADER));
            keys
        }
    }
    propagators.extract(&Carrier {
        xray: header,
        headers,
    })
}

/// The X-Ray header's name, as the X-Ray propagator asks for it.
const XRAY_HEADER: &str = "x-amzn-trace-id";

/// The context of the invocation's X-Ray trace header, if it has one.
pub fn trace_header_context(header: Option<&str>) -> Context {
    let Some(header) = header else {
        return Context::new();
    };
    let carrier = HashMap::from([("x-amzn-trace-id".to_owned(), header.to_owned())]);
    XrayPropagator::default().extract_with_context(&Context::new(), &carrier)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::TraceContextExt;

    const NOW: u64 = 1_790_000_000_000;

    #[test]
    fn the_function_arn_drops_the_alias_and_keeps_the_invoked_one() {
        let attributes = |arn| {
            arn_attributes(arn)
                .into_iter()
                .map(|kv| (kv.key.to_string(), kv.value.to_string()))
                .collect::<Vec<_>>()
        };
        let function = "arn:aws:lambda:us-east-1:123456789012:function:ws-conversation";
        let owned = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        };
        let alias = format!("{function}:live");
        assert_eq!(
            attributes(&alias),
            owned(&[
                ("cloud.resource_id", function),
                ("aws.lambda.invoked_arn", &alias),
                ("cloud.account.id", "123456789012"),
            ])
        );
        assert_eq!(attributes(function)[0].1, function);
        assert!(attributes("").is_empty());
    }

    #[test]
    fn the_flush_fits_the_remaining_time() {
        let budget = Duration::from_millis(500);
        assert_eq!(flush_timeout(budget, NOW + 10_000, NOW), budget);
        assert_eq!(
            flush_timeout(budget, NOW + 200, NOW),
            Duration::from_millis(150),
            "deadline minus the margin"
        );
        assert_eq!(flush_timeout(budget, NOW + 20, NOW), Duration::ZERO);
    }

    #[test]
    fn work_ends_a_budget_and_a_margin_before_the_deadline_but_not_before_half_time() {
        let now = NOW;
        let budget = Duration::from_millis(500);
        let ms = Duration::from_millis;
        assert_eq!(work_time(budget, now + 3_000, now), Some(ms(2_450)));
        assert_eq!(work_time(budget, now + 1_000, now), Some(ms(500)));
        assert_eq!(work_time(budget, now + 400, now), Some(ms(200)));
        assert_eq!(
            work_time(Duration::MAX, now + 400, now),
            Some(ms(200)),
            "a budget too large to add to leaves half the time"
        );
        for implausible in [now, now - 1, 600_000, now + 3_600_000] {
            assert_eq!(work_time(budget, implausible, now), None, "{implausible}");
        }
    }

    #[test]
    fn implausible_deadlines_fall_back_to_the_budget() {
        let budget = Duration::from_millis(500);
        assert_eq!(flush_timeout(budget, 600_000, NOW), budget, "not an epoch");
        assert_eq!(flush_timeout(budget, NOW - 1, NOW), budget, "in the past");
        assert_eq!(flush_timeout(budget, 0, NOW), budget);
        assert_eq!(
            flush_timeout(budget, NOW + 3_600_000, NOW),
            budget,
            "beyond Lambda's 15 minutes"
        );
    }

    #[test]
    fn the_trace_header_gives_the_parent() {
        let cx = trace_header_context(Some(
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        ));
        let span = cx.span();
        let sc = span.span_context();
        assert_eq!(
            sc.trace_id().to_string(),
            "5759e988bd862e3fe1be46a994272793"
        );
        assert_eq!(sc.span_id().to_string(), "53995c3f42cd8ad8");
        assert!(sc.is_sampled() && sc.is_remote());
        assert!(!trace_header_context(None).span().span_context().is_valid());
        assert!(!trace_header_context(Some("garbage"))
            .span()
            .span_context()
            .is_valid());
    }
}
