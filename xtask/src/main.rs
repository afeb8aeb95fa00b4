//! Project automation: `cargo xtask <task>`. Each task states what it needs and
//! installs it where it can, so a fresh machine needs nothing but cargo.

mod bench;
mod corpus;
mod dist;
mod system;
mod test;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "wisp's build, test and benchmark automation"
)]
struct Xtask {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Install what the tests need (as root, with apt-get), then run every test
    Test {
        /// Extra arguments passed to `cargo test` after `--workspace`
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        cargo_args: Vec<String>,
    },
    /// Build the static x86_64-unknown-linux-musl release binary, its man page and
    /// shell completions into target/dist, and check that the binary runs
    Dist,
    /// Write the labelled inventory corpus the benchmark uses, for a look or a profile
    Corpus {
        /// Folder to write it into (created)
        dir: std::path::PathBuf,
        /// How many files
        #[arg(long, default_value_t = 6_000)]
        files: usize,
    },
    /// Run benchmarks and print their figures as ratios against named baselines
    Bench {
        /// Which benchmark: devices (more arrive with each capability)
        #[arg(default_value = "all")]
        which: bench::Which,
    },
}

fn main() -> anyhow::Result<()> {
    match Xtask::parse().task {
        Task::Test { cargo_args } => test::run(&cargo_args),
        Task::Dist => dist::run().map(|_| ()),
        Task::Bench { which } => bench::run(which),
        Task::Corpus { dir, files } => {
            let labels = corpus::generate(&dir, files, 20261125)?;
            eprintln!("wrote {} labelled files to {}", labels.len(), dir.display());
            Ok(())
        }
    }
}
