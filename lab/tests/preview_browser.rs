//! The dashboard preview of a real demo run, opened in headless Chromium:
//! no console message, every widget drew a series or says its data comes
//! from AWS, every alarm has a timeline, and a screenshot is produced.

mod common;

use perfmon_chat_lab::{run_demo, DemoOptions};
use perfmon_tools::preview::{render, MetricStore, WidgetOutcome};

/// Metrics only the Lambda layer records: a local run has none of them.
const LAMBDA_LAYER_ONLY: [&str; 1] = ["Cold starts"];

fn scratch(name: &str) -> std::path::PathBuf {
    common::scratch("perfmon-preview", name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_preview_of_a_demo_run_draws_every_widget_in_a_real_browser() {
    let Some(browser) = common::chromium::chromium() else {
        return;
    };
    let run = scratch("run.jsonl");
    run_demo(DemoOptions {
        sessions: 120,
        concurrency: 10,
        progress: false,
        emf_out: Some(run.clone()),
    })
    .await
    .unwrap();
    let (store, errors) =
        MetricStore::read(std::io::BufReader::new(std::fs::File::open(&run).unwrap())).unwrap();
    assert!(errors.is_empty(), "the run's EMF is valid: {errors:?}");
    let preview = render(&perfmon_chat::catalog(), &store, None).unwrap();
    let page = scratch("preview.html");
    std::fs::write(&page, &preview.html).unwrap();

    // What the renderer says it drew.
    for (dashboard, title, outcome) in &preview.widgets {
        match outcome {
            WidgetOutcome::Drawn(0) => assert!(
                LAMBDA_LAYER_ONLY.iter().any(|m| title.starts_with(m)),
                "{dashboard}: {title} has no data"
            ),
            WidgetOutcome::FromAws => {
                assert!(
                    title.starts_with("Lambda") || title.starts_with("API Gateway"),
                    "{title}"
                )
            }
            _ => {}
        }
    }
    assert_eq!(
        preview.alarms.len(),
        perfmon_chat::catalog().operations.len() * 3
    );

    // What the browser shows.
    let loaded = common::chromium::load(&browser, &page);
    assert!(loaded.console.is_empty(), "console: {:#?}", loaded.console);
    let widgets: Vec<&str> = loaded.dom.split(r#"<div class="widget""#).skip(1).collect();
    assert_eq!(
        widgets.len(),
        preview.widgets.len(),
        "every widget is in the DOM"
    );
    for widget in &widgets {
        let shown = if widget.starts_with(r#" data-kind="aws""#) {
            widget.contains("From AWS")
        } else if widget.starts_with(r#" data-kind="metric""#) {
            widget.contains("<polyline")
                || (widget.contains("No datapoints in this run")
                    && LAMBDA_LAYER_ONLY.iter().any(|m| widget.contains(m)))
        } else {
            widget.starts_with(r#" data-kind="text""#)
        };
        assert!(shown, "a widget drew nothing: {:.300}", widget);
    }
    assert_eq!(
        loaded.dom.matches(r#"class="alarm-row""#).count(),
        preview.alarms.len(),
        "every alarm has a timeline"
    );

    let png = scratch("preview.png");
    common::chromium::screenshot(&browser, &page, &png, (1500, 1900));
    let bytes = std::fs::read(&png).unwrap();
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000,
        "{} bytes",
        bytes.len()
    );
}

#[test]
fn the_console_check_sees_a_page_that_logs() {
    let Some(browser) = common::chromium::chromium() else {
        return;
    };
    let page = scratch("logs.html");
    std::fs::write(
        &page,
        "<p>x</p><script>console.error('broken widget')</script>",
    )
    .unwrap();
    let loaded = common::chromium::load(&browser, &page);
    assert!(
        loaded.console.iter().any(|l| l.contains("broken widget")),
        "{:?}",
        loaded.console
    );
}
