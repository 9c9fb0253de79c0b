//! One AWS SDK call, three ways, in one run: a DynamoDB `GetItem` whose
//! HTTP client answers at once from memory (the SDK's own test client), so
//! that what is measured is the SDK's pipeline (serialisation, signing,
//! retries, deserialisation) with and without perfmon's interceptor.
//!
//! - `sdk`: the client without the interceptor, the baseline;
//! - `bare_span`: an interceptor that starts and ends one span with nothing
//!   on it, the floor of any span-per-call design on this pipeline;
//! - `sampled_in`: with `TracingInterceptor`, inside a sampled operation:
//!   one CLIENT span with its attributes (table, region, request id,
//!   status, attempts) and the `X-Amzn-Trace-Id` header;
//! - `sampled_out`: with it, under a parent that is not sampled: no span
//!   is recorded, the header still carries the decision.
//!
//! The pipeline's exporters discard, so only the recording path is
//! measured. Reproduce with `taskset -c 1 cargo bench --bench aws_sdk_call
//! --features aws-sdk`; compare medians within one run.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use opentelemetry::Context;
use perfmon_lambda::aws_sdk::TracingInterceptor;

#[path = "support/discard.rs"]
mod discard;
#[path = "support/aws_sdk_call.rs"]
mod sdk_call;
use discard::pipeline;
use sdk_call::{client, parent};

fn aws_sdk_call(c: &mut Criterion) {
    let telemetry = pipeline();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let call =
        |client: &aws_sdk_dynamodb::Client, cx: &Context| sdk_call::call(&runtime, client, cx);
    let mut group = c.benchmark_group("aws_sdk_call");
    let bare = client(None);
    let traced = client(Some(TracingInterceptor::new(&telemetry)));
    let (sampled, unsampled) = (parent(true), parent(false));
    group.bench_function("sdk", |b| b.iter(|| call(&bare, &sampled)));
    let bare_span = sdk_call::client_with(Some(sdk_call::BareSpan(telemetry.tracer())));
    group.bench_function("bare_span", |b| b.iter(|| call(&bare_span, &sampled)));
    group.bench_function("sampled_in", |b| b.iter(|| call(&traced, &sampled)));
    group.bench_function("sampled_out", |b| b.iter(|| call(&traced, &unsampled)));
    group.finish();
    let _ = telemetry.shutdown(Duration::from_secs(5));
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(8));
    targets = aws_sdk_call
}
criterion_main!(benches);
