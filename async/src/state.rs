//! What a chain's task shares with its handles, as quinn's `ConnectionRef` shares its
//! `State`: the core [`Engine`] itself behind one lock, and beside it only what the async
//! layer adds — which ORTC objects the application created, each channel's unread
//! messages ([`Inbox`]) and waiting senders, the subscribers to each kind of event, the
//! task's waker and how the task ended.
//!
//! Handles lock the state and call the engine's views (`engine.sctp_transport_mut()` …)
//! directly, then [`wake`](State::wake) the task so it sends what the call produced.
//! Everything the engine can answer (states, roles, parameters, candidates, buffered
//! amounts) is read from it, never copied.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Waker;

use async_channel::{Receiver, Sender};
use event_listener::{Event, EventListener};
use sansrtc::datachannel::{ChannelId, DataChannelState};
use sansrtc::engine::Engine;
use sansrtc::ice::{IceConnectionState, IceGatheringState};
use sansrtc::ortc::{DataChannelParameters, DtlsTransportState, SctpTransportState};

use super::mux::SocketRef;
use super::{ChannelEvent, Error, IceGathererOptions, Message, ReceiveLimits};

/// Subscribers to one kind of event; each gets every event published after it joined.
pub(crate) struct Subscribers<T>(Vec<Sender<T>>);

impl<T: Clone> Subscribers<T> {
    pub(crate) fn subscribe(&mut self) -> Receiver<T> {
        let (tx, rx) = async_channel::unbounded();
        self.0.push(tx);
        rx
    }

    pub(crate) fn publish(&mut self, value: T) {
        self.0.retain(|s| s.try_send(value.clone()).is_ok());
    }

    /// Ends every subscriber's stream once it has read what is queued.
    pub(crate) fn close(&mut self) {
        self.0.clear();
    }
}

impl<T> Default for Subscribers<T> {
    fn default() -> Self {
        Subscribers(Vec::new())
    }
}

/// One data channel as the async layer keeps it. Its state, id and buffered amount are
/// the engine's while the engine knows the channel; the entry lives on after the engine
/// forgets it (a closed channel stays readable), so it keeps what bridges that time.
pub(crate) struct ChannelEntry {
    pub(crate) params: DataChannelParameters,
    /// The engine's handle of the channel, from its creation.
    pub(crate) channel: ChannelId,
    /// The stream id as last seen, for when the engine has forgotten the channel.
    pub(crate) id: Option<u16>,
    /// The last state published to the channel's event streams, which only move
    /// forward; `Closed` once the channel is closed for the async layer.
    pub(crate) reported: DataChannelState,
    /// `bufferedAmountLowThreshold`, as the application set it.
    pub(crate) low_threshold: usize,
    pub(crate) high_water: usize,
    pub(crate) inbox: Inbox,
    pub(crate) events: Subscribers<ChannelEvent>,
    /// Sends waiting for their turn, by ticket, oldest first: only the first may hand
    /// its message over, so sends that wait are served in order.
    pub(crate) senders: VecDeque<u64>,
    next_ticket: u64,
    /// Notified when a waiting send may go on: the channel opened or closed, its
    /// buffered amount fell to the high-water mark, or the send before it finished.
    pub(crate) writable: Event,
}

/// One message waiting for the application, with the bytes SCTP counted for it in the
/// receive window (decoding text that is not UTF-8 changes its length, so the message
/// cannot tell).
pub(crate) struct Unread {
    message: Message,
    wire: usize,
}

/// A channel's messages that nobody has read yet.
#[derive(Default)]
pub(crate) struct Inbox {
    queue: VecDeque<Unread>,
    /// Wire bytes of `queue`: what it holds of the SCTP receive window.
    bytes: usize,
    /// What `queue` counts against the [`ReceiveLimits`] bounds.
    charged: usize,
    /// Live `DataChannel` handles and message streams.
    readers: usize,
    /// A handle was made: at once for local channels, when taken from the incoming
    /// stream for the peer's. Until then nobody can read, but somebody may.
    handed_out: bool,
    /// The peer outran the bounds: later messages are dropped until the channel closes.
    overflowed: bool,
    /// The channel is closed: nothing more arrives, what is queued stays readable.
    closed: bool,
    /// Notified when a message is queued or the queue ends.
    arrived: Event,
}

