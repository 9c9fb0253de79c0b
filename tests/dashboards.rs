//! Dashboards and alarms generated from the catalog: committed files equal
//! what the catalog generates, every file carries the catalog version, the
//! bodies and alarms are what CloudWatch accepts, and every metric they
//! refer to is one the code really emits, with exactly those dimensions.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::TestTelemetry;
use perfmon::dashboards::{self, validate, Kind, GENERATED_DIR, REGENERATE};
use perfmon::{
    AuthOutcome, Catalog, ConnectionEvent, DisconnectReason, MessageType, VerificationOutcome,
};
use serde_json::{json, Value};

fn generated() -> Vec<dashboards::Generated> {
    dashboards::generate(&Catalog::embedded())
}

#[test]
fn committed_files_match_the_catalog() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(GENERATED_DIR);
    let drifted = dashboards::drifted(&Catalog::embedded(), &dir);
    assert!(
        drifted.is_empty(),
        "{drifted:?} differ from dashboards/catalog.json: run `{REGENERATE}` and commit"
    );
}

#[test]
fn every_file_carries_the_catalog_version() {
    let version = Catalog::embedded().version;
    for file in generated() {
        match file.kind {
            Kind::Dashboard => {
                let header = file.json["widgets"][0]["properties"]["markdown"]
                    .as_str()
                    .unwrap();
                assert!(
                    header.contains(&format!("version {version}")),
                    "{}",
                    file.name
                );
            }
            Kind::Alarms => {
                assert_eq!(file.json["catalogVersion"], version);
                for alarm in file.json["alarms"].as_array().unwrap() {
                    let description = alarm["AlarmDescription"].as_str().unwrap();
                    assert!(description.contains(&format!("catalog version {version}")));
                }
            }
            Kind::Template => {
                assert_eq!(file.json["Metadata"]["perfmon"]["catalogVersion"], version);
                assert!(file.json["Description"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("version {version}")));
            }
        }
    }
}

