//! `PerformanceMonitor`: each monitored operation becomes one span plus the
//! catalog's core metrics, with thresholds checked in-process.

mod custom;
mod instruments;
mod metric_error;
pub use custom::{Counter, Gauge, Histogram};
pub(crate) use instruments::Instruments;
pub use metric_error::MetricError;
mod failure;
mod intern;
pub(crate) use intern::intern;
mod operation;
pub(crate) mod thresholds;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use opentelemetry::metrics::BoundCounter;
use opentelemetry::trace::{Link, SpanContext, SpanKind, Tracer};
use opentelemetry::{Context, KeyValue, StringValue};
use opentelemetry_sdk::trace::SdkTracer;

use crate::catalog::{ErrorSpec, Thresholds};
use crate::names::dim;

use crate::memory::MemorySampler;
#[cfg(feature = "aws-sdk")]
pub(crate) use failure::mark_error;
#[cfg(feature = "lambda")]
pub(crate) use failure::Failure;
pub(crate) use failure::RootOutcome;
#[cfg_attr(
    not(any(feature = "lambda", feature = "aws-sdk")),
    allow(unused_imports)
)]
pub(crate) use failure::CANCELLED;
#[cfg(feature = "lambda")]
pub(crate) use failure::HANDLER_ERROR;
use operation::Started;
pub use operation::{ErrorCode, OperationMonitor, ABANDONED, UNSPECIFIED_ERROR};
use thresholds::ErrorWindow;

/// Operations started by a name the catalog does not list get their own
/// `Handler` dimension up to this many names; later ones share
/// [`OVERFLOW_OPERATION`], so a caller cannot blow up metric cardinality.
pub const MAX_UNLISTED_OPERATIONS: usize = 64;
/// `Handler` of unlisted operations beyond [`MAX_UNLISTED_OPERATIONS`].
pub const OVERFLOW_OPERATION: &str = "other";

/// Starts monitored operations. Cheap to clone; share one per process.
///
/// ```
/// use perfmon_lambda::{attributes, PerformanceMonitor, Telemetry};
/// use opentelemetry::KeyValue;
///
/// let telemetry = Telemetry::builder().with_exporters_disabled().build().unwrap();
/// let monitor = PerformanceMonitor::new(&telemetry);
///
/// let op = monitor.start("checkout", [KeyValue::new("app.cart.items", 3_i64)]);
/// op.complete(true, [KeyValue::new(attributes::ENDUSER_ID, "user-1")]);
/// ```
#[derive(Debug, Clone)]
pub struct PerformanceMonitor {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Tracer of the telemetry pipeline; spans go through its processors.
    tracer: SdkTracer,
    /// The catalog's own metrics.
    custom: custom::CustomMetrics,
    /// The `Environment` dimension value.
    environment: StringValue,
    /// Catalog operations, fixed at construction, read without locking.
    /// A handful of names: a scan beats hashing the name.
    listed: Vec<Arc<OperationState>>,
    /// Operations first seen at run time, bounded by `MAX_UNLISTED_OPERATIONS`.
    unlisted: RwLock<HashMap<&'static str, Arc<OperationState>>>,
    /// What every operation records into.
    shared: Arc<Shared>,
}

/// What a finishing operation needs besides its own state, shared so that an
/// in-flight operation holds a single reference count.
#[derive(Debug)]
pub(crate) struct Shared {
    /// One instrument per catalog metric.
    instruments: Instruments,
    /// Source of `MemoryUsage`.
    memory: MemorySampler,
    /// Origin of the error-rate windows.
    epoch: Instant,
}

/// Everything about one operation name that does not change per call.
#[derive(Debug)]
pub(crate) struct OperationState {
    /// Instruments, memory sampler and clock origin.
    shared: Arc<Shared>,
    /// Span name and `Handler` value.
    name: &'static str,
    /// Span kind from the catalog; `Internal` for unlisted operations.
    kind: SpanKind,
    /// Catalog limits; unlisted operations have none.
    thresholds: Option<Thresholds>,
    /// `[Handler, Environment]`, built once so recording never allocates.
    base: [KeyValue; 2],
    /// The per-completion instruments bound to `base`, at the first
    /// completion (an operation never completed holds no series).
    bound: std::sync::OnceLock<instruments::Bound>,
    /// `ThresholdBreaches` bound to `base` and each of
    /// [`thresholds::CHECKED`], at its first breach.
    breaches: [std::sync::OnceLock<BoundCounter<u64>>; thresholds::CHECKED.len()],
    /// Counts for the in-process error-rate check.
    window: ErrorWindow,
    /// The catalog's error codes and their classes.
    errors: Box<[ErrorSpec]>,
}

