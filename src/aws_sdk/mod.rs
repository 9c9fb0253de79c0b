//! AWS SDK calls as CLIENT spans (feature `aws-sdk`): one
//! [`TracingInterceptor`], set on an SDK client's config, gives every call
//! on that client one span named `Service.Operation`, with what both X-Ray
//! translators read to draw the call as a node of the service map
//! (DESIGN §6):
//!
//! - at the start: `rpc.system=aws-api`, `rpc.service`, `rpc.method`,
//!   `aws.region` and `cloud.region`, and the resource the request
//!   addresses (DynamoDB tables, the SQS queue and its messaging
//!   attributes, the S3 bucket);
//! - at the end: `aws.request_id`, `http.response.status_code` (429 for a
//!   throttling error code, which AWS sends as a 400), and `aws.attempts`,
//!   the number of attempts the SDK made: retries stay inside the span; an
//!   SQS `SendMessage` also gives the `messaging.message.id` it sent.
//!
//! A failure gives status Error and an `exception` event whose type is the
//! service's error code (or `timeout`, `io`, `aws_call_failed` when no
//! service answered, `cancelled` when the caller dropped the call's future)
//! and whose message is the service's, and `error.type`.
//! X-Ray shows a 4xx as `error`, a 429 as `throttle`, a 5xx as `fault`. An
//! error code the caller expects ([`TracingInterceptor::expect_error`],
//! e.g. DynamoDB's `ConditionalCheckFailedException` for a conditional
//! write) keeps the status Unset, with its HTTP status.
//!
//! The span's parent is the current OTel context: inside a perfmon
//! operation (or an `#[instrument]` span under the `tracing` bridge), the
//! call is that operation's child. The span's context goes out with the
//! request as `X-Amzn-Trace-Id`, which SQS, SNS, EventBridge, Step
//! Functions and Lambda pass on to what they invoke; an SQS
//! `SendMessage`/`SendMessageBatch` also carries it in each message's
//! `AWSTraceHeader` system attribute (unless the caller set one), so that
//! the consumer's record spans link back to this span.
//!
//! The interceptor depends on the SDK's runtime API only, never on a
//! service crate, and works with every service client.
//!
//! [`DeadlineTimeouts`], a second interceptor, bounds each call by the
//! invocation's [`Deadline`](crate::Deadline): a call that hangs then fails
//! as a `timeout` (its span says so) while the handler can still answer,
//! instead of running into Lambda's timeout.
//!
//! ```no_run
//! use perfmon_lambda::aws_sdk::{DeadlineTimeouts, TracingInterceptor};
//!
//! # async fn run(telemetry: &perfmon_lambda::Telemetry) {
//! let sdk = aws_config::load_from_env().await;
//! let config = aws_sdk_dynamodb::config::Builder::from(&sdk)
//!     .interceptor(
//!         TracingInterceptor::new(telemetry)
//!             .expect_error_in("PutItem", "ConditionalCheckFailedException"),
//!     )
//!     .interceptor(DeadlineTimeouts::new())
//!     .build();
//! let client = aws_sdk_dynamodb::Client::from_conf(config);
//! # }
//! ```

mod deadline;
mod request;
mod response;
mod trace_header;

use std::borrow::Cow;
use std::fmt;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
    FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::{dyn_dispatch_hint, Intercept};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_types::region::Region;
use opentelemetry::trace::{Span as _, SpanKind, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, KeyValue, StringValue};
use opentelemetry_sdk::trace::SdkTracer;

use crate::monitor::mark_error;
use crate::telemetry::Telemetry;

pub use deadline::DeadlineTimeouts;
pub use response::THROTTLING_ERRORS;

/// The name a call's span is started with under a parent that is not
/// sampled, replaced by `Service.Operation` if a sampler records it anyway.
const UNSAMPLED_NAME: &str = "aws.call";

/// `exception.type` of a call whose future was dropped before it ended.
pub const CANCELLED: &str = crate::monitor::CANCELLED;

/// `exception.type` of a call that failed before any service answered,
/// for a reason other than a timeout or an I/O error.
pub const FAILED_CALL: &str = "aws_call_failed";

/// The SDK interceptor that makes each call one CLIENT span (see the
/// [module](self)).
#[derive(Clone)]
pub struct TracingInterceptor {
    tracer: SdkTracer,
    /// Expected error codes, each of one operation or (`None`) of all.
    expected: Vec<(Option<Cow<'static, str>>, Cow<'static, str>)>,
}

