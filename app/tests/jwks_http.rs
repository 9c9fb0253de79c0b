//! The JWKS over HTTP against a local endpoint that can fail, stall, answer
//! too much and serve mixed-quality key sets: failures are retried by the
//! next request, never cached; fetches are bounded and coalesced; each bad
//! key is skipped on its own.
#![cfg(feature = "aws")]

mod common;

use std::sync::Arc;
use std::time::Instant;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::jwks_endpoint::{Endpoint, Mode};
use opentelemetry::Context;
use perfmon_chat::auth::{
    AuthConfig, AuthError, AuthenticationService, DevIssuer, HttpJwks, InvalidReason, JwksUrlError,
    MAX_JWKS_BYTES,
};
use perfmon_lambda::ErrorCode;
use serde_json::{json, Value};

fn service(endpoint: &Endpoint, t: &common::TestTelemetry) -> AuthenticationService {
    AuthenticationService::new(
        AuthConfig::dev(),
        HttpJwks::new(endpoint.url()).unwrap(),
        common::chat(t),
    )
}

async fn verify(auth: &AuthenticationService, token: &str) -> Result<(), AuthError> {
    auth.verify(Some(token), &Context::new(), "c")
        .await
        .map(|_| ())
}

#[tokio::test]
async fn a_failed_fetch_is_retried_by_the_next_request() {
    let issuer = DevIssuer::new();
    let token = issuer.id_token("a", "a", "a@x.io", 600);
    let endpoint = Endpoint::start(Mode::Status(503));
    let t = common::telemetry();
    let auth = service(&endpoint, &t);
    let err = verify(&auth, &token).await.unwrap_err();
    assert_eq!(err.error_code(), "JWKS_UNAVAILABLE", "{err}");
    assert_eq!(endpoint.requests(), 2, "a 5xx is retried once");

    // The outage ends: the very next request succeeds.
    endpoint.set(Mode::Serve(issuer.jwks_json()));
    let ended = Instant::now();
    verify(&auth, &token).await.unwrap();
    let recovered = ended.elapsed();
    if std::env::var_os("PERFMON_E2E_PRINT").is_some() {
        eprintln!("first success {recovered:?} after the outage ended");
    }
    assert_eq!(auth.jwks().fetches(), 2);

    // A 4xx is not retried.
    let endpoint = Endpoint::start(Mode::Status(404));
    let auth = service(&endpoint, &t);
    assert!(verify(&auth, &token).await.is_err());
    assert_eq!(endpoint.requests(), 1);
}

