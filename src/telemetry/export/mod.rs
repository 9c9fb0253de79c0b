//! The exporters, one file or folder each: OTLP (HTTP and gRPC), EMF lines,
//! X-Ray segment documents over UDP, the console summary and OTLP log
//! records.

pub(crate) mod console;
pub(crate) mod emf;
pub(crate) mod logs;
pub(crate) mod otlp;
pub(crate) mod xray;
