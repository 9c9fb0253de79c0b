//! `TestTelemetry`: a real `Telemetry` whose exporters are the SDK's
//! in-memory ones, and flat views of what reached them.
#![allow(dead_code)]

pub mod capture;
pub mod chromium;
pub mod collector;
pub mod emf;
pub mod emulator;
pub mod moto;
pub mod rotel;
pub mod runtime_api;

use std::collections::BTreeMap;
use std::time::Duration;

use opentelemetry::trace::SpanKind;
use opentelemetry_sdk::metrics::{
    InMemoryMetricExporter, InMemoryMetricExporterBuilder, Temporality,
};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};
use perfmon::{Catalog, PerformanceMonitor, Telemetry, TelemetryBuilder};

/// The repository root: the workspace root, also from the app package's
/// tests.
pub fn root() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    if dir.join("Cargo.lock").exists() {
        dir.to_path_buf()
    } else {
        dir.parent()
            .expect("the app package is inside the workspace")
            .to_path_buf()
    }
}

/// The chat app's catalog file, as any application's catalog.
pub fn chat_catalog() -> Catalog {
    Catalog::from_path(root().join("dashboards/catalog.json")).expect("the chat catalog is valid")
}

/// The alarm `catalog` generates whose name ends with `suffix`, with its
/// `Environment` set to `environment`.
pub fn generated_alarm(
    catalog: &Catalog,
    environment: &str,
    suffix: &str,
) -> perfmon::preview::Alarm {
    let alarms = perfmon::dashboards::generate(catalog)
        .into_iter()
        .find(|f| f.kind == perfmon::dashboards::Kind::Alarms)
        .expect("an alarms file");
    let alarms = perfmon::dashboards::resolved(&alarms.json, environment, "local");
    let alarm = alarms["alarms"]
        .as_array()
        .expect("an alarms array")
        .iter()
        .find(|a| a["AlarmName"].as_str().is_some_and(|n| n.ends_with(suffix)))
        .unwrap_or_else(|| panic!("no alarm *{suffix}"));
    perfmon::preview::Alarm::from_json(alarm).expect("a generated alarm evaluates")
}

/// `name` in a scratch directory of this test process, under `prefix`.
pub fn scratch(prefix: &str, name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("{prefix}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir.join(name)
}

/// Tests measure `MemoryUsage` as production is advised to: live heap bytes.
#[global_allocator]
static ALLOC: perfmon::CountingAllocator = perfmon::CountingAllocator::system();

pub struct TestTelemetry {
    pub telemetry: std::sync::Arc<Telemetry>,
    pub monitor: PerformanceMonitor,
    spans: InMemorySpanExporter,
    metrics: InMemoryMetricExporter,
}

/// One exported metric point, flattened.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub name: String,
    pub unit: String,
    pub attributes: BTreeMap<String, String>,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Sum(u64),
    /// The latest value.
    Gauge(u64),
    /// count, sum, min, max
    Histogram(u64, f64, f64, f64),
}

impl TestTelemetry {
    /// On the chat app's catalog, `dashboards/catalog.json`: the
    /// repository's own, used as test data here.
    pub fn new() -> Self {
        Self::with_catalog(chat_catalog())
    }

    pub fn with_catalog(catalog: Catalog) -> Self {
        Self::with(|b| b.with_catalog(catalog))
    }

    pub fn with(configure: impl FnOnce(TelemetryBuilder) -> TelemetryBuilder) -> Self {
        let spans = InMemorySpanExporter::default();
        let metrics = InMemoryMetricExporterBuilder::new()
            .with_temporality(Temporality::Delta)
            .build();
        let builder = Telemetry::builder()
            .with_environment("test")
            .with_span_exporter(spans.clone())
            .with_metric_exporter(metrics.clone());
        let telemetry = std::sync::Arc::new(configure(builder).build().expect("telemetry builds"));
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
            for exported in perfmon::metric_points(&rm) {
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
            .map(|rm| {
                perfmon::metric_points(rm)
                    .filter(|p| p.name == name)
                    .count()
            })
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

fn value_of(value: perfmon::PointValue) -> Value {
    match value {
        perfmon::PointValue::Sum(v) => Value::Sum(v as u64),
        perfmon::PointValue::Gauge(v) => Value::Gauge(v as u64),
        perfmon::PointValue::Distribution(d) => Value::Histogram(d.count, d.sum, d.min, d.max),
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

pub fn kind_name(kind: &SpanKind) -> &'static str {
    match kind {
        SpanKind::Server => "server",
        SpanKind::Client => "client",
        SpanKind::Internal => "internal",
        SpanKind::Producer => "producer",
        SpanKind::Consumer => "consumer",
    }
}

/// The context Lambda gives one `ws-conversation` invocation.
pub fn lambda_context(
    request_id: &str,
    xray_trace_id: Option<&str>,
    deadline_ms: u64,
) -> lambda_runtime::Context {
    let mut cx = lambda_runtime::Context::default();
    cx.request_id = request_id.into();
    cx.xray_trace_id = xray_trace_id.map(Into::into);
    cx.deadline = deadline_ms;
    cx.invoked_function_arn =
        "arn:aws:lambda:us-east-1:123456789012:function:ws-conversation".into();
    cx.env_config = std::sync::Arc::new(lambda_runtime::Config {
        function_name: "ws-conversation".into(),
        version: "$LATEST".into(),
        ..Default::default()
    });
    cx
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

/// Operations of the test catalog (`chat_catalog`).
pub mod op {
    pub const WEBSOCKET_CONVERSATION: &str = "websocket_conversation";
    pub const WEBSOCKET_CONNECTION: &str = "websocket_connection";
    pub const AUTHENTICATION_JWT_VERIFICATION: &str = "authentication_jwt_verification";
    pub const CHAT_MESSAGE_PROCESSING: &str = "chat_message_processing";
}

/// Span attribute keys an application might set.
pub mod key {
    pub const CONNECTION_ID: &str = "app.connection.id";
    pub const ROUTE_KEY: &str = "app.route_key";
    pub const TOKEN_LENGTH: &str = "app.token.length";
    pub const USER_EMAIL: &str = "app.user.email";
}
