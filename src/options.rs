//! What every mode (replay, live, daemon) sets the same way: signatures, home networks, DNS
//! grace, threads, flow timeouts and memcap, `stats` interval, event types. Turns them into the
//! detector and the pipeline configuration.

use crate::detect::signatures::{SignatureError, Signatures};
use crate::detect::Detector;
use crate::engine::DEFAULT_DNS_GRACE_SECS;
use crate::eve::EveTypes;
use crate::flow::table::{DEFAULT_MEMCAP, MIN_MEMCAP};
use crate::flow::Timeouts;
use crate::pipeline::{PipelineConfig, DEFAULT_STATS_INTERVAL};
use crate::units::parse_size;
use ipnet::IpNet;
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
}

/// The default thread count: one worker per core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl Default for AnalysisOptions {
    fn default() -> Self {
        AnalysisOptions {
            signature_paths: Vec::new(),
            replace_default_signatures: false,
            home_net: None,
            dns_grace_secs: DEFAULT_DNS_GRACE_SECS,
            threads: default_threads(),
            timeouts: Timeouts::default(),
            flow_memcap: DEFAULT_MEMCAP,
            stats_interval: DEFAULT_STATS_INTERVAL,
            eve_types: EveTypes::ALL,
        }
    }
}

impl AnalysisOptions {
    /// Loads the signatures (built-in and files) and builds the detector; a bad file is refused
    /// with its path, line and reason.
    pub fn build_detector(&self) -> Result<Detector, SignatureError> {
        let signatures = Signatures::load(&self.signature_paths, self.replace_default_signatures)?;
        let home = self
            .home_net
            .clone()
            .unwrap_or_else(Detector::default_home_net);
        Ok(Detector::new(signatures, home))
    }

    /// The pipeline configuration with `detector`.
    pub fn pipeline_config(&self, detector: Arc<Detector>) -> PipelineConfig {
        PipelineConfig {
            detector,
            timeouts: self.timeouts,
            flow_memcap: self.flow_memcap,
            threads: self.threads.max(1),
            dns_grace_secs: self.dns_grace_secs,
            stats_interval: self.stats_interval,
            eve_types: self.eve_types,
            direct_ip_from: None,
        }
    }
}

/// Parses a flow memory cap: a size ([`parse_size`]) of at least [`MIN_MEMCAP`].
pub fn parse_flow_memcap(text: &str) -> Result<usize, String> {
    let bytes = parse_size(text)?;
    if bytes < MIN_MEMCAP {
        return Err(format!("{text:?} is below the smallest flow memcap, 1MiB"));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flow_memcap_has_a_floor() {
        assert_eq!(parse_flow_memcap("256MiB"), Ok(256 << 20));
        assert_eq!(parse_flow_memcap("1MiB"), Ok(MIN_MEMCAP));
        assert!(parse_flow_memcap("12").unwrap_err().contains("below"));
    }
}
