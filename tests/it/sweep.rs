//! `wisp sweep` over temp trees: what is due goes (certified), everything else
//! stays, and no trick or crash makes it touch what it should not.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, SystemTime};

use crate::util::*;

const NOW: &str = "2026-12-02T12:00:00Z";

/// Writes `content` to `path` (creating folders) with a modification time of
/// `days_old` days before NOW.
fn record(path: &Path, content: &str, days_old: u64) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
    set_age(path, days_old);
}

fn set_age(path: &Path, days_old: u64) {
    let now: jiff::Timestamp = NOW.parse().unwrap();
    let when =
        SystemTime::UNIX_EPOCH + Duration::from_secs(now.as_second() as u64 - days_old * 86_400);
    File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(when)
        .unwrap();
}

struct Sweep {
    bench: LedgerFixture,
    root: PathBuf,
    outside: PathBuf,
    policy: PathBuf,
}

impl Sweep {
    /// A ledger, a root `share/` and a folder `outside/` beside it, and a policy
    /// whose `{ROOT}` and `{OUTSIDE}` stand for them.
    fn new(policy: &str) -> Sweep {
        let bench = LedgerFixture::new();
        let root = bench.path("share");
        let outside = bench.path("outside");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        let sweep = Sweep {
            policy: bench.path("policy.toml"),
            bench,
            root,
            outside,
        };
        sweep.write_policy(policy);
        sweep
    }

    fn write_policy(&self, policy: &str) {
        let text = policy
            .replace("{ROOT}", &self.root.display().to_string())
            .replace("{OUTSIDE}", &self.outside.display().to_string());
        std::fs::write(&self.policy, text).unwrap();
    }

    fn run(&self, extra: &[&str]) -> std::process::Output {
        let policy = self.policy.display().to_string();
        let mut args = vec!["sweep", "--policy", &policy, "--now", NOW];
        args.extend_from_slice(extra);
        self.bench.wisp(&args)
    }

    fn certified_paths(&self) -> Vec<String> {
        self.bench
            .certificates()
            .iter()
            .map(|c| c["media"]["path"].as_str().unwrap().to_string())
            .collect()
    }
}

fn exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

const BASIC: &str = r#"
name = "test schedule"

[[series]]
id = "GEN-01"
title = "General records"
authority = "internal schedule"
roots = ["{ROOT}"]
exclude = ["board/**"]
retain = "3 years"

[[series]]
id = "BOARD"
title = "Board minutes"
roots = ["{ROOT}/board"]
retain = "permanent"

[[hold]]
name = "Reyes v. Acme"
matter = "2026-CV-0042"
paths = ["{ROOT}/hr/reyes"]
placed_by = "J. Counsel"
placed_on = 2026-10-01
"#;

