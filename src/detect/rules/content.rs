//! One `content` keyword of a Suricata rule and the modifiers that follow it (`nocase`, `depth`,
//! `offset`, `distance`, `within`, `startswith`, `endswith`, `fast_pattern`), parsed and validated
//! as Suricata's `detect-content.c`, `detect-depth.c`, `detect-offset.c`, `detect-distance.c`,
//! `detect-within.c`, `detect-isdataat.c` (endswith), `detect-nocase.c` and
//! `detect-fast-pattern.c` do. Matching lives in [`super::inspect`].

/// Suricata's `DETECT_CONTENT_VALUE_MAX`: the bound of `distance` and `within`.
const VALUE_MAX: i32 = 1024 * 1024;

/// How `fast_pattern` was given on a content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FastPattern {
    /// `fast_pattern;`
    Yes,
    /// `fast_pattern:only;` (Suricata accepts and ignores `only` nowadays).
    Only,
    /// `fast_pattern:O,L;`: only bytes `O..O+L` of the pattern go to the prefilter.
    Chop { offset: u16, len: u16 },
}

/// One `content` with its modifiers. Offsets follow Suricata's `DetectContentData`: `depth` is
/// stored as an absolute end (`depth` plus `offset`), as `detect-depth.c` does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Content {
    /// The bytes to find (lower-cased when `nocase`, as Suricata stores them).
    pub(crate) pattern: Vec<u8>,
    pub(crate) negated: bool,
    pub(crate) nocase: bool,
    /// Absolute start of the search window (`offset`), 0 when unset.
    pub(crate) offset: u16,
    /// Absolute end of the search window (`depth` + `offset`), 0 when unset.
    pub(crate) depth: u32,
    /// Relative start from the previous match's end (may be negative).
    pub(crate) distance: i32,
    /// Relative window length from the previous match's end (plus `distance`).
    pub(crate) within: i32,
    pub(crate) has_offset: bool,
    pub(crate) has_depth: bool,
    pub(crate) has_distance: bool,
    pub(crate) has_within: bool,
    pub(crate) startswith: bool,
    pub(crate) endswith: bool,
    pub(crate) fast_pattern: Option<FastPattern>,
    /// A later content has `within` relative to this one (`DETECT_CONTENT_WITHIN_NEXT`): a failed
    /// relative match makes the matcher retry this content's next occurrence.
    pub(crate) within_next: bool,
    /// A later content has `distance` relative to this one (`DETECT_CONTENT_DISTANCE_NEXT`).
    pub(crate) distance_next: bool,
}

impl Content {
    /// Parses the argument of `content:` as the option splitter hands it over: the raw text
    /// between `content:` and the terminating `;`, quotes included, optionally `!` before them.
    pub(crate) fn parse(arg: &str) -> Result<Content, String> {
        let arg = arg.trim();
        let (negated, inner) = super::parse::negatable_quoted(arg, "content")?;
        if inner.is_empty() {
            return Err(if negated {
                "empty content: Suricata refuses a content without bytes (content:!\"\" never \
                 means 'the buffer is missing'); use \"tls.sni; absent;\" (or the buffer's name) \
                 to match a missing buffer"
                    .to_string()
            } else {
                "empty content: Suricata refuses a content without bytes".to_string()
            });
        }
        let pattern = decode_pattern(inner, arg)?;
        Ok(Content {
            pattern,
            negated,
            nocase: false,
            offset: 0,
            depth: 0,
            distance: 0,
            within: 0,
            has_offset: false,
            has_depth: false,
            has_distance: false,
            has_within: false,
            startswith: false,
            endswith: false,
            fast_pattern: None,
            within_next: false,
            distance_next: false,
        })
    }

    /// True for the keywords [`Content::modify`] applies.
    pub(crate) fn is_modifier(keyword: &str) -> bool {
        matches!(
            keyword,
            "nocase"
                | "depth"
                | "offset"
                | "distance"
                | "within"
                | "startswith"
                | "endswith"
                | "fast_pattern"
        )
    }

