//! `wisp certs`: the certificate ledger.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use certs::certificate::hex;
use certs::export::{render_pdf, write_csv, write_json, Export};
use certs::{
    Disposal, Ledger, LedgerError, OsRandom, PublicKey, SignedCheckpoint, SystemClock, Verdict,
};

use crate::cli::{CertsCommand, ExportFormat, LedgerArgs};
use crate::output::{self, paint, sanitize, Stream, Style};
use crate::Outcome;

/// Resolves the ledger directory: `--ledger`, then `WISP_LEDGER`, then the
/// system location for root or the user's data directory.
/// The key that fingerprints values in the inventory catalog, derived from the
/// organization's fingerprint key in `ledger` (none before `wisp certs keygen`).
pub fn value_key(ledger: &std::path::Path) -> Option<inventory::ValueKey> {
    certs::FingerprintKey::load(&ledger.join(certs::keys::FINGERPRINT_KEY_FILE))
        .ok()
        .map(|key| inventory::ValueKey::from_derived(key.derive(inventory::VALUE_KEY_CONTEXT)))
}

pub fn ledger_dir(args: &LedgerArgs) -> anyhow::Result<PathBuf> {
    if let Some(dir) = &args.ledger {
        return Ok(dir.clone());
    }
    if let Some(dir) = std::env::var_os("WISP_LEDGER").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    if nix::unistd::geteuid().is_root() {
        return Ok(PathBuf::from("/var/lib/wisp"));
    }
    if let Some(data) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(data).join("wisp"));
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".local/share/wisp")),
        None => bail!("no ledger location: pass --ledger DIR or set WISP_LEDGER"),
    }
}

pub fn run(command: CertsCommand) -> anyhow::Result<Outcome> {
    match command {
        CertsCommand::Keygen { ledger } => keygen(&ledger_dir(&ledger)?),
        CertsCommand::Issue { ledger, from } => issue(&Ledger::new(ledger_dir(&ledger)?), &from),
        CertsCommand::List { ledger, json } => list(&Ledger::new(ledger_dir(&ledger)?), json),
        CertsCommand::Show { ledger, id } => show(&Ledger::new(ledger_dir(&ledger)?), &id),
        CertsCommand::Verify {
            ledger,
            pubkey,
            since,
            bundle,
        } => match bundle {
            Some(bundle) => verify_bundle(&bundle, pubkey.as_deref()),
            None => verify(
                &Ledger::new(ledger_dir(&ledger)?),
                pubkey.as_deref(),
                since.as_deref(),
            ),
        },
        CertsCommand::Checkpoint { ledger } => checkpoint(&Ledger::new(ledger_dir(&ledger)?)),
        CertsCommand::Export {
            ledger,
            format,
            out,
        } => export(&Ledger::new(ledger_dir(&ledger)?), format, out.as_deref()),
        CertsCommand::Bundle { ledger, ids, out } => {
            let ledger = Ledger::new(ledger_dir(&ledger)?);
            let written = certs::bundle::write_bundle(&ledger, &ids, &out)?;
            eprintln!(
                "wrote {} certificate(s) with proofs to {}",
                written.len(),
                out.display()
            );
            Ok(Outcome::Success)
        }
    }
}

fn keygen(dir: &Path) -> anyhow::Result<Outcome> {
    let keys = certs::keys::generate(dir, &mut OsRandom)?;
    println!("{}", keys.public.to_text().trim_end());
    eprintln!(
        "created key {} in {}\n  private: {} (0600), {} (0600)\n  public:  {} — give this file to your auditors",
        keys.public.key_id(),
        dir.display(),
        keys.signing_key.display(),
        keys.fingerprint_key.display(),
        keys.public_key.display()
    );
    Ok(Outcome::Success)
}

