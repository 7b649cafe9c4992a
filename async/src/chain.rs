//! The chain's task, as quinn's `ConnectionDriver`: it owns the sockets and drives the
//! engine that lives in the shared [`State`]. Each turn locks the state, feeds what
//! arrived, drains the engine's output — events go into the inboxes and subscribers,
//! and the handles waiting on them are woken — and unlocks; then the transmits go out
//! and the task waits for a socket, the timer or its waker.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_lite::future;
use sansrtc::datachannel::{ChannelId, DataChannelEvent, DataChannelState};
use sansrtc::ice::IceEvent;
use sansrtc::io::{Endpoint, Input, Output, Transmit};
use sansrtc::ortc::{DataChannelParameters, DtlsTransportState, OrtcEvent};

use super::state::{ChannelEntry, Delivery, Shared, State};
use super::{Message, Runtime, UdpDriver};

/// How long shutting down keeps sending, so ABORT and close_notify reach the peer.
const FLUSH: Duration = Duration::from_millis(20);

/// Messages up to this size are copied out of the datagram they arrived in; larger ones
/// were put together from fragments into their own buffer already. Above an MTU.
const COPY_UP_TO: usize = 2048;

/// The chain reports nothing to its driver: events are dispatched under the lock.
#[derive(Debug)]
pub(crate) enum Never {}

/// The [`Endpoint`] the task's [`UdpDriver`] drives: a view of the engine in the shared
/// state that batches the driver's calls into turns. What arrives is queued here and
/// fed on the next poll, under one lock with the draining of the engine's output, so
/// a handle never sees what a datagram did before its events were dispatched; the
/// transmits wait here, outside the lock, while the driver sends them.
pub(crate) struct Chain {
    shared: Arc<Shared>,
    inputs: Vec<Input>,
    transmits: VecDeque<Transmit>,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain")
            .field("inputs", &self.inputs.len())
            .field("transmits", &self.transmits.len())
            .finish_non_exhaustive()
    }
}

impl Chain {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Chain {
            shared,
            inputs: Vec::new(),
            transmits: VecDeque::new(),
        }
    }

    /// One turn: feed what arrived, drain the engine, wake whoever it concerns.
    fn turn(&mut self) -> Instant {
        let fed = !self.inputs.is_empty();
        let (at, dispatched) = {
            let mut s = self.shared.lock();
            for input in self.inputs.drain(..) {
                s.engine.handle_input(input);
            }
            s.catch_up_clock();
            let drained = s.drain(Some(&mut self.transmits));
            if fed {
                // Acknowledgements have been processed: senders waiting at the
                // high-water mark look again.
                s.wake_writers();
            }
            drained
        };
        if dispatched {
            self.shared.notify();
        }
        at
    }
}

/// What one turn of a chain on a shared socket found ([`Chain::member_turn`]).
pub(crate) struct MemberTurn {
    /// The engine's next deadline; `None` once the chain has stopped every layer and
    /// leaves the socket.
    pub(crate) deadline: Option<Instant>,
    /// Whether the engine had verified the address asked about, after this turn.
    pub(crate) verified: bool,
}

impl Chain {
    /// Queues what arrived, to be fed on the next turn.
    pub(crate) fn push_input(&mut self, input: Input) {
        self.inputs.push(input);
    }

    /// Drops what arrived and was not fed yet (the chain has left its socket).
    pub(crate) fn drop_inputs(&mut self) {
        self.inputs.clear();
    }

