//! `run --inventory FILE -- CMD`: before CMD starts, the lockfiles in the step's working
//! directory (package-lock.json, npm-shrinkwrap.json, yarn.lock, pnpm-lock.yaml: those the
//! package manager CMD runs will install from; subdirectories are not searched) are checked
//! against the inventory. An unknown package fails the step before CMD starts (exit
//! [`EXIT_CALLED_HOME`](super::EXIT_CALLED_HOME)); with `--audit` it is reported and CMD runs.
//! No lockfile there: said, and CMD runs (`npm install` without a lockfile is a step the
//! registry watch still covers). A lockfile that cannot be read: CMD does not run (exit 2), as a
//! gate must fail closed.

use crate::detect::inventory::Inventory;
use crate::inventory::check::{self, Checked, CiContext};
use crate::inventory::lockfile::FILE_NAMES;
use std::path::{Path, PathBuf};

/// The check done before the command.
pub struct Preflight {
    /// What to print (the check's report, or that there was no lockfile).
    pub report: String,
    /// Unknown packages over all lockfiles.
    pub unknown: usize,
    /// The `phantom-dependency` EVE lines.
    pub lines: Vec<Vec<u8>>,
}

/// Why the check could not be done.
#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    #[error("--inventory: {0}")]
    Inventory(crate::detect::signatures::SignatureError),
    #[error("the lockfile check failed, the command was not started:\n{0}")]
    Lockfile(String),
}

/// Checks the lockfiles in `dir` against the inventory at `inventory`.
pub fn preflight(inventory: &Path, dir: &Path) -> Result<Preflight, PreflightError> {
    let inventory = Inventory::load(inventory).map_err(PreflightError::Inventory)?;
    // Said once: lines of the seed's script that name a workspace folder, not a package.
    let note = if inventory.folders() > 0 {
        format!("{}: {}\n", inventory.path().display(), inventory.describe())
    } else {
        String::new()
    };
    let lockfiles: Vec<PathBuf> = FILE_NAMES
        .iter()
        .map(|name| dir.join(name))
        .filter(|p| p.is_file())
        .collect();
    if lockfiles.is_empty() {
        return Ok(Preflight {
            report: format!(
                "{note}no lockfile in {} ({}): nothing to check before the command\n",
                dir.display(),
                FILE_NAMES.join(", ")
            ),
            unknown: 0,
            lines: Vec::new(),
        });
    }
    let checked: Checked = check::check(&inventory, &lockfiles);
    if checked.bad_input() {
        return Err(PreflightError::Lockfile(checked.render()));
    }
    Ok(Preflight {
        report: note + &checked.render(),
        unknown: checked.unknown(),
        lines: checked.eve_lines(&CiContext::from_env(), check::now()),
    })
}
