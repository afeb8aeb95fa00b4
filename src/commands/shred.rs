//! `wisp shred`: erase targets in parallel, verify, certify each.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use anyhow::{bail, Context};
use certs::{Ledger, Operator, OsRandom, RandomSource, SystemClock};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use shred::engine::Progress;
use shred::method::{FinalPass, Method, PassPlan};
use shred::resume::{parse_nonce, Journal, ResumeState};
use shred::target::{self, Force, Target};
use shred::wipe::{
    self, ResumePoint, ShredReport, VerifyMode, VerifyResult, WipeJob, WipeProgress,
};
use shred::{EmptyDevices, SystemView};

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
    plan: PassPlan,
    verify: VerifyMode,
    verify_only: Option<[u8; 16]>,
    recursive: bool,
    remove: bool,
    force: Force,
    confirmed: bool,
    dry_run: bool,
    resume: bool,
    json: bool,
    workers: usize,
    checkpoint_every: std::time::Duration,
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
            plan: PassPlan::new(method, args.passes as usize, final_pass),
            verify,
            verify_only: if args.verify_only { verify_only } else { None },
            recursive: args.recursive,
            remove: args.remove,
            force: if args.force { Force::Yes } else { Force::No },
            confirmed: args.yes,
            dry_run: args.dry_run,
            resume: args.resume,
            json: args.json,
            workers: args.workers.clamp(1, 64),
            checkpoint_every: std::time::Duration::from_millis(args.checkpoint_ms.max(10)),
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
        .filter_map(|t| target::check_safe(t, config.force).err())
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

    let outcomes = run_all(&config, &targets, &ledger, &operator, &args.operator)?;
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
    let passes: Vec<String> = config.plan.passes.iter().map(|p| p.name()).collect();
    println!(
        "would erase {} target(s) with {} ({} pass(es): {}), verify {}{}",
        targets.len(),
        config.plan.method.name(),
        passes.len(),
        passes.join(", "),
        config.verify.name(),
        if config.remove {
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

/// A progress bar; drawn only when stderr is a terminal.
struct Bar(ProgressBar, Phases);

/// Whether a bar shows each phase (one device) or only the total (many files).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phases {
    Shown,
    Hidden,
}

impl Progress for Bar {
    fn advance(&self, bytes: u64) {
        self.0.inc(bytes);
    }
}

impl WipeProgress for Bar {
    fn phase(&self, label: &str, bytes: u64) {
        if self.1 == Phases::Shown {
            self.0.set_length(bytes);
            self.0.set_position(0);
            self.0.set_message(label.to_string());
        }
    }
}

fn bar(multi: &MultiProgress, name: &Path, bytes: u64, phases: Phases) -> Bar {
    let bar = multi.add(ProgressBar::new(bytes));
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:24!} {msg:18!} [{bar:30}] {bytes:>10}/{total_bytes:<10} {binary_bytes_per_sec:>12} eta {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_prefix(name.display().to_string());
    Bar(bar, phases)
}

struct TargetOutcome {
    path: PathBuf,
    result: anyhow::Result<Done>,
}

struct Done {
    report: ShredReport,
    certificate: (u64, String),
    removed: bool,
}

/// A target overwritten and verified, not yet certified or removed.
struct Erased<'t> {
    target: &'t Target,
    report: ShredReport,
    opened: target::Opened,
    nonce: [u8; 16],
    fingerprint: Option<String>,
}

/// Files are certified in batches (one durable append for many) and removed only
/// after their certificates are in the ledger.
const FILE_BATCH: usize = 256;
/// Threads for file work. Wiping and removing a small file is mostly waiting on
/// fsync; many at once let the filesystem journal commit them together.
const FILE_THREADS: usize = 16;

struct Run<'a> {
    config: &'a Config,
    ledger: &'a Ledger,
    operator: &'a Operator,
    operator_args: &'a OperatorArgs,
    fingerprint_key: Option<certs::FingerprintKey>,
}

