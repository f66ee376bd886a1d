//! The configuration file as serde reads it: every table and key, each value with its position
//! in the file ([`Spanned`]), unknown keys refused. Nothing is checked here beyond TOML's types;
//! `check` turns these into the typed configuration.

use serde::de::{Deserializer, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;
use toml::Spanned;

/// A TOML integer or string: sizes and durations take either.
#[derive(Clone, Debug)]
pub(super) enum Scalar {
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
pub(super) struct RawConfig {
    pub(super) capture: RawCapture,
    pub(super) detect: RawDetect,
    pub(super) engine: RawEngine,
    pub(super) output: Option<Spanned<Vec<Spanned<RawOutput>>>>,
    pub(super) privileges: RawPrivileges,
    /// The top-level `sensor_name` (Suricata's global `sensor-name`).
    pub(super) sensor_name: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawCapture {
    pub(super) interfaces: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) bpf: Option<Spanned<String>>,
    pub(super) promisc: Option<Spanned<bool>>,
    pub(super) snaplen: Option<Spanned<i64>>,
    pub(super) buffer_size: Option<Spanned<Scalar>>,
    pub(super) capture_threads: Option<Spanned<Scalar>>,
    pub(super) attribute: Option<Spanned<RawAttribute>>,
}

/// `capture.attribute`: a boolean or `"auto"`.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum RawAttribute {
    Bool(bool),
    Word(String),
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawDetect {
    pub(super) home_net: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) signatures: Option<Vec<Spanned<String>>>,
    pub(super) no_default_signatures: Option<bool>,
    pub(super) resolvers: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) egress_policy: Option<Spanned<String>>,
    pub(super) inventory: Option<Spanned<String>>,
    pub(super) rules: Option<Vec<Spanned<String>>>,
    pub(super) rule_vars: Option<Vec<Spanned<String>>>,
    pub(super) rules_strict: Option<bool>,
    pub(super) dns_grace: Option<Spanned<Scalar>>,
    pub(super) warmup: Option<Spanned<Scalar>>,
    pub(super) log_lan_discovery: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawEngine {
    pub(super) threads: Option<Spanned<i64>>,
    pub(super) flow_memcap: Option<Spanned<Scalar>>,
    pub(super) tcp_new_timeout: Option<Spanned<Scalar>>,
    pub(super) tcp_established_timeout: Option<Spanned<Scalar>>,
    pub(super) tcp_closed_timeout: Option<Spanned<Scalar>>,
    pub(super) udp_timeout: Option<Spanned<Scalar>>,
    pub(super) stats_interval: Option<Spanned<Scalar>>,
    pub(super) eve_types: Option<Spanned<String>>,
    pub(super) checksum_validation: Option<Spanned<String>>,
    pub(super) vxlan_ports: Option<Spanned<String>>,
    pub(super) geneve_ports: Option<Spanned<String>>,
}

/// One `[[output]]`: every key any type takes; `check` refuses those its type does not.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOutput {
    #[serde(rename = "type")]
    pub(super) kind: Spanned<String>,
    pub(super) path: Option<Spanned<String>>,
    pub(super) url: Option<Spanned<String>>,
    pub(super) queue: Option<Spanned<i64>>,
    pub(super) timeout: Option<Spanned<Scalar>>,
    pub(super) max_attempts: Option<Spanned<i64>>,
    pub(super) backoff: Option<Spanned<Scalar>>,
    pub(super) max_backoff: Option<Spanned<Scalar>>,
    pub(super) mode: Option<Spanned<String>>,
    pub(super) key: Option<Spanned<String>>,
    pub(super) stream_maxlen: Option<Spanned<i64>>,
    pub(super) stream_trim_exact: Option<Spanned<bool>>,
    pub(super) batch_size: Option<Spanned<i64>>,
    pub(super) ca_file: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawPrivileges {
    pub(super) user: Option<Spanned<String>>,
    pub(super) group: Option<Spanned<String>>,
}

/// A TOML value as the text a setting's check reads (`crate::settings`): a string as it is, an
/// integer as its digits, so that `5` and `"5"` get the same verdict and the same words.
pub(super) trait AsText {
    fn as_text(&self) -> Cow<'_, str>;
}

impl AsText for Scalar {
    fn as_text(&self) -> Cow<'_, str> {
        match self {
            Scalar::Int(n) => Cow::Owned(n.to_string()),
            Scalar::Text(t) => Cow::Borrowed(t),
        }
    }
}

impl AsText for i64 {
    fn as_text(&self) -> Cow<'_, str> {
        Cow::Owned(self.to_string())
    }
}

impl AsText for String {
    fn as_text(&self) -> Cow<'_, str> {
        Cow::Borrowed(self)
    }
}
