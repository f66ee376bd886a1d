//! The kernel's connection tracking table (`/proc/net/nf_conntrack` of the sensor's network
//! namespace), read to undo NAT: a container's connection leaves the host with the host's
//! address and another port (masquerade), while its socket, and so the collector, knows it by
//! the container's own tuple. An entry's reply direction is what the capture saw on the uplink;
//! its original direction is the socket's.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use super::Proto;

/// Where the kernel shows the table of the reader's network namespace.
pub const TABLE: &str = "/proc/net/nf_conntrack";

/// One direction of an entry: `src=A dst=B sport=P dport=Q`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Direction {
    pub src: SocketAddr,
    pub dst: SocketAddr,
}

/// One line of the table, read in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub proto: Proto,
    pub original: Direction,
    pub reply: Direction,
}

/// The first of each key is the original direction, the second the reply.
fn slot<T>(slots: &mut [Option<T>; 2], value: T) {
    if slots[0].is_none() {
        slots[0] = Some(value);
    } else if slots[1].is_none() {
        slots[1] = Some(value);
    }
}

/// Reads one line: `ipv4 2 tcp 6 117 ESTABLISHED src=.. dst=.. sport=.. dport=.. src=.. ...`.
/// Lines of other protocols, or that do not have both directions, are `None`.
pub fn parse_line(line: &str) -> Option<Entry> {
    let mut words = line.split_ascii_whitespace();
    let _family = words.next()?;
    let _family_number = words.next()?;
    let proto = match words.next()? {
        "tcp" => Proto::Tcp,
        "udp" => Proto::Udp,
        _ => return None,
    };
    let mut src: [Option<IpAddr>; 2] = [None; 2];
    let mut dst: [Option<IpAddr>; 2] = [None; 2];
    let mut sport: [Option<u16>; 2] = [None; 2];
    let mut dport: [Option<u16>; 2] = [None; 2];
    for word in words {
        let Some((key, value)) = word.split_once('=') else {
            continue;
        };
        match key {
            "src" => slot(&mut src, value.parse().ok()?),
            "dst" => slot(&mut dst, value.parse().ok()?),
            "sport" => slot(&mut sport, value.parse().ok()?),
            "dport" => slot(&mut dport, value.parse().ok()?),
            _ => {}
        }
    }
    let direction = |i: usize| -> Option<Direction> {
        Some(Direction {
            src: SocketAddr::new(src[i]?, sport[i]?),
            dst: SocketAddr::new(dst[i]?, dport[i]?),
        })
    };
    Some(Entry {
        proto,
        original: direction(0)?,
        reply: direction(1)?,
    })
}

/// The original (pre-NAT, the socket's own) direction of the connection the capture saw as
/// `seen_src -> seen_dst`, if the table has it translated. `None` when it is not in the table
/// or was not translated (then the seen tuple is the socket's already).
pub fn untranslate(
    text: &str,
    proto: Proto,
    seen_src: SocketAddr,
    seen_dst: SocketAddr,
) -> Option<Direction> {
    text.lines().filter_map(parse_line).find_map(|e| {
        if e.proto != proto {
            return None;
        }
        // Seen leaving the host: the reply comes back to the translated source.
        let seen_out = e.reply.src == seen_dst && e.reply.dst == seen_src;
        // Seen coming back: the reply itself.
        let seen_back = e.reply.src == seen_src && e.reply.dst == seen_dst;
        let translated = e.original.src != e.reply.dst || e.original.dst != e.reply.src;
        ((seen_out || seen_back) && translated).then_some(e.original)
    })
}

/// The table of this network namespace, opened once: the kernel checks who may read it when
/// it is opened (root), so a sensor that gives up its privileges afterwards still reads it, from
/// the start again each time.
pub struct Table {
    file: Option<File>,
    text: String,
}

impl Table {
    /// Opens the table; without nf_conntrack (nothing is translated on this host then) or
    /// without the right to read it, every lookup answers `None`.
    pub fn open() -> Table {
        Table {
            file: File::open(Path::new(TABLE)).ok(),
            text: String::new(),
        }
    }

