//! The application on AWS (feature `aws`): configuration from the
//! environment, clients built once, and the Lambda entry point both
//! binaries share.

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use lambda_runtime::{service_fn, LambdaEvent};

use super::auth::{AuthConfig, AuthenticationService, HttpJwks};
use super::error::AppError;
use super::handlers::{App, Route};
use super::post::ApiGatewayPoster;
use super::store::{DynamoStore, Tables};
use crate::env;
use perfmon_lambda::lambda::LambdaMonitoring;
use perfmon_lambda::Telemetry;

/// A missing or invalid setting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required variable is not set.
    #[error("{0} must be set")]
    Missing(&'static str),
    /// A variable holds an invalid value.
    #[error(transparent)]
    Invalid(#[from] perfmon_lambda::env::EnvError),
    /// The JWKS URL cannot be used.
    #[error(transparent)]
    JwksUrl(#[from] super::auth::JwksUrlError),
    /// The application's monitor could not start.
    #[error(transparent)]
    Metric(#[from] perfmon_lambda::MetricError),
    /// The telemetry pipeline could not start.
    #[error(transparent)]
    Telemetry(#[from] perfmon_lambda::BuildError),
}

/// The functions' settings.
#[derive(Debug, Clone)]
pub struct AwsConfig {
    /// DynamoDB tables.
    pub tables: Tables,
    /// Token verification.
    pub auth: AuthConfig,
    /// Where the pool's keys are.
    pub jwks_url: String,
    /// Management API endpoint; required by `ws-conversation`,
    /// `ws-connection` does not post.
    pub management_endpoint: Option<String>,
}

impl AwsConfig {
    /// Reads the settings; a missing required one is an error, not a panic.
    pub fn from_env() -> Result<Self, ConfigError> {
        let issuer = env::var(env::PERFMON_COGNITO_ISSUER)
            .ok_or(ConfigError::Missing(env::PERFMON_COGNITO_ISSUER))?;
        let client_id = env::var(env::PERFMON_COGNITO_CLIENT_ID)
            .ok_or(ConfigError::Missing(env::PERFMON_COGNITO_CLIENT_ID))?;
        let jwks_url = env::var(env::PERFMON_COGNITO_JWKS_URL)
            .unwrap_or_else(|| format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/')));
        let mut auth = AuthConfig::new(issuer, client_id);
        auth.leeway = Duration::from_secs(perfmon_lambda::env::resolve(
            None,
            env::PERFMON_AUTH_LEEWAY_SECONDS,
            env::PERFMON_AUTH_LEEWAY_SECONDS_DEFAULT,
        )?);
        auth.token_use = perfmon_lambda::env::resolve(
            None,
            env::PERFMON_COGNITO_TOKEN_USE,
            env::PERFMON_COGNITO_TOKEN_USE_DEFAULT,
        )?;
        Ok(AwsConfig {
            tables: Tables {
                connections: env::var(env::PERFMON_CONNECTIONS_TABLE)
                    .unwrap_or_else(|| env::PERFMON_CONNECTIONS_TABLE_DEFAULT.to_owned()),
                messages: env::var(env::PERFMON_MESSAGES_TABLE)
                    .unwrap_or_else(|| env::PERFMON_MESSAGES_TABLE_DEFAULT.to_owned()),
            },
            auth,
            jwks_url,
            management_endpoint: env::var(env::PERFMON_MANAGEMENT_ENDPOINT),
        })
    }
}

/// Builds the application's clients once.
pub fn build_app(
    config: &AwsConfig,
    sdk: &aws_config::SdkConfig,
    telemetry: &Telemetry,
) -> Result<App, ConfigError> {
    let monitor = crate::ChatMonitor::on(telemetry)?;
    let store = Arc::new(DynamoStore::new(
        sdk,
        config.tables.clone(),
        telemetry.tracer(),
    ));
    let poster: Arc<dyn super::post::Poster> = match &config.management_endpoint {
        Some(endpoint) => Arc::new(ApiGatewayPoster::new(sdk, endpoint, telemetry.tracer())),
        None => Arc::new(super::post::LocalPoster::new()),
    };
    let auth = AuthenticationService::new(
        config.auth.clone(),
        HttpJwks::new(config.jwks_url.clone())?.with_tracer(telemetry.tracer()),
        monitor.clone(),
    );
    Ok(App::new(monitor, auth, store, poster))
}

/// The Lambda entry point of a function serving `routes`: reads the
/// configuration, builds the clients once, and handles every invocation
/// inside the [`PerformanceLayer`](perfmon_lambda::lambda::PerformanceLayer) (root span on the X-Ray header, cold
/// starts, telemetry flushed at its end within the configured budget).
pub async fn run_lambda(routes: &'static [Route]) -> Result<(), lambda_runtime::Error> {
    let monitoring = LambdaMonitoring::with_catalog(crate::catalog()).map_err(ConfigError::from)?;
    let config = AwsConfig::from_env()?;
    if routes.contains(&Route::Default) && config.management_endpoint.is_none() {
        // Without it no reply could reach a client.
        return Err(ConfigError::Missing(env::PERFMON_MANAGEMENT_ENDPOINT).into());
    }
    let sdk = aws_config::load_from_env().await;
    let app = build_app(&config, &sdk, monitoring.telemetry())?;
    if routes.contains(&Route::Default) {
        // During init, so that the first user does not wait for the keys.
        app.auth.prefetch().await;
    }
    let handler = service_fn(|event: LambdaEvent<ApiGatewayWebsocketProxyRequest>| {
        let app = &app;
        async move {
            let route = Route::of(event.payload.request_context.route_key.as_deref());
            let result: Result<ApiGatewayProxyResponse, AppError> = if routes.contains(&route) {
                app.handle(event.payload).await
            } else {
                Err(AppError::BadEvent(format!("{route:?} is not served here")))
            };
            result
        }
    });
    monitoring.run(handler).await
}
