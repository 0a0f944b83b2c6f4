//! The HTML exporter: a [`Document`] as one self-contained file (inline CSS and SVG, no script,
//! no network) that prints on A4 and reads at 1280 px. A group's charts sit side by side.

use super::document::{Align, Block, Document, Exporter, Table};
use super::svg::esc;
use std::fmt::Write;

const CSS: &str = "body{font-family:system-ui,-apple-system,'Segoe UI','Noto Sans KR',sans-serif;margin:0;color:#222;background:#fafafa}main{max-width:1200px;margin:0 auto;padding:24px;background:white}h1{font-size:26px}h2{margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}table{border-collapse:collapse;margin:12px 0;font-size:14px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f0f0f0}.charts{display:flex;flex-wrap:wrap;gap:12px}.charts svg{border:1px solid #eee;max-width:100%;height:auto}.note{color:#555;font-size:13px}blockquote{border-left:4px solid #c90;margin:12px 0;padding:4px 12px;background:#fff8e6}@media print{body{background:white}main{max-width:none;padding:0}.charts svg{page-break-inside:avoid}h2{page-break-after:avoid}}";

/// HTML.
#[derive(Debug, Clone, Copy, Default)]
pub struct Html;

impl Exporter for Html {
    fn export(&self, doc: &Document) -> String {
        let mut o = String::new();
        let _ = write!(
            o,
            "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{CSS}</style></head><body><main>",
            doc.lang,
            esc(&doc.title)
        );
        for b in doc.visible() {
            match b {
                Block::Heading(level, text) => {
                    let _ = write!(o, "<h{level}>{}</h{level}>", inline(text));
                }
                Block::Paragraph(text) => match emphasised(text) {
                    Some(note) => {
                        let _ = write!(o, "<p class=\"note\">{}</p>", inline(note));
                    }
                    None => {
                        let _ = write!(o, "<p>{}</p>", inline(text));
                    }
                },
                Block::Callout(text) => {
                    let _ = write!(o, "<blockquote>{}</blockquote>", inline(text));
                }
                Block::List(items) => {
                    o.push_str("<ul>");
                    for i in items {
                        let _ = write!(o, "<li>{}</li>", inline(i));
                    }
                    o.push_str("</ul>");
                }
                Block::Table(t) => table(&mut o, t),
                Block::Charts { title, svgs } => {
                    let _ = write!(o, "<h2>{}</h2><div class=\"charts\">", inline(title));
                    svgs.iter().for_each(|s| o.push_str(s));
                    o.push_str("</div>");
                }
                Block::Rule => o.push_str("<hr>"),
            }
        }
        o.push_str("<p class=\"note\">servebench</p></main></body></html>\n");
        o
    }
}

/// A paragraph that is emphasis from end to end (`*…*`): a note.
fn emphasised(text: &str) -> Option<&str> {
    text.strip_prefix('*')?
        .strip_suffix('*')
        .filter(|t| !t.starts_with('*'))
}

/// Escape, then turn the inline marks into elements.
fn inline(s: &str) -> String {
    let mut strong = String::new();
    for (i, part) in esc(s).split("**").enumerate() {
        if i % 2 == 1 {
            let _ = write!(strong, "<strong>{part}</strong>");
        } else {
            strong.push_str(part);
        }
    }
    let mut out = String::new();
    for (i, part) in strong.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{part}</code>");
        } else {
            out.push_str(part);
        }
    }
    out
}

fn table(o: &mut String, t: &Table) {
    o.push_str("<table><thead><tr>");
    for h in &t.head {
        let _ = write!(o, "<th>{}</th>", inline(h));
    }
    o.push_str("</tr></thead><tbody>");
    for r in &t.rows {
        o.push_str("<tr>");
        for (i, c) in r.iter().enumerate() {
            let right = t.align.get(i) == Some(&Align::Right);
            let _ = write!(
                o,
                "<td{}>{}</td>",
                if right { " class=\"n\"" } else { "" },
                inline(c)
            );
        }
        o.push_str("</tr>");
    }
    o.push_str("</tbody></table>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_become_elements_and_text_is_escaped() {
        let mut d = Document::new("T <1>", "ko");
        d.para("*a note*");
        d.para("**b** `c<d>`");
        d.charts("Charts", vec!["<svg>1</svg>".into(), "<svg>2</svg>".into()]);
        let mut t = Table::new(vec!["x".into()]).aligned(vec![Align::Right]);
        t.row(vec!["1".into()]);
        d.table(t);
        let h = Html.export(&d);
        assert!(h.starts_with("<!doctype html><html lang=\"ko\">"));
        assert!(h.contains("<title>T &lt;1&gt;</title>"));
        assert!(h.contains("<p class=\"note\">a note</p>"));
        assert!(h.contains("<p><strong>b</strong> <code>c&lt;d&gt;</code></p>"));
        assert!(h.contains(
            "<h2>Charts</h2><div class=\"charts\"><svg>1</svg><svg>2</svg></div><table>"
        ));
        assert!(h.contains("<td class=\"n\">1</td>"));
    }
}