/// What [`State::deliver`] did with a message.
pub(crate) enum Delivery {
    /// Queued for the application.
    Queued,
    /// Dropped (closed channel, or every reader gone): its window room is free again.
    Dropped,
    /// Dropped because it would break a bound; the first such message on the channel.
    Overflow,
}

/// What [`State::take_incoming`] found.
pub(crate) enum Incoming {
    /// A channel the peer opened, counted as read by the caller's new handle.
    Channel(u64, DataChannelParameters),
    /// The task has ended and nothing is left to take.
    End,
    /// Nothing yet: wait on this and look again.
    Wait(EventListener),
}

/// What [`State::take_message`] found.
pub(crate) enum Taken {
    Message(Message),
    /// Closed (or unknown) and empty: the end of the messages.
    End,
    /// Nothing yet: wait on this and look again.
    Wait(EventListener),
}

impl ChannelEntry {
    pub(crate) fn new(
        params: DataChannelParameters,
        channel: ChannelId,
        reported: DataChannelState,
    ) -> Self {
        ChannelEntry {
            id: params.id,
            params,
            channel,
            reported,
            low_threshold: 0,
            high_water: super::DEFAULT_HIGH_WATER_MARK,
            inbox: Inbox::default(),
            events: Subscribers::default(),
            senders: VecDeque::new(),
            next_ticket: 0,
            writable: Event::new(),
        }
    }

    /// Unread wire bytes.
    pub(crate) fn unread_bytes(&self) -> usize {
        self.inbox.bytes
    }

    /// `readyState`: the engine's while it knows the channel.
    pub(crate) fn state(&self, engine: &Engine) -> DataChannelState {
        match self.reported {
            DataChannelState::Closed => DataChannelState::Closed,
            _ => engine
                .sctp_transport()
                .channel(self.channel)
                .map_or(DataChannelState::Closed, |c| c.state),
        }
    }

    /// `id`: the engine's while it knows the channel (it picks one once the DTLS role
    /// is known), else the last one seen.
    pub(crate) fn id(&self, engine: &Engine) -> Option<u16> {
        engine
            .sctp_transport()
            .channel(self.channel)
            .map_or(self.id, |c| c.id)
    }

    /// `bufferedAmount`, from the engine.
    pub(crate) fn buffered(&self, engine: &Engine) -> usize {
        engine.sctp_transport().buffered_amount(self.channel)
    }

    /// No handle and no stream will ever read this channel again.
    fn abandoned(&self) -> bool {
        self.inbox.handed_out && self.inbox.readers == 0
    }

    /// Nothing can observe this channel any more: it is closed, so nothing more
    /// arrives and its state stays put; nothing is left to read; and no handle or
    /// message stream holds its key. A peer's channel not taken yet counts too: a
    /// handle of it could show only that it closed, so the incoming stream skips it.
    fn forgettable(&self) -> bool {
        self.inbox.closed && self.inbox.queue.is_empty() && self.inbox.readers == 0
    }

    /// Publishes the channel's move to `state`, once per state.
    pub(crate) fn report(&mut self, state: DataChannelState) {
        if self.reported == state || self.reported == DataChannelState::Closed {
            return;
        }
        self.reported = state;
        let event = match state {
            DataChannelState::Open => ChannelEvent::Open,
            DataChannelState::Closing => ChannelEvent::Closing,
            DataChannelState::Closed => {
                self.inbox.closed = true;
                self.inbox.arrived.notify(usize::MAX);
                ChannelEvent::Closed
            }
            _ => return,
        };
        self.events.publish(event);
        if state == DataChannelState::Closed {
            self.events.close();
        }
        // Waiting sends go on once the channel opens and fail once it closes.
        self.writable.notify(usize::MAX);
    }
}

