//! One document, many formats: a [`Document`] is what a report or a comparison says — headings,
//! paragraphs, lists, tables, charts — built once in the chosen language; an [`Exporter`]
//! writes it in one markup ([`super::markdown::Markdown`], [`super::html::Html`]). Exporters
//! never compute or choose what to say, so every format holds the same sections.
//!
//! Text carries three inline marks, which each exporter renders its own way: `**strong**`,
//! `*emphasis*` (a whole paragraph or cell only) and `` `code` ``.

/// How a table column is aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Align {
    /// Exporter's default (left).
    #[default]
    Auto,
    /// Left.
    Left,
    /// Right: numbers.
    Right,
}

/// A table: a header row, one alignment per column, and rows of cells.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    /// Column headings.
    pub head: Vec<String>,
    /// Alignment per column (missing columns are `Auto`).
    pub align: Vec<Align>,
    /// Rows; a row may be shorter than the header.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these headings, every column aligned `Auto`.
    pub fn new(head: Vec<String>) -> Table {
        Table {
            head,
            ..Table::default()
        }
    }

    /// The same table with these alignments.
    pub fn aligned(mut self, align: Vec<Align>) -> Table {
        self.align = align;
        self
    }

    /// Add a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }
}

/// One block of a document.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A heading; level 1 is the title.
    Heading(u8, String),
    /// A paragraph.
    Paragraph(String),
    /// A paragraph set apart (a warning or a pointer).
    Callout(String),
    /// A bulleted list.
    List(Vec<String>),
    /// A table.
    Table(Table),
    /// A titled group of charts, each a self-contained SVG; formats that cannot show charts
    /// leave the whole group out, title included.
    Charts {
        /// The group's heading (level 2).
        title: String,
        /// The charts.
        svgs: Vec<String>,
    },
    /// A break between two parts of a document.
    Rule,
}

/// A report or comparison, ready for any exporter.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Document {
    /// The title (also the first heading).
    pub title: String,
    /// BCP 47 language tag of the text (`en`, `ko`).
    pub lang: &'static str,
    /// The blocks, in reading order.
    pub blocks: Vec<Block>,
}

impl Document {
    /// An empty document; its first block is the title heading.
    pub fn new(title: &str, lang: &'static str) -> Document {
        Document {
            title: title.to_string(),
            lang,
            blocks: vec![Block::Heading(1, title.to_string())],
        }
    }

    /// A document without a title heading: a part to print on its own (a terminal summary).
    pub fn fragment(lang: &'static str) -> Document {
        Document {
            title: String::new(),
            lang,
            blocks: Vec::new(),
        }
    }

    /// Add a heading.
    pub fn heading(&mut self, level: u8, text: impl Into<String>) {
        self.blocks.push(Block::Heading(level, text.into()));
    }

    /// Add a paragraph.
    pub fn para(&mut self, text: impl Into<String>) {
        self.blocks.push(Block::Paragraph(text.into()));
    }

    /// Add a callout.
    pub fn callout(&mut self, text: impl Into<String>) {
        self.blocks.push(Block::Callout(text.into()));
    }

    /// Add one list item: to the list just before, or to a new one.
    pub fn item(&mut self, text: impl Into<String>) {
        match self.blocks.last_mut() {
            Some(Block::List(items)) => items.push(text.into()),
            _ => self.blocks.push(Block::List(vec![text.into()])),
        }
    }

    /// End the list just before, so the next item starts a new one.
    pub fn end_list(&mut self) {
        if matches!(self.blocks.last(), Some(Block::List(_))) {
            self.blocks.push(Block::List(Vec::new()));
        }
    }

    /// Add a table (nothing when it has no rows).
    pub fn table(&mut self, t: Table) {
        if !t.rows.is_empty() {
            self.blocks.push(Block::Table(t));
        }
    }

    /// Add a titled group of charts (nothing when there are none).
    pub fn charts(&mut self, title: impl Into<String>, svgs: Vec<String>) {
        if !svgs.is_empty() {
            self.blocks.push(Block::Charts {
                title: title.into(),
                svgs,
            });
        }
    }

    /// Add a rule.
    pub fn rule(&mut self) {
        self.blocks.push(Block::Rule);
    }

    /// Append another document's blocks, without its title heading.
    pub fn append(&mut self, other: Document) {
        let skip = usize::from(!other.title.is_empty());
        self.blocks.extend(other.blocks.into_iter().skip(skip));
    }

    /// The blocks with empty lists dropped (what exporters render).
    pub fn visible(&self) -> impl Iterator<Item = &Block> {
        self.blocks
            .iter()
            .filter(|b| !matches!(b, Block::List(items) if items.is_empty()))
    }
}

/// Writes a [`Document`] in one markup.
pub trait Exporter {
    /// The whole document as text.
    fn export(&self, doc: &Document) -> String;
}
