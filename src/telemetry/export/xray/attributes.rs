//! What each attribute becomes in an X-Ray segment document, as
//! `opentelemetry-aws` 0.21's `SegmentTranslator` decides it (its dispatch
//! table over semantic-convention keys), for the keys a Lambda function's
//! spans and resource carry: the name, namespace, `aws` and `http` fields,
//! log groups, and which attributes stay out of the metadata.
//!
//! Every other key the translator interprets is [`Declined`]: a batch with
//! one goes to the translator itself, so a document written here is always
//! one the translator would write.

use opentelemetry::{Array, StringValue, Value};

use super::translator_keys::{interpreted, read_namespace};

/// An attribute only the translator writes (HTTP URLs, SQL, causes, ECS,
/// EKS, prefixed keys...): its batch goes to the translator.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Declined;

/// A segment (a SERVER span) or a subsegment (every other kind): some
/// attributes apply to one only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Segment,
    Subsegment,
}

/// Whether the translator writes a list of strings: some is not empty.
pub(super) fn shown(strings: &[StringValue]) -> bool {
    strings.iter().any(|s| !s.as_str().is_empty())
}

/// The fields attributes set, the later attribute winning, as the
/// translator's builders keep them.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Fields<'a> {
    pub service_name: Option<&'a str>,
    pub rpc_aws: bool,
    pub rpc_service: Option<&'a str>,
    pub rpc_method: Option<&'a str>,
    pub sdk_name: Option<&'a str>,
    pub sdk_language: Option<&'a str>,
    pub sdk_version: Option<&'a str>,
    pub account_id: Option<&'a str>,
    pub user: Option<&'a str>,
    pub region: Option<&'a str>,
    pub request_id: Option<&'a str>,
    pub table_name: Option<&'a str>,
    pub table_names: Option<&'a [StringValue]>,
    pub log_groups: Option<&'a [StringValue]>,
    pub method: Option<&'a str>,
    pub status: Option<u16>,
    /// Annotations written so far (X-Ray takes 50).
    pub annotations: usize,
}

fn string(value: &Value) -> Option<&str> {
    match value {
        Value::String(s) => Some(s.as_str()),
        _ => None,
    }
}

fn strings(value: &Value) -> Option<&[StringValue]> {
    match value {
        Value::Array(Array::String(values)) => Some(values),
        _ => None,
    }
}

/// A string the translator takes through `to_string` when it is not one:
/// only strings are written here.
fn string_only(value: &Value) -> Result<&str, Declined> {
    string(value).ok_or(Declined)
}

impl<'a> Fields<'a> {
    /// Applies one attribute; `Ok(true)` when the translator counts it as
    /// written into a field (so it is not also metadata).
    pub(super) fn apply(
        &mut self,
        kind: Kind,
        key: &str,
        value: &'a Value,
    ) -> Result<bool, Declined> {
        // Most keys (an application's own) are in no namespace the
        // translator reads: one short comparison settles them.
        if !read_namespace(key) {
            return Ok(false);
        }
        let subsegment = kind == Kind::Subsegment;
        Ok(match key {
            "service.name" => {
                self.service_name = string(value);
                false
            }
            "rpc.system" => {
                if value.as_str() == "aws-api" {
                    self.rpc_aws = true;
                }
                self.rpc_aws
            }
            "rpc.service" => {
                self.rpc_service = string(value);
                false
            }
            "rpc.method" => {
                self.rpc_method = string(value);
                self.rpc_method.is_some()
            }
            "telemetry.sdk.name" => {
                self.sdk_name = string(value);
                self.sdk_name.is_some()
            }
            "telemetry.sdk.language" => {
                self.sdk_language = string(value);
                self.sdk_language.is_some()
            }
            "telemetry.sdk.version" => {
                self.sdk_version = Some(string_only(value)?);
                true
            }
            "cloud.account.id" => {
                self.account_id = Some(string_only(value)?);
                true
            }
            "cloud.region" | "aws.region" if subsegment => {
                self.region = Some(string_only(value)?);
                true
            }
            "aws.request_id" if subsegment => {
                self.request_id = Some(string_only(value)?);
                true
            }
            // A segment's `user`, when X-Ray takes it (250 bytes at most).
            "enduser.id" if !subsegment => {
                let user = string_only(value)?;
                let fits = user.len() <= 250;
                if fits {
                    self.user = Some(user);
                }
                fits
            }
            "cloud.region" | "aws.region" | "aws.request_id" | "enduser.id" => false,
            "cloud.platform" => {
                // Beanstalk platforms add a deployment id.
                if value.as_str() == "aws_elastic_beanstalk" {
                    return Err(Declined);
                }
                string(value).is_some()
            }
            "aws.log.group.names" => match strings(value) {
                Some(names) => {
                    self.log_groups = Some(names);
                    true
                }
                None => false,
            },
            // Counted as written even when X-Ray's 250-byte limit leaves
            // it out.
            "http.request.method" | "http.method" => {
                let method = string_only(value)?;
                if method.len() <= 250 {
                    self.method = Some(method);
                }
                true
            }
            "http.response.status_code" => match integer(value) {
                Some(status) => {
                    self.status = Some(status as u16);
                    true
                }
                None => false,
            },
            // DynamoDB is not SQL: the translator writes no `sql` for it.
            "db.system.name" if subsegment && value.as_str() != "aws.dynamodb" => {
                return Err(Declined)
            }
            "db.system.name" => false,
            "aws.dynamodb.table_names" if subsegment => match strings(value) {
                Some(names) => {
                    if let Some(first) = names.first() {
                        self.table_name = Some(first.as_str());
                        self.table_names = Some(names);
                    }
                    true
                }
                None => false,
            },
            "aws.dynamodb.table_names" => false,
            key if interpreted(key) => return Err(Declined),
            key if key.starts_with("annotation.") || key.starts_with("metadata.") => {
                return Err(Declined)
            }
            _ => false,
        })
    }
}

