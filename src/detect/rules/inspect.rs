//! The matcher of one buffer of a rule: its transforms, then its `content`, `pcre` and `bsize`
//! keywords in rule order, evaluated with Suricata's semantics
//! (`detect-engine-content-inspection.c`): absolute and relative contents, the retry of a
//! previous content's next occurrence when a relative one fails (only when that one has
//! `within`, as Suricata's `DETECT_CONTENT_WITHIN_NEXT`), negated contents, `startswith`,
//! `endswith`, negative `distance`, `pcre` with and without `R` and the match end it leaves,
//! `bsize` after the transforms, and Suricata's recursion limit (3,000 steps).
//!
//! Not replicated: Suricata's `DetectContentPropagateLimits`, which copies depth/offset bounds
//! along a chain of contents for its multi-pattern matcher. The bounds it adds are implied by the
//! other keywords (a lower bound of the previous match's end for `offset`, an upper bound at
//! least as loose as `within` for `depth`, an `endswith` content's depth that every matching
//! buffer already fits in), so the buffers that match are the same.
//! Not replicated either: PCRE's match limit (a pathological pattern that PCRE gives up on is
//! a no-match there; the `regex` crate runs in linear time and answers).

use super::content::{Content, FastPattern};
use super::pcre::Pcre;

/// Suricata's `DETECT_ENGINE_DEFAULT_INSPECTION_RECURSION_LIMIT`.
const RECURSION_LIMIT: u32 = 3000;

/// A transform of a sticky buffer (applied in rule order before inspection).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transform {
    /// `dotprefix`: prepends `.` (an empty buffer stays empty).
    DotPrefix,
    ToLowercase,
    ToUppercase,
    /// Removes space, `\t`, `\n`, `\v`, `\f`, `\r`.
    StripWhitespace,
    /// Keeps the first byte of each run of whitespace.
    CompressWhitespace,
    /// `url_decode`: `%XX` and `+` to space; a bad `%` sequence stays as is.
    UrlDecode,
}

