//! CNAME cloaking: a benign-looking name whose DNS answer aliases it into an IOC domain
//! (`cdn.example-assets.com CNAME x.pkg-validate.net`), or an allowlisted name aliased out of
//! the allowlisted zones. The chain of names a response resolved through (the question's name,
//! then each CNAME, DNAME and SVCB/HTTPS target: [`proto::dns::DnsMessage::answer_chain`]) is
//! judged in two places:
//!
//! 1. **The DNS flow, on the shard** ([`Detector::on_dns_answer`]): an IOC name anywhere after
//!    the question's name raises `ioc-domain`, the chain up to that name as the indicator
//!    (`cdn.example-assets.com -> x.pkg-validate.net`). An IOC question name raises it on the
//!    query already.
//! 2. **The flow to a resolved address, in the merge stage** ([`ChainVerdicts`]): a TLS, QUIC or
//!    HTTP flow (or any other egress flow) is judged by every name that led to its server's
//!    address, not only by the name it sends. The merge stage keeps, per address, the chains
//!    that matter ([`ChainFacts`]: one holds an IOC name, or starts allowlisted and leaves the
//!    allowlist) until the answer's TTL plus the grace period, as for `direct-ip`. A flow to
//!    such an address is not marked resolved at its start, so the shard sends its speculative
//!    `direct-ip` alert with the flow's app-layer object and the name the client sent (SNI or
//!    Host, [`FlowName`]); the merge stage, instead of dropping it, rewrites it into
//!    - `ioc-domain` when a chain that holds an IOC name led there (the client's name is in
//!      that chain, or the client sent none), unless the client's own name is an IOC name (the
//!      flow alerted on it already);
//!    - `non-registry-tls` when the client's allowlisted SNI resolved through a chain that
//!      leaves the allowlisted zones: that server is not the registry.
//!
//! Only chains seen before the flow's first packet count, so the verdict does not depend on
//! the threads' timing.

use super::by_address::ByAddress;
use super::signatures::Signatures;
use super::{Detection, Detector, Hit, Scope, Source};
use proto::Timestamp;
use rustc_hash::{FxHashMap, FxHashSet};
use std::net::IpAddr;
use std::sync::Arc;

/// Chains remembered per address at most.
const MAX_CHAINS_PER_ADDRESS: usize = 8;
/// Addresses remembered at most; past this, expired entries are purged, then all.
const MAX_ADDRESSES: usize = 1 << 16;

/// How the chain's names are joined in an indicator.
const ARROW: &str = " -> ";

/// A chain of names worth remembering: one holds an IOC name, or it leaves the allowlist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ChainFacts {
    /// The names, from the question's name on (lowercase, no trailing dot).
    names: Box<[Box<str>]>,
    /// The first IOC name's position.
    ioc: Option<usize>,
    /// When the question's name is allowlisted: the first name that is not.
    leaves_allowlist: Option<usize>,
}

impl ChainFacts {
    /// The chain up to and including position `end`, joined with arrows.
    fn text_to(&self, end: usize) -> String {
        self.names[..=end]
            .iter()
            .map(|n| &**n)
            .collect::<Vec<_>>()
            .join(ARROW)
    }

    /// Whether `name` (as the client sent it) is one of the chain's names.
    fn holds(&self, name: &str) -> bool {
        let name = name.strip_suffix('.').unwrap_or(name);
        self.names.iter().any(|n| n.eq_ignore_ascii_case(name))
    }
}

/// Judges a response's chain with `signatures`: `None` when nothing in it matters.
fn judge(signatures: &Signatures, chain: &[String]) -> Option<ChainFacts> {
    let ioc = chain
        .iter()
        .position(|n| signatures.ioc_domains.contains(n));
    let allow = &signatures.allow_domains;
    let leaves_allowlist = match chain.first() {
        Some(first) if allow.contains(first) => chain.iter().position(|n| !allow.contains(n)),
        _ => None,
    };
    (ioc.is_some() || leaves_allowlist.is_some()).then(|| ChainFacts {
        names: chain.iter().map(|n| n.as_str().into()).collect(),
        ioc,
        leaves_allowlist,
    })
}

impl Detector {
    /// What in a DNS response's name chain matters (`None`: nothing, the usual case).
    pub(crate) fn judge_chain(&self, scope: Scope, chain: &[String]) -> Option<Arc<ChainFacts>> {
        if scope == Scope::Ignored {
            return None;
        }
        judge(&self.signatures, chain).map(Arc::new)
    }

