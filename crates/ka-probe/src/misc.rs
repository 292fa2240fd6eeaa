//! MISC_CHECK (keepalived's check_misc.c): runs the script as its user, in its own process
//! group; at the timeout the whole group gets SIGTERM, then SIGKILL 2 s later.

use ka_check::{MiscExit, Outcome};
use ka_config::script::Script;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

/// keepalived's grace between SIGTERM and SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(2);

fn exit_of(status: std::process::ExitStatus) -> MiscExit {
    match (status.code(), status.signal()) {
        (Some(code), _) => MiscExit::Exited(code),
        (None, Some(sig)) => MiscExit::Signaled(sig),
        (None, None) => MiscExit::Exited(-1),
    }
}

pub(crate) async fn probe(script: &Script, timeout: Duration) -> Outcome {
    let program = script.args.first().cloned().unwrap_or_default();
    let mut cmd = match ka_process::command(script, &[]) {
        Ok(c) => c,
        Err(e) => {
            return Outcome::LocalError {
                message: format!("Error exec-ing command '{program}': {e}."),
            }
        }
    };
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return Outcome::LocalError {
                message: format!("Error exec-ing command '{program}': {}.", crate::strerror(&e)),
            }
        }
    };
    // The child leads its own process group (ka_process sets process_group(0)).
    let group = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .map(Pid::from_raw);
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) => return Outcome::Misc(exit_of(status)),
        Ok(Err(e)) => {
            return Outcome::LocalError {
                message: format!("Misc script {program} child lost: {e}."),
            }
        }
        Err(_) => {}
    }
    if let Some(g) = group {
        let _ = killpg(g, Signal::SIGTERM);
    }
    if tokio::time::timeout(KILL_GRACE, child.wait()).await.is_err() {
        let _ = child.start_kill();
    }
    // Whatever the script left behind in its group goes too (keepalived kills the group
    // when the script dies of our SIGTERM).
    if let Some(g) = group {
        let _ = killpg(g, Signal::SIGKILL);
    }
    // SIGKILL cannot be caught; the wait is bounded anyway so the probe always ends.
    let _ = tokio::time::timeout(KILL_GRACE, child.wait()).await;
    Outcome::Misc(MiscExit::TimedOut)
}
