//! Personal names: first names and surnames from the US Census lists embedded in
//! the binary (see data/README.md), matched as "First Last", "Last, First",
//! "J. Last" and "LAST, J.", in Title Case or UPPER CASE, hyphenated or with
//! accents the lists leave out.

use crate::name_key::{first_slot, name_key, LONGEST_NAME};
use crate::swar::first_in_range;

/// A name list as the build script laid it out: open addressing over exact
/// keys (`name_key`), little-endian `u64` slots, 0 for an empty slot.
struct NameTable(&'static [u8]);

impl NameTable {
    #[inline]
    fn contains(&self, word: &str) -> bool {
        match name_key(word.as_bytes()) {
            Some(key) => self.holds(key),
            // Only a word that is not plain letters can be hyphenated or have
            // accents to fold.
            None => self.contains_unusual(word),
        }
    }

    /// A hyphenated word ("Garcia-Lopez", "Mary-Jane") when each part is in
    /// the list and none is a common word; a word with accents by its letters
    /// without them.
    #[cold]
    #[inline(never)]
    fn contains_unusual(&self, word: &str) -> bool {
        let key = |part: &str| {
            name_key(part.as_bytes())
                .or_else(|| folded(part).and_then(|(letters, len)| name_key(&letters[..len])))
        };
        if word.as_bytes().contains(&b'-') {
            word.split('-').all(|part| {
                !part.is_empty() && !common(part) && key(part).is_some_and(|k| self.holds(k))
            })
        } else {
            !word.is_ascii() && key(word).is_some_and(|k| self.holds(k))
        }
    }

    #[inline]
    fn holds(&self, key: u64) -> bool {
        let mask = self.0.len() / 8 - 1;
        let mut slot = first_slot(key, mask);
        loop {
            let stored = u64::from_le_bytes(
                self.0[slot * 8..slot * 8 + 8]
                    .try_into()
                    .expect("eight bytes"),
            );
            if stored == key {
                return true;
            }
            if stored == 0 {
                return false;
            }
            slot = (slot + 1) & mask;
        }
    }
}

/// A word's letters with their accents taken off ("José" is "Jose", "João"
/// "Joao"), as the Census lists spell names; `None` for a letter without an
/// unaccented form or a word too long for a name.
fn folded(word: &str) -> Option<([u8; LONGEST_NAME], usize)> {
    let mut letters = [0u8; LONGEST_NAME];
    let mut len = 0;
    for c in word.chars() {
        let plain = match c {
            'A'..='Z' | 'a'..='z' => c as u8,
            'À'..='Å' | 'à'..='å' | 'Ā' | 'ā' => b'a',
            'Ç' | 'ç' | 'Č' | 'č' | 'Ć' | 'ć' => b'c',
            'È'..='Ë' | 'è'..='ë' | 'Ē' | 'ē' | 'Ę' | 'ę' | 'Ě' | 'ě' => b'e',
            'Ì'..='Ï' | 'ì'..='ï' => b'i',
            'Ñ' | 'ñ' | 'Ń' | 'ń' => b'n',
            'Ò'..='Ö' | 'Ø' | 'ò'..='ö' | 'ø' | 'Ō' | 'ō' | 'Ő' | 'ő' => b'o',
            'Ù'..='Ü' | 'ù'..='ü' | 'Ū' | 'ū' | 'Ů' | 'ů' | 'Ű' | 'ű' => b'u',
            'Ý' | 'ý' | 'ÿ' => b'y',
            'Š' | 'š' | 'Ś' | 'ś' => b's',
            'Ž' | 'ž' | 'Ź' | 'ź' | 'Ż' | 'ż' => b'z',
            'Ł' | 'ł' => b'l',
            _ => return None,
        };
        *letters.get_mut(len)? = plain;
        len += 1;
    }
    Some((letters, len))
}

static FIRST: NameTable = NameTable(include_bytes!(concat!(env!("OUT_DIR"), "/first-names.bin")));
static LAST: NameTable = NameTable(include_bytes!(concat!(env!("OUT_DIR"), "/surnames.bin")));

/// Words that are first names or surnames in the lists but, capitalised at the
/// start of a sentence or in a heading, are far more often ordinary words.
const COMMON_WORDS: [&str; 24] = [
    "WILL", "MAY", "JUNE", "APRIL", "AUGUST", "MARK", "BILL", "GRANT", "HOPE", "JOY", "FAITH",
    "LONG", "YOUNG", "NEW", "HALL", "DATE", "TOTAL", "PAGE", "CHASE", "BANK", "STREET", "COURT",
    "AMOUNT", "NUMBER",
];

/// The US state and territory codes that are also first names in the lists.
/// In capitals after a comma they are an address ("Worcester, MA 01608"), not
/// "Last, First"; "Smith, Al" in Title Case still names a person.
const STATE_CODES_IN_FIRST_NAMES: [&str; 7] = ["AL", "IN", "MA", "MI", "OK", "PA", "VI"];

pub fn is_first_name(word: &str) -> bool {
    FIRST.contains(word)
}

pub fn is_surname(word: &str) -> bool {
    LAST.contains(word)
}

/// Title Case ("Smith", "O'Brien", "McDonald", "José") or UPPER CASE, at
/// least 2 letters.
fn capitalised(word: &str) -> bool {
    let bytes = word.as_bytes();
    let name_byte = |b: &u8| b.is_ascii_alphabetic() || *b == b'\'' || *b == b'-';
    bytes.len() >= 2
        && bytes[0].is_ascii_uppercase()
        && (bytes.iter().all(name_byte) || !word.is_ascii() && capitalised_beyond_ascii(word))
}

#[cold]
#[inline(never)]
fn capitalised_beyond_ascii(word: &str) -> bool {
    word.chars()
        .all(|c| c.is_alphabetic() || c == '\'' || c == '-')
}

fn common(word: &str) -> bool {
    // The longest common word has six letters.
    let mut upper = [0u8; 6];
    let Some(buffer) = upper.get_mut(..word.len()) else {
        return false;
    };
    buffer.copy_from_slice(word.as_bytes());
    buffer.make_ascii_uppercase();
    COMMON_WORDS.iter().any(|c| c.as_bytes() == buffer)
}

/// A word with the punctuation that follows it, which decides "Last, First".
fn word_and_end(w: &str) -> (&str, char) {
    let bytes = w.as_bytes();
    let kept = |b: &u8| b.is_ascii_alphanumeric() || *b == b'\'' || *b == b'.';
    let start = bytes.iter().position(kept).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(kept).map_or(start, |i| i + 1);
    // What was cut is most often nothing or a mark; a byte beyond ASCII in it
    // may be a letter ("José").
    let beyond_ascii = |cut: &[u8]| cut.iter().any(|b| !b.is_ascii());
    let trimmed = if beyond_ascii(&bytes[..start]) || beyond_ascii(&bytes[end..]) {
        trimmed_beyond_ascii(w)
    } else {
        &w[start..end]
    };
    // Only a comma after the word matters ("Last, First").
    let after = match bytes.last() {
        Some(&b) if b.is_ascii() => char::from(b),
        Some(_) => char::REPLACEMENT_CHARACTER,
        None => ' ',
    };
    (trimmed.trim_end_matches('.'), after)
}

/// Letters beyond ASCII are kept ("José"); quotes and other marks go.
#[cold]
#[inline(never)]
fn trimmed_beyond_ascii(w: &str) -> &str {
    w.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'' && c != '.')
}