/// The chain's shared state: the engine, and what only the async layer needs.
pub(crate) struct State {
    pub(crate) engine: Engine,
    /// How to bind and gather, until the task is launched (or the chain stopped first).
    pub(crate) launch: Option<IceGathererOptions>,
    /// Sockets are bound and the task runs (or ran).
    pub(crate) launched: bool,
    /// The task has ended and its sockets are closed.
    pub(crate) done: bool,
    /// The socket error that ended the task.
    pub(crate) failure: Option<String>,
    /// A handle asked the task to stop everything.
    pub(crate) stop_requested: bool,
    /// The task's waker, and whether it was woken since it last looked (a wake-up
    /// before the task registers its waker is not lost).
    driver: Option<Waker>,
    woken: bool,
    /// A handle called into the engine since the task last turned it: the engine's clock
    /// is where the last datagram or timer left it, so the next turn sets it to now
    /// first (what the call queued is stamped when it is sent, and an RTT measured from
    /// a stale stamp would be the whole idle time).
    touched: bool,
    /// The runtime's clock (`Runtime::now`: virtual under a paused tokio).
    clock: fn() -> std::time::Instant,
    /// The shared socket the chain joins instead of binding sockets of its own
    /// ([`IceGatherer::on`](crate::IceGatherer::on)), held (and so kept open) until the
    /// chain finishes.
    pub(crate) socket: Option<SocketRef>,
    /// The chain's key on that socket once it has joined: its wake-ups go to the
    /// socket's task then, which polls only the chains woken.
    member: Option<u64>,
    pub(crate) local_addrs: Vec<SocketAddr>,
    /// Which ORTC objects the application created: the engine has every layer from the
    /// start, and the handles show only those.
    pub(crate) ice_created: bool,
    /// `IceTransport::start` succeeded: the ICE role means something from then on.
    pub(crate) ice_started: bool,
    pub(crate) dtls_created: bool,
    pub(crate) sctp_created: bool,
    pub(crate) gathering_events: Subscribers<IceGatheringState>,
    pub(crate) ice_events: Subscribers<IceConnectionState>,
    pub(crate) dtls_events: Subscribers<DtlsTransportState>,
    pub(crate) sctp_events: Subscribers<SctpTransportState>,
    /// The peer connection's (JSEP view's) streams.
    pub(crate) signaling_events: Subscribers<sansrtc::jsep::SignalingState>,
    pub(crate) pc_events: Subscribers<sansrtc::jsep::PeerConnectionState>,
    pub(crate) candidate_events: Subscribers<Option<sansrtc::jsep::IceCandidateInit>>,
    pub(crate) negotiation_events: Subscribers<()>,
    /// The connection state last published, to publish changes only.
    pub(crate) pc_state: sansrtc::jsep::PeerConnectionState,
    pub(crate) channels: HashMap<u64, ChannelEntry>,
    next_key: u64,
    /// The engine's channel handle → channel key, for channels the engine knows.
    pub(crate) ids: HashMap<ChannelId, u64>,
    /// Channels with sends waiting (quinn's blocked writers): the ones the task looks at
    /// after each batch of acknowledgements.
    pub(crate) blocked: HashSet<u64>,
    /// Keys of channels the peer opened that no incoming stream has taken yet, oldest
    /// first. Each has its entry in `channels` (a forgotten channel's key is removed
    /// with it), so a peer can queue no more keys than the chain holds entries.
    incoming: VecDeque<u64>,
    /// Notified when a key joins `incoming` or the task ends.
    incoming_arrived: Event,
    /// The bounds on unread messages, fixed when the SCTP transport is created.
    pub(crate) limits: ReceiveLimits,
    /// What every channel's queue is charged, together.
    unread_charged: usize,
}

/// What one queued message counts against the bounds besides its bytes: the queue slot,
/// the message and its allocation, roughly. Without it a peer sending empty messages
/// (which hold nothing of the SCTP window) could queue millions.
pub(crate) const MESSAGE_OVERHEAD: usize = 64;

impl State {
    /// Forgets that a handle called into the engine (a shared socket's member does not
    /// catch its clock up; see `Chain::member_turn`).
    pub(crate) fn clear_touched(&mut self) {
        self.touched = false;
    }

    /// Brings the engine's clock to now if a handle called into it since the last turn
    /// (see `touched`). Called at the start of a turn, after what arrived is fed.
    pub(crate) fn catch_up_clock(&mut self) {
        if std::mem::take(&mut self.touched) {
            let now = (self.clock)();
            sansrtc::io::Endpoint::handle_input(&mut self.engine, sansrtc::io::Input::Timeout(now));
        }
    }

    /// Tells the task that the engine may have something to send or a new deadline, as
    /// quinn's `State::wake`.
    pub(crate) fn wake(&mut self) {
        self.touched = true;
        if let (Some(socket), Some(key)) = (&self.socket, self.member) {
            // Queued once until the socket's task turns the chain (which clears the
            // flag): the task learns which chains to poll without looking at the others.
            if !std::mem::replace(&mut self.woken, true) {
                socket.wake_chain(key);
            }
            return;
        }
        self.woken = true;
        if let Some(w) = self.driver.take() {
            w.wake();
        }
    }

