//! The ORTC objects: ICE, DTLS and SCTP composed without SDP, as aiortc's
//! `RTCIceGatherer` → `RTCIceTransport` → `RTCDtlsTransport` → `RTCSctpTransport` →
//! `RTCDataChannel`.
//!
//! Each object owns the one below it (ORTC's `transport` reference), and each offers the
//! shared verbs — [`Input`](crate::io::Input) in, [`Output`](crate::io::Output) out — so the
//! outermost object one holds is the whole chain: it takes every datagram of its socket,
//! demultiplexes it per RFC 7983 (STUN to ICE, DTLS to DTLS), and hands out transmits on
//! the ICE-selected pair, events and the next deadline. No layer reaches into another's
//! state; each uses the public API of the machine below it.
//!
//! Timers start from what ICE measured: the DTLS flight timer and the SCTP initial RTO
//! are derived from the selected pair's round-trip time instead of the RFCs' fixed 1 s
//! and 3 s, and there is no HelloVerifyRequest by default (ICE already proved the path).
//!
//! ```
//! use std::net::SocketAddr;
//! use std::time::Instant;
//! use sansrtc::crypto::default_provider;
//! use sansrtc::dtls::DtlsCertificate;
//! use sansrtc::ortc::{DtlsTransport, IceGatherer, IceGathererConfig, IceRole, IceTransport, SctpTransport};
//!
//! let cert = DtlsCertificate::generate(&*default_provider()).unwrap();
//! // The chain's clock starts here; every transport built on the gatherer shares it.
//! let mut gatherer = IceGatherer::new(IceGathererConfig::default(), Instant::now());
//! gatherer.gather(&["127.0.0.1:40000".parse::<SocketAddr>().unwrap()]).unwrap();
//! let sctp = SctpTransport::new(DtlsTransport::new(IceTransport::new(gatherer), vec![cert]).unwrap(), 5000);
//! // Exchange these with the peer (they serialize to aiortc's JSON shapes) ...
//! let _ice = sctp.transport().transport().local_parameters();
//! let _candidates = sctp.transport().transport().gatherer_candidates();
//! let _dtls = sctp.transport().local_parameters();
//! let _caps = sctp.capabilities();
//! // ... then start each layer with the peer's, and drive `sctp` with its socket.
//! ```

mod dtls;
mod ice;
mod params;
mod sctp;

pub use dtls::{DtlsTransport, DtlsTransportState};
pub use ice::{IceGatherer, IceGathererConfig, IceRole, IceTransport};
pub use params::{
    DataChannelParameters, DtlsFingerprint, DtlsParameters, DtlsRoleParam, IceCandidate,
    IceParameters, SctpCapabilities,
};
pub use sctp::{SctpTransport, SctpTransportState};

use bytes::Bytes;

use crate::datachannel::{DataChannelError, DataChannelEvent};
use crate::dtls::DtlsError;
use crate::ice::{IceError, IceEvent};
use crate::io::Receive;
use crate::sctp::SctpError;

/// What went wrong with an ORTC call. Network input never produces one: bad datagrams
/// are dropped and counted by the layer they were meant for.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum OrtcError {
    /// The ICE layer refused (bad candidate, bad credentials).
    #[error("ICE: {0}")]
    Ice(#[from] IceError),
    /// The DTLS layer refused (bad fingerprint, not connected).
    #[error("DTLS: {0}")]
    Dtls(#[from] DtlsError),
    /// The SCTP layer refused (message too large, association closed).
    #[error("SCTP: {0}")]
    Sctp(#[from] SctpError),
    /// The data channel layer refused (unknown channel, id taken, closed).
    #[error("data channel: {0}")]
    DataChannel(#[from] DataChannelError),
    /// A call that needs an earlier step, named in the message.
    #[error("{0}")]
    NotStarted(&'static str),
    /// A transport was started twice.
    #[error("{0} already started")]
    AlreadyStarted(&'static str),
    /// Parameters that cannot be used, with what is wrong.
    #[error("invalid parameters: {0}")]
    InvalidParameters(String),
}

/// Something the application should know about, from any layer of the chain.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrtcEvent {
    /// From the ICE agent: candidates to signal, gathering and connection states (the
    /// `RTCIceTransport` state is the connection state), the selected pair, a role change.
    Ice(IceEvent),
    /// `RTCDtlsTransport.state` changed.
    DtlsStateChange(DtlsTransportState),
    /// Application data from DTLS, when no SCTP transport sits above it.
    DtlsData(Bytes),
    /// `RTCSctpTransport.state` changed.
    SctpStateChange(SctpTransportState),
    /// A data channel event (open, message, closing, closed, buffered amount low).
    DataChannel(DataChannelEvent),
    /// A datagram no layer of this chain takes (with ICE alone: everything not STUN;
    /// with DTLS: RTP and RTCP, until the media layer is there).
    Datagram(Receive),
}
