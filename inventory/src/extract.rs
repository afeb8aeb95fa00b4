//! Getting the text out of containers: Office documents (zip + XML), e-mail
//! (MIME parts, base64 and quoted-printable, attachments), and archives (zip,
//! tar, gzip, nested), within limits that stop archive bombs.

use std::io::{Cursor, Read};

use crate::xml::{self, attribute, attributes, tokens, unescape_into, Token};

/// What a part of a file holds, ready to scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Text(String),
    /// Text that is one record however long (an e-mail message).
    Record(String),
    Markup(String),
    Delimited(String, u8),
    /// Spreadsheet rows, first row possibly a header.
    Rows(Vec<Vec<String>>),
    /// A worksheet's XML with what its workbook says about its cells, read row
    /// by row as it is scanned ([`for_each_sheet_row`]): its cells are never
    /// all held at once.
    Sheet {
        xml: Vec<u8>,
        book: std::sync::Arc<Workbook>,
    },
    /// Records whose fields are labelled by keys: a JSON document's objects.
    Keyed(Vec<KeyedRecord>),
}

/// A record of a JSON document: its members' keys and scalar values, on the
/// line where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyedRecord {
    pub line: u64,
    pub fields: Vec<(String, String)>,
}

/// A scannable piece of a file, named by its path inside the file (empty for the
/// file itself), e.g. `attachments.zip!staff.xlsx!Sheet1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    pub content: Content,
}

/// Limits on what one file may expand to.
#[derive(Debug, Clone)]
pub struct Budget {
    /// Containers inside containers, at most.
    pub max_depth: u32,
    /// Bytes all expanded members may add up to.
    pub remaining: u64,
    /// Expanded size per compressed size beyond which a member is a bomb.
    pub max_ratio: u64,
}

impl Budget {
    /// How far `compressed` bytes may expand: `max_ratio` times, within what
    /// remains.
    fn limit(&self, compressed: u64) -> u64 {
        self.remaining.min(compressed * self.max_ratio)
    }
}

impl Default for Budget {
    fn default() -> Budget {
        Budget {
            max_depth: 4,
            remaining: 1 << 30,
            max_ratio: 200,
        }
    }
}

/// Why part of a file was not read.
pub type Note = String;

/// Decides by name and magic bytes how to read `bytes`, appending what it finds.
pub fn extract(
    name: &str,
    bytes: &[u8],
    depth: u32,
    budget: &mut Budget,
    parts: &mut Vec<Part>,
    notes: &mut Vec<Note>,
) {
    let lower = name.to_ascii_lowercase();
    let ext = lower.rsplit('.').next().unwrap_or("");
    let here = |suffix: &str| {
        if name.is_empty() {
            suffix.to_string()
        } else {
            format!("{name}!{suffix}")
        }
    };
    if bytes.starts_with(b"PK\x03\x04")
        || matches!(ext, "zip" | "docx" | "xlsx" | "pptx" | "odt" | "ods")
    {
        if depth > budget.max_depth {
            notes.push(format!("{name}: containers nested too deep; not read"));
            return;
        }
        zip_like(name, ext, bytes, depth, budget, parts, notes);
    } else if bytes.starts_with(&[0x1f, 0x8b]) {
        match gunzip(bytes, budget.limit(bytes.len() as u64)) {
            Ok(None) => notes.push(format!(
                "{name}: expands beyond the limit (archive bomb?); not read"
            )),
            Ok(Some(inner)) => {
                budget.remaining -= inner.len() as u64;
                let inner_name = name
                    .strip_suffix(".gz")
                    .or(name.strip_suffix(".tgz"))
                    .unwrap_or(name);
                let inner_name = if ext == "tgz" {
                    format!("{inner_name}.tar")
                } else {
                    inner_name.to_string()
                };
                extract(&inner_name, &inner, depth + 1, budget, parts, notes);
            }
            Err(err) => notes.push(format!("{name}: {err}")),
        }
    } else if ext == "tar" || (bytes.len() > 262 && &bytes[257..262] == b"ustar") {
        tar_members(name, bytes, depth, budget, parts, notes);
    } else if bytes.starts_with(b"%PDF") {
        // A page's content may expand as an archive member may.
        pdf(name, bytes, budget.limit(bytes.len() as u64), parts, notes);
    } else if matches!(ext, "eml" | "msg") || looks_like_mail(bytes) {
        mail(name, bytes, depth, budget, parts, notes);
    } else if ext == "mbox" {
        for (i, message) in split_mbox(bytes).into_iter().enumerate() {
            mail(
                &here(&format!("message-{}", i + 1)),
                message,
                depth,
                budget,
                parts,
                notes,
            );
        }
    } else if let Some(text) = crate::read::decode(bytes) {
        let content = match ext {
            "csv" => {
                let delimiter = csv_delimiter(&text);
                Content::Delimited(text, delimiter)
            }
            "tsv" | "tab" => Content::Delimited(text, b'\t'),
            "html" | "htm" | "xhtml" | "xml" => Content::Markup(text),
            "json" | "jsonl" | "ndjson" => match json_records(&text) {
                Some(records) => Content::Keyed(records),
                // Not JSON after all, or too large to parse: read as text.
                None => Content::Text(text),
            },
            _ => Content::Text(text),
        };
        parts.push(Part {
            name: name.to_string(),
            content,
        });
    }
}

fn zip_like(
    name: &str,
    ext: &str,
    bytes: &[u8],
    depth: u32,
    budget: &mut Budget,
    parts: &mut Vec<Part>,
    notes: &mut Vec<Note>,
) {
    let mut archive = match zip::ZipArchive::new(Cursor::new(bytes)) {
        Ok(archive) => archive,
        Err(err) => {
            notes.push(format!("{}: not a readable zip: {err}", display(name)));
            return;
        }
    };
    let mut members: Vec<(String, Vec<u8>)> = Vec::new();
    for index in 0..archive.len() {
        let Ok(member) = archive.by_index_raw(index) else {
            continue;
        };
        if member.is_dir() {
            continue;
        }
        let member_name = member.name().map(|n| n.into_owned()).unwrap_or_default();
        // An Office document's text is in a few known parts: the images, fonts,
        // styles and themes around it are never expanded.
        if !office_part(ext, &member_name) {
            continue;
        }
        let limit = budget.limit(member.compressed_size().max(1));
        match expand_member(bytes, &member, limit) {
            Ok(Some(data)) => {
                budget.remaining -= data.len() as u64;
                members.push((member_name, data));
            }
            Ok(None) => notes.push(format!(
                "{}!{member_name}: expands beyond the limit (archive bomb?); not read",
                display(name)
            )),
            Err(why) => notes.push(format!("{}!{member_name}: {why}", display(name))),
        }
    }
    let prefix = |member: &str| {
        if name.is_empty() {
            member.to_string()
        } else {
            format!("{name}!{member}")
        }
    };
    match ext {
        "docx" => office_text(&members, &DOCX, name, parts),
        "pptx" => office_text(&members, &PPTX, name, parts),
        "odt" => office_text(&members, &ODT, name, parts),
        "xlsx" => xlsx_sheets(members, name, parts),
        "ods" => ods_rows(&members, name, parts),
        _ => {
            for (member, data) in &members {
                extract(&prefix(member), data, depth + 1, budget, parts, notes);
            }
        }
    }
}

thread_local! {
    /// One raw-deflate state per thread, reset for each member: setting one up
    /// (and zeroing its window) costs more than expanding a small Office part.
    static INFLATER: std::cell::RefCell<flate2::Decompress> =
        std::cell::RefCell::new(flate2::Decompress::new(false));
}

/// A member's content, checked against its CRC; `None` when it would expand
/// beyond `limit` bytes.
fn expand_member(
    archive: &[u8],
    member: &zip::read::ZipFile<'_, Cursor<&[u8]>>,
    limit: u64,
) -> Result<Option<Vec<u8>>, String> {
    if member.encrypted() {
        return Err("encrypted; not read".into());
    }
    let stored = member
        .data_start()
        .and_then(|start| {
            let start = usize::try_from(start).ok()?;
            let end = start.checked_add(usize::try_from(member.compressed_size()).ok()?)?;
            archive.get(start..end)
        })
        .ok_or("its data lies beyond the end of the archive")?;
    let data = match member.compression() {
        zip::CompressionMethod::Stored if stored.len() as u64 > limit => return Ok(None),
        zip::CompressionMethod::Stored => stored.to_vec(),
        zip::CompressionMethod::Deflated => match inflate(stored, limit, member.size())? {
            Some(data) => data,
            None => return Ok(None),
        },
        other => {
            return Err(format!(
                "compressed with {other:?}, which wisp does not read"
            ))
        }
    };
    if crc32fast::hash(&data) != member.crc32() {
        return Err("damaged: its checksum does not match".into());
    }
    Ok(Some(data))
}

thread_local! {
    /// libdeflate's state, kept per thread like [`INFLATER`].
    static WHOLE_INFLATER: std::cell::RefCell<libdeflater::Decompressor> =
        std::cell::RefCell::new(libdeflater::Decompressor::new());
}

/// Expands raw deflate data, `None` past `limit` bytes; `expected` (from the
/// header, untrusted) sizes the first buffer.
pub(crate) fn inflate(input: &[u8], limit: u64, expected: u64) -> Result<Option<Vec<u8>>, String> {
    // Fast path: the whole member at once into a buffer of the header's size.
    // Anything else (a header that understates, damaged data) goes the streaming
    // way below, which alone decides errors and the limit.
    if expected <= limit.min(WHOLE_INFLATE_MAX) {
        let mut out = vec![0; expected as usize];
        let whole =
            WHOLE_INFLATER.with_borrow_mut(|inflater| inflater.deflate_decompress(input, &mut out));
        if let Ok(len) = whole {
            out.truncate(len);
            return Ok(Some(out));
        }
    }
    streaming_inflate(input, limit, expected)
}

