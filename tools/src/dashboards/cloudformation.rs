//! One CloudFormation template with every dashboard and alarm: the
//! DashboardBody as a string, `Environment` and an optional SNS topic for
//! alarm actions as parameters.

use serde_json::{json, Map, Value};

use super::canonical;

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
    for (file, name, body) in dashboards {
        resources.insert(
            format!("{}Dashboard", logical_id(file)),
            json!({
                "Type": "AWS::CloudWatch::Dashboard",
                "Properties": {
                    "DashboardName": {"Fn::Sub": format!("{name}-${{Environment}}")},
                    "DashboardBody": {"Fn::Sub": canonical::sorted(body).to_string()},
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
                "AllowedPattern": "^[A-Za-z0-9_.-]+$",
                "Description": "The Environment dimension (PERFMON_ENVIRONMENT of the functions)."
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
