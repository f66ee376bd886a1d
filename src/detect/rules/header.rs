//! A rule's header: action, protocol, addresses and ports (lists, ranges, negation, variables)
//! and direction, resolved against [`RuleVars`] once, at load.

use super::vars::RuleVars;
use ipnet::IpNet;
use std::net::IpAddr;

/// What a matching rule does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Alert,
    /// Suppresses every alert of the flow from then on (Suricata's `pass`).
    Pass,
}

/// The protocol a rule names: a transport, or an application protocol egress-ids parses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RuleProto {
    Ip,
    Tcp,
    Udp,
    Dns,
    Tls,
    Http,
    Quic,
}

impl RuleProto {
    fn parse(word: &str) -> Result<Self, String> {
        Ok(match word.to_ascii_lowercase().as_str() {
            "ip" | "pkthdr" => RuleProto::Ip,
            "tcp" | "tcp-pkt" | "tcp-stream" => RuleProto::Tcp,
            "udp" => RuleProto::Udp,
            "dns" => RuleProto::Dns,
            "tls" => RuleProto::Tls,
            "http" | "http1" | "http2" => RuleProto::Http,
            "quic" => RuleProto::Quic,
            other => {
                return Err(format!(
                    "protocol {other:?}: egress-ids inspects ip, tcp, udp, dns, tls, http and quic"
                ))
            }
        })
    }
}

/// An address expression: Suricata's address syntax, with variables expanded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum AddrExpr {
    Any,
    Net(IpNet),
    /// An inclusive range `a-b`.
    Range(IpAddr, IpAddr),
    Not(Box<AddrExpr>),
    /// A list: any positive member matches (all when there is none), and no negated one.
    List(Vec<AddrExpr>),
}

impl AddrExpr {
    pub(crate) fn matches(&self, ip: IpAddr) -> bool {
        match self {
            AddrExpr::Any => true,
            AddrExpr::Net(net) => net.contains(&ip),
            AddrExpr::Range(lo, hi) => lo.is_ipv4() == ip.is_ipv4() && *lo <= ip && ip <= *hi,
            AddrExpr::Not(inner) => !inner.matches(ip),
            AddrExpr::List(items) => {
                let mut positives = items.iter().filter(|i| !matches!(i, AddrExpr::Not(_)));
                let negatives = items.iter().filter_map(|i| match i {
                    AddrExpr::Not(inner) => Some(inner),
                    _ => None,
                });
                let has_positive = items.iter().any(|i| !matches!(i, AddrExpr::Not(_)));
                (!has_positive || positives.any(|p| p.matches(ip)))
                    && !negatives.into_iter().any(|n| n.matches(ip))
            }
        }
    }
}

/// A port expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PortExpr {
    Any,
    /// An inclusive range (`80` is `80:80`, `1024:` is `1024:65535`).
    Range(u16, u16),
    Not(Box<PortExpr>),
    List(Vec<PortExpr>),
}

impl PortExpr {
    pub(crate) fn matches(&self, port: u16) -> bool {
        match self {
            PortExpr::Any => true,
            PortExpr::Range(lo, hi) => (*lo..=*hi).contains(&port),
            PortExpr::Not(inner) => !inner.matches(port),
            PortExpr::List(items) => {
                let has_positive = items.iter().any(|i| !matches!(i, PortExpr::Not(_)));
                let pos = !has_positive
                    || items
                        .iter()
                        .filter(|i| !matches!(i, PortExpr::Not(_)))
                        .any(|p| p.matches(port));
                let neg = items.iter().any(|i| match i {
                    PortExpr::Not(inner) => inner.matches(port),
                    _ => false,
                });
                pos && !neg
            }
        }
    }
}

/// A parsed header.
#[derive(Clone, Debug)]
pub(crate) struct Header {
    pub(crate) action: Action,
    pub(crate) proto: RuleProto,
    pub(crate) src: AddrExpr,
    pub(crate) src_ports: PortExpr,
    pub(crate) dst: AddrExpr,
    pub(crate) dst_ports: PortExpr,
    /// `<>`: either way.
    pub(crate) both_ways: bool,
}

impl Header {
    /// Parses the header words `action proto src sport dir dst dport`.
    pub(crate) fn parse(words: &[&str], vars: &RuleVars) -> Result<Header, String> {
        let [action, proto, src, sport, dir, dst, dport] = words else {
            return Err(format!(
                "the header has {} words; a rule is `action proto src port -> dst port (options)`",
                words.len()
            ));
        };
        let action = match *action {
            "alert" => Action::Alert,
            "pass" => Action::Pass,
            other => {
                return Err(format!(
                    "action {other:?}: egress-ids is passive, it loads alert and pass rules"
                ))
            }
        };
        let both_ways = match *dir {
            "->" => false,
            "<>" => true,
            other => return Err(format!("direction {other:?}: use -> or <>")),
        };
        Ok(Header {
            action,
            proto: RuleProto::parse(proto)?,
            src: parse_addr(src, vars, 0)?,
            src_ports: parse_ports(sport, vars, 0)?,
            dst: parse_addr(dst, vars, 0)?,
            dst_ports: parse_ports(dport, vars, 0)?,
            both_ways,
        })
    }

