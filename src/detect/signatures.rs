//! Signature lists: IOC domains and addresses, and the registry allowlists. The defaults in
//! `signatures/` are compiled into the binary; files given by the user extend (or, with
//! `replace_defaults`, replace) them. Each list is a text file with one entry per line and `#`
//! comments; its kind comes from its file name (`ioc-domains`, `ioc-ips`, `allow-domains`,
//! `allow-ips`, `doh-endpoints`, with an optional `.txt` or `.list` extension and any `name.`
//! prefix such as `corp.ioc-domains.txt`). A bad line is refused with file, line and reason.

use super::cidr::IpSet;
use super::names::DomainSet;
use ipnet::IpNet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// The kinds of list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ListKind {
    IocDomains,
    IocIps,
    AllowDomains,
    AllowIps,
    /// Public DNS-over-HTTPS server names (`dns-bypass`).
    DohEndpoints,
}

impl ListKind {
    const ALL: [(ListKind, &'static str); 5] = [
        (ListKind::IocDomains, "ioc-domains"),
        (ListKind::IocIps, "ioc-ips"),
        (ListKind::AllowDomains, "allow-domains"),
        (ListKind::AllowIps, "allow-ips"),
        (ListKind::DohEndpoints, "doh-endpoints"),
    ];

    /// The kind a file holds, from its name.
    pub(crate) fn from_path(path: &Path) -> Option<ListKind> {
        let name = path.file_name()?.to_str()?;
        let stem = name
            .strip_suffix(".txt")
            .or_else(|| name.strip_suffix(".list"))
            .unwrap_or(name);
        let kind = stem.rsplit('.').next()?;
        Self::ALL.iter().find(|(_, n)| *n == kind).map(|(k, _)| *k)
    }
}

/// A refused signature file or line.
#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: unknown list; name signature files ioc-domains.txt, ioc-ips.txt, allow-domains.txt, allow-ips.txt or doh-endpoints.txt (a prefix such as corp.ioc-domains.txt is fine)")]
    UnknownList { path: PathBuf },
    #[error("{path}:{line}: {reason}: {text:?}")]
    BadLine {
        path: PathBuf,
        line: usize,
        reason: String,
        text: String,
    },
    /// The Suricata rules could not be loaded (`--rules`).
    #[error("rules: {0}")]
    Rules(#[from] super::rules::RulesError),
}

impl SignatureError {
    /// The text of the list, policy or inventory file at `path`, or why it cannot be read.
    pub(crate) fn read(path: &Path) -> Result<String, SignatureError> {
        std::fs::read_to_string(path).map_err(|source| SignatureError::Read {
            path: path.to_owned(),
            source,
        })
    }
}

/// Every list the detections use.
#[derive(Debug, Default)]
pub struct Signatures {
    pub ioc_domains: DomainSet,
    pub(crate) allow_domains: DomainSet,
    pub(crate) ioc_ips: IpSet,
    pub(crate) allow_ips: IpSet,
    /// Public DNS-over-HTTPS server names.
    pub(crate) doh_endpoints: DomainSet,
}

const BUILTIN: [(&str, &str); 5] = [
    (
        "signatures/ioc-domains.txt",
        include_str!("../../signatures/ioc-domains.txt"),
    ),
    (
        "signatures/allow-domains.txt",
        include_str!("../../signatures/allow-domains.txt"),
    ),
    (
        "signatures/ioc-ips.txt",
        include_str!("../../signatures/ioc-ips.txt"),
    ),
    (
        "signatures/allow-ips.txt",
        include_str!("../../signatures/allow-ips.txt"),
    ),
    (
        "signatures/doh-endpoints.txt",
        include_str!("../../signatures/doh-endpoints.txt"),
    ),
];

/// Lists being collected before the IP sets are built.
#[derive(Default)]
struct Builder {
    ioc_domains: DomainSet,
    allow_domains: DomainSet,
    ioc_ips: Vec<IpNet>,
    allow_ips: Vec<IpNet>,
    doh_endpoints: DomainSet,
}

impl Builder {
    fn add_text(&mut self, path: &Path, kind: ListKind, text: &str) -> Result<(), SignatureError> {
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let bad = |reason: String| SignatureError::BadLine {
                path: path.to_owned(),
                line: i + 1,
                reason,
                text: raw.to_owned(),
            };
            match kind {
                ListKind::IocDomains | ListKind::AllowDomains | ListKind::DohEndpoints => {
                    validate_domain_entry(line).map_err(bad)?;
                    let set = match kind {
                        ListKind::IocDomains => &mut self.ioc_domains,
                        ListKind::AllowDomains => &mut self.allow_domains,
                        _ => &mut self.doh_endpoints,
                    };
                    set.insert(line);
                }
                ListKind::IocIps | ListKind::AllowIps => {
                    let net = parse_net(line).map_err(bad)?;
                    if kind == ListKind::IocIps {
                        self.ioc_ips.push(net);
                    } else {
                        self.allow_ips.push(net);
                    }
                }
            }
        }
        Ok(())
    }

    fn add_file(&mut self, path: &Path) -> Result<(), SignatureError> {
        let kind = ListKind::from_path(path).ok_or_else(|| SignatureError::UnknownList {
            path: path.to_owned(),
        })?;
        let text = SignatureError::read(path)?;
        self.add_text(path, kind, &text)
    }

