//! Turning a file into text to scan: by extension and content, decoding UTF-8,
//! UTF-16 (with a byte-order mark) and Latin-1, skipping binary files.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::extract::Content;
use crate::fingerprint::{ValueFingerprint, ValueKey};
use crate::scan::{
    scan_delimited, scan_record, scan_rows, scan_streamed_rows, scan_text, Findings,
};

/// Bytes sniffed for NUL to call a file binary.
const SNIFF: usize = 8192;
/// Larger files are reported, not read whole into memory.
/// Files larger than this are not read (reported instead).
pub const MAX_BYTES: u64 = 512 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    Text,
    Csv,
    Tsv,
    Json,
    Html,
    Xml,
    Email,
    Office,
    Archive,
    Pdf,
    Binary,
}

impl FileKind {
    const ALL: [FileKind; 12] = [
        FileKind::Text,
        FileKind::Csv,
        FileKind::Tsv,
        FileKind::Json,
        FileKind::Html,
        FileKind::Xml,
        FileKind::Email,
        FileKind::Office,
        FileKind::Archive,
        FileKind::Pdf,
        FileKind::Binary,
        FileKind::Text,
    ];

    pub fn from_name(name: &str) -> Option<FileKind> {
        FileKind::ALL.into_iter().find(|k| k.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            FileKind::Text => "text",
            FileKind::Csv => "csv",
            FileKind::Tsv => "tsv",
            FileKind::Json => "json",
            FileKind::Html => "html",
            FileKind::Xml => "xml",
            FileKind::Email => "email",
            FileKind::Office => "office",
            FileKind::Archive => "archive",
            FileKind::Pdf => "pdf",
            FileKind::Binary => "binary",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub path: PathBuf,
    pub kind: FileKind,
    pub bytes: u64,
    pub findings: Findings,
    /// Why the file could not be read, or was not.
    pub error: Option<String>,
    /// Taken from the catalog: the file is unchanged since it was last read.
    pub cached: bool,
    /// Keyed fingerprints of the distinct values found (none without a key).
    #[serde(skip)]
    pub fingerprints: Vec<ValueFingerprint>,
}

fn kind_by_extension(path: &Path) -> Option<FileKind> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "csv" => FileKind::Csv,
        "tsv" | "tab" => FileKind::Tsv,
        "json" | "jsonl" | "ndjson" => FileKind::Json,
        "html" | "htm" | "xhtml" => FileKind::Html,
        "xml" => FileKind::Xml,
        "eml" | "mbox" | "msg" => FileKind::Email,
        "docx" | "xlsx" | "pptx" | "odt" | "ods" => FileKind::Office,
        "zip" | "tar" | "gz" | "tgz" => FileKind::Archive,
        "pdf" => FileKind::Pdf,
        _ => return None,
    })
}

/// Appends `bytes` as UTF-8, each invalid sequence as U+FFFD, as
/// `String::from_utf8_lossy` does; valid text (nearly all) is checked by
/// `str::from_utf8`, several times faster than the lossy decoder's walk.
pub(crate) fn push_utf8_lossy(out: &mut String, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(text) => out.push_str(text),
        Err(_) => out.push_str(&String::from_utf8_lossy(bytes)),
    }
}

