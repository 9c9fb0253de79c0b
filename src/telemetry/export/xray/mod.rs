//! Traces to X-Ray without a collector: segment documents sent over UDP to
//! the daemon endpoint Lambda provides when active tracing is on
//! (`AWS_XRAY_DAEMON_ADDRESS`).
//!
//! Documents are those of `opentelemetry-aws`'s X-Ray exporter. The spans a
//! Lambda function usually emits (its invocation, its operations, its AWS
//! calls) are written by [`DocumentWriter`](document::DocumentWriter) in
//! one pass, byte for byte as the crate's translator writes them; a batch
//! with anything else (HTTP URLs, SQL, errors and their causes, ECS or EKS
//! resources...) goes to the translator.
//!
//! Spans flushed together are nested into one segment document (at most
//! [`SPANS_PER_DOCUMENT`](crate::telemetry::pipeline::inline::SPANS_PER_DOCUMENT) spans each, so a
//! document usually stays far below the datagram limit): the end of an
//! invocation usually costs one datagram, not one per span. A document
//! over the limit (a span with a very large attribute) is split, one
//! document per span, and a span whose own document is still over it is
//! dropped and counted lost; a failed send loses its document's spans
//! only, never the rest of the batch.
//!
//! The catalog's `indexed_attributes` (`perf_handler`, `perf_outcome`)
//! become annotations, so traces are searchable by handler and outcome;
//! every other attribute goes to metadata. Spans pass the privacy processor
//! before they reach this exporter, like every other.

mod attributes;
#[cfg(test)]
mod differential_tests;
mod document;
mod fit;
mod json;
mod nesting;
mod render;
mod span_plan;
mod translator_keys;

use std::future::Future as _;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Wake, Waker};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::KeyValue;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

use opentelemetry_aws::xray_exporter::daemon_client::XrayDaemonClient;
use opentelemetry_aws::xray_exporter::{SegmentTranslator, XrayExporter};

use self::document::{DocumentWriter, Written};
use crate::telemetry::error::BuildError;
use crate::telemetry::pipeline::loss::Loss;

/// A trace id in X-Ray's `1-xxxxxxxx-yyyyyyyyyyyyyyyyyyyyyyyy` form: the
/// `traceId` of EMF lines and log lines, and X-Ray's `trace_id`.
///
/// ```
/// let id = opentelemetry::trace::TraceId::from_hex("5759e988bd862e3fe1be46a994272793").unwrap();
/// assert_eq!(perfmon_lambda::xray_trace_id(id), "1-5759e988-bd862e3fe1be46a994272793");
/// ```
pub fn xray_trace_id(id: opentelemetry::trace::TraceId) -> String {
    crate::telemetry::data::ids::xray_form(id)
        .into_iter()
        .map(char::from)
        .collect()
}

/// The exporter for `addr`, annotating `indexed` attributes and naming
/// `log_groups`; spans X-Ray would refuse are counted in `loss`.
pub(crate) fn exporter(
    addr: SocketAddr,
    indexed: &[String],
    log_groups: &[String],
    loss: Arc<Loss>,
) -> Result<UdpExporter, BuildError> {
    let spawn = |what| move |source| BuildError::Spawn { what, source };
    let client = XrayDaemonClient::new(addr).map_err(spawn("the X-Ray daemon client"))?;
    // As the daemon client's: non-blocking, so a send never waits.
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .and_then(|socket| socket.set_nonblocking(true).map(|()| socket))
        .and_then(|socket| socket.connect(addr).map(|()| socket))
        .map_err(spawn("the X-Ray document socket"))?;
    let log_groups = log_groups.to_vec();
    // Spans flushed together become one document with nested subsegments:
    // one datagram per invocation instead of one per span.
    let translator = SegmentTranslator::new()
        .with_indexed_attrs(indexed.iter().cloned())
        .metadata_all_attrs()
        .always_nest_subsegments()
        .set_log_group_names(log_groups.clone());
    Ok(UdpExporter {
        inner: XrayExporter::new(client).with_translator(translator),
        writer: DocumentWriter::new(indexed, log_groups),
        socket,
        datagram: Mutex::new(Vec::with_capacity(MAX_DATAGRAM)),
        loss,
    })
}

/// The X-Ray exporter, given the resource without `cloud.provider`, so that
/// its segments carry no `origin`, like the ADOT path's.
///
/// The collector's `awsxray` exporter derives `origin` from
/// `cloud.platform` for EC2, ECS, EKS, Beanstalk and App Runner only; for
/// `aws_lambda` it sets none. `opentelemetry-aws` sets
/// `AWS::Lambda::Function` when `cloud.provider` is `aws`. Without
/// `cloud.provider` both paths draw the invocation's segment as the same
/// node: the service `service.name`, under Lambda's own
/// `AWS::Lambda::Function` node. The attribute is still exported with the
/// resource on every other path.
///
/// It also guards the translator, which panics when no span of a batch can
/// be translated (opentelemetry-aws 0.21: its document tree is empty and
/// its iterator underflows):
/// - spans whose trace id X-Ray refuses (its time part more than 30 days
///   old or 5 minutes ahead, as any random W3C trace id is) are left out
///   and counted as lost spans, never sent to the translator;
/// - an empty batch is not translated;
/// - a panic in the translator for any other reason fails the export (its
///   spans are counted lost), never the invocation.
#[derive(Debug)]
pub(crate) struct UdpExporter {
    inner: XrayExporter<XrayDaemonClient>,
    writer: DocumentWriter,
    socket: UdpSocket,
    /// The datagram being written, reused.
    datagram: Mutex<Vec<u8>>,
    loss: Arc<Loss>,
}

