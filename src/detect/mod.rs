//! The detections: what in a flow, a TLS ClientHello, a DNS query or an HTTP request makes an
//! alert. Inputs are plain values (names, addresses), so this module knows no wire format.
//! Networks: HOME_NET holds the runners; loopback is ignored; egress is a flow whose client is in
//! HOME_NET and whose server is not.

mod by_address;
pub mod cidr;
pub mod direct_ip;
mod dns_bypass;
pub(crate) mod dns_chain;
pub mod egress_policy;
pub mod hidden;
pub mod inventory;
pub(crate) mod lan_discovery;
pub mod names;
pub(crate) mod registry;
pub mod rules;
pub mod signatures;
pub mod user_agent;

use cidr::IpSet;
use egress_policy::EgressPolicy;
use inventory::Inventory;
use ipnet::IpNet;
use proto::decode::Proto;
use proto::tls::server_name;
use rules::RuleSet;
use signatures::Signatures;
use std::net::IpAddr;
use user_agent::NodeUserAgents;

/// The detections, in the order of the design's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Detection {
    IocDomain,
    IocIp,
    NonRegistryTls,
    NoSni,
    DirectIp,
    NodeHttpUa,
    /// DNS over TLS, HTTPS or QUIC, or plain DNS to a server other than the runners' resolvers.
    DnsBypass,
    /// Real ECH to a server whose DNS-resolved name is unknown or not allowlisted.
    HiddenDestination,
    /// An egress flow outside the configured destination policy.
    EgressPolicy,
    /// A lockfile, or a cleartext registry request, names a package absent from the
    /// organisation's inventory (the seed's phantom dependency: axios pulled `plain-crypto-js`).
    PhantomDependency,
}

impl Detection {
    pub(crate) const ALL: [Detection; 10] = [
        Detection::IocDomain,
        Detection::IocIp,
        Detection::NonRegistryTls,
        Detection::NoSni,
        Detection::DirectIp,
        Detection::NodeHttpUa,
        Detection::DnsBypass,
        Detection::HiddenDestination,
        Detection::EgressPolicy,
        Detection::PhantomDependency,
    ];

    /// The name in `alert.metadata.detection`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Detection::IocDomain => "ioc-domain",
            Detection::IocIp => "ioc-ip",
            Detection::NonRegistryTls => "non-registry-tls",
            Detection::NoSni => "no-sni",
            Detection::DirectIp => "direct-ip",
            Detection::NodeHttpUa => "node-http-ua",
            Detection::DnsBypass => "dns-bypass",
            Detection::HiddenDestination => "hidden-destination",
            Detection::EgressPolicy => "egress-policy",
            Detection::PhantomDependency => "phantom-dependency",
        }
    }

    /// Suricata signature id: 9200001-9200011, beside the seed article's rules (9100001-9100006)
    /// so that they load next to the built-in detections (the last digits follow the seed's
    /// numbering where a seed rule has the same aim).
    pub(crate) fn signature_id(self) -> u64 {
        match self {
            Detection::NonRegistryTls => 9_200_001,
            Detection::IocDomain => 9_200_002,
            Detection::NodeHttpUa => 9_200_004,
            Detection::NoSni => 9_200_005,
            Detection::IocIp => 9_200_006,
            Detection::DirectIp => 9_200_007,
            Detection::DnsBypass => 9_200_008,
            Detection::HiddenDestination => 9_200_009,
            Detection::EgressPolicy => 9_200_010,
            Detection::PhantomDependency => 9_200_011,
        }
    }

    /// Alert severity (1 = highest).
    pub(crate) fn severity(self) -> u8 {
        match self {
            Detection::IocDomain | Detection::IocIp | Detection::PhantomDependency => 1,
            _ => 2,
        }
    }

    /// Suricata classification text.
    pub(crate) fn category(self) -> &'static str {
        match self {
            Detection::IocDomain | Detection::IocIp | Detection::PhantomDependency => {
                "A Network Trojan was detected"
            }
            _ => "Potentially Bad Traffic",
        }
    }
}

/// A set of detections: those a flow holds back, or has had its one alert for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct DetectionSet(u16);

impl DetectionSet {
    fn bit(d: Detection) -> u16 {
        1 << (d as u8)
    }

    /// A set holding `d` alone.
    #[cfg(test)]
    pub(crate) fn of(d: Detection) -> Self {
        DetectionSet(Self::bit(d))
    }

    pub(crate) fn contains(self, d: Detection) -> bool {
        self.0 & Self::bit(d) != 0
    }

    /// Adds `d`; false when it was in already.
    pub(crate) fn insert(&mut self, d: Detection) -> bool {
        let new = !self.contains(d);
        self.0 |= Self::bit(d);
        new
    }

    /// Removes `d`; false when it was not in.
    pub(crate) fn remove(&mut self, d: Detection) -> bool {
        let was = self.contains(d);
        self.0 &= !Self::bit(d);
        was
    }

