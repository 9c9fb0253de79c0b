//! What an AWS response says about the call: its request id, and for a
//! failure, the service's error code and message, read from the wire as
//! each AWS protocol writes them (the SDK's typed errors are not reachable
//! from an interceptor, which sees the operation's output and error only
//! type-erased).
//!
//! - the code: `x-amzn-query-error` (SQS, whose codes the SDK reports in
//!   their query form, `AWS.SimpleQueueService.NonExistentQueue`), then
//!   `x-amzn-errortype` (REST-JSON and JSON protocols), then the JSON
//!   body's `__type` or `code`, then the XML body's `<Code>` (S3, query
//!   protocols); shortened as the SDKs do: up to the first `:`, after the
//!   last `#`;
//! - the message: the JSON body's `message` or `Message`, or the XML
//!   body's `<Message>`.

use aws_smithy_runtime_api::http::{Headers, Response};
use serde::Deserialize;

use crate::attributes::bounded;

/// Codes AWS services use for throttling: the list the AWS SDKs' retry
/// classifier uses (`aws_runtime::retries::classifiers::THROTTLING_ERRORS`).
pub const THROTTLING_ERRORS: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// The request id: `x-amzn-requestid`, or S3's `x-amz-request-id`.
pub(super) fn request_id(headers: &Headers) -> Option<&str> {
    headers
        .get("x-amzn-requestid")
        .or_else(|| headers.get("x-amz-request-id"))
}

/// The id SQS gave the message a `SendMessage` sent (JSON protocol).
pub(super) fn sent_message_id(response: &Response) -> Option<String> {
    #[derive(Deserialize)]
    struct Sent {
        #[serde(rename = "MessageId")]
        message_id: String,
    }
    let body = response.body().bytes()?;
    serde_json::from_slice::<Sent>(body)
        .ok()
        .map(|sent| bounded(&sent.message_id))
}

/// A service's error: its code and message, when the response names them.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct ServiceError {
    pub code: Option<String>,
    pub message: Option<String>,
    /// Whether the code, in any of the forms the response gives, is a
    /// throttling code.
    pub throttled: bool,
}

/// A JSON error body's fields, each kept only if it is a string, as the
/// SDKs' `parse_error_body` reads them.
#[derive(Deserialize, Default)]
struct JsonError {
    #[serde(rename = "__type", default)]
    kind: Option<serde_json::Value>,
    #[serde(default)]
    code: Option<serde_json::Value>,
    #[serde(default)]
    message: Option<serde_json::Value>,
    #[serde(rename = "Message", default)]
    capital_message: Option<serde_json::Value>,
    #[serde(rename = "errorMessage", default)]
    error_message: Option<serde_json::Value>,
}

/// A JSON value's text, when it is a string.
fn text(value: Option<serde_json::Value>) -> Option<String> {
    match value {
        Some(serde_json::Value::String(s)) => Some(s),
        _ => None,
    }
}

/// The error a failed response describes.
pub(super) fn service_error(response: &Response) -> ServiceError {
    let headers = response.headers();
    let body = response.body().bytes().unwrap_or_default();
    let json = match body.trim_ascii_start().first() {
        Some(b'{') => serde_json::from_slice::<JsonError>(body).unwrap_or_default(),
        _ => JsonError::default(),
    };
    let json_code = text(json.code).or(text(json.kind));
    let json_message = text(json.message)
        .or(text(json.capital_message))
        .or(text(json.error_message));
    let xml = |tag: &str| {
        std::str::from_utf8(body)
            .ok()
            .and_then(|text| xml_element(text, tag))
            .map(str::to_owned)
    };
    let typed = headers
        .get("x-amzn-errortype")
        .map(str::to_owned)
        .or(json_code)
        .or_else(|| xml("Code"))
        .map(|code| sanitize(&code).to_owned())
        // S3 answers a HEAD with no body: the SDK names its 404 so.
        .or_else(|| {
            (body.is_empty() && response.status().as_u16() == 404).then(|| "NotFound".to_owned())
        });
    // `Code;Fault`, as the SDKs accept it: with its `;` only.
    let query = headers
        .get("x-amzn-query-error")
        .and_then(|v| v.split_once(';'))
        .map(|(code, _)| code)
        .filter(|code| !code.is_empty())
        .map(str::to_owned);
    let throttled = [&query, &typed]
        .into_iter()
        .flatten()
        .any(|code| THROTTLING_ERRORS.contains(&code.as_str()));
    ServiceError {
        code: query.or(typed),
        message: json_message.or_else(|| xml("Message")),
        throttled,
    }
}

