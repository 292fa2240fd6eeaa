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

/// Runs the script once: exit status 0 is success; a timeout kills its process group
/// (SIGTERM, then SIGKILL a second later, as keepalived does) and counts as failure.
async fn run_once(tracker: &ScriptTracker) -> (bool, String) {
    let mut cmd = match ka_process::command(&tracker.script, &[]) {
        Ok(c) => c,
        Err(e) => return (false, format!("cannot be run ({e})")),
    };
    cmd.kill_on_drop(true);
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
                if let Some(pid) = child.id() {
                    let _ = nix_kill(pid, libc::SIGKILL);
                }
                let _ = child.kill().await;
            }
            (false, "timed_out".into())
        }
    }
}

/// Signals the script's process group (it leads its own), so its children go too.
fn nix_kill(pid: u32, signal: i32) -> std::io::Result<()> {
    let pid = i32::try_from(pid).map_err(|_| std::io::Error::other("pid out of range"))?;
    let sig = nix::sys::signal::Signal::try_from(signal).map_err(std::io::Error::from)?;
    nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid), sig).map_err(std::io::Error::from)
}

// ===== track_file =====

/// keepalived's reading of a tracked file: the first number (`strtol` base 0: decimal,
/// 0x hex, 0 octal), 0 when the file is missing, empty or not a number; None (ignored, as
/// keepalived ignores it) when out of the 32-bit range.
pub fn read_track_file(path: &std::path::Path) -> Option<i64> {
    let Ok(bytes) = std::fs::read(path) else {
        return Some(0);
    };
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(127)]).into_owned();
    let t = text.trim_start();
    let (negative, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (radix, digits) = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        (16, h)
    } else if t.len() > 1 && t.starts_with('0') {
        (8, &t[1..])
    } else {
        (10, t)
    };
    let end = digits.find(|c: char| !c.is_digit(radix)).unwrap_or(digits.len());
    let magnitude = if end == 0 {
        0
    } else {
        i64::from_str_radix(&digits[..end], radix).ok()?
    };
    let v = if negative { -magnitude } else { magnitude };
    (i64::from(i32::MIN)..=i64::from(i32::MAX) + 1)
        .contains(&v)
        .then_some(v)
}

/// Writes `init_file` values and reports every tracked file's value now and on each change
/// (inotify on the file's directory, so creation, replacement and deletion are all seen).
pub fn spawn_file_watchers(
    files: &[super::plan::FileTracker],
    to_vrrp: mpsc::Sender<Input>,
) -> Vec<tokio::task::JoinHandle<()>> {
    files
        .iter()
        .map(|f| tokio::spawn(watch_file(f.clone(), to_vrrp.clone())))
        .collect()
}

/// Initial values, before the engine starts.
pub fn initial_file_values(
    files: &[super::plan::FileTracker],
) -> Vec<(ka_vrrp::TrackerId, ka_vrrp::TrackerState)> {
    files
        .iter()
        .map(|f| {
            if let Some((value, overwrite)) = f.init {
                if overwrite || !f.path.exists() {
                    if let Err(e) = std::fs::write(&f.path, format!("{value}\n")) {
                        crate::warn!("track_file {}: cannot write {}: {e}", f.name, f.path.display());
                    }
                }
            }
            (
                f.id,
                ka_vrrp::TrackerState::Value(read_track_file(&f.path).unwrap_or(0)),
            )
        })
        .collect()
}

async fn watch_file(f: super::plan::FileTracker, to_vrrp: mpsc::Sender<Input>) {
    let (tx, mut values) = mpsc::unbounded_channel();
    let follower = tokio::spawn(follow_track_file(f.name.clone(), f.path.clone(), tx));
    while let Some(value) = values.recv().await {
        if to_vrrp
            .send(Input::Tracker(f.id, ka_vrrp::TrackerState::Value(value)))
            .await
            .is_err()
        {
            break;
        }
    }
    follower.abort();
}

/// Follows a tracked file (`track_file NAME` at `path`): sends its value each time it
/// changes (inotify on the file's directory, so creation, replacement and deletion are all
/// seen). Used by VRRP tracking and by FILE_CHECK.
pub async fn follow_track_file(name: String, path: std::path::PathBuf, changed: mpsc::UnboundedSender<i64>) {
    use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
    let dir = path
        .parent()
        .map(|d| {
            if d.as_os_str().is_empty() {
                std::path::Path::new(".")
            } else {
                d
            }
        })
        .unwrap_or(std::path::Path::new("/"));
    let file_name = path.file_name().map(|n| n.to_os_string());
    let inotify = match Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC) {
        Ok(i) => i,
        Err(e) => {
            crate::error!("track_file {name}: inotify: {e}");
            return;
        }
    };
    let flags = AddWatchFlags::IN_CLOSE_WRITE
        | AddWatchFlags::IN_MOVED_TO
        | AddWatchFlags::IN_MOVED_FROM
        | AddWatchFlags::IN_CREATE
        | AddWatchFlags::IN_DELETE
        | AddWatchFlags::IN_MODIFY;
    if let Err(e) = inotify.add_watch(dir, flags) {
        crate::error!("track_file {name}: cannot watch {}: {e}", dir.display());
        return;
    }
    let Ok(fd) = register_inotify(inotify) else {
        crate::error!("track_file {name}: cannot register inotify");
        return;
    };
    let mut last = read_track_file(&path).unwrap_or(0);
    loop {
        let Ok(mut guard) = fd.readable().await else {
            return;
        };
        let events = match guard.try_io(|i| i.get_ref().0.read_events().map_err(std::io::Error::from)) {
            Ok(Ok(ev)) => ev,
            Ok(Err(_)) | Err(_) => continue,
        };
        if !events.iter().any(|e| e.name.as_ref() == file_name.as_ref()) {
            continue;
        }
        let Some(value) = read_track_file(&path) else {
            crate::warn!(
                "track_file {name}: invalid number in {} - ignoring",
                path.display()
            );
            continue;
        };
        if value != last {
            last = value;
            crate::info!("track_file {name}: {} now {value}", path.display());
            if changed.send(value).is_err() {
                return;
            }
        }
    }
}

