//! Segment documents written straight from span data.
//!
//! `opentelemetry-aws`'s translator builds a tree of builders for every
//! span, dispatches every resource attribute again for every span through a
//! hashed table, then serialises the tree. The spans of a Lambda function
//! (its invocation, its operations, its AWS calls) carry a handful of
//! well-known keys, so [`DocumentWriter`] writes their documents in one
//! pass per span, with the resource's share rendered once. It writes what
//! the translator writes, byte for byte (`differential_tests/` holds it to
//! that); a batch holding anything else it does not write
//! ([`Declined`]), and the exporter hands that batch to the translator.

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{SpanId, SpanKind, Status, TraceId};
use opentelemetry::{KeyValue, StringValue};
use opentelemetry_sdk::trace::SpanData;

use super::attributes::{self, Declined, Fields, Kind};
use super::nesting;
use super::render::{self, Batch, Rendered};
use super::span_plan::Plan;

/// Writes segment documents for the spans it covers.
#[derive(Debug)]
pub(crate) struct DocumentWriter {
    /// Attributes written as annotations, sorted.
    indexed: Vec<String>,
    /// Log groups written when no span or resource names any.
    log_groups: Vec<StringValue>,
    resource: Vec<KeyValue>,
    /// The resource's annotations and metadata, for segments and for
    /// subsegments; `None` when the resource has a key only the translator
    /// writes.
    rendered: Option<[Rendered; 2]>,
}

/// The header every datagram to the X-Ray daemon starts with.
pub(super) const DAEMON_HEADER: &[u8] = b"{\"format\": \"json\", \"version\": 1}\n";

fn seconds(time: SystemTime) -> Result<f64, Declined> {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .map_err(|_| Declined)
}

impl DocumentWriter {
    /// A writer annotating `indexed` attributes, naming `log_groups` when
    /// no attribute does.
    pub(crate) fn new(indexed: &[String], log_groups: Vec<String>) -> Self {
        let mut indexed = indexed.to_vec();
        indexed.sort();
        indexed.dedup();
        let mut writer = DocumentWriter {
            indexed,
            log_groups: log_groups.into_iter().map(StringValue::from).collect(),
            resource: Vec::new(),
            rendered: None,
        };
        writer.set_resource(Vec::new());
        writer
    }

    /// Takes the resource every document carries.
    pub(crate) fn set_resource(&mut self, resource: Vec<KeyValue>) {
        self.resource = resource;
        self.rendered = self
            .render_resource(Kind::Segment)
            .and_then(|segment| Ok([segment, self.render_resource(Kind::Subsegment)?]))
            .ok();
    }

    fn render_resource(&self, kind: Kind) -> Result<Rendered, Declined> {
        let mut fields = Fields::default();
        let mut rendered = Rendered::default();
        for kv in &self.resource {
            let (annotate, describe) = self.route(&mut fields, kind, kv)?;
            if annotate {
                let out = &mut rendered.annotations;
                let mut first = out.is_empty();
                render::annotation(out, &mut first, kv);
                rendered.annotation_count += 1;
            }
            if describe {
                let mut first = rendered.metadata.is_empty();
                render::metadata(&mut rendered.metadata, &mut first, kv);
            }
        }
        Ok(rendered)
    }

