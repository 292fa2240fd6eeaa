//! keepalived's process-tuning keywords, applied to the thread that runs each part. keepalived
//! runs VRRP and the checkers as two processes and tunes each; keepalived-rs runs them as
//! threads of one process, so each setting goes to its thread:
//!
//! - `vrrp_rt_priority` / `checker_rt_priority`: SCHED_RR at that priority, with
//!   SCHED_RESET_ON_FORK as keepalived sets it, so that threads and scripts started later
//!   run normally (a notify script must not inherit real-time priority);
//! - `vrrp_rlimit_rttime` / `checker_rlimit_rttime` (with a real-time priority only):
//!   RLIMIT_RTTIME, soft half and hard full as keepalived sets them; SIGXCPU at the soft
//!   limit is logged (see `super::log_cpu_limit_warnings`), the hard limit kills, as in keepalived.
//!   The limit is per process: the larger of the two roles' values is used, so that neither
//!   role is killed sooner than its own setting says;
//! - `vrrp_priority` / `checker_priority`: the thread's nice value;
//! - without `vrrp_priority` and without `vrrp_rt_priority`, keepalived-rs's default: the VRRP
//!   thread runs SCHED_RR at priority [`DEFAULT_VRRP_RT_PRIORITY`] (the lowest real-time
//!   priority: above every normal process, not above any real-time one the operator chose),
//!   where keepalived stays at SCHED_OTHER nice 0. Adverts are a few system calls per interval;
//!   a master whose adverts come late under CPU load makes its backups take over from it
//!   (bench/faults/starvation.sh: at nice -10, the previous default, one 36.7 ms send gap in
//!   180 s of six busy loops was a false failover). corosync runs real-time by default for the
//!   same reason. The default comes with a soft RLIMIT_RTTIME of
//!   [`DEFAULT_RTTIME_SOFT_US`] and no hard one: a thread that runs that long without sleeping
//!   (a packet flood keeps the loop busy; a bug could too) gets SIGXCPU, and the handler puts
//!   it back to normal scheduling at nice [`DEFAULT_VRRP_NICE`] (`super::log_cpu_limit_warnings`)
//!   instead of the kernel killing a master that holds VIPs. Where real-time is refused (no
//!   CAP_SYS_NICE, an RT cgroup without budget) it tries nice [`DEFAULT_VRRP_NICE`], then runs
//!   as it is, saying so in the debug log only. `vrrp_priority 0` keeps keepalived's behaviour;
//! - `vrrp_cpu_affinity` / `checker_cpu_affinity`: the CPUs the thread may run on;
//! - `vrrp_no_swap` / `checker_no_swap`: the whole process locked in memory (mlockall).
//!
//! Work that may run long on the VRRP thread (reading a configuration on reload) is done
//! under [`NormalSchedulingWhile`], so that RLIMIT_RTTIME cannot kill the daemon for parsing a
//! big file and the real-time priority never starves the rest of the machine.

use ka_config::global_defs::GlobalDefs;

/// The VRRP thread's SCHED_RR priority when the configuration sets no priority.
pub const DEFAULT_VRRP_RT_PRIORITY: u32 = 1;

/// Soft RLIMIT_RTTIME (µs) with [`DEFAULT_VRRP_RT_PRIORITY`]: after 0.5 s of CPU without
/// sleeping, SIGXCPU, on which the VRRP thread leaves real-time scheduling. No hard limit.
pub const DEFAULT_RTTIME_SOFT_US: u64 = 500_000;

/// RLIMIT_RTTIME as set for the process: SIGXCPU at `soft_us` of CPU without sleeping (and
/// every second after), SIGKILL at `hard_us` (None: never).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtTimeLimit {
    pub soft_us: u64,
    pub hard_us: Option<u64>,
}

/// The VRRP thread's nice value when the configuration sets no priority and real-time
/// scheduling is refused.
pub const DEFAULT_VRRP_NICE: i8 = -10;

/// One role's settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tuning {
    pub role: &'static str,
    /// Nice value (0 = unchanged).
    pub nice: i8,
    /// The priority is keepalived-rs's default ([`DEFAULT_VRRP_RT_PRIORITY`], falling back to
    /// [`DEFAULT_VRRP_NICE`]), not the configuration's: failing to set it is not worth a
    /// warning.
    pub by_default: bool,
    /// SCHED_RR priority (0 = not real-time).
    pub rt_priority: u32,
    /// RLIMIT_RTTIME (None = unchanged); applies only with a real-time priority.
    pub rlimit: Option<RtTimeLimit>,
    pub no_swap: bool,
    /// CPU ids (empty = wherever the kernel likes).
    pub cpus: Vec<u32>,
}

