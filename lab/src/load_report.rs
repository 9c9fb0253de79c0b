//! What `perfmon-chat load` prints: each round's row, then what
//! monitoring cost.
//!
//! - Rounds one after the other (on, off, off, on): the monitored rounds'
//!   mean throughput against the unmonitored ones', and CPU per message of
//!   the whole process.
//! - Paired rounds (`--paired`): CPU per message of each side's threads,
//!   and what it gives for throughput at saturation, where a server's
//!   throughput is its cores over its CPU per message. The two sides'
//!   throughputs are not compared: they share the cores, not equally.

use std::fmt;
use std::time::Duration;

use crate::options::LoadOptions;
use perfmon_chat::local::FaultKind;

/// One round's result.
#[derive(Debug, Clone)]
pub struct Round {
    /// The warm-up round, not one of the measured ones.
    pub warmup: bool,
    /// Whether monitoring was on.
    pub monitoring: bool,
    /// Replies received.
    pub messages: u64,
    /// Requests that failed (error frame, timeout or broken connection).
    pub errors: u64,
    /// Wall time of the round.
    pub elapsed: Duration,
    /// CPU time the round used: server, clients, flusher and the X-Ray
    /// daemon's stand-in; in a paired round, those of its side only.
    pub cpu: Duration,
    /// Round-trip latency percentiles, ms: p50, p95, p99.
    pub latency_ms: [f64; 3],
    /// Finished spans dropped because the buffer between two flushes was
    /// full: work the monitored round did not do.
    pub spans_dropped: u64,
}

impl Round {
    /// Messages per second.
    pub fn throughput(&self) -> f64 {
        self.messages as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// CPU microseconds per message. At saturation the throughput is the
    /// cores over this, but this does not drop when another process on the
    /// machine takes a core for a while.
    pub fn cpu_per_message_us(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.messages.max(1) as f64
    }
}

/// A load run: what it was asked and its rounds, in order (a paired round
/// is its monitored side, then its unmonitored one).
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// The run's options.
    pub options: LoadOptions,
    /// The rounds, the warm-up first.
    pub rounds: Vec<Round>,
}

impl LoadReport {
    /// The measured rounds of one kind.
    fn measured(&self, on: bool) -> impl Iterator<Item = &Round> {
        self.rounds
            .iter()
            .filter(move |r| !r.warmup && r.monitoring == on)
    }

    /// Total CPU over total messages of one kind of round, µs.
    fn cpu_per_message_us(&self, on: bool) -> f64 {
        let (cpu, messages) = self.measured(on).fold((0.0, 0u64), |(cpu, n), r| {
            (cpu + r.cpu.as_secs_f64(), n + r.messages)
        });
        cpu * 1e6 / messages.max(1) as f64
    }

    /// Mean throughput of one kind of round.
    fn mean_throughput(&self, on: bool) -> f64 {
        let picked: Vec<f64> = self.measured(on).map(Round::throughput).collect();
        picked.iter().sum::<f64>() / picked.len().max(1) as f64
    }

    /// Paired rounds: each pair's unmonitored CPU per message over its
    /// monitored one, lowest and highest.
    fn pair_range(&self) -> Option<(f64, f64)> {
        self.measured(true)
            .zip(self.measured(false))
            .map(|(on, off)| off.cpu_per_message_us() / on.cpu_per_message_us().max(1e-9))
            .fold(None, |range, x| match range {
                None => Some((x, x)),
                Some((lo, hi)) => Some((f64::min(lo, x), f64::max(hi, x))),
            })
    }

    fn header(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.options;
        let offered = match o.rate {
            Some(rate) => format!("{rate} msg/s offered, latency from the scheduled send"),
            None => "as fast as replies come back".to_owned(),
        };
        writeln!(
            f,
            "perfmon-chat load: {} WebSocket clients on 127.0.0.1, chat messages round trip, {offered}",
            o.connections
        )?;
        writeln!(f, "sampler: {}", o.sampler())?;
        if o.paired {
            writeln!(
                f,
                "paired rounds: a monitored and an unmonitored server at the same time, {} clients each",
                o.clients_per_side()
            )?;
        }
        if let Some(plan) = o.fault {
            let what = match plan.kind {
                FaultKind::SlowStore(delay) => {
                    format!("slow store (+{} ms per call)", delay.as_millis())
                }
                FaultKind::StoreErrors => "store errors".to_owned(),
            };
            writeln!(
                f,
                "fault: {what} from {} s to {} s of each round",
                plan.from.as_secs(),
                plan.to.as_secs()
            )?;
        }
        writeln!(f)
    }

    fn table(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<7} {:<11} {:>9} {:>10} {:>8} {:>8} {:>8} {:>7} {:>11}",
            "round",
            "monitoring",
            "messages",
            "msg/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "errors",
            "CPU µs/msg"
        )?;
        let mut number = 0;
        for r in &self.rounds {
            // A pair's two rows carry its number.
            let label = if r.warmup {
                "warm-up".to_owned()
            } else {
                if !self.options.paired || r.monitoring {
                    number += 1;
                }
                number.to_string()
            };
            writeln!(
                f,
                "{:<7} {:<11} {:>9} {:>10.0} {:>8.2} {:>8.2} {:>8.2} {:>7} {:>11.1}",
                label,
                if r.monitoring { "on" } else { "off" },
                r.messages,
                r.throughput(),
                r.latency_ms[0],
                r.latency_ms[1],
                r.latency_ms[2],
                r.errors,
                r.cpu_per_message_us()
            )?;
        }
        Ok(())
    }
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.header(f)?;
        self.table(f)?;
        if self.measured(false).next().is_some() && self.measured(true).next().is_some() {
            let (on, off) = (
                self.cpu_per_message_us(true),
                self.cpu_per_message_us(false),
            );
            if let (true, Some((lo, hi))) = (self.options.paired, self.pair_range()) {
                writeln!(
                    f,
                    "\nCPU per message (each side's threads): {on:.1} µs with monitoring, {off:.1} µs without, {:+.1} µs",
                    on - off
                )?;
                writeln!(
                    f,
                    "throughput with monitoring at saturation = {:.1} % of without (CPU per message without over with; pairs {:.1} to {:.1} %)",
                    100.0 * off / on,
                    100.0 * lo,
                    100.0 * hi
                )?;
            } else {
                writeln!(
                    f,
                    "\nthroughput with monitoring = {:.1} % of without (mean of rounds on, off, off, on)",
                    100.0 * self.mean_throughput(true) / self.mean_throughput(false)
                )?;
                writeln!(
                    f,
                    "CPU per message (whole process): {on:.1} µs with monitoring, {off:.1} µs without, {:+.1} µs",
                    on - off
                )?;
            }
        }
        let dropped: u64 = self.measured(true).map(|r| r.spans_dropped).sum();
        if dropped > 0 {
            writeln!(
                f,
                "{dropped} finished spans dropped in monitored rounds: more ended between two flushes than the span buffer holds"
            )?;
        }
        Ok(())
    }
}
