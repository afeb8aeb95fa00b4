//! Ledger behaviour end to end, at the library level: appends, every kind of
//! tampering, crash recovery, concurrency, bundles and keys.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use jiff::Timestamp;

use crate::certificate::*;
use crate::checkpoint::SignedCheckpoint;
use crate::env::{FixedClock, SeededRandom};
use crate::keys::{self, PublicKey};
use crate::ledger::{Ledger, HEAD_FILE, LOG_FILE};
use crate::verify::{verify_bundle, verify_ledger, Verdict};

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn clock() -> FixedClock {
    FixedClock(at("2026-11-25T09:30:00Z"))
}

pub(crate) fn sample_disposal(serial: &str) -> Disposal {
    Disposal {
        operator: Operator {
            name: "Dana Reyes".into(),
            title: Some("IT Manager".into()),
            organization: "Acme Dental LLC".into(),
            location: Some("Worcester, MA".into()),
            contact: None,
        },
        media: Media::Device(DeviceMedia {
            manufacturer: Some("Seagate".into()),
            model: Some("ST1000DM010".into()),
            serial: Some(serial.into()),
            wwn: None,
            size_bytes: 1_000_204_886_016,
            media_type: MediaType::Hdd,
            transport: Some("sata".into()),
            property_number: None,
        }),
        sanitization: Sanitization {
            category: Category::Clear,
            technique: "overwrite".into(),
            method: "clear".into(),
            passes: vec![Pass {
                pattern: "random".into(),
                bytes: 1_000_204_886_016,
                milliseconds: 5_312_000,
            }],
            random_generator: Some("ChaCha20".into()),
            tool: Tool {
                name: "wisp".into(),
                version: "0.1.0".into(),
            },
            verification: Verification {
                method: "sample".into(),
                result: VerificationResult::Passed,
                nonce: Some("00112233".into()),
                sampled_blocks: Some(2000),
                sample_hash: None,
            },
            started_at: at("2026-11-25T08:00:00Z"),
            finished_at: at("2026-11-25T09:28:32Z"),
        },
        exceptions: vec![],
        destination: Some("recycling".into()),
        findings: None,
        content_fingerprint: None,
        retention: None,
        notes: None,
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    ledger: Ledger,
    key: PublicKey,
}

fn ledger_with(count: usize) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let generated = keys::generate(dir.path(), &mut SeededRandom::new(b"test key")).unwrap();
    let ledger = Ledger::new(dir.path());
    append(&ledger, count);
    Fixture {
        dir,
        ledger,
        key: generated.public,
    }
}

fn append(ledger: &Ledger, count: usize) {
    for i in 0..count {
        ledger
            .append(vec![sample_disposal(&format!("SN{i:04}"))], &clock())
            .unwrap();
    }
}

fn verdict(fixture: &Fixture) -> Verdict {
    verify_ledger(&fixture.ledger, &fixture.key, None).unwrap()
}

fn assert_valid(verdict: &Verdict, size: u64) {
    match verdict {
        Verdict::Valid(v) => assert_eq!(v.size, size),
        Verdict::Tampered(t) => panic!("expected valid, got tampered: {t}"),
    }
}

fn tampered_entry(verdict: &Verdict) -> Option<u64> {
    match verdict {
        Verdict::Tampered(t) => t.entry,
        Verdict::Valid(_) => panic!("tampering went unnoticed"),
    }
}

