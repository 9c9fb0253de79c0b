//! The AuthenticationService against forged, expired and malformed tokens:
//! each is rejected with the right outcome code, and the key cache refreshes
//! on an unknown `kid` at most once per interval.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use opentelemetry::Context;
use perfmon_chat::auth::{
    AuthConfig, AuthError, AuthenticationService, DevIssuer, InvalidReason, JwksFetchError,
    JwksSource, DEV_CLIENT_ID, MAX_TOKEN_BYTES,
};
use perfmon_lambda::ErrorCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// HMAC-SHA256, for the key-confusion attack (HS256 keyed with the RSA
/// public key).
fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}

fn unsigned(header: &Value, claims: &Value) -> String {
    format!("{}.{}", b64(header.to_string()), b64(claims.to_string()))
}

struct Case {
    name: &'static str,
    token: Option<String>,
    expect: Result<(), &'static str>,
}

fn cases(issuer: &DevIssuer) -> Vec<Case> {
    let good = issuer.id_claims("sub-1", "alice", "alice@example.com", 600);
    let with = |patch: Value| {
        let mut claims = good.clone();
        for (k, v) in patch.as_object().unwrap() {
            claims[k] = v.clone();
        }
        issuer.sign(&issuer.header(), &claims)
    };
    let other = DevIssuer::new();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let hs256_header = json!({"alg": "HS256", "kid": issuer.kid()});
    let hs256_input = unsigned(&hs256_header, &good);
    let hs256 = format!(
        "{hs256_input}.{}",
        b64(hmac_sha256(
            &issuer.public_key_der(),
            hs256_input.as_bytes()
        ))
    );
    let mut access = good.clone();
    access["token_use"] = json!("access");
    access["client_id"] = json!(DEV_CLIENT_ID);
    access.as_object_mut().unwrap().remove("aud");
    let mut access_wrong_client = access.clone();
    access_wrong_client["client_id"] = json!("someone-else");
    let valid = issuer.sign(&issuer.header(), &good);
    let (head, rest) = valid.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();
    let mut cases = vec![
        Case {
            name: "valid id token",
            token: Some(valid.clone()),
            expect: Ok(()),
        },
        Case {
            name: "valid access token",
            token: Some(issuer.sign(&issuer.header(), &access)),
            expect: Ok(()),
        },
        Case {
            name: "expired within leeway",
            token: Some(with(json!({"exp": now - 10}))),
            expect: Ok(()),
        },
        Case {
            name: "missing",
            token: None,
            expect: Err("MISSING_TOKEN"),
        },
        Case {
            name: "empty",
            token: Some("  ".into()),
            expect: Err("MISSING_TOKEN"),
        },
        Case {
            name: "expired",
            token: Some(with(json!({"exp": now - 3600}))),
            expect: Err("TOKEN_EXPIRED"),
        },
        Case {
            name: "alg none",
            token: Some(format!(
                "{}.",
                unsigned(&json!({"alg": "none", "kid": issuer.kid()}), &good)
            )),
            expect: Err("INVALID_TOKEN"),
        },
        Case {
            name: "HS256 keyed with the public key",
            token: Some(hs256),
            expect: Err("INVALID_TOKEN"),
        },
        Case {
            name: "wrong signature (other key, same kid)",
            token: Some(other.sign(&issuer.header(), &good)),
            expect: Err("INVALID_TOKEN"),
        },
        Case {
            name: "forged and expired is invalid, not expired",
            token: Some(other.sign(
                &issuer.header(),
                &issuer.id_claims("s", "u", "e@x.io", -3600),
            )),
            expect: Err("INVALID_TOKEN"),
        },
        Case {
            name: "unknown kid",
            token: Some(issuer.sign(&json!({"alg": "RS256", "kid": "rotated-away"}), &good)),
            expect: Err("INVALID_TOKEN"),
        },
        Case {
            name: "wrong issuer",
            token: Some(with(
                json!({"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_evil"}),
            )),
            expect: Err("INVALID_TOKEN"),
        },
        Case {
            name: "wrong audience",
            token: Some(with(json!({"aud": "another-client"}))),
            expect: Err("INVALID_TOKEN"),
        },
        Case {
            name: "aud as an array holding the client",
            token: Some(with(json!({"aud": ["another-client", DEV_CLIENT_ID]}))),
            expect: Ok(()),
        },
        Case {
            name: "aud as an array without the client",
            token: Some(with(json!({"aud": ["another-client", "a-third"]}))),
            expect: Err("INVALID_TOKEN"),
        },
        Case {
            name: "aud as an empty array",
            token: Some(with(json!({"aud": []}))),
            expect: Err("INVALID_TOKEN"),
        },
        Case {
            name: "aud as an array of non-strings",
            token: Some(with(json!({"aud": [1, null, {"id": DEV_CLIENT_ID}]}))),
            expect: Err("INVALID_TOKEN"),
        },
        Case {
            name: "wrong client_id on an access token",
            token: Some(issuer.sign(&issuer.header(), &access_wrong_client)),
            expect: Err("INVALID_TOKEN"),
        },
        Case {
            name: "wrong token_use",
            token: Some(with(json!({"token_use": "refresh"}))),
            expect: Err("INVALID_TOKEN"),
        },
        Case {
            name: "not yet valid",
            token: Some(with(json!({"nbf": now + 3600}))),
            expect: Err("INVALID_TOKEN"),
        },
        Case {
            name: "issued in the future",
            token: Some(with(json!({"iat": now + 3600}))),
            expect: Err("INVALID_TOKEN"),
        },
        Case {
            name: "no exp",
            token: Some(with(json!({"exp": null}))),
            expect: Err("INVALID_TOKEN"),
        },
        Case {
            // exp + leeway must not overflow (a panic, or a wrap into the past).
            name: "exp at the end of time",
            token: Some(with(json!({"exp": i64::MAX}))),
            expect: Ok(()),
        },
        Case {
            name: "nbf of the wrong type",
            token: Some(with(json!({"nbf": "tomorrow"}))),
            expect: Err("INVALID_TOKEN"),
        },
        Case {
            name: "iat of the wrong type",
            token: Some(with(json!({"iat": [1]}))),
            expect: Err("INVALID_TOKEN"),
        },
        Case {
            name: "malformed base64",
            token: Some(format!("{head}.@@@.{signature}")),
            expect: Err("INVALID_TOKEN"),
        },
        Case {
            name: "header not JSON",
            token: Some(format!("{}.{}", b64("not json"), rest)),
            expect: Err("INVALID_TOKEN"),
        },
        Case {
            name: "payload not JSON but signed",
            token: Some(issuer.sign(&issuer.header(), &json!("just a string"))),
            expect: Err("INVALID_TOKEN"),
        },
        Case {
            name: "two segments",
            token: Some(format!("{head}.{}", rest.split('.').next().unwrap())),
            expect: Err("INVALID_TOKEN"),
        },
        Case {
            name: "oversized",
            token: Some(format!(
                "{head}.{}.{signature}",
                "A".repeat(MAX_TOKEN_BYTES)
            )),
            expect: Err("INVALID_TOKEN"),
        },
        Case {
            name: "binary garbage",
            token: Some("\u{0}\u{ffff}.\u{1}.\u{2}".into()),
            expect: Err("INVALID_TOKEN"),
        },
    ];
    cases.retain(|c| !c.name.is_empty());
    cases
}

