//! Building blocks of dashboard widgets.

use serde_json::{json, Value};

use super::{ENVIRONMENT, REGION};
use perfmon_lambda::Catalog;

/// Dashboard grid width.
pub const GRID_WIDTH: u64 = 24;
/// Per-minute rates and most graphs use one-minute periods.
pub const PERIOD: u64 = 60;

/// Lays widgets out left to right, `width` wide, `height` high.
pub struct Grid {
    x: u64,
    y: u64,
    row_height: u64,
    pub widgets: Vec<Value>,
}

impl Grid {
    pub fn new() -> Self {
        Grid {
            x: 0,
            y: 0,
            row_height: 0,
            widgets: Vec::new(),
        }
    }

    pub fn place(&mut self, width: u64, height: u64, mut widget: Value) {
        if self.x + width > GRID_WIDTH {
            self.x = 0;
            self.y += self.row_height;
            self.row_height = 0;
        }
        widget["x"] = json!(self.x);
        widget["y"] = json!(self.y);
        widget["width"] = json!(width);
        widget["height"] = json!(height);
        self.widgets.push(widget);
        self.x += width;
        self.row_height = self.row_height.max(height);
    }

    /// A full-width row break.
    pub fn newline(&mut self) {
        if self.x > 0 {
            self.x = 0;
            self.y += self.row_height;
            self.row_height = 0;
        }
    }
}

/// The markdown header every dashboard starts with, naming the catalog
/// version it was generated from.
pub fn header(catalog: &Catalog, title: &str) -> Value {
    json!({
        "type": "text",
        "properties": {
            "markdown": format!(
                "# {title}\nGenerated from metric catalog **version {}** (namespace `{}`), environment `{ENVIRONMENT}`. Do not edit: change the catalog and regenerate.",
                catalog.version, catalog.namespace
            )
        }
    })
}

/// A metric line: `[namespace, name, dim, value, ..., {options}]`.
pub fn metric(catalog: &Catalog, name: &str, dims: &[(&str, &str)], options: Value) -> Value {
    let mut line = vec![json!(catalog.namespace), json!(name)];
    for (key, value) in dims {
        line.push(json!(key));
        line.push(json!(value));
    }
    line.push(options);
    Value::Array(line)
}

/// `[Handler, op, Environment, ${Environment}]`, the core metrics' set.
pub fn handler_dims(op: &str) -> Vec<(&str, &str)> {
    vec![("Handler", op), ("Environment", ENVIRONMENT)]
}

/// A graph widget.
pub fn graph(
    title: &str,
    metrics: Vec<Value>,
    stat: &str,
    threshold: Option<(f64, &str)>,
) -> Value {
    let mut properties = json!({
        "title": title,
        "view": "timeSeries",
        "stacked": false,
        "region": REGION,
        "period": PERIOD,
        "stat": stat,
        "metrics": metrics,
    });
    if let Some((value, label)) = threshold {
        properties["annotations"] = json!({"horizontal": [{"label": label, "value": value}]});
    }
    json!({"type": "metric", "properties": properties})
}
