//! systemd's service notification protocol (sd_notify(3)), spoken directly: each message is
//! one datagram of `KEY=VALUE` lines sent to the unix socket named by `$NOTIFY_SOCKET` (a
//! path, or an abstract name written with a leading `@`). No libsystemd: the protocol is a
//! few lines, and the daemon stays one static-ish binary without a C dependency.
//!
//! What the daemon says, and when:
//! - `READY=1` once the VRRP sockets are open and the first plan is running (with `-C`: once
//!   the health checkers are started), and again when a reload is finished or refused;
//! - `RELOADING=1` with `MONOTONIC_USEC=` when a SIGHUP is taken up, as `Type=notify-reload`
//!   (systemd ≥ 253) requires; older systemd accepts it from `Type=notify` services too;
//! - `STOPPING=1` on SIGTERM/SIGINT;
//! - `STATUS=` with each VRRP instance's state (sent at each transition) and the real
//!   servers in the pool (read from the checker's status snapshot once a second);
//!   `systemctl status` shows it;
//! - `WATCHDOG=1` every half `$WATCHDOG_USEC` when the unit sets `WatchdogSec=`, from the VRRP
//!   loop itself, so that a stuck loop stops them and systemd restarts the daemon.
//!
//! Outside systemd (no `$NOTIFY_SOCKET`) every call does nothing and allocates nothing.
//!
//! The channel is process-wide, as `$NOTIFY_SOCKET` is: [`init_from_environment`] once at
//! start, then [`systemd`] from wherever the daemon has news, without threading a handle
//! through every subsystem.

use super::status;
use ka_vrrp::State;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

static SYSTEMD: OnceLock<Systemd> = OnceLock::new();

/// Takes systemd's variables from the environment (see [`Systemd::from_environment`]) and
/// keeps the channel for [`systemd`]. Call once, before any thread is started.
pub fn init_from_environment() {
    let _ = SYSTEMD.set(Systemd::from_environment());
}

/// The daemon's channel to systemd; inert before [`init_from_environment`] or outside systemd.
pub fn systemd() -> &'static Systemd {
    static INERT: Systemd = Systemd { inner: None };
    SYSTEMD.get().unwrap_or(&INERT)
}

/// systemd reads notification datagrams into a buffer of this size and drops longer ones
/// whole (`NOTIFY_BUFFER_MAX`, PIPE_BUF): every message must fit.
const NOTIFY_BUFFER_MAX: usize = 4096;
/// Room kept in a message for the lines other than `STATUS=` (`READY=1`, `RELOADING=1`,
/// `MONOTONIC_USEC=...`).
const STATUS_MAX: usize = 1024;
/// How often the real servers are counted from the status snapshot. The checker thread
/// publishes it without telling anyone; for a status line once a second is plenty.
const REAL_SERVERS_EVERY: Duration = Duration::from_secs(1);

/// The health checkers' part of the status: virtual servers, real servers and how many of
/// them are in the pool.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LvsCounts {
    pub virtual_servers: usize,
    pub real_servers: usize,
    pub real_servers_up: usize,
}

/// The real servers of the checker's snapshot, counted.
fn lvs_counts(virtual_servers: &[status::VirtualServer]) -> LvsCounts {
    let real_servers = virtual_servers.iter().flat_map(|vs| &vs.real_servers);
    LvsCounts {
        virtual_servers: virtual_servers.len(),
        real_servers: real_servers.clone().count(),
        real_servers_up: real_servers.filter(|rs| rs.up).count(),
    }
}

/// The daemon's channel to systemd. Cheap to clone; inert when not started by systemd.
#[derive(Clone, Default)]
pub struct Systemd {
    inner: Option<Arc<Inner>>,
}

struct Inner {
    socket: UnixDatagram,
    target: SocketAddr,
    /// How often to send `WATCHDOG=1`: half of `$WATCHDOG_USEC`, as sd_watchdog_enabled(3)
    /// advises, so that one late tick does not get the daemon killed.
    keep_alive: Option<Duration>,
    board: Mutex<Board>,
    /// A failed send is reported once: systemd going away must not flood the log.
    send_failed: AtomicBool,
}

