//! `egress-ids inventory build`: the inventory of the lockfiles found under some paths. Every
//! lockfile is read on its own; one that cannot be read or parsed is named with the reason and
//! left out, never silently. The names are sorted (byte order) and each written once, one per
//! line, to a temporary file beside the target and renamed over it, as the seed does, so a
//! reader never sees half an inventory.

use super::lockfile::{self, Format};
use super::walk;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What one lockfile gave.
#[derive(Debug)]
pub struct FileResult {
    pub path: PathBuf,
    /// The format and the count of registry names and local entries, or why it was skipped.
    pub outcome: Result<(Format, usize, usize), String>,
}

/// The inventory built.
#[derive(Debug, Default)]
pub struct Built {
    pub names: BTreeSet<String>,
    pub files: Vec<FileResult>,
    /// Paths given that could not be read, or are no lockfile.
    pub problems: Vec<(PathBuf, String)>,
}

impl Built {
    /// Whether every path and lockfile was read.
    pub fn complete(&self) -> bool {
        self.problems.is_empty() && self.files.iter().all(|f| f.outcome.is_ok())
    }

    /// The summary for stderr: one line per lockfile (format and counts, or the reason it was
    /// skipped), one per problem, and the total.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        for f in &self.files {
            s += &match &f.outcome {
                Ok((format, names, local)) => format!(
                    "{}: {}, {names} packages, {local} local entries\n",
                    f.path.display(),
                    format.name()
                ),
                Err(why) => format!("{}: skipped: {why}\n", f.path.display()),
            };
        }
        for (path, why) in &self.problems {
            s += &format!("{}: skipped: {why}\n", path.display());
        }
        let read = self.files.iter().filter(|f| f.outcome.is_ok()).count();
        s += &format!(
            "inventory: {} unique packages from {read} of {} lockfiles\n",
            self.names.len(),
            self.files.len()
        );
        s
    }

    /// The inventory file's text: one name per line.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for name in &self.names {
            s += name;
            s.push('\n');
        }
        s
    }
}

/// Reads one lockfile: its format and names.
pub fn read(path: &Path) -> Result<(Format, Vec<String>, usize), String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let text = String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())?;
    let format = Format::of(path, &text).ok_or("not a lockfile name")?;
    let lock = lockfile::parse(format, &text).map_err(|e| format!("{}: {e}", format.name()))?;
    let names = lock.packages.iter().map(|n| n.to_string()).collect();
    Ok((format, names, lock.local))
}

/// The inventory of the lockfiles under `paths`.
pub fn build(paths: &[PathBuf]) -> Built {
    let found = walk::find(paths);
    let mut built = Built {
        problems: found.problems,
        ..Built::default()
    };
    for path in found.lockfiles {
        let outcome = read(&path).map(|(format, names, local)| {
            let count = names.len();
            built.names.extend(names);
            (format, count, local)
        });
        built.files.push(FileResult { path, outcome });
    }
    built
}

/// Writes `text` to `path` atomically: `PATH.tmp` beside it, then renamed over it.
pub fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
