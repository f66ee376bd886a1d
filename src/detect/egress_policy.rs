//! `egress-policy`: the destinations runners may reach (the seed's nftables allowlist, read
//! passively). A policy file lists allowed destinations, one per line, each line one nftables
//! `accept` rule of the seed's output chain:
//!
//! ```text
//! # nft add rule inet ci_egress output ip daddr 10.0.0.53 udp dport 53 accept  (and tcp dport 53)
//! 10.0.0.53          udp/53 tcp/53
//! # nft add rule inet ci_egress output ip daddr 104.16.0.0/12 tcp dport 443 accept
//! 104.16.0.0/12      tcp/443
//! 140.82.112.0/20    tcp/443,80         # several ports: tcp dport { 443, 80 }
//! 10.0.1.50          tcp/4873-4880      # a range: tcp dport 4873-4880
//! 2001:db8::/32      udp                # any UDP port
//! 198.51.100.7                          # any protocol, any port
//! ```
//!
//! A destination is an address or a CIDR prefix (host bits must be zero, as nft's `ip daddr`
//! takes it); each service after it is `tcp` or `udp`, alone (any port) or with `/` and ports:
//! a port, a range `lo-hi`, or a comma-separated list of them. `#` starts a comment. Several
//! lines may name the same or overlapping prefixes: a flow is allowed when any line whose prefix
//! holds its server allows its protocol and port. Anything else is refused with `file:line:
//! reason`, as the signature files are.
//!
//! Looking a flow up is one longest-prefix match in a trie whose entries hold the services of
//! every line covering them (computed when the policy is built), then a scan of those few
//! services: flow start only, and only when a policy is configured.

use super::signatures::SignatureError;
use ipnet::IpNet;
use iptrie::{IpLCTrieMap, IpRTrieMap};
use proto::decode::Proto;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// One allowed service: a transport (`None`: TCP and UDP) and a port range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Service {
    proto: Option<Proto>,
    ports: (u16, u16),
}

impl Service {
    const ANY: Service = Service {
        proto: None,
        ports: (0, u16::MAX),
    };

    fn allows(self, proto: Proto, port: u16) -> bool {
        self.proto.is_none_or(|p| p == proto) && (self.ports.0..=self.ports.1).contains(&port)
    }
}

/// No line covers the address (the trie's roots).
const NONE: u32 = u32::MAX;

/// The allowed destinations of a policy file.
pub struct EgressPolicy {
    /// Longest-prefix match to an index into `services`.
    trie: IpLCTrieMap<u32>,
    /// Per distinct prefix: the services of every line whose prefix covers it.
    services: Vec<Vec<Service>>,
    /// Lines with a destination.
    rules: usize,
    /// Where it was read from.
    path: PathBuf,
}

impl std::fmt::Debug for EgressPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "EgressPolicy({}: {} rules)",
            self.path.display(),
            self.rules
        )
    }
}

impl EgressPolicy {
    /// Reads the policy file at `path`.
    pub fn load(path: &Path) -> Result<Self, SignatureError> {
        let text = SignatureError::read(path)?;
        Self::parse(path, &text)
    }

    /// Parses the policy `text` (read from `path`, named in errors).
    pub(crate) fn parse(path: &Path, text: &str) -> Result<Self, SignatureError> {
        let mut rules: Vec<(IpNet, Vec<Service>)> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let rule = parse_line(line).map_err(|reason| SignatureError::BadLine {
                path: path.to_owned(),
                line: i + 1,
                reason,
                text: raw.to_owned(),
            })?;
            rules.push(rule);
        }
        Ok(Self::build(path, rules))
    }

    fn build(path: &Path, rules: Vec<(IpNet, Vec<Service>)>) -> Self {
        // One entry per distinct prefix, holding its own services and those of every prefix
        // that covers it, so that the longest match alone decides.
        let mut prefixes: Vec<IpNet> = rules.iter().map(|(net, _)| *net).collect();
        prefixes.sort();
        prefixes.dedup();
        let services: Vec<Vec<Service>> = prefixes
            .iter()
            .map(|p| {
                let mut all: Vec<Service> = rules
                    .iter()
                    .filter(|(net, _)| net.contains(p))
                    .flat_map(|(_, s)| s.iter().copied())
                    .collect();
                all.dedup();
                all
            })
            .collect();
        let mut trie = IpRTrieMap::with_roots(NONE, NONE);
        for (i, p) in prefixes.iter().enumerate() {
            trie.insert(*p, i as u32);
        }
        EgressPolicy {
            trie: trie.compress(),
            services,
            rules: rules.len(),
            path: path.to_owned(),
        }
    }

    /// Whether a flow to `server`:`port` over `proto` is allowed.
    pub(crate) fn allows(&self, server: IpAddr, port: u16, proto: Proto) -> bool {
        let (_, &index) = self.trie.lookup(&IpNet::from(server));
        self.services
            .get(index as usize)
            .is_some_and(|s| s.iter().any(|s| s.allows(proto, port)))
    }

    /// Lines with a destination.
    pub fn rules(&self) -> usize {
        self.rules
    }
}

