//! Dashboards and alarms generated from the catalog: committed files equal
//! what the catalog generates, every file carries the catalog version, the
//! bodies and alarms are what CloudWatch accepts, and every metric they
//! refer to is one the code really emits, with exactly those dimensions.

use perfmon_testkit as common;

use std::collections::{BTreeMap, BTreeSet};

use common::TestTelemetry;
use perfmon_tools::dashboards::{self, validate, Kind};
use perfmon_tools::preview::Search;

/// Where this repository keeps the chat app's generated files.
const GENERATED_DIR: &str = "dashboards/generated";
/// The command that regenerates them from the repository root.
const REGENERATE: &str = "cargo run -p perfmon-tools -- dashboards generate --catalog dashboards/catalog.json --out dashboards/generated";
/// This repository's ADOT collector configurations, generated from the chat
/// app's catalog, one per way traces go.
const COLLECTOR_CONFIGS: [(&str, dashboards::CollectorTraces); 2] = [
    (
        "collector/collector.yaml",
        dashboards::CollectorTraces::AwsXray,
    ),
    (
        "collector/collector-otlp.yaml",
        dashboards::CollectorTraces::SignedOtlp,
    ),
];
use perfmon_lambda::catalog::Instrument;
use perfmon_lambda::{Catalog, ExporterKind, PerformanceMonitor, Telemetry};
use serde_json::{json, Value};

fn generated() -> Vec<dashboards::Generated> {
    dashboards::generate(&common::chat_catalog())
}

#[test]
fn committed_files_match_the_catalog() {
    let dir = common::root().join(GENERATED_DIR);
    let drifted = dashboards::drifted(&common::chat_catalog(), &dir);
    assert!(
        drifted.is_empty(),
        "{drifted:?} differ from dashboards/catalog.json: run `{REGENERATE}` and commit"
    );
}