/// UTF-16 text, each unpaired surrogate as U+FFFD and an odd last byte
/// dropped, as `String::from_utf16_lossy` reads the units; decoded as they
/// are read, without a vector of them.
fn utf16_text(bytes: &[u8], little_endian: bool) -> String {
    let units = &bytes[..bytes.len() & !1];
    let unit = |at: usize| {
        let pair = [units[at], units[at + 1]];
        if little_endian {
            u16::from_le_bytes(pair)
        } else {
            u16::from_be_bytes(pair)
        }
    };
    // Eight units read as two words: where each lane is below 0x80 they are
    // ASCII characters, as most of most UTF-16 text is, packed into eight
    // bytes without decoding.
    let not_ascii: u64 = if little_endian {
        0xff80_ff80_ff80_ff80
    } else {
        0x80ff_80ff_80ff_80ff
    };
    let pack = |word: u64| {
        let word = if little_endian { word } else { word >> 8 };
        let pairs = word | word >> 8;
        (pairs & 0xffff) | (pairs >> 16 & 0xffff_0000)
    };
    let mut out = Vec::with_capacity(units.len() / 2);
    let mut at = 0;
    while at < units.len() {
        if let Some(eight) = units.get(at..at + 16) {
            let word = |from: usize| {
                u64::from_le_bytes(eight[from..from + 8].try_into().expect("eight bytes"))
            };
            let (low, high) = (word(0), word(8));
            if (low | high) & not_ascii == 0 {
                out.extend_from_slice(&(pack(low) | pack(high) << 32).to_le_bytes());
                at += 16;
                continue;
            }
        }
        let first = unit(at);
        at += 2;
        let c = match first {
            0xd800..=0xdbff if at < units.len() && (0xdc00..=0xdfff).contains(&unit(at)) => {
                let second = unit(at);
                at += 2;
                let scalar =
                    0x10000 + ((u32::from(first) - 0xd800) << 10) + (u32::from(second) - 0xdc00);
                char::from_u32(scalar).unwrap_or(char::REPLACEMENT_CHARACTER)
            }
            _ => char::from_u32(u32::from(first)).unwrap_or(char::REPLACEMENT_CHARACTER),
        };
        out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
    }
    // Only whole characters were pushed: never lossy.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Decodes text, or `None` for binary content.
pub fn decode(bytes: &[u8]) -> Option<String> {
    if let Some(rest) = bytes.strip_prefix(&[0xef, 0xbb, 0xbf]) {
        let mut text = String::with_capacity(rest.len());
        push_utf8_lossy(&mut text, rest);
        return Some(text);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xff, 0xfe]) {
        return Some(utf16_text(rest, true));
    }
    if let Some(rest) = bytes.strip_prefix(&[0xfe, 0xff]) {
        return Some(utf16_text(rest, false));
    }
    if memchr::memchr(0, &bytes[..bytes.len().min(SNIFF)]).is_some() {
        return None;
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Some(text.to_string()),
        // Not UTF-8: Latin-1 maps every byte to the character of the same number.
        Err(_) => Some(bytes.iter().map(|&b| b as char).collect()),
    }
}

/// The text of HTML or XML: tags dropped, common entities decoded, and the end of
/// a block (paragraph, row, list item, heading, line break) kept as a line break,
/// so a form's lines stay lines and records are judged over nearby lines, as
/// for a Word document's paragraphs. A table, section or article is a record
/// of its own. White space at the start of a line is dropped, as a browser
/// drops it, so the source's indentation and line breaks between blocks do not
/// make blank lines that would cut a page's paragraphs apart.
pub fn markup_text(markup: &str) -> String {
    let mut out = String::with_capacity(markup.len());
    let push_text = |out: &mut String, text: &str| {
        let at_line_start = out.is_empty() || out.ends_with('\n');
        push_unescaped(
            out,
            if at_line_start {
                text.trim_start()
            } else {
                text
            },
        );
    };
    let mut rest = markup;
    while let Some(open) = memchr::memchr(b'<', rest.as_bytes()) {
        push_text(&mut out, &rest[..open]);
        let tag = &rest[open + 1..];
        // A tag never closed hides the rest, as a browser would.
        let Some(close) = memchr::memchr(b'>', tag.as_bytes()) else {
            return out;
        };
        match block_end(&tag[..close]) {
            Some(BlockEnd::Line) => end_line(&mut out, 1),
            Some(BlockEnd::Record) => end_line(&mut out, 2),
            // An inline tag is a space between words, none at a line's start.
            None if out.is_empty() || out.ends_with('\n') => {}
            None => out.push(' '),
        }
        rest = &tag[close + 1..];
    }
    push_text(&mut out, rest);
    out
}