/// What the `STATUS=` line is made of, as last reported by each side of the daemon.
#[derive(Default)]
struct Board {
    /// Each VRRP instance and its state; `None` while (or when, with `-C`) VRRP is not running.
    vrrp: Option<Vec<(String, State)>>,
    lvs: Option<LvsCounts>,
    /// The last `STATUS=` sent, so that unchanged states are not sent again.
    sent: String,
    phase: Phase,
}

/// When changes go out on their own. Before `READY=1` and during a reload they are held and
/// go out with the `READY=1` that ends the phase (one message, not a burst of intermediate
/// states); after `STOPPING=1` the status stays "Stopping" (instances going to STOP one by
/// one are not news).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Phase {
    #[default]
    Starting,
    Running,
    Reloading,
    Stopping,
}

/// Where `$NOTIFY_SOCKET` points, as sd_notify(3) reads it.
#[derive(Debug, PartialEq, Eq)]
pub enum NotifyTarget {
    Path(std::path::PathBuf),
    /// An abstract socket name (the bytes after `@`).
    Abstract(Vec<u8>),
}

/// Reads `$NOTIFY_SOCKET`'s value: an absolute path, or `@name` for an abstract socket.
/// Other forms (`vsock:` of systemd ≥ 253, relative paths) are not for a host daemon.
pub fn parse_notify_socket(value: &std::ffi::OsStr) -> Option<NotifyTarget> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = value.as_bytes();
    match bytes.first() {
        Some(b'/') => Some(NotifyTarget::Path(std::path::PathBuf::from(value))),
        Some(b'@') if bytes.len() > 1 => Some(NotifyTarget::Abstract(bytes[1..].to_vec())),
        _ => None,
    }
}

/// The keep-alive period for `$WATCHDOG_USEC` and `$WATCHDOG_PID` (sd_watchdog_enabled(3)):
/// none when the watchdog is off, malformed, or meant for another process.
pub fn keep_alive_period(usec: Option<&str>, pid: Option<&str>, own_pid: u32) -> Option<Duration> {
    if let Some(pid) = pid {
        if pid.trim().parse::<u32>().ok() != Some(own_pid) {
            return None;
        }
    }
    let usec = usec?.trim().parse::<u64>().ok().filter(|&u| u > 0)?;
    Some(Duration::from_micros(usec / 2).max(Duration::from_millis(1)))
}

/// CLOCK_MONOTONIC in microseconds: what `MONOTONIC_USEC=` carries, so that systemd can tell
/// this reload from one it asked for earlier.
pub fn monotonic_usec() -> u64 {
    match nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC) {
        Ok(t) => {
            let secs = u64::try_from(t.tv_sec()).unwrap_or(0);
            let micros = u64::try_from(t.tv_nsec()).unwrap_or(0) / 1000;
            secs.saturating_mul(1_000_000).saturating_add(micros)
        }
        Err(_) => 0,
    }
}

/// The `STATUS=` text: "VI_1 MASTER, VI_2 BACKUP; 2 virtual servers, 4/4 real servers up".
/// Instances are listed by name while the line stays short; beyond that they are counted by
/// state ("300 VRRP instances: 120 MASTER, 180 BACKUP") so the message always fits.
pub fn status_line(vrrp: Option<&[(String, State)]>, lvs: Option<&LvsCounts>) -> String {
    let mut parts: Vec<String> = Vec::new();
    match vrrp {
        Some([]) if lvs.is_some() => {}
        Some([]) => parts.push("no VRRP instances".to_string()),
        Some(instances) => {
            let listed = instances
                .iter()
                .map(|(name, state)| format!("{} {}", one_line(name), state.keepalived_name()))
                .collect::<Vec<_>>()
                .join(", ");
            if listed.len() <= STATUS_MAX / 2 {
                parts.push(listed);
            } else {
                parts.push(counted_by_state(instances));
            }
        }
        None => {}
    }
    if let Some(c) = lvs {
        let vs = if c.virtual_servers == 1 { "" } else { "s" };
        let rs = if c.real_servers == 1 { "" } else { "s" };
        parts.push(format!(
            "{} virtual server{vs}, {}/{} real server{rs} up",
            c.virtual_servers, c.real_servers_up, c.real_servers
        ));
    }
    let mut line = parts.join("; ");
    truncate_at_char(&mut line, STATUS_MAX);
    line
}

