//! Every resource name the shipped and generated templates build from the
//! `Environment` parameter is one the service accepts, for every value the
//! parameter's `AllowedPattern` and `MaxLength` let through: each character
//! the pattern allows, and the longest value. The services' rules are
//! written down here from their documentation, apart from the templates,
//! so a pattern that lets through more than a name takes fails here before
//! it fails a deploy.

use perfmon_testkit as common;

use std::collections::BTreeSet;

use serde_json::{Map, Value};

/// A service's documented rule for one kind of name.
struct Rule {
    what: &'static str,
    max: usize,
    allowed: fn(char) -> bool,
}

/// The name property of each resource type the templates create, and the
/// rule its service documents.
fn rule(resource_type: &str) -> Option<(&'static str, Rule)> {
    Some(match resource_type {
        // CloudWatch PutDashboard: "A-Z, a-z, 0-9, '-' and '_'", 1-255.
        "AWS::CloudWatch::Dashboard" => (
            "DashboardName",
            Rule {
                what: "dashboard name",
                max: 255,
                allowed: |c| c.is_ascii_alphanumeric() || c == '-' || c == '_',
            },
        ),
        // CloudWatch PutMetricAlarm: 1-255 characters, no control ones.
        "AWS::CloudWatch::Alarm" => (
            "AlarmName",
            Rule {
                what: "alarm name",
                max: 255,
                allowed: |c| !c.is_control(),
            },
        ),
        // CloudWatch Logs CreateLogGroup: [\.\-_/#A-Za-z0-9]+, 1-512.
        "AWS::Logs::LogGroup" => (
            "LogGroupName",
            Rule {
                what: "log group name",
                max: 512,
                allowed: |c| c.is_ascii_alphanumeric() || "._-/#".contains(c),
            },
        ),
        // Lambda CreateFunction: a plain name is [a-zA-Z0-9-_]+, 1-64.
        "AWS::Serverless::Function" | "AWS::Lambda::Function" => (
            "FunctionName",
            Rule {
                what: "function name",
                max: 64,
                allowed: |c| c.is_ascii_alphanumeric() || c == '-' || c == '_',
            },
        ),
        // API Gateway v2 CreateApi: a name of up to 128 characters.
        "AWS::ApiGatewayV2::Api" => (
            "Name",
            Rule {
                what: "API name",
                max: 128,
                allowed: |c| !c.is_control(),
            },
        ),
        // API Gateway v2 CreateStage: alphanumerics, '-' and '_', 1-128.
        "AWS::ApiGatewayV2::Stage" => (
            "StageName",
            Rule {
                what: "stage name",
                max: 128,
                allowed: |c| c.is_ascii_alphanumeric() || c == '-' || c == '_',
            },
        ),
        _ => return None,
    })
}

/// A YAML document as the JSON CloudFormation reads: `!Ref X` is
/// `{"Ref": X}`, `!Sub s` is `{"Fn::Sub": s}`, any other `!Tag` is
/// `{"Fn::Tag": ...}`.
fn json_of(yaml: yaml_serde::Value) -> Value {
    use yaml_serde::Value as Y;
    match yaml {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => serde_json::to_value(n).unwrap(),
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(json_of).collect()),
        Y::Mapping(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k.as_str().expect("string keys").to_owned(), json_of(v)))
                .collect(),
        ),
        Y::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let tag = tag.trim_start_matches('!');
            let key = if tag == "Ref" {
                "Ref".to_owned()
            } else {
                format!("Fn::{tag}")
            };
            Value::Object(Map::from_iter([(key, json_of(tagged.value))]))
        }
    }
}

/// The characters a `^[...]+$` pattern allows.
fn allowed_by(pattern: &str) -> BTreeSet<char> {
    let set = pattern
        .strip_prefix("^[")
        .and_then(|p| p.strip_suffix("]+$"))
        .unwrap_or_else(|| panic!("a ^[...]+$ pattern: {pattern}"));
    let chars: Vec<char> = set.chars().collect();
    let mut allowed = BTreeSet::new();
    let mut i = 0;
    while i < chars.len() {
        if i + 2 < chars.len() && chars[i + 1] == '-' {
            allowed.extend(chars[i]..=chars[i + 2]);
            i += 3;
        } else {
            let c = if chars[i] == '\\' {
                chars[i + 1]
            } else {
                chars[i]
            };
            i += if chars[i] == '\\' { 2 } else { 1 };
            allowed.insert(c);
        }
    }
    allowed
}

