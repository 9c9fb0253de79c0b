//! Catalog loading: the embedded catalog matches its schema, and every kind
//! of bad catalog gives a typed error naming the field and the value.

use perfmon::{Catalog, CatalogError};
use serde_json::{json, Value};

const CATALOG: &str = include_str!("../dashboards/catalog.json");
const SCHEMA: &str = include_str!("../dashboards/catalog.schema.json");

fn schema() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(SCHEMA).unwrap();
    jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema")
}

fn catalog_json() -> Value {
    serde_json::from_str(CATALOG).unwrap()
}

/// Applies `edit` to the embedded catalog and loads the result.
fn load_edited(edit: impl FnOnce(&mut Value)) -> (Result<Catalog, CatalogError>, bool) {
    let mut doc = catalog_json();
    edit(&mut doc);
    let schema_ok = schema().is_valid(&doc);
    (Catalog::from_json(&doc.to_string()), schema_ok)
}

#[test]
fn the_embedded_catalog_satisfies_its_schema_and_loads() {
    let doc = catalog_json();
    let errors: Vec<String> = schema().iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let catalog = Catalog::embedded();
    assert_eq!(catalog, Catalog::from_json(CATALOG).unwrap());
    assert_eq!(catalog.version, doc["version"].as_u64().unwrap() as u32);
    assert_eq!(
        catalog.metric("HandlerDuration").unwrap().unit.cloudwatch(),
        "Milliseconds"
    );
}

#[test]
fn a_catalog_file_can_be_loaded_from_disk() {
    let dir = std::env::temp_dir().join(format!("perfmon-catalog-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("catalog.json");
    let mut doc = catalog_json();
    doc["namespace"] = json!("Chat/Staging");
    std::fs::write(&path, doc.to_string()).unwrap();
    assert_eq!(Catalog::from_path(&path).unwrap().namespace, "Chat/Staging");
    let missing = Catalog::from_path(dir.join("absent.json")).unwrap_err();
    assert!(matches!(missing, CatalogError::Io { .. }), "{missing}");
    std::fs::remove_dir_all(dir).ok();
}

/// Each case: an edit, the field the error must name, a value it must quote,
/// and whether the JSON Schema also rejects it.
#[test]
fn bad_catalogs_name_the_field_and_value() {
    type Edit = Box<dyn FnOnce(&mut Value)>;
    let cases: Vec<(&str, Edit, &str, &str, bool)> = vec![
        (
            "unknown unit",
            Box::new(|d| d["metrics"][0]["unit"] = json!("Millis")),
            "metrics[0].unit",
            "Millis",
            true,
        ),
        (
            "wrong type",
            Box::new(|d| d["operations"][1]["thresholds"]["duration_ms"] = json!("fast")),
            "operations[1].thresholds.duration_ms",
            "fast",
            true,
        ),
        (
            "negative threshold",
            Box::new(|d| d["operations"][2]["thresholds"]["duration_ms"] = json!(-5)),
            "operations[2].thresholds.duration_ms",
            "-5",
            true,
        ),
        (
            "error rate over 100",
            Box::new(|d| d["operations"][0]["thresholds"]["error_rate_percent"] = json!(150)),
            "operations[0].thresholds.error_rate_percent",
            "150",
            true,
        ),
        (
            "reserved namespace",
            Box::new(|d| d["namespace"] = json!("AWS/Lambda")),
            "namespace",
            "AWS/Lambda",
            true,
        ),
        (
            "version zero",
            Box::new(|d| d["version"] = json!(0)),
            "version",
            "0",
            true,
        ),
        (
            "unknown field",
            Box::new(|d| d["operations"][0]["owner"] = json!("team-a")),
            "operations[0].owner",
            "owner",
            true,
        ),
        (
            "empty dimension set",
            Box::new(|d| d["metrics"][0]["dimensions"] = json!([[]])),
            "metrics[0].dimensions[0]",
            "[]",
            true,
        ),
        (
            "bad dimension name",
            Box::new(|d| d["metrics"][6]["dimensions"][0][2] = json!("Message Type")),
            "metrics[6].dimensions[0][2]",
            "Message Type",
            true,
        ),
        (
            "duplicate metric",
            Box::new(|d| d["metrics"][1]["name"] = json!("HandlerDuration")),
            "metrics[1].name",
            "HandlerDuration",
            false,
        ),
        (
            "a metric the code records is missing",
            Box::new(|d| {
                d["metrics"].as_array_mut().unwrap().remove(2);
            }),
            "metrics",
            "Invocations",
            false,
        ),
        (
            "a dimension the code does not record",
            Box::new(|d| {
                d["metrics"][0]["dimensions"] = json!([["Handler", "Environment", "ConnectionId"]])
            }),
            "metrics[0].dimensions",
            "ConnectionId",
            false,
        ),
        (
            "instrument differs from the code",
            Box::new(|d| d["metrics"][2]["instrument"] = json!("histogram")),
            "metrics[2].instrument",
            "histogram",
            false,
        ),
        (
            "duplicate operation",
            Box::new(|d| d["operations"][1]["name"] = json!("websocket_conversation")),
            "operations[1].name",
            "websocket_conversation",
            false,
        ),
    ];
    for (label, edit, field, value, schema_rejects) in cases {
        let (result, schema_ok) = load_edited(edit);
        let err = result.expect_err(label);
        assert_eq!(err.field(), Some(field), "{label}: {err}");
        let text = err.to_string();
        assert!(text.contains(value), "{label}: {text} should quote {value}");
        if schema_rejects {
            assert!(!schema_ok, "{label}: the schema should reject it too");
        }
    }
}

#[test]
fn malformed_json_is_a_parse_error_not_a_panic() {
    for text in ["", "{", "[]", "null", "{\"version\": 1}", "\u{0}"] {
        let err = Catalog::from_json(text).unwrap_err();
        assert!(matches!(err, CatalogError::Parse { .. }), "{text:?}: {err}");
    }
}
