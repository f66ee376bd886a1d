//! The capture settings of `live` and of the daemon's `[capture]`: interfaces, BPF filter,
//! promiscuous mode, snapshot length and kernel ring size.

use super::value::{count_in, size_in};

/// Linux interface names are at most this long (IFNAMSIZ - 1).
const MAX_IFNAME: usize = 15;
/// The smallest snapshot length accepted (0 aside, which means [`MAX_SNAPLEN`]).
const MIN_SNAPLEN: u32 = 64;
/// The largest snapshot length libpcap takes (its MAXIMUM_SNAPLEN): whole packets, offloads
/// included.
const MAX_SNAPLEN: u32 = 262_144;
/// The smallest kernel ring buffer accepted.
const MIN_BUFFER_SIZE: usize = 64 << 10;
/// The largest kernel ring buffer accepted: libpcap keeps its size in a C `int`.
const MAX_BUFFER_SIZE: usize = 2047 << 20;

/// An interface name: 1 to 15 characters, no '/' or white space.
pub fn interface(name: &str) -> Result<String, String> {
    if name.is_empty()
        || name.len() > MAX_IFNAME
        || name.contains(|c: char| c == '/' || c.is_whitespace())
    {
        return Err(format!(
            "{name:?} is not an interface name (1 to {MAX_IFNAME} characters, no '/' or spaces; `ip link` lists them)"
        ));
    }
    Ok(name.to_string())
}

/// The interfaces to capture on, each already an [`interface`]: at least one, none twice, and
/// `any` alone (it sees every other one). The error names the item at fault (`None`: the list
/// as a whole) and the reason.
pub fn interfaces(names: &[String]) -> Result<(), (Option<usize>, String)> {
    if names.is_empty() {
        return Err((
            None,
            "the list is empty; name the interfaces to capture on, or \"any\" for all of them"
                .into(),
        ));
    }
    for (i, name) in names.iter().enumerate() {
        if names[..i].contains(name) {
            return Err((Some(i), format!("{name:?} is listed twice")));
        }
    }
    if names.len() > 1 && names.iter().any(|n| n == "any") {
        return Err((
            None,
            "\"any\" already captures on every interface, so packets of the others would be seen twice; capture on \"any\" alone or on the named interfaces".into(),
        ));
    }
    Ok(())
}

/// Promiscuous mode on `interfaces`: refused with `any`, whose socket is bound to no interface
/// (libpcap would ignore the request with a warning).
pub fn promisc(on: bool, interfaces: &[String]) -> Result<bool, String> {
    if on && interfaces.iter().any(|n| n == "any") {
        return Err("the \"any\" interface cannot be promiscuous (libpcap ignores it there); name the interfaces to capture on, or leave promiscuous mode off".into());
    }
    Ok(on)
}

/// A BPF filter in tcpdump syntax, compiled for Ethernet to check it (each capture compiles it
/// again for its link type).
pub fn bpf(filter: &str) -> Result<String, String> {
    let dead = pcap::Capture::dead(pcap::Linktype::ETHERNET)
        .map_err(|e| format!("cannot check the filter: {e}"))?;
    dead.compile(filter, true).map_err(|e| {
        format!("{filter:?} is not a BPF filter: {e} (test it with: tcpdump -d '{filter}')")
    })?;
    Ok(filter.to_string())
}

/// Bytes kept of each packet: [`MIN_SNAPLEN`] to [`MAX_SNAPLEN`], or 0 for [`MAX_SNAPLEN`] (as
/// tcpdump's `-s 0`).
pub fn snaplen(text: &str) -> Result<u32, String> {
    let allowed =
        format!("use {MIN_SNAPLEN} to {MAX_SNAPLEN}, or 0 for {MAX_SNAPLEN} (whole packets)");
    match count_in(text, 0, MAX_SNAPLEN.into(), &allowed)? {
        0 => Ok(MAX_SNAPLEN),
        n if n < MIN_SNAPLEN => Err(format!("{n} is out of range; {allowed}")),
        n => Ok(n),
    }
}

/// The kernel ring buffer per interface: a size from [`MIN_BUFFER_SIZE`] to [`MAX_BUFFER_SIZE`].
pub fn buffer_size(text: &str) -> Result<usize, String> {
    size_in(text, MIN_BUFFER_SIZE, Some(MAX_BUFFER_SIZE))
}

/// Most capture threads (AF_PACKET fanout rings per interface).
pub const MAX_CAPTURE_THREADS: usize = 64;

/// Capture threads, each reading its own AF_PACKET fanout ring of every interface: 1 (one
/// thread reads every interface, the default) to [`MAX_CAPTURE_THREADS`].
pub fn capture_threads(text: &str) -> Result<usize, String> {
    let allowed = format!("use 1 to {MAX_CAPTURE_THREADS} (1: one capture thread, no fanout)");
    count_in(text, 1, MAX_CAPTURE_THREADS as i64, &allowed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_lists() {
        let list = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert!(interfaces(&list(&["eth0", "eth1"])).is_ok());
        assert!(interfaces(&list(&["any"])).is_ok());
        assert_eq!(interfaces(&list(&["eth0", "eth0"])).unwrap_err().0, Some(1));
        assert_eq!(interfaces(&list(&["eth0", "any"])).unwrap_err().0, None);
        assert!(interfaces(&[]).is_err());
        assert!(interface("a-very-long-interface").is_err());
        assert!(interface("eth 0").is_err());
        assert_eq!(interface("enp0s31f6"), Ok("enp0s31f6".into()));
        assert!(promisc(true, &list(&["any"])).is_err());
        assert_eq!(promisc(true, &list(&["eth1"])), Ok(true));
        assert_eq!(promisc(false, &list(&["any"])), Ok(false));
    }

    #[test]
    fn capture_threads_from_one_to_the_maximum() {
        assert_eq!(capture_threads("1"), Ok(1));
        assert_eq!(capture_threads("64"), Ok(64));
        assert!(capture_threads("0").unwrap_err().contains("use 1 to 64"));
        assert!(capture_threads("65").is_err());
    }

    #[test]
    fn snaplen_zero_is_whole_packets() {
        assert_eq!(snaplen("0"), Ok(MAX_SNAPLEN));
        assert_eq!(snaplen("64"), Ok(64));
        assert_eq!(snaplen("262144"), Ok(MAX_SNAPLEN));
        assert_eq!(
            snaplen("63"),
            Err("63 is out of range; use 64 to 262144, or 0 for 262144 (whole packets)".into())
        );
        assert!(snaplen("262145")
            .unwrap_err()
            .starts_with("262145 is out of range; use 64 to 262144"));
    }

    #[test]
    fn filters_and_rings() {
        assert_eq!(bpf("not port 22"), Ok("not port 22".into()));
        assert!(bpf("port eleventy")
            .unwrap_err()
            .contains("is not a BPF filter"));
        assert_eq!(buffer_size("64KiB"), Ok(64 << 10));
        assert_eq!(buffer_size("2047MiB"), Ok(MAX_BUFFER_SIZE));
        assert!(buffer_size("2GiB")
            .unwrap_err()
            .contains("above the maximum, 2047MiB"));
        assert!(buffer_size("0")
            .unwrap_err()
            .contains("below the minimum, 64KiB"));
    }
}
