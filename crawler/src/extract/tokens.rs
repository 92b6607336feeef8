//! The streaming front end: html5gum's WHATWG tokenizer with our own emitter, which keeps no
//! tokens. Tags go straight to [`Nesting`], text is gathered per run, and only the attributes
//! the extractor reads are copied (the first of duplicates wins, as in the standard).

use super::nesting::{Nesting, TextMode};
use super::walker::{Attrs, Walker};
use html5gum::{Emitter, Error, State, Tokenizer};
use std::ops::Range;

/// Attributes the extractor reads; values of all others are never copied. A `match` on the
/// bytes (dispatched on length first) rather than a scan of a list: every attribute of every
/// tag comes through here.
fn wanted(name: &[u8]) -> bool {
    matches!(
        name,
        b"href"
            | b"rel"
            | b"alt"
            | b"src"
            | b"action"
            | b"type"
            | b"http-equiv"
            | b"name"
            | b"content"
            | b"lang"
            | b"color"
            | b"face"
            | b"size"
    )
}

/// Tokenize `text` and feed every event to `walker`.
pub(crate) fn walk(text: &str, walker: &mut Walker) {
    let mut sink = Sink {
        nesting: Nesting::new(walker),
        input: text,
        text_span: 0..0,
        text: Vec::new(),
        tag: Vec::new(),
        is_end: false,
        self_closing: false,
        last_start: Vec::new(),
        attr_buf: Vec::new(),
        attrs: Vec::new(),
        attr_name: Vec::new(),
        attr_state: AttrState::None,
        doctype_name: Vec::new(),
        doctype_public: None,
        force_quirks: false,
    };
    for token in Tokenizer::new_with_emitter(text, &mut sink) {
        // The emitter keeps no tokens and a &str reader cannot fail.
        let _ = token;
    }
    sink.flush_text();
    sink.nesting.finish();
}

/// Where the current attribute is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AttrState {
    /// No attribute, or one whose name is still being read.
    None,
    /// Wanted: its value goes to `attr_buf`.
    Keep,
    /// Not wanted, or a duplicate.
    Skip,
}

struct Sink<'w, 'i> {
    nesting: Nesting<'w>,
    /// The page being tokenized.
    input: &'i str,
    /// Character data since the last tag while it is one run of `input` (most is): read in
    /// place, already known to be UTF-8. Empty when `text` holds the run instead.
    text_span: Range<usize>,
    /// Character data since the last tag once it is not one run of `input` (a character
    /// reference, a NUL): copied.
    text: Vec<u8>,
    tag: Vec<u8>,
    is_end: bool,
    self_closing: bool,
    last_start: Vec<u8>,
    /// Names of the kept attributes of the current tag, and those of their values that are
    /// not one run of `input`.
    attr_buf: Vec<u8>,
    /// The kept attributes: name in `attr_buf`, value.
    attrs: Vec<(Range<usize>, Value)>,
    attr_name: Vec<u8>,
    attr_state: AttrState,
    doctype_name: Vec<u8>,
    doctype_public: Option<Vec<u8>>,
    force_quirks: bool,
}

/// Where an attribute value is.
#[derive(Debug, Clone)]
enum Value {
    /// One run of the page (most values): read in place, already UTF-8.
    Input(Range<usize>),
    /// Copied to `attr_buf` (a character reference, or a value in pieces).
    Buf(Range<usize>),
}

/// The kept attributes of one tag.
struct TagAttrs<'a> {
    input: &'a str,
    buf: &'a [u8],
    list: &'a [(Range<usize>, Value)],
}

impl Attrs for TagAttrs<'_> {
    fn attr(&self, name: &str) -> Option<&str> {
        let (_, value) = self
            .list
            .iter()
            .find(|(n, _)| &self.buf[n.clone()] == name.as_bytes())?;
        match value {
            Value::Input(span) => self.input.get(span.clone()),
            Value::Buf(range) => std::str::from_utf8(&self.buf[range.clone()]).ok(),
        }
    }
}

