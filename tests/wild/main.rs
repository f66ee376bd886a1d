//! DNS and HTTP as real traffic carries them (issue 16): HTTP methods beyond GET and POST, CNAME
//! chains into IOC domains, DNS messages of every kind, LAN name discovery (mDNS, LLMNR, NBNS)
//! and server names with junk after them. One test binary, one module per topic, each with real
//! clients and servers in network namespaces of its own.

#[path = "../common/mod.rs"]
mod common;

mod dns_kinds;
mod http_methods;
mod lan_discovery;
mod sni_junk;