#[test]
fn dashboards_and_alarms_have_the_documented_structure() {
    let files = generated();
    let names: Vec<_> = files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "performance.dashboard.json",
            "business.dashboard.json",
            "team-realtime.dashboard.json",
            "team-identity.dashboard.json",
            "team-chat.dashboard.json",
            "alarms.json",
            "cloudformation.json"
        ]
    );
    for file in &files {
        match file.kind {
            Kind::Dashboard => {
                let problems = validate::dashboard(&file.json);
                assert!(problems.is_empty(), "{}: {problems:#?}", file.name);
            }
            Kind::Alarms => {
                let alarms = file.json["alarms"].as_array().unwrap();
                assert_eq!(alarms.len(), 3 * Catalog::embedded().operations.len());
                for alarm in alarms {
                    let problems = validate::alarm(alarm);
                    assert!(problems.is_empty(), "{problems:#?}");
                }
            }
            Kind::Template => {
                // Every DashboardBody in the template is the body of its file.
                for (id, resource) in file.json["Resources"].as_object().unwrap() {
                    if resource["Type"] == "AWS::CloudWatch::Dashboard" {
                        let body = resource["Properties"]["DashboardBody"]["Fn::Sub"]
                            .as_str()
                            .unwrap();
                        let body: Value = serde_json::from_str(body).unwrap();
                        assert!(validate::dashboard(&body).is_empty(), "{id}");
                        assert!(
                            files.iter().any(|f| f.json == body),
                            "{id} matches a generated body"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn the_validator_catches_what_cloudwatch_refuses() {
    let widget = |metrics: Value| {
        json!({"widgets": [{"type": "metric", "x": 0, "y": 0, "width": 12, "height": 6,
            "properties": {"region": "us-east-1", "period": 60, "stat": "Sum", "metrics": metrics}}]})
    };
    let unknown_id =
        widget(json!([[{"expression": "100 * e / n", "id": "r"}], ["NS", "Errors", {"id": "e"}]]));
    assert!(validate::dashboard(&unknown_id)
        .iter()
        .any(|p| p.contains("unknown id n")));
    let too_many = widget(Value::Array(vec![json!(["NS", "M"]); 101]));
    assert!(validate::dashboard(&too_many)
        .iter()
        .any(|p| p.contains("at most 100")));
    let off_grid = json!({"widgets": [{"type": "text", "x": 20, "y": 0, "width": 8, "height": 2, "properties": {"markdown": "x"}}]});
    assert!(!validate::dashboard(&off_grid).is_empty());
    let bad_stat = widget(json!([["NS", "M", {"stat": "Median"}]]));
    assert!(!validate::dashboard(&bad_stat).is_empty());

    let mut alarm = generated()
        .into_iter()
        .find(|f| f.kind == Kind::Alarms)
        .unwrap()
        .json["alarms"][2]
        .clone();
    assert!(validate::alarm(&alarm).is_empty());
    alarm["MetricName"] = json!("Errors");
    assert!(validate::alarm(&alarm)
        .iter()
        .any(|p| p.contains("not allowed with Metrics")));
    alarm.as_object_mut().unwrap().remove("MetricName");
    alarm["Metrics"][0]["ReturnData"] = json!(true);
    assert!(validate::alarm(&alarm)
        .iter()
        .any(|p| p.contains("exactly one")));
}

/// (metric, dimensions) of every point the code emits for every completion
/// variant and every business-metric value.
fn emitted() -> Vec<(String, BTreeMap<String, String>)> {
    let t = TestTelemetry::new();
    let m = &t.monitor;
    for op in Catalog::embedded().operations {
        m.start(&op.name, []).complete(true, []);
        m.start(&op.name, []).fail("SOME_ERROR", []);
        m.start(&op.name, []).complete(false, []);
        drop(m.start(&op.name, []));
    }
    let b = m.business();
    MessageType::ALL.iter().for_each(|v| b.message(*v));
    AuthOutcome::ALL.iter().for_each(|v| b.auth_message(*v));
    ConnectionEvent::ALL.iter().for_each(|v| b.connection(*v));
    DisconnectReason::ALL.iter().for_each(|v| b.disconnect(*v));
    VerificationOutcome::ALL
        .iter()
        .for_each(|v| b.verification(*v));
    b.message_length(10);
    b.connection_duration(std::time::Duration::from_secs(1));
    b.message_processed();
    b.database_operations(2);
    m.record_cold_start("ws-conversation");
    t.points()
        .into_iter()
        .map(|p| (p.name, p.attributes))
        .collect()
}

/// Every metric a dashboard line or an alarm refers to.
fn references() -> Vec<(String, String, BTreeMap<String, String>)> {
    let env = |v: &str| v.replace("${Environment}", "test");
    let mut refs = Vec::new();
    for file in generated() {
        match file.kind {
            Kind::Dashboard => {
                for widget in file.json["widgets"].as_array().unwrap() {
                    for line in widget["properties"]["metrics"]
                        .as_array()
                        .into_iter()
                        .flatten()
                    {
                        let items: Vec<&str> = line
                            .as_array()
                            .unwrap()
                            .iter()
                            .filter_map(Value::as_str)
                            .collect();
                        if items.len() < 2 {
                            continue; // an expression
                        }
                        let dims = items[2..]
                            .chunks(2)
                            .map(|kv| (kv[0].to_owned(), env(kv[1])))
                            .collect();
                        refs.push((file.name.clone(), items[1].to_owned(), dims));
                    }
                }
            }
            Kind::Alarms => {
                for alarm in file.json["alarms"].as_array().unwrap() {
                    let dims_of = |d: &Value| {
                        d.as_array()
                            .unwrap()
                            .iter()
                            .map(|kv| {
                                (
                                    kv["Name"].as_str().unwrap().to_owned(),
                                    env(kv["Value"].as_str().unwrap()),
                                )
                            })
                            .collect()
                    };
                    if let Some(name) = alarm["MetricName"].as_str() {
                        refs.push((
                            "alarms.json".into(),
                            name.to_owned(),
                            dims_of(&alarm["Dimensions"]),
                        ));
                    }
                    for m in alarm["Metrics"].as_array().into_iter().flatten() {
                        let metric = &m["MetricStat"]["Metric"];
                        if let Some(name) = metric["MetricName"].as_str() {
                            refs.push((
                                "alarms.json".into(),
                                name.to_owned(),
                                dims_of(&metric["Dimensions"]),
                            ));
                        }
                    }
                }
            }
            Kind::Template => {}
        }
    }
    refs
}

#[test]
fn every_referenced_metric_is_really_emitted_with_those_dimensions() {
    let catalog = Catalog::embedded();
    let emitted = emitted();
    let refs = references();
    assert!(refs.len() > 50, "{} references", refs.len());
    for (file, name, dims) in &refs {
        let keys: BTreeSet<&str> = dims.keys().map(String::as_str).collect();
        let spec = catalog
            .metric(name)
            .unwrap_or_else(|| panic!("{file}: {name} is not in the catalog"));
        assert!(
            spec.dimensions.iter().any(|set| set
                .iter()
                .map(String::as_str)
                .collect::<BTreeSet<_>>()
                == keys),
            "{file}: {name} {keys:?} is not a declared dimension set of {name}"
        );
        assert!(
            emitted
                .iter()
                .any(|(n, attrs)| n == name && dims.iter().all(|(k, v)| attrs.get(k) == Some(v))),
            "{file}: {name} {dims:?} is never emitted by the code"
        );
    }
}
