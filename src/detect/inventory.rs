//! The organisation's package inventory (the seed's `known-packages.txt`): every npm package
//! name its committed lockfiles name, one per line. `phantom-dependency` fires on a package
//! absent from it, named by a lockfile (`inventory check`) or by a cleartext registry request.
//!
//! The file is what `egress-ids inventory build` writes, and what the seed's
//! `build-package-inventory.sh` writes: sorted names, one per line. Blank lines and `#`
//! comments are allowed, so a person may annotate it; any other line must be one package name
//! ([`check_name`]), else the file is refused with its path, line and reason. One exception, for
//! inventories the seed's script already wrote: its `jq ... ltrimstr("node_modules/")` leaves
//! a nested package as `a/node_modules/b`, which is read as `b`, the package it is, and a
//! workspace folder of a monorepo as its path (`packages/cli`), which names no registry package:
//! such lines are skipped and counted ([`Inventory::folders`]), and every place that loads an
//! inventory says how many.
//!
//! Names are compared exactly: the registry treats `JSONStream` and `jsonstream` as two
//! packages (legacy names kept their capitals), so the inventory does too.

use super::signatures::SignatureError;
use rustc_hash::FxHashSet;
use std::path::{Path, PathBuf};

/// Longest package name the npm registry accepts (validate-npm-package-name).
pub(crate) const MAX_NAME_LEN: usize = 214;

/// The package names of an inventory file.
#[derive(Debug, Default, Clone)]
pub struct Inventory {
    names: FxHashSet<Box<str>>,
    /// The file it was read from, for messages.
    path: PathBuf,
    /// Workspace folder paths (`packages/cli`) the seed's script wrote, skipped.
    folders: usize,
}

impl Inventory {
    /// Reads the inventory at `path`; a line that is not a package name is refused with its
    /// path, line and reason.
    pub fn load(path: &Path) -> Result<Self, SignatureError> {
        let text = SignatureError::read(path)?;
        Self::parse(path, &text)
    }

    /// Parses inventory `text` read from `path` (named in errors).
    pub(crate) fn parse(path: &Path, text: &str) -> Result<Self, SignatureError> {
        let mut names = FxHashSet::default();
        let mut folders = 0;
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            // The seed's script writes nested packages as `a/node_modules/b`.
            let line = line
                .rsplit_once("/node_modules/")
                .map_or(line, |(_, name)| name);
            if is_seed_folder(line) {
                folders += 1;
                continue;
            }
            check_name(line).map_err(|reason| SignatureError::BadLine {
                path: path.to_owned(),
                line: i + 1,
                reason: format!(
                    "{reason}; write one npm package name per line (`lodash`, `@types/node`)"
                ),
                text: raw.to_owned(),
            })?;
            names.insert(Box::from(line));
        }
        Ok(Inventory {
            names,
            path: path.to_owned(),
            folders,
        })
    }

    /// An inventory of `names` (tests, and a check against names already in memory).
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        Inventory {
            names: names.into_iter().map(Box::from).collect(),
            path: PathBuf::new(),
            folders: 0,
        }
    }

    /// Whether the inventory names `package` (exactly).
    pub fn contains(&self, package: &str) -> bool {
        self.names.contains(package)
    }

    /// How many names it holds.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether it holds no name at all.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// How many workspace folder lines of the seed's script were skipped.
    pub fn folders(&self) -> usize {
        self.folders
    }

    /// What was read, for a log line: `1630 packages` or `1630 packages (2 workspace folder
    /// lines skipped: ...)`.
    pub fn describe(&self) -> String {
        match self.folders {
            0 => format!("{} packages", self.len()),
            n => format!(
                "{} packages ({n} workspace folder lines skipped: the seed's script writes a monorepo's folders, which name no registry package)",
                self.len()
            ),
        }
    }

    /// The file it was read from (empty for [`Inventory::from_names`]).
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Whether an inventory line is a workspace folder path the seed's `jq ... ltrimstr(...)`
/// writes for a monorepo (`packages/cli`, `apps/web/ui`): a `/` outside a scope, every segment
/// a valid bare name.
fn is_seed_folder(line: &str) -> bool {
    !line.starts_with('@')
        && line.contains('/')
        && line
            .split('/')
            .all(|part| !part.is_empty() && check_name(part).is_ok())
}

