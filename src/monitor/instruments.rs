//! The OTel instruments behind the core metrics, created once per
//! monitor with the catalog's unit and description.

use opentelemetry::metrics::{BoundCounter, BoundHistogram, Counter, Histogram, Meter};
use opentelemetry::KeyValue;

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
}

/// The core metrics every completion of one operation records, bound to its
/// `[Handler, Environment]` once: recording then skips the SDK's hashed
/// lookup of the attributes (the SDK's bound instruments).
#[derive(Debug, Clone)]
pub(crate) struct Bound {
    pub handler_duration: BoundHistogram<f64>,
    pub memory_usage: BoundHistogram<u64>,
    pub invocations: BoundCounter<u64>,
}

impl Instruments {
    /// The per-completion instruments bound to `base`.
    pub(crate) fn bind(&self, base: &[KeyValue]) -> Bound {
        Bound {
            handler_duration: self.handler_duration.bind(base),
            memory_usage: self.memory_usage.bind(base),
            invocations: self.invocations.bind(base),
        }
    }

    /// `ThresholdBreaches` bound to `base` plus `Metric = metric`.
    pub(crate) fn bind_breach(
        &self,
        base: &[KeyValue; 2],
        metric: &'static str,
    ) -> BoundCounter<u64> {
        let [handler, environment] = base;
        self.threshold_breaches.bind(&[
            handler.clone(),
            environment.clone(),
            KeyValue::new(names::dim::METRIC, metric),
        ])
    }

    pub(crate) fn new(meter: &Meter, catalog: &Catalog) -> Self {
        // Every catalog has the core metrics.
        let spec = |name: &'static str| {
            let m = catalog
                .metric(name)
                .expect("every catalog has the core metrics");
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
        }
    }
}
