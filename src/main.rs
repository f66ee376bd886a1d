//! The `egress-ids` command line: parses arguments and calls the library. Nothing else lives here.

use clap::{Args, Parser, Subcommand};
use egress_ids::capture::live::LiveConfig;
use egress_ids::flow::table::MIN_MEMCAP;
use egress_ids::flow::Timeouts;
use egress_ids::options::AnalysisOptions;
use egress_ids::output::targets::{OutputSpec, Outputs, WebhookSpec};
use egress_ids::output::EveTypes;
use egress_ids::replay::{replay, EveTarget, ReplayOptions};
use egress_ids::sensor::{self, SensorOptions, Signals};
use ipnet::IpNet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

const EXIT_CODES: &str = "Exit codes:\n  0  no alert\n  1  at least one alert\n  2  usage or input error (bad arguments, unreadable or invalid capture, bad signature file)";
const LIVE_EXIT_CODES: &str = "Signals: SIGTERM or SIGINT stops capture, analyses what was captured, writes every event and exits 0 (a second one exits at once with 1); SIGHUP reloads the signature files (a bad file keeps the old set); SIGUSR1 reopens the EVE file (logrotate).\n\nExit codes:\n  0  stopped by a signal, every event written\n  2  usage or setup error (interface, filter, signature file, output), or capture failed";

#[derive(Parser)]
#[command(name = "egress-ids", version, about = "Passive network IDS for CI subnets: catches build steps that call home, writes Suricata EVE JSON", after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Replay pcap/pcapng files through the detections
    #[command(after_help = EXIT_CODES)]
    Replay {
        /// EVE JSON output file; '-' writes to stdout
        #[arg(long, value_name = "PATH|-", default_value = "eve.json")]
        eve: String,
        #[command(flatten)]
        analysis: AnalysisArgs,
        /// Do not print the summary on stderr
        #[arg(long, short)]
        quiet: bool,
        /// Capture files (pcap or pcapng), replayed in order as one stream; '-' reads standard input
        #[arg(value_name = "PCAP", required = true)]
        pcaps: Vec<PathBuf>,
    },
    /// Capture live from network interfaces (a SPAN/tap port, or the runner's own interface) until SIGTERM/SIGINT
    #[command(after_help = LIVE_EXIT_CODES)]
    Live {
        /// Interface to capture on; repeatable; 'any' captures every interface (Linux cooked v2)
        #[arg(short = 'i', long = "interface", value_name = "IFACE", required = true)]
        interfaces: Vec<String>,
        /// BPF capture filter, tcpdump syntax (e.g. 'not port 22')
        #[arg(long, value_name = "FILTER")]
        bpf: Option<String>,
        /// Put the interfaces in promiscuous mode (a SPAN port needs it; needs CAP_NET_ADMIN)
        #[arg(long)]
        promisc: bool,
        /// Bytes captured per packet
        #[arg(long, value_name = "BYTES", default_value_t = 65535)]
        snaplen: u32,
        /// Kernel capture ring per interface; bigger rides out longer bursts without drops
        #[arg(long, value_name = "SIZE", default_value = "64MiB", value_parser = parse_size)]
        buffer_size: usize,
        /// Seconds after start during which direct-ip is not raised (DNS answers from before the start are unseen)
        #[arg(long, value_name = "SECS", default_value_t = sensor::DEFAULT_WARMUP_SECS)]
        warmup: u64,
        /// EVE JSON output file, appended to and reopened on SIGUSR1; '-' writes to stdout
        #[arg(long, value_name = "PATH|-", default_value = "eve.json")]
        eve: String,
        /// Also send EVE lines to this Unix stream socket (another program listens; reconnects); repeatable
        #[arg(long, value_name = "PATH")]
        unix_socket: Vec<PathBuf>,
        /// Also POST each alert as JSON to this http(s) URL (bounded queue, retries with backoff); repeatable
        #[arg(long, value_name = "URL")]
        webhook: Vec<String>,
        #[command(flatten)]
        analysis: AnalysisArgs,
        /// Do not print the summary on stderr
        #[arg(long, short)]
        quiet: bool,
    },
}