impl Transform {
    /// The transform a keyword names, if it is one.
    pub(crate) fn parse(keyword: &str) -> Option<Transform> {
        Some(match keyword {
            "dotprefix" => Transform::DotPrefix,
            "to_lowercase" => Transform::ToLowercase,
            "to_uppercase" => Transform::ToUppercase,
            "strip_whitespace" => Transform::StripWhitespace,
            "compress_whitespace" => Transform::CompressWhitespace,
            "url_decode" => Transform::UrlDecode,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Transform::DotPrefix => "dotprefix",
            Transform::ToLowercase => "to_lowercase",
            Transform::ToUppercase => "to_uppercase",
            Transform::StripWhitespace => "strip_whitespace",
            Transform::CompressWhitespace => "compress_whitespace",
            Transform::UrlDecode => "url_decode",
        }
    }

    /// Suricata's transform validation of a (non-negated) content: a pattern the transformed
    /// buffer can never contain is refused.
    fn accepts(self, pattern: &[u8]) -> bool {
        match self {
            Transform::ToLowercase => !pattern.iter().any(u8::is_ascii_uppercase),
            Transform::ToUppercase => !pattern.iter().any(u8::is_ascii_lowercase),
            Transform::StripWhitespace => !pattern.iter().copied().any(is_space),
            Transform::CompressWhitespace => {
                !pattern.windows(2).any(|w| is_space(w[0]) && is_space(w[1]))
            }
            Transform::DotPrefix | Transform::UrlDecode => true,
        }
    }

    /// Applies the transform to `buf` in place (every transform's output byte `i` depends only
    /// on input bytes at `i` or later, except `dotprefix`, which inserts).
    pub(crate) fn apply(self, buf: &mut Vec<u8>) {
        if buf.is_empty() {
            return;
        }
        match self {
            Transform::DotPrefix => buf.insert(0, b'.'),
            Transform::ToLowercase => buf.make_ascii_lowercase(),
            Transform::ToUppercase => buf.make_ascii_uppercase(),
            Transform::StripWhitespace => buf.retain(|&c| !is_space(c)),
            Transform::CompressWhitespace => {
                let mut prev_space = false;
                buf.retain(|&c| {
                    let space = is_space(c);
                    let keep = !(space && prev_space);
                    prev_space = space;
                    keep
                });
            }
            Transform::UrlDecode => url_decode_in_place(buf),
        }
    }
}

fn is_space(c: u8) -> bool {
    matches!(c, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ')
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// Suricata's `url_decode` transform (`transforms/urldecode.rs`), in place: the write index
/// never passes the read index.
fn url_decode_in_place(buf: &mut Vec<u8>) {
    let mut w = 0;
    let mut r = 0;
    let n = buf.len();
    while r < n {
        let c = buf[r];
        if c == b'%' {
            match (
                buf.get(r + 1).copied().and_then(hex_value),
                buf.get(r + 2).copied().and_then(hex_value),
            ) {
                (Some(h), Some(l)) => {
                    buf[w] = h << 4 | l;
                    w += 1;
                    r += 3;
                }
                (Some(_), None) if r + 2 < n => {
                    // `%` + one hex digit + a non-hex byte: all three kept.
                    buf.copy_within(r..r + 3, w);
                    w += 3;
                    r += 3;
                }
                (None, _) if r + 1 < n => {
                    buf.copy_within(r..r + 2, w);
                    w += 2;
                    r += 2;
                }
                _ => {
                    // A `%` (and maybe one digit) at the end: kept.
                    let rest = n - r;
                    buf.copy_within(r..n, w);
                    w += rest;
                    r = n;
                }
            }
        } else {
            buf[w] = if c == b'+' { b' ' } else { c };
            w += 1;
            r += 1;
        }
    }
    buf.truncate(w);
}

/// A number comparison of `bsize` or `urilen` (Suricata's `detect-engine-uint`):
/// `N`, `=N`, `!N`, `!=N`, `<N`, `<=N`, `>N`, `>=N`, `N<>M` / `N-M` (exclusive), `!N-M`,
/// `&MASK=V`, `&MASK!=V`; values decimal (with kb/mb/gb, kib/mib/gib) or `0x` hex.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NumberCmp {
    mode: CmpMode,
    a: u64,
    b: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CmpMode {
    Eq,
    Ne,
    Lt,
    Lte,
    Gt,
    Gte,
    /// `a < x < b`
    Range,
    /// `x <= a || x >= b`
    NegRange,
    /// `x & a == b`
    Bitmask,
    NegBitmask,
}

impl NumberCmp {
    /// Parses a `bsize` value (64-bit).
    pub(crate) fn parse(s: &str) -> Result<NumberCmp, String> {
        Self::parse_max(s, u64::MAX)
    }

    /// Parses a `urilen` value: a 16-bit comparison, then optionally `, raw` or `, norm`
    /// (true for `raw`: the raw URI). Suricata compares `min(length, 65535)`.
    pub(crate) fn parse_urilen(s: &str) -> Result<(NumberCmp, bool), String> {
        let (cmp, raw) = match s.split_once(',') {
            None => (s, false),
            Some((c, r)) => match r.trim_matches(' ') {
                "raw" => (c, true),
                "norm" => (c, false),
                other => {
                    return Err(format!(
                        "urilen: expected raw or norm after ',', got {other:?}"
                    ))
                }
            },
        };
        Ok((Self::parse_max(cmp, u64::from(u16::MAX))?, raw))
    }

    /// Parses a value whose numbers must fit `max` (`u16::MAX` for `urilen`).
    pub(crate) fn parse_max(s: &str, max: u64) -> Result<NumberCmp, String> {
        let bad = || format!("invalid number comparison {s:?}");
        let t = s.trim_start_matches(' ').trim_end_matches(' ');
        let v = Self::parse_inner(t, max).ok_or_else(bad)?;
        Ok(v)
    }

    fn parse_inner(t: &str, max: u64) -> Option<NumberCmp> {
        // Bitmask: `&M=V`, `&M!=V`.
        if let Some(r) = t.strip_prefix('&') {
            let (m, rest) = value(r.trim_start_matches(' '), max)?;
            let rest = rest.trim_start_matches(' ');
            let (neg, rest) = match rest.strip_prefix('!') {
                Some(r) => (true, r),
                None => (false, rest),
            };
            let (v, rest) = value(rest.strip_prefix('=')?.trim_start_matches(' '), max)?;
            if !rest.is_empty() || v & m != v {
                return None;
            }
            let mode = if neg {
                CmpMode::NegBitmask
            } else {
                CmpMode::Bitmask
            };
            return Some(NumberCmp { mode, a: m, b: v });
        }
        // Interval: `[!]N-M`, `[!]N<>M`.
        {
            let (neg, r) = match t.strip_prefix('!') {
                Some(r) => (true, r),
                None => (false, t),
            };
            if let Some((a, rest)) = value(r, max) {
                let rest = rest.trim_start_matches(' ');
                let sep = rest.strip_prefix("<>").or_else(|| rest.strip_prefix('-'));
                if let Some(rest) = sep {
                    let (b, rest) = value(rest.trim_start_matches(' '), max)?;
                    if !rest.is_empty() || b <= a || b - a <= 1 {
                        return None;
                    }
                    let mode = if neg {
                        CmpMode::NegRange
                    } else {
                        CmpMode::Range
                    };
                    return Some(NumberCmp { mode, a, b });
                }
            }
        }
        // Equal: `[=]N`.
        {
            let r = t.strip_prefix('=').unwrap_or(t).trim_start_matches(' ');
            if let Some((a, rest)) = value(r, max) {
                if rest.is_empty() {
                    return Some(NumberCmp {
                        mode: CmpMode::Eq,
                        a,
                        b: 0,
                    });
                }
            }
        }
        // Symbol: `>=N`, `<=N`, `>N`, `<N`, `!=N`, `!N`.
        let (mode, r) = [
            (">=", CmpMode::Gte),
            ("<=", CmpMode::Lte),
            (">", CmpMode::Gt),
            ("<", CmpMode::Lt),
            ("!=", CmpMode::Ne),
            ("!", CmpMode::Ne),
        ]
        .into_iter()
        .find_map(|(p, m)| t.strip_prefix(p).map(|r| (m, r)))?;
        let (a, rest) = value(r.trim_start_matches(' '), max)?;
        if !rest.is_empty() {
            return None;
        }
        let refused = match mode {
            CmpMode::Lt | CmpMode::Gte => a == 0,
            CmpMode::Lte | CmpMode::Gt => a == max,
            _ => false,
        };
        (!refused).then_some(NumberCmp { mode, a, b: 0 })
    }

    /// Whether `x` satisfies the comparison.
    pub(crate) fn matches(&self, x: u64) -> bool {
        match self.mode {
            CmpMode::Eq => x == self.a,
            CmpMode::Ne => x != self.a,
            CmpMode::Lt => x < self.a,
            CmpMode::Lte => x <= self.a,
            CmpMode::Gt => x > self.a,
            CmpMode::Gte => x >= self.a,
            CmpMode::Range => x > self.a && x < self.b,
            CmpMode::NegRange => x <= self.a || x >= self.b,
            CmpMode::Bitmask => x & self.a == self.b,
            CmpMode::NegBitmask => x & self.a != self.b,
        }
    }

    /// The largest size that can match, for the "content longer than bsize" refusal
    /// (`SigParseGetMaxBsize`: only `<N`, `N` and `N<>M` give one).
    fn max_size(&self) -> Option<u64> {
        match self.mode {
            CmpMode::Lt | CmpMode::Eq => Some(self.a),
            CmpMode::Range => Some(self.b),
            _ => None,
        }
    }
}

/// A number at the start of `s` (decimal with an optional unit, or `0x` hex), and the rest.
fn value(s: &str, max: u64) -> Option<(u64, &str)> {
    if let Some(h) = s.strip_prefix("0x") {
        let n = h.bytes().take_while(u8::is_ascii_hexdigit).count();
        let v = u64::from_str_radix(&h[..n], 16)
            .ok()
            .filter(|v| *v <= max)?;
        return Some((v, &h[n..]));
    }
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    let v: u64 = s[..n].parse().ok().filter(|v| *v <= max)?;
    let rest = &s[n..];
    let lower = rest.get(..3).map(str::to_ascii_lowercase);
    let lower2 = rest.get(..2).map(str::to_ascii_lowercase);
    let (unit, used) = match (lower.as_deref(), lower2.as_deref()) {
        (Some("kib"), _) => (1u64 << 10, 3),
        (Some("mib"), _) => (1 << 20, 3),
        (Some("gib"), _) => (1 << 30, 3),
        (_, Some("kb")) => (1 << 10, 2),
        (_, Some("mb")) => (1 << 20, 2),
        (_, Some("gb")) => (1 << 30, 2),
        _ => (1, 0),
    };
    if unit > 1 && v >= 1 {
        if max / unit < v {
            return None;
        }
        return Some((v * unit, &rest[used..]));
    }
    Some((v, &rest[used..]))
}

/// One keyword of a buffer's program, in rule order.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Item {
    Content(Content),
    Pcre(Pcre),
    Bsize(NumberCmp),
}

/// What one buffer of a rule checks: transforms, then items in rule order.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct BufferProgram {
    transforms: Vec<Transform>,
    items: Vec<Item>,
}

/// The result of inspecting one item (Suricata's 1 / 0 / -1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Match,
    NoMatch,
    /// No match, and no other occurrence of an earlier keyword can help.
    Discontinue,
}

