//! The preview page: dashboards on the grid, then the alarms.

use serde_json::Value;

use super::chart::{self, Chart};
use super::{escape, timeline};
use crate::dashboards::{self, Kind, Stack};
use crate::preview::{run, Alarm, AlarmError, DataQuery, MetricStore, QueryError, Window};
use perfmon_lambda::names::dim;
use perfmon_lambda::Catalog;

/// Pixels of one grid column and one grid row.
const COLUMN_PX: u32 = 58;
const ROW_PX: u32 = 38;
/// The region a local run stands in for.
const LOCAL_REGION: &str = "local";
/// What fills `${ApiId}`: a local run has no API Gateway.
const LOCAL_API_ID: &str = "local";

/// Why the page cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    /// The run holds no metric at all.
    #[error("the run holds no EMF metrics")]
    Empty,
    /// The run's `Environment` is not one value.
    #[error("the run has Environment values {0:?}: choose one with --environment")]
    Environment(Vec<String>),
    /// A widget's queries.
    #[error("{dashboard}: widget {title:?}: {source}")]
    Widget {
        /// Dashboard file.
        dashboard: String,
        /// Widget title.
        title: String,
        /// Why.
        source: QueryError,
    },
    /// An alarm.
    #[error(transparent)]
    Alarm(#[from] AlarmError),
    /// Drawing.
    #[error("{0}")]
    Draw(String),
}

/// What happened to one widget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WidgetOutcome {
    /// Drawn with this many series that have data.
    Drawn(usize),
    /// Its metrics come from AWS itself.
    FromAws,
    /// A text widget.
    Text,
}

/// The page and what it shows.
#[derive(Debug, Clone)]
pub struct Preview {
    /// The HTML document.
    pub html: String,
    /// Every widget: dashboard file, title, outcome.
    pub widgets: Vec<(String, String, WidgetOutcome)>,
    /// Every alarm: name and its transitions in words.
    pub alarms: Vec<(String, String)>,
}

