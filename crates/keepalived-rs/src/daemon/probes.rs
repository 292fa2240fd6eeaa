//! The daemon's prober: runs the probe a checker asks for.
//!
//! Interim: TCP_CHECK only, while the ka-probe crate (every checker type) is being built;
//! other types report a local error (not counted as a failure, retried after delay_loop).

use super::checker_service::Prober;
use ka_check::plan::CheckPlan;
use ka_check::policy::Outcome;
use ka_config::lvs::checker::CheckerKind;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

struct TcpOnly;

pub fn prober(_config: &ka_config::config::Config) -> Arc<dyn Prober> {
    Arc::new(TcpOnly)
}

impl Prober for TcpOnly {
    fn probe(
        &self,
        plan: Arc<CheckPlan>,
        vs: usize,
        rs: usize,
        checker: usize,
        _url: usize,
    ) -> Pin<Box<dyn Future<Output = Outcome> + Send>> {
        Box::pin(async move {
            let Some(rs_plan) = plan.virtual_servers.get(vs).and_then(|v| v.real_servers.get(rs)) else {
                return Outcome::LocalError {
                    message: "checker gone".into(),
                };
            };
            let Some(c) = rs_plan.checkers.get(checker) else {
                return Outcome::LocalError {
                    message: "checker gone".into(),
                };
            };
            if !matches!(c.kind(), CheckerKind::Tcp) {
                return Outcome::LocalError {
                    message: format!("{} is not available in this build.", c.kind().keyword()),
                };
            }
            let conn = c.config.common.conn.as_ref();
            let ip = conn.and_then(|o| o.connect_ip).unwrap_or(rs_plan.addr);
            let port = conn
                .map(|o| o.connect_port)
                .filter(|p| *p != 0)
                .unwrap_or(rs_plan.port);
            let timeout = Duration::from_micros(c.connect_timeout.0);
            let name = &rs_plan.name;
            match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(SocketAddr::new(ip, port)))
                .await
            {
                Ok(Ok(_)) => Outcome::Success,
                Ok(Err(_)) => Outcome::Failure {
                    message: format!("TCP connection to {name} failed."),
                },
                Err(_) => Outcome::Failure {
                    message: format!("TCP connection to {name} timeout."),
                },
            }
        })
    }
}
