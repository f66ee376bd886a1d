//! What the collector can see here: the checks before loading (privilege, BTF) and the outcome
//! of each hook, said plainly, so that a sensor without attribution tells why.

use std::fmt;

/// The kernel's type information, which tp_btf programs and CO-RE relocations need.
pub(crate) const BTF: &str = "/sys/kernel/btf/vmlinux";

/// One tracepoint the collector attaches to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    Exec,
    Fork,
    Exit,
    TcpState,
    SynRetransmit,
    UdpSend,
}

impl Hook {
    pub(crate) const ALL: [Hook; 6] = [
        Hook::Exec,
        Hook::Fork,
        Hook::Exit,
        Hook::TcpState,
        Hook::SynRetransmit,
        Hook::UdpSend,
    ];

    /// The program's name in the object.
    pub(crate) fn program(self) -> &'static str {
        match self {
            Hook::Exec => "handle_exec",
            Hook::Fork => "handle_fork",
            Hook::Exit => "handle_exit",
            Hook::TcpState => "handle_sock_state",
            Hook::SynRetransmit => "handle_retransmit",
            Hook::UdpSend => "handle_send",
        }
    }

    /// The kernel tracepoint.
    pub fn tracepoint(self) -> &'static str {
        match self {
            Hook::Exec => "sched_process_exec",
            Hook::Fork => "sched_process_fork",
            Hook::Exit => "sched_process_exit",
            Hook::TcpState => "inet_sock_set_state",
            Hook::SynRetransmit => "tcp_retransmit_skb",
            Hook::UdpSend => "sock_send_length",
        }
    }

    /// What is lost without it.
    pub fn without(self) -> &'static str {
        match self {
            Hook::Exec => "no exe or command line of new processes (comm and /proc only)",
            Hook::Fork => "no parent of new processes: ancestry stops at the process itself",
            Hook::Exit => "exited processes never age out (the table fills and evicts)",
            Hook::TcpState => "TCP connections are not attributed",
            Hook::SynRetransmit => {
                "an unanswered TCP connect is attributed only when the kernel gives up on it"
            }
            Hook::UdpSend => "UDP (DNS) is not attributed (sock_send_length needs kernel 6.3+)",
        }
    }
}

/// One hook's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookStatus {
    Attached(Hook),
    Failed(Hook, String),
}

/// Why there is no collector at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unavailable {
    /// Neither root nor CAP_BPF with CAP_PERFMON.
    NotPermitted,
    /// /sys/kernel/btf/vmlinux is missing.
    NoBtf,
    /// The kernel is locked down (`/sys/kernel/security/lockdown`, the mode in force) and refused
    /// the object (the loader's message).
    LockedDown(String, String),
    /// The object did not load (the loader's message), e.g. an old kernel.
    Load(String),
    /// No hook attached; each with the kernel's reason.
    NoHook(Vec<(Hook, String)>),
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unavailable::NotPermitted => write!(
                f,
                "process attribution needs root (or CAP_BPF and CAP_PERFMON): run as root, or \
                 give the binary those capabilities"
            ),
            Unavailable::NoBtf => write!(
                f,
                "process attribution needs the kernel's BTF ({BTF} is missing): use a kernel \
                 built with CONFIG_DEBUG_INFO_BTF=y"
            ),
            Unavailable::LockedDown(mode, e) => write!(
                f,
                "process attribution is unavailable: the kernel is locked down ({mode}) and \
                 refused the eBPF collector ({e}); boot with lockdown=integrity or none, where \
                 tracepoint programs load"
            ),
            Unavailable::Load(e) => write!(
                f,
                "process attribution is unavailable: the eBPF collector did not load ({e}); a \
                 kernel in lockdown=confidentiality or older than 5.8 refuses it"
            ),
            Unavailable::NoHook(failed) => {
                write!(
                    f,
                    "process attribution is unavailable: no tracepoint attached ("
                )?;
                for (i, (h, e)) in failed.iter().enumerate() {
                    let sep = if i == 0 { "" } else { "; " };
                    write!(f, "{sep}{}: {e}", h.tracepoint())?;
                }
                write!(f, ")")
            }
        }
    }
}

impl std::error::Error for Unavailable {}

/// The checks that need no loading: privilege and BTF.
pub(crate) fn preflight() -> Result<(), Unavailable> {
    use caps::{CapSet, Capability};
    let has = |c| caps::has_cap(None, CapSet::Effective, c).unwrap_or(false);
    let root = nix::unistd::geteuid().is_root();
    if !(root
        || has(Capability::CAP_SYS_ADMIN)
        || (has(Capability::CAP_BPF) && has(Capability::CAP_PERFMON)))
    {
        return Err(Unavailable::NotPermitted);
    }
    if !std::path::Path::new(BTF).exists() {
        return Err(Unavailable::NoBtf);
    }
    Ok(())
}

/// The lockdown mode in force (`integrity`, `confidentiality`), if the kernel has lockdown and it
/// is not `none`.
pub(crate) fn lockdown() -> Option<String> {
    let text = std::fs::read_to_string("/sys/kernel/security/lockdown").ok()?;
    let mode = text
        .split_whitespace()
        .find_map(|w| w.strip_prefix('[')?.strip_suffix(']'))?;
    (mode != "none").then(|| mode.to_string())
}

/// A load failure as the reason to give: lockdown when the kernel is locked down.
pub(crate) fn load_failure(e: String) -> Unavailable {
    match lockdown() {
        Some(mode) => Unavailable::LockedDown(mode, e),
        None => Unavailable::Load(e),
    }
}

/// One line per hook that did not attach, saying what is lost.
pub(crate) fn describe(status: &[HookStatus]) -> Vec<String> {
    status
        .iter()
        .filter_map(|s| match s {
            HookStatus::Attached(_) => None,
            HookStatus::Failed(h, e) => Some(format!("{} ({e}): {}", h.tracepoint(), h.without())),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_reason_says_what_to_do() {
        let reasons = [
            Unavailable::NotPermitted,
            Unavailable::NoBtf,
            Unavailable::LockedDown("confidentiality".into(), "EPERM".into()),
            Unavailable::Load("EINVAL".into()),
            Unavailable::NoHook(vec![(Hook::UdpSend, "ENOENT".into())]),
        ];
        let texts: Vec<String> = reasons.iter().map(ToString::to_string).collect();
        assert!(texts[0].contains("root"));
        assert!(texts[1].contains("/sys/kernel/btf/vmlinux"));
        assert!(texts[2].contains("locked down (confidentiality)"));
        assert!(texts[3].contains("EINVAL"));
        assert!(texts[4].contains("sock_send_length: ENOENT"));
        let blind = describe(&[
            HookStatus::Attached(Hook::Exec),
            HookStatus::Failed(Hook::UdpSend, "ENOENT".into()),
        ]);
        assert_eq!(blind.len(), 1);
        assert!(blind[0].starts_with("sock_send_length (ENOENT): UDP"));
    }
}
