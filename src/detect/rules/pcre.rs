//! The `pcre` keyword: a PCRE of a Suricata rule translated to the `regex` crate
//! (`regex::bytes`, Unicode off, compiled once), with Suricata's flags (`detect-pcre.c`).
//!
//! The translation is exact for what it accepts: escapes PCRE has and `regex` spells otherwise
//! (`\e`, `\cX`, `\0oo`, `\xh`, `\h`, `\v`, `\N`, `\Q..\E`, escaped punctuation, a `[` or `&&`
//! inside a class, a `{` that is no quantifier) are rewritten, non-ASCII bytes become `\x{hh}`.
//! `$` without `m`/`E` and `\Z` (end, or before a final newline) become `(?:\n?\z)`: the same
//! buffers match; only the end a relative keyword continues from includes that final newline.
//! What `regex` cannot express (look-around, back-references, atomic groups, possessive
//! quantifiers, recursion, conditionals, verbs, `\G`, `\K`, `\R`, `\X`, `\C`, Unicode
//! properties) refuses the rule, naming the construct.

use regex::bytes::{Regex, RegexBuilder};
use std::sync::OnceLock;

/// The buffer a pcre flag selects (Suricata's legacy HTTP modifiers as flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum PcreBuffer {
    /// `U`: the normalised (percent-decoded) request URI, `http.uri`.
    Uri,
    /// `I`: the raw request URI, `http.uri.raw`.
    RawUri,
    /// `V`: the User-Agent header, `http.user_agent`.
    UserAgent,
    /// `W`: the normalised Host, `http.host`.
    Host,
    /// `Z`: the raw Host header, `http.host.raw`.
    RawHost,
    /// `M`: the request method, `http.method`.
    Method,
}

/// One `pcre`: checked when the rule is read, compiled once, when it is first needed (most
/// rules of a large set never reach their pcre; compiling thousands up front would double the
/// load time).
#[derive(Clone, Debug)]
pub(crate) struct Pcre {
    /// The translated pattern and the flags it is built with.
    translated: String,
    flags: BuildFlags,
    regex: OnceLock<Regex>,
    /// `!"/.../"`: matches when the regex does not.
    pub(crate) negated: bool,
    /// `R`: searched from the end of the previous match.
    pub(crate) relative: bool,
    /// `A`: the match must start where the search starts.
    pub(crate) anchored: bool,
    /// A later keyword of the same buffer is relative to this one (`DETECT_PCRE_RELATIVE_NEXT`).
    pub(crate) relative_next: bool,
}

/// The flags a pattern is parsed and built with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct BuildFlags {
    caseless: bool,
    dotall: bool,
    multiline: bool,
    extended: bool,
    ungreedy: bool,
}

impl BuildFlags {
    /// The syntax check, with the flags `regex::bytes` builds with.
    fn check(&self, pattern: &str) -> Result<(), String> {
        regex_syntax::ParserBuilder::new()
            .unicode(false)
            .utf8(false)
            .case_insensitive(self.caseless)
            .dot_matches_new_line(self.dotall)
            .multi_line(self.multiline)
            .ignore_whitespace(self.extended)
            .swap_greed(self.ungreedy)
            .build()
            .parse(pattern)
            .map(drop)
            .map_err(|e| e.to_string())
    }

    fn build(&self, pattern: &str) -> Result<Regex, regex::Error> {
        RegexBuilder::new(pattern)
            .unicode(false)
            .case_insensitive(self.caseless)
            .dot_matches_new_line(self.dotall)
            .multi_line(self.multiline)
            .ignore_whitespace(self.extended)
            .swap_greed(self.ungreedy)
            .build()
    }
}

/// A regex that never matches, for a pattern that passed the syntax check but that the
/// `regex` crate then refused to build: counted as no match, as Suricata counts a PCRE that
/// hits its match limit. Only a pattern the size limit refuses could get there, and those
/// (counted repetitions, long patterns) are built when the rule is read.
fn never() -> Regex {
    RegexBuilder::new(r"[^\x00-\xff]")
        .unicode(false)
        .build()
        .expect("a valid regex")
}

/// Whether a pattern may exceed the `regex` crate's size limit: it is then built when the rule
/// is read, so that a refusal names the rule.
fn may_be_large(translated: &str) -> bool {
    translated.contains('{') || translated.len() > 512
}