/// Expands gzip data, every member of it; `None` past `limit` bytes.
fn gunzip(bytes: &[u8], limit: u64) -> Result<Option<Vec<u8>>, String> {
    // Fast path: one buffer of the size the last trailer gives, filled by
    // libdeflate, which stops after the first member and checks it against
    // its own trailer. It is kept only if it is also the whole file's last
    // member (its size and CRC-32 are the file's last eight bytes), so a file
    // of several members goes the streaming way below, which reads them all,
    // and alone decides errors and the limit.
    if let Some(trailer) = bytes.len().checked_sub(8).map(|at| &bytes[at..]) {
        let crc = u32::from_le_bytes(trailer[..4].try_into().expect("four bytes"));
        let size = u64::from(u32::from_le_bytes(
            trailer[4..].try_into().expect("four bytes"),
        ));
        if size <= limit.min(WHOLE_INFLATE_MAX) {
            let mut out = vec![0; size as usize];
            let whole = WHOLE_INFLATER
                .with_borrow_mut(|inflater| inflater.gzip_decompress(bytes, &mut out));
            if whole.is_ok_and(|len| len as u64 == size) && crc32fast::hash(&out) == crc {
                return Ok(Some(out));
            }
        }
    }
    let mut inner = Vec::new();
    match flate2::read::MultiGzDecoder::new(bytes)
        .take(limit + 1)
        .read_to_end(&mut inner)
    {
        Ok(read) if read as u64 > limit => Ok(None),
        Ok(_) => Ok(Some(inner)),
        Err(err) => Err(err.to_string()),
    }
}

/// The largest member the fast path expands in one buffer.
const WHOLE_INFLATE_MAX: u64 = 64 << 20;

/// [`inflate`] in steps, growing the output only as the data expands.
fn streaming_inflate(input: &[u8], limit: u64, expected: u64) -> Result<Option<Vec<u8>>, String> {
    use flate2::{FlushDecompress, Status};
    INFLATER.with_borrow_mut(|inflater| {
        inflater.reset(false);
        // The header's size is only a hint: a lying one gets no more than 16 MiB up front.
        let mut out = Vec::with_capacity(expected.min(limit).min(16 << 20) as usize + 1);
        loop {
            if out.len() as u64 > limit {
                return Ok(None);
            }
            if out.len() == out.capacity() {
                // Never more room than one byte past the limit: a bomb stops there.
                let room = (out.len().max(4096) as u64).min(limit + 1 - out.len() as u64);
                out.reserve_exact(room as usize);
            }
            let (read, written) = (inflater.total_in(), inflater.total_out());
            let status = inflater
                .decompress_vec(&input[read as usize..], &mut out, FlushDecompress::None)
                .map_err(|err| format!("damaged: {err}"))?;
            if status == Status::StreamEnd {
                // It may have ended just one byte past the limit.
                return Ok((out.len() as u64 <= limit).then_some(out));
            }
            if inflater.total_in() == read && inflater.total_out() == written {
                return Err("damaged: its data ends early".into());
            }
        }
    })
}

/// Whether the member `name` of a zip with extension `ext` can hold text wisp
/// reads (every member of a plain zip can).
fn office_part(ext: &str, name: &str) -> bool {
    let xml = name.ends_with(".xml");
    match ext {
        // Body, headers, footers, notes and comments; never styles, settings,
        // numbering, fonts or themes, which are most of a real document's XML.
        "docx" => name
            .strip_prefix("word/")
            .and_then(|part| part.strip_suffix(".xml"))
            .is_some_and(|part| {
                let stem = part.trim_end_matches(|c: char| c.is_ascii_digit());
                matches!(
                    stem,
                    "document" | "header" | "footer" | "footnotes" | "endnotes" | "comments"
                )
            }),
        // Slides and their speaker notes.
        "pptx" => {
            (name.starts_with("ppt/slides/slide") || name.starts_with("ppt/notesSlides/notesSlide"))
                && xml
        }
        // The styles say how numbers are shown (an SSN as 000-00-0000).
        "xlsx" => {
            name == "xl/sharedStrings.xml"
                || name == "xl/styles.xml"
                || name.starts_with("xl/worksheets/sheet") && xml
        }
        "odt" | "ods" => name == "content.xml",
        _ => true,
    }
}

fn display(name: &str) -> &str {
    if name.is_empty() {
        "file"
    } else {
        name
    }
}

/// Where a document format keeps its text.
struct TextMarkup {
    /// Each ends a paragraph, read as the end of a line.
    paragraphs: &'static [&'static str],
    /// Text is read only inside these (everywhere when empty).
    texts: &'static [&'static str],
    /// Empty elements that stand for white space: tabs and line breaks between
    /// a form's label and its value ("Name:<w:tab/>John") must not join them.
    spacing: &'static [(&'static str, char)],
}

const DOCX: TextMarkup = TextMarkup {
    paragraphs: &["w:p"],
    texts: &["w:t"],
    spacing: &[("w:tab", '\t'), ("w:br", '\n'), ("w:cr", '\n')],
};
const PPTX: TextMarkup = TextMarkup {
    paragraphs: &["a:p"],
    texts: &["a:t"],
    spacing: &[("a:br", '\n')],
};
const ODT: TextMarkup = TextMarkup {
    paragraphs: &["text:p", "text:h"],
    texts: &[],
    spacing: &[
        ("text:tab", '\t'),
        ("text:s", ' '),
        ("text:line-break", '\n'),
    ],
};

/// The text of a document part, a line break after each paragraph.
fn xml_text(xml: &[u8], markup: &TextMarkup) -> String {
    let is = |tags: &[&str], name: &[u8]| tags.iter().any(|t| t.as_bytes() == name);
    let mut out = String::new();
    let mut inside_text = 0usize;
    for token in tokens(xml) {
        let reading = markup.texts.is_empty() || inside_text > 0;
        match token {
            Token::Start { name, empty, .. } => {
                if !empty && is(markup.texts, name) {
                    inside_text += 1;
                }
                if let Some(&(_, space)) = markup.spacing.iter().find(|(t, _)| t.as_bytes() == name)
                {
                    out.push(space);
                }
            }
            Token::End { name } => {
                if is(markup.texts, name) {
                    inside_text = inside_text.saturating_sub(1);
                }
                if is(markup.paragraphs, name) {
                    out.push('\n');
                }
            }
            Token::Text(raw) if reading => {
                unescape_into(raw, &mut out);
            }
            Token::CData(raw) if reading => crate::read::push_utf8_lossy(&mut out, raw),
            _ => {}
        }
    }
    out
}

fn office_text(
    members: &[(String, Vec<u8>)],
    markup: &TextMarkup,
    name: &str,
    parts: &mut Vec<Part>,
) {
    // The members are the parts `office_part` picked.
    let mut selected: Vec<&(String, Vec<u8>)> = members.iter().collect();
    selected.sort_by_key(|a| natural(&a.0));
    for (member, xml) in selected {
        parts.push(Part {
            name: format!("{}!{member}", display(name)),
            // A document paragraph is often one line of a form ("Name: …",
            // "SSN: …"): lines, judged as records over nearby lines.
            content: Content::Text(xml_text(xml, markup)),
        });
    }
}

/// The delimiter of a ".csv" file: a comma, unless its first line holds
/// none and holds semicolons (as Excel writes CSV where the comma is the
/// decimal mark), tabs or pipes (as database exports do), the most of them.
fn csv_delimiter(text: &str) -> u8 {
    let first_line = text.lines().next().unwrap_or_default().as_bytes();
    let count = |delimiter: u8| first_line.iter().filter(|&&b| b == delimiter).count();
    if count(b',') > 0 {
        return b',';
    }
    [b';', b'\t', b'|']
        .into_iter()
        .map(|delimiter| (count(delimiter), delimiter))
        .filter(|&(n, _)| n > 0)
        .max_by_key(|&(n, _)| n)
        .map_or(b',', |(_, delimiter)| delimiter)
}

/// The records of a JSON document, or of JSON Lines (a value per line); `None`
/// if the text is neither, or is too large to parse whole.
///
/// Each object with scalar members is a record: its members, and those of the
/// objects nested in it (`"name": {"first": …, "last": …}`), each under its
/// own key; an array of scalars is one field, its items joined. An object in
/// an array is a record of its own (`{"employees": [{…}, {…}]}`).
fn json_records(text: &str) -> Option<Vec<KeyedRecord>> {
    // A parsed document takes several times its size: a larger one (a log,
    // a dump) is read as text, as it was before records, in its own size.
    const LARGEST_PARSED: usize = 64 << 20;
    if text.len() > LARGEST_PARSED {
        return None;
    }
    let values: Vec<serde_json::Value> = match serde_json::from_str(text) {
        Ok(value) => vec![value],
        Err(_) => text
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(serde_json::from_str)
            .collect::<Result<_, _>>()
            .ok()?,
    };
    let mut records = Vec::new();
    for value in &values {
        json_value_records(value, "", &mut records);
    }
    place_records(text, &mut records);
    Some(records)
}

fn json_value_records(value: &serde_json::Value, key: &str, records: &mut Vec<KeyedRecord>) {
    use serde_json::Value;
    match value {
        Value::Object(members) => {
            let mut fields = Vec::new();
            json_object_fields(members, &mut fields, records);
            if !fields.is_empty() {
                records.push(KeyedRecord { line: 0, fields });
            }
        }
        Value::Array(items) => {
            if let Some(joined) = json_array(items, key, records) {
                records.push(KeyedRecord {
                    line: 0,
                    fields: vec![(key.to_string(), joined)],
                });
            }
        }
        scalar => {
            if let Some(text) = json_scalar(scalar) {
                records.push(KeyedRecord {
                    line: 0,
                    fields: vec![(key.to_string(), text)],
                });
            }
        }
    }
}

/// The fields of one object into `fields`; the records of the objects in its
/// arrays into `records`.
fn json_object_fields(
    members: &serde_json::Map<String, serde_json::Value>,
    fields: &mut Vec<(String, String)>,
    records: &mut Vec<KeyedRecord>,
) {
    use serde_json::Value;
    for (key, value) in members {
        match value {
            Value::Object(nested) => json_object_fields(nested, fields, records),
            Value::Array(items) => {
                if let Some(joined) = json_array(items, key, records) {
                    fields.push((key.clone(), joined));
                }
            }
            scalar => {
                if let Some(text) = json_scalar(scalar) {
                    fields.push((key.clone(), text));
                }
            }
        }
    }
}

