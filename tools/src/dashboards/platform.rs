//! The rows a Lambda operator expects under the per-operation graphs:
//! perfmon's own cold starts and threshold breaches, then what Lambda and
//! API Gateway report about the functions themselves (`AWS/Lambda`
//! `Duration`, `Errors`, `Throttles`, `ConcurrentExecutions`;
//! `AWS/ApiGateway` WebSocket `ConnectCount`, `MessageCount`,
//! `ClientError`, `ExecutionError`).
//!
//! They are `SEARCH` expressions, each scoped to the stack: perfmon's
//! metrics by `Environment`, Lambda's by the stack's own function names
//! (`(FunctionName="a" OR FunctionName="b")`, exact matches), API
//! Gateway's by its API id. One graph shows one line per function or
//! stage, and nothing of the rest of the account ("Using search
//! expressions in graphs", "CloudWatch search expression syntax", Amazon
//! CloudWatch User Guide).

use serde_json::{json, Value};

use super::widgets::{graph, Grid, PERIOD};
use super::{API_ID, ENVIRONMENT, FUNCTIONS};
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
    let functions = format!(" (FunctionName=\"{FUNCTIONS}\")");
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
            search(title, "AWS/Lambda,FunctionName", metric, &functions, stat),
        );
    }
    grid.place(
        6,
        6,
        search(
            "Lambda ConcurrentExecutions, by function",
            "AWS/Lambda,FunctionName",
            "ConcurrentExecutions",
            &functions,
            "Maximum",
        ),
    );
    grid.newline();
    let api_id = format!(" ApiId=\"{API_ID}\"");
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
            search(title, "AWS/ApiGateway,ApiId,Stage", metric, &api_id, "Sum"),
        );
    }
}
