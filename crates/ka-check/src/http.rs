//! HTTP_GET / SSL_GET: one url per firing, as keepalived 2.2.7's check_http.c does.
//!
//! After a url passes, the next is probed a `delay_loop` later, so a full pass over N urls
//! takes N delay loops. A failing url is retried `retry` times `delay_before_retry` apart;
//! then the checker goes down and that url is re-probed every max(delay_before_retry,
//! delay_loop) until it passes, after which the whole list must pass again before the
//! checker comes up. `fast_recovery` removes the waits while recovering.

use crate::plan::CheckerPlan;
use crate::policy::{CheckerState, Names, Next, Outcome, Verdict};
use ka_config::lvs::checker::CheckerKind;
use ka_units::Micros;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// The url passed.
    New,
    /// The url failed while the checker was up (or had not run): count a retry.
    Retry,
    /// The url failed while the checker was already down.
    Failed,
}

/// Reads the result of probing url `st.url_it`.
pub fn on_outcome(
    plan: &CheckerPlan,
    st: &mut CheckerState,
    outcome: &Outcome,
    names: Names<'_>,
    log_all_global: bool,
) -> Verdict {
    let (urls, fast_recovery) = match plan.kind() {
        CheckerKind::Http(h) | CheckerKind::Ssl(h) => (&h.url, h.fast_recovery),
        _ => {
            return Verdict {
                event: None,
                first: false,
                logs: Vec::new(),
                next: Next::After(plan.delay_loop),
                cur_weight: None,
            }
        }
    };
    let log_all = log_all_global || plan.log_all_failures;
    let (l, d, r) = (plan.delay_loop, plan.delay_before_retry, plan.retry);
    let rs = names.rs;
    let mut v = Verdict {
        event: None,
        first: false,
        logs: Vec::new(),
        next: Next::After(l),
        cur_weight: None,
    };
    let mode = match outcome {
        Outcome::Success => {
            if !st.up {
                if let Some(url) = urls.get(st.url_it) {
                    let what = if url.regex.is_some() {
                        "Regex match"
                    } else if url.digest.is_some() {
                        "MD5 digest"
                    } else {
                        "HTTP status code"
                    };
                    v.logs.push(format!("{what} success to {rs} url({})", url.path));
                }
            }
            Mode::New
        }
        Outcome::LocalError { message } => {
            v.logs.push(format!("{message} Rescheduling."));
            return v;
        }
        Outcome::Failure { message } => {
            if st.up || !st.run {
                if log_all {
                    v.logs.push(format!("{message} server {rs}."));
                }
                st.run = true;
                Mode::Retry
            } else {
                Mode::Failed
            }
        }
        Outcome::Misc(_) => Mode::Failed,
    };

    // keepalived's epilog().
    let mut url_done = false;
    if mode == Mode::New {
        st.url_it += 1;
        url_done = st.url_it >= urls.len();
        st.it = 0;
    }
    if mode == Mode::Retry {
        st.it += 1;
    }
    if mode == Mode::New && url_done && st.failed_url.is_none() {
        if !st.up || !st.run {
            v.logs.push(format!("Remote Web server {rs} succeed on service."));
            v.event = Some(true);
            v.first = !st.run;
            st.run = true;
        }
        st.url_it = 0;
        st.it = 0;
    } else if mode == Mode::Retry && st.it > r {
        if st.up || !st.run {
            v.logs.push(if st.run && r > 0 {
                format!("HTTP_CHECK on service {rs} failed after {} retries.", st.it - 1)
            } else {
                format!("HTTP_CHECK on service {rs} failed.")
            });
            v.event = Some(false);
            // timeout_epilog marked the checker as run before this.
            v.first = false;
        }
        st.failed_url = Some(st.url_it);
    } else if mode == Mode::New && st.failed_url.is_some() {
        st.failed_url = None;
        st.url_it = 0;
        st.it = 0;
    } else if mode == Mode::New && url_done {
        st.url_it = 0;
    }
    let delay = match mode {
        Mode::New => l,
        _ if st.failed_url.is_some() => Micros(d.0.max(l.0)),
        _ => d,
    };
    if mode == Mode::New && !st.run {
        st.it = r;
    }
    let recovering = !st.run || (!st.up && st.failed_url.is_none());
    v.next = Next::After(if fast_recovery && recovering {
        Micros(0)
    } else {
        delay
    });
    v
}
