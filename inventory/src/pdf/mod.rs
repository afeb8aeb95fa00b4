//! PDF text, page by page. The file's objects are read by [`load`], or by
//! lopdf when it is of a kind `load` leaves to lopdf; lopdf decrypts it when
//! it opens with the empty password, and builds each font's decoder; the page content is
//! interpreted here, with each font decoded once per document instead of once
//! per character. Words and lines are laid out by the rule pdf-extract
//! uses: a space where a string starts more than a tenth of the font size past
//! the end of the one before, a line break where the text moves left and down,
//! a blank line where it jumps more than one and a half lines.
//!
//! A font this reader cannot decode (a composite font without a ToUnicode map
//! or with a CMap other than Identity) makes [`pages`] answer
//! [`Unread::Unsupported`], and the caller reads the document with pdf-extract
//! instead, which knows more fonts and is several times slower.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use lopdf::{Dictionary, Document, Object};

use content::Operand;

mod content;
mod load;

/// The text of each of a simple font's 256 codes (empty for none).
type Texts = Rc<[Box<str>]>;

/// Form XObjects inside form XObjects, at most: deeper ones are not read.
const MAX_FORM_DEPTH: u32 = 8;
/// Forms drawn on one page, at most: a crafted file whose forms each draw the
/// next many times would otherwise take time exponential in their depth.
const MAX_FORMS_PER_PAGE: u32 = 1_000;

/// Why a document was not read here.
#[derive(Debug)]
pub enum Unread {
    /// lopdf could not parse or decrypt it: the message.
    Broken(String),
    /// A font this reader does not decode: pdf-extract may.
    Unsupported,
}

/// A document's text, page by page.
#[derive(Debug, Default)]
pub struct Text {
    pub pages: Vec<String>,
    /// Content streams not read: each would have expanded past the limit.
    pub refused: usize,
}

/// The text of each page, in order; a content stream that would expand past
/// `limit` bytes is not read (a decompression bomb inside a PDF), and counted.
pub fn pages(bytes: &[u8], limit: u64) -> Result<Text, Unread> {
    let mut doc = match load::document(bytes) {
        Some(doc) => doc,
        None => Document::load_mem(bytes).map_err(|e| Unread::Broken(e.to_string()))?,
    };
    if doc.is_encrypted() {
        doc.decrypt("").map_err(|e| Unread::Broken(e.to_string()))?;
    }
    let mut fonts = FontCache::default();
    let mut text = Text::default();
    for page_id in doc.get_pages().into_values() {
        let page_fonts = doc.get_page_fonts(page_id).unwrap_or_default();
        let mut content = Vec::new();
        for id in doc.get_page_contents(page_id) {
            if let Ok(stream) = doc.get_object(id).and_then(Object::as_stream) {
                match stream_content(stream, limit) {
                    Some(bytes) => content.extend(bytes),
                    None => text.refused += 1,
                }
                // Streams of one page's contents are one stream, split anywhere but in a token.
                content.push(b'\n');
            }
        }
        let resources = page_resources(&doc, page_id);
        let mut page = Page::new(&doc, &mut fonts, limit);
        page.run(&content, &page_fonts, resources, 0)?;
        text.refused += page.refused;
        // Only whole strs and ASCII bytes were pushed: never lossy.
        text.pages
            .push(String::from_utf8_lossy(&page.out).into_owned());
    }
    Ok(text)
}

thread_local! {
    /// The texts of the predefined encodings (WinAnsiEncoding...) by name, as
    /// decoded the first time a document on this thread named one: most
    /// documents' fonts are such, and decoding 256 codes costs more than
    /// reading a one-page document.
    static NAMED_ENCODINGS: std::cell::RefCell<Vec<(Vec<u8>, Texts)>> =
        const { std::cell::RefCell::new(Vec::new()) };
    /// The standard fonts under predefined encodings built so far, by
    /// encoding and family.
    static STANDARD_FONTS: std::cell::RefCell<Vec<(Vec<u8>, Standard, Simple)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Fonts decoded so far, with the address of their dictionary in the
/// document (which outlives the cache): pages share their fonts, and a
/// document has few, so they are found by a look down the list.
#[derive(Default)]
struct FontCache<'d>(Vec<(usize, Option<Font<'d>>)>);

/// What a font's codes say and how far each moves the pen, in thousandths of
/// the font size (a Type 3 font's already scaled by its matrix).
enum Font<'d> {
    /// One byte a code: the text and width of each.
    Single(Simple),
    /// Two bytes a code (Identity-H or -V), through the ToUnicode map, each
    /// decoded the first time it is met: a document uses few of them.
    Double {
        decoder: Box<lopdf::Encoding<'d>>,
        texts: HashMap<u16, Box<str>>,
        widths: HashMap<u16, f64>,
        default_width: f64,
    },
}

/// A simple font's codes: the text of each, the byte of each that is one
/// ASCII character (else 0: pushed as a byte, without a copy of a string),
/// and how far each moves the pen.
#[derive(Clone)]
struct Simple {
    texts: Texts,
    ascii: Rc<[u8; 256]>,
    widths: Rc<[f64; 256]>,
}

/// Builds the decoder of one font, or `None` when its codes cannot be read here.
fn font<'d>(doc: &'d Document, dict: &'d Dictionary) -> Option<Font<'d>> {
    let subtype = dict
        .get(b"Subtype")
        .and_then(Object::as_name)
        .unwrap_or(b"");
    if subtype == b"Type0" {
        return composite_font(doc, dict);
    }
    let named = match dict.get(b"Encoding") {
        Ok(Object::Name(name)) if !dict.has(b"ToUnicode") => Some(name),
        _ => None,
    };
    if let Some(name) = named.filter(|_| subtype != b"Type3" && !dict.has(b"Widths")) {
        // A standard font under a predefined encoding, without widths of its
        // own, is the same font in every document: built once per thread.
        let standard = Standard::of(
            dict.get(b"BaseFont")
                .and_then(Object::as_name)
                .unwrap_or(b""),
        );
        return Some(Font::Single(STANDARD_FONTS.with_borrow_mut(|fonts| {
            if let Some((.., font)) = fonts.iter().find(|(n, s, _)| n == name && *s == standard) {
                return font.clone();
            }
            let font = simple(doc, dict, named_texts(doc, dict, name), subtype);
            fonts.push((name.clone(), standard, font.clone()));
            font
        })));
    }
    let texts = match named {
        Some(name) => named_texts(doc, dict, name),
        None => own_texts(doc, dict),
    };
    Some(Font::Single(simple(doc, dict, texts, subtype)))
}

