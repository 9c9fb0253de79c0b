//! Fewer EMF lines and bytes per flush: groups of points that can share a
//! line do, and an unchanged `TelemetryLost` total is written once a
//! minute rather than at every flush.

#[cfg(test)]
use std::borrow::Cow;
use std::collections::BTreeMap;

use super::json::Datum;
use super::Dimensions;
use crate::names;
use crate::telemetry::pipeline::loss_report::LOSS_REPEAT_MS;

/// Points of one group: a metric's name, its value and what the caller
/// keeps beside them.
pub(super) type Points<'a, S> = Vec<(&'a str, Datum, S)>;

/// `TelemetryLost` values last written, by dimensions, with when (ms): one
/// entry per signal, so a list, searched without copying the dimensions.
pub(super) type LossReported = Vec<(Vec<(String, String)>, (f64, u64))>;

/// Drops `TelemetryLost` points that repeat the value last written for
/// their dimensions less than [`LOSS_REPEAT_MS`] ago: a running total that
/// has not moved says nothing new, and every line is billed.
pub(super) fn drop_unchanged_loss<'a, S>(
    reported: &mut LossReported,
    mut groups: BTreeMap<Dimensions<'a>, Points<'a, S>>,
    timestamp_ms: u64,
) -> BTreeMap<Dimensions<'a>, Points<'a, S>> {
    for (dims, data) in groups.iter_mut() {
        data.retain(|(name, datum, _)| {
            let (true, Datum::Single(value)) = (*name == names::TELEMETRY_LOST, datum) else {
                return true;
            };
            let same = |(key, _): &&mut (Vec<(String, String)>, (f64, u64))| {
                key.len() == dims.len()
                    && key
                        .iter()
                        .zip(dims.iter())
                        .all(|((k, v), (dk, dv))| k == dk && v == dv)
            };
            match reported.iter_mut().find(same) {
                Some((_, (last, at)))
                    if last == value && timestamp_ms.saturating_sub(*at) < LOSS_REPEAT_MS =>
                {
                    false
                }
                Some((_, entry)) => {
                    *entry = (*value, timestamp_ms);
                    true
                }
                None => {
                    let key = dims
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), v.clone().into_owned()))
                        .collect();
                    reported.push((key, (*value, timestamp_ms)));
                    true
                }
            }
        });
    }
    groups.retain(|_, data| !data.is_empty());
    groups
}

/// Puts groups of points on as few lines as the EMF rules allow: two
/// groups share a line when no dimension has two values between them (the
/// root holds one value per key) and no metric is in both (the root holds
/// one value per metric), and no metric is named as a dimension key of the
/// other (the root holds one value per name). Each metric's directive names only its own
/// dimension sets, so extra root fields from another group do not change
/// its dimensions ("Specification: Embedded metric format": the
/// `CloudWatchMetrics` array may hold several directives).
pub(super) fn merge<'a, S>(
    groups: BTreeMap<Dimensions<'a>, Points<'a, S>>,
) -> Vec<(Dimensions<'a>, Points<'a, S>)> {
    let mut lines: Vec<(Dimensions<'a>, Points<'a, S>)> = Vec::new();
    for (dims, data) in groups {
        let fits = |(root, metrics): &(Dimensions<'a>, Points<'_, S>)| {
            dims.iter()
                .all(|(k, v)| root.iter().all(|(rk, rv)| rk != k || rv == v))
                && data
                    .iter()
                    .all(|(n, _, _)| metrics.iter().all(|(m, _, _)| m != n))
                && data
                    .iter()
                    .all(|(n, _, _)| root.iter().all(|(k, _)| k != n))
                && metrics
                    .iter()
                    .all(|(m, _, _)| dims.iter().all(|(k, _)| k != m))
        };
        match lines.iter_mut().find(|line| fits(line)) {
            Some((root, metrics)) => {
                for kv in dims {
                    if !root.contains(&kv) {
                        root.push(kv);
                    }
                }
                root.sort();
                metrics.extend(data);
            }
            None => lines.push((dims, data)),
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_metric_never_shares_a_line_with_a_dimension_of_its_name() {
        let mut groups = BTreeMap::new();
        groups.insert(
            dims(&[("Environment", "e"), ("Outcome", "ok")]),
            vec![("Messages", Datum::Single(1.0), ())],
        );
        groups.insert(
            dims(&[("Environment", "e")]),
            vec![("Outcome", Datum::Single(2.0), ())],
        );
        let lines = merge(groups);
        assert_eq!(lines.len(), 2, "one line would hold Outcome twice");
        for (root, metrics) in &lines {
            for (name, _, _) in metrics {
                assert!(root.iter().all(|(k, _)| k != name), "{root:?}");
            }
        }
    }

    #[test]
    fn an_unchanged_loss_total_is_written_when_it_moves_or_once_a_minute() {
        let mut reported = LossReported::new();
        let mut kept = |value: f64, t: u64| {
            let mut groups = BTreeMap::new();
            groups.insert(
                dims(&[("Environment", "e"), ("Signal", "traces")]),
                vec![
                    (names::TELEMETRY_LOST, Datum::Single(value), ()),
                    (names::INVOCATIONS, Datum::Single(1.0), ()),
                ],
            );
            drop_unchanged_loss(&mut reported, groups, t)
                .values()
                .flatten()
                .filter(|(n, _, _)| *n == names::TELEMETRY_LOST)
                .count()
        };
        assert_eq!(kept(0.0, 0), 1, "the first total is written");
        assert_eq!(kept(0.0, 30_000), 0, "unchanged");
        assert_eq!(kept(3.0, 31_000), 1, "moved");
        assert_eq!(kept(3.0, 90_000), 0, "unchanged for 59 s");
        assert_eq!(kept(3.0, 91_000), 1, "a minute since it was written");
    }

    fn dims(pairs: &[(&'static str, &'static str)]) -> Dimensions<'static> {
        pairs.iter().map(|(k, v)| (*k, Cow::Borrowed(*v))).collect()
    }

    #[test]
    fn groups_share_a_line_unless_a_dimension_or_a_metric_conflicts() {
        let mut groups = BTreeMap::new();
        groups.insert(
            dims(&[("Environment", "e"), ("Handler", "a")]),
            vec![("HandlerDuration", Datum::Single(1.0), ())],
        );
        groups.insert(
            dims(&[("Environment", "e"), ("Handler", "b")]),
            vec![("HandlerDuration", Datum::Single(2.0), ())],
        );
        groups.insert(
            dims(&[("Environment", "e"), ("MessageType", "chat")]),
            vec![("Messages", Datum::Single(1.0), ())],
        );
        groups.insert(
            dims(&[("Environment", "f"), ("Signal", "traces")]),
            vec![("TelemetryLost", Datum::Single(0.0), ())],
        );
        let lines = merge(groups);
        let shape: Vec<(Vec<&str>, Vec<&str>)> = lines
            .iter()
            .map(|(root, data)| {
                (
                    root.iter()
                        .map(|(k, v)| if *k == "Environment" { v.as_ref() } else { *k })
                        .collect(),
                    data.iter().map(|(n, _, _)| *n).collect(),
                )
            })
            .collect();
        assert_eq!(
            shape,
            [
                (
                    vec!["e", "Handler", "MessageType"],
                    vec!["HandlerDuration", "Messages"]
                ),
                (vec!["e", "Handler"], vec!["HandlerDuration"]),
                (vec!["f", "Signal"], vec!["TelemetryLost"]),
            ]
        );
    }
}
