//! Log records over OTLP (`OTEL_LOGS_EXPORTER=otlp`): the events the log
//! lines print, sent through `opentelemetry-appender-tracing` to the
//! telemetry's logger provider. The SDK attaches the trace context of the
//! current span to each record.
//!
//! The appender copies every event field into the record, so the records
//! pass through [`Scrubbed`], which applies the privacy rules as the fields
//! are added (the SDK's records cannot drop an attribute once added).

use std::borrow::Cow;
use std::time::SystemTime;

use opentelemetry::logs::{AnyValue, LogRecord, Logger, LoggerProvider, Severity};
use opentelemetry::{InstrumentationScope, Key};
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_sdk::logs::{SdkLogRecord, SdkLogger, SdkLoggerProvider};
use tracing::Subscriber;
use tracing_subscriber::filter::{FilterFn, Filtered};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use crate::telemetry::pipeline::privacy;
use crate::telemetry::Telemetry;

/// The OTLP log layer, to compose into a subscriber of your own.
pub type OtlpLogLayer<S> = Filtered<
    OpenTelemetryTracingBridge<Scrubbed, ScrubbedLogger>,
    FilterFn<fn(&tracing::Metadata<'_>) -> bool>,
    S,
>;

/// The layer sending events as OTel log records, when `telemetry` has a
/// logger provider (`OTEL_LOGS_EXPORTER=otlp`); else `None`. Events of the
/// exporters' own HTTP stack are left out, so that exporting a record never
/// logs another.
pub fn otlp_log_layer<S>(telemetry: &Telemetry) -> Option<OtlpLogLayer<S>>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let provider = Scrubbed {
        inner: telemetry.logger_provider()?.clone(),
        allow_personal_data: telemetry.settings().export_personal_data,
    };
    let keep: fn(&tracing::Metadata<'_>) -> bool = |meta| {
        !["opentelemetry", "hyper", "h2", "reqwest", "tonic", "tower"]
            .iter()
            .any(|p| meta.target().starts_with(p))
    };
    Some(OpenTelemetryTracingBridge::new(&provider).with_filter(FilterFn::new(keep)))
}

/// A logger provider whose records obey the privacy rules.
#[derive(Debug, Clone)]
pub struct Scrubbed {
    inner: SdkLoggerProvider,
    allow_personal_data: bool,
}

impl LoggerProvider for Scrubbed {
    type Logger = ScrubbedLogger;

    fn logger_with_scope(&self, scope: InstrumentationScope) -> ScrubbedLogger {
        ScrubbedLogger {
            inner: self.inner.logger_with_scope(scope),
            allow_personal_data: self.allow_personal_data,
        }
    }
}

/// The logger of [`Scrubbed`].
#[derive(Debug)]
pub struct ScrubbedLogger {
    inner: SdkLogger,
    allow_personal_data: bool,
}

impl Logger for ScrubbedLogger {
    type LogRecord = ScrubbedRecord;

    fn create_log_record(&self) -> ScrubbedRecord {
        ScrubbedRecord {
            inner: self.inner.create_log_record(),
            allow_personal_data: self.allow_personal_data,
        }
    }

    fn emit(&self, record: ScrubbedRecord) {
        self.inner.emit(record.inner)
    }

    fn event_enabled(&self, level: Severity, target: &str, name: Option<&str>) -> bool {
        self.inner.event_enabled(level, target, name)
    }
}

/// A record that drops what the privacy rules forbid as it is filled.
#[derive(Debug)]
pub struct ScrubbedRecord {
    inner: SdkLogRecord,
    allow_personal_data: bool,
}

impl LogRecord for ScrubbedRecord {
    fn set_event_name(&mut self, name: &'static str) {
        self.inner.set_event_name(name)
    }
    fn set_target<T>(&mut self, target: T)
    where
        T: Into<Cow<'static, str>>,
    {
        self.inner.set_target(target)
    }
    fn set_timestamp(&mut self, timestamp: SystemTime) {
        self.inner.set_timestamp(timestamp)
    }
    fn set_observed_timestamp(&mut self, timestamp: SystemTime) {
        self.inner.set_observed_timestamp(timestamp)
    }
    fn set_severity_text(&mut self, text: &'static str) {
        self.inner.set_severity_text(text)
    }
    fn set_severity_number(&mut self, number: Severity) {
        self.inner.set_severity_number(number)
    }
    fn set_body(&mut self, body: AnyValue) {
        let body = match &body {
            AnyValue::String(text) => {
                match privacy::scrub_message(text.as_str(), self.allow_personal_data) {
                    Some(scrubbed) => AnyValue::from(scrubbed),
                    None => body,
                }
            }
            _ => body,
        };
        self.inner.set_body(body)
    }
    fn add_attributes<I, K, V>(&mut self, attributes: I)
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<Key>,
        V: Into<AnyValue>,
    {
        for (key, value) in attributes {
            self.add_attribute(key, value);
        }
    }
    fn add_attribute<K, V>(&mut self, key: K, value: V)
    where
        K: Into<Key>,
        V: Into<AnyValue>,
    {
        let key = key.into();
        let value = value.into();
        if any_allowed(key.as_str(), &value, self.allow_personal_data) {
            self.inner.add_attribute(key, value)
        } else {
            self.inner.add_attribute(key, privacy::REDACTED)
        }
    }
    fn set_trace_context(
        &mut self,
        trace_id: opentelemetry::TraceId,
        span_id: opentelemetry::SpanId,
        trace_flags: Option<opentelemetry::TraceFlags>,
    ) {
        self.inner.set_trace_context(trace_id, span_id, trace_flags)
    }
}

/// The privacy rules for a log attribute of any type: a string, bytes as
/// text, a list or a map each of whose values is allowed (a map's under
/// its own key too), and never a list or a map under a secret key.
fn any_allowed(key: &str, value: &AnyValue, allow: bool) -> bool {
    let container = || privacy::texts_allowed(key, Some(std::iter::empty::<&str>()), allow);
    match value {
        AnyValue::String(text) => privacy::field_allowed(key, Some(text.as_str()), allow),
        AnyValue::Bytes(bytes) => {
            privacy::field_allowed(key, Some(&String::from_utf8_lossy(bytes)), allow)
        }
        AnyValue::ListAny(items) => {
            container() && items.iter().all(|item| any_allowed(key, item, allow))
        }
        AnyValue::Map(map) => {
            container()
                && map.iter().all(|(name, item)| {
                    any_allowed(key, item, allow) && any_allowed(name.as_str(), item, allow)
                })
        }
        _ => privacy::field_allowed(key, None, allow),
    }
}