/// The texts of a predefined encoding (WinAnsiEncoding...): the same in
/// every document, decoded once per thread.
fn named_texts(doc: &Document, dict: &Dictionary, name: &[u8]) -> Texts {
    NAMED_ENCODINGS.with_borrow_mut(|named| {
        if let Some((_, texts)) = named.iter().find(|(n, _)| n == name) {
            return texts.clone();
        }
        let texts: Texts = single_byte_texts(doc, dict)
            .unwrap_or_else(|| vec![Box::default(); 256].into_boxed_slice())
            .into();
        named.push((name.to_vec(), texts.clone()));
        texts
    })
}

/// A simple font with `texts`, its widths from its dictionary (or, without
/// any, estimated from a standard font's).
fn simple(doc: &Document, dict: &Dictionary, texts: Texts, subtype: &[u8]) -> Simple {
    let scale = if subtype == b"Type3" {
        dict.get(b"FontMatrix")
            .and_then(Object::as_array)
            .ok()
            .and_then(|m| m.first().and_then(number))
            .map_or(1.0, |x| x * 1000.0)
    } else {
        1.0
    };
    let missing = deref(doc, dict.get(b"FontDescriptor").ok())
        .and_then(|d| d.as_dict().ok())
        .and_then(|d| d.get(b"MissingWidth").ok())
        .and_then(number);
    let mut widths = [missing.unwrap_or(500.0); 256];
    let mut given = false;
    let first = deref(doc, dict.get(b"FirstChar").ok())
        .and_then(|o| o.as_i64().ok())
        .unwrap_or(0);
    if let Some(Ok(array)) = deref(doc, dict.get(b"Widths").ok()).map(Object::as_array) {
        for (i, w) in array.iter().enumerate() {
            let code = usize::try_from(first + i as i64).ok().filter(|&c| c < 256);
            if let (Some(code), Some(w)) = (code, number(deref(doc, Some(w)).unwrap_or(w))) {
                widths[code] = w * scale;
                given = true;
            }
        }
    }
    if !given {
        // A standard font named without widths: estimated by the kind of
        // character, close enough to tell a word's end from the next word.
        let base_font = dict.get(b"BaseFont").and_then(Object::as_name);
        let standard = Standard::of(base_font.unwrap_or(b""));
        for (width, text) in widths.iter_mut().zip(texts.iter()) {
            *width = standard.width(text.chars().next().unwrap_or(' '));
        }
    }
    let mut ascii = [0u8; 256];
    for (byte, text) in ascii.iter_mut().zip(texts.iter()) {
        if let [b] = text.as_bytes() {
            *byte = if b.is_ascii() { *b } else { 0 };
        }
    }
    Simple {
        texts,
        ascii: Rc::new(ascii),
        widths: Rc::new(widths),
    }
}

