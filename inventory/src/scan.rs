//! Records and personal information: an element and a name in the same record
//! (a CSV row, a paragraph, a few lines of running text) make that record PI.

use serde::Serialize;

use crate::detect::{detect, mask, ColumnHint, Element};
use crate::names::{count_names, names_people, normalized_header};

/// Running text without blank lines is judged in windows of this many lines.
const WINDOW_LINES: usize = 8;
/// Masked samples kept per element and file.
const SAMPLES_PER_ELEMENT: usize = 3;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub ssn: u64,
    pub card: u64,
    pub license: u64,
    pub account: u64,
    pub names: u64,
}

impl Counts {
    pub fn elements(&self) -> u64 {
        self.ssn + self.card + self.license + self.account
    }

    fn add(&mut self, element: Element) {
        match element {
            Element::Ssn => self.ssn += 1,
            Element::Card => self.card += 1,
            Element::License => self.license += 1,
            Element::Account => self.account += 1,
        }
    }

    pub fn merge(&mut self, other: &Counts) {
        self.ssn += other.ssn;
        self.card += other.card;
        self.license += other.license;
        self.account += other.account;
        self.names += other.names;
    }
}

/// A masked example of what was found, with the line (or row) it is on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Sample {
    pub element: Element,
    pub masked: String,
    /// The line, or the row of a table.
    pub line: u64,
    /// Where inside the file, for containers (`a.zip!b.xlsx!xl/worksheets/sheet1.xml`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub part: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Findings {
    pub counts: Counts,
    /// Records holding both a name and an element.
    pub pi_records: u64,
    pub samples: Vec<Sample>,
    /// The values found, only until they are fingerprinted: they never leave
    /// this crate (`read::scan_contents` empties this before returning).
    #[serde(skip)]
    pub(crate) values: Vec<(Element, String)>,
}

impl Findings {
    pub fn holds_pi(&self) -> bool {
        self.pi_records > 0
    }

    /// Adds the findings of one part of a file, naming the part on its samples.
    pub fn absorb(&mut self, other: Findings, part: &str) {
        self.counts.merge(&other.counts);
        self.pi_records += other.pi_records;
        self.values.extend(other.values);
        for mut sample in other.samples {
            let kept = self
                .samples
                .iter()
                .filter(|s| s.element == sample.element)
                .count();
            if kept < SAMPLES_PER_ELEMENT {
                sample.part = (!part.is_empty()).then(|| part.to_string());
                self.samples.push(sample);
            }
        }
    }

    /// A record of running text: its names and elements, and PI when it holds both.
    fn text_record(&mut self, text: &str, first_line: u64) {
        let names = count_names(text) as u64;
        let elements = self.record(text, first_line, ColumnHint::None);
        self.counts.names += names;
        if elements > 0 && names > 0 {
            self.pi_records += 1;
        }
    }

    /// Counts the elements of `text` and keeps their samples and values; how
    /// many there were.
    fn record(&mut self, text: &str, first_line: u64, hint: ColumnHint) -> u64 {
        let hits = detect(text.as_bytes(), hint);
        let found = hits.len() as u64;
        for hit in hits {
            self.counts.add(hit.element);
            let kept = self
                .samples
                .iter()
                .filter(|s| s.element == hit.element)
                .count();
            if kept < SAMPLES_PER_ELEMENT {
                // memchr counts a byte with vector instructions.
                let breaks = memchr::memchr_iter(b'\n', &text.as_bytes()[..hit.start]).count();
                let line = first_line + breaks as u64;
                self.samples.push(Sample {
                    element: hit.element,
                    masked: mask(&hit),
                    line,
                    part: None,
                });
            }
            self.values.push((hit.element, hit.value));
        }
        found
    }
}

/// One field of a record whose fields are labelled: a table's cell under its
/// column's header, or a JSON member under its key.
struct Cell<'a> {
    hint: ColumnHint,
    /// The label names people ("First Name", "customer").
    is_name: bool,
    text: &'a str,
}

