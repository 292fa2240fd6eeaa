//! VRRP's timer formulas, computed with keepalived 2.2.7's integer arithmetic so that our
//! timers fire at the same microsecond as keepalived's (`VRRP_TIMER_SKEW` and
//! `VRRP_MS_DOWN_TIMER` in its include/vrrp.h).
//!
//! - VRRPv2 (RFC 3768 §6.1): Skew_Time = (256 − Priority) / 256 seconds.
//! - VRRPv3 (RFC 5798 §6.1): Skew_Time = ((256 − Priority) × Master_Adver_Interval) / 256.
//! - Master_Down_Interval = down_timer_adverts (3) × Master_Adver_Interval + Skew_Time.

use ka_units::{Centiseconds, Micros};
use ka_wire::vrrp::Version;

/// Skew time for a priority.
pub fn skew(version: Version, priority: u8, master_adver_int: Centiseconds) -> Micros {
    skew_units(version, 256 - u64::from(priority), master_adver_int)
}

/// The smallest skew: one 256th of the unit (keepalived's `VRRP_TIMER_SKEW_MIN`).
pub fn skew_min(version: Version, master_adver_int: Centiseconds) -> Micros {
    skew_units(version, 1, master_adver_int)
}

fn skew_units(version: Version, units: u64, master_adver_int: Centiseconds) -> Micros {
    match version {
        // centiseconds × 10 000 µs / 256 = centiseconds × 625 / 16, truncated as keepalived does.
        Version::V3 => Micros(units * u64::from(master_adver_int.get()) * 625 / 16),
        Version::V2 => Micros(units * 1_000_000 / 256),
    }
}

/// Master_Down_Interval.
pub fn master_down(
    version: Version,
    priority: u8,
    master_adver_int: Centiseconds,
    down_timer_adverts: u32,
) -> Micros {
    master_adver_int
        .to_micros()
        .saturating_mul(u64::from(down_timer_adverts))
        + skew(version, priority, master_adver_int)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_examples() {
        // Priority 100, 1 s adverts: 3 s + 156/256 s = 3.609375 s (keepalived's 3.61 s).
        assert_eq!(
            master_down(Version::V2, 100, Centiseconds::ONE_SECOND, 3),
            Micros(3_609_375)
        );
        assert_eq!(skew(Version::V2, 255, Centiseconds::ONE_SECOND), Micros(3_906));
        assert_eq!(skew(Version::V2, 1, Centiseconds::ONE_SECOND), Micros(996_093));
    }

    #[test]
    fn v3_examples() {
        // 10 ms adverts, priority 254: 30 ms + 2·10/256 ms = 30.078125 ms.
        assert_eq!(
            master_down(Version::V3, 254, Centiseconds::new(1), 3),
            Micros(30_078)
        );
        // 50 ms adverts, priority 100: 150 ms + 156·50/256 ms = 180.46875 ms.
        assert_eq!(
            master_down(Version::V3, 100, Centiseconds::new(5), 3),
            Micros(180_468)
        );
        assert_eq!(skew_min(Version::V3, Centiseconds::new(100)), Micros(3_906));
    }
}