/// Whether two adjacent words name a person.
fn names_a_person((a, a_end): (&str, char), (b, _): (&str, char)) -> bool {
    let initial = a.len() == 1 && a.chars().all(|c| c.is_ascii_uppercase());
    let last_first = a_end == ','
        && capitalised(a)
        && capitalised(b)
        && !STATE_CODES_IN_FIRST_NAMES.contains(&b)
        && is_surname(a)
        && is_first_name(b)
        && !common(b);
    let initial_last = initial && capitalised(b) && is_surname(b) && !common(b);
    // "SMITH, J." as rosters and court records list people.
    let last_initial = a_end == ','
        && capitalised(a)
        && is_surname(a)
        && !common(a)
        && b.len() == 1
        && b.as_bytes()[0].is_ascii_uppercase();
    let first_last = a_end != ','
        && capitalised(a)
        && capitalised(b)
        && is_first_name(a)
        && is_surname(b)
        && !common(a)
        && !common(b);
    last_first || initial_last || last_initial || first_last
}

/// Whether the character at `at` (a character boundary) is white space as
/// `char::is_whitespace` sees it, and its length.
#[inline]
fn space_at(text: &str, at: usize) -> (bool, usize) {
    let byte = text.as_bytes()[at];
    if byte < 0x80 {
        (ascii_space(byte), 1)
    } else {
        let c = text[at..].chars().next().expect("not at the end");
        (c.is_whitespace(), c.len_utf8())
    }
}

