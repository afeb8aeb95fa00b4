//! Detectors for the data elements of 201 CMR 17.00: Social Security numbers,
//! payment card numbers, driver's licence / state ID numbers, and financial
//! account numbers. Each candidate is validated by its structure (checksums,
//! issuer ranges, reserved values) and, where the format alone is too weak,
//! by context words nearby as whole words.

use std::sync::LazyLock;

use regex::bytes::Regex;
use serde::Serialize;

use crate::context_words::{self, ContextKind};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Element {
    Ssn,
    Card,
    License,
    Account,
}

impl Element {
    /// The name used in the catalog, CSV columns and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Element::Ssn => "ssn",
            Element::Card => "card",
            Element::License => "license",
            Element::Account => "account",
        }
    }
}

/// A validated element in a text, as byte offsets and its digits/characters only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub element: Element,
    pub start: usize,
    pub end: usize,
    /// The value without separators, for masking and fingerprinting only.
    pub value: String,
}

/// What a column header says about its cells (CSV, spreadsheets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnHint {
    None,
    Ssn,
    Card,
    License,
    Account,
}

/// An IBAN from its country code on: anchored, since the scanner finds where
/// one may start (two capitals before two digits) and asks only there.
static IBAN_AT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u)^[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?").unwrap()
});

/// How far back a context word is looked for, and how much may stand between it
/// and the number.
const CONTEXT_BYTES: usize = 48;
const CONTEXT_GAP: usize = 20;

/// Well-known SSNs that appear in samples and advertising, never a person's.
const FAKE_SSNS: [&str; 4] = ["078051120", "219099999", "123456789", "111111111"];

/// The shapes a number can have, in the order they claim text: a hit of an
/// earlier shape hides the overlapping candidates of later ones (a card's digits
/// are not also an account number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Shape {
    /// 12 to 19 digits, in groups joined by single spaces or dashes.
    Card,
    /// 3-2-4 digits joined by spaces or dashes.
    DashedSsn,
    /// Nine bare digits: an SSN with SSN context, or an ABA routing number.
    NineDigits,
    /// Massachusetts: S and 8 digits, or SA and 7.
    MaLicense,
    /// Up to two capitals and 5 to 13 digits, with licence context.
    OtherLicense,
    Iban,
    /// 6 to 17 bare digits, with account context.
    AccountDigits,
}

impl Shape {
    const COUNT: usize = Shape::AccountDigits as usize + 1;

