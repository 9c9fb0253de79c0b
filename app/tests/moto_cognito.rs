//! Cognito tokens issued by moto (`admin_initiate_auth`), verified through
//! the pool's JWKS over HTTP, with the real AWS issuer in the token and the
//! JWKS on 127.0.0.1: issuer and JWKS URL are separate settings.
#![cfg(feature = "aws")]

mod common;

use common::moto::Moto;
use common::TestTelemetry;
use opentelemetry::Context;
use perfmon_chat::auth::{
    AcceptedTokens, AuthConfig, AuthError, AuthenticationService, DevIssuer, HttpJwks,
    InvalidReason,
};
use perfmon_lambda::ErrorCode;
use serde_json::{json, Value};

/// A verifier of `pool`'s tokens; both kinds, to check each.
fn service(t: &TestTelemetry, pool: &Value, client_id: &str) -> AuthenticationService {
    AuthenticationService::new(
        AuthConfig {
            token_use: AcceptedTokens::Both,
            ..AuthConfig::new(pool["issuer"].as_str().unwrap(), client_id)
        },
        HttpJwks::new(pool["jwks_url"].as_str().unwrap())
            .unwrap()
            .with_tracer(t.telemetry.tracer()),
        common::chat(t),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_issued_tokens_verify_and_forgeries_do_not() {
    let Some(moto) = Moto::start() else { return };
    let pool = moto.cognito();
    let t = common::telemetry();
    let client_id = pool["client_id"].as_str().unwrap();
    let auth = service(&t, &pool, client_id);
    let cx = Context::new();
    let token = |name: &str| pool[name].as_str().unwrap().to_owned();
    assert!(pool["issuer"]
        .as_str()
        .unwrap()
        .starts_with("https://cognito-idp.us-east-1.amazonaws.com/"));
    assert!(pool["jwks_url"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:"));

    let user = auth
        .verify(Some(&token("id_token")), &cx, "c")
        .await
        .unwrap();
    assert_eq!(user.user_id, pool["sub"]);
    assert_eq!(user.username.as_deref(), Some("alice_w"));
    let user = auth
        .verify(Some(&token("access_token")), &cx, "c")
        .await
        .unwrap();
    assert_eq!(user.user_id, pool["sub"]);
    assert_eq!(
        auth.jwks().fetches(),
        1,
        "the JWKS is fetched once and cached"
    );
    // By default only access tokens are accepted.
    let default = AuthenticationService::new(
        AuthConfig::new(pool["issuer"].as_str().unwrap(), client_id),
        HttpJwks::new(pool["jwks_url"].as_str().unwrap()).unwrap(),
        common::chat(&t),
    );
    assert!(default
        .verify(Some(&token("access_token")), &cx, "c")
        .await
        .is_ok());
    assert_eq!(
        default.verify(Some(&token("id_token")), &cx, "c").await,
        Err(AuthError::InvalidToken(InvalidReason::TokenUse))
    );
    // The fetch is one HTTP CLIENT span under the verification: X-Ray's
    // `remote` node for the key host.
    let fetch = t.span("GET");
    assert_eq!(fetch.span_kind, opentelemetry::trace::SpanKind::Client);
    let parent = t
        .spans()
        .into_iter()
        .find(|s| s.span_context.span_id() == fetch.parent_span_id)
        .expect("the fetch has a parent");
    assert_eq!(parent.name, "authentication_jwt_verification");
    let attrs = common::span_attrs(&fetch);
    assert_eq!(attrs["url.full"], pool["jwks_url"].as_str().unwrap());
    assert_eq!(attrs["server.address"], "127.0.0.1");
    assert_eq!(attrs["peer.service"], "127.0.0.1", "the X-Ray node's name");
    assert_eq!(attrs["http.response.status_code"], "200");

    let expired = auth
        .verify(Some(&token("expired_id_token")), &cx, "c")
        .await;
    assert_eq!(expired.unwrap_err().error_code(), "TOKEN_EXPIRED");

    // A payload swapped under moto's signature.
    let id = token("id_token");
    let parts: Vec<&str> = id.split('.').collect();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut claims: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    claims["sub"] = json!("someone-else");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64.encode(claims.to_string()),
        parts[2]
    );
    let rejected = auth.verify(Some(&tampered), &cx, "c").await.unwrap_err();
    assert_eq!(rejected.error_code(), "INVALID_TOKEN");

    // Signed by another key under moto's kid.
    let header: Value = serde_json::from_slice(&b64.decode(parts[0]).unwrap()).unwrap();
    let forged = DevIssuer::new().sign(&json!({"alg": "RS256", "kid": header["kid"]}), &claims);
    let rejected = auth.verify(Some(&forged), &cx, "c").await.unwrap_err();
    assert_eq!(rejected.error_code(), "INVALID_TOKEN");

    // The right token for another app client.
    let other_app = service(&t, &pool, "another-client-id");
    let rejected = other_app.verify(Some(&id), &cx, "c").await.unwrap_err();
    assert_eq!(rejected.to_string(), "invalid token: wrong audience");

    let spans = t.spans();
    assert!(spans
        .iter()
        .all(|s| s.name == "authentication_jwt_verification" || s.name == "GET"));
    let exported = format!("{spans:?}");
    assert!(!exported.contains(&id[..40]), "no token in any span");
    assert!(!exported.contains("alice@example.com") && !exported.contains("alice_w"));
}