/// The configuration sets no VRRP priority: keepalived-rs's default applies.
fn vrrp_priority_by_default(g: &GlobalDefs) -> bool {
    !g.vrrp_priority_set && g.vrrp_rt_priority == 0
}

impl Tuning {
    pub fn vrrp(g: &GlobalDefs) -> Tuning {
        let by_default = vrrp_priority_by_default(g);
        Tuning {
            role: "vrrp",
            nice: if by_default {
                DEFAULT_VRRP_NICE
            } else {
                g.vrrp_priority
            },
            by_default,
            rt_priority: if by_default {
                DEFAULT_VRRP_RT_PRIORITY
            } else {
                g.vrrp_rt_priority
            },
            rlimit: rlimit_for_process(g),
            no_swap: g.vrrp_no_swap,
            cpus: g.vrrp_cpu_affinity.clone(),
        }
    }

    pub fn checker(g: &GlobalDefs) -> Tuning {
        Tuning {
            role: "checker",
            nice: g.checker_priority,
            by_default: false,
            rt_priority: g.checker_rt_priority,
            rlimit: rlimit_for_process(g),
            no_swap: g.checker_no_swap,
            cpus: g.checker_cpu_affinity.clone(),
        }
    }

    /// Applies the settings to the calling thread (and the process-wide ones to the
    /// process). Returns what was done, and what failed, as log lines.
    #[allow(unsafe_code)] // system calls with no safe wrapper in nix; each states its safety
    pub fn apply_to_this_thread(&self) -> Vec<String> {
        let mut said = Vec::new();
        let role = self.role;
        let real_time = self.rt_priority > 0 && self.set_real_time(&mut said);
        if !real_time && self.nice != 0 {
            self.set_nice(&mut said);
        }
        if !self.cpus.is_empty() {
            let mut set = nix::sched::CpuSet::new();
            let mut usable = Vec::new();
            for &cpu in &self.cpus {
                if set.set(cpu as usize).is_ok() {
                    usable.push(cpu);
                }
            }
            match nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set) {
                Ok(()) => said.push(format!("{role}: CPU affinity {usable:?}")),
                Err(e) => said.push(format!("{role}: cannot set CPU affinity {:?}: {e}", self.cpus)),
            }
        }
        if self.no_swap {
            // SAFETY: mlockall takes flags only.
            let rc = unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE | libc::MCL_ONFAULT) };
            if rc == 0 {
                said.push(format!("{role}: locked in memory"));
            } else {
                said.push(format!(
                    "{role}: unable to lock process in memory - {}",
                    std::io::Error::last_os_error()
                ));
            }
        }
        said
    }
    /// SCHED_RR at `rt_priority` with SCHED_RESET_ON_FORK, and the RLIMIT_RTTIME that goes with
    /// it; whether the thread is now real-time.
    #[allow(unsafe_code)] // sched_setscheduler/setrlimit have no safe wrapper in nix
    fn set_real_time(&self, said: &mut Vec<String>) -> bool {
        let role = self.role;
        let param = libc::sched_param {
            sched_priority: self.rt_priority.clamp(1, 99) as i32,
        };
        // SAFETY: sched_setscheduler reads `param`; pid 0 is the calling thread.
        let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_RR | libc::SCHED_RESET_ON_FORK, &param) };
        if rc != 0 {
            let why = std::io::Error::last_os_error();
            if self.by_default {
                crate::debug!(
                    "{role}: cannot raise priority to real-time {} (keepalived-rs's default): {why}",
                    param.sched_priority
                );
            } else {
                said.push(format!(
                    "{role}: cannot raise priority to real-time {}: {why}",
                    param.sched_priority
                ));
            }
            return false;
        }
        said.push(format!(
            "{role}: real-time priority {} (SCHED_RR){}",
            param.sched_priority,
            if self.by_default {
                "; keepalived-rs's default (vrrp_priority 0 for keepalived's)"
            } else {
                ""
            }
        ));
        if let Some(l) = self.rlimit {
            let limit = libc::rlimit {
                rlim_cur: l.soft_us,
                rlim_max: l.hard_us.unwrap_or(libc::RLIM_INFINITY),
            };
            // SAFETY: setrlimit reads `limit`.
            if unsafe { libc::setrlimit(libc::RLIMIT_RTTIME, &limit) } != 0 {
                said.push(format!(
                    "{role}: cannot set the real-time CPU limit: {}",
                    std::io::Error::last_os_error()
                ));
            }
        }
        true
    }

    /// The calling thread's nice value, with SCHED_RESET_ON_FORK: threads and scripts started
    /// later must not inherit a raised priority.
    fn set_nice(&self, said: &mut Vec<String>) {
        let role = self.role;
        to_normal_scheduling();
        match set_this_thread_nice(self.nice) {
            Ok(()) => said.push(format!(
                "{role}: priority (nice) {}{}",
                self.nice,
                if self.by_default {
                    " (keepalived-rs's default where real-time is refused; vrrp_priority 0 for keepalived's)"
                } else {
                    ""
                }
            )),
            Err(e) if self.by_default => {
                crate::debug!("{role}: cannot raise priority to nice {}: {e}", self.nice)
            }
            Err(e) => said.push(format!("{role}: cannot set priority {}: {e}", self.nice)),
        }
    }
}

