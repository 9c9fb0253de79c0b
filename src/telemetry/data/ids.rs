//! Trace and span ids in X-Ray's form: a trace id's first 32 bits are its
//! start time in seconds, the other 96 random, so X-Ray accepts every trace
//! perfmon starts (it refuses ids whose time is more than 30 days old).
//!
//! `opentelemetry_aws::trace::XrayIdGenerator` builds the same ids through
//! two formatted strings and a hex parse for every new trace; this one
//! shifts the time into a random id (`benches/ids.rs` compares the two in
//! one run). A trace id is made for every root span, sampled or not, so a
//! server without an incoming trace header pays it on every request.

use std::time::UNIX_EPOCH;

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};

/// X-Ray trace ids and random span ids.
#[derive(Debug, Default)]
pub struct XrayIds {
    random: RandomIdGenerator,
}

/// The random part of an X-Ray trace id.
pub(crate) const RANDOM_BITS: u32 = 96;

/// The start time, in seconds since the epoch, an X-Ray trace id carries in
/// its first 32 bits.
pub(crate) fn start_seconds(id: TraceId) -> u64 {
    (u128::from_be_bytes(id.to_bytes()) >> RANDOM_BITS) as u64
}

impl IdGenerator for XrayIds {
    fn new_trace_id(&self) -> TraceId {
        let seconds = opentelemetry::time::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let random = u128::from_be_bytes(self.random.new_trace_id().to_bytes());
        let time = u128::from(seconds as u32) << RANDOM_BITS;
        TraceId::from(time | (random >> (128 - RANDOM_BITS)))
    }

    fn new_span_id(&self) -> SpanId {
        self.random.new_span_id()
    }
}

/// Lower-case hex digits.
const HEX: &[u8; 16] = b"0123456789abcdef";

/// `bytes` as hex digits, two to a byte, into `out` (twice as long).
fn hex_into(bytes: &[u8], out: &mut [u8]) {
    for (b, digits) in bytes.iter().zip(out.chunks_exact_mut(2)) {
        digits[0] = HEX[usize::from(b >> 4)];
        digits[1] = HEX[usize::from(b & 0xf)];
    }
}

/// A trace id in X-Ray's form, `1-xxxxxxxx-yyyyyyyyyyyyyyyyyyyyyyyy`: its
/// time part, then its random part, in hex. The one spelling behind
/// [`crate::xray_trace_id`], log lines' `traceId` and segment documents.
pub(crate) fn xray_form(id: TraceId) -> [u8; 35] {
    let bytes = id.to_bytes();
    let mut out = *b"1-00000000-000000000000000000000000";
    hex_into(&bytes[..4], &mut out[2..10]);
    hex_into(&bytes[4..], &mut out[11..]);
    out
}

/// A span id as X-Ray writes it: 16 lower-case hex digits.
pub(crate) fn span_hex(id: SpanId) -> [u8; 16] {
    let mut out = [0; 16];
    hex_into(&id.to_bytes(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trace_id_starts_with_the_time_and_has_96_random_bits() {
        let ids = XrayIds::default();
        let before = opentelemetry::time::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let a = u128::from_be_bytes(ids.new_trace_id().to_bytes());
        let b = u128::from_be_bytes(ids.new_trace_id().to_bytes());
        let after = opentelemetry::time::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        for id in [a, b] {
            let time = start_seconds(TraceId::from(id));
            assert!((before..=after).contains(&time), "{id:032x}");
        }
        let random = |id: u128| id & ((1 << RANDOM_BITS) - 1);
        assert_ne!(random(a), random(b));
        assert_ne!(random(a), 0);
        // The X-Ray form of the id reads the time back.
        let text = crate::xray_trace_id(TraceId::from(a));
        assert_eq!(
            u64::from_str_radix(&text[2..10], 16).unwrap(),
            start_seconds(TraceId::from(a))
        );
        assert_ne!(ids.new_span_id(), SpanId::INVALID);
    }

    #[test]
    fn ids_are_spelled_as_x_ray_spells_them() {
        let id = TraceId::from_hex("5759e988bd862e3fe1be46a994272793").unwrap();
        assert_eq!(&xray_form(id), b"1-5759e988-bd862e3fe1be46a994272793");
        assert_eq!(&span_hex(SpanId::from(0xc8)), b"00000000000000c8");
    }
}
