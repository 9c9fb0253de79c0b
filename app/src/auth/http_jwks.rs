//! [`HttpJwks`]: the pool's JWKS fetched over HTTPS, each fetch one HTTP
//! CLIENT span that X-Ray draws as a `remote` node named after the host:
//! `http.request.method`, `url.full` (the JWKS URL holds no secret),
//! `server.address`, `server.port` and `http.response.status_code`, and
//! `peer.service` set to the host: the one attribute both X-Ray
//! translators name a non-AWS node by (without it, the node would be named
//! after the span, `GET`). A failed fetch (no answer, or not a success) is
//! status Error with an `exception` event: the key source is down, a
//! service error.
//!
//! A fetch is bounded: [`CONNECT_TIMEOUT`] to connect, [`REQUEST_TIMEOUT`]
//! for the whole answer (less when the invocation's
//! [`Deadline`](perfmon_lambda::Deadline) comes sooner), a body of at most [`MAX_JWKS_BYTES`], and one
//! retry after a failure that may pass (no answer, a timeout, a 5xx
//! without a `Retry-After`). An answer's `Retry-After` (seconds or an HTTP
//! date) goes to the cache, which fetches no sooner. Only
//! `https` URLs are accepted, except on a loopback host, and only
//! redirects that stay so, at most [`MAX_REDIRECTS`]: "https only" holds
//! for where the keys come from, not only for the URL configured.

use std::net::IpAddr;
use std::time::Duration;

use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::SdkTracer;

use super::{JwksFetchError, JwksSource};

/// Longest wait for a connection to the JWKS host.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Longest wait for a whole answer, per attempt.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// Largest JWKS body read. Cognito's is under 2 KiB.
pub const MAX_JWKS_BYTES: usize = 64 * 1024;
/// Most redirects followed for one fetch.
pub const MAX_REDIRECTS: usize = 3;

/// A JWKS URL that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwksUrlError {
    /// Not a URL.
    #[error("JWKS URL {url:?} is not a URL: {reason}")]
    Invalid {
        /// The URL given.
        url: String,
        /// Why it does not parse.
        reason: String,
    },
    /// Plain HTTP to a host that is not loopback: the keys could be
    /// swapped on the way.
    #[error("JWKS URL {0:?} must be https (plain http is accepted on loopback only)")]
    NotHttps(String),
    /// The HTTP client cannot be built here (no TLS backend, say).
    #[error("the JWKS HTTP client cannot be built: {0}")]
    Client(String),
}

/// Whether `url`'s host is loopback, where plain http is accepted.
fn loopback(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether `url` may be fetched: `https`, or `http` on loopback.
fn secure(url: &reqwest::Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => loopback(url),
        _ => false,
    }
}

/// A JWKS fetched over HTTPS, e.g.
/// `https://cognito-idp.REGION.amazonaws.com/POOL/.well-known/jwks.json`.
#[derive(Debug, Clone)]
pub struct HttpJwks {
    url: reqwest::Url,
    client: reqwest::Client,
    tracer: Option<SdkTracer>,
}

/// A failed attempt: the status, if one came, why, whether another
/// attempt may pass at once, and when the endpoint asked to be tried again.
struct Failed {
    status: Option<u16>,
    message: String,
    transient: bool,
    retry_after: Option<Duration>,
    /// The invocation's deadline, not the endpoint, ended it.
    cut_short: bool,
}

/// An answer's `Retry-After`: delta-seconds or an HTTP date (RFC 9110
/// §10.2.3). A date in the past is no wait; anything else unreadable is
/// ignored.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

impl HttpJwks {
    /// Fetches from `url`, which must be `https` unless its host is
    /// loopback.
    pub fn new(url: impl Into<String>) -> Result<Self, JwksUrlError> {
        let url = url.into();
        let parsed = reqwest::Url::parse(&url).map_err(|e| JwksUrlError::Invalid {
            url: url.clone(),
            reason: e.to_string(),
        })?;
        if !secure(&parsed) {
            return Err(JwksUrlError::NotHttps(url));
        }
        let redirects = reqwest::redirect::Policy::custom(|attempt| {
            if attempt.previous().len() > MAX_REDIRECTS {
                attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
            } else if secure(attempt.url()) {
                attempt.follow()
            } else {
                let to = attempt.url().to_string();
                attempt.error(format!("a redirect to {to} leaves https"))
            }
        });
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .redirect(redirects)
            .build()
            .map_err(|e| JwksUrlError::Client(e.to_string()))?;
        Ok(HttpJwks {
            url: parsed,
            client,
            tracer: None,
        })
    }

