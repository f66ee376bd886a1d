//! Every setting that the command line (`replay`, `live`) and the daemon's file share, checked
//! once: one function per setting turns what the user wrote (a flag's value, or a TOML value, an
//! integer being read as its digits) into the typed value, or refuses it with the reason and what
//! to write instead. Both front ends call these functions and only add where the value was (the
//! flag, or `file:line:column` and the key), so a value gets the same verdict in both.
//!
//! The limits live here; each default lives beside what it configures (flow timeouts and memcap
//! in `flow`, the DNS grace in `engine`, the `stats` interval in `pipeline`, snapshot length and
//! ring size in `capture::live`, webhook delivery in `output::targets`) or here (threads,
//! warm-up), and both front ends name those constants.

mod analysis;
mod capture;
mod outputs;
mod value;

pub use analysis::{
    checksum_validation, dns_grace, eve_types, flow_memcap, flow_timeout, home_net_prefix,
    resolver_prefix, rule_var, stats_interval, threads, tunnel_ports, warmup, worker_threads,
    ChecksumValidation, DEFAULT_THREADS, DEFAULT_WARMUP_SECS,
};
pub(crate) use analysis::{home_net, resolvers};
pub use capture::{bpf, buffer_size, capture_threads, interface, interfaces, promisc, snaplen};
pub use outputs::{
    distinct_outputs, file_path, learn_file, redis_batch_size, redis_ca_file_applies, redis_key,
    redis_mode, redis_stream_maxlen, redis_url, sensor_name, socket_path, webhook_url,
};
pub(crate) use value::{count_in, duration, Zero};
