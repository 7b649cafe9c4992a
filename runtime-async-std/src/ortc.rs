//! How the handles work (the chain's task, back-pressure, shutdown) is described in
//! [`sansrtc_async`], which holds them for every runtime; this module fixes their
//! runtime to [`AsyncStdRuntime`](crate::ortc::AsyncStdRuntime).

pub use sansrtc_async::*;

pub use crate::AsyncStdRuntime;

/// `RTCIceGatherer` on async-std; see [`sansrtc_async::IceGatherer`].
pub type IceGatherer = sansrtc_async::IceGatherer<AsyncStdRuntime>;
/// `RTCIceTransport` on async-std; see [`sansrtc_async::IceTransport`].
pub type IceTransport = sansrtc_async::IceTransport<AsyncStdRuntime>;
/// `RTCDtlsTransport` on async-std; see [`sansrtc_async::DtlsTransport`].
pub type DtlsTransport = sansrtc_async::DtlsTransport<AsyncStdRuntime>;
/// `RTCSctpTransport` on async-std; see [`sansrtc_async::SctpTransport`].
pub type SctpTransport = sansrtc_async::SctpTransport<AsyncStdRuntime>;
/// The channels the peer opens; see [`sansrtc_async::IncomingChannels`].
pub type IncomingChannels = sansrtc_async::IncomingChannels<AsyncStdRuntime>;
/// `RTCDataChannel` on async-std; see [`sansrtc_async::DataChannel`].
pub type DataChannel = sansrtc_async::DataChannel<AsyncStdRuntime>;
/// Many chains on one UDP socket (one port), driven by one task, on async-std; see
/// [`sansrtc_async::SharedSocket`].
pub type SharedSocket = sansrtc_async::SharedSocket<AsyncStdRuntime>;
/// `RTCPeerConnection` on async-std; see [`sansrtc_async::RtcPeerConnection`].
pub type RtcPeerConnection = sansrtc_async::RtcPeerConnection<AsyncStdRuntime>;
