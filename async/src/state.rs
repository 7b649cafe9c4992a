//! What the chain's task shares with its handles: a snapshot of every layer's state
//! behind one lock, an event to wait on for changes, and the command queue.
//!
//! Each channel's unread messages live in the snapshot too ([`Inbox`]), with their own
//! event, so a message arriving wakes that channel's readers and nobody else.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_channel::{Receiver, Sender};
use event_listener::{Event, EventListener};
use sansrtc::datachannel::DataChannelState;
use sansrtc::dtls::{CipherSuite, DtlsRole};
use sansrtc::ice::{IceConnectionState, IceGatheringState};
use sansrtc::ortc::{
    DataChannelParameters, DtlsParameters, DtlsTransportState, IceCandidate, IceParameters,
    IceRole, SctpTransportState,
};

use super::Runtime;
use super::actor::Command;
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

/// One data channel as its handles see it.
pub(crate) struct ChannelEntry {
    pub(crate) params: DataChannelParameters,
    pub(crate) id: Option<u16>,
    pub(crate) state: DataChannelState,
    pub(crate) buffered: usize,
    pub(crate) low_threshold: usize,
    pub(crate) high_water: usize,
    /// Why the channel closed without opening (its id was taken, say).
    pub(crate) error: Option<String>,
    pub(crate) inbox: Inbox,
    pub(crate) events: Subscribers<ChannelEvent>,
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

/// What [`Snapshot::deliver`] did with a message.
pub(crate) enum Delivery {
    /// Queued for the application.
    Queued,
    /// Dropped (closed channel, or every reader gone): its window room is free again.
    Dropped,
    /// Dropped because it would break a bound; the first such message on the channel.
    Overflow,
}

/// What [`Snapshot::take_incoming`] found.
pub(crate) enum Incoming {
    /// A channel the peer opened, counted as read by the caller's new handle.
    Channel(u64, DataChannelParameters),
    /// The task has ended and nothing is left to take.
    End,
    /// Nothing yet: wait on this and look again.
    Wait(EventListener),
}

/// What [`Snapshot::take_message`] found.
pub(crate) enum Taken {
    Message(Message),
    /// Closed (or unknown) and empty: the end of the messages.
    End,
    /// Nothing yet: wait on this and look again.
    Wait(EventListener),
}

impl ChannelEntry {
    pub(crate) fn new(params: DataChannelParameters, state: DataChannelState) -> Self {
        ChannelEntry {
            id: params.id,
            params,
            state,
            buffered: 0,
            low_threshold: 0,
            high_water: super::DEFAULT_HIGH_WATER_MARK,
            error: None,
            inbox: Inbox::default(),
            events: Subscribers::default(),
        }
    }

    /// Unread wire bytes.
    pub(crate) fn unread_bytes(&self) -> usize {
        self.inbox.bytes
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

    pub(crate) fn set_state(&mut self, state: DataChannelState) {
        if self.state == state {
            return;
        }
        self.state = state;
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
    }
}

/// Every layer's state, as last reported by the task.
pub(crate) struct Snapshot {
    /// Sockets are bound and the task runs (or ran).
    pub(crate) launched: bool,
    /// The task has ended and its sockets are closed.
    pub(crate) done: bool,
    /// The socket error that ended the task.
    pub(crate) failure: Option<String>,
    pub(crate) ice_parameters: IceParameters,
    pub(crate) local_addrs: Vec<SocketAddr>,
    pub(crate) local_candidates: Vec<IceCandidate>,
    pub(crate) gathering: IceGatheringState,
    pub(crate) gathering_events: Subscribers<IceGatheringState>,
    pub(crate) ice_created: bool,
    pub(crate) ice_state: IceConnectionState,
    pub(crate) ice_events: Subscribers<IceConnectionState>,
    pub(crate) ice_role: Option<IceRole>,
    pub(crate) selected_pair: Option<(IceCandidate, IceCandidate)>,
    pub(crate) dtls_created: bool,
    pub(crate) dtls_local: Option<DtlsParameters>,
    pub(crate) dtls_state: DtlsTransportState,
    pub(crate) dtls_events: Subscribers<DtlsTransportState>,
    pub(crate) dtls_role: Option<DtlsRole>,
    pub(crate) cipher_suite: Option<CipherSuite>,
    pub(crate) dtls_version: Option<sansrtc::dtls::DtlsVersion>,
    pub(crate) srtp_profile: Option<sansrtc::srtp::SrtpProfile>,
    pub(crate) dtls_error: Option<sansrtc::dtls::DtlsError>,
    pub(crate) ice_failure: Option<sansrtc::ice::IceFailure>,
    pub(crate) sctp_port: Option<u16>,
    pub(crate) sctp_state: SctpTransportState,
    pub(crate) sctp_events: Subscribers<SctpTransportState>,
    pub(crate) channels: HashMap<u64, ChannelEntry>,
    pub(crate) next_key: u64,
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
    /// Wire bytes read (or discarded) that SCTP has not been handed back yet.
    to_release: usize,
    /// A `Command::Release` is queued: the task will take `to_release` anyway.
    release_posted: bool,
}

/// What one queued message counts against the bounds besides its bytes: the queue slot,
/// the message and its allocation, roughly. Without it a peer sending empty messages
/// (which hold nothing of the SCTP window) could queue millions.
pub(crate) const MESSAGE_OVERHEAD: usize = 64;

impl Snapshot {
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

