//! What a serialized AWS request says about the resource it addresses,
//! as the semantic conventions for AWS SDK spans name it, and the trace
//! context written into outgoing SQS messages.
//!
//! - DynamoDB: `db.system.name=aws.dynamodb` and
//!   `aws.dynamodb.table_names` (`TableName`, `RequestItems`' keys, or
//!   each of `TransactItems`' tables);
//! - SQS: `aws.sqs.queue.url`, and the messaging attributes
//!   (`messaging.system=aws_sqs`, `messaging.destination.name`, the
//!   operation's type, the batch size of `SendMessageBatch`);
//! - S3: `aws.s3.bucket` ([`s3_bucket`], read once the endpoint is
//!   applied).
//!
//! The JSON protocols' bodies are read without copying their values.

use std::borrow::Cow;
use std::collections::BTreeMap;

use aws_smithy_runtime_api::http::Request;
use aws_smithy_types::body::SdkBody;
use opentelemetry::{Array, KeyValue, StringValue, Value};
use serde::de::IgnoredAny;
use serde::Deserialize;

use crate::attributes::bounded;

/// The attributes of a call of `service`'s `operation` with `request`.
pub(super) fn attributes(
    service: &str,
    operation: &str,
    request: &Request,
    out: &mut Vec<KeyValue>,
) {
    match service {
        "DynamoDB" => dynamodb(request, out),
        "SQS" => sqs(operation, request, out),
        _ => {}
    }
}

#[derive(Deserialize, Default)]
struct DynamoDbRequest<'a> {
    #[serde(rename = "TableName", borrow)]
    table_name: Option<Cow<'a, str>>,
    #[serde(rename = "RequestItems")]
    request_items: Option<BTreeMap<String, IgnoredAny>>,
    #[serde(rename = "TransactItems", borrow)]
    transact_items: Option<Vec<BTreeMap<Cow<'a, str>, TableOnly<'a>>>>,
}

#[derive(Deserialize)]
struct TableOnly<'a> {
    #[serde(rename = "TableName", borrow)]
    table_name: Option<Cow<'a, str>>,
}

fn dynamodb(request: &Request, out: &mut Vec<KeyValue>) {
    out.push(KeyValue::new("db.system.name", "aws.dynamodb"));
    let Some(body) = request.body().bytes() else {
        return;
    };
    let parsed: DynamoDbRequest<'_> = serde_json::from_slice(body).unwrap_or_default();
    let mut tables: Vec<StringValue> = Vec::new();
    let mut add = |name: &str| {
        let name = bounded(name);
        if !tables.iter().any(|t| t.as_str() == name) {
            tables.push(StringValue::from(name));
        }
    };
    if let Some(name) = &parsed.table_name {
        add(name);
    }
    for name in parsed.request_items.iter().flat_map(BTreeMap::keys) {
        add(name);
    }
    for item in parsed.transact_items.iter().flatten() {
        for action in item.values() {
            if let Some(name) = &action.table_name {
                add(name);
            }
        }
    }
    if !tables.is_empty() {
        out.push(KeyValue::new(
            "aws.dynamodb.table_names",
            Value::Array(Array::String(tables)),
        ));
    }
}

#[derive(Deserialize, Default)]
struct SqsRequest<'a> {
    #[serde(rename = "QueueUrl", borrow)]
    queue_url: Option<Cow<'a, str>>,
    #[serde(rename = "Entries")]
    entries: Option<Vec<IgnoredAny>>,
}

fn sqs(operation: &str, request: &Request, out: &mut Vec<KeyValue>) {
    out.push(KeyValue::new("messaging.system", "aws_sqs"));
    let kind = match operation {
        "SendMessage" | "SendMessageBatch" => Some("send"),
        "ReceiveMessage" => Some("receive"),
        "DeleteMessage"
        | "DeleteMessageBatch"
        | "ChangeMessageVisibility"
        | "ChangeMessageVisibilityBatch" => Some("settle"),
        _ => None,
    };
    if let Some(kind) = kind {
        out.push(KeyValue::new("messaging.operation.type", kind));
        out.push(KeyValue::new(
            "messaging.operation.name",
            operation.to_owned(),
        ));
    }
    let Some(body) = request.body().bytes() else {
        return;
    };
    let parsed: SqsRequest<'_> = serde_json::from_slice(body).unwrap_or_default();
    if let Some(url) = &parsed.queue_url {
        out.push(KeyValue::new("aws.sqs.queue.url", bounded(url)));
        if let Some(name) = url.rsplit('/').next().filter(|n| !n.is_empty()) {
            out.push(KeyValue::new("messaging.destination.name", bounded(name)));
        }
    }
    if let (Some(entries), "SendMessageBatch") = (&parsed.entries, operation) {
        out.push(KeyValue::new(
            "messaging.batch.message_count",
            entries.len() as i64,
        ));
    }
}

