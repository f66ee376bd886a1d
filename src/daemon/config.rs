//! The daemon's configuration file: TOML read into a [`DaemonConfig`], every key with a documented
//! default, every mistake refused with the file, line and column, the key, and what to write
//! instead.
//!
//! The defaults are written once, in [`DaemonConfig::default`], and documented once, in
//! `contrib/egress-ids.toml` ([`default_toml`]); a test holds the two equal.
//!
//! The file is read in two steps: serde reads it into private `Raw*` types that keep each value's
//! position in the file ([`toml::Spanned`]) and refuse unknown keys, then [`DaemonConfig::from_toml`]
//! checks the values (CIDRs, sizes, durations, ranges, paths, URLs, BPF) and builds the public,
//! typed configuration.

use crate::capture::live::{LiveConfig, DEFAULT_BUFFER_SIZE, DEFAULT_SNAPLEN};
use crate::detect::signatures::{SignatureError, Signatures};
use crate::detect::Detector;
use crate::engine::DEFAULT_DNS_GRACE_SECS;
use crate::eve::EveTypes;
use crate::flow::table::{DEFAULT_MEMCAP, MIN_MEMCAP};
use crate::flow::Timeouts;
use crate::options::AnalysisOptions;
use crate::output::targets::{OutputSpec, WebhookSpec};
use crate::pipeline::DEFAULT_STATS_INTERVAL;
use crate::sensor::SensorOptions;
pub use crate::sensor::DEFAULT_WARMUP_SECS;
use crate::units::{parse_duration, parse_size};
use ipnet::IpNet;
use serde::de::{Deserializer, Visitor};
use serde::Deserialize;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// Where the systemd unit tells the daemon to read its configuration.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/egress-ids/egress-ids.toml";
/// The default EVE file.
pub const DEFAULT_EVE_PATH: &str = "/var/log/egress-ids/eve.json";
/// The smallest snapshot length accepted.
pub const MIN_SNAPLEN: u32 = 64;
/// The largest snapshot length libpcap accepts.
pub const MAX_SNAPLEN: u32 = 262_144;
/// The smallest kernel ring buffer accepted.
pub const MIN_BUFFER_SIZE: usize = 64 << 10;
/// The largest kernel ring buffer libpcap accepts (its size is a C `int`).
pub const MAX_BUFFER_SIZE: usize = i32::MAX as usize;
/// The most worker threads, as for `replay --threads`.
pub const MAX_THREADS: usize = 256;
/// Linux interface names are at most this long (IFNAMSIZ - 1).
const MAX_IFNAME: usize = 15;

/// The daemon's whole configuration, typed and checked.
#[derive(Clone, Debug, PartialEq)]
pub struct DaemonConfig {
    /// `[capture]`: what to capture.
    pub capture: CaptureSection,
    /// `[detect]`: what counts as egress, which signatures, and when `direct-ip` fires.
    pub detect: DetectSection,
    /// `[engine]`: threads, memory and flow timeouts.
    pub engine: EngineSection,
    /// `[[output]]`: where EVE lines go; never empty.
    pub outputs: Vec<OutputSpec>,
    /// `[privileges]`: who the daemon becomes once its capture is open.
    pub privileges: PrivilegesSection,
}

/// `[capture]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureSection {
    /// Interfaces to capture on; default `["any"]`. Never empty; `"any"` stands alone.
    pub interfaces: Vec<String>,
    /// A BPF filter (tcpdump syntax); default none.
    pub bpf: Option<String>,
    /// Promiscuous mode; default false. Never with `"any"`.
    pub promisc: bool,
    /// Bytes kept of each packet; default [`DEFAULT_SNAPLEN`], [`MIN_SNAPLEN`] to [`MAX_SNAPLEN`].
    pub snaplen: u32,
    /// Kernel ring buffer per interface in bytes; default [`DEFAULT_BUFFER_SIZE`],
    /// [`MIN_BUFFER_SIZE`] to [`MAX_BUFFER_SIZE`].
    pub buffer_size: usize,
}

/// `[detect]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DetectSection {
    /// HOME_NET; default [`Detector::default_home_net`]. Never empty.
    pub home_net: Vec<IpNet>,
    /// Signature list files or directories, absolute; default none.
    pub signatures: Vec<PathBuf>,
    /// Use only `signatures`, not the built-in lists; default false.
    pub no_default_signatures: bool,
    /// Seconds a DNS answer counts past its TTL; default [`DEFAULT_DNS_GRACE_SECS`].
    pub dns_grace: u64,
    /// Seconds after start without `direct-ip`; default [`DEFAULT_WARMUP_SECS`].
    pub warmup: u64,
}

/// `[engine]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineSection {
    /// Worker threads, 0 for one per core (see [`EngineSection::worker_threads`]); default 0, at
    /// most [`MAX_THREADS`].
    pub threads: usize,
    /// Flow memory cap in bytes; default [`DEFAULT_MEMCAP`], at least [`MIN_MEMCAP`].
    pub flow_memcap: usize,
    /// Seconds a TCP flow may wait for its handshake; default `Timeouts::default().tcp_new`.
    pub tcp_new_timeout: u64,
    /// Seconds an established TCP flow may stay idle; default `Timeouts::default().tcp_established`.
    pub tcp_established_timeout: u64,
    /// Seconds a TCP flow is kept after FIN or RST; default `Timeouts::default().tcp_closed`.
    pub tcp_closed_timeout: u64,
    /// Seconds a UDP flow may stay idle; default `Timeouts::default().udp`.
    pub udp_timeout: u64,
    /// Seconds between EVE `stats` events, 0 for only the final one; default
    /// [`DEFAULT_STATS_INTERVAL`].
    pub stats_interval: u64,
    /// EVE event types written; default all.
    pub eve_types: EveTypes,
}

/// `[privileges]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrivilegesSection {
    /// The user to become after the capture is open; default none: stay the starting user (but
    /// still clear every capability).
    pub user: Option<String>,
    /// The group to become; default none: the user's primary group. Only with `user`.
    pub group: Option<String>,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        DaemonConfig {
            capture: CaptureSection::default(),
            detect: DetectSection::default(),
            engine: EngineSection::default(),
            outputs: vec![OutputSpec::File {
                path: PathBuf::from(DEFAULT_EVE_PATH),
            }],
            privileges: PrivilegesSection::default(),
        }
    }
}

impl Default for CaptureSection {
    fn default() -> Self {
        CaptureSection {
            interfaces: vec!["any".to_string()],
            bpf: None,
            promisc: false,
            snaplen: DEFAULT_SNAPLEN,
            buffer_size: DEFAULT_BUFFER_SIZE,
        }
    }
}

