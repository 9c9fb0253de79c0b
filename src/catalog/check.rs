//! Every rule of a catalog, checked in document order. Each broken rule
//! is one [`Problem`] naming the field and the value.

use std::collections::HashSet;

use super::{core, expression_ids, valid_id, valid_stat, Catalog, Problem};
use crate::names::dim;

/// Longest metric name, namespace or dimension name CloudWatch accepts.
const MAX_NAME_LEN: usize = 255;
/// Longest dimension value CloudWatch accepts.
const MAX_VALUE_LEN: usize = 1024;

/// A dimension value CloudWatch accepts: 1-1024 printable ASCII
/// characters, not all spaces. The catalog check and the EMF writer apply
/// this one rule.
pub(crate) fn valid_dimension_value(value: &str) -> bool {
    value.len() <= MAX_VALUE_LEN
        && value.bytes().any(|b| b != b' ')
        && value.bytes().all(|b| b == b' ' || b.is_ascii_graphic())
}
/// Most dimensions CloudWatch accepts in one dimension set.
const MAX_DIMENSIONS: usize = 30;
/// Most series one custom metric may have per handler and environment:
/// the product of its keys' cardinalities. Each is a CloudWatch metric
/// that is billed.
pub(crate) const MAX_SERIES: usize = 1000;
/// Most lines CloudWatch accepts in one graph.
const MAX_LINES: usize = 100;
/// Longest X-Ray annotation key.
const MAX_ANNOTATION_KEY: usize = 500;

#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn add(
        &mut self,
        field: impl Into<String>,
        value: impl serde::Serialize,
        reason: impl Into<String>,
    ) {
        self.0.push(Problem::new(field, value, reason));
    }

    fn name(&mut self, field: &str, name: &str) {
        let valid = !name.is_empty()
            && name.len() <= MAX_NAME_LEN
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-/#:".contains(c))
            && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
        if !valid {
            self.add(
                field,
                name,
                "names are 1-255 ASCII letters, digits or ._-/#: and start with a letter",
            );
        }
    }

    /// An operation is named as a metric is, or by the route template an
    /// HTTP layer names it after (`/orders/{id}`, `/files/{*path}`).
    fn operation_name(&mut self, field: &str, name: &str) {
        let route = name.starts_with('/')
            && name.len() <= MAX_NAME_LEN
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-/{}*+:".contains(c));
        if !route {
            self.name(field, name);
        }
    }

    fn short_name(&mut self, field: &str, name: &str) {
        let valid = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid {
            self.add(
                field,
                name,
                "short names are lower-case letters, digits and -",
            );
        }
    }
}

pub(super) fn problems(catalog: &Catalog) -> Vec<Problem> {
    let mut p = Problems::default();
    if catalog.version == 0 {
        p.add("version", catalog.version, "must be at least 1");
    }
    p.name("namespace", &catalog.namespace);
    if catalog.namespace.starts_with("AWS/") {
        p.add(
            "namespace",
            &catalog.namespace,
            "the AWS/ prefix is reserved",
        );
    }
    if let Some(prefix) = &catalog.dashboard_prefix {
        if prefix.is_empty()
            || !prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
        {
            p.add(
                "dashboard_prefix",
                prefix,
                "dashboard names are ASCII letters, digits, - and _",
            );
        }
    }
    for (i, attr) in catalog.indexed_attributes.iter().enumerate() {
        let valid = attr.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && attr.len() <= MAX_ANNOTATION_KEY
            && attr.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            // X-Ray annotation keys are letters, digits and `_`; a `.` is
            // kept by one translator and rewritten by the other.
            p.add(
                format!("indexed_attributes[{i}]"),
                attr,
                "annotation keys are 1-500 ASCII letters, digits and _ and start with a letter, \
                 so that both X-Ray export paths keep them as they are",
            );
        }
    }
    operations(catalog, &mut p);
    metrics(catalog, &mut p);
    dashboards(catalog, &mut p);
    for (i, team) in catalog.teams.iter().enumerate() {
        p.short_name(&format!("teams[{i}].name"), &team.name);
        for (j, op) in team.operations.iter().enumerate() {
            if catalog.operation(op).is_none() {
                p.add(
                    format!("teams[{i}].operations[{j}]"),
                    op,
                    "not an operation of the catalog",
                );
            }
        }
    }
    p.0
}