/// As [`space_at`], for the character that ends at `at`.
#[inline]
fn space_before(text: &str, at: usize) -> (bool, usize) {
    let byte = text.as_bytes()[at - 1];
    if byte < 0x80 {
        (ascii_space(byte), 1)
    } else {
        let c = text[..at].chars().next_back().expect("not at the start");
        (c.is_whitespace(), c.len_utf8())
    }
}

/// The ASCII characters `char::is_whitespace` accepts.
fn ascii_space(byte: u8) -> bool {
    matches!(byte, b'\t'..=b'\r' | b' ')
}

/// Where the word holding the character at `at` ends: the next white space,
/// or the end. Inside a word, eight bytes are checked at a time for the only
/// bytes that can end it (ASCII controls and space, or non-ASCII).
fn word_end(text: &str, mut at: usize) -> usize {
    let bytes = text.as_bytes();
    while at < bytes.len() {
        at += plain_prefix(&bytes[at..]);
        if at == bytes.len() {
            break;
        }
        let (space, len) = space_at(text, at);
        if space {
            break;
        }
        at += len;
    }
    at
}

/// Where the word holding the character at `at` starts: just after the white
/// space before it, or at the start.
fn word_start(text: &str, mut at: usize) -> usize {
    while at > 0 {
        let (space, len) = space_before(text, at);
        if space {
            break;
        }
        at -= len;
    }
    at
}

/// Whether `gap` (between two words) is white space only.
fn only_space(gap: &str) -> bool {
    gap == " " || gap.chars().all(char::is_whitespace)
}

/// The words of `text`, split at white space as `char::is_whitespace` sees it.
#[cfg(test)]
fn words(text: &str) -> impl Iterator<Item = &str> {
    let mut at = 0;
    std::iter::from_fn(move || {
        loop {
            if at == text.len() {
                return None;
            }
            let (space, len) = space_at(text, at);
            if !space {
                break;
            }
            at += len;
        }
        let start = at;
        at = word_end(text, at);
        Some(&text[start..at])
    })
}

/// How many leading bytes are printable ASCII other than space (0x21..=0x7e
/// and DEL), none of which is white space or starts a multi-byte character.
fn plain_prefix(bytes: &[u8]) -> usize {
    crate::swar::run_in_range::<0x21, 0x7f>(bytes)
}

/// Whether a word, once its leading punctuation is trimmed as `word_and_end`
/// trims it, starts with a capital: no other word can be part of a name.
fn starts_capitalised(word: &str) -> bool {
    word.bytes()
        .find(|b| b.is_ascii_alphanumeric() || *b == b'\'' || *b == b'.')
        .is_some_and(|b| b.is_ascii_uppercase())
}

/// Counts the personal names in `text`.
///
/// Only a word with a capital can be part of a name, so the scan goes from
/// capital to capital (eight bytes at a time between them) instead of word by
/// word; two such words are adjacent when only white space lies between them.
pub fn count_names(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut count = 0;
    // The word before, while it could begin a name, and where it ends.
    let mut previous: Option<((&str, char), usize)> = None;
    let mut at = 0;
    while let Some(offset) = first_in_range::<b'A', b'Z'>(&bytes[at..]) {
        let capital = at + offset;
        let (start, end) = (word_start(text, capital), word_end(text, capital));
        at = end;
        let word = &text[start..end];
        if !starts_capitalised(word) {
            previous = None;
            continue;
        }
        let word = word_and_end(word);
        match previous {
            Some((first, first_end))
                if only_space(&text[first_end..start]) && names_a_person(first, word) =>
            {
                count += 1;
                // The two words are one name: the next pair starts after both.
                previous = None;
            }
            _ => previous = Some((word, end)),
        }
    }
    count
}

