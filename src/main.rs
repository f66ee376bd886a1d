//! The `egress-ids` command line: parses arguments and calls the library. Nothing else lives here.

use clap::{Parser, Subcommand};
use egress_ids::replay::{replay, EveTarget, ReplayOptions};
use ipnet::IpNet;
use std::path::PathBuf;
use std::process::ExitCode;

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
        /// Do not print the summary on stderr
        #[arg(long, short)]
        quiet: bool,
        /// Capture files (pcap or pcapng), replayed in order as one stream; '-' reads standard input
        #[arg(value_name = "PCAP", required = true)]
        pcaps: Vec<PathBuf>,
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
        Command::Replay {
            eve,
            signatures,
            no_default_signatures,
            home_net,
            dns_grace,
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