/// The largest UDP datagram.
const MAX_DATAGRAM: usize = 65_507;

/// The oldest trace id X-Ray accepts, in seconds (segment documents).
const MAX_TRACE_ID_AGE_SECS: u64 = 30 * 24 * 60 * 60;
/// How far ahead of the clock a trace id may be.
const MAX_TRACE_ID_SKEW_SECS: u64 = 5 * 60;

/// Whether X-Ray accepts a trace whose id is `id` at `now` (seconds since
/// the epoch): the id's first 32 bits are its start time.
fn accepted_by_xray(id: opentelemetry::trace::TraceId, now: u64) -> bool {
    let time = crate::telemetry::data::ids::start_seconds(id);
    time + MAX_TRACE_ID_AGE_SECS > now && time < now + MAX_TRACE_ID_SKEW_SECS
}

struct NoWake;
impl Wake for NoWake {
    fn wake(self: Arc<Self>) {}
}

impl SpanExporter for UdpExporter {
    async fn export(&self, mut batch: Vec<SpanData>) -> OTelSdkResult {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let before = batch.len();
        batch.retain(|span| accepted_by_xray(span.span_context.trace_id(), now));
        // Counted here when the export succeeds; a failed export is counted
        // whole by the pipeline, these included.
        let lost = |spans: usize| {
            self.loss.spans.fetch_add(spans as u64, Ordering::Relaxed);
        };
        let refused = before - batch.len();
        if batch.is_empty() {
            lost(refused);
            return Ok(());
        }
        batch.iter_mut().for_each(fit::fit);
        let written = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let mut datagram = self.datagram.lock().unwrap_or_else(|e| e.into_inner());
            self.writer
                .write(&batch, &mut datagram, MAX_DATAGRAM, |bytes| {
                    self.socket.send(bytes).map(drop)
                })
        }));
        match written {
            // Nothing went: the batch fails, and is counted lost as such.
            Ok(Ok(Written {
                sent: 0,
                error: Some(e),
                ..
            })) => return Err(OTelSdkError::InternalFailure(e.to_string())),
            // Some went: the spans that did not are counted here, one by one.
            Ok(Ok(written)) => {
                lost(refused + written.lost);
                return Ok(());
            }
            // A span only the translator writes.
            Ok(Err(attributes::Declined)) => {}
            Err(_) => {
                return Err(OTelSdkError::InternalFailure(
                    "the X-Ray document writer panicked".to_owned(),
                ))
            }
        }
        // Translation runs in the first poll; the daemon client sends
        // without waiting, so the first poll is usually the last.
        let mut export = std::pin::pin!(self.inner.export(batch));
        let waker = Waker::from(Arc::new(NoWake));
        let first = std::panic::catch_unwind(AssertUnwindSafe(|| {
            export
                .as_mut()
                .poll(&mut std::task::Context::from_waker(&waker))
        }));
        let result = match first {
            Ok(Poll::Ready(result)) => result,
            Ok(Poll::Pending) => export.await,
            Err(_) => Err(OTelSdkError::InternalFailure(
                "the X-Ray segment translator panicked".to_owned(),
            )),
        };
        if result.is_ok() {
            lost(refused);
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        let kept: Vec<KeyValue> = resource
            .iter()
            .filter(|(key, _)| key.as_str() != CLOUD_PROVIDER)
            .map(|(key, value)| KeyValue::new(key.clone(), value.clone()))
            .collect();
        let kept = Resource::builder_empty().with_attributes(kept).build();
        // In the resource's order, as the translator reads it.
        self.writer.set_resource(
            kept.iter()
                .map(|(key, value)| KeyValue::new(key.clone(), value.clone()))
                .collect(),
        );
        self.inner.set_resource(&kept)
    }
}

/// `cloud.provider` (semantic convention).
const CLOUD_PROVIDER: &str = "cloud.provider";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids_outside_xrays_window_are_refused() {
        let now = 1_764_400_000;
        let id = |time: u64| {
            opentelemetry::trace::TraceId::from(
                (time as u128) << crate::telemetry::data::ids::RANDOM_BITS | 0xabc,
            )
        };
        assert!(accepted_by_xray(id(now), now));
        assert!(accepted_by_xray(id(now - MAX_TRACE_ID_AGE_SECS + 1), now));
        assert!(!accepted_by_xray(id(now - MAX_TRACE_ID_AGE_SECS), now));
        assert!(accepted_by_xray(id(now + MAX_TRACE_ID_SKEW_SECS - 1), now));
        assert!(!accepted_by_xray(id(now + MAX_TRACE_ID_SKEW_SECS), now));
        // A random W3C id: its "time" is almost never this month.
        let w3c =
            opentelemetry::trace::TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
        assert!(!accepted_by_xray(w3c, now));
    }
}