/// Ends the text's last line with `breaks` line breaks (1: a new line, 2: a
/// blank line, a new record). White space at the end of the line goes, as a
/// browser drops it; a blank line already there stays.
fn end_line(out: &mut String, breaks: usize) {
    let kept = out.trim_end_matches([' ', '\t', '\r', '\n']).len();
    let there = out[kept..].bytes().filter(|&b| b == b'\n').count();
    out.truncate(kept);
    if out.is_empty() {
        return;
    }
    for _ in 0..breaks.max(there.min(2)) {
        out.push('\n');
    }
}

/// What the end of a block is in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlockEnd {
    Line,
    Record,
}

/// The tags whose end is the end of a line of text.
const BLOCKS: [&str; 14] = [
    "p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "section", "article",
];

/// The blocks that hold records of their own.
const RECORD_BLOCKS: [&str; 3] = ["table", "section", "article"];

/// What a tag (what lies between `<` and `>`) ends, if it ends a block.
fn block_end(inside: &str) -> Option<BlockEnd> {
    if !ends_block(inside) {
        return None;
    }
    let name = inside.trim_start_matches('/');
    let record = RECORD_BLOCKS.iter().any(|block| {
        name.len() >= block.len()
            && name.as_bytes()[..block.len()].eq_ignore_ascii_case(block.as_bytes())
            && name
                .as_bytes()
                .get(block.len())
                .is_none_or(|b| matches!(b, b' ' | b'/' | b'\t' | b'\n'))
    });
    Some(if record {
        BlockEnd::Record
    } else {
        BlockEnd::Line
    })
}

/// Whether a tag (what lies between `<` and `>`) ends a block of text: its
/// name, cut at white space or `/`, is one of [`BLOCKS`] in any case.
fn ends_block(inside: &str) -> bool {
    let inside = inside.trim_start_matches('/').as_bytes();
    let name_len = inside
        .iter()
        .position(|b| matches!(b, b' ' | b'/' | b'\t' | b'\n'))
        .unwrap_or(inside.len());
    let name = &inside[..name_len];
    BLOCKS
        .iter()
        .any(|b| b.as_bytes().eq_ignore_ascii_case(name))
}

/// Appends `text` with the common entities decoded.
fn push_unescaped(out: &mut String, mut text: &str) {
    const ENTITIES: [(&str, &str); 6] = [
        ("&nbsp;", " "),
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&quot;", "\""),
        ("&#39;", "'"),
        ("&amp;", "&"),
    ];
    while let Some(at) = memchr::memchr(b'&', text.as_bytes()) {
        out.push_str(&text[..at]);
        let entity = &text[at..];
        match ENTITIES.iter().find(|(name, _)| entity.starts_with(name)) {
            Some((name, decoded)) => {
                out.push_str(decoded);
                text = &entity[name.len()..];
            }
            None => {
                out.push('&');
                text = &entity[1..];
            }
        }
    }
    out.push_str(text);
}

/// Reads and scans one file; failures are reported in the result, never raised,
/// so one bad file does not stop a scan.
pub fn scan_file(path: &Path) -> FileReport {
    scan_file_keyed(path, None)
}

/// As [`scan_file`], also fingerprinting the values found with `key`.
pub fn scan_file_keyed(path: &Path, key: Option<&ValueKey>) -> FileReport {
    let mut report = FileReport {
        path: path.to_path_buf(),
        kind: kind_by_extension(path).unwrap_or(FileKind::Text),
        bytes: 0,
        findings: Findings::default(),
        error: None,
        cached: false,
        fingerprints: Vec::new(),
    };
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(err) => {
            report.error = Some(err.to_string());
            return report;
        }
    };
    SMALL_FILE.with_borrow_mut(|buffer| match read_whole(file, buffer) {
        Ok(Whole::Small(len)) => {
            report.bytes = len as u64;
            scan_contents(report, &buffer[..len], key)
        }
        Ok(Whole::Large { size, bytes }) => {
            report.bytes = size;
            scan_contents(report, &bytes, key)
        }
        Ok(Whole::TooLarge { size }) => {
            report.bytes = size;
            report.error = Some(format!("larger than {} MiB; not read", MAX_BYTES >> 20));
            report
        }
        Err(err) => {
            report.error = Some(err.to_string());
            report
        }
    })
}

