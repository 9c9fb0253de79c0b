//! What every log line of one Lambda invocation carries besides its trace:
//! the request id and whether it is a cold start. The Lambda layer puts it
//! in the invocation's OTel context; log lines read it from the current
//! context, so concurrent invocations never mix their ids.

use opentelemetry::Context;

/// The invocation's fields, a value of its OTel [`Context`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvocationFields {
    /// Lambda's request id (`requestId`).
    pub request_id: String,
    /// Whether this is the first invocation of the execution environment
    /// (`coldStart`).
    pub cold_start: bool,
}

impl InvocationFields {
    /// `cx` with these fields.
    pub fn attach_to(self, cx: &Context) -> Context {
        cx.with_value(self)
    }
}