    /// Records each fetch as a CLIENT span on `tracer`, under the current
    /// context.
    pub fn with_tracer(mut self, tracer: SdkTracer) -> Self {
        self.tracer = Some(tracer);
        self
    }

    /// The JWKS text, with one retry after a transient failure.
    async fn get(&self) -> Result<String, Failed> {
        match self.attempt().await {
            Err(failed) if failed.transient => {}
            other => return other,
        }
        Context::current()
            .span()
            .set_attribute(KeyValue::new("http.request.resend_count", 1));
        self.attempt().await
    }

    async fn attempt(&self) -> Result<String, Failed> {
        let failed = |status: Option<u16>, message: String, transient: bool| Failed {
            status,
            message,
            transient,
            retry_after: None,
            cut_short: false,
        };
        // Within the invocation's deadline, when it comes sooner. A fetch
        // it ends is not retried, and tells nothing of the endpoint.
        let shortened = perfmon_lambda::Deadline::current()
            .map(|d| d.call_timeout())
            .filter(|t| *t < REQUEST_TIMEOUT);
        let broken = |status: Option<u16>, e: reqwest::Error| {
            let cut_short = shortened.is_some() && e.is_timeout();
            Failed {
                cut_short,
                ..failed(status, with_causes(&e), !cut_short)
            }
        };
        let mut response = self
            .client
            .get(self.url.clone())
            .timeout(shortened.unwrap_or(REQUEST_TIMEOUT))
            .send()
            .await
            .map_err(|e| broken(None, e))?;
        let status = response.status();
        if !status.is_success() {
            let retry_after = retry_after(response.headers());
            return Err(Failed {
                retry_after,
                // Asked to wait: not at once, then.
                transient: status.is_server_error() && retry_after.is_none_or(|d| d.is_zero()),
                ..failed(
                    Some(status.as_u16()),
                    format!("JWKS answered {status}"),
                    false,
                )
            });
        }
        let code = Some(status.as_u16());
        let too_large = || {
            failed(
                code,
                format!("JWKS body over {MAX_JWKS_BYTES} bytes"),
                false,
            )
        };
        if response
            .content_length()
            .is_some_and(|n| n > MAX_JWKS_BYTES as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| broken(code, e))? {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        String::from_utf8(body).map_err(|_| failed(code, "JWKS body is not UTF-8".into(), false))
    }
}

#[async_trait::async_trait]
impl JwksSource for HttpJwks {
    async fn fetch(&self) -> Result<String, JwksFetchError> {
        // A fetch outside any trace (the prefetch during init) has no
        // invocation to belong to: it is logged, not traced.
        let tracer = self
            .tracer
            .as_ref()
            .filter(|_| Context::current().has_active_span());
        let Some(tracer) = tracer else {
            return self.get().await.map_err(Failed::into_error);
        };
        let mut attributes = vec![
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("url.full", self.url.to_string()),
        ];
        if let Some(host) = self.url.host_str() {
            attributes.push(KeyValue::new("server.address", host.to_owned()));
            attributes.push(KeyValue::new("peer.service", host.to_owned()));
        }
        if let Some(port) = self.url.port_or_known_default() {
            attributes.push(KeyValue::new("server.port", i64::from(port)));
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
            Err(failed) => failed.status,
        };
        if let Some(status) = status {
            span.set_attribute(KeyValue::new(
                "http.response.status_code",
                i64::from(status),
            ));
        }
        if let Err(failed) = &result {
            span.add_event(
                "exception",
                vec![
                    KeyValue::new("exception.type", JWKS_UNAVAILABLE),
                    KeyValue::new("exception.message", failed.message.clone()),
                ],
            );
            span.set_attribute(KeyValue::new("error.type", JWKS_UNAVAILABLE));
            span.set_status(Status::error(JWKS_UNAVAILABLE));
        }
        span.end();
        result.map_err(Failed::into_error)
    }
}

impl Failed {
    fn into_error(self) -> JwksFetchError {
        JwksFetchError::new(self.message)
            .with_retry_after(self.retry_after)
            .with_cut_short(self.cut_short)
    }
}

/// `error.type` of a failed fetch.
const JWKS_UNAVAILABLE: &str = "JWKS_UNAVAILABLE";

/// `error` and the errors that caused it, `: `-joined: reqwest's own text
/// names the step (`error following redirect`), its cause the reason.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        text.push_str(": ");
        text.push_str(&e.to_string());
        cause = e.source();
    }
    text
}
