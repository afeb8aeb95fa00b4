//! One module per subcommand; each turns its arguments into a validated config,
//! calls a library, and prints.

mod certs;
mod demo;
mod devices;
mod generate;
mod inventory;
mod shred;
mod sweep;

use crate::cli::{Cli, Command};
use crate::Outcome;

pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Devices(args) => devices::run(devices::Config::from_args(&args)),
        Command::Shred(args) => shred::run(&args),
        Command::Inventory(args) => inventory::run(&args),
        Command::Sweep(args) => sweep::run(&args),
        Command::Certs(command) => certs::run(command),
        Command::Demo => demo::run(),
        Command::Generate { what, out_dir } => generate::run(what, out_dir.as_deref()),
    }
}