    /// The resource's fields for `kind`.
    fn resource_fields(
        &self,
        kind: Kind,
        rendered: &[Rendered; 2],
    ) -> Result<Fields<'_>, Declined> {
        let rendered = &rendered[kind as usize];
        let mut fields = Fields::default();
        for kv in &self.resource {
            fields.apply(kind, kv.key.as_str(), &kv.value)?;
        }
        fields.annotations = rendered.annotation_count;
        Ok(fields)
    }

    /// Where an attribute goes: (annotation, metadata), as the translator
    /// routes it with every attribute in metadata unless written elsewhere.
    fn route<'a>(
        &self,
        fields: &mut Fields<'a>,
        kind: Kind,
        kv: &'a KeyValue,
    ) -> Result<(bool, bool), Declined> {
        let key = kv.key.as_str();
        let mut written = fields.apply(kind, key, &kv.value)?;
        let mut annotate = false;
        if self
            .indexed
            .binary_search_by(|s| s.as_str().cmp(key))
            .is_ok()
        {
            written = attributes::annotation_value(&kv.value)
                && attributes::annotation_fits(fields.annotations, key, &kv.value)?;
            if written {
                fields.annotations += 1;
                annotate = true;
            }
        }
        Ok((annotate, !written && attributes::metadata_value(&kv.value)))
    }

    fn plan<'a>(
        &'a self,
        span: &'a SpanData,
        base: &[Fields<'a>; 2],
    ) -> Result<Plan<'a>, Declined> {
        if span.span_context.span_id() == SpanId::INVALID
            || matches!(span.status, Status::Error { .. })
            || span
                .events
                .events
                .iter()
                .any(|e| e.name == "exception" || e.name == "HTTP request failure")
            || span.attributes.len() > 64
        {
            return Err(Declined);
        }
        let kind = match span.span_kind {
            SpanKind::Server => Kind::Segment,
            _ => Kind::Subsegment,
        };
        let mut fields = base[kind as usize];
        let (mut annotations, mut metadata) = (0u64, 0u64);
        for (n, kv) in span.attributes.iter().enumerate() {
            let (annotate, describe) = self.route(&mut fields, kind, kv)?;
            annotations |= u64::from(annotate) << n;
            metadata |= u64::from(describe) << n;
        }
        let name = if let (true, Some(service)) = (fields.rpc_aws, fields.rpc_service) {
            service
        } else if let (Kind::Segment, Some(service)) = (kind, fields.service_name) {
            service
        } else {
            span.name.as_ref()
        };
        let (start, end) = (seconds(span.start_time)?, seconds(span.end_time)?);
        if !attributes::name_fits(kind, name)? || end < start {
            return Err(Declined);
        }
        Ok(Plan {
            span,
            kind,
            name,
            fields,
            annotations,
            metadata,
            start,
            end,
        })
    }

    /// Writes the documents of `batch`, each after [`DAEMON_HEADER`] in
    /// `out`, and passes each datagram of at most `limit` bytes to `send`.
    /// A document over the limit is split, one document per span; a span
    /// whose own document is over it is dropped. A failed send never stops
    /// the rest of the batch. `Err(Declined)` (before anything is sent)
    /// when a span needs the translator.
    pub(crate) fn write<E>(
        &self,
        batch: &[SpanData],
        out: &mut Vec<u8>,
        limit: usize,
        mut send: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<Written<E>, Declined> {
        if batch
            .iter()
            .any(|s| s.span_context.trace_id() == TraceId::INVALID)
        {
            return Err(Declined);
        }
        let rendered = self.rendered.as_ref().ok_or(Declined)?;
        let base = [
            self.resource_fields(Kind::Segment, rendered)?,
            self.resource_fields(Kind::Subsegment, rendered)?,
        ];
        let plans = batch
            .iter()
            .map(|span| self.plan(span, &base))
            .collect::<Result<Vec<_>, _>>()?;
        let placement = nesting::place(&plans)?;
        let batch = Batch {
            plans: &plans,
            placement: &placement,
            rendered,
            log_groups: &self.log_groups,
        };
        let mut written = Written {
            sent: 0,
            lost: 0,
            error: None,
        };
        for &top in placement.order() {
            if placement.parent(top).is_some() {
                continue;
            }
            out.clear();
            out.extend_from_slice(DAEMON_HEADER);
            render::document(out, &batch, top, true);
            let spans = placement.subtree(top);
            if out.len() <= limit {
                written.settle(spans.len(), send(out));
                continue;
            }
            for i in spans {
                out.clear();
                out.extend_from_slice(DAEMON_HEADER);
                render::alone(out, &batch, i);
                if out.len() <= limit {
                    written.settle(1, send(out));
                } else {
                    written.lost += 1;
                }
            }
        }
        Ok(written)
    }
}

/// What [`DocumentWriter::write`] did with a batch.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Written<E> {
    /// Spans whose documents were sent.
    pub sent: usize,
    /// Spans dropped: too large for a datagram, or their send failed.
    pub lost: usize,
    /// The first failed send's error.
    pub error: Option<E>,
}

impl<E> Written<E> {
    /// Counts `spans` sent, or lost with `result`'s error.
    fn settle(&mut self, spans: usize, result: Result<(), E>) {
        match result {
            Ok(()) => self.sent += spans,
            Err(e) => {
                self.lost += spans;
                self.error.get_or_insert(e);
            }
        }
    }
}
