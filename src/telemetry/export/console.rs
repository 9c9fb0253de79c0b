//! The `console` exporters: a readable summary for local runs.

use std::fmt::Write as _;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::trace::Status;
use opentelemetry::KeyValue;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use crate::telemetry::data::points::{metric_points, PointValue};

/// Where console output goes.
pub(crate) type Sink = Arc<Mutex<dyn Write + Send>>;

pub(crate) fn stdout() -> Sink {
    Arc::new(Mutex::new(std::io::stdout()))
}

fn emit(sink: &Sink, text: &str) -> OTelSdkResult {
    let mut out = sink.lock().unwrap_or_else(|e| e.into_inner());
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(|e| opentelemetry_sdk::error::OTelSdkError::InternalFailure(e.to_string()))
}

/// How often the span summary is printed while the process runs; it is
/// always printed at shutdown.
const SPAN_SUMMARY_INTERVAL: Duration = Duration::from_secs(60);

/// A summary of finished spans: one line per span name and kind, with the
/// count, the errors by status and the average and longest duration. It
/// accumulates across batches and prints every [`SPAN_SUMMARY_INTERVAL`] and
/// at shutdown.
pub(crate) struct ConsoleSpanExporter {
    sink: Sink,
    state: Mutex<(Summaries, std::time::Instant)>,
}

type Summaries = std::collections::BTreeMap<(String, String), SpanSummary>;

impl std::fmt::Debug for ConsoleSpanExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConsoleSpanExporter")
    }
}

impl ConsoleSpanExporter {
    pub(crate) fn new(sink: Sink) -> Self {
        ConsoleSpanExporter {
            sink,
            state: Mutex::new((Summaries::new(), std::time::Instant::now())),
        }
    }

    fn print(&self, summaries: &mut Summaries) -> OTelSdkResult {
        if summaries.is_empty() {
            return Ok(());
        }
        let text = render_spans(summaries);
        summaries.clear();
        emit(&self.sink, &text)
    }
}

#[derive(Default)]
pub(crate) struct SpanSummary {
    count: u64,
    errors: std::collections::BTreeMap<String, u64>,
    total_ms: f64,
    max_ms: f64,
}

fn summarize(batch: &[SpanData], into: &mut Summaries) {
    for span in batch {
        let ms = crate::clock::millis(
            span.end_time
                .duration_since(span.start_time)
                .unwrap_or_default(),
        );
        let kind = format!("{:?}", span.span_kind).to_lowercase();
        let entry = into.entry((span.name.to_string(), kind)).or_default();
        entry.count += 1;
        entry.total_ms += ms;
        entry.max_ms = entry.max_ms.max(ms);
        if let Status::Error { description } = &span.status {
            *entry.errors.entry(description.to_string()).or_default() += 1;
        }
    }
}

fn render_spans(summaries: &Summaries) -> String {
    let mut text = String::new();
    for ((name, kind), s) in summaries {
        let errors: Vec<String> = s.errors.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = writeln!(
            text,
            "span {name:<34} {kind:<8} count={:<6} avg={:.3}ms max={:.3}ms errors[{}]",
            s.count,
            s.total_ms / s.count as f64,
            s.max_ms,
            errors.join(",")
        );
    }
    text
}

impl SpanExporter for ConsoleSpanExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (summaries, printed) = &mut *state;
        summarize(&batch, summaries);
        if printed.elapsed() >= SPAN_SUMMARY_INTERVAL {
            *printed = std::time::Instant::now();
            return self.print(summaries);
        }
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        self.print(&mut state.0)
    }
}

/// A table of every metric point at each export.
pub(crate) struct ConsoleMetricExporter {
    sink: Sink,
}

impl ConsoleMetricExporter {
    pub(crate) fn new(sink: Sink) -> Self {
        ConsoleMetricExporter { sink }
    }
}

fn dims<'a>(attributes: impl Iterator<Item = &'a KeyValue>) -> String {
    let mut pairs: Vec<String> = attributes
        .map(|kv| format!("{}={}", kv.key, kv.value))
        .collect();
    pairs.sort();
    pairs.join(",")
}

/// Renders one export as text; public to the crate for the tests.
pub(crate) fn render_metrics(metrics: &ResourceMetrics) -> String {
    let mut text = String::new();
    for point in metric_points(metrics) {
        let name = format!("{} [{}]", point.name, point.unit);
        let (count, avg, max) = match &point.value {
            PointValue::Sum(v) | PointValue::Gauge(v) => {
                let kind = if matches!(point.value, PointValue::Sum(_)) {
                    "sum"
                } else {
                    "value"
                };
                let _ = writeln!(
                    text,
                    "metric {name:<26} {:<70} {kind}={v}",
                    dims(point.attributes.iter().copied())
                );
                continue;
            }
            PointValue::Distribution(d) => (d.count, d.mean(), d.max),
            PointValue::Summary {
                count, sum, max, ..
            } => (*count, sum / (*count).max(1) as f64, max.unwrap_or(0.0)),
        };
        let _ = writeln!(
            text,
            "metric {name:<26} {:<70} count={count} avg={avg:.3} max={max:.3}",
            dims(point.attributes.iter().copied())
        );
    }
    text
}

impl PushMetricExporter for ConsoleMetricExporter {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let text = render_metrics(metrics);
        if text.is_empty() {
            return Ok(());
        }
        emit(&self.sink, &text)
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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use crate::monitor::PerformanceMonitor;
    use crate::telemetry::exporter::ExporterKind;
    use crate::telemetry::Telemetry;

    #[test]
    fn console_prints_spans_and_a_metric_table() {
        let buffer = Arc::new(Mutex::new(Vec::<u8>::new()));
        let telemetry = Telemetry::builder()
            .with_traces_exporter(ExporterKind::Console)
            .with_metrics_exporter(ExporterKind::Console)
            .with_environment("local")
            .with_console_sink(buffer.clone())
            .build()
            .unwrap();
        let monitor = PerformanceMonitor::new(&telemetry);
        monitor.start("checkout", []).fail("PAYMENT_DECLINED", []);
        telemetry.shutdown(Duration::from_secs(5)).unwrap();
        let text = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
        let span_line = text
            .lines()
            .find(|l| l.starts_with("span checkout"))
            .unwrap_or_else(|| panic!("span line in {text}"));
        assert!(span_line.contains("internal"), "{span_line}");
        assert!(span_line.contains("count=1"), "{span_line}");
        assert!(
            span_line.contains("errors[PAYMENT_DECLINED=1]"),
            "{span_line}"
        );
        let errors = text
            .lines()
            .find(|l| l.starts_with("metric Errors [1]"))
            .unwrap_or_else(|| panic!("Errors row in {text}"));
        assert!(
            errors.contains("Environment=local,ErrorType=PAYMENT_DECLINED,Handler=checkout"),
            "{errors}"
        );
        assert!(errors.ends_with("sum=1"), "{errors}");
        assert!(text.contains("metric HandlerDuration [ms]"), "{text}");
    }
}