    /// The next transmit of the last turn.
    pub(crate) fn pop_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// One turn of a chain on a shared socket: [`turn`](Chain::turn), and under the same
    /// lock, when a handle asked it to stop or every handle is gone, every layer is
    /// stopped (SCTP ABORT, DTLS close_notify, then ICE) with what that sends queued
    /// for the socket, which stays open for the other chains. `verify`: also asks the
    /// engine whether it has verified this address, once what arrived is fed (for the
    /// mux, which learns a path only from a verified check).
    pub(crate) fn member_turn(&mut self, verify: Option<SocketAddr>) -> MemberTurn {
        let fed = !self.inputs.is_empty();
        let (turn, dispatched) = {
            let mut s = self.shared.lock();
            s.clear_woken();
            for input in self.inputs.drain(..) {
                s.engine.handle_input(input);
            }
            // No clock catch-up here (unlike `turn`): fed inside the mux's drain, it made
            // one chain of many on a shared socket stall now and then (its incoming
            // channel never came; `many_chains_on_one_socket…`, 1 run in 2). Until that
            // is understood, a member's clock is the socket task's last input.
            s.clear_touched();
            let (at, mut dispatched) = s.drain(Some(&mut self.transmits));
            if fed {
                s.wake_writers();
            }
            let verified = verify.is_some_and(|a| s.engine.verified_remote(a));
            let leaving = s.stop_requested || self.shared.abandoned();
            if leaving {
                // As the task of a chain with sockets of its own does, without the pause
                // in between: what the stop sends is queued in the mux, which sends it
                // whether or not the chain is still there.
                s.stop_above_ice();
                dispatched |= s.drain(Some(&mut self.transmits)).1;
                s.engine.ice_transport_mut().stop();
                dispatched |= s.drain(Some(&mut self.transmits)).1;
            }
            let turn = MemberTurn {
                deadline: (!leaving).then_some(at),
                verified,
            };
            (turn, dispatched)
        };
        if dispatched {
            self.shared.notify();
        }
        turn
    }

    /// The chain's state, to finish it when it leaves its socket.
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}

impl Endpoint for Chain {
    type Event = Never;

    fn handle_input(&mut self, input: Input) {
        self.inputs.push(input);
    }

    fn poll_output(&mut self) -> Output<Never> {
        if let Some(t) = self.transmits.pop_front() {
            return Output::Transmit(t);
        }
        let at = self.turn();
        match self.transmits.pop_front() {
            Some(t) => Output::Transmit(t),
            None => Output::Timeout(at),
        }
    }
}

impl State {
    /// Drains the engine's output: transmits into `transmits` (dropped when `None`, once
    /// the sockets are gone), events dispatched. Returns the engine's deadline and
    /// whether any event was dispatched.
    fn drain(&mut self, mut transmits: Option<&mut VecDeque<Transmit>>) -> (Instant, bool) {
        let mut dispatched = false;
        loop {
            match self.engine.poll_output() {
                Output::Transmit(t) => {
                    if let Some(q) = transmits.as_deref_mut() {
                        q.push_back(t);
                    }
                }
                Output::Event(e) => {
                    dispatched = true;
                    self.dispatch(e);
                }
                Output::Timeout(at) => return (at, dispatched),
            }
        }
    }

    /// Wakes the sends waiting on channels that can take a message now: the first of
    /// them once the buffered amount is at or below the high-water mark, all of them
    /// once the channel is closing (they fail).
    fn wake_writers(&self) {
        let engine = &self.engine;
        for c in self.blocked.iter().filter_map(|k| self.channels.get(k)) {
            let ready = match c.state(engine) {
                DataChannelState::Open => c.buffered(engine) <= c.high_water,
                DataChannelState::Connecting => false,
                _ => true,
            };
            if ready {
                c.writable.notify(usize::MAX);
            }
        }
    }

    fn dispatch(&mut self, event: OrtcEvent) {
        match event {
            OrtcEvent::Ice(IceEvent::ConnectionStateChange(state)) => {
                self.ice_events.publish(state);
                self.publish_connection_state();
            }
            OrtcEvent::Ice(IceEvent::GatheringStateChange(state)) => {
                self.gathering_events.publish(state);
                if state == sansrtc::ice::IceGatheringState::Complete {
                    self.candidate_events.publish(None);
                }
            }
            OrtcEvent::Ice(IceEvent::LocalCandidate(c)) => {
                let c = sansrtc::ortc::IceCandidate::from(&c);
                let init = self.engine.peer_connection().candidate_init(&c);
                self.candidate_events.publish(Some(init));
            }
            OrtcEvent::DtlsStateChange(state) => {
                self.dtls_events.publish(state);
                self.publish_connection_state();
            }
            OrtcEvent::SctpStateChange(state) => self.sctp_events.publish(state),
            OrtcEvent::DataChannel(e) => self.channel_event(e),
            OrtcEvent::SignalingStateChange(state) => {
                self.signaling_events.publish(state);
                self.publish_connection_state();
            }
            OrtcEvent::NegotiationNeeded => self.negotiation_events.publish(()),
            other => tracing::trace!(event = ?other, "ORTC event not handled"),
        }
    }