/// Reads one disposal or an array of them; errors name the file, line and column.
fn read_disposals(path: &Path) -> anyhow::Result<Vec<Disposal>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let located = |err: serde_json::Error| {
        let position = format!(" at line {} column {}", err.line(), err.column());
        let message = err.to_string();
        anyhow::anyhow!(
            "{}, line {}, column {}: {}",
            path.display(),
            err.line(),
            err.column(),
            message.strip_suffix(&position).unwrap_or(&message)
        )
    };
    if text.trim_start().starts_with('[') {
        serde_json::from_str(&text).map_err(located)
    } else {
        serde_json::from_str(&text)
            .map(|one| vec![one])
            .map_err(located)
    }
}

fn issue(ledger: &Ledger, from: &Path) -> anyhow::Result<Outcome> {
    let disposals = read_disposals(from)?;
    let (appended, recovery) = ledger.append(disposals, &SystemClock)?;
    report_recovery(ledger, recovery);
    for entry in &appended {
        println!("#{} {}", entry.sequence, hex(&entry.leaf));
    }
    eprintln!(
        "recorded {} certificate(s) in {}",
        appended.len(),
        ledger.dir().display()
    );
    Ok(Outcome::Success)
}

fn report_recovery(ledger: &Ledger, recovery: certs::Recovery) {
    if recovery.adopted > 0 {
        eprintln!(
            "wisp: note: signed {} certificate(s) an interrupted writer had recorded in {}",
            recovery.adopted,
            ledger.log_path().display()
        );
    }
    if recovery.torn_bytes_dropped > 0 {
        eprintln!(
            "wisp: note: dropped a partial last line ({} bytes) an interrupted writer left in {}",
            recovery.torn_bytes_dropped,
            ledger.log_path().display()
        );
    }
}

fn list(ledger: &Ledger, json: bool) -> anyhow::Result<Outcome> {
    let export = Export::from_ledger(ledger)?;
    let mut stdout = std::io::stdout().lock();
    if json {
        for entry in &export.entries {
            let line = serde_json::json!({
                "sequence": entry.certificate.sequence,
                "certificate_hash": hex(&entry.hash),
                "certificate": entry.certificate,
            });
            writeln!(stdout, "{line}")?;
        }
        return Ok(Outcome::Success);
    }
    let rows: Vec<Vec<String>> = export
        .entries
        .iter()
        .map(|entry| {
            let c = &entry.certificate;
            let s = &c.disposal.sanitization;
            vec![
                format!("#{}", c.sequence),
                c.recorded_at.strftime("%Y-%m-%d %H:%M").to_string(),
                s.category.as_str().to_string(),
                s.method.clone(),
                s.verification.result.as_str().to_string(),
                sanitize(&c.disposal.media.label()),
                hex(&entry.hash)[..12].to_string(),
            ]
        })
        .collect();
    if rows.is_empty() {
        writeln!(stdout, "no certificates in {}", ledger.dir().display())?;
    } else {
        let header = [
            "ID",
            "RECORDED (UTC)",
            "CATEGORY",
            "METHOD",
            "VERIFIED",
            "MEDIA",
            "HASH",
        ];
        stdout.write_all(output::table(&header, &rows).as_bytes())?;
    }
    Ok(Outcome::Success)
}

fn show(ledger: &Ledger, id: &str) -> anyhow::Result<Outcome> {
    let _lock = ledger.read_lock()?;
    let (line, certificate) = ledger.find(id)?;
    let document = serde_json::json!({
        "certificate_hash": hex(&line.leaf()),
        "certificate": certificate,
    });
    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut stdout, &document)?;
    writeln!(stdout)?;
    Ok(Outcome::Success)
}

/// The trusted key: the auditor's pinned file, or the ledger's own with a warning.
fn trusted_key(pinned: Option<&Path>, fallback: &Path) -> anyhow::Result<PublicKey> {
    match pinned {
        Some(path) => Ok(PublicKey::load(path)?),
        None => {
            eprintln!(
                "wisp: {}: no --pubkey given, so using {}: this proves the ledger is intact, not who signed it",
                paint(Stream::Stderr, Style::Warning, "warning"),
                fallback.display()
            );
            PublicKey::load(fallback).map_err(|err| match err {
                LedgerError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                    anyhow::anyhow!(
                        "{} not found: pass the signer's public key with --pubkey",
                        fallback.display()
                    )
                }
                other => other.into(),
            })
        }
    }
}

