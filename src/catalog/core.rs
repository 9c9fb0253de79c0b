//! The core metrics: the library records them for every application, so
//! every catalog has them without declaring them.

use super::{Instrument, MetricDef, Unit};
use crate::names::{self, dim};

/// `(name, unit, instrument, description, dimension sets)`.
type Row = (
    &'static str,
    Unit,
    Instrument,
    &'static str,
    &'static [&'static [&'static str]],
);

const BASE: &[&str] = &[dim::HANDLER, dim::ENVIRONMENT];

const CORE: &[Row] = &[
    (
        names::HANDLER_DURATION,
        Unit::Milliseconds,
        Instrument::Histogram,
        "Wall-clock duration of every completed operation.",
        &[BASE],
    ),
    (
        names::MEMORY_USAGE,
        Unit::Bytes,
        Instrument::Histogram,
        "Process memory in use when the operation completed.",
        &[BASE],
    ),
    (
        names::INVOCATIONS,
        Unit::Count,
        Instrument::Counter,
        "Every completed operation, successful or not.",
        &[BASE],
    ),
    (
        names::ERRORS,
        Unit::Count,
        Instrument::Counter,
        "Failed operations; ErrorType is the typed error code.",
        &[BASE, &[dim::HANDLER, dim::ENVIRONMENT, dim::ERROR_TYPE]],
    ),
    (
        names::THRESHOLD_BREACHES,
        Unit::Count,
        Instrument::Counter,
        "In-process threshold checks that failed; Metric names the checked metric.",
        &[&[dim::HANDLER, dim::ENVIRONMENT, dim::METRIC]],
    ),
    (
        names::COLD_STARTS,
        Unit::Count,
        Instrument::Counter,
        "Lambda invocations that started a new execution environment.",
        &[&[dim::FUNCTION, dim::ENVIRONMENT]],
    ),
    (
        names::TELEMETRY_LOST,
        Unit::Count,
        Instrument::Gauge,
        "Spans and metric points this process has lost since it started: exports that failed or timed out, and spans dropped on a full queue. A running total, so the first export after an outage reports all of it.",
        &[&[dim::SIGNAL, dim::ENVIRONMENT]],
    ),
];

/// The core metrics, in a stable order.
pub(crate) fn metrics() -> impl Iterator<Item = MetricDef> {
    CORE.iter()
        .map(|(name, unit, instrument, description, sets)| MetricDef {
            name: (*name).to_owned(),
            unit: *unit,
            instrument: *instrument,
            description: (*description).to_owned(),
            dimensions: sets
                .iter()
                .map(|set| set.iter().map(|k| (*k).to_owned()).collect())
                .collect(),
            core: true,
        })
}

/// Whether `name` is a core metric.
/// Every dimension key a core metric has.
pub(crate) fn dimension_keys() -> impl Iterator<Item = &'static str> {
    CORE.iter()
        .flat_map(|(.., sets)| sets.iter().flat_map(|set| set.iter().copied()))
}

pub(crate) fn is_core(name: &str) -> bool {
    CORE.iter().any(|row| row.0 == name)
}
