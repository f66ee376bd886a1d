//! The command line's arguments (clap) and their conversion into the library's options. Each
//! value is checked by its setting's function in `egress_ids::settings`, the same one the
//! daemon's file goes through, so a value gets the same verdict and the same words in both.
//! [`manual`] turns these definitions into man pages and shell completions.

pub(crate) mod manual;

use clap::builder::TypedValueParser;
use clap::error::ErrorKind;
use clap::{Args, CommandFactory, Parser, Subcommand};
use egress_ids::capture::live::{LiveConfig, DEFAULT_BUFFER_SIZE, DEFAULT_SNAPLEN};
use egress_ids::daemon::config::DEFAULT_CONFIG_PATH;
use egress_ids::detect::direct_ip::DEFAULT_DNS_GRACE_SECS;
use egress_ids::detect::rules::RuleSources;
use egress_ids::eve::EveTypes;
use egress_ids::flow::table::DEFAULT_MEMCAP;
use egress_ids::flow::Timeouts;
use egress_ids::options::AnalysisOptions;
use egress_ids::output::attribute::AttributeMode;
use egress_ids::output::sensor_name::SensorName;
use egress_ids::output::targets::{OutputSpec, RedisMode, RedisSpec, WebhookSpec};
use egress_ids::pipeline::DEFAULT_STATS_INTERVAL;
use egress_ids::replay::{EveTarget, ReplayOptions};
use egress_ids::run::RunOptions;
use egress_ids::sensor::SensorOptions;
use egress_ids::settings::{self, DEFAULT_THREADS, DEFAULT_WARMUP_SECS};
use egress_ids::units::format_size;
use ipnet::IpNet;
use proto::decode::{DecodeConfig, PortList};
use std::ffi::OsStr;
use std::fmt;
use std::path::PathBuf;

const CONFIG_EXIT_CODES: &str = "Exit codes:\n  0  printed, or the file is valid (warnings about this machine, such as a missing user, go to stderr)\n  2  the file is invalid: file:line:column and the key are named";
const DAEMON_HELP: &str = "Order at start: configuration and signatures checked, captures and outputs opened, file outputs handed to [privileges] user, then every capability dropped (and the user switched).\n\nSignals: SIGTERM or SIGINT stops capture, analyses what was captured, writes every event and exits 0 (a second one exits at once with 1); SIGHUP reloads the signature files and the egress policy (a bad file keeps the old set and is logged with file:line); SIGUSR1 reopens the EVE files (logrotate).\n\nExit codes:\n  0  stopped by a signal, every event written\n  2  bad configuration, setup error (interface, filter, signature file, output, user), or capture failed";
const EXIT_CODES: &str = "Exit codes:\n  0  no alert\n  1  at least one alert\n  2  usage or input error (bad arguments, unreadable or invalid capture, bad signature file)";
const RUN_HELP: &str = "Captures from before CMD starts until it and the processes it left have ended (plus a short drain), with CMD in a cgroup v2 leaf of its own and egress-ids as its subreaper; SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 are forwarded to CMD. At the end it prints a report: each alert with the destination and time.\n\nWith --inventory FILE, the lockfiles in the working directory (package-lock.json, npm-shrinkwrap.json, yarn.lock, pnpm-lock.yaml) are checked first: a package the inventory lacks fails the step with 3 before CMD starts (with --audit it is reported and CMD runs); no lockfile: said, and CMD runs; an unreadable one: 2, CMD not started.\n\nExit codes:\n  CMD's own  no alert (or --audit)\n  3          the step raised an alert (without --audit), or a lockfile names an unknown package (CMD did not run)\n  2          usage or setup error (CMD did not run)";
const LIVE_EXIT_CODES: &str = "Signals: SIGTERM or SIGINT stops capture, analyses what was captured, writes every event and exits 0 (a second one exits at once with 1); SIGHUP reloads the signature files and the egress policy (a bad file keeps the old set); SIGUSR1 reopens the EVE file (logrotate).\n\nExit codes:\n  0  stopped by a signal, every event written\n  2  usage or setup error (interface, filter, signature file, output), or capture failed";

