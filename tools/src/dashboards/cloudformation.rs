//! One CloudFormation template with every dashboard and alarm: the
//! DashboardBody as a string; as parameters, `Environment`, the stack's
//! functions and API (`FunctionNames`, `ApiId`, which scope the platform
//! rows) and an optional SNS topic for alarm actions. Written compact; when even then it exceeds
//! what CloudFormation takes inline ([`MAX_TEMPLATE_BODY`]), [`split`] makes
//! it several stacks, each within the limit and deployable alone.

use serde_json::{json, Map, Value};

use super::{canonical, ENVIRONMENT, FUNCTIONS, FUNCTION_OR};

/// Wraps every string that holds a `${...}` placeholder in `Fn::Sub`.
fn substitute(value: Value) -> Value {
    match value {
        Value::String(s) if s.contains("${") => json!({"Fn::Sub": s}),
        Value::Array(items) => Value::Array(items.into_iter().map(substitute).collect()),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, substitute(v))).collect())
        }
        other => other,
    }
}

/// What `Environment` may hold: the characters every name it goes into
/// accepts (a dashboard name takes letters, digits, `-` and `_`; alarm
/// names take more).
pub const ENVIRONMENT_PATTERN: &str = "^[A-Za-z0-9_-]+$";
/// What an API Gateway API id holds (ten lower-case letters and digits
/// when API Gateway makes it).
pub const API_ID_PATTERN: &str = "^[a-z0-9]+$";
/// The longest dashboard or alarm name CloudWatch accepts.
pub const MAX_NAME: usize = 255;
/// The most bytes CloudFormation takes as an inline template body
/// (`create-stack --template-body`, `cloudformation deploy` without
/// `--s3-bucket`).
pub const MAX_TEMPLATE_BODY: usize = 51_200;
/// Room kept in each part for its "stack i of n" description.
const PART_MARGIN: usize = 64;

/// The longest `Environment` with which every name in `names` (each
/// holding the placeholder) stays within [`MAX_NAME`].
fn max_environment<'a>(names: impl Iterator<Item = &'a str>) -> usize {
    names
        .map(|name| MAX_NAME.saturating_sub(name.len() - ENVIRONMENT.len()))
        .min()
        .unwrap_or(MAX_NAME)
        .max(1)
}

/// `order_checkout` → `OrderCheckout`.
fn logical_id(name: &str) -> String {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(super::capitalize)
        .collect()
}

pub fn template(
    catalog: &perfmon_lambda::Catalog,
    dashboards: &[(String, String, Value)],
    alarms: &[Value],
) -> Value {
    let mut resources = Map::new();
    let dashboard_names: Vec<String> = dashboards
        .iter()
        .map(|(_, name, _)| format!("{name}-{ENVIRONMENT}"))
        .collect();
    let max_length = max_environment(
        dashboard_names
            .iter()
            .map(String::as_str)
            .chain(alarms.iter().filter_map(|a| a["AlarmName"].as_str())),
    );
    for (file, name, body) in dashboards {
        let body = canonical::sorted(body).to_string();
        // `${Functions}` is no parameter: the body's JSON text holds the
        // names joined, each quote escaped as the text escapes it.
        let body = if body.contains(FUNCTIONS) {
            let or = serde_json::to_string(FUNCTION_OR).expect("a string serializes");
            json!({"Fn::Sub": [body, {
                "Functions": {"Fn::Join": [&or[1..or.len() - 1], {"Ref": "FunctionNames"}]}
            }]})
        } else {
            json!({"Fn::Sub": body})
        };
        resources.insert(
            format!("{}Dashboard", logical_id(file)),
            json!({
                "Type": "AWS::CloudWatch::Dashboard",
                "Properties": {
                    "DashboardName": {"Fn::Sub": format!("{name}-${{Environment}}")},
                    "DashboardBody": body,
                },
            }),
        );
    }
    for alarm in alarms {
        let name = alarm["AlarmName"].as_str().expect("alarms have names");
        let id = format!(
            "{}Alarm",
            logical_id(name.trim_start_matches("perfmon-${Environment}-"))
        );
        let mut properties = substitute(alarm.clone());
        properties["AlarmActions"] = json!({
            "Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]
        });
        properties["OKActions"] = properties["AlarmActions"].clone();
        resources.insert(
            id,
            json!({"Type": "AWS::CloudWatch::Alarm", "Properties": properties}),
        );
    }
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!(
            "perfmon dashboards and alarms, generated from metric catalog version {}. Do not edit: change the catalog and regenerate.",
            catalog.version
        ),
        "Metadata": {"perfmon": {"catalogVersion": catalog.version, "namespace": catalog.namespace}},
        "Parameters": {
            "Environment": {
                "Type": "String",
                "Default": "dev",
                "AllowedPattern": ENVIRONMENT_PATTERN,
                "MaxLength": max_length,
                "Description": "The Environment dimension (PERFMON_ENVIRONMENT of the functions), also in every dashboard and alarm name."
            },
            "FunctionNames": {
                "Type": "CommaDelimitedList",
                "Description": "The stack's Lambda function names: the platform rows show their AWS/Lambda metrics and no other function's."
            },
            "ApiId": {
                "Type": "String",
                "AllowedPattern": API_ID_PATTERN,
                "Description": "The stack's API Gateway API id: the platform rows show its AWS/ApiGateway metrics and no other API's."
            },
            "AlarmTopicArn": {
                "Type": "String",
                "Default": "",
                "Description": "SNS topic notified when an alarm changes state; empty for none."
            }
        },
        "Conditions": {
            "HasAlarmTopic": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]}
        },
        "Resources": resources,
    })
}