/// An integer, or a string holding one, as the translator reads HTTP
/// status codes.
fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::I64(i) => Some(*i),
        Value::String(s) => s.as_str().trim().parse().ok(),
        _ => None,
    }
}

/// An attribute value as an annotation: scalars only.
pub(super) fn annotation_value(value: &Value) -> bool {
    matches!(
        value,
        Value::Bool(_) | Value::I64(_) | Value::F64(_) | Value::String(_)
    )
}

/// Whether X-Ray takes `value` as an annotation under `key` when `count`
/// are already written: at most 50, keys of 1 to 500 characters (the
/// translator replaces every character outside `[a-zA-Z0-9_]` by `_`),
/// strings of at most 1000 bytes. Keys outside ASCII are declined: the
/// translator's replacement counts characters, not bytes.
pub(super) fn annotation_fits(count: usize, key: &str, value: &Value) -> Result<bool, Declined> {
    if !key.is_ascii() {
        return Err(Declined);
    }
    let short = match value {
        Value::String(s) => s.as_str().len() <= 1000,
        _ => true,
    };
    Ok(count < 50 && !key.is_empty() && key.len() <= 500 && short)
}

/// Whether the translator writes `value` as metadata: scalars and arrays of
/// them.
pub(super) fn metadata_value(value: &Value) -> bool {
    match value {
        Value::Bool(_) | Value::I64(_) | Value::F64(_) | Value::String(_) => true,
        Value::Array(array) => matches!(
            array,
            Array::Bool(_) | Array::I64(_) | Array::F64(_) | Array::String(_)
        ),
        _ => false,
    }
}

/// Whether X-Ray takes `name` for a document of `kind`: 1 to 200
/// (segments) or 250 (subsegments) characters of letters, digits, spaces
/// and `_.:/%&#=+-@`. Only ASCII names are checked here; others are
/// declined (the translator's rule is over Unicode classes).
pub(super) fn name_fits(kind: Kind, name: &str) -> Result<bool, Declined> {
    if !name.is_ascii() {
        return Err(Declined);
    }
    let most = match kind {
        Kind::Segment => 200,
        Kind::Subsegment => 250,
    };
    Ok(!name.is_empty()
        && name.len() <= most
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b" _.:/%&#=+-@".contains(&b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covered_keys_set_fields_by_kind() {
        let region = Value::from("eu-west-1");
        let mut fields = Fields::default();
        assert_eq!(
            fields.apply(Kind::Segment, "cloud.region", &region),
            Ok(false)
        );
        assert_eq!(fields.region, None);
        assert_eq!(
            fields.apply(Kind::Subsegment, "cloud.region", &region),
            Ok(true)
        );
        assert_eq!(fields.region, Some("eu-west-1"));
        let sql = Value::from("postgresql");
        assert_eq!(
            fields.apply(Kind::Subsegment, "db.system.name", &sql),
            Err(Declined)
        );
        assert_eq!(
            fields.apply(Kind::Segment, "db.system.name", &sql),
            Ok(false)
        );
        assert_eq!(fields.apply(Kind::Segment, "url.full", &sql), Err(Declined));
        assert_eq!(fields.apply(Kind::Segment, "app.user", &sql), Ok(false));
    }

    #[test]
    fn names_follow_xrays_rule() {
        assert_eq!(name_fits(Kind::Segment, "DynamoDB.PutItem"), Ok(true));
        assert_eq!(name_fits(Kind::Segment, "a\\b"), Ok(false));
        assert_eq!(name_fits(Kind::Segment, ""), Ok(false));
        assert_eq!(name_fits(Kind::Segment, &"a".repeat(201)), Ok(false));
        assert_eq!(name_fits(Kind::Subsegment, &"a".repeat(201)), Ok(true));
        assert_eq!(name_fits(Kind::Segment, "é"), Err(Declined));
    }
}