#[derive(Parser)]
#[command(name = "egress-ids", version, about = "Passive network IDS for CI subnets: catches build steps that call home, writes Suricata EVE JSON", after_help = EXIT_CODES)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Replay pcap/pcapng files through the detections
    #[command(after_help = EXIT_CODES)]
    Replay(ReplayArgs),
    /// Capture live from network interfaces (a SPAN/tap port, or the runner's own interface) until SIGTERM/SIGINT
    #[command(after_help = LIVE_EXIT_CODES)]
    Live(LiveArgs),
    /// Run a command (a CI step) on this host and watch what it sends: `egress-ids run -- npm ci`
    #[command(after_help = RUN_HELP)]
    Run(RunArgs),
    /// Run as the host-mode daemon (systemd) on a CI runner, configured by a TOML file
    #[command(after_help = DAEMON_HELP)]
    Daemon {
        /// The configuration file (`egress-ids config --print-default` prints every key with its default)
        #[arg(long, value_name = "FILE", default_value = DEFAULT_CONFIG_PATH)]
        config: PathBuf,
        /// Do not print the summary on stderr when stopping
        #[arg(long, short)]
        quiet: bool,
    },
    /// Merge allowlists learned by `run --learn` (from several jobs or runners) into one: names
    /// and counts add up
    MergeLearned {
        /// The merged allowlist (NAME.allow-domains.txt); written whole, replacing what it held
        #[arg(long, short, value_name = "FILE", value_parser = settings::learn_file)]
        out: PathBuf,
        /// The learned files to merge
        #[arg(value_name = "LEARNED", required = true, num_args = 1..)]
        inputs: Vec<PathBuf>,
    },
    /// The organisation's npm package inventory from its lockfiles, and the check of a build's
    /// lockfile against it (phantom dependencies)
    #[command(subcommand)]
    Inventory(InventoryCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout, e.g.
    /// `egress-ids completions bash > /usr/share/bash-completion/completions/egress-ids`
    Completions {
        /// The shell to complete in
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Write the man pages: egress-ids.1 and one page per subcommand (the package build runs it)
    #[command(hide = true)]
    Man {
        /// The directory to write the pages into; without it, egress-ids.1 goes to stdout
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
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

#[derive(Args)]
pub(crate) struct ReplayArgs {
    /// EVE JSON output file; '-' writes to stdout
    #[arg(long, value_name = "PATH|-", default_value = "eve.json", value_parser = settings::file_path)]
    eve: PathBuf,
    #[command(flatten)]
    analysis: AnalysisArgs,
    /// Do not print the summary on stderr
    #[arg(long, short)]
    pub(crate) quiet: bool,
    /// Show a progress line on stderr (bytes, packets, alerts, rate, time left); the default on a terminal outside CI
    #[arg(long, conflicts_with = "no_progress")]
    progress: bool,
    /// Never show the progress line
    #[arg(long)]
    no_progress: bool,
    /// Capture files (pcap or pcapng), replayed in order as one stream; '-' reads standard input
    #[arg(value_name = "PCAP", required = true)]
    pcaps: Vec<PathBuf>,
}

const INVENTORY_BUILD_HELP: &str = "Reads package-lock.json and npm-shrinkwrap.json (lockfile versions 1-3), yarn.lock (yarn 1 and berry) and pnpm-lock.yaml (v5.x, v6, v9); directories are walked, skipping node_modules and .git, not following symbolic links to directories. Writes the registry package names (aliases as the real package, local and workspace packages left out), sorted, one per line; with --out atomically (FILE.tmp, then renamed). Summary on stderr: each lockfile with its format and counts, or why it was skipped.\n\nExit codes:\n  0  every lockfile read, inventory written\n  1  inventory written, but some path or lockfile was skipped (named on stderr)\n  2  nothing written: no lockfile found, bad arguments, or the output cannot be written";
const INVENTORY_CHECK_HELP: &str = "Prints, per lockfile, the seed's block `ALERT: Unknown packages not in organisation inventory:` with the names (on stdout; on stderr with --eve -), and with --eve one phantom-dependency EVE alert per unknown package per lockfile, whose alert.metadata names the lockfile and, when set, the CI repository and pipeline (GITHUB_REPOSITORY/GITHUB_RUN_ID, CI_PROJECT_PATH/CI_PIPELINE_ID, CI_REPO).\n\nExit codes:\n  0  every package is in the inventory\n  1  some lockfile names a package the inventory lacks\n  2  bad input: the inventory or a lockfile cannot be read or parsed (checked lockfiles are still reported)";

#[derive(Subcommand)]
pub(crate) enum InventoryCommand {
    /// Build the inventory: every package name of the lockfiles under PATH...
    #[command(after_help = INVENTORY_BUILD_HELP)]
    Build {
        /// Write the inventory here (default: standard output)
        #[arg(long, short, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Lockfiles, or directories to search for them
        #[arg(value_name = "PATH", required = true, num_args = 1..)]
        paths: Vec<PathBuf>,
    },
    /// Check lockfiles against the inventory, before `npm install` runs
    #[command(after_help = INVENTORY_CHECK_HELP)]
    Check {
        /// The inventory (`inventory build`, or the seed's known-packages.txt)
        #[arg(long, value_name = "FILE")]
        inventory: PathBuf,
        /// Write the EVE alerts to this file ('-' for standard output)
        #[arg(long, value_name = "FILE")]
        eve: Option<PathBuf>,
        /// The lockfiles to check
        #[arg(value_name = "LOCKFILE", required = true, num_args = 1..)]
        lockfiles: Vec<PathBuf>,
    },
}

#[derive(Args)]
pub(crate) struct RunArgs {
    /// Interface to capture on; repeatable (default: any, every interface of the host)
    #[arg(short = 'i', long = "interface", value_name = "IFACE", value_parser = settings::interface)]
    interfaces: Vec<String>,
    /// Also write every EVE event to this file
    #[arg(long, value_name = "PATH", value_parser = settings::file_path)]
    eve: Option<PathBuf>,
    /// Report alerts but exit with the command's own status
    #[arg(long)]
    audit: bool,
    /// After a clean run (no alert), write the names the step reached to this allowlist (NAME.allow-domains.txt, for --signatures), adding to what it holds
    #[arg(long, value_name = "FILE", value_parser = settings::learn_file)]
    learn: Option<PathBuf>,
    #[command(flatten)]
    analysis: AnalysisArgs,
    /// The command and its arguments, after `--`
    #[arg(
        value_name = "CMD",
        required = true,
        allow_hyphen_values = true,
        last = true
    )]
    command: Vec<std::ffi::OsString>,
}

impl RunArgs {
    pub(crate) fn into_options(self) -> Result<RunOptions, clap::Error> {
        let interfaces = if self.interfaces.is_empty() {
            vec!["any".to_string()]
        } else {
            self.interfaces
        };
        settings::interfaces(&interfaces).map_err(|(_, reason)| invalid("--interface", &reason))?;
        let mut opts = RunOptions::new(self.analysis.into_options(), self.command);
        opts.sensor.captures = interfaces
            .iter()
            .map(|i| LiveConfig::new(i.as_str()))
            .collect();
        opts.eve = self.eve;
        opts.audit = self.audit;
        opts.learn = self.learn;
        Ok(opts)
    }
}

#[derive(Args)]
pub(crate) struct LiveArgs {
    /// Interface to capture on; repeatable; 'any' captures every interface (Linux cooked v2) and stands alone
    #[arg(short = 'i', long = "interface", value_name = "IFACE", required = true, value_parser = settings::interface)]
    interfaces: Vec<String>,
    /// BPF capture filter, tcpdump syntax (e.g. 'not port 22')
    #[arg(long, value_name = "FILTER", value_parser = settings::bpf)]
    bpf: Option<String>,
    /// Put the interfaces in promiscuous mode (a SPAN port needs it; not with 'any')
    #[arg(long)]
    promisc: bool,
    /// Bytes captured per packet, 64 to 262144; 0 is 262144 (as tcpdump -s 0)
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_SNAPLEN, value_parser = settings::snaplen)]
    snaplen: u32,
    /// Kernel capture ring per interface, 64KiB to 2047MiB; bigger rides out longer bursts without drops
    #[arg(long, value_name = "SIZE", default_value_t = Size(DEFAULT_BUFFER_SIZE), value_parser = size(settings::buffer_size))]
    buffer_size: Size,
    /// Capture threads, 1 to 64: N opens each interface N times as one AF_PACKET fanout group (symmetric flow hash), one thread per ring running the whole analysis; --threads then does not apply
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = settings::capture_threads)]
    capture_threads: usize,
    /// Seconds after start during which direct-ip is not raised (DNS answers from before the start are unseen)
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_WARMUP_SECS, value_parser = settings::warmup)]
    warmup: u64,
    /// Name the process behind each alert and flow of this host's own traffic (the eBPF collector; needs root): without it, where the collector can start (traffic of other hosts, as on a SPAN port, is not looked up); with it, the sensor does not start unless it can
    #[arg(long, conflicts_with = "no_attribute")]
    attribute: bool,
    /// Do not start the process collector
    #[arg(long)]
    no_attribute: bool,
    /// EVE JSON output file, appended to and reopened on SIGUSR1; '-' writes to stdout
    #[arg(long, value_name = "PATH|-", default_value = "eve.json", value_parser = settings::file_path)]
    eve: PathBuf,
    /// Also send EVE lines to this Unix stream socket (another program listens; reconnects); repeatable
    #[arg(long, value_name = "PATH", value_parser = settings::socket_path)]
    unix_socket: Vec<PathBuf>,
    /// Also POST each alert as JSON to this http(s) URL (bounded queue, retries with backoff); repeatable
    #[arg(long, value_name = "URL", value_parser = SecretUrl::WEBHOOK)]
    webhook: Vec<String>,
    /// Also write EVE lines into Redis, as Suricata's redis output does (bounded queue, pipelined, reconnects): redis://[user:password@]host[:port][/db], rediss://... (TLS) or unix:///path
    #[arg(long, value_name = "URL", value_parser = SecretUrl::REDIS)]
    redis: Option<String>,
    /// What --redis does with each line: list or lpush (LPUSH), rpush, channel or publish (PUBLISH), stream or xadd (XADD key MAXLEN ~ N * eve LINE)
    #[arg(long, value_name = "MODE", default_value = "list", value_parser = settings::redis_mode, requires = "redis")]
    redis_mode: RedisMode,
    /// The --redis list, channel or stream
    #[arg(long, value_name = "KEY", default_value = RedisSpec::DEFAULT_KEY, value_parser = settings::redis_key, requires = "redis")]
    redis_key: String,
    /// --redis-mode stream: the length XADD trims the stream to, about (MAXLEN ~); 0 never trims
    #[arg(long, value_name = "N", default_value_t = 100_000, value_parser = settings::redis_stream_maxlen, requires = "redis")]
    redis_stream_maxlen: u64,
    /// The PEM file of the CA that signed a rediss:// server's certificate (default: the web PKI's roots)
    #[arg(long, value_name = "FILE", value_parser = settings::file_path, requires = "redis")]
    redis_ca_file: Option<PathBuf>,
    #[command(flatten)]
    analysis: AnalysisArgs,
    /// Do not print the summary on stderr
    #[arg(long, short)]
    pub(crate) quiet: bool,
}