    pub(crate) fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The detections in the set, in the order of [`Detection::ALL`].
    pub(crate) fn iter(self) -> impl Iterator<Item = Detection> {
        Detection::ALL
            .into_iter()
            .filter(move |d| self.contains(*d))
    }
}

/// Where in the traffic a detection looked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    Flow,
    TlsSni,
    TlsClientHello,
    QuicSni,
    QuicClientHello,
    /// The DNS server a query went to.
    DnsServer,
    DnsQuery,
    /// The chain of names (CNAME, DNAME, SVCB/HTTPS targets) a DNS answer resolved through.
    DnsAnswerChain,
    HttpHost,
    HttpConnect,
    HttpUserAgent,
    /// The destination a SOCKS client asked its proxy for (a name or an address).
    SocksTarget,
    /// A package a lockfile names (`inventory check`, `run --inventory`).
    Lockfile,
    /// The package an npm registry request (metadata or tarball) asks for.
    RegistryRequest,
}

impl Source {
    fn describe(self) -> &'static str {
        match self {
            Source::Flow => "flow",
            Source::TlsSni => "TLS SNI",
            Source::TlsClientHello => "TLS ClientHello",
            Source::QuicSni => "QUIC SNI",
            Source::QuicClientHello => "QUIC ClientHello",
            Source::DnsServer => "DNS server",
            Source::DnsQuery => "DNS query",
            Source::DnsAnswerChain => "DNS answer chain",
            Source::HttpHost => "HTTP Host",
            Source::HttpConnect => "HTTP CONNECT target",
            Source::HttpUserAgent => "HTTP User-Agent",
            Source::SocksTarget => "SOCKS target",
            Source::Lockfile => "lockfile",
            Source::RegistryRequest => "registry request",
        }
    }
}

/// One detection that fired, with what matched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    pub(crate) detection: Detection,
    /// What matched: a name, an address or a User-Agent.
    pub(crate) indicator: String,
    pub(crate) source: Source,
    /// `hidden-destination`: the ECH the merge stage judges.
    pub(crate) ech: Option<Box<hidden::EchHello>>,
    /// `direct-ip` of a destination the client named by address to a proxy or in a Host
    /// (SOCKS, CONNECT, an IP-literal Host): judged by that address, not the flow's server.
    pub(crate) target: Option<IpAddr>,
    /// A flow's own `direct-ip`: the name its client sent for the server, by which the merge
    /// stage judges the DNS chains that resolved the server ([`dns_chain`]).
    pub(crate) flow_name: Option<Box<dns_chain::FlowName>>,
}

impl Hit {
    pub(crate) fn new(detection: Detection, indicator: impl Into<String>, source: Source) -> Self {
        Hit {
            detection,
            indicator: indicator.into(),
            source,
            ech: None,
            target: None,
            flow_name: None,
        }
    }

    /// The alert's `signature` text.
    pub(crate) fn signature(&self) -> String {
        let what = match self.detection {
            Detection::IocDomain => "IOC domain",
            Detection::IocIp => "connection to an IOC address",
            Detection::NonRegistryTls => "egress TLS to a name outside the registry allowlist",
            Detection::NoSni => "egress TLS without a server name",
            Detection::DirectIp => "egress to an address no DNS answer resolved",
            Detection::NodeHttpUa => "Node.js HTTP client to a host outside the registry allowlist",
            Detection::DnsBypass => "DNS that bypasses the runners' resolver",
            Detection::HiddenDestination => {
                "encrypted ClientHello to a server no allowlisted DNS name resolved"
            }
            Detection::EgressPolicy => "egress outside the destination policy",
            Detection::PhantomDependency => "package absent from the organisation's inventory",
        };
        format!(
            "EGRESS-IDS {} {} ({})",
            self.detection.name(),
            what,
            self.source.describe()
        )
    }
}

/// How a flow relates to the home networks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Loopback on either side: never alerted on.
    Ignored,
    /// Client in HOME_NET, server outside.
    Egress,
    /// Anything else (internal, inbound, or both external).
    Other,
}

/// HOME_NET by default.
const DEFAULT_HOME_NET: [&str; 7] = [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "169.254.0.0/16",
    "fc00::/7",
    "fe80::/10",
];

/// Whether `ip` is a multicast group or the IPv4 limited broadcast: an address no flow leaves
/// the network for.
fn is_broadcast_or_multicast(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_multicast() || v4.is_broadcast(),
        IpAddr::V6(v6) => v6.is_multicast(),
    }
}

