//! `wisp shred`: erase targets in parallel, verify, certify each.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{bail, Context};
use certs::{Ledger, Operator, OsRandom, RandomSource, SystemClock};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use shred::engine::Progress;
use shred::method::{FinalPass, Method, PassPlan};
use shred::resume::parse_nonce;
use shred::target::{self, Force, Target};
use shred::wipe::{self, VerifyMode, VerifyResult, WipeProgress};
use shred::{EmptyDevices, SystemView};
use sweep::dispose::{
    DisposeOptions, Disposed, Disposer, Removal, Scope, Start, TargetOutcome, Watcher,
};

use super::certs::ledger_dir;
use crate::cli::{MethodArg, OperatorArgs, ShredArgs, VerifyArg};
use crate::output::{human_bytes, sanitize};
use crate::Outcome;

/// Set by SIGINT/SIGTERM: workers stop at the next chunk, leaving a resumable state.
pub(crate) static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn request_stop(_: nix::libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

/// What to do, validated before anything is touched.
struct Config {
    targets: Vec<PathBuf>,
    options: DisposeOptions,
    verify_only: Option<[u8; 16]>,
    recursive: bool,
    confirmed: bool,
    dry_run: bool,
    json: bool,
    ledger: PathBuf,
}

impl Config {
    fn from_args(args: &ShredArgs) -> anyhow::Result<Config> {
        let method = match args.method {
            MethodArg::Clear => Method::Clear,
            MethodArg::Zero => Method::Zero,
            MethodArg::Dod3 => Method::Dod3,
            MethodArg::Dod7 => Method::Dod7,
            MethodArg::Gutmann => Method::Gutmann,
        };
        let final_pass = if args.final_zero {
            FinalPass::Zero
        } else {
            FinalPass::AsMethod
        };
        let verify = match args.verify {
            VerifyArg::Full => VerifyMode::Full,
            VerifyArg::Sample => VerifyMode::Sample,
            VerifyArg::Last => VerifyMode::Last,
            VerifyArg::Off => VerifyMode::Off,
        };
        let verify_only = match &args.nonce {
            Some(text) => Some(
                parse_nonce(text)
                    .with_context(|| format!("--nonce {text:?} is not 32 hex digits"))?,
            ),
            None => None,
        };
        if args.verify_only && verify == VerifyMode::Off {
            bail!("--verify-only needs --verify sample, last or full");
        }
        if args.nonce.is_some() && !args.verify_only {
            bail!("--nonce is only for --verify-only; a wipe draws a fresh nonce");
        }
        if args.resume && args.remove {
            bail!("--resume applies to devices; --remove to files");
        }
        Ok(Config {
            targets: args.targets.clone(),
            options: DisposeOptions {
                plan: PassPlan::new(method, args.passes as usize, final_pass),
                verify,
                removal: if args.remove {
                    Removal::Remove
                } else {
                    Removal::Keep
                },
                start: if args.resume {
                    Start::Resume
                } else {
                    Start::Fresh
                },
                force: if args.force { Force::Yes } else { Force::No },
                workers: args.workers.clamp(1, 64),
                checkpoint_every: std::time::Duration::from_millis(args.checkpoint_ms.max(10)),
                destination: args.operator.destination.clone(),
            },
            verify_only: if args.verify_only { verify_only } else { None },
            recursive: args.recursive,
            confirmed: args.yes,
            dry_run: args.dry_run,
            json: args.json,
            ledger: ledger_dir(&args.ledger)?,
        })
    }
}

pub fn run(args: &ShredArgs) -> anyhow::Result<Outcome> {
    let config = Config::from_args(args)?;
    let devices = shred::discover(&SystemView::live(), EmptyDevices::Skip)
        .context("cannot list block devices")?;
    let targets = resolve_targets(&config, &devices)?;

    let refusals: Vec<_> = targets
        .iter()
        .filter_map(|t| target::check_safe(t, config.options.force).err())
        .collect();
    if !refusals.is_empty() {
        for refusal in &refusals {
            eprintln!("wisp: {}", sanitize(&refusal.to_string()));
        }
        eprintln!("wisp: nothing was written");
        return Ok(Outcome::Failure);
    }
    if config.dry_run {
        print_plan(&config, &targets);
        return Ok(Outcome::Success);
    }
    if let Some(nonce) = config.verify_only {
        return verify_only(&config, &targets, nonce);
    }
    let ledger = Ledger::new(&config.ledger);
    if !ledger.dir().join(certs::keys::SIGNING_KEY_FILE).exists() {
        bail!(
            "no signing key in {}: every wipe is certified, so run `wisp certs keygen` first (or pass --ledger)",
            ledger.dir().display()
        );
    }
    let operator = resolve_operator(&args.operator, ledger.dir())?;
    if !config.confirmed && targets.iter().any(|t| matches!(t, Target::Device(_))) {
        confirm(&targets)?;
    }
    install_stop_handler();

    let disposer = Disposer {
        options: &config.options,
        ledger: &ledger,
        operator: &operator,
        stop: &STOP,
        clock: &SystemClock,
        nonce: &draw_nonce,
        tool_version: env!("CARGO_PKG_VERSION"),
    };
    let watcher = Bars(MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
    let outcomes = disposer.run(&targets, &watcher);
    report(&config, outcomes)
}

/// Resolves every named target, descending into directories with --recursive.
fn resolve_targets(config: &Config, devices: &[shred::BlockDevice]) -> anyhow::Result<Vec<Target>> {
    let mut targets = Vec::new();
    for path in &config.targets {
        let meta =
            std::fs::symlink_metadata(path).with_context(|| format!("{}", path.display()))?;
        if meta.is_dir() && config.recursive {
            for file in walk_files(path)? {
                targets.push(target::resolve(&file, devices)?);
            }
        } else {
            targets.push(target::resolve(path, devices)?);
        }
    }
    if targets.is_empty() {
        bail!("no files to erase under {}", config.targets[0].display());
    }
    Ok(targets)
}

/// Every regular file below `dir`, not following symbolic links.
fn walk_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries =
            std::fs::read_dir(&current).with_context(|| format!("{}", current.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("{}", current.display()))?;
            let kind = entry
                .file_type()
                .with_context(|| format!("{}", entry.path().display()))?;
            if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_file() {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    Ok(files)
}

fn describe(target: &Target) -> String {
    match target {
        Target::Device(d) => format!(
            "{}  {}  {}  model {}  serial {}",
            d.path.display(),
            human_bytes(d.size_bytes),
            d.disk.transport,
            sanitize(d.disk.model.as_deref().unwrap_or("-")),
            sanitize(d.disk.serial.as_deref().unwrap_or("-"))
        ),
        Target::File(f) => format!(
            "{}  {}",
            sanitize(&f.path.display().to_string()),
            human_bytes(f.size_bytes)
        ),
    }
}

fn print_plan(config: &Config, targets: &[Target]) {
    let passes: Vec<String> = config
        .options
        .plan
        .passes
        .iter()
        .map(|p| p.name())
        .collect();
    println!(
        "would erase {} target(s) with {} ({} pass(es): {}), verify {}{}",
        targets.len(),
        config.options.plan.method.name(),
        passes.len(),
        passes.join(", "),
        config.options.verify.name(),
        if config.options.removal == Removal::Remove {
            ", then remove the files"
        } else {
            ""
        }
    );
    for target in targets {
        println!("  {}", describe(target));
    }
}

fn confirm(targets: &[Target]) -> anyhow::Result<()> {
    if !std::io::stdin().is_terminal() {
        bail!("not confirmed: pass --yes to erase devices without a prompt");
    }
    eprintln!("wisp will ERASE, beyond recovery:");
    for target in targets.iter().filter(|t| matches!(t, Target::Device(_))) {
        eprintln!("  {}", describe(target));
    }
    eprint!("Type 'yes' to continue: ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if answer.trim() != "yes" {
        bail!("not confirmed; nothing was written");
    }
    Ok(())
}

pub(crate) fn install_stop_handler() {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let action = SigAction::new(
        SigHandler::Handler(request_stop),
        SaFlags::empty(),
        SigSet::empty(),
    );
    for signal in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        let _ = unsafe { sigaction(signal, &action) };
    }
}

/// The operator for certificates: flags (or their environment variables), then
/// `operator.json` in the ledger, then the login and host names.
pub(crate) fn resolve_operator(args: &OperatorArgs, ledger: &Path) -> anyhow::Result<Operator> {
    let path = ledger.join("operator.json");
    let mut operator = match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice::<Operator>(&bytes)
            .map_err(|e| anyhow::anyhow!("{}, line {}: {e}", path.display(), e.line()))?,
        Err(_) => Operator {
            name: ["SUDO_USER", "USER", "LOGNAME"]
                .iter()
                .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
                .unwrap_or_else(|| "unknown".into()),
            title: None,
            organization: nix::unistd::gethostname()
                .ok()
                .and_then(|h| h.into_string().ok())
                .unwrap_or_else(|| "unknown".into()),
            location: None,
            contact: None,
        },
    };
    if let Some(name) = &args.operator {
        operator.name = name.clone();
    }
    if let Some(org) = &args.organization {
        operator.organization = org.clone();
    }
    for (field, value) in [
        (&mut operator.title, &args.title),
        (&mut operator.location, &args.location),
        (&mut operator.contact, &args.contact),
    ] {
        if value.is_some() {
            *field = value.clone();
        }
    }
    Ok(operator)
}

/// A progress bar; drawn only when stderr is a terminal, cleared when dropped.
struct Bar(ProgressBar, Scope);

impl Progress for Bar {
    fn advance(&self, bytes: u64) {
        self.0.inc(bytes);
    }
}

impl WipeProgress for Bar {
    fn phase(&self, label: &str, bytes: u64) {
        if self.1 == Scope::Device {
            self.0.set_length(bytes);
            self.0.set_position(0);
            self.0.set_message(label.to_string());
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

struct Bars(MultiProgress);

impl Watcher for Bars {
    fn watch(&self, name: &Path, bytes: u64, scope: Scope) -> Box<dyn WipeProgress + '_> {
        let bar = self.0.add(ProgressBar::new(bytes));
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:24!} {msg:18!} [{bar:30}] {bytes:>10}/{total_bytes:<10} {binary_bytes_per_sec:>12} eta {eta}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_prefix(name.display().to_string());
        Box::new(Bar(bar, scope))
    }
}

fn draw_nonce() -> Result<[u8; 16], String> {
    let mut nonce = [0u8; 16];
    OsRandom.fill(&mut nonce).map_err(|e| e.to_string())?;
    Ok(nonce)
}

fn report(config: &Config, outcomes: Vec<TargetOutcome>) -> anyhow::Result<Outcome> {
    let mut stdout = std::io::stdout().lock();
    let (mut failed, mut errors) = (0, 0);
    for outcome in outcomes {
        match outcome.result {
            Ok(done) => {
                if !done.report.succeeded() {
                    failed += 1;
                }
                if config.json {
                    let line = serde_json::json!({
                        "report": done.report,
                        "certificate": {"sequence": done.sequence, "hash": done.certificate},
                        "removed": done.removed,
                    });
                    writeln!(stdout, "{line}")?;
                } else {
                    writeln!(stdout, "{}", summary(&done))?;
                }
            }
            Err(err) => {
                errors += 1;
                eprintln!(
                    "wisp: error: {}: {}",
                    outcome.path.display(),
                    sanitize(&sweep::dispose::error_chain(&err))
                );
            }
        }
    }
    stdout.flush()?;
    Ok(match (errors, failed) {
        (0, 0) => Outcome::Success,
        (0, _) => Outcome::Failure,
        _ => bail!("{errors} target(s) could not be erased"),
    })
}

fn summary(done: &Disposed) -> String {
    let report = &done.report;
    let written: u64 = report.passes.iter().map(|p| p.bytes).sum();
    let millis: u64 = report.passes.iter().map(|p| p.milliseconds).sum();
    let speed = written as f64 / 1e6 / (millis.max(1) as f64 / 1000.0);
    let verification = match report.verification.result {
        VerifyResult::Passed => format!(
            "verified ({} {:.1}%)",
            report.verification.mode.name(),
            report.verification.coverage_percent
        ),
        VerifyResult::Failed => format!(
            "VERIFICATION FAILED ({} range(s) differ, {} unreadable)",
            report.verification.mismatched.len(),
            report.verification.unreadable.len()
        ),
        VerifyResult::NotPerformed => "not verified".into(),
    };
    format!(
        "{} {}: {}, {} pass(es) at {:.0} MB/s, {}{}; certificate #{}",
        if report.succeeded() {
            "erased"
        } else {
            "INCOMPLETE"
        },
        sanitize(&report.target.path().display().to_string()),
        report.method,
        report.passes.len(),
        speed,
        verification,
        if done.removed { ", removed" } else { "" },
        done.sequence
    )
}

fn verify_only(config: &Config, targets: &[Target], nonce: [u8; 16]) -> anyhow::Result<Outcome> {
    let mut all_passed = true;
    for target in targets {
        // Read-only use, but through the same exclusive open as a wipe.
        let opened = target::open(target, config.options.force)?;
        let report = wipe::verify_only(
            target,
            &opened,
            &config.options.plan,
            nonce,
            config.options.verify,
            config.options.workers,
            &NoBar,
        )?;
        let passed = report.result == VerifyResult::Passed;
        all_passed &= passed;
        if config.json {
            println!(
                "{}",
                serde_json::json!({"target": target.path(), "verification": report})
            );
        } else {
            println!(
                "{} {}: {} verification of the last {} pass, {:.1}% read, {} range(s) differ",
                if passed { "verified" } else { "FAILED" },
                target.path().display(),
                report.mode.name(),
                config.options.plan.method.name(),
                report.coverage_percent,
                report.mismatched.len()
            );
        }
    }
    Ok(if all_passed {
        Outcome::Success
    } else {
        Outcome::Failure
    })
}

struct NoBar;
impl Progress for NoBar {
    fn advance(&self, _: u64) {}
}
impl WipeProgress for NoBar {
    fn phase(&self, _: &str, _: u64) {}
}