/// Options shared by every mode: signatures, networks, threads, flow limits, event types.
/// Durations take seconds or a unit (`90s`, `10m`, `1h`).
#[derive(Args)]
struct AnalysisArgs {
    /// Extra signature list file or directory (ioc-domains.txt, ioc-ips.txt, allow-domains.txt, allow-ips.txt); repeatable
    #[arg(long = "signatures", value_name = "PATH", value_parser = settings::file_path)]
    signatures: Vec<PathBuf>,
    /// Use only the --signatures files, not the built-in lists
    #[arg(long)]
    no_default_signatures: bool,
    /// HOME_NET prefixes, comma-separated (default: 10/8, 172.16/12, 192.168/16, 100.64/10, 169.254/16, fc00::/7, fe80::/10)
    #[arg(long, value_name = "CIDR,...", value_delimiter = ',', value_parser = settings::home_net_prefix)]
    home_net: Vec<IpNet>,
    /// The runners' resolvers, addresses or prefixes, comma-separated: plain DNS to any other server raises dns-bypass (default: not judged)
    #[arg(long, value_name = "CIDR,...", value_delimiter = ',', value_parser = settings::resolver_prefix)]
    resolvers: Vec<IpNet>,
    /// Allowed egress destinations, one per line (`203.0.113.10/32 tcp/443`): any other egress flow raises egress-policy; read again with the signatures on SIGHUP
    #[arg(long, value_name = "FILE", value_parser = settings::file_path)]
    egress_policy: Option<PathBuf>,
    /// The organisation's package inventory (`egress-ids inventory build`): a cleartext npm registry request for a package it lacks raises phantom-dependency; read again with the signatures on SIGHUP
    #[arg(long, value_name = "FILE", value_parser = settings::file_path)]
    inventory: Option<PathBuf>,
    /// Suricata rules: a file, or a directory of *.rules files; repeatable. Rules may span lines; a rule egress-ids cannot run is refused alone, with file:line, sid and reason; read again on SIGHUP
    #[arg(long = "rules", value_name = "PATH", value_parser = settings::file_path)]
    rules: Vec<PathBuf>,
    /// A rule variable, NAME=VALUE (an address group, or a port group when NAME ends in _PORTS), over Suricata's defaults; repeatable
    #[arg(long = "rule-var", value_name = "NAME=VALUE", value_parser = settings::rule_var)]
    rule_vars: Vec<String>,
    /// Any refused rule is an error (exit 2) instead of a warning
    #[arg(long)]
    rules_strict: bool,
    /// Log LAN name discovery (mDNS on 5353, LLMNR on 5355) as dns events, as Zeek does; by default it is only counted. It never alerts either way, and NetBIOS is never logged as DNS
    #[arg(long)]
    log_lan_discovery: bool,
    /// Seconds a DNS answer still counts past its TTL for direct-ip
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_DNS_GRACE_SECS, value_parser = settings::dns_grace)]
    dns_grace: u64,
    /// Worker threads, at most 256; 0 is one per core, 1 runs everything on one thread
    #[arg(long, value_name = "N", default_value_t = DEFAULT_THREADS, value_parser = settings::threads)]
    threads: usize,
    /// Flow memory cap (flows and their buffers, all workers), at least 1MiB; the flows idle longest are evicted to stay under it
    #[arg(long, value_name = "SIZE", default_value_t = Size(DEFAULT_MEMCAP), value_parser = size(settings::flow_memcap))]
    flow_memcap: Size,
    /// Seconds of packet time a TCP flow may wait for its handshake to complete
    #[arg(long, value_name = "SECS", default_value_t = Timeouts::default().tcp_new, value_parser = settings::flow_timeout)]
    tcp_new_timeout: u64,
    /// Seconds of packet time an established TCP flow may stay idle
    #[arg(long, value_name = "SECS", default_value_t = Timeouts::default().tcp_established, value_parser = settings::flow_timeout)]
    tcp_established_timeout: u64,
    /// Seconds of packet time a TCP flow is kept after FIN or RST
    #[arg(long, value_name = "SECS", default_value_t = Timeouts::default().tcp_closed, value_parser = settings::flow_timeout)]
    tcp_closed_timeout: u64,
    /// Seconds of packet time a UDP flow may stay idle
    #[arg(long, value_name = "SECS", default_value_t = Timeouts::default().udp, value_parser = settings::flow_timeout)]
    udp_timeout: u64,
    /// Seconds of packet time between EVE stats events; 0 writes only the final one
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_STATS_INTERVAL, value_parser = settings::stats_interval)]
    stats_interval: u64,
    /// EVE event types to write, comma-separated: alert, tls, dns, http, flow, stats, anomaly, or all (alerts are always written; a type not written is not built)
    #[arg(long, value_name = "TYPE,...", default_value = "all", value_parser = settings::eve_types)]
    eve_types: EveTypes,
    /// Whether packets with a wrong checksum are inspected: auto (not inspected, but the partial checksums of packets captured on the sending host pass, and checks stop if over 10% of the first 1000 are wrong), yes (never inspected), no (always)
    #[arg(long, value_name = "MODE", default_value = "auto", value_parser = settings::checksum_validation)]
    checksum_validation: settings::ChecksumValidation,
    /// UDP destination ports decoded as VXLAN, comma-separated (e.g. 4789,8472; empty: none)
    #[arg(long, value_name = "PORT,...", default_value = "4789", value_parser = settings::tunnel_ports)]
    vxlan_ports: PortList,
    /// UDP destination ports decoded as GENEVE, comma-separated (empty: none)
    #[arg(long, value_name = "PORT,...", default_value = "6081", value_parser = settings::tunnel_ports)]
    geneve_ports: PortList,
    /// This sensor's name, written as "host" at the end of every EVE record (Suricata's sensor-name); default: no such field
    #[arg(long, value_name = "NAME", value_parser = settings::sensor_name)]
    sensor_name: Option<SensorName>,
}