    /// The chain joined its shared socket as `key`: wake-ups go to the socket's task
    /// from now on. The task polls it as it joins, so earlier wake-ups are covered.
    pub(crate) fn joined(&mut self, key: u64) {
        self.member = Some(key);
        self.woken = false;
    }

    /// The chain is finished: off its shared socket, if it was on one, so wake-ups go
    /// nowhere and the socket's task may end once nothing else uses it.
    pub(crate) fn leave_socket(&mut self) {
        self.member = None;
        self.socket = None;
    }

    /// The socket's task is turning this chain: wake-ups from now on queue it again.
    pub(crate) fn clear_woken(&mut self) {
        self.woken = false;
    }

    /// Whether the task was woken since it last looked; if not, `waker` is woken next.
    pub(crate) fn take_woken(&mut self, waker: &Waker) -> bool {
        if std::mem::take(&mut self.woken) {
            return true;
        }
        self.driver = Some(waker.clone());
        false
    }

    /// A place in channel `key`'s queue of waiting sends; `None` if there is no such
    /// channel.
    pub(crate) fn take_ticket(&mut self, key: u64) -> Option<u64> {
        let c = self.channels.get_mut(&key)?;
        let ticket = c.next_ticket;
        c.next_ticket += 1;
        c.senders.push_back(ticket);
        self.blocked.insert(key);
        Some(ticket)
    }

    /// A send on channel `key` finished or was withdrawn: the next may go.
    pub(crate) fn drop_ticket(&mut self, key: u64, ticket: u64) {
        let Some(c) = self.channels.get_mut(&key) else {
            self.blocked.remove(&key);
            return;
        };
        let first = c.senders.front() == Some(&ticket);
        c.senders.retain(|&t| t != ticket);
        if c.senders.is_empty() {
            self.blocked.remove(&key);
        } else if first {
            c.writable.notify(usize::MAX);
        }
    }

    /// Queues a message the task received on channel `key` (`wire` bytes of the SCTP
    /// window), unless nobody will read it or it breaks a bound.
    pub(crate) fn deliver(&mut self, key: u64, message: Message, wire: usize) -> Delivery {
        let limits = self.limits;
        let Some(c) = self.channels.get_mut(&key) else {
            return Delivery::Dropped;
        };
        if c.inbox.closed || c.inbox.overflowed || c.abandoned() {
            return Delivery::Dropped;
        }
        let charge = wire.max(message.len()) + MESSAGE_OVERHEAD;
        if c.inbox.charged + charge > limits.max_channel_unread
            || self.unread_charged + charge > limits.max_unread
        {
            c.inbox.overflowed = true;
            c.events.publish(ChannelEvent::ReceiveOverflow);
            return Delivery::Overflow;
        }
        c.inbox.bytes += wire;
        c.inbox.charged += charge;
        self.unread_charged += charge;
        c.inbox.queue.push_back(Unread { message, wire });
        // Every waiting reader of this channel looks: one takes it, and a reader whose
        // wait was cancelled cannot swallow the wake-up.
        c.inbox.arrived.notify(usize::MAX);
        Delivery::Queued
    }

    /// Takes the next unread message of channel `key`, handing its bytes back to the
    /// SCTP receive window.
    pub(crate) fn take_message(&mut self, key: u64) -> Taken {
        let Some(c) = self.channels.get_mut(&key) else {
            return Taken::End;
        };
        let Some(Unread { message, wire }) = c.inbox.queue.pop_front() else {
            if c.inbox.closed {
                return Taken::End;
            }
            return Taken::Wait(c.inbox.arrived.listen());
        };
        let charge = wire.max(message.len()) + MESSAGE_OVERHEAD;
        c.inbox.bytes -= wire;
        c.inbox.charged -= charge;
        self.unread_charged -= charge;
        self.release(wire);
        Taken::Message(message)
    }

    /// Hands `wire` bytes of messages read or dropped back to the SCTP receive window;
    /// the task tells the peer the window reopened.
    pub(crate) fn release(&mut self, wire: usize) {
        if wire > 0 {
            self.engine.sctp_transport_mut().release_received(wire);
            self.wake();
        }
    }

