//! The chat app's own settings; the Lambda functions (feature `aws`) read
//! them. Telemetry settings are perfmon's ([`perfmon_lambda::env`]).
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `PERFMON_CONNECTIONS_TABLE` | `perfmon-connections` | DynamoDB connections table |
//! | `PERFMON_MESSAGES_TABLE` | `perfmon-messages` | DynamoDB messages table |
//! | `PERFMON_COGNITO_ISSUER` | required | `https://cognito-idp.REGION.amazonaws.com/POOL_ID` |
//! | `PERFMON_COGNITO_CLIENT_ID` | required | the app client id |
//! | `PERFMON_COGNITO_JWKS_URL` | issuer + `/.well-known/jwks.json` | where the pool's keys are |
//! | `PERFMON_AUTH_LEEWAY_SECONDS` | `30` | clock skew tolerated on `exp`/`nbf`/`iat` |
//! | `PERFMON_COGNITO_TOKEN_USE` | `access` | tokens accepted: `access`, `id` or `both` |
//! | `PERFMON_MANAGEMENT_ENDPOINT` | required by `ws-conversation` | `https://API.execute-api.REGION.amazonaws.com/STAGE` |

/// DynamoDB connections table.
pub const PERFMON_CONNECTIONS_TABLE: &str = "PERFMON_CONNECTIONS_TABLE";
/// Default of [`PERFMON_CONNECTIONS_TABLE`].
pub const PERFMON_CONNECTIONS_TABLE_DEFAULT: &str = "perfmon-connections";
/// DynamoDB messages table.
pub const PERFMON_MESSAGES_TABLE: &str = "PERFMON_MESSAGES_TABLE";
/// Default of [`PERFMON_MESSAGES_TABLE`].
pub const PERFMON_MESSAGES_TABLE_DEFAULT: &str = "perfmon-messages";
/// Expected token issuer.
pub const PERFMON_COGNITO_ISSUER: &str = "PERFMON_COGNITO_ISSUER";
/// App client id.
pub const PERFMON_COGNITO_CLIENT_ID: &str = "PERFMON_COGNITO_CLIENT_ID";
/// JWKS URL, when not under the issuer.
pub const PERFMON_COGNITO_JWKS_URL: &str = "PERFMON_COGNITO_JWKS_URL";
/// Clock skew tolerated, seconds.
pub const PERFMON_AUTH_LEEWAY_SECONDS: &str = "PERFMON_AUTH_LEEWAY_SECONDS";
/// Default of [`PERFMON_AUTH_LEEWAY_SECONDS`].
pub const PERFMON_AUTH_LEEWAY_SECONDS_DEFAULT: u64 = 30;
/// Tokens accepted (`token_use`).
pub const PERFMON_COGNITO_TOKEN_USE: &str = "PERFMON_COGNITO_TOKEN_USE";
/// Default of [`PERFMON_COGNITO_TOKEN_USE`]: access tokens only.
pub const PERFMON_COGNITO_TOKEN_USE_DEFAULT: crate::auth::AcceptedTokens =
    crate::auth::AcceptedTokens::Access;
/// Management API endpoint of the WebSocket stage.
pub const PERFMON_MANAGEMENT_ENDPOINT: &str = "PERFMON_MANAGEMENT_ENDPOINT";

pub use perfmon_lambda::env::var;