/// A byte size, shown in help as it is written (`64MiB`).
#[derive(Clone, Copy)]
struct Size(usize);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_size(self.0))
    }
}

/// A size setting's check as a clap value parser.
fn size(
    check: fn(&str) -> Result<usize, String>,
) -> impl Fn(&str) -> Result<Size, String> + Clone + Send + Sync + 'static {
    move |text| check(text).map(Size)
}

/// `--webhook`'s and `--redis`'s value parser: [`settings::webhook_url`] or
/// [`settings::redis_url`], with a refusal worded without the value itself (clap would repeat
/// it, and a URL may hold a password or a token; the reason shows it without them).
#[derive(Clone)]
struct SecretUrl {
    flag: &'static str,
    check: fn(&str) -> Result<String, String>,
}

impl SecretUrl {
    const WEBHOOK: SecretUrl = SecretUrl {
        flag: "--webhook",
        check: settings::webhook_url,
    };
    const REDIS: SecretUrl = SecretUrl {
        flag: "--redis",
        check: settings::redis_url,
    };
}

impl TypedValueParser for SecretUrl {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<String, clap::Error> {
        let flag = arg.map_or_else(|| self.flag.to_string(), ToString::to_string);
        let refuse = |reason: String| {
            cmd.clone()
                .error(ErrorKind::ValueValidation, format!("{flag}: {reason}"))
        };
        let text = value
            .to_str()
            .ok_or_else(|| refuse("the URL is not UTF-8".into()))?;
        (self.check)(text).map_err(refuse)
    }
}

