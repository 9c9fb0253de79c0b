//! The JWKS over HTTP against a local endpoint that can fail, stall, answer
//! too much and serve mixed-quality key sets: failures are never cached,
//! and retried after a back-off that honours `Retry-After`; fetches are
//! bounded and coalesced; each bad key is skipped on its own.
#![cfg(feature = "aws")]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::jwks_endpoint::{Endpoint, Mode};
use opentelemetry::context::FutureExt as _;
use opentelemetry::Context;
use perfmon_chat::auth::{
    AuthConfig, AuthError, AuthenticationService, DevIssuer, HttpJwks, InvalidReason, JwksUrlError,
    JWKS_BACKOFF_FIRST, MAX_JWKS_BYTES,
};
use perfmon_lambda::ErrorCode;
use serde_json::{json, Value};

fn service(endpoint: &Endpoint, t: &common::TestTelemetry) -> AuthenticationService {
    service_with(AuthConfig::dev(), endpoint, t)
}

fn service_with(
    config: AuthConfig,
    endpoint: &Endpoint,
    t: &common::TestTelemetry,
) -> AuthenticationService {
    AuthenticationService::new(
        config,
        HttpJwks::new(endpoint.url()).unwrap(),
        common::chat(t),
    )
}

/// A token signed by `issuer` that names key `kid`.
fn token_with_kid(issuer: &DevIssuer, kid: &str) -> String {
    issuer.sign(
        &json!({"alg": "RS256", "kid": kid}),
        &issuer.id_claims("a", "a", "a@x.io", 600),
    )
}

fn print(figure: std::fmt::Arguments) {
    if std::env::var_os("PERFMON_E2E_PRINT").is_some() {
        eprintln!("{figure}");
    }
}

async fn verify(auth: &AuthenticationService, token: &str) -> Result<(), AuthError> {
    auth.verify(Some(token), &Context::new(), "c")
        .await
        .map(|_| ())
}

#[tokio::test]
async fn a_failed_fetch_is_retried_after_its_back_off() {
    let issuer = DevIssuer::new();
    let token = issuer.id_token("a", "a", "a@x.io", 600);
    let endpoint = Endpoint::start(Mode::Status(503));
    let t = common::telemetry();
    let auth = service(&endpoint, &t);
    let err = verify(&auth, &token).await.unwrap_err();
    assert_eq!(err.error_code(), "JWKS_UNAVAILABLE", "{err}");
    assert_eq!(endpoint.requests(), 2, "a 5xx is retried once");

    // The outage ends. Inside the back-off the last error stands, without
    // a request; the first request after it fetches and succeeds.
    endpoint.set(Mode::Serve(issuer.jwks_json()));
    let err = verify(&auth, &token).await.unwrap_err();
    assert!(err.to_string().contains("503"), "{err}");
    assert_eq!(endpoint.requests(), 2);
    tokio::time::sleep(JWKS_BACKOFF_FIRST).await;
    verify(&auth, &token).await.unwrap();
    assert_eq!(auth.jwks().fetches(), 2);

    // A 4xx is not retried.
    let endpoint = Endpoint::start(Mode::Status(404));
    let auth = service(&endpoint, &t);
    assert!(verify(&auth, &token).await.is_err());
    assert_eq!(endpoint.requests(), 1);
}