/// Applies the detections with one set of signatures and home networks.
#[derive(Debug)]
pub struct Detector {
    pub(crate) signatures: Signatures,
    home_net: IpSet,
    node_agents: NodeUserAgents,
    /// The runners' resolvers (`--resolvers`): plain DNS to any other server is `dns-bypass`.
    resolvers: Option<IpSet>,
    /// The allowed destinations (`--egress-policy`): any other egress flow is `egress-policy`.
    policy: Option<EgressPolicy>,
    /// The organisation's packages (`--inventory`): a registry request for any other is
    /// `phantom-dependency`.
    inventory: Option<Inventory>,
    /// Loaded Suricata rules (`--rules`).
    pub(crate) rules: Option<RuleSet>,
    /// mDNS and LLMNR are logged as `dns` events (`--log-lan-discovery`; [`lan_discovery`]).
    log_lan_discovery: bool,
}

impl Detector {
    pub fn new(signatures: Signatures, home_net: Vec<IpNet>) -> Self {
        Detector {
            signatures,
            home_net: IpSet::from_nets(home_net),
            node_agents: NodeUserAgents::default(),
            resolvers: None,
            policy: None,
            inventory: None,
            rules: None,
            log_lan_discovery: false,
        }
    }

    /// Matches transactions against `rules` too.
    pub fn with_rules(mut self, rules: RuleSet) -> Self {
        self.rules = Some(rules);
        self
    }

    /// The loaded rules, when there are some.
    pub fn rules(&self) -> Option<&RuleSet> {
        self.rules.as_ref()
    }

    /// What loading the rules says: each refused rule (file:line, sid, reason), and the
    /// summary line (loaded and refused, by reason); nothing without rules.
    pub fn rule_notes(&self) -> (Vec<String>, Vec<String>) {
        match &self.rules {
            None => (Vec::new(), Vec::new()),
            Some(rules) => (
                rules
                    .report
                    .refused
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
                vec![format!("rules: {}", rules.report.summary())],
            ),
        }
    }

    /// The sids of the built-in detections, with what they are (a rule may not reuse them).
    pub fn builtin_sids() -> Vec<(u32, String)> {
        Detection::ALL
            .iter()
            .map(|d| {
                (
                    d.signature_id() as u32,
                    format!("the built-in detection {}", d.name()),
                )
            })
            .collect()
    }

    /// Judges plain DNS against the runners' resolvers `resolvers` (`dns-bypass`).
    pub fn with_resolvers(mut self, resolvers: Vec<IpNet>) -> Self {
        self.resolvers = Some(IpSet::from_nets(resolvers));
        self
    }

    /// The egress policy's rule count, when one is loaded.
    pub fn egress_policy_rules(&self) -> Option<usize> {
        self.policy.as_ref().map(EgressPolicy::rules)
    }

    /// Judges egress flows against `policy` (`egress-policy`).
    pub fn with_egress_policy(mut self, policy: EgressPolicy) -> Self {
        self.policy = Some(policy);
        self
    }

    /// Judges npm registry requests against `inventory` (`phantom-dependency`).
    pub fn with_inventory(mut self, inventory: Inventory) -> Self {
        self.inventory = Some(inventory);
        self
    }

    /// The package inventory, when one is configured.
    pub fn inventory(&self) -> Option<&Inventory> {
        self.inventory.as_ref()
    }

    /// The egress policy, when one is configured.
    pub fn egress_policy(&self) -> Option<&EgressPolicy> {
        self.policy.as_ref()
    }

    /// The default HOME_NET prefixes.
    pub fn default_home_net() -> Vec<IpNet> {
        DEFAULT_HOME_NET
            .iter()
            .map(|n| n.parse().expect("static prefix"))
            .collect()
    }

    /// How a flow from `client` to `server` relates to HOME_NET. Broadcast and multicast (DHCP
    /// to 255.255.255.255, SSDP to 239.255.255.250, DHCPv6 to ff02::1:2) stay on the link or
    /// the site: they are never egress.
    pub fn scope(&self, client: IpAddr, server: IpAddr) -> Scope {
        if client.is_loopback() || server.is_loopback() {
            Scope::Ignored
        } else if is_broadcast_or_multicast(server) || is_broadcast_or_multicast(client) {
            Scope::Other
        } else if self.home_net.contains(client) && !self.home_net.contains(server) {
            Scope::Egress
        } else {
            Scope::Other
        }
    }

    /// `ioc-ip`, `direct-ip` and `egress-policy` that may fire at the start of a TCP/UDP flow
    /// over `proto` to `server` (no allocation: every flow asks). `is_dns` excludes DNS flows
    /// from `direct-ip`, which stands only if no DNS answer resolved the server: [`direct_ip`]
    /// decides that. `egress-policy` is asked only when a policy is configured.
    pub(crate) fn flow_start(
        &self,
        scope: Scope,
        server: (IpAddr, u16),
        proto: Proto,
        is_dns: bool,
    ) -> DetectionSet {
        let mut set = DetectionSet::default();
        if scope == Scope::Ignored {
            return set;
        }
        let (addr, port) = server;
        if self.signatures.ioc_ips.contains(addr) {
            set.insert(Detection::IocIp);
        }
        if scope == Scope::Egress && !is_dns && !self.signatures.allow_ips.contains(addr) {
            set.insert(Detection::DirectIp);
        }
        if let (Some(policy), Scope::Egress) = (&self.policy, scope) {
            if !policy.allows(addr, port, proto) {
                set.insert(Detection::EgressPolicy);
            }
        }
        set
    }

