//! The pipeline the recording benchmarks share: the chat app's catalog
//! (as any application's), and exporters that discard, so that only the
//! recording path is measured.

use std::hint::black_box;
use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use perfmon_lambda::{Catalog, Telemetry};

#[derive(Debug)]
struct DiscardSpans;
impl SpanExporter for DiscardSpans {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        black_box(batch);
        Ok(())
    }
}

struct DiscardMetrics;
impl PushMetricExporter for DiscardMetrics {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        black_box(metrics);
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

/// Telemetry on the catalog whose exporters discard.
pub fn pipeline() -> Telemetry {
    Telemetry::builder()
        .with_catalog(
            Catalog::from_path(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/dashboards/catalog.json"
            ))
            .unwrap(),
        )
        .with_environment("bench")
        .with_span_exporter(DiscardSpans)
        .with_metric_exporter(DiscardMetrics)
        .with_metric_export_interval(Duration::from_secs(1))
        .build()
        .unwrap()
}
