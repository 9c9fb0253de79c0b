//! The application's own metrics, declared in its catalog and recorded
//! through typed handles: [`Counter`], [`Histogram`] and [`Gauge`].
//!
//! A handle is looked up once, at start-up, with the number of dimension
//! values it takes as a const parameter; a metric the catalog does not
//! declare, a different instrument or a different number of keys is a
//! [`MetricError`] then, never at record time.
//!
//! Recording allocates nothing: each dimension value is matched against the
//! key's declared values (or the values learned so far, for a key with a
//! `max_values` bound), and the instrument is bound to the attribute set of
//! that combination once (the SDK's bound instruments), so recording neither
//! builds nor hashes attributes. A value outside the declared set, or beyond
//! the bound, is recorded as the key's `overflow` value and counted
//! ([`PerformanceMonitor::dimension_overflows`](crate::PerformanceMonitor::dimension_overflows)),
//! so it never becomes a new CloudWatch series.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use opentelemetry::metrics::Meter;
use opentelemetry::{Key, KeyValue, StringValue};

use super::intern;
use super::MetricError;
use crate::catalog::{Catalog, DimensionSpec, Instrument, MetricSpec};
use crate::names::dim;

/// Every custom metric of the catalog, with its recording state.
#[derive(Debug)]
pub(crate) struct CustomMetrics {
    by_name: HashMap<String, Arc<MetricState>>,
    overflows: Arc<AtomicU64>,
}

impl CustomMetrics {
    pub(crate) fn new(meter: &Meter, catalog: &Catalog, environment: &StringValue) -> Self {
        let overflows = Arc::new(AtomicU64::new(0));
        let by_name = catalog
            .custom_metrics
            .iter()
            .map(|spec| {
                let state = MetricState::new(meter, spec, environment, overflows.clone());
                (spec.name.clone(), Arc::new(state))
            })
            .collect();
        CustomMetrics { by_name, overflows }
    }

    pub(crate) fn overflows(&self) -> u64 {
        self.overflows.load(Ordering::Relaxed)
    }

    fn state(
        &self,
        name: &str,
        requested: Instrument,
        arity: usize,
    ) -> Result<&Arc<MetricState>, MetricError> {
        let state = self
            .by_name
            .get(name)
            .ok_or_else(|| MetricError::NotDeclared {
                name: name.to_owned(),
            })?;
        if state.instrument != requested {
            return Err(MetricError::WrongInstrument {
                name: name.to_owned(),
                declared: state.instrument,
                requested,
            });
        }
        if state.keys.len() != arity {
            return Err(MetricError::WrongArity {
                name: name.to_owned(),
                declared: state.keys.len(),
                given: arity,
            });
        }
        Ok(state)
    }

    pub(crate) fn counter<const N: usize>(&self, name: &str) -> Result<Counter<N>, MetricError> {
        let state = self.state(name, Instrument::Counter, N)?;
        Ok(Counter {
            state: state.clone(),
        })
    }

    pub(crate) fn histogram<const N: usize>(
        &self,
        name: &str,
    ) -> Result<Histogram<N>, MetricError> {
        let state = self.state(name, Instrument::Histogram, N)?;
        Ok(Histogram {
            state: state.clone(),
        })
    }

    pub(crate) fn gauge<const N: usize>(&self, name: &str) -> Result<Gauge<N>, MetricError> {
        let state = self.state(name, Instrument::Gauge, N)?;
        Ok(Gauge {
            state: state.clone(),
        })
    }
}

/// A counter of the catalog taking `N` dimension values, in the order the
/// catalog lists the keys. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Counter<const N: usize> {
    state: Arc<MetricState>,
}

impl<const N: usize> Counter<N> {
    /// Adds `value` to the series of `dimensions`.
    pub fn add(&self, value: u64, dimensions: [&str; N]) {
        if let Series::Counter(series) = self.state.series(&dimensions) {
            series.add(value);
        }
    }
}

/// A histogram of the catalog taking `N` dimension values. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Histogram<const N: usize> {
    state: Arc<MetricState>,
}

impl<const N: usize> Histogram<N> {
    /// Records `value`, in the catalog's unit, in the series of
    /// `dimensions`.
    pub fn record(&self, value: f64, dimensions: [&str; N]) {
        if let Series::Histogram(series) = self.state.series(&dimensions) {
            series.record(value);
        }
    }
}

/// A gauge of the catalog taking `N` dimension values. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Gauge<const N: usize> {
    state: Arc<MetricState>,
}

impl<const N: usize> Gauge<N> {
    /// Sets the series of `dimensions` to `value`.
    pub fn record(&self, value: f64, dimensions: [&str; N]) {
        if let Series::Gauge(series) = self.state.series(&dimensions) {
            series.record(value);
        }
    }
}

#[derive(Debug)]
enum Otel {
    Counter(opentelemetry::metrics::Counter<u64>),
    Histogram(opentelemetry::metrics::Histogram<f64>),
    Gauge(opentelemetry::metrics::Gauge<f64>),
}

/// The instrument bound to one combination of dimension values (the SDK's
/// bound instruments): recording skips the SDK's hashed lookup of the
/// attribute set.
#[derive(Debug)]
enum Series {
    Counter(opentelemetry::metrics::BoundCounter<u64>),
    Histogram(opentelemetry::metrics::BoundHistogram<f64>),
    Gauge(opentelemetry::metrics::BoundGauge<f64>),
}

impl Otel {
    fn bind(&self, attributes: &[KeyValue]) -> Series {
        match self {
            Otel::Counter(c) => Series::Counter(c.bind(attributes)),
            Otel::Histogram(h) => Series::Histogram(h.bind(attributes)),
            Otel::Gauge(g) => Series::Gauge(g.bind(attributes)),
        }
    }
}