/// The scalars of an array under `key`, joined, if it has any; the records of
/// its containers into `records`.
fn json_array(
    items: &[serde_json::Value],
    key: &str,
    records: &mut Vec<KeyedRecord>,
) -> Option<String> {
    let mut scalars = Vec::new();
    for item in items {
        match json_scalar(item) {
            Some(text) => scalars.push(text),
            None => json_value_records(item, key, records),
        }
    }
    (!scalars.is_empty()).then(|| scalars.join(" | "))
}

/// A string or number as text; nothing for null, booleans and containers.
fn json_scalar(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// Gives each record the line where its first field's key is, searching on
/// from the record before: parsed values carry no positions, and samples name
/// a line. A record holding arrays of records comes after them in the list,
/// so its key is looked for back from there; the search goes on from where it
/// was.
fn place_records(text: &str, records: &mut [KeyedRecord]) {
    let bytes = text.as_bytes();
    let newlines =
        |range: std::ops::Range<usize>| memchr::memchr_iter(b'\n', &bytes[range]).count() as u64;
    let (mut cursor, mut line) = (0usize, 1u64);
    for record in records.iter_mut() {
        record.line = line;
        let Some((key, _)) = record.fields.first() else {
            continue;
        };
        let quoted = serde_json::to_string(key).unwrap_or_default();
        if let Some(at) = memchr::memmem::find(&bytes[cursor..], quoted.as_bytes()) {
            line += newlines(cursor..cursor + at);
            cursor += at;
            record.line = line;
        } else if let Some(at) = memchr::memmem::rfind(&bytes[..cursor], quoted.as_bytes()) {
            record.line = line - newlines(at..cursor);
        }
    }
}

/// Orders slide2 before slide10.
fn natural(name: &str) -> (String, u64) {
    let digits: String = name.chars().filter(char::is_ascii_digit).collect();
    (
        name.chars().filter(|c| !c.is_ascii_digit()).collect(),
        digits.parse().unwrap_or(0),
    )
}

/// Column index of a cell reference such as `C12` (A = 0), at most Excel's
/// last column (XFD): a corrupt reference must not make a row of billions of cells.
fn column_of(reference: &[u8]) -> usize {
    const LAST_COLUMN: usize = 16_383;
    reference
        .iter()
        .take_while(|b| b.is_ascii_alphabetic())
        .fold(0usize, |acc, b| {
            (acc * 26 + usize::from(b.to_ascii_uppercase() - b'A' + 1)).min(LAST_COLUMN + 1)
        })
        .saturating_sub(1)
}

/// The shared strings of a workbook, in order: the text runs of each `<si>`,
/// without phonetic guides (`<rPh>`).
fn shared_strings(xml: &[u8]) -> Vec<String> {
    let mut strings = Vec::new();
    let mut current = String::new();
    let (mut in_text, mut in_phonetic) = (false, false);
    for token in tokens(xml) {
        match token {
            Token::Start {
                name: b"si",
                empty: true,
                ..
            } => strings.push(String::new()),
            Token::Start {
                name, empty: false, ..
            } => match name {
                b"t" => in_text = true,
                b"rPh" => in_phonetic = true,
                _ => {}
            },
            Token::End { name } => match name {
                b"t" => in_text = false,
                b"rPh" => in_phonetic = false,
                b"si" => strings.push(std::mem::take(&mut current)),
                _ => {}
            },
            Token::Text(raw) if in_text && !in_phonetic => {
                unescape_into(raw, &mut current);
            }
            _ => {}
        }
    }
    strings
}

fn xlsx_sheets(members: Vec<(String, Vec<u8>)>, name: &str, parts: &mut Vec<Part>) {
    let member = |wanted: &str| {
        members
            .iter()
            .find(|(m, _)| m == wanted)
            .map(|(_, xml)| xml)
    };
    let book = std::sync::Arc::new(Workbook {
        shared: member("xl/sharedStrings.xml")
            .map(|xml| shared_strings(xml))
            .unwrap_or_default(),
        templates: member("xl/styles.xml")
            .map(|xml| style_templates(xml))
            .unwrap_or_default(),
    });
    let mut sheets: Vec<(String, Vec<u8>)> = members
        .into_iter()
        .filter(|(m, _)| m.starts_with("xl/worksheets/sheet") && m.ends_with(".xml"))
        .collect();
    sheets.sort_by_key(|a| natural(&a.0));
    for (member, xml) in sheets {
        parts.push(Part {
            name: format!("{}!{member}", display(name)),
            content: Content::Sheet {
                xml,
                book: std::sync::Arc::clone(&book),
            },
        });
    }
}

/// What a workbook says about the cells of its sheets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Workbook {
    /// The shared strings, by index.
    pub shared: Vec<String>,
    /// By cell style (a cell's `s`), the digit template its numbers are shown
    /// through, if it has one.
    pub templates: Vec<Option<DigitTemplate>>,
}

impl Workbook {
    fn template(&self, style: usize) -> Option<&DigitTemplate> {
        self.templates.get(style).and_then(Option::as_ref)
    }
}

/// A number format made of digit placeholders and literal characters only,
/// such as Excel's "Social Security Number" (`000-00-0000`) or "Zip Code + 4"
/// (`00000-0000`): the stored value lacks the leading zeros and dashes a
/// reader sees, and an SSN stored as 12345678 is shown as 012-34-5678.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigitTemplate(Vec<TemplatePiece>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TemplatePiece {
    /// `0`: a digit, or a zero where the number has none.
    Zero,
    /// `#`: a digit, or nothing.
    Digit,
    Literal(char),
}

impl DigitTemplate {
    /// The template of an Excel format code, if its first section (the one for
    /// positive numbers) is only placeholders and literals: no decimal point,
    /// grouping, exponent, percentage, colour or condition, date or text part.
    pub fn parse(code: &str) -> Option<DigitTemplate> {
        let section = code.split(';').next().unwrap_or_default();
        let mut pieces = Vec::new();
        let mut chars = section.chars();
        while let Some(c) = chars.next() {
            pieces.push(match c {
                '0' => TemplatePiece::Zero,
                '#' => TemplatePiece::Digit,
                '\\' => TemplatePiece::Literal(chars.next()?),
                '"' => {
                    for quoted in chars.by_ref() {
                        if quoted == '"' {
                            break;
                        }
                        pieces.push(TemplatePiece::Literal(quoted));
                    }
                    continue;
                }
                '-' | ' ' | '(' | ')' | '/' | ':' | '+' => TemplatePiece::Literal(c),
                _ => return None,
            });
        }
        let placeholders = pieces
            .iter()
            .filter(|p| !matches!(p, TemplatePiece::Literal(_)))
            .count();
        // Without a literal the digits are shown as stored, zeros aside; a
        // template that adds nothing is left out.
        let adds = pieces
            .iter()
            .any(|p| matches!(p, TemplatePiece::Literal(_)))
            || pieces.contains(&TemplatePiece::Zero);
        (placeholders > 0 && adds).then_some(DigitTemplate(pieces))
    }

    /// `digits` (a whole number's, most significant first) as the template
    /// shows them: placeholders filled from the right, zeros where `0` has no
    /// digit, and the digits beyond the placeholders before the first one.
    pub fn render(&self, digits: &str, out: &mut String) {
        let mut shown: Vec<char> = Vec::with_capacity(self.0.len() + digits.len());
        let mut left = digits.chars().rev();
        let first_placeholder = self
            .0
            .iter()
            .position(|p| !matches!(p, TemplatePiece::Literal(_)));
        for (at, piece) in self.0.iter().enumerate().rev() {
            match piece {
                TemplatePiece::Literal(c) => shown.push(*c),
                TemplatePiece::Zero | TemplatePiece::Digit => {
                    match left.next() {
                        Some(d) => shown.push(d),
                        None if *piece == TemplatePiece::Zero => shown.push('0'),
                        None => {}
                    }
                    if Some(at) == first_placeholder {
                        shown.extend(left.by_ref());
                    }
                }
            }
        }
        out.extend(shown.iter().rev());
    }
}

/// The digit templates of a workbook's cell styles (`cellXfs`), by index.
fn style_templates(xml: &[u8]) -> Vec<Option<DigitTemplate>> {
    let mut formats: Vec<(Vec<u8>, DigitTemplate)> = Vec::new();
    let mut templates = Vec::new();
    let mut in_cell_styles = false;
    let mut code = String::new();
    for token in tokens(xml) {
        match token {
            Token::Start {
                name: b"numFmt",
                attrs,
                ..
            } => {
                let (Some(id), Some(raw)) = (
                    attribute(attrs, b"numFmtId"),
                    attribute(attrs, b"formatCode"),
                ) else {
                    continue;
                };
                code.clear();
                if unescape_into(raw, &mut code) {
                    if let Some(template) = DigitTemplate::parse(&code) {
                        formats.push((id.to_vec(), template));
                    }
                }
            }
            Token::Start {
                name: b"cellXfs",
                empty,
                ..
            } => in_cell_styles = !empty,
            Token::End { name: b"cellXfs" } => in_cell_styles = false,
            Token::Start {
                name: b"xf", attrs, ..
            } if in_cell_styles => {
                let id = attribute(attrs, b"numFmtId");
                templates.push(
                    id.and_then(|id| formats.iter().find(|(f, _)| f.as_slice() == id))
                        .map(|(_, template)| template.clone()),
                );
            }
            _ => {}
        }
    }
    templates
}

/// The rows of one worksheet, shared strings and numbers as they are shown.
#[cfg(test)]
fn sheet_rows(xml: &[u8], book: &Workbook) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for_each_sheet_row(xml, book, &mut |row| rows.push(row.to_vec()));
    rows
}