#[test]
fn every_file_carries_the_catalog_version() {
    let version = common::chat_catalog().version;
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
                assert_eq!(alarms.len(), 3 * common::chat_catalog().operations.len());
                for alarm in alarms {
                    let problems = validate::alarm(alarm);
                    assert!(problems.is_empty(), "{problems:#?}");
                }
            }
            Kind::Template => {
                // Every DashboardBody in the template is the body of its file.
                for (id, resource) in file.json["Resources"].as_object().unwrap() {
                    if resource["Type"] == "AWS::CloudWatch::Dashboard" {
                        // `Fn::Sub` of the text, or of the text and the
                        // variables it fills beyond the parameters.
                        let sub = &resource["Properties"]["DashboardBody"]["Fn::Sub"];
                        let body = sub.as_str().or_else(|| sub[0].as_str()).unwrap();
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

/// The two catalogs every generator test runs on: the chat app's and an
/// unrelated application's.
fn catalogs() -> Vec<Catalog> {
    vec![common::chat_catalog(), orders_catalog()]
}

fn orders_catalog() -> Catalog {
    Catalog::from_path(common::root().join("tests/fixtures/orders.catalog.json")).unwrap()
}

/// Every value a dimension can be recorded with: the declared ones and
/// the overflow value, or for a bounded key one learned value and the
/// overflow value.
fn values_of(spec: &perfmon_lambda::catalog::DimensionSpec) -> Vec<String> {
    let mut values: Vec<String> = spec.known_values().into_iter().map(str::to_owned).collect();
    if spec.values.is_empty() {
        values.push("acme".to_owned());
    }
    values
}

/// Records every operation's completion variants and every custom metric
/// with every combination of its values, through the public API.
fn record_everything(m: &PerformanceMonitor, catalog: &Catalog) {
    for op in &catalog.operations {
        m.start(&op.name, []).complete(true, []);
        m.start(&op.name, []).fail("SOME_ERROR", []);
        m.start(&op.name, []).fail("PAYMENT_DECLINED", []);
        m.start(&op.name, []).complete(false, []);
        drop(m.start(&op.name, []));
    }
    for metric in &catalog.custom_metrics {
        let mut combinations: Vec<Vec<String>> = vec![vec![]];
        for key in &metric.dimensions {
            combinations = combinations
                .into_iter()
                .flat_map(|prefix| {
                    values_of(key).into_iter().map(move |v| {
                        let mut next = prefix.clone();
                        next.push(v);
                        next
                    })
                })
                .collect();
        }
        for values in combinations {
            let v: Vec<&str> = values.iter().map(String::as_str).collect();
            let name = metric.name.as_str();
            match (metric.instrument, v.as_slice()) {
                (Instrument::Counter, []) => m.counter::<0>(name).unwrap().add(2, []),
                (Instrument::Counter, [a]) => m.counter::<1>(name).unwrap().add(2, [a]),
                (Instrument::Counter, [a, b]) => m.counter::<2>(name).unwrap().add(2, [a, b]),
                (Instrument::Histogram, []) => m.histogram::<0>(name).unwrap().record(10.0, []),
                (Instrument::Histogram, [a]) => m.histogram::<1>(name).unwrap().record(10.0, [a]),
                (Instrument::Gauge, []) => m.gauge::<0>(name).unwrap().record(3.0, []),
                (Instrument::Gauge, [a]) => m.gauge::<1>(name).unwrap().record(3.0, [a]),
                other => panic!("add a case for {name} {other:?}"),
            }
        }
    }
    m.record_cold_start("fn-under-test");
}

/// (metric, dimensions) of every point the code emits for `catalog`.
fn emitted(catalog: &Catalog) -> Vec<(String, BTreeMap<String, String>)> {
    let t = TestTelemetry::with_catalog(catalog.clone());
    record_everything(&t.monitor, catalog);
    t.points()
        .into_iter()
        .map(|p| (p.name, p.attributes))
        .collect()
}

/// Every metric a dashboard line or an alarm refers to.
fn references(catalog: &Catalog) -> Vec<(String, String, BTreeMap<String, String>)> {
    let env = |v: &str| v.replace("${Environment}", "test");
    let mut refs = Vec::new();
    for file in dashboards::generate(catalog) {
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
    for catalog in catalogs() {
        let emitted = emitted(&catalog);
        let refs = references(&catalog);
        assert!(
            refs.len() > 10,
            "{}: {} references",
            catalog.namespace,
            refs.len()
        );
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
                emitted.iter().any(
                    |(n, attrs)| n == name && dims.iter().all(|(k, v)| attrs.get(k) == Some(v))
                ),
                "{}/{file}: {name} {dims:?} is never emitted by the code",
                catalog.namespace
            );
        }
    }
}

#[test]
fn the_emitted_emf_passes_validation_for_both_catalogs() {
    for catalog in catalogs() {
        let buffer = common::SharedBuffer::default();
        let telemetry = Telemetry::builder()
            .with_environment("test")
            .with_catalog(catalog.clone())
            .with_traces_exporter(ExporterKind::None)
            .with_metrics_exporter(ExporterKind::Emf)
            .with_emf_writer(buffer.clone())
            .build()
            .unwrap();
        record_everything(&PerformanceMonitor::new(&telemetry), &catalog);
        telemetry
            .force_flush(std::time::Duration::from_secs(5))
            .unwrap();
        let lines = common::emf::lines(&buffer);
        let names: BTreeSet<String> = lines
            .iter()
            .flat_map(|l| l["_aws"]["CloudWatchMetrics"].as_array().unwrap().clone())
            .flat_map(|d| d["Metrics"].as_array().unwrap().clone())
            .map(|m| m["Name"].as_str().unwrap().to_owned())
            .collect();
        for metric in &catalog.custom_metrics {
            assert!(
                names.contains(&metric.name),
                "{}: no EMF line for {}",
                catalog.namespace,
                metric.name
            );
        }
        for line in &lines {
            common::emf::check_line(line, &catalog, common::emf::now_ms());
        }
        assert_eq!(telemetry.stats().emf_dropped, 0, "{}", catalog.namespace);
    }
}

#[test]
fn the_collector_config_is_generated_for_any_catalog() {
    for (path, traces) in COLLECTOR_CONFIGS {
        let committed = std::fs::read_to_string(common::root().join(path)).unwrap();
        assert_eq!(
            committed,
            dashboards::collector_config(&common::chat_catalog(), traces),
            "{path} differs from dashboards/catalog.json: run `cargo run -p perfmon-tools -- collector generate --catalog dashboards/catalog.json --traces {} --out {path}`",
            traces.name()
        );
    }
    let orders =
        dashboards::collector_config(&orders_catalog(), dashboards::CollectorTraces::AwsXray);
    let yaml: yaml_serde::Value = yaml_serde::from_str(&orders).unwrap();
    assert_eq!(yaml["exporters"]["awsemf"]["namespace"], "Orders");
    assert!(orders.contains("\"^OrdersPlaced$\""), "{orders}");
    assert!(
        orders.contains("[Handler, Environment, PaymentMethod]"),
        "{orders}"
    );
    assert!(orders.contains("[Environment, Merchant]"), "{orders}");
}

#[test]
fn orders_files_have_the_generic_structure() {
    let catalog = orders_catalog();
    let files = dashboards::generate(&catalog);
    let names: Vec<_> = files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "performance.dashboard.json",
            "orders.dashboard.json",
            "team-payments.dashboard.json",
            "alarms.json",
            "cloudformation.json"
        ]
    );
    for file in &files {
        match file.kind {
            Kind::Dashboard => assert!(validate::dashboard(&file.json).is_empty(), "{}", file.name),
            Kind::Alarms => {
                let alarms = file.json["alarms"].as_array().unwrap();
                assert_eq!(alarms.len(), 3 * catalog.operations.len());
                assert!(alarms.iter().all(|a| validate::alarm(a).is_empty()));
            }
            Kind::Template => {}
        }
    }
    let template = files.iter().find(|f| f.kind == Kind::Template).unwrap();
    let text = template.json.to_string();
    assert!(text.contains("Orders-Performance-${Environment}"), "{text}");
    assert!(text.contains("Orders-Orders-${Environment}"), "{text}");
}

