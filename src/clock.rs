//! The wall clock, in the units the telemetry and the app use.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Seconds since the Unix epoch.
pub fn now_seconds() -> i64 {
    now_ms() / 1000
}

/// A duration in milliseconds, as the `Milliseconds` metrics record it:
/// one correctly rounded division, so 105,201,388 ns prints as
/// `105.201388`. (`as_secs_f64() * 1000.0` rounds twice and prints
/// `105.20138800000001`, eight more bytes on every EMF line.)
pub fn millis(duration: Duration) -> f64 {
    duration.as_nanos() as f64 / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_print_as_short_as_the_nanoseconds_allow() {
        let d = Duration::from_nanos(105_201_388);
        assert_eq!(millis(d).to_string(), "105.201388");
        assert_ne!((d.as_secs_f64() * 1000.0).to_string(), "105.201388");
        assert_eq!(millis(Duration::from_millis(25)).to_string(), "25");
        assert_eq!(millis(Duration::from_nanos(1)).to_string(), "0.000001");
    }
}
