//! Project automation: `cargo xtask <task>`. Each task states what it needs and
//! installs it where it can, so a fresh machine needs nothing but cargo.

mod bench;
mod corpus;
mod dist;
mod image;
mod image_test;
mod pgo;
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
    /// Build the bootable USB wipe stick: a raw GPT disk image to write onto a
    /// stick (UEFI with or without Secure Boot, and legacy BIOS)
    Image {
        /// Where to write the image; its public key is written beside it (.pub)
        #[arg(long, default_value = "target/image/wisp-usb.img")]
        out: std::path::PathBuf,
        /// Extra kernel command line words for the default entry, e.g.
        /// `wisp.auto=all` or `wisp.target=serial:S1,serial:S2` (unattended)
        #[arg(long, default_value = "")]
        append: String,
        /// Where the front end draws: the screen (default) or the first serial port
        #[arg(long, value_enum, default_value_t = image::Console::Screen)]
        console: image::Console,
    },
    /// Boot the image in qemu (UEFI Secure Boot and legacy BIOS) with target disks
    /// on virtio, AHCI and NVMe, unattended, and check the wipes and certificates
    ImageTest,
    /// Write the labelled inventory corpus the benchmark uses, for a look or a profile
    Corpus {
        /// Folder to write it into (created)
        dir: std::path::PathBuf,
        /// How many files
        #[arg(long, default_value_t = 6_000)]
        files: usize,
        /// Also write each file's expected counts here, as CSV in the columns of
        /// `wisp inventory --format csv`, to compare a scan with
        #[arg(long)]
        labels: Option<std::path::PathBuf>,
        /// The generator's seed: another seed writes other documents of the
        /// same kinds (the benchmark's corpus is the default's)
        #[arg(long, default_value_t = corpus::BENCH_SEED)]
        seed: u64,
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
        Task::Image {
            out,
            append,
            console,
        } => {
            let out = if out.is_relative() {
                system::workspace_root().join(out)
            } else {
                out
            };
            image::run(&image::ImageOptions {
                out,
                append,
                console,
            })
            .map(|_| ())
        }
        Task::ImageTest => image_test::run(),
        Task::Corpus {
            dir,
            files,
            labels: labels_path,
            seed,
        } => {
            let labels = corpus::generate(&dir, files, seed)?;
            eprintln!("wrote {} labelled files to {}", labels.len(), dir.display());
            if let Some(path) = labels_path {
                corpus::write_labels(&path, &labels)?;
                eprintln!("wrote their labels to {}", path.display());
            }
            Ok(())
        }
    }
}