/// The matcher's registers (Suricata's `det_ctx->buffer_offset`, `pcre_match_start_offset`
/// and the recursion counter).
struct State {
    buffer_offset: usize,
    pcre_match_start: usize,
    steps: u32,
}

impl BufferProgram {
    pub(crate) fn new() -> BufferProgram {
        BufferProgram::default()
    }

    /// Adds a transform; Suricata wants them right after the sticky buffer, before any match.
    pub(crate) fn add_transform(&mut self, t: Transform) -> Result<(), String> {
        if !self.items.is_empty() {
            return Err(format!(
                "transform {} must come right after the sticky buffer, before its keywords",
                t.name()
            ));
        }
        self.transforms.push(t);
        Ok(())
    }

    /// Adds a content (checked against the transforms, as Suricata does).
    pub(crate) fn push_content(&mut self, c: Content) -> Result<(), String> {
        if !c.negated {
            if let Some(t) = self.transforms.iter().find(|t| !t.accepts(&c.pattern)) {
                return Err(format!(
                    "content string \"{}\" incompatible with {} transform",
                    c.pattern.escape_ascii(),
                    t.name()
                ));
            }
        }
        self.items.push(Item::Content(c));
        Ok(())
    }

    /// Adds a pcre; with `R` it marks the previous content or pcre of this buffer.
    pub(crate) fn push_pcre(&mut self, p: Pcre) {
        if p.relative {
            self.mark_last_relative_next();
        }
        self.items.push(Item::Pcre(p));
    }

