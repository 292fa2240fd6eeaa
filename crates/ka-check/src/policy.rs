//! One checker's reading of its probe results, as keepalived 2.2.7 does it per type: the
//! retry countdown (`retry`, `delay_before_retry`), when the checker goes up or down, what
//! is logged, when it probes next, and (MISC_CHECK with `misc_dynamic`) the weight it asks
//! for. The rules differ by type in ways operators see, so each type keeps its own:
//!
//! * TCP_CHECK keeps retrying while down; UDP_CHECK and PING_CHECK retry only while up;
//! * DNS_CHECK logs the failure on the last retry only, and never logs success;
//! * SMTP_CHECK starts every cycle with a fresh retry budget;
//! * MISC_CHECK counts its next run from the script's start and turns exit codes into
//!   weights;
//! * HTTP_GET/SSL_GET probe one url per firing ([`crate::http`]).
//!
//! Every checker starts with its retry budget used up (`it = retry`): one failure is enough
//! to take a real server down at start-up, as in keepalived.

use crate::plan::CheckerPlan;
use ka_config::lvs::checker::CheckerKind;
use ka_units::Micros;

/// How a probe ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// The real server failed the check. `message` is keepalived's wording of this attempt
    /// (e.g. `TCP connection to [198.51.100.1]:tcp:80 timeout.`, or for HTTP the reason
    /// such as `Timeout connecting`, for DNS/SMTP the reason after the type's prefix).
    Failure {
        message: String,
    },
    /// The probe could not be attempted (socket, bind): not counted, tried again after
    /// `delay_loop` (keepalived's "Rescheduling").
    LocalError {
        message: String,
    },
    /// MISC_CHECK: how the script ended.
    Misc(MiscExit),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MiscExit {
    Exited(i32),
    Signaled(i32),
    /// Killed at `misc_timeout`.
    TimedOut,
}

/// A checker's mutable state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckerState {
    /// keepalived's `is_up`.
    pub up: bool,
    /// keepalived's `has_run`: a result has been seen.
    pub run: bool,
    /// The retry counter (`retry_it`).
    pub it: u32,
    /// This checker's contribution to its real server's weight (MISC dynamic, FILE).
    pub cur_weight: i64,
    /// MISC_CHECK: the exit code of the last run that counted.
    pub last_exit_code: i32,
    /// SMTP_CHECK: the next probe is a retry within the current cycle.
    pub smtp_retrying: bool,
    /// HTTP: the url to probe next.
    pub url_it: usize,
    /// HTTP: the url that made the checker fail, re-probed until it recovers.
    pub failed_url: Option<usize>,
}

impl CheckerState {
    /// The state at a fresh start: up unless alpha, retry budget used up.
    pub fn initial(plan: &CheckerPlan) -> CheckerState {
        CheckerState {
            up: !plan.alpha,
            run: false,
            it: plan.retry,
            cur_weight: 0,
            last_exit_code: 0,
            smtp_retrying: false,
            url_it: 0,
            failed_url: None,
        }
    }
}

/// When to probe next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// This long after the result.
    After(Micros),
    /// This long after the probe started (MISC_CHECK).
    AfterStart(Micros),
}

/// What the engine must do with a result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// keepalived's `update_svr_checker_state(alive)`: Some(true) = the checker says up,
    /// Some(false) = down (the engine applies the real-server rules).
    pub event: Option<bool>,
    /// The event is the checker's first result (keepalived's `!has_run` at that moment):
    /// an alpha checker's first failure is announced although nothing changes.
    pub first: bool,
    pub logs: Vec<String>,
    pub next: Next,
    /// A new weight contribution for this checker (MISC dynamic).
    pub cur_weight: Option<i64>,
}

/// The names a checker's log lines carry: the real server (FMT_RS, not the probe target)
/// and its virtual server (FMT_VS).
#[derive(Clone, Copy, Debug)]
pub struct Names<'a> {
    pub rs: &'a str,
    pub vs: &'a str,
}

/// MISC_CHECK's singular/plural (the other types always say "retries").
fn retries(n: u32) -> &'static str {
    if n == 1 {
        "retry"
    } else {
        "retries"
    }
}

