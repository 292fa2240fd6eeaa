//! Notifications on state changes: keepalived's notify scripts (`notify_master`,
//! `notify_backup`, `notify_fault`, `notify_stop`, `notify`) and the notify FIFO, in the
//! order the transitions happened. Scripts are started in order and not waited for, as
//! keepalived does; FIFO lines are written in order.

use super::plan::{FifoPlan, FifoRole, NotifyScripts};
use ka_config::script::Script;
use ka_process as script_exec;
use ka_vrrp::State;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::time::Duration;
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

/// Where to send what the notifier announces.
#[derive(Clone)]
pub struct NotifierHandle {
    /// VRRP state changes, in the order they happen.
    pub vrrp: mpsc::UnboundedSender<Notification>,
    /// Health-checker FIFO lines (`RS ... UP`, `VS ... DOWN`), newline included.
    pub lvs: mpsc::UnboundedSender<String>,
}

/// Starts the notifier task. The FIFOs are opened first (keepalived opens them when its
/// processes start). When both senders are dropped the task waits up to a second for
/// `notify_stop` scripts (keepalived's TIMER_HZ), kills what is left of them, and removes the
/// FIFOs it created.
pub fn spawn(fifos: Vec<FifoPlan>) -> (NotifierHandle, tokio::task::JoinHandle<()>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Notification>();
    let (lvs_tx, mut lvs_rx) = mpsc::unbounded_channel::<String>();
    let handle = tokio::spawn(async move {
        let mut open: Vec<OpenFifo> = fifos.iter().filter_map(OpenFifo::open).collect();
        let mut stop_scripts: Vec<tokio::process::Child> = Vec::new();
        let (mut vrrp_open, mut lvs_open) = (true, true);
        while vrrp_open || lvs_open {
            let n = tokio::select! {
                n = rx.recv(), if vrrp_open => match n {
                    Some(n) => n,
                    None => {
                        vrrp_open = false;
                        continue;
                    }
                },
                line = lvs_rx.recv(), if lvs_open => {
                    match line {
                        Some(line) => {
                            for f in open.iter_mut().filter(|f| f.role != FifoRole::Vrrp) {
                                f.write_line(&line);
                            }
                        }
                        None => lvs_open = false,
                    }
                    continue;
                }
            };
            let specific = match n.state {
                State::Master => n.scripts.master.as_ref(),
                State::Backup => n.scripts.backup.as_ref(),
                State::Fault => n.scripts.fault.as_ref(),
                State::Stop => n.scripts.stop.as_ref(),
                State::Init => None,
            };
            if let Some(s) = specific {
                if let Some(child) = start(s, &[]) {
                    if n.state == State::Stop {
                        stop_scripts.push(child);
                    } else {
                        reap(child);
                    }
                }
            }
            if let Some(s) = &n.scripts.any {
                let prio = n.priority.to_string();
                if let Some(child) = start(s, &[n.kind, &n.name, n.state.keepalived_name(), &prio]) {
                    if n.state == State::Stop {
                        stop_scripts.push(child);
                    } else {
                        reap(child);
                    }
                }
            }
            let line = n.fifo_line();
            for f in open.iter_mut().filter(|f| f.role != FifoRole::Lvs) {
                f.write_line(&line);
            }
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
        for mut child in stop_scripts {
            if tokio::time::timeout_at(deadline, child.wait()).await.is_err() {
                kill_group(&child);
                let _ = child.wait().await;
            }
        }
        // The FIFOs' readers get the STOP lines, then end of file; those still running a
        // second later are terminated. (keepalived terminates them *before* writing STOP.)
        let mut readers = Vec::new();
        for f in open {
            readers.extend(f.close());
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
        for mut child in readers {
            if tokio::time::timeout_at(deadline, child.wait()).await.is_err() {
                terminate_group(&child);
                let _ = tokio::time::timeout(Duration::from_secs(1), child.wait()).await;
            }
        }
    });
    (
        NotifierHandle {
            vrrp: tx,
            lvs: lvs_tx,
        },
        handle,
    )
}

/// A notify FIFO held open for writing.
struct OpenFifo {
    role: FifoRole,
    path: PathBuf,
    file: std::fs::File,
    /// We made it, so we remove it on exit (keepalived's `created_fifo`).
    created: bool,
    /// Lines dropped because the reader was not keeping up (the FIFO was full).
    dropped: u64,
    /// The FIFO's script (`notify_fifo_script`), if it is running.
    reader: Option<tokio::process::Child>,
}

impl OpenFifo {
    /// keepalived's `fifo_open`: mkfifo 0644 owned by the FIFO's user, start its script with
    /// the path appended, then open it read-write and non-blocking, so that writes never
    /// block the daemon and never fail for want of a reader.
    fn open(plan: &FifoPlan) -> Option<OpenFifo> {
        use nix::sys::stat::Mode;
        let mode = Mode::S_IRUSR | Mode::S_IWUSR | Mode::S_IRGRP | Mode::S_IROTH;
        let created = match nix::unistd::mkfifo(&plan.path, mode) {
            Ok(()) => true,
            Err(nix::errno::Errno::EEXIST) => false,
            Err(e) => {
                crate::warn!("Unable to create notify fifo {}: {e}", plan.path.display());
                return None;
            }
        };
        if created {
            match script_exec::credentials(plan.user.as_deref(), plan.group.as_deref()) {
                Ok(Some(c)) => {
                    let owner = Some(nix::unistd::Uid::from_raw(c.uid));
                    let group = Some(nix::unistd::Gid::from_raw(c.gid));
                    if let Err(e) = nix::unistd::chown(&plan.path, owner, group) {
                        crate::warn!("Failed to set uid:gid for fifo {}: {e}", plan.path.display());
                    }
                }
                Ok(None) => {}
                Err(e) => crate::warn!("fifo {}: {e}", plan.path.display()),
            }
        }
        let reader = plan.script.as_ref().and_then(|script| {
            let path = plan.path.to_string_lossy();
            start(script, &[&path])
        });
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&plan.path);
        match file {
            Ok(file) => Some(OpenFifo {
                role: plan.role,
                path: plan.path.clone(),
                file,
                created,
                dropped: 0,
                reader,
            }),
            Err(e) => {
                crate::warn!("Unable to open notify fifo {}: {e}", plan.path.display());
                if created {
                    let _ = std::fs::remove_file(&plan.path);
                }
                None
            }
        }
    }

    /// One line, written whole or not at all: a full FIFO drops the line (keepalived ignores
    /// the write error the same way) rather than stalling notifications.
    fn write_line(&mut self, line: &str) {
        use std::io::Write;
        if self.file.write_all(line.as_bytes()).is_err() {
            self.dropped += 1;
            if self.dropped.is_power_of_two() {
                crate::warn!(
                    "notify fifo {}: reader too slow, {} line(s) dropped",
                    self.path.display(),
                    self.dropped
                );
            }
        }
    }

    /// keepalived's `fifo_close`: unlink first, so a reader that reopens in a loop cannot
    /// reopen this FIFO, then close.
    /// Returns the FIFO's script, still to be reaped.
    fn close(self) -> Option<tokio::process::Child> {
        if self.created {
            let _ = std::fs::remove_file(&self.path);
        }
        drop(self.file);
        self.reader
    }
}

/// Starts a script with extra arguments, without waiting for it.
fn start(script: &Script, extra: &[&str]) -> Option<tokio::process::Child> {
    let spawned =
        script_exec::command(script, extra).and_then(|mut cmd| cmd.spawn().map_err(|e| e.to_string()));
    match spawned {
        Ok(child) => Some(child),
        Err(e) => {
            crate::warn!("cannot run notify script {}: {e}", script.command);
            None
        }
    }
}

/// Reaps a script in the background so it does not linger as a zombie.
fn reap(mut child: tokio::process::Child) {
    tokio::spawn(async move {
        let _ = child.wait().await;
    });
}

/// Kills a script's whole process group (it runs in its own).
fn kill_group(child: &tokio::process::Child) {
    signal_group(child, nix::sys::signal::Signal::SIGKILL);
}

fn terminate_group(child: &tokio::process::Child) {
    signal_group(child, nix::sys::signal::Signal::SIGTERM);
}

fn signal_group(child: &tokio::process::Child, signal: nix::sys::signal::Signal) {
    if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
        let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid), signal);
    }
}
