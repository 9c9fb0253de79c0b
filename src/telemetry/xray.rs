//! Traces to X-Ray without a collector: the X-Ray exporter of
//! `opentelemetry-aws`, sending segment documents over UDP to the daemon
//! endpoint Lambda provides when active tracing is on
//! (`AWS_XRAY_DAEMON_ADDRESS`).
//!
//! Spans flushed together are nested into one segment document (at most
//! [`SPANS_PER_DOCUMENT`](super::inline::SPANS_PER_DOCUMENT) spans each, so a
//! document stays far below the 64 KiB datagram limit): the end of an
//! invocation usually costs one datagram, not one per span.
//!
//! The catalog's `indexed_attributes` (`perf_handler`, `perf_outcome`)
//! become annotations, so traces are searchable by handler and outcome;
//! every other attribute goes to metadata. Spans pass the privacy processor
//! before they reach this exporter, like every other.

use std::net::SocketAddr;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

use opentelemetry_aws::xray_exporter::daemon_client::XrayDaemonClient;
use opentelemetry_aws::xray_exporter::{SegmentTranslator, XrayExporter};

use super::error::BuildError;
use crate::env;

/// A trace id in X-Ray's `1-xxxxxxxx-yyyyyyyyyyyyyyyyyyyyyyyy` form: the
/// `traceId` of EMF lines and log lines, and X-Ray's `trace_id`.
///
/// ```
/// let id = opentelemetry::trace::TraceId::from_hex("5759e988bd862e3fe1be46a994272793").unwrap();
/// assert_eq!(perfmon::xray_trace_id(id), "1-5759e988-bd862e3fe1be46a994272793");
/// ```
pub fn xray_trace_id(id: opentelemetry::trace::TraceId) -> String {
    let hex = id.to_string();
    format!("1-{}-{}", &hex[..8], &hex[8..])
}

/// The daemon address: code, then `AWS_XRAY_DAEMON_ADDRESS`, then
/// `127.0.0.1:2000`.
pub(crate) fn daemon_address(code: Option<SocketAddr>) -> Result<SocketAddr, BuildError> {
    // Lambda may give "host:port" or, in older runtimes, "udp:host:port tcp:host:port".
    let address = env::resolve_with(
        code,
        env::AWS_XRAY_DAEMON_ADDRESS,
        env::AWS_XRAY_DAEMON_ADDRESS_DEFAULT,
        |value| {
            value
                .split_whitespace()
                .map(|part| part.trim_start_matches("udp:"))
                .find_map(|part| part.parse().ok())
                .ok_or_else(|| "host:port".to_owned())
        },
    )?;
    Ok(address)
}

/// The exporter for `addr`, annotating `indexed` attributes.
pub(crate) fn exporter(addr: SocketAddr, indexed: &[String]) -> Result<UdpExporter, BuildError> {
    let client = XrayDaemonClient::new(addr).map_err(|source| BuildError::Spawn {
        what: "the X-Ray daemon client",
        source,
    })?;
    // Spans flushed together become one document with nested subsegments:
    // one datagram per invocation instead of one per span.
    let mut translator = SegmentTranslator::new()
        .with_indexed_attrs(indexed.iter().cloned())
        .metadata_all_attrs()
        .always_nest_subsegments();
    if let Some(group) = env::var(env::AWS_LAMBDA_LOG_GROUP_NAME) {
        translator = translator.with_log_group_name(group);
    }
    Ok(UdpExporter(
        XrayExporter::new(client).with_translator(translator),
    ))
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
#[derive(Debug)]
pub(crate) struct UdpExporter(XrayExporter<XrayDaemonClient>);

impl SpanExporter for UdpExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.0.export(batch).await
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        let kept = resource
            .iter()
            .filter(|(key, _)| key.as_str() != CLOUD_PROVIDER)
            .map(|(key, value)| KeyValue::new(key.clone(), value.clone()));
        self.0
            .set_resource(&Resource::builder_empty().with_attributes(kept).build())
    }
}

/// `cloud.provider` (semantic convention).
const CLOUD_PROVIDER: &str = "cloud.provider";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_daemon_address_accepts_both_lambda_forms() {
        let parse = |value: &str| {
            temp_env::with_var(env::AWS_XRAY_DAEMON_ADDRESS, Some(value), || {
                daemon_address(None)
            })
        };
        assert_eq!(parse("127.0.0.1:2000").unwrap().port(), 2000);
        assert_eq!(
            parse("udp:169.254.79.129:2000 tcp:169.254.79.129:2000").unwrap(),
            "169.254.79.129:2000".parse::<SocketAddr>().unwrap()
        );
        assert!(parse("nowhere").is_err());
    }
}