/// The texts of a simple font's codes by its own ToUnicode map, /Encoding or
/// embedded program.
fn own_texts(doc: &Document, dict: &Dictionary) -> Texts {
    // ToUnicode is the font's own word on what its codes mean; lopdf prefers
    // /Encoding, so it is asked of a copy without one first.
    let from_map = dict.has(b"ToUnicode").then(|| {
        let mut only_map = dict.clone();
        only_map.remove(b"Encoding");
        single_byte_texts(doc, &only_map)
    });
    // Without /Encoding, an embedded Type 1 program's own encoding is the
    // font's (TeX's fonts put ligatures and quotes where StandardEncoding has
    // other characters or none).
    let from_encoding = if dict.has(b"Encoding") {
        single_byte_texts(doc, dict)
    } else {
        builtin_texts(doc, dict).or_else(|| single_byte_texts(doc, dict))
    };
    (0..256)
        .map(|code| {
            from_map
                .as_ref()
                .and_then(|map| map.as_ref())
                .map(|map| &map[code])
                .filter(|text| !text.is_empty())
                .or(from_encoding.as_ref().map(|e| &e[code]))
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

/// What each of the 256 codes of a simple font decodes to, through lopdf.
fn single_byte_texts(doc: &Document, dict: &Dictionary) -> Option<Box<[Box<str>]>> {
    let encoding = dict.get_font_encoding(doc).ok()?;
    Some(
        (0..=255u8)
            .map(|code| code_text(&encoding, &[code]))
            .collect(),
    )
}

/// The text of one code, ligatures spelled out ("ﬁ" as "fi", so a name
/// holding one reads as a name); nothing for a control character, nor for a
/// code the font's map does not name (lopdf's U+FFFD).
fn code_text(encoding: &lopdf::Encoding, code: &[u8]) -> Box<str> {
    let mut text = String::new();
    let _ = encoding.write_to_string(code, &mut text);
    let mut spelled = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\u{fb00}' => spelled.push_str("ff"),
            '\u{fb01}' => spelled.push_str("fi"),
            '\u{fb02}' => spelled.push_str("fl"),
            '\u{fb03}' => spelled.push_str("ffi"),
            '\u{fb04}' => spelled.push_str("ffl"),
            '\u{fb05}' | '\u{fb06}' => spelled.push_str("st"),
            c if c.is_control() || c == char::REPLACEMENT_CHARACTER => {}
            c => spelled.push(c),
        }
    }
    spelled.into_boxed_str()
}

/// The codes of an embedded Type 1 program's own encoding (`dup 12 /fi put`
/// in its clear-text part), decoded by lopdf's glyph list; `None` when the
/// font has no such program or it uses StandardEncoding.
fn builtin_texts(doc: &Document, dict: &Dictionary) -> Option<Box<[Box<str>]>> {
    let descriptor = deref(doc, dict.get(b"FontDescriptor").ok())?
        .as_dict()
        .ok()?;
    let program = deref(doc, descriptor.get(b"FontFile").ok())?
        .as_stream()
        .ok()?;
    let bytes = program
        .decompressed_content()
        .unwrap_or_else(|_| program.content.clone());
    let clear = program
        .dict
        .get(b"Length1")
        .and_then(Object::as_i64)
        .map_or(bytes.len(), |n| (n.max(0) as usize).min(bytes.len()));
    let clear = &bytes[..clear];
    let at = memchr::memmem::find(clear, b"/Encoding")?;
    let tokens = clear[at + 9..]
        .split(|b| b.is_ascii_whitespace())
        .filter(|t| !t.is_empty());
    let mut names: Vec<(i64, Vec<u8>)> = Vec::new();
    let (mut code, mut first) = (None, true);
    for token in tokens {
        if first && token == b"StandardEncoding" {
            return None;
        }
        first = false;
        match token {
            b"dup" => code = None,
            b"def" | b"readonly" if !names.is_empty() => break,
            b"eexec" => break,
            t if t.starts_with(b"/") => {
                if let Some(code) = code.take() {
                    names.push((code, t[1..].to_vec()));
                }
            }
            t => code = std::str::from_utf8(t).ok().and_then(|t| t.parse().ok()),
        }
    }
    if names.is_empty() {
        return None;
    }
    // lopdf reads glyph names only as an encoding's Differences: one over
    // StandardEncoding that names every code of the program's.
    let synthetic = |names: &[(i64, Vec<u8>)]| {
        let mut differences = Vec::new();
        for (code, name) in names {
            differences.push(Object::Integer(*code));
            differences.push(Object::Name(name.clone()));
        }
        let mut font = Dictionary::new();
        font.set("Type", Object::Name(b"Font".to_vec()));
        // No /Encoding at all: lopdf's StandardEncoding.
        if !differences.is_empty() {
            let mut encoding = Dictionary::new();
            encoding.set("Type", Object::Name(b"Encoding".to_vec()));
            encoding.set("Differences", Object::Array(differences));
            font.set("Encoding", Object::Dictionary(encoding));
        }
        font
    };
    let whole = synthetic(&names);
    let encoding = whole.get_font_encoding(doc).ok()?;
    if matches!(encoding, lopdf::Encoding::Differences(_)) {
        return Some((0..=255u8).map(|c| code_text(&encoding, &[c])).collect());
    }
    // A name lopdf does not know made it give up on them all: one at a time,
    // each unknown one left as StandardEncoding has it.
    let mut texts = single_byte_texts(doc, &synthetic(&[]))?.into_vec();
    for entry in &names {
        let Ok(code) = u8::try_from(entry.0) else {
            continue;
        };
        let one = synthetic(std::slice::from_ref(entry));
        if let Ok(encoding @ lopdf::Encoding::Differences(_)) = one.get_font_encoding(doc) {
            texts[usize::from(code)] = code_text(&encoding, &[code]);
        }
    }
    Some(texts.into_boxed_slice())
}

/// A Type 0 font with two-byte codes (Identity-H or -V) and a ToUnicode map.
fn composite_font<'d>(doc: &'d Document, dict: &'d Dictionary) -> Option<Font<'d>> {
    let encoding = dict.get(b"Encoding").and_then(Object::as_name).ok()?;
    if !matches!(encoding, b"Identity-H" | b"Identity-V") || !dict.has(b"ToUnicode") {
        return None;
    }
    let decoder = dict.get_font_encoding(doc).ok()?;
    let descendant = deref(doc, dict.get(b"DescendantFonts").ok())
        .and_then(|o| o.as_array().ok())
        .and_then(|a| a.first())
        .and_then(|o| deref(doc, Some(o)))
        .and_then(|o| o.as_dict().ok());
    let default_width = descendant
        .and_then(|d| d.get(b"DW").ok())
        .and_then(number)
        .unwrap_or(1000.0);
    let mut widths = HashMap::new();
    if let Some(Ok(w)) = descendant.and_then(|d| deref(doc, d.get(b"W").ok()).map(Object::as_array))
    {
        // [c [w1 w2 ...]] or [c_first c_last w]
        let mut i = 0;
        while i + 1 < w.len() {
            let Some(first) = number(&w[i]) else { break };
            match deref(doc, Some(&w[i + 1])) {
                Some(Object::Array(run)) => {
                    for (k, width) in run.iter().enumerate() {
                        let code = u16::try_from(first as u32 + k as u32);
                        if let (Ok(code), Some(width)) = (code, number(width)) {
                            widths.insert(code, width);
                        }
                    }
                    i += 2;
                }
                Some(last) if i + 2 < w.len() => {
                    let (Some(last), Some(width)) = (number(last), number(&w[i + 2])) else {
                        break;
                    };
                    // A range over more codes than two bytes hold is malformed.
                    for code in first as u32..=(last as u32).min(0xffff) {
                        widths.insert(code as u16, width);
                    }
                    i += 3;
                }
                _ => break,
            }
        }
    }
    Some(Font::Double {
        decoder: Box::new(decoder),
        texts: HashMap::new(),
        widths,
        default_width,
    })
}

/// The three shapes of the standard fourteen fonts, for documents that name
/// one without giving its widths.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Standard {
    Courier,
    Times,
    /// Helvetica, and any other font without widths: Arial is its twin.
    Sans,
}

impl Standard {
    fn of(base_font: &[u8]) -> Standard {
        let named = |family: &[u8]| base_font.windows(family.len()).any(|w| w == family);
        if named(b"Courier") {
            Standard::Courier
        } else if named(b"Times") {
            Standard::Times
        } else {
            Standard::Sans
        }
    }

    /// An estimate of the width of `c`, in thousandths, by its kind: a
    /// space, a digit, a capital, a small letter, anything else.
    fn width(self, c: char) -> f64 {
        let [space, digit, capital, small, other] = match self {
            Standard::Courier => return 600.0,
            Standard::Times => [250.0, 500.0, 667.0, 444.0, 333.0],
            Standard::Sans => [278.0, 556.0, 667.0, 500.0, 333.0],
        };
        match c {
            ' ' => space,
            '0'..='9' => digit,
            'A'..='Z' => capital,
            'a'..='z' => small,
            _ => other,
        }
    }
}