#[test]
fn every_search_names_a_declared_metric_and_dimension_set_or_an_aws_namespace() {
    for catalog in catalogs() {
        let mut searches = 0;
        for file in dashboards::generate(&catalog) {
            let Kind::Dashboard = file.kind else { continue };
            for widget in file.json["widgets"].as_array().unwrap() {
                for line in widget["properties"]["metrics"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    let expression =
                        line.as_array().unwrap().last().unwrap()["expression"].as_str();
                    let Some(search) = expression.and_then(|e| Search::parse(e).unwrap()) else {
                        continue;
                    };
                    searches += 1;
                    if search.namespace.starts_with("AWS/") {
                        continue;
                    }
                    assert_eq!(search.namespace, catalog.namespace, "{}", file.name);
                    let name = search.metric_name().unwrap();
                    let spec = catalog.metric(name).unwrap_or_else(|| panic!("{name}"));
                    let schema: BTreeSet<&str> =
                        search.dimensions.iter().map(String::as_str).collect();
                    assert!(
                        spec.dimensions.iter().any(|set| set
                            .iter()
                            .map(String::as_str)
                            .collect::<BTreeSet<_>>()
                            == schema),
                        "{}: {name} {schema:?} is not a declared dimension set",
                        file.name
                    );
                }
            }
        }
        assert_eq!(searches, 2 + 4 + 4, "{}", catalog.namespace);
    }
}

