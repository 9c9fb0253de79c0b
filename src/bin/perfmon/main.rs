//! `perfmon`: the command-line entry point.
//!
//! - `perfmon demo [--sessions N] [--concurrency N] [--no-progress]`: the
//!   chat app on a local WebSocket server, driven by simulated clients; prints
//!   per-operation latency, memory and error rate against the thresholds,
//!   and the business metrics. Needs no AWS, no Docker, no network.
//! - `perfmon serve [--port N]`: the chat app on `ws://127.0.0.1:N` with
//!   the embedded store and a local token issuer.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use perfmon::app::local::{run_demo, serve, DemoOptions, LocalApp};
use perfmon::{PerformanceMonitor, Telemetry};

#[global_allocator]
static ALLOC: perfmon::CountingAllocator = perfmon::CountingAllocator::system();

const USAGE: &str = "usage:
  perfmon demo [--sessions N] [--concurrency N] [--no-progress]
  perfmon serve [--port N]
  perfmon load [--connections N] [--seconds S] [--rounds R] [--rate MSGS_PER_S] [--no-progress]
  perfmon dashboards generate|check [--catalog PATH] [--dir DIR]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("perfmon: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo_options(&args[1..]).and_then(|o| runtime.block_on(demo(o))),
        Some("serve") => port(&args[1..]).and_then(|p| runtime.block_on(serve_local(p))),
        Some("dashboards") => dashboards(&args[1..]),
        Some("load") => load_options(&args[1..]).and_then(|o| runtime.block_on(load(o))),
        Some("-h" | "--help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("perfmon: {message}");
            ExitCode::FAILURE
        }
    }
}

fn number(value: Option<&String>, flag: &str) -> Result<usize, String> {
    value
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .ok_or(format!("{flag} takes a positive number"))
}

fn demo_options(args: &[String]) -> Result<DemoOptions, String> {
    let mut options = DemoOptions::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--sessions" => options.sessions = number(args.next(), "--sessions")?,
            "--concurrency" => options.concurrency = number(args.next(), "--concurrency")?,
            "--no-progress" => options.progress = false,
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    Ok(options)
}

fn port(args: &[String]) -> Result<u16, String> {
    match args {
        [] => Ok(8080),
        [flag, value] if flag == "--port" => value
            .parse()
            .map_err(|_| "--port takes a port number".to_owned()),
        _ => Err(USAGE.to_owned()),
    }
}

fn load_options(args: &[String]) -> Result<perfmon::app::local::LoadOptions, String> {
    let mut options = perfmon::app::local::LoadOptions::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--connections" => options.connections = number(args.next(), "--connections")?,
            "--seconds" => {
                options.round =
                    std::time::Duration::from_secs(number(args.next(), "--seconds")? as u64)
            }
            "--rounds" => options.rounds = number(args.next(), "--rounds")?,
            "--rate" => options.rate = Some(number(args.next(), "--rate")? as u64),
            "--no-progress" => options.progress = false,
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    Ok(options)
}

async fn load(options: perfmon::app::local::LoadOptions) -> Result<(), String> {
    let connections = options.connections;
    let offered = match options.rate {
        Some(rate) => format!("{rate} msg/s offered, latency from the scheduled send"),
        None => "as fast as replies come back".to_owned(),
    };
    let rounds = perfmon::app::local::run_load(options).await?;
    println!(
        "perfmon load: {connections} WebSocket clients on 127.0.0.1, chat messages round trip, {offered}\n"
    );
    println!(
        "{:<6} {:<11} {:>9} {:>10} {:>8} {:>8} {:>8} {:>7}",
        "round", "monitoring", "messages", "msg/s", "p50 ms", "p95 ms", "p99 ms", "errors"
    );
    for (i, r) in rounds.iter().enumerate() {
        println!(
            "{:<6} {:<11} {:>9} {:>10.0} {:>8.2} {:>8.2} {:>8.2} {:>7}",
            i + 1,
            if r.monitoring { "on" } else { "off" },
            r.messages,
            r.throughput(),
            r.latency_ms[0],
            r.latency_ms[1],
            r.latency_ms[2],
            r.errors
        );
    }
    let mean = |on: bool| {
        let picked: Vec<f64> = rounds
            .iter()
            .filter(|r| r.monitoring == on)
            .map(|r| r.throughput())
            .collect();
        picked.iter().sum::<f64>() / picked.len().max(1) as f64
    };
    if rounds.iter().any(|r| !r.monitoring) {
        println!(
            "\nthroughput with monitoring = {:.1} % of without (mean of alternating rounds)",
            100.0 * mean(true) / mean(false)
        );
    }
    Ok(())
}

/// `perfmon dashboards generate|check`: writes the dashboards, alarms and
/// template generated from the catalog, or checks the committed ones.
fn dashboards(args: &[String]) -> Result<(), String> {
    let (command, rest) = args.split_first().ok_or(USAGE)?;
    let mut catalog = perfmon::Catalog::embedded();
    let mut dir = std::path::PathBuf::from(perfmon::dashboards::GENERATED_DIR);
    let mut rest = rest.iter();
    while let Some(flag) = rest.next() {
        let value = rest.next().ok_or(format!("{flag} takes a value"))?;
        match flag.as_str() {
            "--catalog" => {
                catalog = perfmon::Catalog::from_path(value).map_err(|e| e.to_string())?
            }
            "--dir" => dir = value.into(),
            _ => return Err(USAGE.to_owned()),
        }
    }
    match command.as_str() {
        "generate" => {
            let written = perfmon::dashboards::write_all(&catalog, &dir)
                .map_err(|e| format!("cannot write {}: {e}", dir.display()))?;
            for path in written {
                println!("wrote {}", path.display());
            }
            Ok(())
        }
        "check" => match perfmon::dashboards::drifted(&catalog, &dir).as_slice() {
            [] => {
                println!(
                    "{} matches catalog version {}",
                    dir.display(),
                    catalog.version
                );
                Ok(())
            }
            files => Err(format!(
                "{} differ from catalog version {}: run `{}`",
                files.join(", "),
                catalog.version,
                perfmon::dashboards::REGENERATE
            )),
        },
        _ => Err(USAGE.to_owned()),
    }
}

async fn demo(options: DemoOptions) -> Result<(), String> {
    let report = run_demo(options).await?;
    print!("{report}");
    Ok(())
}

async fn serve_local(port: u16) -> Result<(), String> {
    let telemetry = Telemetry::builder()
        .with_service_name("perfmon-serve")
        .build()
        .map_err(|e| e.to_string())?;
    let local = Arc::new(LocalApp::new(PerformanceMonitor::new(&telemetry)));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
    let token = local
        .issuer
        .id_token("local-user", "local", "local@example.com", 3600);
    println!("perfmon serve: ws://127.0.0.1:{port}");
    println!("authenticate with (valid 1 h):\n{{\"action\":\"auth\",\"token\":\"{token}\"}}");
    serve(listener, local, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .map_err(|e| e.to_string())?;
    telemetry
        .shutdown(Duration::from_secs(5))
        .map_err(|e| e.to_string())
}
