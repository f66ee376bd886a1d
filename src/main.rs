//! The `egress-ids` command line: parses arguments and calls the library. Nothing else lives here.

use clap::{Parser, Subcommand};
use egress_ids::daemon::{default_toml, DaemonConfig};
use egress_ids::flow::Timeouts;
use egress_ids::output::EveTypes;
use egress_ids::replay::{replay, EveTarget, ReplayOptions};
use egress_ids::units::parse_flow_memcap;
use ipnet::IpNet;
use std::path::PathBuf;
use std::process::ExitCode;

const CONFIG_EXIT_CODES: &str = "Exit codes:\n  0  printed, or the file is valid (warnings about this machine, such as a missing user, go to stderr)\n  2  the file is invalid: file:line:column and the key are named";

const EXIT_CODES: &str = "Exit codes:\n  0  no alert\n  1  at least one alert\n  2  usage or input error (bad arguments, unreadable or invalid capture, bad signature file)";

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
        #[arg(long, value_name = "SIZE", default_value = "256MiB", value_parser = parse_flow_memcap)]
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
        /// Do not print the summary on stderr
        #[arg(long, short)]
        quiet: bool,
        /// Capture files (pcap or pcapng), replayed in order as one stream; '-' reads standard input
        #[arg(value_name = "PCAP", required = true)]
        pcaps: Vec<PathBuf>,
    },
    /// Print the daemon's default configuration, or check a configuration file
    #[command(after_help = CONFIG_EXIT_CODES, group(clap::ArgGroup::new("action").required(true).args(["print_default", "check"])))]
    Config {
        /// Print the default configuration: every key with its default value and what it does
        #[arg(long)]
        print_default: bool,
        /// Check a configuration file and the signature files it names; prints "FILE: ok"
        #[arg(long, value_name = "FILE")]
        check: Option<PathBuf>,
    },
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
        Command::Config {
            check: Some(path), ..
        } => match DaemonConfig::check_file(&path) {
            Ok((_, warnings)) => {
                for w in &warnings {
                    eprintln!("egress-ids: warning: {w}");
                }
                println!("{}: ok", path.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("egress-ids: error: {e}");
                ExitCode::from(2)
            }
        },
        Command::Config { check: None, .. } => {
            print!("{}", default_toml());
            ExitCode::SUCCESS
        }
        Command::Replay {
            eve,
            signatures,
            no_default_signatures,
            home_net,
            dns_grace,
            threads,
            flow_memcap,
            tcp_new_timeout,
            tcp_established_timeout,
            tcp_closed_timeout,
            udp_timeout,
            stats_interval,
            eve_types,
            quiet,
            pcaps,
        } => {
            let mut opts = ReplayOptions::new(pcaps);
            opts.eve = if eve == "-" {
                EveTarget::Stdout
            } else {
                EveTarget::File(eve.into())
            };
            opts.signature_paths = signatures;
            opts.replace_default_signatures = no_default_signatures;
            opts.home_net = (!home_net.is_empty()).then_some(home_net);
            opts.dns_grace_secs = dns_grace;
            if let Some(n) = threads {
                opts.threads = n.into();
            }
            opts.flow_memcap = flow_memcap;
            opts.timeouts = Timeouts {
                tcp_new: tcp_new_timeout,
                tcp_established: tcp_established_timeout,
                tcp_closed: tcp_closed_timeout,
                udp: udp_timeout,
            };
            opts.stats_interval = stats_interval;
            opts.eve_types = eve_types;
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
    }
}
