//! Text insertions into the original source: collected while walking the AST,
//! sorted once, applied in one pass. Never a deletion, never a newline.

use std::fmt::{self, Write as _};

/// One piece of text to insert at a byte offset of the source.
#[derive(Clone, Copy)]
struct Insertion {
    /// Byte offset in the source.
    at: u32,
    /// Range of the text in [`Splicer::texts`].
    text_start: u32,
    text_len: u32,
}

/// Collects insertions; their order of emission is their order at equal offsets.
///
/// Openers are emitted when entering a node and closers when leaving it, so a
/// stable sort by offset puts outer openers before inner ones and inner closers
/// before outer ones.
pub(crate) struct Splicer {
    insertions: Vec<Insertion>,
    /// All inserted texts, back to back (one buffer instead of one `String` each).
    texts: String,
    /// Index of the insertion marking where the prologue goes, if any.
    marker: Option<usize>,
}

impl Splicer {
    pub(crate) fn with_source_len(len: usize) -> Self {
        // A rough guess: real code gets about one insertion per 60 bytes.
        Splicer {
            insertions: Vec::with_capacity(len / 64 + 4),
            texts: String::with_capacity(len / 2 + 64),
            marker: None,
        }
    }

    /// Inserts a fixed text at `at`.
    pub(crate) fn insert(&mut self, at: u32, text: &str) {
        let text_start = self.texts.len() as u32;
        self.texts.push_str(text);
        self.insertions.push(Insertion { at, text_start, text_len: text.len() as u32 });
    }

    /// Inserts formatted text at `at` without a temporary `String`.
    pub(crate) fn insert_fmt(&mut self, at: u32, args: fmt::Arguments<'_>) {
        let text_start = self.texts.len() as u32;
        // Writing into a String cannot fail.
        let _ = self.texts.write_fmt(args);
        let text_len = self.texts.len() as u32 - text_start;
        self.insertions.push(Insertion { at, text_start, text_len });
    }

    /// Inserts text written by `write` straight into the text buffer.
    pub(crate) fn insert_with(&mut self, at: u32, write: impl FnOnce(&mut String)) {
        let text_start = self.texts.len() as u32;
        write(&mut self.texts);
        let text_len = self.texts.len() as u32 - text_start;
        self.insertions.push(Insertion { at, text_start, text_len });
    }

    /// Marks the place of the prologue: its offset in the output is reported by [`Splicer::apply`].
    pub(crate) fn mark_prologue(&mut self, at: u32) {
        self.marker = Some(self.insertions.len());
        self.insertions.push(Insertion { at, text_start: 0, text_len: 0 });
    }

    /// Applies every insertion to `source`; returns the code, the output offset of the marker
    /// (0 without a marker), and what was inserted: `(source offset, UTF-16 length)` in
    /// order, the marker's offset with length 0.
    pub(crate) fn apply(self, source: &str) -> (String, usize, Vec<(u32, u32)>) {
        let Splicer { mut insertions, texts, marker } = self;
        // Tag the marker so it can be found after sorting: give it an impossible text range.
        if let Some(i) = marker {
            insertions[i].text_start = u32::MAX;
        }
        // Stable: equal offsets keep their emission order. Mostly sorted already, so cheap.
        insertions.sort_by_key(|i| i.at);
        let extra: usize = insertions.iter().map(|i| i.text_len as usize).sum();
        let mut out = String::with_capacity(source.len() + extra);
        let mut edits = Vec::with_capacity(insertions.len());
        let mut prologue_at = 0;
        let mut copied = 0usize;
        for ins in &insertions {
            let at = ins.at as usize;
            if at > copied {
                out.push_str(&source[copied..at]);
                copied = at;
            }
            if ins.text_start == u32::MAX {
                prologue_at = out.len();
                edits.push((ins.at, 0));
                continue;
            }
            let start = ins.text_start as usize;
            let text = &texts[start..start + ins.text_len as usize];
            let mut len = text.encode_utf16().count() as u32;
            // Minified code writes `return{...}` and `await(x)`: keep tokens apart.
            if text.as_bytes().first().is_some_and(|&b| is_word_byte(b))
                && out.as_bytes().last().is_some_and(|&b| is_word_byte(b))
            {
                out.push(' ');
                len += 1;
            }
            out.push_str(text);
            edits.push((ins.at, len));
        }
        out.push_str(&source[copied..]);
        (out, prologue_at, edits)
    }
}

/// Whether a byte may be part of an identifier or number (non-ASCII bytes count: they
/// may belong to an identifier, and a space next to them is harmless).
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}
