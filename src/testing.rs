//! Test telemetry: a real [`Telemetry`] whose exporters are the SDK's
//! in-memory ones, wired through [`TelemetryBuilder`] exactly as perfmon
//! wires the real exporters, and flat views of what reached them; as
//! `opentelemetry_sdk`'s own `testing` feature, for a function's tests.
//!
//! ```
//! use perfmon_lambda::testing::{TestTelemetry, Value};
//!
//! let t = TestTelemetry::new();
//! t.monitor.start("checkout", []).complete(true, []);
//! let invocations = t.points_named("Invocations");
//! assert_eq!(invocations[0].value, Value::Sum(1));
//! assert_eq!(t.span("checkout").name, "checkout");
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::trace::SpanKind;
use opentelemetry_sdk::metrics::{
    InMemoryMetricExporter, InMemoryMetricExporterBuilder, Temporality,
};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};

use crate::catalog::Catalog;
use crate::monitor::PerformanceMonitor;
use crate::telemetry::{metric_points, PointValue, Telemetry, TelemetryBuilder};

/// A [`Telemetry`] on in-memory exporters, and the monitor on it.
pub struct TestTelemetry {
    /// The pipeline, as a function's would be built.
    pub telemetry: Arc<Telemetry>,
    /// The monitor on it.
    pub monitor: PerformanceMonitor,
    spans: InMemorySpanExporter,
    metrics: InMemoryMetricExporter,
}

/// One exported metric point, flattened.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// The metric's name.
    pub name: String,
    /// Its unit.
    pub unit: String,
    /// Its attributes (the CloudWatch dimensions), as strings.
    pub attributes: BTreeMap<String, String>,
    /// Its value, summed over exports.
    pub value: Value,
}

/// A point's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A counter's total.
    Sum(u64),
    /// The latest value.
    Gauge(u64),
    /// count, sum, min, max
    Histogram(u64, f64, f64, f64),
}

impl TestTelemetry {
    /// On the core catalog alone: the library's own metrics.
    pub fn new() -> Self {
        Self::with_catalog(Catalog::default())
    }

    /// On `catalog`: its operations, thresholds and metrics.
    pub fn with_catalog(catalog: Catalog) -> Self {
        Self::with(|b| b.with_catalog(catalog))
    }

    /// Built as `configure` sets up the builder, after the in-memory
    /// exporters and the `test` environment are wired in.
    pub fn with(configure: impl FnOnce(TelemetryBuilder) -> TelemetryBuilder) -> Self {
        let spans = InMemorySpanExporter::default();
        let metrics = InMemoryMetricExporterBuilder::new()
            .with_temporality(Temporality::Delta)
            .build();
        let builder = Telemetry::builder()
            .with_environment("test")
            .with_span_exporter(spans.clone())
            .with_metric_exporter(metrics.clone());
        let telemetry = Arc::new(configure(builder).build().expect("telemetry builds"));
        let monitor = PerformanceMonitor::new(&telemetry);
        TestTelemetry {
            telemetry,
            monitor,
            spans,
            metrics,
        }
    }

    fn flush(&self) {
        self.telemetry
            .force_flush(Duration::from_secs(5))
            .expect("in-memory flush succeeds");
    }

    /// Spans the pipeline exported on its own, without a flush from here.
    pub fn exported_spans(&self) -> Vec<SpanData> {
        self.spans.get_finished_spans().unwrap()
    }

    /// Every span finished so far.
    pub fn spans(&self) -> Vec<SpanData> {
        self.flush();
        self.spans.get_finished_spans().unwrap()
    }

    /// The only span called `name`.
    pub fn span(&self, name: &str) -> SpanData {
        let mut found: Vec<_> = self
            .spans()
            .into_iter()
            .filter(|s| s.name == name)
            .collect();
        assert_eq!(found.len(), 1, "exactly one span {name}");
        found.remove(0)
    }

