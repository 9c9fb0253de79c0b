//! The EMF exporter: metrics as CloudWatch Embedded Metric Format JSON
//! lines, which Lambda's log pipeline turns into CloudWatch metrics with no
//! collector and no API call.
//!
//! Specification: "Specification: Embedded metric format", Amazon CloudWatch
//! User Guide
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>).
//! Each line is a JSON object with
//! - `_aws.Timestamp` (ms since the epoch) and `_aws.CloudWatchMetrics`: one
//!   directive per distinct dimension-set list, each with the `Namespace`,
//!   the `Dimensions` exactly as the catalog declares them (never "all
//!   attributes"), and at most 100 `Metrics`, each with its CloudWatch
//!   `Unit` (standard resolution, the default, so no `StorageResolution`);
//! - one root string field per dimension, one root field per metric value;
//! - `traceId` and `requestId` of the invocation: root fields that are not
//!   dimensions, for log correlation.
//!
//! **Distributions.** Histograms are written in the `Values`/`Counts` form
//! the collector's `awsemf` exporter emits for exponential histograms
//! (opentelemetry-collector-contrib,
//! `exporter/awsemfexporter/datapoint.go`, `exponentialHistogramDataPointSlice`):
//! each non-empty bucket becomes its midpoint with its count, plus `Max`,
//! `Min`, `SampleCount` and `Sum`. CloudWatch computes percentiles from these
//! value/count pairs; with the catalog views' histograms (scale 6 at most,
//! 1024 buckets) a bucket is at most 1.1 % wide up to a range of 16
//! octaves, so a midpoint is within 0.55 % of every value in it
//! (`tests/emf.rs` checks p50/p90/p99 within 1 %).
//! A metric value holds at most 100 pairs; more are split across lines whose
//! counts and sums add up to the whole.
//!
//! **Validation.** CloudWatch drops invalid EMF silently, so every point is
//! checked before writing (names, units, dimension counts and values,
//! finite values). What fails is dropped and counted, logged once, and never
//! panics.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod json;
mod merge;
mod significant;

use crate::catalog::{valid_dimension_value, Catalog};
use crate::names;
use crate::telemetry::data::points::{metric_points, PointValue};
use json::Datum;
use merge::{drop_unchanged_loss, merge, LossReported};
use opentelemetry::KeyValue;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;

/// Most metrics in one directive (EMF specification).
pub const MAX_METRICS_PER_DIRECTIVE: usize = 100;
/// Most dimensions in one dimension set (EMF specification).
pub const MAX_DIMENSIONS_PER_SET: usize = 30;
/// Most values in one metric's value array (EMF specification).
pub const MAX_VALUES_PER_METRIC: usize = 100;
/// Longest line written. CloudWatch Logs accepts events up to 256 KiB; an
/// EMF line is kept far below.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// The invocation the current lines belong to, for log correlation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invocation {
    /// X-Ray trace id, `1-xxxxxxxx-yyyyyyyyyyyyyyyyyyyyyyyy`.
    pub trace_id: Option<String>,
    /// Lambda request id.
    pub request_id: Option<String>,
}

/// Shared slot the Lambda layer fills before each flush.
pub(crate) type InvocationSlot = Arc<Mutex<Invocation>>;

/// Counts of what the exporter wrote and dropped.
#[derive(Debug, Default)]
pub(crate) struct EmfCounters {
    pub lines: AtomicU64,
    pub dropped: AtomicU64,
    logged: AtomicBool,
}

struct Spec {
    dimensions: Vec<Vec<String>>,
    /// `"Dimensions":[[...],...]`, rendered once.
    dimensions_json: String,
    /// `{"Name":...,"Unit":...}`, rendered once. `StorageResolution` is left
    /// out: standard (60 s) resolution is its default.
    metric_json: String,
}

/// The EMF push exporter.
pub(crate) struct EmfExporter {
    writer: Mutex<Box<dyn Write + Send>>,
    namespace: String,
    specs: BTreeMap<String, Spec>,
    invocation: InvocationSlot,
    counters: Arc<EmfCounters>,
    /// `TelemetryLost` values last written, by dimensions, with when.
    loss_reported: Mutex<LossReported>,
}

