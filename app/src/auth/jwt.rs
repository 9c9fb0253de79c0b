//! RS256 JWT verification, written out so every rejection is typed and
//! nothing in a hostile token can panic.
//!
//! Order matters: the header is checked first (only `RS256` with a `kid`),
//! then the signature, and only a correctly signed token has its claims
//! judged. A forged token is therefore `INVALID_TOKEN`, never
//! `TOKEN_EXPIRED`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;

use super::jwks::SigningKey;

/// Longest token accepted, in bytes. Cognito tokens are 1–2 KiB.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Why a token is invalid. Every variant is `INVALID_TOKEN` to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidReason {
    /// Not three base64url segments of JSON.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// Longer than [`MAX_TOKEN_BYTES`].
    #[error("token longer than {MAX_TOKEN_BYTES} bytes")]
    Oversized,
    /// Any algorithm but RS256 (`none`, `HS256`, ...).
    #[error("algorithm {0:?} is not accepted")]
    Algorithm(String),
    /// The header names no key.
    #[error("token has no kid")]
    MissingKid,
    /// The key is not in the pool's JWKS, even after a refresh.
    #[error("unknown signing key")]
    UnknownKey,
    /// The signature does not verify.
    #[error("signature does not verify")]
    BadSignature,
    /// `iss` is not the pool.
    #[error("wrong issuer")]
    Issuer,
    /// `aud` / `client_id` is not the app client.
    #[error("wrong audience")]
    Audience,
    /// `token_use` is not accepted.
    #[error("wrong token_use")]
    TokenUse,
    /// `nbf` or `iat` is in the future.
    #[error("token not yet valid")]
    NotYetValid,
    /// A required claim is missing or of the wrong type.
    #[error("missing claim {0}")]
    MissingClaim(&'static str),
    /// An optional time claim (`nbf`, `iat`) is not a number of seconds.
    #[error("claim {0} is not a number of seconds")]
    ClaimType(&'static str),
    /// The signing key's `alg` is not the token's.
    #[error("the signing key is not for this algorithm")]
    KeyAlgorithm,
}

/// The JOSE header fields we read.
#[derive(Debug, Deserialize)]
pub(crate) struct Header {
    pub alg: String,
    #[serde(default)]
    pub kid: Option<String>,
}

/// A token split into its parts, header decoded, nothing verified yet.
#[derive(Debug)]
pub(crate) struct Parsed<'a> {
    pub header: Header,
    signing_input: &'a str,
    payload: &'a str,
    signature: Vec<u8>,
}

/// Splits and decodes the header; checks size and algorithm.
pub(crate) fn parse(token: &str) -> Result<Parsed<'_>, InvalidReason> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(InvalidReason::Oversized);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(InvalidReason::Malformed("expected three segments"));
    };
    let header_bytes = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| InvalidReason::Malformed("header is not base64url"))?;
    let header: Header = serde_json::from_slice(&header_bytes)
        .map_err(|_| InvalidReason::Malformed("header is not a JSON object"))?;
    if header.alg != "RS256" {
        return Err(InvalidReason::Algorithm(
            header.alg.chars().take(16).collect(),
        ));
    }
    if header.kid.as_deref().is_none_or(str::is_empty) {
        return Err(InvalidReason::MissingKid);
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| InvalidReason::Malformed("signature is not base64url"))?;
    let signing_input = &token[..header_len(token, payload)];
    Ok(Parsed {
        header,
        signing_input,
        payload,
        signature,
    })
}

/// Length of `header.payload` within `token`.
fn header_len(token: &str, payload: &str) -> usize {
    token.find('.').map(|i| i + 1 + payload.len()).unwrap_or(0)
}

impl Parsed<'_> {
    /// Verifies the signature with `key`, then decodes the claims.
    pub(crate) fn verify(&self, key: &SigningKey) -> Result<serde_json::Value, InvalidReason> {
        if !key.verifies(self.signing_input.as_bytes(), &self.signature) {
            return Err(InvalidReason::BadSignature);
        }
        let payload = URL_SAFE_NO_PAD
            .decode(self.payload)
            .map_err(|_| InvalidReason::Malformed("payload is not base64url"))?;
        let claims: serde_json::Value = serde_json::from_slice(&payload)
            .map_err(|_| InvalidReason::Malformed("payload is not JSON"))?;
        if !claims.is_object() {
            return Err(InvalidReason::Malformed("payload is not a JSON object"));
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    #[test]
    fn header_problems_are_typed() {
        let payload = b64("{}");
        let cases = [
            ("a.b".to_owned(), "Malformed"),
            ("a.b.c.d".to_owned(), "Malformed"),
            (format!("!!.{payload}.sig"), "Malformed"),
            (format!("{}.{payload}.sig", b64("[]")), "Malformed"),
            (
                format!("{}.{payload}.", b64(r#"{"alg":"none"}"#)),
                "Algorithm",
            ),
            (
                format!("{}.{payload}.c2ln", b64(r#"{"alg":"HS256","kid":"k"}"#)),
                "Algorithm",
            ),
            (
                format!("{}.{payload}.c2ln", b64(r#"{"alg":"RS256"}"#)),
                "MissingKid",
            ),
            (
                format!("{}.{payload}.***", b64(r#"{"alg":"RS256","kid":"k"}"#)),
                "Malformed",
            ),
            ("x".repeat(MAX_TOKEN_BYTES + 1), "Oversized"),
        ];
        for (token, kind) in cases {
            let err = parse(&token).unwrap_err();
            assert!(format!("{err:?}").starts_with(kind), "{token:.40}: {err:?}");
        }
    }

    #[test]
    fn the_signing_input_is_header_dot_payload() {
        let token = format!("{}.{}.c2ln", b64(r#"{"alg":"RS256","kid":"k"}"#), b64("{}"));
        let parsed = parse(&token).unwrap();
        assert_eq!(parsed.signing_input, &token[..token.rfind('.').unwrap()]);
    }
}
