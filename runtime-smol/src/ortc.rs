//! How the handles work (the chain's task, back-pressure, shutdown) is described in
//! [`sansrtc_ortc_async`], which holds them for every runtime; this module fixes their
//! runtime to [`SmolRuntime`](crate::ortc::SmolRuntime).

pub use sansrtc_ortc_async::*;

pub use crate::SmolRuntime;

/// `RTCIceGatherer` on smol; see [`sansrtc_ortc_async::IceGatherer`].
pub type IceGatherer = sansrtc_ortc_async::IceGatherer<SmolRuntime>;
/// `RTCIceTransport` on smol; see [`sansrtc_ortc_async::IceTransport`].
pub type IceTransport = sansrtc_ortc_async::IceTransport<SmolRuntime>;
/// `RTCDtlsTransport` on smol; see [`sansrtc_ortc_async::DtlsTransport`].
pub type DtlsTransport = sansrtc_ortc_async::DtlsTransport<SmolRuntime>;
/// `RTCSctpTransport` on smol; see [`sansrtc_ortc_async::SctpTransport`].
pub type SctpTransport = sansrtc_ortc_async::SctpTransport<SmolRuntime>;
/// The channels the peer opens; see [`sansrtc_ortc_async::IncomingChannels`].
pub type IncomingChannels = sansrtc_ortc_async::IncomingChannels<SmolRuntime>;
/// `RTCDataChannel` on smol; see [`sansrtc_ortc_async::DataChannel`].
pub type DataChannel = sansrtc_ortc_async::DataChannel<SmolRuntime>;
