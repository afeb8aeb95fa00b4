//! `wisp inventory`: where personal information sits.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context;

use inventory::{Counts, FileReport, FileSystems, ScanOptions};

use crate::cli::{InventoryArgs, InventoryFormat};
use crate::output::{self, sanitize};
use crate::Outcome;

struct Config {
    options: ScanOptions,
    format: InventoryFormat,
    findings_only: bool,
    catalog: Option<PathBuf>,
    locate: bool,
}

impl Config {
    fn from_args(args: &InventoryArgs) -> anyhow::Result<Config> {
        let ledger = super::certs::ledger_dir(&args.ledger)?;
        let catalog = match (&args.catalog, args.no_catalog) {
            (_, true) => None,
            (Some(path), false) => Some(path.clone()),
            (None, false) => Some(ledger.join("inventory.sqlite")),
        };
        // The organization's key (from `wisp certs keygen`), if there is one yet.
        let value_key = super::certs::value_key(&ledger);
        Ok(Config {
            options: ScanOptions {
                roots: args.paths.clone(),
                excludes: args.exclude.clone(),
                file_systems: if args.one_file_system {
                    FileSystems::One
                } else {
                    FileSystems::All
                },
                threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
                now: jiff::Timestamp::now().as_second(),
                value_key,
            },
            format: args.format,
            findings_only: args.findings_only,
            catalog,
            locate: args.locate,
        })
    }
}

/// `--locate`: which catalogued files hold each number read from stdin.
fn locate(config: &Config, catalog: Option<&inventory::Catalog>) -> anyhow::Result<Outcome> {
    use std::io::BufRead;
    let catalog = catalog.context("--locate needs the catalog")?;
    let key = config
        .options
        .value_key
        .as_ref()
        .context("--locate needs the organization's key: run `wisp certs keygen`, then `wisp inventory` again")?;
    let mut stdout = std::io::stdout().lock();
    let mut found_any = false;
    for (number, line) in std::io::stdin().lock().lines().enumerate() {
        let line = line.with_context(|| format!("standard input, line {}", number + 1))?;
        let value: String = line.chars().filter(char::is_ascii_alphanumeric).collect();
        if value.is_empty() {
            continue;
        }
        for element in [
            inventory::Element::Ssn,
            inventory::Element::Card,
            inventory::Element::License,
            inventory::Element::Account,
        ] {
            for path in catalog.holding(&key.fingerprint(element, &value))? {
                found_any = true;
                writeln!(
                    stdout,
                    "{}\t{}\t{}",
                    inventory::detect::mask_as(element, &value),
                    element.name(),
                    sanitize(&path.display().to_string())
                )?;
            }
        }
    }
    // Like grep: 1 when nothing was found.
    Ok(if found_any {
        Outcome::Success
    } else {
        Outcome::Failure
    })
}

/// What the walk's threads hand over: each file's report and CSV row, in the
/// output's order, and each folder's totals. Both are kept in order and
/// totalled as the files come, so that the end of the run, which one thread
/// does alone while the whole run waits, only prints.
#[derive(Default)]
struct Collected {
    /// By path (as `output::path_sort_key`), then by arrival: the same path
    /// reached twice (overlapping roots) is listed twice.
    listed: BTreeMap<(Vec<u8>, usize), Listed>,
    folders: HashMap<PathBuf, FolderSummary>,
}

impl Collected {
    fn add(&mut self, key: Vec<u8>, listed: Listed) {
        self.count_in_folder(&listed.report);
        let arrival = self.listed.len();
        self.listed.insert((key, arrival), listed);
    }

    fn count_in_folder(&mut self, report: &FileReport) {
        let folder = report.path.parent().unwrap_or(Path::new(""));
        let totals = match self.folders.get_mut(folder) {
            Some(totals) => totals,
            None => self.folders.entry(folder.to_path_buf()).or_default(),
        };
        totals.files += 1;
        totals.with_elements += u64::from(report.findings.counts.elements() > 0);
        totals.with_pi += u64::from(report.findings.holds_pi());
        totals.counts.merge(&report.findings.counts);
    }
}