impl Default for DetectSection {
    fn default() -> Self {
        DetectSection {
            home_net: Detector::default_home_net(),
            signatures: Vec::new(),
            no_default_signatures: false,
            dns_grace: DEFAULT_DNS_GRACE_SECS,
            warmup: DEFAULT_WARMUP_SECS,
        }
    }
}

impl Default for EngineSection {
    fn default() -> Self {
        let t = Timeouts::default();
        EngineSection {
            threads: 0,
            flow_memcap: DEFAULT_MEMCAP,
            tcp_new_timeout: t.tcp_new,
            tcp_established_timeout: t.tcp_established,
            tcp_closed_timeout: t.tcp_closed,
            udp_timeout: t.udp,
            stats_interval: DEFAULT_STATS_INTERVAL,
            eve_types: EveTypes::ALL,
        }
    }
}

impl EngineSection {
    /// The flow timeouts.
    pub fn timeouts(&self) -> Timeouts {
        Timeouts {
            tcp_new: self.tcp_new_timeout,
            tcp_established: self.tcp_established_timeout,
            tcp_closed: self.tcp_closed_timeout,
            udp: self.udp_timeout,
        }
    }

    /// The worker thread count: `threads`, or one per core when it is 0.
    pub fn worker_threads(&self) -> usize {
        if self.threads == 0 {
            crate::options::default_threads()
        } else {
            self.threads
        }
    }
}

/// The default configuration as a commented TOML document: every key with its default value and
/// what it does (`egress-ids config --print-default`).
pub fn default_toml() -> &'static str {
    include_str!("../../contrib/egress-ids.toml")
}

/// A position in the configuration file, both 1-based; the column counts characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: cannot read the configuration: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A syntax error, an unknown key, a value of the wrong type or out of range.
    #[error("{}{}: {message}", path.display(), location.map(|l| format!(":{}:{}", l.line, l.column)).unwrap_or_default())]
    Invalid {
        path: PathBuf,
        /// Where in the file, when known.
        location: Option<Location>,
        /// The key, as a dotted path (`capture.interfaces`, `output[1].url`), when known.
        key: Option<String>,
        /// What is wrong and what to write instead; names the key.
        message: String,
    },
    /// A signature file named in `detect.signatures` is refused.
    #[error("{}: detect.signatures: {source}", path.display())]
    Signatures {
        path: PathBuf,
        source: SignatureError,
    },
}

impl DaemonConfig {
    /// Reads and checks the configuration file at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<DaemonConfig, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(&text, path)
    }

    /// Checks the configuration `text`; `path` is the file it came from, named in errors.
    pub fn from_toml(text: &str, path: &Path) -> Result<DaemonConfig, ConfigError> {
        let doc = Doc { text, path };
        let raw: RawConfig = toml::from_str(text).map_err(|e| doc.toml_error(&e))?;
        raw.check(&doc)
    }

    /// Loads the signature lists the configuration names, with the built-in ones unless
    /// `no_default_signatures`.
    pub fn load_signatures(&self) -> Result<Signatures, SignatureError> {
        Signatures::load(&self.detect.signatures, self.detect.no_default_signatures)
    }

    /// What the sensor runs with: the interfaces, the analysis options and the warm-up.
    pub fn sensor_options(&self) -> SensorOptions {
        let c = &self.capture;
        SensorOptions {
            captures: c
                .interfaces
                .iter()
                .map(|i| LiveConfig {
                    interface: i.clone(),
                    bpf: c.bpf.clone(),
                    promisc: c.promisc,
                    snaplen: c.snaplen,
                    buffer_size: c.buffer_size,
                })
                .collect(),
            analysis: AnalysisOptions {
                signature_paths: self.detect.signatures.clone(),
                replace_default_signatures: self.detect.no_default_signatures,
                home_net: Some(self.detect.home_net.clone()),
                dns_grace_secs: self.detect.dns_grace,
                threads: self.engine.worker_threads(),
                timeouts: self.engine.timeouts(),
                flow_memcap: self.engine.flow_memcap,
                stats_interval: self.engine.stats_interval,
                eve_types: self.engine.eve_types,
            },
            warmup_secs: self.detect.warmup,
        }
    }

    /// What `egress-ids config --check` does: loads the file and the signature files it names.
    /// Returns the configuration and warnings about this machine (a `[privileges]` user or group
    /// that does not exist here), which do not make the file invalid.
    pub fn check_file(path: impl AsRef<Path>) -> Result<(DaemonConfig, Vec<String>), ConfigError> {
        let path = path.as_ref();
        let config = Self::load(path)?;
        config
            .load_signatures()
            .map_err(|source| ConfigError::Signatures {
                path: path.to_path_buf(),
                source,
            })?;
        let mut warnings = Vec::new();
        if let Some(user) = &config.privileges.user {
            if let Err(e) =
                crate::privileges::RunAs::resolve(user, config.privileges.group.as_deref())
            {
                warnings.push(e.to_string());
            }
        }
        Ok((config, warnings))
    }
}

// ---------------------------------------------------------------------------------------------
// Reading: the raw document, with positions.

/// The file being read, for messages.
struct Doc<'a> {
    text: &'a str,
    path: &'a Path,
}

impl Doc<'_> {
    /// The 1-based line and column of byte `offset`.
    fn locate(&self, offset: usize) -> Location {
        let offset = offset.min(self.text.len());
        let before = self.text.get(..offset).unwrap_or(self.text);
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Location {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }

    /// An error about `key` at `span`.
    fn error(&self, span: Range<usize>, key: &str, message: impl fmt::Display) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.to_path_buf(),
            location: Some(self.locate(span.start)),
            key: Some(key.to_string()),
            message: format!("{key}: {message}"),
        }
    }

    /// A serde/TOML error, with the key it is about when the position names one.
    fn toml_error(&self, e: &toml::de::Error) -> ConfigError {
        let span = e.span();
        let key = span.as_ref().and_then(|s| key_at(self.text, s.start));
        let raw = plain_words(e.message().trim_end());
        let message = match (&key, raw.strip_prefix("unknown field ")) {
            (Some(key), Some(rest)) => {
                let (name, keys) = rest.split_once(", expected ").unwrap_or((rest, ""));
                let keys = keys
                    .strip_prefix("one of ")
                    .unwrap_or(keys)
                    .replace(" or ", ", ");
                let place = match key.rsplit_once('.') {
                    Some((table, _)) if table.ends_with(']') => format!("in {table}"),
                    Some((table, _)) => format!("in [{table}]"),
                    None => "at the top level".into(),
                };
                format!("unknown key {name} {place}; the keys there are {keys}")
            }
            (Some(key), None) => format!("{key}: {raw}"),
            (None, None) if raw == "duplicate key" => {
                let name = span.and_then(|s| self.text.get(s)).unwrap_or_default();
                format!("duplicate key `{}`; give each key once", name.trim())
            }
            (None, _) => raw,
        };
        ConfigError::Invalid {
            path: self.path.to_path_buf(),
            location: e.span().map(|s| self.locate(s.start)),
            key,
            message,
        }
    }
}