#[test]
fn old_records_go_certified_and_new_held_and_permanent_ones_stay() {
    let sweep = Sweep::new(BASIC);
    let old = sweep.root.join("hr/2019/payroll.csv");
    let new = sweep.root.join("hr/2026/payroll.csv");
    let held = sweep.root.join("hr/reyes/offer.txt");
    let minutes = sweep.root.join("board/1999.txt");
    record(&old, "Name,SSN\nJane Doe,123-45-6788\n", 4 * 365);
    record(&new, "Name,SSN\nJohn Roe,234-56-7890\n", 30);
    record(&held, "old but on hold", 10 * 365);
    record(&minutes, "minutes", 20 * 365);

    let dry = sweep.run(&["--dry-run"]);
    assert!(dry.status.success(), "{}", stderr(&dry));
    let table = stdout(&dry);
    assert!(
        table.contains("payroll.csv") && table.contains("GEN-01"),
        "{table}"
    );
    assert_eq!(table.lines().count(), 2, "one due record: {table}");
    assert!(exists(&old), "a dry run changes nothing");
    assert!(sweep.bench.certificates().is_empty());

    let out = sweep.run(&["--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(summary["shredded"], 1, "{summary}");
    assert_eq!(summary["tally"]["held"], 1, "{summary}");
    assert_eq!(summary["tally"]["kept"], 1, "{summary}");
    assert_eq!(summary["tally"]["not_due"], 1, "{summary}");
    assert!(
        stderr(&out).contains("1 shredded and certified"),
        "{}",
        stderr(&out)
    );
    assert!(!exists(&old));
    assert!(exists(&new) && exists(&held) && exists(&minutes));

    let certs = sweep.bench.certificates();
    assert_eq!(certs.len(), 1);
    let cert = &certs[0];
    assert_eq!(cert["media"]["path"], old.display().to_string());
    assert_eq!(cert["retention"]["rule"], "GEN-01");
    assert_eq!(cert["retention"]["policy_hash"], summary["policy_hash"]);
    let reason = cert["retention"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("3 years") && reason.contains("internal schedule"),
        "{reason}"
    );
    assert_eq!(
        cert["findings"]["ssn"], 1,
        "the inventory's counts, taken before"
    );
    assert_eq!(cert["findings"]["held_pi"], true);
    assert!(cert["content_fingerprint"].is_string());
    assert_eq!(cert["sanitization"]["verification"]["result"], "passed");
    assert!(
        !cert.to_string().contains("123-45-6788"),
        "no value on a certificate"
    );
    let verify = sweep.bench.verify(&[]);
    assert!(verify.status.success(), "{}", stderr(&verify));

    let again = sweep.run(&[]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(
        sweep.bench.certificates().len(),
        1,
        "a second sweep finds nothing due"
    );
}

#[test]
fn pi_rules_extend_retention_and_conflicts_take_the_longest() {
    let sweep = Sweep::new(
        r#"
[[series]]
id = "ANY"
title = "Anything"
roots = ["{ROOT}"]
retain = "1 year"

[[series]]
id = "PI"
title = "Records holding PI"
roots = ["{ROOT}"]
condition = "pi"
retain = "5 years"

[[series]]
id = "CARDS"
title = "Card data"
roots = ["{ROOT}/sales"]
condition = ["card"]
retain = "18 months"
action = "report"
"#,
    );
    let plain = sweep.root.join("letters/plain.txt");
    let pi = sweep.root.join("letters/staff.txt");
    let cards = sweep.root.join("sales/cards-only.txt");
    record(&plain, "Meeting moved to Tuesday.", 2 * 365);
    record(&pi, "Employee: Jane Doe\nSSN: 123-45-6788\n", 2 * 365);
    record(&cards, "order 17 paid with 4111 1111 1111 1111", 2 * 365);
    let out = sweep.run(&["--json"]);
    let summary: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!exists(&plain), "due under ANY");
    assert!(exists(&pi), "PI keeps it 5 years");
    assert!(
        exists(&cards),
        "ANY (1 year) and CARDS (18 months, report) cover it; CARDS is longer"
    );
    let outcomes = summary["outcomes"].as_array().unwrap();
    let by_path: BTreeMap<&str, &serde_json::Value> = outcomes
        .iter()
        .map(|o| (o["path"].as_str().unwrap(), o))
        .collect();
    assert_eq!(by_path[plain.to_str().unwrap()]["result"], "shredded");
    let card_outcome = by_path[cards.to_str().unwrap()];
    assert_eq!(card_outcome["result"], "reported", "{card_outcome}");
    assert_eq!(card_outcome["series"], "CARDS");
    assert!(!by_path.contains_key(pi.to_str().unwrap()));
    assert_eq!(sweep.certified_paths(), [plain.display().to_string()]);
}

#[test]
fn a_malformed_policy_disposes_of_nothing_and_names_the_line() {
    let sweep = Sweep::new(BASIC);
    let old = sweep.root.join("old.txt");
    record(&old, "old", 10 * 365);
    sweep.write_policy(&BASIC.replace("retain = \"3 years\"", "retain = \"3 yeers\""));
    let out = sweep.run(&[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{}:10:10:", sweep.policy.display())),
        "{err}"
    );
    assert!(err.contains("yeers"), "{err}");
    assert!(exists(&old));
    assert!(sweep.bench.certificates().is_empty());

    sweep.write_policy(&BASIC.replace("[[hold]]", "[[hold]]\nplaced_at = 3"));
    let out = sweep.run(&["--dry-run"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("placed_at"), "{}", stderr(&out));
    assert!(exists(&old));
}

#[test]
fn a_reviewed_plan_is_applied_with_every_record_checked_again() {
    let sweep = Sweep::new(BASIC);
    let keep_changed = sweep.root.join("a/changed.txt");
    let will_be_held = sweep.root.join("b/contract.txt");
    let goes = sweep.root.join("c/old.txt");
    for path in [&keep_changed, &will_be_held, &goes] {
        record(path, "old record", 5 * 365);
    }
    let plan = sweep.bench.path("plan.json");
    let out = sweep.run(&["--dry-run", "--plan-out", plan.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&plan).unwrap()).unwrap();
    assert_eq!(saved["items"].as_array().unwrap().len(), 3);

    // Between review and apply: one record is edited, a hold is placed on another.
    std::fs::write(&keep_changed, "edited since").unwrap();
    set_age(&keep_changed, 5 * 365 - 1);
    sweep.write_policy(&format!(
        "{BASIC}\n[[hold]]\nname = \"Audit 2026\"\npaths = [\"{{ROOT}}/b\"]\nplaced_by = \"CFO\"\nplaced_on = 2026-12-01\n"
    ));
    let out = sweep.bench.wisp(&[
        "sweep",
        "--apply",
        plan.to_str().unwrap(),
        "--json",
        "--now",
        NOW,
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "skips are reported: {}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("changed since the plan was made"),
        "{}",
        stderr(&out)
    );
    let summary: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let why = |path: &Path| {
        summary["outcomes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["path"] == path.display().to_string())
            .unwrap()
            .clone()
    };
    assert_eq!(why(&goes)["result"], "shredded");
    assert_eq!(why(&keep_changed)["result"], "skipped");
    assert!(why(&keep_changed)["why"]
        .as_str()
        .unwrap()
        .contains("changed"));
    assert_eq!(why(&will_be_held)["result"], "skipped");
    assert!(why(&will_be_held)["why"]
        .as_str()
        .unwrap()
        .contains("Audit 2026"));
    assert!(exists(&keep_changed) && exists(&will_be_held) && !exists(&goes));
    assert_eq!(sweep.certified_paths(), [goes.display().to_string()]);
}

/// Every file below `dir` with its content.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                files.insert(entry.path(), std::fs::read(entry.path()).unwrap());
            }
        }
    }
    files
}

#[test]
fn symlinks_and_hard_links_never_lead_outside_the_root() {
    let sweep = Sweep::new(BASIC);
    for name in ["secret.txt", "dir/inner.txt", "linked.txt"] {
        record(&sweep.outside.join(name), "outside: must survive", 10 * 365);
    }
    let before = snapshot(&sweep.outside);
    std::os::unix::fs::symlink(&sweep.outside, sweep.root.join("to-outside")).unwrap();
    std::os::unix::fs::symlink(
        sweep.outside.join("secret.txt"),
        sweep.root.join("secret-link.txt"),
    )
    .unwrap();
    std::fs::hard_link(
        sweep.outside.join("linked.txt"),
        sweep.root.join("hard-linked.txt"),
    )
    .unwrap();
    let inside = sweep.root.join("inside/old.txt");
    record(&inside, "inside and old", 10 * 365);

    let out = sweep.run(&["--json"]);
    let err = stderr(&out);
    assert!(err.contains("hard link"), "{err}");
    assert_eq!(
        snapshot(&sweep.outside),
        before,
        "nothing outside the root changed"
    );
    assert!(!exists(&inside), "{err}");
    assert!(exists(&sweep.root.join("hard-linked.txt")));
    assert_eq!(sweep.certified_paths(), [inside.display().to_string()]);
}

#[test]
fn a_folder_swapped_for_a_symlink_after_planning_is_not_followed() {
    let sweep = Sweep::new(BASIC);
    let planned = sweep.root.join("cases/old.txt");
    record(&planned, "inside", 10 * 365);
    let plan = sweep.bench.path("plan.json");
    let out = sweep.run(&["--dry-run", "--plan-out", plan.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The attacker moves the folder away and points its name outside.
    record(
        &sweep.outside.join("old.txt"),
        "outside: must survive",
        10 * 365,
    );
    std::fs::rename(sweep.root.join("cases"), sweep.bench.path("moved")).unwrap();
    std::os::unix::fs::symlink(&sweep.outside, sweep.root.join("cases")).unwrap();
    let before = snapshot(&sweep.outside);
    let out = sweep
        .bench
        .wisp(&["sweep", "--apply", plan.to_str().unwrap(), "--now", NOW]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("without following a link"),
        "{}",
        stdout(&out)
    );
    assert_eq!(snapshot(&sweep.outside), before);
    assert!(sweep.bench.certificates().is_empty());
}

#[test]
fn a_folder_swapped_back_and_forth_during_a_sweep_never_leads_outside() {
    let sweep = Sweep::new(BASIC);
    for i in 0..300 {
        record(
            &sweep.root.join(format!("swap/{i:03}.txt")),
            "inside",
            10 * 365,
        );
        record(
            &sweep.outside.join(format!("swap/{i:03}.txt")),
            "outside: must survive",
            10 * 365,
        );
    }
    let before = snapshot(&sweep.outside);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swapper = {
        let (root, outside, stop) = (sweep.root.clone(), sweep.outside.clone(), stop.clone());
        std::thread::spawn(move || {
            let (name, real) = (root.join("swap"), root.join("swap.real"));
            let mut swaps = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                std::fs::rename(&name, &real).unwrap();
                std::os::unix::fs::symlink(outside.join("swap"), &name).unwrap();
                std::thread::sleep(Duration::from_micros(300));
                std::fs::remove_file(&name).unwrap();
                std::fs::rename(&real, &name).unwrap();
                std::thread::sleep(Duration::from_micros(300));
                swaps += 1;
            }
            swaps
        })
    };
    let out = sweep.run(&[]);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let swaps = swapper.join().unwrap();
    assert!(swaps > 10, "the swapper ran ({swaps} swaps)");
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
    assert_eq!(
        snapshot(&sweep.outside),
        before,
        "nothing outside the root changed"
    );
    for path in sweep.certified_paths() {
        assert!(
            path.starts_with(&sweep.root.display().to_string()),
            "{path}"
        );
        assert!(
            !exists(Path::new(&path)),
            "certified and still there: {path}"
        );
    }
}

#[test]
fn killed_sweeps_finish_on_rerun_and_the_ledger_matches_the_tree() {
    let sweep = Sweep::new(BASIC);
    let mut due = BTreeSet::new();
    for i in 0..400 {
        let path = sweep.root.join(format!("d{}/record-{i:03}.txt", i % 7));
        record(
            &path,
            &format!("record {i} with some content to overwrite"),
            4 * 365,
        );
        due.insert(path.display().to_string());
    }
    let kept = sweep.root.join("new.txt");
    record(&kept, "new", 1);
    let policy = sweep.policy.display().to_string();
    // Kill at spread-out moments (a fixed sequence, so a failure can be replayed).
    let mut killed_mid_way = 0;
    for delay_ms in [40u64, 120, 260, 90, 500, 15, 330, 700] {
        let mut child = sweep
            .bench
            .command()
            .args(["sweep", "--policy", &policy, "--now", NOW])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let finished = child.try_wait().unwrap().is_some();
        let _ = child.kill();
        let _ = child.wait();
        if !finished {
            killed_mid_way += 1;
        }
        // At every instant: no record is gone without its certificate.
        let certified: BTreeSet<String> = sweep.certified_paths().into_iter().collect();
        for path in &due {
            if !exists(Path::new(path)) {
                assert!(
                    certified.contains(path),
                    "{path} is gone without a certificate"
                );
            }
        }
    }
    assert!(
        killed_mid_way > 0,
        "at least one sweep was killed while working"
    );
    let out = sweep.run(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let certified = sweep.certified_paths();
    let unique: BTreeSet<String> = certified.iter().cloned().collect();
    assert_eq!(unique.len(), certified.len(), "one certificate per record");
    assert_eq!(unique, due, "every due record is certified, nothing else");
    for path in &due {
        assert!(
            !exists(Path::new(path)),
            "certified but still there: {path}"
        );
    }
    assert!(exists(&kept));
    let verify = sweep.bench.verify(&[]);
    assert!(verify.status.success(), "{}", stderr(&verify));
    assert_eq!(
        std::fs::metadata(sweep.bench.ledger().join("sweep/journal.jsonl"))
            .unwrap()
            .len(),
        0,
        "a settled journal is emptied"
    );
}

#[test]
fn a_second_sweep_waits_its_turn() {
    let sweep = Sweep::new(BASIC);
    record(&sweep.root.join("old.txt"), "old", 10 * 365);
    let state = sweep.bench.ledger().join("sweep");
    std::fs::create_dir_all(&state).unwrap();
    let lock = File::create(state.join("lock")).unwrap();
    let held = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusiveNonblock).unwrap();
    let out = sweep.run(&[]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("another sweep is running"),
        "{}",
        stderr(&out)
    );
    assert!(exists(&sweep.root.join("old.txt")));
    drop(held);
    let out = sweep.run(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!exists(&sweep.root.join("old.txt")));
}

#[test]
fn quarantine_then_shred_after_the_grace_period() {
    let sweep = Sweep::new(
        r#"
[[series]]
id = "MAIL"
title = "Old mail exports"
roots = ["{ROOT}"]
retain = "2 years"
action = "quarantine"
quarantine = "{OUTSIDE}/quarantine"
grace = "30 days"
"#,
    );
    let old = sweep.root.join("exports/2020.mbox");
    record(&old, "From: a\n\nold mail", 5 * 365);
    let out = sweep.run(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!exists(&old));
    let quarantine = sweep.outside.join("quarantine");
    let moved: Vec<PathBuf> = std::fs::read_dir(&quarantine)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(moved.len(), 1);
    assert!(
        moved[0].to_str().unwrap().ends_with(".MAIL.2020.mbox"),
        "{moved:?}"
    );
    assert_eq!(
        std::fs::read_to_string(&moved[0]).unwrap(),
        "From: a\n\nold mail",
        "moved, not overwritten"
    );
    assert!(
        sweep.bench.certificates().is_empty(),
        "nothing is destroyed yet"
    );

    let policy = sweep.policy.display().to_string();
    let early = sweep.bench.wisp(&[
        "sweep",
        "--policy",
        &policy,
        "--now",
        "2026-12-20T12:00:00Z",
    ]);
    assert!(early.status.success(), "{}", stderr(&early));
    assert!(exists(&moved[0]), "within the grace period");
    let late = sweep.bench.wisp(&[
        "sweep",
        "--policy",
        &policy,
        "--now",
        "2027-01-05T12:00:00Z",
    ]);
    assert!(late.status.success(), "{}", stderr(&late));
    assert!(!exists(&moved[0]));
    let certs = sweep.bench.certificates();
    assert_eq!(certs.len(), 1);
    assert_eq!(
        certs[0]["media"]["path"],
        old.display().to_string(),
        "certified under its original path"
    );
    assert!(certs[0]["notes"].as_str().unwrap().contains("quarantine"));
}

#[test]
fn a_first_seen_clock_starts_when_wisp_first_sees_the_file() {
    let sweep = Sweep::new(
        r#"
[[series]]
id = "INBOX"
title = "Scanned intake"
roots = ["{ROOT}"]
retain = "30 days"
clock = "first-seen"
"#,
    );
    let restored = sweep.root.join("restored-from-backup.pdf");
    record(&restored, "%PDF-1.4 old scan", 10 * 365);
    let policy = sweep.policy.display().to_string();
    let first = sweep.bench.wisp(&[
        "sweep",
        "--policy",
        &policy,
        "--now",
        "2026-11-01T00:00:00Z",
        "--json",
    ]);
    assert!(first.status.success(), "{}", stderr(&first));
    let summary: serde_json::Value = serde_json::from_str(&stdout(&first)).unwrap();
    assert_eq!(summary["tally"]["undated"], 1, "{summary}");
    assert!(exists(&restored), "an old mtime does not matter");
    let soon = sweep.bench.wisp(&[
        "sweep",
        "--policy",
        &policy,
        "--now",
        "2026-11-20T00:00:00Z",
    ]);
    assert!(soon.status.success(), "{}", stderr(&soon));
    assert!(exists(&restored), "19 days after first seen");
    let late = sweep.bench.wisp(&[
        "sweep",
        "--policy",
        &policy,
        "--now",
        "2026-12-02T00:00:00Z",
    ]);
    assert!(late.status.success(), "{}", stderr(&late));
    assert!(!exists(&restored), "31 days after first seen");
}

#[test]
fn an_edited_plan_cannot_point_outside_the_policy() {
    use std::os::unix::fs::MetadataExt;
    let sweep = Sweep::new(BASIC);
    let inside = sweep.root.join("old.txt");
    record(&inside, "inside", 10 * 365);
    let secret = sweep.outside.join("secret.txt");
    record(&secret, "outside: must survive", 10 * 365);
    let plan = sweep.bench.path("plan.json");
    let out = sweep.run(&["--dry-run", "--plan-out", plan.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut edited: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&plan).unwrap()).unwrap();
    let meta = std::fs::metadata(&secret).unwrap();
    let genuine = edited["items"][0].clone();
    let forge = |root: &Path, rel: &str, path: &Path| {
        let mut item = genuine.clone();
        item["root"] = root.display().to_string().into();
        item["rel"] = rel.into();
        item["path"] = path.display().to_string().into();
        item["device"] = meta.dev().into();
        item["inode"] = meta.ino().into();
        item["size"] = meta.size().into();
        item["mtime_ns"] = (meta.mtime() * 1_000_000_000 + meta.mtime_nsec()).into();
        item
    };
    edited["items"] = serde_json::json!([
        // A covered path shown, an outside file reached.
        forge(&sweep.outside, "secret.txt", &inside),
        // Consistent, but outside every root.
        forge(&sweep.outside, "secret.txt", &secret),
        // Climbing out of a root.
        forge(
            &sweep.root,
            "../outside/secret.txt",
            &sweep.root.join("../outside/secret.txt")
        ),
    ]);
    std::fs::write(&plan, serde_json::to_vec(&edited).unwrap()).unwrap();
    let out = sweep.bench.wisp(&[
        "sweep",
        "--apply",
        plan.to_str().unwrap(),
        "--now",
        NOW,
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(summary["skipped"], 3, "{summary}");
    assert_eq!(
        std::fs::read_to_string(&secret).unwrap(),
        "outside: must survive"
    );
    assert!(exists(&inside), "not in the edited plan");
    assert!(sweep.bench.certificates().is_empty());
}
