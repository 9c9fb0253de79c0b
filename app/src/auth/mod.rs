//! `AuthenticationService`: Cognito JWT verification (RS256 via the pool's
//! JWKS), monitored as `authentication_jwt_verification`.

mod config;
#[cfg(feature = "local")]
mod dev_issuer;
#[cfg(feature = "aws")]
mod http_jwks;
mod jwks;
mod jwt;

use crate::names::{operation, VerificationOutcome};
use crate::{attributes as a, ChatMonitor};
use opentelemetry::{Array, Context, KeyValue, StringValue, Value as OtelValue};
use serde_json::Value;

pub use config::{AcceptedTokens, AuthConfig, TokenUse};
#[cfg(feature = "local")]
pub use dev_issuer::{DevIssuer, DEV_CLIENT_ID, DEV_ISSUER};
#[cfg(feature = "aws")]
pub use http_jwks::{
    HttpJwks, JwksUrlError, CONNECT_TIMEOUT, MAX_JWKS_BYTES, MAX_REDIRECTS, REQUEST_TIMEOUT,
};
pub use jwks::{
    JwksCache, JwksFetchError, JwksSource, SigningKey, StaticJwks, JWKS_BACKOFF_FIRST,
    JWKS_BACKOFF_MAX, MAX_RETRY_AFTER, MIN_RSA_BITS,
};
pub use jwt::{InvalidReason, MAX_TOKEN_BYTES};

/// An authenticated user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The Cognito `sub`; exported as `enduser.id`.
    pub user_id: String,
    /// `cognito:username`: personal data, never exported by default.
    pub username: Option<String>,
    /// `email`: personal data, never exported by default.
    pub email: Option<String>,
    /// `cognito:groups`.
    pub groups: Vec<String>,
    /// The token's `exp`, seconds since the epoch: when this
    /// authentication ends.
    pub expires_at: i64,
}

/// Why a token was rejected: the guide's three outcomes, plus an unreachable
/// JWKS, which is the service's fault and not the client's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No token was given.
    #[error("no token was given")]
    MissingToken,
    /// The token verified but has expired.
    #[error("token expired at {exp} (now {now}); authenticate again with a fresh token")]
    TokenExpired {
        /// The `exp` claim.
        exp: i64,
        /// The verifier's clock.
        now: i64,
    },
    /// The token is forged, malformed or not meant for this app.
    #[error("invalid token: {0}")]
    InvalidToken(#[from] InvalidReason),
    /// The pool's keys could not be fetched.
    #[error("signing keys unavailable: {0}")]
    KeysUnavailable(String),
}

impl perfmon_lambda::ErrorCode for AuthError {
    fn error_code(&self) -> &'static str {
        match self {
            AuthError::MissingToken => "MISSING_TOKEN",
            AuthError::TokenExpired { .. } => "TOKEN_EXPIRED",
            AuthError::InvalidToken(_) => "INVALID_TOKEN",
            AuthError::KeysUnavailable(_) => "JWKS_UNAVAILABLE",
        }
    }

    fn error_message(&self) -> Option<String> {
        Some(self.to_string())
    }
}

impl AuthError {
    fn outcome(&self) -> VerificationOutcome {
        match self {
            AuthError::MissingToken => VerificationOutcome::MissingToken,
            AuthError::TokenExpired { .. } => VerificationOutcome::TokenExpired,
            _ => VerificationOutcome::InvalidToken,
        }
    }
}

/// Verifies Cognito tokens.
#[derive(Debug)]
pub struct AuthenticationService {
    config: AuthConfig,
    jwks: JwksCache,
    monitor: ChatMonitor,
}

impl AuthenticationService {
    /// A verifier for `config` whose keys come from `source`.
    pub fn new(
        config: AuthConfig,
        source: impl JwksSource + 'static,
        monitor: ChatMonitor,
    ) -> Self {
        let jwks = JwksCache::new(source, config.jwks_min_refresh);
        AuthenticationService {
            config,
            jwks,
            monitor,
        }
    }

    /// A verifier for the local development issuer.
    #[cfg(feature = "local")]
    pub fn local(issuer: &DevIssuer, monitor: ChatMonitor) -> Self {
        Self::new(AuthConfig::dev(), StaticJwks(issuer.jwks_json()), monitor)
    }

    /// The key cache, e.g. to see how often it fetched.
    pub fn jwks(&self) -> &JwksCache {
        &self.jwks
    }

    /// `Err` with the verifier's clock when an authentication that ends at
    /// `expires_at` (a token's `exp`) is over, with the same leeway as
    /// verification.
    pub fn check_lifetime(&self, expires_at: i64) -> Result<(), AuthError> {
        self.lifetime_at(expires_at, perfmon_lambda::clock::now_seconds())
    }

    /// [`check_lifetime`](Self::check_lifetime) at `now`. Saturating: a
    /// hostile `exp` near `i64::MAX` must not wrap into the past.
    fn lifetime_at(&self, exp: i64, now: i64) -> Result<(), AuthError> {
        let leeway = self.config.leeway.as_secs() as i64;
        if exp.saturating_add(leeway) <= now {
            return Err(AuthError::TokenExpired { exp, now });
        }
        Ok(())
    }

    /// Fetches the pool's keys now, during init, so that the first user
    /// does not wait for them. A failure is logged, not fatal: the first
    /// request that needs a key fetches again.
    pub async fn prefetch(&self) {
        match self.jwks.prefetch().await {
            Ok(keys) => tracing::debug!(keys, "signing keys prefetched"),
            Err(error) => tracing::warn!(%error, "could not prefetch the signing keys"),
        }
    }

