//! X-Ray's default sampling rule as an OpenTelemetry sampler, for
//! processes that decide for themselves (a local server, a load test):
//! a reservoir of 1 trace per second, then 5 % of the rest ("Configuring
//! sampling rules", AWS X-Ray Developer Guide: "By default, the X-Ray SDK
//! records the first request each second, and five percent of any
//! additional requests").
//!
//! On Lambda the invocation's `Sampled=` flag decides instead: the root
//! span's parent carries it, and the parent-based sampler follows it.
//! `OTEL_TRACES_SAMPLER` (the standard settings) overrides both.

use std::sync::Mutex;

use opentelemetry::trace::{Link, SpanKind, TraceContextExt, TraceId};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{Sampler, SamplingDecision, SamplingResult, ShouldSample};

/// Traces a second taken before the rate applies.
pub const XRAY_DEFAULT_RESERVOIR: u64 = 1;
/// Share of the traces beyond the reservoir.
pub const XRAY_DEFAULT_RATE: f64 = 0.05;

/// The reservoir-plus-rate sampler for root spans.
#[derive(Debug)]
pub struct XrayDefaultSampler {
    reservoir: u64,
    rate: f64,
    /// The current second and how many traces it took from the reservoir.
    second: Mutex<(i64, u64)>,
}

impl Clone for XrayDefaultSampler {
    fn clone(&self) -> Self {
        XrayDefaultSampler::new(self.reservoir, self.rate)
    }
}

impl XrayDefaultSampler {
    /// `reservoir` traces a second, then `rate` of the rest.
    pub fn new(reservoir: u64, rate: f64) -> Self {
        XrayDefaultSampler {
            reservoir,
            rate: rate.clamp(0.0, 1.0),
            second: Mutex::new((i64::MIN, 0)),
        }
    }

    /// X-Ray's default rule, parent-based: a span with a parent follows
    /// the parent's decision, a root span is decided by the rule.
    pub fn parent_based() -> Sampler {
        Sampler::ParentBased(Box::new(XrayDefaultSampler::new(
            XRAY_DEFAULT_RESERVOIR,
            XRAY_DEFAULT_RATE,
        )))
    }

    /// Whether a root trace started at `now_ms` is sampled.
    pub(crate) fn decide(&self, trace_id: TraceId, now_ms: i64) -> bool {
        {
            let mut second = self.second.lock().unwrap_or_else(|e| e.into_inner());
            let now = now_ms.div_euclid(1000);
            if second.0 != now {
                *second = (now, 0);
            }
            if second.1 < self.reservoir {
                second.1 += 1;
                return true;
            }
        }
        // The rate on the trace id's low bits, as `TraceIdRatioBased` does,
        // so a decision is the same wherever it is made.
        let low = u64::from_be_bytes(trace_id.to_bytes()[8..].try_into().expect("8 bytes"));
        (low >> 1) < (self.rate * (1u64 << 63) as f64) as u64
    }
}

impl ShouldSample for XrayDefaultSampler {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        trace_id: TraceId,
        _name: &str,
        _span_kind: &SpanKind,
        _attributes: &[KeyValue],
        _links: &[Link],
    ) -> SamplingResult {
        let decision = if self.decide(trace_id, crate::clock::now_ms()) {
            SamplingDecision::RecordAndSample
        } else {
            SamplingDecision::Drop
        };
        SamplingResult {
            decision,
            attributes: Vec::new(),
            trace_state: parent_context
                .map(|cx| cx.span().span_context().trace_state().clone())
                .unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(i: u128) -> TraceId {
        // Spread the low bits as real random ids do.
        TraceId::from(i.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835))
    }

    #[test]
    fn one_a_second_then_five_percent() {
        let sampler = XrayDefaultSampler::new(XRAY_DEFAULT_RESERVOIR, XRAY_DEFAULT_RATE);
        // 10 seconds of 1000 requests each.
        let mut sampled = 0;
        let mut first_of_each_second = 0;
        for second in 0..10i64 {
            for i in 0..1000u128 {
                let yes = sampler.decide(
                    id(second as u128 * 1000 + i + 1),
                    second * 1000 + i as i64 % 1000,
                );
                sampled += u64::from(yes);
                if i == 0 && yes {
                    first_of_each_second += 1;
                }
            }
        }
        assert_eq!(
            first_of_each_second, 10,
            "the reservoir takes each second's first"
        );
        // 10 from the reservoir + 5 % of 9990.
        let expected = 10.0 + 0.05 * 9990.0;
        assert!(
            (sampled as f64 - expected).abs() < 0.15 * expected,
            "{sampled} vs {expected}"
        );
    }

    #[test]
    fn the_rate_alone_decides_the_same_id_the_same_way() {
        let sampler = XrayDefaultSampler::new(0, 0.5);
        let ids: Vec<TraceId> = (1..200).map(id).collect();
        let first: Vec<bool> = ids.iter().map(|t| sampler.decide(*t, 0)).collect();
        let again: Vec<bool> = ids.iter().map(|t| sampler.decide(*t, 5_000)).collect();
        assert_eq!(first, again);
        assert!(!XrayDefaultSampler::new(0, 0.0).decide(id(7), 0));
        assert!(XrayDefaultSampler::new(0, 1.0).decide(id(7), 0));
    }
}
