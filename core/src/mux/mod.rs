//! Many connections behind one socket: a server takes thousands of peers on one UDP port.
//!
//! [`Mux`] routes each datagram to the connection it belongs to, the way quinn's
//! `Endpoint` routes by connection id and str0m's `Rtc::accepts` by ICE credentials:
//!
//! 1. by the path it arrived on — (our address, the sender's address) — once that path is
//!    known;
//! 2. else, for a STUN Binding request, by the local ufrag in its USERNAME (`ours:theirs`,
//!    RFC 8445 §7.2.2). The path is learned only once the connection's ICE agent has
//!    verified the check ([`Demuxed::verified_remote`]: its MESSAGE-INTEGRITY matched our
//!    password), so a forged request, which anyone who saw the ufrag can send from any
//!    address, steers nothing;
//! 3. else, for a STUN response, by its transaction id, when it answers a request one of
//!    our connections sent off the learned paths (to a STUN server while gathering, or
//!    to a peer before its path is learned) and comes back on the path that request
//!    took; the mux files the requests it sees its connections send, so only our own
//!    traffic, bounded per connection and for STUN's 40 s, is kept;
//! 4. anything else comes from no known peer: it is dropped and counted
//!    ([`MuxStats::unknown_source`]), and no connection sees it.
//!
//! The mux is itself an [`Endpoint`]: drive it like any machine. Its events carry the
//! [`ConnectionId`] they came from, and its deadline is the soonest of its connections'
//! (kept in a heap, so a poll costs O(log n), not a walk over every connection).
//!
//! ```
//! use std::time::Instant;
//! use sansrtc::ice::{IceAgent, IceConfig};
//! use sansrtc::mux::Mux;
//!
//! let now = Instant::now();
//! let mut server: Mux<IceAgent> = Mux::new(now);
//! let a = server.insert(IceAgent::new(IceConfig { seed: 1, ..Default::default() }, now));
//! let b = server.insert(IceAgent::new(IceConfig { seed: 2, ..Default::default() }, now));
//! assert_ne!(a, b);
//! assert_eq!(server.len(), 2);
//! // Feed it every datagram of the shared socket and drain it, as any endpoint.
//! ```

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::ice::IceAgent;
use crate::io::{Endpoint, IDLE_TIMEOUT, Input, Output, Receive, Transmit};
use crate::stun::{self, Class, Method, TransactionId};

/// What the mux needs to know of a connection besides its verbs.
pub trait Demuxed: Endpoint {
    /// Our ICE ufrag: a Binding request whose USERNAME starts with it is for us.
    fn local_ufrag(&self) -> &str;

    /// Whether the ICE agent has verified `remote` (an authenticated check came from
    /// it), so that datagrams from it may be routed here without a USERNAME.
    fn verified_remote(&mut self, remote: SocketAddr) -> bool;
}

impl Demuxed for IceAgent {
    fn local_ufrag(&self) -> &str {
        &self.local_credentials().ufrag
    }

    fn verified_remote(&mut self, remote: SocketAddr) -> bool {
        self.accepts_data_from(remote)
    }
}

impl Demuxed for crate::engine::Engine {
    fn local_ufrag(&self) -> &str {
        crate::engine::Engine::local_ufrag(self)
    }

    fn verified_remote(&mut self, remote: SocketAddr) -> bool {
        crate::engine::Engine::verified_remote(self, remote)
    }
}

/// A connection's handle in a [`Mux`]. Ids are not reused while the mux lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(u64);

/// Counters of a [`Mux`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MuxStats {
    /// Datagrams routed to a connection by their path.
    pub routed_by_path: u64,
    /// Binding requests routed to a connection by the ufrag in their USERNAME.
    pub routed_by_ufrag: u64,
    /// Paths learned (a connection verified a check from a new address).
    pub paths_learned: u64,
    /// STUN responses routed to the connection whose request they answer (a STUN
    /// server's answer to gathering, or a peer's answer before its path was learned).
    pub routed_by_transaction: u64,
    /// Datagrams from no known peer (no learned path, no USERNAME naming one of our
    /// connections, no answer to one of their requests): dropped.
    pub unknown_source: u64,
}

