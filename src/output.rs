//! How things look on the terminal: errors, colour, sizes and safe strings.

use std::io::IsTerminal;

/// Prints an error and its causes on one line, as `wisp: error: a: b: c`.
pub fn print_error(err: &anyhow::Error) {
    let chain: Vec<String> = err
        .chain()
        .map(|cause| sanitize(&cause.to_string()))
        .collect();
    let prefix = paint(Stream::Stderr, Style::Error, "error");
    eprintln!("wisp: {prefix}: {}", chain.join(": "));
}

pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[derive(Debug, Clone, Copy)]
pub enum Stream {
    Stdout,
    Stderr,
}

#[derive(Debug, Clone, Copy)]
pub enum Style {
    Error,
    Warning,
    Bold,
}

/// Colour only for a terminal, and never when NO_COLOR is set (no-color.org).
fn color_enabled(stream: Stream) -> bool {
    if std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty()) {
        return false;
    }
    match stream {
        Stream::Stdout => std::io::stdout().is_terminal(),
        Stream::Stderr => std::io::stderr().is_terminal(),
    }
}

pub fn paint(stream: Stream, style: Style, text: &str) -> String {
    if !color_enabled(stream) {
        return text.to_string();
    }
    let code = match style {
        Style::Error => "1;31",
        Style::Warning => "33",
        Style::Bold => "1",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// Replaces control characters so that a device model or file name read from the
/// system cannot move the cursor or rewrite the operator's terminal.
pub fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

/// Sizes as drive labels print them (decimal units), so the operator can match
/// the listing to the sticker on the drive.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Left-aligned columns with two spaces between them, widths by the widest cell
/// (counted in characters, so UTF-8 model names line up).
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut push_row = |cells: &mut dyn Iterator<Item = &str>| {
        let mut line = String::new();
        for (index, (cell, width)) in cells.zip(&widths).enumerate() {
            if index > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            line.extend(std::iter::repeat_n(' ', width - cell.chars().count()));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    };
    push_row(&mut header.iter().copied());
    for row in rows {
        push_row(&mut row.iter().map(String::as_str));
    }
    out
}

/// A key whose plain byte order is [`path_order`]: the path's bytes with the
/// separator made the lowest byte (a path holds no NUL). Sorting thousands of
/// reports by such keys is a `memcmp` per comparison.
pub fn path_sort_key(path: &std::path::Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str()
        .as_bytes()
        .iter()
        .map(|&byte| if byte == b'/' { 0 } else { byte })
        .collect()
}

/// `Path`'s order (component by component) without parsing components: the
/// bytes compared with the separator as the lowest byte, which is the same order
/// for the normalized paths a walk yields.
pub fn path_order(a: &std::path::Path, b: &std::path::Path) -> std::cmp::Ordering {
    use std::os::unix::ffi::OsStrExt;
    let (a, b) = (a.as_os_str().as_bytes(), b.as_os_str().as_bytes());
    let common = a.len().min(b.len());
    // Paths of one walk share long prefixes: skip them eight bytes at a time.
    // Only the first difference decides, and only there does the separator rank.
    let mut at = 0;
    while at + 8 <= common && a[at..at + 8] == b[at..at + 8] {
        at += 8;
    }
    while at < common && a[at] == b[at] {
        at += 1;
    }
    let rank = |byte: u8| if byte == b'/' { 0 } else { byte };
    match (a.get(at), b.get(at)) {
        (Some(&x), Some(&y)) => rank(x).cmp(&rank(y)),
        _ => a.len().cmp(&b.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes_use_decimal_units() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(67_108_864), "67.1 MB");
        assert_eq!(human_bytes(512_110_190_592), "512.1 GB");
        assert_eq!(human_bytes(2_000_398_934_016), "2.0 TB");
    }

    #[test]
    fn control_characters_are_neutralised() {
        assert_eq!(sanitize("Disk\x1b[2J\n"), "Disk\u{fffd}[2J\u{fffd}");
    }

    #[test]
    fn table_aligns_by_characters() {
        let rows = vec![
            vec!["ä".to_string(), "x".to_string()],
            vec!["abc".into(), "y".into()],
        ];
        assert_eq!(table(&["N", "V"], &rows), "N    V\nä    x\nabc  y\n");
    }

    #[test]
    fn path_order_is_paths_own_order() {
        let mut paths: Vec<std::path::PathBuf> = [
            "a/b", "a-b", "a", "a/b/c", "a.b/c", "a/b-c", "a/bc", "a0", "/x/y", "/x-y", "/x/y z",
            "b",
        ]
        .iter()
        .map(std::path::PathBuf::from)
        .collect();
        let mut expected = paths.clone();
        expected.sort();
        paths.sort_by(|a, b| path_order(a, b));
        assert_eq!(paths, expected);
    }

    /// A deterministic xorshift64 generator of numbers below a bound.
    fn below(mut state: u64) -> impl FnMut(u64) -> u64 {
        move |n| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        }
    }

    #[test]
    fn path_order_agrees_with_path_on_long_shared_prefixes() {
        // Normalized paths (no empty components) over a small alphabet around
        // '/', so that shared prefixes are long and differences fall everywhere.
        let mut next = below(0x9e37_79b9_7f4a_7c15);
        let mut paths: Vec<std::path::PathBuf> = (0..3000)
            .map(|_| {
                let components: Vec<String> = (0..1 + next(4))
                    .map(|_| {
                        let name: String = (0..1 + next(12))
                            .map(|_| ['a', 'b', '-', '.', ' ', '0'][next(6) as usize])
                            .collect();
                        // A walk never yields "." or ".." components.
                        if name.chars().all(|c| c == '.') {
                            format!("{name}x")
                        } else {
                            name
                        }
                    })
                    .collect();
                std::path::PathBuf::from(format!("/srv/share/records/{}", components.join("/")))
            })
            .collect();
        let mut expected = paths.clone();
        expected.sort();
        let mut by_key = paths.clone();
        by_key.sort_by_cached_key(|p| path_sort_key(p));
        paths.sort_by(|a, b| path_order(a, b));
        assert_eq!(paths, expected);
        assert_eq!(by_key, expected, "the sort key orders as the paths do");
    }
}