#[tokio::test]
async fn a_stalled_endpoint_costs_two_bounded_attempts_shared_by_every_waiting_request() {
    let issuer = DevIssuer::new();
    let token = issuer.id_token("a", "a", "a@x.io", 600);
    let endpoint = Endpoint::start(Mode::Stall);
    let t = common::telemetry();
    let auth = Arc::new(service(&endpoint, &t));
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let auth = auth.clone();
            let token = token.clone();
            tokio::spawn(async move { verify(&auth, &token).await })
        })
        .collect();
    for task in tasks {
        let err = task.await.unwrap().unwrap_err();
        assert_eq!(err.error_code(), "JWKS_UNAVAILABLE", "{err}");
    }
    assert_eq!(
        endpoint.requests(),
        2,
        "one fetch (and its retry) for all ten requests, not one each"
    );
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_or_without_a_length() {
    let issuer = DevIssuer::new();
    let token = issuer.id_token("a", "a", "a@x.io", 600);
    let padding = " ".repeat(MAX_JWKS_BYTES);
    let big = issuer.jwks_json().replacen('{', &format!("{{{padding}"), 1);
    for mode in [Mode::Serve(big.clone()), Mode::Chunked(big.clone())] {
        let endpoint = Endpoint::start(mode);
        let t = common::telemetry();
        let auth = service(&endpoint, &t);
        match verify(&auth, &token).await {
            Err(AuthError::KeysUnavailable(message)) => {
                assert!(message.contains("65536"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(endpoint.requests(), 1, "a body too large is not retried");
    }
}

/// The issuer's key as a JWK, with `patch` applied.
fn jwk(issuer: &DevIssuer, patch: Value) -> Value {
    let set: Value = serde_json::from_str(&issuer.jwks_json()).unwrap();
    let mut key = set["keys"][0].clone();
    for (k, v) in patch.as_object().unwrap() {
        key[k] = v.clone();
    }
    key
}

#[tokio::test]
async fn each_bad_key_is_skipped_on_its_own() {
    let issuer = DevIssuer::new();
    let token = issuer.id_token("a", "a", "a@x.io", 600);
    let short_n = URL_SAFE_NO_PAD.encode([0xc5u8; 128]); // 1024 bits
    let set = json!({"keys": [
        {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"},
        jwk(&issuer, json!({"kid": "enc", "use": "enc"})),
        jwk(&issuer, json!({"kid": "short", "n": short_n})),
        jwk(&issuer, json!({"kid": "garbled", "n": "***"})),
        jwk(&issuer, json!({"kid": 7})),
        jwk(&issuer, json!({})),
    ]});
    let endpoint = Endpoint::start(Mode::Serve(set.to_string()));
    let t = common::telemetry();
    let auth = service(&endpoint, &t);
    verify(&auth, &token).await.unwrap();
    assert_eq!(auth.jwks().skipped_keys(), 5);
    // A token that names a skipped key is refused, whoever signed it.
    let claims = issuer.id_claims("a", "a", "a@x.io", 600);
    for kid in ["enc", "short"] {
        let named = issuer.sign(&json!({"alg": "RS256", "kid": kid}), &claims);
        assert_eq!(
            verify(&auth, &named).await,
            Err(AuthError::InvalidToken(InvalidReason::UnknownKey)),
            "{kid}"
        );
    }

    // The same key, published for another algorithm, refuses the token.
    let set = json!({"keys": [jwk(&issuer, json!({"alg": "RS512"}))]});
    let endpoint = Endpoint::start(Mode::Serve(set.to_string()));
    let auth = service(&endpoint, &t);
    assert_eq!(
        verify(&auth, &token).await,
        Err(AuthError::InvalidToken(InvalidReason::KeyAlgorithm))
    );
    // A set that is not a JWKS at all is a failed fetch.
    let endpoint = Endpoint::start(Mode::Serve("<html>".into()));
    let auth = service(&endpoint, &t);
    assert_eq!(
        verify(&auth, &token).await.unwrap_err().error_code(),
        "JWKS_UNAVAILABLE"
    );
}

#[tokio::test]
async fn a_prefetch_at_init_spares_the_first_user_the_fetch() {
    let issuer = DevIssuer::new();
    let endpoint = Endpoint::start(Mode::Serve(issuer.jwks_json()));
    let t = common::telemetry();
    let auth = service(&endpoint, &t);
    auth.prefetch().await;
    assert_eq!(endpoint.requests(), 1);
    verify(&auth, &issuer.id_token("a", "a", "a@x.io", 600))
        .await
        .unwrap();
    assert_eq!(
        endpoint.requests(),
        1,
        "the first user found the key cached"
    );
}

#[test]
fn only_https_is_accepted_except_on_loopback() {
    for ok in [
        "https://cognito-idp.us-east-1.amazonaws.com/pool/.well-known/jwks.json",
        "http://127.0.0.1:9/jwks.json",
        "http://127.8.9.10/jwks.json",
        "http://localhost:9/jwks.json",
        "http://[::1]:9/jwks.json",
    ] {
        assert!(HttpJwks::new(ok).is_ok(), "{ok}");
    }
    for plain in [
        "http://cognito-idp.us-east-1.amazonaws.com/pool/.well-known/jwks.json",
        "http://10.0.0.1/jwks.json",
        "ftp://127.0.0.1/jwks.json",
    ] {
        assert_eq!(
            HttpJwks::new(plain).unwrap_err(),
            JwksUrlError::NotHttps(plain.into())
        );
    }
    assert!(matches!(
        HttpJwks::new("not a url"),
        Err(JwksUrlError::Invalid { .. })
    ));
}

/// "https only" holds for where the keys come from: a redirect that
/// leaves https (plain http off loopback) is refused before any
/// connection, and so is a fourth redirect; a redirect that stays
/// (loopback, in this test) is followed.
#[tokio::test]
async fn no_redirect_leaves_https() {
    let issuer = DevIssuer::new();
    let t = common::telemetry();
    let keys = Endpoint::start(Mode::Serve(issuer.jwks_json()));
    let hop = Endpoint::start(Mode::Redirect(keys.url()));
    assert_eq!(service(&hop, &t).jwks().prefetch().await, Ok(1));

    // `.invalid` never resolves: the refusal comes before any lookup.
    let away = Endpoint::start(Mode::Redirect("http://jwks.example.invalid/keys".into()));
    let error = service(&away, &t).jwks().prefetch().await.unwrap_err();
    assert!(error.contains("leaves https"), "{error}");

    let mut chain = keys.clone();
    for _ in 0..=perfmon_chat::auth::MAX_REDIRECTS {
        chain = Endpoint::start(Mode::Redirect(chain.url()));
    }
    let error = service(&chain, &t).jwks().prefetch().await.unwrap_err();
    assert!(error.contains("redirects"), "{error}");
}
