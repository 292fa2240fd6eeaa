//! The IPVS data plane: [`ka_lb::Dataplane`] over a blocking generic netlink socket, with the
//! codec of `ka-ipvs`.
//!
//! Each change is one request answered by one ACK (IPVS has no transactions): `apply` stops
//! at the first refusal and says which change it was; the ones before it stay applied, and
//! the syncer's read-back sees them. Every wait for the kernel is bounded by
//! [`REPLY_TIMEOUT`]. Replies are matched by sequence number, so an answer that arrives after
//! its request timed out is skipped rather than taken for the next one's.

use ka_ipvs::netlink::{messages, Addressing, GenlMessage, KernelError, Payload};
use ka_ipvs::uapi::IPVS_GENL_NAME;
use ka_ipvs::{
    ctrl, decode_dest, decode_info, decode_service, decode_timeouts, DecodeError, DestEntry, Info, Request,
    ServiceEntry, Timeouts,
};
use ka_lb::model::ServiceState;
use ka_lb::{Change, Dataplane, DataplaneError, LbState};
use netlink_sys::{protocols::NETLINK_GENERIC, Socket};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// How long the kernel may take to answer one request (a dump's next part included).
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// One datagram of a dump: the kernel fills up to 32 KiB (`netlink_dump`'s cap) when the
/// reader's buffer allows; twice that leaves room for any kernel's choice.
const RECEIVE_BUFFER: usize = 64 * 1024;

const ESRCH: i32 = 3;
const ENOENT: i32 = 2;

/// A service as listed, with its destinations: what `ipvsadm -Ln` (and `--stats`) shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedService {
    pub service: ServiceEntry,
    pub dests: Vec<DestEntry>,
}

/// Why a request failed.
#[derive(Debug)]
enum Failure {
    Io(&'static str, std::io::Error),
    Kernel(KernelError),
    Decode(DecodeError),
    Encode(ka_ipvs::EncodeError),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Io(what, e) => write!(f, "{what}: {e}"),
            Failure::Kernel(e) => {
                // "EEXIST: File exists"
                write!(f, "{}", nix::errno::Errno::from_raw(e.errno))?;
                if let Some(text) = &e.message {
                    write!(f, " ({text})")?;
                }
                Ok(())
            }
            Failure::Decode(e) => write!(f, "unreadable reply: {e}"),
            Failure::Encode(e) => write!(f, "cannot be encoded: {e}"),
        }
    }
}

impl From<DecodeError> for Failure {
    fn from(e: DecodeError) -> Failure {
        Failure::Decode(e)
    }
}

/// The kernel's IPVS table of this network namespace.
#[derive(Debug)]
pub struct IpvsDataplane {
    socket: Socket,
    /// The IPVS family's id, resolved at open.
    family_id: u16,
    /// Our netlink port id (the kernel's answers carry it).
    port: u32,
    seq: u32,
    buf: Vec<u8>,
}

impl IpvsDataplane {
    /// Opens a generic netlink socket and resolves the IPVS family. Fails when the kernel
    /// has no IPVS (module not loaded, or not built).
    pub fn open() -> Result<IpvsDataplane, DataplaneError> {
        let io =
            |what: &'static str| move |e: std::io::Error| DataplaneError::new(format!("ipvs: {what}: {e}"));
        let mut socket = Socket::new(NETLINK_GENERIC).map_err(io("open a generic netlink socket"))?;
        let local = socket
            .bind_auto()
            .map_err(io("bind the generic netlink socket"))?;
        // Extended ACKs give the kernel's reason in words; capped ACKs keep our request out
        // of the error echo. Both are optional (older kernels): errors still carry errnos.
        let _ = socket.set_ext_ack(true);
        let _ = socket.set_cap_ack(true);
        socket2::SockRef::from(&socket)
            .set_read_timeout(Some(REPLY_TIMEOUT))
            .map_err(io("set the reply timeout"))?;
        let mut dp = IpvsDataplane {
            socket,
            family_id: 0,
            port: local.port_number(),
            seq: 0,
            buf: vec![0; RECEIVE_BUFFER],
        };
        dp.family_id = dp.resolve_family()?;
        Ok(dp)
    }

