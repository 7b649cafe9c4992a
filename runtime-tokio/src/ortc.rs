//! How the handles work (the chain's task, back-pressure, shutdown) is described in
//! [`sansrtc_ortc_async`], which holds them for every runtime; this module fixes their
//! runtime to [`TokioRuntime`](crate::ortc::TokioRuntime).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sansrtc::io::Endpoint;
pub use sansrtc_ortc_async::*;

use crate::{InterfaceFilter, UdpDriver};

/// The tokio runtime for the ORTC handles: the chain's task is a tokio task, its
/// sockets and timer are [`UdpDriver`]'s.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TokioRuntime;

impl Runtime for TokioRuntime {
    type Driver<T>
        = UdpDriver<T>
    where
        T: Endpoint + Send + 'static,
        T::Event: Send;

    fn spawn(future: impl Future<Output = ()> + Send + 'static) {
        crate::runtime::spawn(future);
    }

    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send + 'static {
        crate::runtime::sleep(duration)
    }

    fn now() -> Instant {
        crate::now()
    }
}

impl<T> Driver<T> for UdpDriver<T>
where
    T: Endpoint + Send + 'static,
    T::Event: Send,
{
    fn bind(endpoint: T, addrs: &[SocketAddr]) -> io::Result<Self> {
        UdpDriver::bind(endpoint, addrs)
    }

    fn bind_interfaces(endpoint: T, port: u16, filter: InterfaceFilter) -> io::Result<Self> {
        UdpDriver::bind_interfaces(endpoint, port, filter)
    }

    fn local_addrs(&self) -> &[SocketAddr] {
        UdpDriver::local_addrs(self)
    }

    fn endpoint_mut(&mut self) -> &mut T {
        UdpDriver::endpoint_mut(self)
    }

    fn next_event(&mut self) -> impl Future<Output = io::Result<T::Event>> + Send {
        UdpDriver::next_event(self)
    }
}

/// `RTCIceGatherer` on tokio; see [`sansrtc_ortc_async::IceGatherer`].
pub type IceGatherer = sansrtc_ortc_async::IceGatherer<TokioRuntime>;
/// `RTCIceTransport` on tokio; see [`sansrtc_ortc_async::IceTransport`].
pub type IceTransport = sansrtc_ortc_async::IceTransport<TokioRuntime>;
/// `RTCDtlsTransport` on tokio; see [`sansrtc_ortc_async::DtlsTransport`].
pub type DtlsTransport = sansrtc_ortc_async::DtlsTransport<TokioRuntime>;
/// `RTCSctpTransport` on tokio; see [`sansrtc_ortc_async::SctpTransport`].
pub type SctpTransport = sansrtc_ortc_async::SctpTransport<TokioRuntime>;
/// The channels the peer opens; see [`sansrtc_ortc_async::IncomingChannels`].
pub type IncomingChannels = sansrtc_ortc_async::IncomingChannels<TokioRuntime>;
/// `RTCDataChannel` on tokio; see [`sansrtc_ortc_async::DataChannel`].
pub type DataChannel = sansrtc_ortc_async::DataChannel<TokioRuntime>;
