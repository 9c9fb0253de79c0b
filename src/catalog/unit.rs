use serde::{Deserialize, Serialize};

/// A CloudWatch `StandardUnit`, as the catalog names it.
///
/// OTel instruments carry the matching UCUM unit ([`Unit::ucum`]); exporters
/// that talk to CloudWatch translate back with [`Unit::from_ucum`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Unit {
    /// `ms`
    Milliseconds,
    /// `s`
    Seconds,
    /// `us`
    Microseconds,
    /// `By`
    Bytes,
    /// `KBy`
    Kilobytes,
    /// `MBy`
    Megabytes,
    /// `1`
    Count,
    /// `%`
    Percent,
    /// no unit
    None,
}

const TABLE: &[(Unit, &str, &str)] = &[
    (Unit::Milliseconds, "Milliseconds", "ms"),
    (Unit::Seconds, "Seconds", "s"),
    (Unit::Microseconds, "Microseconds", "us"),
    (Unit::Bytes, "Bytes", "By"),
    (Unit::Kilobytes, "Kilobytes", "KBy"),
    (Unit::Megabytes, "Megabytes", "MBy"),
    (Unit::Count, "Count", "1"),
    (Unit::Percent, "Percent", "%"),
    (Unit::None, "None", ""),
];

impl Unit {
    fn row(self) -> &'static (Unit, &'static str, &'static str) {
        TABLE
            .iter()
            .find(|(u, _, _)| *u == self)
            .expect("every unit has a row")
    }

    /// The CloudWatch unit name, e.g. `Milliseconds`.
    pub fn cloudwatch(self) -> &'static str {
        self.row().1
    }

    /// The UCUM unit the OTel instrument carries, e.g. `ms`.
    pub fn ucum(self) -> &'static str {
        self.row().2
    }

    /// The unit whose UCUM code is `ucum`.
    pub fn from_ucum(ucum: &str) -> Option<Unit> {
        TABLE
            .iter()
            .find(|(_, _, u)| *u == ucum)
            .map(|(u, _, _)| *u)
    }
}

impl std::fmt::Display for Unit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.cloudwatch())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ucum_round_trips_for_every_unit() {
        for (unit, cw, ucum) in TABLE {
            assert_eq!(Unit::from_ucum(ucum), Some(*unit));
            assert_eq!(unit.cloudwatch(), *cw);
            let json = serde_json::to_string(unit).unwrap();
            assert_eq!(json, format!("\"{cw}\""));
        }
    }
}
