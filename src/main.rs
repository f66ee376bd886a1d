//! The `egress-ids` command line: parses arguments and calls the library. Nothing else lives here.

use clap::{Args, Parser, Subcommand};
use egress_ids::capture::live::LiveConfig;
use egress_ids::daemon::{default_toml, DaemonConfig};
use egress_ids::eve::EveTypes;
use egress_ids::flow::Timeouts;
use egress_ids::options::parse_flow_memcap;
use egress_ids::options::AnalysisOptions;
use egress_ids::output::summary;
use egress_ids::output::targets::{OutputSpec, WebhookSpec};
use egress_ids::privileges::RunAs;
use egress_ids::replay::{replay, EveTarget, ReplayOptions};
use egress_ids::sensor::serve::Privileges;
use egress_ids::sensor::{self, SensorOptions};
use egress_ids::units::parse_size;
use ipnet::IpNet;
use std::path::PathBuf;
use std::process::ExitCode;

const CONFIG_EXIT_CODES: &str = "Exit codes:\n  0  printed, or the file is valid (warnings about this machine, such as a missing user, go to stderr)\n  2  the file is invalid: file:line:column and the key are named";
const DAEMON_HELP: &str = "Order at start: configuration and signatures checked, captures and outputs opened, file outputs handed to [privileges] user, then every capability dropped (and the user switched).\n\nSignals: SIGTERM or SIGINT stops capture, analyses what was captured, writes every event and exits 0 (a second one exits at once with 1); SIGHUP reloads the signature files (a bad file keeps the old set and is logged with file:line); SIGUSR1 reopens the EVE files (logrotate).\n\nExit codes:\n  0  stopped by a signal, every event written\n  2  bad configuration, setup error (interface, filter, signature file, output, user), or capture failed";
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
        /// Put the interfaces in promiscuous mode (a SPAN port needs it)
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
    /// Run as the host-mode daemon (systemd) on a CI runner, configured by a TOML file
    #[command(after_help = DAEMON_HELP)]
    Daemon {
        /// The configuration file (`egress-ids config --print-default` prints every key with its default)
        #[arg(long, value_name = "FILE", default_value = egress_ids::daemon::config::DEFAULT_CONFIG_PATH)]
        config: PathBuf,
        /// Do not print the summary on stderr when stopping
        #[arg(long, short)]
        quiet: bool,
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
        Command::Daemon { config, quiet } => daemon(&config, quiet),
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
                        eprint!("{}", summary::render(&outcome.counters, outcome.elapsed));
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
            serve(&opts, &outputs, Privileges::Keep, quiet)
        }
    }
}

fn log(line: &str) {
    eprintln!("egress-ids: {line}");
}

fn daemon(path: &std::path::Path, quiet: bool) -> ExitCode {
    let config = match DaemonConfig::load(path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("egress-ids: error: {e}");
            return ExitCode::from(2);
        }
    };
    let privileges = match &config.privileges.user {
        None => Privileges::DropCapabilities,
        Some(user) => match RunAs::resolve(user, config.privileges.group.as_deref()) {
            Ok(run_as) => Privileges::Switch(run_as),
            Err(e) => {
                eprintln!("egress-ids: error: {}: {e}", path.display());
                return ExitCode::from(2);
            }
        },
    };
    log(&format!("configuration {}", path.display()));
    serve(&config.sensor_options(), &config.outputs, privileges, quiet)
}

/// Runs a sensor to its end and turns what it reports into the summary and an exit code.
fn serve(
    opts: &SensorOptions,
    outputs: &[OutputSpec],
    privileges: Privileges,
    quiet: bool,
) -> ExitCode {
    let stopped = match sensor::serve::serve(opts, outputs, privileges, &log) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("egress-ids: error: {e}");
            return ExitCode::from(2);
        }
    };
    if !quiet {
        eprint!("{}", summary::render(&stopped.counters, stopped.elapsed));
        for target in &stopped.outputs.targets {
            eprintln!("  output {target}");
        }
    }
    if let Some(e) = &stopped.capture_error {
        eprintln!("egress-ids: error: {e}");
        return ExitCode::from(2);
    }
    if stopped.outputs.has_errors() {
        eprintln!("egress-ids: error: an output failed; see its line above");
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}