impl PerformanceMonitor {
    /// A monitor on `telemetry`'s pipeline, catalog and environment.
    pub fn new(telemetry: &crate::telemetry::Telemetry) -> Self {
        let settings = telemetry.settings();
        let catalog = &settings.catalog;
        // The core instruments record exactly their declared keys (`base`,
        // plus `ErrorType` or `Metric`), so they skip the catalog views'
        // key filter.
        let meter = telemetry.catalog_meter();
        let tracer = telemetry.tracer();
        let memory_source = settings.memory_source;
        let environment = StringValue::from(intern(&settings.environment));
        let instruments = Instruments::new(&meter, catalog);
        let shared = Arc::new(Shared {
            instruments,
            memory: MemorySampler::new(memory_source),
            epoch: Instant::now(),
        });
        let listed = catalog
            .operations
            .iter()
            .map(|op| {
                Arc::new(OperationState::new(
                    &shared,
                    intern(&op.name),
                    op.span_kind.into(),
                    Some(op.thresholds),
                    op.errors.clone().into_boxed_slice(),
                    &environment,
                ))
            })
            .collect();
        PerformanceMonitor {
            inner: Arc::new(Inner {
                tracer,
                custom: custom::CustomMetrics::new(&meter, catalog, &environment),
                environment,
                listed,
                unlisted: RwLock::new(HashMap::new()),
                shared,
            }),
        }
    }

    /// Starts monitoring `operation` under the current context. `attributes`
    /// go on the span only, never on a metric.
    pub fn start<I>(&self, operation: &str, attributes: I) -> OperationMonitor
    where
        I: IntoIterator<Item = KeyValue>,
    {
        Context::map_current(|cx| self.start_with_context(operation, cx, attributes))
    }

    /// Starts monitoring `operation` as a child of `parent`.
    pub fn start_with_context<I>(
        &self,
        operation: &str,
        parent: &Context,
        attributes: I,
    ) -> OperationMonitor
    where
        I: IntoIterator<Item = KeyValue>,
    {
        self.start_as(operation, parent, None, None, true, attributes)
    }

    /// Starts `operation` as an HTTP request's operation: INTERNAL under a
    /// local span (the Lambda layer's root), else the request's SERVER
    /// span, parented to the remote context in `parent` if any.
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) fn start_request<I>(
        &self,
        operation: &str,
        parent: &Context,
        attributes: I,
    ) -> OperationMonitor
    where
        I: IntoIterator<Item = KeyValue>,
    {
        self.start_as(
            operation,
            parent,
            Some(SpanKind::Server),
            None,
            true,
            attributes,
        )
    }

    /// Starts `operation` for one record of a batch: a CONSUMER span under
    /// `parent` (the invocation), linked to the context of the record's
    /// producer when it carried one. A failed record does not mark the
    /// invocation: the batch answers with its partial response.
    #[cfg_attr(not(feature = "lambda"), allow(dead_code))]
    pub(crate) fn start_record<I>(
        &self,
        operation: &str,
        parent: &Context,
        producer: Option<SpanContext>,
        attributes: I,
    ) -> OperationMonitor
    where
        I: IntoIterator<Item = KeyValue>,
    {
        let link = producer.map(Link::with_context);
        self.start_as(
            operation,
            parent,
            Some(SpanKind::Consumer),
            link,
            false,
            attributes,
        )
    }

    /// Starts `operation` under `parent`, as `kind` or as the catalog
    /// declares it (see [`kind_under`]), with `link`; its failure marks
    /// the invocation's root when `to_root` and `parent` is the root.
    fn start_as<I>(
        &self,
        operation: &str,
        parent: &Context,
        kind: Option<SpanKind>,
        link: Option<Link>,
        to_root: bool,
        attributes: I,
    ) -> OperationMonitor
    where
        I: IntoIterator<Item = KeyValue>,
    {
        let state = self.inner.state(operation);
        let started = Started::now();
        // Room for the attributes the end adds, so that the span's list
        // does not grow by copying them then. An empty list allocates
        // nothing: a span left unsampled never gets them.
        let attributes = attributes.into_iter();
        let mut start_attributes = match attributes.size_hint().0 {
            0 => Vec::new(),
            n => Vec::with_capacity(n + operation::END_ATTRIBUTES),
        };
        start_attributes.extend(attributes);
        let mut builder = self
            .inner
            .tracer
            .span_builder(state.span_name(operation))
            .with_kind(kind_under(kind.as_ref().unwrap_or(&state.kind), parent))
            .with_start_time(started.wall);
        builder.attributes = Some(start_attributes);
        builder.links = link.map(|link| vec![link]);
        let span = builder.start_with_context(&self.inner.tracer, parent);
        let root = RootOutcome::of_parent(parent).filter(|_| to_root);
        OperationMonitor::new(state, span, started, root)
    }

    /// The catalog's counter `name`, taking `N` dimension values. Look it
    /// up once, at start-up: an undeclared metric, another instrument or
    /// another number of keys is an error here, never when recording.
    ///
    /// ```
    /// # use perfmon_lambda::{Catalog, PerformanceMonitor, Telemetry};
    /// let catalog = Catalog::from_json(r#"{"version": 1, "namespace": "Orders",
    ///     "metrics": [{"name": "OrdersPlaced", "unit": "Count", "instrument": "counter",
    ///       "dimensions": [{"name": "PaymentMethod", "values": ["card", "paypal"]}]}]}"#)?;
    /// let telemetry = Telemetry::builder().with_catalog(catalog).with_exporters_disabled().build()?;
    /// let monitor = PerformanceMonitor::new(&telemetry);
    /// let orders = monitor.counter::<1>("OrdersPlaced")?;
    /// orders.add(1, ["card"]);
    /// orders.add(1, ["cash"]); // not declared: recorded as "other" and counted
    /// assert_eq!(monitor.dimension_overflows(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn counter<const N: usize>(&self, name: &str) -> Result<Counter<N>, MetricError> {
        self.inner.custom.counter(name)
    }

    /// The catalog's histogram `name`, taking `N` dimension values; see
    /// [`counter`](Self::counter).
    pub fn histogram<const N: usize>(&self, name: &str) -> Result<Histogram<N>, MetricError> {
        self.inner.custom.histogram(name)
    }

    /// The catalog's gauge `name`, taking `N` dimension values; see
    /// [`counter`](Self::counter).
    pub fn gauge<const N: usize>(&self, name: &str) -> Result<Gauge<N>, MetricError> {
        self.inner.custom.gauge(name)
    }

    /// How many dimension values were outside their key's declared set (or
    /// beyond its bound) and recorded as the overflow value.
    pub fn dimension_overflows(&self) -> u64 {
        self.inner.custom.overflows()
    }

    /// Counts one cold start of the Lambda function `function`
    /// (`ColdStarts{Function, Environment}`).
    pub fn record_cold_start(&self, function: &str) {
        self.inner.shared.instruments.cold_starts.add(
            1,
            &[
                KeyValue::new(dim::FUNCTION, intern(function)),
                KeyValue::new(dim::ENVIRONMENT, self.inner.environment.clone()),
            ],
        );
    }

    /// The `Environment` dimension this monitor records.
    pub fn environment(&self) -> &str {
        self.inner.environment.as_str()
    }
}