/// The figures of an outage: 100 tokens with random `kid`s against a
/// warm cache cost a few fetches instead of 100, a cached key keeps
/// working, and after a 3 s outage an empty cache (a cold start) serves
/// users again within one back-off step.
#[tokio::test]
async fn an_outage_costs_a_few_fetches_and_ends_within_a_back_off_step() {
    let issuer = DevIssuer::new();
    let token = issuer.id_token("a", "a", "a@x.io", 600);
    let t = common::telemetry();
    let config = AuthConfig {
        jwks_min_refresh: Duration::ZERO,
        ..AuthConfig::dev()
    };

    // Warm: the keys are cached when the endpoint goes down.
    let endpoint = Endpoint::start(Mode::Serve(issuer.jwks_json()));
    let auth = service_with(config.clone(), &endpoint, &t);
    verify(&auth, &token).await.unwrap();
    endpoint.set(Mode::Status(503));
    let (fetches, requests) = (auth.jwks().fetches(), endpoint.requests());
    let started = Instant::now();
    for i in 0..100 {
        let forged = token_with_kid(&issuer, &format!("random-{i}"));
        assert_eq!(
            verify(&auth, &forged).await.unwrap_err().error_code(),
            "JWKS_UNAVAILABLE"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let spent = started.elapsed();
    let fetches = auth.jwks().fetches() - fetches;
    let requests = endpoint.requests() - requests;
    print(format_args!(
        "100 random-kid tokens over {spent:?} during an outage: {fetches} fetches, {requests} requests"
    ));
    // The tokens take some 2.5 s: back-offs of 0.25, 0.5, 1 and 2 s allow
    // 4 fetches in that time, 6 in 7.75 s (a slow machine's slack).
    assert!(fetches <= 6, "{fetches} fetches");
    assert!(requests <= 2 * fetches as u32);
    verify(&auth, &token).await.unwrap();

    // Cold: nothing cached, down for 3 s, a user every 50 ms.
    let endpoint = Endpoint::start(Mode::Status(503));
    let auth = service_with(config, &endpoint, &t);
    let down = Instant::now();
    let mut up = None;
    let mut attempts = 0;
    loop {
        if up.is_none() && down.elapsed() >= Duration::from_secs(3) {
            endpoint.set(Mode::Serve(issuer.jwks_json()));
            up = Some(Instant::now());
        }
        attempts += 1;
        if verify(&auth, &token).await.is_ok() {
            break;
        }
        assert!(down.elapsed() < Duration::from_secs(15), "never recovered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let recovered = up.expect("not before the outage ended").elapsed();
    print(format_args!(
        "after a 3 s outage: first success {recovered:?} after the endpoint recovered; \
         {attempts} attempts, {} fetches, {} requests",
        auth.jwks().fetches(),
        endpoint.requests()
    ));
    // The fetch that failed last began before 3 s, after back-offs that sum
    // to less than that: its own back-off is under 3.25 s.
    assert!(recovered < Duration::from_millis(3250), "{recovered:?}");
}

/// A fetch the invocation's deadline ends is not retried and starts no
/// back-off: the next request, with time of its own, fetches at once.
#[tokio::test]
async fn a_fetch_cut_short_by_the_deadline_starts_no_back_off() {
    let issuer = DevIssuer::new();
    let token = issuer.id_token("a", "a", "a@x.io", 600);
    let endpoint = Endpoint::start(Mode::Stall);
    let t = common::telemetry();
    let auth = service(&endpoint, &t);
    let hurried =
        Context::new().with_value(perfmon_lambda::Deadline::after(Duration::from_millis(300)));
    let started = Instant::now();
    // Current, as the Lambda layer makes each invocation's context.
    let err = auth
        .verify(Some(&token), &hurried, "c")
        .with_context(hurried.clone())
        .await
        .unwrap_err();
    assert_eq!(err.error_code(), "JWKS_UNAVAILABLE", "{err}");
    assert!(started.elapsed() < Duration::from_millis(1_000));
    assert_eq!(endpoint.requests(), 1, "not retried: no time is left");
    endpoint.set(Mode::Serve(issuer.jwks_json()));
    verify(&auth, &token).await.unwrap();
    assert_eq!(endpoint.requests(), 2);
}

/// A `Retry-After` (seconds or a date) holds the next fetch back that long,
/// and a 503 that asks to wait is not retried at once.
#[tokio::test]
async fn retry_after_holds_the_next_fetch_back() {
    let issuer = DevIssuer::new();
    let token = issuer.id_token("a", "a", "a@x.io", 600);
    let t = common::telemetry();
    let in_two_seconds =
        || httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(2));
    for (code, after) in [(429, None), (503, Some(in_two_seconds))] {
        // The date is taken when its case starts: one second to the
        // second, so a wait of 1 to 2 s.
        let after = after.map_or("1".to_owned(), |date| date());
        let endpoint = Endpoint::start(Mode::RetryAfter(code, after.clone()));
        let auth = service(&endpoint, &t);
        assert!(verify(&auth, &token).await.is_err());
        assert_eq!(
            endpoint.requests(),
            1,
            "{code} {after}: not retried at once"
        );
        endpoint.set(Mode::Serve(issuer.jwks_json()));
        tokio::time::sleep(JWKS_BACKOFF_FIRST * 2).await;
        assert!(verify(&auth, &token).await.is_err(), "{code} {after}");
        assert_eq!(endpoint.requests(), 1, "{code} {after}: still waiting");
        tokio::time::sleep(Duration::from_millis(2100) - JWKS_BACKOFF_FIRST * 2).await;
        verify(&auth, &token).await.unwrap();
        assert_eq!(endpoint.requests(), 2, "{code} {after}");
    }
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