    /// Whether `name` is in the IOC domains.
    pub(crate) fn is_ioc_domain(&self, name: &str) -> bool {
        self.signatures.ioc_domains.contains(name)
    }

    /// `ioc-domain` on the DNS flow for an IOC name the response aliased the question's name
    /// to (an IOC question name alerted on the query).
    pub(crate) fn on_dns_answer(&self, facts: &ChainFacts) -> Option<Hit> {
        let at = facts.ioc.filter(|&i| i > 0)?;
        Some(Hit::new(
            Detection::IocDomain,
            facts.text_to(at),
            Source::DnsAnswerChain,
        ))
    }
}

/// Which name a flow's client sent for its server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NamedBy {
    /// A TLS or QUIC ClientHello's server name.
    Sni,
    /// An HTTP request's Host.
    Host,
    /// A server name that is not a host name (junk after it): its longest valid prefix is
    /// carried, judged against IOC chains but never by the allowlist (such a name is never the
    /// registry, and raised `non-registry-tls` on its own).
    JunkSni,
}

impl NamedBy {
    /// How a ClientHello's server name `sni` (as logged) names the server: the name itself when
    /// it is a host name, else its longest valid prefix (the name as logged when none is).
    pub(crate) fn sni(sni: &str) -> (&str, NamedBy) {
        let name = super::ServerName::of(sni);
        match (name.valid, name.clean) {
            (true, _) => (sni, NamedBy::Sni),
            (false, "") => (sni, NamedBy::JunkSni),
            (false, prefix) => (prefix, NamedBy::JunkSni),
        }
    }
}

/// The name a flow's client sent, carried by its speculative `direct-ip` alert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FlowName {
    pub(crate) name: Box<str>,
    pub(crate) by: NamedBy,
}

/// The merge stage's side: the chains that matter by address, the flows that started towards
/// one, and the alerts written.
#[derive(Debug)]
pub(crate) struct ChainVerdicts {
    by_address: ByAddress<Arc<ChainFacts>>,
    /// Flows that started towards an address such chains resolved: the chains then in force.
    flows: FxHashMap<u64, Vec<Arc<ChainFacts>>>,
    written: FxHashSet<u64>,
    grace_secs: u64,
}

impl ChainVerdicts {
    /// Answers count `grace_secs` past their TTL (as for `direct-ip`).
    pub(crate) fn new(grace_secs: u64) -> Self {
        ChainVerdicts {
            by_address: ByAddress::new(MAX_CHAINS_PER_ADDRESS, MAX_ADDRESSES),
            flows: FxHashMap::default(),
            written: FxHashSet::default(),
            grace_secs,
        }
    }

    /// A DNS response at `ts` resolved `addrs` (address, TTL) through the chain of `facts`.
    pub(crate) fn on_dns_answers(
        &mut self,
        ts: Timestamp,
        addrs: &[(IpAddr, u32)],
        facts: &Arc<ChainFacts>,
    ) {
        for &(ip, ttl) in addrs {
            let until = ts.plus_secs(u64::from(ttl) + self.grace_secs);
            self.by_address
                .remember(ts, ip, until, |f| f == facts, || Arc::clone(facts));
        }
    }

    /// A flow `flow_id` towards `server` started at `ts`: whether chains that matter resolved
    /// the server (then the merge stage must not mark the flow resolved: its speculative alert
    /// is needed).
    pub(crate) fn on_flow_start(&mut self, flow_id: u64, server: IpAddr, ts: Timestamp) -> bool {
        let live: Vec<Arc<ChainFacts>> = self.by_address.live(server, ts).cloned().collect();
        if live.is_empty() {
            return false;
        }
        self.flows.insert(flow_id, live);
        true
    }

    /// The detection a flow's speculative `direct-ip` alert becomes (see the module doc), with
    /// `signatures` in force now; `None`: none.
    pub(crate) fn on_alert(
        &mut self,
        flow_id: u64,
        name: Option<&FlowName>,
        signatures: &Signatures,
    ) -> Option<Hit> {
        let chains = self.flows.get(&flow_id)?;
        let hit = judge_flow(chains, name, signatures)?;
        self.written.insert(flow_id);
        Some(hit)
    }