/// Reads one result of a timer-driven, non-HTTP checker (HTTP: [`crate::http::on_outcome`]).
pub fn on_outcome(
    plan: &CheckerPlan,
    st: &mut CheckerState,
    outcome: &Outcome,
    names: Names<'_>,
    iweight: u32,
    log_all_global: bool,
) -> Verdict {
    let log_all = log_all_global || plan.log_all_failures;
    let (l, d, r) = (plan.delay_loop, plan.delay_before_retry, plan.retry);
    let mut v = Verdict {
        event: None,
        first: !st.run,
        logs: Vec::new(),
        next: Next::After(l),
        cur_weight: None,
    };
    if let Outcome::LocalError { message } = outcome {
        v.logs.push(format!("{message} Rescheduling."));
        return v;
    }
    let rs = names.rs;
    match plan.kind() {
        CheckerKind::Tcp => {
            let success = *outcome == Outcome::Success;
            if success || st.it >= r {
                st.it = 0;
                if success && (!st.up || !st.run) {
                    v.logs.push(format!("TCP connection to {rs} success."));
                    v.event = Some(true);
                } else if !success && (st.up || !st.run) {
                    v.logs.push(if st.run && r > 0 {
                        format!("TCP_CHECK on service {rs} failed after {r} retries.")
                    } else {
                        format!("TCP_CHECK on service {rs} failed.")
                    });
                    v.event = Some(false);
                }
            } else {
                if let Outcome::Failure { message } = outcome {
                    if log_all && st.up {
                        v.logs.push(message.clone());
                    }
                }
                v.next = Next::After(d);
                st.it += 1;
            }
            st.run = true;
        }
        CheckerKind::Udp(_) | CheckerKind::Ping => {
            let (ok_word, fail_word, of_vs) = match plan.kind() {
                CheckerKind::Ping => ("ICMP connection to", "ICMP CHECK", true),
                _ => ("UDP connection to", "UDP_CHECK", false),
            };
            let success = *outcome == Outcome::Success;
            if success || ((st.up || !st.run) && st.it >= r) {
                st.it = 0;
                if success && (!st.up || !st.run) {
                    v.logs.push(format!("{ok_word} {rs} success."));
                    v.event = Some(true);
                } else if !success && (st.up || !st.run) {
                    v.logs.push(if st.run && r > 0 {
                        if of_vs {
                            format!(
                                "{fail_word} on service {rs} of {} failed after {r} retries.",
                                names.vs
                            )
                        } else {
                            format!("{fail_word} on service {rs} failed after {r} retries.")
                        }
                    } else {
                        format!("{fail_word} on service {rs} failed.")
                    });
                    v.event = Some(false);
                }
            } else if st.up {
                if let Outcome::Failure { message } = outcome {
                    if log_all {
                        v.logs.push(message.clone());
                    }
                }
                v.next = Next::After(d);
                st.it += 1;
            }
            st.run = true;
        }
        CheckerKind::Dns(_) => {
            if let Outcome::Failure { message } = outcome {
                if st.up || !st.run {
                    if log_all || st.it >= r {
                        let suffix = if st.run && st.it >= r {
                            format!(" after {r} retries")
                        } else {
                            String::new()
                        };
                        v.logs.push(format!("DNS_CHECK ({rs}) {message}{suffix}"));
                    }
                    if st.it < r {
                        st.it += 1;
                        st.run = true;
                        v.next = Next::After(d);
                        return v;
                    }
                    v.event = Some(false);
                }
            } else if !st.up || !st.run {
                v.event = Some(true);
            }
            st.it = 0;
            st.run = true;
        }
        CheckerKind::Smtp(_) => match outcome {
            Outcome::Failure { message } => {
                if (st.up || !st.run) && (log_all || st.it >= r) {
                    v.logs.push(format!("SMTP_CHECK {message}"));
                }
                st.it += 1;
                if st.it <= r {
                    st.smtp_retrying = true;
                    v.next = Next::After(d);
                    return v;
                }
                if st.up || !st.run {
                    v.event = Some(false);
                }
                st.smtp_retrying = false;
                st.run = true;
            }
            _ => {
                st.it = 0;
                if !st.up || !st.run {
                    v.logs
                        .push(format!("Remote SMTP server {rs} succeed on service."));
                    v.event = Some(true);
                }
                st.smtp_retrying = false;
                st.run = true;
            }
        },
        CheckerKind::Misc(misc) => {
            misc_outcome(
                plan,
                st,
                outcome,
                names,
                iweight,
                log_all,
                misc.misc_dynamic,
                &mut v,
            );
            v.next = Next::AfterStart(if st.it > 0 { d } else { l });
            st.run = true;
        }
        // Not timer driven (FILE_CHECK, BFD_CHECK) or handled elsewhere (HTTP).
        CheckerKind::Http(_) | CheckerKind::Ssl(_) | CheckerKind::File(_) | CheckerKind::Bfd(_) => {}
    }
    v
}

