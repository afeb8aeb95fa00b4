//! The words that make a bare number an element: "SSN", "driver's license",
//! "account", "routing"... Found by hand, one word start at a time, because a
//! record is short and a regex search costs more to set up than to run there.
//!
//! The specification is the regex in the tests (ASCII letters in any case,
//! Unicode white space between words, ASCII word boundaries at both ends, the
//! leftmost word first and, at one place, the first alternative that matches);
//! a differential test holds the two together.

use std::ops::Range;

/// What a context word speaks of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContextKind {
    Ssn,
    License,
    Account,
    Routing,
}

use ContextKind::{Account as ACCOUNT, License as LICENSE, Routing as ROUTING, Ssn as SSN};

/// Appends (kind, start, end) of every context word within `span` of `text`, in
/// text order. A word lies wholly inside the span; whether it stands alone is
/// judged against the whole text.
// Kept out of line: inlined into its one caller it compiled to a slower loop.
#[inline(never)]
pub fn find(text: &[u8], span: Range<usize>, found: &mut Vec<(ContextKind, usize, usize)>) {
    let limit = span.end.min(text.len());
    let words = Words { text, limit };
    let mut at = span.start;
    // A word is tried only where one can start; after a miss the next start is
    // past this word, after a hit past the word found.
    while let Some(start) = next_start(text, at, limit) {
        let found_here = if may_begin(&text[start..limit]) {
            words.at(start)
        } else {
            None
        };
        match found_here {
            Some((kind, end)) => {
                found.push((kind, start, end));
                at = end;
            }
            None => at = start + 1,
        }
    }
}

/// Whether `rest` begins as some context word does: its first two bytes, in
/// any case. Most words that start with a first letter fail here, before any
/// word is compared.
fn may_begin(rest: &[u8]) -> bool {
    let [first, second, ..] = rest else {
        // Every context word has at least two bytes.
        return false;
    };
    matches!(
        (first.to_ascii_lowercase(), second.to_ascii_lowercase()),
        (b's', b's' | b'o' | b't' | b'a')
            | (b't', b'a' | b'i' | b'r')
            | (b'd', b'r' | b'l' | b'e')
            | (b'l', b'i')
            | (b'i', b'd' | b'b')
            | (b'a', b'c' | b'/' | b'b')
            | (b'c', b'h')
            | (b'b', b'a')
            | (b'r', b'o' | b't')
    )
}

/// Whether a context word can start at `at`: a letter some word starts with,
/// not after a word byte (`\b`).
fn may_start_at(text: &[u8], at: usize) -> bool {
    CLASS[usize::from(text[at])] & FIRST_LETTER != 0 && (at == 0 || !is_word_byte(text[at - 1]))
}

/// The first place in `from..limit` where a context word can start.
fn next_start(text: &[u8], mut from: usize, limit: usize) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    {
        // Sixteen places at a time, each with the byte before it.
        while from >= 1 && from + 16 <= limit {
            let before: &[u8; 16] = text[from - 1..from + 15].try_into().expect("16 bytes");
            let here: &[u8; 16] = text[from..from + 16].try_into().expect("16 bytes");
            // SAFETY: SSE2 is part of the x86_64 baseline (see `crate::sse2`).
            let starts = unsafe { starts16(before, here) };
            if starts != 0 {
                return Some(from + starts.trailing_zeros() as usize);
            }
            from += 16;
        }
    }
    (from..limit).find(|&at| may_start_at(text, at))
}

/// [`may_start_at`] for sixteen places at once: bit i set where a context word
/// can start at `here[i]`, `before[i]` being the byte before it.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn starts16(before: &[u8; 16], here: &[u8; 16]) -> u32 {
    use crate::sse2::{equal, letters, load, lower_case, mask, within};
    use std::arch::x86_64::{_mm_andnot_si128, _mm_or_si128};
    let (before, here) = (load(before), load(here));
    let lower = lower_case(here);
    // a-d, i, l, r-t: the letters some context word starts with.
    let first = _mm_or_si128(
        _mm_or_si128(within(lower, b'a', b'd'), within(lower, b'r', b't')),
        _mm_or_si128(equal(lower, b'i'), equal(lower, b'l')),
    );
    let word = _mm_or_si128(
        _mm_or_si128(letters(before), within(before, b'0', b'9')),
        equal(before, b'_'),
    );
    mask(_mm_andnot_si128(word, first))
}

