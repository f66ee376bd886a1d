//! The two `inventory` subcommands as the command line runs them: what goes to stdout and
//! stderr, and the exit code. `main.rs` only parses the arguments and calls these.

use super::{build, check};
use crate::detect::inventory::Inventory;
use std::io::Write;
use std::path::{Path, PathBuf};

/// `egress-ids inventory build [--out FILE] PATH...`: the summary on stderr, the inventory to
/// `out` (atomically) or stdout. `Ok(0)`: every lockfile read; `Ok(1)`: written, but something
/// was skipped (named in the summary); `Err`: nothing written (exit 2), with the reason.
pub fn build_command(out: Option<&Path>, paths: &[PathBuf]) -> Result<u8, String> {
    let built = build::build(paths);
    eprint!("{}", built.summary());
    if built.files.iter().all(|f| f.outcome.is_err()) {
        return Err("no lockfile read: no inventory written".into());
    }
    let text = built.text();
    match out {
        Some(path) => build::write_atomic(path, &text)
            .map_err(|e| format!("{}: cannot write: {e}", path.display()))?,
        None => std::io::stdout()
            .write_all(text.as_bytes())
            .map_err(|e| format!("standard output: {e}"))?,
    }
    Ok(u8::from(!built.complete()))
}

/// `egress-ids inventory check --inventory FILE [--eve FILE|-] LOCKFILE...`: the seed's report
/// on stdout (stderr when the alerts go to stdout), one EVE alert per unknown package and
/// lockfile to `eve`. `Ok(0)`: all known; `Ok(1)`: some unknown; `Ok(2)`: a lockfile could not
/// be read (the others are reported); `Err`: the inventory or the EVE output failed (exit 2).
pub fn check_command(
    inventory: &Path,
    eve: Option<&Path>,
    lockfiles: &[PathBuf],
) -> Result<u8, String> {
    let inventory = Inventory::load(inventory).map_err(|e| e.to_string())?;
    if inventory.folders() > 0 {
        eprintln!(
            "egress-ids: {}: {}",
            inventory.path().display(),
            inventory.describe()
        );
    }
    let checked = check::check(&inventory, lockfiles);
    let lines = checked.eve_lines(&check::CiContext::from_env(), check::now());
    let to_stdout = eve == Some(Path::new("-"));
    let report = checked.render();
    if to_stdout {
        eprint!("{report}");
    } else {
        print!("{report}");
    }
    if let Some(path) = eve {
        let mut text = Vec::new();
        for line in &lines {
            text.extend_from_slice(line);
            text.push(b'\n');
        }
        let written = if to_stdout {
            std::io::stdout().write_all(&text)
        } else {
            std::fs::write(path, &text)
        };
        written.map_err(|e| format!("{}: cannot write EVE: {e}", path.display()))?;
    }
    Ok(checked.exit_code())
}
