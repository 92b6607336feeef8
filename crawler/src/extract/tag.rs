//! Element names the extractor tells apart, and their HTML parsing categories (void, special,
//! formatting, scope barriers, block boundaries). Everything else is [`Tag::Other`].

macro_rules! tags {
    ($($variant:ident = $name:literal),* $(,)?) => {
        /// An element name the extractor or the nesting rules care about.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub(crate) enum Tag {
            $($variant,)*
            /// Any other name.
            Other,
        }

        impl Tag {
            /// The tag for a lowercase element name (SVG's camel-case names accepted too).
            pub(crate) fn from_name(name: &[u8]) -> Tag {
                match name {
                    $($name => Tag::$variant,)*
                    b"foreignObject" => Tag::ForeignObject,
                    _ => Tag::Other,
                }
            }
        }
    };
}

tags! {
    A = b"a", Address = b"address", Applet = b"applet", Area = b"area", Article = b"article",
    Aside = b"aside", B = b"b", Base = b"base", Basefont = b"basefont", Bgsound = b"bgsound",
    Big = b"big", Blockquote = b"blockquote", Body = b"body", Br = b"br", Button = b"button",
    Caption = b"caption", Center = b"center", Code = b"code", Col = b"col",
    Colgroup = b"colgroup", Dd = b"dd", Desc = b"desc", Details = b"details", Dialog = b"dialog",
    Dir = b"dir", Div = b"div", Dl = b"dl", Dt = b"dt", Em = b"em", Embed = b"embed",
    Fieldset = b"fieldset", Figcaption = b"figcaption", Figure = b"figure", Font = b"font",
    Footer = b"footer", ForeignObject = b"foreignobject", Form = b"form", Frame = b"frame",
    Frameset = b"frameset", H1 = b"h1", H2 = b"h2", H3 = b"h3", H4 = b"h4", H5 = b"h5",
    H6 = b"h6", Head = b"head", Header = b"header", Hgroup = b"hgroup", Hr = b"hr",
    Html = b"html", I = b"i", Iframe = b"iframe", Image = b"image", Img = b"img",
    Input = b"input", Keygen = b"keygen", Li = b"li", Link = b"link", Listing = b"listing",
    Main = b"main", Marquee = b"marquee", Math = b"math", Menu = b"menu", Meta = b"meta",
    Mi = b"mi", Mn = b"mn", Mo = b"mo", Ms = b"ms", Mtext = b"mtext",
    AnnotationXml = b"annotation-xml", Nav = b"nav", Nobr = b"nobr", Noembed = b"noembed",
    Noframes = b"noframes", Noscript = b"noscript", Object = b"object", Ol = b"ol",
    Optgroup = b"optgroup", Option = b"option", P = b"p", Param = b"param",
    Plaintext = b"plaintext", Pre = b"pre", Ruby = b"ruby", S = b"s", Script = b"script",
    Search = b"search", Section = b"section", Select = b"select", Small = b"small",
    Source = b"source", Span = b"span", Strike = b"strike", Strong = b"strong", Style = b"style",
    Sub = b"sub", Summary = b"summary", Sup = b"sup", Svg = b"svg", Table = b"table",
    Tbody = b"tbody", Td = b"td", Template = b"template", Textarea = b"textarea",
    Tfoot = b"tfoot", Th = b"th", Thead = b"thead", Title = b"title", Tr = b"tr",
    Track = b"track", Tt = b"tt", U = b"u", Ul = b"ul", Var = b"var", Wbr = b"wbr",
    Xmp = b"xmp",
}

impl Tag {
    /// Elements with no content and no end tag.
    pub(crate) fn is_void(self) -> bool {
        use Tag::*;
        matches!(
            self,
            Area | Base
                | Basefont
                | Bgsound
                | Br
                | Col
                | Embed
                | Frame
                | Hr
                | Image
                | Img
                | Input
                | Keygen
                | Link
                | Meta
                | Param
                | Source
                | Track
                | Wbr
        )
    }

    /// Elements whose text a reader does not see (to a reader without scripts, `<noscript>`
    /// content is visible).
    pub(crate) fn is_invisible(self) -> bool {
        use Tag::*;
        matches!(
            self,
            Script | Style | Template | Head | Title | Textarea | Select | Option | Svg | Math
        )
    }

    /// Elements that bound `text_pre` / `text_post`.
    pub(crate) fn is_block(self) -> bool {
        use Tag::*;
        matches!(
            self,
            P | Li
                | Td
                | Th
                | Div
                | H1
                | H2
                | H3
                | H4
                | H5
                | H6
                | Blockquote
                | Section
                | Article
                | Header
                | Footer
                | Nav
                | Body
                | Ul
                | Ol
                | Table
                | Tr
                | Main
                | Aside
                | Form
                | Dl
                | Dt
                | Dd
                | Pre
                | Figure
                | Figcaption
                | Html
        )
    }

