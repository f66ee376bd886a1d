//! Server->client side: one response head at a time, with its body framing given the request
//! method (HEAD, CONNECT) and status (1xx, 204, 304).

use super::head::{self, Framing, Head};

/// Answer of [`next_response`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseStep {
    /// The head is not complete yet.
    NeedMore,
    /// A response and the bytes it takes: skipped empty lines + head + Content-Length body (the
    /// count may exceed the bytes given when the body has not fully arrived). For a 2xx to
    /// CONNECT, for 1xx / 204 / 304 / HEAD, and for 101 (the stream switches protocol after
    /// it: no further HTTP/1 response follows, but the caller may read the new protocol, e.g.
    /// HTTP/2 after `Upgrade: h2c`), the head only.
    Response { status: u16, consumed: usize },
    /// The body is chunked or delimited by connection close: no further response can be
    /// located on this flow.
    BodyUnknown { status: u16 },
    /// Not an HTTP/1.x response head (or over [`super::MAX_HEADERS`] / [`super::MAX_HEAD_LEN`]).
    Invalid(&'static str),
}

/// Parses the next response head on the server->client stream.
///
/// `request_method` is the method of the request this answers. 1xx responses (except 101) are
/// consumed and reported; the final response follows them. After a 2xx to CONNECT the rest of
/// the stream is tunnel data (consumed = head only).
pub fn next_response(stream: &[u8], request_method: &str) -> ResponseStep {
    let s = head::skip_empty_lines(stream);
    let skipped = stream.len() - s.len();
    match parse_head(s) {
        Head::NeedMore => ResponseStep::NeedMore,
        Head::Invalid(why) => ResponseStep::Invalid(why),
        Head::Complete((status, framing), n) => step(
            status,
            framing,
            request_method,
            head::consumed(skipped, n, 0),
        ),
    }
}

/// Decides the body length from method, status and framing; `head_len` includes skipped lines.
fn step(status: u16, framing: Framing, method: &str, head_len: usize) -> ResponseStep {
    if has_no_body(status, method) {
        return ResponseStep::Response {
            status,
            consumed: head_len,
        };
    }
    match framing {
        Framing::Length(len) => ResponseStep::Response {
            status,
            consumed: head::consumed(head_len, 0, len),
        },
        Framing::Absent | Framing::Unframed => ResponseStep::BodyUnknown { status },
    }
}

/// 1xx, 204, 304, answers to HEAD, and 2xx to CONNECT (tunnel) carry no body.
fn has_no_body(status: u16, method: &str) -> bool {
    let informational = (100..200).contains(&status);
    let tunnel = method.eq_ignore_ascii_case("CONNECT") && (200..300).contains(&status);
    informational || status == 204 || status == 304 || tunnel || method.eq_ignore_ascii_case("HEAD")
}

/// Runs httparse on the head; gives the status code and the body framing.
fn parse_head(s: &[u8]) -> Head<(u16, Framing)> {
    let window = head::head_window(s);
    let mut headers = [httparse::EMPTY_HEADER; head::MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    let status = parser_config().parse_response(&mut resp, window);
    head::finish(status, window, || {
        (resp.code.unwrap_or_default(), head::framing(resp.headers))
    })
}

/// Lenient settings for what real servers send.
fn parser_config() -> httparse::ParserConfig {
    let mut cfg = httparse::ParserConfig::default();
    cfg.allow_spaces_after_header_name_in_responses(true)
        .allow_obsolete_multiline_headers_in_responses(true)
        .allow_multiple_spaces_in_response_status_delimiters(true)
        .ignore_invalid_headers_in_responses(true);
    cfg
}
