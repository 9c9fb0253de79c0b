//! Property tests beside the cargo-fuzz targets (`fuzz/`, which need a
//! nightly toolchain; `scripts/fuzz.sh`): hostile input to the frame
//! parser, the JWT handling, catalog loading and the EMF writer never
//! panics, and every rejection is typed. They run on stable with every
//! `cargo test`; raise `PROPTEST_CASES` for a longer run.

mod common;

use std::time::Duration;

use base64::Engine;
use perfmon_chat::auth::{AuthenticationService, DevIssuer};
use perfmon_chat::frame;
use perfmon_lambda::{Catalog, ErrorCode, ExporterKind, Telemetry};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(256),
        ..ProptestConfig::default()
    }
}

/// Every code `frame::parse` answers with (`app/src/frame.rs`).
const FRAME_ERRORS: &[&str] = &[
    "INVALID_MESSAGE_FORMAT",
    "MESSAGE_TOO_LARGE",
    "UNKNOWN_ACTION",
    "INVALID_SESSION_ID",
];

/// Strings shaped like frames, tokens and JSON, and plain noise.
fn frames() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,300}",
        r#"\{"action":"(auth|message|ping|[a-z]{0,8})"(,"(token|message|sessionId)":("[^"\\]{0,40}"|[0-9]{1,4}|null|\[\]|\{\}))*\}"#,
        "[\\[\\]{}\":,a-z0-9 ]{0,200}",
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_frame_parser_never_panics(body in frames()) {
        match frame::parse(Some(&body)) {
            Ok(_) => {}
            Err(e) => prop_assert!(
                FRAME_ERRORS.contains(&e.error_code()),
                "{} is no code the parser documents", e.error_code()
            ),
        }
    }

    #[test]
    fn catalog_loading_never_panics(text in ".{0,400}", field in 0usize..40, value in "[-a-zA-Z0-9_./ ]{0,12}") {
        let _ = Catalog::from_json(&text);
        // A valid catalog with one value replaced by noise.
        let mut doc: serde_json::Value = serde_json::from_str(include_str!("../../dashboards/catalog.json")).unwrap();
        let mut strings = Vec::new();
        collect_strings(&mut doc, &mut strings);
        let target = field % strings.len();
        set_nth_string(&mut doc, target, &value, &mut 0);
        let _ = Catalog::from_json(&doc.to_string());
    }
}

fn collect_strings(v: &mut serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter_mut().for_each(|x| collect_strings(x, out)),
        serde_json::Value::Object(o) => o.values_mut().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}

fn set_nth_string(v: &mut serde_json::Value, n: usize, value: &str, seen: &mut usize) {
    match v {
        serde_json::Value::String(s) => {
            if *seen == n {
                *s = value.to_owned();
            }
            *seen += 1;
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(|x| set_nth_string(x, n, value, seen)),
        serde_json::Value::Object(o) => o
            .values_mut()
            .for_each(|x| set_nth_string(x, n, value, seen)),
        _ => {}
    }
}

/// Whether `a` and `b` are three base64url segments that decode to the
/// same bytes, trailing bits aside.
fn same_bytes(a: &str, b: &str) -> bool {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    let lenient = GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::RequireNone),
    );
    let decode = |token: &str| -> Option<Vec<Vec<u8>>> {
        let parts: Vec<&str> = token.split('.').collect();
        if parts.len() != 3 {
            return None;
        }
        parts.iter().map(|p| lenient.decode(p).ok()).collect()
    };
    a == b || matches!((decode(a), decode(b)), (Some(x), Some(y)) if x == y)
}

#[test]
fn jwt_handling_never_panics_on_mutated_tokens() {
    let t = common::telemetry();
    let issuer = DevIssuer::new();
    let auth = AuthenticationService::local(&issuer, common::chat(&t));
    let valid = issuer.id_token("sub", "user", "u@example.com", 600);
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut runner = proptest::test_runner::TestRunner::new(config());
    runner
        .run(
            &(
                any::<usize>(),
                any::<u8>(),
                ".{0,64}",
                "[a-zA-Z0-9_-]{0,300}",
            ),
            |(at, byte, noise, segment)| {
                // Flip one byte; splice noise; replace a segment; headers of noise.
                let mut bytes = valid.clone().into_bytes();
                let i = at % bytes.len();
                bytes[i] = byte;
                let flipped = String::from_utf8_lossy(&bytes).into_owned();
                let parts: Vec<&str> = valid.split('.').collect();
                let candidates = [
                    flipped,
                    format!("{}{noise}", &valid[..at % valid.len()]),
                    format!("{}.{segment}.{}", parts[0], parts[2]),
                    format!("{}.{}.{}", b64.encode(noise.as_bytes()), parts[1], parts[2]),
                    noise.clone(),
                ];
                for token in candidates {
                    let result = runtime.block_on(auth.verify(
                        Some(&token),
                        &opentelemetry::Context::new(),
                        "c",
                    ));
                    // A mutation is refused, with a typed code, unless it
                    // spells the same bytes (base64url's unused trailing
                    // bits): then it is the same token.
                    if !same_bytes(&token, &valid) {
                        let Err(e) = result else {
                            return Err(TestCaseError::fail(format!(
                                "a mutated token was accepted: {token}"
                            )));
                        };
                        prop_assert!(["MISSING_TOKEN", "TOKEN_EXPIRED", "INVALID_TOKEN"]
                            .contains(&e.error_code()));
                    }
                }
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn the_emf_writer_never_panics_and_writes_only_json() {
    let mut runner = proptest::test_runner::TestRunner::new(config());
    runner
        .run(
            &(
                ".{0,40}",
                proptest::collection::vec(any::<f64>(), 0..20),
                any::<u64>(),
            ),
            |(environment, values, length)| {
                let sink = common::SharedBuffer::default();
                let telemetry = Telemetry::builder()
                    .with_catalog(perfmon_chat::catalog())
                    .with_environment(environment)
                    .with_traces_exporter(ExporterKind::None)
                    .with_metrics_exporter(ExporterKind::Emf)
                    .with_emf_writer(sink.clone())
                    .build()
                    .unwrap();
                let monitor = perfmon_chat::ChatMonitor::on(&telemetry).unwrap();
                for v in &values {
                    monitor
                        .business()
                        .connection_duration(Duration::from_secs_f64(v.abs().min(1e9) / 1000.0));
                }
                monitor.business().message_length(length as usize);
                monitor
                    .start("websocket_conversation", [])
                    .complete(true, []);
                let _ = telemetry.force_flush(Duration::from_secs(5));
                for line in sink.text().lines() {
                    let parsed: Result<serde_json::Value, _> = serde_json::from_str(line);
                    prop_assert!(parsed.is_ok(), "{line}");
                }
                Ok(())
            },
        )
        .unwrap();
}
