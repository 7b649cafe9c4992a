//! Messages waiting to be cut into DATA or I-DATA chunks, one queue per stream, and the
//! scheduler that picks the stream each chunk comes from.
//!
//! Streams take turns. With DATA a message's fragments must go out back to back
//! (RFC 9260 §6.9: they carry consecutive TSNs), so streams take turns per message;
//! with I-DATA (RFC 8260) they take turns per fragment, so one large message does not
//! hold up the small ones on other streams.

use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use bytes::Bytes;

use super::Ssn;

/// A message waiting to be (fully) sent.
#[derive(Debug)]
pub(super) struct OutMessage {
    pub id: u64,
    pub stream: u16,
    pub ppid: u32,
    pub data: Bytes,
    pub unordered: bool,
    /// SSN (DATA) or MID (I-DATA), assigned when the first fragment goes out, so a
    /// message abandoned before that leaves no hole in the stream.
    pub seq: Option<u32>,
    /// Bytes of `data` already cut into chunks.
    pub offset: usize,
    /// Fragment Sequence Number of the next I-DATA fragment.
    pub fsn: u32,
    pub max_retransmits: Option<u16>,
    pub expires: Option<Instant>,
}

/// One fragment cut from a message, with what the sender keeps about it.
#[derive(Debug)]
pub(super) struct Fragment {
    pub stream: u16,
    pub ppid: u32,
    pub unordered: bool,
    pub beginning: bool,
    pub ending: bool,
    /// SSN (DATA, low 16 bits) or MID (I-DATA).
    pub seq: u32,
    pub fsn: u32,
    pub user_data: Bytes,
    pub msg: u64,
    pub max_retransmits: Option<u16>,
    pub expires: Option<Instant>,
}

#[derive(Debug, Default)]
struct OutStream {
    queue: VecDeque<OutMessage>,
    /// Next SSN, or next MID of ordered messages with I-DATA.
    next_ordered: u32,
    /// Next MID of unordered messages (I-DATA; DATA leaves unordered SSNs at 0).
    next_unordered: u32,
}

/// Per-stream queues and the turn order.
#[derive(Debug, Default)]
pub(super) struct SendQueue {
    streams: BTreeMap<u16, OutStream>,
    /// Streams with queued messages, in turn order; the one in `current` excepted.
    ready: VecDeque<u16>,
    /// DATA only: the stream whose message is half cut.
    current: Option<u16>,
    messages: usize,
}

impl SendQueue {
    pub(super) fn push(&mut self, m: OutMessage) {
        let s = m.stream;
        let st = self.streams.entry(s).or_default();
        if st.queue.is_empty() && self.current != Some(s) {
            self.ready.push_back(s);
        }
        st.queue.push_back(m);
        self.messages += 1;
    }

    pub(super) fn is_empty(&self) -> bool {
        self.messages == 0
    }

