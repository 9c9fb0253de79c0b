//! From a [`TelemetryBuilder`](builder::TelemetryBuilder) and the
//! environment to running providers: the settings and their resolution
//! (each from code, then its variable, then its default), the plan that
//! resolution produces, and the assembly that reads only that plan.

pub(crate) mod assemble;
pub(crate) mod builder;
pub(crate) mod plan;
pub(crate) mod resolve;
pub(crate) mod sampling;
pub(crate) mod views;

use crate::env;
use crate::telemetry::error::BuildError;
use crate::telemetry::setup::assemble::assemble;
use crate::telemetry::setup::builder::TelemetryBuilder;
use crate::telemetry::setup::plan::Plan;
use crate::telemetry::Telemetry;

impl TelemetryBuilder {
    /// Resolves the configuration into one plan and starts the pipeline
    /// it describes.
    pub fn build(mut self) -> Result<Telemetry, BuildError> {
        assemble(Plan::resolve(&mut self)?)
    }

    /// Like [`build`](Self::build), but a telemetry setting in the
    /// environment that is not valid never stops the process: the pipeline
    /// is built as if no `OTEL_*` or `PERFMON_*` variable were set (the
    /// collector-less defaults on Lambda: EMF and X-Ray), keeping what code
    /// set, and the error is returned beside it, to be logged. An error
    /// that remains without the variables (a catalog given in code that is
    /// not valid, a thread that cannot start) is returned as the error.
    pub fn build_or_fallback(mut self) -> Result<(Telemetry, Option<BuildError>), BuildError> {
        match Plan::resolve(&mut self) {
            Ok(plan) => Ok((assemble(plan)?, None)),
            Err(error) => env::without_telemetry_vars(|| {
                let plan = Plan::resolve(&mut self)?;
                Ok((assemble(plan)?, Some(error)))
            }),
        }
    }
}
