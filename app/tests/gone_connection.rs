//! After a 410 Gone, removing the connection is best effort: a failed
//! delete is a warning, and the request, whose answer is stored, completes.

mod common;

use std::sync::Arc;

use common::app::{FailingConnections, TestApp};
use opentelemetry::trace::Status;
use perfmon_chat::chat::{ChatRequest, ChatService, EchoResponder};
use perfmon_chat::post::{PostError, Poster};
use perfmon_chat::store::MessageStore;

#[derive(Debug)]
struct Gone;

#[async_trait::async_trait]
impl Poster for Gone {
    async fn post(&self, _: &opentelemetry::Context, _: &str, _: &str) -> Result<(), PostError> {
        Err(PostError::Gone)
    }
}

#[tokio::test]
async fn a_failed_cleanup_after_gone_never_fails_the_request() {
    let t = common::telemetry();
    let app = TestApp::new(&t);
    let messages = app.local.store.clone();
    let chat = ChatService::new(
        messages.clone(),
        Arc::new(FailingConnections::new().failing(
            "DeleteItem",
            "ProvisionedThroughputExceededException: slow down",
        )),
        Arc::new(Gone),
        Arc::new(EchoResponder),
        common::chat(&t),
    );
    let cx = opentelemetry::Context::new();
    let processed = chat
        .process(
            &cx,
            &ChatRequest {
                connection_id: "gone-1=",
                user_id: "sub-1",
                message: "still there?",
                session_id: Some("s-gone"),
                client_message_id: None,
            },
        )
        .await
        .expect("the answer is stored: the request is done");
    assert_eq!(processed.session_id, "s-gone");
    assert_eq!(messages.session(&cx, "s-gone").await.unwrap().len(), 2);
    assert_eq!(t.span("chat_message_processing").status, Status::Unset);
}
