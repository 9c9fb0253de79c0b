//! Alarms in `PutMetricAlarm` shape: duration, memory and error rate (as
//! metric math over `Errors` and `Invocations`) for every operation.

use serde_json::{json, Value};

use super::ENVIRONMENT;
use perfmon_lambda::names;
use perfmon_lambda::Catalog;

/// Minutes of data each alarm judges, and how many must breach.
const EVALUATION_PERIODS: u64 = 3;
const DATAPOINTS_TO_ALARM: u64 = 2;

fn dimensions(op: &str) -> Value {
    json!([{"Name": "Handler", "Value": op}, {"Name": "Environment", "Value": ENVIRONMENT}])
}

fn simple(
    catalog: &Catalog,
    op: &str,
    what: &str,
    metric: &str,
    statistic: &str,
    threshold: f64,
    unit_text: &str,
) -> Value {
    json!({
        "AlarmName": format!("perfmon-{ENVIRONMENT}-{op}-{what}"),
        "AlarmDescription": format!(
            "{op}: {statistic} {metric} above {threshold} {unit_text} for {DATAPOINTS_TO_ALARM} of {EVALUATION_PERIODS} minutes (catalog version {})",
            catalog.version
        ),
        "Namespace": catalog.namespace,
        "MetricName": metric,
        "Dimensions": dimensions(op),
        "Statistic": statistic,
        "Period": 60,
        "EvaluationPeriods": EVALUATION_PERIODS,
        "DatapointsToAlarm": DATAPOINTS_TO_ALARM,
        "Threshold": threshold,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
    })
}

fn metric_stat(catalog: &Catalog, id: &str, metric: &str, op: &str) -> Value {
    json!({
        "Id": id,
        "MetricStat": {
            "Metric": {"Namespace": catalog.namespace, "MetricName": metric, "Dimensions": dimensions(op)},
            "Period": 300,
            "Stat": "Sum",
        },
        "ReturnData": false,
    })
}

/// Every alarm, three per operation.
pub fn all(catalog: &Catalog) -> Vec<Value> {
    let mut alarms = Vec::new();
    for op in &catalog.operations {
        let t = op.thresholds;
        let name = op.name.as_str();
        alarms.push(simple(
            catalog,
            name,
            "duration",
            names::HANDLER_DURATION,
            "Average",
            t.duration_ms,
            "ms",
        ));
        alarms.push(simple(
            catalog,
            name,
            "memory",
            names::MEMORY_USAGE,
            "Maximum",
            t.memory_bytes as f64,
            "bytes",
        ));
        alarms.push(json!({
            "AlarmName": format!("perfmon-{ENVIRONMENT}-{name}-error-rate"),
            "AlarmDescription": format!(
                "{name}: 100 * Errors / Invocations across all instances above {} % over 5 minutes, {DATAPOINTS_TO_ALARM} of {EVALUATION_PERIODS} (catalog version {})",
                t.error_rate_percent, catalog.version
            ),
            "Metrics": [
                metric_stat(catalog, "errors", names::ERRORS, name),
                metric_stat(catalog, "invocations", names::INVOCATIONS, name),
                {
                    "Id": "error_rate",
                    "Expression": "100 * FILL(errors, 0) / invocations",
                    "Label": "error rate (%)",
                    "ReturnData": true,
                },
            ],
            "EvaluationPeriods": EVALUATION_PERIODS,
            "DatapointsToAlarm": DATAPOINTS_TO_ALARM,
            "Threshold": t.error_rate_percent,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
        }));
    }
    alarms
}