impl fmt::Debug for TracingInterceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TracingInterceptor")
            .field("expected", &self.expected)
            .finish_non_exhaustive()
    }
}

impl TracingInterceptor {
    /// Spans on `telemetry`'s tracer.
    pub fn new(telemetry: &Telemetry) -> Self {
        Self::with_tracer(telemetry.tracer())
    }

    /// Spans on `tracer`, for a tracer provider set up without
    /// [`Telemetry`].
    pub fn with_tracer(tracer: SdkTracer) -> Self {
        TracingInterceptor {
            tracer,
            expected: Vec::new(),
        }
    }

    /// A failure of any operation with error `code` is an outcome the
    /// caller handles (a WebSocket connection that is gone): its span keeps
    /// the status Unset, with its HTTP status and no exception event.
    pub fn expect_error(mut self, code: impl Into<Cow<'static, str>>) -> Self {
        self.expected.push((None, code.into()));
        self
    }

    /// As [`expect_error`](Self::expect_error), for `operation` only (the
    /// AWS API's name, `PutItem`): a conditional write that lost is
    /// expected, a conditional update of a missing item may not be.
    pub fn expect_error_in(
        mut self,
        operation: impl Into<Cow<'static, str>>,
        code: impl Into<Cow<'static, str>>,
    ) -> Self {
        self.expected.push((Some(operation.into()), code.into()));
        self
    }

    /// Whether `code` of `operation` is expected.
    fn expects(&self, operation: &str, code: &str) -> bool {
        self.expected
            .iter()
            .any(|(op, c)| c == code && op.as_deref().is_none_or(|op| op == operation))
    }
}

/// A recorded call's context (its span) and the operation's metadata,
/// kept in the call's config bag from its serialization to its end. A call
/// that is not recorded keeps nothing. Dropped before the SDK ended the
/// call (the caller dropped its future), it ends the span as cancelled.
#[derive(Debug)]
struct CallSpan {
    cx: Context,
    metadata: Metadata,
    /// The span's X-Ray trace header, once the request is serialized.
    header: Option<String>,
    /// Whether `read_after_execution` ended the span.
    ended: bool,
}

impl Drop for CallSpan {
    fn drop(&mut self) {
        if !self.ended {
            let mut span = self.cx.span();
            mark_error(
                &mut span,
                Cow::Borrowed(CANCELLED),
                None,
                Some("the call was dropped before it completed".to_owned()),
            );
            span.end();
        }
    }
}

/// `exception.type` and message of a call that failed without a service's
/// error: `timeout`, `io` (the connection), or [`FAILED_CALL`].
fn without_service(
    error: &aws_smithy_runtime_api::client::orchestrator::OrchestratorError<
        aws_smithy_runtime_api::client::interceptors::context::Error,
    >,
) -> (String, String) {
    let kind = if error.is_timeout_error() {
        "timeout"
    } else if error.as_connector_error().is_some_and(|e| e.is_io()) {
        "io"
    } else {
        FAILED_CALL
    };
    (kind.to_owned(), DisplayErrorContext(error).to_string())
}

impl Storable for CallSpan {
    type Storer = StoreReplace<Self>;
}

