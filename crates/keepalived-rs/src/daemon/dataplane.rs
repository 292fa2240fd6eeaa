//! Which load-balancer data plane the health checkers program (`--dataplane`): IPVS where
//! the kernel has it, nftables otherwise (refusing what nftables cannot do unless the
//! operator opts into the documented fallback), or none.

use ka_check::plan::CheckPlan;
use ka_lb::dataplane::{Dataplane, FakeDataplane};
use ka_lb::model::Forward;
use ka_lb::{Change, DataplaneError, LbState};
use ka_net::ipvs::IpvsDataplane;
use ka_net::nft::NftDataplane;
use ka_nft::{DrLink, Env, UnsupportedPolicy};
use std::net::IpAddr;

/// What the operator asked for.
#[derive(Clone, Debug)]
pub struct Choice<'a> {
    /// `auto`, `ipvs`, `nftables`, `none`.
    pub kind: &'a str,
    /// `--nft-scheduler-fallback`: program the nearest stateless scheduler where nftables
    /// cannot reproduce the configured one (lc → rr, wlc → wrr, ...).
    pub nft_fallback: bool,
}

/// The data plane for a choice and plan.
pub fn choose(choice: &Choice<'_>, plan: &CheckPlan) -> Result<Box<dyn Dataplane + Send>, String> {
    match choice.kind {
        "none" => {
            crate::warn!("--dataplane none: health checks run and are logged, nothing is programmed");
            Ok(Box::new(Unprogrammed(FakeDataplane::default())))
        }
        "ipvs" => open_ipvs().map(|d| Box::new(d) as Box<dyn Dataplane + Send>),
        "nftables" => open_nft(plan, choice.nft_fallback),
        "auto" => {
            if ka_net::nft::kernel_has_ipvs() {
                open_ipvs().map(|d| Box::new(d) as Box<dyn Dataplane + Send>)
            } else {
                crate::info!("this kernel has no IPVS: using the nftables data plane");
                open_nft(plan, choice.nft_fallback)
            }
        }
        other => Err(format!(
            "--dataplane {other}: unknown data plane (expected auto, ipvs, nftables or none)"
        )),
    }
}

/// IPVS, after loading its module as keepalived does (the generic-netlink family does not
/// load it on demand).
fn open_ipvs() -> Result<IpvsDataplane, String> {
    if !std::path::Path::new("/proc/net/ip_vs").exists() {
        let loaded = std::process::Command::new("modprobe")
            .arg("ip_vs")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        if !loaded.is_ok_and(|s| s.success()) {
            crate::debug!("modprobe ip_vs failed (the kernel may have IPVS built in, or none)");
        }
    }
    IpvsDataplane::open().map_err(|e| e.to_string())
}

/// A problem the nftables data plane has with a configuration.
#[derive(Clone, Debug)]
pub struct NftProblem {
    pub span: Option<ka_config::diag::Span>,
    pub message: String,
    /// With the fallback this is only a warning (the nearest scheduler is programmed).
    pub fatal: bool,
}

