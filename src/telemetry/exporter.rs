//! Exporter selection (`OTEL_TRACES_EXPORTER` / `OTEL_METRICS_EXPORTER`).

use std::str::FromStr;

/// Where a signal goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExporterKind {
    /// OTLP to `OTEL_EXPORTER_OTLP_ENDPOINT` (the collector layer, or any
    /// OTLP backend). The default whenever an OTLP endpoint is configured.
    Otlp,
    /// A readable summary on stdout. The default off Lambda when nothing is
    /// configured.
    Console,
    /// Metrics only: CloudWatch EMF lines on stdout. The default for
    /// metrics on Lambda when no OTLP endpoint is configured.
    Emf,
    /// Traces only: X-Ray segments over UDP to the daemon. The default for
    /// traces on Lambda with active tracing and no OTLP endpoint.
    Xray,
    /// Nothing is exported.
    None,
    /// An exporter given in code
    /// ([`TelemetryBuilder::with_span_exporter`](crate::TelemetryBuilder::with_span_exporter)
    /// and friends). Not selectable by environment.
    Custom,
}

impl FromStr for ExporterKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "otlp" => Ok(ExporterKind::Otlp),
            "console" => Ok(ExporterKind::Console),
            "emf" => Ok(ExporterKind::Emf),
            "xray" => Ok(ExporterKind::Xray),
            "none" => Ok(ExporterKind::None),
            _ => Err("otlp, emf, xray, console or none".to_owned()),
        }
    }
}

impl std::fmt::Display for ExporterKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ExporterKind::Otlp => "otlp",
            ExporterKind::Console => "console",
            ExporterKind::Emf => "emf",
            ExporterKind::Xray => "xray",
            ExporterKind::None => "none",
            ExporterKind::Custom => "custom",
        })
    }
}

impl ExporterKind {
    /// The default for traces when neither code nor the environment chose:
    /// OTLP when an endpoint is configured; on Lambda the X-Ray daemon when
    /// active tracing gave its address, else nothing; the console elsewhere.
    pub(crate) fn default_traces(otlp_endpoint: bool, on_lambda: bool, xray_daemon: bool) -> Self {
        match (otlp_endpoint, on_lambda, xray_daemon) {
            (true, _, _) => ExporterKind::Otlp,
            (false, true, true) => ExporterKind::Xray,
            (false, true, false) => ExporterKind::None,
            (false, false, _) => ExporterKind::Console,
        }
    }

    /// The default for metrics: OTLP when an endpoint is configured, EMF on
    /// Lambda, the console elsewhere.
    pub(crate) fn default_metrics(otlp_endpoint: bool, on_lambda: bool) -> Self {
        match (otlp_endpoint, on_lambda) {
            (true, _) => ExporterKind::Otlp,
            (false, true) => ExporterKind::Emf,
            (false, false) => ExporterKind::Console,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_custom_is_not_selectable() {
        for kind in [
            ExporterKind::Otlp,
            ExporterKind::Console,
            ExporterKind::Emf,
            ExporterKind::Xray,
            ExporterKind::None,
        ] {
            assert_eq!(kind.to_string().parse::<ExporterKind>(), Ok(kind));
        }
        assert!("custom".parse::<ExporterKind>().is_err());
        assert!("jaeger".parse::<ExporterKind>().is_err());
    }

    #[test]
    fn defaults_follow_the_export_path_table() {
        use ExporterKind::*;
        assert_eq!(ExporterKind::default_traces(true, true, true), Otlp);
        assert_eq!(ExporterKind::default_traces(false, true, true), Xray);
        assert_eq!(ExporterKind::default_traces(false, true, false), None);
        assert_eq!(ExporterKind::default_traces(false, false, true), Console);
        assert_eq!(ExporterKind::default_metrics(true, true), Otlp);
        assert_eq!(ExporterKind::default_metrics(false, true), Emf);
        assert_eq!(ExporterKind::default_metrics(false, false), Console);
    }
}