    /// `connectionstatechange`: the JSEP view's state, derived from ICE and DTLS, when it
    /// moved.
    fn publish_connection_state(&mut self) {
        let state = self.engine.peer_connection().connection_state();
        if state != self.pc_state {
            self.pc_state = state;
            self.pc_events.publish(state);
        }
    }

    fn channel_event(&mut self, event: DataChannelEvent) {
        let report = |s: &mut Self, ch: ChannelId, state: DataChannelState| {
            let Some(c) = s.ids.get(&ch).and_then(|k| s.channels.get_mut(k)) else {
                return;
            };
            // The id as the engine has it now, kept for after it forgets the channel.
            if let Some(info) = s.engine.sctp_transport().channel(ch) {
                c.id = info.id;
            }
            c.report(state);
        };
        match event {
            DataChannelEvent::Incoming(info) => {
                let params = DataChannelParameters {
                    label: info.label.clone(),
                    max_packet_life_time: info.max_packet_life_time,
                    max_retransmits: info.max_retransmits,
                    ordered: info.ordered,
                    protocol: info.protocol.clone(),
                    negotiated: info.negotiated,
                    id: info.id,
                };
                let key = self.add_incoming(ChannelEntry::new(params, info.channel, info.state));
                self.ids.insert(info.channel, key);
            }
            DataChannelEvent::Open(ch) => report(self, ch, DataChannelState::Open),
            DataChannelEvent::Message {
                channel,
                data,
                text,
                ..
            } => self.message(channel, data, text),
            DataChannelEvent::BufferedAmountLow(ch) => {
                if let Some(c) = self.ids.get(&ch).and_then(|k| self.channels.get_mut(k)) {
                    c.events.publish(super::ChannelEvent::BufferedAmountLow);
                }
            }
            DataChannelEvent::Closing(ch) => report(self, ch, DataChannelState::Closing),
            DataChannelEvent::Closed(ch) => {
                // By handle, so the map cannot keep a handle whose entry is gone.
                if let Some(key) = self.ids.remove(&ch) {
                    self.close_channel(key);
                }
            }
            DataChannelEvent::AssociationClosed { reason } => {
                tracing::debug!(%reason, "SCTP association closed");
                let keys: Vec<u64> = self.ids.values().copied().collect();
                for key in keys {
                    self.close_channel(key);
                }
            }
            _ => {}
        }
    }

    fn message(&mut self, ch: ChannelId, data: Bytes, text: bool) {
        // The bytes SCTP counted for it, which stay out of its receive window until the
        // application takes the message or it is dropped.
        let wire = data.len();
        // Handed back here without waking the task: this is its own turn, and it drains
        // what that produces.
        let release = |s: &mut Self| s.engine.sctp_transport_mut().release_received(wire);
        let Some(&key) = self.ids.get(&ch) else {
            return release(self);
        };
        let message = if text {
            Message::Text(match String::from_utf8(data.to_vec()) {
                Ok(s) => s,
                // W3C decodes with replacement characters rather than dropping.
                Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
            })
        } else if wire <= COPY_UP_TO {
            // A small message is a view into the datagram (or a whole GRO batch) it came
            // in: a copy lets that go, so what a queued message holds is its own size.
            // (Text is copied into its string anyway.)
            Message::Binary(Bytes::copy_from_slice(&data))
        } else {
            Message::Binary(data)
        };
        match self.deliver(key, message, wire) {
            Delivery::Queued => {}
            Delivery::Dropped => release(self),
            Delivery::Overflow => {
                tracing::debug!(%ch, "unread messages over their bound; channel closed");
                release(self);
                let _ = self.engine.sctp_transport_mut().close_channel(ch);
            }
        }
    }