/// The name `value` renders to with `Environment` = `environment`, if it
/// depends on nothing else.
fn render(value: &Value, environment: &str) -> String {
    if value.get("Ref") == Some(&Value::from("Environment")) {
        return environment.to_owned();
    }
    let text = value
        .get("Fn::Sub")
        .and_then(Value::as_str)
        .or_else(|| value.as_str())
        .unwrap_or_else(|| panic!("a name built from Environment alone: {value}"));
    let rendered = text.replace("${Environment}", environment);
    assert!(
        !rendered.contains("${"),
        "a name built from Environment alone: {text}"
    );
    rendered
}

/// Checks every named resource of `template` for every value its
/// `Environment` allows; how many names were checked.
fn check(file: &str, template: &Value) -> usize {
    let parameter = &template["Parameters"]["Environment"];
    let allowed = allowed_by(parameter["AllowedPattern"].as_str().expect("a pattern"));
    let longest = parameter["MaxLength"]
        .as_u64()
        .unwrap_or_else(|| panic!("{file}: Environment has a MaxLength"))
        as usize;
    // Each allowed character at the longest length, and all of them mixed.
    let mut samples: Vec<String> = allowed
        .iter()
        .map(|c| c.to_string().repeat(longest))
        .collect();
    samples.push(allowed.iter().cycle().take(longest).collect());
    let mut checked = 0;
    for (id, resource) in template["Resources"].as_object().unwrap() {
        let kind = resource["Type"].as_str().unwrap();
        let Some((property, rule)) = rule(kind) else {
            // Any other name built from Environment needs its rule here.
            let named: Vec<&String> = resource["Properties"]
                .as_object()
                .map(|p| {
                    p.iter()
                        .filter(|(k, v)| {
                            k.ends_with("Name") && v.to_string().contains("Environment")
                        })
                        .map(|(k, _)| k)
                        .collect()
                })
                .unwrap_or_default();
            assert!(
                named.is_empty(),
                "{file}: {id} ({kind}) names {named:?}: add its rule here"
            );
            continue;
        };
        let Some(name) = resource["Properties"].get(property) else {
            continue;
        };
        for environment in &samples {
            let rendered = render(name, environment);
            let length = rendered.chars().count();
            assert!(
                (1..=rule.max).contains(&length),
                "{file}: {id}'s {} is {length} characters (at most {}) with Environment={environment}: {rendered}",
                rule.what,
                rule.max
            );
            let bad: Vec<char> = rendered.chars().filter(|c| !(rule.allowed)(*c)).collect();
            assert!(
                bad.is_empty(),
                "{file}: {id}'s {} has {bad:?} with Environment={environment}: {rendered}",
                rule.what
            );
        }
        checked += 1;
    }
    checked
}

#[test]
fn every_name_built_from_environment_is_one_its_service_accepts() {
    let root = common::root();
    let generated: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("dashboards/generated/cloudformation.json")).unwrap(),
    )
    .unwrap();
    let dashboards = check("dashboards/generated/cloudformation.json", &generated);
    assert!(dashboards > 10, "dashboards and alarms: {dashboards}");

    let deploy = json_of(
        yaml_serde::from_str(&std::fs::read_to_string(root.join("deploy/template.yaml")).unwrap())
            .unwrap(),
    );
    let names = check("deploy/template.yaml", &deploy);
    // The API, its stage, two functions and their two log groups.
    assert_eq!(names, 6);
}

#[test]
fn the_pattern_reader_reads_ranges_and_single_characters() {
    let allowed = allowed_by("^[A-Ca-b0-1_.-]+$");
    assert_eq!(allowed.into_iter().collect::<String>(), "-.01ABC_ab");
}