    /// Applies one modifier keyword (with its value, if any) to this content, refusing what
    /// Suricata refuses. Setting `distance`/`within` also marks the previous content or pcre
    /// of the same buffer: [`super::inspect::BufferProgram::modify_last`] does that part.
    pub(crate) fn modify<'a>(
        &mut self,
        keyword: &str,
        value: Option<&'a str>,
    ) -> Result<(), String> {
        let value = value.map(str::trim).filter(|v| !v.is_empty());
        let no_value = |v: Option<&str>| match v {
            Some(v) => Err(format!("{keyword} takes no value (got {v:?})")),
            None => Ok(()),
        };
        let need_value = |v: Option<&'a str>| v.ok_or_else(|| format!("{keyword} needs a value"));
        match keyword {
            "nocase" => {
                no_value(value)?;
                if self.nocase {
                    return Err("can't use multiple nocase modifiers with the same content".into());
                }
                self.pattern.make_ascii_lowercase();
                self.nocase = true;
            }
            "depth" => {
                let v = need_value(value)?;
                if self.has_depth {
                    return Err("can't use multiple depths for the same content".into());
                }
                self.refuse_relative_mix()?;
                self.refuse_negated_fast_pattern()?;
                let depth = parse_u16(v, "depth")?;
                if usize::from(depth) < self.pattern.len() {
                    return Err(format!(
                        "depth:{depth} smaller than content of len {}",
                        self.pattern.len()
                    ));
                }
                self.depth = u32::from(depth) + u32::from(self.offset);
                self.has_depth = true;
            }
            "offset" => {
                let v = need_value(value)?;
                if self.startswith {
                    return Err("can't use offset with startswith".into());
                }
                if self.has_offset {
                    return Err("can't use multiple offsets for the same content".into());
                }
                if self.has_within || self.has_distance {
                    return Err(RELATIVE_MIX.into());
                }
                self.refuse_negated_fast_pattern()?;
                let offset = parse_u16(v, "offset")?;
                if self.depth != 0 {
                    // detect-offset.c: a depth shorter than the pattern is raised to it.
                    let len = self.pattern.len().min(u32::MAX as usize) as u32;
                    if self.depth < len {
                        self.depth = len;
                    }
                    self.depth += u32::from(offset);
                }
                self.offset = offset;
                self.has_offset = true;
            }
            "distance" | "within" => {
                let v = need_value(value)?;
                let is_distance = keyword == "distance";
                if is_distance && self.has_distance {
                    return Err("can't use multiple distances for the same content".into());
                }
                if !is_distance && self.has_within {
                    return Err("can't use multiple withins for the same content".into());
                }
                if self.has_depth || self.has_offset {
                    return Err(RELATIVE_MIX.into());
                }
                self.refuse_negated_fast_pattern()?;
                let n = parse_i32(v, keyword)?;
                if is_distance {
                    self.distance = n;
                    self.has_distance = true;
                } else {
                    if i64::from(n) < self.pattern.len() as i64 {
                        return Err(format!(
                            "within argument \"{n}\" is less than the content length \"{}\" \
                             which is invalid, since this will never match",
                            self.pattern.len()
                        ));
                    }
                    self.within = n;
                    self.has_within = true;
                }
            }
            "startswith" => {
                no_value(value)?;
                if self.has_depth {
                    return Err(
                        "can't use multiple depth/startswith settings for the same content".into(),
                    );
                }
                if self.has_within || self.has_distance {
                    return Err(RELATIVE_MIX.into());
                }
                self.refuse_negated_fast_pattern()?;
                if self.has_offset {
                    return Err("can't mix offset with startswith".into());
                }
                self.depth = self.pattern.len().min(u32::MAX as usize) as u32;
                self.has_depth = true;
                self.startswith = true;
            }
            "endswith" => {
                // detect-isdataat.c sets the flag and checks nothing else.
                no_value(value)?;
                self.endswith = true;
            }
            "fast_pattern" => self.set_fast_pattern(value)?,
            other => return Err(format!("{other} is not a content modifier")),
        }
        Ok(())
    }

    fn set_fast_pattern(&mut self, value: Option<&str>) -> Result<(), String> {
        let relative = self.has_distance || self.has_within || self.has_offset || self.has_depth;
        if self.negated && relative {
            return Err(
                "fast_pattern; cannot be used with negated content, along with relative modifiers"
                    .into(),
            );
        }
        let Some(v) = value else {
            if self.fast_pattern.is_some() {
                return Err("can't use multiple fast_pattern options for the same content".into());
            }
            self.fast_pattern = Some(FastPattern::Yes);
            return Ok(());
        };
        if v == "only" {
            if self.negated || relative {
                return Err(
                    "fast_pattern: only; cannot be used with negated content or with any \
                            of the relative modifiers like distance, within, offset, depth"
                        .into(),
                );
            }
            self.fast_pattern = Some(FastPattern::Only);
            return Ok(());
        }
        let (o, l) = v
            .split_once(',')
            .ok_or_else(|| format!("fast_pattern: parse error, string {v}"))?;
        let parse = |s: &str, what: &str| {
            let s = s.trim();
            s.parse::<u16>()
                .ok()
                .filter(|_| s.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| format!("Invalid fast pattern {what}: \"{s}\""))
        };
        let offset = parse(o, "offset")?;
        let len = parse(l, "length")?;
        if offset > u16::MAX - len {
            return Err("Fast pattern (length + offset) exceeds limit pattern length limit".into());
        }
        let end = usize::from(offset) + usize::from(len);
        if end > self.pattern.len() {
            return Err(format!(
                "Fast pattern (length + offset ({end})) exceeds pattern length ({})",
                self.pattern.len()
            ));
        }
        self.fast_pattern = Some(FastPattern::Chop { offset, len });
        Ok(())
    }

    fn refuse_relative_mix(&self) -> Result<(), String> {
        if self.has_within || self.has_distance {
            return Err(RELATIVE_MIX.into());
        }
        Ok(())
    }

    fn refuse_negated_fast_pattern(&self) -> Result<(), String> {
        if self.negated && self.fast_pattern.is_some() {
            return Err(
                "can't have a relative negated keyword set along with a fast_pattern".into(),
            );
        }
        if self.fast_pattern == Some(FastPattern::Only) {
            return Err("can't have a relative keyword set along with a fast_pattern:only;".into());
        }
        Ok(())
    }

    /// Relative to the previous match (`distance` or `within`).
    pub(crate) fn is_relative(&self) -> bool {
        self.has_distance || self.has_within
    }

    /// Suricata's `DETECT_CONTENT_IS_SINGLE`: no window and nothing relative around it.
    pub(crate) fn is_single(&self) -> bool {
        !(self.has_distance
            || self.has_within
            || self.within_next
            || self.distance_next
            || self.has_depth
            || self.has_offset)
    }

    /// The bytes the prefilter looks for (the `fast_pattern:O,L` slice, else the whole pattern).
    pub(crate) fn prefilter_bytes(&self) -> &[u8] {
        match self.fast_pattern {
            Some(FastPattern::Chop { offset, len }) => {
                let start = usize::from(offset).min(self.pattern.len());
                let end = (start + usize::from(len)).min(self.pattern.len());
                &self.pattern[start..end]
            }
            _ => &self.pattern,
        }
    }
}

