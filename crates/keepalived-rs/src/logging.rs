//! Logging to the console (stderr, keepalived's `-l`) and to syslog/journald (`/dev/log`),
//! with keepalived's detail level (`-D`).

use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error = 3,
    Warning = 4,
    Info = 6,
    Debug = 7,
}

struct Logger {
    console: bool,
    syslog: Option<UnixDatagram>,
    facility: u8,
    ident: String,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();
static DETAIL: AtomicBool = AtomicBool::new(false);

/// Sets up logging once. `facility` is the syslog facility number (keepalived's `-S`: daemon
/// by default).
pub fn init(console: bool, syslog: bool, detail: bool, facility: u8) {
    DETAIL.store(detail, Ordering::Relaxed);
    let syslog = if syslog {
        UnixDatagram::unbound()
            .ok()
            .filter(|s| s.connect("/dev/log").is_ok())
    } else {
        None
    };
    let _ = LOGGER.set(Logger {
        console,
        syslog,
        facility,
        ident: format!("keepalived-rs[{}]", std::process::id()),
    });
}

pub fn detail() -> bool {
    DETAIL.load(Ordering::Relaxed)
}

/// keepalived's `-S` argument: 0-7 mean local0-local7; names are accepted too.
pub fn facility_from(arg: Option<&str>) -> u8 {
    const LOCAL0: u8 = 16;
    const DAEMON: u8 = 3;
    match arg {
        None => DAEMON,
        Some(s) => match s.parse::<u8>() {
            Ok(n) if n <= 7 => LOCAL0 + n,
            _ => match s.strip_prefix("local").and_then(|n| n.parse::<u8>().ok()) {
                Some(n) if n <= 7 => LOCAL0 + n,
                _ => match s {
                    "user" => 1,
                    "daemon" => DAEMON,
                    _ => DAEMON,
                },
            },
        },
    }
}

pub fn log(level: Level, message: std::fmt::Arguments<'_>) {
    if level == Level::Debug && !detail() {
        return;
    }
    let Some(logger) = LOGGER.get() else {
        eprintln!("{message}");
        return;
    };
    if logger.console {
        // One write per line: stderr is unbuffered, and formatting straight into it costs a
        // system call per piece (six for a state change) on the VRRP loop.
        let line = format!("{} {message}\n", timestamp());
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
    if let Some(sock) = &logger.syslog {
        let pri = logger.facility * 8 + level as u8;
        let line = format!("<{pri}>{}: {message}", logger.ident);
        let _ = sock.send(line.as_bytes());
    }
}

/// Wall-clock time for log lines only (never for timing decisions).
#[allow(clippy::disallowed_methods)]
fn timestamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    let (y, mo, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}.{:03}Z",
        now.subsec_millis()
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => { $crate::logging::log($crate::logging::Level::Info, format_args!($($arg)*)) };
}
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => { $crate::logging::log($crate::logging::Level::Warning, format_args!($($arg)*)) };
}
#[macro_export]
macro_rules! error {
    ($($arg:tt)*) => { $crate::logging::log($crate::logging::Level::Error, format_args!($($arg)*)) };
}
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => { $crate::logging::log($crate::logging::Level::Debug, format_args!($($arg)*)) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_from_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_782), (2026, 11, 25));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn facilities() {
        assert_eq!(facility_from(None), 3);
        assert_eq!(facility_from(Some("0")), 16);
        assert_eq!(facility_from(Some("local7")), 23);
    }
}
