//! The ORTC objects: ICE, DTLS and SCTP composed without SDP, as aiortc's
//! `RTCIceGatherer` → `RTCIceTransport` → `RTCDtlsTransport` → `RTCSctpTransport` →
//! `RTCDataChannel`.
//!
//! One [`Engine`] per remote peer owns every layer; these objects
//! are borrowed views onto it with aiortc's names and parameters
//! ([`Engine::ice_gatherer`](crate::engine::Engine::ice_gatherer),
//! [`ice_transport`](crate::engine::Engine::ice_transport),
//! [`dtls_transport`](crate::engine::Engine::dtls_transport),
//! [`sctp_transport`](crate::engine::Engine::sctp_transport)). The engine is what the
//! socket loop drives; the views are how the application starts and uses each layer.
//!
//! ```
//! use std::net::SocketAddr;
//! use std::time::Instant;
//! use sansrtc::crypto::default_provider;
//! use sansrtc::dtls::DtlsCertificate;
//! use sansrtc::engine::{Engine, EngineConfig};
//! use sansrtc::ortc::{DataChannelParameters, DtlsParameters, IceParameters, IceRole, SctpCapabilities};
//!
//! fn engine(port: u16) -> Engine {
//!     let cert = DtlsCertificate::generate(&*default_provider()).unwrap();
//!     let mut e = Engine::new(EngineConfig::with_certificate(cert), Instant::now());
//!     let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
//!     e.ice_gatherer_mut().gather(&[addr]).unwrap();
//!     e
//! }
//! let (mut a, mut b) = (engine(40000), engine(40001));
//! // What each side signals to the other.
//! let signal = |e: &Engine| -> (IceParameters, DtlsParameters, SctpCapabilities) {
//!     (e.ice_gatherer().local_parameters(), e.dtls_transport().local_parameters(),
//!      e.sctp_transport().capabilities())
//! };
//! let (ice_b, dtls_b, caps_b) = signal(&b);
//! a.ice_transport_mut().start(&ice_b, IceRole::Controlling).unwrap();
//! for c in b.ice_gatherer().local_candidates() {
//!     a.ice_transport_mut().add_remote_candidate(Some(&c)).unwrap();
//! }
//! a.dtls_transport_mut().start(&dtls_b).unwrap();
//! a.sctp_transport_mut().start(&caps_b, 5000).unwrap();
//! let id = a.sctp_transport_mut().create_data_channel(&DataChannelParameters::new("chat")).unwrap();
//! // ... b likewise; then drive both engines with their sockets (`Endpoint`).
//! # let _ = id;
//! ```

