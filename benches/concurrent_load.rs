//! Paired load at eight invocations in flight, as Lambda Managed Instances
//! run them: a monitored function (`LambdaMonitoring::run_concurrent`, EMF
//! lines and X-Ray over UDP, as on Lambda) and the same handler under
//! plain `lambda_runtime::run_concurrent`, each its own process against its
//! own Runtime API stand-in, loaded at the same time by eight callers each.
//!
//! The method of `docs/costs.md`: both sides meet the machine at the same
//! moment, and a CPU-bound function's throughput is its cores over its CPU
//! per invocation, so each round gives the monitored throughput at
//! saturation as the unmonitored side's CPU per invocation over the
//! monitored side's. CPU is each process's own (`/proc/PID/stat`), plus,
//! on the monitored side, the X-Ray daemon stand-in's thread: on Lambda the
//! daemon runs in the same environment. Callers sample as X-Ray's default
//! rule does at load: 1 invocation in 20 is traced.
//!
//! ```sh
//! cargo bench --bench concurrent_load -- --rounds 8 --seconds 5
//! ```

use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lambda_runtime::{service_fn, Error, LambdaEvent};
use opentelemetry::KeyValue;
use perfmon_lambda::lambda::LambdaMonitoring;
use perfmon_testkit::runtime_api::RuntimeApi;
use serde_json::{json, Value};

/// The environment variable that makes this executable a function.
const ROLE: &str = "PERFMON_LOAD_ROLE";
const IN_FLIGHT: usize = 8;

fn main() {
    match std::env::var(ROLE).as_deref() {
        Ok("monitored") => function(true),
        Ok("bare") => function(false),
        _ => drive(),
    }
}

/// The handler both sides run: a job's answer with, when monitored, one
/// operation. No log line: the load measures monitoring, not logging.
async fn handle(
    monitor: Option<perfmon_lambda::PerformanceMonitor>,
    event: LambdaEvent<Value>,
) -> Result<Value, Error> {
    let id = event.payload["id"].as_u64().unwrap_or_default();
    let op = monitor.map(|m| m.start("process", [KeyValue::new("app.job.id", id as i64)]));
    let answer = json!({ "job": id, "echo": event.payload["body"] });
    if let Some(op) = op {
        op.complete(true, []);
    }
    Ok(answer)
}

#[tokio::main]
async fn function(monitored: bool) {
    let result = if monitored {
        let monitoring = LambdaMonitoring::from_env().expect("telemetry");
        let monitor = monitoring.monitor().clone();
        monitoring
            .run_concurrent(service_fn(move |event| {
                handle(Some(monitor.clone()), event)
            }))
            .await
    } else {
        lambda_runtime::run_concurrent(service_fn(|event| handle(None, event))).await
    };
    result.expect("the runtime runs");
}

/// One side: its Runtime API, its process and its callers' count.
struct Side {
    api: Arc<RuntimeApi>,
    child: Child,
    answered: Arc<AtomicU64>,
}