/// A template's file text: compact JSON, keys sorted, a final newline.
pub fn text(template: &Value) -> String {
    let mut text = canonical::sorted(template).to_string();
    text.push('\n');
    text
}

/// `template` as one stack when its [`text`] fits [`MAX_TEMPLATE_BODY`],
/// else as several, each within it: the resources in order of their
/// logical ids, as many to a stack as fit, each stack with the parameters
/// and conditions its resources use. A single resource larger than the
/// limit is a stack of its own, which only `--s3-bucket` deploys.
pub fn split(template: Value) -> Vec<Value> {
    if text(&template).len() <= MAX_TEMPLATE_BODY {
        return vec![template];
    }
    let mut skeleton = template;
    let resources = match skeleton.as_object_mut().and_then(|t| t.remove("Resources")) {
        Some(Value::Object(resources)) => resources,
        _ => return vec![skeleton],
    };
    let base = text(&skeleton).len() + "\"Resources\":{},".len() + PART_MARGIN;
    let mut ids: Vec<(String, Value)> = resources.into_iter().collect();
    ids.sort_by(|a, b| a.0.cmp(&b.0));
    let mut parts: Vec<Map<String, Value>> = vec![Map::new()];
    let mut size = base;
    for (id, resource) in ids {
        let entry = id.len() + canonical::sorted(&resource).to_string().len() + 4;
        let current = parts.last_mut().expect("one part at least");
        if !current.is_empty() && size + entry > MAX_TEMPLATE_BODY {
            parts.push(Map::new());
            size = base;
        }
        size += entry;
        parts
            .last_mut()
            .expect("one part at least")
            .insert(id, resource);
    }
    let count = parts.len();
    parts
        .into_iter()
        .enumerate()
        .map(|(i, resources)| {
            let mut part = skeleton.clone();
            let used = Value::Object(resources.clone()).to_string();
            if let Some(parameters) = part["Parameters"].as_object_mut() {
                parameters.retain(|name, _| {
                    used.contains(&format!("{{\"Ref\":\"{name}\"}}"))
                        || used.contains(&format!("${{{name}}}"))
                });
            }
            if !used.contains("\"Condition\"") && !used.contains("\"Fn::If\"") {
                if let Some(object) = part.as_object_mut() {
                    object.remove("Conditions");
                }
            }
            let description = part["Description"].as_str().unwrap_or_default().to_owned();
            part["Description"] = Value::from(format!(
                "{description} Stack {} of {count}: deploy each.",
                i + 1
            ));
            part["Resources"] = Value::Object(resources);
            part
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logical_ids_are_alphanumeric() {
        assert_eq!(
            logical_id("order_checkout-error-rate"),
            "OrderCheckoutErrorRate"
        );
        assert_eq!(logical_id("team-realtime"), "TeamRealtime");
    }
}
