//! RS256 verification of one Cognito-shaped token (2048-bit key), by every
//! maintained Rust backend, in one run:
//!
//! - `signature/*`: the signature check alone, the step that costs. Each
//!   backend starts from what the JWKS cache holds: the key's `n` and `e`,
//!   already decoded.
//!   - `rsa_clone_per_call`: the `rsa` crate as the verifier used it before
//!     (a `VerifyingKey` built from a clone of the key per token);
//!   - `rsa_prepared`: the `rsa` crate with the `VerifyingKey` built once;
//!   - `aws_lc_rs_components` / `aws_lc_rs_prepared`: aws-lc-rs from the
//!     components per token, or from a key parsed once (`ParsedPublicKey`);
//!   - `ring_components`: ring from the components per token;
//!   - `jsonwebtoken_rust_crypto` / `jsonwebtoken_aws_lc_rs`: jsonwebtoken
//!     10 with each of its crypto providers, called as `jsonwebtoken::decode`
//!     calls them (a verifier made from the `DecodingKey` per token).
//! - `token/authentication_service`: the app's whole verification (parse,
//!   JWKS cache lookup, signature, claims, its span and metrics, with the
//!   exporters off), to put the signature in proportion.
//!
//! Reproduce with `taskset -c 1 cargo bench -p perfmon-chat --bench jwt_verify`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use criterion::{criterion_group, criterion_main, Criterion};
use opentelemetry::Context;
use perfmon_chat::auth::{AuthenticationService, DevIssuer};
use perfmon_chat::ChatMonitor;
use perfmon_lambda::{Catalog, Telemetry};
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier;
use rsa::{BigUint, RsaPublicKey};
use sha2::Sha256;

/// A token and its key, split as the verifier sees them.
struct Fixture {
    token: String,
    signing_input: Vec<u8>,
    signature: Vec<u8>,
    n: Vec<u8>,
    e: Vec<u8>,
    n_b64: String,
    e_b64: String,
}

fn fixture(issuer: &DevIssuer) -> Fixture {
    let token = issuer.id_token("user-1", "alice", "alice@example.com", 3600);
    let (signing_input, signature) = token.rsplit_once('.').unwrap();
    let jwks: serde_json::Value = serde_json::from_str(&issuer.jwks_json()).unwrap();
    let key = &jwks["keys"][0];
    let n_b64 = key["n"].as_str().unwrap().to_owned();
    let e_b64 = key["e"].as_str().unwrap().to_owned();
    Fixture {
        signing_input: signing_input.as_bytes().to_vec(),
        signature: URL_SAFE_NO_PAD.decode(signature).unwrap(),
        n: URL_SAFE_NO_PAD.decode(&n_b64).unwrap(),
        e: URL_SAFE_NO_PAD.decode(&e_b64).unwrap(),
        n_b64,
        e_b64,
        token,
    }
}

fn signature(c: &mut Criterion, f: &Fixture) {
    let mut group = c.benchmark_group("signature");

    let rsa_key =
        RsaPublicKey::new(BigUint::from_bytes_be(&f.n), BigUint::from_bytes_be(&f.e)).unwrap();
    let rsa_signature = Signature::try_from(f.signature.as_slice()).unwrap();
    group.bench_function("rsa_clone_per_call", |b| {
        b.iter(|| {
            VerifyingKey::<Sha256>::new(rsa_key.clone())
                .verify(&f.signing_input, &rsa_signature)
                .unwrap()
        })
    });
    let prepared = VerifyingKey::<Sha256>::new(rsa_key.clone());
    group.bench_function("rsa_prepared", |b| {
        b.iter(|| prepared.verify(&f.signing_input, &rsa_signature).unwrap())
    });

    {
        use aws_lc_rs::signature::{
            ParsedPublicKey, RsaPublicKeyComponents, RSA_PKCS1_2048_8192_SHA256,
        };
        let components = RsaPublicKeyComponents {
            n: f.n.as_slice(),
            e: f.e.as_slice(),
        };
        group.bench_function("aws_lc_rs_components", |b| {
            b.iter(|| {
                components
                    .verify(&RSA_PKCS1_2048_8192_SHA256, &f.signing_input, &f.signature)
                    .unwrap()
            })
        });
        let der = {
            use rsa::pkcs1::EncodeRsaPublicKey;
            rsa_key.to_pkcs1_der().unwrap().into_vec()
        };
        let parsed = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der).unwrap();
        group.bench_function("aws_lc_rs_prepared", |b| {
            b.iter(|| parsed.verify_sig(&f.signing_input, &f.signature).unwrap())
        });
    }

    {
        use ring::signature::{RsaPublicKeyComponents, RSA_PKCS1_2048_8192_SHA256};
        let components = RsaPublicKeyComponents {
            n: f.n.as_slice(),
            e: f.e.as_slice(),
        };
        group.bench_function("ring_components", |b| {
            b.iter(|| {
                components
                    .verify(&RSA_PKCS1_2048_8192_SHA256, &f.signing_input, &f.signature)
                    .unwrap()
            })
        });
    }

    {
        use jsonwebtoken::crypto::{aws_lc, rust_crypto, CryptoProvider};
        use jsonwebtoken::{Algorithm, DecodingKey};
        let key = DecodingKey::from_rsa_components(&f.n_b64, &f.e_b64).unwrap();
        let providers: [(&str, &CryptoProvider); 2] = [
            ("jsonwebtoken_rust_crypto", &rust_crypto::DEFAULT_PROVIDER),
            ("jsonwebtoken_aws_lc_rs", &aws_lc::DEFAULT_PROVIDER),
        ];
        for (name, provider) in providers {
            group.bench_function(name, |b| {
                b.iter(|| {
                    let verifier = (provider.verifier_factory)(&Algorithm::RS256, &key).unwrap();
                    verifier.verify(&f.signing_input, &f.signature).unwrap()
                })
            });
        }
    }
    group.finish();
}

fn token(c: &mut Criterion, issuer: &DevIssuer, f: &Fixture) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let catalog = Catalog::from_path(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../dashboards/catalog.json"
    ))
    .unwrap();
    let telemetry = Telemetry::builder()
        .with_catalog(catalog)
        .with_exporters_disabled()
        .build()
        .unwrap();
    let monitor = ChatMonitor::on(&telemetry).unwrap();
    let auth = AuthenticationService::local(issuer, monitor);
    let parent = Context::new();
    // The first call fills the JWKS cache, as the init prefetch does.
    runtime
        .block_on(auth.verify(Some(&f.token), &parent, "bench"))
        .unwrap();

    let mut group = c.benchmark_group("token");
    group.bench_function("authentication_service", |b| {
        b.iter(|| {
            runtime
                .block_on(auth.verify(Some(&f.token), &parent, "bench"))
                .unwrap()
        })
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    let issuer = DevIssuer::new();
    let f = fixture(&issuer);
    signature(c, &f);
    token(c, &issuer, &f);
}

criterion_group!(jwt, benches);
criterion_main!(jwt);
