//! Page assembly: escaping, tables and the page frame with its stylesheet. The page has
//! no script and loads nothing: every chart is inline SVG.

use std::fmt::Write;

/// `text` safe inside HTML text and attribute values.
pub fn esc(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&#39;"),
            _ => s.push(c),
        }
    }
    s
}

/// A table cell: its text (escaped when written) and whether it is the best of its row or column.
#[derive(Clone, Debug, Default)]
pub struct Cell {
    pub text: String,
    pub best: bool,
}

impl From<String> for Cell {
    fn from(text: String) -> Cell {
        Cell { text, best: false }
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Cell {
        Cell::from(text.to_string())
    }
}

/// A table with a header row; the first column is a header column. Best cells are bold
/// with a ★.
pub fn table(class: &str, head: &[String], rows: &[Vec<Cell>]) -> String {
    let mut s = format!(r#"<table class="{}"><thead><tr>"#, esc(class));
    for h in head {
        let _ = write!(s, "<th>{}</th>", esc(h));
    }
    s.push_str("</tr></thead><tbody>");
    for row in rows {
        s.push_str("<tr>");
        for (i, c) in row.iter().enumerate() {
            let tag = if i == 0 { "th" } else { "td" };
            if c.best {
                let _ = write!(s, r#"<{tag} class="best">★ {}</{tag}>"#, esc(&c.text));
            } else {
                let _ = write!(s, "<{tag}>{}</{tag}>", esc(&c.text));
            }
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>");
    s
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;background:#fff}
h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ccc;margin-top:28px}h3{font-size:15px;margin:16px 0 6px}
table{border-collapse:collapse;margin:6px 0 12px}th,td{border:1px solid #ddd;padding:3px 8px;text-align:right}
thead th{background:#f3f3f3;text-align:center}tbody th{text-align:left;font-weight:normal}td.best,th.best{font-weight:bold;background:#e8f5e9}
.charts{display:flex;flex-wrap:wrap;gap:10px}.chart,.heat{background:#fff;border:1px solid #eee}
.ct{font-size:13px;font-weight:600}.tick{font-size:10px;fill:#555}.cell{font-size:9px;fill:#111}.nodata{font-size:12px;fill:#999}
.frame{fill:none;stroke:#bbb}.grid{stroke:#eee}.best{stroke:#2e7d32;stroke-dasharray:4 3}.bestlabel{font-size:10px;fill:#2e7d32}
.overview td{text-align:left}.fig{display:inline-block}
.legend span{margin-right:12px;font-size:12px}.legend i{display:inline-block;width:12px;height:3px;margin-right:4px;vertical-align:middle}
.missing{background:#fff8e1;border-left:4px solid #f9a825;padding:6px 12px}pre{background:#f7f7f7;padding:8px;overflow:auto;max-height:480px}
.es{background:#f1f8e9;border-left:4px solid #7cb342;padding:6px 12px}
tr.bestrow th,tr.bestrow td{font-weight:bold;background:#e8f5e9}td.err{text-align:left;color:#b71c1c}.ring{fill:none}";

/// The whole page: `title` and the already-built `body`.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n",
        esc(title)
    )
}
