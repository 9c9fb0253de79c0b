//! The catalog: one versioned JSON document that describes an application
//! to perfmon: its namespace, its operations and their limits, its own
//! metrics with their dimension keys, its dashboards and its teams.
//!
//! The library adds its core metrics ([`crate::names`]) to every catalog.
//! Loading validates the whole document and reports every broken rule,
//! each with the field and the value ([`CatalogError::Invalid`]). The JSON
//! Schema is `dashboards/catalog.schema.json`.

mod check;
mod core;
mod dashboard;
mod error;
mod error_class;
mod lines;
mod spec;
mod unit;

use std::path::Path;

use serde::{Deserialize, Serialize};

pub(crate) use check::valid_dimension_value;
pub use dashboard::{expression_ids, valid_id, valid_stat, DashboardSpec, LineSpec, WidgetSpec};
pub use error::{CatalogError, Problem};
pub use error_class::{ErrorClass, ErrorSpec, DEFAULT_CLIENT_STATUS};
pub use lines::ResolvedLine;
pub use spec::{
    DimensionSpec, Instrument, MetricDef, MetricSpec, OperationSpec, SpanKindName, TeamSpec,
    Thresholds, DEFAULT_OVERFLOW,
};
pub use unit::Unit;

/// Namespace of a catalog that names none ([`Catalog::default`]).
pub const DEFAULT_NAMESPACE: &str = "Perfmon";
/// Span attributes exported as X-Ray annotations unless a catalog says
/// otherwise.
pub const DEFAULT_INDEXED_ATTRIBUTES: &[&str] = &["perf_handler", "perf_outcome"];

/// A validated catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    schema: Option<String>,
    /// Bumped on every change; carried by every generated file.
    pub version: u32,
    /// CloudWatch namespace of every metric.
    pub namespace: String,
    /// Prefix of the CloudWatch dashboard names; defaults to the namespace
    /// with every `/` as `-`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dashboard_prefix: Option<String>,
    /// Span attributes exported as X-Ray annotations (searchable); every
    /// other attribute goes to metadata.
    #[serde(default = "indexed_attributes")]
    pub indexed_attributes: Vec<String>,
    /// Operations that have thresholds, alarms and dashboard widgets.
    #[serde(default)]
    pub operations: Vec<OperationSpec>,
    /// The application's own metrics. The core metrics are not listed.
    #[serde(rename = "metrics", default)]
    pub custom_metrics: Vec<MetricSpec>,
    /// Dashboards beyond the generated performance dashboard.
    #[serde(default)]
    pub dashboards: Vec<DashboardSpec>,
    /// Per-team performance dashboards, each a selection of operations.
    #[serde(default)]
    pub teams: Vec<TeamSpec>,
}

fn indexed_attributes() -> Vec<String> {
    DEFAULT_INDEXED_ATTRIBUTES
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
}

impl Default for Catalog {
    /// Version 1 in [`DEFAULT_NAMESPACE`]: the core metrics, no operations.
    fn default() -> Self {
        Catalog {
            schema: None,
            version: 1,
            namespace: DEFAULT_NAMESPACE.to_owned(),
            dashboard_prefix: None,
            indexed_attributes: indexed_attributes(),
            operations: Vec::new(),
            custom_metrics: Vec::new(),
            dashboards: Vec::new(),
            teams: Vec::new(),
        }
    }
}

impl Catalog {
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
        let problems = check::problems(&catalog);
        if problems.is_empty() {
            Ok(catalog)
        } else {
            Err(CatalogError::Invalid { problems })
        }
    }

    /// Every exported metric: the core metrics, then the catalog's own.
    pub fn metrics(&self) -> Vec<MetricDef> {
        let custom = self.custom_metrics.iter().map(|m| MetricDef {
            name: m.name.clone(),
            unit: m.unit,
            instrument: m.instrument,
            description: m.description.clone(),
            dimensions: vec![dimension_set(m)],
            core: false,
        });
        core::metrics().chain(custom).collect()
    }

    /// The exported metric called `name`, core or custom.
    pub fn metric(&self, name: &str) -> Option<MetricDef> {
        self.metrics().into_iter().find(|m| m.name == name)
    }

    /// The catalog's own metric called `name`, as declared.
    pub fn custom_metric(&self, name: &str) -> Option<&MetricSpec> {
        self.custom_metrics.iter().find(|m| m.name == name)
    }

    /// The operation called `name`.
    pub fn operation(&self, name: &str) -> Option<&OperationSpec> {
        self.operations.iter().find(|o| o.name == name)
    }

    /// Prefix of the CloudWatch dashboard names.
    pub fn dashboard_prefix(&self) -> String {
        self.dashboard_prefix
            .clone()
            .unwrap_or_else(|| self.namespace.replace('/', "-"))
    }
}

/// The one dimension set of a custom metric: `Handler` when it is filed
/// under an operation, `Environment`, then its own keys.
pub fn dimension_set(metric: &MetricSpec) -> Vec<String> {
    use crate::names::dim;
    let mut set = Vec::with_capacity(metric.dimensions.len() + 2);
    if metric.operation.is_some() {
        set.push(dim::HANDLER.to_owned());
    }
    set.push(dim::ENVIRONMENT.to_owned());
    set.extend(metric.dimensions.iter().map(|d| d.name.clone()));
    set
}
