//! Effective priority and fault status from tracked objects, as keepalived computes them
//! (vrrp/vrrp_track.c), but as a pure function of the current tracker states rather than
//! running increments, so it cannot drift.
//!
//! For an object that is up or down with `weight W [reverse]` (m = −1 if reverse, else 1):
//! - W = 0: FAULT while the object is down (or up, when reversed);
//! - W > 0: adds W·m while up; W < 0: adds W·m while down.
//!
//! For a `track_file` holding the number v: W = 0 means FAULT when v ≠ 0 (v = 0 when
//! reversed); otherwise v·W·m is added, and a contribution below −253 means FAULT.
//! An address owner (priority 255) ignores weights. The result is clamped to 1..254.

use crate::config::TrackWeight;
use crate::event::TrackerState;

/// The outcome of evaluating all trackers of an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Evaluation {
    pub effective: u8,
    /// Some weight-0 object has failed (or an interface the instance needs is down).
    pub fault: bool,
    /// Some weight-0 object has not reported yet.
    pub waiting: bool,
}

/// Contribution of one up/down object; None means FAULT.
pub fn flag_contribution(up: bool, w: TrackWeight) -> Option<i64> {
    let m: i64 = if w.reverse { -1 } else { 1 };
    let weight = i64::from(w.weight);
    if weight == 0 {
        return if up == (m == 1) { Some(0) } else { None };
    }
    Some(match (up, weight > 0) {
        (true, true) | (false, false) => weight * m,
        _ => 0,
    })
}

/// Contribution of one `track_file` value; None means FAULT.
pub fn value_contribution(value: i64, w: TrackWeight) -> Option<i64> {
    let m: i64 = if w.reverse { -1 } else { 1 };
    if w.weight == 0 {
        return if (value != 0) == (m == 1) { None } else { Some(0) };
    }
    let c = value.saturating_mul(i64::from(w.weight)).saturating_mul(m);
    if c < -253 {
        None
    } else {
        Some(c)
    }
}

/// Evaluates base priority against every tracked object.
pub fn evaluate<'a>(
    base: u8,
    links: impl Iterator<Item = (bool, TrackWeight)>,
    flags: impl Iterator<Item = (TrackerState, TrackWeight)>,
    values: impl Iterator<Item = (TrackerState, TrackWeight)> + 'a,
) -> Evaluation {
    let mut total = i64::from(base);
    let mut fault = false;
    let mut waiting = false;
    let mut add = |c: Option<i64>, total: &mut i64| match c {
        Some(c) => *total += c,
        None => fault = true,
    };
    for (up, w) in links {
        add(flag_contribution(up, w), &mut total);
    }
    for (state, w) in flags {
        match state {
            TrackerState::Up => add(flag_contribution(true, w), &mut total),
            TrackerState::Down => add(flag_contribution(false, w), &mut total),
            TrackerState::Value(v) => add(flag_contribution(v != 0, w), &mut total),
            TrackerState::Unknown => waiting |= w.weight == 0,
        }
    }
    for (state, w) in values {
        match state {
            TrackerState::Value(v) => add(value_contribution(v, w), &mut total),
            TrackerState::Up => add(value_contribution(1, w), &mut total),
            TrackerState::Down => add(value_contribution(0, w), &mut total),
            TrackerState::Unknown => {}
        }
    }
    let effective = if base == 255 {
        255
    } else {
        total.clamp(1, 254) as u8
    };
    Evaluation {
        effective,
        fault,
        waiting,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn w(weight: i32, reverse: bool) -> TrackWeight {
        TrackWeight { weight, reverse }
    }

    #[test]
    fn flag_weights_follow_keepalived() {
        assert_eq!(flag_contribution(true, w(10, false)), Some(10));
        assert_eq!(flag_contribution(false, w(10, false)), Some(0));
        assert_eq!(flag_contribution(true, w(-10, false)), Some(0));
        assert_eq!(flag_contribution(false, w(-10, false)), Some(-10));
        assert_eq!(flag_contribution(true, w(10, true)), Some(-10));
        assert_eq!(flag_contribution(false, w(-10, true)), Some(10));
        assert_eq!(flag_contribution(false, w(0, false)), None);
        assert_eq!(flag_contribution(true, w(0, true)), None);
        assert_eq!(flag_contribution(true, w(0, false)), Some(0));
    }

    #[test]
    fn file_values_follow_keepalived() {
        assert_eq!(value_contribution(3, w(5, false)), Some(15));
        assert_eq!(value_contribution(-60, w(5, false)), None);
        assert_eq!(value_contribution(1, w(0, false)), None);
        assert_eq!(value_contribution(0, w(0, false)), Some(0));
        assert_eq!(value_contribution(0, w(0, true)), None);
    }

    #[test]
    fn clamps_and_owner_ignores_weights() {
        let down = [(TrackerState::Down, w(-200, false))];
        assert_eq!(
            evaluate(100, std::iter::empty(), down.into_iter(), std::iter::empty()).effective,
            1
        );
        let up = [(TrackerState::Up, w(200, false))];
        assert_eq!(
            evaluate(100, std::iter::empty(), up.into_iter(), std::iter::empty()).effective,
            254
        );
        assert_eq!(
            evaluate(255, std::iter::empty(), down.into_iter(), std::iter::empty()).effective,
            255
        );
        let unknown = [(TrackerState::Unknown, w(0, false))];
        let e = evaluate(100, std::iter::empty(), unknown.into_iter(), std::iter::empty());
        assert!(e.waiting && !e.fault);
        let links = [(false, w(0, false))];
        assert!(evaluate(100, links.into_iter(), std::iter::empty(), std::iter::empty()).fault);
    }
}