/// The bucket an S3 request addresses, from its URI once the endpoint is
/// applied: the host's part before `.s3.`, `.s3-` or `.s3express-`
/// (virtual-hosted style, S3 Express), else the first path segment (path
/// style, a custom endpoint). Access points, Object Lambda and Outposts
/// name no bucket in their host, and give none.
pub(super) fn s3_bucket(uri: &str) -> Option<String> {
    let uri = uri.parse::<http::Uri>().ok()?;
    let host = uri.host().unwrap_or_default();
    if [
        "s3-accesspoint",
        ".accesspoint.",
        "s3-object-lambda",
        "s3-outposts",
    ]
    .iter()
    .any(|tag| host.contains(tag))
    {
        return None;
    }
    let virtual_hosted = [".s3.", ".s3-", ".s3express-"]
        .iter()
        .filter_map(|tag| host.rfind(tag))
        .max()
        .map(|end| &host[..end]);
    let bucket = match virtual_hosted {
        Some(bucket) => bucket,
        None if host.starts_with("s3.") || host.starts_with("s3-") || !host.contains(".s3") => {
            uri.path().trim_start_matches('/').split('/').next()?
        }
        None => return None,
    };
    (!bucket.is_empty()).then(|| bounded(bucket))
}

/// Writes `header` as the `AWSTraceHeader` system attribute of each message
/// a `SendMessage` or `SendMessageBatch` request sends, unless the caller
/// set one; the body's length changes with it. A body that is not the JSON
/// protocol's is left alone: the request's `X-Amzn-Trace-Id` still carries
/// the context, and SQS takes it for every message.
pub(super) fn inject_sqs(operation: &str, request: &mut Request, header: &str) {
    let Some(body) = request.body().bytes() else {
        return;
    };
    let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return;
    };
    let attribute = serde_json::json!({"DataType": "String", "StringValue": header});
    let set = |message: &mut serde_json::Value| {
        if let Some(message) = message.as_object_mut() {
            let system = message
                .entry("MessageSystemAttributes")
                .or_insert_with(|| serde_json::Value::Object(Default::default()));
            if let Some(system) = system.as_object_mut() {
                system
                    .entry("AWSTraceHeader")
                    .or_insert_with(|| attribute.clone());
            }
        }
    };
    match operation {
        "SendMessage" => set(&mut value),
        "SendMessageBatch" => {
            for entry in value
                .get_mut("Entries")
                .and_then(serde_json::Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                set(entry);
            }
        }
        _ => return,
    }
    let Ok(bytes) = serde_json::to_vec(&value) else {
        return;
    };
    request
        .headers_mut()
        .insert("content-length", bytes.len().to_string());
    *request.body_mut() = SdkBody::from(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(uri: &str, body: &str) -> Request {
        let mut request = Request::new(SdkBody::from(body.to_owned()));
        request.set_uri(uri).unwrap();
        request
    }

    fn of(service: &str, operation: &str, request: &Request) -> Vec<KeyValue> {
        let mut out = Vec::new();
        attributes(service, operation, request, &mut out);
        out
    }

    fn strings(value: &Value) -> Vec<&str> {
        match value {
            Value::Array(Array::String(s)) => s.iter().map(StringValue::as_str).collect(),
            other => panic!("{other:?}"),
        }
    }

    fn get<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
        attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| &kv.value)
    }

    #[test]
    fn dynamodb_tables_come_from_every_request_form() {
        let put = of(
            "DynamoDB",
            "PutItem",
            &request(
                "https://dynamodb.us-east-1.amazonaws.com/",
                r#"{"TableName":"Orders","Item":{"pk":{"S":"a"}}}"#,
            ),
        );
        assert_eq!(
            strings(get(&put, "aws.dynamodb.table_names").unwrap()),
            ["Orders"]
        );
        assert_eq!(
            get(&put, "db.system.name").unwrap().as_str(),
            "aws.dynamodb"
        );
        let batch = of(
            "DynamoDB",
            "BatchWriteItem",
            &request("https://x/", r#"{"RequestItems":{"B":[],"A":[]}}"#),
        );
        assert_eq!(
            strings(get(&batch, "aws.dynamodb.table_names").unwrap()),
            ["A", "B"]
        );
        let transact = of(
            "DynamoDB",
            "TransactWriteItems",
            &request(
                "https://x/",
                r#"{"TransactItems":[{"Put":{"TableName":"A","Item":{}}},{"Update":{"TableName":"B"}},{"ConditionCheck":{"TableName":"A"}}]}"#,
            ),
        );
        assert_eq!(
            strings(get(&transact, "aws.dynamodb.table_names").unwrap()),
            ["A", "B"]
        );
        let escaped = of(
            "DynamoDB",
            "GetItem",
            &request("https://x/", r#"{"TableName":"T\u0031"}"#),
        );
        assert_eq!(
            strings(get(&escaped, "aws.dynamodb.table_names").unwrap()),
            ["T1"]
        );
        let none = of("DynamoDB", "ListTables", &request("https://x/", "{}"));
        assert!(get(&none, "aws.dynamodb.table_names").is_none());
        let garbage = of("DynamoDB", "GetItem", &request("https://x/", "not json"));
        assert_eq!(garbage.len(), 1);
    }

    #[test]
    fn sqs_calls_name_their_queue() {
        let send = of(
            "SQS",
            "SendMessageBatch",
            &request(
                "https://sqs.us-east-1.amazonaws.com/",
                r#"{"QueueUrl":"https://sqs.us-east-1.amazonaws.com/123456789012/orders","Entries":[{"Id":"1"},{"Id":"2"}]}"#,
            ),
        );
        let s = |key| get(&send, key).map(Value::as_str).map(|v| v.into_owned());
        assert_eq!(
            s("aws.sqs.queue.url").as_deref(),
            Some("https://sqs.us-east-1.amazonaws.com/123456789012/orders")
        );
        assert_eq!(s("messaging.destination.name").as_deref(), Some("orders"));
        assert_eq!(s("messaging.operation.type").as_deref(), Some("send"));
        assert_eq!(s("messaging.system").as_deref(), Some("aws_sqs"));
        assert_eq!(
            get(&send, "messaging.batch.message_count"),
            Some(&Value::I64(2))
        );
    }

    #[test]
    fn s3_buckets_come_from_the_host_or_the_path() {
        let b = |uri| s3_bucket(uri);
        assert_eq!(
            b("https://my-bucket.s3.us-east-1.amazonaws.com/key").as_deref(),
            Some("my-bucket")
        );
        assert_eq!(
            b("https://my.dotted.bucket.s3.us-east-1.amazonaws.com/k").as_deref(),
            Some("my.dotted.bucket")
        );
        assert_eq!(
            b("https://my.s3-like.b.s3.us-east-1.amazonaws.com/k").as_deref(),
            Some("my.s3-like.b")
        );
        assert_eq!(
            b("https://b.s3-accelerate.amazonaws.com/k").as_deref(),
            Some("b")
        );
        assert_eq!(
            b("https://b.s3.dualstack.eu-west-1.amazonaws.com/k").as_deref(),
            Some("b")
        );
        assert_eq!(
            b("https://b.s3-fips.us-east-1.amazonaws.com/k").as_deref(),
            Some("b")
        );
        assert_eq!(
            b("https://b--usw2-az1--x-s3.s3express-usw2-az1.us-west-2.amazonaws.com/k").as_deref(),
            Some("b--usw2-az1--x-s3")
        );
        assert_eq!(
            b("https://s3.us-east-1.amazonaws.com/my-bucket/a/b").as_deref(),
            Some("my-bucket")
        );
        assert_eq!(
            b("http://127.0.0.1:5000/my-bucket/a/b").as_deref(),
            Some("my-bucket")
        );
        assert_eq!(b("https://s3.us-east-1.amazonaws.com/"), None);
        assert_eq!(
            b("https://ap-123456789012.s3-accesspoint.us-east-1.amazonaws.com/k"),
            None
        );
        assert_eq!(
            b("https://alias.accesspoint.s3-global.amazonaws.com/k"),
            None
        );
        assert_eq!(b("not a uri"), None);
    }

    #[test]
    fn sent_messages_carry_the_header_unless_they_have_one() {
        let header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
        let mut send = request("https://x/", r#"{"QueueUrl":"q","MessageBody":"{}"}"#);
        inject_sqs("SendMessage", &mut send, header);
        let body: serde_json::Value = serde_json::from_slice(send.body().bytes().unwrap()).unwrap();
        assert_eq!(
            body["MessageSystemAttributes"]["AWSTraceHeader"],
            serde_json::json!({"DataType": "String", "StringValue": header})
        );
        assert_eq!(
            send.headers().get("content-length"),
            Some(send.body().bytes().unwrap().len().to_string().as_str())
        );
        let mut batch = request(
            "https://x/",
            r#"{"QueueUrl":"q","Entries":[{"Id":"1","MessageBody":"a"},{"Id":"2","MessageBody":"b","MessageSystemAttributes":{"AWSTraceHeader":{"DataType":"String","StringValue":"mine"}}}]}"#,
        );
        inject_sqs("SendMessageBatch", &mut batch, header);
        let body: serde_json::Value =
            serde_json::from_slice(batch.body().bytes().unwrap()).unwrap();
        let traced = |i: usize| {
            body["Entries"][i]["MessageSystemAttributes"]["AWSTraceHeader"]["StringValue"].clone()
        };
        assert_eq!(traced(0), header);
        assert_eq!(traced(1), "mine");
        let mut query = request("https://x/", "Action=SendMessage&QueueUrl=q");
        inject_sqs("SendMessage", &mut query, header);
        assert_eq!(
            query.body().bytes().unwrap(),
            b"Action=SendMessage&QueueUrl=q"
        );
    }
}