    /// Adds a `bsize` (checked against the contents by [`BufferProgram::validate`]).
    pub(crate) fn push_bsize(&mut self, n: NumberCmp) {
        self.items.push(Item::Bsize(n));
    }

    /// Applies a content modifier to the last content of this buffer, and for `distance` and
    /// `within` marks the content or pcre before it, as Suricata's setup functions do.
    pub(crate) fn modify_last(&mut self, keyword: &str, value: Option<&str>) -> Result<(), String> {
        let idx = self
            .items
            .iter()
            .rposition(|i| matches!(i, Item::Content(_)))
            .ok_or_else(|| format!("{keyword} needs a preceding content option"))?;
        let Some(Item::Content(c)) = self.items.get_mut(idx) else {
            return Err(format!("{keyword} needs a preceding content option"));
        };
        c.modify(keyword, value)?;
        let negated = c.negated;
        if keyword == "distance" || keyword == "within" {
            let within = keyword == "within";
            match self.last_match_keyword(idx) {
                Some(Item::Content(prev)) => {
                    if prev.fast_pattern == Some(FastPattern::Only) {
                        return Err("previous keyword has a fast_pattern:only; set. Can't have \
                                    relative keywords around a fast_pattern only content"
                            .into());
                    }
                    if within {
                        prev.within_next = true;
                    } else if negated {
                        prev.within_next = true;
                        prev.distance_next = true;
                    } else {
                        prev.distance_next = true;
                    }
                }
                Some(Item::Pcre(prev)) => prev.relative_next = true,
                _ => {}
            }
        }
        Ok(())
    }

