//! Parsers for `/proc/self/mountinfo` and `/proc/swaps`.

use std::path::{Path, PathBuf};

use super::{DevNum, DiscoveryError};

/// One line of mountinfo, reduced to what device safety needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MountEntry {
    pub devnum: DevNum,
    pub mountpoint: PathBuf,
    pub fstype: String,
    /// The "mount source" field, e.g. `/dev/sda2`; needed for filesystems such as
    /// btrfs whose st_dev is an anonymous 0:N number rather than the block device.
    pub source: String,
}

/// Parses mountinfo as documented in proc(5):
/// `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`.
pub(crate) fn parse_mountinfo(text: &str, path: &Path) -> Result<Vec<MountEntry>, DiscoveryError> {
    let mut mounts = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |message: &str| DiscoveryError::Parse {
            path: path.to_path_buf(),
            line: index + 1,
            message: message.to_string(),
        };
        let (before, after) = line
            .split_once(" - ")
            .ok_or_else(|| bad("missing the ' - ' separator"))?;
        let fields: Vec<&str> = before.split(' ').collect();
        if fields.len() < 6 {
            return Err(bad("fewer than six fields before the separator"));
        }
        let devnum: DevNum = fields[2]
            .parse()
            .map_err(|_| bad("field 3 is not major:minor"))?;
        let mut tail = after.split(' ');
        let fstype = tail.next().ok_or_else(|| bad("missing filesystem type"))?;
        let source = tail.next().unwrap_or("");
        mounts.push(MountEntry {
            devnum,
            mountpoint: PathBuf::from(unescape_octal(fields[4])),
            fstype: unescape_octal(fstype),
            source: unescape_octal(source),
        });
    }
    Ok(mounts)
}

/// Returns the file names listed in `/proc/swaps` (partitions and swap files alike).
pub(crate) fn parse_swaps(text: &str) -> Vec<PathBuf> {
    text.lines()
        .skip(1) // header: "Filename Type Size Used Priority"
        .filter_map(|line| line.split_whitespace().next())
        .map(|name| PathBuf::from(unescape_octal(name)))
        .collect()
}

/// The kernel escapes space, tab, newline and backslash in these files as `\ooo`.
fn unescape_octal(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 3 < bytes.len() {
            let digits = &bytes[i + 1..i + 4];
            if digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                let value = digits
                    .iter()
                    .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                if let Ok(byte) = u8::try_from(value) {
                    out.push(byte);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mountinfo_with_optional_fields_and_escapes() {
        let text = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime shared:1 master:2 - ext4 /dev/vda rw,discard
42 27 7:0 / /tmp/my\\040disk rw,relatime - ext4 /dev/loop0 rw
";
        let mounts = parse_mountinfo(text, Path::new("mountinfo")).unwrap();
        assert_eq!(mounts.len(), 3);
        assert_eq!(
            mounts[1].devnum,
            DevNum {
                major: 254,
                minor: 0
            }
        );
        assert_eq!(mounts[1].mountpoint, PathBuf::from("/"));
        assert_eq!(mounts[1].fstype, "ext4");
        assert_eq!(mounts[1].source, "/dev/vda");
        assert_eq!(mounts[2].mountpoint, PathBuf::from("/tmp/my disk"));
    }

    #[test]
    fn mountinfo_error_names_file_and_line() {
        let text = "22 27 0:21 / /proc rw - proc proc rw\nnot a mount line\n";
        let err = parse_mountinfo(text, Path::new("/proc/self/mountinfo")).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("/proc/self/mountinfo"), "{message}");
        assert!(message.contains("line 2"), "{message}");
    }

    #[test]
    fn parses_swaps() {
        let text = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n\
/dev/zram0                              partition\t8388604\t\t0\t\t100\n\
/swap\\040file                           file\t\t1048572\t\t0\t\t-2\n";
        assert_eq!(
            parse_swaps(text),
            vec![PathBuf::from("/dev/zram0"), PathBuf::from("/swap file")]
        );
    }

    #[test]
    fn unescape_leaves_plain_backslashes() {
        assert_eq!(unescape_octal("a\\134b"), "a\\b");
        assert_eq!(unescape_octal("a\\9b"), "a\\9b");
        assert_eq!(unescape_octal("end\\"), "end\\");
    }
}
