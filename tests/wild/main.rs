//! DNS and HTTP as real traffic carries them (issue 16): HTTP methods beyond GET and POST, CNAME
//! chains into IOC domains, DNS messages of every kind, LAN name discovery (mDNS, LLMNR, NBNS)
//! and server names with junk after them. One test binary, one module per topic, each with real
//! clients and servers in network namespaces of its own.

#[path = "../common/mod.rs"]
mod common;

use common::netns::Netns;

/// A runner namespace (`runner`/24, default route on its `eth0`) linked by one veth pair to an
/// "internet" namespace holding the server addresses `servers` (/32 each, and a route back to
/// the runner): the two ends of most tests here. Both are deleted on drop.
fn runner_and_internet(tag: &str, runner: &str, servers: &[&str]) -> (Netns, Netns) {
    let runner_ns = Netns::new(&format!("{tag}-r"));
    let inet = Netns::new(&format!("{tag}-i"));
    runner_ns.veth_to("eth0", &inet, "eth0", 1500);
    runner_ns.ip(&["addr", "add", &format!("{runner}/24"), "dev", "eth0"]);
    runner_ns.ip(&["route", "add", "default", "dev", "eth0"]);
    for server in servers {
        inet.ip(&["addr", "add", &format!("{server}/32"), "dev", "eth0"]);
    }
    inet.ip(&["route", "add", &format!("{runner}/32"), "dev", "eth0"]);
    (runner_ns, inet)
}

mod dns_kinds;
mod http_methods;
mod lan_discovery;
mod sni_junk;
