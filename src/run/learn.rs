//! `run --learn FILE`: the destinations a clean step reached, written as an allowlist in the
//! signatures format (an `allow-domains` list, ready for `--signatures` on the next runs). Each
//! name is counted by where it was seen (DNS query, TLS or QUIC server name, HTTP host) and, when
//! the host collector named them, the programs that reached it; a file that exists already is
//! merged: its names and counts stay and this run's are added, so several runs build one list.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::Path;

/// Where a name was seen.
const KINDS: [&str; 4] = ["dns", "tls", "quic", "http"];

/// What is known of one name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Seen {
    /// Sightings per kind, in the order of [`KINDS`].
    counts: [u64; 4],
    /// The programs (executable names) that reached it.
    programs: BTreeSet<String>,
}

/// The names a step (or several) reached.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Learned {
    names: BTreeMap<String, Seen>,
}

/// A learned file that cannot be read back.
#[derive(Debug, thiserror::Error)]
pub enum LearnError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "{path}:{line}: {reason}; a learned file holds `# seen ...` comments and one name per line"
    )]
    Bad {
        path: String,
        line: usize,
        reason: String,
    },
    #[error("{path}: cannot write: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

impl Learned {
    /// Notes the destination name an EVE event carries, if it has one.
    pub fn observe(&mut self, event: &Value) {
        let kind = event["event_type"].as_str().unwrap_or("");
        let names: Vec<&str> = match kind {
            "dns" if event["dns"]["type"] == "request" => event["dns"]["queries"]
                .as_array()
                .map(|qs| qs.iter().filter_map(|q| q["rrname"].as_str()).collect())
                .unwrap_or_default(),
            "tls" => event["tls"]["sni"].as_str().into_iter().collect(),
            "quic" => event["quic"]["sni"].as_str().into_iter().collect(),
            "http" => event["http"]["hostname"].as_str().into_iter().collect(),
            _ => return,
        };
        let Some(k) = KINDS.iter().position(|k| *k == kind) else {
            return;
        };
        let program = event["process"]["exe"]
            .as_str()
            .map(|exe| exe.rsplit('/').next().unwrap_or(exe).to_string());
        for name in names {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if !is_host_name(&name) {
                continue;
            }
            let seen = self.names.entry(name).or_default();
            seen.counts[k] += 1;
            seen.programs.extend(program.clone());
        }
    }

    /// The names learned, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.keys().map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Adds what another learned file (or run) holds.
    pub fn merge(&mut self, other: &Learned) {
        for (name, seen) in &other.names {
            let mine = self.names.entry(name.clone()).or_default();
            for (a, b) in mine.counts.iter_mut().zip(seen.counts) {
                *a += b;
            }
            mine.programs.extend(seen.programs.iter().cloned());
        }
    }

    /// Reads a file written by [`Learned::render`] (a plain allowlist works too: its names get
    /// no counts).
    pub fn read(path: &Path) -> Result<Learned, LearnError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| LearnError::Read {
            path: shown.clone(),
            source,
        })?;
        let mut learned = Learned::default();
        let mut pending: Option<Seen> = None;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if let Some(comment) = line.strip_prefix('#') {
                if let Some(rest) = comment.trim().strip_prefix("seen ") {
                    pending = Some(parse_seen(rest).map_err(|reason| LearnError::Bad {
                        path: shown.clone(),
                        line: i + 1,
                        reason,
                    })?);
                }
                continue;
            }
            if line.is_empty() {
                continue;
            }
            if !is_host_name(line) {
                return Err(LearnError::Bad {
                    path: shown,
                    line: i + 1,
                    reason: format!("{line:?} is not a host name"),
                });
            }
            let seen = pending.take().unwrap_or_default();
            learned.merge(&Learned {
                names: BTreeMap::from([(line.to_ascii_lowercase(), seen)]),
            });
        }
        Ok(learned)
    }

    /// The allowlist: a head comment, then for each name a `# seen ...` line and the name.
    pub fn render(&self, origin: &str) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# Destinations learned by `egress-ids run --learn` ({origin}); an allow-domains list:\n\
             # give it to --signatures. Each name matches itself and its subdomains; edit freely\n\
             # (`=name`: the name only, `*.name`: its subdomains only). Learned again into the\n\
             # same file, the counts add up."
        );
        for (name, seen) in &self.names {
            let by: Vec<String> = KINDS
                .iter()
                .zip(seen.counts)
                .filter(|(_, n)| *n > 0)
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            let _ = write!(s, "\n# seen {}", by.join(", "));
            if !seen.programs.is_empty() {
                let programs: Vec<&str> = seen.programs.iter().map(String::as_str).collect();
                let _ = write!(s, "; by {}", programs.join(", "));
            }
            let _ = writeln!(s, "\n{name}");
        }
        s
    }

    /// Merges into `path` (when it exists) and writes it back.
    pub fn save(&self, path: &Path, origin: &str) -> Result<Learned, LearnError> {
        let mut all = if path.exists() {
            Learned::read(path)?
        } else {
            Learned::default()
        };
        all.merge(self);
        std::fs::write(path, all.render(origin)).map_err(|source| LearnError::Write {
            path: path.display().to_string(),
            source,
        })?;
        Ok(all)
    }
}