impl PartialEq for Pcre {
    fn eq(&self, other: &Pcre) -> bool {
        self.translated == other.translated
            && self.flags == other.flags
            && self.negated == other.negated
            && self.relative == other.relative
            && self.anchored == other.anchored
            && self.relative_next == other.relative_next
    }
}

impl Pcre {
    /// Parses `"/pattern/flags"` or `!"/pattern/flags"` (the raw text after `pcre:`).
    pub(crate) fn parse(arg: &str) -> Result<(Pcre, Option<PcreBuffer>), String> {
        let arg = arg.trim();
        let (negated, inner) = super::parse::negatable_quoted(arg, "pcre")?;
        let body = inner
            .strip_prefix('/')
            .ok_or_else(|| format!("pcre parse error: {arg} (expected \"/pattern/flags\")"))?;
        let close = body
            .rfind('/')
            .ok_or_else(|| format!("pcre parse error: {arg} (no closing /)"))?;
        let (pattern, flags) = (&body[..close], &body[close + 1..]);
        let mut opts = Options::default();
        let mut buffer: Option<(char, PcreBuffer)> = None;
        if flags.contains(',') {
            return Err(format!(
                "pcre {arg}: capturing into variables (\", flow:NAME\", \"pkt:\", \"alert:\") is \
                 not supported"
            ));
        }
        for f in flags.chars() {
            let sel = match f {
                'i' => {
                    opts.caseless = true;
                    None
                }
                's' => {
                    opts.dotall = true;
                    None
                }
                'm' => {
                    opts.multiline = true;
                    None
                }
                'x' => {
                    opts.extended = true;
                    None
                }
                'A' => {
                    opts.anchored = true;
                    None
                }
                'E' => {
                    opts.dollar_endonly = true;
                    None
                }
                'G' => {
                    opts.ungreedy = true;
                    None
                }
                'O' => None,
                'R' => {
                    opts.relative = true;
                    None
                }
                'U' => Some(PcreBuffer::Uri),
                'I' => Some(PcreBuffer::RawUri),
                'V' => Some(PcreBuffer::UserAgent),
                'W' => Some(PcreBuffer::Host),
                'Z' => Some(PcreBuffer::RawHost),
                'M' => Some(PcreBuffer::Method),
                'H' | 'D' | 'C' | 'P' | 'Q' | 'S' | 'Y' | 'B' => {
                    return Err(format!(
                        "pcre flag '{f}' selects {}, a buffer egress-ids does not inspect",
                        unsupported_buffer(f)
                    ))
                }
                other => return Err(format!("unknown regex modifier '{other}'")),
            };
            if let Some(b) = sel {
                match buffer {
                    Some((prev, pb)) if pb != b => {
                        return Err(format!(
                            "regex modifier '{f}' inconsistent with '{prev}' (two buffers)"
                        ))
                    }
                    _ => buffer = Some((f, b)),
                }
            }
        }
        if buffer.map(|(_, b)| b) == Some(PcreBuffer::Host)
            && !opts.caseless
            && has_upper_case(pattern)
        {
            return Err(
                "pcre host(\"W\") specified has an uppercase char. Since the hostname \
                        buffer we match against is actually lowercase, please specify an all \
                        lowercase based pcre"
                    .into(),
            );
        }
        let translated = translate(pattern, &opts)?;
        let flags = BuildFlags {
            caseless: opts.caseless,
            dotall: opts.dotall,
            multiline: opts.multiline,
            extended: opts.extended,
            ungreedy: opts.ungreedy,
        };
        let refuse =
            |e: String| format!("pcre /{pattern}/ is not supported by the regex crate: {e}");
        let regex = OnceLock::new();
        if may_be_large(&translated) {
            let built = flags
                .build(&translated)
                .map_err(|e| refuse(e.to_string()))?;
            let _ = regex.set(built);
        } else {
            flags.check(&translated).map_err(refuse)?;
        }
        Ok((
            Pcre {
                translated,
                flags,
                regex,
                negated,
                relative: opts.relative,
                anchored: opts.anchored,
                relative_next: false,
            },
            buffer.map(|(_, b)| b),
        ))
    }

    /// The leftmost match in `hay` starting at or after `start`: `(start, end)`. With `A`, only
    /// a match starting exactly at `start` counts (the leftmost match starts there whenever an
    /// anchored one exists, and prefers the same alternative).
    pub(crate) fn find_at(&self, hay: &[u8], start: usize) -> Option<(usize, usize)> {
        if start > hay.len() {
            return None;
        }
        let regex = self.regex.get_or_init(|| {
            self.flags
                .build(&self.translated)
                .unwrap_or_else(|_| never())
        });
        let m = regex.find_at(hay, start)?;
        if self.anchored && m.start() != start {
            return None;
        }
        Some((m.start(), m.end()))
    }
}

