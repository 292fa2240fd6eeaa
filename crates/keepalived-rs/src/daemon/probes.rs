//! The daemon's prober: hands each probe the checker engine asks for to [`ka_probe`].

use super::checker_service::Prober;
use ka_check::plan::CheckPlan;
use ka_check::policy::Outcome;
use ka_probe::ProbeContext;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

struct DaemonProber {
    ctx: Arc<ProbeContext>,
}

/// The prober for a configuration. The `SSL` block is loaded only when an SSL_GET exists, as
/// keepalived does; a broken one stops the health checkers (keepalived's checker process
/// exits on it) with keepalived's messages.
pub fn prober(config: &ka_config::config::Config, plan: &CheckPlan) -> Result<Arc<dyn Prober>, String> {
    let ssl = if ka_probe::needs_tls(plan) {
        Some(config.lvs.ssl.clone().unwrap_or_default())
    } else {
        None
    };
    let ctx = ProbeContext::new(ssl.as_ref()).map_err(|e| e.log_lines().join("; "))?;
    Ok(Arc::new(DaemonProber { ctx: Arc::new(ctx) }))
}

impl Prober for DaemonProber {
    fn probe(
        &self,
        plan: Arc<CheckPlan>,
        vs: usize,
        rs: usize,
        checker: usize,
        url: usize,
    ) -> Pin<Box<dyn Future<Output = Outcome> + Send>> {
        let ctx = self.ctx.clone();
        Box::pin(async move {
            let Some(vs_plan) = plan.virtual_servers.get(vs) else {
                return gone();
            };
            let Some(rs_plan) = vs_plan.real_servers.get(rs) else {
                return gone();
            };
            let Some(c) = rs_plan.checkers.get(checker) else {
                return gone();
            };
            ka_probe::probe(&ctx, c, rs_plan, vs_plan, url).await
        })
    }
}

fn gone() -> Outcome {
    Outcome::LocalError {
        message: "checker no longer configured.".into(),
    }
}