/// Whether byte `b` can be part of a context word: letters, white space
/// (ASCII, or a byte of a multi-byte character, which may be Unicode white space),
/// and the punctuation the words use. A search may start after any other byte.
pub fn may_be_in_word(b: u8) -> bool {
    !b.is_ascii()
        || b.is_ascii_alphabetic()
        || matches!(b, b'\t'..=b'\r' | b' ' | b'\'' | b'.' | b'#' | b'/')
}

/// Byte classes for the scan: a word byte for `\b` (ASCII letters, digits, the
/// underscore), and a letter some context word starts with.
const WORD: u8 = 1;
const FIRST_LETTER: u8 = 2;
static CLASS: [u8; 256] = {
    let mut class = [0; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        if byte.is_ascii_alphanumeric() || byte == b'_' {
            class[b] |= WORD;
        }
        if matches!(
            byte.to_ascii_lowercase(),
            b's' | b't' | b'd' | b'l' | b'i' | b'a' | b'c' | b'b' | b'r'
        ) {
            class[b] |= FIRST_LETTER;
        }
        b += 1;
    }
    class
};

/// A word byte for `\b`: ASCII letters, digits and the underscore.
fn is_word_byte(b: u8) -> bool {
    CLASS[usize::from(b)] & WORD != 0
}

/// The length of the Unicode white-space character (`\s`) `bytes` start with.
fn white_space_len(bytes: &[u8]) -> Option<usize> {
    match bytes {
        [b'\t'..=b'\r' | b' ', ..] => Some(1),
        [0xc2, 0x85 | 0xa0, ..] => Some(2),
        // U+1680, U+2000..=U+200A, U+2028, U+2029, U+202F, U+205F, U+3000.
        [0xe1, 0x9a, 0x80, ..]
        | [0xe2, 0x80, 0x80..=0x8a | 0xa8 | 0xa9 | 0xaf, ..]
        | [0xe2, 0x81, 0x9f, ..]
        | [0xe3, 0x80, 0x80, ..] => Some(3),
        _ => None,
    }
}

/// The text, with the end of the span a word must end within.
struct Words<'t> {
    text: &'t [u8],
    limit: usize,
}