/// Hands each row of a worksheet to `row`, in order, shared strings and numbers
/// as they are shown; a row without cells is handed over empty. One row's cells
/// are kept and reused: a sheet holds thousands of small cells.
pub fn for_each_sheet_row(xml: &[u8], book: &Workbook, row: &mut dyn FnMut(&[String])) {
    let mut cells = RowCells::default();
    let mut open = false;
    // The cell being read: its column, what its value is, and whether its
    // value or inline text is open.
    let (mut column, mut in_value) = (0usize, false);
    let mut kind = CellValue::Other;
    let mut value = String::new();
    for token in tokens(xml) {
        match token {
            Token::Start { name: b"row", .. } => {
                if open {
                    row(cells.as_slice());
                }
                cells.clear();
                open = true;
            }
            Token::Start {
                name: b"c",
                attrs,
                empty: false,
            } => {
                // One pass over the attributes; the first of a name counts.
                let (mut reference, mut type_, mut style) = (None, None, None);
                for (name, value) in attributes(attrs) {
                    match name {
                        b"r" => reference = reference.or(Some(value)),
                        b"t" => type_ = type_.or(Some(value)),
                        b"s" => style = style.or(Some(value)),
                        _ => {}
                    }
                }
                column = reference.map_or(0, column_of);
                kind = CellValue::of(type_, style, book);
            }
            Token::Start {
                name: b"v" | b"t",
                empty: false,
                ..
            } => in_value = true,
            Token::End { name: b"v" | b"t" } => in_value = false,
            Token::Text(raw) if in_value && open => {
                // Most values hold no reference and are taken as they stand;
                // text with a malformed reference is left out.
                let text = if xml::memchr(b'&', raw).is_none() {
                    xml::as_text(raw)
                } else {
                    value.clear();
                    unescape_into(raw, &mut value).then_some(value.as_str())
                };
                if let Some(text) = text {
                    put_cell(cells.cell(column), text, kind);
                }
            }
            _ => {}
        }
    }
    if open {
        row(cells.as_slice());
    }
}