    /// Every metric point exported so far (Delta: summed over exports).
    pub fn points(&self) -> Vec<Point> {
        self.flush();
        let mut out: Vec<Point> = Vec::new();
        for rm in self.metrics.get_finished_metrics().unwrap() {
            for exported in metric_points(&rm) {
                let point = Point {
                    name: exported.name.to_owned(),
                    unit: exported.unit.to_owned(),
                    attributes: attrs(exported.attributes.into_iter()),
                    value: value_of(exported.value),
                };
                match out
                    .iter_mut()
                    .find(|p| p.name == point.name && p.attributes == point.attributes)
                {
                    Some(existing) => existing.value = merge(&existing.value, &point.value),
                    None => out.push(point),
                }
            }
        }
        out
    }

    /// Attributes of the resource the metrics were exported with.
    pub fn resource(&self) -> BTreeMap<String, String> {
        self.flush();
        let exported = self.metrics.get_finished_metrics().unwrap();
        let first = exported.first().expect("something was exported");
        first
            .resource()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// How many points of metric `name` each export so far held, in order.
    pub fn points_per_export(&self, name: &str) -> Vec<usize> {
        self.flush();
        self.metrics
            .get_finished_metrics()
            .unwrap()
            .iter()
            .map(|rm| metric_points(rm).filter(|p| p.name == name).count())
            .collect()
    }

    /// Points of metric `name`.
    pub fn points_named(&self, name: &str) -> Vec<Point> {
        self.points()
            .into_iter()
            .filter(|p| p.name == name)
            .collect()
    }
}

impl Default for TestTelemetry {
    fn default() -> Self {
        Self::new()
    }
}

fn merge(a: &Value, b: &Value) -> Value {
    match (a, b) {
        (Value::Sum(x), Value::Sum(y)) => Value::Sum(x + y),
        (Value::Gauge(_), Value::Gauge(y)) => Value::Gauge(*y),
        (Value::Histogram(c1, s1, n1, x1), Value::Histogram(c2, s2, n2, x2)) => {
            Value::Histogram(c1 + c2, s1 + s2, n1.min(*n2), x1.max(*x2))
        }
        _ => panic!("a metric changed kind"),
    }
}

fn attrs<'a>(kvs: impl Iterator<Item = &'a opentelemetry::KeyValue>) -> BTreeMap<String, String> {
    kvs.map(|kv| (kv.key.to_string(), kv.value.to_string()))
        .collect()
}

fn value_of(value: PointValue) -> Value {
    match value {
        PointValue::Sum(v) => Value::Sum(v as u64),
        PointValue::Gauge(v) => Value::Gauge(v as u64),
        PointValue::Distribution(d) => Value::Histogram(d.count, d.sum, d.min, d.max),
        other => panic!("unexpected point {other:?}"),
    }
}

/// The span's attributes as strings.
pub fn span_attrs(span: &SpanData) -> BTreeMap<String, String> {
    attrs(span.attributes.iter())
}

/// Dimensions as a map, for comparisons.
pub fn dims(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A context whose parent is a remote span of trace `trace_id` (hex), as
/// a propagator extracts it from an incoming request.
pub fn remote_parent(trace_id: &str, sampled: bool) -> opentelemetry::Context {
    use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId};
    let flags = if sampled {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    opentelemetry::Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from_hex(trace_id).expect("a hex trace id"),
        SpanId::from_hex("53995c3f42cd8ad8").expect("a hex span id"),
        flags,
        true,
        Default::default(),
    ))
}

/// The span kind in lower case.
pub fn kind_name(kind: &SpanKind) -> &'static str {
    match kind {
        SpanKind::Server => "server",
        SpanKind::Client => "client",
        SpanKind::Internal => "internal",
        SpanKind::Producer => "producer",
        SpanKind::Consumer => "consumer",
    }
}

/// A writer tests can read back.
#[derive(Clone, Default)]
pub struct SharedBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for SharedBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl SharedBuffer {
    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}
