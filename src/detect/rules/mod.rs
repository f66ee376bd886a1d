//! Suricata rules: loaded from files (`--rules`), compiled once, matched on the transactions
//! egress-ids parses (DNS requests, TLS and QUIC ClientHellos, HTTP requests).
//!
//! The chain: [`parse`] splits a file into statements and options; [`header`] and [`vars`]
//! read the header; [`compile`] turns options into a [`compile::Rule`] with a [`inspect`]
//! program per buffer ([`content`], [`pcre`]); [`prefilter`] picks, per transaction, the rules
//! whose fast pattern occurs; [`RuleSet::inspect`] matches them in full, with [`flowbits`];
//! the merge stage applies [`threshold`]s. A rule egress-ids cannot run exactly as Suricata
//! would is refused, alone, with its file, line, sid and reason.

pub(crate) mod buffer;
mod classification;
pub(crate) mod compile;
pub(crate) mod content;
pub(crate) mod flowbits;
pub(crate) mod header;
pub(crate) mod inspect;
mod parse;
pub(crate) mod pcre;
mod prefilter;
pub(crate) mod threshold;
pub mod vars;

use buffer::Tx;
use compile::Rule;
use flowbits::{FlowbitNames, Flowbits};
use header::Action;
use prefilter::Prefilter;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
pub use vars::RuleVars;

/// A rule file or directory could not be read, or (`--rules-strict`) a rule was refused.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: a rules directory without any *.rules file")]
    EmptyDirectory { path: PathBuf },
    #[error("{count} rule(s) refused and --rules-strict is set; the first: {first}")]
    Strict { count: usize, first: String },
    #[error("{0}")]
    Prefilter(String),
}

/// A rule that was not loaded.
#[derive(Clone, Debug)]
pub struct Refusal {
    pub path: PathBuf,
    pub line: usize,
    pub sid: Option<u32>,
    pub reason: String,
    /// What kind of fault, for the counts by reason.
    pub kind: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: ", self.path.display(), self.line)?;
        if let Some(sid) = self.sid {
            write!(f, "sid {sid}: ")?;
        }
        write!(f, "refused: {}", self.reason)
    }
}

/// What loading read.
#[derive(Clone, Debug, Default)]
pub struct LoadReport {
    pub files: usize,
    pub loaded: usize,
    pub refused: Vec<Refusal>,
}

impl LoadReport {
    /// Refusals counted by kind, most frequent first.
    pub fn refused_by_kind(&self) -> Vec<(String, usize)> {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for r in &self.refused {
            *counts.entry(&r.kind).or_default() += 1;
        }
        let mut v: Vec<_> = counts
            .into_iter()
            .map(|(k, n)| (k.to_string(), n))
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    }

    /// One line: `N rules loaded from F files, M refused (kind: n, ...)`.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} rules loaded from {} file(s), {} refused",
            self.loaded,
            self.files,
            self.refused.len()
        );
        if !self.refused.is_empty() {
            let kinds: Vec<String> = self
                .refused_by_kind()
                .iter()
                .map(|(k, n)| format!("{k}: {n}"))
                .collect();
            s.push_str(&format!(" ({})", kinds.join(", ")));
        }
        s
    }
}

/// Where rules come from and how they are read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleSources {
    /// Rule files, or directories whose `*.rules` files are read (sorted by name).
    pub paths: Vec<PathBuf>,
    /// `--rule-var NAME=VALUE`, applied over the defaults.
    pub vars: Vec<String>,
    /// Any refusal fails the load.
    pub strict: bool,
}

/// The loaded rules.
#[derive(Debug)]
pub struct RuleSet {
    /// In evaluation order: `pass` rules, then rules that change flowbits, then the rest.
    rules: Vec<Rule>,
    prefilter: Prefilter,
    flowbit_names: FlowbitNames,
    needs: [bool; buffer::Buffer::COUNT],
    pub report: LoadReport,
}

/// What the rules say about one transaction.
#[derive(Debug, Default)]
pub(crate) struct Verdict<'r> {
    /// A `pass` rule matched: the flow raises no more alerts.
    pub(crate) pass: bool,
    /// The rules that alert, in rule order.
    pub(crate) alerts: Vec<&'r Rule>,
}

