//! Every environment variable perfmon reads, with its default. This is the
//! only place their names are spelled.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `OTEL_SERVICE_NAME` | `AWS_LAMBDA_FUNCTION_NAME`, else `perfmon` | `service.name` |
//! | `OTEL_TRACES_EXPORTER` | see [`crate::ExporterKind`] | `otlp`, `xray`, `console` or `none` |
//! | `OTEL_METRICS_EXPORTER` | see [`crate::ExporterKind`] | `otlp`, `emf`, `console` or `none` |
//! | `AWS_XRAY_DAEMON_ADDRESS` | `127.0.0.1:2000` | X-Ray daemon (UDP); set by Lambda when active tracing is on |
//! | `OTEL_EXPORTER_OTLP_ENDPOINT` | unset | OTLP backend; setting it selects `otlp` |
//! | `OTEL_EXPORTER_OTLP_PROTOCOL` | `http/protobuf` | `http/protobuf`, `http/json` or `grpc` (with the `grpc` feature) |
//! | `OTEL_EXPORTER_OTLP_CERTIFICATE` | unset | PEM file of a CA trusted besides the platform's roots (TLS is rustls, for HTTP and gRPC) |
//! | `OTEL_EXPORTER_OTLP_COMPRESSION` | unset | `gzip` compresses OTLP bodies (HTTP and gRPC); `none` does not |
//! | `OTEL_EXPORTER_OTLP_TIMEOUT` | `10000` | time an OTLP export may take, ms |
//! | `OTEL_TRACES_SAMPLER` | parent-based, always on (on Lambda the invocation's `Sampled=` flag decides), unless the code sets a default sampler | read by the OpenTelemetry SDK (with `OTEL_TRACES_SAMPLER_ARG`); wins over a sampler set in code |
//! | `OTEL_PROPAGATORS` | `xray,tracecontext,baggage` | trace-context formats read from invocations (an X-Ray header wins over `traceparent`) and written by the global propagator |
//! | `OTEL_METRIC_EXPORT_INTERVAL` | `60000` | periodic metric export, ms (flushes also export) |
//! | `PERFMON_OTLP_RETRY` | `false` on Lambda, else `true` | retry failed OTLP exports with backoff |
//! | `OTEL_BSP_MAX_QUEUE_SIZE` | `2048` | spans queued for a batching exporter; beyond it they are dropped and counted in `TelemetryLost` |
//! | `PERFMON_ENVIRONMENT` | `dev` | the `Environment` dimension |
//! | `PERFMON_CATALOG` | the catalog given in code, else core metrics only | path of a catalog file |
//! | `PERFMON_METRIC_NAMESPACE` | the catalog's `namespace` | CloudWatch namespace |
//! | `PERFMON_MEMORY_SOURCE` | `auto` | `auto`, `allocator` or `resident` |
//! | `PERFMON_EXPORT_PERSONAL_DATA` | `false` | export email and user name attributes |
//!
//! The Lambda layer ([`crate::lambda`]) also reads:
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `PERFMON_FLUSH_TIMEOUT_MS` | `500` | telemetry flush budget at the end of an invocation |
//! | `PERFMON_FLUSH_MODE` | `after-response` | `sync`, `after-response` or `adaptive` (see `lambda::FlushMode`) |
//! | `PERFMON_FLUSH_INTERVAL_MS` | `20000` | `adaptive`: longest time between flushes while invocations arrive faster |
//! | `AWS_LAMBDA_MAX_CONCURRENCY` | `1` | invocations one process runs at once (set by Lambda Managed Instances); above 1, `LambdaMonitoring::run_concurrent` exports as `lambda::FlushMode` describes for many invocations |
//!
//! The `tracing` bridge and log lines ([`crate::tracing`](mod@crate::tracing)) read:
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `OTEL_LOGS_EXPORTER` | `none` | `otlp` also sends each log line as an OTel log record |
//! | `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT` | `OTEL_EXPORTER_OTLP_ENDPOINT` | OTLP endpoint for logs only |
//! | `OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_TIMEOUT` | `OTEL_EXPORTER_OTLP_TIMEOUT` | one signal's export timeout, ms |
//! | `OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_COMPRESSION` | `OTEL_EXPORTER_OTLP_COMPRESSION` | one signal's compression, `gzip` or `none` |
//! | `AWS_LAMBDA_LOG_FORMAT` | `Text` | `JSON` prints JSON lines (Lambda's advanced logging controls) |
//! | `AWS_LAMBDA_LOG_LEVEL` | unset | `TRACE`..`FATAL`; when set it wins over `RUST_LOG` |
//! | `RUST_LOG` | `info` | `tracing` filter directives |