#[tokio::test]
async fn every_forged_or_bad_token_gets_its_outcome() {
    let t = common::telemetry();
    let issuer = DevIssuer::new();
    let auth = AuthenticationService::local(&issuer, common::chat(&t));
    for case in cases(&issuer) {
        let result = auth
            .verify(case.token.as_deref(), &Context::new(), "corr")
            .await;
        match (case.expect, result) {
            (Ok(()), Ok(user)) => assert_eq!(user.user_id, "sub-1", "{}", case.name),
            (Err(code), Err(error)) => {
                assert_eq!(error.error_code(), code, "{}: {error}", case.name)
            }
            (expect, got) => panic!("{}: expected {expect:?}, got {got:?}", case.name),
        }
    }
}

#[tokio::test]
async fn rejections_are_typed() {
    let t = common::telemetry();
    let issuer = DevIssuer::new();
    let auth = AuthenticationService::local(&issuer, common::chat(&t));
    let none = format!(
        "{}.",
        unsigned(&json!({"alg": "none", "kid": issuer.kid()}), &json!({}))
    );
    assert_eq!(
        auth.verify(Some(&none), &Context::new(), "c").await,
        Err(AuthError::InvalidToken(InvalidReason::Algorithm(
            "none".into()
        )))
    );
    let other = DevIssuer::new().id_token("s", "u", "e@x.io", 60);
    assert_eq!(
        auth.verify(Some(&other), &Context::new(), "c").await,
        Err(AuthError::InvalidToken(InvalidReason::BadSignature))
    );
}

