//! JWT header and claims handling. Three kinds of input, all accepted or
//! rejected with a typed outcome, never a panic:
//! - any string as the token;
//! - a correctly signed token whose valid header and claims are edited
//!   field by field (so every claim check is reached with hostile values);
//! - a correctly signed token with an arbitrary header and claims text.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use perfmon_chat::auth::{AuthenticationService, DevIssuer};
use perfmon_lambda::{ErrorCode, PerformanceMonitor, Telemetry};
use serde_json::{json, Value};

#[derive(Debug, Arbitrary)]
enum Input {
    Raw(String),
    Edited {
        header: Vec<(Field, Fuzzed)>,
        claims: Vec<(Field, Fuzzed)>,
    },
    Signed {
        header: String,
        claims: String,
    },
}

#[derive(Debug, Arbitrary)]
enum Field {
    Alg,
    Kid,
    Typ,
    Iss,
    Aud,
    ClientId,
    TokenUse,
    Exp,
    Nbf,
    Iat,
    Sub,
    Email,
    Username,
    Other(String),
}

impl Field {
    fn key(&self) -> &str {
        match self {
            Field::Alg => "alg",
            Field::Kid => "kid",
            Field::Typ => "typ",
            Field::Iss => "iss",
            Field::Aud => "aud",
            Field::ClientId => "client_id",
            Field::TokenUse => "token_use",
            Field::Exp => "exp",
            Field::Nbf => "nbf",
            Field::Iat => "iat",
            Field::Sub => "sub",
            Field::Email => "email",
            Field::Username => "cognito:username",
            Field::Other(key) => key,
        }
    }
}

#[derive(Debug, Arbitrary)]
enum Fuzzed {
    Missing,
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<String>),
    Object(Vec<(String, String)>),
}

impl Fuzzed {
    fn apply(&self, doc: &mut Value, key: &str) {
        let Some(map) = doc.as_object_mut() else {
            return;
        };
        let value = match self {
            Fuzzed::Missing => {
                map.remove(key);
                return;
            }
            Fuzzed::Null => Value::Null,
            Fuzzed::Bool(b) => json!(b),
            Fuzzed::Int(i) => json!(i),
            Fuzzed::Float(f) => json!(f),
            Fuzzed::Str(s) => json!(s),
            Fuzzed::List(l) => json!(l),
            Fuzzed::Object(o) => {
                Value::Object(o.iter().map(|(k, v)| (k.clone(), json!(v))).collect())
            }
        };
        map.insert(key.to_owned(), value);
    }
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
            .with_catalog(perfmon_chat::catalog())
            .with_exporters_disabled()
            .build()
            .unwrap();
        let issuer = DevIssuer::new();
        let auth = AuthenticationService::local(
            &issuer,
            perfmon_chat::ChatMonitor::new(PerformanceMonitor::new(&telemetry)).unwrap(),
        );
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

fn json_or_string(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

fuzz_target!(|input: Input| {
    let rig = rig();
    let token = match input {
        Input::Raw(token) => token,
        Input::Edited { header, claims } => {
            let mut h = rig.issuer.header();
            let mut c = rig
                .issuer
                .id_claims("sub-fuzz", "fuzz", "fuzz@example.com", 600);
            for (field, value) in header.iter().take(8) {
                value.apply(&mut h, field.key());
            }
            for (field, value) in claims.iter().take(16) {
                value.apply(&mut c, field.key());
            }
            rig.issuer.sign(&h, &c)
        }
        Input::Signed { header, claims } => rig
            .issuer
            .sign(&json_or_string(&header), &json_or_string(&claims)),
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
