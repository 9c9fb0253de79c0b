//! Metric views derived from the catalog.
//!
//! - Every catalog histogram is a base-2 exponential histogram, so that
//!   CloudWatch can compute p50/p90/p99 from the exported distribution.
//! - Every catalog metric keeps only the attribute keys of its declared
//!   dimension sets; anything else a caller records is dropped by the SDK,
//!   so no id can become a dimension. The monitor's core instruments and
//!   the catalog's typed handles record under [`CATALOG_SCOPE`] and set
//!   exactly the declared keys, so their instruments skip the filter, which
//!   would cost every record.

use std::collections::HashMap;
use std::sync::Arc;

use opentelemetry::Key;
use opentelemetry_sdk::metrics::{
    Aggregation, Instrument as SdkInstrument, MeterProviderBuilder, Stream,
};

use crate::catalog::{Catalog, Instrument};
use crate::telemetry::CATALOG_SCOPE;

/// Most buckets per exponential histogram point. With 1024 buckets a range
/// of 1 ms to 5 s (12.3 octaves) keeps scale 6: buckets 1.1 % wide, so a
/// bucket midpoint is within 0.55 % of any value in it.
pub const HISTOGRAM_MAX_BUCKETS: u32 = 1024;
/// Finest exponential histogram scale: buckets 1.1 % wide, the precision a
/// typical range keeps anyway. The scale only drops as the recorded range
/// widens (beyond 16 octaves at 1024 buckets). Each exported point starts
/// again at this scale, and a finer start (the SDK's maximum, 20) makes
/// every point rescale and reallocate its buckets as its first values
/// arrive: at 200 values a point, about 650 instructions a record against
/// 400 at scale 6 (callgrind). With one value a point, as on Lambda, the
/// midpoint is clamped to the exact value either way.
pub const HISTOGRAM_MAX_SCALE: i8 = 6;

pub(crate) fn apply(builder: MeterProviderBuilder, catalog: &Catalog) -> MeterProviderBuilder {
    let specs: Arc<HashMap<String, (Instrument, Vec<Key>)>> = Arc::new(
        catalog
            .metrics()
            .iter()
            .map(|m| {
                let mut keys: Vec<Key> = m
                    .dimensions
                    .iter()
                    .flatten()
                    .map(|k| Key::from(k.clone()))
                    .collect();
                keys.sort();
                keys.dedup();
                (m.name.clone(), (m.instrument, keys))
            })
            .collect(),
    );
    builder.with_view(move |inst: &SdkInstrument| {
        let (instrument, keys) = specs.get(inst.name())?;
        let from_handle = inst.scope().name() == CATALOG_SCOPE;
        if from_handle && *instrument != Instrument::Histogram {
            return None;
        }
        let mut stream = Stream::builder();
        if !from_handle {
            stream = stream.with_allowed_attribute_keys(keys.iter().cloned());
        }
        if *instrument == Instrument::Histogram {
            stream = stream.with_aggregation(Aggregation::Base2ExponentialHistogram {
                max_size: HISTOGRAM_MAX_BUCKETS,
                max_scale: HISTOGRAM_MAX_SCALE,
                record_min_max: true,
            });
        }
        stream.build().ok()
    })
}
