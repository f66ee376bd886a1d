//! Process attribution on the host: which process opened a connection.
//!
//! A tracepoint-only eBPF collector ([`collector`], the program is `bpf/collector.bpf.c`) sees
//! every exec, fork and exit and every TCP connect and UDP send, with the task's identity. User
//! space keeps a fork/exec table ([`procs`], exited processes kept for minutes so that a detached
//! double fork still has its ancestry) and a socket table ([`sockets`]: exact 5-tuple and time
//! window → process, never a port alone). [`Collector::lookup`] answers with an [`Attribution`],
//! whose [`Attribution::to_eve`] is the EVE `process` object (docs/eve-extensions.schema.json).
//!
//! Around the collector: [`OwnAddresses`] (is a packet this host's at all?) and [`conntrack`]
//! (the socket's own tuple behind a NATed one, for containers).
//!
//! When BPF is unavailable, [`Collector::start`] says why ([`Unavailable`], from [`probe`]).

mod addresses;
mod attribution;
mod cgroup;
mod collector;
pub mod conntrack;
mod event;
mod probe;
mod procs;
mod sockets;

pub use addresses::OwnAddresses;
pub use attribution::{AncestorSummary, Attribution};
pub use cgroup::cgroup2_root;
pub use collector::{Collector, CollectorStats};
pub use probe::{Hook, HookStatus, Unavailable};

/// The transport of a socket looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proto {
    /// TCP, attributed at connect.
    Tcp,
    /// UDP, attributed at the socket's first send (DNS and the like).
    Udp,
}