/// The indicator of an `egress-policy` alert: `ip:port/proto` (`[v6]:port/proto`).
pub(crate) fn indicator(server: IpAddr, port: u16, proto: Proto) -> String {
    let proto = match proto {
        Proto::Tcp => "tcp",
        Proto::Udp => "udp",
    };
    match server {
        IpAddr::V4(a) => format!("{a}:{port}/{proto}"),
        IpAddr::V6(a) => format!("[{a}]:{port}/{proto}"),
    }
}

/// One line: a destination, then its services (none: any protocol, any port).
fn parse_line(line: &str) -> Result<(IpNet, Vec<Service>), String> {
    let mut words = line.split_whitespace();
    let dest = words.next().unwrap_or_default();
    let net = parse_destination(dest)?;
    let mut services = Vec::new();
    for word in words {
        parse_service(word, &mut services)?;
    }
    if services.is_empty() {
        services.push(Service::ANY);
    }
    Ok((net, services))
}

fn parse_destination(word: &str) -> Result<IpNet, String> {
    if let Ok(addr) = word.parse::<IpAddr>() {
        return Ok(IpNet::from(addr));
    }
    let net = word.parse::<IpNet>().map_err(|_| {
        format!("{word:?} is not an address or CIDR prefix (e.g. 203.0.113.10, 104.16.0.0/12, 2001:db8::/32)")
    })?;
    if net.trunc() != net {
        return Err(format!(
            "{word:?} has host bits set; write the prefix {}",
            net.trunc()
        ));
    }
    Ok(net)
}

/// One service word (`tcp`, `udp/53`, `tcp/80,443`, `tcp/8000-8080`), added to `out`.
fn parse_service(word: &str, out: &mut Vec<Service>) -> Result<(), String> {
    let (proto, ports) = match word.split_once('/') {
        Some((p, ports)) => (p, Some(ports)),
        None => (word, None),
    };
    let proto = match proto.to_ascii_lowercase().as_str() {
        "tcp" => Proto::Tcp,
        "udp" => Proto::Udp,
        _ if proto.parse::<u16>().is_ok() => {
            return Err(format!(
                "{word:?} has no protocol; write tcp/{proto} or udp/{proto}"
            ))
        }
        _ => {
            return Err(format!(
                "unknown protocol {proto:?} in {word:?}; use tcp or udp, e.g. tcp/443 or udp/53"
            ))
        }
    };
    let Some(ports) = ports else {
        out.push(Service {
            proto: Some(proto),
            ..Service::ANY
        });
        return Ok(());
    };
    for part in ports.split(',') {
        let range = match part.split_once('-') {
            Some((lo, hi)) => {
                let (lo, hi) = (parse_port(lo, word)?, parse_port(hi, word)?);
                if lo > hi {
                    return Err(format!(
                        "port range {part:?} in {word:?} ends before it starts"
                    ));
                }
                (lo, hi)
            }
            None => {
                let port = parse_port(part, word)?;
                (port, port)
            }
        };
        out.push(Service {
            proto: Some(proto),
            ports: range,
        });
    }
    Ok(())
}

