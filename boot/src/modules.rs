//! Loading exactly the kernel modules the hardware needs.
//!
//! Every storage driver in Debian's kernel is a module, and the initramfs has no
//! modprobe or udev. Loading every module is wrong: `scsi_debug` would invent a
//! disk that looks like a wipe target. So `/init` reads each device's
//! `modalias` from sysfs, matches it against `modules.alias` (shell patterns,
//! as modprobe does), and loads the matches with their dependencies first,
//! repeating while loading uncovers new devices (a USB host controller's
//! driver reveals the stick, whose driver reveals its disk).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Modules that must never be loaded on a wipe stick, whatever matches them.
pub const NEVER: &[&str] = &["scsi_debug", "null_blk", "brd", "zram", "rbd", "nbd"];

/// Filesystem and helper modules loaded up front: no device asks for them, and
/// without modprobe the kernel cannot load them on demand.
pub const PRELOAD: &[&str] = &[
    "vfat",
    "nls_cp437",
    "nls_ascii",
    "nls_utf8",
    "nls_iso8859_1",
    "crct10dif_generic",
];

/// `modules.alias` and `modules.dep` of one kernel.
#[derive(Debug, Default)]
pub struct ModuleIndex {
    /// (pattern, module name), in file order.
    aliases: Vec<(String, String)>,
    /// module name → (its file, relative to the modules directory; its dependencies' names).
    deps: HashMap<String, (PathBuf, Vec<String>)>,
}

/// A module's name as the kernel knows it: the file stem with `-` as `_`.
pub fn module_name(file: &str) -> String {
    let base = file.rsplit('/').next().unwrap_or(file);
    let stem = base.split(".ko").next().unwrap_or(base);
    stem.replace('-', "_")
}

impl ModuleIndex {
    pub fn parse(alias_text: &str, dep_text: &str) -> ModuleIndex {
        let aliases = alias_text
            .lines()
            .filter_map(|line| {
                let mut words = line.split_ascii_whitespace();
                (words.next()? == "alias")
                    .then(|| Some((words.next()?.to_string(), module_name(words.next()?))))?
            })
            .collect();
        let deps = dep_text
            .lines()
            .filter_map(|line| {
                let (file, rest) = line.split_once(':')?;
                let needs = rest.split_ascii_whitespace().map(module_name).collect();
                Some((module_name(file), (PathBuf::from(file), needs)))
            })
            .collect();
        ModuleIndex { aliases, deps }
    }

    pub fn load(dir: &Path) -> std::io::Result<ModuleIndex> {
        let alias = std::fs::read_to_string(dir.join("modules.alias"))?;
        let dep = std::fs::read_to_string(dir.join("modules.dep"))?;
        Ok(ModuleIndex::parse(&alias, &dep))
    }

    /// The modules whose aliases match `modalias`, never one of [`NEVER`].
    pub fn matching(&self, modalias: &str) -> BTreeSet<String> {
        self.aliases
            .iter()
            .filter(|(pattern, module)| {
                !NEVER.contains(&module.as_str()) && glob_match(pattern, modalias)
            })
            .map(|(_, module)| module.clone())
            .collect()
    }

    /// Files to load for `module`, dependencies first; empty if the index does
    /// not have it (built into the kernel, or left out of the image).
    pub fn load_order(&self, module: &str) -> Vec<PathBuf> {
        let mut order = Vec::new();
        let mut seen = HashSet::new();
        self.visit(module, &mut seen, &mut order);
        order
    }

    fn visit(&self, module: &str, seen: &mut HashSet<String>, order: &mut Vec<PathBuf>) {
        if !seen.insert(module.to_string()) {
            return;
        }
        let Some((file, needs)) = self.deps.get(module) else {
            return;
        };
        // modules.dep lists a module's whole closure, deepest last; load it in reverse.
        for need in needs.iter().rev() {
            self.visit(need, seen, order);
        }
        order.push(file.clone());
    }

    pub fn contains(&self, module: &str) -> bool {
        self.deps.contains_key(module)
    }
}

