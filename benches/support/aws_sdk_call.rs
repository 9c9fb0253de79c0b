//! One DynamoDB `GetItem` against the SDK's in-memory HTTP client, with or
//! without perfmon's interceptor, under a sampled or unsampled parent: what
//! `aws_sdk_call.rs` times and `aws_sdk_call_instructions.rs` counts.

use std::hint::black_box;

use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_http_client::test_util::infallible_client_fn;
use aws_smithy_types::body::SdkBody;
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId};
use opentelemetry::Context;
use perfmon_lambda::aws_sdk::TracingInterceptor;

const ITEM: &str = r#"{"Item":{"id":{"S":"1"},"total":{"N":"12"}}}"#;

pub fn client(interceptor: Option<TracingInterceptor>) -> aws_sdk_dynamodb::Client {
    match interceptor {
        Some(interceptor) => client_with(Some(interceptor)),
        None => client_with(None::<TracingInterceptor>),
    }
}

/// The floor of any design that records a span per call: an interceptor
/// that starts and ends one span with nothing on it, under the current
/// context.
#[derive(Debug)]
pub struct BareSpan(pub opentelemetry_sdk::trace::SdkTracer);

impl aws_smithy_runtime_api::client::interceptors::Intercept for BareSpan {
    fn name(&self) -> &'static str {
        "bare_span"
    }

    fn read_before_serialization(
        &self,
        _: &aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef<'_>,
        _: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        _: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        use opentelemetry::trace::{Span as _, Tracer as _};
        self.0
            .start_with_context("DynamoDB.GetItem", &Context::current())
            .end();
        Ok(())
    }
}

/// A client whose HTTP answers at once, with `interceptor` if any.
pub fn client_with(
    interceptor: Option<impl aws_smithy_runtime_api::client::interceptors::Intercept + 'static>,
) -> aws_sdk_dynamodb::Client {
    let http = infallible_client_fn(|_| {
        http::Response::builder()
            .status(200)
            .header(
                "x-amzn-RequestId",
                "BENCH0000000000000000000000000000000000000000000000",
            )
            .body(SdkBody::from(ITEM))
            .unwrap()
    });
    let mut config = aws_sdk_dynamodb::Config::builder()
        .behavior_version_latest()
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new("a", "b", None, None, "bench"))
        .http_client(http);
    if let Some(interceptor) = interceptor {
        config = config.interceptor(interceptor);
    }
    aws_sdk_dynamodb::Client::from_conf(config.build())
}

pub fn parent(sampled: bool) -> Context {
    let flags = if sampled {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from_hex("5759e988bd862e3fe1be46a994272793").unwrap(),
        SpanId::from_hex("53995c3f42cd8ad8").unwrap(),
        flags,
        true,
        Default::default(),
    ))
}

/// One call on `client` under `cx`, run to its end on `runtime`.
pub fn call(runtime: &tokio::runtime::Runtime, client: &aws_sdk_dynamodb::Client, cx: &Context) {
    let item = runtime.block_on(
        client
            .get_item()
            .table_name("orders")
            .key("id", AttributeValue::S("1".into()))
            .send()
            .with_context(cx.clone()),
    );
    black_box(item.unwrap());
}
