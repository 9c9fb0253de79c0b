//! Writing a planned batch's documents: the fields in the order the
//! translator's serialisation writes them, subsegments nested, precursors
//! listed.

use opentelemetry::trace::{SpanId, SpanKind};
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::SpanData;

use opentelemetry::StringValue;

use super::attributes::{self, Fields, Kind};
use super::json;
use super::nesting::Placement;
use super::span_plan::Plan;

/// The resource's share of a document, written once.
#[derive(Debug, Default)]
pub(super) struct Rendered {
    /// `"key":value` pairs, comma-separated.
    pub annotations: Vec<u8>,
    pub annotation_count: usize,
    pub metadata: Vec<u8>,
}

/// Writes span `i`'s document (`top`: a document of its own, not nested).
pub(super) fn document(out: &mut Vec<u8>, batch: &Batch<'_, '_>, i: usize, top: bool) {
    write(out, batch, i, top, true)
}

/// Writes span `i`'s document on its own, without the spans nested in it
/// (each goes in a document of its own): for a document too large for
/// one datagram.
pub(super) fn alone(out: &mut Vec<u8>, batch: &Batch<'_, '_>, i: usize) {
    write(out, batch, i, true, false)
}

/// Span `i`'s document, with (`nest`) or without the spans nested in it.
fn write(out: &mut Vec<u8>, batch: &Batch<'_, '_>, i: usize, top: bool, nest: bool) {
    let Batch {
        plans,
        placement,
        rendered,
        ..
    } = *batch;
    let plan = &plans[i];
    let span = plan.span;
    let fields = &plan.fields;
    let subsegment = plan.kind == Kind::Subsegment;
    out.push(b'{');
    if top && subsegment {
        out.extend_from_slice(b"\"type\":\"subsegment\",");
    }
    out.extend_from_slice(b"\"name\":");
    crate::json::string(out, plan.name);
    out.extend_from_slice(b",\"id\":");
    json::id(out, span.span_context.span_id());
    if top {
        out.extend_from_slice(b",\"trace_id\":");
        json::trace_id(out, span.span_context.trace_id());
    }
    out.extend_from_slice(b",\"start_time\":");
    json::float(out, plan.start);
    out.extend_from_slice(b",\"end_time\":");
    json::float(out, plan.end);
    if let Some(user) = shown(fields.user) {
        out.extend_from_slice(b",\"user\":");
        crate::json::string(out, user);
    }
    if top && span.parent_span_id != SpanId::INVALID {
        out.extend_from_slice(b",\"parent_id\":");
        json::id(out, span.parent_span_id);
    }
    if subsegment {
        if fields.rpc_aws {
            out.extend_from_slice(b",\"namespace\":\"aws\"");
        } else if span.span_kind == SpanKind::Client {
            out.extend_from_slice(b",\"namespace\":\"remote\"");
        }
    }
    http(out, fields);
    aws(out, plan);
    let groups = fields.log_groups.unwrap_or(batch.log_groups);
    if attributes::shown(groups) {
        out.extend_from_slice(b",\"cloudwatch_logs\":{\"log_group\":[");
        json::strings(out, groups);
        out.extend_from_slice(b"]}");
    }
    let rendered = &rendered[plan.kind as usize];
    entries(
        out,
        b"annotations",
        &rendered.annotations,
        span,
        plan.annotations,
        annotation,
    );
    entries(
        out,
        b"metadata",
        &rendered.metadata,
        span,
        plan.metadata,
        metadata,
    );
    let mut children = placement.children(i).filter(|_| nest).peekable();
    if children.peek().is_some() {
        out.extend_from_slice(b",\"subsegments\":[");
        json::list(out, children, |out, child| {
            document(out, batch, child, false)
        });
        out.push(b']');
    }
    let mut precursors = placement.precursors(i).peekable();
    if precursors.peek().is_some() {
        out.extend_from_slice(b",\"precursor_ids\":[");
        json::list(out, precursors, |out, p| {
            json::id(out, plans[p].span.span_context.span_id())
        });
        out.push(b']');
    }
    links(out, span);
    out.push(b'}');
}

/// Writes `"links"`, the span's links as the collector's `awsxray`
/// exporter writes them (`makeSpanLinks`): each linked trace in X-Ray's
/// form, the linked span, and the link's attributes. X-Ray draws a linked
/// trace's producer, through its queue, to this consumer. `opentelemetry-aws`'s
/// translator writes none; this writer adds them.
fn links(out: &mut Vec<u8>, span: &SpanData) {
    if span.links.links.is_empty() {
        return;
    }
    out.extend_from_slice(b",\"links\":[");
    json::list(out, &span.links.links, |out, link| {
        out.extend_from_slice(b"{\"trace_id\":");
        json::trace_id(out, link.span_context.trace_id());
        out.extend_from_slice(b",\"id\":");
        json::id(out, link.span_context.span_id());
        if !link.attributes.is_empty() {
            out.extend_from_slice(b",\"attributes\":{");
            let mut first = true;
            for kv in &link.attributes {
                json::key(out, &mut first, kv.key.as_str());
                json::value(out, &kv.value);
            }
            out.push(b'}');
        }
        out.push(b'}');
    });
    out.push(b']');
}

