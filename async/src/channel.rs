//! `RTCDataChannel`, its messages and events.

use super::*;

/// A data channel message: W3C tells strings from binary data, and so do we.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Sent as a string (PPID 51, or 56 when empty).
    Text(String),
    /// Sent as binary (PPID 53, or 57 when empty).
    Binary(Bytes),
}

impl Message {
    /// Whether it is a string.
    pub fn is_text(&self) -> bool {
        matches!(self, Message::Text(_))
    }

    /// The payload bytes (UTF-8 for text).
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Message::Text(t) => t.as_bytes(),
            Message::Binary(b) => b,
        }
    }

    /// Payload length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether the payload is empty (an empty message is still a message).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<&str> for Message {
    fn from(s: &str) -> Self {
        Message::Text(s.to_owned())
    }
}

impl From<String> for Message {
    fn from(s: String) -> Self {
        Message::Text(s)
    }
}

impl From<Bytes> for Message {
    fn from(b: Bytes) -> Self {
        Message::Binary(b)
    }
}

impl From<Vec<u8>> for Message {
    fn from(b: Vec<u8>) -> Self {
        Message::Binary(b.into())
    }
}

/// A data channel's events (W3C `open`, `bufferedamountlow`, `closing`, `close`);
/// messages come from [`DataChannel::recv`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelEvent {
    /// The channel opened.
    Open,
    /// `bufferedAmount` fell to or below `bufferedAmountLowThreshold`.
    BufferedAmountLow,
    /// Closing started, by either end.
    Closing,
    /// The channel is closed; the stream ends after this.
    Closed,
    /// The peer sent more than the [`ReceiveLimits`] allow while nothing was read (a
    /// flood of tiny messages): the message that did not fit and any after it are
    /// dropped, and the channel is closed. What was queued before stays readable.
    ReceiveOverflow,
}

/// A data channel's messages as a stream ([`DataChannel::messages`]). It ends once the
/// channel is closed and every message read. Holding one keeps the chain running.
#[derive(Debug)]
pub struct Messages {
    reader: Reader,
    listener: Option<event_listener::EventListener>,
}

impl Messages {
    /// The next message; `None` once the channel is closed and every message read.
    pub async fn next(&mut self) -> Option<Message> {
        futures_lite::StreamExt::next(self).await
    }

    /// The next message if one is queued now.
    pub fn try_next(&mut self) -> Option<Message> {
        match self.reader.take() {
            Taken::Message(m) => Some(m),
            Taken::End | Taken::Wait(_) => None,
        }
    }
}

impl Stream for Messages {
    type Item = Message;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        let this = self.get_mut();
        loop {
            if let Some(listener) = &mut this.listener {
                std::task::ready!(Pin::new(listener).poll(cx));
                this.listener = None;
            }
            match this.reader.take() {
                Taken::Message(m) => return Poll::Ready(Some(m)),
                Taken::End => return Poll::Ready(None),
                Taken::Wait(listener) => this.listener = Some(listener),
            }
        }
    }
}

/// `RTCDataChannel`. Clones are handles to the same channel and share its message
/// queue (each message goes to one reader).
///
/// The handles and [`Messages`] streams of a channel are its readers: once the last is
/// dropped, its unread messages and any that arrive later are dropped (see the [crate
/// docs](crate#receive-flow-control)).
#[derive(Debug, Clone)]
pub struct DataChannel<R> {
    pub(crate) link: Link,
    key: u64,
    params: Arc<DataChannelParameters>,
    reader: Reader,
    pub(crate) runtime: PhantomData<fn() -> R>,
}

impl<R: Runtime> DataChannel<R> {
    pub(crate) fn with_reader(
        link: &Link,
        key: u64,
        params: DataChannelParameters,
        reader: Reader,
    ) -> Self {
        DataChannel {
            link: link.clone(),
            key,
            params: Arc::new(params),
            reader,
            runtime: PhantomData,
        }
    }

    fn read<T>(&self, f: impl FnOnce(&ChannelEntry, &Engine) -> T) -> Option<T> {
        let s = self.link.lock();
        s.channels.get(&self.key).map(|c| f(c, &s.engine))
    }

    /// `label`.
    pub fn label(&self) -> &str {
        &self.params.label
    }