    /// Flow `flow_id` ended: whether an alert was written for it here. The flow is forgotten.
    pub(crate) fn on_flow_end(&mut self, flow_id: u64) -> bool {
        self.flows.remove(&flow_id);
        self.written.remove(&flow_id)
    }
}

/// The verdict on a flow that sent `name` (or none) to an address `chains` resolved.
fn judge_flow(
    chains: &[Arc<ChainFacts>],
    name: Option<&FlowName>,
    signatures: &Signatures,
) -> Option<Hit> {
    let sent = name.map(|n| &*n.name);
    let led_there = |c: &&Arc<ChainFacts>| sent.is_none_or(|s| c.holds(s));
    let own_ioc = sent.is_some_and(|s| signatures.ioc_domains.contains(s));
    if !own_ioc {
        if let Some((chain, at)) = chains
            .iter()
            .filter(led_there)
            .find_map(|c| c.ioc.map(|at| (c, at)))
        {
            return Some(Hit::new(
                Detection::IocDomain,
                chain.text_to(at),
                Source::DnsAnswerChain,
            ));
        }
    }
    let sni = name.filter(|n| n.by == NamedBy::Sni)?;
    if !signatures.allow_domains.contains(&sni.name) {
        // Not the registry by its own name: `non-registry-tls` was raised on it already.
        return None;
    }
    let (chain, at) = chains
        .iter()
        .filter(|c| c.holds(&sni.name))
        .find_map(|c| c.leaves_allowlist.map(|at| (c, at)))?;
    Some(Hit::new(
        Detection::NonRegistryTls,
        chain.text_to(at),
        Source::DnsAnswerChain,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = Timestamp(1_000_000_000_000);
    const SERVER: &str = "203.0.113.20";

    fn server() -> IpAddr {
        SERVER.parse().unwrap()
    }

    fn sigs() -> Signatures {
        Signatures::builtin()
    }

    fn chain(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    fn detector() -> Detector {
        Detector::new(sigs(), Detector::default_home_net())
    }

    fn sni(name: &str) -> FlowName {
        FlowName {
            name: name.into(),
            by: NamedBy::Sni,
        }
    }

    /// A merge stage that saw `names` resolve [`SERVER`] at T0 (TTL 60 s, grace 10 s), and a
    /// flow (id 1) that started towards it 1 s later.
    fn after(names: &[&str]) -> ChainVerdicts {
        let mut v = ChainVerdicts::new(10);
        let facts = detector()
            .judge_chain(Scope::Egress, &chain(names))
            .expect("a chain that matters");
        v.on_dns_answers(T0, &[(server(), 60)], &facts);
        assert!(v.on_flow_start(1, server(), T0.plus_secs(1)));
        v
    }

    #[test]
    fn the_dns_flow_alerts_on_an_ioc_name_behind_a_benign_one() {
        let d = detector();
        let facts = d
            .judge_chain(
                Scope::Egress,
                &chain(&[
                    "cdn.example-assets.com",
                    "x.pkg-validate.net",
                    "edge.example",
                ]),
            )
            .unwrap();
        let hit = d.on_dns_answer(&facts).unwrap();
        assert_eq!(hit.detection, Detection::IocDomain);
        assert_eq!(
            hit.indicator,
            "cdn.example-assets.com -> x.pkg-validate.net"
        );
        assert_eq!(hit.source, Source::DnsAnswerChain);
        // The question's own IOC name alerted on the query.
        let facts = d
            .judge_chain(Scope::Egress, &chain(&["pkg-validate.net"]))
            .unwrap();
        assert!(d.on_dns_answer(&facts).is_none());
        // Benign chains are not kept at all; loopback is never judged.
        assert!(d
            .judge_chain(Scope::Egress, &chain(&["a.example", "b.example"]))
            .is_none());
        assert!(d
            .judge_chain(Scope::Ignored, &chain(&["a.example", "pkg-validate.net"]))
            .is_none());
    }

    #[test]
    fn a_flow_whose_benign_sni_resolved_through_an_ioc_chain_is_ioc_domain() {
        let mut v = after(&["cdn.example-assets.com", "x.pkg-validate.net"]);
        let hit = v
            .on_alert(1, Some(&sni("CDN.example-assets.com.")), &sigs())
            .unwrap();
        assert_eq!(hit.detection, Detection::IocDomain);
        assert_eq!(
            hit.indicator,
            "cdn.example-assets.com -> x.pkg-validate.net"
        );
        assert!(v.on_flow_end(1));
        assert!(!v.on_flow_end(1));
    }

    #[test]
    fn a_flow_without_a_name_is_judged_by_any_chain_and_another_name_by_none() {
        let mut v = after(&["cdn.example-assets.com", "x.pkg-validate.net"]);
        assert!(v.on_alert(1, None, &sigs()).is_some());
        let mut v = after(&["cdn.example-assets.com", "x.pkg-validate.net"]);
        assert!(v
            .on_alert(1, Some(&sni("www.example.org")), &sigs())
            .is_none());
        assert!(!v.on_flow_end(1));
    }

    #[test]
    fn a_flow_that_named_the_ioc_itself_alerted_already() {
        let mut v = after(&["pkg-validate.net"]);
        assert!(v
            .on_alert(1, Some(&sni("pkg-validate.net")), &sigs())
            .is_none());
    }

    #[test]
    fn an_allowlisted_sni_aliased_out_of_the_allowlist_is_not_the_registry() {
        let mut v = after(&["registry.npmjs.org", "registry.npmjs.org.evil-cdn.example"]);
        let hit = v
            .on_alert(1, Some(&sni("registry.npmjs.org")), &sigs())
            .unwrap();
        assert_eq!(hit.detection, Detection::NonRegistryTls);
        assert_eq!(
            hit.indicator,
            "registry.npmjs.org -> registry.npmjs.org.evil-cdn.example"
        );
        // An HTTP Host has no `non-registry-tls`.
        let mut v = after(&["registry.npmjs.org", "registry.npmjs.org.evil-cdn.example"]);
        let host = FlowName {
            name: "registry.npmjs.org".into(),
            by: NamedBy::Host,
        };
        assert!(v.on_alert(1, Some(&host), &sigs()).is_none());
        // An alias that stays in the allowlist is the registry.
        let d = detector();
        assert!(d
            .judge_chain(Scope::Egress, &chain(&["github.com", "lb.github.com"]))
            .is_none());
    }

    #[test]
    fn a_server_name_with_junk_is_judged_by_its_valid_prefix_never_by_the_allowlist() {
        let (name, by) = NamedBy::sni("cdn.example-assets.com\u{0}");
        assert_eq!((name, by), ("cdn.example-assets.com", NamedBy::JunkSni));
        assert_eq!(NamedBy::sni("a.example."), ("a.example.", NamedBy::Sni));
        let mut v = after(&["cdn.example-assets.com", "x.pkg-validate.net"]);
        let junk = FlowName {
            name: name.into(),
            by,
        };
        assert_eq!(
            v.on_alert(1, Some(&junk), &sigs()).unwrap().detection,
            Detection::IocDomain
        );
        let mut v = after(&["registry.npmjs.org", "registry.npmjs.org.evil-cdn.example"]);
        let (name, by) = NamedBy::sni("registry.npmjs.org\u{0}");
        let junk = FlowName {
            name: name.into(),
            by,
        };
        assert!(v.on_alert(1, Some(&junk), &sigs()).is_none());
    }

    #[test]
    fn only_chains_seen_before_the_flow_and_within_their_ttl_count() {
        let mut v = ChainVerdicts::new(10);
        let facts = detector()
            .judge_chain(Scope::Egress, &chain(&["a.example", "pkg-validate.net"]))
            .unwrap();
        assert!(!v.on_flow_start(1, server(), T0));
        v.on_dns_answers(T0, &[(server(), 60)], &facts);
        assert!(v.on_alert(1, None, &sigs()).is_none());
        // 60 s TTL + 10 s grace.
        assert!(v.on_flow_start(2, server(), T0.plus_secs(70)));
        assert!(!v.on_flow_start(3, server(), T0.plus_secs(71)));
    }

    #[test]
    fn memory_is_bounded_per_address() {
        let mut v = ChainVerdicts::new(10);
        for i in 0..3 * MAX_CHAINS_PER_ADDRESS {
            let facts = detector()
                .judge_chain(
                    Scope::Egress,
                    &chain(&[&format!("n{i}.example"), "pkg-validate.net"]),
                )
                .unwrap();
            v.on_dns_answers(T0, &[(server(), 60)], &facts);
        }
        assert_eq!(v.by_address.kept(server()), MAX_CHAINS_PER_ADDRESS);
    }
}
