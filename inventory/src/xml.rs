//! A tokenizer for the XML of Office and OpenDocument parts, which is all that
//! text extraction needs: start, end and empty tags with their raw attributes,
//! text, and CDATA. Comments, processing instructions and declarations are
//! skipped; nothing is validated, so a damaged part still yields its text.
//!
//! A general parser (quick-xml, which the tests keep as the reference) spent
//! about a thousand instructions per event on spreadsheet cells; this is the
//! hottest path of an inventory of Office files.

use memchr::memmem;

/// The first `needle` in `hay`. Markup is dense: most searches end within a few
/// bytes, where a plain loop beats setting up memchr's vector search.
#[inline]
pub fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    const SHORT: usize = 32;
    let head = hay.len().min(SHORT);
    match hay[..head].iter().position(|&b| b == needle) {
        Some(i) => Some(i),
        // Most cell values and attribute values end here, unsearched further.
        None if head == hay.len() => None,
        None => memchr::memchr(needle, &hay[head..]).map(|i| i + head),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token<'a> {
    /// `<name attrs>`, or `<name attrs/>` when `empty`.
    Start {
        name: &'a [u8],
        attrs: &'a [u8],
        empty: bool,
    },
    End {
        name: &'a [u8],
    },
    /// Character data between markup, entities not yet resolved.
    Text(&'a [u8]),
    /// The inside of `<![CDATA[…]]>`, taken literally.
    CData(&'a [u8]),
}

pub struct Tokens<'a> {
    xml: &'a [u8],
    pos: usize,
}

pub fn tokens(xml: &[u8]) -> Tokens<'_> {
    Tokens { xml, pos: 0 }
}

fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n')
}

/// Where the `>` that closes a tag starting at `from` is, skipping quoted
/// attribute values (which may hold a `>`).
fn tag_end(xml: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i < xml.len() {
        match xml[i] {
            b'>' => return Some(i),
            quote @ (b'"' | b'\'') => i += 1 + memchr(quote, &xml[i + 1..])?,
            _ => {}
        }
        i += 1;
    }
    None
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Token<'a>;

    // Inlined into each reader's loop, where the token is matched as soon as it
    // is made: called instead, it cost a spreadsheet cell several times over.
    #[inline(always)]
    fn next(&mut self) -> Option<Token<'a>> {
        let xml = self.xml;
        loop {
            let pos = self.pos;
            if pos >= xml.len() {
                return None;
            }
            if xml[pos] != b'<' {
                let end = memchr(b'<', &xml[pos..]).map_or(xml.len(), |i| pos + i);
                self.pos = end;
                return Some(Token::Text(&xml[pos..end]));
            }
            let rest = &xml[pos..];
            // An unterminated construct ends the part, as the end of input would.
            match rest.get(1) {
                // A one-letter tag without attributes (`<v>`, `<t>`, `<p>`), the
                // commonest in Office parts, told by three bytes.
                Some(letter) if letter.is_ascii_alphabetic() && rest.get(2) == Some(&b'>') => {
                    self.pos = pos + 3;
                    return Some(Token::Start {
                        name: &rest[1..2],
                        attrs: b"",
                        empty: false,
                    });
                }
                Some(b'/') => {
                    let (len, name) = end_tag(rest)?;
                    self.pos = pos + len;
                    return Some(Token::End { name });
                }
                Some(b'!' | b'?') => {
                    let (len, cdata) = special(rest)?;
                    self.pos = pos + len;
                    match cdata {
                        Some(cdata) => return Some(Token::CData(cdata)),
                        None => continue,
                    }
                }
                _ => {}
            }
            let close = tag_end(xml, pos + 1)?;
            self.pos = close + 1;
            let (name, attrs, empty) = start_tag(&xml[pos + 1..close]);
            return Some(Token::Start { name, attrs, empty });
        }
    }
}

/// The end tag at the start of `rest` (`</name>`): how many bytes it takes, and
/// its name.
fn end_tag(rest: &[u8]) -> Option<(usize, &[u8])> {
    let close = memchr(b'>', rest)?;
    Some((close + 1, rest[2..close].trim_ascii_end()))
}