/// A JWKS that can rotate, and counts its fetches.
#[derive(Debug, Clone)]
struct Rotating(Arc<Mutex<(String, u32)>>);

#[async_trait::async_trait]
impl JwksSource for Rotating {
    async fn fetch(&self) -> Result<String, JwksFetchError> {
        let mut state = self.0.lock().unwrap();
        state.1 += 1;
        Ok(state.0.clone())
    }
}

#[tokio::test]
async fn unknown_kids_refresh_the_keys_at_most_once_per_interval() {
    let t = common::telemetry();
    let old = DevIssuer::new();
    let source = Rotating(Arc::new(Mutex::new((old.jwks_json(), 0))));
    let config = AuthConfig {
        jwks_min_refresh: Duration::from_secs(3600),
        ..AuthConfig::dev()
    };
    let auth = AuthenticationService::new(config, source.clone(), common::chat(&t));
    let cx = Context::new();
    assert!(auth
        .verify(Some(&old.id_token("a", "a", "a@x.io", 60)), &cx, "c")
        .await
        .is_ok());
    assert_eq!(source.0.lock().unwrap().1, 1, "first use fetches");
    assert!(auth
        .verify(Some(&old.id_token("a", "a", "a@x.io", 60)), &cx, "c")
        .await
        .is_ok());
    assert_eq!(source.0.lock().unwrap().1, 1, "cached afterwards");
    // A flood of unknown kids right after a fetch does not refetch.
    for i in 0..20 {
        let forged = old.sign(
            &json!({"alg": "RS256", "kid": format!("kid-{i}")}),
            &old.id_claims("a", "a", "a@x.io", 60),
        );
        assert_eq!(
            auth.verify(Some(&forged), &cx, "c").await,
            Err(AuthError::InvalidToken(InvalidReason::UnknownKey))
        );
    }
    assert_eq!(source.0.lock().unwrap().1, 1, "refreshes are rate-limited");
}

#[tokio::test]
async fn a_rotated_key_is_found_by_refreshing() {
    let t = common::telemetry();
    let old = DevIssuer::new();
    let new = DevIssuer::new();
    let source = Rotating(Arc::new(Mutex::new((old.jwks_json(), 0))));
    let config = AuthConfig {
        jwks_min_refresh: Duration::ZERO,
        ..AuthConfig::dev()
    };
    let auth = AuthenticationService::new(config, source.clone(), common::chat(&t));
    let cx = Context::new();
    assert!(auth
        .verify(Some(&old.id_token("a", "a", "a@x.io", 60)), &cx, "c")
        .await
        .is_ok());
    // The pool rotates to a key with a new kid.
    let rotated_jwks = new.jwks_json().replace(new.kid(), "perfmon-local-2");
    source.0.lock().unwrap().0 = rotated_jwks;
    let token = new.sign(
        &json!({"alg": "RS256", "kid": "perfmon-local-2"}),
        &new.id_claims("b", "b", "b@x.io", 60),
    );
    let user = auth.verify(Some(&token), &cx, "c").await.unwrap();
    assert_eq!(user.user_id, "b");
    assert_eq!(source.0.lock().unwrap().1, 2);
}

#[tokio::test]
async fn an_unreachable_jwks_is_not_the_clients_fault() {
    #[derive(Debug)]
    struct Down;
    #[async_trait::async_trait]
    impl JwksSource for Down {
        async fn fetch(&self) -> Result<String, JwksFetchError> {
            Err("connection refused".into())
        }
    }
    let t = common::telemetry();
    let issuer = DevIssuer::new();
    let auth = AuthenticationService::new(AuthConfig::dev(), Down, common::chat(&t));
    let error = auth
        .verify(
            Some(&issuer.id_token("a", "a", "a@x.io", 60)),
            &Context::new(),
            "c",
        )
        .await
        .unwrap_err();
    assert_eq!(error.error_code(), "JWKS_UNAVAILABLE");
}
