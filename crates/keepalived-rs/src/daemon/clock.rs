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