fn operations(catalog: &Catalog, p: &mut Problems) {
    let mut seen = HashSet::new();
    for (i, op) in catalog.operations.iter().enumerate() {
        let at = format!("operations[{i}]");
        p.operation_name(&format!("{at}.name"), &op.name);
        if !seen.insert(op.name.as_str()) {
            p.add(format!("{at}.name"), &op.name, "duplicate operation name");
        }
        let t = &op.thresholds;
        if !(t.duration_ms.is_finite() && t.duration_ms > 0.0) {
            p.add(
                format!("{at}.thresholds.duration_ms"),
                t.duration_ms,
                "must be a positive number of milliseconds",
            );
        }
        if t.memory_bytes == 0 {
            p.add(
                format!("{at}.thresholds.memory_bytes"),
                t.memory_bytes,
                "must be a positive number of bytes",
            );
        }
        if !(t.error_rate_percent > 0.0 && t.error_rate_percent <= 100.0) {
            p.add(
                format!("{at}.thresholds.error_rate_percent"),
                t.error_rate_percent,
                "must be a percentage in (0, 100]",
            );
        }
        let mut codes = HashSet::new();
        for (j, error) in op.errors.iter().enumerate() {
            let at = format!("{at}.errors[{j}]");
            let code = &error.code;
            if code.is_empty() || !code.chars().all(|c| c.is_ascii_graphic()) {
                p.add(format!("{at}.code"), code, "codes are printable ASCII");
            }
            if !codes.insert(code.as_str()) {
                p.add(format!("{at}.code"), code, "duplicate error code");
            }
            if let Some(why) = error.status_problem() {
                p.add(format!("{at}.status"), error.status.unwrap_or(0), why);
            }
        }
    }
}

fn metrics(catalog: &Catalog, p: &mut Problems) {
    // Every key an EMF line may hold at its root besides metrics.
    let mut keys_anywhere: HashSet<&str> = core::dimension_keys().collect();
    keys_anywhere.extend(crate::names::EMF_FIELDS);
    for metric in &catalog.custom_metrics {
        keys_anywhere.extend(metric.dimensions.iter().map(|d| d.name.as_str()));
    }
    let mut seen = HashSet::new();
    for (i, metric) in catalog.custom_metrics.iter().enumerate() {
        let at = format!("metrics[{i}]");
        p.name(&format!("{at}.name"), &metric.name);
        if core::is_core(&metric.name) {
            p.add(
                format!("{at}.name"),
                &metric.name,
                "a core metric: the library declares and records it",
            );
        } else if !seen.insert(metric.name.as_str()) {
            p.add(format!("{at}.name"), &metric.name, "duplicate metric name");
        }
        if keys_anywhere.contains(metric.name.as_str()) {
            p.add(
                format!("{at}.name"),
                &metric.name,
                "a dimension key or EMF field has this name: an EMF line would hold it twice",
            );
        }
        if let Some(op) = &metric.operation {
            if catalog.operation(op).is_none() {
                p.add(
                    format!("{at}.operation"),
                    op,
                    "not an operation of the catalog",
                );
            }
        }
        if metric.dimensions.len() + 2 > MAX_DIMENSIONS {
            p.add(
                format!("{at}.dimensions"),
                metric.dimensions.len(),
                "at most 28 keys (CloudWatch allows 30 with Handler and Environment)",
            );
        }
        let mut keys = HashSet::new();
        let mut series: usize = 1;
        for (j, d) in metric.dimensions.iter().enumerate() {
            let at = format!("{at}.dimensions[{j}]");
            p.name(&format!("{at}.name"), &d.name);
            if [dim::HANDLER, dim::ENVIRONMENT].contains(&d.name.as_str()) {
                p.add(
                    format!("{at}.name"),
                    &d.name,
                    "set by the library: use the metric's operation",
                );
            } else if !keys.insert(d.name.as_str()) {
                p.add(format!("{at}.name"), &d.name, "duplicate dimension key");
            }
            match (d.values.is_empty(), d.max_values) {
                (true, None) => p.add(
                    &at,
                    &d.name,
                    "list the allowed values, or bound them with max_values",
                ),
                (false, Some(max)) => p.add(
                    format!("{at}.max_values"),
                    max,
                    "values and max_values exclude each other",
                ),
                (true, Some(0)) => p.add(format!("{at}.max_values"), 0, "must be at least 1"),
                _ => {}
            }
            let mut values = HashSet::new();
            for (k, value) in d
                .values
                .iter()
                .chain(std::iter::once(&d.overflow))
                .enumerate()
            {
                let field = if k < d.values.len() {
                    format!("{at}.values[{k}]")
                } else {
                    format!("{at}.overflow")
                };
                if !valid_dimension_value(value) {
                    p.add(
                        field,
                        value,
                        "dimension values are 1-1024 printable ASCII characters, not all spaces (CloudWatch refuses others)",
                    );
                } else if k < d.values.len() && !values.insert(value.as_str()) {
                    p.add(field, value, "duplicate value");
                }
            }
            series = series.saturating_mul(d.cardinality());
        }
        if series > MAX_SERIES {
            p.add(
                format!("{at}.dimensions"),
                series,
                format!("more than {MAX_SERIES} series: lower the cardinality"),
            );
        }
    }
}

