//! Which EVE event types exist ([`EventType`], named as `event_type` writes them) and which a
//! run writes ([`EveTypes`], Suricata's per-type `eve-log` switches). Alerts are always written;
//! an app-layer object that is not logged is not even built, unless an alert carries it.

/// An EVE event type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    Alert,
    Tls,
    /// QUIC ClientHellos (Suricata's `quic`).
    Quic,
    Dns,
    Http,
    Flow,
    Stats,
    /// Protocol anomalies (Suricata's `anomaly`): overlapping TCP copies with different bytes.
    Anomaly,
}

impl EventType {
    /// Every type, in the order `--eve-types` lists them.
    pub const ALL: [EventType; 8] = [
        EventType::Alert,
        EventType::Tls,
        EventType::Quic,
        EventType::Dns,
        EventType::Http,
        EventType::Flow,
        EventType::Stats,
        EventType::Anomaly,
    ];

    /// The name `event_type` (and `--eve-types`, and the key of the event's object) uses.
    pub fn name(self) -> &'static str {
        match self {
            EventType::Alert => "alert",
            EventType::Tls => "tls",
            EventType::Quic => "quic",
            EventType::Dns => "dns",
            EventType::Http => "http",
            EventType::Flow => "flow",
            EventType::Stats => "stats",
            EventType::Anomaly => "anomaly",
        }
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

impl serde::Serialize for EventType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// A set of EVE event types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EveTypes(u8);

impl EveTypes {
    /// Alerts only: the smallest set (alerts are always written).
    pub const ALERT: EveTypes = EveTypes(1 << EventType::Alert as u8);
    /// Every type.
    pub const ALL: EveTypes = EveTypes(((1u16 << EventType::ALL.len()) - 1) as u8);

    /// Whether events of type `t` are written.
    pub fn logs(self, t: EventType) -> bool {
        self.0 & t.bit() != 0
    }

    /// Parses a comma-separated list (`alert,dns,tls`) or `all`; `alert` is always added.
    pub fn parse(list: &str) -> Result<EveTypes, String> {
        let mut set = Self::ALERT;
        for word in list.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            if word == "all" {
                set = Self::ALL;
                continue;
            }
            match EventType::ALL.iter().find(|t| t.name() == word) {
                Some(t) => set = EveTypes(set.0 | t.bit()),
                None => {
                    let names: Vec<&str> = EventType::ALL.iter().map(|t| t.name()).collect();
                    return Err(format!(
                        "unknown EVE type {word:?} (use any of {}, or all)",
                        names.join(", ")
                    ));
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
        use EventType::*;
        let t = EveTypes::parse("dns, flow").unwrap();
        assert!(t.logs(Alert) && t.logs(Dns) && t.logs(Flow));
        assert!(!t.logs(Tls) && !t.logs(Http) && !t.logs(Stats));
        assert_eq!(EveTypes::parse("all"), Ok(EveTypes::ALL));
        assert!(EventType::ALL.iter().all(|t| EveTypes::ALL.logs(*t)));
        assert_eq!(EveTypes::parse(""), Ok(EveTypes::ALERT));
        assert!(EveTypes::parse("alert,netflow")
            .unwrap_err()
            .contains("netflow"));
    }
}