    /// A handle or message stream of channel `key` was made.
    pub(crate) fn add_reader(&mut self, key: u64) {
        if let Some(c) = self.channels.get_mut(&key) {
            c.inbox.readers += 1;
            c.inbox.handed_out = true;
        }
    }

    /// A handle or message stream of channel `key` is gone. When it was the last, the
    /// unread messages are dropped (W3C drops messages nobody listens for) and their
    /// room in the window handed back.
    pub(crate) fn remove_reader(&mut self, key: u64) {
        let Some(c) = self.channels.get_mut(&key) else {
            return;
        };
        c.inbox.readers -= 1;
        if !c.abandoned() {
            return;
        }
        let queue = std::mem::take(&mut c.inbox.queue);
        let wire = std::mem::take(&mut c.inbox.bytes);
        self.unread_charged -= std::mem::take(&mut c.inbox.charged);
        drop(queue);
        // A closed channel's last reader is the last thing that could observe it.
        self.forget_if_unobservable(key);
        self.release(wire);
    }

    /// Channel `key` closed (or never opened): ends its messages, events and waiting
    /// sends, and forgets it if nothing can observe it any more.
    pub(crate) fn close_channel(&mut self, key: u64) {
        let Some(c) = self.channels.get_mut(&key) else {
            return;
        };
        c.report(DataChannelState::Closed);
        if self.ids.get(&c.channel) == Some(&key) {
            self.ids.remove(&c.channel);
        }
        self.forget_if_unobservable(key);
    }

    /// Drops channel `key`'s entry once nothing can observe it, so a peer that opens
    /// and closes channels without end does not grow the state: handles hold their
    /// entry alive (they count as readers), and the only other holder of a key, the
    /// incoming queue, loses it here too.
    fn forget_if_unobservable(&mut self, key: u64) {
        let Some(c) = self.channels.get(&key) else {
            return;
        };
        if !c.forgettable() {
            return;
        }
        // Only a channel never handed out can still wait in the incoming queue.
        let queued = !c.inbox.handed_out;
        self.channels.remove(&key);
        if queued {
            self.incoming.retain(|&k| k != key);
        }
    }

    /// Registers a channel the peer opened and queues it for the incoming streams.
    pub(crate) fn add_incoming(&mut self, entry: ChannelEntry) -> u64 {
        let key = self.add_channel(entry);
        self.incoming.push_back(key);
        // Every waiting stream looks: one takes it, and a stream whose wait was
        // cancelled cannot swallow the wake-up.
        self.incoming_arrived.notify(usize::MAX);
        key
    }

    /// Takes the oldest channel the peer opened that nobody has taken, counting the
    /// caller's handle as its reader (under the same lock, so it cannot be forgotten in
    /// between); the end once the task has ended and none is left; or what to wait on.
    pub(crate) fn take_incoming(&mut self) -> Incoming {
        while let Some(key) = self.incoming.pop_front() {
            // Every queued key has its entry; skipping one that had not is only care.
            if let Some(c) = self.channels.get(&key) {
                let params = c.params.clone();
                self.add_reader(key);
                return Incoming::Channel(key, params);
            }
        }
        if self.done {
            return Incoming::End;
        }
        Incoming::Wait(self.incoming_arrived.listen())
    }

    /// Ends the incoming streams once they have taken what is queued (the task ended).
    pub(crate) fn end_incoming(&mut self) {
        self.incoming_arrived.notify(usize::MAX);
    }

    /// How many channels are held, and how many of them wait to be taken.
    pub(crate) fn held_channels(&self) -> (usize, usize) {
        (self.channels.len(), self.incoming.len())
    }

    pub(crate) fn add_channel(&mut self, entry: ChannelEntry) -> u64 {
        let key = self.next_key;
        self.next_key += 1;
        self.channels.insert(key, entry);
        key
    }

    /// The error a call gets once the task has ended.
    pub(crate) fn closed_error(&self) -> Error {
        match &self.failure {
            Some(f) => Error::Io(std::io::Error::other(f.clone())),
            None => Error::Closed,
        }
    }

    /// Fails with the closed error once the task has ended.
    pub(crate) fn running(&self) -> Result<(), Error> {
        match self.done {
            true => Err(self.closed_error()),
            false => Ok(()),
        }
    }
}

pub(crate) struct Shared {
    state: Mutex<State>,
    /// Notified after every change handles may wait for with `wait_for`; the message
    /// queues and the senders have events of their own.
    changed: Event,
    /// Live [`Link`]s: when the last goes, the task stops everything.
    handles: AtomicUsize,
}

