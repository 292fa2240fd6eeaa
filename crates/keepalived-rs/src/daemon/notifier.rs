//! Notifications on state changes: keepalived's notify scripts (`notify_master`,
//! `notify_backup`, `notify_fault`, `notify_stop`, `notify`) and the notify FIFO, in the
//! order the transitions happened. Scripts are started in order and not waited for, as
//! keepalived does; FIFO lines are written in order.

use super::plan::NotifyScripts;
use ka_config::script::Script;
use ka_vrrp::State;
use std::path::PathBuf;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

/// One state change to announce.
#[derive(Clone, Debug)]
pub struct Notification {
    /// "INSTANCE" or "GROUP".
    pub kind: &'static str,
    pub name: String,
    pub state: State,
    pub priority: u8,
    pub scripts: NotifyScripts,
}

impl Notification {
    /// The FIFO line: `INSTANCE "VI_1" MASTER 100`.
    pub fn fifo_line(&self) -> String {
        format!(
            "{} \"{}\" {} {}\n",
            self.kind,
            self.name,
            self.state.keepalived_name(),
            self.priority
        )
    }
}

/// Starts the notifier task; send it notifications in the order they happen.
pub fn spawn(fifo: Option<PathBuf>) -> (mpsc::UnboundedSender<Notification>, tokio::task::JoinHandle<()>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Notification>();
    let handle = tokio::spawn(async move {
        let mut fifo_file: Option<tokio::fs::File> = None;
        while let Some(n) = rx.recv().await {
            let specific = match n.state {
                State::Master => n.scripts.master.as_ref(),
                State::Backup => n.scripts.backup.as_ref(),
                State::Fault => n.scripts.fault.as_ref(),
                State::Stop => n.scripts.stop.as_ref(),
                State::Init => None,
            };
            if let Some(s) = specific {
                start(s, &[]);
            }
            if let Some(s) = &n.scripts.any {
                let prio = n.priority.to_string();
                start(s, &[n.kind, &n.name, n.state.keepalived_name(), &prio]);
            }
            if let Some(path) = &fifo {
                if fifo_file.is_none() {
                    // Open without blocking forever when nobody reads the FIFO yet.
                    fifo_file = tokio::fs::OpenOptions::new()
                        .write(true)
                        .custom_flags(libc::O_NONBLOCK)
                        .open(path)
                        .await
                        .ok();
                }
                if let Some(f) = &mut fifo_file {
                    if f.write_all(n.fifo_line().as_bytes()).await.is_err() {
                        fifo_file = None;
                    }
                }
            }
        }
    });
    (tx, handle)
}

/// Starts a script with extra arguments, without waiting for it.
fn start(script: &Script, extra: &[&str]) {
    let Some(program) = script.args.first() else {
        return;
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(&script.args[1..])
        .args(extra)
        .stdin(std::process::Stdio::null());
    cmd.kill_on_drop(false);
    match cmd.spawn() {
        Ok(mut child) => {
            // Reap it in the background so it does not linger as a zombie.
            tokio::spawn(async move {
                let _ = child.wait().await;
            });
        }
        Err(e) => crate::warn!("cannot run notify script {}: {e}", script.command),
    }
}