/// Scratch space for matching, reused across transactions.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    candidates: Vec<u32>,
    bytes: Vec<u8>,
}

impl RuleSet {
    /// Reads and compiles the rules of `sources`; `home_net` is `$HOME_NET`; `taken` names the
    /// sids already in use (the built-in detections) with where they come from.
    pub fn load(
        sources: &RuleSources,
        home_net: &[ipnet::IpNet],
        taken: &[(u32, String)],
    ) -> Result<RuleSet, RulesError> {
        let mut loader = Loader::new(&sources.vars, home_net, taken);
        for path in files(&sources.paths)? {
            let text = std::fs::read(&path).map_err(|source| RulesError::Read {
                path: path.clone(),
                source,
            })?;
            loader.add(&path, &String::from_utf8_lossy(&text));
        }
        loader.finish(sources.strict)
    }

    /// Compiles rules given as text (`name` stands for the file in refusals): what [`load`]
    /// does with each file, for rules that come from elsewhere (and for the fuzzer).
    ///
    /// [`load`]: RuleSet::load
    pub fn from_text(
        name: &str,
        text: &str,
        home_net: &[ipnet::IpNet],
    ) -> Result<RuleSet, RulesError> {
        let mut loader = Loader::new(&[], home_net, &[]);
        loader.add(std::path::Path::new(name), text);
        loader.finish(false)
    }

    /// Matches `data` as every buffer of a transaction of each kind, both ways established or
    /// not (for the fuzzer: any rule on any bytes, never a panic). The number of alerts.
    #[doc(hidden)]
    pub fn inspect_everywhere(&self, data: &[u8]) -> usize {
        let mut scratch = Scratch::default();
        let mut bits = Flowbits::default();
        let mut alerts = 0;
        let addr = |i: u8| std::net::IpAddr::from([10, 0, 0, i]);
        for app in buffer::App::ALL {
            for (transport, established) in [
                (buffer::Transport::Tcp, true),
                (buffer::Transport::Udp, false),
            ] {
                let mut tx = Tx::new(
                    app,
                    transport,
                    (addr(5), 40000),
                    (addr(7), 443),
                    established,
                );
                for b in buffer::Buffer::ALL {
                    if b.apps().contains(app) {
                        tx.set(b, data);
                    }
                }
                let verdict = self.inspect(&tx, Some(&mut bits), &mut scratch);
                alerts += verdict.alerts.len();
            }
        }
        alerts
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether some rule inspects `buffer` (the engine computes it only then).
    pub(crate) fn needs(&self, buffer: buffer::Buffer) -> bool {
        self.needs[buffer as usize]
    }

    /// Whether some rule uses flowbits (flows then carry them).
    pub(crate) fn uses_flowbits(&self) -> bool {
        self.flowbit_names.len() > 0
    }

    /// Whether some rule inspects transactions of `app`.
    pub(crate) fn inspects(&self, app: buffer::App) -> bool {
        self.rules.iter().any(|r| r.apps.contains(app))
    }

    /// Matches `tx`; `bits` are the flow's flowbits (when the set uses them).
    pub(crate) fn inspect<'r>(
        &'r self,
        tx: &Tx<'_>,
        mut bits: Option<&mut Flowbits>,
        scratch: &mut Scratch,
    ) -> Verdict<'r> {
        let mut verdict = Verdict::default();
        self.prefilter
            .candidates(tx, &mut scratch.bytes, &mut scratch.candidates);
        if let Some(bits) = bits.as_deref_mut() {
            bits.for_generation(self.flowbit_names.generation);
        }
        let empty = Flowbits::default();
        for &i in &scratch.candidates {
            let rule = &self.rules[i as usize];
            if !rule.matches(tx) {
                continue;
            }
            if !rule.flowbits.is_empty() {
                let holds = rule.flowbits_hold(bits.as_deref().unwrap_or(&empty));
                if !holds {
                    continue;
                }
                if let Some(bits) = bits.as_deref_mut() {
                    for op in &rule.flowbits {
                        op.apply(bits);
                    }
                }
            }
            if rule.action() == Action::Pass {
                verdict.pass = true;
                verdict.alerts.clear();
                return verdict;
            }
            if !rule.noalert {
                verdict.alerts.push(rule);
            }
        }
        verdict
    }
}