/// The kind of an operation declared `declared` under `parent`: a SERVER
/// operation under a local span (the Lambda layer's root, or any other
/// operation) is INTERNAL, so that each request has one SERVER span.
fn kind_under(declared: &SpanKind, parent: &Context) -> SpanKind {
    use opentelemetry::trace::TraceContextExt as _;
    if *declared == SpanKind::Server {
        let span = parent.span();
        let parent = span.span_context();
        if parent.is_valid() && !parent.is_remote() {
            return SpanKind::Internal;
        }
    }
    declared.clone()
}

impl Inner {
    fn state(&self, operation: &str) -> Arc<OperationState> {
        if let Some(state) = self.listed.iter().find(|s| s.name == operation) {
            return state.clone();
        }
        if let Some(state) = read(&self.unlisted).get(operation) {
            return state.clone();
        }
        let mut unlisted = self.unlisted.write().unwrap_or_else(|e| e.into_inner());
        if let Some(state) = unlisted.get(operation) {
            return state.clone();
        }
        let name = if unlisted.len() < MAX_UNLISTED_OPERATIONS {
            intern(operation)
        } else {
            OVERFLOW_OPERATION
        };
        let state = unlisted
            .entry(name)
            .or_insert_with(|| {
                Arc::new(OperationState::new(
                    &self.shared,
                    name,
                    SpanKind::Internal,
                    None,
                    Box::default(),
                    &self.environment,
                ))
            })
            .clone();
        state
    }
}

impl OperationState {
    fn new(
        shared: &Arc<Shared>,
        name: &'static str,
        kind: SpanKind,
        thresholds: Option<Thresholds>,
        errors: Box<[ErrorSpec]>,
        environment: &StringValue,
    ) -> Self {
        OperationState {
            errors,
            shared: shared.clone(),
            name,
            kind,
            thresholds,
            base: [
                KeyValue::new(dim::HANDLER, name),
                KeyValue::new(dim::ENVIRONMENT, environment.clone()),
            ],
            window: ErrorWindow::default(),
            bound: std::sync::OnceLock::new(),
            breaches: Default::default(),
        }
    }

    /// The per-completion instruments, bound at the first call.
    fn bound(&self) -> &instruments::Bound {
        self.bound
            .get_or_init(|| self.shared.instruments.bind(&self.base))
    }

    /// `ThresholdBreaches{Metric = metric}`, bound at its first breach;
    /// `None` for a metric no threshold checks.
    fn breach_counter(&self, metric: &'static str) -> Option<&BoundCounter<u64>> {
        let slot = thresholds::CHECKED.iter().position(|m| *m == metric)?;
        Some(
            self.breaches[slot]
                .get_or_init(|| self.shared.instruments.bind_breach(&self.base, metric)),
        )
    }

    /// The span keeps the caller's name even when the metrics overflow.
    fn span_name(&self, requested: &str) -> std::borrow::Cow<'static, str> {
        if self.name == requested {
            self.name.into()
        } else {
            requested.to_owned().into()
        }
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}
