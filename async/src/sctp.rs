//! `RTCSctpTransport` and the stream of channels the peer opens.

use super::*;

/// `RTCSctpTransport`: the SCTP association over a DTLS transport, and its data
/// channels.
#[derive(Debug, Clone)]
pub struct SctpTransport<R> {
    pub(crate) link: Link,
    pub(crate) runtime: PhantomData<fn() -> R>,
}

impl<R: Runtime> SctpTransport<R> {
    /// `new RTCSctpTransport(dtlsTransport, port)` (WebRTC uses port 5000), with the
    /// default [`ReceiveLimits`]. Fails if the DTLS transport has one already.
    pub fn new(transport: &DtlsTransport<R>, port: u16) -> Result<Self, Error> {
        Self::with_limits(transport, port, ReceiveLimits::default())
    }

    /// [`new`](SctpTransport::new) with other bounds on what is held for the
    /// application to read.
    pub fn with_limits(
        transport: &DtlsTransport<R>,
        port: u16,
        limits: ReceiveLimits,
    ) -> Result<Self, Error> {
        let link = transport.link.clone();
        {
            let mut s = link.lock();
            if std::mem::replace(&mut s.sctp_created, true) {
                return Err(Error::AlreadyCreated("SCTP"));
            }
            s.limits = limits;
            // Its seed derives from the gatherer's (`IceGathererOptions::seed`), in core.
            // Delivered messages keep their room in the receive window until the
            // application takes them (`State::release`).
            let mut sctp = s.engine.sctp_transport_mut();
            let cfg = sctp.config_mut();
            cfg.local_port = port;
            cfg.receive_window = limits.receive_window;
            cfg.deferred_release = true;
        }
        Ok(SctpTransport {
            link,
            runtime: PhantomData,
        })
    }

    /// `getCapabilities()`.
    pub fn capabilities(&self) -> SctpCapabilities {
        self.link.lock().engine.sctp_transport().capabilities()
    }

    /// `port`.
    pub fn port(&self) -> u16 {
        self.link.lock().engine.sctp_transport().port()
    }

    /// `start(remoteCaps, remotePort)`: starts the association (it connects once DTLS
    /// is up; watch [`state_changes`](SctpTransport::state_changes) or a channel's
    /// [`open`](DataChannel::open)), before or after DTLS starts.
    pub async fn start(&self, remote: &SctpCapabilities, remote_port: u16) -> Result<(), Error> {
        self.link.act::<R, _>(|s| {
            s.engine.sctp_transport_mut().start(remote, remote_port)?;
            Ok(())
        })
    }

    /// `state`.
    pub fn state(&self) -> SctpTransportState {
        self.link.lock().engine.sctp_transport().state()
    }

    /// W3C `RTCSctpTransportStats`: the association's smoothed RTT, congestion and
    /// receive windows; `None` until the association exists.
    pub fn stats(&self) -> Option<SctpTransportStats> {
        self.link.lock().engine.sctp_transport().stats()
    }

    /// `onstatechange`: states from now on.
    pub fn state_changes(&self) -> Events<SctpTransportState> {
        let rx = self.link.lock().sctp_events.subscribe();
        Events::new(rx, &self.link)
    }

    /// `transport`: the DTLS transport underneath.
    pub fn transport(&self) -> DtlsTransport<R> {
        DtlsTransport {
            link: self.link.clone(),
            runtime: PhantomData,
        }
    }

    /// `new RTCDataChannel(transport, parameters)`. Usable at once, before anything has
    /// started: its id is known once the DTLS role is (at once when negotiated or
    /// asked for), it opens with the association, and sends made before wait for it.
    /// A requested id already in use, or a label too long, is refused here.
    pub fn create_data_channel(
        &self,
        params: DataChannelParameters,
    ) -> Result<DataChannel<R>, Error> {
        let p = params.clone();
        self.link.new_channel(params, move |s| {
            Ok(s.engine.sctp_transport_mut().create_data_channel(&p)?)
        })
    }