/// What `<!` or `<?` at the start of `rest` opens: how many bytes the comment,
/// CDATA section, processing instruction or declaration takes, and the inside
/// of a CDATA section.
fn special(rest: &[u8]) -> Option<(usize, Option<&[u8]>)> {
    if rest.starts_with(b"<!--") {
        return Some((4 + memmem::find(&rest[4..], b"-->")? + 3, None));
    }
    if rest.starts_with(b"<![CDATA[") {
        let len = memmem::find(&rest[9..], b"]]>")?;
        return Some((9 + len + 3, Some(&rest[9..9 + len])));
    }
    if rest.starts_with(b"<?") {
        return Some((2 + memmem::find(&rest[2..], b"?>")? + 2, None));
    }
    // A declaration; an internal DTD subset holds `>`s inside brackets.
    let first_close = memchr(b'>', rest)?;
    let end = match memchr(b'[', &rest[..first_close]) {
        Some(open) => {
            let bracket = open + memchr(b']', &rest[open..])?;
            bracket + memchr(b'>', &rest[bracket..])?
        }
        None => first_close,
    };
    Some((end + 1, None))
}

/// A start tag's inside (between `<` and `>`) as its name, its raw attributes,
/// and whether it is empty (`<name/>`).
fn start_tag(inner: &[u8]) -> (&[u8], &[u8], bool) {
    let (inner, empty) = match inner.strip_suffix(b"/") {
        Some(inner) => (inner, true),
        None => (inner, false),
    };
    let name_len = inner
        .iter()
        .position(|&b| is_space(b))
        .unwrap_or(inner.len());
    (&inner[..name_len], &inner[name_len..], empty)
}

/// The raw value of attribute `key` in a tag's attributes.
pub fn attribute<'a>(attrs: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    attributes(attrs)
        .find(|(name, _)| *name == key)
        .map(|(_, value)| value)
}

/// A tag's attributes as (name, raw value), in order, up to the first that is
/// malformed (no `=`, or an unquoted or unterminated value).
pub fn attributes(attrs: &[u8]) -> Attributes<'_> {
    Attributes { attrs, at: 0 }
}

/// The iterator of [`attributes`]: a type of its own, so that its `next` is
/// inlined where a spreadsheet cell's two attributes are read.
pub struct Attributes<'a> {
    attrs: &'a [u8],
    at: usize,
}

impl<'a> Iterator for Attributes<'a> {
    type Item = (&'a [u8], &'a [u8]);

    #[inline(always)]
    fn next(&mut self) -> Option<(&'a [u8], &'a [u8])> {
        let attrs = self.attrs;
        let skip_space = |mut i: usize| {
            while i < attrs.len() && is_space(attrs[i]) {
                i += 1;
            }
            i
        };
        let mut i = skip_space(self.at);
        // Malformed: nothing more is read.
        self.at = attrs.len();
        let name_start = i;
        while i < attrs.len() && attrs[i] != b'=' && !is_space(attrs[i]) {
            i += 1;
        }
        let name = &attrs[name_start..i];
        i = skip_space(i);
        if i >= attrs.len() || attrs[i] != b'=' {
            return None;
        }
        i = skip_space(i + 1);
        let quote = *attrs.get(i).filter(|&&q| q == b'"' || q == b'\'')?;
        let value_start = i + 1;
        let value_end = value_start + memchr(quote, &attrs[value_start..])?;
        self.at = value_end + 1;
        Some((name, &attrs[value_start..value_end]))
    }
}