/// A metric's name, catalog entry and value, on its way to a line.
type Metric<'a> = (&'a str, Datum, &'a Spec);

/// A point's dimensions, sorted by key, borrowed from the export's data
/// (a value that is not a string is formatted).
pub(crate) type Dimensions<'a> = Vec<(&'a str, Cow<'a, str>)>;

impl std::fmt::Debug for EmfExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmfExporter")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl EmfExporter {
    pub(crate) fn new(
        writer: Box<dyn Write + Send>,
        catalog: &Catalog,
        namespace: &str,
        invocation: InvocationSlot,
        counters: Arc<EmfCounters>,
    ) -> Self {
        let specs = catalog
            .metrics()
            .iter()
            .map(|m| {
                let spec = Spec {
                    dimensions: m.dimensions.clone(),
                    dimensions_json: format!(
                        "\"Dimensions\":{}",
                        serde_json::to_string(&m.dimensions).expect("strings serialize")
                    ),
                    metric_json: format!(
                        "{{\"Name\":{},\"Unit\":\"{}\"}}",
                        serde_json::to_string(&m.name).expect("strings serialize"),
                        m.unit.cloudwatch()
                    ),
                };
                (m.name.clone(), spec)
            })
            .collect();
        EmfExporter {
            writer: Mutex::new(writer),
            namespace: namespace.to_owned(),
            specs,
            invocation,
            counters,
            loss_reported: Mutex::new(LossReported::new()),
        }
    }

    fn drop_point(&self, why: &str, metric: &str) {
        self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        if !self.counters.logged.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                metric,
                why,
                "invalid EMF point dropped; later ones are only counted"
            );
        }
    }

    /// Renders one export as EMF lines, each ended by a newline, into
    /// `out`; returns how many.
    pub(crate) fn render(
        &self,
        metrics: &ResourceMetrics,
        timestamp_ms: u64,
        out: &mut String,
    ) -> usize {
        // Points grouped by their exact attributes: one line (or more) each.
        let mut groups: BTreeMap<Dimensions<'_>, Vec<Metric<'_>>> = BTreeMap::new();
        for point in metric_points(metrics) {
            let name = point.name;
            let Some(spec) = self.specs.get(name) else {
                self.drop_point("not declared in the catalog", name);
                continue;
            };
            let datum = match point.value {
                PointValue::Sum(v) | PointValue::Gauge(v) => Datum::Single(v),
                PointValue::Distribution(d) => Datum::Distribution(d),
                _ => {
                    self.drop_point("not a sum, gauge or exponential histogram", name);
                    continue;
                }
            };
            match self.validate(name, spec, &point.attributes, &datum) {
                Ok(dims) => groups.entry(dims).or_default().push((name, datum, spec)),
                Err(why) => self.drop_point(why, name),
            }
        }
        let groups = {
            let mut reported = self.loss_reported.lock().unwrap_or_else(|e| e.into_inner());
            drop_unchanged_loss(&mut reported, groups, timestamp_ms)
        };
        let invocation = self.invocation.lock().unwrap_or_else(|e| e.into_inner());
        let mut lines = 0;
        for (dims, data) in merge(groups) {
            // Each metric's value(s): a distribution of more than 100 pairs
            // takes one line per chunk.
            let chunks = data.iter().map(|(_, d, _)| d.chunks()).max().unwrap_or(0);
            for i in 0..chunks {
                let chunk: Vec<&Metric<'_>> =
                    data.iter().filter(|(_, d, _)| d.chunks() > i).collect();
                for batch in chunk.chunks(MAX_METRICS_PER_DIRECTIVE) {
                    let start = out.len();
                    self.line(out, &dims, batch, i, timestamp_ms, &invocation);
                    if out.len() - start > MAX_LINE_BYTES {
                        out.truncate(start);
                        self.drop_point("line too long", "(line)");
                    } else {
                        out.push('\n');
                        lines += 1;
                    }
                }
            }
        }
        lines
    }

    /// Checks a point; returns its dimensions sorted by key.
    fn validate<'a>(
        &self,
        name: &str,
        spec: &Spec,
        attrs: &[&'a KeyValue],
        datum: &Datum,
    ) -> Result<Dimensions<'a>, &'static str> {
        if name.is_empty() || name.len() > 255 || !name.is_ascii() {
            return Err("invalid metric name");
        }
        let finite = match datum {
            Datum::Single(v) => v.is_finite(),
            Datum::Distribution(d) => {
                d.pairs.iter().all(|(v, _)| v.is_finite())
                    && d.min.is_finite()
                    && d.max.is_finite()
                    && d.sum.is_finite()
            }
        };
        if !finite {
            return Err("non-finite value");
        }
        let mut dims: Dimensions<'a> = attrs
            .iter()
            .map(|kv| {
                let value = match &kv.value {
                    opentelemetry::Value::String(s) => Cow::Borrowed(s.as_str()),
                    other => Cow::Owned(other.to_string()),
                };
                (kv.key.as_str(), value)
            })
            .collect();
        dims.sort();
        for set in &spec.dimensions {
            if set.is_empty() || set.len() > MAX_DIMENSIONS_PER_SET {
                return Err("dimension set size out of range");
            }
            for key in set {
                match dims.iter().find(|(k, _)| k == key) {
                    None => return Err("a declared dimension is missing"),
                    Some((_, v)) if !valid_dimension_value(v) => {
                        return Err("a dimension value CloudWatch refuses")
                    }
                    Some(_) => {}
                }
            }
        }
        if dims.iter().any(|(k, _)| names::EMF_FIELDS.contains(k)) {
            return Err("reserved field used as a dimension");
        }
        Ok(dims)
    }

    /// Writes one line straight into `out`: no JSON value tree, since this
    /// runs at the end of every invocation. `chunk` picks each metric's
    /// value when a distribution is split.
    fn line(
        &self,
        out: &mut String,
        dims: &[(&str, Cow<'_, str>)],
        metrics: &[&Metric<'_>],
        chunk: usize,
        timestamp_ms: u64,
        invocation: &Invocation,
    ) {
        // One directive per distinct list of dimension sets, in the order of
        // their JSON (a stable sort keeps the metrics' order within one).
        let mut specs: Vec<&Spec> = metrics.iter().map(|(_, _, spec)| *spec).collect();
        specs.sort_by(|a, b| a.dimensions_json.cmp(&b.dimensions_json));
        out.push_str("{\"_aws\":{\"Timestamp\":");
        out.push_str(itoa::Buffer::new().format(timestamp_ms));
        out.push_str(",\"CloudWatchMetrics\":[");
        for (i, directive) in specs
            .chunk_by(|a, b| a.dimensions_json == b.dimensions_json)
            .enumerate()
        {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"Namespace\":");
            crate::json::string(out, &self.namespace);
            out.push(',');
            out.push_str(&directive[0].dimensions_json);
            out.push_str(",\"Metrics\":[");
            for (j, spec) in directive.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                out.push_str(&spec.metric_json);
            }
            out.push_str("]}");
        }
        out.push_str("]}");
        for (key, value) in dims {
            out.push(',');
            crate::json::string(out, key);
            out.push(':');
            crate::json::string(out, value);
        }
        for (name, datum, _) in metrics {
            out.push(',');
            crate::json::string(out, name);
            out.push(':');
            datum.push_chunk(out, chunk);
        }
        for (key, value) in [
            ("traceId", &invocation.trace_id),
            ("requestId", &invocation.request_id),
        ] {
            if let Some(value) = value {
                out.push(',');
                crate::json::string(out, key);
                out.push(':');
                crate::json::string(out, value);
            }
        }
        out.push('}');
    }
}

impl PushMetricExporter for EmfExporter {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let now = crate::clock::now_ms().max(0) as u64;
        let mut text = String::with_capacity(4096);
        let lines = self.render(metrics, now, &mut text);
        if lines == 0 {
            return Ok(());
        }
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        writer
            .write_all(text.as_bytes())
            .and_then(|_| writer.flush())
            .map_err(|e| OTelSdkError::InternalFailure(e.to_string()))?;
        self.counters
            .lines
            .fetch_add(lines as u64, Ordering::Relaxed);
        Ok(())
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        Temporality::Delta
    }
}
