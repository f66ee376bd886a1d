//! The package names of one lockfile, one small parser per format: npm's package-lock.json and
//! npm-shrinkwrap.json ([`npm`], lockfile versions 1 to 3), yarn.lock in yarn 1's own format
//! ([`yarn_v1`]) and in yarn berry's YAML ([`yarn_berry`]), and pnpm-lock.yaml ([`pnpm`], v5.x,
//! v6 and v9). Each is a pure function from the file's text to the names, borrowed from it where
//! the format allows, or a [`LockfileError`] saying why not; none panics (`fuzz/fuzz_targets/
//! lockfile.rs` runs them all).
//!
//! What every parser yields, the same for all formats:
//!
//! - the name the **registry serves**: an alias (`"foo": "npm:bar@1"`, pnpm's and berry's
//!   resolutions) yields `bar`, the real package, and not `foo`, the folder name the project
//!   chose: a registry request never carries the alias, and an inventory that held it would let
//!   a real package of that name pass;
//! - nothing for the project's own, **local** packages: npm's root (`""`), its workspace folders
//!   (keys not under `node_modules/`) and their `link: true` entries, `file:` versions; yarn's
//!   and pnpm's `workspace:`, `link:`, `portal:`, `file:` references, pnpm's importers. They are
//!   counted ([`Lockfile::local`]), not named: no registry serves them;
//! - scoped names whole (`@babel/core`), each name checked by
//!   [`check_name`]: a lockfile naming something that
//!   cannot be a package is refused, not half-read.

pub mod npm;
pub mod pnpm;
mod yaml;
pub mod yarn_berry;
pub mod yarn_v1;

use crate::detect::inventory::check_name;
use std::borrow::Cow;
use std::path::Path;

/// The lockfile formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    /// package-lock.json or npm-shrinkwrap.json (lockfileVersion 1, 2 or 3).
    Npm,
    /// yarn.lock of yarn 1 (`# yarn lockfile v1`).
    YarnV1,
    /// yarn.lock of yarn 2 and later (YAML with `__metadata`).
    YarnBerry,
    /// pnpm-lock.yaml.
    Pnpm,
}

/// The file names of lockfiles, as the package managers write them.
pub const FILE_NAMES: [&str; 4] = [
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
];

impl Format {
    /// The format of a file by its name, with its text for yarn.lock (v1 or berry); `None`
    /// for a file that is no lockfile.
    pub fn of(path: &Path, text: &str) -> Option<Format> {
        match path.file_name()?.to_str()? {
            "package-lock.json" | "npm-shrinkwrap.json" => Some(Format::Npm),
            "yarn.lock" if yarn_berry::is_berry(text) => Some(Format::YarnBerry),
            "yarn.lock" => Some(Format::YarnV1),
            "pnpm-lock.yaml" => Some(Format::Pnpm),
            _ => None,
        }
    }

    /// Whether `path` has a lockfile's name.
    pub fn is_lockfile_name(path: &Path) -> bool {
        path.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| FILE_NAMES.contains(&n))
    }

    /// How the summary names it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Npm => "npm",
            Format::YarnV1 => "yarn-v1",
            Format::YarnBerry => "yarn-berry",
            Format::Pnpm => "pnpm",
        }
    }
}

/// The packages one lockfile names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lockfile<'a> {
    pub format: Format,
    /// Registry package names, sorted, each once.
    pub packages: Vec<Cow<'a, str>>,
    /// Entries for the project's own packages (root, workspaces, links, `file:`), not named.
    pub local: usize,
}

/// Why a lockfile could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockfileError {
    #[error("not valid JSON for an npm lockfile: {0}")]
    Json(String),
    #[error("not valid YAML: {0}")]
    Yaml(String),
    #[error("line {line}: {reason}")]
    Line { line: usize, reason: String },
    #[error("{0}")]
    Shape(String),
    #[error("{name:?} is not a package name: {reason}")]
    BadName { name: String, reason: String },
}