    /// `protocol`.
    pub fn protocol(&self) -> &str {
        &self.params.protocol
    }

    /// `ordered`.
    pub fn ordered(&self) -> bool {
        self.params.ordered
    }

    /// `maxRetransmits`.
    pub fn max_retransmits(&self) -> Option<u16> {
        self.params.max_retransmits
    }

    /// `maxPacketLifeTime`, in milliseconds.
    pub fn max_packet_life_time(&self) -> Option<u16> {
        self.params.max_packet_life_time
    }

    /// `negotiated`.
    pub fn negotiated(&self) -> bool {
        self.params.negotiated
    }

    /// `id`: the SCTP stream id; `None` until the DTLS role is known (it picks the
    /// id's parity), unless one was asked for.
    pub fn id(&self) -> Option<u16> {
        self.read(ChannelEntry::id).flatten()
    }

    /// `readyState`.
    pub fn ready_state(&self) -> DataChannelState {
        self.read(ChannelEntry::state)
            .unwrap_or(DataChannelState::Closed)
    }

    /// `bufferedAmount`: bytes sent but not yet acknowledged.
    pub fn buffered_amount(&self) -> usize {
        self.read(ChannelEntry::buffered).unwrap_or(0)
    }

    /// `bufferedAmountLowThreshold`.
    pub fn buffered_amount_low_threshold(&self) -> usize {
        self.read(|c, _| c.low_threshold).unwrap_or(0)
    }

    /// `bufferedAmountLowThreshold = n`: [`ChannelEvent::BufferedAmountLow`] fires when
    /// `bufferedAmount` falls to or below it.
    pub fn set_buffered_amount_low_threshold(&self, n: usize) {
        let mut s = self.link.lock();
        let Some(c) = s.channels.get_mut(&self.key) else {
            return;
        };
        c.low_threshold = n;
        let ch = c.channel;
        s.engine
            .sctp_transport_mut()
            .set_buffered_amount_low_threshold(ch, n);
        s.wake();
    }

    /// The `bufferedAmount` above which sends wait ([`DEFAULT_HIGH_WATER_MARK`] unless
    /// set).
    pub fn high_water_mark(&self) -> usize {
        self.read(|c, _| c.high_water)
            .unwrap_or(DEFAULT_HIGH_WATER_MARK)
    }

    /// Sets the high-water mark; see the [crate docs](crate#back-pressure) on back-pressure.
    pub fn set_high_water_mark(&self, n: usize) {
        if let Some(c) = self.link.lock().channels.get_mut(&self.key) {
            c.high_water = n;
            // A higher mark may let the first waiting send go.
            c.writable.notify(usize::MAX);
        }
    }

    /// `send(string)`; see [`send`](DataChannel::send).
    pub async fn send_text(&self, text: &str) -> Result<(), Error> {
        self.send(Message::Text(text.to_owned())).await
    }

    /// `send(bytes)`; see [`send`](DataChannel::send).
    pub async fn send_binary(&self, data: Bytes) -> Result<(), Error> {
        self.send(Message::Binary(data)).await
    }

    /// Sends a message once the channel is open and its `bufferedAmount` is at or below
    /// the high-water mark; resolves when SCTP has taken it. Fails if the channel closes
    /// first or SCTP refuses it (too large for the peer). Dropping the future before it
    /// resolves may withdraw the message.
    pub async fn send(&self, message: Message) -> Result<(), Error> {
        crate::gatherer::launch::<R>(&self.link)?;
        let turn = SendTurn::new(&self.link, self.key)?;
        let mut message = Some(message);
        loop {
            let listener = {
                let mut s = self.link.lock();
                if let Some(result) = turn.try_send(&mut s, &mut message) {
                    return result;
                }
                match s.channels.get(&self.key) {
                    // Listening under the lock: a wake-up after it is not missed.
                    Some(c) => c.writable.listen(),
                    None => return Err(Error::ChannelClosed),
                }
            };
            listener.await;
        }
    }

    /// The next message; `None` once the channel is closed and every message read.
    /// Taking a message opens its room in the SCTP receive window again.
    pub async fn recv(&self) -> Option<Message> {
        loop {
            match self.reader.take() {
                Taken::Message(m) => return Some(m),
                Taken::End => return None,
                Taken::Wait(listener) => listener.await,
            }
        }
    }

