//! How the handles work (the chain's task, back-pressure, shutdown) is described in
//! [`sansrtc_async`], which holds them for every runtime; this module fixes their
//! runtime to [`SmolRuntime`](crate::ortc::SmolRuntime).

pub use sansrtc_async::*;

pub use crate::SmolRuntime;

/// `RTCIceGatherer` on smol; see [`sansrtc_async::IceGatherer`].
pub type IceGatherer = sansrtc_async::IceGatherer<SmolRuntime>;
/// `RTCIceTransport` on smol; see [`sansrtc_async::IceTransport`].
pub type IceTransport = sansrtc_async::IceTransport<SmolRuntime>;
/// `RTCDtlsTransport` on smol; see [`sansrtc_async::DtlsTransport`].
pub type DtlsTransport = sansrtc_async::DtlsTransport<SmolRuntime>;
/// `RTCSctpTransport` on smol; see [`sansrtc_async::SctpTransport`].
pub type SctpTransport = sansrtc_async::SctpTransport<SmolRuntime>;
/// The channels the peer opens; see [`sansrtc_async::IncomingChannels`].
pub type IncomingChannels = sansrtc_async::IncomingChannels<SmolRuntime>;
/// `RTCDataChannel` on smol; see [`sansrtc_async::DataChannel`].
pub type DataChannel = sansrtc_async::DataChannel<SmolRuntime>;
/// Many chains on one UDP socket (one port), driven by one task, on smol; see
/// [`sansrtc_async::SharedSocket`].
pub type SharedSocket = sansrtc_async::SharedSocket<SmolRuntime>;
/// `RTCPeerConnection` on smol; see [`sansrtc_async::RtcPeerConnection`].
pub type RtcPeerConnection = sansrtc_async::RtcPeerConnection<SmolRuntime>;