/// One metric: its keys and the series of every value combination, bound
/// on first use.
#[derive(Debug)]
struct MetricState {
    instrument: Instrument,
    otel: Otel,
    /// `Handler` (when filed under an operation) and `Environment`.
    base: Vec<KeyValue>,
    keys: Box<[KeyState]>,
    /// Mixed-radix place value of each key's value index.
    strides: Box<[usize]>,
    /// One series per combination of value indexes.
    table: Box<[OnceLock<Series>]>,
}

impl MetricState {
    fn new(
        meter: &Meter,
        spec: &MetricSpec,
        environment: &StringValue,
        overflows: Arc<AtomicU64>,
    ) -> Self {
        let name = intern(&spec.name);
        let unit = spec.unit.ucum();
        let description = spec.description.clone();
        let otel = match spec.instrument {
            Instrument::Counter => Otel::Counter(
                meter
                    .u64_counter(name)
                    .with_unit(unit)
                    .with_description(description)
                    .build(),
            ),
            Instrument::Gauge => Otel::Gauge(
                meter
                    .f64_gauge(name)
                    .with_unit(unit)
                    .with_description(description)
                    .build(),
            ),
            _ => Otel::Histogram(
                meter
                    .f64_histogram(name)
                    .with_unit(unit)
                    .with_description(description)
                    .build(),
            ),
        };
        let mut base = Vec::with_capacity(2);
        if let Some(op) = &spec.operation {
            base.push(KeyValue::new(dim::HANDLER, intern(op)));
        }
        base.push(KeyValue::new(dim::ENVIRONMENT, environment.clone()));
        let keys: Box<[KeyState]> = spec
            .dimensions
            .iter()
            .map(|d| KeyState::new(name, d, overflows.clone()))
            .collect();
        let mut strides = Vec::with_capacity(keys.len());
        let mut size = 1usize;
        for key in keys.iter() {
            strides.push(size);
            size *= key.radix();
        }
        MetricState {
            instrument: spec.instrument,
            otel,
            base,
            keys,
            strides: strides.into(),
            table: (0..size).map(|_| OnceLock::new()).collect(),
        }
    }

    /// The series of `values`, bound once per combination.
    fn series(&self, values: &[&str]) -> &Series {
        let slot: usize = self
            .keys
            .iter()
            .zip(values)
            .zip(self.strides.iter())
            .map(|((key, value), stride)| key.index(value) * stride)
            .sum();
        self.table[slot].get_or_init(|| {
            let mut attributes = self.base.clone();
            for (key, stride) in self.keys.iter().zip(self.strides.iter()) {
                let index = (slot / stride) % key.radix();
                attributes.push(KeyValue::new(key.key.clone(), key.value(index)));
            }
            self.otel.bind(&attributes)
        })
    }
}

/// One dimension key: its values, by index.
#[derive(Debug)]
struct KeyState {
    metric: &'static str,
    key: Key,
    /// Declared values, overflow included; empty for a bounded key.
    fixed: Box<[&'static str]>,
    /// Index of the overflow value.
    overflow: usize,
    /// For a bounded key: the values learned so far.
    learned: RwLock<Learned>,
    max: usize,
    overflows: Arc<AtomicU64>,
    warned: AtomicBool,
}

impl KeyState {
    fn new(metric: &'static str, spec: &DimensionSpec, overflows: Arc<AtomicU64>) -> Self {
        let bounded = spec.values.is_empty();
        let fixed: Box<[&'static str]> = if bounded {
            Box::new([])
        } else {
            spec.known_values().into_iter().map(intern).collect()
        };
        let overflow_value = intern(&spec.overflow);
        KeyState {
            metric,
            key: Key::from_static_str(intern(&spec.name)),
            overflow: fixed.iter().position(|v| *v == overflow_value).unwrap_or(0),
            fixed,
            learned: RwLock::new(Learned {
                index: HashMap::new(),
                names: vec![overflow_value],
            }),
            max: spec.max_values.unwrap_or(0) as usize,
            overflows,
            warned: AtomicBool::new(false),
        }
    }

    fn radix(&self) -> usize {
        if self.fixed.is_empty() {
            self.max + 1
        } else {
            self.fixed.len()
        }
    }

    fn index(&self, value: &str) -> usize {
        if !self.fixed.is_empty() {
            return match self.fixed.iter().position(|v| *v == value) {
                Some(i) => i,
                None => self.overflowed(value),
            };
        }
        if let Some(i) = read(&self.learned).index.get(value) {
            return *i;
        }
        let mut learned = self.learned.write().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = learned.index.get(value) {
            return *i;
        }
        if learned.index.len() >= self.max {
            drop(learned);
            return self.overflowed(value);
        }
        let interned = intern(value);
        let index = learned.names.len();
        learned.index.insert(interned, index);
        learned.names.push(interned);
        index
    }

    fn value(&self, index: usize) -> &'static str {
        if self.fixed.is_empty() {
            read(&self.learned).names[index]
        } else {
            self.fixed[index]
        }
    }

    fn overflowed(&self, value: &str) -> usize {
        self.overflows.fetch_add(1, Ordering::Relaxed);
        if !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                metric = self.metric,
                key = self.key.as_str(),
                value_length = value.len(),
                "dimension value outside the catalog's set, recorded as the overflow value; later ones are only counted"
            );
        }
        if self.fixed.is_empty() {
            0
        } else {
            self.overflow
        }
    }
}

/// A bounded key's values: index 0 is the overflow value, learned values
/// take 1..=max in the order first seen.
#[derive(Debug)]
struct Learned {
    index: HashMap<&'static str, usize>,
    names: Vec<&'static str>,
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}
