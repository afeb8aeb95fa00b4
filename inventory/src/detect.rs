//! Detectors for the data elements of 201 CMR 17.00: Social Security numbers,
//! payment card numbers, driver's licence / state ID numbers, and financial
//! account numbers. Each candidate is validated by its structure (checksums,
//! issuer ranges, reserved values) and, where the format alone is too weak,
//! by context words nearby as whole words.

use std::sync::LazyLock;

use regex::bytes::Regex;
use serde::Serialize;

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

static SSN_DASHED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u)\d{3}([- ])\d{2}([- ])\d{4}").unwrap());
static NINE_DIGITS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?-u)\d{9}").unwrap());
static CARD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?-u)\d(?:[ -]?\d){11,18}").unwrap());
static MA_LICENSE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u)S(?:A\d{7}|\d{8})").unwrap());
static OTHER_LICENSE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u)[A-Z]{0,2}\d{5,13}").unwrap());
static ACCOUNT_DIGITS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?-u)\d{6,17}").unwrap());
static IBAN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u)[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?").unwrap()
});

static SSN_CONTEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?-u:\b)(ssn|ss#|ss no|soc\.? ?sec\.?|social security|social sec|taxpayer id|tin)(?-u:\b)")
        .unwrap()
});
static LICENSE_CONTEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?-u:\b)(driver'?s?\s+licen[cs]e|licen[cs]e\s*(no\.?|number|#)|lic\s*(no\.?|#)|dl\s*(no\.?|#)|dl|state\s+id|identification\s+card|id\s+card)(?-u:\b)")
        .unwrap()
});
static ACCOUNT_CONTEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?-u:\b)(account|acct|a/c|checking|savings|bank\s+acc(oun)?t|iban|deposit\s+account)(?-u:\b)",
    )
    .unwrap()
});
static ROUTING_CONTEXT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)(?-u:\b)(routing|aba|rtn|transit)(?-u:\b)").unwrap());

/// How far back a context word is looked for, and how much may stand between it
/// and the number.
const CONTEXT_BYTES: usize = 48;
const CONTEXT_GAP: usize = 20;

/// Well-known SSNs that appear in samples and advertising, never a person's.
const FAKE_SSNS: [&str; 4] = ["078051120", "219099999", "123456789", "111111111"];

/// Finds every element in `text`. `hint` widens what counts in a column known to
/// hold a kind of element (a bare 9-digit number under an "SSN" header).
pub fn detect(text: &[u8], hint: ColumnHint) -> Vec<Hit> {
    let mut hits: Vec<Hit> = Vec::new();
    // Every element holds digits; most prose records hold none: skip the patterns.
    if !text.iter().any(u8::is_ascii_digit) {
        return hits;
    }
    let taken = |hits: &Vec<Hit>, start: usize, end: usize| {
        hits.iter().any(|h| start < h.end && h.start < end)
    };

    for m in CARD.find_iter(text) {
        if !standalone(text, m.start(), m.end()) {
            continue;
        }
        if let Some(value) = card_number(m.as_bytes()) {
            hits.push(Hit {
                element: Element::Card,
                start: m.start(),
                end: m.end(),
                value,
            });
        }
    }
    for caps in SSN_DASHED.captures_iter(text) {
        let m = caps.get(0).expect("match");
        // One consistent separator: 123-45 6789 is not an SSN.
        if caps[1] != caps[2]
            || !standalone(text, m.start(), m.end())
            || taken(&hits, m.start(), m.end())
        {
            continue;
        }
        let digits = digits_of(m.as_bytes());
        if valid_ssn(&digits) {
            hits.push(Hit {
                element: Element::Ssn,
                start: m.start(),
                end: m.end(),
                value: digits,
            });
        }
    }
    for m in NINE_DIGITS.find_iter(text) {
        if !standalone(text, m.start(), m.end()) || taken(&hits, m.start(), m.end()) {
            continue;
        }
        let digits = digits_of(m.as_bytes());
        let ssn_context = hint == ColumnHint::Ssn || has_context(text, m.start(), &SSN_CONTEXT);
        if ssn_context && valid_ssn(&digits) {
            hits.push(Hit {
                element: Element::Ssn,
                start: m.start(),
                end: m.end(),
                value: digits,
            });
        } else if (hint == ColumnHint::Account || has_context(text, m.start(), &ROUTING_CONTEXT))
            && valid_aba(&digits)
        {
            hits.push(Hit {
                element: Element::Account,
                start: m.start(),
                end: m.end(),
                value: digits,
            });
        }
    }
    for m in MA_LICENSE.find_iter(text) {
        if word_bounded(text, m.start(), m.end()) && !taken(&hits, m.start(), m.end()) {
            hits.push(Hit {
                element: Element::License,
                start: m.start(),
                end: m.end(),
                value: String::from_utf8_lossy(m.as_bytes()).into_owned(),
            });
        }
    }
    for m in OTHER_LICENSE.find_iter(text) {
        let licensed =
            hint == ColumnHint::License || has_context(text, m.start(), &LICENSE_CONTEXT);
        if licensed && word_bounded(text, m.start(), m.end()) && !taken(&hits, m.start(), m.end()) {
            hits.push(Hit {
                element: Element::License,
                start: m.start(),
                end: m.end(),
                value: String::from_utf8_lossy(m.as_bytes()).into_owned(),
            });
        }
    }
    for m in IBAN.find_iter(text) {
        if !word_bounded(text, m.start(), m.end()) || taken(&hits, m.start(), m.end()) {
            continue;
        }
        let compact: String = m
            .as_bytes()
            .iter()
            .filter(|b| **b != b' ')
            .map(|&b| b as char)
            .collect();
        if valid_iban(&compact) {
            hits.push(Hit {
                element: Element::Account,
                start: m.start(),
                end: m.end(),
                value: compact,
            });
        }
    }
    for m in ACCOUNT_DIGITS.find_iter(text) {
        if !standalone(text, m.start(), m.end()) || taken(&hits, m.start(), m.end()) {
            continue;
        }
        if hint == ColumnHint::Account || has_context(text, m.start(), &ACCOUNT_CONTEXT) {
            hits.push(Hit {
                element: Element::Account,
                start: m.start(),
                end: m.end(),
                value: digits_of(m.as_bytes()),
            });
        }
    }
    hits.sort_by_key(|h| h.start);
    hits
}