impl Shared {
    /// The state of a chain that has bound nothing yet.
    pub(crate) fn new(
        engine: Engine,
        options: IceGathererOptions,
        clock: fn() -> std::time::Instant,
    ) -> Arc<Self> {
        let state = State {
            engine,
            launch: Some(options),
            launched: false,
            done: false,
            failure: None,
            stop_requested: false,
            driver: None,
            woken: false,
            touched: false,
            clock,
            socket: None,
            member: None,
            local_addrs: Vec::new(),
            ice_created: false,
            ice_started: false,
            dtls_created: false,
            sctp_created: false,
            gathering_events: Subscribers::default(),
            ice_events: Subscribers::default(),
            dtls_events: Subscribers::default(),
            sctp_events: Subscribers::default(),
            signaling_events: Subscribers::default(),
            pc_events: Subscribers::default(),
            candidate_events: Subscribers::default(),
            negotiation_events: Subscribers::default(),
            pc_state: sansrtc::jsep::PeerConnectionState::New,
            channels: HashMap::new(),
            next_key: 0,
            ids: HashMap::new(),
            blocked: HashSet::new(),
            incoming: VecDeque::new(),
            incoming_arrived: Event::new(),
            limits: ReceiveLimits::default(),
            unread_charged: 0,
        };
        Arc::new(Shared {
            state: Mutex::new(state),
            changed: Event::new(),
            handles: AtomicUsize::new(0),
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere cannot leave the state half-written in a way that matters
        // more than losing every handle would.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wakes everyone waiting in `wait_for`.
    pub(crate) fn notify(&self) {
        self.changed.notify(usize::MAX);
    }

    /// Changes the state and wakes everyone waiting on it.
    pub(crate) fn update<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let r = f(&mut self.lock());
        self.notify();
        r
    }

    /// Whether every handle is gone.
    pub(crate) fn abandoned(&self) -> bool {
        self.handles.load(Ordering::Acquire) == 0
    }

    /// Waits until `f` returns something, calling it after every change.
    pub(crate) async fn wait_for<R>(&self, mut f: impl FnMut(&mut State) -> Option<R>) -> R {
        loop {
            // Listen before looking, so a change in between is not missed.
            let listener = self.changed.listen();
            if let Some(r) = f(&mut self.lock()) {
                return r;
            }
            listener.await;
        }
    }
}

/// What every handle holds, as quinn's `ConnectionRef`: the shared state, counted. The
/// task stops everything when the last one is dropped.
pub(crate) struct Link {
    pub(crate) shared: Arc<Shared>,
}

impl Link {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        shared.handles.fetch_add(1, Ordering::AcqRel);
        Link { shared }
    }

    /// Locks the shared state. Never hold the guard while a `Link` is made or dropped.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.shared.lock()
    }
}

impl Clone for Link {
    fn clone(&self) -> Self {
        Link::new(self.shared.clone())
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        if self.shared.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.lock().wake();
        }
    }
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("launched", &self.lock().launched)
            .finish_non_exhaustive()
    }
}

/// One reader of a channel's messages (a `DataChannel` handle or a message stream),
/// counted for as long as it lives: when the last goes, nobody can read the channel.
#[derive(Debug)]
pub(crate) struct Reader {
    pub(crate) link: Link,
    pub(crate) key: u64,
}

impl Reader {
    /// The reader already counted for channel `key` ([`State::add_reader`], under the
    /// lock that made or found the channel).
    pub(crate) fn counted(link: &Link, key: u64) -> Self {
        Reader {
            link: link.clone(),
            key,
        }
    }

    /// The next message if one is queued (and the bytes it held go back to SCTP), the
    /// end, or what to wait on.
    pub(crate) fn take(&self) -> Taken {
        self.link.lock().take_message(self.key)
    }

    /// Unread wire bytes of the channel.
    pub(crate) fn unread_bytes(&self) -> usize {
        self.link
            .lock()
            .channels
            .get(&self.key)
            .map_or(0, ChannelEntry::unread_bytes)
    }
}

impl Clone for Reader {
    fn clone(&self) -> Self {
        self.link.lock().add_reader(self.key);
        Reader::counted(&self.link, self.key)
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.link.lock().remove_reader(self.key);
    }
}