/// The process-wide RLIMIT_RTTIME. With a configured real-time role, keepalived's: soft half
/// and hard full of the larger configured `*_rlimit_rttime` (none when one of them is 0). With
/// only the VRRP thread's default real-time: [`DEFAULT_RTTIME_SOFT_US`], no hard limit.
fn rlimit_for_process(g: &GlobalDefs) -> Option<RtTimeLimit> {
    let mut limits = Vec::new();
    if g.vrrp_rt_priority > 0 {
        limits.push(g.vrrp_rlimit_rttime.as_micros());
    }
    if g.checker_rt_priority > 0 {
        limits.push(g.checker_rlimit_rttime.as_micros());
    }
    if limits.is_empty() {
        return vrrp_priority_by_default(g).then_some(RtTimeLimit {
            soft_us: DEFAULT_RTTIME_SOFT_US,
            hard_us: None,
        });
    }
    if limits.contains(&0) {
        return None;
    }
    limits.into_iter().max().map(|hard| RtTimeLimit {
        soft_us: hard / 2,
        hard_us: Some(hard),
    })
}

/// Puts the calling thread back to normal scheduling at `nice` (SIGXCPU on the default
/// real-time VRRP thread). Whether it was real-time before.
pub fn leave_real_time(nice: i8) -> bool {
    if !this_thread_is_real_time() {
        return false;
    }
    to_normal_scheduling();
    let _ = set_this_thread_nice(nice);
    true
}

/// Whether the calling thread runs SCHED_RR.
#[allow(unsafe_code)] // sched_getscheduler on the calling thread
fn this_thread_is_real_time() -> bool {
    // SAFETY: a query of the calling thread's own policy.
    let policy = unsafe { libc::sched_getscheduler(0) };
    policy >= 0 && policy & !libc::SCHED_RESET_ON_FORK == libc::SCHED_RR
}

/// SCHED_OTHER, with SCHED_RESET_ON_FORK, for the calling thread; whether it took.
#[allow(unsafe_code)] // sched_setscheduler on the calling thread
fn to_normal_scheduling() -> bool {
    let normal = libc::sched_param { sched_priority: 0 };
    // SAFETY: reads `normal`; pid 0 is the calling thread.
    unsafe { libc::sched_setscheduler(0, libc::SCHED_OTHER | libc::SCHED_RESET_ON_FORK, &normal) == 0 }
}

/// The calling thread's nice value.
#[allow(unsafe_code)] // gettid/setpriority on the calling thread
fn set_this_thread_nice(nice: i8) -> std::io::Result<()> {
    // SAFETY: plain system calls on the calling thread.
    let tid = unsafe { libc::gettid() };
    // SAFETY: as above; setpriority reads its integer arguments only.
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, i32::from(nice)) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// While alive, the calling thread runs SCHED_OTHER if it was real-time; its policy is put
/// back on drop. For long work on the VRRP thread (a reload's parsing).
pub struct NormalSchedulingWhile {
    restore: Option<libc::sched_param>,
}