/// Files up to this size are read into a buffer each thread keeps.
const SMALL_FILE_BYTES: usize = 64 << 10;

thread_local! {
    /// A scan's time on small files is mostly system calls: a small file is
    /// read whole with one open and two reads (the second finds the end), no
    /// fstat and no allocation.
    static SMALL_FILE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

enum Whole {
    /// The file is the first `len` bytes of the buffer.
    Small(usize),
    Large {
        size: u64,
        bytes: Vec<u8>,
    },
    TooLarge {
        size: u64,
    },
}

/// Reads `file` to its end: into `buffer` if it fits, otherwise into a buffer
/// sized from its fstat, unless that is beyond `MAX_BYTES`.
fn read_whole(mut file: std::fs::File, buffer: &mut Vec<u8>) -> std::io::Result<Whole> {
    use std::io::Read;
    if buffer.len() < SMALL_FILE_BYTES {
        buffer.resize(SMALL_FILE_BYTES, 0);
    }
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..]) {
            Ok(0) => return Ok(Whole::Small(filled)),
            Ok(n) => filled += n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    let size = file.metadata()?.len();
    if size > MAX_BYTES {
        return Ok(Whole::TooLarge { size });
    }
    let mut bytes = Vec::with_capacity(size as usize + 1);
    bytes.extend_from_slice(&buffer[..filled]);
    // Through `Take`, `read_to_end` asks for no size hint (which on a `File`
    // costs two more system calls), and the bound stops a file that grows.
    file.take(MAX_BYTES + 1 - filled as u64)
        .read_to_end(&mut bytes)?;
    Ok(Whole::Large { size, bytes })
}

/// Reads the content of a file already read into memory (by a caller that
/// opened it through a directory descriptor); `path` names it in the report.
pub fn scan_bytes(path: &Path, bytes: &[u8], key: Option<&ValueKey>) -> FileReport {
    let report = FileReport {
        path: path.to_path_buf(),
        kind: kind_by_extension(path).unwrap_or(FileKind::Text),
        bytes: bytes.len() as u64,
        findings: Findings::default(),
        error: None,
        cached: false,
        fingerprints: Vec::new(),
    };
    scan_contents(report, bytes, key)
}

fn scan_contents(report: FileReport, bytes: &[u8], key: Option<&ValueKey>) -> FileReport {
    let mut report = read_parts(report, bytes);
    // The values go no further than this: fingerprinted with the key, or dropped.
    let values = std::mem::take(&mut report.findings.values);
    if let Some(key) = key {
        let mut prints: Vec<ValueFingerprint> = values
            .iter()
            .map(|(element, value)| key.fingerprint(*element, value))
            .collect();
        prints.sort();
        prints.dedup();
        report.fingerprints = prints;
    }
    report
}