/// `service.name`.
pub const OTEL_SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
/// Default `service.name` off Lambda.
pub const OTEL_SERVICE_NAME_DEFAULT: &str = "perfmon";
/// Traces exporter selection.
pub const OTEL_TRACES_EXPORTER: &str = "OTEL_TRACES_EXPORTER";
/// The standard sampler setting (read by the SDK).
pub const OTEL_TRACES_SAMPLER: &str = "OTEL_TRACES_SAMPLER";
/// Metrics exporter selection.
pub const OTEL_METRICS_EXPORTER: &str = "OTEL_METRICS_EXPORTER";
/// OTLP endpoint for every signal.
pub const OTEL_EXPORTER_OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// Default [`OTEL_EXPORTER_OTLP_ENDPOINT`] over HTTP, before the signal's
/// path (the specification's).
pub const OTEL_EXPORTER_OTLP_ENDPOINT_HTTP_DEFAULT: &str = "http://localhost:4318";
/// Default [`OTEL_EXPORTER_OTLP_ENDPOINT`] over gRPC (the specification's).
pub const OTEL_EXPORTER_OTLP_ENDPOINT_GRPC_DEFAULT: &str = "http://localhost:4317";
/// OTLP endpoint for traces only.
pub const OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
/// OTLP endpoint for metrics only.
pub const OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT";
/// OTLP endpoint for logs only.
pub const OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT";
/// Logs exporter selection: `otlp` or `none`.
pub const OTEL_LOGS_EXPORTER: &str = "OTEL_LOGS_EXPORTER";
/// Log line format set by Lambda's advanced logging controls: `JSON` or
/// `Text`.
pub const AWS_LAMBDA_LOG_FORMAT: &str = "AWS_LAMBDA_LOG_FORMAT";
/// Application log level set by Lambda's advanced logging controls.
pub const AWS_LAMBDA_LOG_LEVEL: &str = "AWS_LAMBDA_LOG_LEVEL";
/// `tracing` filter directives, read when `AWS_LAMBDA_LOG_LEVEL` is unset.
pub const RUST_LOG: &str = "RUST_LOG";
/// Default of [`RUST_LOG`].
pub const RUST_LOG_DEFAULT: &str = "info";
/// OTLP transport.
pub const OTEL_EXPORTER_OTLP_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
/// Capacity of the span queue in front of a batching exporter.
pub const OTEL_BSP_MAX_QUEUE_SIZE: &str = "OTEL_BSP_MAX_QUEUE_SIZE";
/// Whether a failed OTLP export is retried (with backoff).
pub const PERFMON_OTLP_RETRY: &str = "PERFMON_OTLP_RETRY";
/// Default of [`PERFMON_OTLP_RETRY`] on Lambda: no retry. Each invocation
/// flushes within a budget; retrying a refused connection would sleep the
/// budget away on every invocation while the collector is down.
pub const PERFMON_OTLP_RETRY_DEFAULT_ON_LAMBDA: bool = false;
/// Default of [`PERFMON_OTLP_RETRY`] elsewhere: the exporter's recommended
/// policy (3 retries, 100 ms initial backoff).
pub const PERFMON_OTLP_RETRY_DEFAULT: bool = true;
/// Deployment environment, the `Environment` dimension.
pub const PERFMON_ENVIRONMENT: &str = "PERFMON_ENVIRONMENT";
/// Default `Environment`, as in the guide.
pub const PERFMON_ENVIRONMENT_DEFAULT: &str = "dev";
/// Path of a catalog to load when none is given in code.
pub const PERFMON_CATALOG: &str = "PERFMON_CATALOG";
/// CloudWatch namespace override.
pub const PERFMON_METRIC_NAMESPACE: &str = "PERFMON_METRIC_NAMESPACE";
/// Source of `MemoryUsage`.
pub const PERFMON_MEMORY_SOURCE: &str = "PERFMON_MEMORY_SOURCE";
/// Whether email and user-name attributes may be exported.
pub const PERFMON_EXPORT_PERSONAL_DATA: &str = "PERFMON_EXPORT_PERSONAL_DATA";
/// Default of [`PERFMON_EXPORT_PERSONAL_DATA`].
pub const PERFMON_EXPORT_PERSONAL_DATA_DEFAULT: bool = false;
/// X-Ray daemon endpoint; Lambda sets it when active tracing is on.
pub const AWS_XRAY_DAEMON_ADDRESS: &str = "AWS_XRAY_DAEMON_ADDRESS";
/// The function's log group, linked from X-Ray segments.
pub const AWS_LAMBDA_LOG_GROUP_NAME: &str = "AWS_LAMBDA_LOG_GROUP_NAME";
/// Set by Lambda in every function; its presence means "running on Lambda".
pub const AWS_LAMBDA_FUNCTION_NAME: &str = "AWS_LAMBDA_FUNCTION_NAME";