    /// The generic netlink family id the kernel gave IPVS.
    pub fn family_id(&self) -> u16 {
        self.family_id
    }

    fn next_addressing(&mut self) -> Addressing {
        self.seq = self.seq.wrapping_add(1);
        Addressing {
            family_id: self.family_id,
            seq: self.seq,
            port: self.port,
        }
    }

    fn resolve_family(&mut self) -> Result<u16, DataplaneError> {
        let to = self.next_addressing();
        let request = ctrl::get_family_request(IPVS_GENL_NAME, to);
        let mut family = None;
        let result = self.exchange(&request, to.seq, &mut |msg| {
            family = Some(ctrl::parse_family(msg)?.id);
            Ok(())
        });
        match (result, family) {
            (Ok(()), Some(id)) => Ok(id),
            (Ok(()), None) => Err(DataplaneError::new("ipvs: nlctrl answered without the IPVS family")),
            (Err(Failure::Kernel(e)), _) if e.errno == ENOENT => Err(DataplaneError::new(
                "ipvs: the kernel has no IPVS (generic netlink family \"IPVS\" not found: is the ip_vs module loaded?)",
            )),
            (Err(e), _) => Err(DataplaneError::new(format!("ipvs: resolve the IPVS family: {e}"))),
        }
    }

    /// Sends one message and reads the answers with its sequence number until the ACK, the
    /// end of the dump, or an error; data messages go to `on_data`. A reply that cannot be
    /// decoded does not stop the reading (the rest of the answer would be left in the
    /// socket); the first such error is returned at the end.
    fn exchange(
        &mut self,
        request: &[u8],
        seq: u32,
        on_data: &mut dyn FnMut(&GenlMessage<'_>) -> Result<(), DecodeError>,
    ) -> Result<(), Failure> {
        let sent = loop {
            match self.socket.send(request, 0) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        sent.map_err(|e| Failure::Io("send to the kernel", e))?;
        let mut first_decode_error = None;
        loop {
            let received = {
                let mut window = &mut self.buf[..];
                self.socket.recv(&mut window, libc::MSG_TRUNC)
            };
            let n = match received {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(Failure::Io(
                        "no answer from the kernel in time",
                        std::io::Error::from(std::io::ErrorKind::TimedOut),
                    ))
                }
                Err(e) => return Err(Failure::Io("receive from the kernel", e)),
            };
            if n > self.buf.len() {
                return Err(Failure::Decode(DecodeError::BadLength {
                    what: "netlink datagram larger than the receive buffer",
                    len: n,
                }));
            }
            for message in messages(&self.buf[..n]) {
                let message = message?;
                if message.header.seq != seq {
                    continue;
                }
                match message.payload {
                    Payload::Data(msg) => {
                        if let Err(e) = on_data(&msg) {
                            first_decode_error.get_or_insert(e);
                        }
                    }
                    Payload::Ack | Payload::Done => {
                        return match first_decode_error {
                            Some(e) => Err(Failure::Decode(e)),
                            None => Ok(()),
                        }
                    }
                    Payload::Error(e) => return Err(Failure::Kernel(e)),
                    Payload::Noop => {}
                }
            }
        }
    }

    fn request(
        &mut self,
        request: &Request,
        on_data: &mut dyn FnMut(&GenlMessage<'_>) -> Result<(), DecodeError>,
    ) -> Result<(), Failure> {
        let to = self.next_addressing();
        let bytes = request.encode(to).map_err(Failure::Encode)?;
        self.exchange(&bytes, to.seq, on_data)
    }

    /// Carries out one request that answers with an ACK only.
    fn execute(&mut self, request: &Request) -> Result<(), DataplaneError> {
        self.request(request, &mut |_| Ok(()))
            .map_err(|e| describe(request, &e))
    }

    /// IPVS's version and connection table size (`ipvsadm -Ln`'s first line).
    pub fn info(&mut self) -> Result<Info, DataplaneError> {
        let mut info = None;
        self.request(&Request::GetInfo, &mut |msg| {
            info = Some(decode_info(msg)?);
            Ok(())
        })
        .map_err(|e| describe(&Request::GetInfo, &e))?;
        info.ok_or_else(|| DataplaneError::new("ipvs: get IPVS info: the kernel answered without it"))
    }

    /// The connection timeouts.
    pub fn timeouts(&mut self) -> Result<Timeouts, DataplaneError> {
        let mut timeouts = None;
        self.request(&Request::GetConfig, &mut |msg| {
            timeouts = Some(decode_timeouts(msg)?);
            Ok(())
        })
        .map_err(|e| describe(&Request::GetConfig, &e))?;
        timeouts
            .ok_or_else(|| DataplaneError::new("ipvs: get IPVS timeouts: the kernel answered without them"))
    }

    /// Sets the connection timeouts (0 leaves one unchanged).
    pub fn set_timeouts(&mut self, timeouts: Timeouts) -> Result<(), DataplaneError> {
        self.execute(&Request::SetConfig(timeouts))
    }

    /// Removes every service of the namespace, ours or not.
    pub fn flush(&mut self) -> Result<(), DataplaneError> {
        self.execute(&Request::Flush)
    }

    /// Every service with its destinations, counters and connection counts.
    pub fn list(&mut self) -> Result<Vec<ListedService>, DataplaneError> {
        let mut services = Vec::new();
        self.request(&Request::GetServices, &mut |msg| {
            services.push(decode_service(msg)?);
            Ok(())
        })
        .map_err(|e| describe(&Request::GetServices, &e))?;
        let mut listed = Vec::with_capacity(services.len());
        for service in services {
            let family = service.key.family();
            let request = Request::GetDests(service.key);
            let mut dests = Vec::new();
            match self.request(&request, &mut |msg| {
                dests.push(decode_dest(msg, family)?);
                Ok(())
            }) {
                Ok(()) => listed.push(ListedService { service, dests }),
                // Deleted by someone else between the two dumps.
                Err(Failure::Kernel(e)) if e.errno == ESRCH => {}
                Err(e) => return Err(describe(&request, &e)),
            }
        }
        Ok(listed)
    }
}

/// "ipvs: add virtual service [192.0.2.10]:tcp:80: EEXIST: File exists; the virtual service
/// already exists".
fn describe(request: &Request, failure: &Failure) -> DataplaneError {
    let mut message = format!("ipvs: {request}: {failure}");
    if let Failure::Kernel(e) = failure {
        if let Some(meaning) = request.explain(e.errno) {
            message.push_str(&format!("; {meaning}"));
        }
    }
    DataplaneError::new(message)
}

impl Dataplane for IpvsDataplane {
    fn name(&self) -> &'static str {
        "ipvs"
    }

    fn read(&mut self) -> Result<LbState, DataplaneError> {
        let mut state = LbState::default();
        for listed in self.list()? {
            // A service the model cannot hold (a scheduler newer than this code) cannot be
            // one of ours; it is left out, and so left alone.
            let service = match listed.service.to_service() {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!("ipvs: ignoring virtual service {}: {e}", listed.service.key);
                    continue;
                }
            };
            let dests = listed
                .dests
                .into_iter()
                .map(|d| (d.dest.key, d.dest))
                .collect::<BTreeMap<_, _>>();
            state
                .services
                .insert(service.key, ServiceState { service, dests });
        }
        Ok(state)
    }

    fn apply(&mut self, changes: &[Change]) -> Result<(), DataplaneError> {
        for (index, change) in changes.iter().enumerate() {
            self.execute(&Request::from(change)).map_err(|e| DataplaneError {
                change: Some(index),
                ..e
            })?;
        }
        Ok(())
    }
}
