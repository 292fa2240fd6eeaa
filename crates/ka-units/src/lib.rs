//! Units shared by the pure crates of keepalived-rs.
//!
//! Nothing here reads a clock: [`Instant`] is a plain number of microseconds since an
//! arbitrary epoch chosen by whoever drives the engine (the daemon maps its monotonic
//! clock onto it, the simulator counts virtual time).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// A span of time with microsecond resolution, the resolution keepalived's timers use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Micros(pub u64);

impl Micros {
    pub const ZERO: Micros = Micros(0);

    pub const fn from_secs(secs: u64) -> Micros {
        Micros(secs * 1_000_000)
    }

    pub const fn from_millis(ms: u64) -> Micros {
        Micros(ms * 1_000)
    }

    pub const fn as_micros(self) -> u64 {
        self.0
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }

    pub const fn saturating_sub(self, other: Micros) -> Micros {
        Micros(self.0.saturating_sub(other.0))
    }

    pub const fn saturating_mul(self, n: u64) -> Micros {
        Micros(self.0.saturating_mul(n))
    }

    pub fn to_std(self) -> std::time::Duration {
        std::time::Duration::from_micros(self.0)
    }
}

impl Add for Micros {
    type Output = Micros;
    fn add(self, rhs: Micros) -> Micros {
        Micros(self.0.saturating_add(rhs.0))
    }
}

impl fmt::Display for Micros {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0 / 1_000_000;
        let frac = self.0 % 1_000_000;
        if frac == 0 {
            write!(f, "{secs}s")
        } else {
            let text = format!("{frac:06}");
            write!(f, "{secs}.{}s", text.trim_end_matches('0'))
        }
    }
}

/// A point on the engine's clock: microseconds since the driver's epoch.
///
/// Only differences between instants are meaningful. The daemon uses a monotonic clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Instant(pub u64);

impl Instant {
    pub const EPOCH: Instant = Instant(0);

    pub const fn from_micros(us: u64) -> Instant {
        Instant(us)
    }

    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// Time elapsed from `earlier` to `self`, zero if `earlier` is later.
    pub const fn since(self, earlier: Instant) -> Micros {
        Micros(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Micros> for Instant {
    type Output = Instant;
    fn add(self, rhs: Micros) -> Instant {
        Instant(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign<Micros> for Instant {
    fn add_assign(&mut self, rhs: Micros) {
        *self = *self + rhs;
    }
}

impl Sub for Instant {
    type Output = Micros;
    fn sub(self, rhs: Instant) -> Micros {
        self.since(rhs)
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t+{}", Micros(self.0))
    }
}

/// An advertisement interval in centiseconds, the unit of VRRPv3's 12-bit
/// "Max Advertise Interval" field (RFC 5798 §5.2.7). VRRPv2 carries whole seconds;
/// [`Centiseconds::whole_seconds`] converts for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Centiseconds(u16);

impl Centiseconds {
    /// The largest value the 12-bit field can carry: 40.95 s.
    pub const MAX_V3: Centiseconds = Centiseconds(0x0fff);
    /// keepalived's default `advert_int`: one second.
    pub const ONE_SECOND: Centiseconds = Centiseconds(100);

    pub const fn new(cs: u16) -> Centiseconds {
        Centiseconds(cs)
    }

    pub const fn get(self) -> u16 {
        self.0
    }

    pub const fn from_secs(secs: u16) -> Centiseconds {
        Centiseconds(secs.saturating_mul(100))
    }

    pub const fn to_micros(self) -> Micros {
        Micros(self.0 as u64 * 10_000)
    }

    /// Whole seconds, rounded to nearest, as a VRRPv2 advert carries them.
    pub const fn whole_seconds(self) -> u16 {
        (self.0 + 50) / 100
    }

    /// True if the value fits VRRPv3's 12-bit field and is not zero.
    pub const fn fits_v3(self) -> bool {
        self.0 >= 1 && self.0 <= 0x0fff
    }
}

impl fmt::Display for Centiseconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_micros())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centiseconds_convert_to_micros_and_seconds() {
        assert_eq!(Centiseconds::new(5).to_micros(), Micros(50_000));
        assert_eq!(Centiseconds::new(100).whole_seconds(), 1);
        assert_eq!(Centiseconds::new(149).whole_seconds(), 1);
        assert_eq!(Centiseconds::new(150).whole_seconds(), 2);
        assert!(Centiseconds::MAX_V3.fits_v3());
        assert!(!Centiseconds::new(0x1000).fits_v3());
        assert!(!Centiseconds::new(0).fits_v3());
    }

    #[test]
    fn instants_subtract_to_micros_and_never_underflow() {
        let a = Instant::from_micros(10);
        let b = a + Micros(25);
        assert_eq!(b - a, Micros(25));
        assert_eq!(a - b, Micros::ZERO);
    }

    #[test]
    fn micros_display_trims_trailing_zeros() {
        assert_eq!(Micros(3_609_375).to_string(), "3.609375s");
        assert_eq!(Micros(1_000_000).to_string(), "1s");
        assert_eq!(Micros(50_000).to_string(), "0.05s");
    }
}