impl Sink<'_, '_> {
    /// Where `c` lies in `input`, if it is a part of it.
    fn span_in_input(&self, c: &[u8]) -> Option<Range<usize>> {
        // Addresses only: a slice of another buffer cannot lie inside `input`.
        let start = (c.as_ptr() as usize).wrapping_sub(self.input.as_ptr() as usize);
        (start <= self.input.len() && c.len() <= self.input.len() - start)
            .then(|| start..start + c.len())
    }

    /// Character data from the tokenizer.
    fn push_text(&mut self, c: &[u8]) {
        if c.is_empty() {
            return;
        }
        if self.text.is_empty() {
            match self.span_in_input(c) {
                Some(span) if self.text_span.is_empty() => {
                    self.text_span = span;
                    return;
                }
                Some(span) if span.start == self.text_span.end => {
                    self.text_span.end = span.end;
                    return;
                }
                _ => {
                    let run = self.text_span.clone();
                    self.text.extend_from_slice(&self.input.as_bytes()[run]);
                    self.text_span = 0..0;
                }
            }
        }
        self.text.extend_from_slice(c);
    }

    fn flush_text(&mut self) {
        if !self.text_span.is_empty() {
            let input = self.input;
            let span = std::mem::replace(&mut self.text_span, 0..0);
            // The tokenizer splits only at ASCII bytes, so a run is whole characters.
            match input.get(span.clone()) {
                Some(run) if !run.as_bytes().contains(&0) => self.nesting.text(run),
                _ => self.text.extend_from_slice(&input.as_bytes()[span]),
            }
        }
        if self.text.is_empty() {
            return;
        }
        // The tokenizer passes NUL through in data; tree construction drops it.
        if self.text.contains(&0) {
            self.text.retain(|&b| b != 0);
        }
        match std::str::from_utf8(&self.text) {
            Ok(s) => self.nesting.text(s),
            Err(_) => self.nesting.text(&String::from_utf8_lossy(&self.text)),
        }
        self.text.clear();
    }

    /// Decide whether the attribute whose name is complete is kept.
    fn settle_attr_name(&mut self) {
        if self.attr_state != AttrState::None || self.attr_name.is_empty() {
            return;
        }
        let wanted = wanted(&self.attr_name);
        let duplicate = || {
            self.attrs
                .iter()
                .any(|(n, _)| self.attr_buf[n.clone()] == self.attr_name[..])
        };
        if wanted && !self.is_end && !duplicate() {
            let start = self.attr_buf.len();
            self.attr_buf.extend_from_slice(&self.attr_name);
            let end = self.attr_buf.len();
            self.attrs.push((start..end, Value::Input(0..0)));
            self.attr_state = AttrState::Keep;
        } else {
            self.attr_state = AttrState::Skip;
        }
    }
}

impl Emitter for &mut Sink<'_, '_> {
    type Token = ();

    fn set_last_start_tag(&mut self, last_start_tag: Option<&[u8]>) {
        self.last_start.clear();
        self.last_start
            .extend_from_slice(last_start_tag.unwrap_or_default());
    }

    fn emit_eof(&mut self) {}

    fn emit_error(&mut self, _error: Error) {}

    #[inline]
    fn should_emit_errors(&mut self) -> bool {
        false
    }

    fn pop_token(&mut self) -> Option<()> {
        None
    }

    #[inline]
    fn emit_string(&mut self, c: &[u8]) {
        self.push_text(c);
    }

    fn init_start_tag(&mut self) {
        self.tag.clear();
        self.is_end = false;
        self.self_closing = false;
        self.attr_buf.clear();
        self.attrs.clear();
        self.attr_name.clear();
        self.attr_state = AttrState::None;
    }

    fn init_end_tag(&mut self) {
        self.init_start_tag();
        self.is_end = true;
    }

    fn init_comment(&mut self) {}