/// A refusal that involves several flags (checked after parsing), worded as clap words its own.
fn invalid(flag: &str, reason: &str) -> clap::Error {
    let mut cli = Cli::command();
    cli.build();
    let mut error = clap::Error::raw(ErrorKind::ValueValidation, format!("{flag}: {reason}"));
    if let Some(live) = cli.find_subcommand_mut("live") {
        error = error.format(live);
    }
    error
}

impl AnalysisArgs {
    fn into_options(self) -> AnalysisOptions {
        AnalysisOptions {
            signature_paths: self.signatures,
            replace_default_signatures: self.no_default_signatures,
            home_net: (!self.home_net.is_empty()).then_some(self.home_net),
            resolvers: (!self.resolvers.is_empty()).then_some(self.resolvers),
            egress_policy: self.egress_policy,
            inventory: self.inventory,
            rules: RuleSources {
                paths: self.rules,
                vars: self.rule_vars,
                strict: self.rules_strict,
            },
            dns_grace_secs: self.dns_grace,
            threads: settings::worker_threads(self.threads),
            timeouts: Timeouts {
                tcp_new: self.tcp_new_timeout,
                tcp_established: self.tcp_established_timeout,
                tcp_closed: self.tcp_closed_timeout,
                udp: self.udp_timeout,
            },
            flow_memcap: self.flow_memcap.0,
            stats_interval: self.stats_interval,
            eve_types: self.eve_types,
            checksum_validation: self.checksum_validation,
            tunnel_ports: DecodeConfig {
                vxlan_ports: self.vxlan_ports,
                geneve_ports: self.geneve_ports,
            },
            sensor_name: self.sensor_name,
            log_lan_discovery: self.log_lan_discovery,
        }
    }
}