/// The platform rows show the stack's own functions and API, never the
/// rest of the account: every `SEARCH` over an `AWS/` namespace is scoped,
/// Lambda's by `${Functions}`, API Gateway's by `${ApiId}`; filled in for
/// two functions, the Lambda term keeps exactly those two names; and the
/// template's `Fn::Join` over `FunctionNames` writes that same term into
/// the body's JSON text.
#[test]
fn platform_rows_show_the_stacks_functions_and_api_only() {
    let files = generated();
    let performance = files
        .iter()
        .find(|f| f.name == "performance.dashboard.json")
        .unwrap();
    let functions = [
        "perfmon-ws-connection-dev".to_owned(),
        "perfmon-ws-conversation-dev".to_owned(),
    ];
    let stack = dashboards::Stack {
        environment: "dev",
        region: "eu-west-1",
        functions: &functions[..1],
        api_id: "a1b2c3d4e5",
    };
    let searches = |body: &Value| -> Vec<Search> {
        body["widgets"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|w| {
                w["properties"]["metrics"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|line| {
                let expression = line.as_array()?.last()?["expression"].as_str()?.to_owned();
                Search::parse(&expression).unwrap()
            })
            .collect()
    };
    let scoped = |search: &Search| match search.namespace.as_str() {
        "AWS/Lambda" => ("FunctionName", search.terms.get("FunctionName").cloned()),
        "AWS/ApiGateway" => ("ApiId", search.terms.get("ApiId").cloned()),
        _ => ("Environment", search.terms.get("Environment").cloned()),
    };
    let placeholders = searches(&performance.json);
    assert_eq!(placeholders.len(), 2 + 4 + 4);
    for search in &placeholders {
        let (name, values) = scoped(search);
        let placeholder = match name {
            "FunctionName" => dashboards::FUNCTIONS,
            "ApiId" => dashboards::API_ID,
            _ => dashboards::ENVIRONMENT,
        };
        assert_eq!(values, Some(vec![placeholder.to_owned()]), "{search:?}");
    }
    let one = searches(&dashboards::resolved(&performance.json, &stack));
    let two = searches(&dashboards::resolved(
        &performance.json,
        &dashboards::Stack {
            functions: &functions,
            ..stack
        },
    ));
    for (one, two) in one.iter().zip(&two) {
        let ((name, one), (_, two)) = (scoped(one), scoped(two));
        match name {
            "FunctionName" => {
                assert_eq!(one.unwrap(), functions[..1]);
                assert_eq!(two.unwrap(), functions);
            }
            "ApiId" => assert_eq!(one.unwrap(), ["a1b2c3d4e5"]),
            _ => assert_eq!(one.unwrap(), ["dev"]),
        }
    }

    // CloudFormation's Fn::Sub over the body text, with its Fn::Join.
    let template = files.iter().find(|f| f.kind == Kind::Template).unwrap();
    let sub = &template.json["Resources"]["PerformanceDashboard"]["Properties"]["DashboardBody"]
        ["Fn::Sub"];
    let (text, join) = (sub[0].as_str().unwrap(), &sub[1]["Functions"]["Fn::Join"]);
    assert_eq!(join[1], json!({"Ref": "FunctionNames"}));
    let quoted: Vec<String> = functions
        .iter()
        .map(|f| {
            let json = serde_json::to_string(f).unwrap();
            json[1..json.len() - 1].to_owned()
        })
        .collect();
    let deployed = text
        .replace(
            dashboards::FUNCTIONS,
            &quoted.join(join[0].as_str().unwrap()),
        )
        .replace(dashboards::ENVIRONMENT, "dev")
        .replace(dashboards::API_ID, "a1b2c3d4e5")
        .replace(dashboards::REGION, "eu-west-1");
    let deployed: Value = serde_json::from_str(&deployed).expect("the deployed body is JSON");
    assert_eq!(
        deployed,
        dashboards::resolved(
            &performance.json,
            &dashboards::Stack {
                functions: &functions,
                ..stack
            }
        )
    );
}

/// A catalog far larger than this repository's: sixty operations, twenty
/// teams and every declared dashboard four times over.
fn large_catalog() -> Catalog {
    let mut catalog: Value = serde_json::from_str(
        &std::fs::read_to_string(common::root().join("dashboards/catalog.json")).unwrap(),
    )
    .unwrap();
    let operation = catalog["operations"][0].clone();
    let operations = catalog["operations"].as_array_mut().unwrap();
    for i in 0..60 {
        let mut copy = operation.clone();
        copy["name"] = json!(format!("bulk_operation_{i}"));
        operations.push(copy);
    }
    let teams = catalog["teams"].as_array_mut().unwrap();
    for i in 0..20 {
        teams.push(json!({
            "name": format!("bulk{i}"),
            "title": format!("Bulk team {i}"),
            "operations": (0..3).map(|j| format!("bulk_operation_{}", 3 * i + j)).collect::<Vec<_>>(),
        }));
    }
    let dashboard = catalog["dashboards"][0].clone();
    let declared = catalog["dashboards"].as_array_mut().unwrap();
    for i in 0..4 {
        let mut copy = dashboard.clone();
        copy["name"] = json!(format!("bulk-{i}"));
        declared.push(copy);
    }
    Catalog::from_json(&catalog.to_string()).expect("the large catalog is valid")
}

/// Every template fits CloudFormation's inline limit: this repository's as
/// one stack, a large catalog's split into several, which together hold
/// every dashboard and alarm once, each stack with only the parameters and
/// conditions it uses. A single resource over the limit (the performance
/// dashboard of sixty operations) is a stack of its own, which `dashboards
/// generate` reports with the `--s3-bucket` command that deploys it.
#[test]
fn every_template_fits_the_inline_limit() {
    let ours: Vec<_> = generated()
        .into_iter()
        .filter(|f| f.kind == Kind::Template)
        .collect();
    assert_eq!(ours.len(), 1);
    assert!(ours[0].text().len() <= dashboards::MAX_TEMPLATE_BODY);

    let catalog = large_catalog();
    let files = dashboards::generate(&catalog);
    let templates: Vec<_> = files.iter().filter(|f| f.kind == Kind::Template).collect();
    assert!(
        templates.len() > 1,
        "the large catalog needs several stacks"
    );
    let mut resources = BTreeSet::new();
    for (i, template) in templates.iter().enumerate() {
        assert_eq!(template.name, format!("cloudformation-{}.json", i + 1));
        let size = template.text().len();
        let own = template.json["Resources"].as_object().unwrap();
        assert!(
            size <= dashboards::MAX_TEMPLATE_BODY || own.len() == 1,
            "{}: {size} bytes",
            template.name
        );
        let alarms = own.values().any(|r| r["Type"] == "AWS::CloudWatch::Alarm");
        assert_eq!(
            template.json["Parameters"].get("AlarmTopicArn").is_some(),
            alarms,
            "{}",
            template.name
        );
        assert_eq!(template.json.get("Conditions").is_some(), alarms);
        let platform = own.contains_key("PerformanceDashboard");
        for parameter in ["FunctionNames", "ApiId"] {
            assert_eq!(
                template.json["Parameters"].get(parameter).is_some(),
                platform,
                "{}: {parameter}",
                template.name
            );
        }
        for id in own.keys() {
            assert!(resources.insert(id.clone()), "{id} in two stacks");
        }
    }
    let dashboards_count = files.iter().filter(|f| f.kind == Kind::Dashboard).count();
    let alarms = files.iter().find(|f| f.kind == Kind::Alarms).unwrap().json["alarms"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(resources.len(), dashboards_count + alarms);
}
