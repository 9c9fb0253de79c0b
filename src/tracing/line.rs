//! One log line: an event's message and fields, scrubbed by the privacy
//! rules, with the correlation fields, rendered as JSON or text.

use std::fmt::Write as _;
use std::time::SystemTime;

use opentelemetry::trace::{SpanId, TraceId};
use tracing::field::{Field, Visit};
use tracing::Level;

use super::LogFormat;
use crate::telemetry::pipeline::privacy;

/// A field value as the event recorded it.
#[derive(Debug)]
pub(crate) enum FieldValue {
    Text(String),
    I64(i64),
    U64(u64),
    F64(f64),
    Bool(bool),
}

/// The message and fields of one event, scrubbed as they are recorded.
#[derive(Debug, Default)]
pub(crate) struct Fields {
    pub message: String,
    pub fields: Vec<(&'static str, FieldValue)>,
    allow_personal_data: bool,
}

impl Fields {
    pub(crate) fn new(allow_personal_data: bool) -> Self {
        Fields {
            allow_personal_data,
            ..Fields::default()
        }
    }

    fn push(&mut self, field: &Field, value: FieldValue) {
        let name = field.name();
        let text = match &value {
            FieldValue::Text(t) => Some(t.as_str()),
            _ => None,
        };
        let value = if privacy::field_allowed(name, text, self.allow_personal_data) {
            value
        } else {
            FieldValue::Text(privacy::REDACTED.to_owned())
        };
        self.fields.push((name, value));
    }

    fn text(&mut self, field: &Field, text: String) {
        if field.name() == "message" {
            self.message = match privacy::scrub_message(&text, self.allow_personal_data) {
                Some(scrubbed) => scrubbed,
                None => text,
            };
        } else {
            self.push(field, FieldValue::Text(text));
        }
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.text(field, format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.text(field, value.to_owned());
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.text(field, value.to_string());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, FieldValue::I64(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, FieldValue::U64(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, FieldValue::F64(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, FieldValue::Bool(value));
    }
}

/// Everything one line says.
#[derive(Debug)]
pub(crate) struct Line<'a> {
    pub timestamp: SystemTime,
    pub level: &'a Level,
    pub target: &'a str,
    pub fields: &'a Fields,
    /// Printed in X-Ray form, `1-xxxxxxxx-…`.
    pub trace_id: Option<TraceId>,
    pub span_id: Option<SpanId>,
    pub request_id: Option<&'a str>,
    pub function_name: Option<&'a str>,
    pub cold_start: Option<bool>,
}

/// Keys the line sets itself; an event field with one of these names is
/// printed as `field.<name>` so that it cannot overwrite them.
const RESERVED: &[&str] = &[
    "timestamp",
    "level",
    "message",
    "target",
    "traceId",
    "spanId",
    "requestId",
    "functionName",
    "coldStart",
];

impl Line<'_> {
    /// The line, newline included, appended to `out`.
    pub(crate) fn render(&self, format: LogFormat, out: &mut String) {
        match format {
            LogFormat::Json => self.json(out),
            LogFormat::Text => self.text(out),
        }
        out.push('\n');
    }

    fn json(&self, out: &mut String) {
        out.push_str("{\"timestamp\":\"");
        let _ = write!(out, "{}", humantime::format_rfc3339_millis(self.timestamp));
        out.push_str("\",\"level\":\"");
        out.push_str(self.level.as_str());
        out.push_str("\",\"message\":");
        crate::json::string(out, &self.fields.message);
        out.push_str(",\"target\":");
        crate::json::string(out, self.target);
        if let Some(id) = self.trace_id {
            out.push_str(",\"traceId\":\"");
            push_xray_trace_id(out, id);
            out.push('"');
        }
        if let Some(id) = self.span_id {
            let _ = write!(out, ",\"spanId\":\"{id}\"");
        }
        let ids = [
            ("requestId", self.request_id),
            ("functionName", self.function_name),
        ];
        for (key, value) in ids {
            if let Some(value) = value {
                out.push_str(",\"");
                out.push_str(key);
                out.push_str("\":");
                crate::json::string(out, value);
            }
        }
        if let Some(cold) = self.cold_start {
            let _ = write!(out, ",\"coldStart\":{cold}");
        }
        for (name, value) in &self.fields.fields {
            out.push(',');
            if RESERVED.contains(name) {
                crate::json::string(out, &format!("field.{name}"));
            } else {
                crate::json::string(out, name);
            }
            out.push(':');
            match value {
                FieldValue::Text(t) => crate::json::string(out, t),
                FieldValue::I64(v) => {
                    let _ = write!(out, "{v}");
                }
                FieldValue::U64(v) => {
                    let _ = write!(out, "{v}");
                }
                // JSON has no NaN or infinity.
                FieldValue::F64(v) if v.is_finite() => {
                    let _ = write!(out, "{v}");
                }
                FieldValue::F64(v) => crate::json::string(out, &v.to_string()),
                FieldValue::Bool(v) => {
                    let _ = write!(out, "{v}");
                }
            }
        }
        out.push('}');
    }

    fn text(&self, out: &mut String) {
        let _ = write!(
            out,
            "{} {:<5} {}",
            humantime::format_rfc3339_millis(self.timestamp),
            self.level.as_str(),
            self.request_id.unwrap_or("-"),
        );
        out.push(' ');
        push_single_line(out, &self.fields.message);
        for (name, value) in &self.fields.fields {
            let _ = write!(out, " {name}=");
            match value {
                FieldValue::Text(t) => push_single_line(out, t),
                FieldValue::I64(v) => {
                    let _ = write!(out, "{v}");
                }
                FieldValue::U64(v) => {
                    let _ = write!(out, "{v}");
                }
                FieldValue::F64(v) => {
                    let _ = write!(out, "{v}");
                }
                FieldValue::Bool(v) => {
                    let _ = write!(out, "{v}");
                }
            }
        }
        let _ = write!(out, " target={}", self.target);
        if let Some(id) = self.trace_id {
            out.push_str(" traceId=");
            push_xray_trace_id(out, id);
        }
        if let Some(id) = self.span_id {
            let _ = write!(out, " spanId={id}");
        }
        if let Some(name) = self.function_name {
            let _ = write!(out, " functionName={name}");
        }
        if let Some(cold) = self.cold_start {
            let _ = write!(out, " coldStart={cold}");
        }
    }
}

/// `id` in X-Ray form, as [`crate::xray_trace_id`] spells it, without
/// allocating.
fn push_xray_trace_id(out: &mut String, id: TraceId) {
    out.extend(
        crate::telemetry::data::ids::xray_form(id)
            .into_iter()
            .map(char::from),
    );
}

/// `value` with every control character escaped: line breaks, so that one
/// event stays one line, and the rest (`ESC`, C1 controls, `DEL`), so that
/// a client's text never drives the terminal that shows the log.
fn push_single_line(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:04x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn fields() -> Fields {
        Fields {
            message: "auth failed: \"bad\"\nnext".to_owned(),
            fields: vec![
                ("reason", FieldValue::Text("INVALID_TOKEN".to_owned())),
                ("level", FieldValue::I64(3)),
                ("ratio", FieldValue::F64(f64::NAN)),
                ("retry", FieldValue::Bool(false)),
            ],
            allow_personal_data: false,
        }
    }

    fn line(fields: &Fields) -> Line<'_> {
        Line {
            timestamp: UNIX_EPOCH + Duration::from_millis(1_790_000_000_123),
            level: &Level::WARN,
            target: "app::auth",
            fields,
            trace_id: Some(TraceId::from_hex("5759e988bd862e3fe1be46a994272793").unwrap()),
            span_id: Some(SpanId::from_hex("53995c3f42cd8ad8").unwrap()),
            request_id: Some("req-1"),
            function_name: Some("ws-conversation"),
            cold_start: Some(true),
        }
    }

