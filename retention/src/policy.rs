//! The policy file: a records retention schedule in TOML.
//!
//! ```toml
//! name = "Acme Dental retention schedule"
//!
//! [[series]]
//! id = "HR-02"
//! title = "Former employees' personnel records"
//! authority = "M.G.L. c.149 §52C (3 years after termination)"
//! roots = ["/srv/share/hr"]
//! include = ["former/**"]
//! exclude = ["**/templates/**"]
//! condition = "pi"            # "any" (default), "pi", or ["ssn", "card", "license", "account"]
//! retain = "3 years"          # or "permanent"
//! clock = "mtime"             # "mtime", "ctime", "first-seen", or "name-date" with name_pattern
//! action = "shred"            # "shred", "report", or "quarantine" with quarantine and grace
//!
//! [[hold]]
//! name = "Reyes v. Acme"
//! matter = "2026-CV-0042"
//! paths = ["/srv/share/hr/former/reyes"]
//! placed_by = "J. Counsel"
//! placed_on = 2026-10-01
//! ```
//!
//! Parsing checks everything (globs, periods, patterns, paths) and names the line
//! and column of the first problem, so an invalid policy never reaches a sweep.

use std::path::{Path, PathBuf};

use globset::{GlobSet, GlobSetBuilder};
use regex::Regex;
use serde::Deserialize;
use toml::Spanned;

use crate::period::Period;

/// A policy file that could not be accepted, with where the problem is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}:{column}: {message}", path.display())]
pub struct PolicyError {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Element {
    Ssn,
    Card,
    License,
    Account,
}

impl Element {
    pub fn name(self) -> &'static str {
        match self {
            Element::Ssn => "ssn",
            Element::Card => "card",
            Element::License => "license",
            Element::Account => "account",
        }
    }
}

/// Which records a series covers, by what the inventory found in them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    Any,
    /// A name together with an element in one record (201 CMR 17.00 PI).
    Pi,
    /// Any of these elements, with or without a name.
    Elements(Vec<Element>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    Permanent,
    For(Period),
}

/// Where a record's age is counted from.
#[derive(Debug, Clone)]
pub enum Clock {
    Modified,
    Changed,
    /// When wisp's catalog first saw the file (copies and restores do not reset it).
    FirstSeen,
    /// A date in the file name, by a pattern with named groups `year`, `month`
    /// and optionally `day`.
    NameDate(Regex),
}

impl Clock {
    pub fn name(&self) -> &'static str {
        match self {
            Clock::Modified => "mtime",
            Clock::Changed => "ctime",
            Clock::FirstSeen => "first-seen",
            Clock::NameDate(_) => "name-date",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Shred,
    Report,
    /// Move into `dir` first; shred once it has sat there for `grace`.
    Quarantine {
        dir: PathBuf,
        grace: Period,
    },
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Shred => "shred",
            Action::Report => "report",
            Action::Quarantine { .. } => "quarantine",
        }
    }
}

/// Path patterns: absolute paths or globs, compiled once.
#[derive(Debug, Clone)]
pub struct Patterns {
    pub texts: Vec<String>,
    set: GlobSet,
}

impl Patterns {
    pub fn is_match(&self, path: &Path) -> bool {
        self.set.is_match(path)
    }
}

#[derive(Debug, Clone)]
pub struct Series {
    pub id: String,
    pub title: String,
    pub authority: Option<String>,
    pub roots: Vec<PathBuf>,
    /// Relative to the root the record is under.
    pub include: Patterns,
    pub exclude: Patterns,
    pub condition: Condition,
    pub retain: Retention,
    pub clock: Clock,
    pub action: Action,
}