/// A getter that lends from the engine, written once for both kinds of view: through a
/// shared view (`&'a Engine`) the reference lives as long as the engine borrow, so
/// `let c = engine.sctp_transport().channel(id)` can be kept; through a mutable view, as
/// long as the view.
macro_rules! lend {
    ($view:ident, $(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*) -> Option<&$t:ty> = |$e:ident| $body:expr) => {
        impl<'a> $view<&'a Engine> {
            $(#[$doc])*
            pub fn $name(&self, $($arg: $ty),*) -> Option<&'a $t> {
                let $e: &'a Engine = self.e;
                $body
            }
        }
        impl $view<&mut Engine> {
            $(#[$doc])*
            pub fn $name(&self, $($arg: $ty),*) -> Option<&$t> {
                let $e: &Engine = self.e;
                $body
            }
        }
    };
    ($view:ident, $(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*) -> &$t:ty = |$e:ident| $body:expr) => {
        impl<'a> $view<&'a Engine> {
            $(#[$doc])*
            pub fn $name(&self, $($arg: $ty),*) -> &'a $t {
                let $e: &'a Engine = self.e;
                $body
            }
        }
        impl $view<&mut Engine> {
            $(#[$doc])*
            pub fn $name(&self, $($arg: $ty),*) -> &$t {
                let $e: &Engine = self.e;
                $body
            }
        }
    };
}

mod dtls;
mod ice;
mod params;
mod sctp;

pub use crate::engine::{
    DtlsTransportState, Event as OrtcEvent, IceGathererConfig, SctpTransportState,
};
pub use dtls::DtlsTransport;
pub use ice::{IceGatherer, IceRole, IceTransport};
pub use params::{
    DataChannelParameters, DtlsFingerprint, DtlsParameters, DtlsRoleParam, IceCandidate,
    IceParameters, SctpCapabilities,
};
pub use sctp::{SctpTransport, SctpTransportStats};

use crate::datachannel::DataChannelError;
use crate::dtls::DtlsError;
use crate::engine::Engine;
use crate::ice::IceError;
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

/// The views: how the application reaches each layer of an engine.
impl Engine {
    /// `RTCIceGatherer`: local parameters and candidates.
    pub fn ice_gatherer(&self) -> IceGatherer<&Engine> {
        IceGatherer { e: self }
    }

    /// The gatherer, to gather.
    pub fn ice_gatherer_mut(&mut self) -> IceGatherer<&mut Engine> {
        IceGatherer { e: self }
    }

    /// `RTCIceTransport`: connectivity checks and the selected pair.
    pub fn ice_transport(&self) -> IceTransport<&Engine> {
        IceTransport { e: self }
    }

    /// The ICE transport, to start it and add candidates.
    pub fn ice_transport_mut(&mut self) -> IceTransport<&mut Engine> {
        IceTransport { e: self }
    }

    /// `RTCDtlsTransport`: the DTLS session over the ICE transport.
    pub fn dtls_transport(&self) -> DtlsTransport<&Engine> {
        DtlsTransport { e: self }
    }

    /// The DTLS transport, to configure and start it.
    pub fn dtls_transport_mut(&mut self) -> DtlsTransport<&mut Engine> {
        DtlsTransport { e: self }
    }

    /// `RTCSctpTransport` and its data channels, over the DTLS transport.
    pub fn sctp_transport(&self) -> SctpTransport<&Engine> {
        SctpTransport { e: self }
    }

    /// The SCTP transport, to start it and use its data channels.
    pub fn sctp_transport_mut(&mut self) -> SctpTransport<&mut Engine> {
        SctpTransport { e: self }
    }
}

/// Everything one side signals to the other for the whole chain, in aiortc's JSON shapes:
/// ICE parameters and candidates, DTLS parameters, SCTP capabilities and port.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OrtcSignal {
    /// The gatherer's `getLocalParameters()`.
    pub ice: IceParameters,
    /// The gatherer's `getLocalCandidates()` (gathering complete).
    pub candidates: Vec<IceCandidate>,
    /// The DTLS transport's `getLocalParameters()`.
    pub dtls: DtlsParameters,
    /// The SCTP transport's `getCapabilities()`.
    pub sctp: SctpCapabilities,
    /// The SCTP transport's `port`.
    pub port: u16,
}

impl Engine {
    /// What this engine signals to its peer.
    pub fn local_signal(&self) -> OrtcSignal {
        OrtcSignal {
            ice: self.ice_gatherer().local_parameters(),
            candidates: self.ice_gatherer().local_candidates(),
            dtls: self.dtls_transport().local_parameters(),
            sctp: self.sctp_transport().capabilities(),
            port: self.sctp_transport().port(),
        }
    }

    /// Starts every layer with what the peer signalled, as an application would one by
    /// one: ICE in `role` with the peer's candidates (and end-of-candidates), DTLS, SCTP.
    pub fn start_with(&mut self, remote: &OrtcSignal, role: IceRole) -> Result<(), OrtcError> {
        let mut ice = self.ice_transport_mut();
        ice.start(&remote.ice, role)?;
        for c in &remote.candidates {
            ice.add_remote_candidate(Some(c))?;
        }
        ice.add_remote_candidate(None)?;
        self.dtls_transport_mut().start(&remote.dtls)?;
        self.sctp_transport_mut().start(&remote.sctp, remote.port)
    }
}