/// A file as the end of the run needs it.
struct Listed {
    report: FileReport,
    /// Its CSV line (empty in other formats).
    row: Vec<u8>,
}

/// Totals for one folder.
#[derive(Default)]
struct FolderSummary {
    files: u64,
    with_elements: u64,
    with_pi: u64,
    counts: Counts,
}

pub fn run(args: &InventoryArgs) -> anyhow::Result<Outcome> {
    let config = Config::from_args(args)?;
    let catalog = config
        .catalog
        .as_deref()
        .map(inventory::Catalog::open)
        .transpose()?;
    if config.locate {
        return locate(&config, catalog.as_ref());
    }
    let collected = Mutex::new(Collected::default());
    let problems = Mutex::new(Vec::new());
    let csv = matches!(config.format, InventoryFormat::Csv);
    inventory::scan_tree(
        &config.options,
        catalog.as_ref(),
        &|mut report| {
            // Rendered here, on the walk's threads: the one thread that prints
            // at the end is what the whole run waits for.
            let row = if csv {
                let row = csv_row(&report);
                // A row shows counts only: the samples are let go here, where
                // their memory is taken again by the next file's scan.
                report.findings.samples = Vec::new();
                row
            } else {
                Vec::new()
            };
            let key = output::path_sort_key(&report.path);
            let mut collected = collected.lock().expect("not poisoned");
            collected.add(key, Listed { report, row });
        },
        &|problem| problems.lock().expect("not poisoned").push(problem),
    )?;
    let Collected { listed, folders } = collected.into_inner().expect("not poisoned");
    let summary = summary(folders);
    let reports: Vec<&FileReport> = listed.values().map(|file| &file.report).collect();
    let csv_rows: Vec<&[u8]> = listed.values().map(|file| file.row.as_slice()).collect();
    for problem in problems.into_inner().expect("not poisoned") {
        eprintln!("wisp: warning: {}", sanitize(&problem.message));
    }

    let mut stdout = std::io::stdout().lock();
    let is_shown = |r: &FileReport| {
        !config.findings_only || r.findings.counts.elements() + r.findings.counts.names > 0
    };
    let shown: Vec<&FileReport> = reports.iter().copied().filter(|r| is_shown(r)).collect();
    match config.format {
        InventoryFormat::Table => {
            let header = [
                "PATH", "KIND", "BYTES", "SSN", "CARD", "LICENSE", "ACCOUNT", "NAMES", "PI", "NOTE",
            ];
            let rows: Vec<Vec<String>> = shown.iter().map(|r| table_row(r)).collect();
            stdout.write_all(output::table(&header, &rows).as_bytes())?;
            writeln!(stdout)?;
            stdout.write_all(summary.as_bytes())?;
        }
        InventoryFormat::Csv => {
            let mut out = std::io::BufWriter::with_capacity(1 << 16, &mut stdout);
            out.write_all(CSV_HEADER)?;
            for (r, row) in reports.iter().zip(csv_rows) {
                if is_shown(r) {
                    out.write_all(row)?;
                }
            }
            out.flush()?;
            eprint!("{summary}");
        }
        InventoryFormat::Json => {
            for r in &shown {
                let line = serde_json::json!({
                    "path": r.path,
                    "kind": r.kind,
                    "bytes": r.bytes,
                    "counts": r.findings.counts,
                    "pi": r.findings.holds_pi(),
                    "pi_records": r.findings.pi_records,
                    "samples": r.findings.samples,
                    "error": r.error,
                    "cached": r.cached,
                });
                writeln!(stdout, "{line}")?;
            }
            eprint!("{summary}");
        }
    }
    stdout.flush()?;
    // The process ends next: freeing thousands of reports one by one is work
    // the whole run would wait for, and the system reclaims them at once.
    drop(reports);
    std::mem::forget(listed);
    Ok(Outcome::Success)
}