/// `-` for standard output, else a file.
fn is_stdout(path: &std::path::Path) -> bool {
    path.as_os_str() == "-"
}

impl ReplayArgs {
    pub(crate) fn into_options(self) -> ReplayOptions {
        let mut opts = ReplayOptions::new(self.pcaps);
        opts.eve = if is_stdout(&self.eve) {
            EveTarget::Stdout
        } else {
            EveTarget::File(self.eve)
        };
        opts.analysis = self.analysis.into_options();
        opts.progress = self.progress
            || (!self.no_progress
                && !self.quiet
                && std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("CI").is_none());
        opts
    }
}

impl LiveArgs {
    /// What the sensor runs with, and where its events go. The checks that involve several
    /// flags are the daemon's too: the interface list, promiscuous mode on `any`, an output
    /// given twice.
    pub(crate) fn into_sensor(self) -> Result<(SensorOptions, Vec<OutputSpec>), clap::Error> {
        settings::interfaces(&self.interfaces)
            .map_err(|(_, reason)| invalid("--interface", &reason))?;
        let promisc = settings::promisc(self.promisc, &self.interfaces)
            .map_err(|reason| invalid("--promisc", &reason))?;
        if let (Some(url), Some(_)) = (&self.redis, &self.redis_ca_file) {
            settings::redis_ca_file_applies(url)
                .map_err(|reason| invalid("--redis-ca-file", &reason))?;
        }
        let outputs = self.outputs();
        settings::distinct_outputs(&outputs).map_err(|(i, reason)| {
            let flag = match outputs.get(i) {
                Some(OutputSpec::Webhook(_)) => "--webhook",
                Some(OutputSpec::Redis(_)) => "--redis",
                _ => "--unix-socket",
            };
            invalid(flag, &reason)
        })?;
        let captures = self
            .interfaces
            .iter()
            .map(|interface| LiveConfig {
                bpf: self.bpf.clone(),
                promisc,
                snaplen: self.snaplen,
                buffer_size: self.buffer_size.0,
                ..LiveConfig::new(interface.as_str())
            })
            .collect();
        let opts = SensorOptions {
            captures,
            analysis: self.analysis.into_options(),
            warmup_secs: self.warmup,
            capture_threads: self.capture_threads,
            attribute: match (self.attribute, self.no_attribute) {
                (true, _) => AttributeMode::Required,
                (false, true) => AttributeMode::Off,
                (false, false) => AttributeMode::Auto,
            },
        };
        Ok((opts, outputs))
    }

    /// `--eve`, then every `--unix-socket`, then every `--webhook`, then `--redis`.
    fn outputs(&self) -> Vec<OutputSpec> {
        let eve = if is_stdout(&self.eve) {
            OutputSpec::Stdout
        } else {
            OutputSpec::File {
                path: self.eve.clone(),
            }
        };
        let sockets = self
            .unix_socket
            .iter()
            .map(|path| OutputSpec::UnixSocket { path: path.clone() });
        let webhooks = self
            .webhook
            .iter()
            .map(|url| OutputSpec::Webhook(WebhookSpec::new(url.as_str())));
        let redis = self.redis.iter().map(|url| {
            let mut spec = RedisSpec::new(url.as_str());
            spec.mode = self.redis_mode;
            spec.key = self.redis_key.clone();
            spec.stream_maxlen = self.redis_stream_maxlen;
            spec.ca_file = self.redis_ca_file.clone();
            OutputSpec::Redis(spec)
        });
        std::iter::once(eve)
            .chain(sockets)
            .chain(webhooks)
            .chain(redis)
            .collect()
    }
}
