//! The demo's report: what the telemetry pipeline exported during the run,
//! per operation against the catalog's thresholds, and the business
//! metrics.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use perfmon_lambda::{metric_points, Catalog, Distribution, PointValue};

/// Everything exported, keyed by metric name and sorted attributes.
#[derive(Debug, Default)]
pub(super) struct Collected {
    sums: BTreeMap<(String, String), u64>,
    histograms: BTreeMap<(String, String), Distribution>,
}

fn key<'a>(attrs: impl Iterator<Item = &'a opentelemetry::KeyValue>) -> String {
    let mut pairs: Vec<String> = attrs.map(|kv| format!("{}={}", kv.key, kv.value)).collect();
    pairs.sort();
    pairs.join(",")
}

/// A metric exporter that keeps what it receives for the report.
#[derive(Debug, Clone, Default)]
pub(super) struct ReportExporter(Arc<Mutex<Collected>>);

impl ReportExporter {
    /// Everything exported so far.
    pub(super) fn take(&self) -> Collected {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl PushMetricExporter for ReportExporter {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let mut c = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for point in metric_points(metrics) {
            let at = (point.name.to_owned(), key(point.attributes.into_iter()));
            match point.value {
                PointValue::Sum(v) => *c.sums.entry(at).or_default() += v as u64,
                PointValue::Distribution(d) => c.histograms.entry(at).or_default().merge(d),
                _ => {}
            }
        }
        Ok(())
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _: Duration) -> OTelSdkResult {
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        Temporality::Delta
    }
}

/// What the demo measured.
#[derive(Debug)]
pub struct DemoReport {
    pub(super) catalog: Catalog,
    pub(super) environment: String,
    pub(super) collected: Collected,
    /// Frames the clients sent.
    pub frames_sent: u64,
    /// Replies the clients received.
    pub replies: u64,
    /// Clients that saw a timeout or a broken connection.
    pub client_failures: u64,
    /// Wall time of the run.
    pub elapsed: Duration,
}

impl DemoReport {
    /// The attribute key of `handler`'s points, plus one extra dimension.
    fn point_key(&self, handler: &str, extra: Option<(&str, &str)>) -> String {
        let mut parts = vec![
            format!("Environment={}", self.environment),
            format!("Handler={handler}"),
        ];
        if let Some((k, v)) = extra {
            parts.push(format!("{k}={v}"));
        }
        parts.sort();
        parts.join(",")
    }

    /// A counter's total for `handler` with exactly the extra dimension.
    fn sum(&self, metric: &str, handler: &str, extra: Option<(&str, &str)>) -> u64 {
        let key = (metric.to_owned(), self.point_key(handler, extra));
        self.collected.sums.get(&key).copied().unwrap_or(0)
    }

    /// A counter's total for `handler` over every value of its other
    /// dimensions (e.g. `Errors` over all `ErrorType`s).
    fn total(&self, metric: &str, handler: &str) -> u64 {
        let handler = format!("Handler={handler}");
        self.collected
            .sums
            .iter()
            .filter(|((m, k), _)| m == metric && k.split(',').any(|p| p == handler))
            .map(|(_, v)| v)
            .sum()
    }

    fn histogram(&self, metric: &str, handler: &str) -> Distribution {
        let key = (metric.to_owned(), self.point_key(handler, None));
        self.collected
            .histograms
            .get(&key)
            .cloned()
            .unwrap_or_default()
    }

    /// Whether every operation kept within its thresholds.
    pub fn all_pass(&self) -> bool {
        self.rows().iter().all(|r| r.pass())
    }

    /// Invocations of `operation`.
    pub fn invocations(&self, operation: &str) -> u64 {
        self.sum("Invocations", operation, None)
    }

    fn rows(&self) -> Vec<Row> {
        self.catalog
            .operations
            .iter()
            .map(|op| {
                let duration = self.histogram("HandlerDuration", &op.name);
                let memory = self.histogram("MemoryUsage", &op.name);
                let invocations = self.invocations(&op.name);
                let errors = self.total("Errors", &op.name);
                Row {
                    name: op.name.clone(),
                    limits: op.thresholds,
                    invocations,
                    errors,
                    p50: duration.quantile(0.50),
                    p95: duration.quantile(0.95),
                    p99: duration.quantile(0.99),
                    memory_max: memory.max,
                }
            })
            .collect()
    }
}

struct Row {
    name: String,
    limits: perfmon_lambda::catalog::Thresholds,
    invocations: u64,
    errors: u64,
    p50: f64,
    p95: f64,
    p99: f64,
    memory_max: f64,
}

impl Row {
    fn error_rate(&self) -> f64 {
        if self.invocations == 0 {
            0.0
        } else {
            100.0 * self.errors as f64 / self.invocations as f64
        }
    }
    fn pass_duration(&self) -> bool {
        self.p99 <= self.limits.duration_ms
    }
    fn pass_memory(&self) -> bool {
        self.memory_max <= self.limits.memory_bytes as f64
    }
    fn pass_errors(&self) -> bool {
        self.error_rate() <= self.limits.error_rate_percent
    }
    fn pass(&self) -> bool {
        self.pass_duration() && self.pass_memory() && self.pass_errors()
    }
}

fn mark(ok: bool) -> &'static str {
    if ok {
        "PASS"
    } else {
        "FAIL"
    }
}