/// Reads every file of `inputs`, adds them up and writes the sum to `out` (replacing it);
/// returns how many names it holds.
pub fn merge_files(out: &Path, inputs: &[std::path::PathBuf]) -> Result<usize, LearnError> {
    let mut all = Learned::default();
    for path in inputs {
        all.merge(&Learned::read(path)?);
    }
    let origin = format!(
        "merged from {} files by `egress-ids merge-learned`",
        inputs.len()
    );
    std::fs::write(out, all.render(&origin)).map_err(|source| LearnError::Write {
        path: out.display().to_string(),
        source,
    })?;
    Ok(all.names.len())
}

/// `dns 2, tls 3; by curl, node` back into counts and programs.
fn parse_seen(text: &str) -> Result<Seen, String> {
    let (counts, programs) = match text.split_once("; by ") {
        Some((c, p)) => (c, Some(p)),
        None => (text, None),
    };
    let mut seen = Seen::default();
    for part in counts.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (kind, n) = part
            .split_once(' ')
            .ok_or_else(|| format!("{part:?} is not `KIND COUNT`"))?;
        let k = KINDS
            .iter()
            .position(|x| *x == kind)
            .ok_or_else(|| format!("{kind:?} is not dns, tls, quic or http"))?;
        seen.counts[k] = n.parse().map_err(|_| format!("{n:?} is not a count"))?;
    }
    if let Some(p) = programs {
        seen.programs = p.split(',').map(|s| s.trim().to_string()).collect();
    }
    Ok(seen)
}

/// A name the allowlist can hold: labels of letters, digits, `-` and `_`, not an address.
fn is_host_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.parse::<IpAddr>().is_err()
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_from_every_kind_of_event_count_and_merge() {
        let mut l = Learned::default();
        l.observe(&json!({"event_type": "dns", "dns": {"type": "request", "queries": [{"rrname": "Registry.npmjs.org."}]}}));
        l.observe(&json!({"event_type": "dns", "dns": {"type": "response", "queries": [{"rrname": "ignored.example"}]}}));
        l.observe(&json!({"event_type": "tls", "tls": {"sni": "registry.npmjs.org"}, "process": {"exe": "/usr/bin/node"}}));
        l.observe(&json!({"event_type": "http", "http": {"hostname": "203.0.113.7"}}));
        l.observe(&json!({"event_type": "quic", "quic": {"sni": "cdn.example.org"}}));
        assert_eq!(
            l.names().collect::<Vec<_>>(),
            ["cdn.example.org", "registry.npmjs.org"]
        );
        let text = l.render("test");
        assert!(
            text.contains("# seen dns 1, tls 1; by node\nregistry.npmjs.org\n"),
            "{text}"
        );
        let dir = std::env::temp_dir().join(format!("egress-ids-learn-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ci.allow-domains.txt");
        let _ = std::fs::remove_file(&path);
        l.save(&path, "run 1").unwrap();
        let all = l.save(&path, "run 2").unwrap();
        assert!(all
            .render("x")
            .contains("# seen dns 2, tls 2; by node\nregistry.npmjs.org\n"));
        // The file is a valid signatures list.
        let sigs =
            crate::detect::signatures::Signatures::load(std::slice::from_ref(&path), true).unwrap();
        assert!(sigs.allow_domains.contains("api.registry.npmjs.org"));
        std::fs::write(&path, "# seen dns x\nexample.org\n").unwrap();
        assert!(Learned::read(&path)
            .unwrap_err()
            .to_string()
            .contains(":1: \"x\" is not a count"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn learned_files_of_several_jobs_merge_into_one() {
        let dir = crate::testutil::scratch("learn-merge");
        let (a, b, out) = (
            dir.join("a.allow-domains.txt"),
            dir.join("b.allow-domains.txt"),
            dir.join("all.allow-domains.txt"),
        );
        std::fs::write(&a, "# seen dns 2, tls 1; by node\nregistry.npmjs.org\n").unwrap();
        std::fs::write(
            &b,
            "# seen dns 1; by curl\nregistry.npmjs.org\n\n# seen tls 4\ngithub.com\n",
        )
        .unwrap();
        assert_eq!(merge_files(&out, &[a.clone(), b]).unwrap(), 2);
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(text.contains("merged from 2 files"), "{text}");
        assert!(
            text.contains("# seen dns 3, tls 1; by curl, node\nregistry.npmjs.org\n"),
            "{text}"
        );
        assert!(text.contains("# seen tls 4\ngithub.com\n"), "{text}");
        let missing = dir.join("gone.allow-domains.txt");
        let err = merge_files(&out, &[a, missing]).unwrap_err().to_string();
        assert!(err.contains("gone.allow-domains.txt: cannot read"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
