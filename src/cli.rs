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