fn number(object: &Object) -> Option<f64> {
    match object {
        Object::Integer(i) => Some(*i as f64),
        Object::Real(r) => Some(f64::from(*r)),
        _ => None,
    }
}

/// A content stream's bytes: a Flate stream (nearly all) through the bounded
/// inflater, `None` when it expands past `limit`; any other filter through
/// lopdf.
fn stream_content(stream: &lopdf::Stream, limit: u64) -> Option<Vec<u8>> {
    let flate_only = stream
        .filters()
        .is_ok_and(|f| f == [b"FlateDecode".as_slice()])
        && !stream.dict.has(b"DecodeParms");
    if flate_only {
        // zlib framing: two header bytes, then raw deflate. Data this reads
        // as damaged (some writers leave the header out) goes to lopdf.
        let raw = stream.content.get(2..).unwrap_or_default();
        match crate::extract::inflate(raw, limit, (raw.len() as u64).saturating_mul(4)) {
            Ok(Some(content)) => return Some(content),
            Ok(None) => return None,
            Err(_) => {}
        }
    }
    Some(
        stream
            .decompressed_content()
            .unwrap_or_else(|_| stream.content.clone()),
    )
}

fn deref<'a>(doc: &'a Document, object: Option<&'a Object>) -> Option<&'a Object> {
    doc.dereference(object?).ok().map(|(_, o)| o)
}

/// The resource dictionary a page's content is drawn with, inherited or its own.
fn page_resources(doc: &Document, page_id: lopdf::ObjectId) -> Option<&Dictionary> {
    let (own, inherited) = doc.get_page_resources(page_id).ok()?;
    own.or_else(|| {
        inherited
            .iter()
            .find_map(|id| doc.get_object(*id).and_then(Object::as_dict).ok())
    })
}

/// An affine map of the plane, as PDF writes it: [a b c d e f].
#[derive(Debug, Clone, Copy)]
struct Matrix([f64; 6]);

impl Matrix {
    const IDENTITY: Matrix = Matrix([1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);

    fn translation(x: f64, y: f64) -> Matrix {
        Matrix([1.0, 0.0, 0.0, 1.0, x, y])
    }

    /// `self` then `then`.
    fn then(self, then: Matrix) -> Matrix {
        let [a, b, c, d, e, f] = self.0;
        let [a2, b2, c2, d2, e2, f2] = then.0;
        Matrix([
            a * a2 + b * c2,
            a * b2 + b * d2,
            c * a2 + d * c2,
            c * b2 + d * d2,
            e * a2 + f * c2 + e2,
            e * b2 + f * d2 + f2,
        ])
    }

    /// The matrix of exactly six numbers.
    fn from_values(mut values: impl Iterator<Item = Option<f64>>) -> Option<Matrix> {
        let mut m = [0.0; 6];
        for slot in &mut m {
            *slot = values.next()??;
        }
        values.next().is_none().then_some(Matrix(m))
    }

    /// How much the map scales an area, as a length.
    fn scale(self) -> f64 {
        let [a, b, c, d, ..] = self.0;
        (a * d - b * c).abs().sqrt()
    }
}

/// The parts of the graphics state that place text (saved by `q`).
#[derive(Clone, Copy)]
struct State {
    ctm: Matrix,
    /// The current font: its place in the cache.
    font: Option<usize>,
    size: f64,
    char_spacing: f64,
    word_spacing: f64,
    horizontal_scale: f64,
    leading: f64,
}

/// One page's text as it is laid out.
struct Page<'d, 'c> {
    doc: &'d Document,
    fonts: &'c mut FontCache<'d>,
    /// The text so far, UTF-8 (bytes, so that an ASCII one is a plain push).
    out: Vec<u8>,
    state: State,
    saved: Vec<State>,
    text_matrix: Matrix,
    line_matrix: Matrix,
    /// Where the last string ended and the line it was on, in page space.
    last: Option<(f64, f64)>,
    /// The forms being drawn, innermost last (a form never draws itself).
    drawing: Vec<*const lopdf::Stream>,
    forms_drawn: u32,
    /// How far one form's content may expand.
    limit: u64,
    /// Forms not read: each would have expanded past `limit`.
    refused: usize,
}

impl<'d, 'c> Page<'d, 'c> {
    fn new(doc: &'d Document, fonts: &'c mut FontCache<'d>, limit: u64) -> Page<'d, 'c> {
        Page {
            doc,
            fonts,
            out: Vec::new(),
            state: State {
                ctm: Matrix::IDENTITY,
                font: None,
                size: 0.0,
                char_spacing: 0.0,
                word_spacing: 0.0,
                horizontal_scale: 1.0,
                leading: 0.0,
            },
            saved: Vec::new(),
            text_matrix: Matrix::IDENTITY,
            line_matrix: Matrix::IDENTITY,
            last: None,
            drawing: Vec::new(),
            forms_drawn: 0,
            limit,
            refused: 0,
        }
    }