fn counted_by_state(instances: &[(String, State)]) -> String {
    let order = [
        State::Master,
        State::Backup,
        State::Fault,
        State::Init,
        State::Stop,
    ];
    let counts: Vec<String> = order
        .iter()
        .filter_map(|s| {
            let n = instances.iter().filter(|(_, x)| x == s).count();
            (n > 0).then(|| format!("{n} {}", s.keepalived_name()))
        })
        .collect();
    format!("{} VRRP instances: {}", instances.len(), counts.join(", "))
}

/// A notification line ends at a newline: an instance name cannot be allowed to start a
/// new `KEY=` line.
fn one_line(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains(['\n', '\r']) {
        std::borrow::Cow::Owned(text.replace(['\n', '\r'], " "))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

fn truncate_at_char(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}

/// `READY=1`, with the current status.
pub fn ready_message(status: &str) -> String {
    format!("READY=1\nSTATUS={}", one_line(status))
}

/// `RELOADING=1` with the time the reload began.
pub fn reloading_message(monotonic_usec: u64) -> String {
    format!("RELOADING=1\nMONOTONIC_USEC={monotonic_usec}\nSTATUS=Reloading the configuration")
}

pub const STOPPING_MESSAGE: &str =
    "STOPPING=1\nSTATUS=Stopping: priority 0 adverts, addresses and real servers released";
pub const WATCHDOG_MESSAGE: &str = "WATCHDOG=1";

impl Systemd {
    /// Reads `$NOTIFY_SOCKET`, `$WATCHDOG_USEC` and `$WATCHDOG_PID`, then removes them from
    /// the environment, as keepalived does for its children: notify scripts and checkers
    /// must not speak to systemd for the daemon. Call before any thread is started (the
    /// environment is process-wide).
    pub fn from_environment() -> Systemd {
        let socket_var = std::env::var_os("NOTIFY_SOCKET");
        let watchdog_usec = std::env::var("WATCHDOG_USEC").ok();
        let watchdog_pid = std::env::var("WATCHDOG_PID").ok();
        for var in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] {
            std::env::remove_var(var);
        }
        let Some(value) = socket_var else {
            return Systemd::default();
        };
        let Some(target) = parse_notify_socket(&value) else {
            crate::warn!(
                "NOTIFY_SOCKET={}: not a path or @abstract name; systemd will not be notified",
                value.to_string_lossy()
            );
            return Systemd::default();
        };
        let keep_alive = keep_alive_period(
            watchdog_usec.as_deref(),
            watchdog_pid.as_deref(),
            std::process::id(),
        );
        match Systemd::connect(&target, keep_alive) {
            Ok(s) => s,
            Err(e) => {
                crate::warn!("NOTIFY_SOCKET: {e}; systemd will not be notified");
                Systemd::default()
            }
        }
    }

    /// A channel to the notification socket at `target`.
    pub fn connect(target: &NotifyTarget, keep_alive: Option<Duration>) -> std::io::Result<Systemd> {
        let address = match target {
            NotifyTarget::Path(p) => SocketAddr::from_pathname(p)?,
            NotifyTarget::Abstract(name) => {
                use std::os::linux::net::SocketAddrExt;
                SocketAddr::from_abstract_name(name)?
            }
        };
        let socket = UnixDatagram::unbound()?;
        // Never block the VRRP loop on systemd: a full queue drops the message instead.
        socket.set_nonblocking(true)?;
        Ok(Systemd {
            inner: Some(Arc::new(Inner {
                socket,
                target: address,
                keep_alive,
                board: Mutex::new(Board::default()),
                send_failed: AtomicBool::new(false),
            })),
        })
    }

    pub fn is_active(&self) -> bool {
        self.inner.is_some()
    }

    /// How often the watchdog wants `WATCHDOG=1`, if it is on.
    pub fn keep_alive_period(&self) -> Option<Duration> {
        self.inner.as_ref().and_then(|i| i.keep_alive)
    }

    pub fn keep_alive(&self) {
        self.send(WATCHDOG_MESSAGE);
    }

    /// Sends `WATCHDOG=1` for as long as the runtime runs: for `-C`, where no VRRP loop
    /// exists to send them.
    pub async fn keep_alive_forever(&self) {
        let Some(period) = self.keep_alive_period() else {
            return;
        };
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            self.keep_alive();
        }
    }

    /// Keeps the real servers' part of the status current, from the snapshot the checker
    /// thread publishes (`status.virtual_servers`).
    pub async fn follow_real_servers(&self, status: status::Shared) {
        if !self.is_active() {
            return;
        }
        let mut ticks = tokio::time::interval(REAL_SERVERS_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            // Not blocking this (the VRRP) thread: a busy lock is read at the next tick.
            if let Ok(s) = status.try_read() {
                self.report_real_servers(&s);
            }
        }
    }

    /// The real-server counts for `STATUS=`, from the status the checker thread published
    /// (nothing before its first publish: the list is empty until then).
    pub fn report_real_servers(&self, s: &status::Status) {
        if !s.virtual_servers.is_empty() {
            self.set_lvs_counts(lvs_counts(&s.virtual_servers));
        }
    }

    /// `RELOADING=1` then `READY=1` on each SIGHUP: for `-C`, where the checker thread
    /// reloads on its own and says nothing back, so there is no later moment to wait for.
    pub async fn announce_reloads(&self) {
        use tokio::signal::unix::{signal, SignalKind};
        if !self.is_active() {
            return;
        }
        let Ok(mut hangups) = signal(SignalKind::hangup()) else {
            return;
        };
        while hangups.recv().await.is_some() {
            self.notify_reloading();
            self.notify_ready();
        }
    }

    pub fn notify_ready(&self) {
        let Some(inner) = &self.inner else { return };
        let status = {
            let mut board = lock(&inner.board);
            if board.phase != Phase::Stopping {
                board.phase = Phase::Running;
            }
            let status = status_line(board.vrrp.as_deref(), board.lvs.as_ref());
            board.sent.clone_from(&status);
            status
        };
        self.send(&ready_message(&status));
    }

    pub fn notify_reloading(&self) {
        let Some(inner) = &self.inner else { return };
        {
            let mut board = lock(&inner.board);
            if board.phase != Phase::Stopping {
                board.phase = Phase::Reloading;
            }
        }
        self.send(&reloading_message(monotonic_usec()));
    }

    pub fn notify_stopping(&self) {
        let Some(inner) = &self.inner else { return };
        lock(&inner.board).phase = Phase::Stopping;
        self.send(STOPPING_MESSAGE);
    }

    /// The VRRP instances and their states, in configuration order.
    pub fn set_vrrp_states<'a>(&self, states: impl Iterator<Item = (&'a str, State)>) {
        let Some(inner) = &self.inner else { return };
        let states: Vec<(String, State)> = states.map(|(n, s)| (n.to_string(), s)).collect();
        let mut board = lock(&inner.board);
        board.vrrp = Some(states);
        self.send_status(board);
    }

    pub fn set_lvs_counts(&self, counts: LvsCounts) {
        let Some(inner) = &self.inner else { return };
        let mut board = lock(&inner.board);
        board.lvs = Some(counts);
        self.send_status(board);
    }

    fn send_status(&self, mut board: std::sync::MutexGuard<'_, Board>) {
        if board.phase != Phase::Running {
            return;
        }
        let status = status_line(board.vrrp.as_deref(), board.lvs.as_ref());
        if status == board.sent {
            return;
        }
        board.sent.clone_from(&status);
        drop(board);
        self.send(&format!("STATUS={status}"));
    }

    fn send(&self, message: &str) {
        let Some(inner) = &self.inner else { return };
        debug_assert!(message.len() < NOTIFY_BUFFER_MAX);
        if let Err(e) = inner.socket.send_to_addr(message.as_bytes(), &inner.target) {
            if !inner.send_failed.swap(true, Ordering::Relaxed) {
                crate::warn!("cannot notify systemd ({e}); further failures are not logged");
            }
        }
    }
}