    /// Whether a transaction from `client` to `server` matches the addresses and ports.
    pub(crate) fn matches(&self, client: (IpAddr, u16), server: (IpAddr, u16)) -> bool {
        let one_way = |a: (IpAddr, u16), b: (IpAddr, u16)| {
            self.src.matches(a.0)
                && self.src_ports.matches(a.1)
                && self.dst.matches(b.0)
                && self.dst_ports.matches(b.1)
        };
        one_way(client, server) || (self.both_ways && one_way(server, client))
    }
}

/// Variables nest; a cycle (`A: $B`, `B: $A`) stops here.
const MAX_DEPTH: usize = 16;

/// Splits a bracketed list's body at the commas of its own level.
fn list_items(body: &str) -> Result<Vec<&str>, String> {
    let (mut items, mut level, mut start) = (Vec::new(), 0i32, 0);
    for (i, c) in body.char_indices() {
        match c {
            '[' => level += 1,
            ']' => level -= 1,
            ',' if level == 0 => {
                items.push(body[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
        if level < 0 {
            return Err(format!("unbalanced ']' in [{body}]"));
        }
    }
    if level != 0 {
        return Err(format!("unbalanced '[' in [{body}]"));
    }
    items.push(body[start..].trim());
    if items.iter().any(|i| i.is_empty()) {
        return Err(format!("an empty item in [{body}]"));
    }
    Ok(items)
}

pub(crate) fn parse_addr(text: &str, vars: &RuleVars, depth: usize) -> Result<AddrExpr, String> {
    if depth > MAX_DEPTH {
        return Err(format!("{text}: variables nest too deep (a cycle?)"));
    }
    let text = text.trim();
    if let Some(inner) = text.strip_prefix('!') {
        return Ok(AddrExpr::Not(Box::new(parse_addr(inner, vars, depth + 1)?)));
    }
    if let Some(body) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        return list_items(body)?
            .into_iter()
            .map(|i| parse_addr(i, vars, depth + 1))
            .collect::<Result<_, _>>()
            .map(AddrExpr::List);
    }
    if text.eq_ignore_ascii_case("any") {
        return Ok(AddrExpr::Any);
    }
    if let Some(name) = text.strip_prefix('$') {
        let value = vars.address(name).ok_or_else(|| {
            format!(
                "address variable ${name} is not defined (define it with --rule-var {name}=...)"
            )
        })?;
        return parse_addr(value, vars, depth + 1);
    }
    if let Some((lo, hi)) = text.split_once('-') {
        let (lo, hi): (IpAddr, IpAddr) = (
            lo.trim()
                .parse()
                .map_err(|_| format!("bad address range {text:?}"))?,
            hi.trim()
                .parse()
                .map_err(|_| format!("bad address range {text:?}"))?,
        );
        if lo.is_ipv4() != hi.is_ipv4() || lo > hi {
            return Err(format!("bad address range {text:?}"));
        }
        return Ok(AddrExpr::Range(lo, hi));
    }
    if let Ok(net) = text.parse::<IpNet>() {
        return Ok(AddrExpr::Net(net.trunc()));
    }
    if let Some((ip, mask)) = text.split_once('/') {
        // A dotted netmask (`10.0.0.0/255.0.0.0`).
        if let (Ok(IpAddr::V4(ip)), Ok(std::net::Ipv4Addr { .. })) =
            (ip.parse::<IpAddr>(), mask.parse::<std::net::Ipv4Addr>())
        {
            let mask: std::net::Ipv4Addr = mask.parse().unwrap_or(std::net::Ipv4Addr::UNSPECIFIED);
            if let Ok(net) = ipnet::Ipv4Net::with_netmask(ip, mask) {
                return Ok(AddrExpr::Net(IpNet::V4(net.trunc())));
            }
        }
    }
    text.parse::<IpAddr>()
        .map(|ip| AddrExpr::Net(IpNet::from(ip)))
        .map_err(|_| format!("{text:?} is no address, CIDR, range, list or variable"))
}

pub(crate) fn parse_ports(text: &str, vars: &RuleVars, depth: usize) -> Result<PortExpr, String> {
    if depth > MAX_DEPTH {
        return Err(format!("{text}: variables nest too deep (a cycle?)"));
    }
    let text = text.trim();
    if let Some(inner) = text.strip_prefix('!') {
        return Ok(PortExpr::Not(Box::new(parse_ports(
            inner,
            vars,
            depth + 1,
        )?)));
    }
    if let Some(body) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        return list_items(body)?
            .into_iter()
            .map(|i| parse_ports(i, vars, depth + 1))
            .collect::<Result<_, _>>()
            .map(PortExpr::List);
    }
    if text.eq_ignore_ascii_case("any") {
        return Ok(PortExpr::Any);
    }
    if let Some(name) = text.strip_prefix('$') {
        let value = vars.port(name).ok_or_else(|| {
            format!("port variable ${name} is not defined (define it with --rule-var {name}=...)")
        })?;
        return parse_ports(value, vars, depth + 1);
    }
    let port = |s: &str, default: u16| -> Result<u16, String> {
        if s.trim().is_empty() {
            return Ok(default);
        }
        s.trim()
            .parse()
            .map_err(|_| format!("{text:?} is no port, range (a:b), list or variable"))
    };
    match text.split_once(':') {
        Some((lo, hi)) => {
            let (lo, hi) = (port(lo, 0)?, port(hi, u16::MAX)?);
            if lo > hi {
                return Err(format!("port range {text:?} runs backwards"));
            }
            Ok(PortExpr::Range(lo, hi))
        }
        None => port(text, 0).map(|p| PortExpr::Range(p, p)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> RuleVars {
        RuleVars::new(&["10.0.0.0/8".parse().unwrap(), "fd00::/8".parse().unwrap()])
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_lists_negation_and_variables() {
        let v = vars();
        let home = parse_addr("$HOME_NET", &v, 0).unwrap();
        assert!(home.matches(ip("10.1.2.3")) && home.matches(ip("fd00::5")));
        let ext = parse_addr("$EXTERNAL_NET", &v, 0).unwrap();
        assert!(ext.matches(ip("203.0.113.5")) && !ext.matches(ip("10.0.0.1")));
        let list = parse_addr("[10.0.0.0/8,!10.1.0.0/16]", &v, 0).unwrap();
        assert!(list.matches(ip("10.2.0.1")) && !list.matches(ip("10.1.0.1")));
        assert!(!list.matches(ip("192.0.2.1")));
        let only_not = parse_addr("[!192.0.2.1]", &v, 0).unwrap();
        assert!(only_not.matches(ip("192.0.2.2")) && !only_not.matches(ip("192.0.2.1")));
        let range = parse_addr("192.0.2.10-192.0.2.20", &v, 0).unwrap();
        assert!(range.matches(ip("192.0.2.15")) && !range.matches(ip("192.0.2.21")));
        let nested = parse_addr("[$HOME_NET,[198.51.100.0/24,!198.51.100.7]]", &v, 0).unwrap();
        assert!(nested.matches(ip("198.51.100.8")) && !nested.matches(ip("198.51.100.7")));
        assert!(parse_addr("$NOPE", &v, 0)
            .unwrap_err()
            .contains("--rule-var NOPE="));
        assert!(parse_addr("10.0.0.0/33", &v, 0).is_err());
        assert!(parse_addr("10.0.0.0/255.0.0.0", &v, 0)
            .unwrap()
            .matches(ip("10.9.9.9")));
    }

    #[test]
    fn ports_ranges_lists_negation_and_groups() {
        let v = vars();
        let p = |s| parse_ports(s, &v, 0).unwrap();
        assert!(p("any").matches(1));
        assert!(p("443").matches(443) && !p("443").matches(444));
        assert!(p("1024:").matches(65535) && !p("1024:").matches(1023));
        assert!(p(":1023").matches(0) && !p(":1023").matches(1024));
        assert!(p("[80,443,8000:8080]").matches(8001));
        assert!(p("!80").matches(81) && !p("!80").matches(80));
        assert!(p("$HTTP_PORTS").matches(80));
        assert!(p("$FILE_DATA_PORTS").matches(143));
        assert!(p("[1:100,!50]").matches(49) && !p("[1:100,!50]").matches(50));
        assert!(parse_ports("70000", &v, 0).is_err());
        assert!(parse_ports("90:80", &v, 0).is_err());
    }

    #[test]
    fn headers() {
        let v = vars();
        let h = Header::parse(
            &[
                "alert",
                "tls",
                "$HOME_NET",
                "any",
                "->",
                "$EXTERNAL_NET",
                "443",
            ],
            &v,
        )
        .unwrap();
        let (c, s) = ((ip("10.0.0.5"), 40000), (ip("203.0.113.9"), 443));
        assert!(h.matches(c, s));
        assert!(!h.matches(s, c));
        assert!(!h.matches(c, (ip("203.0.113.9"), 8443)));
        let both =
            Header::parse(&["pass", "ip", "any", "any", "<>", "10.0.0.5", "any"], &v).unwrap();
        assert_eq!(both.action, Action::Pass);
        assert!(both.matches(s, c) && both.matches(c, s));
        assert!(Header::parse(&["drop", "tcp", "any", "any", "->", "any", "any"], &v).is_err());
        assert!(Header::parse(&["alert", "smb", "any", "any", "->", "any", "any"], &v).is_err());
        assert!(Header::parse(&["alert", "tcp", "any", "any", "=>", "any", "any"], &v).is_err());
    }
}
