//! `wisp-init`: PID 1 of the boot stick. Brings up the hardware, finds the
//! stick, offers the drives, wipes and certifies, and always ends by syncing
//! and powering off, whatever happened (a panic included).

mod tui;

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use boot::cmdline::{self, Mode};
use boot::config::{StickConfig, TEMPLATE};
use boot::modules::{self, ModuleIndex};
use boot::session::{self, Board, Choice, Drive};
use boot::stick::{self, Stick};
use boot::system;
use certs::Ledger;
use shred::{EmptyDevices, SystemView};

/// Where the certificate partition is mounted.
const STICK_MOUNT: &str = "/stick";
const PROBE_MOUNT: &str = "/run/probe";

/// Set by the front end when the operator aborts: wipes stop at the next chunk.
static STOP: AtomicBool = AtomicBool::new(false);

fn main() {
    if std::process::id() != 1 {
        eprintln!(
            "wisp-init is the boot stick's /init and runs only as PID 1; to wipe drives from a running system use `wisp shred`"
        );
        std::process::exit(2);
    }
    let outcome = std::panic::catch_unwind(run);
    let linger = match outcome {
        Ok(Ok(linger)) => linger,
        Ok(Err(message)) => {
            say(&format!("wisp: error: {message}"));
            Linger::ForReading
        }
        Err(_) => {
            say("wisp: internal error (a panic); nothing more will be written");
            Linger::ForReading
        }
    };
    finish(linger);
}

/// What to do before powering off.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Linger {
    /// Nobody is watching, or the operator asked to power off: at once.
    No,
    /// An error is on the screen: give the operator time to read it.
    ForReading,
}

fn finish(linger: Linger) -> ! {
    nix::unistd::sync();
    let _ = nix::mount::umount2(STICK_MOUNT, nix::mount::MntFlags::empty());
    nix::unistd::sync();
    if linger == Linger::ForReading && !unattended_cmdline() {
        say("powering off in 60 seconds (press Enter to power off now)");
        wait_for_enter(Duration::from_secs(60));
    }
    say("wisp: powering off");
    system::power_off()
}

fn unattended_cmdline() -> bool {
    std::fs::read_to_string("/proc/cmdline")
        .ok()
        .and_then(|text| cmdline::parse(&text).ok())
        .is_some_and(|r| r.mode != Mode::Interactive)
}

fn wait_for_enter(limit: Duration) {
    let (done, wait) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
        let _ = done.send(());
    });
    let _ = wait.recv_timeout(limit);
}

/// Writes a line to the console (stdout is /dev/console).
fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}\r");
    let _ = out.flush();
}

