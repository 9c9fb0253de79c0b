//! Settings resolve in the order code, then environment, then default, and a
//! bad environment value is a typed error naming the variable.

use perfmon_lambda::{BuildError, ExporterKind, MemorySource, OtlpProtocol, Telemetry};

const VARS: &[&str] = &[
    "OTEL_SERVICE_NAME",
    "OTEL_TRACES_EXPORTER",
    "OTEL_METRICS_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
    "OTEL_LOGS_EXPORTER",
    "OTEL_BSP_MAX_QUEUE_SIZE",
    "OTEL_EXPORTER_OTLP_COMPRESSION",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
    "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
    "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
    "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT",
    "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
    "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION",
    "OTEL_EXPORTER_OTLP_LOGS_COMPRESSION",
    "OTEL_METRIC_EXPORT_INTERVAL",
    "OTEL_EXPORTER_OTLP_CERTIFICATE",
    "OTEL_PROPAGATORS",
    "PERFMON_OTLP_RETRY",
    "PERFMON_ENVIRONMENT",
    "PERFMON_CATALOG",
    "PERFMON_METRIC_NAMESPACE",
    "PERFMON_MEMORY_SOURCE",
    "PERFMON_EXPORT_PERSONAL_DATA",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_XRAY_DAEMON_ADDRESS",
];

/// Runs `f` with exactly `set` in the environment among perfmon's variables.
fn with_env<R>(set: &[(&str, &str)], f: impl FnOnce() -> R) -> R {
    let vars: Vec<(&str, Option<&str>)> = VARS
        .iter()
        .map(|v| (*v, set.iter().find(|(k, _)| k == v).map(|(_, val)| *val)))
        .collect();
    temp_env::with_vars(vars, f)
}

#[test]
fn defaults_off_lambda_are_console_dev_and_the_core_catalog() {
    with_env(&[], || {
        let t = Telemetry::builder().build().unwrap();
        let s = t.settings();
        assert_eq!(s.traces_exporter, ExporterKind::Console);
        assert_eq!(s.metrics_exporter, ExporterKind::Console);
        assert_eq!(s.environment, "dev");
        assert_eq!(s.service_name, "perfmon");
        assert_eq!(s.namespace, perfmon_lambda::catalog::DEFAULT_NAMESPACE);
        assert_eq!(s.catalog, perfmon_lambda::Catalog::default());
        assert_eq!(s.otlp_protocol, OtlpProtocol::HttpProtobuf);
        assert_eq!(s.memory_source, MemorySource::Auto);
        assert!(!s.export_personal_data);
        assert!(!s.on_lambda());
    });
}

#[test]
fn on_lambda_without_an_endpoint_metrics_go_to_emf_and_traces_to_the_daemon() {
    with_env(&[("AWS_LAMBDA_FUNCTION_NAME", "ws-conversation")], || {
        let t = Telemetry::builder().build().unwrap();
        let s = t.settings();
        assert!(s.on_lambda());
        assert_eq!(s.service_name, "ws-conversation");
        assert_eq!(s.metrics_exporter, ExporterKind::Emf);
        assert_eq!(
            s.traces_exporter,
            ExporterKind::None,
            "tracing is not active"
        );
    });
    with_env(
        &[
            ("AWS_LAMBDA_FUNCTION_NAME", "ws-conversation"),
            ("AWS_XRAY_DAEMON_ADDRESS", "127.0.0.1:2000"),
        ],
        || {
            let t = Telemetry::builder().build().unwrap();
            assert_eq!(t.settings().traces_exporter, ExporterKind::Xray);
        },
    );
}

#[test]
fn an_explicit_exporter_wins_and_signals_keep_their_own_kinds() {
    let lambda = [
        ("AWS_LAMBDA_FUNCTION_NAME", "ws-conversation"),
        ("AWS_XRAY_DAEMON_ADDRESS", "127.0.0.1:2000"),
        ("OTEL_METRICS_EXPORTER", "console"),
        ("OTEL_TRACES_EXPORTER", "none"),
    ];
    with_env(&lambda, || {
        let t = Telemetry::builder().build().unwrap();
        assert_eq!(t.settings().metrics_exporter, ExporterKind::Console);
        assert_eq!(t.settings().traces_exporter, ExporterKind::None);
    });
    with_env(
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9"),
            ("OTEL_METRICS_EXPORTER", "emf"),
        ],
        || {
            let t = Telemetry::builder().build().unwrap();
            assert_eq!(t.settings().metrics_exporter, ExporterKind::Emf);
            assert_eq!(t.settings().traces_exporter, ExporterKind::Otlp);
        },
    );
    for (var, value) in [
        ("OTEL_TRACES_EXPORTER", "emf"),
        ("OTEL_METRICS_EXPORTER", "xray"),
    ] {
        with_env(&[(var, value)], || {
            let err = Telemetry::builder().build().unwrap_err();
            assert!(err.to_string().contains(var), "{err}");
        });
    }
}