impl NormalSchedulingWhile {
    #[allow(unsafe_code)] // sched_getparam on the calling thread
    pub fn begin() -> NormalSchedulingWhile {
        if !this_thread_is_real_time() {
            return NormalSchedulingWhile { restore: None };
        }
        let mut current = libc::sched_param { sched_priority: 0 };
        // SAFETY: writes into `current`.
        if unsafe { libc::sched_getparam(0, &mut current) } != 0 {
            return NormalSchedulingWhile { restore: None };
        }
        if !to_normal_scheduling() {
            return NormalSchedulingWhile { restore: None };
        }
        NormalSchedulingWhile {
            restore: Some(current),
        }
    }
}

impl Drop for NormalSchedulingWhile {
    #[allow(unsafe_code)] // sched_setscheduler on the calling thread
    fn drop(&mut self) {
        if let Some(param) = self.restore {
            // SAFETY: reads `param`.
            unsafe { libc::sched_setscheduler(0, libc::SCHED_RR | libc::SCHED_RESET_ON_FORK, &param) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defs(text: &str) -> GlobalDefs {
        ka_config::load_str(&format!("global_defs {{\n{text}\n}}\n"))
            .config
            .global_defs
    }

    #[test]
    fn each_role_takes_its_own_keywords() {
        let g = defs("vrrp_rt_priority 20\nvrrp_cpu_affinity 0\nchecker_priority -5\nchecker_no_swap");
        let v = Tuning::vrrp(&g);
        assert_eq!(
            (v.rt_priority, v.cpus.clone(), v.no_swap, v.nice),
            (20, vec![0], false, 0)
        );
        // keepalived's default vrrp_rlimit_rttime: 10 ms.
        assert_eq!(
            v.rlimit,
            Some(RtTimeLimit {
                soft_us: 5_000,
                hard_us: Some(10_000)
            })
        );
        let c = Tuning::checker(&g);
        assert_eq!((c.rt_priority, c.nice, c.no_swap), (0, -5, true));
        // keepalived-rs's default, unless the file says a priority: real-time 1, nice -10
        // where that is refused, and a soft limit only (SIGXCPU demotes, nothing kills).
        let d = Tuning::vrrp(&defs(""));
        assert_eq!(
            (d.rt_priority, d.nice, d.by_default, d.rlimit),
            (
                1,
                -10,
                true,
                Some(RtTimeLimit {
                    soft_us: 500_000,
                    hard_us: None
                })
            )
        );
        let keepalived_like = Tuning::vrrp(&defs("vrrp_priority 0"));
        assert_eq!(
            (
                keepalived_like.rt_priority,
                keepalived_like.nice,
                keepalived_like.by_default
            ),
            (0, 0, false)
        );
        assert_eq!(keepalived_like.rlimit, None, "no real-time role, no limit");
        assert_eq!(Tuning::vrrp(&defs("vrrp_priority 5")).nice, 5);
        assert_eq!(Tuning::vrrp(&defs("vrrp_rt_priority 20")).nice, 0);
        assert_eq!(Tuning::checker(&defs("")).rt_priority, 0, "checkers stay normal");
    }

    #[test]
    fn the_process_limit_is_the_larger_of_the_real_time_roles() {
        let hard = |g: &GlobalDefs| rlimit_for_process(g).and_then(|l| l.hard_us);
        let g = defs("vrrp_rt_priority 20\nchecker_rt_priority 10\nchecker_rlimit_rttime 50000");
        assert_eq!(hard(&g), Some(50_000));
        let g = defs("vrrp_rt_priority 20\nvrrp_rlimit_rttime 20000");
        assert_eq!(hard(&g), Some(20_000));
        // A configured real-time role sets keepalived's limit, default VRRP thread or not.
        let g = defs("checker_rt_priority 10\nchecker_rlimit_rttime 50000");
        assert_eq!(hard(&g), Some(50_000));
        assert_eq!(rlimit_for_process(&defs("vrrp_priority 0")), None);
    }

    #[test]
    #[allow(unsafe_code)]
    fn normal_scheduling_is_a_no_op_on_a_normal_thread() {
        // SAFETY: a query.
        let before = unsafe { libc::sched_getscheduler(0) };
        {
            let _g = NormalSchedulingWhile::begin();
            assert_eq!(
                unsafe { libc::sched_getscheduler(0) } & !libc::SCHED_RESET_ON_FORK,
                libc::SCHED_OTHER
            );
        }
        assert_eq!(unsafe { libc::sched_getscheduler(0) }, before);
    }
}
