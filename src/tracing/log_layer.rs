//! The log layer: every `tracing` event that passes the filter becomes one
//! line on stdout (or a writer given in code), correlated with the trace.
//!
//! The trace and span ids come from the current OTel context: the span of
//! the perfmon operation, the `#[instrument]` function or the Lambda
//! invocation the event happened in. The `traceId` is in X-Ray form, the
//! same value as the EMF lines' `traceId` and the segments' `trace_id`. The
//! request id and cold start come from the invocation's
//! [`InvocationFields`]; the function name from `AWS_LAMBDA_FUNCTION_NAME`.

use std::io::Write;
use std::sync::Mutex;
use std::time::SystemTime;

use opentelemetry::trace::TraceContextExt;
use opentelemetry::Context;
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context as LayerContext;
use tracing_subscriber::Layer;

use super::line::{Fields, Line};
use super::{InvocationFields, LogFormat};
use crate::telemetry::Telemetry;

/// Prints each event as one line; see the module docs.
pub struct LogLayer {
    format: LogFormat,
    function_name: Option<String>,
    allow_personal_data: bool,
    writer: Mutex<Box<dyn Write + Send>>,
}

impl std::fmt::Debug for LogLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogLayer")
            .field("format", &self.format)
            .field("function_name", &self.function_name)
            .finish_non_exhaustive()
    }
}

impl LogLayer {
    /// Lines on stdout in the format of `AWS_LAMBDA_LOG_FORMAT`, under the
    /// privacy rules of `telemetry` (personal data only when
    /// `PERFMON_EXPORT_PERSONAL_DATA` allows it, tokens never).
    pub fn new(telemetry: &Telemetry) -> Self {
        LogLayer {
            format: LogFormat::from_env(),
            function_name: telemetry.settings().function_name.clone(),
            allow_personal_data: telemetry.settings().export_personal_data,
            writer: Mutex::new(Box::new(std::io::stdout())),
        }
    }

    /// Lines in `format`; overrides `AWS_LAMBDA_LOG_FORMAT`.
    pub fn with_format(mut self, format: LogFormat) -> Self {
        self.format = format;
        self
    }

    /// Lines to `writer` instead of stdout. Each line is written with one
    /// `write_all`.
    pub fn with_writer(mut self, writer: impl Write + Send + 'static) -> Self {
        self.writer = Mutex::new(Box::new(writer));
        self
    }

    /// The function name every line carries; overrides
    /// `AWS_LAMBDA_FUNCTION_NAME`.
    pub fn with_function_name(mut self, name: impl Into<String>) -> Self {
        self.function_name = Some(name.into());
        self
    }
}

impl<S: Subscriber> Layer<S> for LogLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: LayerContext<'_, S>) {
        let mut fields = Fields::new(self.allow_personal_data);
        event.record(&mut fields);
        LINE.with(|line| {
            // Re-entered only if writing logged; then use a fresh buffer.
            let mut reused = line.try_borrow_mut();
            let mut fresh = String::new();
            let out = match reused.as_deref_mut() {
                Ok(buffer) => buffer,
                Err(_) => &mut fresh,
            };
            out.clear();
            self.render(event, &fields, out);
            let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
            // A log line that cannot be written is lost; it never fails the
            // request that logged it.
            let _ = writer.write_all(out.as_bytes());
        });
    }
}

thread_local! {
    /// Each thread's line buffer, reused so that a line allocates only for
    /// its fields.
    static LINE: std::cell::RefCell<String> = std::cell::RefCell::new(String::with_capacity(512));
}

impl LogLayer {
    fn render(&self, event: &Event<'_>, fields: &Fields, out: &mut String) {
        Context::map_current(|cx| {
            let span = cx.span();
            let sc = span.span_context();
            let invocation = cx.get::<InvocationFields>();
            Line {
                timestamp: SystemTime::now(),
                level: event.metadata().level(),
                target: event.metadata().target(),
                fields,
                trace_id: sc.is_valid().then(|| sc.trace_id()),
                span_id: sc.is_valid().then(|| sc.span_id()),
                request_id: invocation.map(|i| i.request_id.as_str()),
                function_name: self.function_name.as_deref(),
                cold_start: invocation.map(|i| i.cold_start),
            }
            .render(self.format, out);
        });
    }
}
