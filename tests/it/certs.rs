//! `wisp certs` from the command line: exit codes, tampering, crashes, exports.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::util::*;

/// A disposal record as a vendor's certificate of destruction would be entered.
fn disposal_json(serial: &str) -> String {
    format!(
        r#"{{
  "operator": {{"name": "Dana Reyes", "title": "IT Manager", "organization": "Acme Dental LLC"}},
  "media": {{"kind": "physical", "description": "Hard drive from front-desk PC", "media_type": "hdd",
             "quantity": 1, "serials": ["{serial}"]}},
  "sanitization": {{"category": "destroy", "technique": "shred", "method": "vendor shredder, 2 mm particles",
    "tool": {{"name": "SecureShred Inc. truck 4", "version": "n/a"}},
    "verification": {{"method": "witnessed", "result": "passed"}},
    "started_at": "2026-11-20T14:02:11Z", "finished_at": "2026-11-20T14:05:43Z"}},
  "destination": "metal recycling"
}}"#
    )
}

/// Records one disposal per serial through `wisp certs issue`.
fn issue(f: &LedgerFixture, serials: &[&str]) {
    let records: Vec<String> = serials.iter().map(|s| disposal_json(s)).collect();
    let file = f.path("batch.json");
    std::fs::write(&file, format!("[{}]", records.join(","))).unwrap();
    let out = f.wisp(&["certs", "issue", "--from", &file.display().to_string()]);
    assert!(out.status.success(), "{}", stderr(&out));
}

fn certificate_count(ledger: &Path) -> usize {
    std::fs::read_to_string(ledger.join("certificates.jsonl"))
        .unwrap_or_default()
        .lines()
        .count()
}