fn read_parts(mut report: FileReport, bytes: &[u8]) -> FileReport {
    let name = report
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut parts = Vec::new();
    let mut notes = Vec::new();
    crate::extract::extract(
        &name,
        bytes,
        0,
        &mut crate::extract::Budget::default(),
        &mut parts,
        &mut notes,
    );
    if parts.is_empty() && notes.is_empty() {
        report.kind = FileKind::Binary;
        return report;
    }
    // Named like text but really a zip or gzip: report what it is.
    if report.kind == FileKind::Text
        && (bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(&[0x1f, 0x8b]))
    {
        report.kind = FileKind::Archive;
    }
    for part in parts {
        let findings = match part.content {
            Content::Delimited(text, delimiter) => scan_delimited(&text, delimiter),
            Content::Markup(text) => scan_text(&markup_text(&text)),
            Content::Text(text) => scan_text(&text),
            Content::Record(text) => scan_record(&text),
            Content::Rows(rows) => {
                scan_rows(rows.into_iter().enumerate().map(|(i, r)| (i as u64 + 1, r)))
            }
            Content::Keyed(records) => crate::scan::scan_keyed_records(&records),
            Content::Sheet { xml, book } => scan_streamed_rows(|row| {
                crate::extract::for_each_sheet_row(&xml, &book, row);
            }),
        };
        // Parts named like the file itself are the file.
        let inner = if part.name == name {
            ""
        } else {
            part.name.as_str()
        };
        report.findings.absorb(findings, inner);
    }
    if !notes.is_empty() {
        report.error = Some(notes.join("; "));
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_below_at_and_beyond_the_small_buffer_are_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let record = b"Dear John Smith, your SSN 123-45-6788.\n";
        for size in [
            0,
            record.len(),
            SMALL_FILE_BYTES - 1,
            SMALL_FILE_BYTES,
            SMALL_FILE_BYTES + 1,
            3 * SMALL_FILE_BYTES + 17,
        ] {
            // Filler, then the record at the very end, where a short read would lose it.
            let mut bytes = vec![b'x'; size.saturating_sub(record.len())];
            bytes.extend_from_slice(&record[..size.min(record.len())]);
            let path = dir.path().join(format!("f{size}.txt"));
            std::fs::write(&path, &bytes).unwrap();
            let report = scan_file(&path);
            assert_eq!(report.bytes, size as u64);
            assert_eq!(report.error, None);
            let whole = size >= record.len();
            assert_eq!(report.findings.counts.ssn, u64::from(whole), "{size} bytes");
        }
        // A big file after a small one: the kept buffer holds no stale bytes.
        let path = dir.path().join("short.txt");
        std::fs::write(&path, b"no numbers").unwrap();
        assert_eq!(scan_file(&path).findings.counts.ssn, 0);
    }

    #[test]
    fn encodings() {
        assert_eq!(decode(b"plain").as_deref(), Some("plain"));
        assert_eq!(
            decode(&[0xef, 0xbb, 0xbf, b'h', b'i']).as_deref(),
            Some("hi")
        );
        let utf16: Vec<u8> = [0xff, 0xfe]
            .into_iter()
            .chain("Jo\u{eb}".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(decode(&utf16).as_deref(), Some("Jo\u{eb}"));
        assert_eq!(
            decode(&[b'Z', b'o', 0xeb]).as_deref(),
            Some("Zo\u{eb}"),
            "Latin-1"
        );
        assert_eq!(decode(&[0x7f, b'E', b'L', b'F', 0, 1]), None);
    }

    #[test]
    fn text_is_decoded_as_the_standard_library_decodes_it() {
        const PIECES: [&[u8]; 14] = [
            b"John Smith ",
            b"J\0o\0h\0n\0 \0S\0m\0i\0t\0h\0",
            b"\0J\0o\0h\0n\0 \0S\0m\0i\0t\0h",
            b"\x00\xdc",
            b"\xd8\x3d\xde\x00",
            b"\x3d\xd8\x00\xde",
            b"\xc3\xa9",
            b"\xe2\x82\xac",
            b"\xf0\x9f\x98\x80",
            b"\xc3",
            b"\xff",
            b"\xed\xa0\x80",
            b"\0",
            b"\x3d\xd8",
        ];
        let mut rng = crate::test_rng::Rng(0x7e57_0016_0000_0001);
        for _ in 0..20_000 {
            let bytes: Vec<u8> = (0..rng.below(12))
                .flat_map(|_| {
                    PIECES[rng.below(PIECES.len() as u64) as usize]
                        .iter()
                        .copied()
                })
                .collect();
            let mut lossy = String::new();
            push_utf8_lossy(&mut lossy, &bytes);
            assert_eq!(lossy, String::from_utf8_lossy(&bytes), "{bytes:?}");
            for little in [true, false] {
                let units: Vec<u16> = bytes
                    .chunks_exact(2)
                    .map(|p| {
                        if little {
                            u16::from_le_bytes([p[0], p[1]])
                        } else {
                            u16::from_be_bytes([p[0], p[1]])
                        }
                    })
                    .collect();
                assert_eq!(
                    utf16_text(&bytes, little),
                    String::from_utf16_lossy(&units),
                    "{bytes:?}"
                );
            }
        }
    }

    /// The tag's name as first cut, by `str::split`: the specification.
    fn ends_block_reference(inside: &str) -> bool {
        let name = inside
            .trim_start_matches('/')
            .split([' ', '/', '\t', '\n'])
            .next()
            .unwrap_or("");
        BLOCKS.iter().any(|b| b.eq_ignore_ascii_case(name))
    }

    #[test]
    fn tags_end_blocks_as_first_specified() {
        const PIECES: [&str; 14] = [
            "p", "P", "br", "/", "Div", " ", "\n", "\t", "class=x", "h1", "\u{e9}", "td", "pre",
            "table",
        ];
        let mut rng = crate::test_rng::Rng(0x1234_5678_9abc_def1);
        let mut blocks = 0;
        for _ in 0..50_000 {
            let inside: String = (0..rng.below(5))
                .map(|_| PIECES[rng.below(PIECES.len() as u64) as usize])
                .collect();
            let expected = ends_block_reference(&inside);
            blocks += usize::from(expected);
            assert_eq!(ends_block(&inside), expected, "{inside:?}");
        }
        assert!(blocks > 5_000, "{blocks}");
    }

    #[test]
    fn markup() {
        assert_eq!(
            markup_text("<p>a</p><p>b</p>"),
            "a\nb\n",
            "blocks end lines"
        );
        // The source's line breaks and indentation between blocks are no blank line.
        assert_eq!(
            markup_text("<body>\n  <p>a</p>\n\n  <div>\n    b <b>c</b></div>\n</body>\n"),
            "a\nb  c\n"
        );
        // A table is a record of its own: a blank line on either side.
        assert_eq!(
            markup_text("<p>a</p><table><tr><td>b</td></tr></table><p>c</p>"),
            "a\n\nb\n\nc\n"
        );
        assert_eq!(markup_text("<sectionx>a</sectionx>"), "a ", "not a section");
        // A page's paragraphs are nearby lines, as a Word document's are: the
        // client named in one and the number in the next are PI.
        let page = "<html><body>\n<h2>Client</h2>\n<p>Wei Miller</p>\n\n<p>SSN 713-49-8902</p>\n</body></html>";
        assert!(scan_text(&markup_text(page)).holds_pi());
        let apart = "<section><p>Wei Miller</p></section><section><p>SSN 713-49-8902</p></section>";
        assert!(!scan_text(&markup_text(apart)).holds_pi());
        assert_eq!(
            markup_text("<p>John&nbsp;Smith</p><td>123-45-6788</td>")
                .split_whitespace()
                .collect::<Vec<_>>(),
            ["John", "Smith", "123-45-6788"]
        );
    }

    #[test]
    fn files_by_kind() {
        let dir = std::env::temp_dir().join(format!("wisp-inventory-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let csv = dir.join("staff.csv");
        std::fs::write(&csv, "Employee Name,SSN\nJane Doe,123-45-6788\n").unwrap();
        let report = scan_file(&csv);
        assert_eq!(report.kind, FileKind::Csv);
        assert!(report.findings.holds_pi());
        let binary = dir.join("image.bin");
        std::fs::write(&binary, [0u8, 1, 2, 3]).unwrap();
        assert_eq!(scan_file(&binary).kind, FileKind::Binary);
        let missing = scan_file(&dir.join("missing.txt"));
        assert!(missing.error.is_some());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
