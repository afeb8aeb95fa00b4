//! `wisp.toml` on the certificate partition: who is wiping, for whom, and the
//! defaults the operator would otherwise choose on the console. The user edits
//! it on an office PC before booting the stick.

use std::path::{Path, PathBuf};

use certs::Operator;
use serde::Deserialize;
use shred::method::Method;
use shred::wipe::VerifyMode;

use crate::cmdline::{parse_method, parse_verify};

/// The file the image ships, with every field explained.
pub const TEMPLATE: &str = r#"# wisp boot stick settings. Edit this file on any computer before booting.
# Certificates written by this stick name the operator and organization below.

[operator]
name = "Unnamed operator"
organization = "Unnamed organization"
# title = "IT manager"
# location = "12 Main St, Boston MA"
# contact = "it@example.com"

[wipe]
# clear (one random pass, NIST SP 800-88 Clear), zero, dod-3, dod-7 or gutmann.
method = "clear"
# sample (NIST's sampled read-back), full, last or off.
verify = "sample"
# Where the drives go afterwards, for the certificate.
# destination = "returned to lessor"
"#;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StickConfig {
    pub operator: Operator,
    pub method: Method,
    pub verify: VerifyMode,
    pub destination: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    operator: Operator,
    #[serde(default)]
    wipe: Wipe,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Wipe {
    method: Option<String>,
    verify: Option<String>,
    destination: Option<String>,
}

impl StickConfig {
    pub fn load(path: &Path) -> Result<StickConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        StickConfig::parse(&text, path)
    }

    /// `path` only names the file in errors, which carry its line and column.
    pub fn parse(text: &str, path: &Path) -> Result<StickConfig, ConfigError> {
        let parse_error = |message: String| ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        };
        let file: File = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|span| {
                    let before = &text[..span.start.min(text.len())];
                    let line = before.matches('\n').count() + 1;
                    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                    format!("line {line}, column {column}: ")
                })
                .unwrap_or_default();
            parse_error(format!("{at}{}", e.message()))
        })?;
        let method = match file.wipe.method.as_deref() {
            None => Method::Clear,
            Some(name) => parse_method(name).ok_or_else(|| {
                parse_error(format!(
                    "[wipe] method {name:?}: use clear, zero, dod-3, dod-7 or gutmann"
                ))
            })?,
        };
        let verify = match file.wipe.verify.as_deref() {
            None => VerifyMode::Sample,
            Some(name) => parse_verify(name).ok_or_else(|| {
                parse_error(format!(
                    "[wipe] verify {name:?}: use sample, full, last or off"
                ))
            })?,
        };
        Ok(StickConfig {
            operator: file.operator,
            method,
            verify,
            destination: file.wipe.destination,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_template_parses_with_the_defaults() {
        let config = StickConfig::parse(TEMPLATE, Path::new("wisp.toml")).unwrap();
        assert_eq!(config.method, Method::Clear);
        assert_eq!(config.verify, VerifyMode::Sample);
        assert_eq!(config.operator.organization, "Unnamed organization");
        assert_eq!(config.destination, None);
    }

    #[test]
    fn filled_in_settings_are_read() {
        let text = "[operator]\nname = \"Pat Lee\"\norganization = \"Harbor Dental\"\ncontact = \"pat@example.com\"\n[wipe]\nmethod = \"dod-3\"\nverify = \"full\"\ndestination = \"recycler\"\n";
        let config = StickConfig::parse(text, Path::new("wisp.toml")).unwrap();
        assert_eq!(config.operator.name, "Pat Lee");
        assert_eq!(config.operator.contact.as_deref(), Some("pat@example.com"));
        assert_eq!(config.method, Method::Dod3);
        assert_eq!(config.verify, VerifyMode::Full);
        assert_eq!(config.destination.as_deref(), Some("recycler"));
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let text = "[operator]\nname = \"Pat\"\norganisation = \"typo\"\n";
        let err = StickConfig::parse(text, Path::new("/stick/wisp.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("/stick/wisp.toml: line "), "{err}");
        assert!(err.contains("organization"), "{err}");
        let bad_method =
            "[operator]\nname = \"a\"\norganization = \"b\"\n[wipe]\nmethod = \"fast\"\n";
        let err = StickConfig::parse(bad_method, Path::new("wisp.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("method \"fast\""), "{err}");
    }
}