    /// The hit of a held flow-start detection on a flow over `proto` to `server`: the server's
    /// address, or for `egress-policy` its `ip:port/proto`.
    pub(crate) fn flow_hit(detection: Detection, server: (IpAddr, u16), proto: Proto) -> Hit {
        let indicator = match detection {
            Detection::EgressPolicy => egress_policy::indicator(server.0, server.1, proto),
            _ => server.0.to_string(),
        };
        Hit::new(detection, indicator, Source::Flow)
    }

    /// `ioc-domain`, `non-registry-tls` or `no-sni` for a ClientHello (at most one of these),
    /// over TLS or QUIC, and beside it `dns-bypass` (DoT, DoH, DoQ: [`dns_bypass`]).
    pub fn on_client_hello(&self, scope: Scope, hello: &HelloFacts<'_>) -> Vec<Hit> {
        let mut hits = self.name_hits(scope, hello);
        hits.extend(self.dns_bypass_hello(scope, hello));
        hits
    }

    /// `ioc-domain`, `non-registry-tls` or `no-sni` for a ClientHello (at most one of these).
    fn name_hits(&self, scope: Scope, hello: &HelloFacts<'_>) -> Vec<Hit> {
        let mut hits = Vec::new();
        if scope == Scope::Ignored {
            return hits;
        }
        let (sni_source, hello_source) = match hello.transport {
            HelloTransport::Tcp => (Source::TlsSni, Source::TlsClientHello),
            HelloTransport::Quic => (Source::QuicSni, Source::QuicClientHello),
        };
        let sni = hello.sni.filter(|s| !s.is_empty());
        if let (Some(config_id), Scope::Egress) = (hello.ech_config, scope) {
            // Real ECH or GREASE: the merge stage decides with the DNS answers.
            let mut hit = Hit::new(
                Detection::HiddenDestination,
                hello.server.to_string(),
                hello_source,
            );
            hit.ech = Some(Box::new(hidden::EchHello {
                sni: sni.map(Into::into),
                config_id,
            }));
            hits.push(hit);
        }
        // Every name the server may act on: the first, then the others a ClientHello carried.
        let names = || {
            sni.into_iter()
                .chain(hello.other_names.iter().map(String::as_str))
                .map(ServerName::of)
        };
        if let Some(name) =
            names().find(|n| !n.clean.is_empty() && self.signatures.ioc_domains.contains(n.clean))
        {
            hits.push(Hit::new(
                Detection::IocDomain,
                normalise_name(name.clean),
                sni_source,
            ));
            return hits;
        }
        if scope != Scope::Egress {
            return hits;
        }
        // A name with junk is never the registry, whatever its prefix: a real registry's TLS
        // stack refuses it (OpenSSL answers a NUL with an alert), so whoever accepts it is not.
        match names().find(|n| !n.valid || !self.signatures.allow_domains.contains(n.clean)) {
            Some(name) => hits.push(Hit::new(
                Detection::NonRegistryTls,
                name.indicator(),
                sni_source,
            )),
            None if sni.is_none() => hits.push(Hit::new(
                Detection::NoSni,
                hello.server.to_string(),
                hello_source,
            )),
            None => {}
        }
        hits
    }

    /// `ioc-domain` for one DNS query name.
    pub(crate) fn on_dns_query(&self, scope: Scope, qname: &str) -> Option<Hit> {
        (scope != Scope::Ignored && self.signatures.ioc_domains.contains(qname)).then(|| {
            Hit::new(
                Detection::IocDomain,
                normalise_name(qname),
                Source::DnsQuery,
            )
        })
    }

    /// `ioc-domain`, `direct-ip`, `dns-bypass` (a DoH endpoint as Host), `node-http-ua` and
    /// `phantom-dependency` for an HTTP request.
    pub(crate) fn on_http_request(&self, scope: Scope, req: &HttpFacts<'_>) -> Vec<Hit> {
        let mut hits = Vec::new();
        if scope == Scope::Ignored {
            return hits;
        }
        if let Some(target) = req
            .connect_host
            .filter(|h| self.signatures.ioc_domains.contains(h))
        {
            hits.push(Hit::new(
                Detection::IocDomain,
                normalise_name(target),
                Source::HttpConnect,
            ));
        } else if let Some(host) = req
            .host
            .into_iter()
            .chain(req.other_hosts.iter().copied())
            .find(|h| self.signatures.ioc_domains.contains(h))
        {
            hits.push(Hit::new(
                Detection::IocDomain,
                normalise_name(host),
                Source::HttpHost,
            ));
        }
        // An internal mirror is not egress: registry requests are judged in every scope.
        hits.extend(self.phantom_dependency(req));
        if scope != Scope::Egress {
            return hits;
        }
        if let (Some(host), Some(ip)) = (req.host, req.host_ip) {
            let mut hit = Hit::new(Detection::DirectIp, host, Source::HttpHost);
            hit.target = Some(ip);
            hits.push(hit);
        }
        hits.extend(self.dns_bypass_http(req.host));
        let allowlisted = req
            .host
            .is_some_and(|h| self.signatures.allow_domains.contains(h));
        if let (Some(ua), false) = (req.user_agent, allowlisted) {
            if self.node_agents.family(ua).is_some() {
                hits.push(Hit::new(Detection::NodeHttpUa, ua, Source::HttpUserAgent));
            }
        }
        hits
    }
}

