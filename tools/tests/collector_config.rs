//! `collector/collector.yaml`, the ADOT Lambda-layer configuration, agrees
//! with the catalog: every pipeline names defined components, no processors
//! (the layer has none), the namespace is the catalog's, every declared
//! metric and dimension set exists in the catalog, every catalog metric is
//! declared once with its unit, and X-Ray annotates the catalog's indexed
//! attributes. `collector/collector-otlp.yaml`, its form with traces to
//! CloudWatch's OTLP endpoint, signs them with the sigv4auth extension and
//! is otherwise the same.

use std::collections::{BTreeMap, BTreeSet};

use perfmon_lambda::Catalog;
use perfmon_testkit as common;
use yaml_serde::Value;

fn config() -> Value {
    read("collector/collector.yaml")
}

fn read(path: &str) -> Value {
    let path = common::root().join(path);
    yaml_serde::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence()
        .unwrap_or_else(|| panic!("a list: {v:?}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

/// Every pipeline's components are defined, and none is a processor.
fn check_pipelines(c: &Value) {
    assert!(
        c.get("processors").is_none(),
        "the ADOT layer has no processors"
    );
    let pipelines = c["service"]["pipelines"].as_mapping().unwrap();
    assert_eq!(pipelines.len(), 2);
    for (name, pipeline) in pipelines {
        assert!(pipeline.get("processors").is_none(), "{name:?}");
        for kind in ["receivers", "exporters"] {
            for component in strings(&pipeline[kind]) {
                assert!(
                    c[kind].get(component.as_str()).is_some(),
                    "{name:?} uses undefined {kind} {component}"
                );
            }
        }
    }
    let otlp = &c["receivers"]["otlp"]["protocols"];
    assert_eq!(otlp["grpc"]["endpoint"], "localhost:4317");
    assert_eq!(otlp["http"]["endpoint"], "localhost:4318");
}

#[test]
fn pipelines_name_defined_components_and_no_processors() {
    let c = config();
    check_pipelines(&c);
    assert!(c.get("extensions").is_none(), "{c:?}");
    assert_eq!(
        strings(&c["service"]["pipelines"]["traces"]["exporters"]),
        ["awsxray"]
    );
    assert_eq!(
        strings(&c["service"]["pipelines"]["metrics"]["exporters"]),
        ["awsemf"]
    );
}

/// ADOT's recommended form: OTLP/HTTP to the region's X-Ray endpoint,
/// gzip, signed by sigv4auth for the `xray` service in the function's own
/// region; the metrics exactly as in the awsxray form.
#[test]
fn the_otlp_form_signs_traces_for_the_xray_endpoint() {
    let (c, xray) = (read("collector/collector-otlp.yaml"), config());
    check_pipelines(&c);
    let traces = strings(&c["service"]["pipelines"]["traces"]["exporters"]);
    assert_eq!(traces, ["otlphttp/xray"]);
    let exporter = &c["exporters"]["otlphttp/xray"];
    assert_eq!(
        exporter["traces_endpoint"],
        "https://xray.${env:AWS_REGION}.amazonaws.com/v1/traces"
    );
    assert_eq!(exporter["compression"], "gzip");
    assert_eq!(exporter["auth"]["authenticator"], "sigv4auth");
    assert_eq!(strings(&c["service"]["extensions"]), ["sigv4auth"]);
    let signer = &c["extensions"]["sigv4auth"];
    assert_eq!(signer["service"], "xray");
    assert_eq!(signer["region"], "${env:AWS_REGION}");
    assert!(c["exporters"].get("awsxray").is_none());
    assert_eq!(c["exporters"]["awsemf"], xray["exporters"]["awsemf"]);
    assert_eq!(
        c["service"]["pipelines"]["metrics"],
        xray["service"]["pipelines"]["metrics"]
    );
}

#[test]
fn awsemf_declares_exactly_the_catalog() {
    let catalog = Catalog::from_path(common::root().join("dashboards/catalog.json")).unwrap();
    let emf = &config()["exporters"]["awsemf"];
    assert_eq!(emf["namespace"].as_str(), Some(catalog.namespace.as_str()));
    assert_eq!(emf["dimension_rollup_option"], "NoDimensionRollup");
    let mut declared: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
    for declaration in emf["metric_declarations"].as_sequence().unwrap() {
        let sets: Vec<Vec<String>> = declaration["dimensions"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(strings)
            .collect();
        for selector in strings(&declaration["metric_name_selectors"]) {
            let name = selector
                .strip_prefix('^')
                .and_then(|s| s.strip_suffix('$'))
                .unwrap_or_else(|| panic!("selector {selector} must be anchored"));
            let spec = catalog
                .metric(name)
                .unwrap_or_else(|| panic!("{name} is not in the catalog"));
            assert_eq!(sets, spec.dimensions, "{name}: dimension sets");
            assert!(
                declared.insert(name.to_owned(), sets.clone()).is_none(),
                "{name} declared twice"
            );
        }
    }
    let in_catalog: BTreeSet<_> = catalog.metrics().iter().map(|m| m.name.clone()).collect();
    assert_eq!(
        declared.keys().cloned().collect::<BTreeSet<_>>(),
        in_catalog
    );
    let units: BTreeMap<String, String> = emf["metric_descriptors"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["metric_name"].as_str().unwrap().to_owned(),
                d["unit"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for metric in catalog.metrics() {
        assert_eq!(
            units.get(&metric.name).map(String::as_str),
            Some(metric.unit.cloudwatch()),
            "{}",
            metric.name
        );
    }
}

#[test]
fn awsxray_annotates_the_catalog_indexed_attributes() {
    let catalog = Catalog::from_path(common::root().join("dashboards/catalog.json")).unwrap();
    let xray = &config()["exporters"]["awsxray"];
    assert_eq!(
        strings(&xray["indexed_attributes"]),
        catalog.indexed_attributes
    );
}

#[test]
fn emf_goes_to_the_functions_own_log_group() {
    // Not the default /metrics/default group, which nothing expires.
    assert_eq!(
        config()["exporters"]["awsemf"]["output_destination"].as_str(),
        Some("stdout")
    );
}
