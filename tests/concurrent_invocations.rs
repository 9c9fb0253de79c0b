//! Many invocations in one process, as Lambda Managed Instances run them:
//! `examples/concurrent.rs` under `run_concurrent` with
//! `AWS_LAMBDA_MAX_CONCURRENCY=8`, against a Runtime API stand-in that
//! serves eight `/next` requests at once, 1,000 invocations interleaved.
//!
//! Every log line and X-Ray segment must carry its own invocation's
//! request id and trace id: the test counts the ones that carry another's,
//! and the count must be 0. The metrics aggregate all invocations (their
//! EMF lines carry no invocation's ids), and what the loss counter reports
//! is all that is missing. SIGTERM with invocations in flight ends their
//! root spans as interrupted and flushes them within the shutdown budget.
#![cfg(feature = "lambda")]

use perfmon_testkit as common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::emulator::Function;
use common::runtime_api::RuntimeApi;
use common::xray_daemon::{nodes, Daemon};
use serde_json::{json, Value};

const INVOCATIONS: u64 = 1_000;
const IN_FLIGHT: u64 = 8;

/// When this test run started, s since the epoch: X-Ray takes trace ids
/// of the last 30 days only.
fn epoch() -> u64 {
    static EPOCH: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    })
}

/// Invocation `n`'s X-Ray trace id, and the header Lambda would pass.
fn trace(n: u64) -> (String, String) {
    let id = format!("1-{:08x}-{n:024x}", epoch());
    let header = format!("Root={id};Parent={:016x};Sampled=1", n + 1);
    (id, header)
}

/// The value of the first key in `keys` anywhere inside `node`'s
/// annotations and metadata.
fn find<'a>(node: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    for part in ["annotations", "metadata"] {
        let mut stack = vec![&node[part]];
        while let Some(value) = stack.pop() {
            if let Some(map) = value.as_object() {
                for (key, inner) in map {
                    if keys.contains(&key.as_str()) {
                        return Some(inner);
                    }
                    stack.push(inner);
                }
            }
        }
    }
    None
}

