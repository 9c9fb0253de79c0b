//! `perfmon dashboards preview`: every generated dashboard and alarm,
//! rendered for a run into one self-contained HTML page (inline SVG and
//! CSS, no script, nothing fetched).
//!
//! Each dashboard is laid out on CloudWatch's 24-column grid at its
//! widgets' `x`, `y`, `width` and `height`. A metric widget is drawn from
//! the run's datapoints by the query engine; one whose metrics all live in
//! an `AWS/` namespace (Lambda's or API Gateway's own metrics) has no data
//! in a local run and says so instead of being faked. Each alarm gets its
//! state timeline over the run.

mod chart;
mod page;
mod timeline;

pub use page::{render, Preview, PreviewError, WidgetOutcome};
pub use timeline::transitions;

/// HTML-escapes text.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
