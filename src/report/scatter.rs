//! A hand-written SVG scatter plot (no crate, no script) for the search page: objective
//! per trial, and a searched key's value against the objective.
//!
//! Same mapping as [`super::svg`]: `x ∈ [x0, x1]`, `y ∈ [y0, y1]` onto the plot area
//! `[L, W−R] × [T, H−B]`, `px = L + (x − x0)/(x1 − x0)·(W − L − R)`,
//! `py = H − B − (y − y0)/(y1 − y0)·(H − T − B)`. A log axis maps `ln x` instead of `x`
//! (so `x0`, `x1` are then `ln` of the smallest and largest value).

use super::html::esc;
use super::series::Series;
use super::svg::{chart_open, legend, no_data, num, PALETTE};
use std::fmt::Write;

const W: f64 = 420.0;
const H: f64 = 250.0;
const L: f64 = 56.0;
const R: f64 = 12.0;
const T: f64 = 24.0;
const B: f64 = 40.0;

/// The x axis: its label, category names (x = 0, 1, ... stands for `ticks[x]`), or a
/// log scale for positive values spanning a wide range.
#[derive(Clone, Debug, Default)]
pub struct XAxis {
    pub label: String,
    pub categories: Option<Vec<String>>,
    pub log: bool,
    /// Whole numbers only (trial numbers): ticks at integers, never `0.92`.
    pub integer: bool,
}

