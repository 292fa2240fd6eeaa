//! `vrrp_script` results to up/down, with keepalived's `rise` and `fall`
//! (vrrp/vrrp_scheduler.c, `vrrp_script_child_thread`).
//!
//! A counter runs from 0 to rise+fall-1; the script is good while it is at least `rise`.
//! Before the first result the script is "initialising": one success makes it good, one
//! failure makes it bad (unless `init_fail`, which starts it bad).

use crate::event::TrackerState;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptHealth {
    rise: u32,
    fall: u32,
    result: u32,
    initialising: bool,
}

impl ScriptHealth {
    pub fn new(rise: u32, fall: u32, init_fail: bool) -> ScriptHealth {
        let (rise, fall) = (rise.max(1), fall.max(1));
        ScriptHealth {
            rise,
            fall,
            result: if init_fail { 0 } else { rise - 1 },
            initialising: !init_fail,
        }
    }

    /// What the tracker reports now (Unknown until the first result, unless `init_fail`).
    pub fn state(&self) -> TrackerState {
        if self.initialising {
            TrackerState::Unknown
        } else if self.result >= self.rise {
            TrackerState::Up
        } else {
            TrackerState::Down
        }
    }

    /// Records one run; returns the new state when it changed.
    pub fn record(&mut self, success: bool) -> Option<TrackerState> {
        let before = self.state();
        let top = self.rise + self.fall - 1;
        if success {
            if self.result < self.rise - 1 {
                self.result += 1;
            } else {
                self.result = top;
            }
        } else if self.result > self.rise {
            self.result -= 1;
        } else {
            self.result = 0;
        }
        self.initialising = false;
        let after = self.state();
        (after != before).then_some(after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TrackerState::*;

    #[test]
    fn one_result_decides_the_first_state() {
        let mut h = ScriptHealth::new(3, 3, false);
        assert_eq!(h.state(), Unknown);
        assert_eq!(h.record(true), Some(Up));
        let mut h = ScriptHealth::new(3, 3, false);
        assert_eq!(h.record(false), Some(Down));
    }

    #[test]
    fn fall_failures_to_go_down_and_rise_successes_to_come_back() {
        let mut h = ScriptHealth::new(2, 3, false);
        h.record(true);
        assert_eq!(h.record(false), None);
        assert_eq!(h.record(false), None);
        assert_eq!(h.record(false), Some(Down), "third failure (fall 3)");
        assert_eq!(h.record(true), None);
        assert_eq!(h.record(true), Some(Up), "second success (rise 2)");
        // A success in between resets the count of failures.
        assert_eq!(h.record(false), None);
        assert_eq!(h.record(true), None);
        assert_eq!(h.record(false), None);
        assert_eq!(h.record(false), None);
        assert_eq!(h.record(false), Some(Down));
    }

    #[test]
    fn init_fail_starts_down_and_needs_rise_successes() {
        let mut h = ScriptHealth::new(2, 2, true);
        assert_eq!(h.state(), Down);
        assert_eq!(h.record(true), None);
        assert_eq!(h.record(true), Some(Up));
    }
}