/// Shell-style matching as modprobe does it: `*`, `?` and `[…]` classes
/// (with ranges and `!`/`^` negation).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    // Where to resume after the last `*`: (pattern index after it, text index).
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < t.len() {
        let step = match p.get(pi) {
            Some(b'*') => {
                backtrack = Some((pi + 1, ti));
                pi += 1;
                continue;
            }
            Some(b'?') => Some(pi + 1),
            Some(b'[') => match_class(p, pi, t[ti]),
            Some(&c) => (c == t[ti]).then_some(pi + 1),
            None => None,
        };
        match (step, backtrack) {
            (Some(next), _) => {
                pi = next;
                ti += 1;
            }
            (None, Some((after_star, from))) => {
                pi = after_star;
                ti = from + 1;
                backtrack = Some((after_star, from + 1));
            }
            (None, None) => return false,
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// Matches `c` against the class starting at `p[start] == b'['`; the index after
/// the class if it matches.
fn match_class(p: &[u8], start: usize, c: u8) -> Option<usize> {
    let mut i = start + 1;
    let negated = matches!(p.get(i), Some(b'!' | b'^'));
    if negated {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while let Some(&ch) = p.get(i) {
        if ch == b']' && !first {
            return (matched != negated).then_some(i + 1);
        }
        first = false;
        if p.get(i + 1) == Some(&b'-') && p.get(i + 2).is_some_and(|&e| e != b']') {
            matched |= (ch..=p[i + 2]).contains(&c);
            i += 3;
        } else {
            matched |= ch == c;
            i += 1;
        }
    }
    // An unclosed `[` is a literal.
    (c == b'[').then_some(start + 1)
}

/// Every `modalias` under `sys_devices` (usually `/sys/devices`).
pub fn read_modaliases(sys_devices: &Path) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut pending = vec![sys_devices.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            // sysfs is full of symlink loops (subsystem, driver): follow none.
            if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_file() && entry.file_name() == "modalias" {
                if let Ok(text) = std::fs::read_to_string(entry.path()) {
                    let alias = text.trim();
                    if !alias.is_empty() {
                        found.insert(alias.to_string());
                    }
                }
            }
        }
    }
    found
}

/// What loading did, for the console and for tests.
#[derive(Debug, Default)]
pub struct LoadReport {
    pub loaded: Vec<String>,
    pub failed: Vec<(String, String)>,
}

/// Loads what the present hardware needs until nothing new appears for `quiet`
/// (or `limit` passes). `insert` loads one module file (finit_module on the
/// real system); "already loaded" counts as success.
pub fn load_needed(
    index: &ModuleIndex,
    modules_dir: &Path,
    sys_devices: &Path,
    quiet: Duration,
    limit: Duration,
    insert: &mut dyn FnMut(&Path) -> Result<(), String>,
) -> LoadReport {
    let mut report = LoadReport::default();
    let mut attempted: HashSet<PathBuf> = HashSet::new();
    let mut load = |module: &str, report: &mut LoadReport| {
        for file in index.load_order(module) {
            if !attempted.insert(file.clone()) {
                continue;
            }
            let name = module_name(&file.to_string_lossy());
            match insert(&modules_dir.join(&file)) {
                Ok(()) => report.loaded.push(name),
                Err(why) => report.failed.push((name, why)),
            }
        }
    };
    for module in PRELOAD {
        load(module, &mut report);
    }
    let started = Instant::now();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut last_change = Instant::now();
    loop {
        let aliases = read_modaliases(sys_devices);
        let fresh: Vec<String> = aliases.difference(&seen).cloned().collect();
        if !fresh.is_empty() {
            for alias in &fresh {
                for module in index.matching(alias) {
                    load(&module, &mut report);
                }
            }
            seen.extend(fresh);
            // Counted from when loading ended: loading can outlast `quiet` (under
            // emulation it does), and the devices it reveals come after it.
            last_change = Instant::now();
        }
        if last_change.elapsed() >= quiet || started.elapsed() >= limit {
            return report;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_as_modprobe_reads_them() {
        assert!(glob_match(
            "pci:v00001AF4d00001001sv*sd*bc*sc*i*",
            "pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00"
        ));
        assert!(glob_match(
            "pci:v*d*sv*sd*bc01sc08i02*",
            "pci:v00001B36d00000010sv00001AF4sd00001100bc01sc08i02"
        ));
        assert!(!glob_match(
            "pci:v*d*sv*sd*bc01sc08i02*",
            "pci:v00001B36d00000010sv00001AF4sd00001100bc01sc06i01"
        ));
        assert!(glob_match("scsi:t-0x0[07]*", "scsi:t-0x00"));
        assert!(glob_match("scsi:t-0x0[07]*", "scsi:t-0x07"));
        assert!(!glob_match("scsi:t-0x0[07]*", "scsi:t-0x05"));
        assert!(glob_match(
            "usb:v*p*d*dc*dsc*dp*ic08isc06ip50in*",
            "usb:v46F4p0001d0000dc00dsc00dp00ic08isc06ip50in00"
        ));
        assert!(glob_match("a[!b]c", "axc"));
        assert!(!glob_match("a[!b]c", "abc"));
        assert!(glob_match("a[a-c]?", "abz"));
        assert!(!glob_match("a?", "a"));
        assert!(glob_match("*", ""));
        assert!(glob_match(
            "virtio:d00000002v*",
            "virtio:d00000002v00001AF4"
        ));
        assert!(!glob_match(
            "virtio:d00000002v*",
            "virtio:d00000001v00001AF4"
        ));
    }

    const DEP: &str = "kernel/drivers/ata/ahci.ko: kernel/drivers/ata/libahci.ko kernel/drivers/ata/libata.ko kernel/drivers/scsi/scsi_mod.ko kernel/drivers/scsi/scsi_common.ko\n\
kernel/drivers/ata/libahci.ko: kernel/drivers/ata/libata.ko kernel/drivers/scsi/scsi_mod.ko kernel/drivers/scsi/scsi_common.ko\n\
kernel/drivers/ata/libata.ko: kernel/drivers/scsi/scsi_mod.ko kernel/drivers/scsi/scsi_common.ko\n\
kernel/drivers/scsi/scsi_mod.ko: kernel/drivers/scsi/scsi_common.ko\n\
kernel/drivers/scsi/scsi_common.ko:\n\
kernel/drivers/scsi/scsi_debug.ko: kernel/drivers/scsi/scsi_mod.ko kernel/drivers/scsi/scsi_common.ko\n\
kernel/drivers/usb/storage/usb-storage.ko: kernel/drivers/scsi/scsi_mod.ko kernel/drivers/scsi/scsi_common.ko\n";

    const ALIAS: &str = "# Aliases extracted from modules themselves.\n\
alias pci:v*d*sv*sd*bc01sc06i01* ahci\n\
alias scsi:t-0x00* scsi_debug\n\
alias usb:v*p*d*dc*dsc*dp*ic08isc06ip50in* usb_storage\n";

    #[test]
    fn dependencies_load_first_and_once() {
        let index = ModuleIndex::parse(ALIAS, DEP);
        let order: Vec<String> = index
            .load_order("ahci")
            .iter()
            .map(|p| module_name(&p.to_string_lossy()))
            .collect();
        assert_eq!(
            order,
            ["scsi_common", "scsi_mod", "libata", "libahci", "ahci"]
        );
        assert!(index.load_order("not_in_image").is_empty());
        assert!(index.contains("usb_storage"), "dashes read as underscores");
    }

    #[test]
    fn scsi_debug_is_never_matched() {
        let index = ModuleIndex::parse(ALIAS, DEP);
        assert!(index.matching("scsi:t-0x00").is_empty());
        assert_eq!(
            index.matching("pci:v00008086d00002922sv00001AF4sd00001100bc01sc06i01"),
            BTreeSet::from(["ahci".to_string()])
        );
    }

    #[test]
    fn loading_follows_the_devices_that_appear() {
        let dir = tempfile::tempdir().unwrap();
        let sys = dir.path().join("devices");
        let controller = sys.join("pci0000:00/0000:00:1f.2");
        std::fs::create_dir_all(&controller).unwrap();
        std::fs::write(
            controller.join("modalias"),
            "pci:v00008086d00002922sv00001AF4sd00001100bc01sc06i01\n",
        )
        .unwrap();
        // A device that only scsi_debug claims must not load it.
        let odd = sys.join("odd");
        std::fs::create_dir_all(&odd).unwrap();
        std::fs::write(odd.join("modalias"), "scsi:t-0x00\n").unwrap();
        let index = ModuleIndex::parse(ALIAS, DEP);
        let mut inserted = Vec::new();
        let report = load_needed(
            &index,
            Path::new("/lib/modules/k"),
            &sys,
            Duration::from_millis(50),
            Duration::from_secs(5),
            &mut |file| {
                inserted.push(file.to_path_buf());
                Ok(())
            },
        );
        assert_eq!(
            report.loaded,
            ["scsi_common", "scsi_mod", "libata", "libahci", "ahci"]
        );
        assert!(inserted[0].starts_with("/lib/modules/k/kernel"));
        assert!(!report.loaded.iter().any(|m| m == "scsi_debug"));
    }
}