fn run() -> Result<Linger, String> {
    system::mount_kernel_filesystems()?;
    reopen_console();
    say(concat!("wisp ", env!("CARGO_PKG_VERSION"), " boot stick"));
    let cmdline_text = std::fs::read_to_string("/proc/cmdline").unwrap_or_default();
    let request = cmdline::parse(&cmdline_text).map_err(|e| e.to_string())?;

    let release = nix::sys::utsname::uname()
        .map_err(|e| format!("uname: {e}"))?
        .release()
        .to_string_lossy()
        .into_owned();
    let modules_dir = Path::new("/lib/modules").join(&release);
    match ModuleIndex::load(&modules_dir) {
        Ok(index) => {
            let report = modules::load_needed(
                &index,
                &modules_dir,
                Path::new("/sys/devices"),
                Duration::from_millis(1500),
                Duration::from_secs(30),
                &mut system::insert_module,
            );
            say(&format!(
                "loaded {} kernel module(s) for this hardware: {}",
                report.loaded.len(),
                report.loaded.join(" ")
            ));
            for (module, why) in &report.failed {
                say(&format!("  module {module} did not load: {why}"));
            }
        }
        Err(err) => say(&format!(
            "no module index in {}: {err}; using built-in drivers only",
            modules_dir.display()
        )),
    }

    let list = || shred::discover(&SystemView::live(), EmptyDevices::Skip);
    let stick = stick::find_and_mount(
        &list,
        request.stick.as_deref(),
        Path::new(PROBE_MOUNT),
        Path::new(STICK_MOUNT),
        Duration::from_secs(30),
    )
    .map_err(|e| format!("{e}; certificates have nowhere to go, so nothing will be wiped"))?;
    say(&format!(
        "boot stick: {} (certificates on {})",
        stick.disk,
        stick.partition.display()
    ));

    let config_path = stick.mountpoint.join(boot::CONFIG_FILE);
    let config = if config_path.exists() {
        StickConfig::load(&config_path).map_err(|e| e.to_string())?
    } else {
        say(&format!(
            "{} is missing; certificates will name an unnamed operator",
            config_path.display()
        ));
        StickConfig::parse(TEMPLATE, &config_path).map_err(|e| e.to_string())?
    };
    let ledger = Ledger::new(stick.mountpoint.join(boot::LEDGER_DIR));
    if !ledger.dir().join(certs::keys::SIGNING_KEY_FILE).exists() {
        return Err(format!(
            "{}: no signing key; rebuild the stick with `cargo xtask image`",
            ledger.dir().display()
        ));
    }
    let devices = list().map_err(|e| format!("cannot list drives: {e}"))?;
    let drives = session::drives(&devices, &stick);
    let choice = Choice {
        method: request.method.unwrap_or(config.method),
        verify: request.verify.unwrap_or(config.verify),
    };
    match &request.mode {
        Mode::Unattended(selection) => {
            unattended(selection, choice, &drives, &stick, &ledger, &config)
        }
        Mode::Interactive => {
            tui::run(choice, &drives, &stick, &ledger, &config, &STOP)?;
            Ok(Linger::No)
        }
    }
}

fn unattended(
    selection: &cmdline::Selection,
    choice: Choice,
    drives: &[Drive],
    stick: &Stick,
    ledger: &Ledger,
    config: &StickConfig,
) -> Result<Linger, String> {
    for drive in drives {
        say(&format!("  {}", tui::describe(drive)));
    }
    let targets = session::select(drives, selection).map_err(|e| e.to_string())?;
    say(&format!(
        "unattended: wiping {} drive(s) with {}, verification {}",
        targets.len(),
        choice.method.name(),
        choice.verify.name()
    ));
    let options = session::options(choice, config);
    let board = Board::default();
    let outcomes = session::wipe(&targets, &options, ledger, config, &board, &STOP);
    let lines = session::summary_lines(&outcomes, drives);
    for line in &lines {
        say(line);
    }
    for note in record_run(stick, ledger, &lines) {
        say(&note);
    }
    if session::all_erased(&outcomes) {
        say("wisp: all drives erased and certified");
    } else {
        say("wisp: some drives were NOT erased; see above");
    }
    Ok(Linger::No)
}

/// Writes the exports and `last-run.txt` on the stick and says what it wrote;
/// a failure here is reported but undoes nothing (the ledger is already durable).
pub(crate) fn record_run(stick: &Stick, ledger: &Ledger, lines: &[String]) -> Vec<String> {
    let mut notes = Vec::new();
    match session::write_exports(ledger, &stick.mountpoint.join("exports")) {
        Ok(paths) => notes.push(format!(
            "certificates exported to {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
        Err(err) => notes.push(format!("cannot write exports: {err}")),
    }
    let text: String = lines.iter().map(|l| format!("{l}\r\n")).collect();
    let path = stick.mountpoint.join("last-run.txt");
    if let Err(err) =
        std::fs::write(&path, text).and_then(|()| std::fs::File::open(&path)?.sync_all())
    {
        notes.push(format!("cannot write {}: {err}", path.display()));
    }
    notes
}

/// Points stdin, stdout and stderr at /dev/console: the kernel opened it before
/// devtmpfs was mounted, from the initramfs's own node, which may be missing.
fn reopen_console() {
    use std::os::fd::AsRawFd;
    if let Ok(console) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/console")
    {
        for fd in 0..3 {
            // SAFETY: dup2 onto the standard descriptors, which this process owns.
            unsafe {
                nix::libc::dup2(console.as_raw_fd(), fd);
            }
        }
    }
}