/// What a cell's stored value is, from its `t` and `s` attributes.
#[derive(Debug, Clone, Copy)]
enum CellValue<'b> {
    /// An index into the shared strings.
    Shared(&'b [String]),
    /// A number shown through a digit template.
    Templated(&'b DigitTemplate),
    /// Anything else: a number shown as stored, inline or formula text, a
    /// boolean or an error.
    Other,
}

impl<'b> CellValue<'b> {
    fn of(type_: Option<&[u8]>, style: Option<&[u8]>, book: &'b Workbook) -> CellValue<'b> {
        match type_ {
            Some(b"s") => CellValue::Shared(&book.shared),
            // A number: no type, or "n".
            None | Some(b"n") => style
                .and_then(|s| std::str::from_utf8(s).ok()?.parse::<usize>().ok())
                .and_then(|s| book.template(s))
                .map_or(CellValue::Other, CellValue::Templated),
            Some(_) => CellValue::Other,
        }
    }
}

/// One row's cells, kept from row to row with their buffers.
#[derive(Default)]
struct RowCells {
    cells: Vec<String>,
    /// How many of `cells` belong to the current row.
    len: usize,
}

impl RowCells {
    fn clear(&mut self) {
        self.len = 0;
    }

    /// The cell at `column`, the row widened with empty cells up to it.
    fn cell(&mut self, column: usize) -> &mut String {
        while self.len <= column {
            match self.cells.get_mut(self.len) {
                Some(cell) => cell.clear(),
                None => self.cells.push(String::new()),
            }
            self.len += 1;
        }
        &mut self.cells[column]
    }

    fn as_slice(&self) -> &[String] {
        &self.cells[..self.len]
    }
}

/// Appends a cell's value to `cell` as a spreadsheet shows it: a shared string
/// by its index, a whole number in scientific notation by its digits, and a
/// whole number with a digit template through it.
fn put_cell(cell: &mut String, value: &str, kind: CellValue) {
    if let CellValue::Shared(shared) = kind {
        if let Some(text) = value
            .trim()
            .parse::<usize>()
            .ok()
            .and_then(|i| shared.get(i))
        {
            cell.push_str(text);
        }
        return;
    }
    let whole = |value: &str| match value.parse::<f64>() {
        Ok(n) if n.fract() == 0.0 && (0.0..1e19).contains(&n) => Some(n as u64),
        _ => None,
    };
    match kind {
        CellValue::Templated(template) => match whole(value) {
            Some(n) => template.render(&n.to_string(), cell),
            None => cell.push_str(value),
        },
        // Numbers may be stored as 1.23456789E+8: give whole numbers back their digits.
        _ if value.contains(['E', 'e']) => match whole(value) {
            Some(n) => cell.push_str(&n.to_string()),
            None => cell.push_str(value),
        },
        _ => cell.push_str(value),
    }
}

fn ods_rows(members: &[(String, Vec<u8>)], name: &str, parts: &mut Vec<Part>) {
    let Some((_, xml)) = members.iter().find(|(m, _)| m == "content.xml") else {
        return;
    };
    let mut rows: Vec<Vec<String>> = Vec::new();
    // The cell being read: its repeat count, office:value, and visible text.
    let mut cell: Option<(usize, String, String)> = None;
    let cell_start = |attrs: &[u8]| {
        let text = |key: &[u8]| attribute(attrs, key).map(String::from_utf8_lossy);
        // Empty trailing cells repeat thousands of times; content does not.
        let repeat = text(b"table:number-columns-repeated")
            .and_then(|n| n.parse().ok())
            .unwrap_or(1usize)
            .min(64);
        let value = text(b"office:value").unwrap_or_default().into_owned();
        (repeat, value, String::new())
    };
    let finish = |rows: &mut Vec<Vec<String>>, (repeat, value, text): (usize, String, String)| {
        // What the person sees wins over the stored value.
        let shown = if text.is_empty() { value } else { text };
        if let Some(row) = rows.last_mut() {
            row.extend(std::iter::repeat_n(shown, repeat));
        }
    };
    for token in tokens(xml) {
        match token {
            Token::Start {
                name: b"table:table-row",
                empty: false,
                ..
            } => rows.push(Vec::new()),
            Token::Start {
                name: b"table:table-cell",
                attrs,
                empty,
            } => {
                if empty {
                    finish(&mut rows, cell_start(attrs));
                } else {
                    cell = Some(cell_start(attrs));
                }
            }
            Token::End {
                name: b"table:table-cell",
            } => {
                if let Some(done) = cell.take() {
                    finish(&mut rows, done);
                }
            }
            Token::Text(raw) => {
                if let Some((_, _, text)) = cell.as_mut() {
                    unescape_into(raw, text);
                }
            }
            _ => {}
        }
    }
    parts.push(Part {
        name: format!("{}!content.xml", display(name)),
        content: Content::Rows(rows),
    });
}

fn tar_members(
    name: &str,
    bytes: &[u8],
    depth: u32,
    budget: &mut Budget,
    parts: &mut Vec<Part>,
    notes: &mut Vec<Note>,
) {
    let mut archive = tar::Archive::new(bytes);
    let Ok(entries) = archive.entries() else {
        notes.push(format!("{}: not a readable tar archive", display(name)));
        return;
    };
    for entry in entries {
        let Ok(mut entry) = entry else { break };
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let member = entry
            .path()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        if entry.size() > budget.remaining {
            notes.push(format!(
                "{}!{member}: beyond the expansion limit; not read",
                display(name)
            ));
            continue;
        }
        let mut data = Vec::new();
        if entry.read_to_end(&mut data).is_ok() {
            budget.remaining -= data.len() as u64;
            let inner = if name.is_empty() {
                member
            } else {
                format!("{name}!{member}")
            };
            extract(&inner, &data, depth + 1, budget, parts, notes);
        }
    }
}

/// The text of a PDF's pages. The parser can panic on malformed files; that is
/// contained and reported, so one broken PDF does not stop a scan.
fn pdf(name: &str, bytes: &[u8], limit: u64, parts: &mut Vec<Part>, notes: &mut Vec<Note>) {
    // wisp's own reader first; pdf-extract for the fonts it does not decode.
    let result = std::panic::catch_unwind(|| {
        crate::pdf::pages(bytes, limit).or_else(|unread| match unread {
            crate::pdf::Unread::Broken(why) => Err(why),
            crate::pdf::Unread::Unsupported => pdf_extract::extract_text_from_mem_by_pages(bytes)
                .map(|pages| crate::pdf::Text { pages, refused: 0 })
                .map_err(|e| e.to_string()),
        })
    });
    match result {
        Ok(Ok(crate::pdf::Text { pages, refused })) => {
            if refused > 0 {
                notes.push(format!(
                    "{}: {refused} of its content streams expand beyond the limit (decompression bomb?); not read",
                    display(name)
                ));
            }
            for (index, page) in pages.into_iter().enumerate() {
                parts.push(Part {
                    name: format!("{}!page {}", display(name), index + 1),
                    content: Content::Text(page),
                });
            }
        }
        Ok(Err(err)) => notes.push(format!("{}: cannot read the PDF: {err}", display(name))),
        Err(_) => notes.push(format!("{}: the PDF is malformed; not read", display(name))),
    }
}

fn looks_like_mail(bytes: &[u8]) -> bool {
    const HEADERS: [&[u8]; 7] = [
        b"from:",
        b"to:",
        b"subject:",
        b"date:",
        b"received:",
        b"message-id:",
        b"mime-version:",
    ];
    let head = &bytes[..bytes.len().min(2048)];
    // Every file not named as mail is asked this, so lines are cut by memchr
    // and only a line starting with a header's letter is compared.
    let mut headers = 0;
    let mut rest = Some(head);
    for _ in 0..30 {
        let Some(text) = rest else { break };
        let line = match memchr::memchr(b'\n', text) {
            Some(end) => {
                rest = Some(&text[end + 1..]);
                &text[..end]
            }
            None => {
                rest = None;
                text
            }
        };
        let may_be_header = matches!(
            line.first().map(u8::to_ascii_lowercase),
            Some(b'f' | b't' | b's' | b'd' | b'r' | b'm')
        );
        if may_be_header
            && HEADERS
                .iter()
                .any(|h| line.len() >= h.len() && line[..h.len()].eq_ignore_ascii_case(h))
        {
            headers += 1;
        }
    }
    headers >= 3
}

/// Splits an mbox at its "From " separator lines.
fn split_mbox(bytes: &[u8]) -> Vec<&[u8]> {
    let mut starts: Vec<usize> = Vec::new();
    let mut at = 0;
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b"From ") {
            starts.push(at);
        }
        at += line.len();
    }
    starts
        .iter()
        .enumerate()
        .map(|(i, &start)| {
            let body_start = bytes[start..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(bytes.len(), |p| start + p + 1);
            let end = starts.get(i + 1).copied().unwrap_or(bytes.len());
            &bytes[body_start.min(end)..end]
        })
        .collect()
}

fn mail(
    name: &str,
    bytes: &[u8],
    depth: u32,
    budget: &mut Budget,
    parts: &mut Vec<Part>,
    notes: &mut Vec<Note>,
) {
    use mail_parser::MimeHeaders;
    if let Some(text) = plain_message_text(bytes) {
        parts.push(Part {
            name: name.to_string(),
            content: Content::Record(text),
        });
        return;
    }
    let Some(message) = mail_parser::MessageParser::default().parse(bytes) else {
        notes.push(format!("{}: not a readable e-mail message", display(name)));
        return;
    };
    let mut text = heading_text(&message.root_part().headers);
    let mut index = 0;
    while let Some(body) = message.body_text(index) {
        text.push_str(&body);
        text.push('\n');
        index += 1;
    }
    parts.push(Part {
        name: name.to_string(),
        content: Content::Record(text),
    });
    for attachment in message.attachments() {
        let attachment_name = attachment.attachment_name().unwrap_or("attachment");
        let inner = if name.is_empty() {
            attachment_name.to_string()
        } else {
            format!("{name}!{attachment_name}")
        };
        if depth >= budget.max_depth {
            notes.push(format!("{inner}: nested too deep; not read"));
            continue;
        }
        if let Some(inner_message) = attachment.message() {
            let raw = inner_message.raw_message();
            mail(&inner, raw, depth + 1, budget, parts, notes);
        } else {
            extract(
                &inner,
                attachment.contents(),
                depth + 1,
                budget,
                parts,
                notes,
            );
        }
    }
}

/// The start of a message's record: the people in From and To, and the
/// subject. Headers and bodies of one message are one record: a name in From
/// or To with a number in the body is PI.
fn heading_text(headers: &Vec<mail_parser::Header<'_>>) -> String {
    use mail_parser::{GetHeader, HeaderName};
    let mut text = String::new();
    for field in [HeaderName::From, HeaderName::To] {
        let Some(address) = headers.header_value(&field).and_then(|v| v.as_address()) else {
            continue;
        };
        for addr in address.iter() {
            if let Some(person) = addr.name() {
                text.push_str(person);
                text.push('\n');
            }
        }
    }
    if let Some(subject) = headers
        .header_value(&HeaderName::Subject)
        .and_then(|v| v.as_text())
    {
        text.push_str(subject);
        text.push('\n');
    }
    text
}

/// The record of a message that is one text/plain part in UTF-8 (or with no
/// charset), quoted-printable or not encoded, without a disposition: the
/// commonest plain message, whose body is decoded here, as mail-parser
/// would decode it, at a fraction of its cost (its quoted-printable decoder
/// took about 30 instructions a byte). Any other message, and a body whose
/// encoding is broken, is left to mail-parser: `None`.
fn plain_message_text(bytes: &[u8]) -> Option<String> {
    use mail_parser::{parsers::MessageStream, GetHeader, HeaderName, HeaderValue};
    let mut stream = MessageStream::new(bytes);
    let mut headers = Vec::new();
    if !stream.parse_headers(&mail_parser::MessageParser::default(), &mut headers) {
        return None;
    }
    let body = &bytes[stream.offset()..];
    if headers
        .header_value(&HeaderName::ContentDisposition)
        .is_some()
    {
        return None;
    }
    if let Some(value) = headers.header_value(&HeaderName::ContentType) {
        let content_type = value.as_content_type()?;
        let utf8 = content_type
            .attribute("charset")
            .is_none_or(|charset| charset.eq_ignore_ascii_case("utf-8"));
        if !(content_type.ctype() == "text" && content_type.subtype() == Some("plain") && utf8) {
            return None;
        }
    }
    let decoded;
    let body = match headers.header_value(&HeaderName::ContentTransferEncoding) {
        Some(HeaderValue::Text(encoding)) if encoding.eq_ignore_ascii_case("quoted-printable") => {
            decoded = decode_quoted_printable(body)?;
            &decoded[..]
        }
        Some(HeaderValue::Text(encoding)) if encoding.eq_ignore_ascii_case("base64") => {
            return None;
        }
        _ => body,
    };
    let mut text = heading_text(&headers);
    crate::read::push_utf8_lossy(&mut text, body);
    text.push('\n');
    Some(text)
}

/// A quoted-printable body to its end, decoded as mail-parser decodes one:
/// soft line breaks joined, white space at line ends dropped, lines ended as
/// the body's first CR-LF or LF shows, and a malformed escape kept as it
/// stands. `None` where mail-parser would call the encoding broken (a second
/// `=` inside an escape).
fn decode_quoted_printable(body: &[u8]) -> Option<Vec<u8>> {
    #[derive(PartialEq)]
    enum State {
        Text,
        /// After `=`.
        Escape,
        /// After `=` and one hex digit.
        Half(u8),
    }
    let hex = |byte: u8| char::from(byte).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(body.len());
    let mut line_end: &[u8] = b"\n";
    let mut state = State::Text;
    // White space at the end of what was written since the last line break.
    let mut trailing_space = 0;
    let mut previous = 0u8;
    let mut at = 0;
    while at < body.len() {
        if state == State::Text {
            // A run of plain bytes is copied at once.
            let run = memchr::memchr3(b'=', b'\n', b'\r', &body[at..]).unwrap_or(body.len() - at);
            if run > 0 {
                let plain = &body[at..at + run];
                out.extend_from_slice(plain);
                let spaces = plain
                    .iter()
                    .rev()
                    .take_while(|b| b.is_ascii_whitespace())
                    .count();
                trailing_space = if spaces == run {
                    trailing_space + run
                } else {
                    spaces
                };
                previous = plain[run - 1];
                at += run;
                continue;
            }
        }
        let byte = body[at];
        at += 1;
        match byte {
            b'=' if state == State::Text => state = State::Escape,
            b'=' => return None,
            b'\n' => {
                if state == State::Escape {
                    state = State::Text;
                } else {
                    out.truncate(out.len() - trailing_space);
                    out.extend_from_slice(line_end);
                }
                trailing_space = 0;
            }
            b'\r' => line_end = b"\r\n",
            _ => match state {
                State::Text => {
                    out.push(byte);
                    trailing_space = if byte.is_ascii_whitespace() {
                        trailing_space + 1
                    } else {
                        0
                    };
                }
                State::Escape => match hex(byte) {
                    Some(high) => state = State::Half(high),
                    None if byte.is_ascii_whitespace() => {}
                    None => {
                        out.extend_from_slice(&[b'=', byte]);
                        trailing_space = 0;
                        state = State::Text;
                    }
                },
                State::Half(high) => {
                    match hex(byte) {
                        Some(low) => out.push(high << 4 | low),
                        None => out.extend_from_slice(&[b'=', previous, byte]),
                    }
                    trailing_space = 0;
                    state = State::Text;
                }
            },
        }
        previous = byte;
    }
    Some(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Write;

    use super::*;
    use crate::read::scan_file;

    fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let mut writer = zip::ZipWriter::new(&mut out);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in members {
            writer.start_file(*name, options).unwrap();
            writer.write_all(data).unwrap();
        }
        writer.finish().unwrap();
        out.into_inner()
    }

    fn scan_bytes(name: &str, bytes: &[u8]) -> crate::FileReport {
        let dir = std::env::temp_dir().join(format!("wisp-extract-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let report = scan_file(&path);
        std::fs::remove_dir_all(&dir).unwrap();
        report
    }

    const DOCX_BODY: &[u8] = br#"<w:document><w:body><w:p><w:r><w:t>Employee: Jane Doe</w:t></w:r></w:p><w:p><w:r><w:t>SSN 123-45-6788 &amp; more</w:t></w:r></w:p></w:body></w:document>"#;

    #[test]
    fn only_the_text_parts_of_a_document_are_read() {
        let para = |text: &str| format!("<w:p><w:r><w:t>{text}</w:t></w:r></w:p>");
        let header = para("Jane Doe SSN 123-45-6780");
        let styles = para("style 234-56-7891");
        let docx = zip_of(&[
            ("word/document.xml", DOCX_BODY),
            ("word/header1.xml", header.as_bytes()),
            ("word/styles.xml", styles.as_bytes()),
            ("word/theme/theme1.xml", styles.as_bytes()),
        ]);
        let report = scan_bytes("letter.docx", &docx);
        assert_eq!(
            report.findings.counts.ssn, 2,
            "body and header, not styles or theme"
        );

        let slide = |text: &str| format!("<p:sld><a:p><a:r><a:t>{text}</a:t></a:r></a:p></p:sld>");
        let pptx = zip_of(&[
            (
                "ppt/slides/slide1.xml",
                slide("Quarterly results").as_bytes(),
            ),
            (
                "ppt/notesSlides/notesSlide1.xml",
                slide("Call Jane Doe, SSN 123-45-6780").as_bytes(),
            ),
        ]);
        let report = scan_bytes("deck.pptx", &pptx);
        assert_eq!(report.findings.counts.ssn, 1, "speaker notes are read");
        assert!(report.findings.holds_pi());
    }

    #[test]
    fn tabs_and_breaks_keep_a_form_s_words_apart() {
        let body = br#"<w:document><w:body><w:p><w:r><w:t>Name:</w:t><w:tab/><w:t>John</w:t><w:tab/><w:t>Smith</w:t><w:br/><w:t>SSN:</w:t><w:tab/><w:t>123-45-6780</w:t></w:r></w:p></w:body></w:document>"#;
        let docx = zip_of(&[("word/document.xml", body)]);
        let report = scan_bytes("form.docx", &docx);
        assert_eq!(report.findings.counts.names, 1, "{report:?}");
        assert!(report.findings.holds_pi());
        let text = xml_text(body, &DOCX);
        assert_eq!(text, "Name:\tJohn\tSmith\nSSN:\t123-45-6780\n");
    }

    #[test]
    fn docx_paragraphs() {
        let docx = zip_of(&[
            ("word/document.xml", DOCX_BODY),
            ("[Content_Types].xml", b"<Types/>"),
        ]);
        let report = scan_bytes("letter.docx", &docx);
        assert_eq!(report.kind, crate::FileKind::Office);
        assert_eq!(report.findings.counts.ssn, 1);
        assert!(report.findings.holds_pi(), "{report:?}");
        assert_eq!(
            report.findings.samples[0].part.as_deref(),
            Some("letter.docx!word/document.xml")
        );
    }

    #[test]
    fn xlsx_rows_with_shared_strings_and_numbers() {
        let shared = br#"<sst><si><t>Customer Name</t></si><si><t>Card Number</t></si><si><t>Ann Lee</t></si></sst>"#;
        // The card is a numeric cell, as Excel stores long numbers typed without quotes.
        let sheet = br#"<worksheet><sheetData>
            <row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>
            <row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2"><v>4111111111111111</v></c></row>
        </sheetData></worksheet>"#;
        let xlsx = zip_of(&[
            ("xl/sharedStrings.xml", shared),
            ("xl/worksheets/sheet1.xml", sheet),
        ]);
        let report = scan_bytes("customers.xlsx", &xlsx);
        assert_eq!(report.findings.counts.card, 1, "{report:?}");
        assert_eq!(report.findings.counts.names, 1);
        assert!(report.findings.holds_pi());
    }

    #[test]
    fn digit_templates_show_numbers_as_excel_does() {
        let shown = |code: &str, digits: &str| {
            let mut out = String::new();
            DigitTemplate::parse(code)
                .unwrap_or_else(|| panic!("{code} is a template"))
                .render(digits, &mut out);
            out
        };
        // Excel's "Social Security Number" and "Zip Code + 4", as it writes them.
        assert_eq!(shown(r"000\-00\-0000", "12345678"), "012-34-5678");
        assert_eq!(shown(r"000\-00\-0000", "123456789"), "123-45-6789");
        assert_eq!(shown("00000\\-0000", "15552222"), "01555-2222");
        assert_eq!(shown("000-00-0000", "5"), "000-00-0005");
        // Digits beyond the placeholders go before the first; `#` shows none.
        assert_eq!(shown("00-00", "123456"), "1234-56");
        assert_eq!(shown("###-####", "5"), "-5");
        assert_eq!(shown("\"ID \"0000", "42"), "ID 0042");
        assert_eq!(shown("0000000;-0000000", "42"), "0000042");
        for not_a_template in [
            "General",
            "0.00",
            "#,##0",
            "0%",
            "0.00E+00",
            "mm/dd/yy",
            "@",
            "[Red]0",
            "#",
            "",
            "[<=9999999]###-####;(###) ###-####",
        ] {
            assert_eq!(
                DigitTemplate::parse(not_a_template),
                None,
                "{not_a_template}"
            );
        }
    }

    #[test]
    fn an_ssn_column_formatted_as_excel_does_keeps_its_leading_zero() {
        // Excel stores 012-34-5678 typed into an SSN-formatted cell as the
        // number 12345678, shown through the custom format 164.
        let styles = br#"<styleSheet><numFmts count="1"><numFmt numFmtId="164" formatCode="000\-00\-0000"/></numFmts>
            <cellStyleXfs count="1"><xf numFmtId="164"/></cellStyleXfs>
            <cellXfs count="2"><xf numFmtId="0" fontId="0"/><xf numFmtId="164" applyNumberFormat="1"/></cellXfs></styleSheet>"#;
        let sheet = br#"<worksheet><sheetData>
            <row r="1"><c r="A1" t="inlineStr"><is><t>Employee</t></is></c><c r="B1" t="inlineStr"><is><t>Notes</t></is></c></row>
            <row r="2"><c r="A2" t="inlineStr"><is><t>Ann Lee</t></is></c><c r="B2" s="1"><v>12345678</v></c></row>
            <row r="3"><c r="A3" t="inlineStr"><is><t>Bo Chan</t></is></c><c r="B3" s="0"><v>12345679</v></c></row>
        </sheetData></worksheet>"#;
        let book = Workbook {
            shared: Vec::new(),
            templates: style_templates(styles),
        };
        assert_eq!(
            book.templates.len(),
            2,
            "cell styles only: {:?}",
            book.templates
        );
        assert_eq!(
            sheet_rows(sheet, &book),
            [
                vec!["Employee", "Notes"],
                vec!["Ann Lee", "012-34-5678"],
                vec!["Bo Chan", "12345679"],
            ]
        );
        let xlsx = zip_of(&[
            ("xl/styles.xml", styles),
            ("xl/worksheets/sheet1.xml", sheet),
        ]);
        let report = scan_bytes("staff.xlsx", &xlsx);
        assert_eq!(report.findings.counts.ssn, 1, "{report:?}");
        assert!(report.findings.holds_pi());
    }

    #[test]
    fn a_csv_file_may_be_delimited_by_semicolons_tabs_or_pipes() {
        for (text, delimiter) in [
            ("Name,SSN\nAnn Lee,234567891\n", b','),
            ("Name;SSN;Note\nAnn Lee;234567891;a, b\n", b';'),
            ("Name\tSSN\nAnn Lee\t234567891\n", b'\t'),
            ("Name|SSN|Phone\nAnn Lee|234567891|508\n", b'|'),
            // A header with commas is comma-separated whatever its cells hold.
            ("Name,Notes\nAnn Lee,\"a; b; c\"\n", b','),
            ("justoneword\n", b','),
            ("", b','),
        ] {
            assert_eq!(csv_delimiter(text), delimiter, "{text:?}");
        }
        let report = scan_bytes(
            "export.csv",
            b"Employee Name;SSN;Amount\nAnn Lee;234567891;12,50\n",
        );
        assert_eq!(report.findings.counts.ssn, 1, "{report:?}");
        assert!(report.findings.holds_pi());
    }

    #[test]
    fn json_objects_are_records_labelled_by_their_keys() {
        let document = br#"{
  "company": "Acme",
  "employees": [
    {
      "name": {"first": "John", "last": "Smith"},
      "ssn": "234567891",
      "phones": ["508-555-1212", "508-555-3434"]
    },
    {"firstName": "Mary", "lastName": "Jones", "accountNumber": 12345678901},
    {"productName": "Widget", "orderNumber": 234567892}
  ]
}"#;
        let text = std::str::from_utf8(document).unwrap();
        let records = json_records(text).unwrap();
        assert_eq!(records.len(), 4, "{records:?}");
        assert!(records.iter().any(|r| r.fields
            == [
                ("first".to_string(), "John".to_string()),
                ("last".into(), "Smith".into()),
                ("phones".into(), "508-555-1212 | 508-555-3434".into()),
                ("ssn".into(), "234567891".into()),
            ]
            && r.line == 5));
        let report = scan_bytes("staff.json", document);
        let counts = report.findings.counts;
        // A bare nine-digit SSN counts under its key; the order number does not.
        assert_eq!(
            (counts.ssn, counts.account, counts.names),
            (1, 1, 2),
            "{report:?}"
        );
        assert_eq!(report.findings.pi_records, 2);
        let lines: Vec<u64> = report.findings.samples.iter().map(|s| s.line).collect();
        // A sample names the line where its record starts.
        assert_eq!(lines, [5, 9], "{report:?}");
    }

    #[test]
    fn json_lines_are_records_and_what_is_not_json_is_text() {
        let lines = b"{\"full_name\":\"Linda Davis\",\"card\":\"4111111111111111\"}\n\n{\"customer\":\"Bob Brown\"}\n";
        let report = scan_bytes("events.jsonl", lines);
        assert_eq!(report.findings.counts.card, 1, "{report:?}");
        assert_eq!(report.findings.counts.names, 2);
        assert!(report.findings.holds_pi());
        // Cut short: still read, as text.
        let broken = b"{\"note\": \"Jane Doe, SSN 234-56-7891\", ";
        let report = scan_bytes("cut.json", broken);
        assert_eq!(report.findings.counts.ssn, 1, "{report:?}");
        assert!(report.findings.holds_pi());
    }

    /// `looks_like_mail` as first written: the specification.
    fn looks_like_mail_reference(bytes: &[u8]) -> bool {
        const HEADERS: [&[u8]; 7] = [
            b"from:",
            b"to:",
            b"subject:",
            b"date:",
            b"received:",
            b"message-id:",
            b"mime-version:",
        ];
        let head = &bytes[..bytes.len().min(2048)];
        let headers = head
            .split(|&b| b == b'\n')
            .take(30)
            .filter(|line| {
                HEADERS
                    .iter()
                    .any(|h| line.len() >= h.len() && line[..h.len()].eq_ignore_ascii_case(h))
            })
            .count();
        headers >= 3
    }

    /// A message's record as mail-parser alone makes it: the specification
    /// `plain_message_text` keeps to.
    fn record_by_parser(bytes: &[u8]) -> Option<String> {
        let message = mail_parser::MessageParser::default().parse(bytes)?;
        let mut text = String::new();
        for address in [message.from(), message.to()].into_iter().flatten() {
            for addr in address.iter() {
                if let Some(person) = addr.name() {
                    text.push_str(&format!("{person}\n"));
                }
            }
        }
        if let Some(subject) = message.subject() {
            text.push_str(subject);
            text.push('\n');
        }
        let mut index = 0;
        while let Some(body) = message.body_text(index) {
            text.push_str(&body);
            text.push('\n');
            index += 1;
        }
        Some(text)
    }

    #[test]
    fn plain_messages_are_read_as_mail_parser_reads_them() {
        const HEADERS: &[&str] = &[
            "From: Jane Doe <jane@example.com>",
            "From: =?utf-8?q?Jos=C3=A9_Smith?= <js@example.com>",
            "To: John Roe <john@example.com>, Mary Major <mary@example.com>",
            "To: records@example.com",
            "Subject: payroll",
            "Subject: =?utf-8?b?U1NOIGxpc3Q=?=",
            "Date: Tue, 1 Dec 2026 10:00:00 +0000",
            "MIME-Version: 1.0",
            "Content-Type: text/plain",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Type: text/plain; charset=\"UTF-8\"",
            "Content-Type: text/plain; charset=iso-8859-1",
            "Content-Type: text/plain; name=notes.txt",
            "Content-Type: text/html; charset=utf-8",
            "Content-Type: TEXT/PLAIN",
            "Content-Type: multipart/mixed; boundary=XX",
            "Content-Transfer-Encoding: quoted-printable",
            "Content-Transfer-Encoding: Quoted-Printable",
            "Content-Transfer-Encoding: 7bit",
            "Content-Transfer-Encoding: base64",
            "Content-Disposition: attachment; filename=a.txt",
            "Content-Disposition: inline",
        ];
        const BODY: &[&str] = &[
            "SSN 123-45-6788",
            "Smith",
            " ",
            "  ",
            "\t",
            "\x0c",
            "\n",
            "\r\n",
            "\r",
            // White space on both sides of a lone CR: one run of it to drop.
            " \r\t",
            "=",
            "=\n",
            "=\r\n",
            "= \n",
            "=41",
            "=4",
            "=c3=a9",
            "=C3=A9",
            "=G1",
            "=4G",
            "==",
            "=\t",
            "=  x",
            "\u{e9}",
            "\u{ff}",
            "--XX",
            "a=",
            "4111 1111 1111 1111",
        ];
        let mut rng = crate::test_rng::Rng(0x510e_527f_ade6_82d1);
        let mut plain = 0;
        for _ in 0..30_000 {
            let newline = if rng.below(4) == 0 { "\r\n" } else { "\n" };
            let mut message = Vec::new();
            for _ in 0..rng.below(7) {
                message.extend_from_slice(
                    HEADERS[rng.below(HEADERS.len() as u64) as usize].as_bytes(),
                );
                message.extend_from_slice(newline.as_bytes());
            }
            if rng.below(10) != 0 {
                message.extend_from_slice(newline.as_bytes());
            }
            for _ in 0..rng.below(30) {
                message.extend_from_slice(BODY[rng.below(BODY.len() as u64) as usize].as_bytes());
            }
            // Now and then a byte that is not UTF-8.
            if rng.below(8) == 0 {
                message.push(0xc3);
            }
            if let Some(text) = plain_message_text(&message) {
                plain += 1;
                assert_eq!(
                    Some(text),
                    record_by_parser(&message),
                    "{:?}",
                    String::from_utf8_lossy(&message)
                );
            }
        }
        assert!(plain > 5_000, "only {plain} plain messages");
    }

    #[test]
    fn mail_is_told_as_first_specified() {
        const LINES: [&str; 12] = [
            "From: Jane Doe <jane@example.com>",
            "TO: john@example.com",
            "subject: payroll",
            "Date: Tue, 1 Dec 2026 10:00:00 +0000",
            "Received: from mx",
            "Message-ID: <1@x>",
            "MIME-Version: 1.0",
            "X-Mailer: x",
            "",
            "Dear John,",
            "from",
            "To",
        ];
        let mut rng = crate::test_rng::Rng(0x2545_f491_4f6c_dd1d);
        let mut mail = 0;
        for _ in 0..20_000 {
            let mut text = String::new();
            for _ in 0..rng.below(40) {
                text.push_str(LINES[rng.below(LINES.len() as u64) as usize]);
                text.push(if rng.below(8) == 0 { '\r' } else { '\n' });
            }
            let bytes = text.as_bytes();
            let expected = looks_like_mail_reference(bytes);
            mail += usize::from(expected);
            assert_eq!(looks_like_mail(bytes), expected, "{text:?}");
        }
        assert!(mail > 2_000 && mail < 18_000, "{mail}");
    }

    #[test]
    fn a_sheet_row_keeps_nothing_of_the_row_before() {
        let sheet = br#"<worksheet><sheetData>
            <row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c><c r="B1"><v>1</v></c><c r="D1"><v>4</v></c></row>
            <row r="2"><c r="C2"><v>3</v></c></row>
            <row r="3"/>
            <row r="4"><c r="B4"><v>2</v></c><c r="B4"><v>2</v></c></row>
        </sheetData></worksheet>"#;
        assert_eq!(
            sheet_rows(sheet, &Workbook::default()),
            [
                vec!["a", "1", "", "4"],
                vec!["", "", "3"],
                vec![],
                vec!["", "22"],
            ]
        );
    }

    #[test]
    fn nested_archives_and_gzip() {
        let inner = zip_of(&[("hr/staff.csv", b"Name,SSN\nJane Doe,123-45-6788\n")]);
        let outer = zip_of(&[
            ("backup/inner.zip", &inner),
            ("readme.txt", b"nothing here"),
        ]);
        let report = scan_bytes("outer.zip", &outer);
        assert_eq!(report.kind, crate::FileKind::Archive);
        assert_eq!(report.findings.counts.ssn, 1);
        assert!(report.findings.holds_pi());
        assert_eq!(
            report.findings.samples[0].part.as_deref(),
            Some("outer.zip!backup/inner.zip!hr/staff.csv")
        );
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(b"Dear John Smith, your SSN 123-45-6788.")
            .unwrap();
        let report = scan_bytes("note.txt.gz", &gz.finish().unwrap());
        assert!(report.findings.holds_pi(), "{report:?}");
    }

    #[test]
    fn pdf_text() {
        let pdf = crate::pdf::tests::document(
            b"BT /F1 12 Tf 72 700 Td (Employee Jane Doe, SSN 123-45-6788) Tj ET",
            &[],
            &[],
            |_| {},
        );
        let report = scan_bytes("form.pdf", &pdf);
        assert_eq!(report.kind, crate::FileKind::Pdf);
        assert_eq!(report.findings.counts.ssn, 1, "{report:?}");
        assert!(report.findings.holds_pi());
        // A font wisp's reader does not decode: pdf-extract reads the document.
        let composite = scan_bytes("cid.pdf", &crate::pdf::tests::composite(false));
        assert_eq!(composite.kind, crate::FileKind::Pdf, "{composite:?}");

        let broken = scan_bytes(
            "broken.pdf",
            b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ntrailer garbage",
        );
        assert!(broken.error.is_some(), "{broken:?}");
    }

    #[test]
    fn an_archive_bomb_is_refused() {
        let zeros = vec![0u8; 64 << 20];
        let bomb = zip_of(&[("zeros.bin", &zeros)]);
        assert!(bomb.len() < (1 << 20), "compresses well");
        let report = scan_bytes("bomb.zip", &bomb);
        assert_noted(&report, "archive bomb");
    }

    /// That the report's row says `words` of why part of the file was not read.
    pub(crate) fn assert_noted(report: &crate::FileReport, words: &str) {
        let noted = report.error.as_deref().unwrap_or("");
        assert!(noted.contains(words), "{words:?} not in {report:?}");
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(data).unwrap();
        gz.finish().unwrap()
    }

    #[test]
    fn every_member_of_a_gzip_file_is_read_and_a_bomb_is_not() {
        let one = b"Dear John Smith, your SSN 123-45-6788.\n\n".repeat(3);
        let other = b"Card 4111 1111 1111 1111 for Mary Jones.\n\n";
        assert_eq!(scan_bytes("a.txt.gz", &gzip(&one)).findings.counts.ssn, 3);
        // Two members, as `cat a.gz b.gz` makes: the last trailer is the
        // second's, so the fast path's check fails and both are read.
        let both = [gzip(&one), gzip(other)].concat();
        let report = scan_bytes("both.txt.gz", &both);
        assert_eq!(
            (report.findings.counts.ssn, report.findings.counts.card),
            (3, 1),
            "{report:?}"
        );
        // Two members of one size: only the CRC-32 tells the first from the last.
        let (a, b) = (
            b"SSN 123-45-6788 for John Smith.\n",
            b"SSN 234-56-7891 for Mary Jones.\n",
        );
        assert_eq!(a.len(), b.len());
        let same_size = [gzip(a), gzip(b)].concat();
        let report = scan_bytes("same.txt.gz", &same_size);
        assert_eq!(report.findings.counts.ssn, 2, "{report:?}");
        let mut damaged = gzip(&one);
        let middle = damaged.len() / 2;
        damaged[middle] ^= 0x55;
        assert!(scan_bytes("damaged.txt.gz", &damaged).error.is_some());
        let bomb = gzip(&vec![0u8; 64 << 20]);
        let report = scan_bytes("zeros.gz", &bomb);
        assert_noted(&report, "archive bomb");
    }

    #[test]
    fn a_member_expands_the_same_whatever_size_its_header_claims() {
        let text = "Name: Jane Doe, SSN 123-45-6788, account 12345678\n".repeat(3000);
        let mut deflater =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        deflater.write_all(text.as_bytes()).unwrap();
        let raw = deflater.finish().unwrap();
        let size = text.len() as u64;
        let roomy = 1 << 30;
        // Right, understated (the fast path's buffer is too small), overstated, none.
        for claimed in [size, size - 1, size / 3, size + 1, size * 2, 0] {
            let out = inflate(&raw, roomy, claimed).unwrap().unwrap();
            assert!(out == text.as_bytes(), "header claims {claimed} bytes");
            // The limit holds whatever the header claims.
            assert_eq!(
                inflate(&raw, size - 1, claimed),
                Ok(None),
                "claims {claimed}"
            );
            assert!(inflate(&raw, size, claimed).unwrap().is_some());
        }
        // Damage is reported the same way on both paths.
        let cut = &raw[..raw.len() / 2];
        for claimed in [size, 0] {
            assert_eq!(
                inflate(cut, roomy, claimed),
                Err("damaged: its data ends early".to_string())
            );
        }
    }

    #[test]
    fn a_damaged_member_is_reported_and_the_rest_is_read() {
        let text = "Name: Jane Doe\nSSN 123-45-6788\n".repeat(20);
        let zip = zip_of(&[("a.txt", text.as_bytes()), ("b.txt", text.as_bytes())]);
        let intact = scan_bytes("two.zip", &zip);
        assert_eq!(intact.findings.counts.ssn, 40, "{intact:?}");
        assert_eq!(intact.error, None);
        // Flip a byte inside the first member's compressed data (just past its
        // 30-byte local header and 5-byte name).
        let mut damaged = zip.clone();
        damaged[40] ^= 0x55;
        let report = scan_bytes("two.zip", &damaged);
        let error = report.error.as_deref().unwrap_or("");
        assert!(error.contains("a.txt: damaged"), "{report:?}");
        assert_eq!(report.findings.counts.ssn, 20, "b.txt is still read");
    }

    #[test]
    fn email_bodies_and_attachments() {
        let attachment = "Name,SSN\nAnn Lee,234-56-7890\n";
        let encoded = {
            // base64 by hand for the test: the standard alphabet, padded.
            const ALPHABET: &[u8] =
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            let bytes = attachment.as_bytes();
            let mut out = String::new();
            for chunk in bytes.chunks(3) {
                let n = chunk
                    .iter()
                    .enumerate()
                    .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
                for i in 0..4 {
                    if i <= chunk.len() {
                        out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
                    } else {
                        out.push('=');
                    }
                }
            }
            out
        };
        let message = format!(
            "From: Maria Garcia <maria@example.com>\r\nTo: HR <hr@example.com>\r\nSubject: forms\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
My card is 4111 1111 1111 1111=2E\r\n--b\r\nContent-Type: text/csv; name=\"staff.csv\"\r\nContent-Disposition: attachment; filename=\"staff.csv\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\n{encoded}\r\n--b--\r\n"
        );
        let report = scan_bytes("forms.eml", message.as_bytes());
        assert_eq!(report.findings.counts.card, 1, "{report:?}");
        assert_eq!(report.findings.counts.ssn, 1, "the attachment was read");
        assert_eq!(
            report.findings.pi_records, 2,
            "sender with card; row with SSN"
        );
    }
}

/// The quick-xml readers the tokenizer replaced, kept as the specification: on
/// well-formed parts both must give the same text and rows.
#[cfg(test)]
mod quick_xml_reference {
    use quick_xml::events::Event;
    use quick_xml::Reader;

    use super::{column_of, put_cell, Token};
    use crate::test_rng::Rng;

    pub fn xml_text(xml: &[u8], paragraph_tags: &[&str], text_tags: &[&str]) -> String {
        let mut reader = Reader::from_reader(xml);
        let mut out = String::new();
        let mut inside_text = 0usize;
        loop {
            match reader.read_event() {
                Ok(Event::Start(e))
                    if text_tags.iter().any(|t| e.name().as_ref() == t.as_bytes()) =>
                {
                    inside_text += 1;
                }
                Ok(Event::End(e)) => {
                    let tag = e.name();
                    if text_tags.iter().any(|t| tag.as_ref() == t.as_bytes()) {
                        inside_text = inside_text.saturating_sub(1);
                    }
                    if paragraph_tags.iter().any(|t| tag.as_ref() == t.as_bytes()) {
                        out.push('\n');
                    }
                }
                Ok(Event::Text(t)) if text_tags.is_empty() || inside_text > 0 => {
                    if let Ok(text) = t.unescape() {
                        out.push_str(&text);
                    }
                }
                Ok(Event::Eof) | Err(_) => break,
                _ => {}
            }
        }
        out
    }

    pub fn shared_strings(xml: &[u8]) -> Vec<String> {
        let mut reader = Reader::from_reader(xml);
        let mut strings = Vec::new();
        let mut current = String::new();
        let (mut in_text, mut in_phonetic) = (false, false);
        loop {
            match reader.read_event() {
                Ok(Event::Start(e)) => match e.name().as_ref() {
                    b"t" => in_text = true,
                    b"rPh" => in_phonetic = true,
                    _ => {}
                },
                Ok(Event::End(e)) => match e.name().as_ref() {
                    b"t" => in_text = false,
                    b"rPh" => in_phonetic = false,
                    b"si" => strings.push(std::mem::take(&mut current)),
                    _ => {}
                },
                Ok(Event::Empty(e)) if e.name().as_ref() == b"si" => strings.push(String::new()),
                Ok(Event::Text(t)) if in_text && !in_phonetic => {
                    if let Ok(text) = t.unescape() {
                        current.push_str(&text);
                    }
                }
                Ok(Event::Eof) | Err(_) => break,
                _ => {}
            }
        }
        strings
    }

    pub fn sheet_rows(xml: &[u8], book: &super::Workbook) -> Vec<Vec<String>> {
        let mut reader = Reader::from_reader(xml);
        let mut rows: Vec<Vec<String>> = Vec::new();
        let (mut column, mut in_value) = (0usize, false);
        let mut kind = super::CellValue::Other;
        loop {
            match reader.read_event() {
                Ok(Event::Start(e)) | Ok(Event::Empty(e)) if e.name().as_ref() == b"row" => {
                    rows.push(Vec::new())
                }
                Ok(Event::Start(e)) if e.name().as_ref() == b"c" => {
                    column = 0;
                    let (mut type_, mut style) = (None, None);
                    for attr in e.attributes().flatten() {
                        match attr.key.as_ref() {
                            b"r" => column = column_of(&attr.value),
                            b"t" => type_ = Some(attr.value.into_owned()),
                            b"s" => style = Some(attr.value.into_owned()),
                            _ => {}
                        }
                    }
                    kind = super::CellValue::of(type_.as_deref(), style.as_deref(), book);
                }
                Ok(Event::Start(e)) if matches!(e.name().as_ref(), b"v" | b"t") => in_value = true,
                Ok(Event::End(e)) if matches!(e.name().as_ref(), b"v" | b"t") => in_value = false,
                Ok(Event::Text(t)) if in_value => {
                    let Some(row) = rows.last_mut() else {
                        continue;
                    };
                    let Ok(raw) = t.unescape() else {
                        continue;
                    };
                    if row.len() <= column {
                        row.resize(column + 1, String::new());
                    }
                    put_cell(&mut row[column], &raw, kind);
                }
                Ok(Event::Eof) | Err(_) => break,
                _ => {}
            }
        }
        rows
    }

    /// Random well-formed XML over the tags the extractors look at, with
    /// attributes, references, comments and declarations in between.
    fn random_xml(rng: &mut Rng) -> String {
        const TAGS: [&str; 12] = [
            "w:p", "w:t", "w:r", "si", "t", "rPh", "row", "c", "v", "is", "a:t", "x",
        ];
        const TEXTS: [&str; 12] = [
            "Jane",
            "123-45-6789",
            " ",
            "&amp;",
            "&lt;b&gt;",
            "&#65;&#x42;",
            "4111 1111",
            "7.5E+3",
            "12",
            "\u{e9}t\u{e9}",
            "&quot;q&apos;",
            "0",
        ];
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<root>");
        let mut open: Vec<&str> = Vec::new();
        for _ in 0..rng.below(60) {
            match rng.below(9) {
                0..=2 if open.len() < 6 => {
                    let tag = TAGS[rng.below(TAGS.len() as u64) as usize];
                    let column = ["A", "B", "C", "AA"][rng.below(4) as usize];
                    let attrs = match rng.below(4) {
                        0 => String::new(),
                        1 => format!(" r=\"{column}{}\"", 1 + rng.below(9)),
                        2 => format!(" t='s' r=\"{column}1\" xml:space=\"preserve\""),
                        _ => " a=\"x>y\" t=\"n\"".to_string(),
                    };
                    if rng.below(5) == 0 {
                        out.push_str(&format!("<{tag}{attrs}/>"));
                    } else {
                        out.push_str(&format!("<{tag}{attrs}>"));
                        open.push(tag);
                    }
                }
                3 => {
                    if let Some(tag) = open.pop() {
                        out.push_str(&format!("</{tag}>"));
                    }
                }
                4 => out.push_str("<!-- <w:t>hidden</w:t> -->"),
                _ => out.push_str(TEXTS[rng.below(TEXTS.len() as u64) as usize]),
            }
        }
        while let Some(tag) = open.pop() {
            out.push_str(&format!("</{tag}>"));
        }
        out.push_str("</root>");
        out
    }

    #[test]
    fn the_tokenizer_reads_what_quick_xml_reads() {
        let mut rng = Rng(0x5eed);
        let book = super::Workbook {
            shared: (0..10).map(|i| format!("shared {i}")).collect(),
            templates: vec![None, super::DigitTemplate::parse("000-00-0000")],
        };
        for _ in 0..20_000 {
            let xml = random_xml(&mut rng);
            let xml = xml.as_bytes();
            for (paragraphs, texts) in
                [(&["w:p"][..], &["w:t"][..]), (&["w:p", "row"][..], &[][..])]
            {
                let markup = super::TextMarkup {
                    paragraphs,
                    texts,
                    spacing: &[],
                };
                assert_eq!(
                    super::xml_text(xml, &markup),
                    xml_text(xml, paragraphs, texts),
                    "{}",
                    String::from_utf8_lossy(xml)
                );
            }
            assert_eq!(
                super::shared_strings(xml),
                shared_strings(xml),
                "{}",
                String::from_utf8_lossy(xml)
            );
            assert_eq!(
                super::sheet_rows(xml, &book),
                sheet_rows(xml, &book),
                "{}",
                String::from_utf8_lossy(xml)
            );
        }
        // The generator reaches every kind of token.
        let sample = random_xml(&mut Rng(7));
        let kinds = super::tokens(sample.as_bytes()).fold([false; 3], |mut seen, t| {
            match t {
                Token::Start { empty: true, .. } => seen[0] = true,
                Token::End { .. } => seen[1] = true,
                Token::Text(_) => seen[2] = true,
                _ => {}
            }
            seen
        });
        assert_eq!(kinds, [true; 3]);
    }
}
