//! The kernel command line's `wisp.*` words: unattended selection and method.
//!
//! Unknown `wisp.*` words are errors, not ignored: a typo in `wisp.target` must
//! not turn an unattended wipe of one drive into an interactive session nobody
//! watches, or the other way round.

use shred::method::Method;
use shred::wipe::VerifyMode;

/// Which drives an unattended run wipes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every drive that is not the stick and not in use.
    All,
    /// Exactly these serial numbers; a serial that is not present is an error.
    Serials(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// The operator picks drives on the console.
    Interactive,
    Unattended(Selection),
}

/// What the command line asks for; `None` leaves the choice to the stick's config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootRequest {
    pub mode: Mode,
    /// The identity of the stick this kernel came from (`wisp.stick=`, set at build).
    pub stick: Option<String>,
    pub method: Option<Method>,
    pub verify: Option<VerifyMode>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CmdlineError {
    #[error("kernel command line: unknown option {0:?} (known: wisp.auto, wisp.target, wisp.method, wisp.verify, wisp.stick)")]
    Unknown(String),
    #[error("kernel command line: {word:?}: {why}")]
    Invalid { word: String, why: String },
}

pub fn parse_method(name: &str) -> Option<Method> {
    Some(match name {
        "clear" => Method::Clear,
        "zero" => Method::Zero,
        "dod-3" | "dod3" => Method::Dod3,
        "dod-7" | "dod7" => Method::Dod7,
        "gutmann" => Method::Gutmann,
        _ => return None,
    })
}

pub fn parse_verify(name: &str) -> Option<VerifyMode> {
    Some(match name {
        "sample" => VerifyMode::Sample,
        "full" => VerifyMode::Full,
        "last" => VerifyMode::Last,
        "off" => VerifyMode::Off,
        _ => return None,
    })
}

/// Reads the `wisp.*` words of `/proc/cmdline`'s text; other words are the kernel's.
pub fn parse(text: &str) -> Result<BootRequest, CmdlineError> {
    let mut auto_all = false;
    let mut serials = Vec::new();
    let mut method = None;
    let mut verify = None;
    let mut stick = None;
    for word in text.split_ascii_whitespace() {
        let Some(option) = word.strip_prefix("wisp.") else {
            continue;
        };
        let invalid = |why: &str| CmdlineError::Invalid {
            word: word.to_string(),
            why: why.to_string(),
        };
        let (key, value) = option
            .split_once('=')
            .ok_or_else(|| invalid("needs a value"))?;
        match key {
            "auto" => match value {
                "all" => auto_all = true,
                _ => return Err(invalid("the only value is `all`")),
            },
            "target" => {
                for item in value.split(',') {
                    let serial = item
                        .strip_prefix("serial:")
                        .filter(|s| !s.is_empty())
                        .ok_or_else(|| invalid("targets are written serial:SERIAL[,serial:…]"))?;
                    serials.push(serial.to_string());
                }
            }
            "method" => {
                method =
                    Some(parse_method(value).ok_or_else(|| {
                        invalid("methods are clear, zero, dod-3, dod-7 and gutmann")
                    })?)
            }
            "stick" => {
                if value.is_empty() || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(invalid("the stick's identity is hexadecimal"));
                }
                stick = Some(value.to_ascii_lowercase());
            }
            "verify" => {
                verify = Some(
                    parse_verify(value)
                        .ok_or_else(|| invalid("verification is sample, full, last or off"))?,
                )
            }
            _ => return Err(CmdlineError::Unknown(word.to_string())),
        }
    }
    let mode = match (auto_all, serials.is_empty()) {
        (true, false) => {
            return Err(CmdlineError::Invalid {
                word: "wisp.auto=all".into(),
                why: "give either wisp.auto=all or wisp.target, not both".into(),
            })
        }
        (true, true) => Mode::Unattended(Selection::All),
        (false, false) => Mode::Unattended(Selection::Serials(serials)),
        (false, true) => Mode::Interactive,
    };
    Ok(BootRequest {
        mode,
        stick,
        method,
        verify,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_wisp_words_means_interactive() {
        let request = parse("BOOT_IMAGE=/vmlinuz console=ttyS0 quiet").unwrap();
        assert_eq!(request.mode, Mode::Interactive);
        assert_eq!(request.stick, None);
        assert_eq!(request.method, None);
        assert_eq!(request.verify, None);
    }

    #[test]
    fn auto_all_with_method_and_verification() {
        let request =
            parse("quiet wisp.stick=00AB12 wisp.auto=all wisp.method=dod-3 wisp.verify=full")
                .unwrap();
        assert_eq!(request.stick.as_deref(), Some("00ab12"));
        assert_eq!(request.mode, Mode::Unattended(Selection::All));
        assert_eq!(request.method, Some(Method::Dod3));
        assert_eq!(request.verify, Some(VerifyMode::Full));
    }

    #[test]
    fn targets_by_serial_accumulate() {
        let request = parse("wisp.target=serial:A1,serial:B2 wisp.target=serial:C3").unwrap();
        assert_eq!(
            request.mode,
            Mode::Unattended(Selection::Serials(vec![
                "A1".into(),
                "B2".into(),
                "C3".into()
            ]))
        );
    }

    #[test]
    fn mistakes_are_errors_not_silently_interactive() {
        assert!(matches!(
            parse("wisp.targets=serial:A"),
            Err(CmdlineError::Unknown(_))
        ));
        for bad in [
            "wisp.target=A1",
            "wisp.target=serial:",
            "wisp.auto=yes",
            "wisp.method=fast",
            "wisp.verify=maybe",
            "wisp.auto",
            "wisp.stick=not-hex",
            "wisp.auto=all wisp.target=serial:A",
        ] {
            assert!(
                matches!(parse(bad), Err(CmdlineError::Invalid { .. })),
                "{bad}"
            );
        }
    }
}