impl Findings {
    /// Judges one record of labelled fields. A name field counts one name when
    /// filled (`first_last`: the record's name fields are parts of one
    /// person's name); a hinted field is searched with its hint; the other
    /// fields are searched together, joined in `rest` (a buffer kept for
    /// reuse), so that "Name: John Smith" or a context word in a neighbouring
    /// field still count.
    fn judge_record<'a>(
        &mut self,
        line: u64,
        cells: impl Iterator<Item = Cell<'a>>,
        first_last: bool,
        rest: &mut String,
    ) {
        let mut elements = 0;
        let mut names = 0;
        rest.clear();
        let mut free_cells = 0;
        for Cell {
            hint,
            is_name,
            text,
        } in cells
        {
            if is_name {
                if text.chars().any(|c| c.is_alphabetic()) {
                    names += 1;
                }
                continue;
            }
            if hint != ColumnHint::None {
                elements += self.record(text, line, hint);
            } else {
                if free_cells > 0 {
                    rest.push_str(" | ");
                }
                rest.push_str(text);
                free_cells += 1;
            }
        }
        let free_names = count_names(rest) as u64;
        elements += self.record(rest, line, ColumnHint::None);
        let people = if first_last { names.min(1) } else { names } + free_names;
        self.counts.names += people;
        if elements > 0 && people > 0 {
            self.pi_records += 1;
        }
    }
}

/// Scans records whose fields are labelled by keys (JSON objects): each key
/// says, as a column header does, which fields hold names and which hold
/// elements.
pub fn scan_keyed_records(records: &[crate::extract::KeyedRecord]) -> Findings {
    let mut findings = Findings::default();
    let mut rest = String::new();
    // The same keys come back in every record of an export: each is read once.
    let mut labelled: std::collections::HashMap<&str, (ColumnHint, bool)> =
        std::collections::HashMap::new();
    let mut labels: Vec<(ColumnHint, bool)> = Vec::new();
    for record in records {
        labels.clear();
        labels.extend(record.fields.iter().map(|(key, _)| {
            *labelled.entry(key.as_str()).or_insert_with(|| {
                let header = normalized_header(&split_camel_case(key));
                (hint_of(&header), names_people(&header))
            })
        }));
        let first_last = labels.iter().filter(|(_, is_name)| *is_name).count() >= 2;
        let cells = record
            .fields
            .iter()
            .zip(&labels)
            .map(|((_, text), &(hint, is_name))| Cell {
                hint,
                is_name,
                text,
            });
        findings.judge_record(record.line, cells, first_last, &mut rest);
    }
    findings
}

/// A key in camelCase as words ("firstName" is "first Name", "SSN" stays).
fn split_camel_case(key: &str) -> String {
    let mut words = String::with_capacity(key.len() + 4);
    let mut previous_lower = false;
    for c in key.chars() {
        if c.is_ascii_uppercase() && previous_lower {
            words.push(' ');
        }
        previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        words.push(c);
    }
    words
}

/// Scans running text (plain text, HTML/XML text, JSON that is not records,
/// e-mail bodies).
pub fn scan_text(text: &str) -> Findings {
    /// The lines gathered so far: a record runs up to the next blank line, at
    /// most WINDOW_LINES lines.
    struct Lines {
        start: usize,
        end: usize,
        first_line: u64,
        count: usize,
    }
    let mut findings = Findings::default();
    let mut flush = |open: &mut Option<Lines>| {
        if let Some(lines) = open.take() {
            findings.text_record(&text[lines.start..lines.end], lines.first_line);
        }
    };
    let mut open: Option<Lines> = None;
    let mut line_start = 0;
    // Lines are cut by memchr: `str::split` looked for each '\n' a byte at a time.
    let ends = memchr::memchr_iter(b'\n', text.as_bytes()).chain([text.len()]);
    for (index, line_end) in ends.enumerate() {
        let line = &text[line_start..line_end];
        if blank(line) {
            flush(&mut open);
        } else {
            let lines = open.get_or_insert(Lines {
                start: line_start,
                end: line_end,
                first_line: index as u64 + 1,
                count: 0,
            });
            lines.end = line_end;
            lines.count += 1;
            if lines.count == WINDOW_LINES {
                flush(&mut open);
            }
        }
        line_start = line_end + 1;
    }
    flush(&mut open);
    findings
}