#[test]
fn an_otlp_endpoint_selects_otlp() {
    for var in [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ] {
        with_env(
            &[
                (var, "http://127.0.0.1:9"),
                ("AWS_LAMBDA_FUNCTION_NAME", "ws-connection"),
            ],
            || {
                let t = Telemetry::builder().build().unwrap();
                assert_eq!(t.settings().traces_exporter, ExporterKind::Otlp, "{var}");
                assert_eq!(t.settings().metrics_exporter, ExporterKind::Otlp, "{var}");
            },
        );
    }
}

#[test]
fn environment_overrides_defaults_and_code_overrides_environment() {
    let env = [
        ("OTEL_SERVICE_NAME", "from-env"),
        ("OTEL_TRACES_EXPORTER", "none"),
        ("OTEL_METRICS_EXPORTER", "console"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("PERFMON_ENVIRONMENT", "staging"),
        ("PERFMON_METRIC_NAMESPACE", "Chat/Env"),
        ("PERFMON_MEMORY_SOURCE", "resident"),
        ("PERFMON_EXPORT_PERSONAL_DATA", "true"),
    ];
    with_env(&env, || {
        let t = Telemetry::builder().build().unwrap();
        let s = t.settings();
        assert_eq!(s.service_name, "from-env");
        assert_eq!(s.traces_exporter, ExporterKind::None);
        assert_eq!(s.metrics_exporter, ExporterKind::Console);
        assert_eq!(s.otlp_protocol, OtlpProtocol::Grpc);
        assert_eq!(s.environment, "staging");
        assert_eq!(s.namespace, "Chat/Env");
        assert_eq!(s.memory_source, MemorySource::Resident);
        assert!(s.export_personal_data);

        let t = Telemetry::builder()
            .with_service_name("from-code")
            .with_traces_exporter(ExporterKind::Console)
            .with_metrics_exporter(ExporterKind::None)
            .with_otlp_protocol(OtlpProtocol::HttpProtobuf)
            .with_environment("prod")
            .with_namespace("Chat/Code")
            .with_memory_source(MemorySource::Allocator)
            .with_personal_data(false)
            .build()
            .unwrap();
        let s = t.settings();
        assert_eq!(s.service_name, "from-code");
        assert_eq!(s.traces_exporter, ExporterKind::Console);
        assert_eq!(s.metrics_exporter, ExporterKind::None);
        assert_eq!(s.otlp_protocol, OtlpProtocol::HttpProtobuf);
        assert_eq!(s.environment, "prod");
        assert_eq!(s.namespace, "Chat/Code");
        assert_eq!(s.memory_source, MemorySource::Allocator);
        assert!(!s.export_personal_data);
    });
}

/// A value that is not valid for each telemetry variable the README lists
/// that takes a constrained value.
const BAD_VALUES: &[(&str, &str)] = &[
    ("OTEL_TRACES_EXPORTER", "jaeger"),
    ("OTEL_METRICS_EXPORTER", "prometheus"),
    ("OTEL_LOGS_EXPORTER", "xray"),
    ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/xml"),
    ("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318"),
    ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "collector"),
    (
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        "udp://127.0.0.1:4318",
    ),
    ("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "4318"),
    ("OTEL_BSP_MAX_QUEUE_SIZE", "0"),
    ("OTEL_EXPORTER_OTLP_COMPRESSION", "zip"),
    ("OTEL_EXPORTER_OTLP_TIMEOUT", "10s"),
    ("OTEL_METRIC_EXPORT_INTERVAL", "1m"),
    ("OTEL_METRIC_EXPORT_INTERVAL", "0"),
    ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "soon"),
    ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "-1"),
    ("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "1.5"),
    ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "zstd"),
    ("OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "deflate"),
    ("OTEL_EXPORTER_OTLP_LOGS_COMPRESSION", "yes"),
    ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/nonexistent/ca.pem"),
    ("OTEL_PROPAGATORS", "b3"),
    ("PERFMON_OTLP_RETRY", "sometimes"),
    ("PERFMON_MEMORY_SOURCE", "peak"),
    ("PERFMON_EXPORT_PERSONAL_DATA", "maybe"),
];

