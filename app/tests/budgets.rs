//! What monitoring costs a Lambda function at cold start, on disk and in
//! memory: a measurement, not a test (it is ignored, and asserts nothing
//! about time or size). Run it with `scripts/budgets.sh`, which builds
//! optimised, as Lambda runs the function.
//!
//! The real `ws-conversation` executable runs against a Runtime API in this
//! process (`testkit/src/runtime_api.rs`), with moto for DynamoDB, Cognito
//! and the Management API, in two set-ups:
//! - `telemetry`: as deployed, traces to X-Ray over UDP (a local socket
//!   read by a thread) and metrics as EMF on stdout;
//! - `none`: the same binary with `OTEL_TRACES_EXPORTER=none` and
//!   `OTEL_METRICS_EXPORTER=none`.
//!
//! `lambda_hello` (a plain `lambda_runtime` echo, `app/examples`) is the
//! floor for init, size and memory. For size two more set it apart:
//! `lambda_aws_hello` (the same AWS clients and HTTPS client as
//! `ws-conversation`, no perfmon), the floor of the app's own dependencies;
//! and perfmon's `minimal` example (the Lambda layer with its default
//! exporters, no AWS SDK), what telemetry alone adds to a function.
//!
//! - **Init:** process start to its first `GET …/invocation/next`, the
//!   moment Lambda's init phase ends; the set-ups take turns,
//!   [`INIT_ROUNDS`] times each.
//! - **Size:** each executable stripped (`strip -o`), under the release
//!   profile and under the `deploy` profile that deployments use.
//! - **Memory:** `VmRSS` after [`INVOCATIONS`] chat messages (the
//!   `default-message` fixture, every one sampled, `Sampled=1`), and after
//!   the first tenth of them, to show whether it is steady.
#![cfg(feature = "aws")]

mod common;

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::app::fixture_json;
use common::moto::Moto;
use common::runtime_api::RuntimeApi;
use serde_json::Value;

const INIT_ROUNDS: usize = 15;
const INVOCATIONS: usize = 10_000;
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

fn conversation() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ws-conversation"))
}

fn hello() -> PathBuf {
    built("release", "lambda_hello")
}

/// `ws-conversation` or an example, as `scripts/budgets.sh` built it under
/// `profile`.
fn built(profile: &str, name: &str) -> PathBuf {
    let dir = conversation().parent().unwrap().with_file_name(profile);
    let path = match name {
        "ws-conversation" => dir.join(name),
        _ => dir.join("examples").join(name),
    };
    assert!(
        path.exists(),
        "{} is missing: run scripts/budgets.sh, which builds it",
        path.display()
    );
    path
}

/// A variant: its name, executable and environment.
struct Variant {
    name: &'static str,
    executable: PathBuf,
    env: Vec<(&'static str, String)>,
}

impl Variant {
    /// Starts the executable as Lambda does, against `api`.
    fn spawn(&self, api: &RuntimeApi) -> Child {
        Command::new(&self.executable)
            .env("AWS_LAMBDA_RUNTIME_API", api.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", "ws-conversation")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{} starts: {e}", self.executable.display()))
    }

    /// Milliseconds from spawn to the first request for an event.
    fn init_ms(&self) -> f64 {
        let api = RuntimeApi::start();
        let started = Instant::now();
        let mut child = self.spawn(&api);
        let first = api.wait_first_next(Duration::from_secs(20));
        let _ = child.kill();
        let _ = child.wait();
        let first = first.unwrap_or_else(|| {
            panic!(
                "{} never asked for an event: {:?}",
                self.name,
                api.init_error()
            )
        });
        (first - started).as_secs_f64() * 1e3
    }
}

/// `VmRSS` of `pid` in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A fresh X-Ray trace header for one sampled invocation.
fn trace_header(n: usize) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    format!("Root=1-{now:08x}-{n:024x};Parent={:016x};Sampled=1", n + 1)
}

/// RSS after a tenth of `INVOCATIONS` and after all of them, in KiB.
fn rss_after_invocations(variant: &Variant, event: &Value) -> (u64, u64) {
    let api = RuntimeApi::start();
    let mut child = variant.spawn(&api);
    let mut tenth = 0;
    for n in 0..INVOCATIONS {
        let answer = api.invoke(event, &trace_header(n), ANSWER_TIMEOUT);
        let answer: Value =
            serde_json::from_str(&answer.expect("the invocation succeeds")).expect("a JSON answer");
        if variant.name != "lambda_hello" {
            assert_eq!(answer["statusCode"], 200, "{}: {answer}", variant.name);
        }
        if n + 1 == INVOCATIONS / 10 {
            tenth = rss_kib(child.id());
        }
    }
    let rss = rss_kib(child.id());
    let _ = child.kill();
    let _ = child.wait();
    (tenth, rss)
}

