//! Which elements are open: the parts of HTML tree construction that decide where text and
//! links belong, without building a tree.
//!
//! A stack of open elements with the standard's implied end tags (`<p>` closed by a block,
//! `<li>` by the next `<li>`, table cells and rows), scopes, the special and formatting
//! categories, foreign content (SVG, MathML) and frameset documents. Every operation is
//! O(1) amortised or looks at most [`SCAN_LIMIT`] elements deep, so a page costs time linear
//! in its size whatever its nesting. Intended differences from a full tree builder are listed
//! in the crate docs ([`crate::extract`]).

use super::tag::Tag;
use super::walker::{Attrs, Walker};

mod end;
mod start;

/// How deep scope checks look. Deeper elements are treated as out of scope (browsers cap the
/// tree depth near this: Chromium at 512; real pages stay well under 100).
pub(crate) const SCAN_LIMIT: usize = 256;
/// Failed scope checks remembered until the stack changes (repeated stray end tags).
const MISSES_KEPT: usize = 16;

/// The tokenizer state a start tag switches to (raw text elements).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextMode {
    /// `<title>`, `<textarea>`: character references, no tags.
    RcData,
    /// `<style>`, `<xmp>`, `<iframe>`, `<noembed>`, `<noframes>`: neither.
    RawText,
    /// `<script>`.
    ScriptData,
    /// `<plaintext>`: the rest of the document is text.
    PlainText,
}

#[derive(Debug, Clone, Copy)]
struct Open {
    tag: Tag,
    /// In the SVG or MathML namespace.
    foreign: bool,
    /// Hash of the name, for [`Tag::Other`] elements (0 otherwise).
    name: u64,
    /// A clone made by the adoption agency or by reopening formatting elements: it shapes
    /// nesting, but the walker never saw it open (a cloned `<a>` is not a second link).
    ghost: bool,
    /// Identity, linking formatting elements to their [`Fmt`] entry.
    id: u32,
}

/// An entry of the list of active formatting elements.
#[derive(Debug, Clone, Copy)]
enum Fmt {
    /// Opened by a cell, caption, object, marquee, applet or template: reopening stops here.
    Marker,
    /// A formatting element, open or popped by a block (then reopened before the next text).
    El {
        tag: Tag,
        name: u64,
        id: u32,
        open: bool,
    },
}

impl Open {
    /// The special category is per namespace: in SVG/MathML only the integration points.
    fn is_special(&self) -> bool {
        if self.foreign {
            self.tag.is_integration_point()
        } else {
            self.tag.is_special()
        }
    }

    /// Where "is X in scope" stops looking.
    fn is_barrier(&self, scope: Scope) -> bool {
        if self.foreign {
            return self.tag.is_integration_point();
        }
        match scope {
            Scope::Default => self.tag.bounds_scope() && !self.tag.is_integration_point(),
            Scope::ListItem => {
                (self.tag.bounds_scope() && !self.tag.is_integration_point())
                    || matches!(self.tag, Tag::Ol | Tag::Ul)
            }
            Scope::Button => {
                (self.tag.bounds_scope() && !self.tag.is_integration_point())
                    || self.tag == Tag::Button
            }
            Scope::Table => matches!(self.tag, Tag::Html | Tag::Table | Tag::Template),
            Scope::Select => !matches!(self.tag, Tag::Optgroup | Tag::Option),
        }
    }
}

/// What [`Nesting::scan`] does at one element.
enum Step {
    Found,
    Stop,
    Next,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Default,
    ListItem,
    Button,
    Table,
    Select,
}

/// Elements that put a marker on the list of active formatting elements.
fn is_marker(tag: Tag) -> bool {
    matches!(
        tag,
        Tag::Td | Tag::Th | Tag::Caption | Tag::Applet | Tag::Object | Tag::Marquee | Tag::Template
    )
}

/// Start tags before which the formatting elements a block closed are reopened (inline
/// content: the standard's "any other start tag" and its named inline cases).
fn reopens_formatting(tag: Tag) -> bool {
    use Tag::*;
    tag == Xmp
        || !tag.closes_p()
            && !matches!(
                tag,
                Html | Head
                    | Body
                    | Frameset
                    | Base
                    | Basefont
                    | Bgsound
                    | Link
                    | Meta
                    | Noframes
                    | Script
                    | Style
                    | Template
                    | Title
                    | Table
                    | Textarea
                    | Iframe
                    | Noembed
                    | Param
                    | Source
                    | Track
                    | Caption
                    | Col
                    | Colgroup
                    | Frame
                    | Tbody
                    | Td
                    | Tfoot
                    | Th
                    | Thead
                    | Tr
            )
}

