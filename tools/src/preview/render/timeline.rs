//! An alarm's state timeline: one cell per period, coloured by state, with
//! the period's datapoint in its tooltip, and the transitions in words.

use super::{chart, escape};
use crate::preview::AlarmState;

/// One evaluated period: its start (ms), its datapoint, the state after it.
pub(crate) type Evaluation = (i64, Option<f64>, AlarmState);

/// The transitions, e.g. `INSUFFICIENT_DATA → OK 12:01 → ALARM 12:04 → OK
/// 12:07`.
pub fn transitions(timeline: &[Evaluation]) -> String {
    let mut out = String::from(AlarmState::InsufficientData.as_str());
    let mut last = AlarmState::InsufficientData;
    for (t, _, state) in timeline {
        if *state != last {
            out.push_str(&format!(
                " → {} {}",
                state.as_str(),
                chart::clock(*t as f64)
            ));
            last = *state;
        }
    }
    out
}

/// The HTML of one alarm's row.
pub(crate) fn row(name: &str, description: &str, timeline: &[Evaluation]) -> String {
    let state = timeline
        .last()
        .map_or(AlarmState::InsufficientData, |(_, _, s)| *s);
    let mut cells = String::new();
    for (t, value, state) in timeline {
        let value = value.map_or_else(|| "no data".to_owned(), chart::compact);
        cells.push_str(&format!(
            r#"<span class="cell {}" title="{} {} {}"></span>"#,
            class(*state),
            chart::clock(*t as f64),
            escape(&value),
            state.as_str()
        ));
    }
    format!(
        r#"<div class="alarm-row" data-state="{state}"><div class="alarm-name"><span class="badge {class}">{state}</span> {name}</div><div class="alarm-desc">{description}</div><div class="cells">{cells}</div><div class="transitions">{transitions}</div></div>"#,
        state = state.as_str(),
        class = class(state),
        name = escape(name),
        description = escape(description),
        transitions = escape(&transitions(timeline)),
    )
}

fn class(state: AlarmState) -> &'static str {
    match state {
        AlarmState::Ok => "ok",
        AlarmState::Alarm => "alarm",
        AlarmState::InsufficientData => "insufficient",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AlarmState::{Alarm, InsufficientData, Ok};

    #[test]
    fn transitions_name_each_change_with_its_time() {
        let timeline = [
            (0, Some(1.0), Ok),
            (60_000, Some(9.0), Ok),
            (120_000, Some(9.0), Alarm),
            (180_000, None, Alarm),
            (240_000, None, InsufficientData),
        ];
        assert_eq!(
            transitions(&timeline),
            "INSUFFICIENT_DATA → OK 00:00 → ALARM 00:02 → INSUFFICIENT_DATA 00:04"
        );
        let html = row("a<b", "d", &timeline);
        assert!(html.contains("a&lt;b"));
        assert_eq!(html.matches("class=\"cell ").count(), 5);
        assert!(html.contains(r#"data-state="INSUFFICIENT_DATA""#));
        assert!(html.contains(r#"title="00:03 no data ALARM""#));
    }
}
