//! `wisp demo`: runs what wisp can do today on this machine, harmlessly (nothing
//! outside a temp dir is written), and says plainly what is still to come.

use anyhow::Context;
use certs::export::{render_pdf, Export};
use certs::{
    Category, Disposal, Ledger, Media, MediaType, Operator, OsRandom, PhysicalMedia, Sanitization,
    SystemClock, Tool, Verdict, Verification, VerificationResult,
};
use clap::Parser;
use shred::{EmptyDevices, SystemView};

use super::devices;
use crate::cli::{Cli, Command};
use crate::output::{paint, Stream, Style};
use crate::Outcome;

pub fn run() -> anyhow::Result<Outcome> {
    let heading = |text: &str| paint(Stream::Stdout, Style::Bold, text);
    println!("{}", heading("wisp demo"));
    println!(
        "wisp helps a business keep its Written Information Security Program: know where\n\
         personal information sits, keep it no longer than needed, destroy it so that it\n\
         cannot practicably be read or reconstructed, and prove that to an auditor.\n"
    );

    println!(
        "{}",
        heading("1. The drives on this machine (wisp devices)")
    );
    let devices = shred::discover(&SystemView::live(), EmptyDevices::Skip)
        .context("cannot list block devices")?;
    print!("{}", devices::render_table(&devices));
    let busy = devices.iter().filter(|d| d.is_in_use()).count();
    println!(
        "\n{} devices found; {busy} are in use (mounted, swap, root, boot or held) and a wipe\n\
         would refuse them. Nothing was opened: this is read from sysfs and /proc.\n",
        devices.len()
    );

    println!("{}", heading("2. A signed certificate ledger (wisp certs)"));
    let dir = tempfile::Builder::new()
        .prefix("wisp-demo-")
        .tempdir()
        .context("cannot create a temp dir")?
        .keep();
    let ledger = Ledger::new(dir.join("ledger"));
    let keys = certs::keys::generate(ledger.dir(), &mut OsRandom)?;
    println!(
        "  made an Ed25519 key pair (key {}) in {}",
        keys.public.key_id(),
        ledger.dir().display()
    );
    let (recorded, _) = ledger.append(vec![sample_disposal()], &SystemClock)?;
    println!(
        "  recorded certificate #{}: 3 boxes of 2019 payroll records shredded by a vendor",
        recorded[0].sequence
    );
    match certs::verify_ledger(&ledger, &keys.public, None)? {
        Verdict::Valid(v) => println!(
            "  verified: {} certificate(s), signature and Merkle root hold",
            v.size
        ),
        Verdict::Tampered(t) => anyhow::bail!("the demo ledger failed verification: {t}"),
    }
    let log = ledger.log_path();
    let original = std::fs::read(&log)?;
    let forged = String::from_utf8_lossy(&original).replace("payroll", "PAYROLL");
    std::fs::write(&log, forged)?;
    match certs::verify_ledger(&ledger, &keys.public, None)? {
        Verdict::Tampered(t) => println!(
            "  after editing one word of the log: TAMPERED ({})",
            t.reason
        ),
        Verdict::Valid(_) => anyhow::bail!("the demo's forged ledger passed verification"),
    }
    std::fs::write(&log, original)?;
    println!();

    println!(
        "{}",
        heading("3. Where personal information sits (wisp inventory)")
    );
    let records = dir.join("records");
    let now = jiff::Timestamp::now();
    // Made-up people; numbers valid in form so that the detectors count them.
    let sample: [(&str, &str, i64); 7] = [
        (
            "finance/payroll-2017.csv",
            "first_name,last_name,ssn,amount\nJane,Doe,123-45-6788,2450.00\nJohn,Roe,234-56-7890,2310.00\n",
            9 * 365,
        ),
        (
            "finance/payroll-2025.csv",
            "first_name,last_name,ssn,amount\nAna,Lima,345-67-8901,2600.00\n",
            200,
        ),
        (
            "hr/former/loan-application.txt",
            "Applicant: Maria Garcia\nChecking account 000123456789, routing 011000015\n",
            4 * 365,
        ),
        (
            "hr/former/reyes/offer-letter.txt",
            "Dear Ms. Reyes, SSN 456-78-9012 on file.\n",
            5 * 365,
        ),
        ("hr/former/farewell-card.txt", "Good luck, everyone!\n", 4 * 365),
        ("board/minutes-2001.txt", "Minutes of the board meeting.\n", 25 * 365),
        ("kitchen/menu.txt", "Lunch order 123456789: two salads\n", 30),
    ];
    for (name, content, days_old) in sample {
        let path = records.join(name);
        std::fs::create_dir_all(path.parent().expect("sample paths have folders"))?;
        std::fs::write(&path, content)?;
        let when = std::time::SystemTime::UNIX_EPOCH
            + std::time::Duration::from_secs((now.as_second() - days_old * 86_400) as u64);
        std::fs::File::options()
            .write(true)
            .open(&path)?
            .set_modified(when)?;
    }
    let catalog = dir.join("inventory.sqlite").display().to_string();
    println!("  $ wisp inventory {}", records.display());
    let Command::Inventory(args) = Cli::try_parse_from([
        "wisp",
        "inventory",
        "--catalog",
        &catalog,
        &records.display().to_string(),
    ])?
    .command
    else {
        unreachable!("the demo parses an inventory command")
    };
    super::inventory::run(&args)?;
    println!();

    println!(
        "{}",
        heading("4. Disposing of what is past its retention (wisp sweep)")
    );
    let policy = dir.join("policy.toml");
    std::fs::write(&policy, demo_policy(&records))?;
    println!("  the sample schedule, {}:", policy.display());
    println!("    FIN-03  payroll, 7 years from modification   HR-02  former staff's records holding PI, 3 years");
    println!("    GOV-01  board minutes, permanent            hold   \"Reyes v. Acme\" on hr/former/reyes");
    let sweep = |extra: &[&str]| -> anyhow::Result<Outcome> {
        let mut command = vec![
            "wisp",
            "sweep",
            "--policy",
            policy.to_str().context("temp paths are UTF-8")?,
            "--ledger",
            ledger.dir().to_str().context("temp paths are UTF-8")?,
            "--catalog",
            &catalog,
            "--operator",
            "Dana Reyes",
            "--organization",
            "Acme Dental LLC (demo)",
        ];
        command.extend_from_slice(extra);
        let Command::Sweep(args) = Cli::try_parse_from(command)?.command else {
            unreachable!("the demo parses a sweep command")
        };
        super::sweep::run(&args)
    };
    println!("  $ wisp sweep --policy policy.toml --dry-run");
    sweep(&["--dry-run"])?;
    println!("  $ wisp sweep --policy policy.toml");
    let outcome = sweep(&[])?;
    anyhow::ensure!(
        outcome == Outcome::Success,
        "the demo's sweep did not succeed"
    );
    anyhow::ensure!(
        !records.join("finance/payroll-2017.csv").exists()
            && records.join("hr/former/reyes/offer-letter.txt").exists(),
        "the demo's sweep did not do what its policy says"
    );
    println!();

    println!(
        "{}",
        heading("5. Erasing files by hand, certified (wisp shred)")
    );
    let export = dir.join("old-export.csv");
    std::fs::write(&export, "name,card\nJane Doe,4111 1111 1111 1111\n")?;
    let command = [
        "wisp",
        "shred",
        "--remove",
        "--ledger",
        &ledger.dir().display().to_string(),
        "--operator",
        "Dana Reyes",
        "--organization",
        "Acme Dental LLC (demo)",
        &export.display().to_string(),
    ];
    println!("  $ wisp shred --remove {}", export.display());
    let Command::Shred(args) = Cli::try_parse_from(command)?.command else {
        unreachable!("the demo parses a shred command")
    };
    let outcome = super::shred::run(&args)?;
    anyhow::ensure!(
        outcome == Outcome::Success,
        "the demo's wipe did not succeed"
    );
    anyhow::ensure!(!export.exists(), "the demo's file is still there");
    match certs::verify_ledger(&ledger, &keys.public, None)? {
        Verdict::Valid(v) => println!(
            "  the ledger now holds {} certificates and verifies",
            v.size
        ),
        Verdict::Tampered(t) => anyhow::bail!("the demo ledger failed verification: {t}"),
    }
    let pdf = dir.join("certificates.pdf");
    std::fs::write(
        &pdf,
        render_pdf(&Export::from_ledger(&ledger)?, "wisp demo"),
    )?;
    println!("  the auditor's PDF: {}", pdf.display());
    println!(
        "  (the demo leaves {} for you to look at; remove it when done)\n",
        dir.display()
    );

    println!("{}", heading("6. What works and what is coming"));
    for line in [
        "  works now  wisp devices [--json]    drive identity, geometry and safety flags",
        "  works now  wisp certs ...            keygen, issue, list, show, verify, checkpoint,",
        "                                       export csv|json|pdf, bundle",
        "  works now  wisp shred ...            verified parallel erasure of drives and files",
        "  works now  wisp inventory ...        text, CSV, JSON, HTML, Office, PDF, mail, archives,",
        "                                       with a catalog so rescans read only what changed",
        "  works now  wisp sweep ...            retention sweeps under a policy file: holds, plans,",
        "                                       quarantine, journaled and certified",
        "  coming     cargo xtask image         the bootable USB wipe stick",
    ] {
        println!("{line}");
    }
    Ok(Outcome::Success)
}