#[test]
fn issue_list_show_verify() {
    let f = LedgerFixture::new();
    issue(&f, &["ZN1ABC23", "WD-WCC4M1234567"]);
    let list = f.wisp(&["certs", "list"]);
    assert!(list.status.success());
    let text = stdout(&list);
    assert!(
        text.contains("#0") && text.contains("#1") && text.contains("Destroy"),
        "{text}"
    );

    let show = f.wisp(&["certs", "show", "1"]);
    let shown: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(shown["certificate"]["sequence"], 1);
    assert_eq!(
        shown["certificate"]["media"]["serials"][0],
        "WD-WCC4M1234567"
    );

    let ok = f.verify(&[]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    assert!(
        stdout(&ok).starts_with("valid: ledger of 2 certificate(s)"),
        "{}",
        stdout(&ok)
    );
}

#[test]
fn secret_keys_are_0600() {
    use std::os::unix::fs::PermissionsExt;
    let f = LedgerFixture::new();
    for name in ["signing.key", "fingerprint.key"] {
        let mode = std::fs::metadata(f.ledger().join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }
    let again = f.wisp(&["certs", "keygen"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("never replaced"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn tampering_exits_1_and_names_the_entry() {
    let f = LedgerFixture::new();
    issue(&f, &["A1", "B2", "C3", "D4"]);
    let log = f.ledger().join("certificates.jsonl");
    let original = std::fs::read_to_string(&log).unwrap();
    std::fs::write(&log, original.replacen("\"B2\"", "\"B3\"", 1)).unwrap();
    let out = f.verify(&[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("certificate #1"), "{}", stderr(&out));
    std::fs::write(&log, &original).unwrap();
    assert_eq!(f.verify(&[]).status.code(), Some(0));
}

#[test]
fn unusable_input_exits_2() {
    let f = LedgerFixture::new();
    let missing = f.path("nowhere").display().to_string();
    let out = wisp()
        .args([
            "certs", "verify", "--ledger", &missing, "--pubkey", &missing,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("nowhere"), "{}", stderr(&out));
}

#[test]
fn malformed_record_names_file_and_line_and_records_nothing() {
    let f = LedgerFixture::new();
    issue(&f, &["A1"]);
    let bad = f.path("bad.json");
    let mut text = disposal_json("X");
    text = text.replace("\"category\": \"destroy\"", "\"category\": \"obliterate\"");
    std::fs::write(&bad, text).unwrap();
    let out = f.wisp(&["certs", "issue", "--from", &bad.display().to_string()]);
    assert_eq!(out.status.code(), Some(2));
    let message = stderr(&out);
    assert!(message.contains("bad.json, line 5"), "{message}");
    assert!(message.contains("obliterate"), "{message}");
    assert_eq!(certificate_count(&f.ledger()), 1);
}

#[test]
fn kept_checkpoint_catches_a_rollback() {
    let f = LedgerFixture::new();
    issue(&f, &["A1", "B2", "C3"]);
    let kept = f.path("kept.checkpoint");
    let checkpoint = f.wisp(&["certs", "checkpoint"]);
    std::fs::write(&kept, &checkpoint.stdout).unwrap();
    let kept = kept.display().to_string();
    issue(&f, &["D4"]);
    assert_eq!(f.verify(&["--since", &kept]).status.code(), Some(0));

    // Roll back to one certificate and re-sign with the real key: only the kept
    // checkpoint can tell.
    let log = f.ledger().join("certificates.jsonl");
    let first_line = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    std::fs::write(&log, format!("{first_line}\n")).unwrap();
    std::fs::remove_file(f.ledger().join("head.json")).unwrap();
    issue(&f, &["E5", "F6", "G7"]);
    assert_eq!(f.verify(&[]).status.code(), Some(0));
    let out = f.verify(&["--since", &kept]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not an extension"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bundle_verifies_without_the_ledger() {
    let f = LedgerFixture::new();
    issue(&f, &["A1", "B2", "C3", "D4", "E5"]);
    let bundle = f.path("bundle");
    let bundle_arg = bundle.display().to_string();
    let out = f.wisp(&["certs", "bundle", "1", "3", "--out", &bundle_arg]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The auditor's copy of the public key, and no ledger anywhere.
    let pubkey = f.path("auditor.pub");
    std::fs::copy(f.ledger().join("signing.pub"), &pubkey).unwrap();
    std::fs::remove_dir_all(f.ledger()).unwrap();
    let verify = |bundle: &str| {
        wisp()
            .args(["certs", "verify", "--bundle", bundle, "--pubkey"])
            .arg(&pubkey)
            .output()
            .unwrap()
    };
    let ok = verify(&bundle_arg);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    assert!(stdout(&ok).contains("included: #1 #3"), "{}", stdout(&ok));
    let cert = bundle.join("certificates/3.json");
    let text = std::fs::read_to_string(&cert).unwrap();
    std::fs::write(&cert, text.replace("D4", "D5")).unwrap();
    let bad = verify(&bundle_arg);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("#3"), "{}", stderr(&bad));
}

#[test]
fn exports_csv_json_pdf() {
    let f = LedgerFixture::new();
    issue(&f, &["A1", "B2"]);
    let csv = f.wisp(&["certs", "export", "--format", "csv"]);
    assert!(csv.status.success());
    let text = stdout(&csv);
    let mut lines = text.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("sequence,certificate_hash,recorded_at,organization"));
    assert_eq!(lines.count(), 2);

    let json = f.wisp(&["certs", "export", "--format", "json"]);
    let document: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(document["checkpoint"]["size"], 2);
    assert_eq!(document["certificates"].as_array().unwrap().len(), 2);

    let pdf = f.path("certs.pdf");
    let out = f.wisp(&[
        "certs",
        "export",
        "--format",
        "pdf",
        "--out",
        &pdf.display().to_string(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
}

/// Kills a writer in the middle of a large append, as soon as its write to the log
/// has begun, again and again; every time, the next append and verify succeed, no
/// certificate committed before is lost, and the interruption was really seen.
#[test]
fn killed_writer_loses_nothing_committed() {
    let f = LedgerFixture::new();
    issue(&f, &["BEFORE-1", "BEFORE-2"]);
    let big = f.path("big.json");
    let records: Vec<String> = (0..8000)
        .map(|i| disposal_json(&format!("BULK{i}")))
        .collect();
    std::fs::write(&big, format!("[{}]", records.join(","))).unwrap();
    let log_path = f.ledger().join("certificates.jsonl");

    let mut interrupted = 0;
    for round in 0..4 {
        let committed = certificate_count(&f.ledger());
        let committed_bytes = std::fs::metadata(&log_path).unwrap().len();
        let mut child = Command::new(env!("CARGO_BIN_EXE_wisp"))
            .args(["certs", "issue", "--from"])
            .arg(&big)
            .env("WISP_LEDGER", f.ledger())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            let grown = std::fs::metadata(&log_path).map_or(0, |m| m.len()) > committed_bytes;
            if grown || std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            std::thread::sleep(std::time::Duration::from_micros(50));
        }

        let records = f.path("after.json");
        std::fs::write(&records, disposal_json(&format!("AFTER-{round}"))).unwrap();
        let next = f.wisp(&["certs", "issue", "--from", &records.display().to_string()]);
        assert!(next.status.success(), "round {round}: {}", stderr(&next));
        if stderr(&next).contains("interrupted writer") {
            interrupted += 1;
        }
        let out = f.verify(&[]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "round {round}: {}",
            stderr(&out)
        );
        assert!(certificate_count(&f.ledger()) > committed, "round {round}");
        let log = std::fs::read_to_string(&log_path).unwrap();
        assert!(log.contains("BEFORE-2") && log.contains(&format!("AFTER-{round}")));
    }
    assert!(
        interrupted > 0,
        "no kill landed inside an append; the test proved nothing"
    );
}