    /// Interprets a content stream drawn with `fonts` and `resources`.
    fn run(
        &mut self,
        content: &[u8],
        fonts: &BTreeMap<Vec<u8>, &'d Dictionary>,
        resources: Option<&'d Dictionary>,
        depth: u32,
    ) -> Result<(), Unread> {
        content::for_each_operation(content, |operator, operands| {
            let num = |i: usize| operands.get(i).and_then(Operand::number);
            let name = |i: usize| match operands.get(i) {
                Some(Operand::Name(name)) => Some(name.as_slice()),
                _ => None,
            };
            match operator {
                b"q" => self.saved.push(self.state),
                b"Q" => {
                    if let Some(state) = self.saved.pop() {
                        self.state = state;
                    }
                }
                b"cm" => {
                    if let Some(m) = Matrix::from_values(operands.iter().map(Operand::number)) {
                        self.state.ctm = m.then(self.state.ctm);
                    }
                }
                b"BT" => {
                    self.text_matrix = Matrix::IDENTITY;
                    self.line_matrix = Matrix::IDENTITY;
                }
                b"Tf" => {
                    self.state.font = match name(0).and_then(|n| fonts.get(n)) {
                        Some(dict) => Some(self.font_of(dict)?),
                        None => None,
                    };
                    self.state.size = num(1).unwrap_or(0.0);
                }
                b"Tc" => self.state.char_spacing = num(0).unwrap_or(0.0),
                b"Tw" => self.state.word_spacing = num(0).unwrap_or(0.0),
                b"Tz" => self.state.horizontal_scale = num(0).unwrap_or(100.0) / 100.0,
                b"TL" => self.state.leading = num(0).unwrap_or(0.0),
                b"Td" => self.move_line(num(0).unwrap_or(0.0), num(1).unwrap_or(0.0)),
                b"TD" => {
                    let ty = num(1).unwrap_or(0.0);
                    self.state.leading = -ty;
                    self.move_line(num(0).unwrap_or(0.0), ty);
                }
                b"Tm" => {
                    if let Some(m) = Matrix::from_values(operands.iter().map(Operand::number)) {
                        self.text_matrix = m;
                        self.line_matrix = m;
                    }
                }
                b"T*" => self.move_line(0.0, -self.state.leading),
                b"Tj" => self.show_operand(operands.first()),
                b"'" => {
                    self.move_line(0.0, -self.state.leading);
                    self.show_operand(operands.first());
                }
                b"\"" => {
                    self.state.word_spacing = num(0).unwrap_or(0.0);
                    self.state.char_spacing = num(1).unwrap_or(0.0);
                    self.move_line(0.0, -self.state.leading);
                    self.show_operand(operands.get(2));
                }
                b"TJ" => {
                    let Some(Operand::Array(items)) = operands.first() else {
                        return Ok(());
                    };
                    for item in items {
                        match item {
                            Operand::String(bytes) => self.show(bytes),
                            other => {
                                let shift = other.number().unwrap_or(0.0);
                                let tx =
                                    -shift / 1000.0 * self.state.size * self.state.horizontal_scale;
                                self.text_matrix =
                                    Matrix::translation(tx, 0.0).then(self.text_matrix);
                            }
                        }
                    }
                }
                b"Do" if depth < MAX_FORM_DEPTH => {
                    if let Some(name) = name(0) {
                        self.form(name, fonts, resources, depth)?;
                    }
                }
                _ => {}
            }
            Ok(())
        })
    }

    /// Draws the form XObject `name` of `resources`: its content with its own
    /// fonts (or those it inherits), through its matrix.
    fn form(
        &mut self,
        name: &[u8],
        fonts: &BTreeMap<Vec<u8>, &'d Dictionary>,
        resources: Option<&'d Dictionary>,
        depth: u32,
    ) -> Result<(), Unread> {
        let doc = self.doc;
        let Some(stream) = resources
            .and_then(|r| deref(doc, r.get(b"XObject").ok()))
            .and_then(|x| x.as_dict().ok())
            .and_then(|x| deref(doc, x.get(name).ok()))
            .and_then(|o| o.as_stream().ok())
        else {
            return Ok(());
        };
        if stream.dict.get(b"Subtype").and_then(Object::as_name).ok() != Some(b"Form") {
            return Ok(());
        }
        let key = stream as *const lopdf::Stream;
        if self.drawing.contains(&key) || self.forms_drawn >= MAX_FORMS_PER_PAGE {
            return Ok(());
        }
        self.forms_drawn += 1;
        let own = deref(doc, stream.dict.get(b"Resources").ok()).and_then(|o| o.as_dict().ok());
        let own_fonts: Option<BTreeMap<Vec<u8>, &Dictionary>> = own
            .and_then(|r| deref(doc, r.get(b"Font").ok()))
            .and_then(|f| f.as_dict().ok())
            .map(|f| {
                f.iter()
                    .filter_map(|(k, v)| Some((k.clone(), deref(doc, Some(v))?.as_dict().ok()?)))
                    .collect()
            });
        let Some(content) = stream_content(stream, self.limit) else {
            self.refused += 1;
            return Ok(());
        };
        let matrix = stream
            .dict
            .get(b"Matrix")
            .and_then(Object::as_array)
            .ok()
            .and_then(|m| Matrix::from_values(m.iter().map(number)))
            .unwrap_or(Matrix::IDENTITY);
        let (saved, text, line) = (self.state, self.text_matrix, self.line_matrix);
        self.state.ctm = matrix.then(self.state.ctm);
        self.drawing.push(key);
        let result = self.run(
            &content,
            own_fonts.as_ref().unwrap_or(fonts),
            own.or(resources),
            depth + 1,
        );
        self.drawing.pop();
        (self.state, self.text_matrix, self.line_matrix) = (saved, text, line);
        result
    }

    /// The font of `dict`'s place in the cache, decoded the first time.
    fn font_of(&mut self, dict: &'d Dictionary) -> Result<usize, Unread> {
        let key = dict as *const Dictionary as usize;
        let cache = &mut self.fonts.0;
        let index = match cache.iter().position(|(k, _)| *k == key) {
            Some(index) => index,
            None => {
                cache.push((key, font(self.doc, dict)));
                cache.len() - 1
            }
        };
        match cache[index].1 {
            Some(_) => Ok(index),
            None => Err(Unread::Unsupported),
        }
    }

    fn move_line(&mut self, tx: f64, ty: f64) {
        self.line_matrix = Matrix::translation(tx, ty).then(self.line_matrix);
        self.text_matrix = self.line_matrix;
    }

    fn show_operand(&mut self, operand: Option<&Operand>) {
        if let Some(Operand::String(bytes)) = operand {
            self.show(bytes);
        }
    }