fn log_lines(fixture: &Fixture) -> Vec<String> {
    fs::read_to_string(fixture.dir.path().join(LOG_FILE))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn write_lines(fixture: &Fixture, lines: &[String]) {
    let mut text = lines.join("\n");
    text.push('\n');
    fs::write(fixture.dir.path().join(LOG_FILE), text).unwrap();
}

#[test]
fn appends_chain_and_verify() {
    let fixture = ledger_with(5);
    assert_valid(&verdict(&fixture), 5);
    let lines = log_lines(&fixture);
    let first: Certificate = serde_json::from_str(&lines[0]).unwrap();
    let second: Certificate = serde_json::from_str(&lines[1]).unwrap();
    assert_eq!(first.sequence, 0);
    assert_eq!(first.previous, None);
    assert_eq!(
        second.previous,
        Some(hex(&crate::merkle::leaf_hash(lines[0].as_bytes())))
    );
    assert_eq!(first.schema, SCHEMA);
}

#[test]
fn canonical_bytes_are_sorted_compact_and_stable() {
    let certificate = Certificate::new(sample_disposal("SN1"), 0, None, at("2026-11-25T09:30:00Z"));
    let text = String::from_utf8(certificate.canonical_bytes()).unwrap();
    assert!(!text.contains('\n') && !text.contains(": "));
    assert!(
        text.starts_with(
            r#"{"destination":"recycling","media":{"kind":"device","manufacturer":"Seagate""#
        ),
        "{text}"
    );
    assert!(
        text.ends_with(r#""schema":"wisp-certificate/1","sequence":0}"#),
        "{text}"
    );
    // Parsing and re-serializing gives the same bytes.
    let reparsed: Certificate = serde_json::from_str(&text).unwrap();
    assert_eq!(reparsed.canonical_bytes(), text.as_bytes());
}

#[test]
fn every_single_byte_change_in_log_or_head_is_caught() {
    let fixture = ledger_with(3);
    for file in [LOG_FILE, HEAD_FILE] {
        let path = fixture.dir.path().join(file);
        let original = fs::read(&path).unwrap();
        for position in 0..original.len() {
            for replacement in [original[position] ^ 0x01, b'\n', b' '] {
                if replacement == original[position] {
                    continue;
                }
                let mut changed = original.clone();
                changed[position] = replacement;
                fs::write(&path, &changed).unwrap();
                let result = verify_ledger(&fixture.ledger, &fixture.key, None);
                assert!(
                    matches!(result, Ok(Verdict::Tampered(_))),
                    "{file} byte {position} set to {replacement:#x} was not caught: {result:?}"
                );
            }
        }
        fs::write(&path, &original).unwrap();
    }
    assert_valid(&verdict(&fixture), 3);
}

#[test]
fn altered_certificate_is_named() {
    let fixture = ledger_with(5);
    let mut lines = log_lines(&fixture);
    lines[2] = lines[2].replace("SN0002", "SN9999");
    write_lines(&fixture, &lines);
    assert_eq!(tampered_entry(&verdict(&fixture)), Some(2));
}

#[test]
fn altered_last_certificate_is_named() {
    let fixture = ledger_with(4);
    let mut lines = log_lines(&fixture);
    lines[3] = lines[3].replace("recycling", "recyclinG");
    write_lines(&fixture, &lines);
    assert_eq!(tampered_entry(&verdict(&fixture)), Some(3));
}

#[test]
fn dropped_reordered_and_duplicated_entries_are_caught() {
    let fixture = ledger_with(5);
    let original = log_lines(&fixture);

    let mut dropped = original.clone();
    dropped.remove(1);
    write_lines(&fixture, &dropped);
    assert_eq!(tampered_entry(&verdict(&fixture)), Some(1));

    let mut reordered = original.clone();
    reordered.swap(2, 3);
    write_lines(&fixture, &reordered);
    assert_eq!(tampered_entry(&verdict(&fixture)), Some(2));

    let mut duplicated = original.clone();
    duplicated.insert(3, original[2].clone());
    write_lines(&fixture, &duplicated);
    assert_eq!(tampered_entry(&verdict(&fixture)), Some(3));

    let mut last_dropped = original.clone();
    last_dropped.pop();
    write_lines(&fixture, &last_dropped);
    assert!(matches!(verdict(&fixture), Verdict::Tampered(_)));

    write_lines(&fixture, &original);
    assert_valid(&verdict(&fixture), 5);
}

#[test]
fn rollback_and_reextension_are_caught_with_a_kept_checkpoint() {
    let fixture = ledger_with(4);
    let kept_text = fixture.ledger.checkpoint_text().unwrap().unwrap();
    let kept = SignedCheckpoint::parse(&kept_text, Path::new("kept")).unwrap();

    // The log only grew: fine.
    append(&fixture.ledger, 2);
    match verify_ledger(&fixture.ledger, &fixture.key, Some(&kept)).unwrap() {
        Verdict::Valid(v) => assert_eq!(v.extends, Some(4)),
        Verdict::Tampered(t) => panic!("{t}"),
    }

    // Someone with the signing key rolls the log back to 2 and re-signs it.
    let lines = log_lines(&fixture);
    write_lines(&fixture, &lines[..2]);
    fs::remove_file(fixture.dir.path().join(HEAD_FILE)).unwrap();
    fixture.ledger.append(vec![], &clock()).unwrap();
    assert_valid(&verdict(&fixture), 2);
    let rolled_back = verify_ledger(&fixture.ledger, &fixture.key, Some(&kept)).unwrap();
    assert!(
        matches!(&rolled_back, Verdict::Tampered(t) if t.reason.contains("rolled back")),
        "{rolled_back:?}"
    );

    // ... and re-extends it past the kept size with different certificates.
    append(&fixture.ledger, 4);
    assert_valid(&verdict(&fixture), 6);
    let rewritten = verify_ledger(&fixture.ledger, &fixture.key, Some(&kept)).unwrap();
    assert!(
        matches!(&rewritten, Verdict::Tampered(t) if t.reason.contains("not an extension")),
        "{rewritten:?}"
    );
}

#[test]
fn torn_last_line_is_dropped_and_nothing_complete_is_lost() {
    let fixture = ledger_with(3);
    let log = fixture.dir.path().join(LOG_FILE);
    let mut bytes = fs::read(&log).unwrap();
    let complete = bytes.clone();
    bytes.extend_from_slice(br#"{"destination":"recycling","media":{"kind":"dev"#);
    fs::write(&log, &bytes).unwrap();

    // Before repair, the signed log still verifies; the torn tail is reported.
    match verdict(&fixture) {
        Verdict::Valid(v) => assert!(v.torn_tail),
        Verdict::Tampered(t) => panic!("{t}"),
    }
    let (appended, recovery) = fixture
        .ledger
        .append(vec![sample_disposal("AFTER")], &clock())
        .unwrap();
    assert!(recovery.torn_bytes_dropped > 0);
    assert_eq!(appended[0].sequence, 3);
    assert_valid(&verdict(&fixture), 4);
    assert!(fs::read(&log).unwrap().starts_with(&complete));
}

#[test]
fn complete_but_unsigned_certificates_are_adopted() {
    let fixture = ledger_with(2);
    let head = fixture.dir.path().join(HEAD_FILE);
    let old_head = fs::read(&head).unwrap();
    append(&fixture.ledger, 2);
    // A writer that stopped after its fdatasync but before replacing the head.
    fs::write(&head, &old_head).unwrap();
    match verdict(&fixture) {
        Verdict::Valid(v) => {
            assert_eq!(v.size, 2);
            assert_eq!(v.uncovered, 2);
        }
        Verdict::Tampered(t) => panic!("{t}"),
    }
    let (_, recovery) = fixture.ledger.append(vec![], &clock()).unwrap();
    assert_eq!(recovery.adopted, 2);
    assert_valid(&verdict(&fixture), 4);
}

#[test]
fn a_log_shorter_than_its_head_refuses_appends() {
    let fixture = ledger_with(3);
    let lines = log_lines(&fixture);
    write_lines(&fixture, &lines[..2]);
    let err = fixture
        .ledger
        .append(vec![sample_disposal("X")], &clock())
        .unwrap_err();
    assert!(err.to_string().contains(LOG_FILE), "{err}");
}

#[test]
fn concurrent_writers_never_corrupt_the_log() {
    let fixture = ledger_with(0);
    std::thread::scope(|scope| {
        for writer in 0..4 {
            let dir = fixture.dir.path().to_path_buf();
            scope.spawn(move || {
                // A separate handle per writer, as separate processes would have.
                let ledger = Ledger::new(dir);
                for i in 0..25 {
                    ledger
                        .append(vec![sample_disposal(&format!("W{writer}-{i}"))], &clock())
                        .unwrap();
                }
            });
        }
    });
    assert_valid(&verdict(&fixture), 100);
}

#[test]
fn wrong_key_is_tampering() {
    let fixture = ledger_with(2);
    let other = tempfile::tempdir().unwrap();
    let stranger = keys::generate(other.path(), &mut SeededRandom::new(b"other")).unwrap();
    let result = verify_ledger(&fixture.ledger, &stranger.public, None).unwrap();
    assert!(matches!(result, Verdict::Tampered(t) if t.reason.contains("not by the trusted key")));
}

#[test]
fn bundles_verify_alone_and_catch_changes() {
    let fixture = ledger_with(7);
    let out = tempfile::tempdir().unwrap();
    let bundle = out.path().join("bundle");
    let written =
        crate::bundle::write_bundle(&fixture.ledger, &["#2".into(), "5".into()], &bundle).unwrap();
    assert_eq!(written, [2, 5]);
    match verify_bundle(&bundle, &fixture.key).unwrap() {
        Verdict::Valid(v) => assert_eq!(v.certificates, [2, 5]),
        Verdict::Tampered(t) => panic!("{t}"),
    }
    let cert = bundle.join("certificates/5.json");
    let original = fs::read_to_string(&cert).unwrap();
    fs::write(&cert, original.replace("SN0005", "SN0006")).unwrap();
    assert_eq!(
        tampered_entry(&verify_bundle(&bundle, &fixture.key).unwrap()),
        Some(5)
    );
    fs::write(&cert, &original).unwrap();
    let checkpoint = bundle.join("checkpoint");
    let text = fs::read_to_string(&checkpoint).unwrap();
    fs::write(&checkpoint, text.replacen("\n7\n", "\n8\n", 1)).unwrap();
    assert!(matches!(
        verify_bundle(&bundle, &fixture.key).unwrap(),
        Verdict::Tampered(_)
    ));
}

#[test]
fn find_by_sequence_or_hash_prefix() {
    let fixture = ledger_with(3);
    let (_, by_number) = fixture.ledger.find("1").unwrap();
    assert_eq!(by_number.sequence, 1);
    let (line, _) = fixture.ledger.find("#2").unwrap();
    let prefix = &hex(&line.leaf())[..10];
    let (_, by_hash) = fixture.ledger.find(prefix).unwrap();
    assert_eq!(by_hash.sequence, 2);
    assert!(fixture.ledger.find("abc").is_err());
    assert!(fixture.ledger.find("9").is_err());
}

#[test]
fn keys_are_private_and_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let generated = keys::generate(dir.path(), &mut SeededRandom::new(b"k")).unwrap();
    for secret in [&generated.signing_key, &generated.fingerprint_key] {
        let mode = fs::metadata(secret).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", secret.display());
    }
    let loaded = PublicKey::load(&generated.public_key).unwrap();
    assert_eq!(loaded, generated.public);
    let again = keys::generate(dir.path(), &mut SeededRandom::new(b"k2"));
    assert!(again.unwrap_err().to_string().contains("never replaced"));
}

#[test]
fn fingerprints_are_keyed() {
    let dir = tempfile::tempdir().unwrap();
    let generated = keys::generate(dir.path(), &mut SeededRandom::new(b"k")).unwrap();
    let key = keys::FingerprintKey::load(&generated.fingerprint_key).unwrap();
    let record = b"Jane Doe 078-05-1120";
    let keyed = key.fingerprint(&mut &record[..]).unwrap();
    assert_ne!(keyed, blake3::hash(record).to_hex().to_string());
    assert_eq!(keyed, key.fingerprint(&mut &record[..]).unwrap());
}

#[test]
fn exports_cover_every_signed_certificate() {
    let fixture = ledger_with(3);
    let export = crate::export::Export::from_ledger(&fixture.ledger).unwrap();
    let mut csv = Vec::new();
    crate::export::write_csv(&export, &mut csv).unwrap();
    let mut reader = csv::Reader::from_reader(&csv[..]);
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(header, crate::export::CSV_COLUMNS);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(&rows[1][12], "SN0001");
    assert_eq!(&rows[1][0], "1");

    let pdf = crate::export::render_pdf(&export, "wisp test");
    assert!(pdf.starts_with(b"%PDF-"));
    assert_eq!(count_pages(&pdf), 3);
}

/// Counts page objects: `/Type /Page` not followed by `s`.
fn count_pages(pdf: &[u8]) -> usize {
    let needle = b"/Type /Page";
    pdf.windows(needle.len() + 1)
        .filter(|w| &w[..needle.len()] == needle && w[needle.len()] != b's')
        .count()
}