    /// Verifies `token` as a child of `parent`. Records the guide's
    /// attributes (never the token, only its length) and the
    /// `Verifications{Outcome}` business metric.
    pub async fn verify(
        &self,
        token: Option<&str>,
        parent: &Context,
        correlation_id: &str,
    ) -> Result<User, AuthError> {
        let mut op = self.monitor.start_with_context(
            operation::AUTHENTICATION_JWT_VERIFICATION,
            parent,
            [
                KeyValue::new(a::TOKEN_LENGTH, token.map_or(0, str::len) as i64),
                KeyValue::new(a::HAS_TOKEN, token.is_some_and(|t| !t.is_empty())),
                KeyValue::new(a::CORRELATION_ID, correlation_id.to_owned()),
            ],
        );
        // Current while it runs, so that the JWKS fetch and log lines name
        // this operation.
        let result = op.within(self.check(token)).await;
        let business = self.monitor.business();
        match &result {
            Ok(user) => {
                business.verification(VerificationOutcome::Success);
                let groups: Vec<StringValue> =
                    user.groups.iter().cloned().map(StringValue::from).collect();
                let mut attrs = vec![
                    KeyValue::new(a::ENDUSER_ID, user.user_id.clone()),
                    KeyValue::new(a::USER_GROUPS, OtelValue::Array(Array::String(groups))),
                ];
                // Personal data: the privacy rules drop these unless enabled.
                if let Some(username) = &user.username {
                    attrs.push(KeyValue::new(a::USER_NAME, username.clone()));
                }
                if let Some(email) = &user.email {
                    attrs.push(KeyValue::new(a::USER_EMAIL, email.clone()));
                }
                op.complete(true, attrs);
            }
            Err(error) => {
                business.verification(error.outcome());
                let reason = perfmon_lambda::ErrorCode::error_code(error);
                op.in_scope(|| tracing::warn!(reason, error = %error, "authentication failed"));
                let attrs = match error {
                    AuthError::TokenExpired { exp, now } => vec![
                        KeyValue::new(a::TOKEN_EXP, *exp),
                        KeyValue::new(a::TOKEN_CHECKED_AT, *now),
                    ],
                    AuthError::MissingToken => vec![],
                    other => vec![KeyValue::new(a::ERROR_MESSAGE, other.to_string())],
                };
                op.fail(error, attrs);
            }
        }
        result
    }

    async fn check(&self, token: Option<&str>) -> Result<User, AuthError> {
        let token = token.map(str::trim).filter(|t| !t.is_empty());
        let token = token.ok_or(AuthError::MissingToken)?;
        let parsed = jwt::parse(token)?;
        let kid = parsed.header.kid.as_deref().unwrap_or_default();
        let key = self
            .jwks
            .key(kid)
            .await
            .map_err(AuthError::KeysUnavailable)?
            .ok_or(InvalidReason::UnknownKey)?;
        if key
            .alg
            .as_deref()
            .is_some_and(|alg| alg != parsed.header.alg)
        {
            return Err(InvalidReason::KeyAlgorithm.into());
        }
        let claims = parsed.verify(&key)?;
        self.check_claims(&claims)
    }

    fn check_claims(&self, claims: &Value) -> Result<User, AuthError> {
        let now = perfmon_lambda::clock::now_seconds();
        let leeway = self.config.leeway.as_secs() as i64;
        let text = |name: &'static str| claims.get(name).and_then(Value::as_str);
        let number = |name: &'static str| claims.get(name).and_then(Value::as_i64);

        if text("iss") != Some(self.config.issuer.as_str()) {
            return Err(InvalidReason::Issuer.into());
        }
        let token_use = match text("token_use") {
            Some("id") => TokenUse::Id,
            Some("access") => TokenUse::Access,
            _ => return Err(InvalidReason::TokenUse.into()),
        };
        if !self.config.token_use.accepts(token_use) {
            return Err(InvalidReason::TokenUse.into());
        }
        let audience_ok = match token_use {
            TokenUse::Id => match claims.get("aud") {
                Some(Value::String(aud)) => *aud == self.config.client_id,
                Some(Value::Array(auds)) => auds
                    .iter()
                    .any(|a| a.as_str() == Some(&self.config.client_id)),
                _ => false,
            },
            TokenUse::Access => text("client_id") == Some(self.config.client_id.as_str()),
        };
        if !audience_ok {
            return Err(InvalidReason::Audience.into());
        }
        let exp = number("exp").ok_or(InvalidReason::MissingClaim("exp"))?;
        self.lifetime_at(exp, now)?;
        for claim in ["nbf", "iat"] {
            let Some(value) = claims.get(claim) else {
                continue;
            };
            let t = value.as_i64().ok_or(InvalidReason::ClaimType(claim))?;
            if t > now.saturating_add(leeway) {
                return Err(InvalidReason::NotYetValid.into());
            }
        }
        let user_id = text("sub").ok_or(InvalidReason::MissingClaim("sub"))?;
        Ok(User {
            expires_at: exp,
            user_id: user_id.to_owned(),
            username: text("cognito:username")
                .or_else(|| text("username"))
                .map(str::to_owned),
            email: text("email").map(str::to_owned),
            groups: claims
                .get("cognito:groups")
                .and_then(Value::as_array)
                .map(|g| {
                    g.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
        })
    }
}
