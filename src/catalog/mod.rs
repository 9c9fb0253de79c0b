//! The metric catalog: namespace, metrics, dimension sets and thresholds.
//!
//! `dashboards/catalog.json` is the single source. The library embeds it as
//! the default ([`Catalog::embedded`]); [`Catalog::from_path`] loads another.
//! Loading validates the document and fails with a [`CatalogError`] that
//! names the bad field and its value.

mod error;
mod unit;

use std::collections::{BTreeSet, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use error::CatalogError;
pub use unit::Unit;

use crate::names::EMITTED;

/// The catalog compiled into the library.
const EMBEDDED: &str = include_str!("../../dashboards/catalog.json");

/// Longest metric name, namespace or dimension name CloudWatch accepts.
const MAX_NAME_LEN: usize = 255;
/// Most dimensions CloudWatch accepts in one dimension set.
const MAX_DIMENSIONS: usize = 30;

/// A validated metric catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    schema: Option<String>,
    /// Bumped on every change; carried by every generated file.
    pub version: u32,
    /// CloudWatch namespace of every metric.
    pub namespace: String,
    /// Span attributes exported as X-Ray annotations (searchable); every
    /// other attribute goes to metadata.
    pub indexed_attributes: Vec<String>,
    /// Every metric, with its unit and dimension sets.
    pub metrics: Vec<MetricSpec>,
    /// Operations that have thresholds, alarms and dashboard widgets.
    pub operations: Vec<OperationSpec>,
    /// Per-team dashboards, each a selection of operations.
    #[serde(default)]
    pub teams: Vec<TeamSpec>,
}

/// One team's dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamSpec {
    /// Short name, used in file and dashboard names.
    pub name: String,
    /// The dashboard's title.
    pub title: String,
    /// The catalog operations it shows.
    pub operations: Vec<String>,
}

/// One metric of the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricSpec {
    /// The OTel instrument name, which is also the CloudWatch metric name.
    pub name: String,
    /// CloudWatch unit.
    pub unit: Unit,
    /// How the value is recorded.
    pub instrument: Instrument,
    /// What the metric means.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Dimension sets exactly as exported.
    pub dimensions: Vec<Vec<String>>,
}

/// How a metric is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Instrument {
    /// A distribution (exponential histogram), so percentiles can be computed.
    Histogram,
    /// A monotonic sum.
    Counter,
    /// The latest value of a running total.
    Gauge,
}

/// One operation of the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationSpec {
    /// The name passed to `PerformanceMonitor::start`.
    pub name: String,
    /// Kind of the operation's span.
    pub span_kind: SpanKindName,
    /// Limits checked in-process and by the alarms.
    pub thresholds: Thresholds,
}

/// Span kind as the catalog spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum SpanKindName {
    Server,
    Client,
    Internal,
    Producer,
    Consumer,
}

impl From<SpanKindName> for opentelemetry::trace::SpanKind {
    fn from(kind: SpanKindName) -> Self {
        use opentelemetry::trace::SpanKind;
        match kind {
            SpanKindName::Server => SpanKind::Server,
            SpanKindName::Client => SpanKind::Client,
            SpanKindName::Internal => SpanKind::Internal,
            SpanKindName::Producer => SpanKind::Producer,
            SpanKindName::Consumer => SpanKind::Consumer,
        }
    }
}

/// The guide's per-operation limits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Longest acceptable duration, in milliseconds.
    pub duration_ms: f64,
    /// Most memory acceptable at completion, in bytes.
    pub memory_bytes: u64,
    /// Highest acceptable error rate, in percent (0–100].
    pub error_rate_percent: f64,
}

impl Catalog {
    /// The catalog compiled into the library (`dashboards/catalog.json`).
    pub fn embedded() -> Catalog {
        Catalog::from_json(EMBEDDED).expect("the embedded catalog is validated by its tests")
    }

