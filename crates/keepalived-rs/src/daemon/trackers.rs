//! `vrrp_script`: runs each tracked script every `interval`, kills it at `timeout`, turns
//! exit codes into up/down with keepalived's `rise`/`fall`, and reports changes to the
//! VRRP loop.

use super::plan::ScriptTracker;
use super::vrrp_service::Input;
use ka_vrrp::ScriptHealth;
use std::time::Duration;
use tokio::sync::mpsc;

/// Starts one task per script.
pub fn spawn_all(
    scripts: &[ScriptTracker],
    to_vrrp: mpsc::Sender<Input>,
) -> Vec<tokio::task::JoinHandle<()>> {
    scripts
        .iter()
        .map(|s| tokio::spawn(run(s.clone(), to_vrrp.clone())))
        .collect()
}

async fn run(tracker: ScriptTracker, to_vrrp: mpsc::Sender<Input>) {
    let mut health = ScriptHealth::new(tracker.rise, tracker.fall, tracker.init_fail);
    if tracker.init_fail {
        let _ = to_vrrp.send(Input::Tracker(tracker.id, health.state())).await;
    }
    let mut ticker = tokio::time::interval(tracker.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let (success, how) = run_once(&tracker).await;
        if let Some(state) = health.record(success) {
            crate::info!("VRRP_Script({}) {how}", tracker.name);
            if to_vrrp.send(Input::Tracker(tracker.id, state)).await.is_err() {
                return;
            }
        }
    }
}

/// Runs the script once: exit status 0 is success; a timeout kills it (SIGTERM, then
/// SIGKILL a second later, as keepalived does) and counts as failure.
async fn run_once(tracker: &ScriptTracker) -> (bool, String) {
    let Some(program) = tracker.script.args.first() else {
        return (false, "has no command".into());
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(&tracker.script.args[1..])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return (false, format!("failed to start ({e})")),
    };
    match tokio::time::timeout(tracker.timeout, child.wait()).await {
        Ok(Ok(status)) if status.success() => (true, "succeeded".into()),
        Ok(Ok(status)) => (
            false,
            format!("failed (exited with status {})", status.code().unwrap_or(-1)),
        ),
        Ok(Err(e)) => (false, format!("failed ({e})")),
        Err(_) => {
            if let Some(pid) = child.id() {
                let _ = nix_kill(pid, libc::SIGTERM);
            }
            if tokio::time::timeout(Duration::from_secs(1), child.wait())
                .await
                .is_err()
            {
                let _ = child.kill().await;
            }
            (false, "timed_out".into())
        }
    }
}

fn nix_kill(pid: u32, signal: i32) -> std::io::Result<()> {
    let pid = i32::try_from(pid).map_err(|_| std::io::Error::other("pid out of range"))?;
    let sig = nix::sys::signal::Signal::try_from(signal).map_err(std::io::Error::from)?;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig).map_err(std::io::Error::from)
}