    /// Whether a number of this shape may need a context word to count.
    fn asks_context(self) -> bool {
        matches!(
            self,
            Shape::NineDigits | Shape::OtherLicense | Shape::AccountDigits
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Candidate {
    shape: Shape,
    start: usize,
    end: usize,
}

/// Every place in `text` a number of some shape stands alone, found in one pass
/// over its digits: each maximal chain of digit groups (joined by single spaces
/// or dashes) is looked at once, with its neighbours, for every shape. The order
/// is by shape, then by position.
#[cfg(test)]
fn candidates(text: &[u8]) -> Vec<Candidate> {
    let mut found = ByShape::default();
    candidates_into(text, &mut found, &mut Vec::new());
    found.iter().copied().collect()
}

/// Candidates kept apart by shape, each shape's in text order: taken shape by
/// shape, they are in (shape, start, end) order without a sort.
#[derive(Default)]
struct ByShape([Vec<Candidate>; Shape::COUNT]);

impl ByShape {
    fn clear(&mut self) {
        self.0.iter_mut().for_each(Vec::clear);
    }

    fn push(&mut self, candidate: Candidate) {
        self.0[candidate.shape as usize].push(candidate);
    }

    #[cfg(test)]
    fn iter(&self) -> impl Iterator<Item = &Candidate> {
        self.0.iter().flatten()
    }
}

/// [`candidates`] into buffers the caller reuses.
fn candidates_into(text: &[u8], found: &mut ByShape, groups: &mut Groups) {
    found.clear();
    let mut at = 0;
    while let Some(offset) = first_digit(&text[at..]) {
        let mut start = at + offset;
        let mut end = start + digit_run(&text[start..]);
        let joined = |end: usize| matches!(text.get(end..end + 2), Some([b' ' | b'-', next]) if next.is_ascii_digit());
        // Most numbers are short and alone (amounts, parts of dates, house
        // numbers): no shape but an IBAN's check digits, after two capitals,
        // can start in them.
        if end - start < 5
            && !joined(end)
            && !(start >= 2 && text[start - 2..start].iter().all(u8::is_ascii_uppercase))
        {
            at = end;
            continue;
        }
        groups.clear();
        groups.push((start, end));
        while joined(end) {
            start = end + 1;
            end = start + digit_run(&text[start..]);
            groups.push((start, end));
        }
        chain_candidates(text, groups, found);
        at = end;
    }
}

/// The offset of the first ASCII digit.
fn first_digit(bytes: &[u8]) -> Option<usize> {
    crate::swar::first_in_range::<b'0', b'9'>(bytes)
}

fn digit_run(bytes: &[u8]) -> usize {
    crate::swar::run_in_range::<b'0', b'9'>(bytes)
}

/// The candidates of one chain of digit groups.
fn chain_candidates(text: &[u8], groups: &[(usize, usize)], found: &mut ByShape) {
    let mut push = |shape, start, end| found.push(Candidate { shape, start, end });
    let (chain_start, chain_end) = (groups[0].0, groups[groups.len() - 1].1);
    let digits: usize = groups.iter().map(|(s, e)| e - s).sum();
    // A card is the whole chain: a longer one would only be a piece of it.
    if (12..=19).contains(&digits) && standalone(text, chain_start, chain_end) {
        push(Shape::Card, chain_start, chain_end);
    }
    for window in groups.windows(3) {
        let &[(area_start, area_end), (group_start, group_end), (serial_start, serial_end)] =
            window
        else {
            continue;
        };
        if area_end - area_start >= 3
            && group_end - group_start == 2
            && serial_end - serial_start >= 4
        {
            let (start, end) = (area_end - 3, serial_start + 4);
            if standalone(text, start, end) {
                push(Shape::DashedSsn, start, end);
            }
        }
    }
    for &(start, end) in groups {
        let len = end - start;
        let before = |n: usize| start.checked_sub(n).map(|i| text[i]);
        // The whole word: at most two capitals, then the digits.
        let capitals = (1..=3)
            .take_while(|&n| before(n).is_some_and(|b| b.is_ascii_uppercase()))
            .count();
        // Most groups are short (dates, amounts, house numbers): too short for
        // every shape but an IBAN, whose check digits follow two capitals.
        if len >= 5 {
            if len == 9 && standalone(text, start, end) {
                push(Shape::NineDigits, start, end);
            }
            if (6..=17).contains(&len) && standalone(text, start, end) {
                push(Shape::AccountDigits, start, end);
            }
            if len == 8 && before(1) == Some(b'S') && word_bounded(text, start - 1, end) {
                push(Shape::MaLicense, start - 1, end);
            }
            if len == 7
                && before(2) == Some(b'S')
                && before(1) == Some(b'A')
                && word_bounded(text, start - 2, end)
            {
                push(Shape::MaLicense, start - 2, end);
            }
            if len <= 13 && capitals <= 2 && word_bounded(text, start - capitals, end) {
                push(Shape::OtherLicense, start - capitals, end);
            }
        }
        let bounded_before = |at: usize| at == 0 || !text[at - 1].is_ascii_alphanumeric();
        if len >= 2 && capitals == 2 && bounded_before(start - 2) {
            if let Some(m) = IBAN_AT.find(&text[start - 2..]) {
                let end = start - 2 + m.end();
                if word_bounded(text, start - 2, end) {
                    push(Shape::Iban, start - 2, end);
                }
            }
        }
    }
}

/// Where the context words stand in one text, found the first time a candidate
/// there asks for them.
struct Context<'t> {
    text: &'t [u8],
    /// Where the words are looked for: every candidate that may ask looks at or
    /// before its end, and no word found in the whole text crosses either edge,
    /// so the words found here are the whole text's words within it.
    span: std::ops::Range<usize>,
    /// (kind, start, end) in text order.
    found: std::cell::OnceCell<Vec<(ContextKind, usize, usize)>>,
}

impl<'t> Context<'t> {
    /// The context of `candidates` in `text`: the specification `of_shapes`
    /// keeps to.
    #[cfg(test)]
    fn new<'c>(text: &'t [u8], candidates: impl IntoIterator<Item = &'c Candidate>) -> Context<'t> {
        let asking = candidates.into_iter().filter(|c| c.shape.asks_context());
        let (first, last) = asking.fold((usize::MAX, 0), |(first, last), c| {
            (first.min(c.start), last.max(c.start))
        });
        Context::spanning(text, first, last)
    }

    /// The context of `candidates` in `text`, from each shape's first and last
    /// candidate: every shape's are in text order.
    fn of_shapes(text: &'t [u8], candidates: &ByShape) -> Context<'t> {
        let (mut first, mut last) = (usize::MAX, 0);
        for shape_candidates in &candidates.0 {
            if let (Some(head), Some(tail)) = (shape_candidates.first(), shape_candidates.last()) {
                if head.shape.asks_context() {
                    first = first.min(head.start);
                    last = last.max(tail.start);
                }
            }
        }
        Context::spanning(text, first, last)
    }

    /// The context of candidates that may ask, the first starting at `first`
    /// and the last at `last` (`first > last`: none may ask).
    ///
    /// The span ends at the last candidate that may ask: a candidate starts a
    /// word of digits (after at most two capitals), and no context word holds a
    /// digit or can end inside such a word. It starts after the last byte before
    /// the first window that no context word can hold (a digit, a comma, a
    /// colon...), so a word found from there is a word of the whole text.
    fn spanning(text: &'t [u8], first: usize, last: usize) -> Context<'t> {
        let span = if first > last {
            0..0
        } else {
            let window = first.saturating_sub(CONTEXT_BYTES);
            let from = text[..window]
                .iter()
                .rposition(|&b| !context_words::may_be_in_word(b))
                .map_or(0, |i| i + 1);
            from..last
        };
        Context {
            text,
            span,
            found: std::cell::OnceCell::new(),
        }
    }

    /// The context with the whole text searched: the specification `new` keeps to.
    #[cfg(test)]
    fn whole(text: &'t [u8]) -> Context<'t> {
        Context {
            text,
            span: 0..text.len(),
            found: std::cell::OnceCell::new(),
        }
    }

    /// A context word right before `start`: within `CONTEXT_BYTES`, at most
    /// `CONTEXT_GAP` bytes between the word and the number, and no sentence
    /// break and no other number in between ("Account No.: 123" counts;
    /// "account closed. Order 123" does not, nor does the order number in "SSN
    /// 123-45-6789 order 123456789": the word introduced the number after it).
    /// A line break may come only after a label ("Account Number:" on a line of
    /// its own, as forms and PDF text have it), with the number starting the
    /// next line; a word in [`LABEL_ONLY_WORDS`] must be such a label and on
    /// the number's line.
    fn before(&self, kind: ContextKind, start: usize) -> bool {
        let words = self.found.get_or_init(|| {
            let mut words = Vec::new();
            context_words::find(self.text, self.span.clone(), &mut words);
            words
        });
        let from = start.saturating_sub(CONTEXT_BYTES);
        let Some(&(_, word_start, word_end)) = words
            .iter()
            .rev()
            .find(|(of, _, end)| *of == kind && *end <= start)
        else {
            return false;
        };
        if word_start < from || start - word_end > CONTEXT_GAP {
            return false;
        }
        let word = &self.text[word_start..word_end];
        let label_only = LABEL_ONLY_WORDS
            .iter()
            .any(|w| word.eq_ignore_ascii_case(w));
        let gap = &self.text[word_end..start];
        match memchr::memchr(b'\n', gap) {
            Some(line_end) => {
                !label_only
                    && labels_the_number(&gap[..line_end])
                    && gap[line_end + 1..]
                        .iter()
                        .all(|b| matches!(b, b' ' | b'\t'))
            }
            None if label_only => labels_the_number(gap),
            None => {
                let gap = gap.trim_ascii_start();
                let gap = [b"no.".as_slice(), b"num."]
                    .iter()
                    .find(|prefix| {
                        gap.len() >= prefix.len()
                            && gap[..prefix.len()].eq_ignore_ascii_case(prefix)
                    })
                    .map_or(gap, |prefix| &gap[prefix.len()..]);
                !gap.iter()
                    .any(|b| matches!(b, b'.' | b'!' | b'?' | b';' | b'0'..=b'9'))
            }
        }
    }
}

/// Context words that are also everyday words ("error checking", "the savings
/// from it"): they name an account only as a label the number follows on the
/// same line, as in "Checking: 12345678" or "Savings #12345678".
const LABEL_ONLY_WORDS: [&[u8]; 2] = [b"checking", b"savings"];

/// Whether `gap`, between a context word and a number (or the end of its
/// line), holds only what a label ends with: blanks, "no." or "number", and
/// ':', '#' or '-'.
fn labels_the_number(gap: &[u8]) -> bool {
    let blank_or_mark = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b':' | b'#' | b'-');
    let at = gap
        .iter()
        .position(|b| !blank_or_mark(b))
        .unwrap_or(gap.len());
    let rest = &gap[at..];
    let rest = [b"number".as_slice(), b"num.", b"no."]
        .iter()
        .find(|word| rest.len() >= word.len() && rest[..word.len()].eq_ignore_ascii_case(word))
        .map_or(rest, |word| &rest[word.len()..]);
    rest.iter().all(blank_or_mark)
}

/// Whether the number at `start` is a segment of a URL's path, as in
/// "https://chromestatus.com/feature/5068609911521280": a page's id, which
/// passes Luhn one time in ten, not a card someone wrote down. A card in a
/// query ("?card=…") or in a logged request path without a scheme still counts.
fn in_url_path(text: &[u8], start: usize) -> bool {
    // Longer URLs are rare; the bound keeps a long token from costing more.
    const LONGEST_URL: usize = 2048;
    if start == 0 || text[start - 1] != b'/' {
        return false;
    }
    let from = start.saturating_sub(LONGEST_URL);
    let token_start = text[from..start]
        .iter()
        .rposition(|b| b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b'<' | b'(' | b'['))
        .map_or(from, |i| from + i + 1);
    let token = &text[token_start..start];
    memchr::memmem::find(token, b"://").is_some() || token.starts_with(b"www.")
}

/// Finds every element in `text`. `hint` widens what counts in a column known to
/// hold a kind of element (a bare 9-digit number under an "SSN" header).
pub fn detect(text: &[u8], hint: ColumnHint) -> Vec<Hit> {
    CANDIDATES.with(|scratch| {
        let (found, groups) = &mut *scratch.borrow_mut();
        candidates_into(text, found, groups);
        validate(text, hint, found)
    })
}

/// Digit groups as (start, end) offsets.
type Groups = Vec<(usize, usize)>;

thread_local! {
    /// The candidates and digit groups of the record being scanned, reused:
    /// a scan looks at tens of thousands of small records.
    static CANDIDATES: std::cell::RefCell<(ByShape, Groups)> =
        std::cell::RefCell::new((ByShape::default(), Vec::new()));
}

/// The candidates that are elements, in text order.
fn validate(text: &[u8], hint: ColumnHint, candidates: &ByShape) -> Vec<Hit> {
    let mut hits: Vec<Hit> = Vec::new();
    let context = Context::of_shapes(text, candidates);
    let has_context = |kind, start, hinted| hint == hinted || context.before(kind, start);
    // A loop per shape: a flattened iterator over the seven cost more than
    // the checks of a short record's few candidates.
    let mut check = |&Candidate { shape, start, end }: &Candidate| {
        if shape != Shape::Card && hits.iter().any(|h| start < h.end && h.start < end) {
            return;
        }
        let bytes = &text[start..end];
        // The structure is checked before the context: it is the cheaper test.
        let found = match shape {
            Shape::Card => card_number(bytes)
                .filter(|_| !in_url_path(text, start))
                .map(|digits| (Element::Card, digits.to_string())),
            // One consistent separator: 123-45 6789 is not an SSN.
            Shape::DashedSsn if bytes[3] == bytes[6] => Some(Digits::of(bytes))
                .filter(|d| valid_ssn(d.as_bytes()))
                .map(|d| (Element::Ssn, d.to_string())),
            Shape::DashedSsn => None,
            Shape::NineDigits => {
                let digits = Digits::of(bytes);
                if valid_ssn(digits.as_bytes())
                    && has_context(ContextKind::Ssn, start, ColumnHint::Ssn)
                {
                    Some((Element::Ssn, digits.to_string()))
                } else if valid_aba(digits.as_bytes())
                    && has_context(ContextKind::Routing, start, ColumnHint::Account)
                {
                    Some((Element::Account, digits.to_string()))
                } else {
                    None
                }
            }
            Shape::MaLicense => Some((Element::License, ascii(bytes))),
            Shape::OtherLicense => has_context(ContextKind::License, start, ColumnHint::License)
                .then(|| (Element::License, ascii(bytes))),
            Shape::Iban => {
                let compact: String = ascii(bytes).replace(' ', "");
                valid_iban(&compact).then_some((Element::Account, compact))
            }
            Shape::AccountDigits => has_context(ContextKind::Account, start, ColumnHint::Account)
                .then(|| (Element::Account, Digits::of(bytes).to_string())),
        };
        if let Some((element, value)) = found {
            hits.push(Hit {
                element,
                start,
                end,
                value,
            });
        }
    };
    for shape_candidates in &candidates.0 {
        shape_candidates.iter().for_each(&mut check);
    }
    hits.sort_by_key(|h| h.start);
    hits
}

/// Bytes the patterns matched, all ASCII.
fn ascii(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The digits of a candidate without its separators, kept on the stack: most
/// candidates are checked and dropped, and only an element's become a `String`.
struct Digits {
    bytes: [u8; Digits::MAX],
    len: usize,
}

impl Digits {
    /// Longer than any candidate holding digits (a card has at most 19).
    const MAX: usize = 24;

    fn of(candidate: &[u8]) -> Digits {
        let mut digits = Digits {
            bytes: [0; Digits::MAX],
            len: 0,
        };
        for &b in candidate.iter().filter(|b| b.is_ascii_digit()) {
            if digits.len < Digits::MAX {
                digits.bytes[digits.len] = b;
            }
            digits.len += 1;
        }
        digits
    }

    /// All the digits, or none if there were more than fit.
    fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).expect("ascii digits")
    }
}

impl std::fmt::Display for Digits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Not a piece of a longer number: no digit, and no separator joined to a digit,
/// on either side (so "1-123-45-6789" and "4111 1111 1111 1111 2" do not count).
fn standalone(text: &[u8], start: usize, end: usize) -> bool {
    let joined = |at: Option<&u8>, beyond: Option<&u8>| match at {
        Some(b) if b.is_ascii_digit() || b.is_ascii_alphabetic() => true,
        Some(b'-' | b'.' | b'/' | b',') => beyond.is_some_and(|c| c.is_ascii_digit()),
        _ => false,
    };
    let before = start.checked_sub(1).and_then(|i| text.get(i));
    let before2 = start.checked_sub(2).and_then(|i| text.get(i));
    !joined(before, before2) && !joined(text.get(end), text.get(end + 1))
}

/// A whole word: no letter or digit on either side.
fn word_bounded(text: &[u8], start: usize, end: usize) -> bool {
    let alnum = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_alphanumeric());
    !alnum(start.checked_sub(1).and_then(|i| text.get(i))) && !alnum(text.get(end))
}

pub fn valid_ssn(digits: &[u8]) -> bool {
    if digits.len() != 9 || FAKE_SSNS.iter().any(|fake| fake.as_bytes() == digits) {
        return false;
    }
    // A part that is not all digits counts as zero, which no valid part is.
    let number = |part: &[u8]| -> u32 {
        if part.iter().all(u8::is_ascii_digit) {
            part.iter().fold(0, |n, &d| n * 10 + u32::from(d - b'0'))
        } else {
            0
        }
    };
    let (area, group, serial) = (
        number(&digits[..3]),
        number(&digits[3..5]),
        number(&digits[5..]),
    );
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
}

fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(d - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

/// The card digits if `candidate` (digits with optional separators) is a card
/// number: one consistent separator, a known issuer's prefix and length, Luhn.
fn card_number(candidate: &[u8]) -> Option<Digits> {
    let mut separators = candidate.iter().filter(|b| !b.is_ascii_digit());
    if let Some(first) = separators.next() {
        if separators.any(|b| b != first) {
            return None;
        }
    }
    let digits = Digits::of(candidate);
    let d = digits.as_bytes();
    if !(12..=19).contains(&d.len()) || !issuer_accepts(d) || !luhn(d) {
        return None;
    }
    // A repeated digit passes Luhn in places; no issuer hands it out.
    if d.iter().all(|&b| b == d[0]) {
        return None;
    }
    Some(digits)
}

fn issuer_accepts(digits: &[u8]) -> bool {
    let prefix = |n: usize| -> u32 {
        digits[..n]
            .iter()
            .fold(0, |acc, &d| acc * 10 + u32::from(d - b'0'))
    };
    let len = digits.len();
    let in_range = |n: usize, lo: u32, hi: u32| (lo..=hi).contains(&prefix(n));
    // Visa
    (digits[0] == b'4' && matches!(len, 13 | 16 | 19))
        // Mastercard, including the 2-series
        || (len == 16 && (in_range(2, 51, 55) || in_range(4, 2221, 2720)))
        // American Express
        || (len == 15 && matches!(prefix(2), 34 | 37))
        // Discover
        || ((16..=19).contains(&len) && (prefix(4) == 6011 || in_range(3, 644, 649) || prefix(2) == 65))
        // JCB
        || ((16..=19).contains(&len) && in_range(4, 3528, 3589))
        // Diners Club
        || ((14..=19).contains(&len) && (in_range(3, 300, 305) || matches!(prefix(2), 36 | 38 | 39)))
        // UnionPay
        || ((16..=19).contains(&len) && prefix(2) == 62)
        // Maestro
        || ((12..=19).contains(&len) && (matches!(prefix(2), 50 | 56 | 57 | 58) || matches!(prefix(4), 6304 | 6759 | 6761 | 6762 | 6763)))
}

/// ABA routing number checksum: 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10).
pub fn valid_aba(digits: &[u8]) -> bool {
    if digits.len() != 9 || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let d: [u32; 9] = std::array::from_fn(|i| u32::from(digits[i] - b'0'));
    d.iter().any(|&x| x != 0)
        && (3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5] + d[8])) % 10 == 0
}