/// Writes `"http"`, when a request method or a response status is known.
fn http(out: &mut Vec<u8>, fields: &Fields<'_>) {
    let method = shown(fields.method);
    if method.is_none() && fields.status.is_none() {
        return;
    }
    out.extend_from_slice(b",\"http\":{");
    if let Some(method) = method {
        out.extend_from_slice(b"\"request\":{\"method\":");
        crate::json::string(out, method);
        out.push(b'}');
    }
    if let Some(status) = fields.status {
        if method.is_some() {
            out.push(b',');
        }
        out.extend_from_slice(b"\"response\":{\"status\":");
        json::integer(out, i64::from(status));
        out.push(b'}');
    }
    out.push(b'}');
}

/// Writes `"aws"`.
fn aws(out: &mut Vec<u8>, plan: &Plan<'_>) {
    let fields = &plan.fields;
    out.extend_from_slice(b",\"aws\":{");
    if let Some(account) = shown(fields.account_id) {
        out.extend_from_slice(b"\"account_id\":");
        crate::json::string(out, account);
        out.push(b',');
    }
    out.extend_from_slice(b"\"xray\":{\"sdk\":");
    json::string_of(
        out,
        [
            fields.sdk_name.unwrap_or("opentelemetry"),
            " for ",
            fields.sdk_language.unwrap_or("rust"),
        ],
    );
    if let Some(version) = shown(fields.sdk_version) {
        out.extend_from_slice(b",\"sdk_version\":");
        crate::json::string(out, version);
    }
    out.push(b'}');
    if plan.kind == Kind::Subsegment {
        if let Some(operation) = shown(fields.rpc_method) {
            out.extend_from_slice(b",\"operation\":");
            crate::json::string(out, operation);
        }
    }
    for (name, value) in [
        (&b",\"region\":"[..], fields.region),
        (b",\"request_id\":", fields.request_id),
        (b",\"table_name\":", fields.table_name),
    ] {
        if let Some(value) = shown(value) {
            out.extend_from_slice(name);
            crate::json::string(out, value);
        }
    }
    if let Some(names) = fields.table_names.filter(|n| attributes::shown(n)) {
        out.extend_from_slice(b",\"table_names\":[");
        json::strings(out, names);
        out.push(b']');
    }
    out.push(b'}');
}

/// Writes `"annotations"` or `"metadata"`: the resource's share, then
/// the span's attributes whose bit is set in `mask`, each by `entry`.
fn entries(
    out: &mut Vec<u8>,
    name: &[u8],
    resource: &[u8],
    span: &SpanData,
    mask: u64,
    entry: fn(&mut Vec<u8>, &mut bool, &KeyValue),
) {
    if resource.is_empty() && mask == 0 {
        return;
    }
    out.extend_from_slice(b",\"");
    out.extend_from_slice(name);
    out.extend_from_slice(b"\":{");
    out.extend_from_slice(resource);
    let mut first = resource.is_empty();
    for (n, kv) in span.attributes.iter().enumerate() {
        if mask >> n & 1 == 1 {
            entry(out, &mut first, kv);
        }
    }
    out.push(b'}');
}

/// A field's value when the translator writes it: set and not empty.
fn shown(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.is_empty())
}

/// A planned batch, as its documents are written.
pub(super) struct Batch<'p, 'a> {
    pub plans: &'p [Plan<'a>],
    pub placement: &'p Placement,
    pub rendered: &'p [Rendered; 2],
    /// Log groups written when no span or resource names any.
    pub log_groups: &'p [StringValue],
}

/// Writes an annotation, its key with every character outside
/// `[a-zA-Z0-9_]` replaced by `_`, as X-Ray requires.
pub(super) fn annotation(out: &mut Vec<u8>, first: &mut bool, kv: &KeyValue) {
    if !std::mem::take(first) {
        out.push(b',');
    }
    out.push(b'"');
    out.extend(kv.key.as_str().bytes().map(|b| {
        if b.is_ascii_alphanumeric() || b == b'_' {
            b
        } else {
            b'_'
        }
    }));
    out.extend_from_slice(b"\":");
    json::value(out, &kv.value);
}

/// Writes a metadata entry: the attribute's key and value.
pub(super) fn metadata(out: &mut Vec<u8>, first: &mut bool, kv: &KeyValue) {
    json::key(out, first, kv.key.as_str());
    json::value(out, &kv.value);
}