/// A 64-bit FNV-1a hash of an element name.
pub(crate) fn name_hash(name: &[u8]) -> u64 {
    name.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The open-element stack, feeding a [`Walker`].
pub(crate) struct Nesting<'w> {
    walker: &'w mut Walker,
    stack: Vec<Open>,
    /// Open elements per [`Tag`] (HTML namespace only), so absent ones cost no scan.
    counts: Vec<u32>,
    /// A `<form>` start tag was seen and its end tag not yet (nested forms are dropped).
    form_pointer: bool,
    /// Quirks mode (no or legacy doctype): `<table>` does not close a `<p>`.
    quirks: bool,
    /// Nothing seen yet that stops `<frameset>` from replacing the body.
    frameset_ok: bool,
    /// A frameset document: only frames count.
    in_frameset: bool,
    /// A tag or doctype has been seen (a later doctype is ignored).
    started: bool,
    /// The list of active formatting elements (bounded: three of a kind per marker).
    formatting: Vec<Fmt>,
    next_id: u32,
    /// Scope checks that failed since the stack last changed: (tag, name hash, scope).
    misses: Vec<(Tag, u64, Option<Scope>)>,
}

/// Number of [`Tag`] variants (for `counts`).
const TAGS: usize = Tag::Other as usize + 1;

impl<'w> Nesting<'w> {
    /// An empty document feeding `walker`.
    pub(crate) fn new(walker: &'w mut Walker) -> Self {
        Nesting {
            walker,
            stack: Vec::new(),
            counts: vec![0; TAGS],
            form_pointer: false,
            quirks: true,
            frameset_ok: true,
            in_frameset: false,
            started: false,
            formatting: Vec::new(),
            next_id: 0,
            misses: Vec::new(),
        }
    }

    /// `<!DOCTYPE ...>`: decides quirks mode, as browsers do for the common cases.
    pub(crate) fn doctype(&mut self, name: &[u8], public: Option<&[u8]>, force_quirks: bool) {
        if self.started {
            return;
        }
        self.started = true;
        let public = public.map(|p| p.to_ascii_lowercase());
        let legacy = public.as_deref().is_some_and(|p| {
            p.starts_with(b"-//w3c//dtd html 3")
                || p.starts_with(b"-//w3c//dtd html 4.0 transitional")
                || p.starts_with(b"-//w3c//dtd html 4.01 transitional")
                || p.starts_with(b"-//ietf//")
                || p.starts_with(b"-//netscape")
                || p.starts_with(b"-//microsoft")
        });
        self.quirks = force_quirks || !name.eq_ignore_ascii_case(b"html") || legacy;
    }

    /// True when the current node is SVG or MathML (CDATA sections are allowed there).
    pub(crate) fn in_foreign(&self) -> bool {
        self.stack.last().is_some_and(|e| e.foreign)
    }

    /// True when tags are parsed as SVG/MathML: the current node is foreign and not a point
    /// where HTML resumes.
    fn foreign_content(&self) -> bool {
        self.stack
            .last()
            .is_some_and(|e| e.foreign && !e.tag.is_integration_point())
    }

    /// Close SVG/MathML elements down to HTML or an integration point (breakout tags).
    fn leave_foreign_content(&mut self) {
        while self.foreign_content() {
            if let Some(e) = self.stack.pop() {
                self.closed(e);
            }
        }
    }

    fn push(&mut self, tag: Tag, foreign: bool, name: u64) {
        self.push_open(tag, foreign, name, false);
    }

    fn push_open(&mut self, tag: Tag, foreign: bool, name: u64, ghost: bool) -> u32 {
        if !foreign {
            self.counts[tag as usize] += 1;
        }
        self.next_id = self.next_id.wrapping_add(1);
        let id = self.next_id;
        self.misses.clear();
        self.stack.push(Open {
            tag,
            foreign,
            name,
            ghost,
            id,
        });
        if !foreign && is_marker(tag) {
            self.formatting.push(Fmt::Marker);
        }
        id
    }

