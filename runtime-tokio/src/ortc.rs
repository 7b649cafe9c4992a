//! How the handles work (the chain's task, back-pressure, shutdown) is described in
//! [`sansrtc_async`], which holds them for every runtime; this module fixes their
//! runtime to [`TokioRuntime`](crate::ortc::TokioRuntime).

pub use sansrtc_async::*;

pub use crate::TokioRuntime;

/// `RTCIceGatherer` on tokio; see [`sansrtc_async::IceGatherer`].
pub type IceGatherer = sansrtc_async::IceGatherer<TokioRuntime>;
/// `RTCIceTransport` on tokio; see [`sansrtc_async::IceTransport`].
pub type IceTransport = sansrtc_async::IceTransport<TokioRuntime>;
/// `RTCDtlsTransport` on tokio; see [`sansrtc_async::DtlsTransport`].
pub type DtlsTransport = sansrtc_async::DtlsTransport<TokioRuntime>;
/// `RTCSctpTransport` on tokio; see [`sansrtc_async::SctpTransport`].
pub type SctpTransport = sansrtc_async::SctpTransport<TokioRuntime>;
/// The channels the peer opens; see [`sansrtc_async::IncomingChannels`].
pub type IncomingChannels = sansrtc_async::IncomingChannels<TokioRuntime>;
/// `RTCDataChannel` on tokio; see [`sansrtc_async::DataChannel`].
pub type DataChannel = sansrtc_async::DataChannel<TokioRuntime>;
/// Many chains on one UDP socket (one port), driven by one task, on tokio; see
/// [`sansrtc_async::SharedSocket`].
pub type SharedSocket = sansrtc_async::SharedSocket<TokioRuntime>;
/// `RTCPeerConnection` on tokio; see [`sansrtc_async::RtcPeerConnection`].
pub type RtcPeerConnection = sansrtc_async::RtcPeerConnection<TokioRuntime>;
