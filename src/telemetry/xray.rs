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
//! The catalog's `indexed_attributes` (`perf.handler`, `perf.outcome`)
//! become annotations, so traces are searchable by handler and outcome;
//! every other attribute goes to metadata. Spans pass the privacy processor
//! before they reach this exporter, like every other.

use std::net::SocketAddr;

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
pub(crate) fn exporter(
    addr: SocketAddr,
    indexed: &[String],
) -> Result<XrayExporter<XrayDaemonClient>, BuildError> {
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
    Ok(XrayExporter::new(client).with_translator(translator))
}

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