    /// A formatting element was opened: list it (at most three of a kind since the last
    /// marker, the oldest dropped: the standard's "Noah's Ark" clause).
    fn list_formatting(&mut self, tag: Tag, name: u64, id: u32) {
        let since_marker = self
            .formatting
            .iter()
            .rposition(|f| matches!(f, Fmt::Marker))
            .map_or(0, |m| m + 1);
        let same: Vec<usize> = (since_marker..self.formatting.len())
            .filter(|&i| {
                matches!(self.formatting[i], Fmt::El { tag: t, name: n, .. } if t == tag && n == name)
            })
            .collect();
        if same.len() >= 3 {
            self.formatting.remove(same[0]);
        }
        self.formatting.push(Fmt::El {
            tag,
            name,
            id,
            open: true,
        });
    }

    /// Index in `formatting` of the entry for element `id`.
    fn fmt_entry(&self, id: u32) -> Option<usize> {
        self.formatting
            .iter()
            .rposition(|f| matches!(f, Fmt::El { id: i, .. } if *i == id))
    }

    /// Reopen (as ghosts) the formatting elements a block closed, before text or an inline
    /// element goes in: "reconstruct the active formatting elements".
    fn reopen_formatting(&mut self) {
        let reopen_from = {
            let mut i = self.formatting.len();
            while i > 0 && matches!(self.formatting[i - 1], Fmt::El { open: false, .. }) {
                i -= 1;
            }
            i
        };
        for i in reopen_from..self.formatting.len() {
            if let Fmt::El { tag, name, .. } = self.formatting[i] {
                let id = self.push_open(tag, false, name, true);
                self.formatting[i] = Fmt::El {
                    tag,
                    name,
                    id,
                    open: true,
                };
            }
        }
    }

    /// Pop elements down to and including index `pos`.
    fn pop_to(&mut self, pos: usize) {
        while self.stack.len() > pos {
            if let Some(e) = self.stack.pop() {
                self.closed(e);
            }
        }
    }

    /// Remove only the element at `pos` (the elements opened inside it stay open).
    fn remove_at(&mut self, pos: usize) {
        let e = self.stack.remove(pos);
        self.closed(e);
    }

    fn closed(&mut self, e: Open) {
        self.misses.clear();
        if !e.foreign {
            self.counts[e.tag as usize] -= 1;
            if e.tag.is_formatting() {
                if let Some(i) = self.fmt_entry(e.id) {
                    if let Fmt::El { open, .. } = &mut self.formatting[i] {
                        *open = false;
                    }
                }
            } else if is_marker(e.tag) {
                while let Some(f) = self.formatting.pop() {
                    if matches!(f, Fmt::Marker) {
                        break;
                    }
                }
            }
        }
        if !e.ghost {
            self.walker.close(e.tag);
        }
    }

    /// Index of the topmost HTML `tag` in `scope`, if any.
    fn in_scope(&mut self, tag: Tag, scope: Scope) -> Option<usize> {
        if self.counts[tag as usize] == 0 || self.missed(tag, 0, Some(scope)) {
            return None;
        }
        let found = self.scan(|e| {
            if e.tag == tag && !e.foreign {
                Step::Found
            } else if e.is_barrier(scope) {
                Step::Stop
            } else {
                Step::Next
            }
        });
        if found.is_none() {
            self.note_miss(tag, 0, Some(scope));
        }
        found
    }

    fn missed(&self, tag: Tag, name: u64, scope: Option<Scope>) -> bool {
        self.misses.contains(&(tag, name, scope))
    }

    fn note_miss(&mut self, tag: Tag, name: u64, scope: Option<Scope>) {
        if self.misses.len() < MISSES_KEPT {
            self.misses.push((tag, name, scope));
        }
    }

    /// Index of the topmost open HTML element matching `pred` in `scope`.
    fn find_in_scope(&self, scope: Scope, pred: impl Fn(Tag) -> bool) -> Option<usize> {
        for (depth, (pos, e)) in self.stack.iter().enumerate().rev().enumerate() {
            if depth >= SCAN_LIMIT {
                return None;
            }
            if pred(e.tag) && !e.foreign {
                return Some(pos);
            }
            if e.is_barrier(scope) {
                return None;
            }
        }
        None
    }

