//! The exporters, one file or folder each: OTLP (HTTP and gRPC), EMF lines,
//! X-Ray segment documents over UDP, the console summary and OTLP log
//! records; and the one reading of the SDK's exported metric points, with
//! the histogram arithmetic they share.

pub(crate) mod console;
pub(crate) mod emf;
pub(crate) mod histogram;
pub(crate) mod logs;
pub(crate) mod otlp;
pub(crate) mod points;
pub(crate) mod xray;