impl fmt::Display for DemoReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MIB: f64 = 1024.0 * 1024.0;
        writeln!(
            f,
            "\nperfmon-chat demo: {} frames, {} replies, {} client failures in {:.2} s\n",
            self.frames_sent,
            self.replies,
            self.client_failures,
            self.elapsed.as_secs_f64()
        )?;
        writeln!(
            f,
            "{:<32} {:>6} {:>8} {:>8} {:>8} {:>6}  {:>9} {:>6}  {:>7} {:>6}  verdict",
            "operation",
            "count",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "limit",
            "mem MiB",
            "limit",
            "errors",
            "limit",
        )?;
        for r in self.rows() {
            writeln!(
                f,
                "{:<32} {:>6} {:>8.3} {:>8.3} {:>8.3} {:>6} {}{:>9.1} {:>6} {}{:>6.1}% {:>5}% {}  {}",
                r.name,
                r.invocations,
                r.p50,
                r.p95,
                r.p99,
                r.limits.duration_ms,
                if r.pass_duration() { ' ' } else { '!' },
                r.memory_max / MIB,
                r.limits.memory_bytes as f64 / MIB,
                if r.pass_memory() { ' ' } else { '!' },
                r.error_rate(),
                r.limits.error_rate_percent,
                if r.pass_errors() { ' ' } else { '!' },
                mark(r.pass())
            )?;
        }
        let conv = "websocket_conversation";
        let conn = "websocket_connection";
        let auth = "authentication_jwt_verification";
        let chat = "chat_message_processing";
        let messages: Vec<String> = ["auth", "message", "ping", "unknown"]
            .iter()
            .map(|t| {
                format!(
                    "{t}={}",
                    self.sum("Messages", conv, Some(("MessageType", t)))
                )
            })
            .collect();
        let auth_ok = self.sum("AuthMessages", conv, Some(("Outcome", "success")));
        let auth_bad = self.sum("AuthMessages", conv, Some(("Outcome", "failure")));
        let reasons: Vec<String> = ["normal", "error", "timeout"]
            .iter()
            .map(|r| format!("{r}={}", self.sum("Disconnects", conn, Some(("Reason", r)))))
            .collect();
        let outcomes: Vec<String> = ["success", "MISSING_TOKEN", "TOKEN_EXPIRED", "INVALID_TOKEN"]
            .iter()
            .map(|o| {
                format!(
                    "{o}={}",
                    self.sum("Verifications", auth, Some(("Outcome", o)))
                )
            })
            .collect();
        let processed = self.sum("MessagesProcessed", chat, None);
        let db_ops = self.sum("DatabaseOperations", chat, None);
        let minutes = self.elapsed.as_secs_f64().max(1e-9) / 60.0;
        writeln!(f, "\nbusiness metrics")?;
        writeln!(f, "  messages by type            {}", messages.join(" "))?;
        writeln!(
            f,
            "  messages per minute         {:.0}",
            self.histogram("MessageLength", conv).count as f64 / minutes
        )?;
        writeln!(
            f,
            "  average message length      {:.1} bytes",
            self.histogram("MessageLength", conv).mean()
        )?;
        writeln!(
            f,
            "  auth success rate           {:.1}% ({auth_ok} of {})",
            100.0 * auth_ok as f64 / (auth_ok + auth_bad).max(1) as f64,
            auth_ok + auth_bad
        )?;
        writeln!(
            f,
            "  connections per minute      {:.0}",
            self.sum("Connections", conn, Some(("EventType", "connect"))) as f64 / minutes
        )?;
        writeln!(
            f,
            "  average connection duration {:.1} ms",
            self.histogram("ConnectionDuration", conn).mean()
        )?;
        writeln!(f, "  disconnect reasons          {}", reasons.join(" "))?;
        writeln!(f, "  verification outcomes       {}", outcomes.join(" "))?;
        writeln!(
            f,
            "  messages processed / minute {:.0}",
            processed as f64 / minutes
        )?;
        writeln!(
            f,
            "  average processing time     {:.3} ms",
            self.histogram("HandlerDuration", chat).mean()
        )?;
        writeln!(
            f,
            "  DB operations per message   {:.2}",
            db_ops as f64 / processed.max(1) as f64
        )?;
        writeln!(
            f,
            "\nthresholds from catalog v{} ({}); '!' marks a breach",
            self.catalog.version, self.catalog.namespace
        )
    }
}