fn unsupported_buffer(f: char) -> &'static str {
    match f {
        'H' => "http.header",
        'D' => "http.header.raw",
        'C' => "http.cookie",
        'P' => "http.request_body",
        'Q' => "file.data",
        'S' => "http.stat_code",
        'Y' => "http.stat_msg",
        _ => "the raw packet bytes (B)",
    }
}

#[derive(Default)]
struct Options {
    caseless: bool,
    dotall: bool,
    multiline: bool,
    extended: bool,
    anchored: bool,
    dollar_endonly: bool,
    ungreedy: bool,
    relative: bool,
}

/// Suricata's `DetectPcreHasUpperCase` (an upper-case letter outside escapes).
fn has_upper_case(re: &str) -> bool {
    let b = re.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            i += if b.get(i + 1) == Some(&b'x') { 4 } else { 2 };
            continue;
        }
        if b[i].is_ascii_uppercase() {
            return true;
        }
        i += 1;
    }
    false
}

fn unsupported(what: &str) -> String {
    format!("pcre uses {what}, which the regex crate cannot express")
}

/// Emits one byte as a literal the `regex` crate reads the same way in and out of classes.
fn push_byte(out: &mut String, b: u8) {
    if b.is_ascii_alphanumeric() || b == b'_' {
        out.push(char::from(b));
    } else {
        out.push_str(&format!("\\x{b:02X}"));
    }
}

/// Parses up to `max` digits of `radix` at `b[i..]`: (value, digits used).
fn digits(b: &[u8], i: usize, max: usize, radix: u32) -> (u32, usize) {
    let mut v = 0u32;
    let mut n = 0;
    while n < max {
        match b.get(i + n).and_then(|&c| char::from(c).to_digit(radix)) {
            Some(d) => {
                v = v * radix + d;
                n += 1;
            }
            None => break,
        }
    }
    (v, n)
}

