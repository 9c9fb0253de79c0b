//! Looking through bytes eight at a time, for the scans that run over every
//! attribute value of every recorded span: most values hold none of the
//! bytes sought, and a word at a time says so in a few instructions.

const ONES: u64 = u64::from_le_bytes([1; 8]);
const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);

/// Whether any byte of `bytes` is one that `word_holds` finds in a word and
/// `byte_is` in a byte (the two must agree).
pub(crate) fn any_byte(
    bytes: &[u8],
    word_holds: impl Fn(u64) -> bool,
    byte_is: impl Fn(u8) -> bool,
) -> bool {
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        if word_holds(u64::from_le_bytes(word.try_into().unwrap_or_default())) {
            return true;
        }
    }
    words.remainder().iter().any(|&b| byte_is(b))
}

/// Whether `bytes` hold `b`.
pub(crate) fn contains(bytes: &[u8], b: u8) -> bool {
    any_byte(bytes, |word| holds(word, b), |x| x == b)
}

/// Whether a byte of `word` is `b`: a byte of `word ^ b` is zero.
pub(crate) fn holds(word: u64, b: u8) -> bool {
    below(word ^ (ONES * u64::from(b)), 1)
}

/// Whether a byte of `word` is below `n` (at most 128). Exact: a borrow
/// only starts at a byte below `n`.
pub(crate) fn below(word: u64, n: u8) -> bool {
    word.wrapping_sub(ONES * u64::from(n)) & !word & HIGHS != 0
}

/// Whether `s` goes into a JSON string as it is: no control character,
/// quote or backslash.
pub(crate) fn escape_free(s: &str) -> bool {
    !any_byte(
        s.as_bytes(),
        |word| below(word, 0x20) || holds(word, b'"') || holds(word, b'\\'),
        |b| b < 0x20 || b == b'"' || b == b'\\',
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Each word test agrees with a look at each byte.
        #[test]
        fn word_tests_agree_with_byte_tests(bytes: [u8; 8], b: u8, n in 0u8..=128) {
            let word = u64::from_le_bytes(bytes);
            proptest::prop_assert_eq!(holds(word, b), bytes.contains(&b));
            proptest::prop_assert_eq!(below(word, n), bytes.iter().any(|&x| x < n));
        }
    }

    #[test]
    fn every_position_is_seen_in_words_and_the_rest() {
        for len in 0..20 {
            for at in 0..len {
                let mut bytes = vec![b'x'; len];
                bytes[at] = b'@';
                assert!(any_byte(&bytes, |w| holds(w, b'@'), |b| b == b'@'));
            }
            let none = vec![b'x'; len];
            assert!(!any_byte(&none, |w| holds(w, b'@'), |b| b == b'@'));
        }
    }
}