fn digits_of(bytes: &[u8]) -> String {
    bytes
        .iter()
        .filter(|b| b.is_ascii_digit())
        .map(|&b| b as char)
        .collect()
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

/// A context word right before `start`: at most `CONTEXT_GAP` bytes between the
/// word and the number, and no sentence or line break in between ("Account No.:
/// 123" counts; "account closed. Order 123" does not).
fn has_context(text: &[u8], start: usize, context: &Regex) -> bool {
    let from = start.saturating_sub(CONTEXT_BYTES);
    let window = &text[from..start];
    let Some(last) = context.find_iter(window).last() else {
        return false;
    };
    let gap = &window[last.end()..];
    if gap.len() > CONTEXT_GAP {
        return false;
    }
    let gap = String::from_utf8_lossy(gap).to_ascii_lowercase();
    let gap = gap
        .trim_start()
        .strip_prefix("no.")
        .or_else(|| gap.trim_start().strip_prefix("num."))
        .unwrap_or(&gap);
    !gap.contains(['.', '!', '?', ';', '\n'])
}

pub fn valid_ssn(digits: &str) -> bool {
    if digits.len() != 9 || FAKE_SSNS.contains(&digits) {
        return false;
    }
    let area: u32 = digits[..3].parse().unwrap_or(0);
    let group: u32 = digits[3..5].parse().unwrap_or(0);
    let serial: u32 = digits[5..].parse().unwrap_or(0);
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
fn card_number(candidate: &[u8]) -> Option<String> {
    let separators: Vec<u8> = candidate
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_digit())
        .collect();
    if separators.windows(2).any(|w| w[0] != w[1]) {
        return None;
    }
    let digits: Vec<u8> = candidate
        .iter()
        .copied()
        .filter(u8::is_ascii_digit)
        .collect();
    if !(12..=19).contains(&digits.len()) || !issuer_accepts(&digits) || !luhn(&digits) {
        return None;
    }
    // A repeated digit passes Luhn in places; no issuer hands it out.
    if digits.iter().all(|&d| d == digits[0]) {
        return None;
    }
    Some(String::from_utf8(digits).expect("ascii digits"))
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
pub fn valid_aba(digits: &str) -> bool {
    let d: Vec<u32> = digits.bytes().map(|b| u32::from(b - b'0')).collect();
    d.len() == 9
        && d.iter().any(|&x| x != 0)
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
