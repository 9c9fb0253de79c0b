//! Least privilege, and enough: the AWS calls each Lambda function makes
//! are exactly what `deploy/template.yaml` grants its role, each on the
//! right resource.
//!
//! - The calls are derived from the code: every route a function's binary
//!   serves (`app/src/bin/*.rs`) runs against moto over HTTP, and the
//!   interceptor's CLIENT spans give each call's service, operation and
//!   table. The run must reach every SDK operation the app's source makes.
//! - The grants are the policies IAM receives: the template as
//!   `aws-sam-translator` expands it (`scripts/templates.py expand`).
#![cfg(feature = "aws")]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::moto::Moto;
use opentelemetry::trace::SpanKind;
use opentelemetry::{Array, Context, Value as OtelValue};
use perfmon_chat::env;
use perfmon_chat::post::{ApiGatewayPoster, PostError, Poster};
use perfmon_chat::store::DynamoStore;
use perfmon_chat::App;
use serde_json::{json, Value};

/// SDK operations in the source that no route of a function calls, so
/// that no role may be granted them: `Query` reads a session's history
/// (`MessageStore::session`), which only the tests and the lab read.
const NO_ROUTE_CALLS: &[&str] = &["Query"];

/// One AWS call as IAM sees it: the action, and the template resource it
/// acts on as JSON text.
type Grant = (String, String);

/// The real Management API poster, whose connections can be made gone:
/// the post is made, then answered 410 as API Gateway answers for a
/// client that left (moto never does), so that the clean-up path runs.
#[derive(Debug)]
struct Leaving {
    poster: ApiGatewayPoster,
    gone: AtomicBool,
}

#[async_trait::async_trait]
impl Poster for Leaving {
    async fn post(&self, cx: &Context, connection_id: &str, data: &str) -> Result<(), PostError> {
        self.poster.post(cx, connection_id, data).await?;
        if self.gone.load(Ordering::Relaxed) {
            return Err(PostError::Gone);
        }
        Ok(())
    }
}

