//! The lockfiles under the paths given to `inventory build`: a file is taken as it is (when it
//! has a lockfile's name), a directory is walked. Like the seed's `find -not -path
//! "*/node_modules/*"`, `node_modules` folders are skipped (what npm installed there is not the
//! organisation's choice), and `.git` too; symbolic links to directories are not followed, so a
//! link loop cannot make the walk endless (a link to a lockfile is read).

use super::lockfile::Format;
use std::path::{Path, PathBuf};

/// Folders never entered.
const SKIPPED: [&str; 2] = ["node_modules", ".git"];

/// What a walk found: lockfiles in a stable order (sorted by path), and what it could not read.
#[derive(Debug, Default)]
pub struct Found {
    pub lockfiles: Vec<PathBuf>,
    /// A path that could not be read or is no lockfile, with the reason.
    pub problems: Vec<(PathBuf, String)>,
}

/// The lockfiles of `paths`.
pub fn find(paths: &[PathBuf]) -> Found {
    let mut found = Found::default();
    for path in paths {
        match std::fs::metadata(path) {
            Err(e) => found.problems.push((path.clone(), e.to_string())),
            Ok(m) if m.is_dir() => walk(path, &mut found),
            Ok(_) if Format::is_lockfile_name(path) => found.lockfiles.push(path.clone()),
            Ok(_) => found.problems.push((
                path.clone(),
                "not a lockfile name (package-lock.json, npm-shrinkwrap.json, yarn.lock, pnpm-lock.yaml)"
                    .into(),
            )),
        }
    }
    found.lockfiles.sort();
    found.lockfiles.dedup();
    found
}

/// Walks `root` depth first, without recursion.
fn walk(root: &Path, found: &mut Found) {
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) => {
                found.problems.push((dir, e.to_string()));
                continue;
            }
        };
        for entry in entries.flatten() {
            let path = entry.path();
            // The entry's own type: a symbolic link is not followed here.
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                let name = entry.file_name();
                if !SKIPPED.iter().any(|s| name == *s) {
                    dirs.push(path);
                }
            } else if Format::is_lockfile_name(&path) && path.is_file() {
                found.lockfiles.push(path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_node_modules_git_and_link_loops() {
        let dir = std::env::temp_dir().join(format!("egress-ids-walk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for sub in ["a", "a/node_modules/x", ".git", "b/c"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        for file in [
            "a/package-lock.json",
            "a/node_modules/x/package-lock.json",
            ".git/yarn.lock",
            "b/c/pnpm-lock.yaml",
            "b/package.json",
        ] {
            std::fs::write(dir.join(file), "{}").unwrap();
        }
        std::os::unix::fs::symlink(&dir, dir.join("b/loop")).unwrap();
        let found = find(&[dir.clone(), dir.join("missing")]);
        assert_eq!(
            found.lockfiles,
            [
                dir.join("a/package-lock.json"),
                dir.join("b/c/pnpm-lock.yaml")
            ]
        );
        assert_eq!(found.problems.len(), 1);
        assert_eq!(found.problems[0].0, dir.join("missing"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