/// A STUN request a connection sent where no learned path leads back to it: its answer
/// is routed by the transaction id, if it comes from where the request went.
#[derive(Debug, Clone, Copy)]
struct Outstanding {
    id: ConnectionId,
    /// (our address, where the request went).
    path: (SocketAddr, SocketAddr),
    /// After this an answer is no longer expected (RFC 8489's 39.5 s, rounded up).
    expires: Instant,
}

/// How long a request's answer is routed.
const TRANSACTION_LIFETIME: Duration = Duration::from_secs(40);

/// Requests filed per connection, on average, before new ones go unfiled (their answers
/// are then dropped as a stranger's, and the connection retransmits as on loss). A
/// connection has a few in flight: one per STUN server while gathering, and its checks
/// until its peer's path is learned.
const REQUESTS_PER_CONNECTION: usize = 8;

/// Our connections' STUN requests sent where no learned path leads back, by transaction
/// id. Only requests we send are filed, so a peer cannot grow it; entries leave when
/// answered or after [`TRANSACTION_LIFETIME`], oldest first, in O(1) each.
#[derive(Debug, Default)]
struct Requests {
    by_id: HashMap<TransactionId, Outstanding>,
    /// Filing order, which is expiry order (the clock only moves forward); answered
    /// entries stay here until their time and are skipped.
    order: VecDeque<(Instant, TransactionId)>,
}

impl Requests {
    /// Files `t` if it is a STUN request.
    fn record(&mut self, id: ConnectionId, t: &Transmit, now: Instant, conns: usize) {
        while let Some(&(expires, tid)) = self.order.front() {
            if expires > now {
                break;
            }
            self.order.pop_front();
            if self.by_id.get(&tid).is_some_and(|o| o.expires == expires) {
                self.by_id.remove(&tid);
            }
        }
        let Ok(msg) = stun::Message::parse(&t.contents) else {
            return;
        };
        if msg.class() != Class::Request
            || self.order.len() >= REQUESTS_PER_CONNECTION * conns + 256
        {
            return;
        }
        let expires = now + TRANSACTION_LIFETIME;
        let tid = msg.transaction_id();
        self.order.push_back((expires, tid));
        self.by_id.insert(
            tid,
            Outstanding {
                id,
                path: (t.source, t.destination),
                expires,
            },
        );
    }

    /// The connection whose request `tid` answers, if the answer came back on the path
    /// the request took; anyone else naming the id is a stranger.
    fn answered(
        &mut self,
        tid: TransactionId,
        path: (SocketAddr, SocketAddr),
    ) -> Option<ConnectionId> {
        let o = self.by_id.get(&tid)?;
        if o.path != path {
            return None;
        }
        let id = o.id;
        self.by_id.remove(&tid);
        Some(id)
    }
}

#[derive(Debug)]
struct Slot<E> {
    conn: E,
    /// The deadline the connection last answered, filed in the heap; a heap entry is
    /// current only if it matches. `None` while it is being polled afresh.
    deadline: Option<Instant>,
    /// The paths learned for it, to forget with it.
    paths: Vec<(SocketAddr, SocketAddr)>,
}

/// Many connections behind one socket; see the [module docs](self).
#[derive(Debug)]
pub struct Mux<E: Endpoint> {
    conns: HashMap<ConnectionId, Slot<E>>,
    by_ufrag: HashMap<String, ConnectionId>,
    /// (our address, the peer's address) → connection.
    by_path: HashMap<(SocketAddr, SocketAddr), ConnectionId>,
    /// Requests sent off the learned paths, to route their answers.
    requests: Requests,
    timers: BinaryHeap<Reverse<(Instant, ConnectionId)>>,
    /// Connections commanded through `get_mut`, to poll before anything else.
    touched: Vec<ConnectionId>,
    out: VecDeque<Output<(ConnectionId, E::Event)>>,
    next_id: u64,
    now: Instant,
    stats: MuxStats,
}