    /// Stops every layer above ICE: ABORT and close_notify (SCTP and DTLS), so the peer
    /// learns at once instead of by timeout.
    fn stop_above_ice(&mut self) {
        if self.dtls_created {
            self.engine.dtls_transport_mut().stop();
        }
    }

    /// Every layer closed, every stream ended: the state once the task has ended (or
    /// when a chain that never launched is stopped). Layers a broken socket left
    /// running are stopped here without sending (there is nothing to send with), and
    /// what that reports goes to the subscribers before their streams end.
    pub(crate) fn finish(&mut self) {
        self.done = true;
        self.launched = true;
        let dtls = self.engine.dtls_transport().state();
        if !matches!(
            dtls,
            DtlsTransportState::New | DtlsTransportState::Failed | DtlsTransportState::Closed
        ) {
            self.engine.dtls_transport_mut().stop();
        }
        self.engine.ice_transport_mut().stop();
        self.drain(None);
        let keys: Vec<u64> = self.channels.keys().copied().collect();
        for key in keys {
            self.close_channel(key);
        }
        self.gathering_events.close();
        self.ice_events.close();
        self.dtls_events.close();
        self.sctp_events.close();
        self.end_incoming();
        // Off its shared socket, if it was on one: wake-ups go nowhere now, and the
        // socket's task may end once nothing else uses it.
        self.leave_socket();
    }
}

/// Why the task looked up from its sockets.
enum Wake {
    /// A handle changed the engine: poll it again.
    Turn,
    /// Told to stop, or every handle is gone.
    Stop,
    /// A socket broke.
    Failed(std::io::Error),
}

/// Resolves when a handle wakes the task, or asks it to stop (quinn's driver waker).
async fn woken(shared: &Shared) -> Wake {
    poll_fn(|cx| {
        let mut s = shared.lock();
        if s.stop_requested || shared.abandoned() {
            return Poll::Ready(Wake::Stop);
        }
        match s.take_woken(cx.waker()) {
            true => Poll::Ready(Wake::Turn),
            false => Poll::Pending,
        }
    })
    .await
}

/// Drives the engine until told to stop, until every handle is gone, or until a socket
/// breaks; then stops every layer, closes the sockets and marks the state done.
pub(crate) async fn run<R: Runtime>(driver: UdpDriver<R, Chain>, shared: Arc<Shared>) {
    // Declared first, dropped last: after the sockets (moved into a local below, as a
    // parameter would outlive it), even if a layer panics.
    let _done = Done(shared.clone());
    let mut driver = driver;
    loop {
        // The driver never returns an event (they are dispatched in its turns), only a
        // broken socket; `next_event` is cancel safe, so a wake-up costs nothing.
        let wake = future::or(
            async {
                match driver.next_event().await {
                    Ok(never) => match never {},
                    Err(e) => Wake::Failed(e),
                }
            },
            woken(&shared),
        )
        .await;
        match wake {
            Wake::Turn => {}
            Wake::Stop => break,
            Wake::Failed(e) => {
                tracing::warn!(error = %e, "ORTC socket failed; the chain stops");
                shared.lock().failure = Some(e.to_string());
                return;
            }
        }
    }
    shared.lock().stop_above_ice();
    flush::<R>(&mut driver).await;
    shared.lock().engine.ice_transport_mut().stop();
    flush::<R>(&mut driver).await;
}

/// Keeps the chain running for a moment, so what stopping queued goes out.
async fn flush<R: Runtime>(driver: &mut UdpDriver<R, Chain>) {
    let mut timer = pin!(R::sleep(FLUSH));
    future::or(
        async {
            let _ = driver.next_event().await;
        },
        timer.as_mut(),
    )
    .await;
}

/// Marks the chain done when the task ends, however it ends.
struct Done(Arc<Shared>);

impl Drop for Done {
    fn drop(&mut self) {
        self.0.update(State::finish);
    }
}
