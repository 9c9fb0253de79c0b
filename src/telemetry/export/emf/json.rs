//! The JSON of EMF lines, written by hand on the export path: strings,
//! numbers, and metric values (single values, or `Values`/`Counts`
//! distributions split into chunks of at most 100 pairs).

use super::MAX_VALUES_PER_METRIC;
use crate::telemetry::data::histogram::Distribution;

/// One metric value in a line.
pub(super) enum Datum {
    Single(f64),
    Distribution(Distribution),
}

/// Appends a finite number: a whole number (a count, bytes) as an integer,
/// any other in its shortest form that reads back as the same `f64`.
/// `Display` for `f64` costs several times more, at every point of every
/// flush.
pub(super) fn push_number(out: &mut String, v: f64) {
    /// Above 2^53 not every integer is an `f64`.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    if v.fract() == 0.0 && v.abs() < EXACT {
        out.push_str(itoa::Buffer::new().format(v as i64));
    } else {
        out.push_str(zmij::Buffer::new().format(v));
    }
}

/// Significant digits of a bucket midpoint: a bucket is about 1 % wide, so
/// more digits describe the bucket, not the values in it.
const MIDPOINT_DIGITS: usize = 6;

/// Appends `v` rounded to [`MIDPOINT_DIGITS`] significant digits, in its
/// shortest form.
fn push_midpoint(out: &mut String, v: f64) {
    push_number(out, super::significant::round(v, MIDPOINT_DIGITS));
}

impl Datum {
    /// How many values it takes: one for a single value, one per chunk of
    /// at most 100 pairs for a distribution.
    pub(super) fn chunks(&self) -> usize {
        match self {
            Datum::Distribution(d) if d.count != 1 && !d.pairs.is_empty() => {
                d.pairs.len().div_ceil(MAX_VALUES_PER_METRIC)
            }
            _ => 1,
        }
    }

    /// Appends value `i` of [`chunks`](Self::chunks) as JSON. Chunk counts
    /// add up to the whole; chunk sums are estimated from the midpoints
    /// except the last, which takes the remainder, so the sums add up
    /// exactly.
    pub(super) fn push_chunk(&self, out: &mut String, i: usize) {
        let d = match self {
            Datum::Single(v) => return push_number(out, *v),
            Datum::Distribution(d) => d,
        };
        if d.pairs.is_empty() {
            return push_distribution(out, &[], d.min, d.max, d.count, d.sum);
        }
        if d.count == 1 {
            // One observation: its exact value, as a plain number.
            return push_number(out, d.sum);
        }
        let chunk_sum = |c: &[(f64, u64)]| -> f64 { c.iter().map(|(v, n)| v * *n as f64).sum() };
        let mut chunks = d.pairs.chunks(MAX_VALUES_PER_METRIC);
        let last = self.chunks() - 1;
        let mut sum_left = d.sum;
        for _ in 0..i {
            sum_left -= chunks.next().map_or(0.0, chunk_sum);
        }
        let Some(chunk) = chunks.next() else {
            return;
        };
        let count: u64 = chunk.iter().map(|(_, c)| c).sum();
        let sum = if i == last {
            sum_left
        } else {
            chunk_sum(chunk)
        };
        let lo = if i == 0 { d.min } else { chunk[0].0 };
        let hi = if i == last {
            d.max
        } else {
            chunk[chunk.len() - 1].0
        };
        push_distribution(out, chunk, lo, hi, count, sum);
    }
}

fn push_distribution(
    out: &mut String,
    pairs: &[(f64, u64)],
    min: f64,
    max: f64,
    count: u64,
    sum: f64,
) {
    let mut int = itoa::Buffer::new();
    out.push_str("{\"Values\":[");
    for (i, (v, _)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_midpoint(out, *v);
    }
    out.push_str("],\"Counts\":[");
    for (i, (_, c)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(int.format(*c));
    }
    out.push_str("],\"Max\":");
    push_number(out, max);
    out.push_str(",\"Min\":");
    push_number(out, min);
    out.push_str(",\"Count\":");
    out.push_str(int.format(count));
    out.push_str(",\"Sum\":");
    push_number(out, sum);
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every value of `datum`, one string each.
    fn datum_values(datum: Datum) -> Vec<String> {
        (0..datum.chunks())
            .map(|i| {
                let mut out = String::new();
                datum.push_chunk(&mut out, i);
                out
            })
            .collect()
    }

    #[test]
    fn numbers_are_json_that_reads_back_the_same() {
        let text = |v: f64| {
            let mut out = String::new();
            push_number(&mut out, v);
            out
        };
        assert_eq!(text(3.0), "3");
        assert_eq!(text(-0.0), "0");
        assert_eq!(text(31_457_280.0), "31457280");
        assert_eq!(text(0.25), "0.25");
        for v in [
            1e-7,
            0.1 + 0.2,
            123.456,
            -2.5e300,
            9_007_199_254_740_993.0,
            1e20,
        ] {
            let parsed: f64 = serde_json::from_str(&text(v)).unwrap();
            assert_eq!(parsed, v, "{}", text(v));
        }
    }

    #[test]
    fn one_observation_is_its_exact_value_and_midpoints_keep_six_digits() {
        let one = datum_values(Datum::Distribution(Distribution {
            pairs: vec![(0.2059983157, 1)],
            min: 0.2061,
            max: 0.2061,
            count: 1,
            sum: 0.2061,
        }));
        assert_eq!(one, ["0.2061"]);
        let two = datum_values(Datum::Distribution(Distribution {
            pairs: vec![(0.20599831575465588, 1), (6_062_297.017004034, 1)],
            min: 0.2061,
            max: 6_062_300.0,
            count: 2,
            sum: 6062300.2061,
        }));
        assert_eq!(
            two,
            [
                r#"{"Values":[0.205998,6062300],"Counts":[1,1],"Max":6062300,"Min":0.2061,"Count":2,"Sum":6062300.2061}"#
            ]
        );
    }

    #[test]
    fn split_distributions_add_up() {
        let values: Vec<f64> = (1..=250).map(f64::from).collect();
        let counts = vec![2u64; 250];
        let sum: f64 = values.iter().map(|v| v * 2.0).sum();
        let parts = datum_values(Datum::Distribution(Distribution {
            pairs: values.into_iter().zip(counts).collect(),
            min: 1.0,
            max: 250.0,
            count: 500,
            sum,
        }));
        assert_eq!(parts.len(), 3);
        let parsed: Vec<serde_json::Value> = parts
            .iter()
            .map(|p| serde_json::from_str(p).unwrap())
            .collect();
        let total: u64 = parsed.iter().map(|p| p["Count"].as_u64().unwrap()).sum();
        let total_sum: f64 = parsed.iter().map(|p| p["Sum"].as_f64().unwrap()).sum();
        assert_eq!(total, 500);
        assert!((total_sum - sum).abs() < 1e-6);
        assert_eq!(parsed[0]["Min"], 1.0);
        assert_eq!(parsed[2]["Max"], 250.0);
        assert!(parsed
            .iter()
            .all(|p| p["Values"].as_array().unwrap().len() <= 100));
    }
}