    /// Removes the last content, for a legacy modifier (`http_uri`, `http_host`, ...) that moves
    /// it to another buffer. As Suricata's `DetectEngineContentModifierBufferSetup`, a relative
    /// content leaves the keyword before it unmarked.
    pub(crate) fn take_last_content(&mut self) -> Option<Content> {
        let idx = self
            .items
            .iter()
            .rposition(|i| matches!(i, Item::Content(_)))?;
        let Item::Content(c) = self.items.remove(idx) else {
            return None;
        };
        if c.is_relative() {
            match self.last_match_keyword(idx) {
                Some(Item::Content(prev)) => {
                    prev.within_next = false;
                    prev.distance_next = false;
                }
                Some(Item::Pcre(prev)) => prev.relative_next = false,
                _ => {}
            }
        }
        Some(c)
    }

    /// Adds a content a legacy modifier moved here. When this buffer is the one the previous
    /// legacy modifier chose (`current`) and the content is relative, the keyword before it is
    /// marked as relative-next (both `within` and `distance`), as Suricata does; otherwise not.
    pub(crate) fn push_moved_content(&mut self, c: Content, current: bool) -> Result<(), String> {
        if current && c.is_relative() {
            self.mark_last_relative_next();
        }
        self.push_content(c)
    }

    /// Marks the last content or pcre as having a relative keyword after it (both `within`
    /// and `distance` for a content).
    fn mark_last_relative_next(&mut self) {
        match self.last_match_keyword(self.items.len()) {
            Some(Item::Content(prev)) => {
                prev.within_next = true;
                prev.distance_next = true;
            }
            Some(Item::Pcre(prev)) => prev.relative_next = true,
            _ => {}
        }
    }

    /// The last content or pcre before `idx`.
    fn last_match_keyword(&mut self, idx: usize) -> Option<&mut Item> {
        self.items[..idx]
            .iter_mut()
            .rev()
            .find(|i| matches!(i, Item::Content(_) | Item::Pcre(_)))
    }