/// The demo's retention schedule over the sample records in `root`.
fn demo_policy(root: &std::path::Path) -> String {
    let root = root.display();
    format!(
        r#"name = "Acme Dental LLC retention schedule (demo)"

[[series]]
id = "FIN-03"
title = "Payroll registers"
authority = "26 CFR 31.6001-1 (4 years); internal schedule adds 3"
roots = ["{root}/finance"]
retain = "7 years"

[[series]]
id = "HR-02"
title = "Former employees' records holding PI"
authority = "M.G.L. c.149 52C (3 years after termination)"
roots = ["{root}/hr/former"]
condition = "pi"
retain = "3 years"

[[series]]
id = "GOV-01"
title = "Board minutes"
roots = ["{root}/board"]
retain = "permanent"

[[hold]]
name = "Reyes v. Acme"
matter = "2026-CV-0042"
paths = ["{root}/hr/former/reyes"]
placed_by = "J. Counsel"
placed_on = 2026-10-01
"#
    )
}

fn sample_disposal() -> Disposal {
    let now = jiff::Timestamp::now();
    Disposal {
        operator: Operator {
            name: "Dana Reyes".into(),
            title: Some("Office Manager".into()),
            organization: "Acme Dental LLC (demo)".into(),
            location: Some("Worcester, MA".into()),
            contact: None,
        },
        media: Media::Physical(PhysicalMedia {
            description: "3 archive boxes, 2019 payroll records".into(),
            media_type: MediaType::Paper,
            quantity: Some(3),
            serials: None,
            property_number: None,
        }),
        sanitization: Sanitization {
            category: Category::Destroy,
            technique: "shred".into(),
            method: "cross-cut shredding on site by a vendor".into(),
            passes: Vec::new(),
            random_generator: None,
            tool: Tool {
                name: "vendor mobile shredder".into(),
                version: "n/a".into(),
            },
            verification: Verification {
                method: "witnessed".into(),
                result: VerificationResult::Passed,
                nonce: None,
                sampled_blocks: None,
                sample_hash: None,
            },
            started_at: now,
            finished_at: now,
        },
        exceptions: Vec::new(),
        destination: Some("pulp recycling".into()),
        findings: None,
        content_fingerprint: None,
        retention: None,
        notes: None,
    }
}