fn print_verdict(verdict: Verdict, what: &str) -> Outcome {
    match verdict {
        Verdict::Valid(verified) => {
            if verified.uncovered > 0 {
                eprintln!(
                    "wisp: note: {} certificate(s) after the checkpoint are not signed yet (an interrupted writer); the next append signs them",
                    verified.uncovered
                );
            }
            if verified.torn_tail {
                eprintln!("wisp: note: a partial last line (an interrupted write) follows the signed log; the next append removes it");
            }
            let mut line = format!(
                "valid: {what} of {} certificate(s), root {}, signed by key {}",
                verified.size,
                &hex(&verified.root)[..16],
                verified.key_id
            );
            if !verified.certificates.is_empty() {
                let ids: Vec<String> = verified
                    .certificates
                    .iter()
                    .map(|s| format!("#{s}"))
                    .collect();
                line.push_str(&format!("; included: {}", ids.join(" ")));
            }
            if let Some(size) = verified.extends {
                line.push_str(&format!("; extends your checkpoint of size {size}"));
            }
            println!("{line}");
            Outcome::Success
        }
        Verdict::Tampered(tamper) => {
            eprintln!(
                "wisp: {}: {}",
                paint(Stream::Stderr, Style::Error, "TAMPERED"),
                sanitize(&tamper.to_string())
            );
            Outcome::Failure
        }
    }
}

fn verify(ledger: &Ledger, pubkey: Option<&Path>, since: Option<&Path>) -> anyhow::Result<Outcome> {
    let key = trusted_key(pubkey, &ledger.public_key_path())?;
    let kept = since.map(SignedCheckpoint::load).transpose()?;
    let verdict = certs::verify_ledger(ledger, &key, kept.as_ref())?;
    Ok(print_verdict(verdict, "ledger"))
}

fn verify_bundle(bundle: &Path, pubkey: Option<&Path>) -> anyhow::Result<Outcome> {
    let key = trusted_key(pubkey, &bundle.join(certs::verify::BUNDLE_PUBLIC_KEY))?;
    let verdict = certs::verify_bundle(bundle, &key)?;
    Ok(print_verdict(verdict, "bundle checkpoint"))
}

fn checkpoint(ledger: &Ledger) -> anyhow::Result<Outcome> {
    let _lock = ledger.read_lock()?;
    match ledger.checkpoint_text()? {
        Some(text) => {
            print!("{text}");
            Ok(Outcome::Success)
        }
        None => bail!(
            "{}: no signed checkpoint yet (nothing recorded)",
            ledger.dir().display()
        ),
    }
}

fn export(ledger: &Ledger, format: ExportFormat, out: Option<&Path>) -> anyhow::Result<Outcome> {
    let export = Export::from_ledger(ledger)?;
    let mut bytes = Vec::new();
    match format {
        ExportFormat::Csv => write_csv(&export, &mut bytes)?,
        ExportFormat::Json => write_json(&export, &mut bytes)?,
        ExportFormat::Pdf => {
            bytes = render_pdf(&export, concat!("wisp ", env!("CARGO_PKG_VERSION")))
        }
    }
    match out {
        Some(path) => {
            std::fs::write(path, &bytes)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!(
                "exported {} certificate(s) to {}",
                export.entries.len(),
                path.display()
            );
        }
        None => {
            if matches!(format, ExportFormat::Pdf) && std::io::stdout().is_terminal() {
                bail!("a PDF is not for a terminal: pass --out FILE or redirect stdout");
            }
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&bytes)?;
            stdout.flush()?;
        }
    }
    Ok(Outcome::Success)
}
