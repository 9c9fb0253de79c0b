//! The graceful shutdown: telemetry still buffered when Lambda reclaims the
//! environment is flushed on SIGTERM.
//!
//! Lambda sends SIGTERM (and waits up to 500 ms) only to a function that has
//! registered an extension. [`shutdown_on_sigterm`] registers a no-op
//! internal one, as `lambda_runtime::spawn_graceful_shutdown_handler` does,
//! but a registration that fails is logged instead of panicking: telemetry
//! never takes a function down, and SIGTERM is still handled when something
//! else sends it.
//!
//! Invocations still running when the signal arrives (several may run at
//! once under Lambda Managed Instances) have their root spans ended as
//! [`INTERRUPTED`](super::INTERRUPTED) first, so their traces are flushed
//! with the rest.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::signal::unix::{signal, SignalKind};

use super::in_flight::InFlight;
use crate::telemetry::Telemetry;

/// The longest the shutdown flush may take: inside the 500 ms Lambda waits
/// after SIGTERM, with time left for the process to exit.
pub const SHUTDOWN_BUDGET: Duration = Duration::from_millis(400);

/// The internal extension's name; unique within a function.
const EXTENSION_NAME: &str = "perfmon-graceful-shutdown";

/// Registers the no-op extension and, until the process ends, shuts
/// `telemetry` down within [`SHUTDOWN_BUDGET`] on SIGTERM or SIGINT, then
/// exits with status 0. Call it during init, before the runtime starts;
/// [`LambdaMonitoring::run`](super::LambdaMonitoring::run) does.
pub async fn shutdown_on_sigterm(telemetry: Arc<Telemetry>) {
    on_sigterm(telemetry, None).await
}

/// [`shutdown_on_sigterm`], ending the root spans of the invocations in
/// `in_flight` before the flush.
pub(super) async fn on_sigterm(telemetry: Arc<Telemetry>, in_flight: Option<Arc<InFlight>>) {
    let (mut sigterm, mut sigint) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(term), Ok(int)) => (term, int),
        (Err(error), _) | (_, Err(error)) => {
            tracing::warn!(%error, "no graceful shutdown: signals cannot be handled");
            return;
        }
    };
    register_extension().await;
    tokio::spawn(async move {
        tokio::select! {
            biased;
            _ = sigterm.recv() => {},
            _ = sigint.recv() => {},
        }
        let started = Instant::now();
        let interrupted = in_flight.map_or(0, |running| running.interrupt());
        let flushed =
            tokio::task::spawn_blocking(move || telemetry.shutdown(SHUTDOWN_BUDGET)).await;
        let elapsed_ms = crate::clock::millis(started.elapsed());
        match flushed {
            Ok(Ok(())) => tracing::info!(elapsed_ms, interrupted, "telemetry flushed on shutdown"),
            Ok(Err(error)) => {
                tracing::warn!(%error, elapsed_ms, interrupted, "telemetry shutdown incomplete")
            }
            Err(error) => tracing::warn!(%error, "telemetry shutdown failed"),
        }
        std::process::exit(0);
    });
}

/// Registers the extension and runs it in the background; off Lambda, or
/// when the Extensions API refuses it, logs why and does nothing.
async fn register_extension() {
    // The client panics without the variable: off Lambda there is nothing
    // to register with.
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        return;
    }
    match lambda_extension::Extension::new()
        .with_events(&[])
        .with_extension_name(EXTENSION_NAME)
        .register()
        .await
    {
        Ok(extension) => {
            tokio::spawn(async move {
                // Waits for events it never subscribed to; an error only
                // means the extension is gone, which costs nothing but the
                // signal.
                let _ = extension.run().await;
            });
        }
        Err(error) => tracing::warn!(
            %error,
            "the shutdown extension could not register; Lambda may not send SIGTERM"
        ),
    }
}
