//! Man page and completions, generated from the clap definitions so they never drift.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use clap::CommandFactory;

use crate::cli::{Cli, Generated};
use crate::Outcome;

pub fn run(what: Generated, out_dir: Option<&Path>) -> anyhow::Result<Outcome> {
    let mut command = Cli::command();
    let mut stdout = std::io::stdout().lock();
    let shell = match what {
        Generated::Man => {
            // clap enforces --out-dir for man pages.
            let dir = out_dir.context("--out-dir is required for man pages")?;
            std::fs::create_dir_all(dir)
                .and_then(|()| clap_mangen::generate_to(command, dir))
                .with_context(|| format!("cannot write man pages to {}", dir.display()))?;
            return Ok(Outcome::Success);
        }
        Generated::Bash => clap_complete::Shell::Bash,
        Generated::Zsh => clap_complete::Shell::Zsh,
        Generated::Fish => clap_complete::Shell::Fish,
        Generated::Elvish => clap_complete::Shell::Elvish,
        Generated::Powershell => clap_complete::Shell::PowerShell,
    };
    clap_complete::generate(shell, &mut command, "wisp", &mut stdout);
    stdout.flush()?;
    Ok(Outcome::Success)
}
