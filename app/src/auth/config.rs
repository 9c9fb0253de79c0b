//! What the verifier checks: the pool, the app client, which tokens are
//! accepted, the clock skew tolerated and how often the keys may be
//! refetched.

use std::time::Duration;

use super::{DEV_CLIENT_ID, DEV_ISSUER};

/// A Cognito token's `token_use`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenUse {
    /// Id tokens (`aud` = app client id).
    Id,
    /// Access tokens (`client_id` = app client id).
    Access,
}

/// Which tokens are accepted: `PERFMON_COGNITO_TOKEN_USE` (`access`, `id`
/// or `both`).
///
/// The default is [`Access`](Self::Access). An access token is what a
/// client presents to a resource server: it names the app client and the
/// granted scopes and carries no profile attributes. An id token is for
/// the client application itself, to learn who signed in, and carries
/// personal data (email, name) that a backend should not need (Cognito's
/// guide: "use the access token to authorize API operations").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AcceptedTokens {
    /// Access tokens only.
    #[default]
    Access,
    /// Id tokens only.
    Id,
    /// Either.
    Both,
}

impl AcceptedTokens {
    /// Whether a token of `token_use` is accepted.
    pub fn accepts(self, token_use: TokenUse) -> bool {
        matches!(
            (self, token_use),
            (AcceptedTokens::Both, _)
                | (AcceptedTokens::Access, TokenUse::Access)
                | (AcceptedTokens::Id, TokenUse::Id)
        )
    }
}

impl std::str::FromStr for AcceptedTokens {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "access" => Ok(AcceptedTokens::Access),
            "id" => Ok(AcceptedTokens::Id),
            "both" => Ok(AcceptedTokens::Both),
            _ => Err("access, id or both"),
        }
    }
}

/// What the verifier checks.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Expected `iss`: `https://cognito-idp.REGION.amazonaws.com/POOL_ID`.
    pub issuer: String,
    /// The app client id (`aud` of id tokens, `client_id` of access tokens).
    pub client_id: String,
    /// Accepted `token_use` values.
    pub token_use: AcceptedTokens,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`.
    pub leeway: Duration,
    /// Shortest time between two JWKS fetches for an unknown `kid`.
    pub jwks_min_refresh: Duration,
}

impl AuthConfig {
    /// Defaults for `issuer` and `client_id`: access tokens only, 30 s
    /// leeway, one refetch for an unknown `kid` per minute at most.
    pub fn new(issuer: impl Into<String>, client_id: impl Into<String>) -> Self {
        AuthConfig {
            issuer: issuer.into(),
            client_id: client_id.into(),
            token_use: AcceptedTokens::default(),
            leeway: Duration::from_secs(30),
            jwks_min_refresh: Duration::from_secs(60),
        }
    }

    /// The local development issuer's settings. It mints id tokens (with a
    /// user name and an email, to exercise the privacy rules) and access
    /// tokens, so both are accepted.
    pub fn dev() -> Self {
        AuthConfig {
            token_use: AcceptedTokens::Both,
            ..AuthConfig::new(DEV_ISSUER, DEV_CLIENT_ID)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setting_parses_and_decides() {
        let access: AcceptedTokens = "access".parse().unwrap();
        assert!(access.accepts(TokenUse::Access) && !access.accepts(TokenUse::Id));
        let id: AcceptedTokens = "ID".parse().unwrap();
        assert!(id.accepts(TokenUse::Id) && !id.accepts(TokenUse::Access));
        let both: AcceptedTokens = "both".parse().unwrap();
        assert!(both.accepts(TokenUse::Id) && both.accepts(TokenUse::Access));
        assert!("refresh".parse::<AcceptedTokens>().is_err());
        assert_eq!(AuthConfig::new("i", "c").token_use, AcceptedTokens::Access);
    }
}
