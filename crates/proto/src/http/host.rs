//! Host name and port of a request, derived as Suricata (libhtp, `rust/htp`) does.
//!
//! * The URI wins: the CONNECT authority (`host:port`), or the authority of an absolute-form
//!   URI (`scheme://[user@]host[:port]/...`); trailing dots are dropped from that host name.
//!   The port then comes from the URI only.
//! * Otherwise the Host header: host name and optional port.
//! * Splitting `host[:port]` keeps IPv6 brackets (`[::1]:8000` gives `[::1]` and 8000), trims
//!   spaces, and drops a port that is not a number in 1..=65535.
//! * Suricata lowercases the host name for EVE; [`Request::hostname`] keeps the bytes as sent
//!   (borrowed) and [`Request::hostname_normalized`] gives the lowercased EVE value.

use super::Request;
use std::net::IpAddr;

impl Request {
    /// Host name for detection and EVE `hostname`, case as sent: from the CONNECT authority or
    /// an absolute-form URI, else from the Host header (port removed, IPv6 brackets kept as
    /// Suricata does: `[::1]`). Compare it case-insensitively.
    pub fn hostname(&self) -> Option<&str> {
        match self.uri_authority() {
            Some((host, _)) => Some(host),
            None => self.header_authority().map(|(host, _)| host),
        }
    }

    /// When a request carries several Host headers: the host of each one that differs from
    /// [`Request::hostname`] (which libhtp takes from the joined value). Servers differ on
    /// which Host they use (the first, the last, or refuse), so detection checks each.
    pub fn other_hostnames(&self) -> Vec<&str> {
        let main = self.hostname();
        let mut others: Vec<&str> = Vec::new();
        for value in &self.host_headers {
            if let Some((host, _)) = split_hostport(value) {
                let host = host.trim_end_matches('.');
                if !host.is_empty() && Some(host) != main && !others.contains(&host) {
                    others.push(host);
                }
            }
        }
        others
    }

    /// The EVE `hostname`: [`Request::hostname`] in ASCII lowercase, as libhtp stores it.
    pub(crate) fn hostname_normalized(&self) -> Option<String> {
        self.hostname().map(str::to_ascii_lowercase)
    }

    /// EVE `http_port`: the explicit port of the URI authority when the host name comes from
    /// the URI, else of the Host header; `None` when absent or invalid.
    pub fn port(&self) -> Option<u16> {
        match self.uri_authority() {
            Some((_, port)) => port,
            None => self.header_authority().and_then(|(_, port)| port),
        }
    }

    /// For CONNECT: the tunnel target from the request URI, host without IPv6 brackets
    /// (`[::1]:443` gives `("::1", 443)`); `None` for other methods or without a valid port.
    pub fn connect_target(&self) -> Option<(String, u16)> {
        if !self.is_connect() {
            return None;
        }
        let (host, port) = split_hostport(&self.uri)?;
        Some((unbracket(host).to_string(), port?))
    }

    /// The address when [`Request::hostname`] is an IPv4 or IPv6 literal (brackets allowed).
    pub fn host_ip(&self) -> Option<IpAddr> {
        self.hostname().and_then(|h| unbracket(h).parse().ok())
    }

    /// True when [`Request::hostname`] is an IPv4 or IPv6 address (brackets allowed).
    pub fn host_is_ip_literal(&self) -> bool {
        self.host_ip().is_some()
    }

    /// True for the CONNECT method (any case).
    fn is_connect(&self) -> bool {
        self.method.eq_ignore_ascii_case("CONNECT")
    }

    /// Host and port taken from the request URI, if it carries an authority.
    fn uri_authority(&self) -> Option<(&str, Option<u16>)> {
        let authority = if self.is_connect() {
            self.uri.as_str()
        } else {
            absolute_form_authority(&self.uri)?
        };
        let (host, port) = split_hostport(authority)?;
        let host = host.trim_end_matches('.');
        (!host.is_empty()).then_some((host, port))
    }

    /// Host and port taken from the Host header.
    fn header_authority(&self) -> Option<(&str, Option<u16>)> {
        split_hostport(self.host_header.as_deref()?)
    }
}

/// `user@host:port` of `scheme://user@host:port/path`, or `None` for other URI forms.
fn absolute_form_authority(uri: &str) -> Option<&str> {
    let (scheme, rest) = uri.split_once("://")?;
    if !is_scheme(scheme) {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    Some(
        authority
            .rsplit_once('@')
            .map_or(authority, |(_, host)| host),
    )
}

/// RFC 3986 scheme: a letter, then letters, digits, `+`, `-` or `.`.
fn is_scheme(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
}

/// Splits `host[:port]` like libhtp's `parse_hostport`: leading `//` and spaces skipped,
/// `[v6]` kept whole, host ends at `/?#:`, trailing spaces trimmed. `None` without a host.
fn split_hostport(input: &str) -> Option<(&str, Option<u16>)> {
    let s = input.strip_prefix("//").unwrap_or(input);
    if s.starts_with('/') {
        return None;
    }
    let s = s.trim_start_matches(' ');
    let (host, rest) = bracketed_host(s).or_else(|| plain_host(s))?;
    Some((host.trim_end_matches(' '), port_after(rest)))
}

/// `[v6]` (closing bracket optional, as in libhtp) and what follows it.
fn bracketed_host(s: &str) -> Option<(&str, &str)> {
    let inner = s.strip_prefix('[')?;
    let n = inner.find(['/', '?', '#', ']']).unwrap_or(inner.len());
    if n == 0 {
        return None;
    }
    let closing = usize::from(inner[n..].starts_with(']'));
    Some(s.split_at(1 + n + closing))
}

/// A host name up to `/?#:` (at least one byte) and what follows it.
fn plain_host(s: &str) -> Option<(&str, &str)> {
    let n = s.find(['/', '?', '#', ':']).unwrap_or(s.len());
    (n > 0).then(|| s.split_at(n))
}

/// The port in `:port...`: spaces skipped, up to `/?#` or a space, 1..=65535.
fn port_after(rest: &str) -> Option<u16> {
    let p = rest.strip_prefix(':')?.trim_start_matches(' ');
    let p = &p[..p.find(['/', '?', '#', ' ']).unwrap_or(p.len())];
    p.parse::<u16>().ok().filter(|port| *port != 0)
}

/// `::1` from `[::1]` (either bracket may be missing).
fn unbracket(host: &str) -> &str {
    let h = host.strip_prefix('[').unwrap_or(host);
    h.strip_suffix(']').unwrap_or(h)
}
