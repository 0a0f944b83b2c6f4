//! The Markdown exporter: a [`Document`] as GitHub-flavoured Markdown. Blocks are separated by
//! one blank line; table cells escape `|`; chart groups are left out, heading and all
//! (Markdown viewers do not show inline SVG — the HTML export has them).

use super::document::{Align, Block, Document, Exporter, Table};

/// Markdown.
#[derive(Debug, Clone, Copy, Default)]
pub struct Markdown;

impl Exporter for Markdown {
    fn export(&self, doc: &Document) -> String {
        let parts: Vec<String> = doc
            .visible()
            .filter_map(|b| match b {
                Block::Heading(level, text) => {
                    Some(format!("{} {text}", "#".repeat(usize::from(*level))))
                }
                Block::Paragraph(text) => Some(text.clone()),
                Block::Callout(text) => Some(format!("> {text}")),
                Block::List(items) => Some(
                    items
                        .iter()
                        .map(|i| format!("- {i}"))
                        .collect::<Vec<_>>()
                        .join("\n"),
                ),
                Block::Table(t) => Some(table(t)),
                Block::Charts { .. } => None,
                Block::Rule => Some("---".into()),
            })
            .collect();
        if parts.is_empty() {
            return String::new();
        }
        parts.join("\n\n") + "\n"
    }
}

fn table(t: &Table) -> String {
    let row = |cells: &[String]| {
        let padded = (0..t.head.len()).map(|i| {
            cells
                .get(i)
                .map_or(String::new(), |c| c.replace('|', "\\|"))
        });
        format!("| {} |", padded.collect::<Vec<_>>().join(" | "))
    };
    let rule = (0..t.head.len())
        .map(|i| match t.align.get(i).copied().unwrap_or_default() {
            Align::Auto => "---",
            Align::Left => ":---",
            Align::Right => "---:",
        })
        .collect::<Vec<_>>()
        .join(" | ");
    let mut lines = vec![row(&t.head), format!("| {rule} |")];
    lines.extend(t.rows.iter().map(|r| row(r)));
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_block_and_a_pipe_in_a_cell() {
        let mut d = Document::new("T", "en");
        d.para("A **b** `c`.");
        d.item("one");
        d.item("two");
        d.callout("careful");
        let mut t =
            Table::new(vec!["x".into(), "y".into()]).aligned(vec![Align::Left, Align::Right]);
        t.row(vec!["a|b".into(), "1".into()]);
        t.row(vec!["short".into()]);
        d.table(t);
        d.charts("Charts", vec!["<svg></svg>".into()]);
        d.rule();
        assert_eq!(
            Markdown.export(&d),
            "# T\n\nA **b** `c`.\n\n- one\n- two\n\n> careful\n\n| x | y |\n| :--- | ---: |\n| a\\|b | 1 |\n| short |  |\n\n---\n"
        );
    }
}