    #[test]
    fn json_lines_parse_and_carry_the_correlation_fields() {
        let fields = fields();
        let mut out = String::new();
        line(&fields).render(LogFormat::Json, &mut out);
        assert!(out.ends_with("}\n") && out.matches('\n').count() == 1);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["timestamp"], "2026-09-21T14:13:20.123Z");
        assert_eq!(v["level"], "WARN");
        assert_eq!(v["message"], "auth failed: \"bad\"\nnext");
        assert_eq!(v["traceId"], "1-5759e988-bd862e3fe1be46a994272793");
        assert_eq!(v["spanId"], "53995c3f42cd8ad8");
        assert_eq!(v["requestId"], "req-1");
        assert_eq!(v["functionName"], "ws-conversation");
        assert_eq!(v["coldStart"], true);
        assert_eq!(v["reason"], "INVALID_TOKEN");
        assert_eq!(v["field.level"], 3, "a field cannot overwrite the level");
        assert_eq!(v["ratio"], "NaN");
        assert_eq!(v["retry"], false);
    }

    #[test]
    fn strings_are_escaped_and_ids_spelled_as_x_ray_does() {
        let mut out = String::new();
        crate::json::string(&mut out, "a\"b\\c\u{1}d\té");
        assert_eq!(
            serde_json::from_str::<String>(&out).unwrap(),
            "a\"b\\c\u{1}d\té"
        );
        let id = TraceId::from_hex("5759e988bd862e3fe1be46a994272793").unwrap();
        let mut out = String::new();
        push_xray_trace_id(&mut out, id);
        assert_eq!(out, crate::xray_trace_id(id));
    }

    #[test]
    fn text_lines_append_the_fields_on_one_line() {
        let fields = fields();
        let mut out = String::new();
        line(&fields).render(LogFormat::Text, &mut out);
        assert_eq!(
            out,
            "2026-09-21T14:13:20.123Z WARN  req-1 auth failed: \"bad\"\\nnext reason=INVALID_TOKEN \
             level=3 ratio=NaN retry=false target=app::auth \
             traceId=1-5759e988-bd862e3fe1be46a994272793 spanId=53995c3f42cd8ad8 \
             functionName=ws-conversation coldStart=true\n"
        );
    }

    #[test]
    fn text_lines_escape_every_control_character() {
        // What a client's JWT `alg` or message could carry: a terminal
        // colour sequence, a C1 CSI, DEL, a tab, a bell.
        let hostile = "\u{1b}[31mred\u{1b}[0m \u{9b}2J\u{7f}\t\u{7}";
        let fields = Fields {
            message: format!("alg {hostile}"),
            fields: vec![("alg", FieldValue::Text(hostile.to_owned()))],
            allow_personal_data: false,
        };
        let mut out = String::new();
        line(&fields).render(LogFormat::Text, &mut out);
        let body = out.strip_suffix('\n').unwrap();
        assert!(!body.chars().any(char::is_control), "{body:?}");
        assert!(
            body.contains(r"alg \u{001b}[31mred\u{001b}[0m \u{009b}2J\u{007f}\t\u{0007} alg="),
            "{body}"
        );
    }
}
