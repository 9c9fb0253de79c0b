//! One value per attribute key on a span. The SDK appends every attribute
//! set, so a key given at an operation's start and again at its completion
//! would be exported twice, and a backend keeps whichever it likes; the
//! specification asks for unique keys, the last value set winning.

use opentelemetry::KeyValue;

/// Removes every attribute whose key is set again later in `attributes`,
/// keeping the order of the rest. Spans carry a dozen attributes or so,
/// so the quadratic scan costs less than a set would.
pub(crate) fn keep_last(attributes: &mut Vec<KeyValue>) {
    let mut i = attributes.len();
    while i > 1 {
        i -= 1;
        let key = &attributes[i - 1].key;
        if attributes[i..].iter().any(|kv| &kv.key == key) {
            attributes.remove(i - 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_value_of_a_key_wins_and_order_is_kept() {
        let mut attributes = vec![
            KeyValue::new("a", 1),
            KeyValue::new("b", "start"),
            KeyValue::new("c", true),
            KeyValue::new("b", "end"),
            KeyValue::new("a", 2),
        ];
        keep_last(&mut attributes);
        assert_eq!(
            attributes,
            vec![
                KeyValue::new("c", true),
                KeyValue::new("b", "end"),
                KeyValue::new("a", 2),
            ]
        );
        let mut none: Vec<KeyValue> = Vec::new();
        keep_last(&mut none);
        assert!(none.is_empty());
    }
}
