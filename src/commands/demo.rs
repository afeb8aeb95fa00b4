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
    std::fs::create_dir_all(&records)?;
    let payroll = records.join("payroll-2019.csv");
    // Made-up people; numbers valid in form so that the detectors count them.
    std::fs::write(
        &payroll,
        "first_name,last_name,ssn,amount\nJane,Doe,123-45-6788,2450.00\nJohn,Roe,234-56-7890,2310.00\n",
    )?;
    std::fs::write(
        records.join("loan-application.txt"),
        "Applicant: Maria Garcia\nChecking account 000123456789, routing 011000015\n\nNotes: none.\n",
    )?;
    std::fs::write(
        records.join("menu.txt"),
        "Lunch order 123456789: two salads\n",
    )?;
    println!("  $ wisp inventory {}", records.display());
    let Command::Inventory(args) = Cli::try_parse_from([
        "wisp",
        "inventory",
        "--catalog",
        &dir.join("inventory.sqlite").display().to_string(),
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
        heading("4. Erasing files and certifying it (wisp shred)")
    );
    let command = [
        "wisp",
        "shred",
        "--recursive",
        "--remove",
        "--ledger",
        &ledger.dir().display().to_string(),
        "--operator",
        "Dana Reyes",
        "--organization",
        "Acme Dental LLC (demo)",
        &records.display().to_string(),
    ];
    println!("  $ wisp shred --recursive --remove {}", records.display());
    let Command::Shred(args) = Cli::try_parse_from(command)?.command else {
        unreachable!("the demo parses a shred command")
    };
    let outcome = super::shred::run(&args)?;
    anyhow::ensure!(
        outcome == Outcome::Success,
        "the demo's wipe did not succeed"
    );
    anyhow::ensure!(!payroll.exists(), "the demo's file is still there");
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

    println!("{}", heading("5. What works and what is coming"));
    println!("  works now  wisp devices [--json]    drive identity, geometry and safety flags");
    println!(
        "  works now  wisp certs ...            keygen, issue, list, show, verify, checkpoint,"
    );
    println!("                                       export csv|json|pdf, bundle");
    println!(
        "  coming     wisp shred ...            verified parallel erasure of drives and files"
    );
    println!(
        "  partly     wisp inventory ...        text, CSV, JSON, HTML, Office, PDF, mail, archives;"
    );
    println!("                                       the rescan catalog and benchmarks are coming");
    println!("  coming     wisp sweep ...            retention sweeps under a policy file");
    println!("\nEach of these joins this demo as it lands.");
    Ok(Outcome::Success)
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