fn run_all(
    config: &Config,
    targets: &[Target],
    ledger: &Ledger,
    operator: &Operator,
    operator_args: &OperatorArgs,
) -> anyhow::Result<Vec<TargetOutcome>> {
    let run = Run {
        config,
        ledger,
        operator,
        operator_args,
        fingerprint_key: certs::FingerprintKey::load(
            &ledger.dir().join(certs::keys::FINGERPRINT_KEY_FILE),
        )
        .ok(),
    };
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
    let outcomes = Mutex::new(Vec::new());
    let (devices, files): (Vec<&Target>, Vec<&Target>) =
        targets.iter().partition(|t| matches!(t, Target::Device(_)));
    std::thread::scope(|scope| {
        // One worker group per device: devices are independent and each is I/O bound.
        for device in devices {
            let (multi, outcomes, run) = (&multi, &outcomes, &run);
            scope.spawn(move || {
                let progress = bar(multi, device.path(), device.span(), Phases::Shown);
                let result = run
                    .erase(device, config.workers, &progress)
                    .and_then(|erased| {
                        let mut done = run.certify(vec![erased])?;
                        done.pop().expect("one in, one out")
                    });
                progress.0.finish_and_clear();
                outcomes.lock().expect("not poisoned").push(TargetOutcome {
                    path: device.path().to_path_buf(),
                    result,
                });
            });
        }
        if !files.is_empty() {
            scope.spawn(|| {
                let total = files.iter().map(|f| f.span()).sum();
                let progress = bar(&multi, Path::new("files"), total, Phases::Hidden);
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(FILE_THREADS)
                    .build();
                let work = || {
                    for batch in files.chunks(FILE_BATCH) {
                        let results = run.file_batch(batch, &progress);
                        outcomes.lock().expect("not poisoned").extend(results);
                    }
                };
                match pool {
                    Ok(pool) => pool.install(work),
                    Err(_) => work(),
                }
                progress.0.finish_and_clear();
            });
        }
    });
    let mut outcomes = outcomes.into_inner().expect("not poisoned");
    outcomes.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(outcomes)
}

impl Run<'_> {
    /// Overwrites and verifies one target.
    fn erase<'t>(
        &self,
        target: &'t Target,
        workers: usize,
        progress: &Bar,
    ) -> anyhow::Result<Erased<'t>> {
        let config = self.config;
        // Taken before the first write, so the certificate can tie to the content.
        let fingerprint = match (target, &self.fingerprint_key) {
            (Target::File(file), Some(key)) => Some(fingerprint_file(&file.path, key)?),
            _ => None,
        };
        let opened = target::open(target, config.force)?;
        let journal = match target {
            Target::Device(device) => Some(Journal::for_target(
                &self.ledger.dir().join("resume"),
                device,
            )),
            Target::File(_) => None,
        };
        let (nonce, resume) = match (&journal, config.resume) {
            (Some(journal), true) => {
                let state = journal.load()?.with_context(|| {
                    format!(
                        "{}: no interrupted wipe of this device to resume",
                        target.path().display()
                    )
                })?;
                check_resumable(&state, config, target)?
            }
            (None, true) => bail!(
                "{}: only device wipes can be resumed",
                target.path().display()
            ),
            _ => {
                let mut nonce = [0u8; 16];
                OsRandom.fill(&mut nonce)?;
                (nonce, None)
            }
        };
        let now = jiff::Timestamp::now;
        let job = WipeJob {
            target,
            opened: &opened,
            plan: &config.plan,
            verify: config.verify,
            nonce,
            resume,
            journal: journal.as_ref(),
            workers,
            checkpoint_every: config.checkpoint_every,
            progress,
            now: &now,
            stop: &STOP,
        };
        let report = wipe::wipe(&job)?;
        Ok(Erased {
            target,
            report,
            opened,
            nonce,
            fingerprint,
        })
    }

    /// Records the certificates of `erased` in one durable append, then removes
    /// (or restores the length of) each file: never a removal before its certificate.
    fn certify(&self, erased: Vec<Erased>) -> anyhow::Result<Vec<anyhow::Result<Done>>> {
        let disposals = erased
            .iter()
            .map(|e| {
                sweep::disposal_of(
                    &e.report,
                    self.operator,
                    sweep::DisposalContext {
                        destination: self.operator_args.destination.clone(),
                        removed: self.config.remove,
                        fingerprint: e.fingerprint.clone(),
                        ..sweep::DisposalContext::default()
                    },
                    env!("CARGO_PKG_VERSION"),
                )
            })
            .collect();
        let (appended, _) = self.ledger.append(disposals, &SystemClock)?;
        use rayon::prelude::*;
        Ok(erased
            .into_par_iter()
            .zip(appended)
            .map(|(erased, cert)| {
                let removed = self.finish(&erased)?;
                Ok(Done {
                    report: erased.report,
                    certificate: (cert.sequence, certs::certificate::hex(&cert.leaf)),
                    removed,
                })
            })
            .collect())
    }

    fn finish(&self, erased: &Erased) -> anyhow::Result<bool> {
        match erased.target {
            Target::File(file) if self.config.remove => {
                shred::remove::remove_file(&file.path, &erased.opened.file, &erased.nonce)?;
                Ok(true)
            }
            Target::File(file) => {
                // Writes covered the file's last block whole; give it back its length.
                erased
                    .opened
                    .file
                    .set_len(file.size_bytes)
                    .with_context(|| format!("{}", file.path.display()))?;
                Ok(false)
            }
            Target::Device(_) => Ok(false),
        }
    }

    /// Wipes a batch of files across the cores, certifies them together, removes them.
    fn file_batch(&self, batch: &[&Target], progress: &Bar) -> Vec<TargetOutcome> {
        use rayon::prelude::*;
        let erased: Vec<(PathBuf, anyhow::Result<Erased>)> = batch
            .par_iter()
            .map(|file| (file.path().to_path_buf(), self.erase(file, 1, progress)))
            .collect();
        let mut outcomes = Vec::new();
        let mut good = Vec::new();
        for (path, result) in erased {
            match result {
                Ok(e) => good.push(e),
                Err(err) => outcomes.push(TargetOutcome {
                    path,
                    result: Err(err),
                }),
            }
        }
        let paths: Vec<PathBuf> = good.iter().map(|e| e.target.path().to_path_buf()).collect();
        match self.certify(good) {
            Ok(done) => outcomes.extend(
                paths
                    .into_iter()
                    .zip(done)
                    .map(|(path, result)| TargetOutcome { path, result }),
            ),
            Err(err) => {
                // Nothing of this batch was certified, so nothing of it was removed.
                let message = format!("{err:#}");
                outcomes.extend(paths.into_iter().map(|path| TargetOutcome {
                    path,
                    result: Err(anyhow::anyhow!("overwritten but not certified: {message}")),
                }));
            }
        }
        outcomes
    }
}