    /// Appends the text of a string, after the space or line break its
    /// position calls for, and moves the pen past it.
    fn show(&mut self, bytes: &[u8]) {
        let Some((_, Some(font))) = self.state.font.and_then(|i| self.fonts.0.get_mut(i)) else {
            return;
        };
        let State {
            ctm,
            size,
            char_spacing,
            word_spacing,
            horizontal_scale,
            ..
        } = self.state;
        let placed = self.text_matrix.then(ctm);
        let [.., x, y] = placed.0;
        let em = size * placed.scale();
        if let Some((last_end, last_y)) = self.last {
            let dy = (y - last_y).abs();
            if dy > em * 1.5 {
                self.out.push(b'\n');
            }
            if x < last_end && dy > em * 0.5 {
                self.out.push(b'\n');
            }
            if x > last_end + em * 0.1 {
                self.out.push(b' ');
            }
        }
        let mut advance = 0.0;
        match font {
            Font::Single(Simple {
                texts,
                ascii,
                widths,
            }) => {
                // The widths summed first and scaled once: the same advance
                // to the last bit or two, for a fifth of the arithmetic.
                let (mut width, mut spaces) = (0.0, 0u32);
                self.out.reserve(bytes.len());
                for &code in bytes {
                    let code = usize::from(code);
                    match ascii[code] {
                        0 => self.out.extend_from_slice(texts[code].as_bytes()),
                        byte => self.out.push(byte),
                    }
                    width += widths[code];
                    spaces += u32::from(code == 32);
                }
                advance = width / 1000.0 * size
                    + bytes.len() as f64 * char_spacing
                    + f64::from(spaces) * word_spacing;
            }
            Font::Double {
                decoder,
                texts,
                widths,
                default_width,
            } => {
                for pair in bytes.chunks(2) {
                    let code = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
                    let text = texts
                        .entry(code)
                        .or_insert_with(|| code_text(decoder, &code.to_be_bytes()));
                    self.out.extend_from_slice(text.as_bytes());
                    let width = widths.get(&code).copied().unwrap_or(*default_width);
                    advance += width / 1000.0 * size + char_spacing;
                }
            }
        }
        self.text_matrix =
            Matrix::translation(advance * horizontal_scale, 0.0).then(self.text_matrix);
        let end = self.text_matrix.then(ctm).0[4];
        self.last = Some((end, y));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use pdf_writer::{Finish, Name, Pdf, Rect, Ref};

    const CATALOG: Ref = Ref::new(1);
    const TREE: Ref = Ref::new(2);
    const PAGE: Ref = Ref::new(3);
    const CONTENT: Ref = Ref::new(4);
    const HELVETICA: Ref = Ref::new(5);

    /// A one-page document drawing `content`, with Helvetica as /F1, the
    /// fonts and form XObjects named, and the objects `extra` writes.
    pub(crate) fn document(
        content: &[u8],
        fonts: &[(&str, Ref)],
        forms: &[(&str, Ref)],
        extra: impl FnOnce(&mut Pdf),
    ) -> Vec<u8> {
        let mut pdf = Pdf::new();
        pdf.catalog(CATALOG).pages(TREE);
        pdf.pages(TREE).kids([PAGE]).count(1);
        let mut page = pdf.page(PAGE);
        page.media_box(Rect::new(0.0, 0.0, 612.0, 792.0))
            .parent(TREE)
            .contents(CONTENT);
        let mut resources = page.resources();
        let mut named = resources.fonts();
        named.pair(Name(b"F1"), HELVETICA);
        for (name, font) in fonts {
            named.pair(Name(name.as_bytes()), *font);
        }
        named.finish();
        if !forms.is_empty() {
            let mut x = resources.x_objects();
            for (name, form) in forms {
                x.pair(Name(name.as_bytes()), *form);
            }
        }
        resources.finish();
        page.finish();
        pdf.type1_font(HELVETICA)
            .base_font(Name(b"Helvetica"))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
        pdf.stream(CONTENT, content);
        extra(&mut pdf);
        pdf.finish()
    }

    fn text_of(pdf: &[u8]) -> String {
        pages(pdf, 1 << 30).expect("read here").pages.concat()
    }

    /// Lines of words, each line's white space folded, blank lines between
    /// paragraphs kept as one empty line, none at the ends.
    fn layout(text: &str) -> Vec<String> {
        let mut lines: Vec<String> = Vec::new();
        for line in text.lines() {
            let words = line.split_whitespace().collect::<Vec<_>>().join(" ");
            if !words.is_empty() || lines.last().is_some_and(|l| !l.is_empty()) {
                lines.push(words);
            }
        }
        while lines.last().is_some_and(String::is_empty) {
            lines.pop();
        }
        lines
    }

    #[test]
    fn pages_are_laid_out_as_pdf_extract_lays_them_out() {
        const WORDS: [&str; 12] = [
            "Maria",
            "Garcia",
            "SSN",
            "123-45-6788",
            "account",
            "0012345678",
            "Jos\u{e9}",
            "O'Brien",
            "paid",
            "$1,250.00",
            "on",
            "2026-03-14",
        ];
        let mut rng = crate::test_rng::Rng(0x0005_eed0_f9df_2026);
        let mut compared_lines = 0;
        for _ in 0..120 {
            let mut content = String::new();
            let mut y = 740.0;
            for _ in 0..1 + rng.below(6) {
                let words: Vec<&str> = (0..1 + rng.below(6))
                    .map(|_| WORDS[rng.below(WORDS.len() as u64) as usize])
                    .collect();
                // WinAnsi bytes in a literal string: é is 0xE9 there.
                let lit = |w: &str| w.replace('\u{e9}', "\\351").replace('\'', "\\'");
                match rng.below(4) {
                    // One string, its own spaces.
                    0 => {
                        content += &format!(
                            "BT /F1 12 Tf 72 {y} Td ({}) Tj ET\n",
                            words.iter().map(|w| lit(w)).collect::<Vec<_>>().join(" ")
                        )
                    }
                    // Words apart by TJ offsets, kerned inside.
                    1 => {
                        content += &format!("BT /F1 12 Tf 72 {y} Td [");
                        for word in &words {
                            let cut = word.len() / 2;
                            let (a, b) = word.split_at(cut);
                            let kern = rng.below(60) as i64 - 30;
                            content += &format!("({}) {kern} ({}) -400 ", lit(a), lit(b));
                        }
                        content += "] TJ ET\n";
                    }
                    // A font of size 1, scaled by the text matrix.
                    2 => {
                        content += &format!(
                            "BT /F1 1 Tf 11 0 0 11 72 {y} Tm ({}) Tj ET\n",
                            words.iter().map(|w| lit(w)).collect::<Vec<_>>().join(" ")
                        )
                    }
                    // Each word placed on its own, well apart.
                    _ => {
                        content += &format!("BT /F1 12 Tf 72 {y} Td");
                        let mut previous = 0;
                        for word in &words {
                            content += &format!(" {previous} 0 Td ({}) Tj", lit(word));
                            previous = (word.chars().count() as u32 + 2) * 10;
                        }
                        content += " ET\n";
                    }
                }
                compared_lines += 1;
                // The next line, or a paragraph's gap.
                y -= if rng.below(4) == 0 { 40.0 } else { 14.0 };
            }
            let pdf = document(content.as_bytes(), &[], &[], |_| {});
            let theirs = pdf_extract::extract_text_from_mem_by_pages(&pdf)
                .unwrap()
                .concat();
            assert_eq!(layout(&text_of(&pdf)), layout(&theirs), "{content}");
        }
        assert!(compared_lines > 300, "{compared_lines}");
    }

    #[test]
    fn a_type1_program_s_own_encoding_is_read() {
        // TeX's fonts: no /Encoding, no ToUnicode; the program says that code
        // 12 is the "fi" ligature and 92 an opening quote.
        const PROGRAM: Ref = Ref::new(10);
        const DESCRIPTOR: Ref = Ref::new(11);
        const CMR: Ref = Ref::new(12);
        let clear = b"%!PS-AdobeFont-1.0: CMR10\n/Encoding 256 array\n0 1 255 {1 index exch /.notdef put} for\ndup 12 /fi put\ndup 77 /M put\ndup 97 /a put\ndup 114 /r put\ndup 121 /y put\ndup 71 /G put\ndup 105 /i put\ndup 110 /n put\ndup 102 /f put\ndup 92 /quotedblleft put\nreadonly def\ncurrentdict end\ncurrentfile eexec\n";
        let pdf = document(
            b"BT /F2 10 Tf 72 700 Td (\\\\Mary Grif\\014n) Tj ET",
            &[("F2", CMR)],
            &[],
            |pdf| {
                pdf.stream(PROGRAM, clear)
                    .pair(Name(b"Length1"), clear.len() as i32);
                pdf.indirect(DESCRIPTOR)
                    .dict()
                    .pair(Name(b"Type"), Name(b"FontDescriptor"))
                    .pair(Name(b"FontName"), Name(b"CMR10"))
                    .pair(Name(b"FontFile"), PROGRAM);
                pdf.type1_font(CMR)
                    .base_font(Name(b"CMR10"))
                    .font_descriptor(DESCRIPTOR);
            },
        );
        let text = text_of(&pdf);
        assert_eq!(layout(&text), ["\u{201c}Mary Griffin"]);
        assert_eq!(crate::names::count_names(&text), 1);
    }

    #[test]
    fn standard_fonts_built_once_per_thread_keep_their_own_widths() {
        const COURIER: Ref = Ref::new(10);
        // "Jane" is 21.67 points wide in Helvetica's estimate at 10 points,
        // 24 in Courier's: "Doe" at 23.5 points past it is a word apart in
        // the one, joined in the other.
        let shown = |font: &str| {
            let content = format!(
                "BT /{font} 10 Tf 1 0 0 1 72 700 Tm (Jane) Tj 1 0 0 1 95.5 700 Tm (Doe) Tj ET"
            );
            let pdf = document(content.as_bytes(), &[("F2", COURIER)], &[], |pdf| {
                pdf.type1_font(COURIER)
                    .base_font(Name(b"Courier"))
                    .encoding_predefined(Name(b"WinAnsiEncoding"));
            });
            layout(&text_of(&pdf))
        };
        for _ in 0..2 {
            assert_eq!(shown("F1"), ["Jane Doe"]);
            assert_eq!(shown("F2"), ["JaneDoe"]);
        }
    }

    #[test]
    fn ligatures_are_spelled_out() {
        // WinAnsi has no ligatures; ToUnicode gives code 1 as U+FB03 "ffi".
        const MAP: Ref = Ref::new(10);
        const FONT: Ref = Ref::new(11);
        let cmap = b"/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n1 begincodespacerange\n<00> <FF>\nendcodespacerange\n1 beginbfchar\n<01> <FB03>\nendbfchar\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n";
        let pdf = document(
            b"BT /F2 10 Tf 72 700 Td (Mary Gri\\001n) Tj ET",
            &[("F2", FONT)],
            &[],
            |pdf| {
                pdf.stream(MAP, cmap);
                pdf.type1_font(FONT)
                    .base_font(Name(b"Helvetica"))
                    .encoding_predefined(Name(b"WinAnsiEncoding"))
                    .to_unicode(MAP);
            },
        );
        let text = text_of(&pdf);
        assert_eq!(layout(&text), ["Mary Griffin"]);
        assert_eq!(crate::names::count_names(&text), 1);
    }

    /// A Type 0 font with two-byte codes; `to_unicode` says whether it maps them.
    pub(crate) fn composite(to_unicode: bool) -> Vec<u8> {
        const MAP: Ref = Ref::new(10);
        const FONT: Ref = Ref::new(11);
        const DESCENDANT: Ref = Ref::new(12);
        // Glyph 3 is "J", 4 "o", 5 "e", 6 a space, 7 "D"; 0x10 to 0x19 the digits.
        let cmap = b"/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n5 beginbfchar\n<0003> <004A>\n<0004> <006F>\n<0005> <0065>\n<0006> <0020>\n<0007> <0044>\nendbfchar\n1 beginbfrange\n<0010> <0019> <0030>\nendbfrange\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n";
        document(
            b"BT /F2 12 Tf 72 700 Td <000300040005000600070004000500060011001200130006> Tj ET",
            &[("F2", FONT)],
            &[],
            |pdf| {
                pdf.stream(MAP, cmap);
                let mut font = pdf.indirect(FONT).dict();
                font.pair(Name(b"Type"), Name(b"Font"))
                    .pair(Name(b"Subtype"), Name(b"Type0"))
                    .pair(Name(b"BaseFont"), Name(b"Arial"))
                    .pair(Name(b"Encoding"), Name(b"Identity-H"))
                    .insert(Name(b"DescendantFonts"))
                    .array()
                    .item(DESCENDANT);
                if to_unicode {
                    font.pair(Name(b"ToUnicode"), MAP);
                }
                font.finish();
                pdf.indirect(DESCENDANT)
                    .dict()
                    .pair(Name(b"Type"), Name(b"Font"))
                    .pair(Name(b"Subtype"), Name(b"CIDFontType2"))
                    .pair(Name(b"BaseFont"), Name(b"Arial"))
                    .pair(Name(b"DW"), 600);
            },
        )
    }

    #[test]
    fn composite_fonts_are_read_through_their_unicode_map() {
        assert_eq!(layout(&text_of(&composite(true))), ["Joe Doe 123"]);
        // Without one, the codes mean nothing here: pdf-extract is asked.
        assert!(matches!(
            pages(&composite(false), 1 << 30),
            Err(Unread::Unsupported)
        ));
    }

    #[test]
    fn text_inside_a_form_is_read() {
        const FORM: Ref = Ref::new(10);
        let pdf = document(
            b"BT /F1 12 Tf 72 720 Td (Payroll) Tj ET q 1 0 0 1 0 -40 cm /Fm1 Do Q",
            &[],
            &[("Fm1", FORM)],
            |pdf| {
                let inner = b"BT /F1 12 Tf 72 700 Td (Jane Doe 123-45-6788) Tj ET";
                pdf.form_xobject(FORM, inner)
                    .bbox(Rect::new(0.0, 0.0, 612.0, 792.0));
            },
        );
        assert_eq!(
            layout(&text_of(&pdf)),
            ["Payroll", "", "Jane Doe 123-45-6788"]
        );
    }

    #[test]
    fn forms_that_draw_themselves_or_each_other_endlessly_end() {
        // Fm0 draws itself and Fm1; Fm1 to Fm5 each draw the next fifty
        // times, and Fm6 draws Fm1 back: unguarded, 50^5 draws and a cycle.
        let forms: Vec<Ref> = (0..7).map(|i| Ref::new(10 + i)).collect();
        let contents: Vec<Vec<u8>> = (0..7)
            .map(|i| match i {
                0 => b"/Fm0 Do /Fm1 Do BT /F1 12 Tf 72 700 Td (self) Tj ET".to_vec(),
                6 => b"BT /F1 12 Tf 72 700 Td (x) Tj ET /Fm1 Do".to_vec(),
                _ => format!(
                    "BT /F1 12 Tf 72 700 Td (x) Tj ET {}",
                    format!("/Fm{} Do ", i + 1).repeat(50)
                )
                .into_bytes(),
            })
            .collect();
        let names: Vec<String> = (0..7).map(|i| format!("Fm{i}")).collect();
        let pdf = document(b"/Fm0 Do", &[], &[("Fm0", forms[0])], |pdf| {
            for (form, content) in forms.iter().zip(&contents) {
                let mut f = pdf.form_xobject(*form, content);
                f.bbox(Rect::new(0.0, 0.0, 612.0, 792.0));
                let mut resources = f.resources();
                resources.fonts().pair(Name(b"F1"), HELVETICA);
                let mut x = resources.x_objects();
                for (name, other) in names.iter().zip(&forms) {
                    x.pair(Name(name.as_bytes()), *other);
                }
            }
        });
        let text = text_of(&pdf);
        // A form is not drawn again inside itself.
        assert_eq!(text.matches("self").count(), 1, "{text:?}");
        // Forms are drawn, but no more than the page's budget of them.
        let drawn = text.matches('x').count();
        assert!(
            (50..=MAX_FORMS_PER_PAGE as usize).contains(&drawn),
            "{drawn}"
        );
    }

    #[test]
    fn a_content_stream_that_expands_past_the_limit_is_not_read() {
        use std::io::Write;
        // A page of text, then a megabyte of spaces, deflated to a few KB.
        let mut text = b"BT /F1 12 Tf 72 700 Td (Jane Doe 123-45-6788) Tj ET".to_vec();
        text.resize(text.len() + (1 << 20), b' ');
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        zlib.write_all(&text).unwrap();
        let deflated = zlib.finish().unwrap();
        let mut pdf = Pdf::new();
        pdf.catalog(CATALOG).pages(TREE);
        pdf.pages(TREE).kids([PAGE]).count(1);
        let mut page = pdf.page(PAGE);
        page.media_box(Rect::new(0.0, 0.0, 612.0, 792.0))
            .parent(TREE)
            .contents(CONTENT);
        page.resources().fonts().pair(Name(b"F1"), HELVETICA);
        page.finish();
        pdf.type1_font(HELVETICA).base_font(Name(b"Helvetica"));
        pdf.stream(CONTENT, &deflated)
            .filter(pdf_writer::Filter::FlateDecode);
        let pdf = pdf.finish();
        let within = pages(&pdf, 2 << 20).expect("read here");
        assert!(within.pages.concat().contains("Jane Doe"));
        assert_eq!(within.refused, 0);
        let past = pages(&pdf, 1 << 20).expect("read here");
        assert_eq!(
            past.pages.concat().trim(),
            "",
            "past the limit nothing is read"
        );
        assert_eq!(past.refused, 1);
        // Through the file's budget (200 times its size: a 600-fold stream is
        // a bomb), it is said in the row.
        let report = crate::read::scan_bytes(std::path::Path::new("form.pdf"), &pdf, None);
        crate::extract::tests::assert_noted(&report, "decompression bomb");
    }

    #[test]
    fn a_file_that_is_no_pdf_is_broken() {
        assert!(matches!(
            pages(
                b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ntrailer garbage",
                1 << 30
            ),
            Err(Unread::Broken(_))
        ));
    }
}
