//! TCP_CHECK (keepalived's check_tcp.c): connect, close at once, nothing sent.

use crate::conn::{tcp_connect, ConnectError};
use crate::Endpoint;
use ka_check::{Outcome, RsPlan};

pub(crate) async fn probe(ep: &Endpoint, rs: &RsPlan) -> Outcome {
    let name = &rs.name;
    match tcp_connect(ep).await {
        Ok(_stream) => Outcome::Success,
        Err(ConnectError::Socket(_)) => Outcome::LocalError {
            message: "TCP connect fail to create socket.".into(),
        },
        Err(ConnectError::Local(_)) => Outcome::LocalError {
            message: "TCP socket bind failed.".into(),
        },
        Err(ConnectError::Timeout) => Outcome::Failure {
            message: format!("TCP connection to {name} timeout."),
        },
        // keepalived logs nothing for an immediate refusal; the completion wording is the
        // closest line it has.
        Err(ConnectError::Unreachable(_) | ConnectError::Failed(_)) => Outcome::Failure {
            message: format!("TCP connection to {name} failed."),
        },
    }
}
