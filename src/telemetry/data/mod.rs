//! How perfmon reads the SDK's data: exported metric points in one walker,
//! histogram buckets as value/count pairs, and trace ids in X-Ray's form.

pub(crate) mod histogram;
pub(crate) mod ids;
pub(crate) mod points;
