//! Helpers shared by request and response parsing: limits, empty-line skipping, header lookup,
//! body framing and httparse error names.

/// Most headers a head may carry; more gives `Invalid`.
pub const MAX_HEADERS: usize = 64;
/// Longest head (start line + headers + blank line) in bytes; longer gives `Invalid`.
pub const MAX_HEAD_LEN: usize = 16 * 1024;

/// How the body after a head is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// Neither Content-Length nor Transfer-Encoding.
    Absent,
    /// A valid Content-Length.
    Length(u64),
    /// Transfer-Encoding (chunked or other) or an unusable Content-Length.
    Unframed,
}

/// Result of running httparse over a bounded window.
pub(crate) enum Head<T> {
    NeedMore,
    Complete(T, usize),
    Invalid(&'static str),
}

/// Skips the CR and LF bytes that may precede a message (libhtp ignores empty lines).
pub(crate) fn skip_empty_lines(stream: &[u8]) -> &[u8] {
    let n = stream
        .iter()
        .take_while(|b| **b == b'\r' || **b == b'\n')
        .count();
    &stream[n..]
}

/// The part of the stream httparse may look at: heads longer than [`MAX_HEAD_LEN`] are refused.
pub(crate) fn head_window(s: &[u8]) -> &[u8] {
    &s[..s.len().min(MAX_HEAD_LEN)]
}

/// Value of every header called `name` (case-insensitive), joined with ", " like libhtp does
/// for repeated headers; lossy UTF-8.
pub(crate) fn header_value(headers: &[httparse::Header<'_>], name: &str) -> Option<String> {
    let mut found = headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| String::from_utf8_lossy(h.value));
    let first = found.next()?.into_owned();
    Some(found.fold(first, |mut acc, v| {
        acc.push_str(", ");
        acc.push_str(&v);
        acc
    }))
}

/// Each value of the headers called `name` on its own (lossy UTF-8) when there are two or more;
/// empty otherwise (the joined [`header_value`] says it all).
pub(crate) fn header_values(headers: &[httparse::Header<'_>], name: &str) -> Vec<String> {
    let values = || headers.iter().filter(|h| h.name.eq_ignore_ascii_case(name));
    if values().count() < 2 {
        return Vec::new();
    }
    values()
        .map(|h| String::from_utf8_lossy(h.value).into_owned())
        .collect()
}

/// A complete head (up to and with its blank line) that uses obsolete line folding, unfolded:
/// every line break followed by spaces or tabs becomes one space. With the length of the folded
/// head in `window`. `None` when the head is not complete in `window` or has no fold.
pub(crate) fn unfold(window: &[u8]) -> Option<(Vec<u8>, usize)> {
    // The common case, no line starting with a space or tab anywhere: nothing to do.
    if !window
        .windows(2)
        .any(|w| w[0] == b'\n' && matches!(w[1], b' ' | b'\t'))
    {
        return None;
    }
    let mut out = Vec::with_capacity(window.len());
    let mut i = 0;
    let mut folded = false;
    while i < window.len() {
        let eol = match window[i..] {
            [b'\r', b'\n', ..] => 2,
            [b'\n', ..] => 1,
            _ => {
                out.push(window[i]);
                i += 1;
                continue;
            }
        };
        let next = i + eol;
        match window.get(next) {
            // The start line cannot be continued; a fold anywhere else continues its header.
            Some(b' ' | b'\t') if out.contains(&b'\n') => {
                let ws = window[next..]
                    .iter()
                    .take_while(|b| matches!(b, b' ' | b'\t'))
                    .count();
                out.push(b' ');
                i = next + ws;
                folded = true;
            }
            Some(_) => {
                out.extend_from_slice(&window[i..next]);
                i = next;
                // A blank line ends the head.
                if matches!(window[next..], [b'\r', b'\n', ..] | [b'\n', ..]) {
                    let end = next + if window[next] == b'\r' { 2 } else { 1 };
                    out.extend_from_slice(&window[next..end]);
                    return folded.then_some((out, end));
                }
            }
            None => return None,
        }
    }
    None
}

/// Parses a Content-Length value: decimal digits, surrounding whitespace allowed.
pub(crate) fn parse_content_length(value: &str) -> Option<u64> {
    let v = value.trim_matches(|c: char| c.is_ascii_whitespace());
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

/// Body framing from the headers (Transfer-Encoding wins over Content-Length).
pub(crate) fn framing(headers: &[httparse::Header<'_>]) -> Framing {
    if header_value(headers, "transfer-encoding").is_some() {
        return Framing::Unframed;
    }
    match header_value(headers, "content-length") {
        None => Framing::Absent,
        Some(v) => parse_content_length(&v).map_or(Framing::Unframed, Framing::Length),
    }
}

/// `skipped + head + body`, saturating (a body length may not fit in usize).
pub(crate) fn consumed(skipped: usize, head: usize, body: u64) -> usize {
    let body = usize::try_from(body).unwrap_or(usize::MAX);
    skipped.saturating_add(head).saturating_add(body)
}

/// A static name for an httparse error.
pub(crate) fn error_name(e: httparse::Error) -> &'static str {
    match e {
        httparse::Error::HeaderName => "invalid header name",
        httparse::Error::HeaderValue => "invalid header value",
        httparse::Error::NewLine => "invalid new line",
        httparse::Error::Status => "invalid status code",
        httparse::Error::Token => "invalid token in start line",
        httparse::Error::TooManyHeaders => "too many headers",
        httparse::Error::Version => "invalid HTTP version",
    }
}

/// Turns an httparse result over `window` into a [`Head`], building the value with `build`.
pub(crate) fn finish<T>(
    status: Result<httparse::Status<usize>, httparse::Error>,
    window: &[u8],
    build: impl FnOnce() -> T,
) -> Head<T> {
    match status {
        Ok(httparse::Status::Complete(n)) => Head::Complete(build(), n),
        Ok(httparse::Status::Partial) if window.len() >= MAX_HEAD_LEN => {
            Head::Invalid("head too long")
        }
        Ok(httparse::Status::Partial) => Head::NeedMore,
        Err(e) => Head::Invalid(error_name(e)),
    }
}
