//! Which load-balancer data plane the health checkers program (`--dataplane`): IPVS where
//! the kernel has it, nftables otherwise, or none.

use ka_check::plan::CheckPlan;
use ka_lb::dataplane::{Dataplane, FakeDataplane};

/// The data plane for `kind` (`auto`, `ipvs`, `nftables`, `none`).
pub fn choose(kind: &str, _plan: &CheckPlan) -> Result<Box<dyn Dataplane + Send>, String> {
    match kind {
        "none" => {
            crate::warn!("--dataplane none: health checks run and are logged, nothing is programmed");
            Ok(Box::new(Unprogrammed(FakeDataplane::default())))
        }
        "auto" | "ipvs" | "nftables" => Err(format!(
            "--dataplane {kind}: this build has no load-balancer backend yet; use --dataplane none"
        )),
        other => Err(format!(
            "--dataplane {other}: unknown data plane (expected auto, ipvs, nftables or none)"
        )),
    }
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