impl Detector {
    /// `phantom-dependency` for a cleartext npm registry request (metadata or tarball) for a
    /// package the inventory lacks; nothing without an inventory.
    fn phantom_dependency(&self, req: &HttpFacts<'_>) -> Option<Hit> {
        let inventory = self.inventory.as_ref()?;
        let request = registry::registry_request(req.target?, req.user_agent)?;
        (!inventory.contains(&request.package)).then(|| {
            Hit::new(
                Detection::PhantomDependency,
                request.package,
                Source::RegistryRequest,
            )
        })
    }
}

impl Detector {
    /// `ioc-domain` (a name target), `ioc-ip` and `direct-ip` (an address target) for the
    /// destination a SOCKS client asked its proxy for: the same detections as an HTTP CONNECT
    /// target. `direct-ip` for an address outside HOME_NET is decided by the merge stage on that
    /// address (did a DNS answer resolve it?), as for an IP-literal Host or CONNECT target, and
    /// shares the flow's one `direct-ip` alert.
    pub(crate) fn on_socks_target(&self, scope: Scope, target: &SocksTarget<'_>) -> Vec<Hit> {
        let mut hits = Vec::new();
        if scope == Scope::Ignored {
            return hits;
        }
        match *target {
            SocksTarget::Domain(name) => {
                if self.signatures.ioc_domains.contains(name) {
                    hits.push(Hit::new(
                        Detection::IocDomain,
                        normalise_name(name),
                        Source::SocksTarget,
                    ));
                }
            }
            SocksTarget::Ip(ip) => {
                if self.signatures.ioc_ips.contains(ip) {
                    hits.push(Hit::new(
                        Detection::IocIp,
                        ip.to_string(),
                        Source::SocksTarget,
                    ));
                }
                let outside = !self.home_net.contains(ip) && !ip.is_loopback();
                if scope == Scope::Egress && outside && !self.signatures.allow_ips.contains(ip) {
                    let mut hit =
                        Hit::new(Detection::DirectIp, ip.to_string(), Source::SocksTarget);
                    hit.target = Some(ip);
                    hits.push(hit);
                }
            }
        }
        hits
    }
}

/// Where a SOCKS client asked its proxy to connect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SocksTarget<'a> {
    /// A host name the proxy resolves (SOCKS4a, SOCKS5 domain).
    Domain(&'a str),
    /// An address the client resolved itself (SOCKS4, SOCKS5 IPv4/IPv6).
    Ip(IpAddr),
}

/// Which transport carried a ClientHello.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HelloTransport {
    /// TLS over TCP.
    Tcp,
    /// A QUIC Initial (RFC 9001: the ClientHello in CRYPTO frames).
    Quic,
}

/// The ClientHello facts the detections read.
#[derive(Clone, Copy, Debug)]
pub struct HelloFacts<'a> {
    pub client: IpAddr,
    pub server: IpAddr,
    pub server_port: u16,
    pub transport: HelloTransport,
    /// The first server name (`None`: no SNI extension).
    pub sni: Option<&'a str>,
    /// The other names of the SNI extension, when it held several.
    pub other_names: &'a [String],
    /// The ALPN protocols offered, in order.
    pub alpns: &'a [String],
    /// The `config_id` of an outer Encrypted Client Hello extension (real or GREASE).
    pub ech_config: Option<u8>,
}

/// The HTTP request facts the detections read.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct HttpFacts<'a> {
    /// Host name (Host header, or the authority of an absolute URI), without port.
    pub(crate) host: Option<&'a str>,
    /// The host, when it is an address literal.
    pub(crate) host_ip: Option<IpAddr>,
    /// The hosts of the other Host headers, when a request has several.
    pub(crate) other_hosts: &'a [&'a str],
    /// Host of a CONNECT target.
    pub(crate) connect_host: Option<&'a str>,
    pub(crate) user_agent: Option<&'a str>,
    /// The request target as sent (origin or absolute form): the package of a registry request.
    pub(crate) target: Option<&'a str>,
}

/// A ClientHello's server name as the name sets read it: the name itself when it is a host
/// name, else its longest valid prefix (`pkg-validate.net\0` is matched as `pkg-validate.net`;
/// EVE keeps the whole name, escaped, and flags it).
#[derive(Clone, Copy, Debug)]
struct ServerName<'a> {
    /// The name as logged.
    raw: &'a str,
    /// The longest prefix that is a host name, no trailing dot (`""`: none).
    clean: &'a str,
    /// Whether the whole name is a host name.
    valid: bool,
}

