//! One metric widget drawn as CloudWatch draws a `timeSeries` widget: its
//! title, each visible series as a line with its points, a legend, and the
//! horizontal threshold annotations. SVG, with plotters.

use plotters::prelude::*;

use crate::preview::{Series, Window};

/// CloudWatch's default series colours, in order.
pub(crate) const PALETTE: [RGBColor; 7] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
];
const ANNOTATION: RGBColor = RGBColor(0xd1, 0x34, 0x12);

/// What one chart shows.
pub(crate) struct Chart<'a> {
    pub title: &'a str,
    pub unit: Option<&'a str>,
    pub series: Vec<(String, Series)>,
    pub thresholds: Vec<(String, f64)>,
    pub window: Window,
    pub size: (u32, u32),
}

/// The chart as an SVG element. Errors of the drawing backend become the
/// message they carry; nothing panics.
pub(crate) fn svg(chart: &Chart<'_>) -> Result<String, String> {
    let mut out = String::new();
    draw(chart, &mut out).map_err(|e| format!("drawing {:?}: {e}", chart.title))?;
    Ok(out)
}

fn draw<'o>(chart: &Chart<'_>, out: &'o mut String) -> Result<(), Box<dyn std::error::Error + 'o>> {
    let root = SVGBackend::with_string(out, chart.size).into_drawing_area();
    root.fill(&WHITE)?;
    let values = chart
        .series
        .iter()
        .flat_map(|(_, s)| s.values().copied())
        .chain(chart.thresholds.iter().map(|(_, v)| *v));
    let (lo, hi) = values.fold((0.0f64, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let hi = if hi.is_finite() && hi > lo {
        hi * 1.1
    } else {
        lo + 1.0
    };
    let x = (chart.window.start_ms as f64)..(chart.window.end_ms as f64);
    let mut ctx = ChartBuilder::on(&root)
        .caption(chart.title, ("sans-serif", 15))
        .margin(8)
        .x_label_area_size(22)
        .y_label_area_size(58)
        .build_cartesian_2d(x, lo..hi)?;
    ctx.configure_mesh()
        .light_line_style(RGBColor(0xee, 0xee, 0xee))
        .x_labels(6)
        .y_labels(5)
        .x_label_formatter(&|t| clock(*t))
        .y_label_formatter(&|v| compact(*v))
        .y_desc(chart.unit.unwrap_or(""))
        .draw()?;
    for (i, (label, series)) in chart.series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        // A datapoint is drawn at the middle of its period.
        let half = f64::from(chart.window.period_s) * 500.0;
        let points: Vec<(f64, f64)> = series.iter().map(|(t, v)| (*t as f64 + half, *v)).collect();
        ctx.draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
            .label(label.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 14, y)], color.stroke_width(2))
            });
        ctx.draw_series(
            points
                .into_iter()
                .map(|p| Circle::new(p, 3, color.filled())),
        )?;
    }
    for (label, value) in &chart.thresholds {
        let line = [
            (chart.window.start_ms as f64, *value),
            (chart.window.end_ms as f64, *value),
        ];
        ctx.draw_series(DashedLineSeries::new(
            line,
            6,
            4,
            ANNOTATION.stroke_width(1),
        ))?
        .label(format!("{label} {}", compact(*value)))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], ANNOTATION));
    }
    ctx.configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(RGBColor(0xcc, 0xcc, 0xcc))
        .label_font(("sans-serif", 11))
        .draw()?;
    root.present()?;
    Ok(())
}

/// `HH:MM` (UTC) of a time in ms.
pub(crate) fn clock(t_ms: f64) -> String {
    let minutes = (t_ms / 60_000.0).floor() as i64;
    format!(
        "{:02}:{:02}",
        minutes.div_euclid(60).rem_euclid(24),
        minutes.rem_euclid(60)
    )
}

/// A short number: 12.3k, 4.5M, 0.25.
pub(crate) fn compact(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.1}G", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if a >= 100.0 || v == v.trunc() {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_draws_its_title_series_points_and_thresholds() {
        let window = Window {
            start_ms: 0,
            end_ms: 180_000,
            period_s: 60,
        };
        let chart = Chart {
            title: "duration (ms)",
            unit: Some("Milliseconds"),
            series: vec![("p99".into(), [(0, 10.0), (60_000, 30.0)].into())],
            thresholds: vec![("threshold".into(), 25.0)],
            window,
            size: (480, 240),
        };
        let svg = svg(&chart).unwrap();
        assert!(svg.starts_with("<svg"), "{svg:.80}");
        assert!(svg.contains("duration (ms)"));
        assert!(svg.contains("p99") && svg.contains("threshold 25"));
        assert_eq!(
            svg.matches("<circle").count(),
            2,
            "one marker per datapoint"
        );
        assert!(svg.contains("#1F77B4"), "the first palette colour");
    }

    #[test]
    fn numbers_and_times_are_short() {
        assert_eq!(compact(12_345.0), "12.3k");
        assert_eq!(compact(2_500_000.0), "2.5M");
        assert_eq!(compact(0.25), "0.25");
        assert_eq!(compact(5.0), "5");
        assert_eq!(clock(3_600_000.0 * 25.0 + 61_000.0), "01:01");
    }
}
