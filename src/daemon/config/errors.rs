//! Errors of the daemon's configuration: each names the file, the line and column (counted in
//! characters), the key as a dotted path, and what to write instead; serde's and TOML's own
//! messages are put in TOML's words.

use crate::detect::signatures::SignatureError;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A position in the configuration file, both 1-based; the column counts characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    pub(crate) column: usize,
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: cannot read the configuration: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A syntax error, an unknown key, a value of the wrong type or out of range.
    #[error("{}{}: {message}", path.display(), location.map(|l| format!(":{}:{}", l.line, l.column)).unwrap_or_default())]
    Invalid {
        path: PathBuf,
        /// Where in the file, when known.
        location: Option<Location>,
        /// The key, as a dotted path (`capture.interfaces`, `output[1].url`), when known.
        key: Option<String>,
        /// What is wrong and what to write instead; names the key.
        message: String,
    },
    /// A signature file named in `detect.signatures` is refused.
    #[error("{}: detect.signatures: {source}", path.display())]
    Signatures {
        path: PathBuf,
        source: SignatureError,
    },
    /// The policy file named in `detect.egress_policy` is refused.
    #[error("{}: detect.egress_policy: {source}", path.display())]
    EgressPolicy {
        path: PathBuf,
        source: SignatureError,
    },
    /// The inventory file named in `detect.inventory` is refused.
    #[error("{}: detect.inventory: {source}", path.display())]
    Inventory {
        path: PathBuf,
        source: SignatureError,
    },
}

/// The file being read, for messages.
pub(super) struct Doc<'a> {
    pub(super) text: &'a str,
    pub(super) path: &'a Path,
}

impl Doc<'_> {
    /// The 1-based line and column of byte `offset`.
    pub(super) fn locate(&self, offset: usize) -> Location {
        let offset = offset.min(self.text.len());
        let before = self.text.get(..offset).unwrap_or(self.text);
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Location {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }

    /// An error about `key` at `span`.
    pub(super) fn error(
        &self,
        span: Range<usize>,
        key: &str,
        message: impl fmt::Display,
    ) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.to_path_buf(),
            location: Some(self.locate(span.start)),
            key: Some(key.to_string()),
            message: format!("{key}: {message}"),
        }
    }

    /// A serde/TOML error, with the key it is about when the position names one.
    pub(super) fn toml_error(&self, e: &toml::de::Error) -> ConfigError {
        let span = e.span();
        let key = span.as_ref().and_then(|s| key_at(self.text, s.start));
        let raw = plain_words(e.message().trim_end());
        let message = match (&key, raw.strip_prefix("unknown field ")) {
            (Some(key), Some(rest)) => {
                let (name, keys) = rest.split_once(", expected ").unwrap_or((rest, ""));
                let keys = keys
                    .strip_prefix("one of ")
                    .unwrap_or(keys)
                    .replace(" or ", ", ");
                let place = match key.rsplit_once('.') {
                    Some((table, _)) if table.ends_with(']') => format!("in {table}"),
                    Some((table, _)) => format!("in [{table}]"),
                    None => "at the top level".into(),
                };
                format!("unknown key {name} {place}; the keys there are {keys}")
            }
            (Some(key), None) => format!("{key}: {raw}"),
            (None, None) if raw == "duplicate key" => {
                let name = span.and_then(|s| self.text.get(s)).unwrap_or_default();
                format!("duplicate key `{}`; give each key once", name.trim())
            }
            (None, _) => raw,
        };
        ConfigError::Invalid {
            path: self.path.to_path_buf(),
            location: e.span().map(|s| self.locate(s.start)),
            key,
            message,
        }
    }
}

/// serde's words for types, in TOML's.
fn plain_words(message: &str) -> String {
    let mut m = message.replace("missing field", "missing key");
    for (rust, toml) in [
        ("i64", "an integer"),
        ("a sequence", "an array"),
        ("a map", "a table"),
        ("a boolean", "true or false"),
    ] {
        m = m.replace(&format!("expected {rust}"), &format!("expected {toml}"));
    }
    // `expected struct RawCapture` and the like.
    if let Some(at) = m.find("expected struct ") {
        m.truncate(at);
        m.push_str("expected a table");
    }
    m
}

/// The dotted key path (`capture.interfaces`, `output[1].url`) whose key or value holds byte
/// `offset`, the deepest one.
fn key_at(text: &str, offset: usize) -> Option<String> {
    fn walk(value: &toml::de::DeValue<'_>, offset: usize, path: &mut String) -> bool {
        if let Some(table) = value.as_table() {
            for (k, v) in table.iter() {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k.get_ref());
                if walk(v.get_ref(), offset, path)
                    || k.span().contains(&offset)
                    || v.span().contains(&offset)
                {
                    return true;
                }
                path.truncate(len);
            }
        } else if let Some(array) = value.as_array() {
            for (i, v) in array.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                if walk(v.get_ref(), offset, path) || v.span().contains(&offset) {
                    return true;
                }
                path.truncate(len);
            }
        }
        false
    }
    let (doc, _) = toml::de::DeTable::parse_recoverable(text);
    let mut path = String::new();
    let root = toml::de::DeValue::Table(doc.into_inner());
    walk(&root, offset, &mut path).then_some(path)
}
