//! [`HttpJwks`]: the pool's JWKS fetched over HTTP(S), each fetch one HTTP
//! CLIENT span that X-Ray draws as a `remote` node named after the host:
//! `http.request.method`, `url.full` (the JWKS URL holds no secret),
//! `server.address`, `server.port` and `http.response.status_code`, and
//! `peer.service` set to the host: the one attribute both X-Ray
//! translators name a non-AWS node by (without it, the node would be named
//! after the span, `GET`). A failed fetch (no answer, or not a success) is
//! status Error with an `exception` event: the key source is down, a
//! service error.

use std::time::Duration;

use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::SdkTracer;

use super::JwksSource;

/// A JWKS fetched over HTTP(S), e.g.
/// `https://cognito-idp.REGION.amazonaws.com/POOL/.well-known/jwks.json`.
#[derive(Debug, Clone)]
pub struct HttpJwks {
    url: String,
    client: reqwest::Client,
    tracer: Option<SdkTracer>,
}

impl HttpJwks {
    /// Fetches from `url` with a 5 s timeout.
    pub fn new(url: impl Into<String>) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .expect("a client with a timeout builds");
        HttpJwks {
            url: url.into(),
            client,
            tracer: None,
        }
    }

    /// Records each fetch as a CLIENT span on `tracer`, under the current
    /// context.
    pub fn with_tracer(mut self, tracer: SdkTracer) -> Self {
        self.tracer = Some(tracer);
        self
    }

    async fn get(&self) -> Result<String, (Option<u16>, String)> {
        let response = self
            .client
            .get(&self.url)
            .send()
            .await
            .map_err(|e| (None, e.to_string()))?;
        let status = response.status();
        if !status.is_success() {
            return Err((Some(status.as_u16()), format!("JWKS answered {status}")));
        }
        let text = response
            .text()
            .await
            .map_err(|e| (Some(status.as_u16()), e.to_string()))?;
        Ok(text)
    }
}

#[async_trait::async_trait]
impl JwksSource for HttpJwks {
    async fn fetch(&self) -> Result<String, String> {
        let Some(tracer) = &self.tracer else {
            return self.get().await.map_err(|(_, e)| e);
        };
        let mut attributes = vec![
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("url.full", self.url.clone()),
        ];
        if let Ok(url) = reqwest::Url::parse(&self.url) {
            if let Some(host) = url.host_str() {
                attributes.push(KeyValue::new("server.address", host.to_owned()));
                attributes.push(KeyValue::new("peer.service", host.to_owned()));
            }
            if let Some(port) = url.port_or_known_default() {
                attributes.push(KeyValue::new("server.port", i64::from(port)));
            }
        }
        let span = tracer
            .span_builder("GET")
            .with_kind(SpanKind::Client)
            .with_attributes(attributes)
            .start_with_context(tracer, &Context::current());
        let cx = Context::current_with_span(span);
        let result = self.get().with_context(cx.clone()).await;
        let span = cx.span();
        let status = match &result {
            Ok(_) => Some(200),
            Err((status, _)) => *status,
        };
        if let Some(status) = status {
            span.set_attribute(KeyValue::new(
                "http.response.status_code",
                i64::from(status),
            ));
        }
        if let Err((_, message)) = &result {
            span.add_event(
                "exception",
                vec![
                    KeyValue::new("exception.type", JWKS_UNAVAILABLE),
                    KeyValue::new("exception.message", message.clone()),
                ],
            );
            span.set_attribute(KeyValue::new("error.type", JWKS_UNAVAILABLE));
            span.set_status(Status::error(JWKS_UNAVAILABLE));
        }
        span.end();
        result.map_err(|(_, e)| e)
    }
}

/// `error.type` of a failed fetch.
const JWKS_UNAVAILABLE: &str = "JWKS_UNAVAILABLE";