fn parse_port(text: &str, word: &str) -> Result<u16, String> {
    match text.parse::<u16>() {
        Ok(0) => Err(format!("port 0 in {word:?}; ports are 1 to 65535")),
        Ok(port) => Ok(port),
        Err(_) if text.is_empty() => Err(format!("a port is missing in {word:?}")),
        Err(_) => Err(format!("{text:?} in {word:?} is not a port (1 to 65535)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(text: &str) -> EgressPolicy {
        EgressPolicy::parse(Path::new("policy"), text).unwrap()
    }

    fn refused(text: &str) -> String {
        EgressPolicy::parse(Path::new("p/egress.policy"), text)
            .unwrap_err()
            .to_string()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_seed_allowlist_as_a_policy() {
        let p = policy(
            "# the seed's nftables output chain\n\
             10.0.0.53 udp/53 tcp/53\n\
             104.16.0.0/12   tcp/443\n\
             104.20.0.0/14\ttcp/443   # Cloudflare\n\
             140.82.112.0/20 tcp/443\n\
             10.0.1.50 tcp/4873\n",
        );
        assert_eq!(p.rules(), 5);
        assert!(p.allows(ip("10.0.0.53"), 53, Proto::Udp));
        assert!(p.allows(ip("10.0.0.53"), 53, Proto::Tcp));
        assert!(!p.allows(ip("10.0.0.53"), 853, Proto::Tcp));
        assert!(p.allows(ip("104.16.1.2"), 443, Proto::Tcp));
        assert!(!p.allows(ip("104.16.1.2"), 443, Proto::Udp));
        assert!(!p.allows(ip("104.16.1.2"), 80, Proto::Tcp));
        assert!(p.allows(ip("104.23.255.255"), 443, Proto::Tcp));
        assert!(!p.allows(ip("104.32.0.0"), 443, Proto::Tcp));
        assert!(!p.allows(ip("203.0.113.10"), 443, Proto::Tcp));
        assert!(!p.allows(ip("2001:db8::1"), 443, Proto::Tcp));
    }

    #[test]
    fn services_ports_ranges_lists_and_any() {
        let p = policy(
            "203.0.113.10/32 tcp/80,443,8000-8080\n\
             198.51.100.0/24 udp\n\
             2001:db8::/32\n",
        );
        for port in [80, 443, 8000, 8042, 8080] {
            assert!(p.allows(ip("203.0.113.10"), port, Proto::Tcp), "{port}");
        }
        assert!(!p.allows(ip("203.0.113.10"), 8081, Proto::Tcp));
        assert!(!p.allows(ip("203.0.113.10"), 443, Proto::Udp));
        assert!(p.allows(ip("198.51.100.9"), 5353, Proto::Udp));
        assert!(!p.allows(ip("198.51.100.9"), 53, Proto::Tcp));
        assert!(p.allows(ip("2001:db8::7"), 1, Proto::Tcp));
        assert!(p.allows(ip("2001:db8::7"), 65535, Proto::Udp));
        assert!(!p.allows(ip("2001:db9::7"), 443, Proto::Tcp));
    }

    #[test]
    fn overlapping_prefixes_add_up() {
        // The /32 line must not hide what the /24 allows, nor the reverse.
        let p = policy("198.51.100.0/24 tcp/443\n198.51.100.53 udp/53\n0.0.0.0/0 tcp/22\n");
        let resolver = ip("198.51.100.53");
        assert!(p.allows(resolver, 53, Proto::Udp));
        assert!(p.allows(resolver, 443, Proto::Tcp));
        assert!(p.allows(resolver, 22, Proto::Tcp));
        assert!(!p.allows(resolver, 53, Proto::Tcp));
        assert!(p.allows(ip("192.0.2.1"), 22, Proto::Tcp));
        assert!(!p.allows(ip("192.0.2.1"), 443, Proto::Tcp));
        assert!(!p.allows(ip("2001:db8::1"), 22, Proto::Tcp));
    }

    #[test]
    fn an_empty_policy_allows_nothing() {
        let p = policy("# no egress at all\n\n");
        assert_eq!(p.rules(), 0);
        assert!(!p.allows(ip("203.0.113.1"), 443, Proto::Tcp));
    }

    #[test]
    fn every_bad_line_is_refused_with_file_line_and_reason() {
        let cases = [
            (
                "ok.example tcp/443",
                "\"ok.example\" is not an address or CIDR prefix",
            ),
            (
                "10.0.0.0/33",
                "\"10.0.0.0/33\" is not an address or CIDR prefix",
            ),
            (
                "10.1.2.3/8 tcp/443",
                "\"10.1.2.3/8\" has host bits set; write the prefix 10.0.0.0/8",
            ),
            ("10.0.0.53 icmp", "unknown protocol \"icmp\" in \"icmp\""),
            (
                "10.0.0.53 sctp/53",
                "unknown protocol \"sctp\" in \"sctp/53\"",
            ),
            (
                "10.0.0.53 53",
                "\"53\" has no protocol; write tcp/53 or udp/53",
            ),
            ("10.0.0.53 tcp/", "a port is missing in \"tcp/\""),
            ("10.0.0.53 tcp/80,", "a port is missing in \"tcp/80,\""),
            (
                "10.0.0.53 tcp/https",
                "\"https\" in \"tcp/https\" is not a port (1 to 65535)",
            ),
            (
                "10.0.0.53 tcp/65536",
                "\"65536\" in \"tcp/65536\" is not a port",
            ),
            (
                "10.0.0.53 udp/0",
                "port 0 in \"udp/0\"; ports are 1 to 65535",
            ),
            (
                "10.0.0.53 tcp/9000-80",
                "port range \"9000-80\" in \"tcp/9000-80\" ends before it starts",
            ),
            ("10.0.0.53 tcp/1-", "a port is missing in \"tcp/1-\""),
        ];
        for (line, reason) in cases {
            let err = refused(&format!("# header\n10.0.0.1 tcp/443\n{line}\n"));
            assert!(
                err.starts_with(&format!("p/egress.policy:3: {reason}")),
                "{line}: {err}"
            );
            assert!(err.ends_with(&format!(": {line:?}")), "{line}: {err}");
        }
        let err = EgressPolicy::load(Path::new("/nonexistent/egress.policy"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("/nonexistent/egress.policy: cannot read:"),
            "{err}"
        );
    }

    #[test]
    fn indicators_name_address_port_and_protocol() {
        assert_eq!(
            indicator(ip("203.0.113.10"), 443, Proto::Tcp),
            "203.0.113.10:443/tcp"
        );
        assert_eq!(
            indicator(ip("2001:db8::53"), 53, Proto::Udp),
            "[2001:db8::53]:53/udp"
        );
    }
}