/// The board holds plain data: a panic elsewhere while it was locked leaves nothing half
/// written that matters, so a poisoned lock is used as is.
fn lock(board: &Mutex<Board>) -> std::sync::MutexGuard<'_, Board> {
    board.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    fn states(list: &[(&str, State)]) -> Vec<(String, State)> {
        list.iter().map(|(n, s)| (n.to_string(), *s)).collect()
    }

    #[test]
    fn status_lists_instances_then_real_servers() {
        let vrrp = states(&[("VI_1", State::Master), ("VI_2", State::Backup)]);
        let lvs = LvsCounts {
            virtual_servers: 2,
            real_servers: 4,
            real_servers_up: 4,
        };
        assert_eq!(
            status_line(Some(&vrrp), Some(&lvs)),
            "VI_1 MASTER, VI_2 BACKUP; 2 virtual servers, 4/4 real servers up"
        );
        assert_eq!(status_line(Some(&vrrp), None), "VI_1 MASTER, VI_2 BACKUP");
        let one = LvsCounts {
            virtual_servers: 1,
            real_servers: 1,
            real_servers_up: 0,
        };
        assert_eq!(
            status_line(None, Some(&one)),
            "1 virtual server, 0/1 real server up"
        );
        assert_eq!(
            status_line(Some(&[]), Some(&one)),
            "1 virtual server, 0/1 real server up"
        );
        assert_eq!(status_line(Some(&[]), None), "no VRRP instances");
        assert_eq!(status_line(None, None), "");
    }

    #[test]
    fn real_servers_are_counted_from_the_checkers_snapshot() {
        let rs = |up| status::RealServer {
            name: "rs".into(),
            up,
            weight: 1,
        };
        let vs = |real_servers| status::VirtualServer {
            name: "vs".into(),
            quorum_up: true,
            real_servers,
        };
        let snapshot = [vs(vec![rs(true), rs(false)]), vs(vec![rs(true)]), vs(vec![])];
        assert_eq!(
            lvs_counts(&snapshot),
            LvsCounts {
                virtual_servers: 3,
                real_servers: 3,
                real_servers_up: 2
            }
        );
        assert_eq!(lvs_counts(&[]), LvsCounts::default());
    }

    #[test]
    fn many_instances_are_counted_by_state_and_fit() {
        let vrrp: Vec<(String, State)> = (0..500)
            .map(|i| {
                let state = if i % 5 == 0 { State::Master } else { State::Backup };
                (format!("VI_{i}"), state)
            })
            .chain(std::iter::once(("VI_down".to_string(), State::Fault)))
            .collect();
        let line = status_line(Some(&vrrp), None);
        assert_eq!(line, "501 VRRP instances: 100 MASTER, 400 BACKUP, 1 FAULT");
        assert!(ready_message(&line).len() < NOTIFY_BUFFER_MAX);
    }

    #[test]
    fn a_name_cannot_start_a_new_line() {
        let vrrp = states(&[("VI_1\nREADY=1", State::Backup)]);
        let line = status_line(Some(&vrrp), None);
        assert_eq!(line, "VI_1 READY=1 BACKUP");
        assert_eq!(ready_message("a\nb").lines().count(), 2);
    }

    #[test]
    fn messages_are_key_value_lines() {
        assert_eq!(ready_message("VI_1 MASTER"), "READY=1\nSTATUS=VI_1 MASTER");
        assert_eq!(
            reloading_message(12_345_678),
            "RELOADING=1\nMONOTONIC_USEC=12345678\nSTATUS=Reloading the configuration"
        );
        assert!(STOPPING_MESSAGE.starts_with("STOPPING=1\nSTATUS="));
        assert_eq!(WATCHDOG_MESSAGE, "WATCHDOG=1");
        for m in [STOPPING_MESSAGE, &reloading_message(1), &ready_message("x")] {
            assert!(m
                .lines()
                .all(|l| l.split_once('=').is_some_and(|(k, _)| !k.is_empty())));
        }
    }

    #[test]
    fn notify_socket_forms() {
        assert_eq!(
            parse_notify_socket(OsStr::new("/run/systemd/notify")),
            Some(NotifyTarget::Path("/run/systemd/notify".into()))
        );
        assert_eq!(
            parse_notify_socket(OsStr::new("@/org/freedesktop/systemd1/notify/42")),
            Some(NotifyTarget::Abstract(
                b"/org/freedesktop/systemd1/notify/42".to_vec()
            ))
        );
        assert_eq!(parse_notify_socket(OsStr::new("@")), None);
        assert_eq!(parse_notify_socket(OsStr::new("relative/notify")), None);
        assert_eq!(parse_notify_socket(OsStr::new("vsock:2:1234")), None);
        assert_eq!(parse_notify_socket(OsStr::new("")), None);
    }

    #[test]
    fn watchdog_period_is_half_and_only_for_us() {
        let half = Some(Duration::from_secs(5));
        assert_eq!(keep_alive_period(Some("10000000"), None, 7), half);
        assert_eq!(keep_alive_period(Some("10000000"), Some("7"), 7), half);
        assert_eq!(keep_alive_period(Some("10000000"), Some("8"), 7), None);
        assert_eq!(keep_alive_period(Some("10000000"), Some("x"), 7), None);
        assert_eq!(keep_alive_period(Some("0"), None, 7), None);
        assert_eq!(keep_alive_period(Some("soon"), None, 7), None);
        assert_eq!(keep_alive_period(None, Some("7"), 7), None);
    }

    #[test]
    fn monotonic_usec_follows_the_monotonic_clock() {
        let a = monotonic_usec();
        std::thread::sleep(Duration::from_millis(2));
        let b = monotonic_usec();
        assert!(a > 0 && b >= a + 2000, "{a} {b}");
    }

    /// The same bytes arrive on an abstract socket and on a path socket; statuses are held
    /// until READY=1 at start and during a reload, and not sent twice; nothing but
    /// "Stopping" after STOPPING=1.
    #[test]
    fn sends_datagrams_to_abstract_and_path_sockets() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("kars-sd-notify-test-{}", std::process::id());
        let listener =
            UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap()).unwrap();
        listener.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let target = parse_notify_socket(OsStr::new(&format!("@{name}"))).unwrap();
        let systemd = Systemd::connect(&target, None).unwrap();
        let recv = || {
            let mut buf = [0u8; NOTIFY_BUFFER_MAX];
            let n = listener.recv(&mut buf).unwrap();
            String::from_utf8(buf[..n].to_vec()).unwrap()
        };
        systemd.set_vrrp_states([("VI_1", State::Backup)].into_iter());
        systemd.notify_ready();
        assert_eq!(recv(), "READY=1\nSTATUS=VI_1 BACKUP");
        systemd.set_vrrp_states([("VI_1", State::Backup)].into_iter());
        systemd.set_vrrp_states([("VI_1", State::Master)].into_iter());
        assert_eq!(recv(), "STATUS=VI_1 MASTER");
        systemd.notify_reloading();
        assert!(recv().starts_with("RELOADING=1\nMONOTONIC_USEC="));
        systemd.set_lvs_counts(LvsCounts {
            virtual_servers: 1,
            real_servers: 2,
            real_servers_up: 1,
        });
        systemd.notify_ready();
        assert_eq!(
            recv(),
            "READY=1\nSTATUS=VI_1 MASTER; 1 virtual server, 1/2 real servers up"
        );
        systemd.keep_alive();
        assert_eq!(recv(), "WATCHDOG=1");
        systemd.notify_stopping();
        assert_eq!(recv(), STOPPING_MESSAGE);
        systemd.set_vrrp_states([("VI_1", State::Stop)].into_iter());
        systemd.keep_alive();
        assert_eq!(recv(), "WATCHDOG=1", "no STATUS after STOPPING=1");

        let dir = std::env::temp_dir().join(format!("kars-sd-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify");
        let listener = UnixDatagram::bind(&path).unwrap();
        listener.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let systemd = Systemd::connect(&parse_notify_socket(path.as_os_str()).unwrap(), None).unwrap();
        systemd.notify_ready();
        let mut buf = [0u8; 64];
        let n = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1\nSTATUS=");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn outside_systemd_nothing_happens() {
        let systemd = Systemd::default();
        assert!(!systemd.is_active());
        assert_eq!(systemd.keep_alive_period(), None);
        systemd.notify_ready();
        systemd.set_vrrp_states([("VI_1", State::Master)].into_iter());
        systemd.notify_stopping();
    }
}