impl Series {
    /// The root of this series that `path` lies under, and the path relative to it.
    pub fn locate<'p>(&self, path: &'p Path) -> Option<(&Path, &'p Path)> {
        self.roots.iter().find_map(|root| {
            path.strip_prefix(root)
                .ok()
                .map(|rel| (root.as_path(), rel))
        })
    }

    /// Whether the series covers `path` by location and name (not yet by content).
    pub fn covers(&self, path: &Path) -> bool {
        match self.locate(path) {
            Some((_, rel)) => self.include.is_match(rel) && !self.exclude.is_match(rel),
            None => false,
        }
    }

    /// The reason a certificate gives for the disposal.
    pub fn reason(&self) -> String {
        let kept = match self.retain {
            Retention::Permanent => "kept permanently".to_string(),
            Retention::For(period) => format!("retained {period} from {}", self.clock.name()),
        };
        match &self.authority {
            Some(authority) => format!("{}: {kept} ({authority})", self.title),
            None => format!("{}: {kept}", self.title),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Hold {
    pub name: String,
    pub matter: Option<String>,
    pub paths: Patterns,
    pub placed_by: String,
    pub placed_on: jiff::civil::Date,
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub path: PathBuf,
    pub name: String,
    pub one_file_system: bool,
    pub series: Vec<Series>,
    pub holds: Vec<Hold>,
    /// BLAKE3 of the policy file's bytes: which policy was in force.
    pub hash: [u8; 32],
}

impl Policy {
    pub fn hash_hex(&self) -> String {
        self.hash.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Every root of every series, with roots inside other roots left out, so a
    /// walk over these visits each file once. Quarantine folders are not roots.
    pub fn walk_roots(&self) -> Vec<PathBuf> {
        let mut roots: Vec<PathBuf> = self.series.iter().flat_map(|s| s.roots.clone()).collect();
        roots.sort();
        roots.dedup();
        let all = roots.clone();
        roots.retain(|root| {
            !all.iter()
                .any(|other| other != root && root.starts_with(other))
        });
        roots
    }

    /// The quarantine folders, each with the series that moves records there.
    pub fn quarantines(&self) -> Vec<(&Series, &Path, Period)> {
        self.series
            .iter()
            .filter_map(|s| match &s.action {
                Action::Quarantine { dir, grace } => Some((s, dir.as_path(), *grace)),
                _ => None,
            })
            .collect()
    }

    pub fn series(&self, id: &str) -> Option<&Series> {
        self.series.iter().find(|s| s.id == id)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    name: Option<String>,
    #[serde(default = "yes")]
    one_file_system: bool,
    #[serde(default)]
    series: Vec<Spanned<RawSeries>>,
    #[serde(default, rename = "hold")]
    holds: Vec<Spanned<RawHold>>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawCondition {
    Word(String),
    Elements(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSeries {
    id: Spanned<String>,
    title: String,
    authority: Option<String>,
    roots: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    include: Vec<Spanned<String>>,
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
    condition: Option<Spanned<RawCondition>>,
    retain: Spanned<String>,
    clock: Option<Spanned<String>>,
    name_pattern: Option<Spanned<String>>,
    action: Option<Spanned<String>>,
    quarantine: Option<Spanned<String>>,
    grace: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHold {
    name: Spanned<String>,
    matter: Option<String>,
    paths: Spanned<Vec<Spanned<String>>>,
    placed_by: String,
    placed_on: Spanned<toml::value::Datetime>,
}

struct Source<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Source<'_> {
    fn error(&self, span: std::ops::Range<usize>, message: impl Into<String>) -> PolicyError {
        let start = span.start.min(self.text.len());
        let before = &self.text[..start];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        PolicyError {
            path: self.path.to_path_buf(),
            line,
            column,
            message: message.into(),
        }
    }

    fn at<T>(&self, spanned: &Spanned<T>, message: impl Into<String>) -> PolicyError {
        self.error(spanned.span(), message)
    }
}

/// Parses and validates a policy. `path` is only used in messages and recorded.
pub fn parse(text: &str, path: &Path) -> Result<Policy, PolicyError> {
    let source = Source { path, text };
    let raw: RawPolicy = toml::from_str(text).map_err(|err| {
        let message = err.message().to_string();
        source.error(err.span().unwrap_or(0..0), message)
    })?;
    let mut series = Vec::new();
    for entry in &raw.series {
        let parsed = parse_series(&source, entry.get_ref())?;
        if series.iter().any(|s: &Series| s.id == parsed.id) {
            return Err(source.at(
                &entry.get_ref().id,
                format!("series `{}` is defined twice", parsed.id),
            ));
        }
        series.push(parsed);
    }
    if series.is_empty() {
        return Err(source.error(
            0..0,
            "the policy has no [[series]]: nothing to retain or dispose of",
        ));
    }
    let mut holds = Vec::new();
    for entry in &raw.holds {
        holds.push(parse_hold(&source, entry.get_ref())?);
    }
    for (entry, parsed) in raw.series.iter().zip(&series) {
        let Action::Quarantine { dir, .. } = &parsed.action else {
            continue;
        };
        let roots = series.iter().flat_map(|s| &s.roots);
        if let Some(root) = roots
            .into_iter()
            .find(|r| dir.starts_with(r) || r.starts_with(dir))
        {
            let at = entry
                .get_ref()
                .quarantine
                .as_ref()
                .expect("a quarantine action has its folder");
            return Err(source.at(
                at,
                format!(
                    "the quarantine folder {} overlaps the root {}: quarantined records would be swept again",
                    dir.display(),
                    root.display()
                ),
            ));
        }
    }
    Ok(Policy {
        path: path.to_path_buf(),
        name: raw.name.unwrap_or_else(|| path.display().to_string()),
        one_file_system: raw.one_file_system,
        series,
        holds,
        hash: *blake3::hash(text.as_bytes()).as_bytes(),
    })
}

fn absolute(source: &Source, text: &Spanned<String>, what: &str) -> Result<PathBuf, PolicyError> {
    let path = PathBuf::from(text.get_ref());
    if !path.is_absolute() {
        return Err(source.at(
            text,
            format!("{what} `{}` must be an absolute path", text.get_ref()),
        ));
    }
    if path
        .components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(source.at(
            text,
            format!("{what} `{}` must not contain `..`", text.get_ref()),
        ));
    }
    // Normalised (no trailing slash, no `.`), so prefixes compare component-wise.
    Ok(path.components().collect())
}

fn patterns(
    source: &Source,
    items: &[Spanned<String>],
    default: Option<&str>,
) -> Result<Patterns, PolicyError> {
    let mut builder = GlobSetBuilder::new();
    let mut texts = Vec::new();
    let mut add = |text: &str| -> Result<(), String> {
        let glob = globset::GlobBuilder::new(text)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|e| format!("bad pattern: {e}"))?;
        builder.add(glob);
        Ok(())
    };
    for item in items {
        add(item.get_ref()).map_err(|m| source.at(item, m))?;
        texts.push(item.get_ref().clone());
    }
    if items.is_empty() {
        if let Some(default) = default {
            add(default).expect("default pattern is valid");
            texts.push(default.to_string());
        }
    }
    let set = builder
        .build()
        .map_err(|e| source.error(0..0, e.to_string()))?;
    Ok(Patterns { texts, set })
}

fn period(source: &Source, text: &Spanned<String>) -> Result<Period, PolicyError> {
    Period::parse(text.get_ref()).map_err(|m| source.at(text, m))
}

fn parse_series(source: &Source, raw: &RawSeries) -> Result<Series, PolicyError> {
    let id = raw.id.get_ref().trim().to_string();
    if id.is_empty() || id.chars().any(|c| c.is_control()) {
        return Err(source.at(&raw.id, "a series needs an id, e.g. \"HR-02\""));
    }
    if raw.roots.get_ref().is_empty() {
        return Err(source.at(&raw.roots, format!("series `{id}` has no roots")));
    }
    let roots = raw
        .roots
        .get_ref()
        .iter()
        .map(|r| absolute(source, r, "root"))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(root) = roots.iter().find(|r| r.parent().is_none()) {
        return Err(source.at(
            &raw.roots,
            format!(
                "series `{id}`: the root {} would sweep the whole system",
                root.display()
            ),
        ));
    }
    let condition = match raw.condition.as_ref().map(|c| (c, c.get_ref())) {
        None => Condition::Any,
        Some((_, RawCondition::Word(word))) if word == "any" => Condition::Any,
        Some((_, RawCondition::Word(word))) if word == "pi" => Condition::Pi,
        Some((at, RawCondition::Word(word))) => {
            return Err(source.at(at, format!("condition `{word}`: write \"any\", \"pi\" or a list of elements such as [\"ssn\", \"card\"]")))
        }
        Some((at, RawCondition::Elements(names))) => {
            let mut elements = Vec::new();
            for name in names {
                elements.push(match name.as_str() {
                    "ssn" => Element::Ssn,
                    "card" => Element::Card,
                    "license" | "licence" => Element::License,
                    "account" => Element::Account,
                    other => return Err(source.at(at, format!("unknown element `{other}` (ssn, card, license, account)"))),
                });
            }
            if elements.is_empty() {
                return Err(source.at(at, "an empty list of elements matches nothing"));
            }
            elements.sort();
            elements.dedup();
            Condition::Elements(elements)
        }
    };
    let retain = match raw.retain.get_ref().trim() {
        "permanent" | "permanently" | "forever" => Retention::Permanent,
        _ => Retention::For(period(source, &raw.retain)?),
    };
    let clock = match raw.clock.as_ref().map(|c| (c, c.get_ref().as_str())) {
        None | Some((_, "mtime")) => Clock::Modified,
        Some((_, "ctime")) => Clock::Changed,
        Some((_, "first-seen")) => Clock::FirstSeen,
        Some((at, "name-date")) => {
            let pattern = raw
                .name_pattern
                .as_ref()
                .ok_or_else(|| source.at(at, "clock \"name-date\" needs name_pattern, e.g. '(?<year>\\d{4})-(?<month>\\d{2})-(?<day>\\d{2})'"))?;
            let regex = Regex::new(pattern.get_ref())
                .map_err(|e| source.at(pattern, format!("bad name_pattern: {e}")))?;
            let groups: Vec<&str> = regex.capture_names().flatten().collect();
            if !groups.contains(&"year") || !groups.contains(&"month") {
                return Err(source.at(
                    pattern,
                    "name_pattern needs named groups `year` and `month` (and may have `day`)",
                ));
            }
            Clock::NameDate(regex)
        }
        Some((at, other)) => {
            return Err(source.at(
                at,
                format!(
                    "clock `{other}`: write \"mtime\", \"ctime\", \"first-seen\" or \"name-date\""
                ),
            ))
        }
    };
    if let (Some(pattern), false) = (&raw.name_pattern, matches!(clock, Clock::NameDate(_))) {
        return Err(source.at(
            pattern,
            "name_pattern is only used with clock = \"name-date\"",
        ));
    }
    let action = match raw.action.as_ref().map(|a| (a, a.get_ref().as_str())) {
        None | Some((_, "shred")) => Action::Shred,
        Some((_, "report")) => Action::Report,
        Some((at, "quarantine")) => {
            let dir = raw.quarantine.as_ref().ok_or_else(|| {
                source.at(at, "action \"quarantine\" needs quarantine = \"/a/folder\"")
            })?;
            let grace = raw.grace.as_ref().ok_or_else(|| {
                source.at(at, "action \"quarantine\" needs grace, e.g. \"30 days\"")
            })?;
            Action::Quarantine {
                dir: absolute(source, dir, "quarantine folder")?,
                grace: period(source, grace)?,
            }
        }
        Some((at, other)) => {
            return Err(source.at(
                at,
                format!("action `{other}`: write \"shred\", \"report\" or \"quarantine\""),
            ))
        }
    };
    if !matches!(action, Action::Quarantine { .. }) {
        if let Some(extra) = raw.quarantine.as_ref().or(raw.grace.as_ref()) {
            return Err(source.at(
                extra,
                "quarantine and grace are only used with action = \"quarantine\"",
            ));
        }
    }
    Ok(Series {
        id,
        title: raw.title.clone(),
        authority: raw.authority.clone(),
        roots,
        include: patterns(source, &raw.include, Some("**"))?,
        exclude: patterns(source, &raw.exclude, None)?,
        condition,
        retain,
        clock,
        action,
    })
}

fn parse_hold(source: &Source, raw: &RawHold) -> Result<Hold, PolicyError> {
    if raw.paths.get_ref().is_empty() {
        return Err(source.at(
            &raw.paths,
            format!("hold `{}` names no paths", raw.name.get_ref()),
        ));
    }
    // A plain path holds itself and everything below it; a glob holds what it matches.
    let mut expanded = Vec::new();
    for item in raw.paths.get_ref() {
        let text = item.get_ref();
        if !text.starts_with('/') {
            return Err(source.at(item, format!("hold path `{text}` must be absolute")));
        }
        let trimmed = text.trim_end_matches('/');
        expanded.push(Spanned::new(item.span(), trimmed.to_string()));
        if !trimmed.ends_with("/**") {
            expanded.push(Spanned::new(item.span(), format!("{trimmed}/**")));
        }
    }
    let date = raw.placed_on.get_ref();
    let placed_on = match date.date {
        Some(d) => jiff::civil::Date::new(d.year as i16, d.month as i8, d.day as i8)
            .map_err(|e| source.at(&raw.placed_on, e.to_string()))?,
        None => return Err(source.at(&raw.placed_on, "placed_on must be a date, e.g. 2026-10-01")),
    };
    Ok(Hold {
        name: raw.name.get_ref().clone(),
        matter: raw.matter.clone(),
        paths: patterns(source, &expanded, None)?,
        placed_by: raw.placed_by.clone(),
        placed_on,
    })
}