#[test]
fn concurrent_invocations_keep_their_own_ids_and_lose_nothing() {
    let daemon = Daemon::start();
    let api = Arc::new(RuntimeApi::start());
    let mut function = Function::start_on(
        &common::emulator::example("concurrent"),
        "concurrent",
        &api.address(),
        &[
            ("AWS_LAMBDA_MAX_CONCURRENCY", IN_FLIGHT.to_string()),
            ("AWS_XRAY_DAEMON_ADDRESS", daemon.address().to_owned()),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
            ("PERFMON_ENVIRONMENT", "e2e".to_owned()),
        ],
    );
    assert!(
        api.wait_first_next(Duration::from_secs(60)).is_some(),
        "the function asks for events\n{}",
        function.output()
    );

    // Eight callers, each invoking one job at a time: eight in flight.
    let callers: Vec<_> = (0..IN_FLIGHT)
        .map(|caller| {
            let api = api.clone();
            std::thread::spawn(move || {
                let mut ids = Vec::new();
                for n in (caller..INVOCATIONS).step_by(IN_FLIGHT as usize) {
                    let (_, header) = trace(n);
                    let event = json!({ "id": n, "work_ms": n % 7 });
                    let (request_id, answer) =
                        api.invoke_with_id(&event, &header, Duration::from_secs(30));
                    let answer: Value = serde_json::from_str(&answer.expect("an answer")).unwrap();
                    assert_eq!(answer["job"], n, "invocation {n} got another's answer");
                    ids.push((n, request_id));
                }
                ids
            })
        })
        .collect();
    // Job → request id, and request id → job.
    let mut request_of = HashMap::new();
    for caller in callers {
        for (n, request_id) in caller.join().expect("every invocation is answered") {
            request_of.insert(n, request_id);
        }
    }
    let job_of: HashMap<&str, u64> = request_of.iter().map(|(n, r)| (r.as_str(), *n)).collect();
    assert_eq!(request_of.len() as u64, INVOCATIONS);

    // Two spans a job: the root and the `process` operation.
    let expected_spans = 2 * INVOCATIONS as usize;
    let docs = daemon.wait_for(Duration::from_secs(30), |docs| {
        nodes(docs).len() >= expected_spans
    });
    let mut mixed_up = 0;
    let (mut roots, mut operations) = (0, 0);
    for (trace_id, node) in nodes(&docs) {
        if let Some(request_id) = find(&node, &["faas.invocation_id", "faas_invocation_id"]) {
            roots += 1;
            let n = job_of[request_id.as_str().unwrap()];
            if trace_id != trace(n).0 {
                mixed_up += 1;
            }
        } else if let Some(job) = find(&node, &["app.job.id", "app_job_id"]) {
            operations += 1;
            if trace_id != trace(job.as_u64().unwrap()).0 {
                mixed_up += 1;
            }
        }
    }

    // Log lines: JSON, one per job, with its invocation's ids.
    let output = function.output();
    let mut logged = 0;
    for line in output
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
    {
        if line["message"] != "processing" {
            continue;
        }
        logged += 1;
        let n = line["job"].as_u64().expect("the job field");
        if line["requestId"] != request_of[&n].as_str() || line["traceId"] != trace(n).0.as_str() {
            mixed_up += 1;
        }
    }

    // EMF: every invocation counted once, at the quiet moment after the
    // load; no line claims one invocation.
    let counted = |emf: &[Value]| -> f64 {
        emf.iter()
            .filter(|l| l["Handler"] == "process")
            .filter_map(|l| l["Invocations"].as_f64())
            .sum()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let emf = loop {
        let emf = common::emf::lines_in(&function.output());
        if counted(&emf) as u64 >= INVOCATIONS || Instant::now() > deadline {
            break emf;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let invocations = counted(&emf);
    let claiming = emf
        .iter()
        .filter(|l| l.get("requestId").is_some() || l.get("traceId").is_some())
        .count();
    let lost_spans = emf
        .iter()
        .rev()
        .filter(|l| l["Signal"] == "traces")
        .find_map(|l| l["TelemetryLost"].as_f64())
        .unwrap_or(0.0) as usize;

    eprintln!(
        "{INVOCATIONS} invocations, {IN_FLIGHT} in flight: {roots} root segments, \
         {operations} operation subsegments, {logged} log lines, {} EMF lines; \
         mixed up: {mixed_up}; spans lost (counted): {lost_spans}",
        emf.len()
    );
    assert_eq!(mixed_up, 0, "ids carried by another invocation's telemetry");
    assert_eq!(logged, INVOCATIONS, "one log line a job\n{output}");
    assert_eq!(
        invocations as u64, INVOCATIONS,
        "Invocations counts every job"
    );
    assert_eq!(claiming, 0, "aggregated EMF lines claim no one invocation");
    assert_eq!(
        roots + operations + lost_spans,
        expected_spans,
        "what is missing is what the loss counter reports"
    );

    // SIGTERM with eight invocations in flight.
    let long: Vec<_> = (0..IN_FLIGHT)
        .map(|i| {
            let api = api.clone();
            let n = INVOCATIONS + i;
            std::thread::spawn(move || {
                let event = json!({ "id": n, "work_ms": 60_000 });
                api.invoke(&event, &trace(n).1, Duration::from_secs(5))
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    while function
        .output()
        .matches("\"message\":\"processing\"")
        .count()
        < (INVOCATIONS + IN_FLIGHT) as usize
    {
        assert!(Instant::now() < deadline, "the long jobs start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let before = daemon.documents().len();
    let signalled = Instant::now();
    // SAFETY: signals the child this test started.
    unsafe { libc::kill(function.id() as i32, libc::SIGTERM) };
    let code = function.wait_exit(Duration::from_secs(5));
    let exited = signalled.elapsed();
    assert_eq!(code, Some(0), "{}", function.output());
    assert!(
        exited < Duration::from_millis(500),
        "exited {exited:?} after SIGTERM"
    );
    let docs = daemon.wait_for(Duration::from_secs(2), |docs| {
        docs.len() >= before + IN_FLIGHT as usize
    });
    let interrupted: Vec<_> = nodes(&docs[before..])
        .into_iter()
        .filter(|(_, node)| find(node, &["faas.invocation_id", "faas_invocation_id"]).is_some())
        .collect();
    assert_eq!(interrupted.len() as u64, IN_FLIGHT, "{docs:#?}");
    for (trace_id, node) in &interrupted {
        assert!(
            (INVOCATIONS..INVOCATIONS + IN_FLIGHT).any(|n| trace(n).0 == *trace_id),
            "{node}"
        );
        assert_eq!(node["fault"], true, "{node}");
        assert!(node.to_string().contains("interrupted"), "{node}");
    }
    for caller in long {
        let _ = caller.join();
    }
}

/// In the `sync` mode, each of eight invocations running at once answers
/// only once a flush that started after its end has exported its spans;
/// the flushes are shared, never one an invocation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_invocations_wait_for_a_shared_flush_of_their_own_spans() {
    use lambda_runtime::tower::{Layer as _, Service as _, ServiceExt as _};
    use lambda_runtime::{service_fn, LambdaEvent};
    use perfmon_lambda::lambda::{FlushMode, PerformanceLayer};

    let t = common::telemetry();
    let layer = PerformanceLayer::new(
        t.telemetry.clone(),
        t.monitor.clone(),
        Duration::from_secs(5),
    )
    .with_flush_mode(FlushMode::Sync)
    .with_concurrency(IN_FLIGHT as u32);
    assert_eq!(layer.concurrency(), IN_FLIGHT as u32);
    let monitor = t.monitor.clone();
    let service = layer.layer(service_fn(move |event: LambdaEvent<Value>| {
        let monitor = monitor.clone();
        async move {
            let op = monitor.start(common::op::WEBSOCKET_CONVERSATION, []);
            let ms = event.payload["ms"].as_u64().unwrap();
            tokio::time::sleep(Duration::from_millis(ms)).await;
            op.complete(true, []);
            Ok::<_, String>(event.payload)
        }
    }));
    let t = Arc::new(t);
    let tasks: Vec<_> = (0..4 * IN_FLIGHT)
        .map(|n| {
            let (mut service, t) = (service.clone(), t.clone());
            tokio::spawn(async move {
                let request_id = format!("req-{n}");
                let cx = common::lambda_context(&request_id, Some(&trace(n).1), 600_000);
                // Well within the 5 s budget: a flush that never reports
                // would hold it to the budget.
                let call = service
                    .ready()
                    .await
                    .unwrap()
                    .call(LambdaEvent::new(json!({ "ms": n % 5 }), cx));
                let answer = tokio::time::timeout(Duration::from_secs(2), call)
                    .await
                    .expect("answered once its flush ended, not at the budget")
                    .unwrap();
                assert_eq!(answer["ms"], n % 5);
                // Its root span left before it answered.
                let exported = t.exported_spans().iter().any(|s| {
                    s.attributes.iter().any(|kv| {
                        kv.key.as_str() == "faas.invocation_id" && kv.value.as_str() == request_id
                    })
                });
                assert!(exported, "{request_id} answered before its spans left");
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let flushes = t.telemetry.stats().flushes;
    assert!(
        (1..4 * IN_FLIGHT).contains(&flushes),
        "{flushes} flushes for {} invocations",
        4 * IN_FLIGHT
    );
}