/// A line of white space only, which ends a record. Most lines start with a
/// visible ASCII character, which settles it.
fn blank(line: &str) -> bool {
    match line.as_bytes().first() {
        Some(b) if b.is_ascii_graphic() => false,
        _ => line.trim().is_empty(),
    }
}

/// Scans text that is one record whatever its length: an e-mail message, whose
/// sender's name and a number anywhere in the body belong together.
pub fn scan_record(text: &str) -> Findings {
    let mut findings = Findings::default();
    findings.text_record(text, 1);
    findings
}

/// What a header says a column holds.
#[cfg(test)]
fn column_hint(header: &str) -> ColumnHint {
    hint_of(&normalized_header(header))
}

/// What a header normalized by [`normalized_header`] says its column holds.
fn hint_of(h: &str) -> ColumnHint {
    // A single word as one of the header's words, a phrase (it has a space)
    // anywhere in it; the words are walked once, before any phrase is looked for.
    let (mut ssn, mut card, mut license, mut account) = (false, false, false, false);
    for word in h.split(' ') {
        match word {
            "ssn" | "ss#" | "tin" => ssn = true,
            "card" | "cc" | "pan" => card = true,
            "license" | "licence" | "dl" => license = true,
            "account" | "acct" | "routing" | "iban" | "aba" => account = true,
            _ => {}
        }
    }
    let spaced = h.contains(' ');
    let has = |phrases: &[&str]| spaced && phrases.iter().any(|p| h.contains(p));
    if ssn || has(&["social security", "soc sec", "ss no"]) {
        ColumnHint::Ssn
    } else if card || has(&["credit card", "card number"]) {
        ColumnHint::Card
    } else if license || has(&["driver license", "drivers license", "state id"]) {
        ColumnHint::License
    } else if account || has(&["bank account"]) {
        ColumnHint::Account
    } else {
        ColumnHint::None
    }
}

/// A CSV reader per delimiter and thread, reused: building one compiles its
/// parser tables, which costs more than parsing a typical small file.
type CsvReader = csv::Reader<std::io::Cursor<Vec<u8>>>;

