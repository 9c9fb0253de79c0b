//! The typed business-metric recorders emit DESIGN §3a's names, units and
//! dimensions under the guide's handlers.

mod common;

use std::time::Duration;

use common::{dims, Value};
use perfmon_chat::names::{
    AuthOutcome, ConnectionEvent, DisconnectReason, MessageType, VerificationOutcome,
};

const CONVERSATION: &str = "websocket_conversation";
const CONNECTION: &str = "websocket_connection";
const AUTH: &str = "authentication_jwt_verification";
const CHAT: &str = "chat_message_processing";

#[test]
fn every_recorder_emits_its_catalog_metric() {
    let t = common::telemetry();
    let chat = common::chat(&t);
    let b = chat.business();
    b.message(MessageType::Auth);
    b.message(MessageType::Message);
    b.message(MessageType::Message);
    b.message(MessageType::Unknown);
    b.message_length(10);
    b.message_length(30);
    b.auth_message(AuthOutcome::Success);
    b.auth_message(AuthOutcome::Failure);
    b.connection(ConnectionEvent::Connect);
    b.connection(ConnectionEvent::Disconnect);
    b.connection_duration(Duration::from_millis(1500));
    b.disconnect(DisconnectReason::from_status_code(Some(1001)));
    b.verification(VerificationOutcome::TokenExpired);
    b.verification(VerificationOutcome::Success);
    b.message_processed();
    b.database_operations(3);

    let points = t.points();
    let find = |name: &str, extra: &[(&str, &str)], handler: &str| {
        let mut want = dims(&[("Handler", handler), ("Environment", "test")]);
        want.extend(dims(extra));
        points
            .iter()
            .find(|p| p.name == name && p.attributes == want)
            .unwrap_or_else(|| panic!("{name} {want:?} in {points:?}"))
            .clone()
    };
    let sum = |name, extra: &[(&str, &str)], handler| find(name, extra, handler).value;

    assert_eq!(
        sum("Messages", &[("MessageType", "message")], CONVERSATION),
        Value::Sum(2)
    );
    assert_eq!(
        sum("Messages", &[("MessageType", "auth")], CONVERSATION),
        Value::Sum(1)
    );
    assert_eq!(
        sum("Messages", &[("MessageType", "unknown")], CONVERSATION),
        Value::Sum(1)
    );
    let length = find("MessageLength", &[], CONVERSATION);
    assert_eq!(length.unit, "By");
    assert_eq!(length.value, Value::Histogram(2, 40.0, 10.0, 30.0));
    assert_eq!(
        sum("AuthMessages", &[("Outcome", "success")], CONVERSATION),
        Value::Sum(1)
    );
    assert_eq!(
        sum("AuthMessages", &[("Outcome", "failure")], CONVERSATION),
        Value::Sum(1)
    );
    assert_eq!(
        sum("Connections", &[("EventType", "connect")], CONNECTION),
        Value::Sum(1)
    );
    assert_eq!(
        sum("Connections", &[("EventType", "disconnect")], CONNECTION),
        Value::Sum(1)
    );
    let lifetime = find("ConnectionDuration", &[], CONNECTION);
    assert_eq!(lifetime.unit, "ms");
    assert_eq!(lifetime.value, Value::Histogram(1, 1500.0, 1500.0, 1500.0));
    assert_eq!(
        sum("Disconnects", &[("Reason", "timeout")], CONNECTION),
        Value::Sum(1)
    );
    assert_eq!(
        sum("Verifications", &[("Outcome", "TOKEN_EXPIRED")], AUTH),
        Value::Sum(1)
    );
    assert_eq!(
        sum("Verifications", &[("Outcome", "success")], AUTH),
        Value::Sum(1)
    );
    assert_eq!(sum("MessagesProcessed", &[], CHAT), Value::Sum(1));
    assert_eq!(sum("DatabaseOperations", &[], CHAT), Value::Sum(3));
    assert!(points
        .iter()
        .filter(|p| p.name != "MessageLength" && p.name != "ConnectionDuration")
        .all(|p| p.unit == "1"));
}
