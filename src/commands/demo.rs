//! `wisp demo`: runs what wisp can do today on this machine, harmlessly, and says
//! plainly what is still to come.

use anyhow::Context;
use shred::{EmptyDevices, SystemView};

use super::devices;
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

    println!("{}", heading("2. What works and what is coming"));
    println!("  works now  wisp devices [--json]    drive identity, geometry and safety flags");
    println!("  coming     wisp certs ...            signed, chained disposal certificates");
    println!(
        "  coming     wisp shred ...            verified parallel erasure of drives and files"
    );
    println!("  coming     wisp inventory ...        find files holding personal information");
    println!("  coming     wisp sweep ...            retention sweeps under a policy file");
    println!("\nEach of these joins this demo as it lands.");
    Ok(Outcome::Success)
}