/// Flush budget at the end of an invocation, ms.
pub const PERFMON_FLUSH_TIMEOUT_MS: &str = "PERFMON_FLUSH_TIMEOUT_MS";
/// Default of [`PERFMON_FLUSH_TIMEOUT_MS`].
pub const PERFMON_FLUSH_TIMEOUT_MS_DEFAULT: std::time::Duration =
    std::time::Duration::from_millis(500);

/// When the Lambda layer flushes: `sync`, `after-response` or `adaptive`
/// (see `perfmon_lambda::lambda::FlushMode`; default `after-response`).
pub const PERFMON_FLUSH_MODE: &str = "PERFMON_FLUSH_MODE";

/// In the `adaptive` flush mode, the longest time between flushes while
/// invocations arrive faster than this, ms.
pub const PERFMON_FLUSH_INTERVAL_MS: &str = "PERFMON_FLUSH_INTERVAL_MS";
/// Default of [`PERFMON_FLUSH_INTERVAL_MS`].
pub const PERFMON_FLUSH_INTERVAL_MS_DEFAULT: std::time::Duration =
    std::time::Duration::from_secs(20);

/// How many invocations one process runs at once: set by Lambda Managed
/// Instances, read by `lambda_runtime`'s `run_concurrent` and by the
/// layer, which exports differently above 1.
pub const AWS_LAMBDA_MAX_CONCURRENCY: &str = "AWS_LAMBDA_MAX_CONCURRENCY";
/// Default of [`AWS_LAMBDA_MAX_CONCURRENCY`]: one invocation at a time.
pub const AWS_LAMBDA_MAX_CONCURRENCY_DEFAULT: u32 = 1;

/// The trace-context formats read and written: a comma-separated list of
/// `xray`, `tracecontext`, `baggage`, or `none`.
pub const OTEL_PROPAGATORS: &str = "OTEL_PROPAGATORS";

/// `gzip` compresses OTLP bodies; `none` or unset, they are not compressed.
pub const OTEL_EXPORTER_OTLP_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_COMPRESSION";
/// [`OTEL_EXPORTER_OTLP_COMPRESSION`] for traces only.
pub const OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION";
/// [`OTEL_EXPORTER_OTLP_COMPRESSION`] for metrics only.
pub const OTEL_EXPORTER_OTLP_METRICS_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION";
/// [`OTEL_EXPORTER_OTLP_COMPRESSION`] for logs only.
pub const OTEL_EXPORTER_OTLP_LOGS_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_LOGS_COMPRESSION";

/// Periodic metric export, ms, more than zero (perfmon hands it to the
/// SDK's periodic readers).
pub const OTEL_METRIC_EXPORT_INTERVAL: &str = "OTEL_METRIC_EXPORT_INTERVAL";
/// Default `OTEL_METRIC_EXPORT_INTERVAL`, as the SDK's.
pub const OTEL_METRIC_EXPORT_INTERVAL_DEFAULT: std::time::Duration =
    std::time::Duration::from_secs(60);

