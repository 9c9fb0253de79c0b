//! The OTel instruments behind every catalog metric, created once per
//! monitor with the catalog's unit and description.

use opentelemetry::metrics::{Counter, Histogram, Meter};

use crate::catalog::Catalog;
use crate::names;

/// Every instrument the library records into.
#[derive(Debug, Clone)]
pub(crate) struct Instruments {
    pub handler_duration: Histogram<f64>,
    pub memory_usage: Histogram<u64>,
    pub invocations: Counter<u64>,
    pub errors: Counter<u64>,
    pub threshold_breaches: Counter<u64>,
    pub cold_starts: Counter<u64>,
    pub messages: Counter<u64>,
    pub message_length: Histogram<u64>,
    pub auth_messages: Counter<u64>,
    pub connections: Counter<u64>,
    pub connection_duration: Histogram<f64>,
    pub disconnects: Counter<u64>,
    pub verifications: Counter<u64>,
    pub messages_processed: Counter<u64>,
    pub database_operations: Counter<u64>,
}

impl Instruments {
    pub(crate) fn new(meter: &Meter, catalog: &Catalog) -> Self {
        // A validated catalog declares every emitted metric (see `names::EMITTED`).
        let spec = |name: &'static str| {
            let m = catalog
                .metric(name)
                .expect("a validated catalog declares every emitted metric");
            (m.unit.ucum(), m.description.clone())
        };
        let f64_histogram = |name: &'static str| {
            let (unit, description) = spec(name);
            meter
                .f64_histogram(name)
                .with_unit(unit)
                .with_description(description)
                .build()
        };
        let u64_histogram = |name: &'static str| {
            let (unit, description) = spec(name);
            meter
                .u64_histogram(name)
                .with_unit(unit)
                .with_description(description)
                .build()
        };
        let counter = |name: &'static str| {
            let (unit, description) = spec(name);
            meter
                .u64_counter(name)
                .with_unit(unit)
                .with_description(description)
                .build()
        };
        Instruments {
            handler_duration: f64_histogram(names::HANDLER_DURATION),
            memory_usage: u64_histogram(names::MEMORY_USAGE),
            invocations: counter(names::INVOCATIONS),
            errors: counter(names::ERRORS),
            threshold_breaches: counter(names::THRESHOLD_BREACHES),
            cold_starts: counter(names::COLD_STARTS),
            messages: counter(names::MESSAGES),
            message_length: u64_histogram(names::MESSAGE_LENGTH),
            auth_messages: counter(names::AUTH_MESSAGES),
            connections: counter(names::CONNECTIONS),
            connection_duration: f64_histogram(names::CONNECTION_DURATION),
            disconnects: counter(names::DISCONNECTS),
            verifications: counter(names::VERIFICATIONS),
            messages_processed: counter(names::MESSAGES_PROCESSED),
            database_operations: counter(names::DATABASE_OPERATIONS),
        }
    }
}
