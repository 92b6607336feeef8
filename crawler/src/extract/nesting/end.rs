//! End tags, text and the end of the document: which open elements they close (the adoption agency's bounded form for formatting elements).

use super::*;

impl<'w> Nesting<'w> {
    /// An end tag.
    pub(crate) fn end_tag(&mut self, name: &[u8]) {
        self.started = true;
        let tag = Tag::from_name(name);
        let hash = if tag == Tag::Other {
            name_hash(name)
        } else {
            0
        };
        if self.in_frameset {
            if tag == Tag::Noframes {
                if let Some(pos) = self.in_scope(Tag::Noframes, Scope::Default) {
                    self.pop_to(pos);
                }
            }
            return;
        }
        if matches!(tag, Tag::P | Tag::Br) {
            // `</p>` and `</br>` leave SVG/MathML content, as the start tags in
            // `breaks_out_of_foreign` do.
            self.leave_foreign_content();
        }
        if self.in_foreign() {
            let found = self.scan(|e| {
                if !e.foreign {
                    Step::Stop
                } else if e.tag == tag && e.name == hash {
                    Step::Found
                } else {
                    Step::Next
                }
            });
            if let Some(pos) = found {
                self.pop_to(pos);
                return;
            }
        }
        match tag {
            Tag::Html | Tag::Body | Tag::Head => {}
            Tag::Br => {
                self.frameset_ok = false;
                self.walker.open(Tag::Br, &NoAttrs);
                self.walker.close(Tag::Br);
            }
            Tag::P => match self.in_scope(Tag::P, Scope::Button) {
                Some(pos) => self.pop_to(pos),
                None => {
                    // A stray `</p>` makes an empty paragraph.
                    self.walker.open(Tag::P, &NoAttrs);
                    self.walker.close(Tag::P);
                }
            },
            Tag::Li => {
                if let Some(pos) = self.in_scope(Tag::Li, Scope::ListItem) {
                    self.pop_to(pos);
                }
            }
            t if t.is_heading() => {
                if let Some(pos) = self.find_in_scope(Scope::Default, Tag::is_heading) {
                    self.pop_to(pos);
                }
            }
            Tag::Form => {
                self.form_pointer = false;
                if let Some(pos) = self.in_scope(Tag::Form, Scope::Default) {
                    self.remove_at(pos);
                }
            }
            t if t.is_formatting() => {
                self.close_formatting(t, false);
            }
            Tag::Td
            | Tag::Th
            | Tag::Tr
            | Tag::Tbody
            | Tag::Thead
            | Tag::Tfoot
            | Tag::Caption
            | Tag::Colgroup
            | Tag::Table => {
                if let Some(pos) = self.in_scope(tag, Scope::Table) {
                    self.pop_to(pos);
                }
            }
            Tag::Select => {
                if let Some(pos) = self.in_scope(Tag::Select, Scope::Select) {
                    self.pop_to(pos);
                }
            }
            Tag::Option | Tag::Optgroup => {
                if self
                    .stack
                    .last()
                    .is_some_and(|e| e.tag == tag && !e.foreign)
                {
                    if let Some(e) = self.stack.pop() {
                        self.closed(e);
                    }
                }
            }
            t if t.is_special() => {
                if let Some(pos) = self.in_scope(t, Scope::Default) {
                    self.pop_to(pos);
                }
            }
            _ => {
                // Any other end tag: the nearest element of that name, unless a special
                // element is open inside it.
                if self.missed(tag, hash, None) {
                    return;
                }
                let found = self.scan(|e| {
                    if e.tag == tag && e.name == hash && !e.foreign {
                        Step::Found
                    } else if e.is_special() {
                        Step::Stop
                    } else {
                        Step::Next
                    }
                });
                match found {
                    Some(pos) => self.pop_to(pos),
                    None => self.note_miss(tag, hash, None),
                }
            }
        }
    }

    /// Character data (NULs already dropped where the standard drops them).
    pub(crate) fn text(&mut self, text: &str) {
        if self.in_frameset {
            return;
        }
        let blank = text.bytes().all(|b| b.is_ascii_whitespace());
        if self.frameset_ok && !blank {
            self.frameset_ok = false;
        }
        let inserts_directly = self.stack.last().is_some_and(|e| {
            e.foreign && !e.tag.is_integration_point()
                || !e.foreign
                    && (matches!(
                        e.tag,
                        Tag::Script
                            | Tag::Style
                            | Tag::Title
                            | Tag::Textarea
                            | Tag::Xmp
                            | Tag::Iframe
                            | Tag::Noembed
                            | Tag::Noframes
                            | Tag::Plaintext
                            | Tag::Select
                            | Tag::Option
                            | Tag::Optgroup
                    ) || blank && e.tag.table_rank().is_some_and(|r| r < 3))
        });
        if !inserts_directly {
            self.reopen_formatting();
        }
        self.walker.text(text);
    }

    /// End of input: everything open closes.
    pub(crate) fn finish(&mut self) {
        self.pop_to(0);
        self.walker.finish();
    }
}