    fn emit_current_tag(&mut self) -> Option<State> {
        self.settle_attr_name();
        self.flush_text();
        if self.is_end {
            self.last_start.clear();
            self.nesting.end_tag(&self.tag);
            return None;
        }
        self.last_start.clear();
        self.last_start.extend_from_slice(&self.tag);
        let attrs = TagAttrs {
            input: self.input,
            buf: &self.attr_buf,
            list: &self.attrs,
        };
        let mode = self.nesting.start_tag(&self.tag, &attrs, self.self_closing);
        mode.map(|m| match m {
            TextMode::RcData => State::RcData,
            TextMode::RawText => State::RawText,
            TextMode::ScriptData => State::ScriptData,
            TextMode::PlainText => State::PlainText,
        })
    }

    fn emit_current_comment(&mut self) {
        self.flush_text();
    }

    fn emit_current_doctype(&mut self) {
        self.flush_text();
        let public = self.doctype_public.take();
        self.nesting
            .doctype(&self.doctype_name, public.as_deref(), self.force_quirks);
    }

    fn set_self_closing(&mut self) {
        self.self_closing = true;
    }

    fn set_force_quirks(&mut self) {
        self.force_quirks = true;
    }

    #[inline]
    fn push_tag_name(&mut self, s: &[u8]) {
        self.tag.extend_from_slice(s);
    }

    fn push_comment(&mut self, _s: &[u8]) {}

    fn push_doctype_name(&mut self, s: &[u8]) {
        self.doctype_name.extend_from_slice(s);
    }

    fn init_doctype(&mut self) {
        self.doctype_name.clear();
        self.doctype_public = None;
        self.force_quirks = false;
    }

    fn init_attribute(&mut self) {
        self.settle_attr_name();
        self.attr_name.clear();
        self.attr_state = AttrState::None;
    }

    #[inline]
    fn push_attribute_name(&mut self, s: &[u8]) {
        self.attr_name.extend_from_slice(s);
    }

    #[inline]
    fn push_attribute_value(&mut self, s: &[u8]) {
        self.settle_attr_name();
        if self.attr_state != AttrState::Keep || s.is_empty() {
            return;
        }
        let span = self.span_in_input(s);
        let input = self.input;
        let Some((_, value)) = self.attrs.last_mut() else {
            return;
        };
        match (value, span) {
            // The first piece, or the next piece of one run, on character boundaries.
            (Value::Input(run), Some(span))
                if (run.start == run.end || run.end == span.start)
                    && input.is_char_boundary(span.start)
                    && input.is_char_boundary(span.end) =>
            {
                *run = if run.start == run.end {
                    span
                } else {
                    run.start..span.end
                };
            }
            (value, _) => {
                if let Value::Input(run) = value {
                    let start = self.attr_buf.len();
                    self.attr_buf
                        .extend_from_slice(&input.as_bytes()[run.clone()]);
                    *value = Value::Buf(start..self.attr_buf.len());
                }
                self.attr_buf.extend_from_slice(s);
                if let Value::Buf(range) = value {
                    range.end = self.attr_buf.len();
                }
            }
        }
    }

    fn set_doctype_public_identifier(&mut self, value: &[u8]) {
        self.doctype_public = Some(value.to_vec());
    }

    fn set_doctype_system_identifier(&mut self, _value: &[u8]) {}

    fn push_doctype_public_identifier(&mut self, s: &[u8]) {
        if let Some(p) = &mut self.doctype_public {
            p.extend_from_slice(s);
        }
    }

    fn push_doctype_system_identifier(&mut self, _s: &[u8]) {}

    fn current_is_appropriate_end_tag_token(&mut self) -> bool {
        self.is_end && !self.last_start.is_empty() && self.last_start == self.tag
    }

    fn adjusted_current_node_present_but_not_in_html_namespace(&mut self) -> bool {
        self.nesting.in_foreign()
    }
}
