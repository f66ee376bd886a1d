//! `hidden-destination`: a runner sends real Encrypted Client Hello to a server whose
//! DNS-resolved name is unknown or outside the allowlist. With ECH the outer SNI names the
//! ECH configuration's public name (a CDN's cover name), never the destination, so it cannot
//! satisfy the allowlist: the names DNS resolved to the server's address judge the flow.
//!
//! Chrome and Firefox send GREASE ECH (RFC 9849 §6.2) to every server, indistinguishable on the
//! wire from the real thing; it must not alert by itself. A ClientHello's ECH is taken as real
//! when the DNS answers seen publish its `config_id` (an HTTPS/SVCB `ech` parameter, RFC 9848),
//! or when its outer SNI is none of the names DNS resolved to the server (GREASE keeps the true
//! name as SNI; real ECH puts the cover name there). A configuration that came from elsewhere
//! (DNS over HTTPS, which `dns-bypass` reports, or baked into the payload) to a server with no
//! resolved name stays undecided here; `direct-ip` reports that server.
//!
//! Like `direct-ip` the verdict needs every shard's DNS answers, so it is the merge stage's: the
//! shard sends its alert with an [`EchCandidate`]; [`HiddenVerdicts`] writes it, with the names
//! found as its indicator, or drops it.

use super::by_address::ByAddress;
use super::names::DomainSet;
use proto::Timestamp;
use rustc_hash::{FxHashMap, FxHashSet};
use std::net::IpAddr;

/// Names remembered per address at most (a CDN address serves many).
const MAX_NAMES_PER_ADDRESS: usize = 8;
/// Addresses remembered at most; past this, expired entries are purged, then all.
const MAX_ADDRESSES: usize = 1 << 18;

/// What a DNS response tells the verdicts: the name asked (lowercase) and the ECH
/// configuration ids (with their TTLs) its SVCB/HTTPS answers published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AnsweredName {
    pub(crate) name: String,
    pub(crate) ech: Vec<(u8, u32)>,
}

/// What the shard's `hidden-destination` hit carries for the merge stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EchHello {
    /// The outer SNI.
    pub(crate) sni: Option<Box<str>>,
    pub(crate) config_id: u8,
}

/// A flow whose ClientHello carried an outer ECH extension.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EchCandidate {
    pub(crate) flow_id: u64,
    pub(crate) server: IpAddr,
    /// The ClientHello's packet time.
    pub(crate) ts: Timestamp,
    /// The outer SNI.
    pub(crate) sni: Option<Box<str>>,
    pub(crate) config_id: u8,
}

/// The merge stage's side: names by address, published ECH configuration ids, alerts written.
#[derive(Debug)]
pub(crate) struct HiddenVerdicts {
    /// The names DNS answers resolved to each address.
    names: ByAddress<Box<str>>,
    /// `config_id` → until when a DNS answer published it.
    ech_ids: FxHashMap<u8, Timestamp>,
    grace_secs: u64,
    written: FxHashSet<u64>,
}

impl HiddenVerdicts {
    /// Answers count `grace_secs` past their TTL (as for `direct-ip`).
    pub(crate) fn new(grace_secs: u64) -> Self {
        HiddenVerdicts {
            names: ByAddress::new(MAX_NAMES_PER_ADDRESS, MAX_ADDRESSES),
            ech_ids: FxHashMap::default(),
            grace_secs,
            written: FxHashSet::default(),
        }
    }

    /// A DNS response at `ts` resolved `addrs` (address, TTL) for `name`, and published the
    /// ECH configuration ids of `name.ech` (id, TTL).
    pub(crate) fn on_dns_answers(
        &mut self,
        ts: Timestamp,
        addrs: &[(IpAddr, u32)],
        name: &AnsweredName,
    ) {
        for &(id, ttl) in &name.ech {
            let until = ts.plus_secs(u64::from(ttl) + self.grace_secs);
            let slot = self.ech_ids.entry(id).or_insert(until);
            *slot = (*slot).max(until);
        }
        for &(ip, ttl) in addrs {
            let until = ts.plus_secs(u64::from(ttl) + self.grace_secs);
            self.names.remember(
                ts,
                ip,
                until,
                |known| **known == *name.name,
                || name.name.as_str().into(),
            );
        }
    }

