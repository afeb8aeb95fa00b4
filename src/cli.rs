//! Command-line definitions (clap derive) and their validation into configs.

use clap::{Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "\
Exit status:
  0  success: everything asked for was done and every check passed
  1  done, but a check failed or a target was refused (details on stderr)
  2  error: bad arguments or input, or the work could not be done";

/// Find, retain and verifiably destroy personal information, and certify every disposal.
#[derive(Debug, Parser)]
#[command(name = "wisp", version, about, after_help = EXIT_CODES, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List block devices with their identity, geometry and everything using them
    ///
    /// Read from sysfs and /proc only; no device is opened. A device is flagged when
    /// it or one of its partitions is mounted, is swap, holds the running root
    /// filesystem, is the boot medium, or has holders (device mapper, md RAID).
    Devices(DevicesArgs),
    /// Erase drives and files so their data cannot practicably be read or
    /// reconstructed, verify it, and certify each target
    ///
    /// Targets are block devices (whole disks or partitions) or regular files;
    /// all run at once, one worker group per device, files spread over the cores.
    /// Devices that are mounted, swap, hold the running system, are the boot
    /// medium, or have holders are refused unless --force. Every wipe becomes a
    /// signed certificate in the ledger.
    Shred(ShredArgs),
    /// Find the files that hold personal information (a name with an SSN, a
    /// driver's licence or state ID, or a financial account or card number)
    ///
    /// Walks folders and shares in parallel (no symbolic links followed) and
    /// reports per file the data elements and names found and whether they occur
    /// together in a record (PI). Numbers are only ever shown masked.
    Inventory(InventoryArgs),
    /// Dispose of records past their retention period under a policy file,
    /// certifying each
    ///
    /// Walks the policy's roots without following links, decides every record
    /// (legal holds first, then permanent series, then the longest retention),
    /// and shreds, reports or quarantines what is due. A write-ahead journal makes
    /// a killed sweep finish on its next run; a run lock keeps sweeps apart.
    #[command(after_help = SWEEP_EXIT_CODES)]
    Sweep(SweepArgs),
    /// Disposal certificates: keys, recording, listing, verification and exports
    #[command(subcommand)]
    Certs(CertsCommand),
    /// Show what wisp does on a built-in demo, touching nothing outside a temp dir
    Demo,
    /// Write man pages (one per subcommand) or print shell completions, generated
    /// from these definitions
    #[command(hide = true)]
    Generate {
        #[arg(value_enum)]
        what: Generated,
        /// Directory for the man pages (required for `man`)
        #[arg(long, required_if_eq("what", "man"))]
        out_dir: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, clap::Args)]