const RELATIVE_MIX: &str = "can't use a relative keyword like within/distance with a absolute \
                            relative keyword like depth/offset for the same content";

/// Suricata's `StringParseUint16` for depth and offset: decimal, 0..=65535.
fn parse_u16(v: &str, what: &str) -> Result<u16, String> {
    if v.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(format!(
            "{what}: byte_extract variables are not supported ({v})"
        ));
    }
    let digits = v.strip_prefix('+').unwrap_or(v);
    digits
        .parse::<u16>()
        .ok()
        .filter(|_| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| format!("invalid value for {what}: {v}"))
}

/// Suricata's `StringParseI32RangeCheck` for distance and within: ±1 MiB.
fn parse_i32(v: &str, what: &str) -> Result<i32, String> {
    if v.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(format!(
            "{what}: byte_extract variables are not supported ({v})"
        ));
    }
    let digits = v.strip_prefix(['-', '+']).unwrap_or(v);
    v.parse::<i32>()
        .ok()
        .filter(|_| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .filter(|n| (-VALUE_MAX..=VALUE_MAX).contains(n))
        .ok_or_else(|| format!("invalid value for {what}: {v}"))
}

/// `DetectContentDataParse`: `|hex|` runs (spaces and commas allowed between the digits),
/// escapes `\"` `\;` `\:` `\\`, and no bare double quote.
fn decode_pattern(inner: &str, whole: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(inner.len());
    let mut bin = false;
    let mut escape = false;
    let mut hi: Option<u8> = None;
    let mut pipes = 0usize;
    for &c in inner.as_bytes() {
        if c == b'|' {
            pipes += 1;
            if bin {
                if hi.is_some() {
                    return Err(format!("Incomplete hex code in content - {whole}"));
                }
                bin = false;
            } else {
                bin = true;
            }
        } else if !escape && c == b'\\' {
            escape = true;
        } else if bin {
            if let Some(d) = hex_digit(c) {
                match hi.take() {
                    Some(h) => out.push(h << 4 | d),
                    None => hi = Some(d),
                }
            } else if c != b' ' && c != b',' {
                return Err(format!(
                    "Invalid hex code in content - {whole}, hex {}",
                    char::from(c).escape_default()
                ));
            }
        } else if escape {
            if matches!(c, b':' | b';' | b'\\' | b'"') {
                out.push(c);
            } else {
                return Err(format!(
                    "'\\{}' is not a valid escape in content (only \\\" \\; \\: \\\\)",
                    char::from(c).escape_default()
                ));
            }
            escape = false;
        } else if c == b'"' {
            return Err("Invalid unescaped double quote within content section".into());
        } else {
            out.push(c);
        }
    }
    if !pipes.is_multiple_of(2) {
        return Err(format!("Invalid hex code assembly in content - {whole}"));
    }
    if out.is_empty() {
        return Err("empty content: Suricata refuses a content without bytes".into());
    }
    Ok(out)
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(arg: &str) -> Content {
        Content::parse(arg).unwrap()
    }

    #[test]
    fn plain_negated_and_leading_spaces() {
        assert_eq!(c("\"abc\"").pattern, b"abc");
        assert!(!c("\"abc\"").negated);
        let n = c("  !\"abc\"");
        assert!(n.negated);
        assert_eq!(n.pattern, b"abc");
        assert_eq!(c(" \"abc\" ").pattern, b"abc");
    }

    #[test]
    fn hex_runs() {
        assert_eq!(c("\"|0d 0a|GET|20|\"").pattern, b"\r\nGET ");
        assert_eq!(c("\"|0D0A|\"").pattern, b"\r\n");
        assert_eq!(c("\"|ff,00|\"").pattern, [0xff, 0]);
        assert!(Content::parse("\"|0g|\"")
            .unwrap_err()
            .contains("Invalid hex"));
        assert!(Content::parse("\"|0d 0|\"")
            .unwrap_err()
            .contains("Incomplete hex"));
        assert!(Content::parse("\"|0d\"").unwrap_err().contains("assembly"));
    }

    #[test]
    fn escapes() {
        assert_eq!(c(r#""a\"b\;c\\d\:e""#).pattern, b"a\"b;c\\d:e");
        assert!(Content::parse(r#""a\nb""#).is_err());
        assert!(Content::parse(r#""a"b""#)
            .unwrap_err()
            .contains("double quote"));
        assert!(Content::parse("abc").unwrap_err().contains("quoted"));
    }

    #[test]
    fn empty_is_refused_with_the_advice() {
        assert!(Content::parse("\"\"")
            .unwrap_err()
            .contains("empty content"));
        let e = Content::parse("!\"\"").unwrap_err();
        assert!(e.contains("empty content"), "{e}");
        assert!(
            e.contains("use \"tls.sni; absent;\" (or the buffer's name)"),
            "{e}"
        );
        assert!(Content::parse("\"||\"")
            .unwrap_err()
            .contains("empty content"));
    }

    #[test]
    fn nocase_lowercases_once() {
        let mut x = c("\"AbC\"");
        x.modify("nocase", None).unwrap();
        assert_eq!(x.pattern, b"abc");
        assert!(x.modify("nocase", None).is_err());
        assert!(c("\"a\"").modify("nocase", Some("1")).is_err());
    }

    #[test]
    fn depth_and_offset() {
        let mut x = c("\"abc\"");
        assert!(x
            .clone()
            .modify("depth", Some("2"))
            .unwrap_err()
            .contains("smaller"));
        x.modify("offset", Some("2")).unwrap();
        x.modify("depth", Some("5")).unwrap();
        assert_eq!((x.offset, x.depth), (2, 7));
        assert!(x
            .modify("depth", Some("5"))
            .unwrap_err()
            .contains("multiple depths"));
        assert!(x
            .modify("offset", Some("1"))
            .unwrap_err()
            .contains("multiple offsets"));
        assert!(x
            .modify("distance", Some("1"))
            .unwrap_err()
            .contains("relative"));
        // depth then offset: the window end moves with the offset.
        let mut y = c("\"abc\"");
        y.modify("depth", Some("3")).unwrap();
        y.modify("offset", Some("4")).unwrap();
        assert_eq!((y.offset, y.depth), (4, 7));
        assert!(c("\"a\"").modify("depth", Some("-1")).is_err());
        assert!(c("\"a\"").modify("depth", Some("70000")).is_err());
        assert!(c("\"a\"").modify("offset", Some("x")).is_err());
    }

    #[test]
    fn distance_and_within() {
        let mut x = c("\"abc\"");
        x.modify("distance", Some("-3")).unwrap();
        assert_eq!(x.distance, -3);
        assert!(x
            .modify("distance", Some("1"))
            .unwrap_err()
            .contains("multiple distances"));
        assert!(x
            .clone()
            .modify("within", Some("2"))
            .unwrap_err()
            .contains("less than"));
        x.modify("within", Some("3")).unwrap();
        assert!(x
            .modify("depth", Some("3"))
            .unwrap_err()
            .contains("relative"));
        assert!(x
            .modify("offset", Some("3"))
            .unwrap_err()
            .contains("relative"));
        assert!(x.modify("startswith", None).is_err());
        assert!(c("\"a\"").modify("distance", Some("2000000")).is_err());
        assert!(c("\"a\"").modify("distance", Some("+2")).is_ok());
        assert!(c("\"a\"").modify("distance", Some("2x")).is_err());
        assert!(c("\"a\"").modify("offset", Some("+2")).is_ok());
    }

    #[test]
    fn startswith_and_endswith() {
        let mut x = c("\"abc\"");
        x.modify("startswith", None).unwrap();
        assert_eq!(x.depth, 3);
        assert!(x
            .modify("offset", Some("1"))
            .unwrap_err()
            .contains("startswith"));
        assert!(x
            .modify("depth", Some("4"))
            .unwrap_err()
            .contains("multiple depths"));
        assert!(x
            .modify("distance", Some("0"))
            .unwrap_err()
            .contains("relative"));
        let mut y = c("\"abc\"");
        y.modify("offset", Some("1")).unwrap();
        assert!(y.modify("startswith", None).unwrap_err().contains("offset"));
        let mut z = c("\"z\"");
        z.modify("depth", Some("1")).unwrap();
        z.modify("endswith", None).unwrap();
        assert!(z.endswith);
        assert!(z.modify("endswith", Some("x")).is_err());
    }

    #[test]
    fn fast_pattern_forms() {
        let mut x = c("\"abcdef\"");
        x.modify("fast_pattern", None).unwrap();
        assert!(x.modify("fast_pattern", None).is_err());
        let mut y = c("\"abcdef\"");
        y.modify("fast_pattern", Some("only")).unwrap();
        assert_eq!(y.fast_pattern, Some(FastPattern::Only));
        assert!(y
            .modify("depth", Some("6"))
            .unwrap_err()
            .contains("fast_pattern:only"));
        let mut z = c("\"abcdef\"");
        z.modify("fast_pattern", Some("2,3")).unwrap();
        assert_eq!(z.prefilter_bytes(), b"cde");
        assert!(c("\"abc\"")
            .modify("fast_pattern", Some("2,3"))
            .unwrap_err()
            .contains("exceeds"));
        assert!(c("\"abc\"").modify("fast_pattern", Some("x")).is_err());
        let mut n = c("!\"abc\"");
        n.modify("depth", Some("3")).unwrap();
        assert!(n
            .modify("fast_pattern", None)
            .unwrap_err()
            .contains("negated"));
        let mut m = c("!\"abc\"");
        m.modify("fast_pattern", None).unwrap();
        assert!(m
            .modify("depth", Some("3"))
            .unwrap_err()
            .contains("negated"));
    }
}