/// What an escape at `b[i]` (the byte after the backslash) stands for.
enum Escape {
    /// One byte value.
    Byte(u8),
    /// Text to emit as is (a class or assertion the `regex` crate spells the same).
    Verbatim(&'static str),
    /// A class PCRE has and `regex` lacks: its members, for use inside a class.
    Members(&'static str, bool /* negated */),
}

/// Decodes the escape starting at `b[i]` (after `\`); returns it and the bytes consumed.
fn escape(b: &[u8], i: usize, in_class: bool) -> Result<(Escape, usize), String> {
    let Some(&c) = b.get(i) else {
        return Err("pcre ends with a lone backslash".into());
    };
    Ok(match c {
        b'd' => (Escape::Verbatim("\\d"), 1),
        b'D' => (Escape::Verbatim("\\D"), 1),
        b'w' => (Escape::Verbatim("\\w"), 1),
        b'W' => (Escape::Verbatim("\\W"), 1),
        b's' => (Escape::Verbatim("\\s"), 1),
        b'S' => (Escape::Verbatim("\\S"), 1),
        b'n' => (Escape::Byte(b'\n'), 1),
        b'r' => (Escape::Byte(b'\r'), 1),
        b't' => (Escape::Byte(b'\t'), 1),
        b'f' => (Escape::Byte(0x0c), 1),
        b'a' => (Escape::Byte(0x07), 1),
        b'e' => (Escape::Byte(0x1b), 1),
        b'h' => (Escape::Members("\\t\\x20\\xA0", false), 1),
        b'H' => (Escape::Members("\\t\\x20\\xA0", true), 1),
        b'v' => (Escape::Members("\\n\\x0B\\x0C\\r\\x85", false), 1),
        b'V' => (Escape::Members("\\n\\x0B\\x0C\\r\\x85", true), 1),
        b'N' if !in_class => (Escape::Members("\\n", true), 1),
        b'b' if in_class => (Escape::Byte(0x08), 1),
        b'b' => (Escape::Verbatim("\\b"), 1),
        b'B' if !in_class => (Escape::Verbatim("\\B"), 1),
        b'A' if !in_class => (Escape::Verbatim("\\A"), 1),
        b'z' if !in_class => (Escape::Verbatim("\\z"), 1),
        b'Z' if !in_class => (Escape::Verbatim("(?:\\n?\\z)"), 1),
        b'c' => {
            let x = *b.get(i + 1).ok_or("pcre: \\c at end of pattern")?;
            (Escape::Byte(x.to_ascii_uppercase() ^ 0x40), 2)
        }
        b'x' => {
            if b.get(i + 1) == Some(&b'{') {
                let close = b[i + 2..]
                    .iter()
                    .position(|&c| c == b'}')
                    .ok_or("pcre: \\x{ without }")?;
                let hex = std::str::from_utf8(&b[i + 2..i + 2 + close]).unwrap_or("");
                let v = u32::from_str_radix(hex, 16)
                    .ok()
                    .filter(|v| *v <= 0xff)
                    .ok_or_else(|| format!("pcre: \\x{{{hex}}} is not a byte"))?;
                (Escape::Byte(v as u8), close + 3)
            } else {
                let (v, n) = digits(b, i + 1, 2, 16);
                (Escape::Byte(v as u8), n + 1)
            }
        }
        b'o' if b.get(i + 1) == Some(&b'{') => {
            let (v, n) = digits(b, i + 2, 3, 8);
            if b.get(i + 2 + n) != Some(&b'}') || n == 0 || v > 0xff {
                return Err("pcre: bad \\o{...} escape".into());
            }
            (Escape::Byte(v as u8), n + 3)
        }
        b'0' => {
            let (v, n) = digits(b, i + 1, 2, 8);
            (Escape::Byte(v as u8), n + 1)
        }
        b'1'..=b'7' if in_class => {
            let (v, n) = digits(b, i, 3, 8);
            if v > 0xff {
                return Err("pcre: octal escape above \\377".into());
            }
            (Escape::Byte(v as u8), n)
        }
        b'1'..=b'9' | b'g' | b'k' => return Err(unsupported("a back-reference")),
        b'Q' | b'E' => (Escape::Verbatim(""), 1), // handled by the caller
        b'G' => return Err(unsupported("\\G (start-of-match assertion)")),
        b'K' => return Err(unsupported("\\K (match start reset)")),
        b'R' => return Err(unsupported("\\R (newline sequence)")),
        b'X' => return Err(unsupported("\\X (extended grapheme cluster)")),
        b'C' => return Err(unsupported("\\C (single code unit)")),
        b'p' | b'P' => return Err(unsupported("a Unicode property (\\p, \\P)")),
        c if c.is_ascii_alphanumeric() => {
            return Err(format!(
                "pcre: unrecognized escape \\{} (PCRE refuses it too)",
                char::from(c)
            ))
        }
        c => (Escape::Byte(c), 1),
    })
}

/// Translates a PCRE pattern into the `regex` crate's syntax, or names what it cannot express.
fn translate(pat: &str, opts: &Options) -> Result<String, String> {
    let b = pat.as_bytes();
    let mut out = String::with_capacity(pat.len() * 2);
    let mut i = 0;
    // Whether the previous token can take a quantifier, and whether it was one.
    let mut after_quantifier = false;
    while i < b.len() {
        let c = b[i];
        let was_quantifier = after_quantifier;
        after_quantifier = false;
        match c {
            b'\\' => {
                if b.get(i + 1) == Some(&b'Q') {
                    let start = i + 2;
                    let end = find_sub(b, start, b"\\E");
                    for &x in &b[start..end.unwrap_or(b.len())] {
                        push_byte(&mut out, x);
                    }
                    i = end.map_or(b.len(), |e| e + 2);
                    continue;
                }
                if b.get(i + 1) == Some(&b'E') {
                    i += 2;
                    continue;
                }
                let (e, n) = escape(b, i + 1, false)?;
                match e {
                    Escape::Byte(x) => push_byte(&mut out, x),
                    Escape::Verbatim(s) => out.push_str(s),
                    Escape::Members(m, neg) => {
                        out.push_str(if neg { "[^" } else { "[" });
                        out.push_str(m);
                        out.push(']');
                    }
                }
                i += 1 + n;
            }
            b'[' => {
                i = translate_class(b, i, &mut out)?;
            }
            b'(' => {
                i = translate_group_open(b, i, &mut out)?;
            }
            b'*' | b'+' | b'?' => {
                if was_quantifier && c == b'+' {
                    return Err(unsupported("a possessive quantifier (*+, ++, ?+, {n}+)"));
                }
                out.push(char::from(c));
                i += 1;
                // `a*?` is lazy; after the lazy `?` nothing else may follow as a modifier.
                after_quantifier = c != b'?' || !was_quantifier;
            }
            b'{' => match quantifier_len(b, i) {
                Some(n) => {
                    out.push_str(std::str::from_utf8(&b[i..i + n]).unwrap_or(""));
                    i += n;
                    after_quantifier = true;
                }
                None => {
                    out.push_str("\\{");
                    i += 1;
                }
            },
            b'}' => {
                out.push_str("\\}");
                i += 1;
            }
            b'$' => {
                out.push_str(if opts.multiline {
                    "(?m:$)"
                } else if opts.dollar_endonly {
                    "\\z"
                } else {
                    "(?:\\n?\\z)"
                });
                i += 1;
            }
            b'#' if opts.extended => {
                // A comment up to the end of the line: dropped.
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'&' | b'~' | b'-' | b']' => {
                push_byte(&mut out, c);
                i += 1;
            }
            c if c >= 0x80 => {
                push_byte(&mut out, c);
                i += 1;
            }
            _ => {
                out.push(char::from(c));
                i += 1;
            }
        }
    }
    Ok(out)
}

fn find_sub(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// `{n}`, `{n,}`, `{n,m}` at `b[i]`: its length, or None when PCRE reads the `{` literally.
fn quantifier_len(b: &[u8], i: usize) -> Option<usize> {
    let (_, n1) = digits(b, i + 1, 10, 10);
    if n1 == 0 {
        return None;
    }
    let mut j = i + 1 + n1;
    if b.get(j) == Some(&b',') {
        j += 1;
        let (_, n2) = digits(b, j, 10, 10);
        j += n2;
    }
    (b.get(j) == Some(&b'}')).then_some(j + 1 - i)
}

/// A group opening at `b[i] == '('`: refuses what `regex` lacks, rewrites `(?'name'`, drops
/// `(?#...)` comments. Returns the index after what it consumed.
fn translate_group_open(b: &[u8], i: usize, out: &mut String) -> Result<usize, String> {
    let rest = &b[i + 1..];
    if rest.first() == Some(&b'*') {
        return Err(unsupported("a backtracking control verb (*...)"));
    }
    if rest.first() != Some(&b'?') {
        out.push('(');
        return Ok(i + 1);
    }
    let r = &rest[1..];
    let starts = |p: &[u8]| r.starts_with(p);
    if starts(b"=") || starts(b"!") || starts(b"<=") || starts(b"<!") {
        return Err(unsupported(
            "a look-around assertion ((?=, (?!, (?<=, (?<!)",
        ));
    }
    if starts(b">") {
        return Err(unsupported("an atomic group ((?>...))"));
    }
    if starts(b"|") {
        return Err(unsupported("a branch-reset group ((?|...))"));
    }
    if starts(b"(") {
        return Err(unsupported("a conditional group ((?(...)...))"));
    }
    if starts(b"P=") {
        return Err(unsupported("a back-reference ((?P=name))"));
    }
    if starts(b"P>")
        || starts(b"&")
        || starts(b"R")
        || r.first().is_some_and(u8::is_ascii_digit)
        || starts(b"+")
        || (starts(b"-") && r.get(1).is_some_and(u8::is_ascii_digit))
    {
        return Err(unsupported(
            "a recursion or subroutine call ((?R), (?1), (?&name))",
        ));
    }
    if starts(b"C") {
        return Err(unsupported("a callout ((?C))"));
    }
    if starts(b"#") {
        let close = r
            .iter()
            .position(|&c| c == b')')
            .ok_or("pcre: unterminated (?# comment")?;
        return Ok(i + 2 + close + 1);
    }
    if starts(b"'") {
        let close = r[1..]
            .iter()
            .position(|&c| c == b'\'')
            .ok_or("pcre: unterminated (?'name' group")?;
        out.push_str("(?P<");
        out.push_str(std::str::from_utf8(&r[1..1 + close]).unwrap_or(""));
        out.push('>');
        return Ok(i + 2 + 1 + close + 1);
    }
    out.push_str("(?");
    Ok(i + 2)
}

/// A character class at `b[i] == '['`, PCRE's reading: `]` first is a member, `[` inside is a
/// literal unless it opens a POSIX class, `&&`/`--`/`~~` are literal bytes.
fn translate_class(b: &[u8], i: usize, out: &mut String) -> Result<usize, String> {
    let mut j = i + 1;
    out.push('[');
    if b.get(j) == Some(&b'^') {
        out.push('^');
        j += 1;
    }
    let mut first = true;
    let mut negated_members: Option<&'static str> = None;
    loop {
        let Some(&c) = b.get(j) else {
            return Err("pcre: missing terminating ] for character class".into());
        };
        match c {
            b']' if !first => {
                out.push(']');
                j += 1;
                break;
            }
            b'[' if b.get(j + 1) == Some(&b':') => {
                let close =
                    find_sub(b, j + 2, b":]").ok_or("pcre: bad POSIX class in character class")?;
                out.push_str(std::str::from_utf8(&b[j..close + 2]).unwrap_or(""));
                j = close + 2;
            }
            b'\\' => {
                let (e, n) = escape(b, j + 1, true)?;
                match e {
                    Escape::Byte(x) => push_byte(out, x),
                    Escape::Verbatim(s) => out.push_str(s),
                    Escape::Members(m, false) => out.push_str(m),
                    Escape::Members(m, true) => negated_members = Some(m),
                }
                if negated_members.is_some() {
                    return Err(unsupported("\\H or \\V inside a character class"));
                }
                j += 1 + n;
            }
            b'-' => {
                // A range dash stays a dash; the regex crate reads `--` as a set difference,
                // so a dash right after a dash is written as a byte.
                if out.ends_with('-') && !out.ends_with("\\-") {
                    out.push_str("\\x2D");
                } else {
                    out.push('-');
                }
                j += 1;
            }
            c if c.is_ascii_alphanumeric() || c == b'_' || c == b'^' => {
                out.push(char::from(c));
                j += 1;
            }
            c => {
                push_byte(out, c);
                j += 1;
            }
        }
        first = false;
    }
    Ok(j)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(arg: &str) -> Pcre {
        Pcre::parse(arg).unwrap().0
    }

    fn is_match(arg: &str, hay: &[u8]) -> bool {
        p(arg).find_at(hay, 0).is_some()
    }

    #[test]
    fn flags_and_buffers() {
        let (x, b) = Pcre::parse("\"/abc/iR\"").unwrap();
        assert!(x.relative && !x.negated && b.is_none());
        assert!(is_match("\"/abc/i\"", b"xABCx"));
        assert!(!is_match("\"/abc/\"", b"xABCx"));
        assert_eq!(Pcre::parse("\"/a/U\"").unwrap().1, Some(PcreBuffer::Uri));
        assert_eq!(Pcre::parse("\"/a/I\"").unwrap().1, Some(PcreBuffer::RawUri));
        assert_eq!(
            Pcre::parse("\"/a/V\"").unwrap().1,
            Some(PcreBuffer::UserAgent)
        );
        assert_eq!(Pcre::parse("\"/a/W\"").unwrap().1, Some(PcreBuffer::Host));
        assert_eq!(
            Pcre::parse("\"/a/Z\"").unwrap().1,
            Some(PcreBuffer::RawHost)
        );
        assert_eq!(Pcre::parse("\"/a/M\"").unwrap().1, Some(PcreBuffer::Method));
        assert!(Pcre::parse("\"/a/O\"").is_ok());
        for f in ["H", "D", "C", "P", "Q", "S", "Y", "B"] {
            let e = Pcre::parse(&format!("\"/a/{f}\"")).unwrap_err();
            assert!(e.contains("does not inspect"), "{e}");
        }
        assert!(Pcre::parse("\"/a/q\"")
            .unwrap_err()
            .contains("unknown regex modifier"));
        assert!(Pcre::parse("\"/a/UV\"")
            .unwrap_err()
            .contains("inconsistent"));
        assert!(p("!\"/abc/\"").negated);
        assert!(Pcre::parse("\"abc\"").is_err());
        assert!(Pcre::parse("abc").is_err());
    }

    #[test]
    fn suricata_parse_tests() {
        // detect-pcre.c DetectPcreParseTest01..09.
        assert!(Pcre::parse("\"/blah/7\"").is_err());
        assert!(Pcre::parse("\"/blah/Ui$\"").is_err());
        assert!(Pcre::parse("\"/blah/UNi\"").is_err());
        assert!(is_match(r#""/b\"lah/i""#, b"B\"LAH"));
        assert!(is_match("\"/b(l|a)h/\"", b"bah"));
        assert!(is_match("\"/b(l|a)h/smi\"", b"BLH"));
        assert!(Pcre::parse("\"/blah/Ui\"").is_ok());
        assert!(Pcre::parse("\"/b(l|a)h/O\"").is_ok());
        assert!(is_match(r#""/lala\\/""#, b"lala\\"));
        // DetectPcreParseTest10..: the host flag and upper case (\D is no upper-case letter,
        // `\\D` is).
        assert!(Pcre::parse(r#""/domain\.com/W""#).is_ok());
        assert!(Pcre::parse(r#""/dOmain\.com/W""#).is_err());
        assert!(Pcre::parse(r#""/domain\D+\.com/W""#).is_ok());
        assert!(Pcre::parse(r#""/\\Ddomain\.com/W""#).is_err());
        // Two buffer flags; captures into variables.
        assert!(Pcre::parse("\"/abc/UI\"").is_err());
        assert!(Pcre::parse("\"/abc/F\"").is_err());
        let e = Pcre::parse(r#""/(.*)\r\n/R, flow:somecapture""#).unwrap_err();
        assert!(e.contains("variables"), "{e}");
        assert!(is_match(r#""/^[a-z]{5}\.html/R""#, b"index.html"));
        assert!(is_match(r#""/\x2Esuricata$/W""#, b"www.suricata"));
        assert!(is_match(r#""/^(la)+$/""#, b"lalala"));
        assert!(!is_match(r#""/^(la)+$/""#, b"lalal"));
    }

    #[test]
    fn host_flag_refuses_upper_case_without_i() {
        assert!(Pcre::parse("\"/Evil\\.com/W\"")
            .unwrap_err()
            .contains("uppercase"));
        assert!(Pcre::parse("\"/Evil\\.com/Wi\"").is_ok());
        assert!(Pcre::parse("\"/evil\\x2Ecom/W\"").is_ok());
    }

    #[test]
    fn inline_flags_s_m_x_g() {
        assert!(!is_match("\"/a.b/\"", b"a\nb"));
        assert!(is_match("\"/a.b/s\"", b"a\nb"));
        assert!(is_match("\"/^b/m\"", b"a\nb"));
        assert!(!is_match("\"/^b/\"", b"a\nb"));
        assert!(is_match("\"/a b # comment\n c/x\"", b"abc"));
        assert_eq!(p("\"/a+/G\"").find_at(b"aaa", 0), Some((0, 1)));
        assert_eq!(p("\"/a+/\"").find_at(b"aaa", 0), Some((0, 3)));
    }

    #[test]
    fn bytes_not_unicode() {
        assert!(is_match("\"/\\xff\\x00/\"", &[1, 0xff, 0]));
        assert!(is_match("\"/^.$/\"", &[0xe9]));
        assert!(is_match("\"/é/\"", "é".as_bytes()));
        assert!(is_match("\"/[é]{2}/\"", "é".as_bytes()));
        assert!(is_match("\"/\\w+\\d/\"", b"ab1"));
        assert!(!is_match("\"/\\w/\"", &[0xe9]));
    }

    #[test]
    fn dollar_and_big_z() {
        // PCRE: `$` and `\Z` also match before a final newline; `E` and `\z` do not.
        assert!(is_match("\"/com$/\"", b"x.com\n"));
        assert!(is_match("\"/com\\Z/\"", b"x.com\n"));
        assert!(!is_match("\"/com$/E\"", b"x.com\n"));
        assert!(!is_match("\"/com\\z/\"", b"x.com\n"));
        assert!(!is_match("\"/com$/\"", b"x.com\n\n"));
        assert!(is_match("\"/com$/m\"", b"x.com\ny"));
    }

    #[test]
    fn anchored_flag() {
        let x = p("\"/b+/A\"");
        assert_eq!(x.find_at(b"abb", 0), None);
        assert_eq!(x.find_at(b"abb", 1), Some((1, 3)));
    }

    #[test]
    fn escapes_pcre_spells_differently() {
        assert!(is_match(r#""/\/path\/x/""#, b"/path/x"));
        assert!(is_match(r#""/\e\cA\0\012\x4/""#, b"\x1b\x01\x00\n\x04"));
        assert!(is_match(r#""/a\h+b/""#, b"a \tb"));
        assert!(is_match(r#""/\Qa.b*\E+/""#, b"a.b*b*"));
        assert!(!is_match(r#""/\Qa.b\E/""#, b"axb"));
        assert!(is_match(r#""/a{,2}/""#, b"a{,2}"));
        assert!(is_match(r#""/a{2}/""#, b"aa"));
        assert!(is_match(r#""/[[]x/""#, b"[x"));
        assert!(is_match(r#""/[a&&b]/""#, b"&"));
        assert!(is_match(r#""/[%--]/""#, b"+"));
        assert!(is_match(r#""/[[:digit:]]/""#, b"5"));
        assert!(is_match(r#""/\<x\>/""#, b"<x>"));
        assert!(is_match(r#""/(?#note)ab/""#, b"ab"));
        assert!(is_match(r#""/(?'n'ab)/""#, b"ab"));
        assert!(is_match(r#""/(?i)AB/""#, b"ab"));
        assert!(is_match(r#""/a\N/""#, b"ab"));
        assert!(!is_match(r#""/a\N/""#, b"a\n"));
        assert!(is_match(r#""/[\b]/""#, b"\x08"));
        // Checked against PCRE2 10.42 (GNU grep -P): `]` first in a class is a member, a `{`
        // or `]` that opens nothing is a literal, x-mode keeps spaces inside a class.
        assert_eq!(p(r#""/[]a]+/""#).find_at(b"x]a]", 0), Some((1, 4)));
        assert_eq!(p(r#""/[^]a]+/""#).find_at(b"]a[x", 0), Some((2, 4)));
        assert!(is_match(r#""/x{/""#, b"x{"));
        assert!(is_match(r#""/a]/""#, b"a]"));
        assert!(is_match(r#""/[ ]/x""#, b" "));
        assert!(is_match(r#""/\ a/x""#, b" a"));
        assert!(!is_match(r#""/\ a/x""#, b"a"));
        // PCRE2 refuses a range from a class escape too ("invalid range in character class").
        assert!(Pcre::parse(r#""/[\d-z]/""#).is_err());
    }

    #[test]
    fn refusals_name_the_construct() {
        for (re, what) in [
            ("(?=a)", "look-around"),
            ("(?!a)", "look-around"),
            ("(?<=a)b", "look-around"),
            ("(?<!a)b", "look-around"),
            ("(a)\\1", "back-reference"),
            ("(?P<n>a)(?P=n)", "back-reference"),
            ("(?<n>a)\\k<n>", "back-reference"),
            ("(?>a)", "atomic"),
            ("a++", "possessive"),
            ("a{2}+", "possessive"),
            ("(?(1)a|b)", "conditional"),
            ("(?R)", "recursion"),
            ("(*SKIP)a", "verb"),
            ("\\Ga", "\\G"),
            ("a\\Kb", "\\K"),
            ("\\pL", "Unicode property"),
            ("\\R", "\\R"),
        ] {
            let e = Pcre::parse(&format!("\"/{re}/\"")).unwrap_err();
            assert!(e.contains(what), "{re}: {e}");
        }
        // Not possessive: lazy quantifiers and a literal plus after a group.
        assert!(Pcre::parse(r#""/a+?b*?/""#).is_ok());
        assert!(Pcre::parse(r#""/\++/""#).is_ok());
        // Anything else the crate refuses comes with the crate's own words.
        let e = Pcre::parse(r#""/a)/""#).unwrap_err();
        assert!(e.contains("regex crate"), "{e}");
        assert!(Pcre::parse(r#""/\y/""#)
            .unwrap_err()
            .contains("unrecognized escape"));
    }

    #[test]
    fn et_open_examples() {
        assert!(is_match(r#""/^\/[a-z0-9]{8}\.php$/U""#, b"/abcd1234.php"));
        assert!(is_match(r#""/\.(?:tk|ml|ga|cf|gq)$/i""#, b"evil.TK"));
        assert!(is_match(
            r#""/^Mozilla\/[45]\.0\x20\(compatible\x3b\x20MSIE\x20/V""#,
            b"Mozilla/4.0 (compatible; MSIE 6.0)"
        ));
    }

    #[test]
    fn a_pattern_is_built_once_when_first_needed_and_a_large_one_when_read() {
        let small = p(r#""/ab+c/""#);
        assert!(small.regex.get().is_none(), "not built when read");
        assert_eq!(small.find_at(b"xabbc", 0), Some((1, 5)));
        assert!(small.regex.get().is_some(), "built on first use");
        let counted = p(r#""/a{2,3}/""#);
        assert!(
            counted.regex.get().is_some(),
            "counted repetitions are built when read"
        );
        // Over the regex crate's size limit: refused when read, with the crate's reason.
        let err = Pcre::parse(r#""/(?:\w{1000}){1000}/""#).unwrap_err();
        assert!(err.contains("not supported by the regex crate"), "{err}");
        assert!(never()
            .find_at(&(0..=255u8).collect::<Vec<_>>(), 0)
            .is_none());
    }
}