/// An inotify instance tokio can wait on (nix's type only exposes `AsFd`).
struct InotifyFd(nix::sys::inotify::Inotify);

impl std::os::fd::AsRawFd for InotifyFd {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsFd;
        self.0.as_fd().as_raw_fd()
    }
}

#[allow(unsafe_code)]
fn register_inotify(i: nix::sys::inotify::Inotify) -> std::io::Result<tokio::io::unix::AsyncFd<InotifyFd>> {
    // SAFETY: the AsyncFd owns the Inotify, whose descriptor stays open until it is dropped.
    unsafe { tokio::io::unix::AsyncFd::register(InotifyFd(i)) }.map_err(|e| e.into())
}

// ===== vrrp_track_process =====

/// Counts running processes matching a `vrrp_track_process` (keepalived matches the
/// process name exactly, or with `full_command` the command line; configured parameters
/// must match the rest of the command line, exactly or as a prefix with
/// `param_match partial`).
pub fn count_processes(p: &super::plan::ProcessTracker) -> u32 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut count = 0;
    for entry in dir.flatten() {
        let fname = entry.file_name();
        if !fname.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let name_matches = if p.full_command {
            args.first().is_some_and(|a| *a == p.process)
        } else {
            let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
            // The kernel truncates comm to 15 bytes.
            let wanted: String = std::path::Path::new(&p.process)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
                .chars()
                .take(15)
                .collect();
            comm.trim_end() == wanted
        };
        if !name_matches {
            continue;
        }
        let rest = args.get(1..).unwrap_or(&[]);
        let params_match = if p.params.is_empty() {
            true
        } else if p.partial {
            rest.len() >= p.params.len() && rest[..p.params.len()] == p.params[..]
        } else {
            rest == &p.params[..]
        };
        if params_match {
            count += 1;
        }
    }
    count
}

fn process_state(p: &super::plan::ProcessTracker, count: u32) -> ka_vrrp::TrackerState {
    let max = if p.quorum_max == 0 { u32::MAX } else { p.quorum_max };
    if count >= p.quorum && count <= max {
        ka_vrrp::TrackerState::Up
    } else {
        ka_vrrp::TrackerState::Down
    }
}

pub fn initial_process_states(
    ps: &[super::plan::ProcessTracker],
) -> Vec<(ka_vrrp::TrackerId, ka_vrrp::TrackerState)> {
    ps.iter()
        .map(|p| (p.id, process_state(p, count_processes(p))))
        .collect()
}

/// Re-counts matching processes every second (a /proc scan, not a busy loop); a change is
/// reported once it has lasted `fork_delay` (up) or `terminate_delay` (down), as keepalived
/// delays its events.
pub fn spawn_process_watchers(
    ps: &[super::plan::ProcessTracker],
    to_vrrp: mpsc::Sender<Input>,
) -> Vec<tokio::task::JoinHandle<()>> {
    ps.iter()
        .map(|p| {
            let p = p.clone();
            let to_vrrp = to_vrrp.clone();
            tokio::spawn(async move {
                let mut reported = process_state(&p, count_processes(&p));
                let mut ticker = tokio::time::interval(Duration::from_secs(1));
                ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    ticker.tick().await;
                    // A /proc scan reads two files per process: on a host with many processes
                    // it takes long enough to delay adverts, so it runs off the VRRP thread
                    // (blocking-pool threads start with normal scheduling: SCHED_RESET_ON_FORK).
                    let scan = p.clone();
                    let Ok(count) = tokio::task::spawn_blocking(move || count_processes(&scan)).await else {
                        continue;
                    };
                    let now = process_state(&p, count);
                    if now == reported {
                        continue;
                    }
                    let delay = if now == ka_vrrp::TrackerState::Up {
                        p.fork_delay
                    } else {
                        p.terminate_delay
                    };
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                        if process_state(&p, count_processes(&p)) != now {
                            continue;
                        }
                    }
                    reported = now;
                    crate::info!(
                        "Track process {}: quorum {}",
                        p.name,
                        if now == ka_vrrp::TrackerState::Up {
                            "gained"
                        } else {
                            "lost"
                        }
                    );
                    if to_vrrp.send(Input::Tracker(p.id, now)).await.is_err() {
                        return;
                    }
                }
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn track_file_numbers_read_like_strtol() {
        let dir = std::env::temp_dir().join(format!("kars-tf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("v");
        for (text, want) in [
            ("42\n", Some(42)),
            ("  -7 x", Some(-7)),
            ("0x10", Some(16)),
            ("010", Some(8)),
            ("abc", Some(0)),
            ("", Some(0)),
            ("99999999999", None),
        ] {
            std::fs::write(&f, text).unwrap();
            assert_eq!(read_track_file(&f), want, "{text:?}");
        }
        std::fs::remove_file(&f).unwrap();
        assert_eq!(read_track_file(&f), Some(0), "missing file reads as 0");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
