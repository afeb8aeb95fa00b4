//! `wisp sweep`: arguments → validated config → `sweep` library → output.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{bail, Context};
use certs::{Ledger, OsRandom, RandomSource, SystemClock};
use jiff::Timestamp;
use sweep::journal::{Journal, RunLock};
use sweep::{Executor, ItemOutcome, ItemResult, Plan, Planner, SweepError};

use super::certs::ledger_dir;
use super::shred::{install_stop_handler, resolve_operator, STOP};
use crate::cli::SweepArgs;
use crate::output::{human_bytes, sanitize, table};
use crate::Outcome;

enum Mode {
    DryRun,
    Run,
    Apply(PathBuf),
}

struct Config {
    mode: Mode,
    policy: PathBuf,
    plan_out: Option<PathBuf>,
    now: Option<Timestamp>,
    json: bool,
    ledger: PathBuf,
    catalog: Option<PathBuf>,
}

fn parse_now(text: &str) -> anyhow::Result<Timestamp> {
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Ok(ts);
    }
    let date: jiff::civil::Date = text
        .parse()
        .with_context(|| format!("--now {text}: write a date (2026-12-02) or an RFC 3339 time"))?;
    Ok(date.to_zoned_datetime(jiff::tz::TimeZone::UTC)?.timestamp())
}

impl Config {
    fn from_args(args: &SweepArgs) -> anyhow::Result<Config> {
        let ledger = ledger_dir(&args.ledger)?;
        let (mode, policy) = match (&args.apply, &args.policy) {
            (Some(plan), policy) => {
                let policy = match policy {
                    Some(policy) => policy.clone(),
                    None => Plan::load(plan)?.policy,
                };
                (Mode::Apply(plan.clone()), policy)
            }
            (None, Some(policy)) if args.dry_run => (Mode::DryRun, policy.clone()),
            (None, Some(policy)) => (Mode::Run, policy.clone()),
            (None, None) => bail!("--policy FILE is required (or --apply PLAN)"),
        };
        let catalog = match (&args.catalog, args.no_catalog) {
            (_, true) => None,
            (Some(path), false) => Some(path.clone()),
            (None, false) => Some(ledger.join("inventory.sqlite")),
        };
        Ok(Config {
            mode,
            policy,
            plan_out: args.plan_out.clone(),
            now: args.now.as_deref().map(parse_now).transpose()?,
            json: args.json,
            ledger,
            catalog,
        })
    }
}

pub fn run(args: &SweepArgs) -> anyhow::Result<Outcome> {
    let config = Config::from_args(args)?;
    let started = Instant::now();
    let text = std::fs::read_to_string(&config.policy)
        .with_context(|| format!("policy {}", config.policy.display()))?;
    let policy = retention::parse(&text, &config.policy)?;
    let now = config.now.unwrap_or_else(Timestamp::now);
    let catalog = config
        .catalog
        .as_deref()
        .map(inventory::Catalog::open)
        .transpose()?;
    let ledger = Ledger::new(&config.ledger);
    let value_key = super::certs::value_key(ledger.dir());

    let state = sweep::state_dir(ledger.dir());
    let plan_now = || -> anyhow::Result<Plan> {
        let mut plan = Planner {
            policy: &policy,
            catalog: catalog.as_ref(),
            value_key: value_key.as_ref(),
            now,
        }
        .plan()?;
        let (from_quarantine, problems) = sweep::quarantine::due(&policy, &state, now)?;
        plan.items.extend(from_quarantine);
        plan.problems.extend(problems);
        plan.tally.due = plan.items.len() as u64;
        Ok(plan)
    };
    if let Mode::DryRun = config.mode {
        let plan = plan_now()?;
        save_plan(&config, &plan)?;
        print_plan(&config, &plan)?;
        eprintln!("wisp sweep (dry run): {}", tally_line(&plan, started));
        return Ok(Outcome::Success);
    }

    // Disposals need the signing key: fail before touching anything.
    if !ledger.dir().join(certs::keys::SIGNING_KEY_FILE).exists() {
        bail!(
            "no signing key in {}: run `wisp certs keygen` first (every disposal is certified)",
            ledger.dir().display()
        );
    }
    let _lock = match RunLock::acquire(&state) {
        Ok(lock) => lock,
        Err(err @ SweepError::Busy { .. }) => {
            eprintln!("wisp sweep: {err}");
            return Ok(Outcome::Busy);
        }
        Err(err) => return Err(err.into()),
    };
    install_stop_handler();
    let (journal, open) = Journal::open(&state)?;
    let journal = Mutex::new(journal);
    let operator = resolve_operator(&args.operator, ledger.dir())?;
    let random: Mutex<Box<dyn RandomSource + Send>> = Mutex::new(Box::new(OsRandom));
    let replan = matches!(config.mode, Mode::Apply(_));
    let executor = Executor {
        policy: &policy,
        ledger: &ledger,
        catalog: catalog.as_ref(),
        operator: &operator,
        clock: &SystemClock,
        random: &random,
        tool_version: env!("CARGO_PKG_VERSION"),
        journal: &journal,
        stop: &STOP,
        replan,
        now,
    };
    // Open intents are finished before anything is planned: a record an
    // interrupted run had started on is disposed of (or found done) by its
    // intent, not planned a second time.
    let recovered = executor.recover(open)?;
    let plan = match &config.mode {
        Mode::Apply(path) => Plan::load(path)?,
        _ => {
            let plan = plan_now()?;
            save_plan(&config, &plan)?;
            plan
        }
    };
    if replan && plan.policy_hash != policy.hash_hex() {
        eprintln!(
            "wisp sweep: note: {} changed since the plan was made; each record is decided again under the policy in force",
            config.policy.display()
        );
    }
    let outcomes = executor.execute(&plan)?;
    let mut journal = journal.into_inner().expect("not poisoned");
    if journal.settled() {
        journal.clear()?;
    }
    report(&config, &plan, &recovered, &outcomes, started)
}