/// The names the parsers collect, before [`finish`].
#[derive(Default)]
pub(crate) struct Names<'a> {
    pub(crate) packages: Vec<Cow<'a, str>>,
    pub(crate) local: usize,
}

impl<'a> Names<'a> {
    pub(crate) fn package(&mut self, name: impl Into<Cow<'a, str>>) {
        self.packages.push(name.into());
    }
}

/// Parses `text` as a lockfile of `format`.
pub fn parse(format: Format, text: &str) -> Result<Lockfile<'_>, LockfileError> {
    let names = match format {
        Format::Npm => npm::parse(text)?,
        Format::YarnV1 => yarn_v1::parse(text)?,
        Format::YarnBerry => yarn_berry::parse(text)?,
        Format::Pnpm => pnpm::parse(text)?,
    };
    finish(format, names)
}

/// Checks, sorts and dedups the names.
fn finish<'a>(format: Format, names: Names<'a>) -> Result<Lockfile<'a>, LockfileError> {
    let Names {
        mut packages,
        local,
    } = names;
    for name in &packages {
        check_name(name).map_err(|reason| LockfileError::BadName {
            name: name.to_string(),
            reason,
        })?;
    }
    packages.sort_unstable();
    packages.dedup();
    Ok(Lockfile {
        format,
        packages,
        local,
    })
}

/// A yarn/pnpm descriptor `name@range` split at the `@` that ends the name (a scope's leading
/// `@` is part of it); `None` without one.
pub(crate) fn split_descriptor(d: &str) -> Option<(&str, &str)> {
    let at = d.get(1..)?.find('@')? + 1;
    Some((&d[..at], &d[at + 1..]))
}

/// Whether a version or reference names the project's own files, not a registry package.
pub(crate) fn is_local_reference(reference: &str) -> bool {
    ["workspace:", "link:", "portal:", "file:"]
        .iter()
        .any(|p| reference.starts_with(p))
}

/// The package a yarn range or npm version resolves to: `npm:real@1` names `real` (an alias),
/// a local reference nothing (`None`), anything else `name` itself.
pub(crate) fn resolve_alias<'a>(name: &'a str, range: &'a str) -> Option<&'a str> {
    if is_local_reference(range) {
        return None;
    }
    match range.strip_prefix("npm:") {
        Some(rest) => Some(split_descriptor(rest).map_or(name, |(real, _)| real)),
        None => Some(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_and_aliases() {
        assert_eq!(split_descriptor("a@^1"), Some(("a", "^1")));
        assert_eq!(split_descriptor("@s/a@npm:^1"), Some(("@s/a", "npm:^1")));
        assert_eq!(split_descriptor("@s/a"), None);
        assert_eq!(split_descriptor(""), None);
        assert_eq!(resolve_alias("foo", "npm:bar@^1"), Some("bar"));
        assert_eq!(resolve_alias("foo", "npm:@s/bar@1.0.0"), Some("@s/bar"));
        assert_eq!(resolve_alias("foo", "npm:^1"), Some("foo"));
        assert_eq!(resolve_alias("foo", "workspace:*"), None);
        assert_eq!(resolve_alias("foo", "file:../foo"), None);
        assert_eq!(resolve_alias("foo", "^1.2.3"), Some("foo"));
    }

    #[test]
    fn formats_by_file_name() {
        let f = |p: &str, t: &str| Format::of(Path::new(p), t);
        assert_eq!(f("a/package-lock.json", ""), Some(Format::Npm));
        assert_eq!(f("npm-shrinkwrap.json", ""), Some(Format::Npm));
        assert_eq!(f("yarn.lock", "# yarn lockfile v1\n"), Some(Format::YarnV1));
        assert_eq!(
            f("yarn.lock", "__metadata:\n  version: 6\n"),
            Some(Format::YarnBerry)
        );
        assert_eq!(f("x/pnpm-lock.yaml", ""), Some(Format::Pnpm));
        assert_eq!(f("package.json", ""), None);
    }
}
