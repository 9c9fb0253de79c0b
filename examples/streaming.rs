//! A function URL that streams its response (`InvokeMode:
//! RESPONSE_STREAM`, `lambda_runtime::streaming`): the invocation's root span ends when the
//! stream ends, with the bytes sent, and the `stream` operation, moved
//! into the task that writes the stream, measures the same interval in
//! `HandlerDuration`.
//!
//! The query string says how many chunks to send and how long to wait
//! before each: `GET /report?chunks=3&delay_ms=200`; with `fail_at=1`, the
//! stream raises an error after its first chunk, and the invocation is a
//! fault.
//!
//! ```sh
//! cargo lambda watch --example streaming
//! ```

use std::time::Duration;

use aws_lambda_events::lambda_function_urls::LambdaFunctionUrlRequest;
use lambda_runtime::streaming::Response;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use opentelemetry::KeyValue;
use perfmon_lambda::lambda::LambdaMonitoring;
use perfmon_lambda::PerformanceMonitor;
use tokio::sync::mpsc::{channel, Sender};
use tokio_stream::wrappers::ReceiverStream;

/// Writes `chunks` lines, waiting `delay` before each; fails at chunk
/// `fail_at`, if given.
async fn write(
    tx: Sender<Result<String, Error>>,
    chunks: u64,
    delay: Duration,
    fail_at: Option<u64>,
) -> Result<(), Error> {
    for i in 0..chunks {
        tokio::time::sleep(delay).await;
        if Some(i) == fail_at {
            let _ = tx.send(Err("the upstream source went away".into())).await;
            return Err("the upstream source went away".into());
        }
        tx.send(Ok(format!("chunk {i}\n"))).await?;
    }
    Ok(())
}

async fn stream(
    monitor: PerformanceMonitor,
    event: LambdaEvent<LambdaFunctionUrlRequest>,
) -> Result<Response<ReceiverStream<Result<String, Error>>>, Error> {
    let query = &event.payload.query_string_parameters;
    let number = |name: &str| query.get(name).and_then(|v| v.parse::<u64>().ok());
    let chunks = number("chunks").unwrap_or(3);
    let delay = Duration::from_millis(number("delay_ms").unwrap_or(100));
    let fail_at = number("fail_at");
    let (tx, body) = channel(4);
    let mut op = monitor.start(
        "stream",
        [KeyValue::new("app.stream.chunks", chunks as i64)],
    );
    tokio::spawn(async move {
        let written = op.within(write(tx, chunks, delay, fail_at)).await;
        op.complete(written.is_ok(), []);
    });
    Ok(Response::from(ReceiverStream::new(body)))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let monitoring = LambdaMonitoring::from_env()?;
    let monitor = monitoring.monitor().clone();
    monitoring
        .run_streaming(service_fn(move |event| stream(monitor.clone(), event)))
        .await
}
