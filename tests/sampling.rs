//! Sampling: an invocation whose parent is not sampled (X-Ray's
//! `Sampled=0`) records its metrics and exports no span; a sampled one
//! exports both. A process that decides for itself can use X-Ray's
//! default rule; `OTEL_TRACES_SAMPLER` wins over a sampler set in code.

use perfmon_testkit as common;

use common::TestTelemetry;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{TraceContextExt, TraceId};
use opentelemetry::Context;
use perfmon_lambda::XrayDefaultSampler;

fn parent(header: &str) -> Context {
    let carrier: std::collections::HashMap<String, String> =
        [("x-amzn-trace-id".to_owned(), header.to_owned())].into();
    opentelemetry_aws::trace::XrayPropagator::default().extract(&carrier)
}

fn invocations(t: &TestTelemetry) -> usize {
    t.points_named("Invocations").len()
}

/// Builds under no `OTEL_TRACES_SAMPLER`, serialized with the test that
/// sets it (the SDK reads it when a provider is built).
fn telemetry(
    configure: impl FnOnce(perfmon_lambda::TelemetryBuilder) -> perfmon_lambda::TelemetryBuilder,
) -> TestTelemetry {
    temp_env::with_var_unset("OTEL_TRACES_SAMPLER", || {
        TestTelemetry::with(|b| configure(b.with_catalog(common::chat_catalog())))
    })
}

#[test]
fn an_unsampled_invocation_records_metrics_and_exports_no_span() {
    let t = telemetry(|b| b);
    let cx = parent("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0");
    assert!(!cx.span().span_context().is_sampled());
    t.monitor
        .start_with_context(common::op::CHAT_MESSAGE_PROCESSING, &cx, [])
        .complete(true, []);
    let spans = t.spans();
    assert!(
        spans.is_empty(),
        "no span of an unsampled invocation: {:?}",
        spans
            .iter()
            .map(|s| (&s.name, s.span_context.trace_flags(), s.parent_span_id))
            .collect::<Vec<_>>()
    );
    assert_eq!(invocations(&t), 1, "its metrics are recorded");

    let cx = parent("Root=1-5759e988-bd862e3fe1be46a994272794;Parent=53995c3f42cd8ad8;Sampled=1");
    t.monitor
        .start_with_context(common::op::CHAT_MESSAGE_PROCESSING, &cx, [])
        .complete(true, []);
    let spans = t.spans();
    assert_eq!(spans.len(), 1);
    assert_eq!(
        spans[0].span_context.trace_id(),
        TraceId::from_hex("5759e988bd862e3fe1be46a994272794").unwrap()
    );
}

#[test]
fn the_xray_default_rule_traces_the_first_root_of_a_second_and_follows_parents() {
    let t = telemetry(|b| b.with_default_sampler(XrayDefaultSampler::parent_based()));
    for _ in 0..200 {
        t.monitor
            .start(common::op::CHAT_MESSAGE_PROCESSING, [])
            .complete(true, []);
    }
    let roots = t.spans().len();
    // The reservoir's 1 (2 if the second turned) plus about 5 % of the rest.
    assert!((1..=40).contains(&roots), "{roots} of 200 roots traced");
    assert_eq!(invocations(&t), 1, "one point, every operation counted");
    assert_eq!(
        t.points_named("Invocations")[0].value,
        common::Value::Sum(200)
    );
    // A sampled parent is followed whatever the rule says.
    let sampled = common::remote_parent("00000000000000000000000000000007", true);
    for _ in 0..20 {
        t.monitor
            .start_with_context(common::op::CHAT_MESSAGE_PROCESSING, &sampled, [])
            .complete(true, []);
    }
    assert_eq!(t.spans().len(), roots + 20);
}

#[test]
fn otel_traces_sampler_wins_over_the_sampler_in_code() {
    temp_env::with_var("OTEL_TRACES_SAMPLER", Some("always_on"), || {
        let t = TestTelemetry::with(|b| b.with_default_sampler(XrayDefaultSampler::parent_based()));
        for _ in 0..50 {
            t.monitor
                .start(common::op::CHAT_MESSAGE_PROCESSING, [])
                .complete(true, []);
        }
        assert_eq!(t.spans().len(), 50);
    });
}
