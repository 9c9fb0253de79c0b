//! EMF lines as the exporter writes them, and their check against the
//! CloudWatch Embedded Metric Format specification and a catalog.

use std::collections::BTreeSet;

use perfmon_lambda::Catalog;
use serde_json::Value;

use crate::SharedBuffer;

/// Every line written, parsed.
pub fn lines(buffer: &SharedBuffer) -> Vec<Value> {
    buffer
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is one JSON object"))
        .collect()
}

/// The EMF lines in what a function printed (its other lines skipped).
pub fn lines_in(output: &str) -> Vec<Value> {
    output
        .lines()
        .filter_map(|l| l.find("{\"_aws\"").map(|i| &l[i..]))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

const UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// Checks one line against the specification and the catalog.
pub fn check_line(line: &Value, catalog: &Catalog, now_ms: u64) {
    let root = line.as_object().expect("a JSON object");
    let aws = root["_aws"].as_object().expect("_aws metadata");
    let ts = aws["Timestamp"]
        .as_u64()
        .expect("Timestamp is ms since the epoch");
    assert!(ts.abs_diff(now_ms) < 60_000, "Timestamp {ts} is now, in ms");
    let directives = aws["CloudWatchMetrics"].as_array().unwrap();
    assert!(!directives.is_empty());
    let mut names_in_line = BTreeSet::new();
    for directive in directives {
        assert_eq!(directive["Namespace"], catalog.namespace);
        let sets: Vec<Vec<String>> =
            serde_json::from_value(directive["Dimensions"].clone()).unwrap();
        for set in &sets {
            assert!(!set.is_empty() && set.len() <= 30);
            for key in set {
                let value = root[key]
                    .as_str()
                    .unwrap_or_else(|| panic!("dimension {key} is a root string"));
                assert!(!value.is_empty() && value.len() <= 1024);
                assert!(
                    key != "traceId" && key != "requestId",
                    "ids are never dimensions"
                );
            }
        }
        let metrics = directive["Metrics"].as_array().unwrap();
        assert!(!metrics.is_empty() && metrics.len() <= 100);
        for metric in metrics {
            let name = metric["Name"].as_str().unwrap();
            assert!(
                names_in_line.insert(name.to_owned()),
                "{name} once per line"
            );
            let spec = catalog.metric(name).expect("only catalog metrics");
            assert_eq!(
                sets, spec.dimensions,
                "{name}: dimension sets exactly as declared"
            );
            let unit = metric["Unit"].as_str().unwrap();
            assert!(UNITS.contains(&unit), "{unit} is a CloudWatch unit");
            assert_eq!(unit, spec.unit.cloudwatch());
            // Standard resolution is the default; high resolution is 1.
            assert!(matches!(
                metric.get("StorageResolution").map(|r| r.as_u64()),
                None | Some(Some(1 | 60))
            ));
            match &root[name] {
                Value::Number(n) => assert!(n.as_f64().unwrap().is_finite()),
                Value::Object(d) => {
                    let values = d["Values"].as_array().unwrap();
                    let counts = d["Counts"].as_array().unwrap();
                    assert_eq!(values.len(), counts.len());
                    assert!(values.len() <= 100, "at most 100 values per line");
                    let total: u64 = counts.iter().map(|c| c.as_u64().unwrap()).sum();
                    assert_eq!(d["Count"].as_u64(), Some(total));
                    for key in ["Sum", "Min", "Max"] {
                        assert!(d[key].as_f64().unwrap().is_finite());
                    }
                    assert!(d["Min"].as_f64() <= d["Max"].as_f64());
                }
                other => panic!("{name} has value {other}"),
            }
        }
    }
    assert!(serde_json::to_string(line).unwrap().len() < 256 * 1024);
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// The directive of `line` that declares `metric`: a line may hold several.
pub fn directive_of<'a>(line: &'a Value, metric: &str) -> &'a Value {
    line["_aws"]["CloudWatchMetrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| {
            d["Metrics"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["Name"] == metric)
        })
        .unwrap_or_else(|| panic!("no directive declares {metric} in {line}"))
}
