//! `egress-ids inventory check` (and `run --inventory` before its command): the packages each
//! lockfile names and the inventory lacks. For a person, the seed's block per lockfile
//! (`ALERT: Unknown packages not in organisation inventory:` and the names, indented); for a
//! SIEM, one `phantom-dependency` EVE alert per unknown package per lockfile, with no flow:
//! `alert.metadata` carries the detection, the package (`indicator`), the `lockfile` path and
//! the CI job ([`CiContext`]) when the environment names one.

use super::build;
use crate::detect::inventory::Inventory;
use crate::detect::{Detection, Hit, Source};
use crate::eve::event::FlowlessAlert;
use proto::Timestamp;
use std::path::PathBuf;

/// The exit status when some lockfile names an unknown package.
pub const EXIT_UNKNOWN: u8 = 1;
/// The exit status for bad input: the inventory or a lockfile unreadable or unparsable.
pub const EXIT_BAD_INPUT: u8 = 2;

/// The CI job that runs the check, from the variables its CI system sets: GitHub Actions
/// (`GITHUB_REPOSITORY`, `GITHUB_RUN_ID`), GitLab CI (`CI_PROJECT_PATH`, `CI_PIPELINE_ID`) or
/// the seed's own (`CI_REPO`, `CI_PIPELINE_ID`), first set first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CiContext {
    pub repository: Option<String>,
    pub pipeline: Option<String>,
}

impl CiContext {
    /// From this process's environment.
    pub fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// From `var` (the environment, or a test's map); empty values count as unset.
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Self {
        let first = |keys: &[&str]| keys.iter().find_map(|k| var(k).filter(|v| !v.is_empty()));
        CiContext {
            repository: first(&["GITHUB_REPOSITORY", "CI_PROJECT_PATH", "CI_REPO"]),
            pipeline: first(&["GITHUB_RUN_ID", "CI_PIPELINE_ID"]),
        }
    }
}

/// What one lockfile gave: its unknown packages (sorted), or why it could not be read.
#[derive(Debug)]
pub struct FileCheck {
    pub path: PathBuf,
    pub outcome: Result<Vec<String>, String>,
}

/// The check of some lockfiles.
#[derive(Debug, Default)]
pub struct Checked {
    pub files: Vec<FileCheck>,
}

/// Checks each of `lockfiles` against `inventory`.
pub fn check(inventory: &Inventory, lockfiles: &[PathBuf]) -> Checked {
    let files = lockfiles
        .iter()
        .map(|path| FileCheck {
            path: path.clone(),
            outcome: build::read(path).map(|(_, names, _)| {
                names
                    .into_iter()
                    .filter(|n| !inventory.contains(n))
                    .collect()
            }),
        })
        .collect();
    Checked { files }
}

impl Checked {
    /// Unknown packages over all lockfiles (a package in two lockfiles counts twice).
    pub fn unknown(&self) -> usize {
        self.files
            .iter()
            .map(|f| f.outcome.as_ref().map_or(0, Vec::len))
            .sum()
    }

    /// Whether a lockfile could not be read.
    pub fn bad_input(&self) -> bool {
        self.files.iter().any(|f| f.outcome.is_err())
    }

    /// 2 when a lockfile could not be read (a gate fails closed), else 1 when a package is
    /// unknown, else 0.
    pub fn exit_code(&self) -> u8 {
        if self.bad_input() {
            EXIT_BAD_INPUT
        } else {
            u8::from(self.unknown() > 0) * EXIT_UNKNOWN
        }
    }

    /// The report for a person: per lockfile the seed's alert block, or its all-clear line, or
    /// why it could not be read.
    pub fn render(&self) -> String {
        let mut s = String::new();
        for f in &self.files {
            match &f.outcome {
                Ok(unknown) if unknown.is_empty() => {
                    s += &format!(
                        "{}: All packages present in organisation inventory.\n",
                        f.path.display()
                    )
                }
                Ok(unknown) => {
                    s += &format!(
                        "{}: ALERT: Unknown packages not in organisation inventory:\n",
                        f.path.display()
                    );
                    for name in unknown {
                        s += &format!("  {name}\n");
                    }
                }
                Err(why) => s += &format!("{}: cannot check: {why}\n", f.path.display()),
            }
        }
        s
    }