fn check_resumable(
    state: &ResumeState,
    config: &Config,
    target: &Target,
) -> anyhow::Result<([u8; 16], Option<ResumePoint>)> {
    if state.method != config.plan.method.name() || state.passes != config.plan.passes.len() {
        bail!(
            "{}: the interrupted wipe used {} with {} pass(es); resume with the same --method and --passes",
            target.path().display(),
            state.method,
            state.passes
        );
    }
    let nonce = parse_nonce(&state.nonce).context("the resume journal's nonce is damaged")?;
    Ok((
        nonce,
        Some(ResumePoint {
            pass: state.pass,
            offset: state.offset,
            started_at: state.started_at,
        }),
    ))
}

fn fingerprint_file(path: &Path, key: &certs::FingerprintKey) -> anyhow::Result<String> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(path)
        .with_context(|| format!("{}", path.display()))?;
    key.fingerprint(&mut file)
        .with_context(|| format!("{}", path.display()))
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
                        "certificate": {"sequence": done.certificate.0, "hash": done.certificate.1},
                        "removed": done.removed,
                    });
                    writeln!(stdout, "{line}")?;
                } else {
                    writeln!(stdout, "{}", summary(&done))?;
                }
            }
            Err(err) => {
                errors += 1;
                let chain: Vec<String> = err.chain().map(|c| sanitize(&c.to_string())).collect();
                eprintln!(
                    "wisp: error: {}: {}",
                    outcome.path.display(),
                    chain.join(": ")
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

fn summary(done: &Done) -> String {
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
        done.certificate.0
    )
}

fn verify_only(config: &Config, targets: &[Target], nonce: [u8; 16]) -> anyhow::Result<Outcome> {
    let mut all_passed = true;
    for target in targets {
        // Read-only use, but through the same exclusive open as a wipe.
        let opened = target::open(target, config.force)?;
        let report = wipe::verify_only(
            target,
            &opened,
            &config.plan,
            nonce,
            config.verify,
            config.workers,
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
                config.plan.method.name(),
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