    /// `ondatachannel`: channels the peer opens. Each goes to one of the streams taken
    /// from this transport; channels that arrive while nobody listens wait for the
    /// first listener, except one that closes with nothing unread before it is taken
    /// (it is forgotten; see the [crate docs](crate#receive-flow-control)).
    pub fn incoming_channels(&self) -> IncomingChannels<R> {
        IncomingChannels {
            link: self.link.clone(),
            listener: None,
            runtime: PhantomData,
        }
    }

    /// How many channels the chain holds state for, and how many of those wait in the
    /// incoming queue to be taken: for tests of what a peer can make it hold.
    #[doc(hidden)]
    pub fn held_channels(&self) -> (usize, usize) {
        self.link.lock().held_channels()
    }

    /// `stop()`: a graceful SCTP shutdown (queued data is delivered first), waiting at
    /// most a few seconds for the peer; DTLS and ICE keep running until stopped.
    pub async fn stop(&self) {
        {
            let mut s = self.link.lock();
            if !s.launched || s.done {
                return;
            }
            s.engine.sctp_transport_mut().stop();
            s.wake();
        }
        let closed = self.link.shared.wait_for(|s| {
            (s.done
                || matches!(
                    s.engine.sctp_transport().state(),
                    SctpTransportState::Closed | SctpTransportState::New
                ))
            .then_some(())
        });
        futures_lite::future::or(closed, R::sleep(SCTP_STOP_TIMEOUT)).await;
    }
}

/// The stream of channels the peer opens ([`SctpTransport::incoming_channels`]).
#[derive(Debug)]
pub struct IncomingChannels<R> {
    pub(crate) link: Link,
    pub(crate) listener: Option<event_listener::EventListener>,
    pub(crate) runtime: PhantomData<fn() -> R>,
}

impl<R: Runtime> IncomingChannels<R> {
    /// The next channel the peer opened; `None` once the chain has stopped and every
    /// channel left has been taken.
    pub async fn next(&mut self) -> Option<DataChannel<R>> {
        futures_lite::StreamExt::next(self).await
    }
}

impl<R: Runtime> Stream for IncomingChannels<R> {
    type Item = DataChannel<R>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<DataChannel<R>>> {
        let this = self.get_mut();
        loop {
            if let Some(listener) = &mut this.listener {
                std::task::ready!(Pin::new(listener).poll(cx));
                this.listener = None;
            }
            let incoming = this.link.lock().take_incoming();
            match incoming {
                Incoming::Channel(key, params) => {
                    let reader = Reader::counted(&this.link, key);
                    return Poll::Ready(Some(DataChannel::with_reader(
                        &this.link, key, params, reader,
                    )));
                }
                Incoming::End => return Poll::Ready(None),
                Incoming::Wait(listener) => this.listener = Some(listener),
            }
        }
    }
}

impl Link {
    /// A channel `create` makes in the engine, with its entry and handle (the
    /// `SctpTransport` and the `RtcPeerConnection` way alike). Its handle counts as a
    /// reader from the start, so nothing can forget the channel before the handle exists.
    pub(crate) fn new_channel<R: Runtime>(
        &self,
        params: DataChannelParameters,
        create: impl FnOnce(&mut State) -> Result<sansrtc::datachannel::ChannelId, Error>,
    ) -> Result<DataChannel<R>, Error> {
        let key = {
            let mut s = self.lock();
            s.running()?;
            let ch = create(&mut s)?;
            let key = s.add_channel(ChannelEntry::new(
                params.clone(),
                ch,
                DataChannelState::Connecting,
            ));
            s.ids.insert(ch, key);
            s.add_reader(key);
            s.wake();
            key
        };
        self.shared.notify();
        let reader = Reader::counted(self, key);
        Ok(DataChannel::with_reader(self, key, params, reader))
    }
}