/// An error code as the SDKs shorten it: `aws.protocoltests#FooError:http://…`
/// is `FooError`.
fn sanitize(code: &str) -> &str {
    let code = code.split(':').next().unwrap_or(code);
    code.rsplit('#').next().unwrap_or(code).trim()
}

/// The text of the first `<tag>…</tag>` in `xml`.
fn xml_element<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find("</")? + start;
    Some(&xml[start..end])
}

#[cfg(test)]
mod tests {
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    use super::*;

    fn response(status: u16, headers: &[(&'static str, &'static str)], body: &str) -> Response {
        let mut response = Response::new(
            StatusCode::try_from(status).unwrap(),
            SdkBody::from(body.to_owned()),
        );
        for (name, value) in headers {
            response.headers_mut().insert(*name, *value);
        }
        response
    }

    #[test]
    fn json_protocols_name_the_error_in_the_body() {
        let error = service_error(&response(
            400,
            &[("x-amzn-requestid", "R1")],
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"Rate exceeded"}"#,
        ));
        assert_eq!(
            error,
            ServiceError {
                code: Some("ProvisionedThroughputExceededException".to_owned()),
                message: Some("Rate exceeded".to_owned()),
                throttled: true,
            }
        );
    }

    #[test]
    fn rest_json_names_it_in_a_header() {
        let error = service_error(&response(
            410,
            &[(
                "x-amzn-ErrorType",
                "GoneException:http://internal.amazon.com/coral/",
            )],
            r#"{"Message":"gone"}"#,
        ));
        assert_eq!(error.code.as_deref(), Some("GoneException"));
        assert_eq!(error.message.as_deref(), Some("gone"));
        assert!(!error.throttled);
    }

    #[test]
    fn sqs_codes_are_their_query_form_and_throttling_is_seen_in_either() {
        let error = service_error(&response(
            400,
            &[(
                "x-amzn-query-error",
                "AWS.SimpleQueueService.NonExistentQueue;Sender",
            )],
            r#"{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."}"#,
        ));
        assert_eq!(
            error.code.as_deref(),
            Some("AWS.SimpleQueueService.NonExistentQueue")
        );
        let throttled = service_error(&response(
            400,
            &[("x-amzn-query-error", "RequestThrottled;Sender")],
            r#"{"__type":"com.amazonaws.sqs#RequestThrottled"}"#,
        ));
        assert!(throttled.throttled);
    }

    #[test]
    fn xml_protocols_name_it_in_the_body() {
        let error = service_error(&response(
            503,
            &[("x-amz-request-id", "S3R")],
            "<?xml version=\"1.0\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
        ));
        assert_eq!(error.code.as_deref(), Some("SlowDown"));
        assert_eq!(
            error.message.as_deref(),
            Some("Please reduce your request rate.")
        );
        assert!(error.throttled);
    }

    #[test]
    fn json_bodies_are_read_as_the_sdks_read_them() {
        // Both names, `code` first; non-string values ignored; leading
        // white space.
        let error = service_error(&response(
            400,
            &[],
            r#"  {"__type":"T#Typed","code":"Coded","message":{"x":1},"Message":"text"}"#,
        ));
        assert_eq!(error.code.as_deref(), Some("Coded"));
        assert_eq!(error.message.as_deref(), Some("text"));
        let numeric = service_error(&response(400, &[], r#"{"code":400,"__type":"X"}"#));
        assert_eq!(numeric.code.as_deref(), Some("X"));
    }

    #[test]
    fn an_s3_head_404_is_not_found() {
        let error = service_error(&response(404, &[], ""));
        assert_eq!(error.code.as_deref(), Some("NotFound"));
        assert_eq!(service_error(&response(500, &[], "")).code, None);
    }

    #[test]
    fn a_body_that_says_nothing_gives_nothing() {
        for body in ["", "not json", "{\"__type\": 7}", "<Error><Code>"] {
            let error = service_error(&response(500, &[], body));
            assert_eq!(error, ServiceError::default(), "{body}");
        }
    }

    #[test]
    fn a_sent_message_id_is_read_from_the_json_answer() {
        let sent = response(200, &[], r#"{"MD5OfMessageBody":"x","MessageId":"m-1"}"#);
        assert_eq!(sent_message_id(&sent).as_deref(), Some("m-1"));
        assert_eq!(sent_message_id(&response(200, &[], "<xml/>")), None);
    }

    #[test]
    fn request_ids_are_read_from_either_header() {
        assert_eq!(
            request_id(response(200, &[("x-amzn-RequestId", "A")], "").headers()),
            Some("A")
        );
        assert_eq!(
            request_id(response(200, &[("x-amz-request-id", "B")], "").headers()),
            Some("B")
        );
    }
}
