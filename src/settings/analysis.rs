//! The analysis settings of every mode: HOME_NET, the runners' resolvers, DNS grace, threads,
//! flow memcap and timeouts, `stats` interval, EVE event types, the UDP ports of VXLAN and GENEVE
//! tunnels, and the live sensor's warm-up.

use super::value::{count_in, seconds, size_in, Zero};
pub use crate::engine::ChecksumValidation;
use crate::eve::EveTypes;
use crate::flow::table::MIN_MEMCAP;
use ipnet::IpNet;
use proto::decode::PortList;
use std::net::IpAddr;

/// The default thread setting: 0, one worker per core.
pub const DEFAULT_THREADS: usize = 0;
/// The most worker threads.
const MAX_THREADS: usize = 256;
/// Default seconds after start during which `direct-ip` is not raised.
pub const DEFAULT_WARMUP_SECS: u64 = 60;

/// Worker threads, 0 to [`MAX_THREADS`]; 0 is one per core ([`worker_threads`]).
pub fn threads(text: &str) -> Result<usize, String> {
    count_in(
        text,
        0,
        MAX_THREADS as i64,
        &format!("use 0 to {MAX_THREADS} (0 is one per core)"),
    )
}

/// The worker thread count of a [`threads`] setting: the setting, or one per core when it is 0.
pub fn worker_threads(setting: usize) -> usize {
    match setting {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
}

/// The flow memory cap: a size of at least [`MIN_MEMCAP`].
pub fn flow_memcap(text: &str) -> Result<usize, String> {
    size_in(text, MIN_MEMCAP, None)
}

/// A flow timeout (TCP new, established, closed, UDP): whole seconds, more than 0 (a flow that
/// expires at once could never be analysed).
pub fn flow_timeout(text: &str) -> Result<u64, String> {
    seconds(text, Zero::Refused)
}

/// Seconds a DNS answer still counts past its TTL; 0 is the TTL alone.
pub fn dns_grace(text: &str) -> Result<u64, String> {
    seconds(text, Zero::Allowed)
}

/// Seconds after start without `direct-ip`; 0 checks from the first packet.
pub fn warmup(text: &str) -> Result<u64, String> {
    seconds(text, Zero::Allowed)
}

/// Seconds between `stats` events; 0 writes only the final one.
pub fn stats_interval(text: &str) -> Result<u64, String> {
    seconds(text, Zero::Allowed)
}

/// `checksum-validation`: `auto` (accept offloaded checksums, stop checking a capture whose
/// checksums are mostly wrong), `yes` (drop every packet with a wrong checksum), `no`.
pub fn checksum_validation(text: &str) -> Result<ChecksumValidation, String> {
    ChecksumValidation::parse(text.trim()).ok_or_else(|| {
        format!(
            "{text:?} is not a checksum validation mode (use {})",
            ChecksumValidation::NAMES.join(", ")
        )
    })
}

/// The EVE event types written: `all`, or a comma-separated list (alerts are always written).
pub fn eve_types(text: &str) -> Result<EveTypes, String> {
    EveTypes::parse(text)
}

/// The UDP destination ports of a tunnel (`--vxlan-ports`, `--geneve-ports`): a comma-separated
/// list of 1 to 65535, at most [`PortList::CAP`] of them; empty turns the tunnel's decoding off.
pub fn tunnel_ports(text: &str) -> Result<PortList, String> {
    let mut ports = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.parse::<u16>() {
            Ok(0) | Err(_) => {
                return Err(format!(
                    "{part:?} is not a UDP port; write ports from 1 to 65535, such as \"4789,8472\""
                ))
            }
            Ok(port) if ports.contains(&port) => return Err(format!("port {port} is given twice")),
            Ok(port) => ports.push(port),
        }
    }
    PortList::new(&ports).ok_or_else(|| {
        format!(
            "{} ports; at most {} are decoded",
            ports.len(),
            PortList::CAP
        )
    })
}

/// One HOME_NET prefix, such as `10.0.0.0/8`; a bare address is refused with its `/32` or
/// `/128` form.
pub fn home_net_prefix(text: &str) -> Result<IpNet, String> {
    text.trim().parse::<IpNet>().map_err(|_| {
        let hint = match text.trim().parse::<IpAddr>() {
            Ok(IpAddr::V4(a)) => format!("; for one address write \"{a}/32\""),
            Ok(IpAddr::V6(a)) => format!("; for one address write \"{a}/128\""),
            Err(_) => String::new(),
        };
        format!("{text:?} is not a CIDR prefix such as \"10.0.0.0/8\" or \"fd00::/8\"{hint}")
    })
}

