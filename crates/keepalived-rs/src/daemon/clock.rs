//! The daemon's monotonic clock, mapped onto the engine's microsecond `Instant`.

use ka_units::Instant;
use std::time::Duration;

#[derive(Clone, Copy, Debug)]
pub struct Clock {
    base: tokio::time::Instant,
}

impl Clock {
    pub fn new() -> Clock {
        Clock {
            base: tokio::time::Instant::now(),
        }
    }

    /// Now, for the engine.
    pub fn now(&self) -> Instant {
        let elapsed = tokio::time::Instant::now().saturating_duration_since(self.base);
        Instant::from_micros(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX))
    }

    /// An engine instant as a tokio deadline.
    pub fn deadline(&self, at: Instant) -> tokio::time::Instant {
        self.base + Duration::from_micros(at.as_micros())
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

/// A sleep with microsecond precision for the VRRP timers. tokio's timer wheel fires on
/// millisecond ticks, which alone made every takeover 1–2 ms later than the protocol's
/// bound; a timerfd (CLOCK_MONOTONIC, like tokio's clock) fires when asked.
pub struct PreciseTimer {
    fd: tokio::io::unix::AsyncFd<TimerFdWrapper>,
}

/// nix's TimerFd only exposes `AsFd`; tokio needs `AsRawFd`.
struct TimerFdWrapper(nix::sys::timerfd::TimerFd);

impl std::os::fd::AsRawFd for TimerFdWrapper {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsFd;
        self.0.as_fd().as_raw_fd()
    }
}

impl PreciseTimer {
    #[allow(unsafe_code)]
    pub fn new() -> std::io::Result<PreciseTimer> {
        use nix::sys::timerfd::{ClockId, TimerFd, TimerFlags};
        let fd = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )
        .map_err(std::io::Error::from)?;
        // SAFETY: the AsyncFd owns the TimerFd, whose descriptor stays open until it is
        // dropped together with the registration.
        let fd = unsafe { tokio::io::unix::AsyncFd::register(TimerFdWrapper(fd)) }?;
        Ok(PreciseTimer { fd })
    }

    /// Arms the timer to fire `after` from now (a zero wait fires at once).
    pub fn arm(&self, after: Duration) -> std::io::Result<()> {
        use nix::sys::time::TimeSpec;
        use nix::sys::timerfd::{Expiration, TimerSetTimeFlags};
        // A zero expiration would disarm the timer.
        let after = after.max(Duration::from_nanos(1));
        self.fd
            .get_ref()
            .0
            .set(
                Expiration::OneShot(TimeSpec::from_duration(after)),
                TimerSetTimeFlags::empty(),
            )
            .map_err(std::io::Error::from)
    }

    /// Waits until the armed expiry.
    pub async fn expired(&self) -> std::io::Result<()> {
        loop {
            let mut guard = self.fd.readable().await?;
            // EAGAIN means a stale wakeup (and clears tokio's readiness).
            match guard.try_io(|inner| inner.get_ref().0.wait().map_err(std::io::Error::from)) {
                Ok(Ok(())) => {
                    // The count was read: the descriptor is not readable until the next
                    // expiry, whose edge sets readiness again. Cleared here, the next wait
                    // does not spend a read on EAGAIN (one system call per advert).
                    guard.clear_ready();
                    return Ok(());
                }
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
    }
}