/// Options shared by every mode: signatures, networks, threads, flow limits, event types.
#[derive(Args)]
struct AnalysisArgs {
    /// Extra signature list file or directory (ioc-domains.txt, ioc-ips.txt, allow-domains.txt, allow-ips.txt); repeatable
    #[arg(long = "signatures", value_name = "PATH")]
    signatures: Vec<PathBuf>,
    /// Use only the --signatures files, not the built-in lists
    #[arg(long)]
    no_default_signatures: bool,
    /// HOME_NET prefixes, comma-separated (default: 10/8, 172.16/12, 192.168/16, 100.64/10, 169.254/16, fc00::/7, fe80::/10)
    #[arg(long, value_name = "CIDR,...", value_delimiter = ',')]
    home_net: Vec<IpNet>,
    /// Seconds a DNS answer still counts past its TTL for direct-ip
    #[arg(long, value_name = "SECS", default_value_t = egress_ids::engine::DEFAULT_DNS_GRACE_SECS)]
    dns_grace: u64,
    /// Worker threads; 1 runs everything on one thread (default: one per core)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: Option<u16>,
    /// Flow memory cap (flows and their buffers, all workers); the flows idle longest are evicted to stay under it
    #[arg(long, value_name = "SIZE", default_value = "256MiB", value_parser = parse_size)]
    flow_memcap: usize,
    /// Seconds of packet time a TCP flow may wait for its handshake to complete
    #[arg(long, value_name = "SECS", default_value_t = Timeouts::default().tcp_new)]
    tcp_new_timeout: u64,
    /// Seconds of packet time an established TCP flow may stay idle
    #[arg(long, value_name = "SECS", default_value_t = Timeouts::default().tcp_established)]
    tcp_established_timeout: u64,
    /// Seconds of packet time a TCP flow is kept after FIN or RST
    #[arg(long, value_name = "SECS", default_value_t = Timeouts::default().tcp_closed)]
    tcp_closed_timeout: u64,
    /// Seconds of packet time a UDP flow may stay idle
    #[arg(long, value_name = "SECS", default_value_t = Timeouts::default().udp)]
    udp_timeout: u64,
    /// Seconds of packet time between EVE stats events; 0 writes only the final one
    #[arg(long, value_name = "SECS", default_value_t = egress_ids::pipeline::DEFAULT_STATS_INTERVAL)]
    stats_interval: u64,
    /// EVE event types to write, comma-separated: alert, tls, dns, http, flow, stats, or all (alerts are always written; a type not written is not built)
    #[arg(long, value_name = "TYPE,...", default_value = "all", value_parser = EveTypes::parse)]
    eve_types: EveTypes,
}