/// A scatter of `series` (one colour each) over `x`, with `ring` (a point drawn with a
/// ring around it, the best trial) and `hline` (a dashed horizontal reference line with
/// its label, the preset's objective).
pub fn scatter(
    title: &str,
    x: &XAxis,
    y_label: &str,
    series: &[Series],
    ring: Option<(f64, f64)>,
    hline: Option<(f64, &str)>,
) -> String {
    // Over 100 lines: one SVG drawn top to bottom (ranges, axes, ticks, reference line,
    // points, legend), the same steps as svg::line_chart; each step reads the coordinates
    // of the ones before.
    let fx = |v: f64| if x.log { v.ln() } else { v };
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(a, b) in series.iter().flat_map(|s| s.points.iter()) {
        x0 = x0.min(fx(a));
        x1 = x1.max(fx(a));
        y0 = y0.min(b);
        y1 = y1.max(b);
    }
    let mut s = chart_open(title, W, H, L);
    if x0 > x1 {
        return no_data(s, W, H);
    }
    if let Some((v, _)) = hline {
        y0 = y0.min(v);
        y1 = y1.max(v);
    }
    if let Some(c) = &x.categories {
        x0 = -0.5;
        x1 = c.len() as f64 - 0.5;
    }
    if x1 - x0 < 1e-12 {
        x0 -= 0.5;
        x1 += 0.5;
    } else if x.categories.is_none() {
        let pad = (x1 - x0) * 0.04;
        x0 -= pad;
        x1 += pad;
    }
    let pad = if y1 - y0 < 1e-12 {
        (y0.abs() * 0.05).max(1e-6)
    } else {
        (y1 - y0) * 0.06
    };
    y0 -= pad;
    y1 += pad;
    let px = |v: f64| L + (fx(v) - x0) / (x1 - x0) * (W - L - R);
    let py = |v: f64| H - B - (v - y0) / (y1 - y0) * (H - T - B);
    let _ = write!(
        s,
        r#"<rect x="{L}" y="{T}" width="{}" height="{}" class="frame"/>"#,
        W - L - R,
        H - T - B
    );
    for i in 0..=4 {
        let v = y0 + (y1 - y0) * i as f64 / 4.0;
        let _ = write!(
            s,
            r#"<line x1="{L}" x2="{}" y1="{p:.1}" y2="{p:.1}" class="grid"/><text x="{}" y="{:.1}" class="tick" text-anchor="end">{}</text>"#,
            W - R,
            L - 4.0,
            py(v) + 4.0,
            num(v),
            p = py(v)
        );
    }
    // x ticks: every category, else 5 evenly spaced values (geometrically on a log axis)
    let ticks: Vec<(f64, String)> = match &x.categories {
        Some(c) => c
            .iter()
            .enumerate()
            .map(|(i, n)| (i as f64, n.clone()))
            .collect(),
        None if x.integer => {
            // every k-th whole number inside the padded range, at most 9 ticks
            let (lo, hi) = (x0.ceil() as i64, x1.floor() as i64);
            let k = ((hi - lo) / 8).max(1);
            (lo..=hi)
                .filter(|t| (t - lo) % k == 0)
                .map(|t| (t as f64, t.to_string()))
                .collect()
        }
        None => (0..=4)
            .map(|i| {
                let t = x0 + (x1 - x0) * i as f64 / 4.0;
                let v = if x.log { t.exp() } else { t };
                (v, num(v))
            })
            .collect(),
    };
    for (v, text) in &ticks {
        let short: String = text.chars().take(14).collect();
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{}" class="tick" text-anchor="middle">{}</text>"#,
            px(*v),
            H - B + 14.0,
            esc(&short)
        );
    }
    let _ = write!(
        s,
        r#"<text x="{}" y="{}" class="tick" text-anchor="middle">{}{}</text><text transform="rotate(-90)" x="{:.1}" y="10" class="tick ylabel" text-anchor="middle">{}</text>"#,
        L + (W - L - R) / 2.0,
        H - 6.0,
        esc(&x.label),
        if x.log { " (log scale)" } else { "" },
        // rotated along the y axis, clear of the title above the plot
        -(T + (H - T - B) / 2.0),
        esc(y_label)
    );
    if let Some((v, label)) = hline {
        let _ = write!(
            s,
            r#"<line x1="{L}" x2="{}" y1="{y:.1}" y2="{y:.1}" class="best"/><text x="{}" y="{:.1}" class="bestlabel" text-anchor="end">{}</text>"#,
            W - R,
            W - R - 3.0,
            py(v) - 3.0,
            esc(label),
            y = py(v)
        );
    }
    for (i, ser) in series.iter().enumerate() {
        let c = PALETTE[i % PALETTE.len()];
        for &(a, b) in &ser.points {
            let shown = match &x.categories {
                Some(cat) => cat.get(a as usize).cloned().unwrap_or_default(),
                None => num(a),
            };
            let _ = write!(
                s,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3.2" fill="{c}" fill-opacity="0.8"><title>{}: {} = {}, {}</title></circle>"#,
                px(a),
                py(b),
                esc(&ser.label),
                esc(&x.label),
                esc(&shown),
                num(b)
            );
        }
    }
    if let Some((a, b)) = ring {
        let _ = write!(
            s,
            r##"<circle cx="{:.1}" cy="{:.1}" r="7" fill="none" stroke="#2e7d32" stroke-width="2" class="ring"><title>best: {}</title></circle>"##,
            px(a),
            py(b),
            num(b)
        );
    }
    s.push_str("</svg>");
    if series.len() > 1 {
        s.push_str(&legend(series.iter().map(|x| x.label.as_str())));
    }
    format!(r#"<div class="fig">{s}</div>"#)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_axes_tick_whole_numbers_and_the_y_label_is_rotated() {
        let pts = Series {
            label: "objective".into(),
            points: vec![(1.0, 0.5), (2.0, 0.6), (3.0, 0.55)],
        };
        let x = XAxis {
            label: "trial".into(),
            integer: true,
            ..XAxis::default()
        };
        let svg = scatter("objective per trial", &x, "valid auc", &[pts], None, None);
        let ticks: Vec<&str> = svg
            .split(r#"text-anchor="middle">"#)
            .skip(1)
            .map(|t| t.split('<').next().unwrap())
            .collect();
        for t in ["1", "2", "3"] {
            assert!(ticks.contains(&t), "tick {t} in {ticks:?}");
        }
        assert!(!ticks.iter().any(|t| t.contains('.')), "{ticks:?}");
        assert!(svg.contains(r#"transform="rotate(-90)""#));
    }
}