    /// Rule-level checks once the buffer's keywords are all in: a `bsize` smaller than what its
    /// contents need is refused, as Suricata's `DetectBsizeValidateContentCallback` does.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let Some(max) = self.items.iter().find_map(|i| match i {
            Item::Bsize(n) => Some(n.max_size()),
            _ => None,
        }) else {
            return Ok(());
        };
        let Some(max) = max else { return Ok(()) };
        let (len, offset) = self.required_content_size(max);
        let needed = if len > max as i64 {
            len
        } else if len + offset > max as i64 {
            len + offset
        } else {
            return Ok(());
        };
        Err(format!(
            "signature can't match as required content length {needed} exceeds bsize value: {max}"
        ))
    }

    /// Suricata's `SigParseRequiredContentSize`: the first content, then every relative one,
    /// adds its length and distance; a relative negated content is only checked against
    /// `max`. Returns (length, largest offset).
    fn required_content_size(&self, max: u64) -> (i64, i64) {
        let (mut total, mut max_offset) = (0i64, 0i64);
        let mut first = true;
        for item in &self.items {
            let Item::Content(c) = item else { continue };
            if !first {
                if !c.is_relative() {
                    continue;
                }
                if c.negated {
                    let check = total + i64::from(c.distance) + i64::from(c.within);
                    if check > 0 && max < check as u64 {
                        return (check, 0);
                    }
                    continue;
                }
            }
            total += c.pattern.len() as i64 + i64::from(c.distance);
            max_offset = max_offset.max(i64::from(c.offset));
            first = false;
        }
        (total, max_offset)
    }

    /// The items, in rule order.
    pub(crate) fn items(&self) -> &[Item] {
        &self.items
    }

    /// The transforms, in rule order.
    pub(crate) fn transforms(&self) -> &[Transform] {
        &self.transforms
    }

    /// Whether `buf` (the buffer as the app layer gives it) satisfies this program.
    /// Borrows `buf` when there is no transform; allocates a scratch copy otherwise (use
    /// [`BufferProgram::matches_with`] to reuse one).
    pub(crate) fn matches(&self, buf: &[u8]) -> bool {
        if self.transforms.is_empty() {
            return self.inspect_buffer(buf);
        }
        let mut scratch = Vec::new();
        self.matches_with(buf, &mut scratch)
    }

    /// [`BufferProgram::matches`] with a caller's scratch buffer for the transforms.
    pub(crate) fn matches_with(&self, buf: &[u8], scratch: &mut Vec<u8>) -> bool {
        if self.transforms.is_empty() {
            return self.inspect_buffer(buf);
        }
        scratch.clear();
        scratch.extend_from_slice(buf);
        for t in &self.transforms {
            t.apply(scratch);
        }
        self.inspect_buffer(scratch)
    }

    /// The transformed buffer (for tests).
    #[cfg(test)]
    pub(crate) fn transformed(&self, buf: &[u8]) -> Vec<u8> {
        let mut v = buf.to_vec();
        for t in &self.transforms {
            t.apply(&mut v);
        }
        v
    }

    fn inspect_buffer(&self, buf: &[u8]) -> bool {
        self.run(buf).0
    }

    /// Runs the program: (matched, steps taken as Suricata counts them).
    fn run(&self, buf: &[u8]) -> (bool, u32) {
        if self.items.is_empty() {
            return (true, 0);
        }
        let mut st = State {
            buffer_offset: 0,
            pcre_match_start: 0,
            steps: 0,
        };
        let r = self.inspect(0, buf, &mut st);
        (r == Outcome::Match, st.steps)
    }

    /// `DetectEngineContentInspectionInternal` for item `idx`.
    fn inspect(&self, idx: usize, buf: &[u8], st: &mut State) -> Outcome {
        st.steps += 1;
        if st.steps >= RECURSION_LIMIT {
            return Outcome::Discontinue;
        }
        let Some(item) = self.items.get(idx) else {
            return Outcome::Match;
        };
        match item {
            Item::Content(c) => self.inspect_content(idx, c, buf, st),
            Item::Pcre(p) => self.inspect_pcre(idx, p, buf, st),
            Item::Bsize(n) => {
                let size = buf.len() as u64;
                if n.matches(size) {
                    return self.next(idx, buf, st);
                }
                // DetectBsizeMatch with a complete buffer (eof): -1 except for the modes
                // that could still match another way.
                match n.mode {
                    CmpMode::Ne | CmpMode::NegRange | CmpMode::Bitmask | CmpMode::NegBitmask => {
                        Outcome::NoMatch
                    }
                    _ => Outcome::Discontinue,
                }
            }
        }
    }

    /// Suricata's `match:` label: the item matched, go on with the next one if any.
    fn next(&self, idx: usize, buf: &[u8], st: &mut State) -> Outcome {
        if idx + 1 >= self.items.len() {
            Outcome::Match
        } else {
            self.inspect(idx + 1, buf, st)
        }
    }

    fn inspect_content(&self, idx: usize, c: &Content, buf: &[u8], st: &mut State) -> Outcome {
        let len = buf.len() as i64;
        let plen = c.pattern.len() as i64;
        let mut prev_buffer_offset = st.buffer_offset as i64;
        let mut prev_offset: i64 = 0;
        loop {
            let mut depth: i64 = len;
            let mut offset: i64;
            if c.is_relative() {
                offset = prev_buffer_offset;
                let distance = i64::from(c.distance);
                if c.has_distance {
                    if distance < 0 && -distance > offset {
                        offset = 0;
                    } else {
                        offset += distance;
                    }
                }
                if c.has_within {
                    // C compares as int32 and stores as uint32: a negative end means no limit.
                    let end = prev_buffer_offset + i64::from(c.within) + distance;
                    if (depth as i32) > (end as i32) {
                        depth = i64::from(end as i32 as u32);
                    }
                }
                if c.depth != 0 && i64::from(c.depth) + prev_buffer_offset < depth {
                    depth = prev_buffer_offset + i64::from(c.depth);
                }
                if i64::from(c.offset) > offset {
                    offset = i64::from(c.offset);
                }
            } else {
                if c.depth != 0 {
                    depth = i64::from(c.depth);
                }
                offset = i64::from(c.offset);
                prev_buffer_offset = 0;
            }
            if prev_offset != 0 {
                offset = prev_offset;
            }
            if depth > len {
                depth = len;
            }
            if offset > depth || depth == 0 {
                return if c.negated {
                    self.next(idx, buf, st)
                } else {
                    Outcome::NoMatch
                };
            }
            let (o, d) = (offset as usize, depth as usize);
            let window = &buf[o..d];
            let found = if (c.endswith && depth < len) || c.pattern.len() > window.len() {
                None
            } else {
                find(window, &c.pattern, c.nocase)
            };
            let Some(pos) = found else {
                if c.negated {
                    return self.next(idx, buf, st);
                }
                if !c.is_relative() {
                    return Outcome::Discontinue;
                }
                return Outcome::NoMatch;
            };
            let match_offset = offset + pos as i64 + plen;
            if c.negated {
                // Suricata compares the window's length with the absolute match end here.
                if c.endswith && window.len() as i64 != match_offset {
                    return self.next(idx, buf, st);
                }
                return if c.is_single() {
                    Outcome::Discontinue
                } else {
                    Outcome::NoMatch
                };
            }
            st.buffer_offset = match_offset as usize;
            if !c.endswith || match_offset == len {
                if idx + 1 >= self.items.len() {
                    return Outcome::Match;
                }
                match self.inspect(idx + 1, buf, st) {
                    Outcome::Match => return Outcome::Match,
                    Outcome::Discontinue => return Outcome::Discontinue,
                    Outcome::NoMatch => {}
                }
                if !c.within_next {
                    return Outcome::Discontinue;
                }
            }
            prev_offset = match_offset - (plen - 1);
        }
    }

    fn inspect_pcre(&self, idx: usize, p: &Pcre, buf: &[u8], st: &mut State) -> Outcome {
        let prev_buffer_offset = st.buffer_offset;
        st.pcre_match_start = 0;
        loop {
            if !pcre_payload_match(p, buf, st) {
                return Outcome::NoMatch;
            }
            if !p.relative_next {
                return self.next(idx, buf, st);
            }
            let prev_offset = st.pcre_match_start;
            match self.next(idx, buf, st) {
                Outcome::Match => return Outcome::Match,
                Outcome::Discontinue => return Outcome::Discontinue,
                Outcome::NoMatch => {}
            }
            if prev_offset == 0 {
                // A negated pcre matched without a position: no other occurrence to try.
                return Outcome::NoMatch;
            }
            st.buffer_offset = prev_buffer_offset;
            st.pcre_match_start = prev_offset;
        }
    }

    /// The content Suricata's multi-pattern matcher would use for this buffer: the one with
    /// `fast_pattern`, else the longest non-negated content, ties to the stronger pattern
    /// (`PatternStrength`), then the first. Negated contents are never returned.
    pub(crate) fn fast_pattern(&self) -> Option<(&[u8], bool)> {
        let contents = || {
            self.items.iter().filter_map(|i| match i {
                Item::Content(c) => Some(c),
                _ => None,
            })
        };
        if let Some(c) = contents().find(|c| c.fast_pattern.is_some()) {
            return (!c.negated).then(|| (c.prefilter_bytes(), c.nocase));
        }
        let max_len = contents()
            .filter(|c| !c.negated)
            .map(|c| c.pattern.len())
            .max()?;
        let mut best: Option<&Content> = None;
        for c in contents().filter(|c| !c.negated && c.pattern.len() == max_len) {
            match best {
                Some(b) if pattern_strength(&c.pattern) <= pattern_strength(&b.pattern) => {}
                _ => best = Some(c),
            }
        }
        best.map(|c| (c.pattern.as_slice(), c.nocase))
    }
}

