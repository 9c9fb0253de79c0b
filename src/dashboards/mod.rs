//! Dashboards and alarms generated from the catalog, as versioned JSON.
//!
//! [`generate`] returns every file of `dashboards/generated/`: the
//! performance and business dashboard bodies, one dashboard per team, the
//! alarms in `PutMetricAlarm` shape, and one CloudFormation template holding
//! them all. Every file carries the catalog `version`. The command
//! `perfmon dashboards generate` writes them; a test fails when the committed
//! files differ from what the catalog generates.
//!
//! Bodies and alarms refer to `${Environment}` and `${AWS::Region}`: the
//! template substitutes them (`Fn::Sub`); to use a body or an alarm on its
//! own, replace them first.
//!
//! `ErrorRate` is never a stored metric: it is the metric-math expression
//! `100 * FILL(Errors, 0) / Invocations`, summed over every Lambda instance
//! before dividing.

mod alarms;
mod business;
mod cloudformation;
mod performance;
pub mod validate;
mod widgets;

use serde_json::Value;

use crate::catalog::Catalog;

/// Where the generated files go, relative to the repository root.
pub const GENERATED_DIR: &str = "dashboards/generated";
/// The command that regenerates them.
pub const REGENERATE: &str = "cargo run -- dashboards generate";
/// Placeholder of the `Environment` dimension value.
pub const ENVIRONMENT: &str = "${Environment}";
/// Placeholder of the region.
pub const REGION: &str = "${AWS::Region}";

/// One generated file.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    /// File name inside [`GENERATED_DIR`].
    pub name: String,
    /// What the file holds.
    pub kind: Kind,
    /// The content, JSON.
    pub json: Value,
}

/// What a generated file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A CloudWatch DashboardBody.
    Dashboard,
    /// `{"catalogVersion": N, "alarms": [PutMetricAlarm input, ...]}`.
    Alarms,
    /// A CloudFormation template.
    Template,
}

impl Generated {
    /// The file's text: pretty JSON and a final newline.
    pub fn text(&self) -> String {
        let mut text = serde_json::to_string_pretty(&self.json).expect("JSON values serialize");
        text.push('\n');
        text
    }
}

/// Every generated file, in a stable order.
pub fn generate(catalog: &Catalog) -> Vec<Generated> {
    let mut dashboards = vec![
        (
            "performance".to_owned(),
            "WebSocket-Performance".to_owned(),
            performance::body(
                catalog,
                &catalog
                    .operations
                    .iter()
                    .map(|o| o.name.as_str())
                    .collect::<Vec<_>>(),
                "Performance",
            ),
        ),
        (
            "business".to_owned(),
            "WebSocket-Business".to_owned(),
            business::body(catalog),
        ),
    ];
    for team in &catalog.teams {
        let ops: Vec<&str> = team.operations.iter().map(String::as_str).collect();
        dashboards.push((
            format!("team-{}", team.name),
            format!("WebSocket-Team-{}", team.name),
            performance::body(catalog, &ops, &team.title),
        ));
    }
    let alarms = alarms::all(catalog);
    let template = cloudformation::template(catalog, &dashboards, &alarms);
    let mut files: Vec<Generated> = dashboards
        .into_iter()
        .map(|(file, _, body)| Generated {
            name: format!("{file}.dashboard.json"),
            kind: Kind::Dashboard,
            json: body,
        })
        .collect();
    files.push(Generated {
        name: "alarms.json".to_owned(),
        kind: Kind::Alarms,
        json: serde_json::json!({"catalogVersion": catalog.version, "alarms": alarms}),
    });
    files.push(Generated {
        name: "cloudformation.json".to_owned(),
        kind: Kind::Template,
        json: template,
    });
    files
}

/// Writes every generated file into `dir`, returning their paths.
pub fn write_all(
    catalog: &Catalog,
    dir: &std::path::Path,
) -> std::io::Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir)?;
    generate(catalog)
        .into_iter()
        .map(|file| {
            let path = dir.join(&file.name);
            std::fs::write(&path, file.text())?;
            Ok(path)
        })
        .collect()
}

/// The generated files whose committed copy in `dir` differs (or is
/// missing).
pub fn drifted(catalog: &Catalog, dir: &std::path::Path) -> Vec<String> {
    generate(catalog)
        .into_iter()
        .filter(|file| std::fs::read_to_string(dir.join(&file.name)).ok() != Some(file.text()))
        .map(|file| file.name)
        .collect()
}
