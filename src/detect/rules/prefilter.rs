//! The multi-pattern prefilter, as Suricata's MPM: per buffer (and transform chain), one
//! Aho-Corasick automaton over the rules' fast patterns, so a transaction is matched in full
//! only against the rules whose fast pattern occurs in it, plus the rules that have none
//! (only negated contents, `absent`, pcre alone).

use super::buffer::{App, Buffer, Tx};
use super::compile::{Absent, Rule};
use super::inspect::Transform;
use aho_corasick::{AhoCorasick, AhoCorasickKind};
use std::collections::HashMap;

/// An automaton over patterns, and the rules of each pattern.
type Automaton = (AhoCorasick, Vec<Vec<u32>>);

/// One buffer under one transform chain.
#[derive(Debug)]
struct Group {
    buffer: Buffer,
    transforms: Vec<Transform>,
    /// Case-sensitive patterns, then `nocase` ones; each pattern lists its rules.
    exact: Option<Automaton>,
    nocase: Option<Automaton>,
}

/// The prefilter of a rule set.
#[derive(Debug, Default)]
pub(crate) struct Prefilter {
    groups: Vec<Group>,
    /// Per [`App`]: the rules without a fast pattern.
    always: [Vec<u32>; 4],
}

/// The pattern a rule is prefiltered on: a content every match needs.
fn fast_pattern(rule: &Rule) -> Option<(usize, &[u8], bool)> {
    rule.programs
        .iter()
        .enumerate()
        .filter(|(_, p)| p.absent != Some(Absent::OrElse))
        .filter_map(|(i, p)| {
            p.inspect
                .fast_pattern()
                .map(|(pat, nocase)| (i, pat, nocase))
        })
        .filter(|(_, pat, _)| !pat.is_empty())
        .max_by_key(|(_, pat, _)| pat.len())
}

#[derive(Default)]
struct Patterns {
    ids: HashMap<Vec<u8>, usize>,
    patterns: Vec<Vec<u8>>,
    rules: Vec<Vec<u32>>,
}

impl Patterns {
    fn add(&mut self, pattern: &[u8], rule: u32) {
        let id = *self.ids.entry(pattern.to_vec()).or_insert_with(|| {
            self.patterns.push(pattern.to_vec());
            self.rules.push(Vec::new());
            self.patterns.len() - 1
        });
        self.rules[id].push(rule);
    }

    fn build(self, nocase: bool) -> Result<Option<Automaton>, String> {
        if self.patterns.is_empty() {
            return Ok(None);
        }
        // A contiguous NFA builds several times faster than a DFA over thousands of
        // patterns, and the buffers it scans are short (names, URIs, User-Agents).
        let ac = AhoCorasick::builder()
            .ascii_case_insensitive(nocase)
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .build(&self.patterns)
            .map_err(|e| format!("the prefilter cannot be built: {e}"))?;
        Ok(Some((ac, self.rules)))
    }
}

impl Prefilter {
    /// The prefilter of `rules` (indexes are positions in the slice).
    pub(crate) fn build(rules: &[Rule]) -> Result<Prefilter, String> {
        let mut by_group: Vec<((Buffer, Vec<Transform>), Patterns, Patterns)> = Vec::new();
        let mut always: [Vec<u32>; 4] = Default::default();
        for (index, rule) in rules.iter().enumerate() {
            let index = index as u32;
            let Some((program, pattern, nocase)) = fast_pattern(rule) else {
                for app in App::ALL.into_iter().filter(|a| rule.apps.contains(*a)) {
                    always[app as usize].push(index);
                }
                continue;
            };
            let p = &rule.programs[program];
            let key = (p.buffer, p.inspect.transforms().to_vec());
            let slot = match by_group.iter().position(|(k, _, _)| *k == key) {
                Some(i) => i,
                None => {
                    by_group.push((key, Patterns::default(), Patterns::default()));
                    by_group.len() - 1
                }
            };
            let (_, exact, folded) = &mut by_group[slot];
            if nocase {
                folded.add(pattern, index);
            } else {
                exact.add(pattern, index);
            }
        }
        let groups = by_group
            .into_iter()
            .map(|((buffer, transforms), exact, nocase)| {
                Ok(Group {
                    buffer,
                    transforms,
                    exact: exact.build(false)?,
                    nocase: nocase.build(true)?,
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(Prefilter { groups, always })
    }

    /// The rules worth matching in full against `tx`, in rule order, into `out`.
    pub(crate) fn candidates(&self, tx: &Tx<'_>, scratch: &mut Vec<u8>, out: &mut Vec<u32>) {
        out.clear();
        out.extend_from_slice(&self.always[tx.app as usize]);
        for group in &self.groups {
            if !group.buffer.apps().contains(tx.app) {
                continue;
            }
            for instance in tx.instances(group.buffer) {
                let bytes = if group.transforms.is_empty() {
                    instance
                } else {
                    scratch.clear();
                    scratch.extend_from_slice(instance);
                    for t in &group.transforms {
                        t.apply(scratch);
                    }
                    &scratch[..]
                };
                for (ac, rules) in group.exact.iter().chain(group.nocase.iter()) {
                    for m in ac.find_overlapping_iter(bytes) {
                        out.extend_from_slice(&rules[m.pattern().as_usize()]);
                    }
                }
            }
        }
        out.sort_unstable();
        out.dedup();
    }
}