thread_local! {
    static CSV_READERS: std::cell::RefCell<Vec<(u8, CsvReader)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Scans delimited text (CSV, TSV) row by row, using the header row, if there is
/// one, to know which columns hold names and which hold elements.
pub fn scan_delimited(text: &str, delimiter: u8) -> Findings {
    CSV_READERS.with(|readers| {
        let mut readers = readers.borrow_mut();
        let index = match readers.iter().position(|(d, _)| *d == delimiter) {
            Some(index) => index,
            None => {
                let reader = csv::ReaderBuilder::new()
                    .delimiter(delimiter)
                    .has_headers(false)
                    .flexible(true)
                    .from_reader(std::io::Cursor::new(Vec::new()));
                readers.push((delimiter, reader));
                readers.len() - 1
            }
        };
        let reader = &mut readers[index].1;
        *reader.get_mut() = std::io::Cursor::new(text.as_bytes().to_vec());
        let mut scanner = RowScanner::default();
        // Back to the start of the new input, with the parser's state reset.
        if reader.seek(csv::Position::new()).is_ok() {
            let mut record = csv::StringRecord::new();
            let mut index = 0u64;
            loop {
                let before = reader.position().byte();
                match reader.read_record(&mut record) {
                    Ok(false) => break,
                    Ok(true) => {
                        index += 1;
                        let line = record.position().map_or(index, |p| p.line());
                        scanner.row(line, record.iter());
                    }
                    // A malformed row is passed over; the parser moves on past it.
                    Err(_) if reader.position().byte() > before => index += 1,
                    Err(_) => break,
                }
            }
        }
        // Keep no copy of the file in the cached reader.
        *reader.get_mut() = std::io::Cursor::new(Vec::new());
        scanner.finish()
    })
}

/// Scans table rows (CSV, spreadsheets) as records, using the first row, when it
/// is a header, to know which columns hold names and which hold elements.
pub fn scan_rows(rows: impl IntoIterator<Item = (u64, Vec<String>)>) -> Findings {
    let mut scanner = RowScanner::default();
    for (line, row) in rows {
        scanner.row(line, row.iter().map(String::as_str));
    }
    scanner.finish()
}

/// [`scan_rows`] of rows handed over one at a time by `read` (numbered from 1),
/// as a worksheet is read.
pub fn scan_streamed_rows(read: impl FnOnce(&mut dyn FnMut(&[String]))) -> Findings {
    let mut scanner = RowScanner::default();
    let mut line = 0;
    read(&mut |row| {
        line += 1;
        scanner.row(line, row.iter().map(String::as_str));
    });
    scanner.finish()
}

/// Table rows judged one at a time, as records.
#[derive(Default)]
struct RowScanner {
    findings: Findings,
    /// Rows seen, the header included.
    rows: u64,
    hints: Vec<ColumnHint>,
    name_columns: Vec<bool>,
    /// The row's cells that are neither names nor hinted, joined; kept to reuse.
    rest: String,
}

impl RowScanner {
    fn row<'a>(&mut self, line: u64, row: impl Iterator<Item = &'a str> + Clone) {
        self.rows += 1;
        if self.rows == 1 {
            let looks_like_header = row
                .clone()
                .all(|cell| !cell.bytes().any(|b| b.is_ascii_digit()));
            if looks_like_header {
                for header in row.clone() {
                    let header = normalized_header(header);
                    self.hints.push(hint_of(&header));
                    self.name_columns.push(names_people(&header));
                }
                if self.hints.iter().any(|h| *h != ColumnHint::None)
                    || self.name_columns.iter().any(|n| *n)
                {
                    return;
                }
                self.hints.clear();
                self.name_columns.clear();
            }
        }
        let (hints, name_columns) = (&self.hints, &self.name_columns);
        let cells = row.enumerate().map(|(column, cell)| Cell {
            hint: hints.get(column).copied().unwrap_or(ColumnHint::None),
            is_name: name_columns.get(column).copied().unwrap_or(false),
            text: cell,
        });
        // Name columns split over "First" and "Last" are one person.
        let first_last = name_columns.iter().filter(|n| **n).count() >= 2;
        self.findings
            .judge_record(line, cells, first_last, &mut self.rest);
    }

    fn finish(self) -> Findings {
        self.findings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `hint_of` as first written, one list per kind: the specification.
    fn hint_of_reference(h: &str) -> ColumnHint {
        let has = |words: &[&str]| {
            words.iter().any(|w| {
                if w.contains(' ') {
                    h.contains(w)
                } else {
                    h.split(' ').any(|part| part == *w)
                }
            })
        };
        if has(&["ssn", "social security", "soc sec", "ss#", "ss no", "tin"]) {
            ColumnHint::Ssn
        } else if has(&["card", "credit card", "cc", "pan", "card number"]) {
            ColumnHint::Card
        } else if has(&[
            "license",
            "licence",
            "dl",
            "driver license",
            "drivers license",
            "state id",
        ]) {
            ColumnHint::License
        } else if has(&["account", "acct", "routing", "iban", "bank account", "aba"]) {
            ColumnHint::Account
        } else {
            ColumnHint::None
        }
    }

    #[test]
    fn header_hints_are_the_reference_s() {
        const WORDS: &[&str] = &[
            "ssn",
            "social",
            "security",
            "soc",
            "sec",
            "ss#",
            "ss",
            "no",
            "tin",
            "card",
            "credit",
            "cc",
            "pan",
            "number",
            "license",
            "licence",
            "dl",
            "driver",
            "drivers",
            "state",
            "id",
            "account",
            "acct",
            "routing",
            "iban",
            "bank",
            "aba",
            "name",
            "phone",
            "x",
            "",
            "cardholder",
            "accounts",
            "xss",
        ];
        let mut rng = crate::test_rng::Rng(0x510e_527f_ade6_82d1);
        let mut hinted = 0;
        for _ in 0..50_000 {
            let words = 1 + rng.below(4);
            let header = (0..words)
                .map(|_| WORDS[rng.below(WORDS.len() as u64) as usize])
                .collect::<Vec<_>>()
                .join(if rng.below(4) == 0 { "" } else { " " });
            let expected = hint_of_reference(&header);
            hinted += usize::from(expected != ColumnHint::None);
            assert_eq!(hint_of(&header), expected, "{header:?}");
        }
        assert!(hinted > 10_000, "{hinted}");
    }

    #[test]
    fn a_paragraph_with_a_name_and_an_element_is_pi() {
        let text = "Dear John Smith,\nyour SSN 123-45-6788 is on file.\n\nUnrelated: card 4111 1111 1111 1111.\n";
        let findings = scan_text(text);
        assert_eq!(findings.counts.ssn, 1);
        assert_eq!(findings.counts.card, 1);
        assert_eq!(findings.counts.names, 1);
        assert_eq!(
            findings.pi_records, 1,
            "the card has no name in its paragraph"
        );
        assert_eq!(
            findings.samples[0],
            Sample {
                element: Element::Ssn,
                masked: "***-**-6788".into(),
                line: 2,
                part: None,
            }
        );
        assert_eq!(findings.samples[1].line, 4);
    }

    /// Records cut from a vector of lines, as first written: the specification
    /// of `scan_text`'s one pass.
    fn scan_text_by_lines(text: &str) -> Findings {
        let mut findings = Findings::default();
        let lines: Vec<&str> = text.split('\n').collect();
        let offset = |line: &str| line.as_ptr() as usize - text.as_ptr() as usize;
        let mut start = 0;
        while start < lines.len() {
            let mut end = start;
            while end < lines.len() && !lines[end].trim().is_empty() && end - start < WINDOW_LINES {
                end += 1;
            }
            if end > start {
                let last = lines[end - 1];
                let record = &text[offset(lines[start])..offset(last) + last.len()];
                findings.text_record(record, start as u64 + 1);
                start = end;
            } else {
                start += 1;
            }
        }
        findings
    }

    #[test]
    fn records_are_cut_as_from_a_vector_of_lines() {
        const LINES: [&str; 8] = [
            "",
            "  \t",
            "Dear John Smith,",
            "SSN 123-45-6788",
            "card 4111 1111 1111 1111",
            "nothing here",
            "Mary Jones",
            "\u{a0}",
        ];
        let mut rng = crate::test_rng::Rng(0x2545_f491_4f6c_dd1d);
        for _ in 0..5_000 {
            let lines: Vec<&str> = (0..rng.below(30))
                .map(|_| LINES[rng.below(LINES.len() as u64) as usize])
                .collect();
            let text = lines.join("\n");
            assert_eq!(scan_text(&text), scan_text_by_lines(&text), "{text:?}");
        }
    }

    #[test]
    fn headers_name_their_columns_by_whole_words_and_phrases() {
        for (header, hint) in [
            ("SSN", ColumnHint::Ssn),
            ("Employee SSN", ColumnHint::Ssn),
            ("social_security_no", ColumnHint::Ssn),
            ("TIN", ColumnHint::Ssn),
            ("Destination", ColumnHint::None),
            ("Card Number", ColumnHint::Card),
            ("discard", ColumnHint::None),
            ("Drivers-License", ColumnHint::License),
            ("Bank Account", ColumnHint::Account),
            ("accountant", ColumnHint::None),
            ("Routing", ColumnHint::Account),
            ("", ColumnHint::None),
        ] {
            assert_eq!(column_hint(header), hint, "{header:?}");
        }
    }

    #[test]
    fn csv_headers_decide_columns() {
        let csv = "First Name,Last Name,SSN,Amount\nJane,Doe,123456788,10.00\nJohn,Roe,,12.50\n";
        let findings = scan_delimited(csv, b',');
        assert_eq!(findings.counts.ssn, 1, "a bare number under an SSN header");
        assert_eq!(findings.counts.names, 2);
        assert_eq!(findings.pi_records, 1);
        assert_eq!(findings.samples[0].line, 2);
        // Without the header the same digits are just a number.
        let bare = scan_delimited("Jane,Doe,123456788,10.00\n", b',');
        assert_eq!(bare.counts.ssn, 0);
    }

    #[test]
    fn elements_without_names_are_reported_but_are_not_pi() {
        let findings = scan_delimited("Account,Balance\n000123456789,10\n", b',');
        assert_eq!(findings.counts.account, 1);
        assert!(!findings.holds_pi());
    }
}