impl AnalysisArgs {
    fn into_options(self) -> AnalysisOptions {
        let mut opts = AnalysisOptions {
            signature_paths: self.signatures,
            replace_default_signatures: self.no_default_signatures,
            home_net: (!self.home_net.is_empty()).then_some(self.home_net),
            dns_grace_secs: self.dns_grace,
            flow_memcap: self.flow_memcap,
            timeouts: Timeouts {
                tcp_new: self.tcp_new_timeout,
                tcp_established: self.tcp_established_timeout,
                tcp_closed: self.tcp_closed_timeout,
                udp: self.udp_timeout,
            },
            stats_interval: self.stats_interval,
            eve_types: self.eve_types,
            ..AnalysisOptions::default()
        };
        if let Some(n) = self.threads {
            opts.threads = n.into();
        }
        opts
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::Replay {
            eve,
            analysis,
            quiet,
            pcaps,
        } => {
            let mut opts = ReplayOptions::new(pcaps);
            opts.eve = if eve == "-" {
                EveTarget::Stdout
            } else {
                EveTarget::File(eve.into())
            };
            opts.analysis = analysis.into_options();
            match replay(&opts) {
                Ok(outcome) => {
                    for w in &outcome.warnings {
                        eprintln!("egress-ids: warning: {w}");
                    }
                    if !quiet {
                        eprint!("{}", outcome.counters.render(outcome.elapsed));
                    }
                    ExitCode::from(if outcome.counters.total_alerts() > 0 {
                        1
                    } else {
                        0
                    })
                }
                Err(e) => {
                    eprintln!("egress-ids: error: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Live {
            interfaces,
            bpf,
            promisc,
            snaplen,
            buffer_size,
            warmup,
            eve,
            unix_socket,
            webhook,
            analysis,
            quiet,
        } => {
            let opts = SensorOptions {
                captures: interfaces
                    .iter()
                    .map(|i| LiveConfig {
                        bpf: bpf.clone(),
                        promisc,
                        snaplen,
                        buffer_size,
                        ..LiveConfig::new(i.as_str())
                    })
                    .collect(),
                analysis: analysis.into_options(),
                warmup_secs: warmup,
            };
            let mut outputs = vec![if eve == "-" {
                OutputSpec::Stdout
            } else {
                OutputSpec::File { path: eve.into() }
            }];
            outputs.extend(
                unix_socket
                    .into_iter()
                    .map(|path| OutputSpec::UnixSocket { path }),
            );
            outputs.extend(
                webhook
                    .into_iter()
                    .map(|url| OutputSpec::Webhook(WebhookSpec::new(url))),
            );
            live(&opts, &outputs, quiet)
        }
    }
}

/// Longest wait at shutdown for sockets and webhooks to take what is queued.
const OUTPUT_DRAIN: Duration = Duration::from_secs(5);

fn log(line: &str) {
    eprintln!("egress-ids: {line}");
}

fn live(opts: &SensorOptions, outputs: &[OutputSpec], quiet: bool) -> ExitCode {
    let fail = |e: &dyn std::fmt::Display| {
        eprintln!("egress-ids: error: {e}");
        ExitCode::from(2)
    };
    let detector = match opts.analysis.build_detector() {
        Ok(d) => d,
        Err(e) => return fail(&e),
    };
    let signals = match Signals::register() {
        Ok(s) => s,
        Err(e) => return fail(&format!("cannot install signal handlers: {e}")),
    };
    let captures = match sensor::open_captures(opts) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let outputs = match Outputs::open(outputs, signals.reopen.clone()) {
        Ok(o) => o,
        Err(e) => return fail(&e),
    };
    for c in &captures {
        log(&format!(
            "capturing on {} (link type {}); warm-up {} s",
            c.interface(),
            c.linktype(),
            opts.warmup_secs
        ));
    }
    let outcome = sensor::run(opts, detector, captures, outputs, &signals, &log);
    let report = outcome.sink.finish(OUTPUT_DRAIN);
    if !quiet {
        eprint!("{}", outcome.counters.render(outcome.elapsed));
        for target in &report.targets {
            eprintln!("  output {target}");
        }
    }
    if report.has_errors() {
        return fail(&"an output failed; see its line above");
    }
    match outcome.capture_error {
        Some(e) => fail(&e),
        None => ExitCode::SUCCESS,
    }
}

/// Parses a byte size: a number with an optional unit (B, KiB, MiB, GiB, or K/M/G and KB/MB/GB as
/// powers of 1024), at least the smallest flow memcap.
fn parse_size(text: &str) -> Result<usize, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: usize = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size (examples: 256MiB, 1GiB, 64M)"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        other => return Err(format!("unknown size unit {other:?} (use KiB, MiB or GiB)")),
    };
    let bytes = n
        .checked_mul(1usize << shift)
        .ok_or_else(|| format!("{text:?} is too large"))?;
    if bytes < MIN_MEMCAP {
        return Err(format!("{text:?} is below the smallest flow memcap, 1MiB"));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_take_binary_units_and_refuse_nonsense() {
        assert_eq!(parse_size("256MiB"), Ok(256 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("2097152"), Ok(2 << 20));
        assert!(parse_size("12").unwrap_err().contains("below"));
        assert!(parse_size("5 parsecs").unwrap_err().contains("unit"));
        assert!(parse_size("lots").unwrap_err().contains("not a size"));
    }
}
