//! `perfmon-chat`: the chat app on this machine, without AWS.
//!
//! - `perfmon-chat demo`: the chat app on a local WebSocket server, driven
//!   by simulated clients; prints per-operation latency, memory and error
//!   rate against the thresholds, and the business metrics. Needs no AWS,
//!   no Docker, no network.
//! - `perfmon-chat serve`: the chat app on `ws://127.0.0.1:PORT` with the
//!   embedded store and a local token issuer.
//! - `perfmon-chat load`: real WebSocket clients against the local server,
//!   in rounds with monitoring on, off, off, on, or (`--paired`) with a
//!   monitored and an unmonitored server side by side.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use perfmon_chat::local::{FaultKind, LocalApp};
use perfmon_chat::ChatMonitor;
use perfmon_chat_lab::{run_demo, serve, DemoOptions, FaultPlan, LoadOptions, LoadReport};
use perfmon_lambda::Telemetry;

#[global_allocator]
static ALLOC: perfmon_lambda::CountingAllocator = perfmon_lambda::CountingAllocator::system();

/// The perfmon chat app, run locally.
#[derive(Debug, Parser)]
#[command(name = "perfmon-chat", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the chat app on a local WebSocket server, drive it with
    /// simulated clients, and report what the telemetry recorded.
    Demo {
        /// Simulated client sessions in all.
        #[arg(long, default_value_t = DemoOptions::default().sessions as u64, value_parser = clap::value_parser!(u64).range(1..))]
        sessions: u64,
        /// Sessions connected at once.
        #[arg(long, default_value_t = DemoOptions::default().concurrency as u64, value_parser = clap::value_parser!(u64).range(1..))]
        concurrency: u64,
        /// No progress bar on stderr.
        #[arg(long)]
        no_progress: bool,
        /// Also write the run's metrics as EMF lines to FILE (for
        /// `perfmon dashboards preview --run FILE`).
        #[arg(long, value_name = "FILE")]
        emf_out: Option<std::path::PathBuf>,
    },
    /// Serve the chat app on ws://127.0.0.1:PORT until Ctrl-C.
    Serve {
        /// The port to listen on.
        #[arg(long, default_value_t = 8080)]
        port: u16,
    },
    /// Load the local server with WebSocket clients, in rounds with
    /// monitoring on and off.
    Load {
        /// Concurrent WebSocket clients.
        #[arg(long, default_value_t = LoadOptions::default().connections as u64, value_parser = clap::value_parser!(u64).range(1..))]
        connections: u64,
        /// Length of each round, seconds.
        #[arg(long, default_value_t = LoadOptions::default().round.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
        seconds: u64,
        /// Rounds, monitoring on, off, off, on, repeated: a multiple of 4
        /// weighs a steady drift of the machine's speed on both alike.
        #[arg(long, default_value_t = LoadOptions::default().rounds as u64, value_parser = clap::value_parser!(u64).range(1..))]
        rounds: u64,
        /// A first round, monitored and not counted, that takes the
        /// process's warm-up out of the measured rounds, seconds; 0 skips it.
        #[arg(long, default_value_t = LoadOptions::default().warmup.as_secs())]
        warmup_seconds: u64,
        /// Messages per second offered by all clients together; unset sends
        /// as fast as replies come back.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        rate: Option<u64>,
        /// No progress bar on stderr.
        #[arg(long)]
        no_progress: bool,
        /// Write the monitored rounds' EMF lines to FILE instead of
        /// discarding them.
        #[arg(long, value_name = "FILE")]
        emf_out: Option<std::path::PathBuf>,
        /// Inject a fault into the chat path's message store.
        #[arg(long, value_enum)]
        fault: Option<Fault>,
        /// How long each store call waits under `--fault slow-store`, ms.
        #[arg(long, default_value_t = 1500)]
        fault_delay_ms: u64,
        /// The fault starts this many seconds into each round.
        #[arg(long, default_value_t = 0)]
        fault_from: u64,
        /// The fault is lifted this many seconds into each round (default:
        /// the end of the round).
        #[arg(long)]
        fault_to: Option<u64>,
        /// Trace every message instead of sampling by X-Ray's default rule
        /// (1 a second plus 5 %); `OTEL_TRACES_SAMPLER` overrides both.
        #[arg(long)]
        trace_all: bool,
        /// Run each round as a pair: a monitored and an unmonitored server
        /// at the same time, half the clients each, and compare their CPU
        /// per message. Steadier than rounds one after the other on a
        /// machine whose speed changes from one round to the next.
        #[arg(long)]
        paired: bool,
    },
}

/// The faults `load` can inject.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Fault {
    /// Every message-store call is slow (`--fault-delay-ms`).
    SlowStore,
    /// Every message-store write fails.
    StoreErrors,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("perfmon-chat: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Demo {
            sessions,
            concurrency,
            no_progress,
            emf_out,
        } => runtime.block_on(demo(DemoOptions {
            sessions: sessions as usize,
            concurrency: concurrency as usize,
            progress: !no_progress,
            emf_out,
        })),
        Command::Serve { port } => runtime.block_on(serve_local(port)),
        Command::Load {
            connections,
            seconds,
            rounds,
            warmup_seconds,
            rate,
            no_progress,
            emf_out,
            fault,
            fault_delay_ms,
            fault_from,
            fault_to,
            trace_all,
            paired,
        } => runtime.block_on(load(LoadOptions {
            connections: connections as usize,
            round: Duration::from_secs(seconds),
            rounds: rounds as usize,
            warmup: Duration::from_secs(warmup_seconds),
            rate,
            progress: !no_progress,
            emf_out,
            fault: fault.map(|fault| FaultPlan {
                kind: match fault {
                    Fault::SlowStore => FaultKind::SlowStore(Duration::from_millis(fault_delay_ms)),
                    Fault::StoreErrors => FaultKind::StoreErrors,
                },
                from: Duration::from_secs(fault_from),
                to: Duration::from_secs(fault_to.unwrap_or(seconds)),
            }),
            trace_all,
            paired,
        })),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("perfmon-chat: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn demo(options: DemoOptions) -> Result<(), String> {
    let report = run_demo(options).await?;
    print!("{report}");
    Ok(())
}

async fn load(options: LoadOptions) -> Result<(), String> {
    let rounds = perfmon_chat_lab::run_load(options.clone()).await?;
    print!("{}", LoadReport { options, rounds });
    Ok(())
}

async fn serve_local(port: u16) -> Result<(), String> {
    let telemetry = Telemetry::builder()
        .with_catalog(perfmon_chat::catalog())
        .with_service_name("perfmon-serve")
        // A server deciding for itself: X-Ray's default rule, unless
        // OTEL_TRACES_SAMPLER says otherwise.
        .with_default_sampler(perfmon_lambda::XrayDefaultSampler::parent_based())
        .build()
        .map_err(|e| e.to_string())?;
    // Log lines (a failed auth, a failed request, each processed message)
    // on stdout, as the Lambda functions print them.
    perfmon_lambda::tracing::init(&telemetry).map_err(|e| e.to_string())?;
    let local = Arc::new(LocalApp::new(
        ChatMonitor::on(&telemetry).map_err(|e| e.to_string())?,
    ));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
    let token = local
        .issuer
        .id_token("local-user", "local", "local@example.com", 3600);
    println!("perfmon-chat serve: ws://127.0.0.1:{port}");
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