const CSV_HEADER: &[u8] = b"path,kind,bytes,ssn,card,license,account,names,pi,error\n";

/// Where a thread's CSV writer puts its bytes, taken after each row.
#[derive(Clone, Default)]
struct RowBuffer(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

impl std::io::Write for RowBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

thread_local! {
    /// One CSV writer per thread, reused: building one costs more than a row.
    static CSV_WRITER: (RowBuffer, std::cell::RefCell<csv::Writer<RowBuffer>>) = {
        let buffer = RowBuffer::default();
        let writer = csv::Writer::from_writer(buffer.clone());
        (buffer, std::cell::RefCell::new(writer))
    };
}

/// One report as a CSV line, quoted as the csv crate quotes.
fn csv_row(r: &FileReport) -> Vec<u8> {
    let c = &r.findings.counts;
    let mut buffers = [itoa::Buffer::new(); 6];
    let [b0, b1, b2, b3, b4, b5] = &mut buffers;
    let counts = [
        b0.format(r.bytes),
        b1.format(c.ssn),
        b2.format(c.card),
        b3.format(c.license),
        b4.format(c.account),
        b5.format(c.names),
    ];
    // A path that is UTF-8 (almost every one) is shown as it is, without a copy.
    let path = match r.path.to_str() {
        Some(path) => std::borrow::Cow::Borrowed(path),
        None => std::borrow::Cow::Owned(r.path.display().to_string()),
    };
    let pi = if r.findings.holds_pi() { "1" } else { "0" };
    let error = r.error.as_deref().unwrap_or_default();
    let fields = [path.as_bytes(), r.kind.name().as_bytes()]
        .into_iter()
        .chain(counts.map(str::as_bytes))
        .chain([pi.as_bytes(), error.as_bytes()]);
    CSV_WRITER.with(|(buffer, writer)| {
        let mut writer = writer.borrow_mut();
        // Writing into memory cannot fail.
        let written = writer
            .write_record(fields)
            .and_then(|()| Ok(writer.flush()?));
        debug_assert!(written.is_ok());
        std::mem::take(&mut *buffer.0.borrow_mut())
    })
}

fn table_row(r: &FileReport) -> Vec<String> {
    let note = match (&r.error, r.kind) {
        (Some(error), _) => error.clone(),
        (None, inventory::FileKind::Binary) => "binary, skipped".into(),
        _ => String::new(),
    };
    let mut row = vec![
        sanitize(&r.path.display().to_string()),
        r.kind.name().into(),
    ];
    row.extend(count_cells(r));
    let pi = if r.findings.holds_pi() { "PI" } else { "-" };
    row.extend([pi.to_string(), sanitize(&note)]);
    row
}

/// bytes,ssn,card,license,account,names: the columns the table and CSV share.
fn count_cells(r: &FileReport) -> [String; 6] {
    let c = &r.findings.counts;
    [r.bytes, c.ssn, c.card, c.license, c.account, c.names].map(|n| n.to_string())
}

/// A line per folder: how many files, how many with elements and with PI.
fn summary(folders: HashMap<PathBuf, FolderSummary>) -> String {
    let mut folders: Vec<(PathBuf, FolderSummary)> = folders.into_iter().collect();
    folders.sort_unstable_by(|a, b| output::path_order(&a.0, &b.0));
    let mut out = String::from("summary by folder:\n");
    for (folder, s) in &folders {
        out.push_str(&format!(
            "  {}: {} files, {} with elements, {} with PI (ssn {}, card {}, license {}, account {}, names {})\n",
            sanitize(&folder.display().to_string()),
            s.files,
            s.with_elements,
            s.with_pi,
            s.counts.ssn,
            s.counts.card,
            s.counts.license,
            s.counts.account,
            s.counts.names
        ));
    }
    out
}