/// keepalived's MISC_CHECK result (check_misc.c): exit 0 succeeds, 1 fails, 2..255 fail
/// unless `misc_dynamic`, where they succeed and set the real server's weight to code − 2.
#[allow(clippy::too_many_arguments)]
fn misc_outcome(
    plan: &CheckerPlan,
    st: &mut CheckerState,
    outcome: &Outcome,
    names: Names<'_>,
    iweight: u32,
    log_all: bool,
    dynamic: bool,
    v: &mut Verdict,
) {
    let r = plan.retry;
    let script = match plan.kind() {
        CheckerKind::Misc(m) => m.misc_path.program().to_string(),
        _ => String::new(),
    };
    let head = format!("Misc check for [{} VS {}] by [{script}]", names.rs, names.vs);
    let (success, status, detail) = match outcome {
        Outcome::Misc(MiscExit::Exited(0)) | Outcome::Success => (true, 0, String::new()),
        Outcome::Misc(MiscExit::Exited(code)) if dynamic && (2..=255).contains(code) => {
            (true, *code, String::new())
        }
        Outcome::Misc(MiscExit::Exited(code)) => (false, *code, format!(" (exited with status {code})")),
        Outcome::Misc(MiscExit::Signaled(sig)) => (false, -1, format!(" (due to signal {sig})")),
        Outcome::Misc(MiscExit::TimedOut) => (false, -1, String::new()),
        Outcome::Failure { message } => (false, -1, format!(" ({message})")),
        Outcome::LocalError { .. } => return,
    };
    let what = match outcome {
        Outcome::Misc(MiscExit::TimedOut) => "timed out",
        _ => "failed",
    };
    if success {
        if dynamic && status != st.last_exit_code {
            let new = if status != 0 {
                i64::from(status) - 2 - i64::from(iweight)
            } else {
                0
            };
            v.cur_weight = Some(new);
            st.last_exit_code = status;
        }
        if !st.up || !st.run {
            v.logs.push(format!("{head} succeeded."));
            v.event = Some(true);
        }
        st.it = 0;
    } else if st.up || !st.run {
        if st.it < r {
            st.it += 1;
            if log_all {
                let suffix = if st.it == 1 {
                    format!(", will do {r} {}", retries(r))
                } else {
                    format!(" on retry {}/{r}", st.it - 1)
                };
                v.logs.push(format!("{head} {what}{suffix}{detail}."));
            }
        } else {
            st.it = 0;
            v.cur_weight = Some(0);
            st.last_exit_code = status;
            let suffix = if r == 0 {
                " with retry disabled".to_string()
            } else {
                format!(" after {r} {}", retries(r))
            };
            v.logs.push(format!("{head} {what}{suffix}{detail}."));
            v.event = Some(false);
        }
    }
}

/// FILE_CHECK: the weight contribution and fault state for a tracked file's value
/// (keepalived's track_file status): with weight 0 the file is a switch (non-zero = fault,
/// inverted by `reverse`); otherwise value × weight (negated by `reverse`), a fault only when
/// the product saturates at the 32-bit minimum.
pub fn file_status(value: i64, weight: i32, reverse: bool) -> FileStatus {
    if weight == 0 {
        return if (value != 0) != reverse {
            FileStatus::Fault
        } else {
            FileStatus::Weight(0)
        };
    }
    let sign: i64 = if reverse { -1 } else { 1 };
    let product = value.saturating_mul(i64::from(weight)).saturating_mul(sign);
    if product <= i64::from(i32::MIN) {
        FileStatus::Fault
    } else {
        FileStatus::Weight(product.min(i64::from(i32::MAX)))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileStatus {
    Fault,
    Weight(i64),
}