/// A PEM file of a CA that OTLP over TLS trusts besides the platform's
/// roots (a collector behind a private CA).
pub const OTEL_EXPORTER_OTLP_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_CERTIFICATE";

/// Time an OTLP export may take, ms (perfmon hands it to each exporter, and
/// to the HTTP client it builds when a CA is configured).
pub const OTEL_EXPORTER_OTLP_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TIMEOUT";
/// [`OTEL_EXPORTER_OTLP_TIMEOUT`] for traces only.
pub const OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT";
/// [`OTEL_EXPORTER_OTLP_TIMEOUT`] for metrics only.
pub const OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT";
/// [`OTEL_EXPORTER_OTLP_TIMEOUT`] for logs only.
pub const OTEL_EXPORTER_OTLP_LOGS_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT";
/// Default of [`OTEL_EXPORTER_OTLP_TIMEOUT`], the specification's.
pub const OTEL_EXPORTER_OTLP_TIMEOUT_DEFAULT: std::time::Duration =
    std::time::Duration::from_secs(10);

/// Default `AWS_XRAY_DAEMON_ADDRESS`: the daemon's local port.
pub const AWS_XRAY_DAEMON_ADDRESS_DEFAULT: std::net::SocketAddr =
    std::net::SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 2000);

/// A variable holds a value its reader does not accept: the one error
/// shape of every setting read from the environment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}={value:?} is not valid: expected {expected}")]
pub struct EnvError {
    /// The variable.
    pub var: &'static str,
    /// What it held.
    pub value: String,
    /// What it may hold.
    pub expected: String,
}

/// A setting in the order code, then the variable, then the default; a
/// set variable that does not parse is an [`EnvError`].
pub fn resolve<T, E>(code: Option<T>, var: &'static str, default: T) -> Result<T, EnvError>
where
    T: std::str::FromStr<Err = E>,
    E: std::fmt::Display,
{
    resolve_with(code, var, default, |value| {
        value.trim().parse().map_err(|e: E| e.to_string())
    })
}

/// [`resolve`] with `parse` reading the variable; its error says what the
/// variable may hold.
pub fn resolve_with<T>(
    code: Option<T>,
    var: &'static str,
    default: T,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, EnvError> {
    if let Some(value) = code {
        return Ok(value);
    }
    match self::var(var) {
        None => Ok(default),
        Some(value) => parse(&value).map_err(|expected| EnvError {
            var,
            value,
            expected,
        }),
    }
}

/// A `true`/`false` (or `1`/`0`) setting, resolved as [`resolve`] does.
pub fn resolve_bool(
    code: Option<bool>,
    var: &'static str,
    default: bool,
) -> Result<bool, EnvError> {
    resolve_with(code, var, default, |value| match value.trim() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err("true or false".to_owned()),
    })
}

/// A duration in whole milliseconds, resolved as [`resolve`] does.
pub fn resolve_millis(
    code: Option<std::time::Duration>,
    var: &'static str,
    default: std::time::Duration,
) -> Result<std::time::Duration, EnvError> {
    resolve_with(code, var, default, |value| {
        value
            .trim()
            .parse()
            .map(std::time::Duration::from_millis)
            .map_err(|_| "a whole number of milliseconds".to_owned())
    })
}

/// The variable's value, when set and not blank.
pub fn var(name: &str) -> Option<String> {
    if TELEMETRY_VARS_IGNORED.with(std::cell::Cell::get) && is_telemetry_var(name) {
        return None;
    }
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

thread_local! {
    /// Set while [`without_telemetry_vars`] runs.
    static TELEMETRY_VARS_IGNORED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The variables a telemetry fallback ignores: every `OTEL_*` and
/// `PERFMON_*` one.
fn is_telemetry_var(name: &str) -> bool {
    name.starts_with("OTEL_") || name.starts_with("PERFMON_")
}

/// Runs `f` on this thread as if no `OTEL_*` or `PERFMON_*` variable were
/// set: the defaults a telemetry fallback uses.
pub(crate) fn without_telemetry_vars<T>(f: impl FnOnce() -> T) -> T {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            TELEMETRY_VARS_IGNORED.with(|c| c.set(self.0));
        }
    }
    let _reset = Reset(TELEMETRY_VARS_IGNORED.with(|c| c.replace(true)));
    f()
}
