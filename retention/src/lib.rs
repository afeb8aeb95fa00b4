//! Retention: what a records schedule says about each record.
//!
//! This crate decides and does no I/O. It is handed the policy's text, the facts
//! about a record (its path, times, what the inventory found) and `now`, and
//! answers: held, kept, not yet due, or due with the action to take. Walking,
//! reading and destroying belong to `sweep` and `shred`.

pub mod decide;
pub mod period;
pub mod policy;

pub use decide::{Content, Record, Verdict};
pub use period::Period;
pub use policy::{
    parse, Action, Clock, Condition, Element, Hold, Policy, PolicyError, Retention, Series,
};

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn error(text: &str) -> PolicyError {
        parse(text, Path::new("/etc/wisp/policy.toml")).unwrap_err()
    }

    const GOOD_SERIES: &str =
        "[[series]]\nid = \"A\"\ntitle = \"t\"\nroots = [\"/srv/a\"]\nretain = \"1 year\"\n";

    #[test]
    fn errors_name_file_line_and_column() {
        let err = error(&format!("{GOOD_SERIES}\n[[series]]\nid = \"B\"\ntitle = \"t\"\nroots = [\"/srv/b\"]\nretain = \"7 fortnights\"\n"));
        assert_eq!((err.line, err.column), (11, 10), "{err}");
        assert!(
            err.to_string().starts_with("/etc/wisp/policy.toml:11:10: "),
            "{err}"
        );
        assert!(err.message.contains("fortnights"), "{err}");

        let err = error(&format!("{GOOD_SERIES}retian = \"2 years\"\n"));
        assert_eq!(err.line, 6, "{err}");
        assert!(err.message.contains("retian"), "{err}");

        let err = error(
            "[[series]]\nid = \"A\"\ntitle = \"t\"\nroots = [\"srv/a\"]\nretain = \"1 year\"\n",
        );
        assert_eq!((err.line, err.column), (4, 10), "{err}");
        assert!(err.message.contains("absolute"), "{err}");

        let err = error(&format!("{GOOD_SERIES}include = [\"a/[b\"]\n"));
        assert_eq!(err.line, 6, "{err}");

        let err = error(&format!(
            "{GOOD_SERIES}clock = \"name-date\"\nname_pattern = '(?<year>\\d{{4}})'\n"
        ));
        assert_eq!(err.line, 7, "{err}");
        assert!(err.message.contains("month"), "{err}");

        let err = error(&format!("{GOOD_SERIES}action = \"quarantine\"\nquarantine = \"/srv/a/q\"\ngrace = \"30 days\"\n"));
        assert_eq!(err.line, 7, "{err}");
        assert!(err.message.contains("overlaps"), "{err}");

        let err = error(&format!("{GOOD_SERIES}\n[[hold]]\nname = \"h\"\npaths = [\"/srv/a/x\"]\nplaced_by = \"me\"\nplaced_on = 2026-02-30\n"));
        assert_eq!(err.line, 11, "{err}");

        let err = error(&format!("{GOOD_SERIES}{GOOD_SERIES}"));
        assert!(err.message.contains("twice"), "{err}");
        assert_eq!(err.line, 7, "{err}");

        assert!(error("name = \"empty\"\n")
            .message
            .contains("no [[series]]"));
        assert!(error(
            "[[series]]\nid = \"A\"\ntitle = \"t\"\nroots = [\"/\"]\nretain = \"1 year\"\n"
        )
        .message
        .contains("whole system"));
    }

    #[test]
    fn the_shipped_example_policy_is_valid() {
        let text = include_str!("../../contrib/policy.example.toml");
        let policy = parse(text, Path::new("contrib/policy.example.toml")).unwrap();
        assert_eq!(policy.series.len(), 5);
        assert_eq!(policy.holds.len(), 1);
        assert!(matches!(policy.series[1].clock, Clock::FirstSeen));
        assert!(matches!(policy.series[2].clock, Clock::NameDate(_)));
    }

    #[test]
    fn a_good_policy_parses_and_hashes_its_bytes() {
        let text = format!("name = \"n\"\n{GOOD_SERIES}condition = [\"ssn\", \"licence\"]\naction = \"quarantine\"\nquarantine = \"/srv/q\"\ngrace = \"30 days\"\n");
        let policy = parse(&text, Path::new("p.toml")).unwrap();
        assert_eq!(policy.name, "n");
        assert!(policy.one_file_system);
        let series = &policy.series[0];
        assert_eq!(
            series.condition,
            Condition::Elements(vec![Element::Ssn, Element::License])
        );
        assert_eq!(series.reason(), "t: retained 1 year from mtime");
        assert_eq!(policy.quarantines().len(), 1);
        assert_eq!(policy.hash, *blake3::hash(text.as_bytes()).as_bytes());
        let other = parse(&text.replace("30 days", "31 days"), Path::new("p.toml")).unwrap();
        assert_ne!(policy.hash, other.hash);
    }
}
