//! The span and metric pipeline between the SDK and the exporters: the
//! privacy rules every span passes, one value per attribute
//! key, loss counted rather than silent, and same-thread export for the
//! collector-less path.

pub(crate) mod inline;
pub(crate) mod loss;
pub(crate) mod loss_report;
pub(crate) mod pipe;
pub(crate) mod privacy;
pub(crate) mod unique_keys;
