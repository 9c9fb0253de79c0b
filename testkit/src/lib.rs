//! The repository's test rigs, shared by every crate's tests: the local
//! collector in Docker and `rotel`, `moto`, the cargo-lambda emulator and
//! a Runtime API, headless Chromium, endpoints that capture what an
//! exporter sends, and the chat catalog as test data. Test telemetry itself
//! is the runtime crate's `testing` feature, re-exported here.
#![allow(missing_docs)]

pub mod capture;
pub mod chromium;
pub mod collector;
pub mod emf;
pub mod emulator;
pub mod moto;
pub mod rotel;
pub mod runtime_api;
pub mod tls_front;
pub mod xray_daemon;
pub mod xray_map;

pub use perfmon_lambda::testing::*;

use perfmon_lambda::Catalog;

/// The repository root.
pub fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the testkit is inside the workspace")
        .to_path_buf()
}

/// The chat app's catalog file, as any application's catalog.
pub fn chat_catalog() -> Catalog {
    Catalog::from_path(root().join("dashboards/catalog.json")).expect("the chat catalog is valid")
}

/// Test telemetry on the chat app's catalog, `dashboards/catalog.json`:
/// the repository's own, used as test data here.
pub fn telemetry() -> TestTelemetry {
    TestTelemetry::with_catalog(chat_catalog())
}

/// The alarm `catalog` generates whose name ends with `suffix`, with its
/// `Environment` set to `environment`.
pub fn generated_alarm(
    catalog: &Catalog,
    environment: &str,
    suffix: &str,
) -> perfmon_tools::preview::Alarm {
    let alarms = perfmon_tools::dashboards::generate(catalog)
        .into_iter()
        .find(|f| f.kind == perfmon_tools::dashboards::Kind::Alarms)
        .expect("an alarms file");
    let stack = perfmon_tools::dashboards::Stack {
        environment,
        region: "local",
        functions: &[],
        api_id: "local",
    };
    let alarms = perfmon_tools::dashboards::resolved(&alarms.json, &stack);
    let alarm = alarms["alarms"]
        .as_array()
        .expect("an alarms array")
        .iter()
        .find(|a| a["AlarmName"].as_str().is_some_and(|n| n.ends_with(suffix)))
        .unwrap_or_else(|| panic!("no alarm *{suffix}"));
    perfmon_tools::preview::Alarm::from_json(alarm).expect("a generated alarm evaluates")
}

/// `name` in a scratch directory of this test process, under `prefix`.
pub fn scratch(prefix: &str, name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("{prefix}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir.join(name)
}

/// Tests measure `MemoryUsage` as production is advised to: live heap bytes.
#[global_allocator]
static ALLOC: perfmon_lambda::CountingAllocator = perfmon_lambda::CountingAllocator::system();

/// An address on 127.0.0.1 that takes connections (up to 16, held for
/// 30 s) and never answers: a collector, a table or any service that hangs.
pub fn never_answers() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().take(16).collect();
        std::thread::sleep(std::time::Duration::from_secs(30));
        drop(held);
    });
    addr
}

/// The context Lambda gives one `ws-conversation` invocation.
pub fn lambda_context(
    request_id: &str,
    xray_trace_id: Option<&str>,
    deadline_ms: u64,
) -> lambda_runtime::Context {
    let mut cx = lambda_runtime::Context::default();
    cx.request_id = request_id.into();
    cx.xray_trace_id = xray_trace_id.map(Into::into);
    cx.deadline = deadline_ms;
    cx.invoked_function_arn =
        "arn:aws:lambda:us-east-1:123456789012:function:ws-conversation".into();
    cx.env_config = std::sync::Arc::new(lambda_runtime::Config {
        function_name: "ws-conversation".into(),
        version: "$LATEST".into(),
        ..Default::default()
    });
    cx
}

/// Operations of the test catalog (`chat_catalog`).
pub mod op {
    pub const WEBSOCKET_CONVERSATION: &str = "websocket_conversation";
    pub const WEBSOCKET_CONNECTION: &str = "websocket_connection";
    pub const AUTHENTICATION_JWT_VERIFICATION: &str = "authentication_jwt_verification";
    pub const CHAT_MESSAGE_PROCESSING: &str = "chat_message_processing";
}

/// Span attribute keys an application might set.
pub mod key {
    pub const CONNECTION_ID: &str = "app.connection.id";
    pub const ROUTE_KEY: &str = "app.route_key";
    pub const TOKEN_LENGTH: &str = "app.token.length";
    pub const USER_EMAIL: &str = "app.user.email";
}
