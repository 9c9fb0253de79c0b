//! `perfmon-chat load`: N concurrent real WebSocket clients against the
//! local server, each authenticating once and then chatting for a fixed
//! time: as fast as replies come back (saturation), or at a fixed total
//! rate, each client sending on its own schedule and its latency measured
//! from the scheduled send time, so a server that falls behind shows it.
//! Rounds (`round.rs`) switch monitoring on and off in the order on, off,
//! off, on ([`monitored`]), so the cost of monitoring is measured in one
//! run; or, with [`LoadOptions::paired`], each round runs both at once
//! (`paired.rs`).

use crate::load_report::Round;
use crate::options::LoadOptions;
use crate::round::round;

/// Whether round `i` (from 0) is monitored: on, off, off, on, repeated.
/// Over any multiple of four rounds both kinds hold the same mean position,
/// so a steady drift of the machine's speed during a run (seen of 20 % and
/// more here) weighs on both alike; strict alternation, on first, counted
/// a speed-up against monitoring.
pub fn monitored(i: usize) -> bool {
    matches!(i % 4, 0 | 3)
}

/// Runs the warm-up round, if any, then the rounds.
pub async fn run_load(options: LoadOptions) -> Result<Vec<Round>, String> {
    let emf = options
        .emf_out
        .as_deref()
        .map(crate::emf_file)
        .transpose()?;
    let mut rounds = Vec::new();
    if !options.warmup.is_zero() {
        let warmup = LoadOptions {
            round: options.warmup,
            fault: None,
            ..options.clone()
        };
        let warmed = one_or_pair(&warmup, true, None).await?;
        rounds.extend(warmed.into_iter().map(|r| Round { warmup: true, ..r }));
    }
    for i in 0..options.rounds {
        let writer = match &emf {
            Some(file) => Some(
                file.get_ref()
                    .try_clone()
                    .map_err(|e| format!("EMF output: {e}"))?,
            ),
            None => None,
        };
        rounds.extend(one_or_pair(&options, monitored(i), writer).await?);
    }
    Ok(rounds)
}

/// One round, `monitoring` or not; with [`LoadOptions::paired`], a pair of
/// both kinds instead (the monitored side first).
async fn one_or_pair(
    options: &LoadOptions,
    monitoring: bool,
    emf: Option<std::fs::File>,
) -> Result<Vec<Round>, String> {
    if options.paired {
        let (on, off) = crate::paired::round_pair(options, emf).await?;
        Ok(vec![on, off])
    } else {
        Ok(vec![round(options, monitoring, emf, None).await?])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_go_on_off_off_on_so_a_steady_drift_weighs_on_both_alike() {
        let order: Vec<bool> = (0..8).map(monitored).collect();
        assert_eq!(
            order,
            [true, false, false, true, true, false, false, true],
            "on first, as the warm-up"
        );
        for rounds in [4, 8, 12, 40] {
            // A machine that speeds up by one unit a round adds the same
            // total to both kinds.
            let (on, off): (Vec<usize>, Vec<usize>) = (0..rounds).partition(|&i| monitored(i));
            assert_eq!(on.len(), off.len());
            assert_eq!(
                on.iter().sum::<usize>(),
                off.iter().sum::<usize>(),
                "{rounds}"
            );
        }
    }
}
