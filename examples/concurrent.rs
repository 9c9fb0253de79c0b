//! A function for Lambda Managed Instances, where one process runs many
//! invocations at once: `run_concurrent` takes up to
//! `AWS_LAMBDA_MAX_CONCURRENCY` of them together (one at a time when it is
//! unset, as on Lambda's default compute).
//!
//! Each invocation's log lines and spans carry its own request id and
//! trace, whatever else runs beside it; spans leave as invocations end,
//! one flush at a time for all of them, and metrics are aggregated across
//! invocations.
//!
//! The event is a job, `{"id": 7, "work_ms": 20}`; the answer names it.
//!
//! ```sh
//! AWS_LAMBDA_MAX_CONCURRENCY=8 cargo lambda watch --example concurrent
//! ```

use std::time::Duration;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use opentelemetry::KeyValue;
use perfmon_lambda::lambda::{InvocationEvent, LambdaMonitoring};
use perfmon_lambda::PerformanceMonitor;
use serde::Deserialize;
use serde_json::{json, Value};

/// One job to process.
#[derive(Debug, Deserialize)]
struct Job {
    id: u64,
    /// How long the work waits (on I/O, say), ms.
    #[serde(default)]
    work_ms: u64,
}

/// An event of the function's own: trigger `other`, no trace carrier.
impl InvocationEvent for Job {}

async fn process(monitor: PerformanceMonitor, event: LambdaEvent<Job>) -> Result<Value, Error> {
    let job = event.payload;
    let mut op = monitor.start("process", [KeyValue::new("app.job.id", job.id as i64)]);
    op.within(async {
        tracing::info!(job = job.id, "processing");
        tokio::time::sleep(Duration::from_millis(job.work_ms)).await;
    })
    .await;
    op.complete(true, []);
    Ok(json!({ "job": job.id }))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let monitoring = LambdaMonitoring::from_env()?;
    let monitor = monitoring.monitor().clone();
    monitoring
        .run_concurrent(service_fn(move |event| process(monitor.clone(), event)))
        .await
}