/// A whole HOME_NET: at least one prefix (the command line cannot give an empty list; leaving
/// the setting out keeps the default).
pub(crate) fn home_net(list: Vec<IpNet>) -> Result<Vec<IpNet>, String> {
    if list.is_empty() {
        return Err(
            "the list is empty, so no flow would be egress; name the runners' networks, e.g. \"10.0.0.0/8\""
                .into(),
        );
    }
    Ok(list)
}

/// One of the runners' resolvers (`--resolvers`, `detect.resolvers`): an address such as
/// `10.0.0.53` or a prefix such as `10.0.0.0/24`.
pub fn resolver_prefix(text: &str) -> Result<IpNet, String> {
    let t = text.trim();
    if let Ok(addr) = t.parse::<IpAddr>() {
        return Ok(IpNet::from(addr));
    }
    t.parse::<IpNet>().map_err(|_| {
        format!(
            "{text:?} is not a resolver address or prefix such as \"10.0.0.53\" or \"fd00::/8\""
        )
    })
}

/// A rule variable `NAME=VALUE` (`--rule-var`, `detect.rule_vars`): the value is checked when
/// the rules are read (a variable no rule uses costs nothing).
pub fn rule_var(text: &str) -> Result<String, String> {
    let mut vars = crate::detect::rules::RuleVars::default();
    vars.set(text)?;
    Ok(text.trim().to_string())
}

/// The whole list of the runners' resolvers: at least one (leaving the setting out judges no
/// plain DNS).
pub(crate) fn resolvers(list: Vec<IpNet>) -> Result<Vec<IpNet>, String> {
    if list.is_empty() {
        return Err(
            "the list is empty, so every DNS query would bypass the resolvers; name them, e.g. \"10.0.0.53\", or leave the key out"
                .into(),
        );
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_threads_is_one_per_core() {
        assert_eq!(threads("0"), Ok(0));
        assert_eq!(threads("256"), Ok(256));
        assert!(threads("257").unwrap_err().contains("use 0 to 256"));
        assert!(worker_threads(0) >= 1);
        assert_eq!(worker_threads(3), 3);
    }

    #[test]
    fn timeouts_refuse_zero_and_the_others_take_it() {
        assert_eq!(flow_timeout("0"), Err("must be more than 0".into()));
        for check in [dns_grace, warmup, stats_interval] {
            assert_eq!(check("0"), Ok(0));
            assert_eq!(check("2m"), Ok(120));
        }
    }

    #[test]
    fn tunnel_ports_are_a_short_list_of_real_ports() {
        assert_eq!(
            tunnel_ports("4789, 8472").unwrap().as_slice(),
            &[4789, 8472]
        );
        assert_eq!(tunnel_ports("").unwrap().as_slice(), &[] as &[u16]);
        assert!(tunnel_ports("0").unwrap_err().contains("is not a UDP port"));
        assert!(tunnel_ports("65536").is_err());
        assert!(tunnel_ports("1,1").unwrap_err().contains("given twice"));
        assert!(tunnel_ports("1,2,3,4,5,6,7,8,9")
            .unwrap_err()
            .contains("at most 8"));
    }

    #[test]
    fn prefixes_and_memcaps() {
        assert_eq!(
            home_net_prefix(" 10.0.0.0/8"),
            Ok("10.0.0.0/8".parse().unwrap())
        );
        assert!(home_net_prefix("10.1.2.3")
            .unwrap_err()
            .ends_with("write \"10.1.2.3/32\""));
        assert!(home_net_prefix("::1")
            .unwrap_err()
            .ends_with("write \"::1/128\""));
        assert!(home_net(Vec::new()).is_err());
        assert_eq!(
            resolver_prefix("10.0.0.53"),
            Ok("10.0.0.53/32".parse().unwrap())
        );
        assert_eq!(resolver_prefix("fd00::/8"), Ok("fd00::/8".parse().unwrap()));
        assert!(resolver_prefix("dns.local")
            .unwrap_err()
            .contains("is not a resolver address or prefix"));
        assert!(resolvers(Vec::new()).is_err());
        assert_eq!(flow_memcap("256MiB"), Ok(256 << 20));
        assert_eq!(flow_memcap("1MiB"), Ok(MIN_MEMCAP));
        assert!(flow_memcap("12")
            .unwrap_err()
            .contains("below the minimum, 1MiB"));
    }
}
