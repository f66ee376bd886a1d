//! HTTP/1.x app-layer parser: request heads, response status lines, CONNECT tunnels, and the
//! Suricata EVE `http` object.
//!
//! The engine feeds each direction of a TCP stream (reassembled, in order) and gets back one step
//! at a time:
//!
//! * [`probe_request`]: does the client->server stream start like an HTTP/1.x request?
//! * [`next_request`]: parse the next request head; [`RequestStep::Request`] says how many bytes it
//!   takes (head + Content-Length body), [`RequestStep::BodyUnknown`] that the body is unframed
//!   (chunked, invalid Content-Length...) so no further requests can be found on that flow.
//! * [`next_response`]: the same for the server->client stream (needs the request method, since
//!   HEAD responses have no body and a 2xx to CONNECT starts a tunnel).
//!
//! Head parsing is done by `httparse` (at most [`MAX_HEADERS`] headers and [`MAX_HEAD_LEN`]
//! bytes of head). Empty lines before a message are skipped, as libhtp does. All functions are
//! pure and never panic, whatever the input.
//!
//! **Consumed counts may exceed the bytes given**: a head is reported as soon as it is complete,
//! with `consumed` covering the whole Content-Length body even when that body has not arrived yet.
//! The caller skips the missing part of the body as it arrives.
//!
//! Host names follow Suricata (libhtp): see [`Request::hostname`] and [`Request::eve`].

mod eve;
mod head;
mod host;
mod normalize;
mod request;
mod response;

#[cfg(test)]
mod captures;
#[cfg(test)]
mod tests;

pub use head::{MAX_HEADERS, MAX_HEAD_LEN};
pub use normalize::normalize_target;
pub use request::{next_request, Request, RequestStep};
pub use response::{next_response, ResponseStep};

/// Answer of [`probe_request`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// The stream starts with a known method token and a space.
    Match,
    /// The stream cannot be an HTTP/1.x request.
    NoMatch,
    /// Too few bytes to tell (a prefix of some `METHOD `, or only empty lines so far).
    NeedMore,
}

/// Methods that [`probe_request`] recognises, in any case (libhtp parses `gET` as GET, and
/// Suricata's `nocase` method rules fire on it).
pub(crate) const PROBE_METHODS: [&str; 9] = [
    "GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE",
];

/// Longest method token the probe accepts (`VERSION-CONTROL`, `BASELINE-CONTROL` and
/// `X-MS-ENUMATTS` are the longest in use).
pub const MAX_METHOD_LEN: usize = 32;

/// Longest request line the probe waits for before it gives up on a method it does not know.
pub const MAX_PROBE_LINE: usize = 8192;

/// Does this client->server TCP stream start like an HTTP/1.x request?
///
/// After any empty lines (CR/LF): a known method token in any case (see [`PROBE_METHODS`])
/// followed by a space gives [`Probe::Match`] at once. Any other method is an RFC 9110 token
/// (WebDAV's `PROPFIND`, UPnP's `SUBSCRIBE` and `NOTIFY`, ...): the request line must then have
/// its shape, `TOKEN SP TARGET SP HTTP/1.`, before it matches (so that `EHLO host`, an SSH
/// banner or the HTTP/2 preface `PRI * HTTP/2.0` do not). [`Probe::NeedMore`] while the prefix
/// is still ambiguous, at most [`MAX_PROBE_LINE`] bytes.
pub fn probe_request(stream: &[u8]) -> Probe {
    let s = head::skip_empty_lines(stream);
    if s.is_empty() {
        return Probe::NeedMore;
    }
    let mut need_more = false;
    for method in PROBE_METHODS {
        match probe_one(s, method.as_bytes()) {
            Probe::Match => return Probe::Match,
            Probe::NeedMore => need_more = true,
            Probe::NoMatch => {}
        }
    }
    match probe_line_shape(s) {
        Probe::NoMatch if need_more => Probe::NeedMore,
        shape => shape,
    }
}

/// `TOKEN SP TARGET SP HTTP/1.` at the start of `s`, RFC 9112's request line with any token
/// method (tchar of RFC 9110 section 5.6.2) and a target without spaces or control bytes.
fn probe_line_shape(s: &[u8]) -> Probe {
    let token = s.iter().take_while(|&&b| is_tchar(b)).count();
    if token == s.len() {
        return if token <= MAX_METHOD_LEN {
            Probe::NeedMore
        } else {
            Probe::NoMatch
        };
    }
    if token == 0 || token > MAX_METHOD_LEN || s[token] != b' ' {
        return Probe::NoMatch;
    }
    let rest = &s[token + 1..];
    let target = rest.iter().take_while(|&&b| b > b' ' && b != 0x7f).count();
    if target == rest.len() {
        return if s.len() < MAX_PROBE_LINE {
            Probe::NeedMore
        } else {
            Probe::NoMatch
        };
    }
    if target == 0 || rest[target] != b' ' {
        return Probe::NoMatch;
    }
    let version = &rest[target + 1..];
    let expected = b"HTTP/1.";
    let n = version.len().min(expected.len());
    if !version[..n].eq_ignore_ascii_case(&expected[..n]) {
        Probe::NoMatch
    } else if n == expected.len() {
        Probe::Match
    } else {
        Probe::NeedMore
    }
}

/// A token character (RFC 9110 section 5.6.2).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Compares `s` with `method` followed by one space.
fn probe_one(s: &[u8], method: &[u8]) -> Probe {
    let expected = method.iter().chain(b" ");
    let compared = s
        .iter()
        .zip(expected)
        .take_while(|(a, b)| a.eq_ignore_ascii_case(b))
        .count();
    if compared == method.len() + 1 {
        Probe::Match
    } else if compared == s.len() {
        Probe::NeedMore
    } else {
        Probe::NoMatch
    }
}