/// IBAN: move the first four characters to the end, letters to numbers, mod 97 = 1.
pub fn valid_iban(iban: &str) -> bool {
    if !(15..=34).contains(&iban.len()) {
        return false;
    }
    let rearranged = iban[4..].bytes().chain(iban[..4].bytes());
    let mut remainder: u32 = 0;
    for b in rearranged {
        let value = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'A'..=b'Z' => u32::from(b - b'A') + 10,
            _ => return false,
        };
        remainder = if value >= 10 {
            (remainder * 100 + value) % 97
        } else {
            (remainder * 10 + value) % 97
        };
    }
    remainder == 1
}

/// The value as it may be shown: never the whole number.
pub fn mask(hit: &Hit) -> String {
    mask_as(hit.element, &hit.value)
}

/// `value` (digits or letters and digits, no separators) masked as `element`.
pub fn mask_as(element: Element, v: &str) -> String {
    let mut masked = String::with_capacity(v.len() + 8);
    let stars = |masked: &mut String, n: usize| masked.extend(std::iter::repeat_n('*', n));
    if !v.is_ascii() || v.len() < 8 && element == Element::Card {
        stars(&mut masked, v.chars().count());
        return masked;
    }
    let shown = if element == Element::License { 3 } else { 4 };
    let hidden = v.len().saturating_sub(shown);
    match element {
        Element::Ssn => masked.push_str("***-**-"),
        // The first four, then stars in groups of four, as a card is printed.
        Element::Card => {
            masked.push_str(&v[..4]);
            masked.push(' ');
            let middle = hidden - 4;
            for i in 0..middle {
                masked.push('*');
                if i % 4 == 3 || i + 1 == middle {
                    masked.push(' ');
                }
            }
        }
        Element::License | Element::Account => stars(&mut masked, hidden),
    }
    masked.push_str(&v[hidden..]);
    masked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(Element, String)> {
        detect(text.as_bytes(), ColumnHint::None)
            .into_iter()
            .map(|h| (h.element, h.value))
            .collect()
    }

    #[test]
    fn ssns() {
        assert_eq!(
            found("SSN: 123-45-6788"),
            [(Element::Ssn, "123456788".into())]
        );
        assert_eq!(
            found("ssn 123 45 6788."),
            [(Element::Ssn, "123456788".into())]
        );
        for invalid in [
            "000-12-3456",
            "666-12-3456",
            "912-12-3456",
            "123-00-4567",
            "123-45-0000",
            "078-05-1120",
            "123-45 6788",
        ] {
            assert!(found(invalid).is_empty(), "{invalid}");
        }
        // Part of a longer number: a phone extension, a longer id.
        assert!(found("1-123-45-6788").is_empty());
        assert!(found("123-45-67881").is_empty());
        // Bare nine digits only with context.
        assert!(found("order 123456788 shipped").is_empty());
        assert_eq!(
            found("Social Security No. 123456788"),
            [(Element::Ssn, "123456788".into())]
        );
        assert_eq!(
            detect(b"123456788", ColumnHint::Ssn).len(),
            1,
            "a bare number in an SSN column"
        );
    }

    #[test]
    fn cards() {
        for (text, value) in [
            ("4111 1111 1111 1111", "4111111111111111"),
            ("5555-5555-5555-4444", "5555555555554444"),
            ("2223003122003222", "2223003122003222"),
            ("3782 822463 10005", "378282246310005"),
            ("6011111111111117", "6011111111111117"),
            ("3530111333300000", "3530111333300000"),
            ("6200000000000005", "6200000000000005"),
        ] {
            assert_eq!(found(text), [(Element::Card, value.to_string())], "{text}");
        }
        for decoy in [
            "4111 1111 1111 1112", // fails Luhn
            "4111-1111 1111-1111", // mixed separators
            "94111111111111111",   // inside a longer run
            "4111111111111111 2",  // followed by another group
            "1234567812345670",    // Luhn-valid, no issuer
            "0000000000000000",
        ] {
            assert!(
                found(decoy).iter().all(|(e, _)| *e != Element::Card),
                "{decoy}"
            );
        }
    }

    #[test]
    fn a_page_id_in_a_url_path_is_not_a_card() {
        let card = "5068609911521280";
        assert_eq!(found(card), [(Element::Card, card.to_string())]);
        for url in [
            "see https://chromestatus.com/feature/5068609911521280)",
            "<http://oss-fuzz.com/testcase-detail/5068609911521280>.",
            "(www.example.com/feature/5068609911521280)",
        ] {
            assert!(found(url).is_empty(), "{url}");
        }
        // In a query, or in a request path logged without its scheme, a card is
        // a card that leaked.
        for leak in [
            "https://shop.example/pay?card=5068609911521280",
            "GET /v1/cards/5068609911521280 HTTP/1.1",
            "https://example.com/a b/5068609911521280",
        ] {
            assert_eq!(found(leak), [(Element::Card, card.to_string())], "{leak}");
        }
    }

    #[test]
    fn checking_and_savings_name_an_account_only_as_its_label() {
        for labelled in [
            "Checking: 12345678",
            "checking 12345678",
            "Savings #12345678",
            "Savings No. 12345678",
            "savings number: 12345678",
            "Deposit to checking account 12345678.",
            // Another label may stand on the line above its number.
            "Account Number:\r\n12345678",
            "Acct #\n  12345678",
        ] {
            assert_eq!(
                found(labelled),
                [(Element::Account, "12345678".into())],
                "{labelled:?}"
            );
        }
        for not_a_label in [
            "2 * poor error checking\n402480  Do not use %rsp",
            "Fixed typo in checking ss_family SF#845292",
            "savings of 30% in 2024 over 12345678",
            // Above its number, only a label.
            "account closed\n12345678",
            "Account\n\n12345678",
            "Account\nref 12345678",
        ] {
            assert!(found(not_a_label).is_empty(), "{not_a_label:?}");
        }
    }

    #[test]
    fn licenses() {
        assert_eq!(
            found("License S12345678"),
            [(Element::License, "S12345678".into())]
        );
        assert_eq!(found("S12345678"), [(Element::License, "S12345678".into())]);
        assert!(
            found("SKU S123456789").is_empty(),
            "nine digits is not the MA format"
        );
        assert_eq!(
            found("Driver's License No: D1234567"),
            [(Element::License, "D1234567".into())]
        );
        // "lic" inside "public" is not licence context.
        assert!(found("public record D1234567").is_empty());
        // Context belongs to the number right after it, not to the next sentence.
        assert!(found("Driver's license verified. Order 123456789 shipped").is_empty());
        // A context word introduces the number right after it, not the next one.
        assert_eq!(
            found("Employee SSN 164-42-2931 order 631969374 ok"),
            [(Element::Ssn, "164422931".into())]
        );
        assert_eq!(
            found("Driver's license D1234567 ref 7654321"),
            [(Element::License, "D1234567".into())]
        );
        assert_eq!(
            found("Acct 1234567890, invoice 4433221100"),
            [(Element::Account, "1234567890".into())]
        );
    }

    #[test]
    fn accounts() {
        assert_eq!(
            found("Account number 000123456789"),
            [(Element::Account, "000123456789".into())]
        );
        assert_eq!(
            found("routing 011000015"),
            [(Element::Account, "011000015".into())]
        );
        assert!(found("routing 011000016").is_empty(), "bad ABA checksum");
        assert!(found("invoice 000123456789").is_empty());
        assert!(
            found("accountant 000123456789").is_empty(),
            "context must be a whole word"
        );
        assert_eq!(
            found("IBAN GB82 WEST 1234 5698 7654 32"),
            [(Element::Account, "GB82WEST12345698765432".into())]
        );
        assert!(found("GB82 WEST 1234 5698 7654 33").is_empty());
    }

    type Boundary = fn(&[u8], usize, usize) -> bool;

    /// The shapes as regular expressions, with the boundary each requires: the
    /// specification `candidates` implements in one pass.
    static SHAPES: LazyLock<Vec<(Shape, Regex, Boundary)>> = LazyLock::new(|| {
        let shapes: [(Shape, &str, Boundary); 7] = [
            (Shape::Card, r"\d(?:[ -]?\d){11,18}", standalone),
            (Shape::DashedSsn, r"\d{3}[- ]\d{2}[- ]\d{4}", standalone),
            (Shape::NineDigits, r"\d{9}", standalone),
            (Shape::MaLicense, r"S(?:A\d{7}|\d{8})", word_bounded),
            (Shape::OtherLicense, r"[A-Z]{0,2}\d{5,13}", word_bounded),
            (
                Shape::Iban,
                r"[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?",
                word_bounded,
            ),
            (Shape::AccountDigits, r"\d{6,17}", standalone),
        ];
        shapes
            .into_iter()
            .map(|(shape, pattern, bounded)| {
                (
                    shape,
                    Regex::new(&format!("(?-u){pattern}")).unwrap(),
                    bounded,
                )
            })
            .collect()
    });

    fn candidates_by_regex(text: &[u8]) -> Vec<Candidate> {
        let mut found = Vec::new();
        for (shape, regex, bounded) in SHAPES.iter() {
            for m in regex.find_iter(text) {
                if bounded(text, m.start(), m.end()) {
                    found.push(Candidate {
                        shape: *shape,
                        start: m.start(),
                        end: m.end(),
                    });
                }
            }
        }
        found.sort_unstable();
        found
    }

    #[test]
    fn context_is_the_same_whether_searched_in_a_span_or_the_whole_text() {
        let kinds = [
            ContextKind::Ssn,
            ContextKind::License,
            ContextKind::Account,
            ContextKind::Routing,
        ];
        let (mut asked, mut found_context) = (0, 0);
        for text in crate::context_words::tests::context_texts(0x9e37_79b9_7f4a_7c15, 100_000) {
            let text = text.as_bytes();
            let found = candidates(text);
            let (spanned, whole) = (Context::new(text, &found), Context::whole(text));
            let mut by_shape = ByShape::default();
            candidates_into(text, &mut by_shape, &mut Vec::new());
            assert_eq!(Context::of_shapes(text, &by_shape).span, spanned.span);
            for candidate in found.iter().filter(|c| c.shape.asks_context()) {
                for kind in kinds {
                    asked += 1;
                    let answer = spanned.before(kind, candidate.start);
                    found_context += usize::from(answer);
                    assert_eq!(
                        answer,
                        whole.before(kind, candidate.start),
                        "{:?} at {}",
                        String::from_utf8_lossy(text),
                        candidate.start
                    );
                }
            }
        }
        // A span that started inside "taxpayer id" would find "id ... card", a
        // licence word, right at the window's edge.
        for spaces in 0..64 {
            let text = format!("taxpayer id{}card 1234567", " ".repeat(spaces));
            let text = text.as_bytes();
            let found = candidates(text);
            let start = text.len() - 7;
            assert!(found
                .iter()
                .any(|c| c.shape.asks_context() && c.start == start));
            assert_eq!(
                Context::new(text, &found).before(ContextKind::License, start),
                Context::whole(text).before(ContextKind::License, start),
                "{spaces} spaces"
            );
        }
        // Enough questions, and enough of them answered yes, to mean something.
        assert!(
            asked > 50_000 && found_context > 5_000,
            "{asked} asked, {found_context} yes"
        );
    }

    #[test]
    fn the_one_pass_scanner_agrees_with_the_patterns() {
        // Texts dense in digits, separators and capitals, where the shapes
        // touch, overlap and run into each other.
        const ALPHABET: &[u8] = b"0123456789012345678901234567890123456789  --SSABGDxy.,/\n:#";
        let mut rng = crate::test_rng::Rng(0x2545_f491_4f6c_dd1d);
        for _ in 0..20_000 {
            let len = 1 + rng.below(64);
            let text: Vec<u8> = (0..len)
                .map(|_| ALPHABET[rng.below(ALPHABET.len() as u64) as usize])
                .collect();
            assert_eq!(
                candidates(&text),
                candidates_by_regex(&text),
                "{:?}",
                String::from_utf8_lossy(&text)
            );
        }
        for text in [
            "",
            "no digits at all in this sentence",
            "01234567",
            "abcdefgh9",
            "\u{e9}\u{e9}\u{e9}\u{e9}7 \u{ff}\u{b9}\u{b2}",
            "GB82 WEST 1234 5698 7654 32",
            "x DE89370400440532013000 y",
            "SA1234567 S12345678 S123456789",
            "4111 1111 1111 1111 2",
            "12 123-45-6789-1",
        ] {
            assert_eq!(
                candidates(text.as_bytes()),
                candidates_by_regex(text.as_bytes()),
                "{text}"
            );
        }
    }

    /// The masking as first written, with `format!`: the specification of `mask_as`.
    fn mask_reference(element: Element, v: &str) -> String {
        if !v.is_ascii() || v.len() < 8 && element == Element::Card {
            return "*".repeat(v.chars().count());
        }
        let tail = |n: usize| &v[v.len().saturating_sub(n)..];
        match element {
            Element::Ssn => format!("***-**-{}", tail(4)),
            Element::Card => {
                let stars = v.len().saturating_sub(8);
                let middle: String = (0..stars)
                    .map(|i| if i % 4 == 3 { "* " } else { "*" })
                    .collect();
                format!("{} {} {}", &v[..4], middle.trim_end(), tail(4)).replace("  ", " ")
            }
            Element::License => format!("{}{}", "*".repeat(v.len().saturating_sub(3)), tail(3)),
            Element::Account => format!("{}{}", "*".repeat(v.len().saturating_sub(4)), tail(4)),
        }
    }

    #[test]
    fn ssn_and_aba_checks_read_the_digits_as_numbers() {
        // As first written, through `str::parse`.
        let ssn_reference = |digits: &str| {
            let part = |r: std::ops::Range<usize>| digits[r].parse::<u32>().unwrap_or(0);
            let (area, group, serial) = (part(0..3), part(3..5), part(5..9));
            !FAKE_SSNS.contains(&digits)
                && area != 0
                && area != 666
                && area < 900
                && group != 0
                && serial != 0
        };
        let aba_reference = |digits: &str| {
            let d: Vec<u32> = digits.bytes().map(|b| u32::from(b - b'0')).collect();
            d.iter().any(|&x| x != 0)
                && (3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5] + d[8])) % 10
                    == 0
        };
        let mut rng = crate::test_rng::Rng(0x2545_f491_4f6c_dd1d);
        // Digits skewed to 0, 6 and 9, where the reserved ranges are.
        const SKEWED: &[u8] = b"000666999012345678";
        for _ in 0..100_000 {
            let digits: String = (0..9)
                .map(|_| SKEWED[rng.below(SKEWED.len() as u64) as usize] as char)
                .collect();
            assert_eq!(
                valid_ssn(digits.as_bytes()),
                ssn_reference(&digits),
                "{digits}"
            );
            assert_eq!(
                valid_aba(digits.as_bytes()),
                aba_reference(&digits),
                "{digits}"
            );
        }
        for fake in FAKE_SSNS {
            assert!(!valid_ssn(fake.as_bytes()), "{fake}");
        }
        assert!(!valid_ssn(b"12345678"), "eight digits");
    }

    #[test]
    fn masks_are_what_the_reference_prints() {
        let alphabet: Vec<char> = "0123456789ABCZ\u{e9}".chars().collect();
        let mut rng = crate::test_rng::Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..5_000 {
            let len = rng.below(36);
            let value: String = (0..len)
                .map(|_| alphabet[rng.below(alphabet.len() as u64) as usize])
                .collect();
            for element in [
                Element::Ssn,
                Element::Card,
                Element::License,
                Element::Account,
            ] {
                assert_eq!(
                    mask_as(element, &value),
                    mask_reference(element, &value),
                    "{element:?} {value:?}"
                );
            }
        }
    }

    #[test]
    fn masks_never_show_the_whole_value() {
        let hits = detect(
            b"SSN 123-45-6788 card 4111 1111 1111 1111 acct 000123456789 S12345678",
            ColumnHint::None,
        );
        let masked: Vec<String> = hits.iter().map(mask).collect();
        assert_eq!(
            masked,
            [
                "***-**-6788",
                "4111 **** **** 1111",
                "********6789",
                "******678"
            ]
        );
        let amex = &detect(b"378282246310005", ColumnHint::None)[0];
        assert_eq!(mask(amex), "3782 **** *** 0005");
    }
}