    /// Whether `stream` has a message not yet cut completely.
    pub(super) fn has_stream(&self, stream: u16) -> bool {
        self.streams
            .get(&stream)
            .is_some_and(|s| !s.queue.is_empty())
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &OutMessage> {
        self.streams.values().flat_map(|s| s.queue.iter())
    }

    pub(super) fn clear(&mut self) {
        for s in self.streams.values_mut() {
            s.queue.clear();
        }
        self.ready.clear();
        self.current = None;
        self.messages = 0;
    }

    /// A stream reset (RFC 6525) starts its sequence numbers again at 0.
    pub(super) fn reset_sequence(&mut self, stream: u16) {
        if let Some(s) = self.streams.get_mut(&stream) {
            s.next_ordered = 0;
            s.next_unordered = 0;
        }
    }

    /// Cut the next fragment of at most `room` bytes. `full` is the most one packet
    /// holds: a message that fits one is never split to top up another packet, since
    /// each fragment is one more chance to lose it.
    pub(super) fn next_fragment(
        &mut self,
        room: usize,
        full: usize,
        interleave: bool,
    ) -> Option<Fragment> {
        let s = self.current.or_else(|| self.ready.front().copied())?;
        let st = self.streams.get_mut(&s)?;
        let msg = st.queue.front_mut()?;
        let remaining = msg.data.len() - msg.offset;
        if room == 0 || (msg.offset == 0 && remaining <= full && remaining > room) {
            return None;
        }
        let seq = match msg.seq {
            Some(q) => q,
            None => {
                let counter = match (msg.unordered, interleave) {
                    (false, _) => &mut st.next_ordered,
                    (true, true) => &mut st.next_unordered,
                    (true, false) => &mut 0,
                };
                let q = *counter;
                *counter = if interleave {
                    q.wrapping_add(1)
                } else {
                    u32::from(Ssn(q as u16).next().0)
                };
                msg.seq = Some(q);
                q
            }
        };
        let take = remaining.min(room);
        let beginning = msg.offset == 0;
        let user_data = msg.data.slice(msg.offset..msg.offset + take);
        msg.offset += take;
        let ending = msg.offset == msg.data.len();
        let frag = Fragment {
            stream: s,
            ppid: msg.ppid,
            unordered: msg.unordered,
            beginning,
            ending,
            seq,
            fsn: msg.fsn,
            user_data,
            msg: msg.id,
            max_retransmits: msg.max_retransmits,
            expires: msg.expires,
        };
        msg.fsn = msg.fsn.wrapping_add(1);
        if ending {
            st.queue.pop_front();
            self.messages -= 1;
        }
        let more = !st.queue.is_empty();
        if self.current == Some(s) {
            if ending {
                self.current = None;
                if more {
                    self.ready.push_back(s);
                }
            }
        } else {
            self.ready.pop_front();
            if !ending && !interleave {
                self.current = Some(s);
            } else if more {
                self.ready.push_back(s);
            }
        }
        Some(frag)
    }

    /// Remove the messages `drop` picks (each given with whether it is partly sent);
    /// returns them.
    pub(super) fn remove_where(
        &mut self,
        mut drop: impl FnMut(&OutMessage) -> bool,
    ) -> Vec<OutMessage> {
        let mut gone = Vec::new();
        for (s, st) in self.streams.iter_mut() {
            if st.queue.iter().any(&mut drop) {
                let (out, keep): (VecDeque<_>, VecDeque<_>) =
                    st.queue.drain(..).partition(|m| drop(m));
                st.queue = keep;
                if st.queue.is_empty() {
                    self.ready.retain(|r| r != s);
                    if self.current == Some(*s) {
                        self.current = None;
                    }
                } else if self.current == Some(*s)
                    && st.queue.front().is_some_and(|m| m.offset == 0)
                {
                    // The half-cut message went: the stream waits for its next turn.
                    self.current = None;
                    self.ready.push_back(*s);
                }
                gone.extend(out);
            }
        }
        self.messages -= gone.len();
        gone
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(id: u64, stream: u16, len: usize) -> OutMessage {
        OutMessage {
            id,
            stream,
            ppid: 51,
            data: Bytes::from(vec![id as u8; len]),
            unordered: false,
            seq: None,
            offset: 0,
            fsn: 0,
            max_retransmits: None,
            expires: None,
        }
    }

    fn order(q: &mut SendQueue, interleave: bool) -> Vec<(u16, u64, u32, bool)> {
        let mut out = Vec::new();
        while let Some(f) = q.next_fragment(100, 100, interleave) {
            out.push((f.stream, f.msg, f.seq, f.ending));
        }
        out
    }

    #[test]
    fn data_takes_turns_per_message_and_i_data_per_fragment() {
        for interleave in [false, true] {
            let mut q = SendQueue::default();
            q.push(msg(1, 1, 250)); // three fragments
            q.push(msg(2, 1, 10));
            q.push(msg(3, 2, 10));
            let got = order(&mut q, interleave);
            let expected: &[(u16, u64, u32, bool)] = if interleave {
                &[
                    (1, 1, 0, false),
                    (2, 3, 0, true),
                    (1, 1, 0, false),
                    (1, 1, 0, true),
                    (1, 2, 1, true),
                ]
            } else {
                &[
                    (1, 1, 0, false),
                    (1, 1, 0, false),
                    (1, 1, 0, true),
                    (2, 3, 0, true),
                    (1, 2, 1, true),
                ]
            };
            assert_eq!(got, expected, "interleave {interleave}");
            assert!(q.is_empty());
        }
    }

    #[test]
    fn removing_a_half_cut_message_gives_the_stream_its_turn_back() {
        let mut q = SendQueue::default();
        q.push(msg(1, 1, 250));
        q.push(msg(2, 1, 10));
        q.push(msg(3, 2, 10));
        let f = q.next_fragment(100, 100, false).unwrap();
        assert_eq!((f.msg, f.ending), (1, false));
        let gone = q.remove_where(|m| m.id == 1);
        assert_eq!(gone.len(), 1);
        let rest = order(&mut q, false);
        assert_eq!(rest, [(2, 3, 0, true), (1, 2, 1, true)]);
        assert!(q.is_empty() && !q.has_stream(1));
    }

    #[test]
    fn sequence_numbers_count_per_stream_and_kind() {
        let mut q = SendQueue::default();
        for (id, stream, unordered) in [(1, 1, false), (2, 1, true), (3, 1, true), (4, 1, false)] {
            let mut m = msg(id, stream, 10);
            m.unordered = unordered;
            q.push(m);
        }
        let seqs: Vec<u32> = std::iter::from_fn(|| q.next_fragment(100, 100, true))
            .map(|f| f.seq)
            .collect();
        // I-DATA: ordered MIDs 0, 1 and unordered MIDs 0, 1, each counted apart.
        assert_eq!(seqs, [0, 0, 1, 1]);
        q.reset_sequence(1);
        q.push(msg(5, 1, 10));
        assert_eq!(q.next_fragment(100, 100, true).unwrap().seq, 0);
    }
}
