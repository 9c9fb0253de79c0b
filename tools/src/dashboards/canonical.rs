//! Generated JSON in one byte order: every object's keys sorted, whatever
//! order `serde_json`'s map keeps (insertion order in a build where any
//! crate turns on `serde_json/preserve_order`, sorted otherwise).

use serde_json::Value;

/// `value` with the keys of each of its objects in sorted order.
pub(crate) fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&map[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}
