//! What every mode (replay, live, daemon) sets the same way: signatures, home networks, the
//! runners' resolvers, the egress policy, the package inventory, DNS grace, threads, flow
//! timeouts and memcap, `stats` interval, event types, the sensor's name, once checked
//! (`crate::settings`). Turns them into the detector and the pipeline configuration.

use crate::detect::direct_ip::DEFAULT_DNS_GRACE_SECS;
use crate::detect::egress_policy::EgressPolicy;
use crate::detect::inventory::Inventory;
use crate::detect::rules::{RuleSet, RuleSources};
use crate::detect::signatures::{SignatureError, Signatures};
use crate::detect::Detector;
use crate::eve::EveTypes;
use crate::flow::table::DEFAULT_MEMCAP;
use crate::flow::Timeouts;
use crate::output::sensor_name::SensorName;
use crate::pipeline::{PipelineConfig, DEFAULT_STATS_INTERVAL};
use crate::settings::ChecksumValidation;
use crate::settings::{worker_threads, DEFAULT_THREADS};
use ipnet::IpNet;
use proto::decode::DecodeConfig;
use std::path::PathBuf;
use std::sync::Arc;

/// How packets are analysed, whatever their source.
#[derive(Clone, Debug)]
pub struct AnalysisOptions {
    /// Extra signature list files or directories.
    pub signature_paths: Vec<PathBuf>,
    /// Use only `signature_paths`, not the built-in lists.
    pub replace_default_signatures: bool,
    /// HOME_NET; `None` for the default.
    pub home_net: Option<Vec<IpNet>>,
    /// The runners' resolvers; `None`: plain DNS is not judged (`dns-bypass`).
    pub resolvers: Option<Vec<IpNet>>,
    /// The egress policy file; `None`: no `egress-policy`. Read with the signatures (and again
    /// on each reload).
    pub egress_policy: Option<PathBuf>,
    /// The organisation's package inventory; `None`: registry requests are not judged
    /// (`phantom-dependency`). Read with the signatures (and again on each reload).
    pub inventory: Option<PathBuf>,
    /// Suricata rule files and how they are read; read with the signatures (and again on
    /// each reload).
    pub rules: RuleSources,
    /// Seconds a DNS answer still counts past its TTL for `direct-ip`.
    pub dns_grace_secs: u64,
    /// Worker threads (1: single-threaded).
    pub threads: usize,
    pub timeouts: Timeouts,
    /// Flow memory cap in bytes, all workers together.
    pub flow_memcap: usize,
    /// Seconds of packet time between `stats` events (0: only the final one).
    pub stats_interval: u64,
    /// The event types written.
    pub eve_types: EveTypes,
    /// Whether packets with wrong checksums are inspected (`checksum-validation`).
    pub checksum_validation: ChecksumValidation,
    /// The UDP ports decoded as VXLAN and GENEVE.
    pub tunnel_ports: DecodeConfig,
    /// Written as `host` in every EVE record (Suricata's `sensor-name`); `None`: no field.
    pub sensor_name: Option<SensorName>,
    /// Log mDNS and LLMNR messages as `dns` events (LAN name discovery is otherwise only
    /// counted; it never alerts either way).
    pub log_lan_discovery: bool,
}

impl Default for AnalysisOptions {
    fn default() -> Self {
        AnalysisOptions {
            signature_paths: Vec::new(),
            replace_default_signatures: false,
            home_net: None,
            resolvers: None,
            egress_policy: None,
            inventory: None,
            rules: RuleSources::default(),
            dns_grace_secs: DEFAULT_DNS_GRACE_SECS,
            threads: worker_threads(DEFAULT_THREADS),
            timeouts: Timeouts::default(),
            flow_memcap: DEFAULT_MEMCAP,
            stats_interval: DEFAULT_STATS_INTERVAL,
            eve_types: EveTypes::ALL,
            checksum_validation: ChecksumValidation::Auto,
            tunnel_ports: DecodeConfig::default(),
            sensor_name: None,
            log_lan_discovery: false,
        }
    }
}

impl AnalysisOptions {
    /// Loads the signatures (built-in and files) and the egress policy, and builds the
    /// detector; a bad file is refused with its path, line and reason.
    pub(crate) fn build_detector(&self) -> Result<Detector, SignatureError> {
        let signatures = Signatures::load(&self.signature_paths, self.replace_default_signatures)?;
        let home = self
            .home_net
            .clone()
            .unwrap_or_else(Detector::default_home_net);
        let rules = if self.rules.paths.is_empty() {
            None
        } else {
            Some(RuleSet::load(
                &self.rules,
                &home,
                &Detector::builtin_sids(),
            )?)
        };
        let mut detector =
            Detector::new(signatures, home).with_lan_discovery_logged(self.log_lan_discovery);
        if let Some(rules) = rules {
            detector = detector.with_rules(rules);
        }
        if let Some(resolvers) = &self.resolvers {
            detector = detector.with_resolvers(resolvers.clone());
        }
        if let Some(path) = &self.egress_policy {
            detector = detector.with_egress_policy(EgressPolicy::load(path)?);
        }
        if let Some(path) = &self.inventory {
            detector = detector.with_inventory(Inventory::load(path)?);
        }
        Ok(detector)
    }

    /// The pipeline configuration with `detector`.
    pub(crate) fn pipeline_config(&self, detector: Arc<Detector>) -> PipelineConfig {
        PipelineConfig {
            detector,
            timeouts: self.timeouts,
            flow_memcap: self.flow_memcap,
            threads: self.threads.max(1),
            dns_grace_secs: self.dns_grace_secs,
            stats_interval: self.stats_interval,
            eve_types: self.eve_types,
            direct_ip_from: None,
            checksums: self.checksum_validation,
            decode: self.tunnel_ports,
        }
    }
}
