//! The `egress-ids` command line: parses arguments (`cli`) and calls the library, one function per
//! subcommand. Nothing else lives here.

mod cli;

use clap::Parser;
use cli::{Cli, Command, InventoryCommand, LiveArgs, ReplayArgs, RunArgs};
use egress_ids::daemon::{default_toml, DaemonConfig};
use egress_ids::inventory::command;
use egress_ids::output::summary;
use egress_ids::output::targets::OutputSpec;
use egress_ids::privileges::RunAs;
use egress_ids::replay::replay;
use egress_ids::sensor::serve::Privileges;
use egress_ids::sensor::{self, SensorOptions};
use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    match cli.command {
        Command::Config {
            check: Some(path), ..
        } => check_config(&path),
        Command::Config { check: None, .. } => {
            print!("{}", default_toml());
            ExitCode::SUCCESS
        }
        Command::Daemon { config, quiet } => daemon(&config, quiet),
        Command::Replay(args) => run_replay(args),
        Command::Live(args) => live(args),
        Command::Run(args) => run_step(args),
        Command::MergeLearned { out, inputs } => merge_learned(&out, &inputs),
        Command::Inventory(InventoryCommand::Build { out, paths }) => {
            inventory_exit(command::build_command(out.as_deref(), &paths))
        }
        Command::Inventory(InventoryCommand::Check {
            inventory,
            eve,
            lockfiles,
        }) => inventory_exit(command::check_command(
            &inventory,
            eve.as_deref(),
            &lockfiles,
        )),
        Command::Completions { shell } => {
            match cli::manual::completions(shell, &mut std::io::stdout().lock()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => error(format!("writing the completion script: {e}")),
            }
        }
        Command::Man { out } => man(out.as_deref()),
    }
}

/// `egress-ids inventory build` and `inventory check`: their exit code, or 2 with the reason.
fn inventory_exit(result: Result<u8, String>) -> ExitCode {
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => error(e),
    }
}

/// `egress-ids merge-learned -o OUT A B ...`: 0, or 2 naming the file (and line) it could not
/// read or write.
fn merge_learned(out: &std::path::Path, inputs: &[std::path::PathBuf]) -> ExitCode {
    match egress_ids::run::learn::merge_files(out, inputs) {
        Ok(names) => {
            eprintln!(
                "egress-ids: {}: {names} names from {} learned files",
                out.display(),
                inputs.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("egress-ids: {e}");
            ExitCode::from(2)
        }
    }
}

/// `egress-ids man [--out DIR]`: the pages written (their paths on stdout), or the main page on
/// stdout.
fn man(dir: Option<&Path>) -> ExitCode {
    let result = match dir {
        None => cli::manual::render_main_page(&mut std::io::stdout().lock()),
        Some(dir) => cli::manual::write_pages(dir).map(|pages| {
            for page in pages {
                println!("{}", page.display());
            }
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => error(format!("writing the man pages: {e}")),
    }
}

/// `egress-ids run -- CMD`: the command's status, or 3 when it called home.
fn run_step(args: RunArgs) -> ExitCode {
    let opts = match args.into_options() {
        Ok(o) => o,
        Err(e) => return usage_error(&e),
    };
    let command: Vec<String> = opts
        .command
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    match egress_ids::run::run(&opts, &log) {
        Ok(outcome) => {
            eprint!(
                "{}",
                egress_ids::run::report::render(
                    &command.join(" "),
                    &outcome,
                    opts.audit,
                    opts.learn.as_deref()
                )
            );
            ExitCode::from(outcome.exit_code(opts.audit))
        }
        Err(e @ egress_ids::run::RunError::PhantomDependencies { .. }) => {
            eprintln!("egress-ids run: `{}`: {e}", command.join(" "));
            ExitCode::from(egress_ids::run::EXIT_CALLED_HOME)
        }
        Err(e) => error(e),
    }
}

/// Prints a clap error (or the help or version it stands for); exits 2 for an error.
fn usage_error(e: &clap::Error) -> ExitCode {
    let code = if e.use_stderr() { 2 } else { 0 };
    let _ = e.print();
    ExitCode::from(code)
}

fn log(line: &str) {
    eprintln!("egress-ids: {line}");
}

fn error(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("egress-ids: error: {e}");
    ExitCode::from(2)
}

/// `egress-ids config --check FILE`.
fn check_config(path: &Path) -> ExitCode {
    match DaemonConfig::check_file(path) {
        Ok((_, warnings)) => {
            for w in &warnings {
                eprintln!("egress-ids: warning: {w}");
            }
            println!("{}: ok", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => error(e),
    }
}

/// `egress-ids replay`: exit 1 when there was an alert.
fn run_replay(args: ReplayArgs) -> ExitCode {
    let quiet = args.quiet;
    let outcome = match replay(&args.into_options()) {
        Ok(outcome) => outcome,
        Err(e) => return error(e),
    };
    for w in &outcome.warnings {
        eprintln!("egress-ids: warning: {w}");
    }
    if !quiet {
        for note in &outcome.notes {
            eprintln!("egress-ids: {note}");
        }
        eprint!("{}", summary::render(&outcome.counters, outcome.elapsed));
    }
    ExitCode::from(u8::from(outcome.counters.total_alerts() > 0))
}

/// `egress-ids live`.
fn live(args: LiveArgs) -> ExitCode {
    let quiet = args.quiet;
    match args.into_sensor() {
        Ok((opts, outputs)) => serve(&opts, &outputs, Privileges::Keep, quiet),
        Err(e) => usage_error(&e),
    }
}

/// `egress-ids daemon`.
fn daemon(path: &Path, quiet: bool) -> ExitCode {
    let config = match DaemonConfig::load(path) {
        Ok(c) => c,
        Err(e) => return error(e),
    };
    let privileges = match &config.privileges.user {
        None => Privileges::DropCapabilities,
        Some(user) => match RunAs::resolve(user, config.privileges.group.as_deref()) {
            Ok(run_as) => Privileges::Switch(run_as),
            Err(e) => return error(format!("{}: {e}", path.display())),
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
        Err(e) => return error(e),
    };
    if !quiet {
        eprint!("{}", summary::render(&stopped.counters, stopped.elapsed));
        for target in &stopped.outputs.targets {
            eprintln!("  output {target}");
        }
    }
    if let Some(e) = &stopped.capture_error {
        return error(e);
    }
    if stopped.outputs.has_errors() {
        return error("an output failed; see its line above");
    }
    ExitCode::SUCCESS
}
