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