#[dyn_dispatch_hint]
impl Intercept for TracingInterceptor {
    fn name(&self) -> &'static str {
        "perfmon::TracingInterceptor"
    }

    // Not `read_before_execution`: a client's interceptors see it before
    // the operation's configuration, its `Metadata` included, is applied.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let parent = Context::current();
        // Under a parent that is not sampled, the default (parent-based)
        // sampler drops the call: its name and attributes are looked up
        // only if another sampler records it.
        let unsampled_parent = {
            let parent = parent.span();
            let parent = parent.span_context();
            parent.is_valid() && !parent.is_sampled()
        };
        let started = if unsampled_parent {
            let span = self
                .tracer
                .span_builder(UNSAMPLED_NAME)
                .with_kind(SpanKind::Client)
                .start_with_context(&self.tracer, &parent);
            if !span.is_recording() {
                return Ok(());
            }
            Some(span)
        } else {
            None
        };
        let Some(metadata) = cfg.load::<Metadata>().cloned() else {
            return Ok(());
        };
        let name = format!("{}.{}", metadata.service(), metadata.name());
        let mut attributes = Vec::with_capacity(10);
        attributes.push(KeyValue::new("rpc.system", "aws-api"));
        attributes.push(KeyValue::new("rpc.service", metadata.service().to_owned()));
        attributes.push(KeyValue::new("rpc.method", metadata.name().to_owned()));
        if let Some(region) = cfg.load::<Region>() {
            let region = StringValue::from(region.to_string());
            attributes.push(KeyValue::new("aws.region", region.clone()));
            attributes.push(KeyValue::new("cloud.region", region));
        }
        let span = match started {
            Some(mut span) => {
                span.update_name(name);
                span.set_attributes(attributes);
                span
            }
            None => self
                .tracer
                .span_builder(name)
                .with_kind(SpanKind::Client)
                .with_attributes(attributes)
                .start_with_context(&self.tracer, &parent),
        };
        if span.is_recording() {
            cfg.interceptor_state().store_put(CallSpan {
                cx: parent.with_span(span),
                metadata,
                header: None,
                ended: false,
            });
        }
        Ok(())
    }

    fn modify_before_retry_loop(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // The interceptor state alone: a call that is not recorded looks
        // through one layer, not all of them.
        let Some(call) = cfg.get_mut_from_interceptor_state::<CallSpan>() else {
            return Ok(());
        };
        let span = call.cx.span();
        let (service, operation) = (call.metadata.service(), call.metadata.name());
        let request = context.request_mut();
        let mut attributes = Vec::new();
        request::attributes(service, operation, request, &mut attributes);
        span.set_attributes(attributes);
        call.header = trace_header::xray_header(span.span_context());
        if let (Some(header), "SQS") = (&call.header, service) {
            request::inject_sqs(operation, request, header);
        }
        Ok(())
    }

    // After signing, once per attempt (each starts from the request as it
    // was before the first): SigV4 never signs `X-Amzn-Trace-Id`, so it
    // costs no canonicalisation, and it replaces the one the SDK's
    // recursion detection copies from the Lambda invocation.
    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(CallSpan {
            header: Some(header),
            ..
        }) = cfg.get_mut_from_interceptor_state::<CallSpan>()
        {
            context
                .request_mut()
                .headers_mut()
                .insert("x-amzn-trace-id", header.clone());
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(call) = cfg.get_mut_from_interceptor_state::<CallSpan>() else {
            return Ok(());
        };
        call.ended = true;
        let (cx, metadata) = (call.cx.clone(), call.metadata.clone());
        let mut span = cx.span();
        // The last attempt's request carries the endpoint, applied in each
        // attempt: only there does an S3 request name its bucket.
        if let (Some(request), "S3") = (context.request(), metadata.service()) {
            if let Some(bucket) = request::s3_bucket(request.uri()) {
                span.set_attribute(KeyValue::new("aws.s3.bucket", bucket));
            }
        }
        if let Some(attempts) = cfg.load::<RequestAttempts>() {
            span.set_attribute(KeyValue::new(
                "aws.attempts",
                i64::from(attempts.attempts()),
            ));
        }
        let error = match context.output_or_error() {
            Some(Err(error)) => Some(error),
            _ => None,
        };
        let failed = error.is_some();
        let mut failure = None;
        match context.response() {
            Some(response) => {
                if let Some(id) = response::request_id(response.headers()) {
                    span.set_attribute(KeyValue::new("aws.request_id", id.to_owned()));
                }
                if !failed && metadata.service() == "SQS" && metadata.name() == "SendMessage" {
                    if let Some(id) = response::sent_message_id(response) {
                        span.set_attribute(KeyValue::new("messaging.message.id", id));
                    }
                }
                let mut status = response.status().as_u16();
                match error {
                    // A timeout reading the body, an answer that does not
                    // parse, another interceptor's error: no service error.
                    Some(error) if !error.is_operation_error() => {
                        failure = Some(without_service(error));
                    }
                    _ if response.status().is_success() && !failed => {}
                    _ => {
                        let error = response::service_error(response);
                        if error.throttled {
                            status = 429;
                        }
                        let expected = error
                            .code
                            .as_deref()
                            .is_some_and(|code| self.expects(metadata.name(), code));
                        if !expected {
                            let code = error.code.unwrap_or_else(|| status.to_string());
                            let message = error.message.unwrap_or_else(|| code.clone());
                            failure = Some((code, message));
                        }
                    }
                }
                span.set_attribute(KeyValue::new(
                    "http.response.status_code",
                    i64::from(status),
                ));
            }
            None => failure = error.map(without_service),
        }
        if let Some((code, message)) = failure {
            mark_error(&mut span, Cow::Owned(code), None, Some(message));
        }
        span.end();
        Ok(())
    }
}