impl<'a> ServerName<'a> {
    fn of(raw: &'a str) -> Self {
        let (clean, whole) = server_name::scan(raw);
        ServerName {
            raw,
            clean,
            valid: whole && !clean.is_empty(),
        }
    }

    /// The alert's indicator: the clean name; the name as logged when no prefix is valid.
    fn indicator(&self) -> String {
        if self.clean.is_empty() {
            normalise_name(self.raw)
        } else {
            normalise_name(self.clean)
        }
    }
}

/// Lowercase, no trailing dot: how names appear in `indicator`.
fn normalise_name(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detector() -> Detector {
        Detector::new(Signatures::builtin(), Detector::default_home_net())
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn scopes() {
        let d = detector();
        assert_eq!(d.scope(ip("10.1.1.1"), ip("203.0.113.1")), Scope::Egress);
        assert_eq!(d.scope(ip("fd00::1"), ip("2001:db8::1")), Scope::Egress);
        assert_eq!(d.scope(ip("10.1.1.1"), ip("10.2.2.2")), Scope::Other);
        assert_eq!(d.scope(ip("127.0.0.1"), ip("203.0.113.1")), Scope::Ignored);
    }

    #[test]
    fn tls_detections_are_exclusive() {
        let d = detector();
        let hello = |scope: Scope, server: IpAddr, sni: Option<&str>, others: &[String]| {
            d.on_client_hello(
                scope,
                &HelloFacts {
                    client: "10.0.0.5".parse().unwrap(),
                    server,
                    server_port: 443,
                    transport: HelloTransport::Tcp,
                    sni,
                    other_names: others,
                    alpns: &[],
                    ech_config: None,
                },
            )
            .into_iter()
            .next()
        };
        let e = Scope::Egress;
        let server = ip("203.0.113.1");
        assert_eq!(
            hello(e, server, Some("C2.Pkg-Validate.net"), &[])
                .unwrap()
                .detection,
            Detection::IocDomain
        );
        let hit = hello(e, server, Some("github.com.evil-cdn.io"), &[]).unwrap();
        assert_eq!(
            (hit.detection, hit.indicator.as_str()),
            (Detection::NonRegistryTls, "github.com.evil-cdn.io")
        );
        assert_eq!(hello(e, server, Some("api.github.com"), &[]), None);
        assert_eq!(
            hello(e, server, None, &[]).unwrap().indicator,
            "203.0.113.1"
        );
        assert_eq!(hello(Scope::Other, server, None, &[]), None);
        assert_eq!(
            hello(Scope::Other, server, Some("npm-health-check.io"), &[])
                .unwrap()
                .detection,
            Detection::IocDomain
        );
    }

    #[test]
    fn a_name_with_junk_is_matched_on_its_longest_valid_prefix_and_is_never_the_registry() {
        let d = detector();
        let judge = |scope: Scope, sni: &str, others: &[String]| {
            d.on_client_hello(
                scope,
                &HelloFacts {
                    client: ip("10.0.0.5"),
                    server: ip("203.0.113.1"),
                    server_port: 443,
                    transport: HelloTransport::Tcp,
                    sni: Some(sni),
                    other_names: others,
                    alpns: &[],
                    ech_config: None,
                },
            )
            .into_iter()
            .map(|h| (h.detection, h.indicator))
            .collect::<Vec<_>>()
        };
        let ioc = |name: &str| vec![(Detection::IocDomain, name.to_owned())];
        let e = Scope::Egress;
        for sni in [
            "pkg-validate.net\0",
            "pkg-validate.net.\0",
            "pkg-validate.net\u{7}junk",
            "Pkg-Validate.NET\\xff\\xfe",
        ] {
            assert_eq!(judge(e, sni, &[]), ioc("pkg-validate.net"), "{sni:?}");
            assert_eq!(judge(Scope::Other, sni, &[]), ioc("pkg-validate.net"));
        }
        assert_eq!(
            judge(e, "c2.pkg-validate.net\0x", &[]),
            ioc("c2.pkg-validate.net")
        );
        // A later name of the list with junk counts too.
        let others = ["npm-health-check.io\0".to_owned()];
        assert_eq!(
            judge(e, "registry.npmjs.org", &others),
            ioc("npm-health-check.io")
        );
        // The junk is not part of an entry: an IOC cut inside a label is no longer that IOC.
        assert_eq!(
            judge(e, "pkg-validate.n\0et", &[]),
            vec![(Detection::NonRegistryTls, "pkg-validate.n".to_owned())]
        );
        // An allowlisted name with junk after it is not the registry.
        for sni in [
            "registry.npmjs.org\0",
            "github.com\u{7}x",
            "registry.npmjs.org.\0",
        ] {
            assert_eq!(
                judge(e, sni, &[]),
                vec![(Detection::NonRegistryTls, sni_prefix(sni))],
                "{sni:?}"
            );
            assert_eq!(judge(Scope::Other, sni, &[]), vec![]);
        }
        // No valid prefix: the indicator is the name as logged.
        assert_eq!(
            judge(e, "\0registry.npmjs.org", &[]),
            vec![(Detection::NonRegistryTls, "\0registry.npmjs.org".to_owned())]
        );
        // A clean registry name stays quiet; a trailing dot is a host name.
        assert_eq!(judge(e, "registry.npmjs.org.", &[]), vec![]);
    }

    fn sni_prefix(sni: &str) -> String {
        server_name::host_name_prefix(sni).to_owned()
    }

    #[test]
    fn every_name_of_a_client_hello_and_every_host_header_is_checked() {
        let d = detector();
        let (e, server) = (Scope::Egress, ip("203.0.113.1"));
        let others = ["npm-health-check.io".to_owned()];
        let hello = HelloFacts {
            client: ip("10.0.0.5"),
            server,
            server_port: 443,
            transport: HelloTransport::Quic,
            sni: Some("registry.npmjs.org"),
            other_names: &others,
            alpns: &[],
            ech_config: None,
        };
        let hits = d.on_client_hello(e, &hello);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].indicator, "npm-health-check.io");
        assert_eq!(hits[0].source, Source::QuicSni);
        let facts = HttpFacts {
            host: Some("registry.npmjs.org, pkg-validate.net"),
            other_hosts: &["registry.npmjs.org", "pkg-validate.net"],
            ..HttpFacts::default()
        };
        let hits = d.on_http_request(e, &facts);
        assert_eq!(hits[0].detection, Detection::IocDomain);
        assert_eq!(hits[0].indicator, "pkg-validate.net");
    }

    #[test]
    fn broadcast_and_multicast_are_not_egress() {
        let d = detector();
        for server in [
            "255.255.255.255",
            "239.255.255.250",
            "224.0.0.251",
            "ff02::1:2",
        ] {
            let client = if server.contains(':') {
                "fe80::1"
            } else {
                "10.0.0.5"
            };
            assert_eq!(d.scope(ip(client), ip(server)), Scope::Other, "{server}");
        }
        assert_eq!(d.scope(ip("10.0.0.5"), ip("203.0.113.1")), Scope::Egress);
    }

    #[test]
    fn flow_start_direct_ip_respects_dns_and_allowlist() {
        let d = detector();
        let e = Scope::Egress;
        let server = ip("203.0.113.1");
        let tcp = Proto::Tcp;
        assert_eq!(
            d.flow_start(e, (server, 443), tcp, false),
            DetectionSet::of(Detection::DirectIp)
        );
        assert!(d.flow_start(e, (server, 53), tcp, true).is_empty());
        assert!(d
            .flow_start(Scope::Other, (server, 443), tcp, false)
            .is_empty());
        assert!(d
            .flow_start(e, (ip("168.63.129.16"), 80), tcp, false)
            .is_empty());
    }

    #[test]
    fn flow_start_egress_policy_only_with_a_policy_and_only_for_egress() {
        let path = std::path::Path::new("policy");
        let policy =
            EgressPolicy::parse(path, "203.0.113.10 tcp/443\n198.51.100.53 udp/53\n").unwrap();
        let d = detector().with_egress_policy(policy);
        let (e, tcp, udp) = (Scope::Egress, Proto::Tcp, Proto::Udp);
        let allowed = ip("203.0.113.10");
        assert!(!d
            .flow_start(e, (allowed, 443), tcp, false)
            .contains(Detection::EgressPolicy));
        for (port, proto) in [(80, tcp), (443, udp)] {
            assert!(d
                .flow_start(e, (allowed, port), proto, false)
                .contains(Detection::EgressPolicy));
        }
        assert!(!d
            .flow_start(e, (ip("198.51.100.53"), 53), udp, true)
            .contains(Detection::EgressPolicy));
        assert!(d
            .flow_start(e, (ip("198.51.100.53"), 53), tcp, true)
            .contains(Detection::EgressPolicy));
        for scope in [Scope::Other, Scope::Ignored] {
            assert!(d
                .flow_start(scope, (ip("192.0.2.1"), 22), tcp, false)
                .is_empty());
        }
        assert!(!detector()
            .flow_start(e, (ip("192.0.2.1"), 22), tcp, false)
            .contains(Detection::EgressPolicy));
        let hit = Detector::flow_hit(Detection::EgressPolicy, (ip("2001:db8::1"), 8443), tcp);
        assert_eq!(hit.indicator, "[2001:db8::1]:8443/tcp");
        assert_eq!(
            Detector::flow_hit(Detection::IocIp, (allowed, 1), udp).indicator,
            "203.0.113.10"
        );
    }

    #[test]
    fn detection_sets_insert_once_and_list_in_table_order() {
        let mut set = DetectionSet::default();
        assert!(set.is_empty());
        assert!(set.insert(Detection::DirectIp));
        assert!(set.insert(Detection::IocIp));
        assert!(!set.insert(Detection::DirectIp));
        assert!(set.contains(Detection::IocIp) && !set.contains(Detection::NoSni));
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            [Detection::IocIp, Detection::DirectIp]
        );
        assert!(set.remove(Detection::IocIp));
        assert!(!set.remove(Detection::IocIp));
        assert_eq!(set, DetectionSet::of(Detection::DirectIp));
        // Every detection has its own bit.
        let all: DetectionSet = Detection::ALL.into_iter().fold(set, |mut s, d| {
            s.insert(d);
            s
        });
        assert_eq!(all.iter().count(), Detection::ALL.len());
    }

    #[test]
    fn socks_targets_are_judged_like_connect_targets() {
        let d = detector();
        let e = Scope::Egress;
        let hits = d.on_socks_target(e, &SocksTarget::Domain("C2.pkg-validate.net."));
        assert_eq!(hits.len(), 1);
        assert_eq!(
            (
                hits[0].detection,
                hits[0].indicator.as_str(),
                hits[0].source
            ),
            (
                Detection::IocDomain,
                "c2.pkg-validate.net",
                Source::SocksTarget
            )
        );
        assert!(d
            .on_socks_target(e, &SocksTarget::Domain("registry.npmjs.org"))
            .is_empty());
        let hits = d.on_socks_target(e, &SocksTarget::Ip(ip("203.0.113.20")));
        assert_eq!(hits[0].detection, Detection::DirectIp);
        assert_eq!(hits[0].indicator, "203.0.113.20");
        for inside in ["10.1.2.3", "127.0.0.1", "168.63.129.16"] {
            assert!(
                d.on_socks_target(e, &SocksTarget::Ip(ip(inside)))
                    .is_empty(),
                "{inside}"
            );
        }
        assert!(d
            .on_socks_target(Scope::Ignored, &SocksTarget::Domain("pkg-validate.net"))
            .is_empty());
    }

    #[test]
    fn http_detections() {
        let d = detector();
        let facts = HttpFacts {
            other_hosts: &[],
            host: Some("203.0.113.9"),
            host_ip: Some(ip("203.0.113.9")),
            connect_host: None,
            user_agent: Some("axios/1.7.9"),
            target: Some("/"),
        };
        let names: Vec<_> = d
            .on_http_request(Scope::Egress, &facts)
            .iter()
            .map(|h| h.detection)
            .collect();
        assert_eq!(names, vec![Detection::DirectIp, Detection::NodeHttpUa]);
        let registry = HttpFacts {
            host: Some("registry.npmjs.org"),
            user_agent: Some("node-fetch/1.0"),
            ..Default::default()
        };
        assert!(d.on_http_request(Scope::Egress, &registry).is_empty());
        let connect = HttpFacts {
            connect_host: Some("plain-crypto-js.net"),
            ..Default::default()
        };
        assert_eq!(
            d.on_http_request(Scope::Egress, &connect)[0].source,
            Source::HttpConnect
        );
    }

    #[test]
    fn registry_requests_against_the_inventory_in_every_scope_but_loopback() {
        let npm = Some("npm/10.8.2 node/v20.18.0 linux x64 workspaces/false");
        let request = |target| HttpFacts {
            host: Some("verdaccio.ci.internal"),
            user_agent: npm,
            target: Some(target),
            ..Default::default()
        };
        let phantom = |d: &Detector, scope, target| -> Vec<(Detection, String, Source)> {
            d.on_http_request(scope, &request(target))
                .into_iter()
                .filter(|h| h.detection == Detection::PhantomDependency)
                .map(|h| (h.detection, h.indicator, h.source))
                .collect()
        };
        // No inventory: registry requests are not judged.
        assert!(phantom(&detector(), Scope::Other, "/plain-crypto-js").is_empty());
        let d = detector().with_inventory(Inventory::from_names(["axios", "@types/node"]));
        for scope in [Scope::Egress, Scope::Other] {
            for target in ["/axios", "/@types%2fnode", "/axios/-/axios-1.14.1.tgz"] {
                assert!(phantom(&d, scope, target).is_empty(), "{target}");
            }
            for (target, package) in [
                ("/plain-crypto-js", "plain-crypto-js"),
                (
                    "/plain-crypto-js/-/plain-crypto-js-4.2.1.tgz",
                    "plain-crypto-js",
                ),
                ("/@types%2fnodes", "@types/nodes"),
            ] {
                assert_eq!(
                    phantom(&d, scope, target),
                    vec![(
                        Detection::PhantomDependency,
                        package.to_string(),
                        Source::RegistryRequest
                    )],
                    "{target}"
                );
            }
        }
        assert!(phantom(&d, Scope::Ignored, "/plain-crypto-js").is_empty());
    }
}
