//! Metric views derived from the catalog.
//!
//! - Every catalog histogram is a base-2 exponential histogram, so that
//!   CloudWatch can compute p50/p90/p99 from the exported distribution.
//!
//! Counters and gauges get no view: their attributes are set only by the
//! library (core metrics) and by the catalog's typed handles, which set
//! exactly the declared keys, so an attribute filter in the SDK would cost
//! every record and drop nothing.

use std::collections::HashSet;
use std::sync::Arc;

use opentelemetry_sdk::metrics::{
    Aggregation, Instrument as SdkInstrument, MeterProviderBuilder, Stream,
};

use crate::catalog::{Catalog, Instrument};

/// Most buckets per exponential histogram point. With 1024 buckets a range
/// of 1 ms to 5 s (12.3 octaves) keeps scale 6: buckets 1.1 % wide, so a
/// bucket midpoint is within 0.55 % of any value in it.
pub const HISTOGRAM_MAX_BUCKETS: u32 = 1024;
/// Finest exponential histogram scale (the SDK's maximum); the scale only
/// drops as the recorded range widens.
pub const HISTOGRAM_MAX_SCALE: i8 = 20;

pub(crate) fn apply(builder: MeterProviderBuilder, catalog: &Catalog) -> MeterProviderBuilder {
    let histograms: Arc<HashSet<String>> = Arc::new(
        catalog
            .metrics()
            .iter()
            .filter(|m| m.instrument == Instrument::Histogram)
            .map(|m| m.name.clone())
            .collect(),
    );
    builder.with_view(move |inst: &SdkInstrument| {
        if !histograms.contains(inst.name()) {
            return None;
        }
        Stream::builder()
            .with_aggregation(Aggregation::Base2ExponentialHistogram {
                max_size: HISTOGRAM_MAX_BUCKETS,
                max_scale: HISTOGRAM_MAX_SCALE,
                record_min_max: true,
            })
            .build()
            .ok()
    })
}
