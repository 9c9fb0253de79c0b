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
    /// Nothing is exported. The default on Lambda when no endpoint is
    /// configured.
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
            "none" => Ok(ExporterKind::None),
            _ => Err("otlp, console or none".to_owned()),
        }
    }
}

impl std::fmt::Display for ExporterKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ExporterKind::Otlp => "otlp",
            ExporterKind::Console => "console",
            ExporterKind::None => "none",
            ExporterKind::Custom => "custom",
        })
    }
}

impl ExporterKind {
    /// The default when neither code nor the environment chose: OTLP when an
    /// endpoint is configured, nothing on Lambda, the console elsewhere.
    pub(crate) fn default_for(otlp_endpoint: bool, on_lambda: bool) -> ExporterKind {
        if otlp_endpoint {
            ExporterKind::Otlp
        } else if on_lambda {
            ExporterKind::None
        } else {
            ExporterKind::Console
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
            ExporterKind::None,
        ] {
            assert_eq!(kind.to_string().parse::<ExporterKind>(), Ok(kind));
        }
        assert!("custom".parse::<ExporterKind>().is_err());
        assert!("jaeger".parse::<ExporterKind>().is_err());
    }

    #[test]
    fn defaults_follow_the_export_path_table() {
        assert_eq!(ExporterKind::default_for(true, true), ExporterKind::Otlp);
        assert_eq!(ExporterKind::default_for(true, false), ExporterKind::Otlp);
        assert_eq!(ExporterKind::default_for(false, true), ExporterKind::None);
        assert_eq!(
            ExporterKind::default_for(false, false),
            ExporterKind::Console
        );
    }
}
