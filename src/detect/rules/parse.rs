//! Rule files as text: statements (a rule may span lines, and a line may end with `\`), then one
//! statement split into its header words and its options (`name:value;`). No meaning is given
//! here: [`super::header`] and [`super::compile`] read what this returns.

/// One rule as written: where it starts and its text with continuation lines joined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Statement {
    /// 1-based line where the rule starts.
    pub(crate) line: usize,
    pub(crate) text: String,
}

/// What a rule file holds: its statements, and the text that is no rule (with its line).
#[derive(Debug, Default)]
pub(crate) struct Statements {
    pub(crate) rules: Vec<Statement>,
    /// Text that never closed its options (`(` without `)`), with where it started.
    pub(crate) unclosed: Vec<Statement>,
}

/// The actions a rule may start with (Suricata's), to tell a new rule from a continuation.
const ACTIONS: [&str; 7] = [
    "alert",
    "pass",
    "drop",
    "reject",
    "rejectsrc",
    "rejectdst",
    "rejectboth",
];

/// Whether `line` (trimmed) starts a rule.
fn starts_rule(line: &str) -> bool {
    let word = line.split_ascii_whitespace().next().unwrap_or("");
    ACTIONS.contains(&word)
}

/// Paren depth of `text` outside double quotes (a `\` escapes the next character).
fn depth(text: &str) -> i32 {
    let (mut depth, mut quoted, mut escaped) = (0, false, false);
    for c in text.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            _ => {}
        }
    }
    depth
}

/// Splits a rule file into statements. Comments (`#` first on a line) and blank lines are
/// skipped, also inside a rule spread over lines; a line ending with `\` goes on with the next;
/// a rule ends at the line that closes its options: its text ends with `)` with the parentheses
/// outside quotes balanced, or with `)` right before the next rule or the end of the file.
pub(crate) fn statements(text: &str) -> Statements {
    let mut out = Statements::default();
    let mut current: Option<Statement> = None;
    let mut continued = false;
    let lines: Vec<&str> = text.lines().collect();
    for (i, raw) in lines.iter().enumerate() {
        let line = raw.trim();
        if !continued && (line.is_empty() || line.starts_with('#')) {
            continue;
        }
        if !continued && starts_rule(line) {
            if let Some(open) = current.take() {
                out.unclosed.push(open);
            }
        }
        let (body, goes_on) = match line.strip_suffix('\\') {
            Some(body) => (body, true),
            None => (line, false),
        };
        let stmt = current.get_or_insert_with(|| Statement {
            line: i + 1,
            text: String::new(),
        });
        if !stmt.text.is_empty() && !continued {
            stmt.text.push(' ');
        }
        stmt.text.push_str(body);
        continued = goes_on;
        if goes_on {
            continue;
        }
        let text = stmt.text.trim_end();
        if !text.ends_with(')') {
            continue;
        }
        let next_starts = lines[i + 1..]
            .iter()
            .map(|l| l.trim())
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .is_none_or(starts_rule);
        if depth(text) <= 0 || next_starts {
            out.rules.extend(current.take());
        }
    }
    out.unclosed.extend(current);
    out
}

/// A statement split: the header's words and the options between its outer parentheses.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Split<'a> {
    pub(crate) header: Vec<&'a str>,
    pub(crate) options: Vec<RawOption<'a>>,
}

/// One option: `name` or `name:value` (value trimmed, quotes kept).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RawOption<'a> {
    pub(crate) name: &'a str,
    pub(crate) value: Option<&'a str>,
}

/// Splits a statement into header words and options. Options end at a `;` that no `\`
/// escapes, as Suricata reads them.
pub(crate) fn split(text: &str) -> Result<Split<'_>, String> {
    let open = text
        .find('(')
        .ok_or("no rule options: a rule is `action proto src port -> dst port (options)`")?;
    let close = text
        .rfind(')')
        .filter(|&c| c > open)
        .ok_or("the options are not closed with ')'")?;
    if !text[close + 1..].trim().is_empty() {
        return Err(format!(
            "text after the options' closing ')': {:?}",
            text[close + 1..].trim()
        ));
    }
    let header = text[..open].split_ascii_whitespace().collect();
    let mut options = Vec::new();
    let body = &text[open + 1..close];
    let bytes = body.as_bytes();
    let (mut start, mut i) = (0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b';' => {
                push_option(&body[start..i], &mut options)?;
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    let rest = body.get(start..).unwrap_or("").trim();
    if !rest.is_empty() {
        return Err(format!("option {rest:?} does not end with ';'"));
    }
    Ok(Split { header, options })
}

fn push_option<'a>(text: &'a str, options: &mut Vec<RawOption<'a>>) -> Result<(), String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("an empty option (';;')".into());
    }
    let (name, value) = match text.split_once(':') {
        Some((name, value)) => (name.trim(), Some(value.trim())),
        None => (text, None),
    };
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(format!("{text:?} is no option (`name` or `name:value`)"));
    }
    options.push(RawOption { name, value });
    Ok(())
}