impl<E: Demuxed> Mux<E> {
    /// An empty mux whose clock starts at `now`.
    pub fn new(now: Instant) -> Self {
        Mux {
            conns: HashMap::new(),
            by_ufrag: HashMap::new(),
            by_path: HashMap::new(),
            requests: Requests::default(),
            timers: BinaryHeap::new(),
            touched: Vec::new(),
            out: VecDeque::new(),
            next_id: 0,
            now,
            stats: MuxStats::default(),
        }
    }

    /// Adds a connection; its checks are routed by its local ufrag from now on. A
    /// connection with the ufrag of one already here takes that ufrag over (ufrags are
    /// random, so only a caller that reuses credentials can make them collide).
    pub fn insert(&mut self, conn: E) -> ConnectionId {
        let id = ConnectionId(self.next_id);
        self.next_id += 1;
        self.by_ufrag.insert(conn.local_ufrag().to_owned(), id);
        self.conns.insert(
            id,
            Slot {
                conn,
                deadline: None,
                paths: Vec::new(),
            },
        );
        // Whatever it has queued (a client's first flight) goes out on the next poll.
        self.drain(id);
        id
    }

    /// Takes a connection out, with every path learned for it.
    pub fn remove(&mut self, id: ConnectionId) -> Option<E> {
        let slot = self.conns.remove(&id)?;
        if self.by_ufrag.get(slot.conn.local_ufrag()) == Some(&id) {
            self.by_ufrag.remove(slot.conn.local_ufrag());
        }
        for p in &slot.paths {
            self.by_path.remove(p);
        }
        Some(slot.conn)
    }

    /// A connection. What it wants to send after a change made through
    /// [`get_mut`](Mux::get_mut) goes out on the next poll.
    pub fn get(&self, id: ConnectionId) -> Option<&E> {
        self.conns.get(&id).map(|s| &s.conn)
    }

    /// A connection, to command. The mux polls it again on the next
    /// [`poll_output`](Endpoint::poll_output).
    pub fn get_mut(&mut self, id: ConnectionId) -> Option<&mut E> {
        if !self.conns.contains_key(&id) {
            return None;
        }
        self.touched.push(id);
        self.conns.get_mut(&id).map(|s| &mut s.conn)
    }

