//! The rows a Lambda operator expects under the per-operation graphs:
//! perfmon's own cold starts and threshold breaches, then what Lambda and
//! API Gateway report about the functions themselves (`AWS/Lambda`
//! `Duration`, `Errors`, `Throttles`, `ConcurrentExecutions`;
//! `AWS/ApiGateway` WebSocket `ConnectCount`, `MessageCount`,
//! `ClientError`, `ExecutionError`).
//!
//! They are `SEARCH` expressions, so they need no function name, API id
//! or handler list: each shows every function, API or handler that
//! publishes the metric ("Using search expressions in graphs", Amazon
//! CloudWatch User Guide).

use serde_json::{json, Value};

use super::widgets::{graph, Grid, PERIOD};
use super::ENVIRONMENT;
use perfmon_lambda::names::{self, dim};
use perfmon_lambda::Catalog;

/// A graph of one `SEARCH` expression.
fn search(title: &str, schema: &str, metric: &str, terms: &str, stat: &str) -> Value {
    let expression =
        format!("SEARCH('{{{schema}}} MetricName=\"{metric}\"{terms}', '{stat}', {PERIOD})");
    graph(
        title,
        vec![json!([{"expression": expression, "id": "s0"}])],
        stat,
        None,
    )
}

/// Places the rows on `grid`.
pub fn rows(grid: &mut Grid, catalog: &Catalog) {
    let ns = &catalog.namespace;
    let env = format!(" {}=\"{ENVIRONMENT}\"", dim::ENVIRONMENT);
    grid.newline();
    grid.place(
        12,
        6,
        search(
            "Cold starts per minute, by function",
            &format!("{ns},{},{}", dim::FUNCTION, dim::ENVIRONMENT),
            names::COLD_STARTS,
            &env,
            "Sum",
        ),
    );
    grid.place(
        12,
        6,
        search(
            "Threshold breaches per minute, by operation and metric",
            &format!("{ns},{},{},{}", dim::HANDLER, dim::ENVIRONMENT, dim::METRIC),
            names::THRESHOLD_BREACHES,
            &env,
            "Sum",
        ),
    );
    grid.newline();
    let lambda = [
        (
            "Lambda Duration (ms), average by function",
            "Duration",
            "Average",
        ),
        ("Lambda Errors, by function", "Errors", "Sum"),
        ("Lambda Throttles, by function", "Throttles", "Sum"),
    ];
    for (title, metric, stat) in lambda {
        grid.place(
            6,
            6,
            search(title, "AWS/Lambda,FunctionName", metric, "", stat),
        );
    }
    grid.place(
        6,
        6,
        search(
            "Lambda ConcurrentExecutions (account)",
            "AWS/Lambda",
            "ConcurrentExecutions",
            "",
            "Maximum",
        ),
    );
    grid.newline();
    let api = [
        ("API Gateway ConnectCount", "ConnectCount"),
        ("API Gateway MessageCount", "MessageCount"),
        ("API Gateway ClientError (4xx)", "ClientError"),
        ("API Gateway ExecutionError", "ExecutionError"),
    ];
    for (title, metric) in api {
        grid.place(
            6,
            6,
            search(title, "AWS/ApiGateway,ApiId,Stage", metric, "", "Sum"),
        );
    }
}
