//! Which EVE event types a run writes (Suricata's per-type `eve-log` switches). Alerts are always
//! written; an app-layer object that is not logged is not even built, unless an alert carries it.

/// A set of EVE event types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EveTypes(u8);

impl EveTypes {
    pub(crate) const ALERT: EveTypes = EveTypes(1);
    pub(crate) const TLS: EveTypes = EveTypes(2);
    pub(crate) const DNS: EveTypes = EveTypes(4);
    pub(crate) const HTTP: EveTypes = EveTypes(8);
    pub(crate) const FLOW: EveTypes = EveTypes(16);
    pub(crate) const STATS: EveTypes = EveTypes(32);
    pub(crate) const ALL: EveTypes = EveTypes(63);
    /// The names, as `--eve-types` takes them and EVE's `event_type` writes them.
    pub(crate) const NAMES: [(&'static str, EveTypes); 6] = [
        ("alert", Self::ALERT),
        ("tls", Self::TLS),
        ("dns", Self::DNS),
        ("http", Self::HTTP),
        ("flow", Self::FLOW),
        ("stats", Self::STATS),
    ];

    /// Whether every type of `other` is in the set.
    pub(crate) fn contains(self, other: EveTypes) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether events of type `name` (`"tls"`, ...) are written.
    pub(crate) fn logs(self, name: &str) -> bool {
        Self::NAMES
            .iter()
            .any(|(n, t)| *n == name && self.contains(*t))
    }

    /// Parses a comma-separated list (`alert,dns,tls`) or `all`; `alert` is always added.
    pub fn parse(list: &str) -> Result<EveTypes, String> {
        let mut set = Self::ALERT;
        for word in list.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            if word == "all" {
                set = Self::ALL;
                continue;
            }
            match Self::NAMES.iter().find(|(n, _)| *n == word) {
                Some((_, t)) => set = EveTypes(set.0 | t.0),
                None => {
                    return Err(format!(
                        "unknown EVE type {word:?} (use any of alert, tls, dns, http, flow, stats, or all)"
                    ))
                }
            }
        }
        Ok(set)
    }
}

impl Default for EveTypes {
    fn default() -> Self {
        Self::ALL
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse_and_alerts_are_always_in() {
        let t = EveTypes::parse("dns, flow").unwrap();
        assert!(t.logs("alert") && t.logs("dns") && t.logs("flow"));
        assert!(!t.logs("tls") && !t.logs("http") && !t.logs("stats"));
        assert_eq!(EveTypes::parse("all"), Ok(EveTypes::ALL));
        assert_eq!(EveTypes::parse(""), Ok(EveTypes::ALERT));
        assert!(EveTypes::parse("alert,netflow")
            .unwrap_err()
            .contains("netflow"));
    }
}