    /// The HTML "special" category: an end tag for an ordinary element does not close past one.
    pub(crate) fn is_special(self) -> bool {
        use Tag::*;
        matches!(
            self,
            Address
                | Applet
                | Area
                | Article
                | Aside
                | Base
                | Basefont
                | Bgsound
                | Blockquote
                | Body
                | Br
                | Button
                | Caption
                | Center
                | Col
                | Colgroup
                | Dd
                | Details
                | Dir
                | Div
                | Dl
                | Dt
                | Embed
                | Fieldset
                | Figcaption
                | Figure
                | Footer
                | Form
                | Frame
                | Frameset
                | H1
                | H2
                | H3
                | H4
                | H5
                | H6
                | Head
                | Header
                | Hgroup
                | Hr
                | Html
                | Iframe
                | Img
                | Input
                | Keygen
                | Li
                | Link
                | Listing
                | Main
                | Marquee
                | Menu
                | Meta
                | Nav
                | Noembed
                | Noframes
                | Noscript
                | Object
                | Ol
                | P
                | Param
                | Plaintext
                | Pre
                | Script
                | Search
                | Section
                | Select
                | Source
                | Style
                | Summary
                | Table
                | Tbody
                | Td
                | Template
                | Textarea
                | Tfoot
                | Th
                | Thead
                | Title
                | Tr
                | Track
                | Ul
                | Wbr
                | Xmp
        )
    }

    /// Formatting elements: their end tag closes them without closing the blocks opened
    /// inside them (a simplified adoption agency).
    pub(crate) fn is_formatting(self) -> bool {
        use Tag::*;
        matches!(
            self,
            A | B | Big | Code | Em | Font | I | Nobr | S | Small | Strike | Strong | Tt | U
        )
    }

    /// Start tags that close an open `<p>` (in button scope).
    pub(crate) fn closes_p(self) -> bool {
        use Tag::*;
        matches!(
            self,
            Address
                | Article
                | Aside
                | Blockquote
                | Center
                | Details
                | Dialog
                | Dir
                | Div
                | Dl
                | Fieldset
                | Figcaption
                | Figure
                | Footer
                | Header
                | Hgroup
                | Main
                | Menu
                | Nav
                | Ol
                | P
                | Search
                | Section
                | Summary
                | Ul
                | H1
                | H2
                | H3
                | H4
                | H5
                | H6
                | Pre
                | Listing
                | Form
                | Plaintext
                | Hr
                | Xmp
                | Li
                | Dd
                | Dt
        )
    }

    /// `h1`–`h6`.
    pub(crate) fn is_heading(self) -> bool {
        matches!(
            self,
            Tag::H1 | Tag::H2 | Tag::H3 | Tag::H4 | Tag::H5 | Tag::H6
        )
    }

    /// Barriers of the default scope (where "is X in scope" stops looking).
    pub(crate) fn bounds_scope(self) -> bool {
        use Tag::*;
        matches!(
            self,
            Applet
                | Caption
                | Html
                | Table
                | Td
                | Th
                | Marquee
                | Object
                | Template
                | Mi
                | Mo
                | Mn
                | Ms
                | Mtext
                | AnnotationXml
                | ForeignObject
                | Desc
                | Title
        )
    }

    /// Table structure, ranked by depth: table 0, row groups 1, rows 2, cells 3.
    pub(crate) fn table_rank(self) -> Option<u8> {
        use Tag::*;
        match self {
            Table => Some(0),
            Tbody | Thead | Tfoot | Caption | Colgroup => Some(1),
            Tr => Some(2),
            Td | Th => Some(3),
            _ => None,
        }
    }

    /// Start tags that leave SVG or MathML content (`<font>` only with color, face or size).
    pub(crate) fn breaks_out_of_foreign(self) -> bool {
        use Tag::*;
        matches!(
            self,
            B | Big
                | Blockquote
                | Body
                | Br
                | Center
                | Code
                | Dd
                | Div
                | Dl
                | Dt
                | Em
                | Embed
                | H1
                | H2
                | H3
                | H4
                | H5
                | H6
                | Head
                | Hr
                | I
                | Img
                | Li
                | Listing
                | Menu
                | Meta
                | Nobr
                | Ol
                | P
                | Pre
                | Ruby
                | S
                | Small
                | Span
                | Strong
                | Strike
                | Sub
                | Sup
                | Table
                | Tt
                | U
                | Ul
                | Var
        )
    }

    /// SVG and MathML elements inside which markup is HTML again.
    pub(crate) fn is_integration_point(self) -> bool {
        use Tag::*;
        matches!(
            self,
            ForeignObject | Desc | Title | Mi | Mo | Mn | Ms | Mtext | AnnotationXml
        )
    }
}

#[cfg(test)]
mod tests {
    use super::Tag;

    #[test]
    fn names_map_to_tags() {
        assert_eq!(Tag::from_name(b"a"), Tag::A);
        assert_eq!(Tag::from_name(b"foreignObject"), Tag::ForeignObject);
        assert_eq!(Tag::from_name(b"foreignobject"), Tag::ForeignObject);
        assert_eq!(Tag::from_name(b"blink"), Tag::Other);
        assert!(Tag::Br.is_void() && !Tag::Div.is_void());
        assert!(Tag::Div.is_block() && Tag::Div.closes_p() && Tag::Hr.closes_p());
        assert!(!Tag::Span.is_block() && !Tag::Span.is_special());
    }
}
