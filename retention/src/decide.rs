//! What the policy says about one record, given the facts about it and `now`.
//!
//! Precedence, as records managers expect it: a legal hold beats everything; then a
//! series that keeps the record permanently; then the longest retention among the
//! series that cover it (the latest due date, each by its own clock). A record
//! whose age cannot be established by a covering series is kept.

use std::path::Path;

use jiff::Timestamp;
use serde::Serialize;

use crate::policy::{Action, Clock, Condition, Element, Hold, Policy, Retention, Series};

/// What is known about a record without reading it.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// Absolute path, as reached from the policy's roots.
    pub path: &'a Path,
    pub modified: Timestamp,
    pub changed: Timestamp,
    /// When the catalog first saw the file, if it has.
    pub first_seen: Option<Timestamp>,
}

/// What the inventory found in a record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Content {
    pub pi: bool,
    pub ssn: bool,
    pub card: bool,
    pub license: bool,
    pub account: bool,
}

impl Content {
    fn has(&self, element: Element) -> bool {
        match element {
            Element::Ssn => self.ssn,
            Element::Card => self.card,
            Element::License => self.license,
            Element::Account => self.account,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Verdict {
    /// No series covers the record.
    NotCovered,
    /// A legal hold covers it: never disposed of while the hold stands.
    Held { hold: String },
    /// A covering series keeps it permanently.
    Kept { series: String },
    /// A covering series cannot date it, so it is kept.
    Undated { series: String, why: String },
    /// The content could not be read to tell which series cover it, so it is kept.
    Unclassified { why: String },
    /// Covered, but its longest retention has not run out.
    NotDue { series: String, due_at: Timestamp },
    /// Its longest retention has run out: the deciding series' action applies.
    Due {
        series: String,
        clock: &'static str,
        since: Timestamp,
        due_at: Timestamp,
        age_days: i64,
        action: String,
    },
}

impl Verdict {
    pub fn is_due(&self) -> bool {
        matches!(self, Verdict::Due { .. })
    }
}

fn start_of(series: &Series, record: &Record) -> Result<Timestamp, String> {
    match &series.clock {
        Clock::Modified => Ok(record.modified),
        Clock::Changed => Ok(record.changed),
        Clock::FirstSeen => record
            .first_seen
            .ok_or_else(|| "not in the catalog yet (first-seen clock)".to_string()),
        Clock::NameDate(pattern) => {
            let name = record
                .path
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default();
            let captures = pattern
                .captures(&name)
                .ok_or_else(|| "no date in the file name".to_string())?;
            let number =
                |group: &str| -> Option<i64> { captures.name(group)?.as_str().parse().ok() };
            let (year, month) = (number("year"), number("month"));
            let day = if pattern.capture_names().flatten().any(|g| g == "day") {
                number("day")
            } else {
                Some(1)
            };
            let date = match (year, month, day) {
                (Some(y), Some(m), Some(d)) => jiff::civil::Date::new(
                    y.clamp(-9999, 9999) as i16,
                    m.clamp(0, 99) as i8,
                    d.clamp(0, 99) as i8,
                )
                .ok(),
                _ => None,
            }
            .ok_or_else(|| "the date in the file name is not a real date".to_string())?;
            date.to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .map(|z| z.timestamp())
                .map_err(|e| e.to_string())
        }
    }
}

enum Due {
    Never,
    At { since: Timestamp, due_at: Timestamp },
    Undated(String),
}

fn due_of(series: &Series, record: &Record) -> Due {
    match series.retain {
        Retention::Permanent => Due::Never,
        Retention::For(period) => match start_of(series, record) {
            Ok(since) => Due::At {
                since,
                due_at: period.after(since),
            },
            Err(why) => Due::Undated(why),
        },
    }
}

fn matches_content(condition: &Condition, content: &Content) -> bool {
    match condition {
        Condition::Any => true,
        Condition::Pi => content.pi,
        Condition::Elements(elements) => elements.iter().any(|e| content.has(*e)),
    }
}

impl Policy {
    /// The first legal hold that covers `path`.
    pub fn hold_on(&self, path: &Path) -> Option<&Hold> {
        self.holds.iter().find(|h| h.paths.is_match(path))
    }

    /// Decides one record. `content` is called at most once, and only when the
    /// answer depends on what the record holds (so most records are never read).
    pub fn decide(
        &self,
        record: &Record,
        now: Timestamp,
        content: &mut dyn FnMut() -> Result<Content, String>,
    ) -> Verdict {
        let covering: Vec<&Series> = self
            .series
            .iter()
            .filter(|s| s.covers(record.path))
            .collect();
        if covering.is_empty() {
            return Verdict::NotCovered;
        }
        if let Some(hold) = self.hold_on(record.path) {
            return Verdict::Held {
                hold: hold.name.clone(),
            };
        }
        let could_be_due = covering
            .iter()
            .any(|s| matches!(due_of(s, record), Due::At { due_at, .. } if due_at <= now));
        let conditional = covering.iter().any(|s| s.condition != Condition::Any);
        let applying: Vec<&Series> = if conditional && could_be_due {
            match content() {
                Ok(found) => covering
                    .into_iter()
                    .filter(|s| matches_content(&s.condition, &found))
                    .collect(),
                Err(why) => return Verdict::Unclassified { why },
            }
        } else {
            // Not due under any covering series whatever the content holds: no need
            // to read it; the verdict is told as if every series applied.
            covering
        };
        if applying.is_empty() {
            return Verdict::NotCovered;
        }
        let mut latest: Option<(&Series, Timestamp, Timestamp)> = None;
        for series in &applying {
            match due_of(series, record) {
                Due::Never => {
                    return Verdict::Kept {
                        series: series.id.clone(),
                    }
                }
                Due::Undated(why) => {
                    return Verdict::Undated {
                        series: series.id.clone(),
                        why,
                    }
                }
                Due::At { since, due_at } => {
                    if latest.is_none_or(|(_, _, best)| due_at > best) {
                        latest = Some((series, since, due_at));
                    }
                }
            }
        }
        let (series, since, due_at) = latest.expect("applying is not empty");
        if due_at > now {
            return Verdict::NotDue {
                series: series.id.clone(),
                due_at,
            };
        }
        Verdict::Due {
            series: series.id.clone(),
            clock: series.clock.name(),
            since,
            due_at,
            age_days: (now.as_second() - since.as_second()) / 86_400,
            action: series.action.name().to_string(),
        }
    }

    /// The action of a series named in a verdict.
    pub fn action_of(&self, series: &str) -> Option<&Action> {
        self.series(series).map(|s| &s.action)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::path::PathBuf;

    use super::*;
    use crate::policy::parse;

    const POLICY: &str = r#"
name = "test schedule"

[[series]]
id = "GEN-01"
title = "General correspondence"
roots = ["/srv/share"]
retain = "3 years"

[[series]]
id = "FIN-03"
title = "Payroll"
authority = "IRS: 4 years"
roots = ["/srv/share/finance"]
include = ["payroll/**"]
retain = "7 years"
clock = "ctime"

[[series]]
id = "PI-01"
title = "Anything holding PI"
roots = ["/srv/share"]
condition = "pi"
retain = "5 years"

[[series]]
id = "CARD-01"
title = "Card data"
roots = ["/srv/sales"]
condition = ["card"]
retain = "1 year"
action = "report"

[[series]]
id = "BOARD"
title = "Board minutes"
roots = ["/srv/share/board"]
retain = "permanent"

[[series]]
id = "SCANS"
title = "Dated scans"
roots = ["/srv/scans"]
retain = "2 years"
clock = "name-date"
name_pattern = '(?<year>\d{4})-(?<month>\d{2})-(?<day>\d{2})'

[[series]]
id = "SEEN"
title = "Inbox"
roots = ["/srv/inbox"]
exclude = ["**/*.keep"]
retain = "30 days"
clock = "first-seen"

[[hold]]
name = "Reyes v. Acme"
matter = "2026-CV-0042"
paths = ["/srv/share/finance/payroll/2019", "/srv/share/**/reyes-*.pdf"]
placed_by = "J. Counsel"
placed_on = 2026-10-01
"#;

    fn policy() -> Policy {
        parse(POLICY, Path::new("/etc/wisp/policy.toml")).unwrap()
    }

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    const NOW: &str = "2026-12-02T00:00:00Z";

    fn record<'a>(path: &'a Path, modified: &str) -> Record<'a> {
        Record {
            path,
            modified: ts(modified),
            changed: ts(modified),
            first_seen: None,
        }
    }

    fn plain() -> impl FnMut() -> Result<Content, String> {
        || Ok(Content::default())
    }

    fn decide(policy: &Policy, record: &Record, content: Content) -> (Verdict, usize) {
        let reads = Cell::new(0);
        let verdict = policy.decide(record, ts(NOW), &mut || {
            reads.set(reads.get() + 1);
            Ok(content)
        });
        (verdict, reads.get())
    }

    #[test]
    fn old_files_are_due_and_new_ones_are_not() {
        let policy = policy();
        let path = PathBuf::from("/srv/share/letters/2021.txt");
        let (old, reads) = decide(
            &policy,
            &record(&path, "2022-01-01T00:00:00Z"),
            Content::default(),
        );
        assert!(old.is_due(), "{old:?}");
        assert_eq!(reads, 1, "PI-01 could be due too, so the content decides");
        let (new, reads) = decide(
            &policy,
            &record(&path, "2025-01-01T00:00:00Z"),
            Content::default(),
        );
        assert_eq!(
            new,
            Verdict::NotDue {
                series: "PI-01".into(),
                due_at: ts("2030-01-01T00:00:00Z")
            },
            "told as if every series applied"
        );
        assert_eq!(reads, 0, "nothing could be due: the content is not read");
        let outside = PathBuf::from("/srv/other/x.txt");
        assert_eq!(
            policy.decide(
                &record(&outside, "2000-01-01T00:00:00Z"),
                ts(NOW),
                &mut plain()
            ),
            Verdict::NotCovered
        );
    }

    #[test]
    fn the_longest_retention_wins_and_pi_extends_it() {
        let policy = policy();
        let path = PathBuf::from("/srv/share/letters/old.txt");
        let four_years = record(&path, "2022-11-01T00:00:00Z");
        let (plain_file, _) = decide(&policy, &four_years, Content::default());
        assert!(
            matches!(&plain_file, Verdict::Due { series, .. } if series == "GEN-01"),
            "{plain_file:?}"
        );
        let pi = Content {
            pi: true,
            ssn: true,
            ..Content::default()
        };
        let (pi_file, _) = decide(&policy, &four_years, pi);
        assert_eq!(
            pi_file,
            Verdict::NotDue {
                series: "PI-01".into(),
                due_at: ts("2027-11-01T00:00:00Z")
            }
        );
        let payroll = PathBuf::from("/srv/share/finance/payroll/2020/march.csv");
        let (verdict, _) = decide(
            &policy,
            &record(&payroll, "2021-01-01T00:00:00Z"),
            Content::default(),
        );
        assert!(
            matches!(verdict, Verdict::NotDue { ref series, .. } if series == "FIN-03"),
            "{verdict:?}"
        );
    }

    #[test]
    fn holds_beat_everything_and_permanent_beats_periods() {
        let policy = policy();
        for held in [
            "/srv/share/finance/payroll/2019/jan.csv",
            "/srv/share/hr/x/reyes-offer.pdf",
        ] {
            let path = PathBuf::from(held);
            let (verdict, reads) = decide(
                &policy,
                &record(&path, "2001-01-01T00:00:00Z"),
                Content::default(),
            );
            assert_eq!(
                verdict,
                Verdict::Held {
                    hold: "Reyes v. Acme".into()
                },
                "{held}"
            );
            assert_eq!(reads, 0, "a held record is never read");
        }
        let near_miss = PathBuf::from("/srv/share/finance/payroll/2019-old/jan.csv");
        let (verdict, _) = decide(
            &policy,
            &record(&near_miss, "2001-01-01T00:00:00Z"),
            Content::default(),
        );
        assert!(
            verdict.is_due(),
            "a hold on a folder is not a hold on its name's prefix: {verdict:?}"
        );
        let minutes = PathBuf::from("/srv/share/board/1999.docx");
        let (verdict, _) = decide(
            &policy,
            &record(&minutes, "1999-01-01T00:00:00Z"),
            Content::default(),
        );
        assert_eq!(
            verdict,
            Verdict::Kept {
                series: "BOARD".into()
            }
        );
    }

    #[test]
    fn element_conditions_and_actions() {
        let policy = policy();
        let path = PathBuf::from("/srv/sales/orders.csv");
        let two_years = record(&path, "2024-11-01T00:00:00Z");
        let card = Content {
            card: true,
            ..Content::default()
        };
        let (verdict, _) = decide(&policy, &two_years, card);
        assert!(
            matches!(&verdict, Verdict::Due { series, action, .. } if series == "CARD-01" && action == "report"),
            "{verdict:?}"
        );
        let (verdict, _) = decide(&policy, &two_years, Content::default());
        assert_eq!(verdict, Verdict::NotCovered, "no card, no series");
    }

    #[test]
    fn clocks_from_names_and_the_catalog() {
        let policy = policy();
        let scan = PathBuf::from("/srv/scans/intake-2023-05-17.pdf");
        let fresh_mtime = record(&scan, "2026-12-01T00:00:00Z");
        let verdict = policy.decide(&fresh_mtime, ts(NOW), &mut plain());
        assert_eq!(
            verdict,
            Verdict::Due {
                series: "SCANS".into(),
                clock: "name-date",
                since: ts("2023-05-17T00:00:00Z"),
                due_at: ts("2025-05-17T00:00:00Z"),
                age_days: 1295,
                action: "shred".into()
            }
        );
        let undated = PathBuf::from("/srv/scans/intake.pdf");
        assert!(matches!(
            policy.decide(
                &record(&undated, "2001-01-01T00:00:00Z"),
                ts(NOW),
                &mut plain()
            ),
            Verdict::Undated { .. }
        ));
        let not_a_date = PathBuf::from("/srv/scans/intake-2023-13-40.pdf");
        assert!(matches!(
            policy.decide(
                &record(&not_a_date, "2001-01-01T00:00:00Z"),
                ts(NOW),
                &mut plain()
            ),
            Verdict::Undated { .. }
        ));
        let inbox = PathBuf::from("/srv/inbox/a.txt");
        let mut seen = record(&inbox, "2001-01-01T00:00:00Z");
        assert!(matches!(
            policy.decide(&seen, ts(NOW), &mut plain()),
            Verdict::Undated { .. }
        ));
        seen.first_seen = Some(ts("2026-11-20T00:00:00Z"));
        assert!(matches!(
            policy.decide(&seen, ts(NOW), &mut plain()),
            Verdict::NotDue { .. }
        ));
        seen.first_seen = Some(ts("2026-10-01T00:00:00Z"));
        assert!(policy.decide(&seen, ts(NOW), &mut plain()).is_due());
        let kept = PathBuf::from("/srv/inbox/a.keep");
        assert_eq!(
            policy.decide(
                &record(&kept, "2001-01-01T00:00:00Z"),
                ts(NOW),
                &mut plain()
            ),
            Verdict::NotCovered
        );
    }

    #[test]
    fn unreadable_content_keeps_the_record() {
        let policy = policy();
        let path = PathBuf::from("/srv/share/letters/2001.txt");
        let verdict = policy.decide(&record(&path, "2001-01-01T00:00:00Z"), ts(NOW), &mut || {
            Err("corrupt zip".into())
        });
        assert_eq!(
            verdict,
            Verdict::Unclassified {
                why: "corrupt zip".into()
            }
        );
    }

    #[test]
    fn walk_roots_leave_out_nested_roots() {
        assert_eq!(
            policy().walk_roots(),
            ["/srv/inbox", "/srv/sales", "/srv/scans", "/srv/share"].map(PathBuf::from)
        );
    }
}