/// Renders every dashboard and alarm `catalog` generates over the run in
/// `store`. `environment` fills `${Environment}`; `None` takes the run's
/// only one.
pub fn render(
    catalog: &Catalog,
    store: &MetricStore,
    environment: Option<&str>,
) -> Result<Preview, PreviewError> {
    let (from, to) = store.time_span().ok_or(PreviewError::Empty)?;
    let environment = match environment {
        Some(e) => e.to_owned(),
        None => only_environment(store)?,
    };
    let mut preview = Preview {
        html: String::new(),
        widgets: Vec::new(),
        alarms: Vec::new(),
    };
    let mut sections = String::new();
    let mut nav = String::new();
    let mut alarm_rows = String::new();
    let functions = dimension_values(store, dim::FUNCTION);
    let stack = Stack {
        environment: &environment,
        region: LOCAL_REGION,
        functions: &functions,
        api_id: LOCAL_API_ID,
    };
    for file in dashboards::generate(catalog) {
        let json = dashboards::resolved(&file.json, &stack);
        match file.kind {
            Kind::Dashboard => {
                let name = file.name.trim_end_matches(".dashboard.json").to_owned();
                nav.push_str(&format!(r##"<a href="#{0}">{0}</a> "##, escape(&name)));
                let grid = dashboard(&name, &json, store, from, to, &mut preview)?;
                sections.push_str(&format!(
                    r#"<section class="dashboard" id="{0}"><h2>{0}</h2><div class="grid">{grid}</div></section>"#,
                    escape(&name)
                ));
            }
            Kind::Alarms => {
                for alarm in json["alarms"].as_array().into_iter().flatten() {
                    let alarm = Alarm::from_json(alarm)?;
                    let window = Window::covering(from, to, alarm.period_s);
                    let timeline = alarm.timeline(store, &window)?;
                    alarm_rows.push_str(&timeline::row(&alarm.name, &alarm.description, &timeline));
                    preview
                        .alarms
                        .push((alarm.name.clone(), timeline::transitions(&timeline)));
                }
            }
            Kind::Template => {}
        }
    }
    preview.html = format!(
        r##"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>perfmon preview: {namespace}</title><style>{STYLE}</style></head><body><header><h1>perfmon preview</h1><p>Namespace <code>{namespace}</code>, catalog version {version}, environment <code>{env}</code>. Run from {start} to {end} UTC. Every widget and alarm is what CloudWatch would show for these datapoints.</p><nav>{nav}<a href="#alarms">alarms</a></nav></header>{sections}<section id="alarms"><h2>alarms</h2>{alarm_rows}</section></body></html>"##,
        namespace = escape(&catalog.namespace),
        version = catalog.version,
        env = escape(&environment),
        start = chart::clock(from as f64),
        end = chart::clock(to as f64),
    );
    Ok(preview)
}

fn dashboard(
    name: &str,
    body: &Value,
    store: &MetricStore,
    from: i64,
    to: i64,
    preview: &mut Preview,
) -> Result<String, PreviewError> {
    let mut grid = String::new();
    for widget in body["widgets"].as_array().into_iter().flatten() {
        let number = |key: &str, default: u64| widget[key].as_u64().unwrap_or(default) as u32;
        let (x, y, w, h) = (
            number("x", 0),
            number("y", 0),
            number("width", 6),
            number("height", 6),
        );
        let properties = &widget["properties"];
        let title = properties["title"].as_str().unwrap_or("").to_owned();
        let (outcome, inner) = if widget["type"] == "text" {
            let markdown = properties["markdown"].as_str().unwrap_or("");
            (WidgetOutcome::Text, markdown_html(markdown))
        } else {
            metric_widget(name, &title, properties, store, from, to, (w, h))?
        };
        let kind = match outcome {
            WidgetOutcome::Drawn(_) => "metric",
            WidgetOutcome::FromAws => "aws",
            WidgetOutcome::Text => "text",
        };
        grid.push_str(&format!(
            r#"<div class="widget" data-kind="{kind}" style="grid-column:{} / span {w};grid-row:{} / span {h}">{inner}</div>"#,
            x + 1,
            y + 1
        ));
        preview.widgets.push((name.to_owned(), title, outcome));
    }
    Ok(grid)
}

fn metric_widget(
    dashboard: &str,
    title: &str,
    properties: &Value,
    store: &MetricStore,
    from: i64,
    to: i64,
    (w, h): (u32, u32),
) -> Result<(WidgetOutcome, String), PreviewError> {
    let error = |source| PreviewError::Widget {
        dashboard: dashboard.to_owned(),
        title: title.to_owned(),
        source,
    };
    let metrics = properties["metrics"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    let stat = properties["stat"].as_str().unwrap_or("Average");
    let queries = DataQuery::from_widget(metrics, stat).map_err(error)?;
    let namespaces: Vec<&str> = queries
        .iter()
        .filter_map(|q| match q {
            DataQuery::Metric { metric, .. } => Some(metric.namespace.as_str()),
            DataQuery::Search { search, .. } => Some(search.namespace.as_str()),
            _ => None,
        })
        .collect();
    if !namespaces.is_empty() && namespaces.iter().all(|n| n.starts_with("AWS/")) {
        let note = format!(
            r#"<h3>{}</h3><p class="from-aws">From AWS: <code>{}</code> metrics are published by the service itself, so a local run has none. In CloudWatch this widget shows them.</p>"#,
            escape(title),
            escape(namespaces[0])
        );
        return Ok((WidgetOutcome::FromAws, note));
    }
    let period = properties["period"].as_u64().unwrap_or(60) as u32;
    let window = Window::covering(from, to, period);
    let results = run(&queries, store, &window).map_err(error)?;
    let mut series: Vec<(String, _)> = Vec::new();
    for query in queries.iter().filter(|q| q.visible()) {
        match query {
            DataQuery::Search { search, .. } => series.extend(search.run(store, &window)),
            other => series.extend(
                results
                    .get(other.id())
                    .map(|s| (other.label().to_owned(), s.clone())),
            ),
        }
    }
    let drawn = series.iter().filter(|(_, s)| !s.is_empty()).count();
    let thresholds = properties["annotations"]["horizontal"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| {
            let label = a["label"].as_str().unwrap_or("threshold").to_owned();
            Some((label, a["value"].as_f64()?))
        })
        .collect();
    // The unit of what is drawn: a metric's or a search's, never an
    // expression's inputs'.
    let unit = queries
        .iter()
        .filter(|q| q.visible())
        .find_map(|q| match q {
            DataQuery::Metric { metric, .. } => store.unit(&metric.namespace, &metric.name),
            DataQuery::Search { search, .. } => search
                .metric_name()
                .and_then(|name| store.unit(&search.namespace, name)),
            _ => None,
        });
    let svg = chart::svg(&Chart {
        title,
        unit,
        series,
        thresholds,
        window,
        size: (w * COLUMN_PX, h * ROW_PX),
    })
    .map_err(PreviewError::Draw)?;
    let note = if drawn == 0 {
        r#"<p class="no-data">No datapoints in this run.</p>"#
    } else {
        ""
    };
    Ok((WidgetOutcome::Drawn(drawn), format!("{note}{svg}")))
}

/// Every value the run's metrics give the dimension `key`, sorted, once
/// each: the run's functions fill the platform rows' `${Functions}`, its
/// one environment `${Environment}`.
fn dimension_values(store: &MetricStore, key: &str) -> Vec<String> {
    let mut values: Vec<String> = store
        .metrics()
        .filter_map(|m| m.dimensions.get(key).cloned())
        .collect();
    values.sort();
    values.dedup();
    values
}

fn only_environment(store: &MetricStore) -> Result<String, PreviewError> {
    let values = dimension_values(store, dim::ENVIRONMENT);
    match values.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(PreviewError::Environment(values)),
    }
}

/// The little markdown the generator writes: `#` headings, `**bold**`,
/// `` `code` `` and paragraphs.
fn markdown_html(markdown: &str) -> String {
    let inline = |line: &str| {
        let mut out = String::new();
        for (i, part) in escape(line).split("**").enumerate() {
            let coded: String = part
                .split('`')
                .enumerate()
                .map(|(j, p)| {
                    if j % 2 == 1 {
                        format!("<code>{p}</code>")
                    } else {
                        p.to_owned()
                    }
                })
                .collect();
            if i % 2 == 1 {
                out.push_str(&format!("<b>{coded}</b>"));
            } else {
                out.push_str(&coded);
            }
        }
        out
    };
    markdown
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| match line.strip_prefix("# ") {
            Some(heading) => format!("<h3>{}</h3>", inline(heading)),
            None => format!("<p>{}</p>", inline(line)),
        })
        .collect()
}

const STYLE: &str = "body{font-family:sans-serif;margin:16px;background:#f2f3f3;color:#16191f}\
header p{margin:4px 0}nav a{margin-right:12px}\
.grid{display:grid;grid-template-columns:repeat(24,58px);grid-auto-rows:38px;gap:0}\
.widget{background:#fff;border:1px solid #d5dbdb;margin:3px;overflow:hidden;box-sizing:border-box}\
.widget h3{font-size:15px;margin:6px 8px}.widget p{margin:4px 8px;font-size:13px}\
.widget svg{display:block;width:100%;height:100%}\
.from-aws{color:#545b64;font-style:italic}\
.no-data{position:absolute;margin:40px 70px;color:#545b64}.widget{position:relative}\
.alarm-row{background:#fff;border:1px solid #d5dbdb;margin:6px 0;padding:6px 8px}\
.alarm-desc{font-size:12px;color:#545b64}.transitions{font-size:12px;font-family:monospace}\
.cells{display:flex;gap:2px;margin:4px 0}.cell{width:14px;height:14px;display:inline-block}\
.ok{background:#1d8102}.alarm{background:#d13212}\
.insufficient{background:#aab7b8}\
.badge{color:#fff;padding:1px 6px;font-size:12px;border-radius:3px}";
