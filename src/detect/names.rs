//! Domain-name sets matched on label boundaries: an entry matches the name itself and every
//! subdomain (`github.com` matches `api.github.com`, never `evilgithub.com` nor
//! `github.com.evil.io`); an entry written `=name` matches that exact name only, and one written
//! `*.name` every subdomain of `name` but not `name` itself. Matching is
//! ASCII case-insensitive and ignores a trailing dot. A lookup hashes each label suffix of the
//! name once, without allocating.

use rustc_hash::FxHashSet;

/// Longest DNS name in presentation form.
const MAX_NAME: usize = 253;

/// A set of domain entries.
#[derive(Clone, Debug, Default)]
pub struct DomainSet {
    /// Entries that match the name and its subdomains.
    suffixes: FxHashSet<Box<str>>,
    /// Entries that match the exact name only.
    exact: FxHashSet<Box<str>>,
    /// Entries (`*.name`, kept as `name`) that match the subdomains of the name only.
    subdomains: FxHashSet<Box<str>>,
}

/// Lowercases `name` into `buf` and strips one trailing dot; `None` if too long or empty.
fn normalise<'b>(name: &str, buf: &'b mut [u8; MAX_NAME + 1]) -> Option<&'b str> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() || name.len() > MAX_NAME {
        return None;
    }
    let out = &mut buf[..name.len()];
    out.copy_from_slice(name.as_bytes());
    out.make_ascii_lowercase();
    std::str::from_utf8(out).ok()
}

impl DomainSet {
    /// Adds an entry (`name`, `=name` or `*.name`), already validated by the signature loader.
    pub fn insert(&mut self, entry: &str) {
        let (set, name) = if let Some(rest) = entry.strip_prefix('=') {
            (&mut self.exact, rest)
        } else if let Some(rest) = entry.strip_prefix("*.") {
            (&mut self.subdomains, rest)
        } else {
            (&mut self.suffixes, entry)
        };
        let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
        set.insert(name.into());
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.suffixes.len() + self.exact.len() + self.subdomains.len()
    }

    /// Whether the set has no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entry that matches `name`, if any (the most specific one).
    pub fn matching_entry(&self, name: &str) -> Option<&str> {
        let mut buf = [0u8; MAX_NAME + 1];
        let name = normalise(name, &mut buf)?;
        if let Some(hit) = self.exact.get(name) {
            return Some(hit);
        }
        let mut suffix = name;
        loop {
            if let Some(hit) = self.suffixes.get(suffix) {
                return Some(hit);
            }
            if suffix.len() < name.len() {
                if let Some(hit) = self.subdomains.get(suffix) {
                    return Some(hit);
                }
            }
            match suffix.find('.') {
                Some(dot) => suffix = &suffix[dot + 1..],
                None => return None,
            }
        }
    }

    /// Whether `name` matches an entry.
    pub fn contains(&self, name: &str) -> bool {
        self.matching_entry(name).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(entries: &[&str]) -> DomainSet {
        let mut s = DomainSet::default();
        for e in entries {
            s.insert(e);
        }
        s
    }

    #[test]
    fn matches_on_label_boundaries_only() {
        let s = set(&["github.com"]);
        assert!(s.contains("github.com"));
        assert!(s.contains("api.github.com"));
        assert!(s.contains("API.GitHub.COM."));
        assert!(!s.contains("evilgithub.com"));
        assert!(!s.contains("github.com.evil.io"));
        assert!(!s.contains("github.com.evil-cdn.io"));
        assert!(!s.contains("com"));
    }

    #[test]
    fn exact_entries_do_not_cover_subdomains() {
        let s = set(&["=registry.npmjs.org"]);
        assert!(s.contains("registry.npmjs.org"));
        assert!(!s.contains("evil.registry.npmjs.org"));
        assert_eq!(
            s.matching_entry("REGISTRY.npmjs.org."),
            Some("registry.npmjs.org")
        );
    }

    #[test]
    fn wildcard_entries_cover_subdomains_but_not_the_name() {
        let s = set(&["*.cdn.example-ci.net"]);
        assert!(s.contains("a.cdn.example-ci.net"));
        assert!(s.contains("b.a.CDN.example-ci.net."));
        assert!(!s.contains("cdn.example-ci.net"));
        assert!(!s.contains("xcdn.example-ci.net"));
        assert_eq!(
            s.matching_entry("a.cdn.example-ci.net"),
            Some("cdn.example-ci.net")
        );
        // Beside a plain entry for the same name, the name itself matches again.
        let both = set(&["*.example.org", "=example.org"]);
        assert!(both.contains("example.org") && both.contains("www.example.org"));
    }

    #[test]
    fn empty_and_oversize_names_never_match() {
        let s = set(&["a"]);
        assert!(!s.contains(""));
        assert!(!s.contains("."));
        assert!(!s.contains(&"a.".repeat(200)));
    }
}