/// serde's words for types, in TOML's.
fn plain_words(message: &str) -> String {
    let mut m = message.replace("missing field", "missing key");
    for (rust, toml) in [
        ("i64", "an integer"),
        ("a sequence", "an array"),
        ("a map", "a table"),
        ("a boolean", "true or false"),
    ] {
        m = m.replace(&format!("expected {rust}"), &format!("expected {toml}"));
    }
    // `expected struct RawCapture` and the like.
    if let Some(at) = m.find("expected struct ") {
        m.truncate(at);
        m.push_str("expected a table");
    }
    m
}

/// The dotted key path (`capture.interfaces`, `output[1].url`) whose key or value holds byte
/// `offset`, the deepest one.
fn key_at(text: &str, offset: usize) -> Option<String> {
    fn walk(value: &toml::de::DeValue<'_>, offset: usize, path: &mut String) -> bool {
        if let Some(table) = value.as_table() {
            for (k, v) in table.iter() {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k.get_ref());
                if walk(v.get_ref(), offset, path)
                    || k.span().contains(&offset)
                    || v.span().contains(&offset)
                {
                    return true;
                }
                path.truncate(len);
            }
        } else if let Some(array) = value.as_array() {
            for (i, v) in array.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                if walk(v.get_ref(), offset, path) || v.span().contains(&offset) {
                    return true;
                }
                path.truncate(len);
            }
        }
        false
    }
    let (doc, _) = toml::de::DeTable::parse_recoverable(text);
    let mut path = String::new();
    let root = toml::de::DeValue::Table(doc.into_inner());
    walk(&root, offset, &mut path).then_some(path)
}