impl std::fmt::Display for NftProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.span {
            Some(s) => write!(f, "{s}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// What the nftables data plane cannot do for this plan.
pub fn nft_problems(plan: &CheckPlan, fallback: bool) -> Vec<NftProblem> {
    let mut out = Vec::new();
    for vs in &plan.virtual_servers {
        let mut push = |message: String, fatal: bool| {
            out.push(NftProblem {
                span: vs.span.clone(),
                message,
                fatal,
            })
        };
        for s in &vs.services {
            if let Err(u) = ka_nft::supports(s) {
                match (u.nearest, fallback) {
                    (Some(alt), true) => push(
                        format!(
                            "virtual server {}: scheduler {} is not supported by the nftables data plane; using {} (stateless)",
                            vs.name,
                            s.scheduler.name(),
                            alt.name()
                        ),
                        false,
                    ),
                    // The message names the virtual server and the alternative; say how
                    // to opt into it.
                    (Some(_), false) => push(
                        format!("{u} with --nft-scheduler-fallback"),
                        true,
                    ),
                    (None, _) => push(u.to_string(), true),
                }
            }
            for rs in &vs.real_servers {
                if let Err(u) = ka_nft::caps::supports_dest(&s.key, &rs.dest_in(&s.key, rs.weight)) {
                    push(format!("real server {}: {u}", rs.name), true);
                }
            }
        }
    }
    out
}

fn open_nft(plan: &CheckPlan, fallback: bool) -> Result<Box<dyn Dataplane + Send>, String> {
    let problems = nft_problems(plan, fallback);
    for p in problems.iter().filter(|p| !p.fatal) {
        crate::warn!("{p}");
    }
    let errors: Vec<String> = problems
        .iter()
        .filter(|p| p.fatal)
        .map(|p| p.to_string())
        .collect();
    if !errors.is_empty() {
        return Err(format!(
            "the nftables data plane cannot run this configuration: {}",
            errors.join("; ")
        ));
    }
    let dr_device = dr_device(plan)?;
    let mut env = Env {
        policy: if fallback {
            UnsupportedPolicy::Nearest
        } else {
            UnsupportedPolicy::Refuse
        },
        ..Env::default()
    };
    if let Some(dev) = &dr_device {
        let mac = ka_net::nft::link_mac(dev).map_err(|e| e.to_string())?;
        env.dr = Some(DrLink {
            device: dev.clone(),
            mac,
            neighbours: Default::default(),
        });
    }
    Ok(Box::new(NftBackend {
        inner: NftDataplane::new(env),
        dr_device,
    }))
}

/// The interface DR real servers are reached on (`ip route get`): nftables forwards the
/// rewritten frames out of it. All DR real servers must share it.
fn dr_device(plan: &CheckPlan) -> Result<Option<String>, String> {
    let mut device: Option<String> = None;
    for vs in &plan.virtual_servers {
        for rs in vs.real_servers.iter().filter(|r| r.forward == Forward::Route) {
            let dev = route_device(rs.addr)?;
            match &device {
                None => device = Some(dev),
                Some(d) if *d == dev => {}
                Some(d) => {
                    return Err(format!(
                        "DR real servers on two interfaces ({d} and {dev}): the nftables data plane forwards on one"
                    ))
                }
            }
        }
    }
    Ok(device)
}

fn route_device(addr: IpAddr) -> Result<String, String> {
    let out = std::process::Command::new("ip")
        .args(["-j", "route", "get", &addr.to_string()])
        .output()
        .map_err(|e| format!("ip route get {addr}: {e}"))?;
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|_| format!("no route to real server {addr}"))?;
    v.get(0)
        .and_then(|r| r.get("dev"))
        .and_then(|d| d.as_str())
        .map(str::to_string)
        .ok_or_else(|| format!("no route to real server {addr}"))
}

/// nftables plus what DR needs at run time: the real servers' MAC addresses, read from the
/// neighbour table before each change (the health checks' own connections keep them
/// resolved); one that is not known yet is asked for and the change retried.
struct NftBackend {
    inner: NftDataplane,
    dr_device: Option<String>,
}

impl NftBackend {
    fn refresh_neighbours(&mut self) {
        let Some(dev) = &self.dr_device else { return };
        let Ok(neighbours) = ka_net::nft::neighbour_macs(dev) else {
            return;
        };
        let mut env = self.inner.env().clone();
        if let Some(link) = env.dr.as_mut() {
            link.neighbours = neighbours;
        }
        self.inner.set_env(env);
    }

    /// Sends one datagram to each real server whose MAC is unknown, so that the kernel
    /// resolves it (ARP / neighbour discovery) before the retry.
    fn ask_for_macs(&self, changes: &[Change]) {
        let known = self
            .inner
            .env()
            .dr
            .as_ref()
            .map(|l| l.neighbours.clone())
            .unwrap_or_default();
        for c in changes {
            if let Change::AddDest(_, d) | Change::EditDest(_, d) = c {
                if d.forward == Forward::Route && !known.contains_key(&d.key.addr) {
                    let bind: IpAddr = if d.key.addr.is_ipv4() {
                        IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)
                    } else {
                        IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)
                    };
                    if let Ok(sock) = std::net::UdpSocket::bind((bind, 0)) {
                        // The discard port: nothing answers, the neighbour entry is what we want.
                        let _ = sock.send_to(&[0], (d.key.addr, 9));
                    }
                }
            }
        }
    }
}

impl Dataplane for NftBackend {
    fn name(&self) -> &'static str {
        "nftables"
    }

    fn read(&mut self) -> Result<LbState, DataplaneError> {
        self.inner.read()
    }

    fn apply(&mut self, changes: &[Change]) -> Result<(), DataplaneError> {
        self.refresh_neighbours();
        let result = self.inner.apply(changes);
        if result.is_err() && self.dr_device.is_some() {
            self.ask_for_macs(changes);
        }
        result
    }

    fn release(&mut self) -> Result<(), DataplaneError> {
        self.inner.remove_tables()
    }
}

/// `none`: an in-memory table, so that the daemon's logic runs unchanged.
struct Unprogrammed(FakeDataplane);

impl Dataplane for Unprogrammed {
    fn name(&self) -> &'static str {
        "none"
    }

    fn read(&mut self) -> Result<LbState, DataplaneError> {
        self.0.read()
    }

    fn apply(&mut self, changes: &[Change]) -> Result<(), DataplaneError> {
        self.0.apply(changes)
    }
}
