//! The daemon's configuration file: TOML read into a [`DaemonConfig`], every key with a documented
//! default, every mistake refused with the file, line and column, the key, and what to write
//! instead.
//!
//! The defaults are written once, in [`DaemonConfig::default`] (from the constants the command
//! line uses too), and documented once, in `contrib/egress-ids.toml` ([`default_toml`]); a test
//! holds the two equal.
//!
//! The file is read in two steps: serde reads it into the `raw` types, which keep each value's
//! position in the file and refuse unknown keys, then `check` runs every value through the same
//! check as its command-line flag (`crate::settings`) and builds the typed configuration.

mod check;
mod errors;
mod outputs;
mod raw;
#[cfg(test)]
mod tests;

use crate::capture::live::{LiveConfig, DEFAULT_BUFFER_SIZE, DEFAULT_SNAPLEN};
use crate::detect::direct_ip::DEFAULT_DNS_GRACE_SECS;
use crate::detect::egress_policy::EgressPolicy;
use crate::detect::inventory::Inventory;
use crate::detect::rules::{RuleSet, RuleSources};
use crate::detect::signatures::{SignatureError, Signatures};
use crate::detect::Detector;
use crate::eve::EveTypes;
use crate::flow::table::DEFAULT_MEMCAP;
use crate::flow::Timeouts;
use crate::options::AnalysisOptions;
use crate::output::attribute::AttributeMode;
use crate::output::sensor_name::SensorName;
use crate::output::targets::OutputSpec;
use crate::pipeline::DEFAULT_STATS_INTERVAL;
use crate::sensor::SensorOptions;
use crate::settings::{worker_threads, DEFAULT_THREADS, DEFAULT_WARMUP_SECS};
use errors::Doc;
pub use errors::{ConfigError, Location};
use ipnet::IpNet;
use proto::decode::DecodeConfig;
use raw::RawConfig;
use std::path::{Path, PathBuf};

/// Where the systemd unit tells the daemon to read its configuration.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/egress-ids/egress-ids.toml";
/// The default EVE file.
pub(crate) const DEFAULT_EVE_PATH: &str = "/var/log/egress-ids/eve.json";

/// The daemon's whole configuration, typed and checked.
#[derive(Clone, Debug, PartialEq)]
pub struct DaemonConfig {
    /// `sensor_name` (top level): written as `host` in every EVE record; default none (no
    /// field), as Suricata's `sensor-name`.
    pub(crate) sensor_name: Option<SensorName>,
    /// `[capture]`: what to capture.
    pub(crate) capture: CaptureSection,
    /// `[detect]`: what counts as egress, which signatures, and when `direct-ip` fires.
    pub(crate) detect: DetectSection,
    /// `[engine]`: threads, memory and flow timeouts.
    pub(crate) engine: EngineSection,
    /// `[[output]]`: where EVE lines go; never empty.
    pub outputs: Vec<OutputSpec>,
    /// `[privileges]`: who the daemon becomes once its capture is open.
    pub privileges: PrivilegesSection,
}

/// `[capture]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CaptureSection {
    /// Interfaces to capture on; default `["any"]`. Never empty; `"any"` stands alone.
    pub(crate) interfaces: Vec<String>,
    /// A BPF filter (tcpdump syntax); default none.
    pub(crate) bpf: Option<String>,
    /// Promiscuous mode; default false. Never with `"any"`.
    pub(crate) promisc: bool,
    /// Bytes kept of each packet; default [`DEFAULT_SNAPLEN`], checked by [`crate::settings::snaplen`].
    pub(crate) snaplen: u32,
    /// Kernel ring buffer per interface in bytes; default [`DEFAULT_BUFFER_SIZE`], checked by
    /// [`crate::settings::buffer_size`].
    pub(crate) buffer_size: usize,
    /// Capture threads, one AF_PACKET fanout ring of each interface apiece; default 1, checked
    /// by [`crate::settings::capture_threads`].
    pub(crate) capture_threads: usize,
    /// Name the process behind alerts and flows (eBPF, on the runner itself): `"auto"` (the
    /// default: where the collector starts), `true` (required), `false`.
    pub(crate) attribute: AttributeMode,
}

/// `[detect]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DetectSection {
    /// HOME_NET; default [`Detector::default_home_net`]. Never empty.
    pub(crate) home_net: Vec<IpNet>,
    /// Signature list files or directories, absolute; default none.
    pub(crate) signatures: Vec<PathBuf>,
    /// Use only `signatures`, not the built-in lists; default false.
    pub(crate) no_default_signatures: bool,
    /// The runners' resolvers, checked by [`crate::settings::resolver_prefix`]; default none
    /// (plain DNS is not judged). Never empty.
    pub(crate) resolvers: Option<Vec<IpNet>>,
    /// The egress policy file, absolute; default none (no `egress-policy`).
    pub(crate) egress_policy: Option<PathBuf>,
    /// The package inventory file, absolute; default none (registry requests not judged).
    pub(crate) inventory: Option<PathBuf>,
    /// Suricata rule files or directories (absolute), `NAME=VALUE` variables, strictness;
    /// default none.
    pub(crate) rules: RuleSources,
    /// Seconds a DNS answer counts past its TTL; default [`DEFAULT_DNS_GRACE_SECS`].
    pub(crate) dns_grace: u64,
    /// Seconds after start without `direct-ip`; default [`DEFAULT_WARMUP_SECS`].
    pub(crate) warmup: u64,
    /// Log mDNS and LLMNR as `dns` events; default false (counted only, never alerted).
    pub(crate) log_lan_discovery: bool,
}