    /// Takes the next unread message of channel `key`. The second value says whether the
    /// caller must post `Command::Release` so the task hands the bytes back to SCTP.
    pub(crate) fn take_message(&mut self, key: u64) -> (Taken, bool) {
        let Some(c) = self.channels.get_mut(&key) else {
            return (Taken::End, false);
        };
        let Some(Unread { message, wire }) = c.inbox.queue.pop_front() else {
            if c.inbox.closed {
                return (Taken::End, false);
            }
            return (Taken::Wait(c.inbox.arrived.listen()), false);
        };
        let charge = wire.max(message.len()) + MESSAGE_OVERHEAD;
        c.inbox.bytes -= wire;
        c.inbox.charged -= charge;
        self.unread_charged -= charge;
        (Taken::Message(message), self.released(wire))
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
    /// room in the window handed back; the result says whether to post
    /// `Command::Release`.
    pub(crate) fn remove_reader(&mut self, key: u64) -> bool {
        let Some(c) = self.channels.get_mut(&key) else {
            return false;
        };
        c.inbox.readers -= 1;
        if !c.abandoned() {
            return false;
        }
        let queue = std::mem::take(&mut c.inbox.queue);
        let wire = std::mem::take(&mut c.inbox.bytes);
        self.unread_charged -= std::mem::take(&mut c.inbox.charged);
        drop(queue);
        // A closed channel's last reader is the last thing that could observe it.
        self.forget_if_unobservable(key);
        self.released(wire)
    }

    /// Channel `key` closed (or never opened): ends its messages and events, and
    /// forgets it if nothing can observe it any more. Returns its stream id, if it had
    /// one.
    pub(crate) fn close_channel(&mut self, key: u64) -> Option<u16> {
        let c = self.channels.get_mut(&key)?;
        c.set_state(DataChannelState::Closed);
        let id = c.id;
        self.forget_if_unobservable(key);
        id
    }

    /// Drops channel `key`'s entry once nothing can observe it, so a peer that opens
    /// and closes channels without end does not grow the snapshot: handles hold their
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

    /// Counts `wire` bytes as ready to hand back; true if a `Command::Release` must be
    /// posted for them.
    fn released(&mut self, wire: usize) -> bool {
        self.to_release += wire;
        wire > 0 && !std::mem::replace(&mut self.release_posted, true)
    }

    /// What the task hands back to SCTP now (it is serving `Command::Release`).
    pub(crate) fn take_release(&mut self) -> usize {
        self.release_posted = false;
        std::mem::take(&mut self.to_release)
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
}

/// What `gather` needs to bind the sockets and start the task.
pub(crate) struct Launch {
    pub(crate) gatherer: sansrtc::engine::Engine,
    pub(crate) options: IceGathererOptions,
    pub(crate) commands: Receiver<Command>,
}

pub(crate) struct Shared {
    state: Mutex<Snapshot>,
    changed: Event,
    pub(crate) launch: Mutex<Option<Launch>>,
}

impl Shared {
    /// State before anything is bound, and the queue commands wait in until `launch`.
    pub(crate) fn new(
        gatherer: sansrtc::engine::Engine,
        options: IceGathererOptions,
    ) -> (Arc<Self>, Sender<Command>) {
        let (commands_tx, commands) = async_channel::unbounded();
        let snapshot = Snapshot {
            launched: false,
            done: false,
            failure: None,
            ice_parameters: gatherer.ice_gatherer().local_parameters(),
            local_addrs: Vec::new(),
            local_candidates: Vec::new(),
            gathering: gatherer.ice_gatherer().state(),
            gathering_events: Subscribers::default(),
            ice_created: false,
            ice_state: IceConnectionState::New,
            ice_events: Subscribers::default(),
            ice_role: None,
            selected_pair: None,
            dtls_created: false,
            dtls_local: None,
            dtls_state: DtlsTransportState::New,
            dtls_events: Subscribers::default(),
            dtls_role: None,
            cipher_suite: None,
            dtls_version: None,
            srtp_profile: None,
            dtls_error: None,
            ice_failure: None,
            sctp_port: None,
            sctp_state: SctpTransportState::New,
            sctp_events: Subscribers::default(),
            channels: HashMap::new(),
            next_key: 0,
            incoming: VecDeque::new(),
            incoming_arrived: Event::new(),
            limits: ReceiveLimits::default(),
            unread_charged: 0,
            to_release: 0,
            release_posted: false,
        };
        let shared = Shared {
            state: Mutex::new(snapshot),
            changed: Event::new(),
            launch: Mutex::new(Some(Launch {
                gatherer,
                options,
                commands,
            })),
        };
        (Arc::new(shared), commands_tx)
    }

    fn lock(&self) -> MutexGuard<'_, Snapshot> {
        // A panic elsewhere cannot leave the snapshot half-written in a way that matters
        // more than losing every handle would.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads the snapshot.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&Snapshot) -> R) -> R {
        f(&self.lock())
    }

    /// Changes something in the snapshot that nobody waits for with `wait_for` (the
    /// message queues have their own events), so nobody is woken.
    pub(crate) fn quietly<R>(&self, f: impl FnOnce(&mut Snapshot) -> R) -> R {
        f(&mut self.lock())
    }

    /// Changes the snapshot and wakes everyone waiting on it.
    pub(crate) fn update<R>(&self, f: impl FnOnce(&mut Snapshot) -> R) -> R {
        let r = f(&mut self.lock());
        self.changed.notify(usize::MAX);
        r
    }

    /// Waits until `f` returns something, calling it after every change.
    pub(crate) async fn wait_for<R>(&self, mut f: impl FnMut(&mut Snapshot) -> Option<R>) -> R {
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

/// What every handle holds: the shared state and a sender of commands. The task ends
/// when the last one is dropped.
#[derive(Clone)]
pub(crate) struct Link {
    pub(crate) shared: Arc<Shared>,
    pub(crate) commands: Sender<Command>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("launched", &self.shared.read(|s| s.launched))
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
    /// The reader that [`Snapshot::take_incoming`] already counted for channel `key`.
    pub(crate) fn counted(link: &Link, key: u64) -> Self {
        Reader {
            link: link.clone(),
            key,
        }
    }

    /// A reader of channel `key` and its parameters; `None` if there is no such channel.
    pub(crate) fn new(link: &Link, key: u64) -> Option<(Self, DataChannelParameters)> {
        let params = link.shared.quietly(|s| {
            let params = s.channels.get(&key)?.params.clone();
            s.add_reader(key);
            Some(params)
        })?;
        let reader = Reader {
            link: link.clone(),
            key,
        };
        Some((reader, params))
    }

    /// The next message if one is queued (and the bytes it held go back to SCTP), the
    /// end, or what to wait on.
    pub(crate) fn take(&self) -> Taken {
        let (taken, post) = self.link.shared.quietly(|s| s.take_message(self.key));
        if post {
            self.link.post_release();
        }
        taken
    }

    /// Unread wire bytes of the channel.
    pub(crate) fn unread_bytes(&self) -> usize {
        self.link.shared.read(|s| {
            s.channels
                .get(&self.key)
                .map_or(0, ChannelEntry::unread_bytes)
        })
    }
}

impl Clone for Reader {
    fn clone(&self) -> Self {
        self.link.shared.quietly(|s| s.add_reader(self.key));
        Reader {
            link: self.link.clone(),
            key: self.key,
        }
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        if self.link.shared.quietly(|s| s.remove_reader(self.key)) {
            self.link.post_release();
        }
    }
}

impl Link {
    /// Tells the task that read bytes wait to be handed back to SCTP (once per batch:
    /// the snapshot remembers that one is queued). A stopped task needs no telling.
    fn post_release(&self) {
        let _ = self.commands.try_send(Command::Release);
    }

    /// Queues a command that needs no answer.
    pub(crate) fn post(&self, command: Command) -> Result<(), Error> {
        self.commands
            .try_send(command)
            .map_err(|_| self.shared.read(Snapshot::closed_error))
    }

    /// Binds the sockets and starts the task (gathering), then sends `command` and waits
    /// for its answer.
    pub(crate) async fn call<R: Runtime, T>(
        &self,
        command: impl FnOnce(Sender<Result<T, Error>>) -> Command,
    ) -> Result<T, Error> {
        crate::gatherer::launch::<R>(self)?;
        let (tx, rx) = async_channel::bounded(1);
        self.post(command(tx))?;
        match rx.recv().await {
            Ok(result) => result,
            Err(_) => Err(self.shared.read(Snapshot::closed_error)),
        }
    }
}