impl Words<'_> {
    /// The first context word, in the specification's order, that starts at `at`.
    fn at(&self, at: usize) -> Option<(ContextKind, usize)> {
        let kind_of = |kind| move |end| (kind, end);
        match self.text[at].to_ascii_lowercase() {
            b's' => self
                .ssn_s(at)
                .map(kind_of(SSN))
                .or_else(|| self.state_id(at).map(kind_of(LICENSE)))
                .or_else(|| self.word(at, b"savings").map(kind_of(ACCOUNT))),
            b't' => self
                .word(at, b"taxpayer id")
                .or_else(|| self.word(at, b"tin"))
                .map(kind_of(SSN))
                .or_else(|| self.word(at, b"transit").map(kind_of(ROUTING))),
            b'd' => self
                .drivers_license(at)
                .or_else(|| self.number_word(at, b"dl"))
                .or_else(|| self.word(at, b"dl"))
                .map(kind_of(LICENSE))
                .or_else(|| self.words(at, b"deposit", b"account").map(kind_of(ACCOUNT))),
            b'l' => self
                .licence_number(at)
                .or_else(|| self.number_word(at, b"lic"))
                .map(kind_of(LICENSE)),
            b'i' => self
                .words(at, b"identification", b"card")
                .or_else(|| self.words(at, b"id", b"card"))
                .map(kind_of(LICENSE))
                .or_else(|| self.word(at, b"iban").map(kind_of(ACCOUNT))),
            b'a' => self
                .word(at, b"account")
                .or_else(|| self.word(at, b"acct"))
                .or_else(|| self.word(at, b"a/c"))
                .map(kind_of(ACCOUNT))
                .or_else(|| self.word(at, b"aba").map(kind_of(ROUTING))),
            b'c' => self.word(at, b"checking").map(kind_of(ACCOUNT)),
            b'b' => self.bank_account(at).map(kind_of(ACCOUNT)),
            b'r' => self
                .word(at, b"routing")
                .or_else(|| self.word(at, b"rtn"))
                .map(kind_of(ROUTING)),
            _ => None,
        }
    }

    /// ssn | ss# | ss no | soc\.? ?sec\.? | social security | social sec
    fn ssn_s(&self, at: usize) -> Option<usize> {
        self.word(at, b"ssn")
            .or_else(|| self.word(at, b"ss#"))
            .or_else(|| self.word(at, b"ss no"))
            .or_else(|| {
                let end = self.literal(at, b"soc")?;
                let end = self.optional(end, b'.');
                let end = self.optional(end, b' ');
                let end = self.literal(end, b"sec")?;
                self.dot_or_not(end)
            })
            .or_else(|| self.word(at, b"social security"))
            .or_else(|| self.word(at, b"social sec"))
    }

    /// state\s+id
    fn state_id(&self, at: usize) -> Option<usize> {
        self.words(at, b"state", b"id")
    }

    /// driver'?s?\s+licen[cs]e
    fn drivers_license(&self, at: usize) -> Option<usize> {
        let end = self.literal(at, b"driver")?;
        let end = self.optional(end, b'\'');
        let end = self.optional(end, b's');
        let end = self.white_space(end, 1)?;
        let end = self.licence(end)?;
        self.bounded(end)
    }

    /// licen[cs]e\s*(no\.?|number|#)
    fn licence_number(&self, at: usize) -> Option<usize> {
        let end = self.licence(at)?;
        let end = self.white_space(end, 0)?;
        // "number" cannot stand where "no" or "#" does: their order is free.
        self.no_or_hash(end).or_else(|| self.word(end, b"number"))
    }

    /// `word`\s*(no\.?|#)
    fn number_word(&self, at: usize, word: &[u8]) -> Option<usize> {
        let end = self.literal(at, word)?;
        let end = self.white_space(end, 0)?;
        self.no_or_hash(end)
    }

    /// no\.?|#, standing alone.
    fn no_or_hash(&self, at: usize) -> Option<usize> {
        self.literal(at, b"no")
            .and_then(|no| self.dot_or_not(no))
            .or_else(|| self.word(at, b"#"))
    }

    /// bank\s+acc(oun)?t
    fn bank_account(&self, at: usize) -> Option<usize> {
        let end = self.literal(at, b"bank")?;
        let end = self.white_space(end, 1)?;
        self.word(end, b"account")
            .or_else(|| self.word(end, b"acct"))
    }

    /// licen[cs]e
    fn licence(&self, at: usize) -> Option<usize> {
        let end = self.literal(at, b"licen")?;
        let end = self
            .literal(end, b"c")
            .or_else(|| self.literal(end, b"s"))?;
        self.literal(end, b"e")
    }

    /// `first`\s+`second`, standing alone.
    fn words(&self, at: usize, first: &[u8], second: &[u8]) -> Option<usize> {
        let end = self.literal(at, first)?;
        let end = self.white_space(end, 1)?;
        self.word(end, second)
    }

    /// `literal`, standing alone.
    fn word(&self, at: usize, literal: &[u8]) -> Option<usize> {
        self.literal(at, literal).and_then(|end| self.bounded(end))
    }

    /// A full stop if one follows and a word boundary comes after it, else a
    /// word boundary right here.
    fn dot_or_not(&self, at: usize) -> Option<usize> {
        self.literal(at, b".")
            .and_then(|end| self.bounded(end))
            .or_else(|| self.bounded(at))
    }

    /// Where `literal` ends if it stands at `at`, letters in any case.
    fn literal(&self, at: usize, literal: &[u8]) -> Option<usize> {
        let end = at.checked_add(literal.len())?;
        (end <= self.limit && self.text[at..end].eq_ignore_ascii_case(literal)).then_some(end)
    }

    /// Past `byte` if it stands at `at` (in any case), else `at`.
    fn optional(&self, at: usize, byte: u8) -> usize {
        self.literal(at, &[byte]).unwrap_or(at)
    }

    /// Past all the white space at `at`, if there are at least `least` characters.
    fn white_space(&self, mut at: usize, least: usize) -> Option<usize> {
        let mut count = 0;
        while let Some(len) = white_space_len(&self.text[at..self.limit]) {
            at += len;
            count += 1;
        }
        (count >= least).then_some(at)
    }

    /// `at` if a word boundary (`\b`) stands there in the whole text.
    fn bounded(&self, at: usize) -> Option<usize> {
        let before = at > 0 && is_word_byte(self.text[at - 1]);
        let after = self.text.get(at).is_some_and(|&b| is_word_byte(b));
        (before != after).then_some(at)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::LazyLock;

    /// Random texts of context words (whole, cut, in any case), numbers of
    /// every shape, white space and punctuation, run together.
    pub(crate) fn context_texts(seed: u64, count: usize) -> impl Iterator<Item = String> {
        const PIECES: &[&str] = &[
            "ssn",
            "SS#",
            "ss no",
            "Soc. Sec.",
            "soc sec",
            "social security",
            "Social Sec",
            "taxpayer id",
            "TIN",
            "driver's license",
            "Drivers  Licence",
            "driver\u{a0}license",
            "license no.",
            "licence number",
            "LICENSE#",
            "lic no",
            "lic #",
            "dl",
            "DL No.",
            "dl#",
            "state id",
            "State\tID",
            "identification card",
            "id card",
            "account",
            "Acct",
            "a/c",
            "checking",
            "savings",
            "bank account",
            "bank acct",
            "Bank\u{3000}Account",
            "iban",
            "deposit account",
            "routing",
            "ABA",
            "rtn",
            "transit",
            "no.",
            "num.",
            "number",
            "accounts",
            "xssn",
            "publication",
            "s",
            "k",
            "id",
            "card",
            "bank",
            "\u{17f}sn",
            "chec\u{212a}ing",
            "123456789",
            "123-45-6789",
            "12345678",
            "DL1234567",
            "S12345678",
            "AB12345",
            "4111111111111111",
            "0012345678901",
            "12",
            "2026",
            " ",
            " ",
            " ",
            "  ",
            "\t",
            "\n",
            "\u{a0}",
            "\u{3000}",
            "\u{2028}",
            ".",
            ".",
            ",",
            ":",
            "#",
            "/",
            "'",
            "_",
            ";",
            "-",
            "(",
            ")",
        ];
        let mut rng = crate::test_rng::Rng(seed);
        (0..count).map(move |_| {
            let pieces = 1 + rng.below(24) as usize;
            (0..pieces)
                .map(|_| PIECES[rng.below(PIECES.len() as u64) as usize])
                .collect()
        })
    }

    /// The specification: one pattern per kind, searched together, leftmost first.
    static SPECIFICATION: LazyLock<regex_automata::meta::Regex> = LazyLock::new(|| {
        regex_automata::meta::Regex::new_many(&[
            r"(?i-u)\b(ssn|ss#|ss no|soc\.? ?sec\.?|social security|social sec|taxpayer id|tin)\b",
            r"(?i-u)\b(driver'?s?(?u:\s)+licen[cs]e|licen[cs]e(?u:\s)*(no\.?|number|#)|lic(?u:\s)*(no\.?|#)|dl(?u:\s)*(no\.?|#)|dl|state(?u:\s)+id|identification(?u:\s)+card|id(?u:\s)+card)\b",
            r"(?i-u)\b(account|acct|a/c|checking|savings|bank(?u:\s)+acc(oun)?t|iban|deposit(?u:\s)+account)\b",
            r"(?i-u)\b(routing|aba|rtn|transit)\b",
        ])
        .expect("the specification compiles")
    });

    fn specified(text: &[u8], span: Range<usize>) -> Vec<(ContextKind, usize, usize)> {
        let kinds = [SSN, LICENSE, ACCOUNT, ROUTING];
        SPECIFICATION
            .find_iter(regex_automata::Input::new(text).span(span))
            .map(|m| (kinds[m.pattern().as_usize()], m.start(), m.end()))
            .collect()
    }

    fn found(text: &[u8], span: Range<usize>) -> Vec<(ContextKind, usize, usize)> {
        let mut words = Vec::new();
        find(text, span, &mut words);
        words
    }

    #[test]
    fn word_starts_are_found_as_one_at_a_time() {
        // Bytes near the classes' edges, and every byte now and then.
        const NEAR: &[u8] = b"aAbBcCdDiIlLrRsStTeEzZ09_ @[`{/\x80\xff";
        let mut rng = crate::test_rng::Rng(0x3c6e_f372_fe94_f82b);
        for _ in 0..20_000 {
            let text: Vec<u8> = (0..rng.below(80))
                .map(|_| match rng.below(4) {
                    0 => rng.below(256) as u8,
                    _ => NEAR[rng.below(NEAR.len() as u64) as usize],
                })
                .collect();
            let from = rng.below(text.len() as u64 + 1) as usize;
            let limit = from + rng.below((text.len() - from) as u64 + 1) as usize;
            assert_eq!(
                next_start(&text, from, limit),
                (from..limit).find(|&at| may_start_at(&text, at)),
                "{text:?} from {from} to {limit}"
            );
        }
    }

    #[test]
    fn white_space_is_unicode_white_space() {
        let space = regex::Regex::new(r"^\s").unwrap();
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            let mut bytes = [0; 4];
            let encoded = c.encode_utf8(&mut bytes);
            let expected = space.is_match(encoded).then_some(encoded.len());
            assert_eq!(white_space_len(encoded.as_bytes()), expected, "{c:?}");
        }
    }

    #[test]
    fn words_are_the_specification_s() {
        let mut rng = crate::test_rng::Rng(0x6a09_e667_f3bc_c908);
        let mut words = 0;
        for text in context_texts(0xbb67_ae85_84ca_a73b, 100_000) {
            let text = text.as_bytes();
            let whole = found(text, 0..text.len());
            assert_eq!(
                whole,
                specified(text, 0..text.len()),
                "{:?}",
                String::from_utf8_lossy(text)
            );
            words += whole.len();
            // A span anywhere, edges inside words and characters included.
            let start = rng.below(text.len() as u64 + 1) as usize;
            let end = start + rng.below((text.len() - start) as u64 + 1) as usize;
            assert_eq!(
                found(text, start..end),
                specified(text, start..end),
                "{:?} in {start}..{end}",
                String::from_utf8_lossy(text)
            );
        }
        assert!(words > 100_000, "only {words} words");
        for text in [
            "",
            "ssn",
            "SSN:",
            "ss#1",
            "ss# 1",
            "Soc. Sec. No.",
            "soc.sec",
            "soc sec.x",
            "license no.",
            "license no.5",
            "License Number",
            "licenses",
            "lic#",
            "dl no. 5",
            "DLNO",
            "dl.",
            "driver's  license",
            "drivers\u{a0}licence",
            "driver\u{3000}license",
            "bank acct",
            "bank  account",
            "bank accounts",
            "_account",
            "account_",
            "1account",
            "a/c",
            "a/cx",
            "x a/c",
            "taxpayer id card",
            "state id",
            "id card",
            "identification card",
        ] {
            let text = text.as_bytes();
            assert_eq!(
                found(text, 0..text.len()),
                specified(text, 0..text.len()),
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
    }
}