/// The rule files of `paths`: files as given, directories' `*.rules` sorted by name.
fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, RulesError> {
    let mut out = Vec::new();
    for path in paths {
        let read = |source| RulesError::Read {
            path: path.clone(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(read)?;
        if !meta.is_dir() {
            out.push(path.clone());
            continue;
        }
        let mut found: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(read)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "rules") && p.is_file())
            .collect();
        if found.is_empty() {
            return Err(RulesError::EmptyDirectory { path: path.clone() });
        }
        found.sort();
        out.extend(found);
    }
    Ok(out)
}

/// Rules being read: the variables, what was refused, the sids in use.
struct Loader {
    vars: RuleVars,
    report: LoadReport,
    names: FlowbitNames,
    rules: Vec<Rule>,
    seen: HashMap<(u32, u32), String>,
}

impl Loader {
    fn new(vars: &[String], home_net: &[ipnet::IpNet], taken: &[(u32, String)]) -> Self {
        let mut rule_vars = RuleVars::new(home_net);
        for v in vars {
            // Checked when the settings were read.
            let _ = rule_vars.set(v);
        }
        Loader {
            vars: rule_vars,
            report: LoadReport::default(),
            names: FlowbitNames::default(),
            rules: Vec::new(),
            seen: taken
                .iter()
                .map(|(sid, place)| ((1, *sid), place.clone()))
                .collect(),
        }
    }

    /// Compiles the rules of one file's text.
    fn add(&mut self, path: &Path, text: &str) {
        self.report.files += 1;
        let statements = parse::statements(text);
        for open in &statements.unclosed {
            self.report.refused.push(Refusal {
                path: path.to_path_buf(),
                line: open.line,
                sid: None,
                reason: "the rule's options are never closed with ')'".into(),
                kind: "syntax".into(),
            });
        }
        for st in &statements.rules {
            let origin = format!("{}:{}", path.display(), st.line);
            let refuse = |sid, reason: String, kind: &str| Refusal {
                path: path.to_path_buf(),
                line: st.line,
                sid,
                reason,
                kind: kind.into(),
            };
            let split = match parse::split(&st.text) {
                Ok(s) => s,
                Err(e) => {
                    self.report.refused.push(refuse(None, e, "syntax"));
                    continue;
                }
            };
            match compile::compile(&split.header, &split.options, &self.vars, &mut self.names) {
                Ok(rule) => {
                    if let Some(first) = self.seen.get(&(rule.gid, rule.sid)) {
                        let reason = format!(
                            "sid {} is defined twice: first at {first}, again here",
                            rule.sid
                        );
                        self.report
                            .refused
                            .push(refuse(Some(rule.sid), reason, "duplicate sid"));
                        continue;
                    }
                    self.seen.insert((rule.gid, rule.sid), origin);
                    self.rules.push(rule);
                }
                Err(r) => self.report.refused.push(refuse(r.sid, r.reason, &r.kind)),
            }
        }
    }

    fn finish(self, strict: bool) -> Result<RuleSet, RulesError> {
        let Loader {
            mut report,
            names,
            mut rules,
            ..
        } = self;
        report.loaded = rules.len();
        if strict && !report.refused.is_empty() {
            return Err(RulesError::Strict {
                count: report.refused.len(),
                first: report.refused[0].to_string(),
            });
        }
        // Evaluation order: pass first (it stops the others), then what sets flowbits before
        // what tests them, then the file order.
        rules.sort_by_key(
            |r| match (r.action(), r.changes_flowbits(), r.tests_flowbits()) {
                (Action::Pass, _, _) => 0,
                (_, true, false) => 1,
                (_, true, true) => 2,
                _ => 3,
            },
        );
        let prefilter = Prefilter::build(&rules).map_err(RulesError::Prefilter)?;
        let mut needs = [false; buffer::Buffer::COUNT];
        for r in &rules {
            for p in &r.programs {
                needs[p.buffer as usize] = true;
            }
        }
        Ok(RuleSet {
            rules,
            prefilter,
            flowbit_names: names,
            needs,
            report,
        })
    }
}

#[cfg(test)]
mod tests;
