//! The records of the collector's ring buffer, decoded from bytes (`struct event` of
//! `bpf/collector.bpf.c`, little-endian, field offsets mirrored here).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::Proto;

/// Path and argument buffer sizes of the BPF side.
const PATH_LEN: usize = 256;
const ARGS_LEN: usize = 512;
/// Offsets in `struct event`.
const OFF_PATH: usize = 104;
const OFF_ARGS: usize = OFF_PATH + PATH_LEN;
/// The size of `struct event`.
pub(crate) const EVENT_LEN: usize = OFF_ARGS + ARGS_LEN;

/// Who ran: the task fields every event carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Task {
    pub(crate) tgid: u32,
    pub(crate) tid: u32,
    /// The real parent's tgid (at fork: the parent that forked).
    pub(crate) ppid: u32,
    pub(crate) uid: u32,
    /// The tgid in the task's own pid namespace.
    pub(crate) ns_pid: u32,
    /// Inode of the network namespace.
    pub(crate) netns: u32,
    pub(crate) cgroup: u64,
    /// CLOCK_MONOTONIC nanoseconds.
    pub(crate) ktime: u64,
    /// The thread-group leader's comm.
    pub(crate) comm: String,
}

/// One socket's addresses as the kernel had them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tuple {
    pub(crate) proto: Proto,
    pub(crate) local: SocketAddr,
    pub(crate) remote: SocketAddr,
}

/// One decoded ring-buffer record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    Exec {
        task: Task,
        path: String,
        args: Vec<String>,
    },
    Fork(Task),
    Exit(Task),
    /// A TCP connect (port known); `failed` when it went straight back to CLOSE.
    Connect {
        task: Task,
        tuple: Tuple,
        failed: bool,
    },
    /// A TCP socket's end (CLOSE from an established or closing state).
    Close {
        ktime: u64,
        tuple: Tuple,
    },
    /// A UDP socket's first send (or first after it changed peer).
    UdpSend {
        task: Task,
        tuple: Tuple,
    },
}

/// Why a record was not decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Undecodable {
    Short,
    Kind,
    Family,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}
fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

fn task(b: &[u8]) -> Task {
    Task {
        tgid: u32_at(b, 4),
        tid: u32_at(b, 8),
        ppid: u32_at(b, 12),
        uid: u32_at(b, 16),
        ns_pid: u32_at(b, 20),
        netns: u32_at(b, 24),
        cgroup: u64_at(b, 32),
        ktime: u64_at(b, 40),
        comm: cstr(&b[48..64]),
    }
}

/// An address of `family` from 16 bytes (IPv4 in the first four); v4-mapped IPv6 as IPv4.
fn addr(family: u8, b: &[u8]) -> Option<IpAddr> {
    match family {
        2 => Some(IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))),
        10 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(&b[..16]);
            Some(Ipv6Addr::from(a).to_canonical())
        }
        _ => None,
    }
}

fn tuple(b: &[u8], proto: Proto) -> Result<Tuple, Undecodable> {
    let family = b[2];
    let (Some(s), Some(d)) = (addr(family, &b[64..80]), addr(family, &b[80..96])) else {
        return Err(Undecodable::Family);
    };
    Ok(Tuple {
        proto,
        local: SocketAddr::new(s, u16_at(b, 28)),
        remote: SocketAddr::new(d, u16_at(b, 30)),
    })
}

/// Argument vector from the NUL-separated bytes of `/proc/<pid>/cmdline` or of the event.
pub(crate) fn split_args(b: &[u8]) -> Vec<String> {
    let b = b.strip_suffix(&[0]).unwrap_or(b);
    if b.is_empty() {
        return Vec::new();
    }
    b.split(|&c| c == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

/// Decodes one record.
pub(crate) fn decode(b: &[u8]) -> Result<Event, Undecodable> {
    if b.len() < EVENT_LEN {
        return Err(Undecodable::Short);
    }
    Ok(match b[0] {
        1 => {
            let path_len = (u32_at(b, 96) as usize).min(PATH_LEN);
            let args_len = (u32_at(b, 100) as usize).min(ARGS_LEN);
            Event::Exec {
                task: task(b),
                path: cstr(&b[OFF_PATH..OFF_PATH + path_len]),
                args: split_args(&b[OFF_ARGS..OFF_ARGS + args_len]),
            }
        }
        2 => Event::Fork(task(b)),
        3 => Event::Exit(task(b)),
        4 => Event::Connect {
            task: task(b),
            tuple: tuple(b, Proto::Tcp)?,
            failed: b[3] == 1,
        },
        5 => Event::Close {
            ktime: u64_at(b, 40),
            tuple: tuple(b, Proto::Tcp)?,
        },
        6 => Event::UdpSend {
            task: task(b),
            tuple: tuple(b, Proto::Udp)?,
        },
        _ => return Err(Undecodable::Kind),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_connect_and_refuses_short_or_unknown_records() {
        let mut b = vec![0u8; EVENT_LEN];
        b[0] = 4;
        b[2] = 2;
        b[4..8].copy_from_slice(&812u32.to_le_bytes());
        b[28..30].copy_from_slice(&40000u16.to_le_bytes());
        b[30..32].copy_from_slice(&443u16.to_le_bytes());
        b[48..52].copy_from_slice(b"curl");
        b[64..68].copy_from_slice(&[10, 0, 0, 5]);
        b[80..84].copy_from_slice(&[192, 0, 2, 1]);
        let Ok(Event::Connect {
            task,
            tuple,
            failed,
        }) = decode(&b)
        else {
            panic!("not a connect");
        };
        assert_eq!(
            (task.tgid, task.comm.as_str(), failed),
            (812, "curl", false)
        );
        assert_eq!(tuple.local, "10.0.0.5:40000".parse().unwrap());
        assert_eq!(tuple.remote, "192.0.2.1:443".parse().unwrap());
        assert_eq!(decode(&b[..100]), Err(Undecodable::Short));
        b[0] = 9;
        assert_eq!(decode(&b), Err(Undecodable::Kind));
        b[0] = 4;
        b[2] = 1;
        assert_eq!(decode(&b), Err(Undecodable::Family));
    }

    #[test]
    fn splits_arguments() {
        assert_eq!(
            split_args(b"curl\0-s\0http://x/\0"),
            ["curl", "-s", "http://x/"]
        );
        assert!(split_args(b"").is_empty());
    }
}