/// `[engine]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EngineSection {
    /// Worker threads, 0 for one per core ([`worker_threads`]); default [`DEFAULT_THREADS`],
    /// checked by [`crate::settings::threads`].
    pub(crate) threads: usize,
    /// Flow memory cap in bytes; default [`DEFAULT_MEMCAP`], checked by [`crate::settings::flow_memcap`].
    pub(crate) flow_memcap: usize,
    /// Seconds a TCP flow may wait for its handshake; default `Timeouts::default().tcp_new`.
    pub(crate) tcp_new_timeout: u64,
    /// Seconds an established TCP flow may stay idle; default `Timeouts::default().tcp_established`.
    pub(crate) tcp_established_timeout: u64,
    /// Seconds a TCP flow is kept after FIN or RST; default `Timeouts::default().tcp_closed`.
    pub(crate) tcp_closed_timeout: u64,
    /// Seconds a UDP flow may stay idle; default `Timeouts::default().udp`.
    pub(crate) udp_timeout: u64,
    /// Seconds between EVE `stats` events, 0 for only the final one; default
    /// [`DEFAULT_STATS_INTERVAL`].
    pub(crate) stats_interval: u64,
    /// EVE event types written; default all.
    pub(crate) eve_types: EveTypes,
    /// Whether packets with wrong checksums are inspected; default `auto`, checked by
    /// [`crate::settings::checksum_validation`].
    pub(crate) checksum_validation: crate::settings::ChecksumValidation,
    /// UDP ports of VXLAN (`vxlan_ports`) and GENEVE (`geneve_ports`); default 4789 and 6081.
    pub(crate) tunnel_ports: DecodeConfig,
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
            sensor_name: None,
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
            capture_threads: 1,
            attribute: AttributeMode::Auto,
        }
    }
}

impl Default for DetectSection {
    fn default() -> Self {
        DetectSection {
            home_net: Detector::default_home_net(),
            signatures: Vec::new(),
            no_default_signatures: false,
            resolvers: None,
            egress_policy: None,
            inventory: None,
            rules: RuleSources::default(),
            dns_grace: DEFAULT_DNS_GRACE_SECS,
            warmup: DEFAULT_WARMUP_SECS,
            log_lan_discovery: false,
        }
    }
}

impl Default for EngineSection {
    fn default() -> Self {
        let t = Timeouts::default();
        EngineSection {
            threads: DEFAULT_THREADS,
            flow_memcap: DEFAULT_MEMCAP,
            tcp_new_timeout: t.tcp_new,
            tcp_established_timeout: t.tcp_established,
            tcp_closed_timeout: t.tcp_closed,
            udp_timeout: t.udp,
            stats_interval: DEFAULT_STATS_INTERVAL,
            eve_types: EveTypes::ALL,
            checksum_validation: crate::settings::ChecksumValidation::Auto,
            tunnel_ports: DecodeConfig::default(),
        }
    }
}

impl EngineSection {
    /// The flow timeouts.
    pub(crate) fn timeouts(&self) -> Timeouts {
        Timeouts {
            tcp_new: self.tcp_new_timeout,
            tcp_established: self.tcp_established_timeout,
            tcp_closed: self.tcp_closed_timeout,
            udp: self.udp_timeout,
        }
    }
}

/// The default configuration as a commented TOML document: every key with its default value and
/// what it does (`egress-ids config --print-default`).
pub fn default_toml() -> &'static str {
    include_str!("../../../contrib/egress-ids.toml")
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
    fn load_signatures(&self) -> Result<Signatures, SignatureError> {
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
                resolvers: self.detect.resolvers.clone(),
                egress_policy: self.detect.egress_policy.clone(),
                inventory: self.detect.inventory.clone(),
                rules: self.detect.rules.clone(),
                dns_grace_secs: self.detect.dns_grace,
                threads: worker_threads(self.engine.threads),
                timeouts: self.engine.timeouts(),
                flow_memcap: self.engine.flow_memcap,
                stats_interval: self.engine.stats_interval,
                eve_types: self.engine.eve_types,
                checksum_validation: self.engine.checksum_validation,
                tunnel_ports: self.engine.tunnel_ports,
                sensor_name: self.sensor_name.clone(),
                log_lan_discovery: self.detect.log_lan_discovery,
            },
            warmup_secs: self.detect.warmup,
            attribute: c.attribute,
            capture_threads: c.capture_threads,
        }
    }

    /// What `egress-ids config --check` does: loads the file and the signature and policy files
    /// it names.
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
        if let Some(policy) = &config.detect.egress_policy {
            EgressPolicy::load(policy).map_err(|source| ConfigError::EgressPolicy {
                path: path.to_path_buf(),
                source,
            })?;
        }
        if let Some(inventory) = &config.detect.inventory {
            Inventory::load(inventory).map_err(|source| ConfigError::Inventory {
                path: path.to_path_buf(),
                source,
            })?;
        }
        let mut warnings = Vec::new();
        if !config.detect.rules.paths.is_empty() {
            let rules = RuleSet::load(
                &config.detect.rules,
                &config.detect.home_net,
                &Detector::builtin_sids(),
            )
            .map_err(|e| ConfigError::Signatures {
                path: path.to_path_buf(),
                source: e.into(),
            })?;
            warnings.extend(rules.report.refused.iter().map(ToString::to_string));
            warnings.push(format!("rules: {}", rules.report.summary()));
        }
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
