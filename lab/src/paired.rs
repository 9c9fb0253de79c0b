//! Paired load rounds (`perfmon-chat load --paired`): a monitored and an
//! unmonitored server run at the same time, each with half the clients, on
//! a runtime and threads of its own, and each side's CPU time is that of
//! its own threads.
//!
//! Rounds one after the other see the machine change between them: on a
//! shared machine, runs of the same code gave 79 to 107 % for the
//! throughput of monitored rounds against unmonitored ones. Side by side,
//! both kinds meet the same machine at the same moment, and CPU per
//! message (which at saturation sets throughput: cores over CPU per
//! message) differs by what monitoring costs. The two sides' throughputs
//! are not compared: the scheduler shares the cores between threads, and
//! the monitored side has more of them (the X-Ray daemon's stand-in).

use std::sync::Arc;

use tokio::sync::{oneshot, Barrier};

use crate::load_report::Round;
use crate::options::LoadOptions;
use crate::round::{round, Side};

/// Thread name prefix of the monitored side.
const ON: &str = "load-on";
/// Thread name prefix of the unmonitored side.
const OFF: &str = "load-off";

/// One paired round: the monitored side's result, then the unmonitored
/// one's, each with [`LoadOptions::clients_per_side`] clients.
pub(crate) async fn round_pair(
    options: &LoadOptions,
    emf: Option<std::fs::File>,
) -> Result<(Round, Round), String> {
    let half = LoadOptions {
        connections: options.clients_per_side(),
        ..options.clone()
    };
    let start = Arc::new(Barrier::new(2));
    let on = spawn_side(&half, true, emf, start.clone())?;
    let off = spawn_side(&half, false, None, start)?;
    let stopped = |what| move |_| format!("the {what} side of the paired round stopped");
    let on = on.await.map_err(stopped("monitored"))??;
    let off = off.await.map_err(stopped("unmonitored"))??;
    Ok((on, off))
}

/// Runs one side on a thread and a runtime of its own, all named after it.
fn spawn_side(
    options: &LoadOptions,
    monitoring: bool,
    emf: Option<std::fs::File>,
    start: Arc<Barrier>,
) -> Result<oneshot::Receiver<Result<Round, String>>, String> {
    let threads = if monitoring { ON } else { OFF };
    let options = options.clone();
    let (done, result) = oneshot::channel();
    std::thread::Builder::new()
        .name(format!("{threads}-main"))
        .spawn(move || {
            let side = Side::new(threads, start);
            let outcome = tokio::runtime::Builder::new_multi_thread()
                .thread_name(threads)
                .enable_all()
                .build()
                .map_err(|e| format!("the {threads} runtime: {e}"))
                .and_then(|runtime| {
                    runtime.block_on(round(&options, monitoring, emf, Some(&side)))
                });
            let _ = done.send(outcome);
        })
        .map_err(|e| format!("the {threads} thread: {e}"))?;
    Ok(result)
}