fn save_plan(config: &Config, plan: &Plan) -> anyhow::Result<()> {
    let Some(path) = &config.plan_out else {
        return Ok(());
    };
    let mut bytes = serde_json::to_vec_pretty(plan)?;
    bytes.push(b'\n');
    std::fs::write(path, bytes).with_context(|| format!("plan {}", path.display()))
}

fn tally_line(plan: &Plan, started: Instant) -> String {
    let t = &plan.tally;
    let mut parts = vec![format!("{} files", t.files), format!("{} due", t.due)];
    for (count, what) in [
        (t.held, "held"),
        (t.kept, "kept permanently"),
        (t.not_due, "not yet due"),
        (t.undated, "undated (kept)"),
        (t.unclassified, "unreadable (kept)"),
        (t.hard_linked, "hard-linked (kept)"),
    ] {
        if count > 0 {
            parts.push(format!("{count} {what}"));
        }
    }
    format!(
        "{} ({:.1} s)",
        parts.join(", "),
        started.elapsed().as_secs_f64()
    )
}

fn print_plan(config: &Config, plan: &Plan) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if config.json {
        serde_json::to_writer(&mut out, plan)?;
        writeln!(out)?;
        return Ok(());
    }
    let rows: Vec<Vec<String>> = plan
        .items
        .iter()
        .map(|item| {
            vec![
                item.action.clone(),
                sanitize(&item.series),
                format!("{} d", item.age_days),
                format!("{} {}", item.clock, item.since.strftime("%Y-%m-%d")),
                human_bytes(item.size),
                sanitize(&item.path.display().to_string()),
            ]
        })
        .collect();
    if rows.is_empty() {
        writeln!(out, "nothing is due")?;
    } else {
        write!(
            out,
            "{}",
            table(&["ACTION", "SERIES", "AGE", "SINCE", "SIZE", "PATH"], &rows)
        )?;
    }
    for problem in &plan.problems {
        eprintln!("wisp sweep: {}", sanitize(problem));
    }
    Ok(())
}

fn report(
    config: &Config,
    plan: &Plan,
    recovered: &[ItemOutcome],
    outcomes: &[ItemOutcome],
    started: Instant,
) -> anyhow::Result<Outcome> {
    let all = || recovered.iter().chain(outcomes);
    let count = |f: fn(&ItemResult) -> bool| all().filter(|o| f(&o.result)).count();
    let shredded = count(|r| matches!(r, ItemResult::Shredded { .. }));
    let reported = count(|r| matches!(r, ItemResult::Reported));
    let quarantined = count(|r| matches!(r, ItemResult::Quarantined { .. }));
    let skipped = count(|r| matches!(r, ItemResult::Skipped { .. }));
    let failed = count(|r| matches!(r, ItemResult::Failed { .. }));
    let mut out = std::io::stdout().lock();
    if config.json {
        let summary = serde_json::json!({
            "policy": plan.policy,
            "policy_hash": plan.policy_hash,
            "now": plan.now,
            "tally": plan.tally,
            "shredded": shredded,
            "reported": reported,
            "quarantined": quarantined,
            "skipped": skipped,
            "failed": failed,
            "recovered": recovered,
            "outcomes": outcomes,
            "problems": plan.problems,
            "interrupted": STOP.load(Ordering::Relaxed),
        });
        serde_json::to_writer(&mut out, &summary)?;
        writeln!(out)?;
    } else {
        for outcome in all() {
            let path = sanitize(&outcome.path.display().to_string());
            let line = match &outcome.result {
                ItemResult::Shredded { certificate, .. } => {
                    format!(
                        "shredded     {path}  (certificate #{certificate}, {})",
                        outcome.series
                    )
                }
                ItemResult::Reported => {
                    format!("due          {path}  ({}: report only)", outcome.series)
                }
                ItemResult::Quarantined { to } => {
                    format!(
                        "quarantined  {path}  -> {}",
                        sanitize(&to.display().to_string())
                    )
                }
                ItemResult::Skipped { why } => format!("skipped      {path}  ({})", sanitize(why)),
                ItemResult::Failed { why } => format!("FAILED       {path}  ({})", sanitize(why)),
            };
            writeln!(out, "{line}")?;
        }
    }
    for problem in &plan.problems {
        eprintln!("wisp sweep: {}", sanitize(problem));
    }
    let mut summary = format!("{shredded} shredded and certified");
    for (n, what) in [
        (reported, "reported"),
        (quarantined, "quarantined"),
        (skipped, "skipped"),
        (failed, "FAILED"),
    ] {
        if n > 0 {
            summary.push_str(&format!(", {n} {what}"));
        }
    }
    if !recovered.is_empty() {
        summary.push_str(&format!(
            " ({} finished from an interrupted run)",
            recovered.len()
        ));
    }
    eprintln!("wisp sweep: {}; {summary}", tally_line(plan, started));
    if STOP.load(Ordering::Relaxed) {
        eprintln!("wisp sweep: interrupted; the next run finishes what was started");
        return Ok(Outcome::Failure);
    }
    // Unreadable folders, hard-linked or unreadable due records: worth an alert.
    Ok(if failed + skipped > 0 || !plan.problems.is_empty() {
        Outcome::Failure
    } else {
        Outcome::Success
    })
}