/// Appends `raw` with its entity and character references resolved. False, with
/// nothing appended, when a reference is unknown or malformed (the text is then
/// left out, as an XML reader would refuse it).
pub fn unescape_into(raw: &[u8], out: &mut String) -> bool {
    let start = out.len();
    let mut rest = raw;
    while let Some(amp) = memchr(b'&', rest) {
        if !push_utf8(&rest[..amp], out) {
            out.truncate(start);
            return false;
        }
        let Some(semi) = memchr(b';', &rest[amp..]) else {
            out.truncate(start);
            return false;
        };
        let entity = &rest[amp + 1..amp + semi];
        let resolved = match entity {
            b"lt" => Some('<'),
            b"gt" => Some('>'),
            b"amp" => Some('&'),
            b"apos" => Some('\''),
            b"quot" => Some('"'),
            [b'#', b'x', hex @ ..] => parse_code(hex, 16),
            [b'#', decimal @ ..] => parse_code(decimal, 10),
            _ => None,
        };
        match resolved {
            Some(c) => out.push(c),
            None => {
                out.truncate(start);
                return false;
            }
        }
        rest = &rest[amp + semi + 1..];
    }
    if !push_utf8(rest, out) {
        out.truncate(start);
        return false;
    }
    true
}

fn push_utf8(bytes: &[u8], out: &mut String) -> bool {
    match as_text(bytes) {
        Some(text) => {
            out.push_str(text);
            true
        }
        None => false,
    }
}

/// `bytes` as text, if they are UTF-8. Nearly all of markup's text is ASCII,
/// told by a word-wide test far more cheaply than UTF-8 is validated in the
/// short runs between tags.
pub fn as_text(bytes: &[u8]) -> Option<&str> {
    if bytes.is_ascii() {
        // SAFETY: ASCII is valid UTF-8.
        Some(unsafe { std::str::from_utf8_unchecked(bytes) })
    } else {
        std::str::from_utf8(bytes).ok()
    }
}

fn parse_code(digits: &[u8], radix: u32) -> Option<char> {
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let code = u32::from_str_radix(std::str::from_utf8(digits).ok()?, radix).ok()?;
    // XML forbids a reference to NUL.
    char::from_u32(code).filter(|&c| c != '\0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_text_and_cdata() {
        let xml = br#"<?xml version="1.0"?><!-- a > b --><a x="1>2" y='q'><b/>t&amp;u<![CDATA[<raw>]]></a >"#;
        let got: Vec<Token> = tokens(xml).collect();
        assert_eq!(
            got,
            [
                Token::Start {
                    name: b"a",
                    attrs: br#" x="1>2" y='q'"#,
                    empty: false
                },
                Token::Start {
                    name: b"b",
                    attrs: b"",
                    empty: true
                },
                Token::Text(b"t&amp;u"),
                Token::CData(b"<raw>"),
                Token::End { name: b"a" },
            ]
        );
        // A one-letter tag is read as any other tag of that name.
        assert_eq!(
            tokens(b"<v>1</v>").collect::<Vec<_>>(),
            tokens(b"<v >1</v>")
                .map(|t| match t {
                    Token::Start { name, empty, .. } => Token::Start {
                        name,
                        attrs: b"",
                        empty,
                    },
                    other => other,
                })
                .collect::<Vec<_>>()
        );
        assert_eq!(tokens(b"<>").count(), 1, "no name: not a one-letter tag");
        assert_eq!(attribute(br#" x="1>2" y='q'"#, b"y"), Some(&b"q"[..]));
        assert_eq!(attribute(br#" x="1>2" y='q'"#, b"x"), Some(&b"1>2"[..]));
        assert_eq!(attribute(br#" x="1>2" y='q'"#, b"z"), None);
    }

    #[test]
    fn unterminated_markup_ends_the_part() {
        let got: Vec<Token> = tokens(b"<a>text<b attr=\"x").collect();
        assert_eq!(
            got,
            [
                Token::Start {
                    name: b"a",
                    attrs: b"",
                    empty: false
                },
                Token::Text(b"text"),
            ]
        );
        assert_eq!(tokens(b"<!-- never closed").count(), 0);
    }

    #[test]
    fn references_resolve_or_refuse() {
        let mut out = String::from("x");
        assert!(unescape_into(
            b"a &lt;&#65;&#x42;&quot;&apos;&gt;",
            &mut out
        ));
        assert_eq!(out, "xa <AB\"'>");
        for bad in [&b"&nbsp;"[..], b"&#0;", b"&#xZZ;", b"a & b", b"\xff"] {
            let mut out = String::from("x");
            assert!(!unescape_into(bad, &mut out), "{bad:?}");
            assert_eq!(out, "x");
        }
    }
}