    fn add_path(&mut self, path: &Path) -> Result<(), SignatureError> {
        if !path.is_dir() {
            return self.add_file(path);
        }
        let entries = std::fs::read_dir(path).map_err(|source| SignatureError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && ListKind::from_path(p).is_some())
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(SignatureError::UnknownList {
                path: path.to_owned(),
            });
        }
        files.iter().try_for_each(|f| self.add_file(f))
    }

    fn build(self) -> Signatures {
        Signatures {
            ioc_domains: self.ioc_domains,
            allow_domains: self.allow_domains,
            ioc_ips: IpSet::from_nets(self.ioc_ips),
            allow_ips: IpSet::from_nets(self.allow_ips),
            doh_endpoints: self.doh_endpoints,
        }
    }
}

/// Checks a domain entry: optional `=` or `*.` prefix, then a host name of letters, digits,
/// `-` and `_`, labels of 1-63 characters, 253 at most.
fn validate_domain_entry(entry: &str) -> Result<(), String> {
    let name = entry
        .strip_prefix('=')
        .or_else(|| entry.strip_prefix("*."))
        .unwrap_or(entry);
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() {
        return Err("empty domain name".into());
    }
    if name.len() > 253 {
        return Err("domain name longer than 253 characters".into());
    }
    if name.parse::<IpAddr>().is_ok() {
        return Err(
            "an IP address belongs in ioc-ips.txt or allow-ips.txt, not in a domain list".into(),
        );
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err("each label must have 1 to 63 characters".into());
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(format!(
                "character {c:?} is not allowed in a domain name (use the punycode form for IDNs)"
            ));
        }
    }
    Ok(())
}

fn parse_net(entry: &str) -> Result<IpNet, String> {
    if let Ok(net) = entry.parse::<IpNet>() {
        return Ok(net);
    }
    entry
        .parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| "not an IP address or CIDR prefix (e.g. 198.51.100.7 or 2001:db8::/32)".into())
}

impl Signatures {
    /// The compiled-in defaults.
    pub fn builtin() -> Self {
        Self::load(&[], false).expect("built-in signature lists are valid (checked by a unit test)")
    }

    /// The defaults (unless `replace_defaults`) plus every file or directory in `paths`.
    pub(crate) fn load(paths: &[PathBuf], replace_defaults: bool) -> Result<Self, SignatureError> {
        let mut b = Builder::default();
        if !replace_defaults {
            for (name, text) in BUILTIN {
                let path = Path::new(name);
                let kind =
                    ListKind::from_path(path).ok_or_else(|| SignatureError::UnknownList {
                        path: path.to_owned(),
                    })?;
                b.add_text(path, kind, text)?;
            }
        }
        for p in paths {
            b.add_path(p)?;
        }
        Ok(b.build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_lists_load() {
        let s = Signatures::builtin();
        assert_eq!(s.ioc_domains.len(), 4);
        assert_eq!(s.allow_domains.len(), 5);
        assert!(s.allow_ips.contains("168.63.129.16".parse().unwrap()));
        assert!(s.ioc_domains.contains("cdn.pkg-validate.net"));
        assert!(s.doh_endpoints.contains("dns.google"));
        assert!(s.doh_endpoints.contains("mozilla.cloudflare-dns.com"));
        assert!(!s.doh_endpoints.contains("google.com"));
    }

    #[test]
    fn doh_endpoint_lists_extend_and_are_checked() {
        assert_eq!(
            ListKind::from_path(Path::new("corp.doh-endpoints.txt")),
            Some(ListKind::DohEndpoints)
        );
        let mut b = Builder::default();
        b.add_text(
            Path::new("doh-endpoints.txt"),
            ListKind::DohEndpoints,
            "doh.corp.example\n",
        )
        .unwrap();
        assert!(b.build().doh_endpoints.contains("doh.corp.example"));
        let err = Builder::default()
            .add_text(
                Path::new("d/doh-endpoints.txt"),
                ListKind::DohEndpoints,
                "# x\nhttps://dns.example/dns-query\n",
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("d/doh-endpoints.txt:2: character ':'"),
            "{err}"
        );
    }

    #[test]
    fn kinds_come_from_file_names() {
        assert_eq!(
            ListKind::from_path(Path::new("x/ioc-domains.txt")),
            Some(ListKind::IocDomains)
        );
        assert_eq!(
            ListKind::from_path(Path::new("corp.allow-ips.list")),
            Some(ListKind::AllowIps)
        );
        assert_eq!(
            ListKind::from_path(Path::new("ioc-ips")),
            Some(ListKind::IocIps)
        );
        assert_eq!(ListKind::from_path(Path::new("iocs.txt")), None);
    }

    #[test]
    fn bad_lines_name_file_line_and_reason() {
        let mut b = Builder::default();
        let err = b
            .add_text(
                Path::new("f/ioc-domains.txt"),
                ListKind::IocDomains,
                "# ok\ngood.example\nbad domain.example\n",
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("f/ioc-domains.txt:3: character ' '"),
            "{err}"
        );
        let err = b
            .add_text(Path::new("ioc-ips.txt"), ListKind::IocIps, "10.0.0.0/33")
            .unwrap_err()
            .to_string();
        assert!(err.contains("ioc-ips.txt:1: not an IP address"), "{err}");
        assert!(validate_domain_entry("=exact.example").is_ok());
        assert!(validate_domain_entry("*.wild.example").is_ok());
        assert!(validate_domain_entry("a..b").is_err());
        assert!(validate_domain_entry("198.51.100.1").is_err());
    }
}