fn stripped_bytes(executable: &Path) -> u64 {
    let out = std::env::temp_dir().join(format!(
        "perfmon-stripped-{}-{}",
        executable.file_name().unwrap().to_string_lossy(),
        std::process::id()
    ));
    let status = Command::new("strip")
        .arg("-o")
        .arg(&out)
        .arg(executable)
        .status()
        .expect("strip runs");
    assert!(status.success(), "strip {}", executable.display());
    let size = std::fs::metadata(&out).unwrap().len();
    let _ = std::fs::remove_file(out);
    size
}

/// Minimum, median and 90th percentile.
fn spread(mut samples: Vec<f64>) -> (f64, f64, f64) {
    samples.sort_by(f64::total_cmp);
    let at = |p: usize| samples[(samples.len() * p / 100).min(samples.len() - 1)];
    (at(0), at(50), at(90))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: scripts/budgets.sh"]
async fn init_size_and_memory() {
    let moto = Moto::start().expect("moto is installed (scripts/test.sh)");
    let pool = moto.cognito();
    let sdk = common::app::sdk_config(&moto).await;
    let tables = common::app::create_tables(&sdk).await;
    common::app::store_authenticated_connection(&sdk, &tables).await;
    // The X-Ray daemon: datagrams are read and dropped.
    let daemon = UdpSocket::bind("127.0.0.1:0").unwrap();
    let daemon_address = daemon.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let mut buf = [0; 65536];
        while daemon.recv(&mut buf).is_ok() {}
    });

    let app_env: Vec<(&'static str, String)> = [
        ("AWS_XRAY_DAEMON_ADDRESS", daemon_address),
        ("PERFMON_ENVIRONMENT", "budgets".to_owned()),
    ]
    .into_iter()
    .chain(common::app::function_env(&moto, &pool, &tables))
    .collect();
    let none: Vec<(&'static str, String)> = app_env
        .iter()
        .cloned()
        .chain([
            ("OTEL_TRACES_EXPORTER", "none".to_owned()),
            ("OTEL_METRICS_EXPORTER", "none".to_owned()),
        ])
        .collect();
    let variants = [
        Variant {
            name: "ws-conversation, telemetry",
            executable: conversation(),
            env: app_env,
        },
        Variant {
            name: "ws-conversation, none",
            executable: conversation(),
            env: none,
        },
        Variant {
            name: "lambda_hello",
            executable: hello(),
            env: vec![],
        },
    ];

    // Blocking work (processes, the stand-in's threads) off the runtime.
    tokio::task::spawn_blocking(move || measure(&variants))
        .await
        .unwrap();
}

fn measure(variants: &[Variant]) {
    // One warm-up each: page cache, moto's first answers.
    for v in variants {
        v.init_ms();
    }
    let mut init = vec![Vec::new(); variants.len()];
    for _ in 0..INIT_ROUNDS {
        for (v, samples) in variants.iter().zip(&mut init) {
            samples.push(v.init_ms());
        }
    }
    println!(
        "\nInit, process start to the first request for an event ({INIT_ROUNDS} each, in turns):\n"
    );
    println!("| executable | min (ms) | median (ms) | p90 (ms) |\n|---|---|---|---|");
    for (v, samples) in variants.iter().zip(init) {
        let (min, p50, p90) = spread(samples);
        println!("| {} | {min:.1} | {p50:.1} | {p90:.1} |", v.name);
    }

    // The same executables under the release profile (this test's) and the
    // `deploy` profile (what is deployed), both built by the script.
    println!("\nStripped size:\n\n| executable | release (MiB) | deploy (MiB) |\n|---|---|---|");
    let names = [
        "ws-conversation",
        "lambda_aws_hello",
        "minimal",
        "lambda_hello",
    ];
    for name in names {
        let mib = |profile| stripped_bytes(&built(profile, name)) as f64 / (1024.0 * 1024.0);
        println!("| {name} | {:.2} | {:.2} |", mib("release"), mib("deploy"));
    }

    let event = fixture_json("default-message");
    println!(
        "\nResident memory (VmRSS) after chat messages:\n\n\
         | executable | after {} (MiB) | after {INVOCATIONS} (MiB) |\n|---|---|---|",
        INVOCATIONS / 10
    );
    for v in variants {
        let (tenth, all) = rss_after_invocations(v, &event);
        println!(
            "| {} | {:.1} | {:.1} |",
            v.name,
            tenth as f64 / 1024.0,
            all as f64 / 1024.0
        );
    }
}
