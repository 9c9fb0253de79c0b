//! How a failed operation marks its span, by the error class of its code
//! (DESIGN §6, [`ErrorClass`]), and how the invocation's root span takes
//! the same marks from its outermost operation.
//!
//! - A client error: `error.type`, `http.response.status_code` (the
//!   class's 4xx) and status Error. The status is needed because the UDP
//!   path's translator (`opentelemetry-aws`) reads the status code only on
//!   a span in error; with the 4xx code, both translators draw `error`
//!   (429: `throttle`), never `fault`.
//! - A service error: `error.type`, status Error and an `exception` event
//!   whose type is the code and whose message is the error's text (it
//!   passes the privacy rules like every attribute). Both translators draw
//!   `fault` with that `cause`; a declared 5xx status is reported too.
//!
//! The status description is the code, never free text.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use opentelemetry::trace::{SpanId, Status, TraceContextExt};
use opentelemetry::{Context, KeyValue};

use crate::attributes::{self as attr, HTTP_RESPONSE_STATUS_CODE};
use crate::catalog::{ErrorClass, ErrorSpec};

/// `error.type` of an operation or invocation whose handler panicked.
pub(crate) const PANIC: &str = "panic";
/// `error.type` of an invocation or request whose handler returned an
/// error and whose operations recorded none.
pub(crate) const HANDLER_ERROR: &str = "handler_error";
/// `error.type` of work whose future was dropped before it ended: an AWS
/// call, an invocation.
#[cfg_attr(not(any(feature = "lambda", feature = "aws-sdk")), allow(dead_code))]
pub(crate) const CANCELLED: &str = "cancelled";
/// The span event X-Ray reads a `cause` from (semantic convention).
const EXCEPTION: &str = "exception";

/// One failure: its code, class and the status its span reports.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Failure {
    pub(crate) code: &'static str,
    pub(crate) class: ErrorClass,
    pub(crate) status: Option<u16>,
    pub(crate) message: Option<String>,
}

impl Failure {
    /// `code` classified by `declared` (an operation's catalog entries);
    /// an undeclared code is a service error.
    pub(crate) fn classify(
        code: &'static str,
        message: Option<String>,
        declared: &[ErrorSpec],
    ) -> Self {
        match declared.iter().find(|spec| spec.code == code) {
            Some(spec) => Failure {
                code,
                class: spec.class,
                status: spec.span_status(),
                message,
            },
            None => Failure::service(code, message),
        }
    }

    /// The failure an HTTP response's `status` reports: a 4xx is a client
    /// error and a 5xx a service error, each with the status (`"404"`) as
    /// its code, so that `ErrorType` stays within the few hundred codes
    /// HTTP has; any other status is no failure.
    pub(crate) fn http(status: u16) -> Option<Self> {
        let class = match status {
            400..=499 => ErrorClass::Client,
            500..=599 => ErrorClass::Service,
            _ => return None,
        };
        Some(Failure {
            code: super::intern::intern(itoa::Buffer::new().format(status)),
            class,
            status: Some(status),
            message: None,
        })
    }

    /// The service error `panic`, with the text the panic was raised with.
    pub(crate) fn panic(payload: &(dyn std::any::Any + Send)) -> Self {
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("the handler panicked");
        Failure::service(PANIC, Some(message.to_owned()))
    }

    /// A service error with no status.
    pub(crate) fn service(code: &'static str, message: Option<String>) -> Self {
        Failure {
            code,
            class: ErrorClass::Service,
            status: None,
            message,
        }
    }

    /// The attributes, event and status of this failure, on `span`.
    pub(crate) fn mark(&self, span: &mut dyn MarkSpan) {
        let exception = (self.class == ErrorClass::Service)
            .then(|| self.message.clone().unwrap_or_else(|| self.code.to_owned()));
        mark_error(span, Cow::Borrowed(self.code), self.status, exception);
    }
}

/// Marks `span` failed with `code`: `error.type`, the HTTP `status` if
/// any, an `exception` event with `exception` as its message (a service
/// error; `None` for a client error), and status Error described by the
/// code. The one way perfmon marks a failure, an operation's or an AWS
/// call's.
pub(crate) fn mark_error(
    span: &mut dyn MarkSpan,
    code: Cow<'static, str>,
    status: Option<u16>,
    exception: Option<String>,
) {
    let mut attributes = vec![KeyValue::new(attr::ERROR_TYPE, code.clone())];
    if let Some(status) = status {
        attributes.push(KeyValue::new(HTTP_RESPONSE_STATUS_CODE, i64::from(status)));
    }
    span.mark_attributes(attributes);
    if let Some(message) = exception {
        span.mark_event(
            EXCEPTION,
            vec![
                KeyValue::new("exception.type", code.clone()),
                KeyValue::new("exception.message", message),
            ],
        );
    }
    span.mark_status(Status::error(code));
}

/// What [`Failure::mark`] needs of a span.
pub(crate) trait MarkSpan {
    fn mark_attributes(&mut self, attributes: Vec<KeyValue>);
    fn mark_event(&mut self, name: &'static str, attributes: Vec<KeyValue>);
    fn mark_status(&mut self, status: Status);
}

impl MarkSpan for opentelemetry::trace::SpanRef<'_> {
    fn mark_attributes(&mut self, attributes: Vec<KeyValue>) {
        self.set_attributes(attributes)
    }
    fn mark_event(&mut self, name: &'static str, attributes: Vec<KeyValue>) {
        self.add_event(name, attributes)
    }
    fn mark_status(&mut self, status: Status) {
        self.set_status(status)
    }
}

impl MarkSpan for opentelemetry_sdk::trace::Span {
    fn mark_attributes(&mut self, attributes: Vec<KeyValue>) {
        opentelemetry::trace::Span::set_attributes(self, attributes)
    }
    fn mark_event(&mut self, name: &'static str, attributes: Vec<KeyValue>) {
        opentelemetry::trace::Span::add_event(self, name, attributes)
    }
    fn mark_status(&mut self, status: Status) {
        opentelemetry::trace::Span::set_status(self, status)
    }
}

/// The invocation's outcome, shared between a root span and the
/// operations directly under it. The Lambda layer puts one in the root's
/// context; an operation started with that context as its parent records
/// its failure here, and the root span takes the same marks when it ends,
/// so that the invocation's one segment is `error` or `fault` as its
/// outermost operation was.
#[derive(Debug, Clone)]
pub(crate) struct RootOutcome {
    root: SpanId,
    failure: Arc<Mutex<Option<Failure>>>,
}

// The Lambda layer makes and reads the slot.
#[cfg_attr(not(feature = "lambda"), allow(dead_code))]
impl RootOutcome {
    /// A slot for the root span of `cx`.
    pub(crate) fn for_root(cx: &Context) -> Self {
        RootOutcome {
            root: cx.span().span_context().span_id(),
            failure: Arc::default(),
        }
    }

    /// The slot of `parent`, when `parent`'s span is the root it was made for.
    pub(crate) fn of_parent(parent: &Context) -> Option<RootOutcome> {
        parent
            .get::<RootOutcome>()
            .filter(|slot| slot.root == parent.span().span_context().span_id())
            .cloned()
    }

    /// Records an operation's failure; the last one recorded wins.
    pub(crate) fn record(&self, failure: Failure) {
        *self.failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(failure);
    }

    /// The failure recorded, if any.
    pub(crate) fn take(&self) -> Option<Failure> {
        self.failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }
}