    /// The messages as a stream (sharing the queue with [`recv`](DataChannel::recv)).
    /// The stream is a reader of the channel: it keeps the channel's messages coming
    /// after the handles are dropped.
    pub fn messages(&self) -> Messages {
        Messages {
            reader: self.reader.clone(),
            listener: None,
        }
    }

    /// Bytes of messages received and not read yet (as SCTP carried them): at most the
    /// [receive window](ReceiveLimits::receive_window) over all channels together.
    pub fn unread_bytes(&self) -> usize {
        self.reader.unread_bytes()
    }

    /// `onopen`, `onbufferedamountlow`, `onclosing`, `onclose` from now on.
    pub fn events(&self) -> Events<ChannelEvent> {
        let rx = match self.link.lock().channels.get_mut(&self.key) {
            Some(c) if c.reported != DataChannelState::Closed => c.events.subscribe(),
            _ => async_channel::unbounded().1,
        };
        Events::new(rx, &self.link)
    }

    /// Waits until the channel is open; fails if it closes first.
    pub async fn open(&self) -> Result<(), Error> {
        crate::gatherer::launch::<R>(&self.link)?;
        let key = self.key;
        self.link
            .shared
            .wait_for(move |s| {
                let Some(c) = s.channels.get(&key) else {
                    return Some(Err(Error::ChannelClosed));
                };
                match c.state(&s.engine) {
                    DataChannelState::Open => Some(Ok(())),
                    DataChannelState::Connecting => None,
                    _ => Some(Err(Error::ChannelClosed)),
                }
            })
            .await
    }

    /// `close()`: resets the channel's streams; resolves once both ends are closed (or
    /// the chain stopped).
    pub async fn close(&self) {
        {
            let mut s = self.link.lock();
            if s.done {
                return;
            }
            let ch = s.channels.get(&self.key).map(|c| c.channel);
            // A channel with no id yet closes at once in the engine (it never reached
            // the network); one the engine no longer knows is closed already.
            if let Some(ch) = ch
                && s.engine.sctp_transport_mut().close_channel(ch).is_err()
            {
                s.close_channel(self.key);
            }
            s.wake();
        }
        self.link.shared.notify();
        let key = self.key;
        self.link
            .shared
            .wait_for(move |s| {
                let closed = s
                    .channels
                    .get(&key)
                    .is_none_or(|c| c.state(&s.engine) == DataChannelState::Closed);
                (closed || s.done).then_some(())
            })
            .await;
    }
}

/// A send's place in its channel's queue of waiting sends (quinn's blocked writers, in
/// order): dropping it, when the send finishes or its future is dropped, lets the next
/// one go.
struct SendTurn<'a> {
    link: &'a Link,
    key: u64,
    ticket: u64,
}

impl<'a> SendTurn<'a> {
    fn new(link: &'a Link, key: u64) -> Result<Self, Error> {
        let mut s = link.lock();
        s.running()?;
        let ticket = s.take_ticket(key).ok_or(Error::ChannelClosed)?;
        Ok(SendTurn { link, key, ticket })
    }

    /// Hands `message` to SCTP if the channel is open, this send is the first waiting
    /// and the buffered amount is at or below the high-water mark; fails it if the
    /// channel is closing or closed; `None` to wait.
    fn try_send(&self, s: &mut State, message: &mut Option<Message>) -> Option<Result<(), Error>> {
        let Some(c) = s.channels.get(&self.key) else {
            // Closed and forgotten.
            return Some(Err(Error::ChannelClosed));
        };
        match c.state(&s.engine) {
            DataChannelState::Connecting => return None,
            DataChannelState::Open => {}
            _ => return Some(Err(Error::ChannelClosed)),
        }
        if c.senders.front() != Some(&self.ticket) || c.buffered(&s.engine) > c.high_water {
            return None;
        }
        let (ch, message) = (c.channel, message.take()?);
        let mut sctp = s.engine.sctp_transport_mut();
        let sent = match message {
            Message::Text(t) => sctp.send_text(ch, &t),
            Message::Binary(b) => sctp.send_binary(ch, b),
        };
        s.wake();
        Some(sent.map_err(Error::from))
    }
}

impl Drop for SendTurn<'_> {
    fn drop(&mut self) {
        self.link.lock().drop_ticket(self.key, self.ticket);
    }
}