    /// The verdict on a shard's `hidden-destination` alert, with `allow` the allowlist in force
    /// now: `Some(indicator)` (the names DNS resolved to the server, or `unresolved`) when it
    /// stands, `None` when it is dropped.
    pub(crate) fn on_alert(&mut self, c: &EchCandidate, allow: &DomainSet) -> Option<String> {
        let names: Vec<&str> = self.names.live(c.server, c.ts).map(|n| &**n).collect();
        let published = self.ech_ids.get(&c.config_id).is_some_and(|u| *u >= c.ts);
        let cover_sni = c.sni.as_deref().is_none_or(|sni| {
            let sni = sni.strip_suffix('.').unwrap_or(sni);
            !names.iter().any(|n| n.eq_ignore_ascii_case(sni))
        });
        let real = published || (!names.is_empty() && cover_sni);
        if !real || names.iter().any(|n| allow.contains(n)) {
            return None;
        }
        self.written.insert(c.flow_id);
        Some(if names.is_empty() {
            "unresolved".to_owned()
        } else {
            names.join(",")
        })
    }

    /// Flow `flow_id` ended: whether its `hidden-destination` alert was written.
    pub(crate) fn on_flow_end(&mut self, flow_id: u64) -> bool {
        self.written.remove(&flow_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = Timestamp(1_000_000_000_000);

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn candidate(sni: Option<&str>, config_id: u8) -> EchCandidate {
        EchCandidate {
            flow_id: 7,
            server: ip("203.0.113.40"),
            ts: T0.plus_secs(1),
            sni: sni.map(Into::into),
            config_id,
        }
    }

    fn answered(name: &str) -> AnsweredName {
        AnsweredName {
            name: name.into(),
            ech: Vec::new(),
        }
    }

    fn published(id: u8) -> AnsweredName {
        AnsweredName {
            name: "other.example".into(),
            ech: vec![(id, 60)],
        }
    }

    /// The built-in allowlist (registry.npmjs.org, github.com, ...).
    fn allow() -> DomainSet {
        super::super::signatures::Signatures::builtin().allow_domains
    }

    #[test]
    fn grease_keeps_the_resolved_name_as_sni_and_never_alerts() {
        let mut v = HiddenVerdicts::new(300);
        let a = [(ip("203.0.113.40"), 60)];
        v.on_dns_answers(T0, &a, &answered("shop.example"));
        assert_eq!(
            v.on_alert(&candidate(Some("SHOP.example."), 13), &allow()),
            None
        );
        // No DNS at all: undecided, no alert (direct-ip has the flow).
        let mut v = HiddenVerdicts::new(300);
        assert_eq!(
            v.on_alert(&candidate(Some("shop.example"), 13), &allow()),
            None
        );
    }

    #[test]
    fn a_cover_sni_or_a_published_config_is_real_ech_judged_by_the_resolved_names() {
        let mut v = HiddenVerdicts::new(300);
        let a = [(ip("203.0.113.40"), 60)];
        v.on_dns_answers(T0, &a, &answered("c2.example"));
        v.on_dns_answers(T0, &[], &published(0x2a));
        assert_eq!(
            v.on_alert(&candidate(Some("cover.example"), 1), &allow())
                .as_deref(),
            Some("c2.example")
        );
        assert!(v.on_flow_end(7) && !v.on_flow_end(7));
        // The same SNI as the resolved name, but the configuration was published in DNS.
        assert_eq!(
            v.on_alert(&candidate(Some("c2.example"), 0x2a), &allow())
                .as_deref(),
            Some("c2.example")
        );
        // A published configuration to an address no answer named: unresolved.
        let mut v = HiddenVerdicts::new(300);
        v.on_dns_answers(T0, &[], &published(0x2a));
        assert_eq!(
            v.on_alert(&candidate(Some("github.com"), 0x2a), &allow())
                .as_deref(),
            Some("unresolved")
        );
    }

    #[test]
    fn an_allowlisted_resolved_name_clears_and_answers_expire() {
        let mut v = HiddenVerdicts::new(0);
        let a = [(ip("203.0.113.40"), 60)];
        v.on_dns_answers(T0, &a, &answered("c2.example"));
        v.on_dns_answers(T0, &a, &answered("registry.npmjs.org"));
        assert_eq!(
            v.on_alert(&candidate(Some("cover.example"), 1), &allow()),
            None
        );
        let mut late = candidate(Some("cover.example"), 1);
        late.ts = T0.plus_secs(61);
        assert_eq!(
            v.on_alert(&late, &allow()),
            None,
            "expired: no name, no published config"
        );
    }
}
