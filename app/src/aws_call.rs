//! One AWS SDK call as one CLIENT span, with what both X-Ray translators
//! (the UDP path's and the collector's `awsxray`) read to draw the call as
//! a node of the service map: `rpc.system=aws-api`, `rpc.service`,
//! `rpc.method`, `aws.region` and `cloud.region`, then `aws.request_id` and
//! `http.response.status_code` from the response. The SDK's own `tracing`
//! spans are left out of traces; its log events carry this span's id.
//!
//! A failure carries an `exception` event (type: the service's error code,
//! message: its text, filtered by the privacy rules), which X-Ray shows as
//! the call's `cause`; the status description is the code alone. AWS
//! reports throttling as HTTP 400 with a throttling error code; such a
//! failure is given status 429 here, as the X-Ray SDKs do, so that X-Ray
//! draws `throttle`.

use std::future::Future;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::RequestId;
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::SdkTracer;

/// The call to make: service and operation as the AWS API names them
/// (`DynamoDB`, `PutItem`), the client's region, and attributes of the
/// service's own (`aws.dynamodb.table_names`).
pub(crate) struct AwsCall {
    pub service: &'static str,
    pub method: &'static str,
    pub region: Option<String>,
    pub attributes: Vec<KeyValue>,
}

/// Runs `call` inside its CLIENT span `{service}.{method}` under `cx`. A
/// failure for which `handled` is true (an outcome the caller expects, such
/// as a gone connection) keeps the status Unset; any other failure is
/// status Error. Success leaves it Unset (semantic conventions).
pub(crate) async fn traced<O, E, F>(
    tracer: &SdkTracer,
    cx: &Context,
    call: AwsCall,
    future: F,
    handled: impl FnOnce(&SdkError<E, HttpResponse>) -> bool,
) -> Result<O, SdkError<E, HttpResponse>>
where
    F: Future<Output = Result<O, SdkError<E, HttpResponse>>>,
    O: RequestId,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let mut attributes = vec![
        KeyValue::new("rpc.system", "aws-api"),
        KeyValue::new("rpc.service", call.service),
        KeyValue::new("rpc.method", call.method),
    ];
    if let Some(region) = call.region {
        attributes.push(KeyValue::new("aws.region", region.clone()));
        attributes.push(KeyValue::new("cloud.region", region));
    }
    attributes.extend(call.attributes);
    let span = tracer
        .span_builder(format!("{}.{}", call.service, call.method))
        .with_kind(SpanKind::Client)
        .with_attributes(attributes)
        .start_with_context(tracer, cx);
    let cx = cx.with_span(span);
    let result = future.with_context(cx.clone()).await;
    let span = cx.span();
    let (request_id, status) = match &result {
        Ok(o) => (o.request_id(), Some(200)),
        Err(e) => (
            e.request_id(),
            e.raw_response().map(|r| r.status().as_u16()),
        ),
    };
    if let Some(id) = request_id {
        span.set_attribute(KeyValue::new("aws.request_id", id.to_owned()));
    }
    let code = result.as_ref().err().and_then(|e| e.code());
    let status = match code {
        Some(code) if is_throttling(code) => Some(429),
        _ => status,
    };
    if let Some(status) = status {
        span.set_attribute(KeyValue::new(
            "http.response.status_code",
            i64::from(status),
        ));
    }
    if let Err(e) = &result {
        if !handled(e) {
            let code = code.unwrap_or(FAILED_CALL).to_owned();
            let message = describe(e);
            span.add_event(
                "exception",
                vec![
                    KeyValue::new("exception.type", code.clone()),
                    KeyValue::new("exception.message", message),
                ],
            );
            span.set_attribute(KeyValue::new("error.type", code.clone()));
            span.set_status(Status::error(code));
        }
    }
    span.end();
    result
}

/// A failed call in one line: the service's error code and message, or,
/// when no service answered, the whole chain of causes.
pub(crate) fn describe<E>(e: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match (e.code(), e.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ => aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string(),
    }
}

/// `exception.type` of a call that failed before any service answered
/// (timeout, connection refused).
const FAILED_CALL: &str = "aws_call_failed";

/// Whether `code` is one AWS services use for throttling (the list the
/// AWS SDKs' retry classifier uses).
fn is_throttling(code: &str) -> bool {
    aws_runtime::retries::classifiers::THROTTLING_ERRORS.contains(&code)
}