    /// One `phantom-dependency` EVE alert line (JSON, no newline) per unknown package per
    /// lockfile, stamped `now`.
    pub fn eve_lines(&self, ci: &CiContext, now: Timestamp) -> Vec<Vec<u8>> {
        let mut lines = Vec::new();
        for f in &self.files {
            let Ok(unknown) = &f.outcome else { continue };
            let lockfile = f.path.to_string_lossy();
            for name in unknown {
                let hit = Hit::new(
                    Detection::PhantomDependency,
                    name.as_str(),
                    Source::Lockfile,
                );
                lines.push(FlowlessAlert::to_json(
                    now,
                    &hit,
                    &lockfile,
                    ci.repository.as_deref(),
                    ci.pipeline.as_deref(),
                ));
            }
        }
        lines
    }
}

/// The wall-clock time as an EVE timestamp.
pub fn now() -> Timestamp {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_parts(
        i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
        u64::from(since.subsec_micros()),
        1_000_000,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_context_github_gitlab_and_the_seed() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            CiContext::from_lookup(move |k| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            })
        };
        let gh = env(&[
            ("GITHUB_REPOSITORY", "org/app"),
            ("GITHUB_RUN_ID", "42"),
            ("CI_REPO", "x"),
        ]);
        assert_eq!(
            (gh.repository.as_deref(), gh.pipeline.as_deref()),
            (Some("org/app"), Some("42"))
        );
        let gl = env(&[("CI_PROJECT_PATH", "grp/app"), ("CI_PIPELINE_ID", "7")]);
        assert_eq!(
            (gl.repository.as_deref(), gl.pipeline.as_deref()),
            (Some("grp/app"), Some("7"))
        );
        let seed = env(&[("CI_REPO", "app"), ("GITHUB_RUN_ID", "")]);
        assert_eq!(
            (seed.repository.as_deref(), seed.pipeline),
            (Some("app"), None)
        );
    }

    #[test]
    fn an_unknown_package_becomes_an_alert_line() {
        let dir = std::env::temp_dir().join(format!("egress-ids-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let lock = dir.join("package-lock.json");
        std::fs::write(
            &lock,
            r#"{"lockfileVersion":3,"packages":{"":{},"node_modules/axios":{},"node_modules/plain-crypto-js":{}}}"#,
        )
        .unwrap();
        let inv = Inventory::from_names(["axios"]);
        let checked = check(&inv, std::slice::from_ref(&lock));
        assert_eq!((checked.unknown(), checked.exit_code()), (1, 1));
        assert!(checked.render().ends_with(
            "ALERT: Unknown packages not in organisation inventory:\n  plain-crypto-js\n"
        ));
        let ci = CiContext {
            repository: Some("org/app".into()),
            pipeline: None,
        };
        let lines = checked.eve_lines(&ci, Timestamp::from_parts(1_774_958_400, 0, 1));
        let v: serde_json::Value = serde_json::from_slice(&lines[0]).unwrap();
        assert_eq!(v["event_type"], "alert");
        assert_eq!(v["timestamp"], "2026-03-31T12:00:00.000000+0000");
        assert_eq!(v["alert"]["signature_id"], 9_200_011);
        let m = &v["alert"]["metadata"];
        assert_eq!(m["detection"][0], "phantom-dependency");
        assert_eq!(m["indicator"][0], "plain-crypto-js");
        assert_eq!(m["lockfile"][0], lock.to_string_lossy().as_ref());
        assert_eq!(m["ci_repository"][0], "org/app");
        assert!(m.get("ci_pipeline").is_none() && v.get("src_ip").is_none());
        let missing = check(&inv, &[dir.join("nope/package-lock.json")]);
        assert_eq!(missing.exit_code(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
