//! keepalived-rs: a keepalived-compatible VRRP and LVS health-checking daemon.

#[macro_use]
mod logging;
mod cli;
mod config_test;
mod daemon;
mod genhash;
mod lab;
mod list;
mod realserver;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // genhash has keepalived's own option syntax (and `-T`/`--genhash`, or the binary named
    // genhash): it is recognised before clap sees the words.
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(code) = genhash::dispatch(&argv) {
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    let cli = cli::Cli::parse_from(list::ipvsadm_style_args(argv));
    let code = match cli.command {
        Some(cli::Command::Check { file, config_id }) => config_test::run(&file, config_id, ""),
        Some(cli::Command::Lab {
            keep,
            ci,
            dataplane,
            action,
        }) => match action.as_deref() {
            None => lab::run(lab::Options {
                keep,
                plain: ci || !std::io::IsTerminal::is_terminal(&std::io::stdout()),
                dataplane,
            }),
            Some("down") => lab::down(),
            Some(other) => {
                eprintln!("keepalived-rs lab: unknown action '{other}' (expected down)");
                2
            }
        },
        Some(cli::Command::Ctl { socket, action }) => ctl(socket, &action),
        Some(cli::Command::Realserver { vip, dev, action }) => realserver::run(vip, &dev, &action),
        Some(cli::Command::Genhash { args }) => genhash::run("keepalived-rs", " genhash", &args),
        Some(cli::Command::List(args)) => list::run(&args),
        None => run_keepalived_style(cli.daemon),
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// `keepalived-rs ctl ACTION`: one request to the daemon's control socket.
fn ctl(socket: Option<std::path::PathBuf>, action: &str) -> i32 {
    let socket = socket.unwrap_or_else(daemon::control::default_socket);
    let (method, path) = match action {
        "status" => ("GET", "/status"),
        "metrics" => ("GET", "/metrics"),
        "stats" => ("GET", "/stats"),
        "json" => ("GET", "/keepalived.json"),
        "reload" => ("POST", "/reload"),
        "drain" => ("POST", "/drain"),
        "resume" => ("POST", "/resume"),
        "list" => return list::run(&list::ListArgs::default()),
        other => {
            eprintln!(
                "keepalived-rs ctl: unknown action '{other}' (status, metrics, stats, json, reload, drain, resume, list)"
            );
            return 2;
        }
    };
    match daemon::control::request(&socket, method, path) {
        Ok((code, body)) if (200..300).contains(&code) => {
            print!("{body}");
            0
        }
        Ok((code, body)) => {
            eprint!("keepalived-rs ctl: the daemon answered {code}: {body}");
            1
        }
        Err(e) => {
            eprintln!("keepalived-rs ctl: {e}");
            1
        }
    }
}

fn run_keepalived_style(args: cli::DaemonArgs) -> i32 {
    if args.version {
        eprintln!("{}", version_text());
        return 0;
    }
    if let Some(name) = &args.signum {
        return match signum(name) {
            Some(n) => {
                println!("{n}");
                0
            }
            None => {
                eprintln!("Unknown sigfunc {name}");
                1
            }
        };
    }
    if let Some(target) = &args.config_test {
        return config_test::run(&args.use_file, args.config_id.clone(), target);
    }
    if args.dump_conf {
        return config_test::dump(&args.use_file, args.config_id.clone());
    }
    logging::init(
        args.log_console,
        !args.no_syslog,
        args.log_detail,
        logging::facility_from(args.log_facility.as_deref()),
    );
    daemon::run(&args)
}

fn version_text() -> String {
    format!(
        "keepalived-rs v{} (reads keepalived 2.2.x configurations)\n\nA Rust successor to keepalived: VRRP, LVS health checking, IPVS and nftables data planes.",
        env!("CARGO_PKG_VERSION")
    )
}

/// keepalived's `--signum`: the signal number a signal function uses.
fn signum(function: &str) -> Option<i32> {
    const SIGHUP: i32 = 1;
    const SIGINT: i32 = 2;
    const SIGUSR1: i32 = 10;
    const SIGUSR2: i32 = 12;
    const SIGTERM: i32 = 15;
    const SIGRTMIN: i32 = 34;
    const SIGRTMAX: i32 = 64;
    Some(match function {
        "RELOAD" => SIGHUP,
        "STOP" => SIGTERM,
        "DATA" => SIGUSR1,
        "STATS" => SIGUSR2,
        "STATS_CLEAR" => SIGRTMAX - 1,
        "JSON" => SIGRTMIN + 2,
        "TDATA" => SIGRTMAX,
        "INT" => SIGINT,
        _ => return None,
    })
}
