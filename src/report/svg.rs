//! Small hand-written SVG: line charts and heat maps, inline in the page (no crate, no
//! script, no font files; the browser draws them as is).
//!
//! A chart maps epoch `x ∈ [x0, x1]` and value `y ∈ [y0, y1]` linearly onto the plot
//! area `[L, W−R] × [T, H−B]`: `px = L + (x − x0)/(x1 − x0)·(W − L − R)`,
//! `py = H − B − (y − y0)/(y1 − y0)·(H − T − B)` (SVG's y grows downward).

use super::html::esc;
use super::series::Series;
use std::fmt::Write;

/// Line colours, one per series (colour-blind-safe Okabe–Ito order).
pub const PALETTE: &[&str] = &[
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442",
];

const W: f64 = 420.0;
const H: f64 = 240.0;
const L: f64 = 56.0;
const R: f64 = 12.0;
const T: f64 = 24.0;
const B: f64 = 34.0;

/// A number in at most 4 significant digits.
pub fn num(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        return format!("{v:.2e}");
    }
    let digits = (3 - a.log10().floor() as i32).clamp(0, 6) as usize;
    let s = format!("{v:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// The opening of a chart `w` × `h` with its title (tooltip and heading at x = `l`).
pub(super) fn chart_open(title: &str, w: f64, h: f64, l: f64) -> String {
    format!(
        r#"<svg class="chart" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img"><title>{t}</title><text x="{l}" y="15" class="ct">{t}</text>"#,
        t = esc(title)
    )
}

/// Closes a chart opened by [`chart_open`] that has nothing to draw.
pub(super) fn no_data(mut s: String, w: f64, h: f64) -> String {
    let _ = write!(
        s,
        r#"<text x="{}" y="{}" class="nodata">no data recorded</text></svg>"#,
        w / 2.0 - 50.0,
        h / 2.0
    );
    format!(r#"<div class="fig">{s}</div>"#)
}

/// A line chart of `series` over epochs, with a dashed vertical line at `marker.0`
/// labelled `marker.1` (the best epoch). Empty series draw a "no data" chart.
pub fn line_chart(title: &str, series: &[Series], marker: Option<(f64, &str)>) -> String {
    // Over 100 lines: one SVG drawn top to bottom (ranges, axes, ticks, marker, lines,
    // legend); each step reads the coordinates of the ones before.
    let pts = series.iter().flat_map(|s| s.points.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in pts {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    let mut s = chart_open(title, W, H, L);
    if x0 > x1 {
        return no_data(s, W, H);
    }
    if x1 - x0 < 1e-12 {
        x0 -= 0.5;
        x1 += 0.5;
    }
    if y1 - y0 < 1e-12 {
        let pad = (y0.abs() * 0.05).max(1e-6);
        y0 -= pad;
        y1 += pad;
    } else {
        let pad = (y1 - y0) * 0.05;
        y0 -= pad;
        y1 += pad;
    }
    let px = |x: f64| L + (x - x0) / (x1 - x0) * (W - L - R);
    let py = |y: f64| H - B - (y - y0) / (y1 - y0) * (H - T - B);
    // axes and ticks
    let _ = write!(
        s,
        r#"<rect x="{L}" y="{T}" width="{}" height="{}" class="frame"/>"#,
        W - L - R,
        H - T - B
    );
    for i in 0..=4 {
        let y = y0 + (y1 - y0) * i as f64 / 4.0;
        let _ = write!(
            s,
            r#"<line x1="{L}" x2="{}" y1="{py:.1}" y2="{py:.1}" class="grid"/><text x="{}" y="{:.1}" class="tick" text-anchor="end">{}</text>"#,
            W - R,
            L - 4.0,
            py(y) + 4.0,
            num(y),
            py = py(y)
        );
    }
    let step = ((x1 - x0) / 8.0).ceil().max(1.0);
    let mut x = x0.ceil();
    while x <= x1 + 1e-9 {
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{}" class="tick" text-anchor="middle">{}</text>"#,
            px(x),
            H - B + 14.0,
            num(x)
        );
        x += step;
    }
    let _ = write!(
        s,
        r#"<text x="{}" y="{}" class="tick" text-anchor="middle">epoch</text>"#,
        L + (W - L - R) / 2.0,
        H - 4.0
    );
    if let Some((e, label)) = marker {
        if (x0..=x1).contains(&e) {
            // the label on the side of the line with more room
            let (lx, anchor) = if px(e) > W / 2.0 {
                (px(e) - 3.0, "end")
            } else {
                (px(e) + 3.0, "start")
            };
            let _ = write!(
                s,
                r#"<line x1="{x:.1}" x2="{x:.1}" y1="{T}" y2="{}" class="best"/><text x="{lx:.1}" y="{}" class="bestlabel" text-anchor="{anchor}">{}</text>"#,
                H - B,
                T + 12.0,
                esc(label),
                x = px(e)
            );
        }
    }
    for (i, ser) in series.iter().enumerate() {
        let c = PALETTE[i % PALETTE.len()];
        let path: Vec<String> = ser
            .points
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
            .collect();
        let _ = write!(
            s,
            r#"<polyline fill="none" stroke="{c}" stroke-width="1.8" points="{}"><title>{}</title></polyline>"#,
            path.join(" "),
            esc(&ser.label)
        );
        for &(x, y) in &ser.points {
            let _ = write!(
                s,
                r#"<circle cx="{:.1}" cy="{:.1}" r="2.4" fill="{c}"><title>{} epoch {}: {}</title></circle>"#,
                px(x),
                py(y),
                esc(&ser.label),
                num(x),
                num(y)
            );
        }
    }
    s.push_str("</svg>");
    if series.len() > 1 {
        s.push_str(&legend(series.iter().map(|x| x.label.as_str())));
    }
    format!(r#"<div class="fig">{s}</div>"#)
}

/// Coloured swatches with labels, in [`PALETTE`] order.
pub fn legend<'a>(labels: impl Iterator<Item = &'a str>) -> String {
    let mut s = String::from(r#"<div class="legend">"#);
    for (i, l) in labels.enumerate() {
        let _ = write!(
            s,
            r#"<span><i style="background:{}"></i>{}</span>"#,
            PALETTE[i % PALETTE.len()],
            esc(l)
        );
    }
    s.push_str("</div>");
    s
}

/// A heat map of `values[row][col]` with row and column labels, each cell showing its
/// value. `diverging`: values in [−1, 1], blue (−1) through white (0) to red (+1);
/// else values in [0, max] (max = 1 for weights, which sum to 1 per row), white (0) to
/// blue (max).
pub fn heat_map(
    title: &str,
    rows: &[String],
    cols: &[String],
    values: &[Vec<f64>],
    diverging: bool,
) -> String {
    let cell = 34.0;
    let left = 8.0 + 7.0 * rows.iter().map(|r| r.chars().count()).max().unwrap_or(1) as f64;
    let top = 34.0;
    let w = left + cell * cols.len() as f64 + 8.0;
    let h = top + cell * rows.len() as f64 + 6.0;
    let max = values.iter().flatten().fold(1f64, |m, v| m.max(v.abs()));
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="heat" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img"><title>{t}</title><text x="2" y="12" class="ct">{t}</text>"#,
        t = esc(title)
    );
    for (j, c) in cols.iter().enumerate() {
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{}" class="tick" text-anchor="middle">{}</text>"#,
            left + cell * (j as f64 + 0.5),
            top - 4.0,
            esc(c)
        );
    }
    for (i, r) in rows.iter().enumerate() {
        let y = top + cell * i as f64;
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" class="tick" text-anchor="end">{}</text>"#,
            left - 4.0,
            y + cell / 2.0 + 4.0,
            esc(r)
        );
        for (j, &v) in values
            .get(i)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .enumerate()
        {
            let fill = if diverging {
                diverging_colour(v.clamp(-1.0, 1.0))
            } else {
                sequential_colour((v / max).clamp(0.0, 1.0))
            };
            let _ = write!(
                s,
                r##"<rect x="{:.1}" y="{y:.1}" width="{cell}" height="{cell}" fill="{fill}" stroke="#fff"><title>{} × {}: {}</title></rect><text x="{:.1}" y="{:.1}" class="cell" text-anchor="middle">{}</text>"##,
                left + cell * j as f64,
                esc(r),
                esc(cols.get(j).map_or("", String::as_str)),
                num(v),
                left + cell * (j as f64 + 0.5),
                y + cell / 2.0 + 4.0,
                short(v)
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// A cell's value in two decimals (`.35`, `-.12`, `1`).
fn short(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.replacen("0.", ".", 1);
    if s == "1.00" || s == "-1.00" {
        s.replace(".00", "")
    } else {
        s
    }
}

/// White (0) to #0072B2 (1).
fn sequential_colour(t: f64) -> String {
    let mix = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(255.0, 0.0),
        mix(255.0, 114.0),
        mix(255.0, 178.0)
    )
}

/// #2166ac (−1) through white (0) to #b2182b (+1).
fn diverging_colour(v: f64) -> String {
    let (r, g, b) = if v < 0.0 {
        (33.0, 102.0, 172.0)
    } else {
        (178.0, 24.0, 43.0)
    };
    let t = v.abs();
    let mix = |a: f64| (255.0 + (a - 255.0) * t).round() as u8;
    format!("#{:02x}{:02x}{:02x}", mix(r), mix(g), mix(b))
}