fn dashboards(catalog: &Catalog, p: &mut Problems) {
    let mut seen = HashSet::from(["performance".to_owned()]);
    seen.extend(catalog.teams.iter().map(|t| format!("team-{}", t.name)));
    for (i, dashboard) in catalog.dashboards.iter().enumerate() {
        let at = format!("dashboards[{i}]");
        p.short_name(&format!("{at}.name"), &dashboard.name);
        if !seen.insert(dashboard.name.clone()) {
            p.add(
                format!("{at}.name"),
                &dashboard.name,
                "another dashboard has this name (performance and team-* are generated)",
            );
        }
        if dashboard.widgets.is_empty() {
            p.add(
                format!("{at}.widgets"),
                &dashboard.widgets,
                "a dashboard needs at least one widget",
            );
        }
        for (j, widget) in dashboard.widgets.iter().enumerate() {
            let at = format!("{at}.widgets[{j}]");
            if widget.title.trim().is_empty() {
                p.add(
                    format!("{at}.title"),
                    &widget.title,
                    "a widget needs a title",
                );
            }
            if !(1..=24).contains(&widget.width) {
                p.add(format!("{at}.width"), widget.width, "the grid is 24 wide");
            }
            if !(1..=1000).contains(&widget.height) {
                p.add(
                    format!("{at}.height"),
                    widget.height,
                    "heights are 1 to 1000",
                );
            }
            if !valid_stat(&widget.stat) {
                p.add(
                    format!("{at}.stat"),
                    &widget.stat,
                    "Sum, Average, Minimum, Maximum, SampleCount or pNN",
                );
            }
            if !([1, 5, 10, 30].contains(&widget.period)
                || (widget.period > 0 && widget.period % 60 == 0))
            {
                p.add(
                    format!("{at}.period"),
                    widget.period,
                    "1, 5, 10, 30 or a multiple of 60 seconds",
                );
            }
            if widget.threshold.is_some_and(|t| !t.is_finite()) {
                p.add(
                    format!("{at}.threshold"),
                    widget.threshold,
                    "must be a finite number",
                );
            }
            let mut ids = HashSet::new();
            let mut count = 0;
            for (k, line) in widget.lines.iter().enumerate() {
                let at = format!("{at}.lines[{k}]");
                if let Some(stat) = &line.stat {
                    if !valid_stat(stat) {
                        p.add(
                            format!("{at}.stat"),
                            stat,
                            "Sum, Average, Minimum, Maximum, SampleCount or pNN",
                        );
                    }
                }
                if let Some(id) = &line.id {
                    if !valid_id(id) {
                        p.add(
                            format!("{at}.id"),
                            id,
                            "ids start with a lower-case letter, then letters, digits or _",
                        );
                    } else if !ids.insert(id.as_str()) {
                        p.add(format!("{at}.id"), id, "duplicate id in the widget");
                    }
                }
                match catalog.resolve_line(line, "${Environment}") {
                    Ok(lines) => count += lines.len(),
                    Err(reason) => p.add(
                        &at,
                        line.metric.as_ref().or(line.expression.as_ref()),
                        reason,
                    ),
                }
            }
            for (k, line) in widget.lines.iter().enumerate() {
                for id in line.expression.iter().flat_map(|e| expression_ids(e)) {
                    if !ids.contains(id.as_str()) {
                        p.add(
                            format!("{at}.lines[{k}].expression"),
                            &line.expression,
                            format!("unknown id {id}"),
                        );
                    }
                }
            }
            if count == 0 || count > MAX_LINES {
                p.add(format!("{at}.lines"), count, "a graph shows 1 to 100 lines");
            }
        }
    }
}