/// A `content` or `pcre` value: an optional `!`, then text between double quotes (kept as
/// written, escapes and all). `keyword` names the option in the refusal.
pub(crate) fn negatable_quoted<'a>(arg: &'a str, keyword: &str) -> Result<(bool, &'a str), String> {
    let arg = arg.trim();
    let (negated, rest) = match arg.strip_prefix('!') {
        Some(r) => (true, r.trim_start()),
        None => (false, arg),
    };
    rest.strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .filter(|_| rest.len() >= 2)
        .map(|inner| (negated, inner))
        .ok_or_else(|| format!("{keyword} needs a quoted value: {arg}"))
}

/// A quoted option value (`msg`, `content`): the text between the quotes, with `\"`, `\;`,
/// `\\` and `\:` unescaped. `None`: not quoted.
pub(crate) fn unquote(value: &str) -> Option<String> {
    let inner = value.trim().strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(e @ ('"' | ';' | '\\' | ':')) => out.push(e),
                Some(e) => {
                    out.push('\\');
                    out.push(e);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_spread_over_lines_is_one_statement() {
        let text = "# comment\nalert tls any any -> any 443 (\n  msg:\"a (b)\";\n  # inside\n  sid:1;\n)\n\nalert dns any any -> any any (msg:\"x\"; \\\n sid:2;)\n";
        let s = statements(text);
        assert!(s.unclosed.is_empty());
        assert_eq!(s.rules.len(), 2);
        assert_eq!(s.rules[0].line, 2);
        assert_eq!(
            s.rules[0].text,
            "alert tls any any -> any 443 ( msg:\"a (b)\"; sid:1; )"
        );
        assert_eq!(s.rules[1].line, 8);
        assert_eq!(
            s.rules[1].text,
            "alert dns any any -> any any (msg:\"x\"; sid:2;)"
        );
    }

    #[test]
    fn an_unclosed_rule_is_reported_and_the_next_one_still_loads() {
        let s = statements(
            "alert tls any any -> any any (msg:\"x\";\nalert dns any any -> any any (sid:2;)\n",
        );
        assert_eq!(s.unclosed.len(), 1);
        assert_eq!(s.unclosed[0].line, 1);
        assert_eq!(s.rules.len(), 1);
        assert_eq!(s.rules[0].line, 2);
    }

    #[test]
    fn a_paren_in_an_unquoted_value_closes_at_the_line_end_before_the_next_rule() {
        let s = statements("alert http any any -> any any (reference:url,x.org/(a; sid:1;)\nalert dns any any -> any any (sid:2;)");
        assert_eq!(s.rules.len(), 2, "{s:?}");
    }

    #[test]
    fn options_split_at_unescaped_semicolons() {
        let s = split(r#"alert tls $HOME_NET any -> any 443 (msg:"a\;b"; content:"x"; nocase; pcre:"/a\;b/"; sid:5;)"#).unwrap();
        assert_eq!(
            s.header,
            ["alert", "tls", "$HOME_NET", "any", "->", "any", "443"]
        );
        let names: Vec<_> = s.options.iter().map(|o| o.name).collect();
        assert_eq!(names, ["msg", "content", "nocase", "pcre", "sid"]);
        assert_eq!(s.options[0].value, Some(r#""a\;b""#));
        assert_eq!(unquote(s.options[0].value.unwrap()).unwrap(), "a;b");
        assert!(split("alert tls any any -> any any (msg:\"x\")").is_err());
        assert!(split("alert tls any any -> any any").is_err());
    }
}
