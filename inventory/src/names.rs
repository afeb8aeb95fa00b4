//! Personal names: first names and surnames from the US Census lists embedded in
//! the binary (see data/README.md), matched as "First Last", "Last, First" and
//! "J. Last", in Title Case or UPPER CASE.

use std::collections::HashSet;
use std::sync::LazyLock;

/// Names are looked up for nearly every capitalised word of every document: a
/// fast non-cryptographic hash (the keys are public lists, nothing to attack).
type NameSet = HashSet<&'static [u8], foldhash::fast::FixedState>;

fn name_set(list: &'static str) -> NameSet {
    list.lines().map(str::as_bytes).collect()
}

static FIRST: LazyLock<NameSet> =
    LazyLock::new(|| name_set(include_str!("../data/first-names.txt")));
static LAST: LazyLock<NameSet> = LazyLock::new(|| name_set(include_str!("../data/surnames.txt")));

/// The longest name in the lists is 13 letters; longer words are not looked up.
const LONGEST_NAME: usize = 24;

fn listed(set: &NameSet, word: &str) -> bool {
    let bytes = word.as_bytes();
    if bytes.len() > LONGEST_NAME {
        return false;
    }
    let mut upper = [0u8; LONGEST_NAME];
    upper[..bytes.len()].copy_from_slice(bytes);
    upper[..bytes.len()].make_ascii_uppercase();
    set.contains(&upper[..bytes.len()])
}

/// Words that are first names or surnames in the lists but, capitalised at the
/// start of a sentence or in a heading, are far more often ordinary words.
const COMMON_WORDS: [&str; 24] = [
    "WILL", "MAY", "JUNE", "APRIL", "AUGUST", "MARK", "BILL", "GRANT", "HOPE", "JOY", "FAITH",
    "LONG", "YOUNG", "NEW", "HALL", "DATE", "TOTAL", "PAGE", "CHASE", "BANK", "STREET", "COURT",
    "AMOUNT", "NUMBER",
];

pub fn is_first_name(word: &str) -> bool {
    listed(&FIRST, word)
}

pub fn is_surname(word: &str) -> bool {
    listed(&LAST, word)
}

/// Title Case ("Smith", "O'Brien", "McDonald") or UPPER CASE, at least 2 letters.
fn capitalised(word: &str) -> bool {
    let mut chars = word.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_uppercase())
        && word.len() >= 2
        && word
            .chars()
            .all(|c| c.is_ascii_alphabetic() || c == '\'' || c == '-')
}

fn common(word: &str) -> bool {
    COMMON_WORDS.iter().any(|c| c.eq_ignore_ascii_case(word))
}

/// Counts the personal names in `text`.
pub fn count_names(text: &str) -> usize {
    // Words with the punctuation that follows them, which decides "Last, First".
    let words: Vec<(&str, char)> = text
        .split(|c: char| c.is_whitespace())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let trimmed =
                w.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '\'' && c != '.');
            let after = w.chars().last().unwrap_or(' ');
            (trimmed.trim_end_matches('.'), after)
        })
        .collect();
    let mut count = 0;
    let mut i = 0;
    while i + 1 < words.len() {
        let (a, a_end) = words[i];
        let (b, _) = words[i + 1];
        let initial = a.len() == 1 && a.chars().all(|c| c.is_ascii_uppercase());
        let last_first = a_end == ','
            && capitalised(a)
            && capitalised(b)
            && is_surname(a)
            && is_first_name(b)
            && !common(b);
        let initial_last = initial && capitalised(b) && is_surname(b) && !common(b);
        let first_last = a_end != ','
            && capitalised(a)
            && capitalised(b)
            && is_first_name(a)
            && is_surname(b)
            && !common(a)
            && !common(b);
        let found = last_first || initial_last || first_last;
        if found {
            count += 1;
            i += 2;
        } else {
            i += 1;
        }
    }
    count
}

/// Whether a column header names people ("First Name", "Employee Name", "Customer").
pub fn is_name_header(header: &str) -> bool {
    let h = header.trim().to_ascii_lowercase().replace(['_', '-'], " ");
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
    .contains(&h.as_str())
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
    fn name_shapes() {
        assert_eq!(count_names("Payment from John Smith today"), 1);
        assert_eq!(count_names("JOHN SMITH"), 1);
        assert_eq!(count_names("Smith, John"), 1);
        assert_eq!(count_names("signed J. Smith and M. Garcia"), 2);
        assert_eq!(count_names("the smith went home"), 0);
        assert_eq!(count_names("Total Amount Due"), 0);
        assert_eq!(count_names("May Street"), 0);
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
