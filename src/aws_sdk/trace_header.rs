//! The X-Ray trace header of a span context, as AWS services read it from
//! `X-Amzn-Trace-Id` and from SQS's `AWSTraceHeader`:
//! `Root=1-xxxxxxxx-yyyyyyyyyyyyyyyyyyyyyyyy;Parent=zzzzzzzzzzzzzzzz;Sampled=1`.

use opentelemetry::trace::SpanContext;

use crate::telemetry::data::ids::{span_hex, xray_form};

/// The header naming `context` as the parent; `None` for an invalid one.
pub(super) fn xray_header(context: &SpanContext) -> Option<String> {
    if !context.is_valid() {
        return None;
    }
    let mut out = *b"Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0";
    out[5..40].copy_from_slice(&xray_form(context.trace_id()));
    out[48..64].copy_from_slice(&span_hex(context.span_id()));
    if context.is_sampled() {
        out[73] = b'1';
    }
    // Hex digits and ASCII punctuation only.
    String::from_utf8(out.to_vec()).ok()
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanId, TraceFlags, TraceId, TraceState};

    use super::*;

    #[test]
    fn the_header_is_the_one_the_xray_propagator_reads() {
        let context = SpanContext::new(
            TraceId::from_hex("5759e988bd862e3fe1be46a994272793").unwrap(),
            SpanId::from_hex("53995c3f42cd8ad8").unwrap(),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        );
        let header = xray_header(&context).unwrap();
        assert_eq!(
            header,
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
        );
        use opentelemetry::propagation::TextMapPropagator;
        use opentelemetry::trace::TraceContextExt;
        let carrier = std::collections::HashMap::from([("x-amzn-trace-id".to_owned(), header)]);
        let read = opentelemetry_aws::trace::XrayPropagator::default()
            .extract(&carrier)
            .span()
            .span_context()
            .clone();
        assert_eq!(read.trace_id(), context.trace_id());
        assert_eq!(read.span_id(), context.span_id());
        assert!(read.is_sampled());
        assert_eq!(xray_header(&SpanContext::empty_context()), None);
    }
}
