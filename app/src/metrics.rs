//! The chat app's business metrics (DESIGN §3a), recorded through the
//! typed handles of its catalog, and [`ChatMonitor`], the monitor the
//! services share.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use perfmon_lambda::{Counter, Histogram, MetricError, PerformanceMonitor};

use crate::names::{
    metric, AuthOutcome, ConnectionEvent, DisconnectReason, MessageType, VerificationOutcome,
};

/// The chat app's catalog, `dashboards/catalog.json`, compiled in.
pub const CATALOG: &str = include_str!("../../dashboards/catalog.json");

/// The chat app's catalog.
pub fn catalog() -> perfmon_lambda::Catalog {
    perfmon_lambda::Catalog::from_json(CATALOG).expect("the chat catalog is validated by its tests")
}

/// Records the business metrics. Each metric is filed under the operation
/// the catalog names for it.
#[derive(Debug)]
pub struct ChatMetrics {
    messages: Counter<1>,
    message_length: Histogram<0>,
    auth_messages: Counter<1>,
    connections: Counter<1>,
    connection_duration: Histogram<0>,
    disconnects: Counter<1>,
    verifications: Counter<1>,
    messages_processed: Counter<0>,
    database_operations: Counter<0>,
}

impl ChatMetrics {
    /// Looks every handle up once; fails when the catalog lacks one.
    pub fn new(monitor: &PerformanceMonitor) -> Result<Self, MetricError> {
        Ok(ChatMetrics {
            messages: monitor.counter(metric::MESSAGES)?,
            message_length: monitor.histogram(metric::MESSAGE_LENGTH)?,
            auth_messages: monitor.counter(metric::AUTH_MESSAGES)?,
            connections: monitor.counter(metric::CONNECTIONS)?,
            connection_duration: monitor.histogram(metric::CONNECTION_DURATION)?,
            disconnects: monitor.counter(metric::DISCONNECTS)?,
            verifications: monitor.counter(metric::VERIFICATIONS)?,
            messages_processed: monitor.counter(metric::MESSAGES_PROCESSED)?,
            database_operations: monitor.counter(metric::DATABASE_OPERATIONS)?,
        })
    }

    /// One conversation frame of `kind` (messages per minute, type mix).
    pub fn message(&self, kind: MessageType) {
        self.messages.add(1, [kind.as_str()]);
    }

    /// The length of one chat message, in bytes.
    pub fn message_length(&self, bytes: usize) {
        self.message_length.record(bytes as f64, []);
    }

    /// One `auth` frame's outcome (authentication success rate).
    pub fn auth_message(&self, outcome: AuthOutcome) {
        self.auth_messages.add(1, [outcome.as_str()]);
    }

    /// One connection lifecycle event (connections per minute).
    pub fn connection(&self, event: ConnectionEvent) {
        self.connections.add(1, [event.as_str()]);
    }

    /// How long a connection lived, from `requestContext.connectedAt` to the
    /// disconnect.
    pub fn connection_duration(&self, lifetime: Duration) {
        self.connection_duration
            .record(perfmon_lambda::clock::millis(lifetime), []);
    }

    /// Why a connection ended.
    pub fn disconnect(&self, reason: DisconnectReason) {
        self.disconnects.add(1, [reason.as_str()]);
    }

    /// One JWT verification's outcome.
    pub fn verification(&self, outcome: VerificationOutcome) {
        self.verifications.add(1, [outcome.as_str()]);
    }

    /// One chat message fully processed.
    pub fn message_processed(&self) {
        self.messages_processed.add(1, []);
    }

    /// `count` database calls made for chat messages.
    pub fn database_operations(&self, count: u64) {
        self.database_operations.add(count, []);
    }
}

/// A [`PerformanceMonitor`] with the chat app's business metrics. Cheap to
/// clone; it dereferences to the monitor.
#[derive(Debug, Clone)]
pub struct ChatMonitor {
    monitor: PerformanceMonitor,
    business: Arc<ChatMetrics>,
}

impl ChatMonitor {
    /// Wraps `monitor`, whose telemetry must carry the chat catalog.
    pub fn new(monitor: PerformanceMonitor) -> Result<Self, MetricError> {
        Ok(ChatMonitor {
            business: Arc::new(ChatMetrics::new(&monitor)?),
            monitor,
        })
    }

    /// The monitor of `telemetry`, which must carry the chat catalog.
    pub fn on(telemetry: &perfmon_lambda::Telemetry) -> Result<Self, MetricError> {
        Self::new(PerformanceMonitor::new(telemetry))
    }

    /// The business-metric recorders.
    pub fn business(&self) -> &ChatMetrics {
        &self.business
    }

    /// The plain monitor.
    pub fn monitor(&self) -> &PerformanceMonitor {
        &self.monitor
    }
}

impl Deref for ChatMonitor {
    type Target = PerformanceMonitor;

    fn deref(&self) -> &PerformanceMonitor {
        &self.monitor
    }
}
