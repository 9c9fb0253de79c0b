//! `perfmon demo`: a deterministic mix of the guide's four operations and
//! its business metrics, monitored on the default pipeline (the console
//! summary when nothing is configured).

use std::time::Duration;

use opentelemetry::KeyValue;
use perfmon::{
    attributes as a, operation, AuthOutcome, ConnectionEvent, DisconnectReason, MessageType,
    PerformanceMonitor, Telemetry, VerificationOutcome,
};

/// Command-line options.
pub struct Options {
    /// Simulated client sessions (connect, auth, messages, ping, disconnect).
    sessions: u32,
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Options, String> {
        let mut options = Options { sessions: 200 };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--operations" | "--sessions" => {
                    options.sessions = args
                        .next()
                        .and_then(|v| v.parse().ok())
                        .filter(|n| *n > 0)
                        .ok_or("--sessions takes a positive number")?;
                }
                other => return Err(format!("unknown option {other}")),
            }
        }
        Ok(options)
    }
}

/// A small deterministic generator, so every run shows the same mix.
struct Dice(u64);

impl Dice {
    fn roll(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % 100
    }

    fn work(&mut self) {
        std::thread::sleep(Duration::from_micros(50 + self.roll() * 4));
    }
}

pub fn run(options: Options) -> Result<(), String> {
    let telemetry = Telemetry::builder()
        .with_service_name("perfmon-demo")
        .build()
        .map_err(|e| e.to_string())?;
    let monitor = PerformanceMonitor::new(&telemetry);
    let settings = telemetry.settings();
    println!(
        "perfmon demo: {} sessions; traces -> {}, metrics -> {}, Environment={}\n",
        options.sessions, settings.traces_exporter, settings.metrics_exporter, settings.environment
    );
    let mut dice = Dice(0x9E37_79B9_7F4A_7C15);
    for session in 0..options.sessions {
        simulate_session(&monitor, &mut dice, session);
    }
    telemetry
        .shutdown(Duration::from_secs(10))
        .map_err(|e| format!("telemetry shutdown: {e}"))
}

fn simulate_session(monitor: &PerformanceMonitor, dice: &mut Dice, session: u32) {
    let business = monitor.business();
    let connection_id = format!("conn-{session:05}=");

    let connect = monitor.start(
        operation::WEBSOCKET_CONNECTION,
        [
            KeyValue::new(a::CONNECTION_ID, connection_id.clone()),
            KeyValue::new(a::EVENT_TYPE, "CONNECT"),
        ],
    );
    dice.work();
    business.connection(ConnectionEvent::Connect);
    if dice.roll() < 1 {
        connect.fail("DATABASE_ERROR", [KeyValue::new(a::EVENT_TYPE, "connect")]);
        return;
    }
    connect.complete(true, [KeyValue::new(a::EVENT_TYPE, "connect")]);

    let authenticated = conversation(monitor, dice, &connection_id, MessageType::Auth);
    for _ in 0..(1 + dice.roll() % 4) {
        if authenticated || dice.roll() < 50 {
            conversation(monitor, dice, &connection_id, MessageType::Message);
        }
    }
    conversation(monitor, dice, &connection_id, MessageType::Ping);

    let disconnect = monitor.start(
        operation::WEBSOCKET_CONNECTION,
        [
            KeyValue::new(a::CONNECTION_ID, connection_id),
            KeyValue::new(a::EVENT_TYPE, "DISCONNECT"),
        ],
    );
    dice.work();
    business.connection(ConnectionEvent::Disconnect);
    business.connection_duration(Duration::from_millis(1000 + dice.roll() * 300));
    let code = match dice.roll() {
        0..=84 => 1000,
        85..=94 => 1001,
        _ => 1006,
    };
    business.disconnect(DisconnectReason::from_status_code(Some(code)));
    let mut attrs = vec![KeyValue::new(a::EVENT_TYPE, "disconnect")];
    if dice.roll() < 2 {
        attrs.push(KeyValue::new(a::WARNING, "cleanup_failed"));
    }
    disconnect.complete(true, attrs);
}

/// One `$default` frame; returns whether an `auth` frame succeeded.
fn conversation(
    monitor: &PerformanceMonitor,
    dice: &mut Dice,
    connection_id: &str,
    kind: MessageType,
) -> bool {
    let business = monitor.business();
    let mut op = monitor.start(
        operation::WEBSOCKET_CONVERSATION,
        [
            KeyValue::new(a::CONNECTION_ID, connection_id.to_owned()),
            KeyValue::new(a::EVENT_TYPE, "MESSAGE"),
            KeyValue::new(a::ROUTE_KEY, "$default"),
        ],
    );
    business.message(kind);
    let frame = [KeyValue::new(a::MESSAGE_TYPE, kind.as_str())];
    match kind {
        MessageType::Auth => {
            let cx = op.context();
            let verify = monitor.start_with_context(
                operation::AUTHENTICATION_JWT_VERIFICATION,
                &cx,
                [KeyValue::new(a::HAS_TOKEN, true)],
            );
            dice.work();
            let outcome = match dice.roll() {
                0..=84 => VerificationOutcome::Success,
                85..=91 => VerificationOutcome::TokenExpired,
                92..=96 => VerificationOutcome::InvalidToken,
                _ => VerificationOutcome::MissingToken,
            };
            business.verification(outcome);
            let ok = outcome == VerificationOutcome::Success;
            if ok {
                verify.complete(true, []);
                business.auth_message(AuthOutcome::Success);
            } else {
                verify.fail(outcome.as_str(), []);
                business.auth_message(AuthOutcome::Failure);
            }
            op.complete(true, frame);
            ok
        }
        MessageType::Message => {
            let length = 10 + dice.roll() as usize * 3;
            business.message_length(length);
            let cx = op.context();
            let chat = monitor.start_with_context(
                operation::CHAT_MESSAGE_PROCESSING,
                &cx,
                [KeyValue::new(a::MESSAGE_LENGTH, length as i64)],
            );
            dice.work();
            dice.work();
            business.database_operations(2);
            if dice.roll() < 2 {
                chat.fail("DATABASE_ERROR", []);
                op.fail("CHAT_FAILED", frame);
            } else {
                business.message_processed();
                chat.complete(true, [KeyValue::new(a::MESSAGE_TYPE, "user_and_bot")]);
                op.complete(true, frame);
            }
            true
        }
        _ => {
            dice.work();
            op.complete(true, frame);
            true
        }
    }
}
