//! The business dashboard: every business metric of the guide, with the
//! dimension values the code's typed recorders emit.

use serde_json::{json, Value};

use super::widgets::{graph, handler_dims, header, metric, Grid};
use super::ENVIRONMENT;
use crate::business::{
    AuthOutcome, ConnectionEvent, DisconnectReason, MessageType, VerificationOutcome,
};
use crate::catalog::Catalog;
use crate::names::{self, dim, operation};

fn by<'a>(
    catalog: &Catalog,
    name: &str,
    handler: &'a str,
    key: &'a str,
    value: &'a str,
    options: Value,
) -> Value {
    metric(
        catalog,
        name,
        &[
            ("Handler", handler),
            ("Environment", ENVIRONMENT),
            (key, value),
        ],
        options,
    )
}

/// The business DashboardBody.
pub fn body(catalog: &Catalog) -> Value {
    let conv = operation::WEBSOCKET_CONVERSATION;
    let conn = operation::WEBSOCKET_CONNECTION;
    let auth = operation::AUTHENTICATION_JWT_VERIFICATION;
    let chat = operation::CHAT_MESSAGE_PROCESSING;
    let mut grid = Grid::new();
    grid.place(24, 2, header(catalog, "Business"));

    let per_type = MessageType::ALL
        .iter()
        .map(|t| {
            by(
                catalog,
                names::MESSAGES,
                conv,
                dim::MESSAGE_TYPE,
                t.as_str(),
                json!({"label": t.as_str()}),
            )
        })
        .collect();
    grid.place(
        12,
        6,
        graph("Messages per minute by type", per_type, "Sum", None),
    );
    grid.place(
        12,
        6,
        graph(
            "Average message length (bytes)",
            vec![metric(
                catalog,
                names::MESSAGE_LENGTH,
                &handler_dims(conv),
                json!({"stat": "Average"}),
            )],
            "Average",
            None,
        ),
    );
    grid.place(
        12,
        6,
        graph(
            "Authentication success rate (%)",
            vec![
                json!([{"expression": "100 * FILL(ok, 0) / (FILL(ok, 0) + FILL(bad, 0))", "label": "success rate", "id": "authrate"}]),
                by(catalog, names::AUTH_MESSAGES, conv, dim::OUTCOME, AuthOutcome::Success.as_str(), json!({"id": "ok", "visible": false})),
                by(catalog, names::AUTH_MESSAGES, conv, dim::OUTCOME, AuthOutcome::Failure.as_str(), json!({"id": "bad", "visible": false})),
            ],
            "Sum",
            None,
        ),
    );
    let connections = ConnectionEvent::ALL
        .iter()
        .map(|e| {
            by(
                catalog,
                names::CONNECTIONS,
                conn,
                dim::EVENT_TYPE,
                e.as_str(),
                json!({"label": e.as_str()}),
            )
        })
        .collect();
    grid.place(
        12,
        6,
        graph("Connections per minute", connections, "Sum", None),
    );
    grid.place(
        12,
        6,
        graph(
            "Average connection duration (ms)",
            vec![metric(
                catalog,
                names::CONNECTION_DURATION,
                &handler_dims(conn),
                json!({"stat": "Average"}),
            )],
            "Average",
            None,
        ),
    );
    let reasons = DisconnectReason::ALL
        .iter()
        .map(|r| {
            by(
                catalog,
                names::DISCONNECTS,
                conn,
                dim::REASON,
                r.as_str(),
                json!({"label": r.as_str()}),
            )
        })
        .collect();
    grid.place(12, 6, graph("Disconnect reasons", reasons, "Sum", None));
    let outcomes = VerificationOutcome::ALL
        .iter()
        .map(|o| {
            by(
                catalog,
                names::VERIFICATIONS,
                auth,
                dim::OUTCOME,
                o.as_str(),
                json!({"label": o.as_str()}),
            )
        })
        .collect();
    grid.place(
        12,
        6,
        graph("Verification outcomes per minute", outcomes, "Sum", None),
    );
    grid.place(
        12,
        6,
        graph(
            "Messages processed per minute",
            vec![metric(
                catalog,
                names::MESSAGES_PROCESSED,
                &handler_dims(chat),
                json!({"stat": "Sum"}),
            )],
            "Sum",
            None,
        ),
    );
    grid.place(
        12,
        6,
        graph(
            "Average processing time (ms)",
            vec![metric(
                catalog,
                names::HANDLER_DURATION,
                &handler_dims(chat),
                json!({"stat": "Average"}),
            )],
            "Average",
            None,
        ),
    );
    grid.place(
        12,
        6,
        graph(
            "Database operations per message",
            vec![
                json!([{"expression": "FILL(db, 0) / processed", "label": "DB operations per message", "id": "dbper"}]),
                metric(catalog, names::DATABASE_OPERATIONS, &handler_dims(chat), json!({"stat": "Sum", "id": "db", "visible": false})),
                metric(catalog, names::MESSAGES_PROCESSED, &handler_dims(chat), json!({"stat": "Sum", "id": "processed", "visible": false})),
            ],
            "Sum",
            None,
        ),
    );
    json!({"widgets": grid.widgets})
}
