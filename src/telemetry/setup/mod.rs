//! From a [`TelemetryBuilder`](builder::TelemetryBuilder) and the
//! environment to running providers: the settings and their resolution
//! (each from code, then its variable, then its default), the plan that
//! resolution produces, and the assembly that reads only that plan.

pub(crate) mod assemble;
pub(crate) mod builder;
pub(crate) mod exporter;
pub(crate) mod plan;
pub(crate) mod propagators;
pub(crate) mod sampling;
pub(crate) mod settings;
pub(crate) mod views;
