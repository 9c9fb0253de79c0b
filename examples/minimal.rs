//! The smallest monitored function: any JSON event, one operation per
//! invocation. Telemetry is configured from the environment: on Lambda,
//! EMF on stdout and X-Ray over UDP, or OTLP when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
//!
//! ```sh
//! cargo lambda watch --example minimal
//! ```

use lambda_runtime::{service_fn, Error, LambdaEvent};
use perfmon_lambda::lambda::LambdaMonitoring;
use serde_json::{json, Value};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let monitoring = LambdaMonitoring::from_env()?;
    let monitor = monitoring.monitor().clone();
    monitoring
        .run(service_fn(move |event: LambdaEvent<Value>| {
            let monitor = monitor.clone();
            async move {
                let op = monitor.start("echo", []);
                let reply = json!({ "echo": event.payload });
                op.complete(true, []);
                Ok::<_, Error>(reply)
            }
        }))
        .await
}