/// Suricata's `DetectPcrePayloadMatch`.
fn pcre_payload_match(p: &Pcre, buf: &[u8], st: &mut State) -> bool {
    let base = if p.relative {
        st.buffer_offset.min(buf.len())
    } else {
        0
    };
    let hay = &buf[base..];
    let start = if st.pcre_match_start != 0 {
        match st.pcre_match_start.checked_sub(base) {
            Some(s) => s,
            None => return false,
        }
    } else {
        0
    };
    match p.find_at(hay, start) {
        None => p.negated,
        Some(_) if p.negated => false,
        Some((s, e)) => {
            st.buffer_offset = base + e;
            st.pcre_match_start = base + s + 1;
            true
        }
    }
}

/// Suricata's `PatternStrength`: distinct letters 3, other printable (and 0x00, 0x01, 0xff)
/// 4, other bytes 6, repeats 1.
pub(crate) fn pattern_strength(pat: &[u8]) -> u32 {
    let mut seen = [false; 256];
    let mut s = 0;
    for &b in pat {
        if seen[usize::from(b)] {
            s += 1;
            continue;
        }
        seen[usize::from(b)] = true;
        s += if b.is_ascii_alphabetic() {
            3
        } else if (0x20..0x7f).contains(&b) || matches!(b, 0x00 | 0x01 | 0xff) {
            4
        } else {
            6
        };
    }
    s
}

/// The first occurrence of `pat` (lower-case when `nocase`) in `hay`.
fn find(hay: &[u8], pat: &[u8], nocase: bool) -> Option<usize> {
    let (&first, rest) = pat.split_first()?;
    if pat.len() > hay.len() {
        return None;
    }
    let last_start = hay.len() - pat.len();
    if nocase {
        (0..=last_start).find(|&i| {
            hay[i].to_ascii_lowercase() == first
                && hay[i + 1..i + pat.len()]
                    .iter()
                    .zip(rest)
                    .all(|(h, p)| h.to_ascii_lowercase() == *p)
        })
    } else {
        let mut i = 0;
        while i <= last_start {
            let p = hay[i..=last_start].iter().position(|&b| b == first)?;
            i += p;
            if &hay[i + 1..i + pat.len()] == rest {
                return Some(i);
            }
            i += 1;
        }
        None
    }
}

#[cfg(test)]
mod tests;