/// A column header as its words are compared: trimmed, lower case, with `_`
/// and `-` as spaces ("Social_Security-No" is "social security no").
pub fn normalized_header(header: &str) -> String {
    header
        .trim()
        .chars()
        .map(|c| match c {
            '_' | '-' => ' ',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// Whether a column header names people ("First Name", "Employee Name", "Customer").
pub fn is_name_header(header: &str) -> bool {
    names_people(&normalized_header(header))
}

/// [`is_name_header`] of a header already normalized by [`normalized_header`].
pub fn names_people(h: &str) -> bool {
    [
        "name",
        "first name",
        "last name",
        "surname",
        "given name",
        "full name",
        "employee",
        "employee name",
        "customer",
        "customer name",
        "patient",
        "patient name",
        "client",
        "client name",
        "cardholder",
        "account holder",
        "first",
        "last",
    ]
    .contains(&h)
        || h.ends_with(" name")
            && !h.contains("file")
            && !h.contains("user")
            && !h.contains("company")
            && !h.contains("product")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_where_char_is_whitespace_does() {
        const PIECES: [&str; 14] = [
            "a",
            "Smith",
            " ",
            "  ",
            "\t",
            "\n",
            "\r\n",
            "\u{a0}",
            "\u{2003}",
            "\u{3000}",
            "\u{e9}",
            "\u{1}",
            "\u{7f}",
            "0123456789,.;'-",
        ];
        let mut rng = crate::test_rng::Rng(0x2545_f491_4f6c_dd1d);
        for _ in 0..20_000 {
            let mut text = String::new();
            for _ in 0..rng.0 % 24 {
                text.push_str(PIECES[rng.below(PIECES.len() as u64) as usize]);
            }
            let expected: Vec<&str> = text
                .split(char::is_whitespace)
                .filter(|w| !w.is_empty())
                .collect();
            assert_eq!(words(&text).collect::<Vec<_>>(), expected, "{text:?}");
        }
    }

    /// Names counted word by word, as first written: the specification of the
    /// capital-to-capital scan.
    fn count_names_by_words(text: &str) -> usize {
        let mut count = 0;
        let mut previous: Option<(&str, char)> = None;
        for word in words(text) {
            if !starts_capitalised(word) {
                previous = None;
                continue;
            }
            let word = word_and_end(word);
            match previous {
                Some(first) if names_a_person(first, word) => {
                    count += 1;
                    previous = None;
                }
                _ => previous = Some(word),
            }
        }
        count
    }

    #[test]
    fn capital_to_capital_counts_what_word_by_word_counts() {
        const PIECES: [&str; 30] = [
            "John",
            "Smith",
            "SMITH",
            "smith",
            "Mary",
            "Jones",
            "J.",
            "Smith,",
            "Garcia,",
            "May",
            "Street",
            "iPhone",
            "McDonald",
            "O'Brien",
            "(Maria",
            "Lee)",
            "\u{ab}Ann",
            "the",
            "and",
            "123-45-6789",
            " ",
            " ",
            "  ",
            "\t",
            "\n",
            "\u{a0}",
            "\u{3000}",
            "\u{e9}",
            "X",
            ",",
        ];
        let mut rng = crate::test_rng::Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..50_000 {
            let mut text = String::new();
            for _ in 0..rng.below(16) {
                text.push_str(PIECES[rng.below(PIECES.len() as u64) as usize]);
            }
            assert_eq!(count_names(&text), count_names_by_words(&text), "{text:?}");
        }
    }

    #[test]
    fn word_helpers_agree_with_their_character_versions() {
        let capitalised_by_chars = |word: &str| {
            let mut chars = word.chars();
            matches!(chars.next(), Some(c) if c.is_ascii_uppercase())
                && word.len() >= 2
                && word
                    .chars()
                    .all(|c| c.is_alphabetic() || c == '\'' || c == '-')
        };
        fn word_and_end_by_chars(w: &str) -> (&str, bool) {
            let trimmed = w.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'' && c != '.');
            (
                trimmed.trim_end_matches('.'),
                w.chars().last().unwrap_or(' ') == ',',
            )
        }
        let common_by_chars =
            |word: &str| COMMON_WORDS.iter().any(|c| c.eq_ignore_ascii_case(word));
        const PIECES: [&str; 16] = [
            "A", "b", "Smith", "MAY", "may", "Street", "'", "-", ".", ",", "(", "\u{e9}", "\u{ab}",
            "7", "Amount", "NUMBERS",
        ];
        let mut rng = crate::test_rng::Rng(0x2545_f491_4f6c_dd1d);
        for _ in 0..20_000 {
            let word: String = (0..rng.below(5))
                .map(|_| PIECES[rng.below(PIECES.len() as u64) as usize])
                .collect();
            assert_eq!(capitalised(&word), capitalised_by_chars(&word), "{word:?}");
            let (trimmed, after) = word_and_end(&word);
            assert_eq!(
                (trimmed, after == ','),
                word_and_end_by_chars(&word),
                "{word:?}"
            );
            assert_eq!(common(&word), common_by_chars(&word), "{word:?}");
        }
    }

    #[test]
    fn name_shapes() {
        assert_eq!(count_names("Payment from John Smith today"), 1);
        assert_eq!(count_names("JOHN SMITH"), 1);
        assert_eq!(count_names("Smith, John"), 1);
        assert_eq!(count_names("signed J. Smith and M. Garcia"), 2);
        assert_eq!(count_names("the smith went home"), 0);
        assert_eq!(count_names("Total Amount Due"), 0);
        assert_eq!(count_names("May Street"), 0);
        assert_eq!(
            count_names("John Smith Mary Jones"),
            2,
            "pairs do not overlap"
        );
        assert_eq!(count_names("Dear Mr. O'Brien"), 0);
        // Accents as the Census lists leave them out; double names; a roster's
        // "Last, Initial".
        assert_eq!(count_names("José García, Renée Côté and Inês Muñoz"), 3);
        assert_eq!(count_names("Maria-Jose Garcia-Lopez"), 1);
        assert_eq!(count_names("Long-Term Care"), 0);
        assert_eq!(count_names("SMITH, J. and Garcia, M"), 2);
        assert_eq!(count_names("Worcester, MA and Boston, A"), 1);
        // A city and its state are not "Last, First", though both are in the lists.
        assert!(is_surname("Worcester") && is_first_name("Ma") && is_first_name("Al"));
        assert_eq!(count_names("Mail to Worcester, MA 01608-0994"), 0);
        assert_eq!(count_names("WORCESTER, MA"), 0);
        assert_eq!(
            count_names("Worcester, Al"),
            1,
            "Title Case is a first name"
        );
        assert_eq!(count_names("\u{ab}John Smith\u{bb} signed"), 1, "quoted");
        // Unicode white space separates words too.
        assert_eq!(
            count_names("John\u{a0}Smith\u{2003}and\tMary\u{3000}Jones"),
            2
        );
        assert_eq!(
            words("a  b\u{a0}c\u{e9}d\n").collect::<Vec<_>>(),
            ["a", "b", "c\u{e9}d"]
        );
    }

    #[test]
    fn the_tables_hold_every_listed_name_and_nothing_else() {
        for (list, lookup) in [
            (
                include_str!("../data/first-names.txt"),
                is_first_name as fn(&str) -> bool,
            ),
            (include_str!("../data/surnames.txt"), is_surname),
        ] {
            for name in list.lines() {
                assert!(lookup(name), "{name}");
                assert!(lookup(&name.to_ascii_lowercase()), "{name} in lower case");
            }
        }
        for word in [
            "",
            "QZXJV",
            "THE",
            "SMITHX",
            "O'BRIEN",
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        ] {
            assert!(!is_surname(word), "{word}");
        }
        assert!(!is_first_name("QZXJV"));
    }

    #[test]
    fn headers() {
        for header in [
            "First Name",
            "last_name",
            "Employee Name",
            "Customer",
            "NAME",
        ] {
            assert!(is_name_header(header), "{header}");
        }
        for header in ["File Name", "Username", "Amount", "Company Name"] {
            assert!(!is_name_header(header), "{header}");
        }
    }
}