    /// [`untranslate`] on the table as it is now.
    pub fn untranslate(
        &mut self,
        proto: Proto,
        src: SocketAddr,
        dst: SocketAddr,
    ) -> Option<Direction> {
        let file = self.file.as_mut()?;
        self.text.clear();
        file.seek(SeekFrom::Start(0)).ok()?;
        file.read_to_string(&mut self.text).ok()?;
        untranslate(&self.text, proto, src, dst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE_TEXT: &str = "\
ipv4     2 tcp      6 431999 ESTABLISHED src=10.68.0.2 dst=203.0.113.21 sport=51000 dport=443 src=203.0.113.21 dst=10.67.0.2 sport=443 dport=61000 [ASSURED] mark=0 zone=0 use=2
ipv4     2 udp      17 29 src=10.68.0.2 dst=198.51.100.53 sport=40000 dport=53 src=198.51.100.53 dst=10.67.0.2 sport=53 dport=40000 mark=0 zone=0 use=2
ipv4     2 tcp      6 117 TIME_WAIT src=10.67.0.2 dst=203.0.113.10 sport=41000 dport=443 src=203.0.113.10 dst=10.67.0.2 sport=443 dport=41000 [ASSURED] mark=0 zone=0 use=2
ipv6     10 tcp      6 431999 ESTABLISHED src=fd00:0000:0000:0000:0000:0000:0000:0002 dst=2001:0db8:0000:0000:0000:0000:0000:0001 sport=52000 dport=443 src=2001:0db8:0000:0000:0000:0000:0000:0001 dst=fd00:0000:0000:0000:0000:0000:0001:0002 sport=443 dport=62000 [ASSURED] mark=0 zone=0 use=2
ipv4     2 icmp     1 29 src=10.68.0.2 dst=203.0.113.21 type=8 code=0 id=7 src=203.0.113.21 dst=10.67.0.2 type=0 code=0 id=7 mark=0 use=1
";

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_masqueraded_connection_is_traced_back_to_the_socket_either_way_round() {
        let want = Direction {
            src: sa("10.68.0.2:51000"),
            dst: sa("203.0.113.21:443"),
        };
        let out = untranslate(
            TABLE_TEXT,
            Proto::Tcp,
            sa("10.67.0.2:61000"),
            sa("203.0.113.21:443"),
        );
        assert_eq!(out, Some(want));
        let back = untranslate(
            TABLE_TEXT,
            Proto::Tcp,
            sa("203.0.113.21:443"),
            sa("10.67.0.2:61000"),
        );
        assert_eq!(back, Some(want));
        // The port alone, or the wrong protocol, is no match.
        assert_eq!(
            untranslate(
                TABLE_TEXT,
                Proto::Tcp,
                sa("10.67.0.2:61001"),
                sa("203.0.113.21:443")
            ),
            None
        );
        assert_eq!(
            untranslate(
                TABLE_TEXT,
                Proto::Udp,
                sa("10.67.0.2:61000"),
                sa("203.0.113.21:443")
            ),
            None
        );
    }

    #[test]
    fn udp_ipv6_and_untranslated_entries() {
        let dns = untranslate(
            TABLE_TEXT,
            Proto::Udp,
            sa("10.67.0.2:40000"),
            sa("198.51.100.53:53"),
        );
        assert_eq!(dns.map(|d| d.src), Some(sa("10.68.0.2:40000")));
        let v6 = untranslate(
            TABLE_TEXT,
            Proto::Tcp,
            sa("[fd00::1:2]:62000"),
            sa("[2001:db8::1]:443"),
        );
        assert_eq!(v6.map(|d| d.src), Some(sa("[fd00::2]:52000")));
        // The host's own connection: not translated, the seen tuple is the socket's.
        assert_eq!(
            untranslate(
                TABLE_TEXT,
                Proto::Tcp,
                sa("10.67.0.2:41000"),
                sa("203.0.113.10:443")
            ),
            None
        );
    }

    #[test]
    fn odd_lines_are_not_entries() {
        for line in [
            "",
            "ipv4 2",
            "ipv4 2 tcp 6 1 src=1.2.3.4",
            "ipv4 2 tcp 6 1 src=x dst=y sport=1 dport=2 src=a dst=b sport=3 dport=4",
        ] {
            assert_eq!(parse_line(line), None, "{line:?}");
        }
        assert!(
            TABLE_TEXT.lines().nth(4).and_then(parse_line).is_none(),
            "icmp"
        );
    }
}