pub struct DevicesArgs {
    /// Print JSON (an array of device objects) instead of a table
    #[arg(long)]
    pub json: bool,
    /// Also list devices of size zero (unattached loop devices, empty card readers)
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Generated {
    Man,
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
}

/// Where the certificate ledger is.
#[derive(Debug, Clone, clap::Args)]
pub struct LedgerArgs {
    /// The ledger directory [default: $WISP_LEDGER, else /var/lib/wisp for root,
    /// else $XDG_DATA_HOME/wisp]
    #[arg(long, value_name = "DIR")]
    pub ledger: Option<std::path::PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum CertsCommand {
    /// Create the ledger's Ed25519 signing key pair and the fingerprint key
    ///
    /// The private keys are created readable by the owner only (0600). Existing
    /// keys are never replaced.
    Keygen {
        #[command(flatten)]
        ledger: LedgerArgs,
    },
    /// Record disposals that wisp did not perform itself, such as drives or paper
    /// destroyed by a vendor, from a JSON file holding one disposal or an array
    Issue {
        #[command(flatten)]
        ledger: LedgerArgs,
        /// The disposal record(s), JSON (see the certificate schema in the README)
        #[arg(long, value_name = "FILE")]
        from: std::path::PathBuf,
    },
    /// List the certificates
    List {
        #[command(flatten)]
        ledger: LedgerArgs,
        /// One JSON object per line instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Show one certificate, by sequence number (17 or #17) or hash prefix
    Show {
        #[command(flatten)]
        ledger: LedgerArgs,
        id: String,
    },
    /// Verify the ledger (or a bundle) offline
    ///
    /// Checks that every certificate's bytes match its leaf and chain link, that
    /// the Merkle tree matches the signed checkpoint, that the signature is valid
    /// under the trusted key, and with --since that the log only grew since a
    /// checkpoint you kept. Exit 0 valid, 1 tampered (naming the first bad entry),
    /// 2 incomplete or unusable input.
    Verify {
        #[command(flatten)]
        ledger: LedgerArgs,
        /// The public key you trust [default: the ledger's own signing.pub, which
        /// proves integrity but not who signed]
        #[arg(long, value_name = "FILE")]
        pubkey: Option<std::path::PathBuf>,
        /// A checkpoint you kept earlier (from `wisp certs checkpoint`)
        #[arg(long, value_name = "FILE", conflicts_with = "bundle")]
        since: Option<std::path::PathBuf>,
        /// Verify a bundle made by `wisp certs bundle` instead of a ledger
        #[arg(long, value_name = "DIR")]
        bundle: Option<std::path::PathBuf>,
    },
    /// Print the latest signed checkpoint, for an auditor to keep
    Checkpoint {
        #[command(flatten)]
        ledger: LedgerArgs,
    },
    /// Export all signed certificates as CSV, JSON or PDF
    Export {
        #[command(flatten)]
        ledger: LedgerArgs,
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// Write here instead of stdout (required for pdf on a terminal)
        #[arg(long, value_name = "FILE")]
        out: Option<std::path::PathBuf>,
    },
    /// Write certificates with their inclusion proofs, the checkpoint and the public
    /// key into a directory an auditor can verify with no ledger
    Bundle {
        #[command(flatten)]
        ledger: LedgerArgs,
        /// Sequence numbers or hash prefixes
        #[arg(required = true)]
        ids: Vec<String>,
        #[arg(long, value_name = "DIR")]
        out: std::path::PathBuf,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Csv,
    Json,
    Pdf,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MethodArg {
    /// One pass of a keyed ChaCha8 stream, then verification (NIST SP 800-88 Clear)
    Clear,
    /// One pass of zeros
    Zero,
    /// DoD 5220.22-M (E): 0x00, 0xFF, random
    #[value(name = "dod-3")]
    Dod3,
    /// DoD 5220.22-M (ECE): 7 passes
    #[value(name = "dod-7")]
    Dod7,
    /// Gutmann's 35 passes
    Gutmann,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum VerifyArg {
    /// Read back everything after every pass
    Full,
    /// Read back at least 10% by NIST's sample plan after the last pass
    Sample,
    /// Read back everything after the last pass
    Last,
    Off,
}

#[derive(Debug, clap::Args)]
pub struct ShredArgs {
    /// Block devices or files to erase
    #[arg(required = true, value_name = "TARGET")]
    pub targets: Vec<std::path::PathBuf>,
    #[arg(long, value_enum, default_value = "clear")]
    pub method: MethodArg,
    /// Repeat the method's passes N times
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub passes: u32,
    /// Finish with a pass of zeros
    #[arg(long)]
    pub final_zero: bool,
    #[arg(long, value_enum, default_value = "sample")]
    pub verify: VerifyArg,
    /// Only re-check an earlier wipe (needs --nonce and the same --method);
    /// writes nothing
    #[arg(long, requires = "nonce")]
    pub verify_only: bool,
    /// The nonce printed on the earlier wipe's certificate, for --verify-only
    #[arg(long, value_name = "HEX")]
    pub nonce: Option<String>,
    /// Descend into directories and erase every regular file in them (symbolic
    /// links are not followed)
    #[arg(long, short = 'r')]
    pub recursive: bool,
    /// After erasing a file, truncate it, rename it to random names and unlink it
    #[arg(long, short = 'u')]
    pub remove: bool,
    /// Erase targets that are in use or hard-linked anyway
    #[arg(long)]
    pub force: bool,
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print what would be done and touch nothing
    #[arg(long, short = 'n')]
    pub dry_run: bool,
    /// Continue an interrupted device wipe from its last durable point
    #[arg(long)]
    pub resume: bool,
    /// Print one JSON report per target on stdout
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub ledger: LedgerArgs,
    #[command(flatten)]
    pub operator: OperatorArgs,
    /// Concurrent requests per device
    #[arg(long, hide = true, default_value_t = 4)]
    pub workers: usize,
    /// How often a device wipe records durable progress for --resume, in ms
    #[arg(long, hide = true, default_value_t = 2000)]
    pub checkpoint_ms: u64,
}

const SWEEP_EXIT_CODES: &str = "\
Exit status (for monitoring):
  0  the sweep ran and every due record was disposed of as the policy says
  1  the sweep ran, but a due record was skipped or failed, or a folder or
     record could not be read (see stderr)
  2  error: the policy, plan or ledger is unusable; nothing was disposed of
  3  another sweep holds the run lock; this one did nothing";

#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// The retention policy (TOML) [required unless --apply names a plan]
    #[arg(long, value_name = "FILE")]
    pub policy: Option<std::path::PathBuf>,
    /// Print the plan (each due record, its series, age, clock and action) and
    /// change nothing
    #[arg(long, conflicts_with = "apply")]
    pub dry_run: bool,
    /// Save the plan as JSON, for a second person to read before --apply
    #[arg(long, value_name = "FILE", conflicts_with = "apply")]
    pub plan_out: Option<std::path::PathBuf>,
    /// Carry out a saved plan, re-checking each record's identity, the holds and
    /// the policy in force right before disposing of it
    #[arg(long, value_name = "PLAN")]
    pub apply: Option<std::path::PathBuf>,
    /// Decide as if it were this time (RFC 3339 or a date), for tests and
    /// what-if reviews
    #[arg(long, value_name = "DATE")]
    pub now: Option<String>,
    /// Print a JSON summary (the plan, or every record's outcome) on stdout
    #[arg(long)]
    pub json: bool,
    /// The inventory catalog, for first-seen dates and findings
    /// [default: inventory.sqlite in the ledger directory]
    #[arg(long, value_name = "FILE", conflicts_with = "no_catalog")]
    pub catalog: Option<std::path::PathBuf>,
    /// Keep no catalog (a first-seen clock then never starts)
    #[arg(long)]
    pub no_catalog: bool,
    #[command(flatten)]
    pub ledger: LedgerArgs,
    #[command(flatten)]
    pub operator: OperatorArgs,
}

/// Who performs the disposal, for the certificate. Defaults come from
/// LEDGER/operator.json, else the login name and host name.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct OperatorArgs {
    #[arg(long, value_name = "NAME", env = "WISP_OPERATOR")]
    pub operator: Option<String>,
    #[arg(long, value_name = "TITLE", env = "WISP_OPERATOR_TITLE")]
    pub title: Option<String>,
    #[arg(long, value_name = "ORG", env = "WISP_ORGANIZATION")]
    pub organization: Option<String>,
    #[arg(long, value_name = "PLACE", env = "WISP_LOCATION")]
    pub location: Option<String>,
    #[arg(long, value_name = "PHONE/EMAIL", env = "WISP_CONTACT")]
    pub contact: Option<String>,
    /// Where the media goes next (recorded on the certificate)
    #[arg(long, value_name = "TEXT")]
    pub destination: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum InventoryFormat {
    Table,
    /// One row per file: path,kind,bytes,ssn,card,license,account,names,pi,error
    Csv,
    /// One JSON object per file, with masked samples and their lines
    Json,
}

#[derive(Debug, clap::Args)]
pub struct InventoryArgs {
    /// Folders or files to scan
    #[arg(default_value = ".", value_name = "PATH")]
    pub paths: Vec<std::path::PathBuf>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: InventoryFormat,
    /// Leave out paths matching this glob (gitignore syntax); repeatable
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Do not descend into other filesystems mounted below a path
    #[arg(long)]
    pub one_file_system: bool,
    /// Only list files with at least one element or name
    #[arg(long)]
    pub findings_only: bool,
    /// The catalog that lets rescans skip unchanged files and records when each
    /// file was first seen [default: inventory.sqlite in the ledger directory]
    #[arg(long, value_name = "FILE", conflicts_with = "no_catalog")]
    pub catalog: Option<std::path::PathBuf>,
    /// Read every file and keep no catalog
    #[arg(long)]
    pub no_catalog: bool,
    /// Read numbers (SSN, card, licence, account; one per line) from standard
    /// input and list the files in the catalog that hold each, by keyed
    /// fingerprint: nothing is scanned, and no number is printed in full
    #[arg(long, conflicts_with_all = ["no_catalog", "findings_only"])]
    pub locate: bool,
    #[command(flatten)]
    pub ledger: LedgerArgs,
}