#[test]
fn bad_environment_values_name_the_variable() {
    for &(var, value) in BAD_VALUES {
        with_env(&[(var, value)], || {
            let err = Telemetry::builder().build().unwrap_err();
            match &err {
                BuildError::InvalidEnv {
                    var: v, value: got, ..
                } => {
                    assert_eq!((*v, got.as_str()), (var, value));
                }
                other => panic!("{var}: {other}"),
            }
            let text = err.to_string();
            assert!(text.contains(var) && text.contains(value), "{text}");
        });
    }
}

#[test]
fn the_daemon_address_is_checked_only_where_segments_go_to_the_daemon() {
    let bad = [("AWS_XRAY_DAEMON_ADDRESS", "nowhere")];
    with_env(&bad, || {
        // Traces over OTLP, metrics to the console: the address is unused.
        let telemetry = Telemetry::builder()
            .with_traces_exporter(ExporterKind::Otlp)
            .with_metrics_exporter(ExporterKind::Console)
            .with_otlp_endpoint("http://127.0.0.1:9")
            .build()
            .expect("an unused daemon address stops nothing");
        assert_eq!(telemetry.settings().traces_exporter, ExporterKind::Otlp);
        // Segments to the daemon: the address must parse, and the error
        // names it.
        match Telemetry::builder()
            .with_traces_exporter(ExporterKind::Xray)
            .build()
        {
            Err(BuildError::InvalidEnv { var, value, .. }) => {
                assert_eq!(
                    (var, value.as_str()),
                    ("AWS_XRAY_DAEMON_ADDRESS", "nowhere")
                );
            }
            other => panic!("{other:?}"),
        }
    });
}

#[test]
fn a_bad_catalog_path_is_a_catalog_error() {
    with_env(&[("PERFMON_CATALOG", "/nonexistent/catalog.json")], || {
        let err = Telemetry::builder().build().unwrap_err();
        assert!(matches!(err, BuildError::Catalog(_)), "{err}");
        assert!(err.to_string().contains("/nonexistent/catalog.json"));
    });
}

#[test]
fn on_lambda_a_bad_value_falls_back_to_the_collector_less_defaults() {
    for &(var, value) in BAD_VALUES {
        with_env(
            &[
                (var, value),
                ("AWS_LAMBDA_FUNCTION_NAME", "ws-conversation"),
                ("AWS_XRAY_DAEMON_ADDRESS", "127.0.0.1:2000"),
                ("PERFMON_ENVIRONMENT", "prod"),
            ],
            || {
                let (telemetry, error) = Telemetry::builder()
                    .with_service_name("from-code")
                    .build_or_fallback()
                    .unwrap_or_else(|e| panic!("{var}={value} stopped the function: {e}"));
                let error = error.unwrap_or_else(|| panic!("{var}={value} is reported"));
                let text = error.to_string();
                assert!(text.contains(var) && text.contains(value), "{text}");
                let s = telemetry.settings();
                assert_eq!(s.traces_exporter, ExporterKind::Xray, "{var}");
                assert_eq!(s.metrics_exporter, ExporterKind::Emf, "{var}");
                assert_eq!(s.logs_exporter, ExporterKind::None, "{var}");
                assert_eq!(s.service_name, "from-code", "code settings are kept");
                assert_eq!(
                    s.environment, "dev",
                    "every PERFMON_* variable is ignored in the fallback"
                );
            },
        );
    }
    with_env(
        &[
            ("PERFMON_CATALOG", "/nonexistent/catalog.json"),
            ("AWS_LAMBDA_FUNCTION_NAME", "ws-conversation"),
        ],
        || {
            let (telemetry, error) = Telemetry::builder().build_or_fallback().unwrap();
            assert!(matches!(error, Some(BuildError::Catalog(_))));
            assert_eq!(telemetry.settings().catalog.namespace, "Perfmon");
        },
    );
}

#[test]
fn valid_settings_build_without_a_fallback() {
    with_env(&[("AWS_LAMBDA_FUNCTION_NAME", "ws-conversation")], || {
        let (_, error) = Telemetry::builder().build_or_fallback().unwrap();
        assert!(error.is_none());
    });
}
