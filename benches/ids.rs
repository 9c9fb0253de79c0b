//! A new X-Ray trace id, perfmon's `XrayIds` against opentelemetry-aws's
//! `XrayIdGenerator`, in one run. Every root span without an incoming trace
//! header makes one, sampled or not.

use criterion::{criterion_group, criterion_main, Criterion};
use opentelemetry_sdk::trace::IdGenerator;

fn new_trace_id(c: &mut Criterion) {
    let mut group = c.benchmark_group("new_trace_id");
    let ours = perfmon_lambda::XrayIds::default();
    group.bench_function("perfmon_lambda::XrayIds", |b| {
        b.iter(|| ours.new_trace_id())
    });
    let theirs = opentelemetry_aws::trace::XrayIdGenerator::default();
    group.bench_function("opentelemetry_aws::XrayIdGenerator", |b| {
        b.iter(|| theirs.new_trace_id())
    });
    group.finish();
}

criterion_group!(benches, new_trace_id);
criterion_main!(benches);
