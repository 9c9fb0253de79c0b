//! `perfmon`: checks a catalog and generates what it describes.
//!
//! - `perfmon catalog check FILE`: every broken rule, each with its field
//!   and value.
//! - `perfmon dashboards generate --catalog FILE --out DIR`: the dashboards,
//!   alarms and CloudFormation template; `dashboards check` compares the
//!   committed ones instead.
//! - `perfmon dashboards preview --catalog FILE --run RUN --out PAGE`: the
//!   dashboards and alarm timelines for a run's EMF lines, as one HTML
//!   page.
//! - `perfmon collector generate --catalog FILE [--out FILE] [--traces
//!   xray|otlp]`: the ADOT collector configuration, traces through the
//!   awsxray exporter or to CloudWatch's OTLP endpoint, signed.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use perfmon_lambda::{Catalog, CatalogError};
use perfmon_tools::dashboards;

/// Check a perfmon catalog, and generate the CloudWatch dashboards, alarms
/// and ADOT collector configuration it describes.
#[derive(Debug, Parser)]
#[command(name = "perfmon", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Catalogs.
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// CloudWatch dashboards, alarms and their CloudFormation template.
    #[command(subcommand)]
    Dashboards(DashboardsCommand),
    /// The ADOT Lambda-layer collector configuration.
    #[command(subcommand)]
    Collector(CollectorCommand),
}

#[derive(Debug, Subcommand)]
enum CatalogCommand {
    /// Validate a catalog and report every problem with its field and value.
    Check {
        /// The catalog file.
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum DashboardsCommand {
    /// Write every dashboard body, the alarms and the template into DIR.
    Generate {
        /// The catalog file.
        #[arg(long)]
        catalog: PathBuf,
        /// Where the files go.
        #[arg(long)]
        out: PathBuf,
    },
    /// Fail when the files in DIR differ from what the catalog generates.
    Check {
        /// The catalog file.
        #[arg(long)]
        catalog: PathBuf,
        /// Where the committed files are.
        #[arg(long)]
        out: PathBuf,
    },
    /// Render every dashboard and alarm the catalog generates for a run's
    /// EMF lines (`perfmon-chat demo --emf-out`, or a CloudWatch Logs
    /// export) into one self-contained HTML page.
    Preview {
        /// The catalog file.
        #[arg(long)]
        catalog: PathBuf,
        /// The run's EMF lines.
        #[arg(long)]
        run: PathBuf,
        /// The HTML page to write.
        #[arg(long)]
        out: PathBuf,
        /// The `Environment` dimension value to show; by default the run's
        /// only one.
        #[arg(long)]
        environment: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum CollectorCommand {
    /// Print (or write) the collector configuration for the catalog.
    Generate {
        /// The catalog file.
        #[arg(long)]
        catalog: PathBuf,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Where traces go: `xray` (the awsxray exporter) or `otlp`
        /// (CloudWatch's OTLP endpoint, signed with SigV4).
        #[arg(long, default_value = "xray")]
        traces: dashboards::CollectorTraces,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("perfmon: {message}");
            ExitCode::FAILURE
        }
    }
}

fn load(path: &PathBuf) -> Result<Catalog, String> {
    Catalog::from_path(path).map_err(|e| match &e {
        CatalogError::Invalid { problems } => format!(
            "{}: {} problem(s)\n{}",
            path.display(),
            problems.len(),
            problems
                .iter()
                .map(|p| format!("  {p}"))
                .collect::<Vec<_>>()
                .join("\n")
        ),
        _ => format!("{}: {e}", path.display()),
    })
}

fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Catalog(CatalogCommand::Check { file }) => {
            let catalog = load(&file)?;
            println!(
                "{}: valid (version {}, namespace {}, {} operations, {} metrics, {} dashboards, {} teams)",
                file.display(),
                catalog.version,
                catalog.namespace,
                catalog.operations.len(),
                catalog.metrics().len(),
                catalog.dashboards.len(),
                catalog.teams.len()
            );
            Ok(())
        }
        Command::Dashboards(DashboardsCommand::Generate { catalog, out }) => {
            let catalog = load(&catalog)?;
            let written = dashboards::write_all(&catalog, &out)
                .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
            for path in written {
                println!("wrote {}", path.display());
                let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) as usize;
                if path.extension().is_some_and(|e| e == "json")
                    && path
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("cloudformation"))
                    && size > dashboards::MAX_TEMPLATE_BODY
                {
                    eprintln!(
                        "{} is {size} bytes, over the {} CloudFormation takes inline: deploy it with `aws cloudformation deploy --template-file {} --stack-name STACK --s3-bucket BUCKET`",
                        path.display(),
                        dashboards::MAX_TEMPLATE_BODY,
                        path.display()
                    );
                }
            }
            Ok(())
        }
        Command::Dashboards(DashboardsCommand::Check { catalog: file, out }) => {
            let catalog = load(&file)?;
            match dashboards::drifted(&catalog, &out).as_slice() {
                [] => {
                    println!("{} matches catalog version {}", out.display(), catalog.version);
                    Ok(())
                }
                files => Err(format!(
                    "{} differ from {} (version {}): run `perfmon dashboards generate --catalog {} --out {}`",
                    files.join(", "),
                    file.display(),
                    catalog.version,
                    file.display(),
                    out.display()
                )),
            }
        }
        Command::Dashboards(DashboardsCommand::Preview {
            catalog,
            run,
            out,
            environment,
        }) => preview(&load(&catalog)?, &run, &out, environment.as_deref()),
        Command::Collector(CollectorCommand::Generate {
            catalog,
            out,
            traces,
        }) => {
            let config = dashboards::collector_config(&load(&catalog)?, traces);
            match out {
                None => {
                    print!("{config}");
                    Ok(())
                }
                Some(path) => std::fs::write(&path, config)
                    .map(|()| println!("wrote {}", path.display()))
                    .map_err(|e| format!("cannot write {}: {e}", path.display())),
            }
        }
    }
}

fn preview(
    catalog: &Catalog,
    run: &PathBuf,
    out: &PathBuf,
    environment: Option<&str>,
) -> Result<(), String> {
    let file =
        std::fs::File::open(run).map_err(|e| format!("cannot read {}: {e}", run.display()))?;
    let (store, errors) = perfmon_tools::preview::MetricStore::read(std::io::BufReader::new(file))
        .map_err(|e| format!("cannot read {}: {e}", run.display()))?;
    for error in &errors {
        eprintln!(
            "perfmon: {}: {error} (CloudWatch would drop this line)",
            run.display()
        );
    }
    let preview =
        perfmon_tools::preview::render(catalog, &store, environment).map_err(|e| e.to_string())?;
    std::fs::write(out, &preview.html)
        .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    let count = |f: fn(&perfmon_tools::preview::WidgetOutcome) -> bool| {
        preview.widgets.iter().filter(|(_, _, o)| f(o)).count()
    };
    use perfmon_tools::preview::WidgetOutcome::{Drawn, FromAws};
    println!(
        "wrote {}: {} widgets drawn from the run, {} from AWS, {} without data",
        out.display(),
        count(|o| matches!(o, Drawn(n) if *n > 0)),
        count(|o| matches!(o, FromAws)),
        count(|o| matches!(o, Drawn(0))),
    );
    for (dashboard, title, outcome) in &preview.widgets {
        if *outcome == Drawn(0) {
            println!("  no data: {dashboard}: {title}");
        }
    }
    for (name, transitions) in &preview.alarms {
        println!("  {name}: {transitions}");
    }
    Ok(())
}
