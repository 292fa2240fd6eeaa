//! Which load-balancer data plane the health checkers program (`--dataplane`): IPVS where
//! the kernel has it, nftables otherwise, or none.

use ka_check::plan::CheckPlan;
use ka_lb::dataplane::{Dataplane, FakeDataplane};
use ka_net::ipvs::IpvsDataplane;

/// The data plane for `kind` (`auto`, `ipvs`, `nftables`, `none`).
pub fn choose(kind: &str, _plan: &CheckPlan) -> Result<Box<dyn Dataplane + Send>, String> {
    match kind {
        "none" => {
            crate::warn!("--dataplane none: health checks run and are logged, nothing is programmed");
            Ok(Box::new(Unprogrammed(FakeDataplane::default())))
        }
        "ipvs" => open_ipvs().map(|d| Box::new(d) as Box<dyn Dataplane + Send>),
        "auto" => match open_ipvs() {
            Ok(d) => Ok(Box::new(d)),
            Err(ipvs) => Err(format!("no load-balancer data plane: {ipvs}")),
        },
        "nftables" => Err("--dataplane nftables: not in this build yet".into()),
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

/// `none`: an in-memory table, so that the daemon's logic runs unchanged.
struct Unprogrammed(FakeDataplane);

impl Dataplane for Unprogrammed {
    fn name(&self) -> &'static str {
        "none"
    }

    fn read(&mut self) -> Result<ka_lb::LbState, ka_lb::DataplaneError> {
        self.0.read()
    }

    fn apply(&mut self, changes: &[ka_lb::Change]) -> Result<(), ka_lb::DataplaneError> {
        self.0.apply(changes)
    }
}
