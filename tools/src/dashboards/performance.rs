//! The performance dashboard (and the team dashboards, which select
//! operations): per handler, duration (average and p99), memory and error
//! rate, each with its threshold drawn as a horizontal annotation; then,
//! on the performance dashboard, cold starts, threshold breaches, Lambda's
//! and API Gateway's own metrics (`platform.rs`); last, the telemetry the functions lost, so a gap in
//! the graphs is explained.

use serde_json::{json, Value};

use super::widgets::{graph, handler_dims, header, metric, Grid};
use super::ENVIRONMENT;
use perfmon_lambda::names::{self, dim};
use perfmon_lambda::Catalog;
use perfmon_lambda::Signal;

/// A DashboardBody for `operations`; `platform` adds the rows of
/// `platform.rs` (the performance dashboard has them, team dashboards
/// do not).
pub fn body(catalog: &Catalog, operations: &[&str], title: &str, platform: bool) -> Value {
    let mut grid = Grid::new();
    grid.place(24, 2, header(catalog, title));
    for (i, op) in operations.iter().enumerate() {
        let limits = catalog
            .operation(op)
            .expect("dashboards show catalog operations")
            .thresholds;
        grid.newline();
        let dims = handler_dims(op);
        grid.place(
            8,
            6,
            graph(
                &format!("{op}: duration (ms)"),
                vec![
                    metric(
                        catalog,
                        names::HANDLER_DURATION,
                        &dims,
                        json!({"stat": "Average", "label": "average"}),
                    ),
                    metric(
                        catalog,
                        names::HANDLER_DURATION,
                        &dims,
                        json!({"stat": "p99", "label": "p99"}),
                    ),
                ],
                "Average",
                Some((limits.duration_ms, "threshold")),
            ),
        );
        grid.place(
            8,
            6,
            graph(
                &format!("{op}: memory (bytes)"),
                vec![
                    metric(
                        catalog,
                        names::MEMORY_USAGE,
                        &dims,
                        json!({"stat": "Average", "label": "average"}),
                    ),
                    metric(
                        catalog,
                        names::MEMORY_USAGE,
                        &dims,
                        json!({"stat": "Maximum", "label": "maximum"}),
                    ),
                ],
                "Average",
                Some((limits.memory_bytes as f64, "threshold")),
            ),
        );
        let (e, n) = (format!("e{i}"), format!("n{i}"));
        grid.place(
            8,
            6,
            graph(
                &format!("{op}: error rate (%)"),
                vec![
                    json!([{"expression": format!("100 * FILL({e}, 0) / {n}"), "label": "error rate", "id": format!("rate{i}")}]),
                    metric(catalog, names::ERRORS, &dims, json!({"stat": "Sum", "id": e, "visible": false})),
                    metric(catalog, names::INVOCATIONS, &dims, json!({"stat": "Sum", "id": n, "visible": false})),
                ],
                "Sum",
                Some((limits.error_rate_percent, "threshold")),
            ),
        );
    }
    if platform {
        super::platform::rows(&mut grid, catalog);
    }
    grid.newline();
    let lost = |signal: Signal| {
        let signal = signal.to_string();
        metric(
            catalog,
            names::TELEMETRY_LOST,
            &[(dim::SIGNAL, &signal), (dim::ENVIRONMENT, ENVIRONMENT)],
            json!({"stat": "Maximum", "label": format!("{signal} lost")}),
        )
    };
    grid.place(
        24,
        6,
        graph(
            "Telemetry lost (running total per process: spans, metric points)",
            vec![lost(Signal::Traces), lost(Signal::Metrics)],
            "Maximum",
            None,
        ),
    );
    json!({"widgets": grid.widgets})
}