    /// Loads and validates a catalog file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Catalog, CatalogError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| CatalogError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Catalog::from_json(&text)
    }

    /// Parses and validates a catalog document.
    pub fn from_json(text: &str) -> Result<Catalog, CatalogError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let catalog: Catalog =
            serde_path_to_error::deserialize(de).map_err(|e| CatalogError::Parse {
                field: e.path().to_string(),
                message: e.inner().to_string(),
            })?;
        catalog.validate()?;
        Ok(catalog)
    }

    /// The metric called `name`.
    pub fn metric(&self, name: &str) -> Option<&MetricSpec> {
        self.metrics.iter().find(|m| m.name == name)
    }

    /// The operation called `name`.
    pub fn operation(&self, name: &str) -> Option<&OperationSpec> {
        self.operations.iter().find(|o| o.name == name)
    }

    fn validate(&self) -> Result<(), CatalogError> {
        if self.version == 0 {
            return Err(CatalogError::invalid(
                "version",
                self.version,
                "must be at least 1",
            ));
        }
        check_name("namespace", &self.namespace)?;
        if self.namespace.starts_with("AWS/") {
            return Err(CatalogError::invalid(
                "namespace",
                &self.namespace,
                "the AWS/ prefix is reserved",
            ));
        }
        for (i, attr) in self.indexed_attributes.iter().enumerate() {
            let valid = attr.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && attr
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
            if !valid {
                return Err(CatalogError::invalid(
                    format!("indexed_attributes[{i}]"),
                    attr,
                    "attribute keys are ASCII letters, digits, _ and . and start with a letter",
                ));
            }
        }
        let mut seen = HashSet::new();
        for (i, metric) in self.metrics.iter().enumerate() {
            let at = format!("metrics[{i}]");
            check_name(&format!("{at}.name"), &metric.name)?;
            if !seen.insert(metric.name.as_str()) {
                return Err(CatalogError::invalid(
                    format!("{at}.name"),
                    &metric.name,
                    "duplicate metric name",
                ));
            }
            if metric.dimensions.is_empty() {
                return Err(CatalogError::invalid(
                    format!("{at}.dimensions"),
                    &metric.dimensions,
                    "a metric needs at least one dimension set",
                ));
            }
            for (j, set) in metric.dimensions.iter().enumerate() {
                let at = format!("{at}.dimensions[{j}]");
                if set.is_empty() || set.len() > MAX_DIMENSIONS {
                    return Err(CatalogError::invalid(
                        at,
                        set,
                        "a dimension set holds 1 to 30 keys",
                    ));
                }
                let mut keys = HashSet::new();
                for (k, key) in set.iter().enumerate() {
                    check_name(&format!("{at}[{k}]"), key)?;
                    if !keys.insert(key) {
                        return Err(CatalogError::invalid(
                            format!("{at}[{k}]"),
                            key,
                            "duplicate key in a dimension set",
                        ));
                    }
                }
            }
        }
        self.validate_emitted()?;
        let mut seen = HashSet::new();
        for (i, op) in self.operations.iter().enumerate() {
            let at = format!("operations[{i}]");
            check_name(&format!("{at}.name"), &op.name)?;
            if !seen.insert(op.name.as_str()) {
                return Err(CatalogError::invalid(
                    format!("{at}.name"),
                    &op.name,
                    "duplicate operation name",
                ));
            }
            let t = &op.thresholds;
            if !(t.duration_ms.is_finite() && t.duration_ms > 0.0) {
                return Err(CatalogError::invalid(
                    format!("{at}.thresholds.duration_ms"),
                    t.duration_ms,
                    "must be a positive number of milliseconds",
                ));
            }
            if t.memory_bytes == 0 {
                return Err(CatalogError::invalid(
                    format!("{at}.thresholds.memory_bytes"),
                    t.memory_bytes,
                    "must be a positive number of bytes",
                ));
            }
            if !(t.error_rate_percent > 0.0 && t.error_rate_percent <= 100.0) {
                return Err(CatalogError::invalid(
                    format!("{at}.thresholds.error_rate_percent"),
                    t.error_rate_percent,
                    "must be a percentage in (0, 100]",
                ));
            }
        }
        for (i, team) in self.teams.iter().enumerate() {
            let valid = team
                .name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_lowercase())
                && team
                    .name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !valid {
                return Err(CatalogError::invalid(
                    format!("teams[{i}].name"),
                    &team.name,
                    "team names are lower-case letters, digits and -",
                ));
            }
            for (j, op) in team.operations.iter().enumerate() {
                if self.operation(op).is_none() {
                    return Err(CatalogError::invalid(
                        format!("teams[{i}].operations[{j}]"),
                        op,
                        "not an operation of the catalog",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Every metric the code records must be declared with the instrument it
    /// uses and with dimension sets drawn from exactly the keys it sets.
    fn validate_emitted(&self) -> Result<(), CatalogError> {
        for emitted in EMITTED {
            let Some((i, metric)) = self
                .metrics
                .iter()
                .enumerate()
                .find(|(_, m)| m.name == emitted.name)
            else {
                return Err(CatalogError::invalid(
                    "metrics",
                    emitted.name,
                    "the library records this metric but the catalog does not declare it",
                ));
            };
            if metric.instrument != emitted.instrument {
                return Err(CatalogError::invalid(
                    format!("metrics[{i}].instrument"),
                    metric.instrument,
                    "differs from the instrument the library records",
                ));
            }
            let declared: BTreeSet<&str> = metric
                .dimensions
                .iter()
                .flatten()
                .map(String::as_str)
                .collect();
            let recorded: BTreeSet<&str> = emitted.keys.iter().copied().collect();
            if declared != recorded {
                return Err(CatalogError::invalid(
                    format!("metrics[{i}].dimensions"),
                    &metric.dimensions,
                    "dimension keys differ from the attributes the library records",
                ));
            }
            if !metric
                .dimensions
                .iter()
                .any(|set| set.len() == recorded.len())
            {
                return Err(CatalogError::invalid(
                    format!("metrics[{i}].dimensions"),
                    &metric.dimensions,
                    "no dimension set carries every recorded attribute",
                ));
            }
        }
        Ok(())
    }
}

fn check_name(field: &str, name: &str) -> Result<(), CatalogError> {
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/#:".contains(c))
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    if valid {
        Ok(())
    } else {
        Err(CatalogError::invalid(
            field,
            name,
            "names are 1-255 ASCII letters, digits or ._-/#: and start with a letter",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_catalog_is_valid_and_has_the_guide_thresholds() {
        let catalog = Catalog::from_json(EMBEDDED).unwrap();
        assert_eq!(catalog.namespace, "WebSocket/Performance");
        let limits: Vec<(&str, f64, u64, f64)> = catalog
            .operations
            .iter()
            .map(|o| {
                let t = o.thresholds;
                (
                    o.name.as_str(),
                    t.duration_ms,
                    t.memory_bytes,
                    t.error_rate_percent,
                )
            })
            .collect();
        const MIB: u64 = 1024 * 1024;
        assert_eq!(
            limits,
            [
                ("websocket_conversation", 5000.0, 100 * MIB, 5.0),
                ("websocket_connection", 2000.0, 50 * MIB, 2.0),
                ("authentication_jwt_verification", 3000.0, 20 * MIB, 10.0),
                ("chat_message_processing", 1000.0, 30 * MIB, 5.0),
            ]
        );
    }
}
