//! A local stand-in for a Cognito user pool: a fresh RSA key, its JWKS, and
//! tokens shaped like Cognito's, signed with the real AWS issuer URL so the
//! verifier runs exactly as in production.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde_json::{json, Value};
use sha2::Sha256;

/// Issuer of the local pool: the real Cognito URL shape.
pub const DEV_ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_perfmonLocal";
/// App client id of the local pool.
pub const DEV_CLIENT_ID: &str = "perfmonlocalclient";
const KID: &str = "perfmon-local-1";

/// The local development token issuer.
#[derive(Debug, Clone)]
pub struct DevIssuer {
    key: RsaPrivateKey,
}

impl DevIssuer {
    /// Generates a fresh 2048-bit key.
    pub fn new() -> Self {
        let key = RsaPrivateKey::new(&mut rand::thread_rng(), 2048)
            .expect("2048-bit RSA key generation succeeds");
        DevIssuer { key }
    }

    /// The key id tokens carry.
    pub fn kid(&self) -> &'static str {
        KID
    }

    /// The pool's JWKS document.
    pub fn jwks_json(&self) -> String {
        let public = self.key.to_public_key();
        json!({
            "keys": [{
                "kty": "RSA",
                "alg": "RS256",
                "use": "sig",
                "kid": KID,
                "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
                "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
            }]
        })
        .to_string()
    }

    /// The public key's PKCS#1 DER bytes, as an attacker would find them.
    pub fn public_key_der(&self) -> Vec<u8> {
        use rsa::pkcs1::EncodeRsaPublicKey;
        self.key
            .to_public_key()
            .to_pkcs1_der()
            .expect("DER encoding of a valid key")
            .into_vec()
    }

    /// Signs `claims` under an arbitrary `header` with the pool's key.
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = SigningKey::<Sha256>::new(self.key.clone()).sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }

    /// The standard header.
    pub fn header(&self) -> Value {
        json!({"alg": "RS256", "kid": KID})
    }

    /// Claims of a Cognito id token for `sub`, valid for `ttl_seconds` (a
    /// negative value gives an expired token).
    pub fn id_claims(&self, sub: &str, username: &str, email: &str, ttl_seconds: i64) -> Value {
        let now = perfmon_lambda::clock::now_seconds();
        json!({
            "sub": sub,
            "aud": DEV_CLIENT_ID,
            "iss": DEV_ISSUER,
            "token_use": "id",
            "auth_time": now,
            "iat": now.min(now + ttl_seconds),
            "exp": now + ttl_seconds,
            "cognito:username": username,
            "email": email,
            "cognito:groups": ["users"],
        })
    }

    /// A valid id token for `sub`.
    pub fn id_token(&self, sub: &str, username: &str, email: &str, ttl_seconds: i64) -> String {
        self.sign(
            &self.header(),
            &self.id_claims(sub, username, email, ttl_seconds),
        )
    }
}

impl Default for DevIssuer {
    fn default() -> Self {
        Self::new()
    }
}
