//! Rounding to significant digits, as `format!("{v:.N$e}")` read back would,
//! at a fraction of its cost: that formats the exact binary value with big
//! integers, and it ran for every bucket midpoint of every flush.
//!
//! The shortest digits that read back as `v` (zmij) are rounded instead.
//! Both round the same way: a rounding boundary at `digits + 1` digits lies
//! between `v` and its shortest digits only if the boundary itself reads
//! back as `v`, and then it would be the shortest digits. The one case left,
//! shortest digits that end exactly on the boundary (a tie), takes the
//! exact path.

/// `v` rounded to `digits` significant digits (1 to 16), the same `f64` as
/// `format!("{v:.prec$e}", prec = digits - 1).parse()`.
pub(super) fn round(v: f64, digits: usize) -> f64 {
    if !v.is_finite() || !(1..=16).contains(&digits) {
        return v;
    }
    let mut shortest = zmij::Buffer::new();
    let text = shortest.format_finite(v).as_bytes();
    // v = 0.d1 d2 ... dn x 10^exponent
    let mut d = [0u8; 24];
    let mut n = 0;
    let mut exponent: i32 = 0;
    let mut after_point = false;
    let mut i = usize::from(text.first() == Some(&b'-'));
    while let Some(&c) = text.get(i) {
        match c {
            b'.' => after_point = true,
            b'0'..=b'9' if n == 0 && c == b'0' => exponent -= i32::from(after_point),
            b'0'..=b'9' => {
                if n < d.len() {
                    d[n] = c - b'0';
                    n += 1;
                }
                exponent += i32::from(!after_point);
            }
            _ => break,
        }
        i += 1;
    }
    if text.get(i).is_some_and(|c| matches!(c, b'e' | b'E')) {
        let (sign, rest) = match text.get(i + 1) {
            Some(b'-') => (-1, &text[i + 2..]),
            Some(b'+') => (1, &text[i + 2..]),
            _ => (1, &text[i + 1..]),
        };
        if rest.is_empty() || rest.len() > 4 || !rest.iter().all(u8::is_ascii_digit) {
            return exact(v, digits);
        }
        exponent += sign * rest.iter().fold(0i32, |e, &c| e * 10 + i32::from(c - b'0'));
    }
    if n <= digits {
        return v;
    }
    // A 5 and only zeros after the kept digits (zeros of a whole number's
    // units) is exactly halfway in the shortest digits.
    if d[digits] == 5 && d[digits + 1..n].iter().all(|&z| z == 0) {
        return exact(v, digits);
    }
    if d[digits] >= 5 {
        let mut k = digits;
        loop {
            if k == 0 {
                // 9.99..95 -> 10.0: one more digit before the point.
                d[0] = 1;
                exponent += 1;
                break;
            }
            k -= 1;
            if d[k] == 9 {
                d[k] = 0;
            } else {
                d[k] += 1;
                break;
            }
        }
    }
    // v rounded = m x 10^e, m the kept digits as an integer. Both are exact
    // doubles while m < 2^53 and |e| <= 22, and then one multiplication or
    // division rounds correctly (Clinger's fast path), as parsing would.
    let m = d[..digits]
        .iter()
        .fold(0u64, |m, &digit| m * 10 + u64::from(digit));
    let e = exponent - digits as i32;
    let magnitude = match POWERS_OF_TEN.get(e.unsigned_abs() as usize) {
        Some(&p) if m < 1 << 53 && e >= 0 => m as f64 * p,
        Some(&p) if m < 1 << 53 => m as f64 / p,
        _ => match format!("{m}e{e}").parse::<f64>() {
            Ok(parsed) => parsed,
            Err(_) => return exact(v, digits),
        },
    };
    if v < 0.0 {
        -magnitude
    } else {
        magnitude
    }
}

/// 10^0 to 10^22, every one an exact `f64`.
const POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The exact path: the exact decimal expansion, rounded half to even.
fn exact(v: f64, digits: usize) -> f64 {
    format!("{v:.prec$e}", prec = digits - 1)
        .parse()
        .unwrap_or(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(v: f64, digits: usize) {
        assert_eq!(
            round(v, digits).to_bits(),
            exact(v, digits).to_bits(),
            "{v:e} to {digits} digits: {} against {}",
            round(v, digits),
            exact(v, digits)
        );
    }

    #[test]
    fn rounds_like_the_exact_decimal_expansion() {
        // Values spread over every exponent (random bit patterns), and
        // over the ranges durations and sizes take.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..200_000 {
            let bits = next();
            let v = f64::from_bits(bits);
            if !v.is_finite() {
                continue;
            }
            let typical = 1e-3 * (30.0 * (bits >> 11) as f64 / (1u64 << 53) as f64).exp();
            for digits in [1, 6, 15] {
                check(v, digits);
                check(typical, digits);
                check(-typical, digits);
            }
        }
    }

    #[test]
    fn ties_carries_and_edges() {
        for v in [
            1.234565,
            0.1234565,
            2.5000005,
            9.999995,
            9.9999951,
            999999.5,
            0.0000999995,
            12345650.0,
            12345750.0,
            1.5e22,
            2.5e21,
            1e-320,
            5e-324,
            1.7976931348623157e308,
            0.0,
            -0.0,
            1.0,
            123456.0,
            1234567.0,
        ] {
            for digits in 1..=16 {
                check(v, digits);
            }
        }
        assert!(round(f64::NAN, 6).is_nan());
        assert_eq!(round(f64::INFINITY, 6), f64::INFINITY);
    }
}