/// A TOML integer or string: sizes and durations take either.
#[derive(Clone, Debug)]
enum Scalar {
    Int(i64),
    Text(String),
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer or a string")
            }
            fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar::Int(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Scalar, E> {
                i64::try_from(v)
                    .map(Scalar::Int)
                    .map_err(|_| E::custom("integer too large"))
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::Text(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct RawConfig {
    capture: RawCapture,
    detect: RawDetect,
    engine: RawEngine,
    output: Option<Spanned<Vec<Spanned<RawOutput>>>>,
    privileges: RawPrivileges,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct RawCapture {
    interfaces: Option<Spanned<Vec<Spanned<String>>>>,
    bpf: Option<Spanned<String>>,
    promisc: Option<Spanned<bool>>,
    snaplen: Option<Spanned<i64>>,
    buffer_size: Option<Spanned<Scalar>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct RawDetect {
    home_net: Option<Spanned<Vec<Spanned<String>>>>,
    signatures: Option<Vec<Spanned<String>>>,
    no_default_signatures: Option<bool>,
    dns_grace: Option<Spanned<Scalar>>,
    warmup: Option<Spanned<Scalar>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct RawEngine {
    threads: Option<Spanned<i64>>,
    flow_memcap: Option<Spanned<Scalar>>,
    tcp_new_timeout: Option<Spanned<Scalar>>,
    tcp_established_timeout: Option<Spanned<Scalar>>,
    tcp_closed_timeout: Option<Spanned<Scalar>>,
    udp_timeout: Option<Spanned<Scalar>>,
    stats_interval: Option<Spanned<Scalar>>,
    eve_types: Option<Spanned<String>>,
}

/// One `[[output]]`: every key any type takes; [`RawOutput::check`] refuses those its type does
/// not.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutput {
    #[serde(rename = "type")]
    kind: Spanned<String>,
    path: Option<Spanned<String>>,
    url: Option<Spanned<String>>,
    queue: Option<Spanned<i64>>,
    timeout: Option<Spanned<Scalar>>,
    max_attempts: Option<Spanned<i64>>,
    backoff: Option<Spanned<Scalar>>,
    max_backoff: Option<Spanned<Scalar>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct RawPrivileges {
    user: Option<Spanned<String>>,
    group: Option<Spanned<String>>,
}

// ---------------------------------------------------------------------------------------------
// Checking: raw values to typed ones.

/// Whether a duration may be zero.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Zero {
    Allowed,
    Refused,
}

/// A size: bytes, or a string with a unit.
fn size(doc: &Doc<'_>, key: &str, v: &Spanned<Scalar>) -> Result<usize, ConfigError> {
    match v.get_ref() {
        Scalar::Int(n) => usize::try_from(*n).map_err(|_| {
            doc.error(
                v.span(),
                key,
                format!("{n} is not a size; write e.g. \"64MiB\""),
            )
        }),
        Scalar::Text(t) => parse_size(t).map_err(|e| doc.error(v.span(), key, e)),
    }
}

/// A size of at least `min` and at most `max`, each with how it is written in messages.
fn size_in(
    doc: &Doc<'_>,
    key: &str,
    v: &Spanned<Scalar>,
    min: (usize, &str),
    max: Option<(usize, &str)>,
) -> Result<usize, ConfigError> {
    let n = size(doc, key, v)?;
    let shown = match v.get_ref() {
        Scalar::Int(n) => n.to_string(),
        Scalar::Text(t) => format!("{t:?}"),
    };
    if n < min.0 {
        return Err(doc.error(
            v.span(),
            key,
            format!("{shown} is below the minimum, {}", min.1),
        ));
    }
    match max {
        Some((max, text)) if n > max => Err(doc.error(
            v.span(),
            key,
            format!("{shown} is above the maximum, {text}"),
        )),
        _ => Ok(n),
    }
}

/// A duration: seconds, or a string with a unit.
fn duration(
    doc: &Doc<'_>,
    key: &str,
    v: &Spanned<Scalar>,
    zero: Zero,
) -> Result<Duration, ConfigError> {
    let d = match v.get_ref() {
        Scalar::Int(n) => u64::try_from(*n).map(Duration::from_secs).map_err(|_| {
            doc.error(
                v.span(),
                key,
                format!("{n} is negative; write a number of seconds or e.g. \"5s\""),
            )
        })?,
        Scalar::Text(t) => parse_duration(t).map_err(|e| doc.error(v.span(), key, e))?,
    };
    if zero == Zero::Refused && d.is_zero() {
        return Err(doc.error(v.span(), key, "must be more than 0"));
    }
    Ok(d)
}

/// A duration in whole seconds.
fn seconds(doc: &Doc<'_>, key: &str, v: &Spanned<Scalar>, zero: Zero) -> Result<u64, ConfigError> {
    let d = duration(doc, key, v, zero)?;
    if d.subsec_nanos() != 0 {
        return Err(doc.error(
            v.span(),
            key,
            format!("{d:?} is not a whole number of seconds; this key counts seconds"),
        ));
    }
    Ok(d.as_secs())
}

/// An integer between `min` and `max`.
fn int_in<T: TryFrom<i64>>(
    doc: &Doc<'_>,
    key: &str,
    v: &Spanned<i64>,
    min: i64,
    max: i64,
    hint: &str,
) -> Result<T, ConfigError> {
    let n = *v.get_ref();
    if n < min || n > max {
        return Err(doc.error(
            v.span(),
            key,
            format!("{n} is out of range; use {min} to {max}{hint}"),
        ));
    }
    T::try_from(n).map_err(|_| doc.error(v.span(), key, format!("{n} is out of range")))
}

/// An absolute path.
fn absolute(doc: &Doc<'_>, key: &str, v: &Spanned<String>) -> Result<PathBuf, ConfigError> {
    let p = PathBuf::from(v.get_ref());
    if v.get_ref().is_empty() {
        return Err(doc.error(v.span(), key, "the path is empty"));
    }
    if !p.is_absolute() {
        return Err(doc.error(
            v.span(),
            key,
            format!(
                "{:?} is relative; write an absolute path (under systemd the daemon runs from /)",
                v.get_ref()
            ),
        ));
    }
    Ok(p)
}

impl RawConfig {
    fn check(self, doc: &Doc<'_>) -> Result<DaemonConfig, ConfigError> {
        let outputs = match &self.output {
            None => DaemonConfig::default().outputs,
            Some(list) => check_outputs(doc, list)?,
        };
        Ok(DaemonConfig {
            capture: self.capture.check(doc)?,
            detect: self.detect.check(doc)?,
            engine: self.engine.check(doc)?,
            outputs,
            privileges: self.privileges.check(doc)?,
        })
    }
}

impl RawCapture {
    fn check(self, doc: &Doc<'_>) -> Result<CaptureSection, ConfigError> {
        let mut c = CaptureSection::default();
        if let Some(list) = &self.interfaces {
            if list.get_ref().is_empty() {
                return Err(doc.error(
                    list.span(),
                    "capture.interfaces",
                    "the list is empty; name the interfaces to capture on, or [\"any\"] for all of them",
                ));
            }
            let mut names: Vec<String> = Vec::new();
            for name in list.get_ref() {
                let key = "capture.interfaces";
                let n = name.get_ref();
                if n.is_empty()
                    || n.len() > MAX_IFNAME
                    || n.contains(|c: char| c == '/' || c.is_whitespace())
                {
                    return Err(doc.error(
                        name.span(),
                        key,
                        format!("{n:?} is not an interface name (1 to {MAX_IFNAME} characters, no '/' or spaces; `ip link` lists them)"),
                    ));
                }
                if names.contains(n) {
                    return Err(doc.error(name.span(), key, format!("{n:?} is listed twice")));
                }
                names.push(n.clone());
            }
            if names.len() > 1 && names.iter().any(|n| n == "any") {
                return Err(doc.error(
                    list.span(),
                    "capture.interfaces",
                    "\"any\" already captures on every interface, so the others would be seen twice; list either [\"any\"] or the interfaces",
                ));
            }
            c.interfaces = names;
        }
        if let Some(bpf) = &self.bpf {
            check_bpf(bpf.get_ref()).map_err(|e| doc.error(bpf.span(), "capture.bpf", e))?;
            c.bpf = Some(bpf.get_ref().clone());
        }
        if let Some(promisc) = &self.promisc {
            if *promisc.get_ref() && c.interfaces.iter().any(|n| n == "any") {
                return Err(doc.error(
                    promisc.span(),
                    "capture.promisc",
                    "the \"any\" interface cannot be promiscuous; name the interfaces in capture.interfaces, or set promisc = false",
                ));
            }
            c.promisc = *promisc.get_ref();
        }
        if let Some(v) = &self.snaplen {
            c.snaplen = int_in(
                doc,
                "capture.snaplen",
                v,
                MIN_SNAPLEN.into(),
                MAX_SNAPLEN.into(),
                " (65535 keeps whole packets)",
            )?;
        }
        if let Some(v) = &self.buffer_size {
            c.buffer_size = size_in(
                doc,
                "capture.buffer_size",
                v,
                (MIN_BUFFER_SIZE, "64KiB"),
                Some((MAX_BUFFER_SIZE, "2047MiB")),
            )?;
        }
        Ok(c)
    }
}

/// Compiles `filter` for Ethernet to check its syntax (the daemon compiles it again for each
/// interface's link type).
fn check_bpf(filter: &str) -> Result<(), String> {
    let dead = pcap::Capture::dead(pcap::Linktype::ETHERNET)
        .map_err(|e| format!("cannot check the filter: {e}"))?;
    dead.compile(filter, true).map(drop).map_err(|e| {
        format!("{filter:?} is not a BPF filter: {e} (test it with: tcpdump -d '{filter}')")
    })
}

impl RawDetect {
    fn check(self, doc: &Doc<'_>) -> Result<DetectSection, ConfigError> {
        let mut d = DetectSection::default();
        if let Some(list) = &self.home_net {
            let key = "detect.home_net";
            if list.get_ref().is_empty() {
                return Err(doc.error(
                    list.span(),
                    key,
                    "the list is empty, so no flow would be egress; name the runners' networks, e.g. [\"10.0.0.0/8\"]",
                ));
            }
            d.home_net = list
                .get_ref()
                .iter()
                .map(|net| {
                    let text = net.get_ref();
                    text.trim().parse::<IpNet>().map_err(|_| {
                        let hint = match text.trim().parse::<std::net::IpAddr>() {
                            Ok(std::net::IpAddr::V4(a)) => format!("; for one address write \"{a}/32\""),
                            Ok(std::net::IpAddr::V6(a)) => format!("; for one address write \"{a}/128\""),
                            Err(_) => String::new(),
                        };
                        doc.error(
                            net.span(),
                            key,
                            format!("{text:?} is not a CIDR prefix such as \"10.0.0.0/8\" or \"fd00::/8\"{hint}"),
                        )
                    })
                })
                .collect::<Result<_, _>>()?;
        }
        if let Some(list) = &self.signatures {
            d.signatures = list
                .iter()
                .map(|p| absolute(doc, "detect.signatures", p))
                .collect::<Result<_, _>>()?;
        }
        if let Some(v) = self.no_default_signatures {
            d.no_default_signatures = v;
        }
        if let Some(v) = &self.dns_grace {
            d.dns_grace = seconds(doc, "detect.dns_grace", v, Zero::Allowed)?;
        }
        if let Some(v) = &self.warmup {
            d.warmup = seconds(doc, "detect.warmup", v, Zero::Allowed)?;
        }
        Ok(d)
    }
}

impl RawEngine {
    fn check(self, doc: &Doc<'_>) -> Result<EngineSection, ConfigError> {
        let mut e = EngineSection::default();
        if let Some(v) = &self.threads {
            e.threads = int_in(
                doc,
                "engine.threads",
                v,
                0,
                MAX_THREADS as i64,
                " (0 is one per core)",
            )?;
        }
        if let Some(v) = &self.flow_memcap {
            e.flow_memcap = size_in(doc, "engine.flow_memcap", v, (MIN_MEMCAP, "1MiB"), None)?;
        }
        for (key, raw, field) in [
            (
                "engine.tcp_new_timeout",
                &self.tcp_new_timeout,
                &mut e.tcp_new_timeout,
            ),
            (
                "engine.tcp_established_timeout",
                &self.tcp_established_timeout,
                &mut e.tcp_established_timeout,
            ),
            (
                "engine.tcp_closed_timeout",
                &self.tcp_closed_timeout,
                &mut e.tcp_closed_timeout,
            ),
            ("engine.udp_timeout", &self.udp_timeout, &mut e.udp_timeout),
        ] {
            if let Some(v) = raw {
                *field = seconds(doc, key, v, Zero::Refused)?;
            }
        }
        if let Some(v) = &self.stats_interval {
            e.stats_interval = seconds(doc, "engine.stats_interval", v, Zero::Allowed)?;
        }
        if let Some(v) = &self.eve_types {
            e.eve_types = EveTypes::parse(v.get_ref())
                .map_err(|m| doc.error(v.span(), "engine.eve_types", m))?;
        }
        Ok(e)
    }
}

/// The output types, as `type` takes them, with the keys each one takes besides `type`.
const OUTPUT_TYPES: [(&str, &[&str]); 4] = [
    ("file", &["path"]),
    ("stdout", &[]),
    ("unix-socket", &["path"]),
    (
        "webhook",
        &[
            "url",
            "queue",
            "timeout",
            "max_attempts",
            "backoff",
            "max_backoff",
        ],
    ),
];

fn check_outputs(
    doc: &Doc<'_>,
    list: &Spanned<Vec<Spanned<RawOutput>>>,
) -> Result<Vec<OutputSpec>, ConfigError> {
    if list.get_ref().is_empty() {
        return Err(doc.error(
            list.span(),
            "output",
            "no output; give at least one [[output]] table, or leave `output` out for the default file",
        ));
    }
    let mut specs: Vec<OutputSpec> = Vec::new();
    for (i, out) in list.get_ref().iter().enumerate() {
        let spec = out
            .get_ref()
            .check(doc, &format!("output[{i}]"), out.span())?;
        let duplicate = specs.iter().any(|s| match (s, &spec) {
            (OutputSpec::Stdout, OutputSpec::Stdout) => true,
            (OutputSpec::File { path: a }, OutputSpec::File { path: b }) => a == b,
            (OutputSpec::UnixSocket { path: a }, OutputSpec::UnixSocket { path: b }) => a == b,
            (OutputSpec::Webhook(a), OutputSpec::Webhook(b)) => a.url == b.url,
            _ => false,
        });
        if duplicate {
            return Err(doc.error(
                out.span(),
                &format!("output[{i}]"),
                "the same output is configured twice; every EVE line would be written to it twice",
            ));
        }
        specs.push(spec);
    }
    Ok(specs)
}

impl RawOutput {
    fn check(
        &self,
        doc: &Doc<'_>,
        at: &str,
        span: Range<usize>,
    ) -> Result<OutputSpec, ConfigError> {
        let kind = self.kind.get_ref().as_str();
        let Some((_, allowed)) = OUTPUT_TYPES.iter().find(|(t, _)| *t == kind) else {
            return Err(doc.error(
                self.kind.span(),
                &format!("{at}.type"),
                format!("unknown output type {kind:?}; use \"file\", \"stdout\", \"unix-socket\" or \"webhook\""),
            ));
        };
        let given: [(&str, Option<Range<usize>>); 7] = [
            ("path", self.path.as_ref().map(Spanned::span)),
            ("url", self.url.as_ref().map(Spanned::span)),
            ("queue", self.queue.as_ref().map(Spanned::span)),
            ("timeout", self.timeout.as_ref().map(Spanned::span)),
            (
                "max_attempts",
                self.max_attempts.as_ref().map(Spanned::span),
            ),
            ("backoff", self.backoff.as_ref().map(Spanned::span)),
            ("max_backoff", self.max_backoff.as_ref().map(Spanned::span)),
        ];
        for (name, span) in given {
            if let Some(span) = span {
                if !allowed.contains(&name) {
                    let takes = if allowed.is_empty() {
                        "no other key".to_string()
                    } else {
                        allowed.join(", ")
                    };
                    return Err(doc.error(
                        span,
                        &format!("{at}.{name}"),
                        format!("a {kind:?} output has no `{name}` (it takes {takes})"),
                    ));
                }
            }
        }
        fn required<'v>(
            v: &'v Option<Spanned<String>>,
            name: &str,
            (doc, at, kind, span): (&Doc<'_>, &str, &str, &Range<usize>),
        ) -> Result<&'v Spanned<String>, ConfigError> {
            v.as_ref().ok_or_else(|| {
                doc.error(
                    span.clone(),
                    &format!("{at}.{name}"),
                    format!("a {kind:?} output needs `{name}`"),
                )
            })
        }
        let ctx = (doc, at, kind, &span);
        Ok(match kind {
            "file" => OutputSpec::File {
                path: absolute(
                    doc,
                    &format!("{at}.path"),
                    required(&self.path, "path", ctx)?,
                )?,
            },
            "unix-socket" => OutputSpec::UnixSocket {
                path: absolute(
                    doc,
                    &format!("{at}.path"),
                    required(&self.path, "path", ctx)?,
                )?,
            },
            "stdout" => OutputSpec::Stdout,
            _ => OutputSpec::Webhook(self.webhook(doc, at, required(&self.url, "url", ctx)?)?),
        })
    }

    fn webhook(
        &self,
        doc: &Doc<'_>,
        at: &str,
        url: &Spanned<String>,
    ) -> Result<WebhookSpec, ConfigError> {
        let key = |name: &str| format!("{at}.{name}");
        check_url(url.get_ref()).map_err(|m| doc.error(url.span(), &key("url"), m))?;
        let mut w = WebhookSpec::new(url.get_ref().clone());
        if let Some(v) = &self.queue {
            w.queue = int_in(doc, &key("queue"), v, 1, 1 << 20, "")?;
        }
        if let Some(v) = &self.max_attempts {
            w.max_attempts = int_in(doc, &key("max_attempts"), v, 1, 1000, "")?;
        }
        if let Some(v) = &self.timeout {
            w.timeout = duration(doc, &key("timeout"), v, Zero::Refused)?;
        }
        if let Some(v) = &self.backoff {
            w.backoff = duration(doc, &key("backoff"), v, Zero::Refused)?;
        }
        if let Some(v) = &self.max_backoff {
            w.max_backoff = duration(doc, &key("max_backoff"), v, Zero::Refused)?;
        }
        if w.max_backoff < w.backoff {
            let span = self
                .max_backoff
                .as_ref()
                .or(self.backoff.as_ref())
                .map_or_else(|| url.span(), Spanned::span);
            return Err(doc.error(
                span,
                &key("max_backoff"),
                format!(
                    "max_backoff ({:?}) is shorter than backoff ({:?})",
                    w.max_backoff, w.backoff
                ),
            ));
        }
        Ok(w)
    }
}

/// An `http://` or `https://` URL with a host.
fn check_url(url: &str) -> Result<(), String> {
    let uri: ureq::http::Uri = url.parse().map_err(|e| {
        format!("{url:?} is not a URL ({e}); write e.g. \"https://alerts.example.com/hook\"")
    })?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => {
            return Err(format!(
                "{url:?}: the URL must start with https:// or http://"
            ))
        }
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(format!("{url:?} has no host"));
    }
    Ok(())
}

impl RawPrivileges {
    fn check(self, doc: &Doc<'_>) -> Result<PrivilegesSection, ConfigError> {
        let name = |v: &Spanned<String>, key: &str| {
            let n = v.get_ref();
            if n.is_empty() || n.contains(|c: char| c == ':' || c == '/' || c.is_whitespace()) {
                Err(doc.error(v.span(), key, format!("{n:?} is not a user or group name")))
            } else {
                Ok(n.clone())
            }
        };
        let user = self
            .user
            .as_ref()
            .map(|u| name(u, "privileges.user"))
            .transpose()?;
        let group = self
            .group
            .as_ref()
            .map(|g| name(g, "privileges.group"))
            .transpose()?;
        if let (None, Some(g)) = (&user, &self.group) {
            return Err(doc.error(
                g.span(),
                "privileges.group",
                "a group needs a user: set privileges.user too",
            ));
        }
        Ok(PrivilegesSection { user, group })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "/etc/egress-ids/egress-ids.toml";

    fn parse(text: &str) -> Result<DaemonConfig, ConfigError> {
        DaemonConfig::from_toml(text, Path::new(FILE))
    }

    /// The error message of `text`, which must be refused.
    fn refused(text: &str) -> String {
        match parse(text) {
            Ok(c) => panic!("accepted {text:?} as {c:?}"),
            Err(e) => e.to_string(),
        }
    }

    /// `text` with every commented-out key (`# key = value`, `# [[output]]`) uncommented.
    fn uncommented(text: &str) -> String {
        text.lines()
            .map(|line| match line.strip_prefix("# ") {
                Some(rest)
                    if rest == "[[output]]"
                        || rest.split_once(" = ").is_some_and(|(k, _)| {
                            k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                        }) =>
                {
                    rest
                }
                _ => line,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn the_documented_defaults_are_the_defaults() {
        assert_eq!(parse(default_toml()).unwrap(), DaemonConfig::default());
        assert_eq!(parse("").unwrap(), DaemonConfig::default());
        let d = DaemonConfig::default();
        assert_eq!(d.capture.interfaces, ["any"]);
        assert_eq!(d.detect.home_net, Detector::default_home_net());
        assert_eq!(d.detect.dns_grace, DEFAULT_DNS_GRACE_SECS);
        assert_eq!(d.detect.warmup, 60);
        assert_eq!(d.engine.flow_memcap, DEFAULT_MEMCAP);
        assert_eq!(d.engine.stats_interval, DEFAULT_STATS_INTERVAL);
        let t = Timeouts::default();
        let e = d.engine.timeouts();
        assert_eq!(
            (e.tcp_new, e.tcp_established, e.tcp_closed, e.udp),
            (t.tcp_new, t.tcp_established, t.tcp_closed, t.udp)
        );
        assert_eq!(
            d.outputs,
            [OutputSpec::File {
                path: DEFAULT_EVE_PATH.into()
            }]
        );
        assert_eq!(d.privileges, PrivilegesSection::default());
    }

    #[test]
    fn the_commented_examples_are_valid_and_the_webhook_ones_are_its_defaults() {
        let c = parse(&uncommented(default_toml())).unwrap();
        assert_eq!(
            c.capture.bpf.as_deref(),
            Some("not (host 10.0.0.2 and port 9000)")
        );
        assert_eq!(c.privileges.user.as_deref(), Some("egress-ids"));
        assert_eq!(c.privileges.group.as_deref(), Some("egress-ids"));
        assert_eq!(
            c.outputs,
            [
                OutputSpec::File {
                    path: DEFAULT_EVE_PATH.into()
                },
                OutputSpec::Webhook(WebhookSpec::new("https://alerts.example.com/egress-ids")),
            ]
        );
    }

    #[test]
    fn every_key_is_in_the_default_document() {
        let doc = default_toml();
        // Each table's keys, as the unknown-key error lists them: a key added to the code but not
        // to the document fails here.
        for table in [
            "[capture]",
            "[detect]",
            "[engine]",
            "[[output]]\ntype = \"stdout\"",
            "[privileges]",
        ] {
            let message = refused(&format!("{table}\nno_such_key = 1\n"));
            let keys: Vec<&str> = message
                .split("the keys there are ")
                .nth(1)
                .unwrap()
                .split(", ")
                .map(|k| k.trim_matches('`'))
                .collect();
            assert!(keys.len() > 1, "{message}");
            for key in keys {
                let present = doc.lines().any(|l| {
                    l.starts_with(&format!("{key} = ")) || l.starts_with(&format!("# {key} = "))
                });
                assert!(
                    present,
                    "{key} (of {table}) is not in contrib/egress-ids.toml"
                );
            }
        }
    }

    #[test]
    fn every_section_parses() {
        let c = parse(
            r#"
[capture]
interfaces = ["eth1", "eth2"]
bpf = "not port 22"
promisc = true
snaplen = 1514
buffer_size = "16MiB"

[detect]
home_net = ["10.20.0.0/16", "fd00::/8"]
signatures = ["/etc/egress-ids/signatures", "/etc/egress-ids/corp.ioc-domains.txt"]
no_default_signatures = true
dns_grace = "10m"
warmup = 0

[engine]
threads = 4
flow_memcap = 67108864
tcp_new_timeout = 30
tcp_established_timeout = "1h"
tcp_closed_timeout = "5s"
udp_timeout = 45
stats_interval = 0
eve_types = "alert,dns"

[[output]]
type = "stdout"

[[output]]
type = "unix-socket"
path = "/run/collector/eve.sock"

[[output]]
type = "webhook"
url = "http://10.0.0.9:8080/alerts"
queue = 10
timeout = 2
max_attempts = 3
backoff = "1s"
max_backoff = "1m"

[privileges]
user = "nobody"
group = "nogroup"
"#,
        )
        .unwrap();
        assert_eq!(
            c.capture,
            CaptureSection {
                interfaces: vec!["eth1".into(), "eth2".into()],
                bpf: Some("not port 22".into()),
                promisc: true,
                snaplen: 1514,
                buffer_size: 16 << 20,
            }
        );
        assert_eq!(
            c.detect,
            DetectSection {
                home_net: vec!["10.20.0.0/16".parse().unwrap(), "fd00::/8".parse().unwrap()],
                signatures: vec![
                    "/etc/egress-ids/signatures".into(),
                    "/etc/egress-ids/corp.ioc-domains.txt".into()
                ],
                no_default_signatures: true,
                dns_grace: 600,
                warmup: 0,
            }
        );
        assert_eq!(
            c.engine,
            EngineSection {
                threads: 4,
                flow_memcap: 64 << 20,
                tcp_new_timeout: 30,
                tcp_established_timeout: 3600,
                tcp_closed_timeout: 5,
                udp_timeout: 45,
                stats_interval: 0,
                eve_types: EveTypes::parse("alert,dns").unwrap(),
            }
        );
        assert_eq!(c.engine.worker_threads(), 4);
        let mut hook = WebhookSpec::new("http://10.0.0.9:8080/alerts");
        hook.queue = 10;
        hook.timeout = Duration::from_secs(2);
        hook.max_attempts = 3;
        hook.backoff = Duration::from_secs(1);
        hook.max_backoff = Duration::from_secs(60);
        assert_eq!(
            c.outputs,
            [
                OutputSpec::Stdout,
                OutputSpec::UnixSocket {
                    path: "/run/collector/eve.sock".into()
                },
                OutputSpec::Webhook(hook),
            ]
        );
        assert_eq!(
            c.privileges,
            PrivilegesSection {
                user: Some("nobody".into()),
                group: Some("nogroup".into()),
            }
        );
        let o = c.sensor_options();
        assert_eq!(
            (
                o.analysis.threads,
                o.analysis.flow_memcap,
                o.analysis.dns_grace_secs
            ),
            (4, 64 << 20, 600)
        );
    }

    #[test]
    fn a_partial_section_keeps_the_other_defaults() {
        let c = parse("[engine]\nthreads = 2\n").unwrap();
        assert_eq!(
            c.engine,
            EngineSection {
                threads: 2,
                ..EngineSection::default()
            }
        );
        assert_eq!(c.capture, CaptureSection::default());
        assert_eq!(c.outputs, DaemonConfig::default().outputs);
        assert!(
            parse("[engine]\nthreads = 0\n")
                .unwrap()
                .engine
                .worker_threads()
                >= 1
        );
    }

    #[test]
    fn syntax_and_type_errors_name_file_line_column_and_key() {
        let cases: [(&str, &str); 9] = [
            (
                "[capture]\ninterfaces = [\"any\"]\ninterfacez = [\"eth0\"]\n",
                ":3:1: unknown key `interfacez` in [capture]; the keys there are `interfaces`, `bpf`, `promisc`, `snaplen`, `buffer_size`",
            ),
            (
                "[captur]\n",
                ":1:2: unknown key `captur` at the top level; the keys there are `capture`, `detect`, `engine`, `output`, `privileges`",
            ),
            (
                "[[output]]\ntype = \"file\"\npath = \"/x\"\ncolour = 1\n",
                ":4:1: unknown key `colour` in output[0]; the keys there are `type`",
            ),
            (
                "[engine]\nthreads = \"four\"\n",
                ":2:11: engine.threads: invalid type: string \"four\", expected an integer",
            ),
            (
                "[capture]\ninterfaces = \"eth0\"\n",
                ":2:14: capture.interfaces: invalid type: string \"eth0\", expected an array",
            ),
            ("capture = 1\n", ":1:11: capture: invalid type: integer `1`, expected a table"),
            ("[engine]\nthreads = 1\nthreads = 2\n", ":3:1: duplicate key `threads`; give each key once"),
            ("[detect\n", ":1:8: unclosed table, expected `]`"),
            ("[[output]]\npath = \"/x\"\n", ":1:1: output[0]: missing key `type`"),
        ];
        for (text, expected) in cases {
            let message = refused(text);
            assert!(
                message.starts_with(&format!("{FILE}{expected}")),
                "{text:?}\n  gave {message}\n  not {expected}"
            );
        }
    }

    #[test]
    fn bad_values_name_file_line_column_and_key() {
        let cases: [(&str, &str); 27] = [
            ("[capture]\ninterfaces = []\n", ":2:14: capture.interfaces: the list is empty"),
            ("[capture]\ninterfaces = [\"eth0\", \"\"]\n", ":2:23: capture.interfaces: \"\" is not an interface name"),
            ("[capture]\ninterfaces = [\"a-very-long-interface\"]\n", ":2:15: capture.interfaces: \"a-very-long-interface\" is not an interface name"),
            ("[capture]\ninterfaces = [\"eth0\", \"eth0\"]\n", ":2:23: capture.interfaces: \"eth0\" is listed twice"),
            ("[capture]\ninterfaces = [\"any\", \"eth0\"]\n", ":2:14: capture.interfaces: \"any\" already captures on every interface"),
            ("[capture]\npromisc = true\n", ":2:11: capture.promisc: the \"any\" interface cannot be promiscuous"),
            ("[capture]\nbpf = \"port eleventy\"\n", ":2:7: capture.bpf: \"port eleventy\" is not a BPF filter"),
            ("[capture]\nsnaplen = 10\n", ":2:11: capture.snaplen: 10 is out of range; use 64 to 262144"),
            ("[capture]\nbuffer_size = \"12 parsecs\"\n", ":2:15: capture.buffer_size: unknown size unit \"parsecs\""),
            ("[capture]\nbuffer_size = \"4GiB\"\n", ":2:15: capture.buffer_size: \"4GiB\" is above the maximum, 2047MiB"),
            ("[detect]\nhome_net = []\n", ":2:12: detect.home_net: the list is empty"),
            ("[detect]\nhome_net = [\n  \"10.0.0.0/8\",\n  \"10.1.2.3\",\n]\n", ":4:3: detect.home_net: \"10.1.2.3\" is not a CIDR prefix such as \"10.0.0.0/8\" or \"fd00::/8\"; for one address write \"10.1.2.3/32\""),
            ("[detect]\nsignatures = [\"sigs\"]\n", ":2:15: detect.signatures: \"sigs\" is relative; write an absolute path"),
            ("[detect]\nwarmup = -5\n", ":2:10: detect.warmup: -5 is negative"),
            ("[detect]\ndns_grace = \"1500ms\"\n", ":2:13: detect.dns_grace: 1.5s is not a whole number of seconds"),
            ("[engine]\nthreads = 999\n", ":2:11: engine.threads: 999 is out of range; use 0 to 256"),
            ("[engine]\nflow_memcap = \"12\"\n", ":2:15: engine.flow_memcap: \"12\" is below the minimum, 1MiB"),
            ("[engine]\nudp_timeout = 0\n", ":2:15: engine.udp_timeout: must be more than 0"),
            ("[engine]\neve_types = \"alert,netflow\"\n", ":2:13: engine.eve_types: unknown EVE type \"netflow\""),
            ("output = []\n", ":1:10: output: no output"),
            ("[[output]]\ntype = \"fil\"\n", ":2:8: output[0].type: unknown output type \"fil\""),
            ("[[output]]\ntype = \"file\"\n", ":1:1: output[0].path: a \"file\" output needs `path`"),
            ("[[output]]\ntype = \"stdout\"\n[[output]]\ntype = \"file\"\npath = \"eve.json\"\n", ":5:8: output[1].path: \"eve.json\" is relative"),
            ("[[output]]\ntype = \"webhook\"\nurl = \"ftp://x\"\n", ":3:7: output[0].url: \"ftp://x\": the URL must start with https:// or http://"),
            ("[[output]]\ntype = \"webhook\"\nurl = \"https://h\"\npath = \"/x\"\n", ":4:8: output[0].path: a \"webhook\" output has no `path`"),
            ("[[output]]\ntype = \"stdout\"\n\n[[output]]\ntype = \"stdout\"\n", ":4:1: output[1]: the same output is configured twice"),
            ("[privileges]\ngroup = \"adm\"\n", ":2:9: privileges.group: a group needs a user"),
        ];
        for (text, expected) in cases {
            let message = refused(text);
            assert!(
                message.starts_with(&format!("{FILE}{expected}")),
                "{text:?}\n  gave {message}\n  not {expected}"
            );
        }
    }

    #[test]
    fn errors_carry_their_key_and_location() {
        match parse("\n[engine]\n  threads = -1\n") {
            Err(ConfigError::Invalid {
                path,
                location,
                key,
                ..
            }) => {
                assert_eq!(path, Path::new(FILE));
                assert_eq!(
                    location,
                    Some(Location {
                        line: 3,
                        column: 13
                    })
                );
                assert_eq!(key.as_deref(), Some("engine.threads"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let message = refused("# héhé ünïcode\n[capture]\nbpf = \"ünïcode\" \nsnaplen = 1\n");
        assert!(
            message.starts_with(&format!("{FILE}:3:7: capture.bpf")),
            "{message}"
        );
        let message = refused("[detect]\nhome_net = [\"ü\", \"x\"]\n");
        assert!(
            message.starts_with(&format!("{FILE}:2:13: detect.home_net: \"ü\"")),
            "{message}"
        );
        let doc = Doc {
            text: "ab\ncdé\nf",
            path: Path::new(FILE),
        };
        assert_eq!(doc.locate(0), Location { line: 1, column: 1 });
        assert_eq!(doc.locate(3), Location { line: 2, column: 1 });
        assert_eq!(doc.locate(7), Location { line: 2, column: 4 });
        assert_eq!(doc.locate(8), Location { line: 3, column: 1 });
        assert_eq!(doc.locate(99), Location { line: 3, column: 2 });
    }

    #[test]
    fn files_are_read_and_unreadable_ones_named() {
        let dir = std::env::temp_dir().join(format!("egress-ids-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("egress-ids.toml");
        std::fs::write(&path, "[engine]\nthreads = 3\n").unwrap();
        assert_eq!(DaemonConfig::load(&path).unwrap().engine.threads, 3);
        std::fs::write(&path, "[engine]\nthreads = 3\nthreads = 4\n").unwrap();
        let message = DaemonConfig::load(&path).unwrap_err().to_string();
        assert!(
            message.starts_with(&format!("{}:3:1: duplicate key", path.display())),
            "{message}"
        );
        let missing = dir.join("absent.toml");
        let message = DaemonConfig::load(&missing).unwrap_err().to_string();
        assert!(
            message.starts_with(&format!(
                "{}: cannot read the configuration",
                missing.display()
            )),
            "{message}"
        );
        std::fs::write(
            &path,
            "[detect]\nsignatures = [\"/nonexistent/ioc-domains.txt\"]\n",
        )
        .unwrap();
        let message = DaemonConfig::check_file(&path).unwrap_err().to_string();
        assert_eq!(
            message,
            format!("{}: detect.signatures: /nonexistent/ioc-domains.txt: cannot read: No such file or directory (os error 2)", path.display())
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sizes_and_durations_take_numbers_or_units() {
        let c = parse("[capture]\nbuffer_size = 1048576\n[engine]\nflow_memcap = \"2G\"\nudp_timeout = \"2m\"\n").unwrap();
        assert_eq!(c.capture.buffer_size, 1 << 20);
        assert_eq!(c.engine.flow_memcap, 2 << 30);
        assert_eq!(c.engine.udp_timeout, 120);
        let c = parse("[[output]]\ntype = \"webhook\"\nurl = \"https://h.example\"\ntimeout = \"250ms\"\nbackoff = \"50ms\"\n").unwrap();
        let OutputSpec::Webhook(w) = &c.outputs[0] else {
            panic!("{c:?}")
        };
        assert_eq!(
            (w.timeout, w.backoff),
            (Duration::from_millis(250), Duration::from_millis(50))
        );
    }
}