    /// The connections' ids.
    pub fn ids(&self) -> impl Iterator<Item = ConnectionId> + '_ {
        self.conns.keys().copied()
    }

    /// How many connections there are.
    pub fn len(&self) -> usize {
        self.conns.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.conns.is_empty()
    }

    /// Counters.
    pub fn stats(&self) -> MuxStats {
        self.stats
    }

    /// The connection a datagram is for, if any.
    fn route(&mut self, r: &Receive) -> Option<(ConnectionId, bool)> {
        if let Some(&id) = self.by_path.get(&(r.destination, r.source)) {
            self.stats.routed_by_path += 1;
            return Some((id, false));
        }
        if !stun::is_stun(&r.contents) {
            return None;
        }
        let msg = stun::Message::parse(&r.contents).ok()?;
        if matches!(msg.class(), Class::Success | Class::Error) {
            let id = self
                .requests
                .answered(msg.transaction_id(), (r.destination, r.source))
                .filter(|id| self.conns.contains_key(id))?;
            self.stats.routed_by_transaction += 1;
            return Some((id, false));
        }
        if (msg.class(), msg.method()) != (Class::Request, Method::Binding) {
            return None;
        }
        let ours = msg.username()?.split(':').next()?;
        let &id = self.by_ufrag.get(ours)?;
        self.stats.routed_by_ufrag += 1;
        Some((id, true))
    }

    /// Takes every output of one connection into the mux's queue and files its deadline.
    fn drain(&mut self, id: ConnectionId) {
        let conns = self.conns.len();
        let Some(slot) = self.conns.get_mut(&id) else {
            return;
        };
        loop {
            match slot.conn.poll_output() {
                Output::Transmit(t) => {
                    if t.segment_size.is_none()
                        && stun::is_stun(&t.contents)
                        && !self.by_path.contains_key(&(t.source, t.destination))
                    {
                        self.requests.record(id, &t, self.now, conns);
                    }
                    self.out.push_back(Output::Transmit(t));
                }
                Output::Event(e) => self.out.push_back(Output::Event((id, e))),
                Output::Timeout(at) => {
                    // An unchanged deadline is already filed; a new one is filed anew
                    // and the old entry goes stale.
                    if slot.deadline != Some(at) {
                        slot.deadline = Some(at);
                        self.timers.push(Reverse((at, id)));
                        self.compact_timers();
                    }
                    return;
                }
            }
        }
    }

    /// Rebuilds the heap from the current deadlines once stale entries outnumber them.
    /// A peer whose every datagram moves its connection's deadline later would otherwise
    /// leave one stale entry per datagram until its time came: the heap stays within
    /// twice the connections.
    fn compact_timers(&mut self) {
        if self.timers.len() <= 2 * self.conns.len() + 64 {
            return;
        }
        self.timers = self
            .conns
            .iter()
            .filter_map(|(&id, slot)| slot.deadline.map(|at| Reverse((at, id))))
            .collect();
    }

    /// How many deadlines the heap holds, stale ones included.
    #[cfg(test)]
    fn filed_deadlines(&self) -> usize {
        self.timers.len()
    }

    /// Drains connections commanded through `get_mut` since the last poll.
    fn drain_touched(&mut self) {
        while let Some(id) = self.touched.pop() {
            self.drain(id);
        }
    }
}

impl<E: Demuxed> Endpoint for Mux<E> {
    type Event = (ConnectionId, E::Event);

    fn handle_input(&mut self, input: Input) {
        self.now = self.now.max(input.now());
        self.drain_touched();
        match input {
            Input::Receive(r) => {
                let Some((id, by_ufrag)) = self.route(&r) else {
                    self.stats.unknown_source += 1;
                    return;
                };
                let path = (r.destination, r.source);
                let Some(slot) = self.conns.get_mut(&id) else {
                    return;
                };
                slot.conn.handle_input(Input::Receive(r));
                if by_ufrag
                    && !self.by_path.contains_key(&path)
                    && slot.conn.verified_remote(path.1)
                {
                    self.by_path.insert(path, id);
                    slot.paths.push(path);
                    self.stats.paths_learned += 1;
                }
                self.drain(id);
            }
            Input::Timeout(now) => {
                while let Some(&Reverse((at, id))) = self.timers.peek() {
                    if at > now {
                        break;
                    }
                    self.timers.pop();
                    let Some(slot) = self.conns.get_mut(&id) else {
                        continue;
                    };
                    if slot.deadline != Some(at) {
                        continue; // stale: the connection moved its deadline since
                    }
                    // Its entry is spent: whatever it answers now is filed again.
                    slot.deadline = None;
                    slot.conn.handle_input(Input::Timeout(now));
                    self.drain(id);
                }
            }
        }
    }

    fn poll_output(&mut self) -> Output<Self::Event> {
        self.drain_touched();
        if let Some(o) = self.out.pop_front() {
            return o;
        }
        // Skip entries whose connection is gone or moved on.
        while let Some(&Reverse((at, id))) = self.timers.peek() {
            match self.conns.get(&id) {
                Some(slot) if slot.deadline == Some(at) => return Output::Timeout(at),
                _ => {
                    self.timers.pop();
                }
            }
        }
        Output::Timeout(self.now + IDLE_TIMEOUT)
    }
}

#[cfg(test)]
mod tests;
