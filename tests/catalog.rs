//! Catalog loading: the chat and test catalogs match the JSON Schema, and
//! every kind of bad catalog gives a typed error naming every broken field
//! and its value.

use perfmon_lambda::{Catalog, CatalogError};
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
    let catalog = Catalog::from_json(CATALOG).unwrap();
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
            "a core metric redeclared",
            Box::new(|d| d["metrics"][0]["name"] = json!("HandlerDuration")),
            "metrics[0].name",
            "HandlerDuration",
            false,
        ),
        (
            "a key with neither values nor a bound",
            Box::new(|d| d["metrics"][0]["dimensions"] = json!([{"name": "ConnectionId"}])),
            "metrics[0].dimensions[0]",
            "ConnectionId",
            true,
        ),
        (
            "a metric filed under an unknown operation",
            Box::new(|d| d["metrics"][1]["operation"] = json!("websocket_chat")),
            "metrics[1].operation",
            "websocket_chat",
            false,
        ),
        (
            "too many series",
            Box::new(|d| {
                d["metrics"][0]["dimensions"] =
                    json!([{"name": "A", "max_values": 100}, {"name": "B", "max_values": 100}])
            }),
            "metrics[0].dimensions",
            "10201",
            false,
        ),
        (
            "a widget line with an undeclared value",
            Box::new(|d| {
                d["dashboards"][0]["widgets"][2]["lines"][1]["dimensions"]["Outcome"] =
                    json!("maybe")
            }),
            "dashboards[0].widgets[2].lines[1]",
            "maybe",
            false,
        ),
        (
            "an expression naming an unknown id",
            Box::new(|d| {
                d["dashboards"][0]["widgets"][2]["lines"][0]["expression"] =
                    json!("100 * ok / total")
            }),
            "dashboards[0].widgets[2].lines[0].expression",
            "total",
            false,
        ),
        (
            "duplicate operation",
            Box::new(|d| d["operations"][1]["name"] = json!("websocket_conversation")),
            "operations[1].name",
            "websocket_conversation",
            false,
        ),
        (
            "a client error with a 5xx status",
            Box::new(|d| d["operations"][0]["errors"][0]["status"] = json!(503)),
            "operations[0].errors[0].status",
            "503",
            true,
        ),
        (
            "a service error with a 4xx status",
            Box::new(|d| {
                d["operations"][0]["errors"] =
                    json!([{"code": "DATABASE_ERROR", "class": "service", "status": 404}])
            }),
            "operations[0].errors[0].status",
            "404",
            true,
        ),
        (
            "a code declared twice",
            Box::new(|d| {
                d["operations"][2]["errors"] = json!([
                    {"code": "INVALID_TOKEN", "class": "client"},
                    {"code": "INVALID_TOKEN", "class": "service"}
                ])
            }),
            "operations[2].errors[1].code",
            "INVALID_TOKEN",
            false,
        ),
        (
            "a dimension value CloudWatch refuses: not ASCII",
            Box::new(|d| d["metrics"][0]["dimensions"][0]["values"][1] = json!("café")),
            "metrics[0].dimensions[0].values[1]",
            "café",
            false,
        ),
        (
            "a dimension value of spaces only",
            Box::new(|d| d["metrics"][0]["dimensions"][0]["overflow"] = json!("   ")),
            "metrics[0].dimensions[0].overflow",
            "   ",
            false,
        ),
        (
            "a metric named as another metric's dimension key",
            Box::new(|d| d["metrics"][1]["name"] = json!("Outcome")),
            "metrics[1].name",
            "Outcome",
            false,
        ),
        (
            "a metric named as an EMF correlation field",
            Box::new(|d| d["metrics"][1]["name"] = json!("traceId")),
            "metrics[1].name",
            "traceId",
            false,
        ),
        (
            "an annotation key longer than X-Ray takes",
            Box::new(|d| d["indexed_attributes"] = json!(["perf_handler", "k".repeat(501)])),
            "indexed_attributes[1]",
            "kkkk",
            false,
        ),
        (
            "an annotation key with a dot, which the two X-Ray paths spell differently",
            Box::new(|d| d["indexed_attributes"] = json!(["perf_handler", "perf.outcome"])),
            "indexed_attributes[1]",
            "perf.outcome",
            true,
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

#[test]
fn every_problem_is_reported_at_once() {
    let (result, _) = load_edited(|d| {
        d["version"] = json!(0);
        d["operations"][0]["thresholds"]["duration_ms"] = json!(-5);
        d["teams"][0]["operations"][0] = json!("nowhere");
        d["dashboards"][0]["widgets"][0]["stat"] = json!("Median");
    });
    let err = result.unwrap_err();
    let fields: Vec<&str> = err.problems().iter().map(|p| p.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "version",
            "operations[0].thresholds.duration_ms",
            "dashboards[0].widgets[0].stat",
            "teams[0].operations[0]"
        ],
        "{err}"
    );
    let text = err.to_string();
    for value in ["0", "-5", "\"nowhere\"", "\"Median\""] {
        assert!(text.contains(value), "{text} should quote {value}");
    }
}

#[test]
fn the_test_catalog_of_another_application_satisfies_the_schema() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/orders.catalog.json"
    ))
    .unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let errors: Vec<String> = schema().iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let catalog = Catalog::from_json(&text).unwrap();
    assert_eq!(
        catalog.metrics().len(),
        7 + 4,
        "core metrics plus the catalog's own"
    );
}