    /// Walk the stack from the top (at most [`SCAN_LIMIT`] deep) until `f` finds or stops.
    fn scan(&self, mut f: impl FnMut(&Open) -> Step) -> Option<usize> {
        for (depth, (pos, e)) in self.stack.iter().enumerate().rev().enumerate() {
            if depth >= SCAN_LIMIT {
                return None;
            }
            match f(e) {
                Step::Found => return Some(pos),
                Step::Stop => return None,
                Step::Next => {}
            }
        }
        None
    }

    /// True when the nearest table part is a table, row group or row (not a cell or caption,
    /// whose content is parsed as in the body).
    fn in_table_mode(&self) -> bool {
        if self.counts[Tag::Table as usize] == 0 {
            return false;
        }
        self.find_in_scope(Scope::Table, |t| t.table_rank().is_some())
            .is_some_and(|pos| !matches!(self.stack[pos].tag, Tag::Td | Tag::Th | Tag::Caption))
    }

    fn close_p(&mut self) {
        if let Some(pos) = self.in_scope(Tag::P, Scope::Button) {
            self.pop_to(pos);
        }
    }

    /// Close an open formatting element `tag`: the adoption agency's effect on nesting. With
    /// no special element opened inside it, it closes with everything inside; otherwise it
    /// closes alone and a clone goes right inside the first such block, and the loop repeats
    /// on the clone (at most 8 times, as in the standard). Clones are ghosts: the text they
    /// take is not a second link. An element out of scope (behind a table or a cell) stays
    /// open, except for `<a>` inside `<a>` (`a_start`): the standard then takes the old one
    /// off the stack and the list whatever the scope.
    fn close_formatting(&mut self, tag: Tag, a_start: bool) -> bool {
        // Listed but popped by a block: the end tag only unlists it.
        let since_marker = self
            .formatting
            .iter()
            .rposition(|f| matches!(f, Fmt::Marker))
            .map_or(0, |m| m + 1);
        let listed = (since_marker..self.formatting.len())
            .rev()
            .find(|&i| matches!(self.formatting[i], Fmt::El { tag: t, .. } if t == tag));
        let mut original = None;
        if let Some(i) = listed {
            match self.formatting[i] {
                Fmt::El { open: false, .. } => {
                    self.formatting.remove(i);
                    return true;
                }
                Fmt::El { id, .. } if a_start => original = Some(id),
                _ => {}
            }
        }
        let mut closed = false;
        for _ in 0..8 {
            let Some(pos) = self.in_scope(tag, Scope::Default) else {
                if let Some(id) = original {
                    closed |= self.forget_formatting(id);
                }
                return closed;
            };
            closed = true;
            let entry = self.fmt_entry(self.stack[pos].id);
            let Some(offset) = self.stack[pos + 1..].iter().position(Open::is_special) else {
                self.pop_to(pos);
                if let Some(i) = entry {
                    self.formatting.remove(i);
                }
                return true;
            };
            let furthest_block = pos + 1 + offset;
            let old = self.stack[pos];
            self.remove_at(pos);
            self.counts[old.tag as usize] += 1;
            self.next_id = self.next_id.wrapping_add(1);
            let clone = Open {
                ghost: true,
                id: self.next_id,
                ..old
            };
            self.misses.clear();
            self.stack.insert(furthest_block, clone);
            if let Some(i) = entry {
                self.formatting[i] = Fmt::El {
                    tag: old.tag,
                    name: old.name,
                    id: clone.id,
                    open: true,
                };
            }
        }
        closed
    }

    /// Take the formatting element `id` off the stack and the list of active formatting
    /// elements, leaving what it holds open.
    fn forget_formatting(&mut self, id: u32) -> bool {
        let Some(pos) = self.stack.iter().rposition(|e| e.id == id) else {
            return false;
        };
        self.remove_at(pos);
        if let Some(i) = self.fmt_entry(id) {
            self.formatting.remove(i);
        }
        true
    }

    fn open_element(&mut self, tag: Tag, name: u64, foreign: bool, attrs: &impl Attrs) {
        self.walker.open(tag, attrs);
        if tag.is_void() && !foreign {
            self.walker.close(tag);
        } else {
            let id = self.push_open(tag, foreign, name, false);
            if !foreign && tag.is_formatting() {
                self.list_formatting(tag, name, id);
            }
        }
    }
}

/// An element without attributes (implied elements).
struct NoAttrs;

impl Attrs for NoAttrs {
    fn attr(&self, _name: &str) -> Option<&str> {
        None
    }
}
