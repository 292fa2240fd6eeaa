//! `keepalived-rs lab`: the seed article's whole cluster on this machine, in one command.
//!
//! Two directors run keepalived-rs with the seed's master.conf and backup.conf values
//! (examples/seed, addresses moved to 192.0.2.0/24), two DR real servers run a web server
//! that answers with its name (the VIP on lo, arp_ignore 1 / arp_announce 2, set up with
//! `keepalived-rs realserver`), and a client sends a steady stream of requests through the
//! VIP. The seed's story then runs as a timed script, each step checked against the bound the
//! protocol gives:
//!
//! 1. the master holds the VIP and traffic reaches both real servers;
//! 2. the master is killed: the backup takes the VIP (failover time, failed requests);
//! 3. the master comes back and takes the VIP back;
//! 4. a real server's web service stops: it is removed from the table, traffic goes on;
//! 5. it starts again: it is added back.
//!
//! A terminal shows a live status table; `--ci` (or output that is not a terminal) prints
//! plain lines. Everything is removed at the end and on Ctrl-C, unless `--keep`; `lab down`
//! removes a kept lab.

mod client;
mod story;
mod topology;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The lab's options.
#[derive(Clone, Debug)]
pub struct Options {
    /// Leave the cluster running for exploration.
    pub keep: bool,
    /// Plain lines, no live table.
    pub plain: bool,
    /// `--dataplane` for the directors.
    pub dataplane: String,
}

/// `keepalived-rs lab`; returns the exit code (0: every step within its bound).
pub fn run(opts: Options) -> i32 {
    if !is_root() {
        eprintln!("keepalived-rs lab: must run as root (it creates network namespaces)");
        return 1;
    }
    let missing: Vec<&str> = ["ip", "nft"].into_iter().filter(|p| !topology::have(p)).collect();
    if !missing.is_empty() {
        eprintln!(
            "keepalived-rs lab: missing {} (apt-get install iproute2 nftables nginx-light)",
            missing.join(", ")
        );
        return 1;
    }
    let interrupted = Arc::new(AtomicBool::new(false));
    watch_interrupts(interrupted.clone());
    // A lab left by an earlier run (or interrupted setup) goes first.
    let leftovers = topology::tear_down();
    if !leftovers.is_empty() {
        println!("removed a previous lab ({} objects)", leftovers.len());
    }
    let code = match story::Lab::setup(&opts) {
        Ok(mut lab) => {
            let code = lab.play(&interrupted);
            if opts.keep && !interrupted.load(Ordering::Relaxed) {
                lab.detach();
                print_keep_help();
            }
            code
        }
        Err(e) => {
            eprintln!("keepalived-rs lab: setup failed: {e}");
            1
        }
    };
    if !opts.keep || interrupted.load(Ordering::Relaxed) {
        topology::tear_down();
    }
    code
}

/// `keepalived-rs lab down`.
pub fn down() -> i32 {
    let removed = topology::tear_down();
    if removed.is_empty() {
        println!("no lab running");
    }
    for r in removed {
        println!("{r}");
    }
    0
}

fn print_keep_help() {
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "keepalived-rs".into());
    println!("\nThe lab is still running. To look around:");
    println!("  ip netns list                                   # the machines");
    println!("  ip netns exec karslab-director1 {exe} list      # the load-balancer table");
    println!("  ip -n karslab-director1 addr show enp0s3        # who holds the VIP 192.0.2.99");
    println!("  ip netns exec karslab-client curl -s http://192.0.2.99/");
    println!("  tail -f {}/director1.log", topology::LAB_DIR);
    println!("  {exe} lab down                                  # remove it all");
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Ctrl-C and SIGTERM set the flag; the story notices, stops and cleans up.
fn watch_interrupts(flag: Arc<AtomicBool>) {
    let _ = std::thread::Builder::new()
        .name("lab-signals".into())
        .spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            rt.block_on(async {
                use tokio::signal::unix::{signal, SignalKind};
                let (Ok(mut int), Ok(mut term)) =
                    (signal(SignalKind::interrupt()), signal(SignalKind::terminate()))
                else {
                    return;
                };
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
                flag.store(true, Ordering::Relaxed);
            });
        });
}
