use crate::catalog::Instrument;

/// Why a custom metric handle could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetricError {
    /// The catalog declares no metric of that name.
    #[error("metric {name} is not declared in the catalog's metrics")]
    NotDeclared {
        /// The name asked for.
        name: String,
    },
    /// The catalog declares it with another instrument.
    #[error("metric {name} is declared as a {declared}, not a {requested}")]
    WrongInstrument {
        /// The metric.
        name: String,
        /// Its instrument in the catalog.
        declared: Instrument,
        /// The handle asked for.
        requested: Instrument,
    },
    /// The handle takes another number of dimension values than the
    /// metric has keys.
    #[error("metric {name} has {declared} dimension keys, the handle takes {given}")]
    WrongArity {
        /// The metric.
        name: String,
        /// How many keys the catalog declares.
        declared: usize,
        /// How many values the handle takes.
        given: usize,
    },
}
