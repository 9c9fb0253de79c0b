//! Instructions per invocation on the Lambda export path, counted by
//! callgrind rather than timed: `bash scripts/instructions.sh` runs this
//! binary under `valgrind --tool=callgrind` twice, after the same warm-up,
//! with 0 and with [`DEFAULT_INVOCATIONS`] more chat messages, and divides
//! the difference. Counts are repeatable on a busy machine; time is not.
//!
//! Each invocation records one chat message's telemetry
//! (`support/chat_message.rs`) and flushes it as on Lambda: metrics as EMF
//! lines to a discarding writer, spans as X-Ray segments over UDP to a
//! socket on 127.0.0.1 that nobody reads. The kernel's side of `sendto` is
//! not counted; the work perfmon does to get there is.
//!
//! Arguments: `[invocations] [sampled] [per_flush]`, `sampled` being `1`
//! (every invocation traced, the default) or `0` (X-Ray's `Sampled=0`:
//! metrics only), and `per_flush` the chat messages between two flushes:
//! `1` (the default) as on Lambda, more as in a server that flushes on a
//! timer (`perfmon-chat load` flushes every 200 replies).

#[path = "support/chat_message.rs"]
mod chat_message;

use std::time::Duration;

use chat_message::{catalog, invocation, Business};
use opentelemetry::trace::{SpanContext, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::{Context, SpanId};
use perfmon_lambda::{CountingAllocator, ExporterKind, PerformanceMonitor, Telemetry};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator::system();

const WARM_UP: usize = 200;
const DEFAULT_INVOCATIONS: usize = 1_000;

fn main() {
    let mut args = std::env::args().skip(1);
    let invocations = args
        .next()
        .map_or(DEFAULT_INVOCATIONS, |n| n.parse().expect("a count"));
    let sampled = args.next().is_none_or(|s| s != "0");
    let per_flush: usize = args.next().map_or(1, |n| n.parse().expect("a count"));
    // A daemon address nobody reads: datagrams are dropped by the kernel.
    let daemon = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let telemetry = Telemetry::builder()
        .with_catalog(catalog())
        .with_traces_exporter(ExporterKind::Xray)
        .with_xray_daemon_address(daemon.local_addr().unwrap())
        .with_metrics_exporter(ExporterKind::Emf)
        .with_emf_writer(std::io::sink())
        .build()
        .unwrap();
    let monitor = PerformanceMonitor::new(&telemetry);
    let business = Business::new(&monitor);
    // The invocation's parent, as the Lambda layer takes it from the X-Ray
    // header: its sampled flag decides whether spans are recorded.
    let flags = if sampled {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    // X-Ray trace ids start with their time; X-Ray refuses old ones.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as u128;
    for n in 0..WARM_UP + invocations {
        let parent = SpanContext::new(
            TraceId::from(now << 96 | (n as u128 + 1)),
            SpanId::from(n as u64 + 1),
            flags,
            true,
            TraceState::default(),
        );
        let _guard = Context::new().with_remote_span_context(parent).attach();
        invocation(&telemetry, &monitor, &business);
        if (n + 1) % per_flush == 0 {
            telemetry
                .force_flush(Duration::from_secs(5))
                .expect("the flush succeeds");
        }
    }
}