/// Whether `name` can be an npm package name: `name` or `@scope/name`, at most
/// [`MAX_NAME_LEN`] bytes, each part non-empty, not starting with `.` or `_`, made of the
/// characters a registry URL carries unescaped (letters, digits, `-._~!$&'()*+,;=:@`, no `/`
/// but the scope's, no `%`, space or control character). Capitals are allowed: old packages
/// (`JSONStream`) have them. The error says what is wrong.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the package name is empty".into());
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "a package name has at most {MAX_NAME_LEN} bytes, this one {}",
            name.len()
        ));
    }
    let (scope, bare) = match name.strip_prefix('@') {
        Some(rest) => match rest.split_once('/') {
            Some((scope, bare)) => (Some(scope), bare),
            None => return Err("a scoped name is @scope/name".into()),
        },
        None => (None, name),
    };
    for part in scope.into_iter().chain([bare]) {
        if part.is_empty() {
            return Err("a scoped name is @scope/name, both parts non-empty".into());
        }
        if part.starts_with('.') || part.starts_with('_') {
            return Err("a package name does not start with `.` or `_`".into());
        }
        if let Some(c) = part.chars().find(|&c| !is_name_char(c)) {
            return Err(format!("{c:?} cannot be in a package name"));
        }
    }
    Ok(())
}

/// A character of a package name: what `encodeURIComponent` leaves alone, plus the few
/// sub-delimiters old registry names carry.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_npm_accepts_and_refuses() {
        for good in [
            "lodash",
            "@types/node",
            "JSONStream",
            "plain-crypto-js",
            "socket.io",
            "@babel/plugin-transform-runtime",
            "a",
        ] {
            assert_eq!(check_name(good), Ok(()), "{good}");
        }
        for (bad, why) in [
            ("", "empty"),
            ("@types", "@scope/name"),
            ("@/x", "both parts"),
            ("@types/", "both parts"),
            (".hidden", "start with"),
            ("_private", "start with"),
            ("a b", "' '"),
            ("a/b", "'/'"),
            ("a%2fb", "'%'"),
            ("caf\u{e9}", "'\u{e9}'"),
        ] {
            let e = check_name(bad).unwrap_err();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
        assert!(check_name(&"x".repeat(214)).is_ok());
        assert!(check_name(&"x".repeat(215)).unwrap_err().contains("214"));
    }

    #[test]
    fn an_inventory_file_with_comments_and_its_errors() {
        let path = Path::new("known-packages.txt");
        let inv = Inventory::parse(
            path,
            "# org inventory\naxios\n\n@types/node  # types\nJSONStream\n",
        )
        .unwrap();
        assert_eq!(inv.len(), 3);
        assert!(inv.contains("axios") && inv.contains("@types/node") && inv.contains("JSONStream"));
        assert!(!inv.contains("jsonstream") && !inv.contains("plain-crypto-js"));
        let seed = Inventory::parse(
            path,
            "\naxios\naxios/node_modules/form-data\npackages/cli\napps/web/ui\n",
        )
        .unwrap();
        assert!(seed.contains("form-data") && seed.len() == 2);
        assert!(!seed.contains("packages/cli") && !seed.contains("cli"));
        assert_eq!(seed.folders(), 2);
        assert!(seed
            .describe()
            .starts_with("2 packages (2 workspace folder lines skipped"));
        let e = Inventory::parse(path, "axios\npackages//cli\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("known-packages.txt:2: '/' cannot be in a package name; write one npm package name per line"),
            "{e}"
        );
    }
}
