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
//! | `OTEL_EXPORTER_OTLP_PROTOCOL` | `http/protobuf` | `http/protobuf` or `grpc` |
//! | `OTEL_METRIC_EXPORT_INTERVAL` | `60000` | periodic metric export, ms (flushes also export) |
//! | `OTEL_BSP_MAX_QUEUE_SIZE` | `2048` | spans queued for a batching exporter; beyond it they are dropped and counted in `TelemetryLost` |
//! | `PERFMON_ENVIRONMENT` | `dev` | the `Environment` dimension |
//! | `PERFMON_CATALOG` | embedded `dashboards/catalog.json` | path of another catalog |
//! | `PERFMON_METRIC_NAMESPACE` | the catalog's `namespace` | CloudWatch namespace |
//! | `PERFMON_MEMORY_SOURCE` | `auto` | `auto`, `allocator` or `resident` |
//! | `PERFMON_EXPORT_PERSONAL_DATA` | `false` | export email and user name attributes |
//!
//! The Lambda functions (feature `aws`) also read:
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `PERFMON_CONNECTIONS_TABLE` | `perfmon-connections` | DynamoDB connections table |
//! | `PERFMON_MESSAGES_TABLE` | `perfmon-messages` | DynamoDB messages table |
//! | `PERFMON_COGNITO_ISSUER` | required | `https://cognito-idp.REGION.amazonaws.com/POOL_ID` |
//! | `PERFMON_COGNITO_CLIENT_ID` | required | the app client id |
//! | `PERFMON_COGNITO_JWKS_URL` | issuer + `/.well-known/jwks.json` | where the pool's keys are |
//! | `PERFMON_AUTH_LEEWAY_SECONDS` | `30` | clock skew tolerated on `exp`/`nbf`/`iat` |
//! | `PERFMON_MANAGEMENT_ENDPOINT` | required by `ws-conversation` | `https://API.execute-api.REGION.amazonaws.com/STAGE` |
//! | `PERFMON_FLUSH_TIMEOUT_MS` | `500` | telemetry flush budget at the end of an invocation |

/// `service.name`.
pub const OTEL_SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
/// Default `service.name` off Lambda.
pub const OTEL_SERVICE_NAME_DEFAULT: &str = "perfmon";
/// Traces exporter selection.
pub const OTEL_TRACES_EXPORTER: &str = "OTEL_TRACES_EXPORTER";
/// Metrics exporter selection.
pub const OTEL_METRICS_EXPORTER: &str = "OTEL_METRICS_EXPORTER";
/// OTLP endpoint for every signal.
pub const OTEL_EXPORTER_OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// OTLP endpoint for traces only.
pub const OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
/// OTLP endpoint for metrics only.
pub const OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT";
/// OTLP transport.
pub const OTEL_EXPORTER_OTLP_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
/// Capacity of the span queue in front of a batching exporter.
pub const OTEL_BSP_MAX_QUEUE_SIZE: &str = "OTEL_BSP_MAX_QUEUE_SIZE";
/// Deployment environment, the `Environment` dimension.
pub const PERFMON_ENVIRONMENT: &str = "PERFMON_ENVIRONMENT";
/// Default `Environment`, as in the guide.
pub const PERFMON_ENVIRONMENT_DEFAULT: &str = "dev";
/// Path of a catalog to load instead of the embedded one.
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

/// DynamoDB connections table.
pub const PERFMON_CONNECTIONS_TABLE: &str = "PERFMON_CONNECTIONS_TABLE";
/// Default of [`PERFMON_CONNECTIONS_TABLE`].
pub const PERFMON_CONNECTIONS_TABLE_DEFAULT: &str = "perfmon-connections";
/// DynamoDB messages table.
pub const PERFMON_MESSAGES_TABLE: &str = "PERFMON_MESSAGES_TABLE";
/// Default of [`PERFMON_MESSAGES_TABLE`].
pub const PERFMON_MESSAGES_TABLE_DEFAULT: &str = "perfmon-messages";
/// Expected token issuer.
pub const PERFMON_COGNITO_ISSUER: &str = "PERFMON_COGNITO_ISSUER";
/// App client id.
pub const PERFMON_COGNITO_CLIENT_ID: &str = "PERFMON_COGNITO_CLIENT_ID";
/// JWKS URL, when not under the issuer.
pub const PERFMON_COGNITO_JWKS_URL: &str = "PERFMON_COGNITO_JWKS_URL";
/// Clock skew tolerated, seconds.
pub const PERFMON_AUTH_LEEWAY_SECONDS: &str = "PERFMON_AUTH_LEEWAY_SECONDS";
/// Default of [`PERFMON_AUTH_LEEWAY_SECONDS`].
pub const PERFMON_AUTH_LEEWAY_SECONDS_DEFAULT: u64 = 30;
/// Management API endpoint of the WebSocket stage.
pub const PERFMON_MANAGEMENT_ENDPOINT: &str = "PERFMON_MANAGEMENT_ENDPOINT";
/// Flush budget at the end of an invocation, ms.
pub const PERFMON_FLUSH_TIMEOUT_MS: &str = "PERFMON_FLUSH_TIMEOUT_MS";
/// Default of [`PERFMON_FLUSH_TIMEOUT_MS`].
pub const PERFMON_FLUSH_TIMEOUT_MS_DEFAULT: u64 = 500;

/// The variable's value, when set and not blank.
pub(crate) fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}