/// Every SDK operation the app's source calls: a `.client` followed by
/// `.operation()`, as `PutItem` for `.put_item()`.
fn source_operations() -> BTreeSet<String> {
    fn walk(dir: &Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let lines: Vec<&str> = text.lines().map(str::trim).collect();
            for pair in lines.windows(2) {
                let [".client", call] = pair else { continue };
                if let Some(op) = call.strip_prefix('.').and_then(|c| c.strip_suffix("()")) {
                    out.insert(op.split('_').map(capitalized).collect());
                }
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(&common::root().join("app/src"), &mut out);
    out
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// Which binary serves each route key, from `app/src/bin/*.rs`.
fn binaries() -> BTreeMap<&'static str, String> {
    let keys = [
        ("Route::Connect", "$connect"),
        ("Route::Disconnect", "$disconnect"),
        ("Route::Default", "$default"),
    ];
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(common::root().join("app/src/bin")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let binary = path.file_stem().unwrap().to_string_lossy().into_owned();
        for (route, key) in keys {
            if text.contains(route) {
                assert!(out.insert(key, binary.clone()).is_none(), "{key} twice");
            }
        }
    }
    assert_eq!(out.len(), keys.len(), "every route has a binary: {out:?}");
    out
}

/// `deploy/template.yaml` expanded by aws-sam-translator.
fn expanded_template(moto: &Path) -> Value {
    let python = moto.with_file_name("python");
    let out = Command::new(&python)
        .arg(common::root().join("scripts/templates.py"))
        .arg("expand")
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", python.display()));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The function of `binary` in the expanded template: its properties and
/// the statements of its role's own policies.
fn function<'a>(template: &'a Value, binary: &str) -> (&'a str, &'a Value, Vec<&'a Value>) {
    let resources = template["Resources"].as_object().unwrap();
    let (id, function) = resources
        .iter()
        .find(|(_, r)| {
            r["Type"] == "AWS::Lambda::Function"
                && r["Properties"]["Code"]["S3Key"] == format!("{binary}.zip")
        })
        .unwrap_or_else(|| panic!("no function packages {binary}"));
    let role = function["Properties"]["Role"]["Fn::GetAtt"][0]
        .as_str()
        .unwrap();
    let statements = resources[role]["Properties"]["Policies"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["PolicyDocument"]["Statement"].as_array().unwrap())
        .collect();
    (id, &function["Properties"], statements)
}

/// Every (action, resource) pair `statements` allow.
fn granted(statements: &[&Value]) -> BTreeSet<Grant> {
    let mut out = BTreeSet::new();
    for statement in statements {
        assert_eq!(statement["Effect"], "Allow");
        let actions = match &statement["Action"] {
            Value::String(a) => vec![a.clone()],
            Value::Array(a) => a.iter().map(|a| a.as_str().unwrap().to_owned()).collect(),
            other => panic!("an action {other}"),
        };
        for action in actions {
            out.insert((action, statement["Resource"].to_string()));
        }
    }
    out
}

/// The IAM action and template resource of one CLIENT span, for the
/// function whose environment is `variables`.
fn grant_of(
    span: &opentelemetry_sdk::trace::SpanData,
    variables: &Value,
    tables: &perfmon_chat::store::Tables,
) -> Grant {
    let attr = |key: &str| {
        span.attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.clone())
    };
    let service = attr("rpc.service").unwrap().to_string();
    let method = attr("rpc.method").unwrap().to_string();
    match service.as_str() {
        "DynamoDB" => {
            let Some(OtelValue::Array(Array::String(names))) = attr("aws.dynamodb.table_names")
            else {
                panic!("{service}.{method} names no table")
            };
            let [name] = names.as_slice() else {
                panic!("{service}.{method} on {names:?}")
            };
            let variable = if name.as_str() == tables.connections {
                env::PERFMON_CONNECTIONS_TABLE
            } else if name.as_str() == tables.messages {
                env::PERFMON_MESSAGES_TABLE
            } else {
                panic!("{service}.{method} on {name}, no table of the function's")
            };
            let table = variables[variable]["Ref"]
                .as_str()
                .unwrap_or_else(|| panic!("{variable} is no table of the template"));
            (
                format!("dynamodb:{method}"),
                json!({"Fn::GetAtt": [table, "Arn"]}).to_string(),
            )
        }
        // "Use IAM authorization" (API Gateway Developer Guide): the
        // @connections API is `execute-api:ManageConnections` on
        // `API/STAGE/VERB/@connections/*`, the API the function posts to.
        "ApiGatewayManagementApi" => {
            let endpoint = variables[env::PERFMON_MANAGEMENT_ENDPOINT]["Fn::Sub"]
                .as_str()
                .unwrap();
            assert!(
                endpoint.starts_with("https://${WebSocketApi}.")
                    && endpoint.ends_with("/${Environment}")
            );
            let verb = match method.as_str() {
                "PostToConnection" => "POST",
                "GetConnection" => "GET",
                "DeleteConnection" => "DELETE",
                other => panic!("ApiGatewayManagementApi.{other}"),
            };
            (
                "execute-api:ManageConnections".to_owned(),
                json!({"Fn::Sub": format!("arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{WebSocketApi}}/${{Environment}}/{verb}/@connections/*")}).to_string(),
            )
        }
        other => panic!("a call to {other}, which this test does not map to IAM"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_function_is_granted_exactly_the_calls_it_makes() {
    let Some(moto) = Moto::start() else { return };
    let moto_bin = std::env::var("PERFMON_MOTO")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| common::root().join(".venv/bin/moto_server"));
    let template = expanded_template(&moto_bin);
    let pool = moto.cognito();
    let sdk = common::app::sdk_config(&moto).await;
    let tables = common::app::create_tables(&sdk).await;
    let t = common::telemetry();
    let store = Arc::new(DynamoStore::new(&sdk, tables.clone(), t.telemetry.tracer()));
    let poster = Arc::new(Leaving {
        poster: ApiGatewayPoster::new(&sdk, &moto.endpoint, t.telemetry.tracer()),
        gone: AtomicBool::new(false),
    });
    let auth = common::app::moto_auth(&t, &pool);
    let app = App::new(common::chat(&t), auth, store, poster.clone());

    // Every route, and every path of each that calls AWS: a first
    // message, its retry (read back), a message to a client that left
    // (its connection deleted), a ping.
    let auth_frame = json!({"action": "auth", "token": pool["access_token"]}).to_string();
    let message = json!({"action": "message", "message": "hello", "sessionId": "s-1",
        "clientMessageId": "m-1"})
    .to_string();
    let leaving = json!({"action": "message", "message": "bye", "sessionId": "s-1"}).to_string();
    let script: [(&str, &str, bool); 7] = [
        ("connect", "", false),
        ("default-auth", &auth_frame, false),
        ("default-message", &message, false),
        ("default-message", &message, false),
        ("default-ping", r#"{"action":"ping"}"#, false),
        ("default-message", &leaving, true),
        ("disconnect", "", false),
    ];
    let binaries = binaries();
    let mut calls: BTreeMap<String, BTreeSet<Grant>> = BTreeMap::new();
    let mut operations = BTreeSet::new();
    let mut seen = 0;
    for (fixture, body, gone) in script {
        poster.gone.store(gone, Ordering::Relaxed);
        let mut event = common::app::fixture_json(fixture);
        if !body.is_empty() {
            event["body"] = Value::String(body.to_owned());
        }
        let key = event["requestContext"]["routeKey"]
            .as_str()
            .unwrap()
            .to_owned();
        app.handle(serde_json::from_value(event).unwrap())
            .await
            .unwrap();
        let binary = &binaries[key.as_str()];
        let (_, properties, _) = function(&template, binary);
        let spans = t.spans();
        for span in spans[seen..]
            .iter()
            .filter(|s| s.span_kind == SpanKind::Client)
        {
            operations.insert(span.name.rsplit('.').next().unwrap().to_owned());
            calls.entry(binary.clone()).or_default().insert(grant_of(
                span,
                &properties["Environment"]["Variables"],
                &tables,
            ));
        }
        seen = spans.len();
    }
    let mut reachable = source_operations();
    for op in NO_ROUTE_CALLS {
        assert!(reachable.remove(*op), "{op} is no longer in the source");
    }
    assert_eq!(
        operations, reachable,
        "the run makes every AWS call a route of the source can make"
    );

    println!("| function | call | resource | granted |\n|---|---|---|---|");
    for (binary, made) in &calls {
        let (id, _, statements) = function(&template, binary);
        let grants = granted(&statements);
        for (action, resource) in made {
            let ok = grants.contains(&(action.clone(), resource.clone()));
            println!(
                "| {id} | {action} | {resource} | {} |",
                if ok { "yes" } else { "NO" }
            );
        }
        let missing: Vec<_> = made.difference(&grants).collect();
        assert!(
            missing.is_empty(),
            "{id} makes calls its role does not grant: {missing:?}"
        );
        let unused: Vec<_> = grants.difference(made).collect();
        assert!(
            unused.is_empty(),
            "{id} is granted calls it never makes: {unused:?}"
        );
    }
    assert_eq!(
        calls.keys().collect::<BTreeSet<_>>(),
        binaries.values().collect::<BTreeSet<_>>(),
        "every function made calls"
    );
}
