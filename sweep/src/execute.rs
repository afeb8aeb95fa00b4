//! Carrying out a plan: each record is re-checked (identity, holds, the policy in
//! force) right before it is destroyed, then journaled, overwritten, certified,
//! and only then removed.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use certs::{FingerprintKey, Ledger, Operator, RandomSource, RetentionContext};
use inventory::Catalog;
use jiff::Timestamp;
use rayon::prelude::*;
use retention::{Policy, Verdict};
use serde::Serialize;
use shred::method::{FinalPass, Method, PassPlan};
use shred::target::{self, Expected, Force, Opened};
use shred::wipe::{self, ShredReport, VerifyMode, WipeJob, WipeProgress};

use crate::certify::{disposal_of, DisposalContext};
use crate::dispose::error_chain;
use crate::error::SweepError;
use crate::journal::{Intent, Journal};
use crate::plan::{content_of, findings_of, mtime_ns, record, Plan, PlanItem};
use crate::walk::Dir;

/// Records journaled, wiped and certified together: one fsync of the journal and
/// one ledger append per batch instead of per record.
const BATCH: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum ItemResult {
    /// Overwritten, verified, certified, removed.
    Shredded { certificate: u64, hash: String },
    /// A `report` series: listed, left alone.
    Reported,
    /// Moved into the series' quarantine folder.
    Quarantined { to: PathBuf },
    /// Not touched, for a reason that is no fault (changed, held since, gone).
    Skipped { why: String },
    /// Could not be disposed of as asked.
    Failed { why: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemOutcome {
    pub path: PathBuf,
    pub series: String,
    pub action: String,
    #[serde(flatten)]
    pub result: ItemResult,
}

struct Quiet;

impl shred::engine::Progress for Quiet {
    fn advance(&self, _: u64) {}
}

impl WipeProgress for Quiet {
    fn phase(&self, _: &str, _: u64) {}
}

/// Everything a sweep needs to destroy and certify, handed in by the caller.
pub struct Executor<'a> {
    pub policy: &'a Policy,
    pub ledger: &'a Ledger,
    pub catalog: Option<&'a Catalog>,
    pub operator: &'a Operator,
    pub clock: &'a (dyn certs::Clock + Sync),
    pub random: &'a Mutex<Box<dyn RandomSource + Send>>,
    pub tool_version: &'a str,
    pub journal: &'a Mutex<Journal>,
    pub stop: &'a AtomicBool,
    /// Whether a plan made earlier is applied: the policy in force now decides again.
    pub replan: bool,
    pub now: Timestamp,
}

/// A record checked and ready to be destroyed.
struct Prepared {
    item: PlanItem,
    dir: Arc<Dir>,
    name: OsString,
    intent: Intent,
}

/// What overwriting a record left: its report, the open file (to remove it
/// through), and the nonce its stream came from.
struct Wiped {
    report: ShredReport,
    opened: Opened,
    nonce: [u8; 16],
}

struct Erased {
    prepared: Prepared,
    wiped: Wiped,
}

impl Executor<'_> {
    fn random_bytes<const N: usize>(&self) -> Result<[u8; N], SweepError> {
        let mut bytes = [0u8; N];
        self.random
            .lock()
            .expect("not poisoned")
            .fill(&mut bytes)
            .map_err(SweepError::io("random source"))?;
        Ok(bytes)
    }

    fn fingerprint_key(&self) -> Option<FingerprintKey> {
        FingerprintKey::load(&self.ledger.dir().join(certs::keys::FINGERPRINT_KEY_FILE)).ok()
    }

    fn ledger_size(&self) -> Result<u64, SweepError> {
        Ok(self
            .ledger
            .head()?
            .map_or(0, |h| h.checkpoint.checkpoint.size))
    }

    /// Carries out every item of `plan`, in batches, stopping between batches
    /// when asked to.
    pub fn execute(&self, plan: &Plan) -> Result<Vec<ItemOutcome>, SweepError> {
        let run_id = hex(&self.random_bytes::<8>()?);
        let key = self.fingerprint_key();
        let mut roots: HashMap<PathBuf, Arc<Dir>> = HashMap::new();
        let mut outcomes = Vec::new();
        let mut to_shred = Vec::new();
        let quarantined_due: Vec<(PathBuf, u64)> =
            crate::quarantine::due(self.policy, &self.state_dir(), self.now)?
                .0
                .into_iter()
                .map(|q| (q.path, q.inode))
                .collect();
        for item in &plan.items {
            let outcome = |result| ItemOutcome {
                path: item.path.clone(),
                series: item.series.clone(),
                action: item.action.clone(),
                result,
            };
            if let Err(why) = self.within_policy(item, &quarantined_due) {
                outcomes.push(outcome(ItemResult::Skipped { why }));
                continue;
            }
            match item.action.as_str() {
                "report" => outcomes.push(outcome(ItemResult::Reported)),
                "shred" => to_shred.push(item),
                "quarantine" => outcomes.push(outcome(self.quarantine(item)?)),
                other => outcomes.push(outcome(ItemResult::Failed {
                    why: format!("unknown action `{other}`"),
                })),
            }
        }
        let mut counter = 0usize;
        for batch in to_shred.chunks(BATCH) {
            if self.stop.load(Ordering::Relaxed) {
                for item in batch {
                    outcomes.push(ItemOutcome {
                        path: item.path.clone(),
                        series: item.series.clone(),
                        action: item.action.clone(),
                        result: ItemResult::Skipped {
                            why: "the sweep was interrupted before it got here".into(),
                        },
                    });
                }
                continue;
            }
            let ledger_size = self.ledger_size()?;
            let mut prepared = Vec::new();
            for item in batch {
                counter += 1;
                let root = match roots.get(&item.root) {
                    Some(root) => Arc::clone(root),
                    None => match Dir::open_root(&item.root) {
                        Ok(dir) => {
                            let dir = Arc::new(dir);
                            roots.insert(item.root.clone(), Arc::clone(&dir));
                            dir
                        }
                        Err(err) => {
                            outcomes.push(failed(item, err.to_string()));
                            continue;
                        }
                    },
                };
                match self.prepare(
                    item,
                    &root,
                    format!("{run_id}-{counter}"),
                    ledger_size,
                    key.as_ref(),
                ) {
                    Ok(Ok(p)) => prepared.push(p),
                    Ok(Err(result)) => outcomes.push(ItemOutcome {
                        path: item.path.clone(),
                        series: item.series.clone(),
                        action: item.action.clone(),
                        result,
                    }),
                    Err(err) => return Err(err),
                }
            }
            let intents: Vec<Intent> = prepared.iter().map(|p| p.intent.clone()).collect();
            self.journal
                .lock()
                .expect("not poisoned")
                .intend(&intents)?;
            outcomes.extend(self.destroy(prepared)?);
        }
        Ok(outcomes)
    }

    /// A plan is a file someone could edit: each item must name a record below a
    /// root of the policy in force (or a quarantined record that is due), by a
    /// path that is its root and relative path put together, with no `..`.
    fn within_policy(
        &self,
        item: &PlanItem,
        quarantined_due: &[(PathBuf, u64)],
    ) -> Result<(), String> {
        let plain = item
            .rel
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        if !plain || item.root.join(&item.rel) != item.path {
            return Err("the plan's root, relative path and path do not agree".into());
        }
        match &item.original {
            Some(_) if quarantined_due.contains(&(item.path.clone(), item.inode)) => Ok(()),
            Some(_) => {
                Err("not a quarantined record due for shredding under the policy in force".into())
            }
            None if self.policy.walk_roots().contains(&item.root) => Ok(()),
            None => Err(format!(
                "{} is not a root of the policy in force",
                item.root.display()
            )),
        }
    }

    /// Re-checks one planned record where it stands now. `Ok(Err(_))` is a record
    /// left alone, with the reason.
    fn prepare(
        &self,
        item: &PlanItem,
        root: &Arc<Dir>,
        id: String,
        ledger_size: u64,
        key: Option<&FingerprintKey>,
    ) -> Result<Result<Prepared, ItemResult>, SweepError> {
        let skip = |why: String| Ok(Err(ItemResult::Skipped { why }));
        let (Some(name), parent) = (
            item.rel.file_name(),
            item.rel.parent().unwrap_or(Path::new("")),
        ) else {
            return skip("the plan names no file".into());
        };
        let dir = match root.descend(parent) {
            Ok(dir) => dir,
            Err(errno) => {
                return skip(format!(
                    "its folder is no longer reachable from {} without following a link ({})",
                    item.root.display(),
                    errno.desc()
                ))
            }
        };
        let stat = match dir.stat(name) {
            Ok(stat) => stat,
            Err(errno) => return skip(format!("gone since it was planned ({})", errno.desc())),
        };
        if !crate::walk::is_regular(&stat)
            || stat.st_dev != item.device
            || stat.st_ino != item.inode
            || stat.st_size as u64 != item.size
            || mtime_ns(&stat) != item.mtime_ns
        {
            return skip(
                "changed since it was planned (device, inode, size or modification time)".into(),
            );
        }
        if stat.st_nlink > 1 {
            return skip(format!(
                "has {} other hard link(s) now, which may lie outside the policy's roots",
                stat.st_nlink - 1
            ));
        }
        let path = item.path.clone();
        let holds_on = [Some(path.as_path()), item.original.as_deref()];
        if let Some(hold) = holds_on
            .iter()
            .flatten()
            .find_map(|p| self.policy.hold_on(p))
        {
            return skip(format!("under the legal hold \"{}\"", hold.name));
        }
        // The file's findings and the bytes read for them, kept so that the
        // evidence below reads the file at most once.
        let mut scanned: Option<(inventory::FileReport, Option<Vec<u8>>)> = None;
        if self.replan && item.original.is_none() {
            let first_seen = self
                .catalog
                .and_then(|c| c.first_seen(&path).ok().flatten());
            let verdict =
                self.policy
                    .decide(&record(&path, &stat, first_seen), self.now, &mut || {
                        let found = findings_of(self.catalog, None, &dir, name, &path, &stat)?;
                        let content = content_of(&found.0);
                        scanned = Some(found);
                        content
                    });
            match verdict {
                Verdict::Due { series, action, .. }
                    if series == item.series && action == item.action => {}
                other => {
                    return skip(format!(
                        "the policy in force no longer makes it due for {} under {}: {}",
                        item.action,
                        item.series,
                        describe(&other)
                    ))
                }
            }
        }
        // Evidence taken before the first write: what it held, and a keyed fingerprint.
        let (report, bytes) = match scanned {
            Some((report, bytes)) => (Some(report), bytes),
            None => match findings_of(self.catalog, None, &dir, name, &path, &stat) {
                Ok((report, bytes)) => (Some(report), bytes),
                Err(_) => (None, None),
            },
        };
        let fingerprint = match (key, bytes) {
            (Some(key), Some(bytes)) => key.fingerprint(&mut bytes.as_slice()).ok(),
            (Some(key), None) => {
                // Not read yet (its findings came from the catalog, or it is too
                // large to scan): streamed through once for the fingerprint.
                let mut file = match dir.open_file(name, item.device, item.inode) {
                    Ok(file) => file,
                    Err(errno) => {
                        return Ok(Err(ItemResult::Failed {
                            why: format!("cannot read it: {}", errno.desc()),
                        }))
                    }
                };
                match key.fingerprint(&mut file as &mut dyn Read) {
                    Ok(fp) => Some(fp),
                    Err(err) => {
                        return Ok(Err(ItemResult::Failed {
                            why: format!("cannot read it: {err}"),
                        }))
                    }
                }
            }
            (None, _) => None,
        };
        let findings = report.filter(|r| r.error.is_none()).map(|report| {
            let counts = &report.findings.counts;
            certs::Findings {
                ssn: counts.ssn,
                card: counts.card,
                license: counts.license,
                account: counts.account,
                names: counts.names,
                held_pi: report.findings.holds_pi(),
            }
        });
        Ok(Ok(Prepared {
            intent: Intent {
                id,
                root: item.root.clone(),
                rel: item.rel.clone(),
                device: item.device,
                inode: item.inode,
                size: item.size,
                series: item.series.clone(),
                ledger_size,
                fingerprint,
                findings,
                original: item.original.clone(),
            },
            item: item.clone(),
            name: name.to_os_string(),
            dir,
        }))
    }

    fn wipe_one(&self, prepared: &Prepared) -> Result<Wiped, shred::ShredError> {
        let path = prepared.item.path.clone();
        let (target, opened) = target::open_at(
            &*prepared.dir,
            &prepared.name,
            &path,
            Expected {
                device: prepared.item.device,
                inode: prepared.item.inode,
            },
        )?;
        target::check_safe(&target, Force::No)?;
        let nonce = self
            .random_bytes::<16>()
            .map_err(|e| shred::ShredError::Io {
                path: path.clone(),
                source: std::io::Error::other(e.to_string()),
            })?;
        let plan = PassPlan::new(Method::Clear, 1, FinalPass::AsMethod);
        let now = || self.clock.now();
        let report = wipe::wipe(&WipeJob {
            target: &target,
            opened: &opened,
            plan: &plan,
            verify: VerifyMode::Sample,
            nonce,
            resume: None,
            journal: None,
            workers: 1,
            checkpoint_every: Duration::from_secs(2),
            progress: &Quiet,
            now: &now,
            stop: self.stop,
        })?;
        Ok(Wiped {
            report,
            opened,
            nonce,
        })
    }

    fn retention_of(&self, intent: &Intent, item: &PlanItem) -> RetentionContext {
        let reason = match self.policy.series(&intent.series) {
            Some(series) => format!(
                "{}; due {} ({} days after {} by {})",
                series.reason(),
                item.due_at.strftime("%Y-%m-%d"),
                item.age_days,
                item.since.strftime("%Y-%m-%d"),
                item.clock
            ),
            None => format!("series {} (no longer in the policy)", intent.series),
        };
        RetentionContext {
            rule: intent.series.clone(),
            reason,
            policy_hash: self.policy.hash_hex(),
            disposal_id: Some(intent.id.clone()),
        }
    }

    /// Overwrites, certifies (one append), then removes; journals the end of each.
    fn destroy(&self, prepared: Vec<Prepared>) -> Result<Vec<ItemOutcome>, SweepError> {
        let wiped: Vec<(Prepared, Result<Wiped, shred::ShredError>)> = prepared
            .into_par_iter()
            .map(|p| {
                let result = self.wipe_one(&p);
                (p, result)
            })
            .collect();
        let mut outcomes = Vec::new();
        let mut erased = Vec::new();
        let mut abandoned = Vec::new();
        for (prepared, result) in wiped {
            match result {
                Ok(wiped) if wiped.report.succeeded() => erased.push(Erased { prepared, wiped }),
                Ok(Wiped { report, .. }) => {
                    abandoned.push(prepared.intent.id.clone());
                    outcomes.push(failed(
                        &prepared.item,
                        format!(
                            "overwritten but verification {:?} or sectors not erased; not certified, not removed",
                            report.verification.result
                        ),
                    ));
                }
                Err(err) if self.stop.load(Ordering::Relaxed) => {
                    // Left open in the journal: the next run finishes it.
                    outcomes.push(failed(
                        &prepared.item,
                        format!("interrupted; the next sweep finishes it ({err})"),
                    ));
                }
                Err(err) => {
                    abandoned.push(prepared.intent.id.clone());
                    outcomes.push(failed(&prepared.item, error_chain(&err)));
                }
            }
        }
        self.journal
            .lock()
            .expect("not poisoned")
            .abandon(&abandoned)?;
        if erased.is_empty() {
            return Ok(outcomes);
        }
        let disposals = erased
            .iter()
            .map(|e| {
                let intent = &e.prepared.intent;
                let mut disposal = disposal_of(
                    &e.wiped.report,
                    self.operator,
                    DisposalContext {
                        destination: None,
                        removed: true,
                        fingerprint: intent.fingerprint.clone(),
                        findings: intent.findings.clone(),
                        retention: Some(self.retention_of(intent, &e.prepared.item)),
                    },
                    self.tool_version,
                );
                if let (Some(original), certs::Media::File(file)) =
                    (&intent.original, &mut disposal.media)
                {
                    let note = format!("shredded from quarantine at {}", file.path);
                    file.path = original.display().to_string();
                    disposal.notes = Some(match disposal.notes.take() {
                        Some(n) => format!("{n}; {note}"),
                        None => note,
                    });
                }
                disposal
            })
            .collect();
        let (appended, _) = self.ledger.append(disposals, self.clock)?;
        let removed: Vec<(Erased, certs::Appended, Result<(), shred::ShredError>)> = erased
            .into_par_iter()
            .zip(appended)
            .map(|(e, cert)| {
                let result = shred::remove::remove_at(
                    &*e.prepared.dir,
                    &e.prepared.name,
                    &e.prepared.item.path,
                    &e.wiped.opened.file,
                    &e.wiped.nonce,
                );
                (e, cert, result)
            })
            .collect();
        let mut done = Vec::new();
        let mut forget = Vec::new();
        for (e, cert, result) in removed {
            let item = &e.prepared.item;
            match result {
                Ok(()) => {
                    done.push(e.prepared.intent.id.clone());
                    forget.push(item.path.clone());
                    outcomes.push(ItemOutcome {
                        path: item.path.clone(),
                        series: item.series.clone(),
                        action: item.action.clone(),
                        result: ItemResult::Shredded {
                            certificate: cert.sequence,
                            hash: certs::certificate::hex(&cert.leaf),
                        },
                    });
                }
                // Certified but not yet removed: left open, so the next run removes it.
                Err(err) => outcomes.push(failed(
                    item,
                    format!(
                        "certified (#{}) but not removed yet; the next sweep removes it: {}",
                        cert.sequence,
                        error_chain(&err)
                    ),
                )),
            }
        }
        self.journal.lock().expect("not poisoned").done(&done)?;
        if let Some(catalog) = self.catalog {
            catalog.forget(&forget)?;
        }
        Ok(outcomes)
    }

    /// Finishes the disposals an earlier run left open (crash, kill, power cut).
    pub fn recover(&self, open: Vec<Intent>) -> Result<Vec<ItemOutcome>, SweepError> {
        if open.is_empty() {
            return Ok(Vec::new());
        }
        // Certificates a killed run wrote but did not sign yet are adopted and
        // signed first, so none of their records is removed before that.
        self.ledger.append(Vec::new(), self.clock)?;
        let since = open.iter().map(|i| i.ledger_size).min().unwrap_or(0);
        let certified = self.certified_since(since)?;
        let mut outcomes = Vec::new();
        let mut finished = Vec::new();
        let mut given_up = Vec::new();
        let mut redo = Vec::new();
        for intent in open {
            let item = PlanItem {
                path: intent.path(),
                root: intent.root.clone(),
                rel: intent.rel.clone(),
                series: intent.series.clone(),
                action: "shred".into(),
                clock: "journal".into(),
                since: self.now,
                due_at: self.now,
                age_days: 0,
                device: intent.device,
                inode: intent.inode,
                size: intent.size,
                mtime_ns: 0,
                original: intent.original.clone(),
            };
            let parent = intent.rel.parent().unwrap_or(Path::new(""));
            let located = Dir::open_root(&intent.root)
                .map(Arc::new)
                .ok()
                .and_then(|root| root.descend(parent).ok())
                .and_then(|dir| {
                    let name = dir.find_inode(intent.device, intent.inode).ok().flatten()?;
                    Some((dir, name))
                });
            match (certified.get(&intent.id), located) {
                (Some(_), None) => finished.push(intent.id.clone()),
                (Some((sequence, hash)), Some((dir, name))) => {
                    let sequence = *sequence;
                    match self.finish_removal(&dir, &name, &item, &intent) {
                        Ok(()) => {
                            finished.push(intent.id.clone());
                            outcomes.push(ItemOutcome {
                                result: ItemResult::Shredded {
                                    certificate: sequence,
                                    hash: hash.clone(),
                                },
                                path: item.path,
                                series: item.series,
                                action: item.action,
                            });
                        }
                        Err(err) => outcomes.push(failed(
                            &item,
                            format!(
                                "certified (#{sequence}) but still not removed: {}",
                                error_chain(&err)
                            ),
                        )),
                    }
                }
                (None, None) => {
                    given_up.push(intent.id.clone());
                    outcomes.push(ItemOutcome {
                        result: ItemResult::Skipped {
                            why: "an interrupted disposal: the record is gone, removed by someone else; not certified".into(),
                        },
                        path: item.path,
                        series: item.series,
                        action: item.action,
                    });
                }
                (None, Some((dir, name))) => {
                    let holds_on = [Some(item.path.as_path()), item.original.as_deref()];
                    if let Some(hold) = holds_on
                        .iter()
                        .flatten()
                        .find_map(|p| self.policy.hold_on(p))
                    {
                        given_up.push(intent.id.clone());
                        outcomes.push(failed(
                            &item,
                            format!(
                                "its disposal was interrupted and it may be partly overwritten; it is now under the legal hold \"{}\", so it is left as it is",
                                hold.name
                            ),
                        ));
                        continue;
                    }
                    redo.push(Prepared {
                        item,
                        dir,
                        name,
                        intent,
                    });
                }
            }
        }
        let mut journal = self.journal.lock().expect("not poisoned");
        journal.done(&finished)?;
        journal.abandon(&given_up)?;
        drop(journal);
        outcomes.extend(self.destroy(redo)?);
        Ok(outcomes)
    }

    fn finish_removal(
        &self,
        dir: &Arc<Dir>,
        name: &OsStr,
        item: &PlanItem,
        intent: &Intent,
    ) -> Result<(), shred::ShredError> {
        let (_, opened) = target::open_at(
            &**dir,
            name,
            &item.path,
            Expected {
                device: intent.device,
                inode: intent.inode,
            },
        )?;
        let seed = self
            .random_bytes::<16>()
            .map_err(|e| shred::ShredError::Io {
                path: item.path.clone(),
                source: std::io::Error::other(e.to_string()),
            })?;
        shred::remove::remove_at(&**dir, name, &item.path, &opened.file, &seed)
    }

    /// Disposal ids of the certificates from sequence `since` on, with each
    /// certificate's sequence and hash.
    fn certified_since(&self, since: u64) -> Result<HashMap<String, (u64, String)>, SweepError> {
        let mut found = HashMap::new();
        for (sequence, line) in self.ledger.lines()?.enumerate() {
            let line = line?;
            if (sequence as u64) < since || !line.complete {
                continue;
            }
            if let Ok(cert) = line.certificate() {
                if let Some(id) = cert.disposal.retention.and_then(|r| r.disposal_id) {
                    found.insert(id, (cert.sequence, certs::certificate::hex(&line.leaf())));
                }
            }
        }
        Ok(found)
    }
}

fn failed(item: &PlanItem, why: String) -> ItemOutcome {
    ItemOutcome {
        path: item.path.clone(),
        series: item.series.clone(),
        action: item.action.clone(),
        result: ItemResult::Failed { why },
    }
}

pub fn describe(verdict: &Verdict) -> String {
    match verdict {
        Verdict::NotCovered => "no series covers it".into(),
        Verdict::Held { hold } => format!("under the legal hold \"{hold}\""),
        Verdict::Kept { series } => format!("kept permanently under {series}"),
        Verdict::Undated { series, why } => format!("cannot be dated under {series}: {why}"),
        Verdict::Unclassified { why } => format!("its content could not be read: {why}"),
        Verdict::NotDue { series, due_at } => {
            format!("due under {series} on {}", due_at.strftime("%Y-%m-%d"))
        }
        Verdict::Due { series, action, .. } => format!("due under {series} for {action}"),
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