impl Side {
    fn start(role: &str, daemon: &str) -> Side {
        let api = Arc::new(RuntimeApi::start());
        let log =
            std::fs::File::create(std::env::temp_dir().join(format!("perfmon-load-{role}.log")))
                .unwrap();
        let child = Command::new(std::env::current_exe().unwrap())
            .env(ROLE, role)
            .env("AWS_LAMBDA_RUNTIME_API", api.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", format!("load-{role}"))
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
            .env("AWS_LAMBDA_MAX_CONCURRENCY", IN_FLIGHT.to_string())
            .env("AWS_XRAY_DAEMON_ADDRESS", daemon)
            .env("PERFMON_ENVIRONMENT", "load")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        assert!(
            api.wait_first_next(Duration::from_secs(30)).is_some(),
            "{role} starts"
        );
        Side {
            api,
            child,
            answered: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Eight callers, until `stop`.
    fn load(&self, stop: &Arc<AtomicBool>) -> Vec<std::thread::JoinHandle<()>> {
        (0..IN_FLIGHT)
            .map(|caller| {
                let (api, stop, answered) = (self.api.clone(), stop.clone(), self.answered.clone());
                std::thread::spawn(move || {
                    let mut n = caller as u64;
                    while !stop.load(Ordering::Relaxed) {
                        let sampled = u8::from(n.is_multiple_of(20));
                        let header = format!(
                            "Root=1-{:08x}-{n:024x};Parent={:016x};Sampled={sampled}",
                            epoch(),
                            n + 1
                        );
                        let event = json!({ "id": n, "body": "hello" });
                        if api.invoke(&event, &header, Duration::from_secs(10)).is_ok() {
                            answered.fetch_add(1, Ordering::Relaxed);
                        }
                        n += IN_FLIGHT as u64;
                    }
                })
            })
            .collect()
    }

    /// CPU time of the process so far, s.
    fn cpu(&self) -> f64 {
        process_cpu(self.child.id())
    }
}

impl Drop for Side {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn epoch() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// utime + stime of `/proc/PID/stat`, or of a thread's `task/TID/stat`, s.
fn stat_cpu(path: &str) -> f64 {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields
        .get(11..13)
        .into_iter()
        .flatten()
        .filter_map(|f| f.parse::<f64>().ok())
        .sum();
    // SAFETY: sysconf has no preconditions.
    ticks / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
}

fn process_cpu(pid: u32) -> f64 {
    stat_cpu(&format!("/proc/{pid}/stat"))
}

/// The X-Ray daemon's stand-in: reads datagrams on its own thread, whose
/// id it reports for its CPU time.
fn daemon() -> (String, Arc<AtomicU64>, i32) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let address = socket.local_addr().unwrap().to_string();
    let received = Arc::new(AtomicU64::new(0));
    let (tid_tx, tid_rx) = std::sync::mpsc::channel();
    let count = received.clone();
    std::thread::spawn(move || {
        // SAFETY: gettid has no preconditions.
        tid_tx.send(unsafe { libc::gettid() }).unwrap();
        let mut buf = vec![0u8; 65536];
        while socket.recv(&mut buf).is_ok() {
            count.fetch_add(1, Ordering::Relaxed);
        }
    });
    (address, received, tid_rx.recv().unwrap())
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn drive() {
    let (rounds, seconds, warmup) = (
        arg("--rounds", 8),
        arg("--seconds", 5),
        arg("--warmup-seconds", 2),
    );
    let (address, datagrams, daemon_tid) = daemon();
    let daemon_cpu = || stat_cpu(&format!("/proc/self/task/{daemon_tid}/stat"));
    let on = Side::start("monitored", &address);
    let off = Side::start("bare", &address);
    println!("paired load, {IN_FLIGHT} invocations in flight a side, 1 in 20 traced; rounds of {seconds} s after a {warmup} s warm-up");
    println!("| round | monitored inv/s | unmonitored inv/s | CPU µs/inv monitored | CPU µs/inv unmonitored | throughput at saturation |");
    println!("|---|---|---|---|---|---|");
    let mut ratios = Vec::new();
    for round in 0..=rounds {
        let length = if round == 0 { warmup } else { seconds };
        let (on_count, off_count) = (
            on.answered.load(Ordering::Relaxed),
            off.answered.load(Ordering::Relaxed),
        );
        let (on_cpu, off_cpu, d_cpu) = (on.cpu(), off.cpu(), daemon_cpu());
        let started = Instant::now();
        let stop = Arc::new(AtomicBool::new(false));
        let callers: Vec<_> = on.load(&stop).into_iter().chain(off.load(&stop)).collect();
        std::thread::sleep(Duration::from_secs(length));
        stop.store(true, Ordering::Relaxed);
        for caller in callers {
            caller.join().unwrap();
        }
        let elapsed = started.elapsed().as_secs_f64();
        let on_n = (on.answered.load(Ordering::Relaxed) - on_count) as f64;
        let off_n = (off.answered.load(Ordering::Relaxed) - off_count) as f64;
        let on_per = (on.cpu() - on_cpu + daemon_cpu() - d_cpu) / on_n * 1e6;
        let off_per = (off.cpu() - off_cpu) / off_n * 1e6;
        let ratio = off_per / on_per * 100.0;
        let label = if round == 0 {
            "warm-up".to_owned()
        } else {
            round.to_string()
        };
        println!(
            "| {label} | {:.0} | {:.0} | {on_per:.1} | {off_per:.1} | {ratio:.1} % |",
            on_n / elapsed,
            off_n / elapsed
        );
        if round > 0 {
            ratios.push(ratio);
        }
    }
    ratios.sort_by(f64::total_cmp);
    let median = ratios[ratios.len() / 2];
    let mean = ratios.iter().sum::<f64>() / ratios.len() as f64;
    println!(
        "monitored throughput at saturation: median {median:.1} %, mean {mean:.1} %, lowest {:.1} %, highest {:.1} %; {} datagrams at the daemon",
        ratios[0],
        ratios[ratios.len() - 1],
        datagrams.load(Ordering::Relaxed)
    );
}
