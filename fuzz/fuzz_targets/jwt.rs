//! JWT header and claims handling: raw tokens, and tokens correctly signed
//! by the local issuer whose header and claims are fuzzed, are accepted or
//! rejected with a typed outcome, never a panic.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use perfmon::app::auth::{AuthenticationService, DevIssuer};
use perfmon::{ErrorCode, PerformanceMonitor, Telemetry};

#[derive(Debug, Arbitrary)]
enum Input {
    /// Any string as the token.
    Raw(String),
    /// A validly signed token with this header and these claims (JSON text,
    /// or a string when it is not JSON).
    Signed { header: String, claims: String },
}

struct Rig {
    issuer: DevIssuer,
    auth: AuthenticationService,
    runtime: tokio::runtime::Runtime,
    _telemetry: Telemetry,
}

fn rig() -> &'static Rig {
    static RIG: OnceLock<Rig> = OnceLock::new();
    RIG.get_or_init(|| {
        let telemetry = Telemetry::builder()
            .with_exporters_disabled()
            .build()
            .unwrap();
        let issuer = DevIssuer::new();
        let auth = AuthenticationService::local(&issuer, PerformanceMonitor::new(&telemetry));
        Rig {
            issuer,
            auth,
            runtime: tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap(),
            _telemetry: telemetry,
        }
    })
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.to_owned()))
}

fuzz_target!(|input: Input| {
    let rig = rig();
    let token = match input {
        Input::Raw(token) => token,
        Input::Signed { header, claims } => rig.issuer.sign(&json(&header), &json(&claims)),
    };
    let result = rig.runtime.block_on(rig.auth.verify(
        Some(&token),
        &opentelemetry::Context::new(),
        "fuzz",
    ));
    if let Err(e) = result {
        assert!(
            ["MISSING_TOKEN", "TOKEN_EXPIRED", "INVALID_TOKEN"].contains(&e.error_code()),
            "untyped rejection {e:?}"
        );
    }
});
