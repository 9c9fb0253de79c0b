//! [`Plan`]: one span, ready to write: its kind, name and fields, which of
//! its attributes are annotations and which metadata, and its times.

use opentelemetry_sdk::trace::SpanData;

use super::attributes::{Fields, Kind};

/// One span, ready to write.
#[derive(Debug)]
pub(super) struct Plan<'a> {
    pub span: &'a SpanData,
    pub kind: Kind,
    pub name: &'a str,
    pub fields: Fields<'a>,
    /// Attributes written as annotations, by position.
    pub annotations: u64,
    /// Attributes written as metadata, by position.
    pub metadata: u64,
    pub start: f64,
    pub end: f64,
}
