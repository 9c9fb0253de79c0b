//! The catalog's own dashboards: each widget's lines resolved against the
//! catalog's metrics and drawn as CloudWatch graph widgets.

use serde_json::{json, Map, Value};

use super::widgets::{graph, header, Grid};
use super::ENVIRONMENT;
use perfmon_lambda::catalog::{DashboardSpec, ResolvedLine};
use perfmon_lambda::Catalog;

/// The DashboardBody of `dashboard`, which a validated catalog holds.
pub fn body(catalog: &Catalog, dashboard: &DashboardSpec) -> Value {
    let mut grid = Grid::new();
    grid.place(24, 2, header(catalog, &dashboard.title));
    for widget in &dashboard.widgets {
        let lines = widget
            .lines
            .iter()
            .flat_map(|line| {
                catalog
                    .resolve_line(line, ENVIRONMENT)
                    .expect("a validated catalog's lines resolve")
            })
            .map(|line| metric_line(catalog, &line))
            .collect();
        let threshold = widget.threshold.map(|t| (t, "threshold"));
        let mut graph = graph(&widget.title, lines, &widget.stat, threshold);
        graph["properties"]["period"] = json!(widget.period);
        grid.place(u64::from(widget.width), u64::from(widget.height), graph);
    }
    json!({"widgets": grid.widgets})
}

/// `[namespace, name, key, value, ..., {options}]`, or `[{expression}]`.
fn metric_line(catalog: &Catalog, line: &ResolvedLine) -> Value {
    let mut options = Map::new();
    if let Some(expression) = &line.expression {
        options.insert("expression".into(), json!(expression));
    }
    if let Some(stat) = &line.stat {
        options.insert("stat".into(), json!(stat));
    }
    if let Some(label) = &line.label {
        options.insert("label".into(), json!(label));
    }
    if let Some(id) = &line.id {
        options.insert("id".into(), json!(id));
    }
    if let Some(visible) = line.visible {
        options.insert("visible".into(), json!(visible));
    }
    let Some(metric) = &line.metric else {
        return json!([Value::Object(options)]);
    };
    let mut items = vec![json!(catalog.namespace), json!(metric)];
    for (key, value) in &line.dimensions {
        items.push(json!(key));
        items.push(json!(value));
    }
    if !options.is_empty() {
        items.push(Value::Object(options));
    }
    Value::Array(items)
}
