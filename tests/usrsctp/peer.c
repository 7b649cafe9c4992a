/*
 * A foreign SCTP peer for sansrtc's interop tests: usrsctp (the SCTP stack Firefox used
 * for years, Debian's libusrsctp) speaking SCTP packets carried in UDP datagrams, the way
 * WebRTC carries them in DTLS records. It answers DATA_CHANNEL_OPEN with an ACK and
 * resets its own outgoing stream when the peer resets one, as a browser does, so the
 * tests can drive our data channels against it.
 *
 * The test (tests/src/usrsctp.rs) launches it and speaks a line protocol on its
 * stdin/stdout; see tests/usrsctp/README.md.
 *
 * Built by scripts/install-usrsctp-peer. Not part of any release.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <usrsctp.h>

#ifndef SCTP_INTERLEAVING_SUPPORTED
#define SCTP_INTERLEAVING_SUPPORTED 0x00001206
#endif

#define SCTP_PORT 5000
#define PPID_DCEP 50
#define DCEP_ACK 0x02
#define DCEP_OPEN 0x03
#define MAX_MESSAGE (1 << 20)

static int udp = -1;
static struct sockaddr_in remote;
static struct socket *assoc_sock; /* the association's socket, once up */
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t up_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t up_cond = PTHREAD_COND_INITIALIZER;
static int conn_handle; /* the address usrsctp knows our one "connection" by */
static struct timespec t0;
static unsigned ready_port;
/* Per outgoing stream: 0 idle, 1 we asked to reset it, 2 we reset it to answer the peer. */
static uint8_t reset_state[65536];
/* open-many: how many ACKs are awaited, and since when. */
static unsigned acks_wanted, acks_seen;
static double acks_since;
/* Our outgoing stream count, and the ACKs that wait for streams we asked to add. */
static unsigned out_count;
static uint16_t acks_waiting[1024];
static unsigned n_acks_waiting;

static double elapsed_ms(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0.tv_sec) * 1e3 + (t.tv_nsec - t0.tv_nsec) / 1e6;
}

/* One event line on stdout; the test reads them in order. */
static void say(const char *fmt, ...) {
	va_list ap;
	pthread_mutex_lock(&out_lock);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

static void die(const char *what) {
	say("error %s: %s", what, strerror(errno));
	exit(1);
}

/* FNV-1a over a message: the test checks content by hash, not by echo. */
static uint64_t fnv1a(const uint8_t *p, size_t n) {
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* The content of message `index` on a stream: the test builds the same bytes. */
static void fill(uint8_t *p, size_t n, uint32_t stream, uint32_t index) {
	uint32_t x = (stream * 2654435761u) ^ (index * 40503u) ^ 0x9e3779b9u;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
}

static int conn_output(void *addr, void *buf, size_t len, uint8_t tos, uint8_t set_df) {
	(void)addr;
	(void)tos;
	(void)set_df;
	if (sendto(udp, buf, len, 0, (struct sockaddr *)&remote, sizeof remote) < 0) {
		return errno;
	}
	return 0;
}

static void debug_printf(const char *format, ...) {
	(void)format;
}

static void *udp_reader(void *arg) {
	(void)arg;
	static uint8_t buf[65536];
	for (;;) {
		ssize_t n = recv(udp, buf, sizeof buf, 0);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			die("recv");
		}
		usrsctp_conninput(&conn_handle, buf, (size_t)n, 0);
	}
	return NULL;
}

static int send_message(struct socket *s, uint16_t sid, uint32_t ppid, int unordered,
                        const void *data, size_t len) {
	struct sctp_sendv_spa spa;
	memset(&spa, 0, sizeof spa);
	spa.sendv_flags = SCTP_SEND_SNDINFO_VALID;
	spa.sendv_sndinfo.snd_sid = sid;
	spa.sendv_sndinfo.snd_ppid = htonl(ppid);
	spa.sendv_sndinfo.snd_flags = SCTP_EOR | (unordered ? SCTP_UNORDERED : 0);
	for (;;) {
		ssize_t n = usrsctp_sendv(s, data, len, NULL, 0, &spa, sizeof spa, SCTP_SENDV_SPA, 0);
		if (n >= 0) {
			return 0;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
			usleep(1000);
			continue;
		}
		return -1;
	}
}

static void reset_outgoing(struct socket *s, uint16_t sid, uint8_t why) {
	reset_state[sid] = why;
	size_t len = sizeof(struct sctp_reset_streams) + sizeof(uint16_t);
	struct sctp_reset_streams *srs = calloc(1, len);
	srs->srs_flags = SCTP_STREAM_RESET_OUTGOING;
	srs->srs_number_streams = 1;
	srs->srs_stream_list[0] = sid;
	if (usrsctp_setsockopt(s, IPPROTO_SCTP, SCTP_RESET_STREAMS, srs, (socklen_t)len) < 0) {
		say("error reset %u: %s", sid, strerror(errno));
	}
	free(srs);
}

static void send_ack(struct socket *s, uint16_t sid) {
	uint8_t ack = DCEP_ACK;
	if (send_message(s, sid, PPID_DCEP, 0, &ack, 1) < 0) {
		say("error ack %u: %s", sid, strerror(errno));
	}
}

/* The ACKs for channels on streams we had to add, once the streams are there (or not). */
static void send_waiting_acks(struct socket *s) {
	unsigned keep = 0;
	for (unsigned i = 0; i < n_acks_waiting; i++) {
		if (acks_waiting[i] < out_count) {
			send_ack(s, acks_waiting[i]);
		} else {
			acks_waiting[keep++] = acks_waiting[i];
		}
	}
	n_acks_waiting = keep;
	if (keep) {
		uint16_t highest = 0;
		for (unsigned i = 0; i < keep; i++) {
			highest = acks_waiting[i] > highest ? acks_waiting[i] : highest;
		}
		struct sctp_add_streams as = {0, 0, (uint16_t)(highest + 1 - out_count)};
		if (usrsctp_setsockopt(s, IPPROTO_SCTP, SCTP_ADD_STREAMS, &as, sizeof as) < 0) {
			say("error add for ACK: %s", strerror(errno));
		}
	}
}

static void on_notification(struct socket *s, const union sctp_notification *n, size_t len) {
	if (len < sizeof n->sn_header) {
		return;
	}
	switch (n->sn_header.sn_type) {
	case SCTP_ASSOC_CHANGE: {
		const struct sctp_assoc_change *c = &n->sn_assoc_change;
		switch (c->sac_state) {
		case SCTP_COMM_UP:
			out_count = c->sac_outbound_streams;
			say("up %u %u", c->sac_inbound_streams, c->sac_outbound_streams);
			break;
		case SCTP_COMM_LOST:
			say("down lost %.1f", elapsed_ms());
			break;
		case SCTP_SHUTDOWN_COMP:
			say("down shutdown %.1f", elapsed_ms());
			break;
		case SCTP_RESTART:
			say("restart");
			break;
		case SCTP_CANT_STR_ASSOC:
			say("down cant-start");
			break;
		}
		break;
	}
	case SCTP_SHUTDOWN_EVENT:
		say("shutdown-received");
		break;
	case SCTP_STREAM_RESET_EVENT: {
		const struct sctp_stream_reset_event *r = &n->sn_strreset_event;
		size_t count = (r->strreset_length - sizeof *r) / sizeof(uint16_t);
		int incoming = r->strreset_flags & SCTP_STREAM_RESET_INCOMING_SSN;
		int failed = r->strreset_flags & (SCTP_STREAM_RESET_DENIED | SCTP_STREAM_RESET_FAILED);
		for (size_t i = 0; i < count; i++) {
			uint16_t sid = r->strreset_stream_list[i];
			if (failed) {
				say("reset-failed %u", sid);
			} else if (incoming) {
				say("reset-in %u %.1f", sid, elapsed_ms());
				/* Closing a data channel resets both directions (RFC 8831 §6.7): a
				 * browser answers the peer's reset with its own. */
				if (reset_state[sid] == 1) {
					reset_state[sid] = 0;
				} else {
					reset_outgoing(s, sid, 2);
				}
			} else {
				say("reset-out %u %.1f", sid, elapsed_ms());
				if (reset_state[sid] == 2) {
					reset_state[sid] = 0;
				}
			}
		}
		break;
	}
	case SCTP_STREAM_CHANGE_EVENT: {
		const struct sctp_stream_change_event *c = &n->sn_strchange_event;
		if (c->strchange_flags & (SCTP_STREAM_CHANGE_DENIED | SCTP_STREAM_CHANGE_FAILED)) {
			say("streams-denied");
			if (n_acks_waiting) {
				say("error no stream to ACK on: %u streams", out_count);
			}
			break;
		} else {
			say("streams %u %u", c->strchange_instrms, c->strchange_outstrms);
			out_count = c->strchange_outstrms;
		}
		send_waiting_acks(s);
		break;
	}
	case SCTP_SEND_FAILED_EVENT:
		say("send-failed");
		break;
	}
}

static void on_message(struct socket *s, const uint8_t *data, size_t len,
                       const struct sctp_rcvinfo *info) {
	uint32_t ppid = ntohl(info->rcv_ppid);
	uint16_t sid = info->rcv_sid;
	int unordered = (info->rcv_flags & SCTP_UNORDERED) != 0;
	if (ppid == PPID_DCEP && len >= 1) {
		if (data[0] == DCEP_OPEN && len >= 12) {
			uint16_t label_len = (uint16_t)(data[8] << 8 | data[9]);
			int shown = label_len <= len - 12 ? label_len : 0;
			say("dcep-open %u %.*s", sid, shown, (const char *)data + 12);
			if (sid < out_count) {
				send_ack(s, sid);
			} else if (n_acks_waiting < 1024) {
				/* As Firefox does: a channel on a stream we cannot send on yet gets
				 * its ACK once we have added outgoing streams up to it. */
				acks_waiting[n_acks_waiting++] = sid;
				if (n_acks_waiting == 1) {
					send_waiting_acks(s);
				}
			}
		} else if (data[0] == DCEP_ACK) {
			if (acks_wanted) {
				if (++acks_seen == acks_wanted) {
					say("all-acked %u %.2f", acks_seen, elapsed_ms() - acks_since);
					acks_wanted = 0;
				}
			} else {
				say("dcep-ack %u", sid);
			}
		}
		return;
	}
	say("msg %u %u %c %zu %016llx", sid, ppid, unordered ? 'u' : 'o', len,
	    (unsigned long long)fnv1a(data, len));
}

/* A message being assembled from partial reads. With fragment interleave level 2
 * (I-DATA) parts of messages on different streams come interleaved, so each stream
 * assembles its own. */
struct partial {
	int used;
	uint16_t sid;
	size_t have;
	uint8_t *buf;
};

#define MAX_PARTIAL 64

/* Receives until the association ends: messages (assembled across partial reads) and
 * notifications. */
static void receive_loop(struct socket *s) {
	static struct partial parts[MAX_PARTIAL];
	static uint8_t chunk[65536];
	uint8_t *note = malloc(65536);
	size_t note_have = 0;
	for (;;) {
		struct sctp_rcvinfo info;
		socklen_t infolen = sizeof info;
		unsigned int infotype = 0;
		int flags = 0;
		struct sockaddr_storage from;
		socklen_t fromlen = sizeof from;
		ssize_t n = usrsctp_recvv(s, chunk, sizeof chunk, (struct sockaddr *)&from, &fromlen,
		                          &info, &infolen, &infotype, &flags);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				continue;
			}
			say("closed %s", strerror(errno));
			break;
		}
		if (n == 0) {
			say("closed eof %.1f", elapsed_ms());
			break;
		}
		if (flags & MSG_NOTIFICATION) {
			if (note_have + (size_t)n > 65536) {
				say("error notification too long");
				exit(1);
			}
			memcpy(note + note_have, chunk, (size_t)n);
			note_have += (size_t)n;
			if (flags & MSG_EOR) {
				on_notification(s, (const union sctp_notification *)note, note_have);
				note_have = 0;
			}
			continue;
		}
		if (infotype != SCTP_RECVV_RCVINFO) {
			say("error data without rcvinfo");
			exit(1);
		}
		struct partial *p = NULL, *free_slot = NULL;
		for (int i = 0; i < MAX_PARTIAL; i++) {
			if (parts[i].used && parts[i].sid == info.rcv_sid) {
				p = &parts[i];
				break;
			}
			if (!parts[i].used && !free_slot) {
				free_slot = &parts[i];
			}
		}
		if (!p) {
			if (!free_slot) {
				say("error over %d messages in parts", MAX_PARTIAL);
				exit(1);
			}
			p = free_slot;
			p->used = 1;
			p->sid = info.rcv_sid;
			p->have = 0;
			if (!p->buf) {
				p->buf = malloc(MAX_MESSAGE);
			}
		}
		if (p->have + (size_t)n > MAX_MESSAGE) {
			say("error message over %d bytes", MAX_MESSAGE);
			exit(1);
		}
		memcpy(p->buf + p->have, chunk, (size_t)n);
		p->have += (size_t)n;
		if (flags & MSG_EOR) {
			on_message(s, p->buf, p->have, &info);
			p->used = 0;
		}
	}
	free(note);
}

struct options {
	int client;
	int idata;
	uint16_t in_streams, out_streams;
	uint32_t buffer;
};

static struct options opt = {0, 0, 1024, 1024, 1 << 20};

static void configure(struct socket *s) {
	const int on = 1;
	if (usrsctp_setsockopt(s, IPPROTO_SCTP, SCTP_RECVRCVINFO, &on, sizeof on) < 0) {
		die("SCTP_RECVRCVINFO");
	}
	if (usrsctp_setsockopt(s, IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof on) < 0) {
		die("SCTP_NODELAY");
	}
	struct sctp_assoc_value av = {SCTP_FUTURE_ASSOC,
	                              SCTP_ENABLE_RESET_STREAM_REQ | SCTP_ENABLE_CHANGE_ASSOC_REQ};
	if (usrsctp_setsockopt(s, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, &av, sizeof av) < 0) {
		die("SCTP_ENABLE_STREAM_RESET");
	}
	struct sctp_initmsg init;
	memset(&init, 0, sizeof init);
	init.sinit_num_ostreams = opt.out_streams;
	init.sinit_max_instreams = opt.in_streams;
	if (usrsctp_setsockopt(s, IPPROTO_SCTP, SCTP_INITMSG, &init, sizeof init) < 0) {
		die("SCTP_INITMSG");
	}
	if (opt.idata) {
		int level = 2;
		if (usrsctp_setsockopt(s, IPPROTO_SCTP, SCTP_FRAGMENT_INTERLEAVE, &level, sizeof level) < 0) {
			die("SCTP_FRAGMENT_INTERLEAVE");
		}
		struct sctp_assoc_value iv = {SCTP_FUTURE_ASSOC, 1};
		if (usrsctp_setsockopt(s, IPPROTO_SCTP, SCTP_INTERLEAVING_SUPPORTED, &iv, sizeof iv) < 0) {
			die("SCTP_INTERLEAVING_SUPPORTED");
		}
	}
	int buffer = (int)opt.buffer;
	if (usrsctp_setsockopt(s, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer) < 0 ||
	    usrsctp_setsockopt(s, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer) < 0) {
		die("SO_RCVBUF/SO_SNDBUF");
	}
	static const uint16_t events[] = {SCTP_ASSOC_CHANGE, SCTP_SHUTDOWN_EVENT,
	                                  SCTP_STREAM_RESET_EVENT, SCTP_STREAM_CHANGE_EVENT,
	                                  SCTP_SEND_FAILED_EVENT};
	for (size_t i = 0; i < sizeof events / sizeof events[0]; i++) {
		struct sctp_event ev = {SCTP_FUTURE_ASSOC, events[i], 1};
		if (usrsctp_setsockopt(s, IPPROTO_SCTP, SCTP_EVENT, &ev, sizeof ev) < 0) {
			die("SCTP_EVENT");
		}
	}
	struct sockaddr_conn local;
	memset(&local, 0, sizeof local);
	local.sconn_family = AF_CONN;
	local.sconn_port = htons(SCTP_PORT);
	local.sconn_addr = &conn_handle;
	if (usrsctp_bind(s, (struct sockaddr *)&local, sizeof local) < 0) {
		die("usrsctp_bind");
	}
}

/* Sets up the association (connects, or accepts one), then receives on it. */
static void *association(void *arg) {
	(void)arg;
	struct socket *s = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, NULL, NULL, 0, NULL);
	if (!s) {
		die("usrsctp_socket");
	}
	configure(s);
	if (opt.client) {
		struct sockaddr_conn peer;
		memset(&peer, 0, sizeof peer);
		peer.sconn_family = AF_CONN;
		peer.sconn_port = htons(SCTP_PORT);
		peer.sconn_addr = &conn_handle;
		say("ready %u", ready_port);
		if (usrsctp_connect(s, (struct sockaddr *)&peer, sizeof peer) < 0) {
			die("usrsctp_connect");
		}
	} else {
		if (usrsctp_listen(s, 1) < 0) {
			die("usrsctp_listen");
		}
		/* Only now: an INIT that came before the listen would be answered with ABORT. */
		say("ready %u", ready_port);
		struct socket *a = usrsctp_accept(s, NULL, NULL);
		if (!a) {
			die("usrsctp_accept");
		}
		s = a;
	}
	pthread_mutex_lock(&up_lock);
	assoc_sock = s;
	pthread_cond_broadcast(&up_cond);
	pthread_mutex_unlock(&up_lock);
	receive_loop(s);
	return NULL;
}

static struct socket *wait_up(void) {
	pthread_mutex_lock(&up_lock);
	while (!assoc_sock) {
		pthread_cond_wait(&up_cond, &up_lock);
	}
	struct socket *s = assoc_sock;
	pthread_mutex_unlock(&up_lock);
	return s;
}

static void open_channel(struct socket *s, uint16_t sid, const char *label) {
	size_t ll = strlen(label);
	uint8_t msg[12 + 256];
	memset(msg, 0, 12);
	msg[0] = DCEP_OPEN;
	msg[1] = 0x00; /* DATA_CHANNEL_RELIABLE */
	msg[4] = 0x01; /* priority 256 */
	msg[8] = (uint8_t)(ll >> 8);
	msg[9] = (uint8_t)ll;
	memcpy(msg + 12, label, ll);
	if (send_message(s, sid, PPID_DCEP, 0, msg, 12 + ll) < 0) {
		say("error open: %s", strerror(errno));
	}
}

/* One command from the test; see README.md. */
static void command(char *line) {
	char verb[32];
	if (sscanf(line, "%31s", verb) != 1) {
		return;
	}
	struct socket *s = wait_up();
	if (!strcmp(verb, "send")) {
		/* send SID PPID o|u LEN COUNT [FIRST] */
		unsigned sid, ppid, count, first = 0;
		size_t len;
		char order;
		if (sscanf(line, "%*s %u %u %c %zu %u %u", &sid, &ppid, &order, &len, &count, &first) < 5 ||
		    len > MAX_MESSAGE) {
			say("error bad send");
			return;
		}
		uint8_t *buf = malloc(len ? len : 1);
		double start = elapsed_ms();
		for (unsigned i = 0; i < count; i++) {
			fill(buf, len, sid, first + i);
			if (send_message(s, (uint16_t)sid, ppid, order == 'u', buf, len) < 0) {
				say("error send: %s", strerror(errno));
				free(buf);
				return;
			}
		}
		free(buf);
		say("sent %u %u %.1f", sid, count, elapsed_ms() - start);
	} else if (!strcmp(verb, "open")) {
		/* open SID LABEL: DATA_CHANNEL_OPEN, reliable and ordered (RFC 8832 §5.1). */
		unsigned sid;
		char label[256];
		if (sscanf(line, "%*s %u %255s", &sid, label) != 2) {
			say("error bad open");
			return;
		}
		open_channel(s, (uint16_t)sid, label);
	} else if (!strcmp(verb, "open-many")) {
		/* open-many FIRST COUNT: channels FIRST, FIRST+2, ...; `all-acked` when every
		 * ACK is in, with the milliseconds since the first OPEN went. */
		unsigned first, count;
		if (sscanf(line, "%*s %u %u", &first, &count) != 2 || !count) {
			say("error bad open-many");
			return;
		}
		acks_seen = 0;
		acks_since = elapsed_ms();
		acks_wanted = count;
		for (unsigned i = 0; i < count; i++) {
			char label[16];
			snprintf(label, sizeof label, "c%u", i);
			open_channel(s, (uint16_t)(first + 2 * i), label);
		}
	} else if (!strcmp(verb, "reset")) {
		unsigned sid;
		if (sscanf(line, "%*s %u", &sid) != 1) {
			say("error bad reset");
			return;
		}
		reset_outgoing(s, (uint16_t)sid, 1);
	} else if (!strcmp(verb, "add")) {
		/* add IN OUT: request more streams (RFC 6525 §5.2.5/§5.2.6). */
		unsigned in, out;
		if (sscanf(line, "%*s %u %u", &in, &out) != 2) {
			say("error bad add");
			return;
		}
		struct sctp_add_streams as = {0, (uint16_t)in, (uint16_t)out};
		if (usrsctp_setsockopt(s, IPPROTO_SCTP, SCTP_ADD_STREAMS, &as, sizeof as) < 0) {
			say("error add: %s", strerror(errno));
		}
	} else if (!strcmp(verb, "shutdown")) {
		if (usrsctp_shutdown(s, SHUT_WR) < 0) {
			say("error shutdown: %s", strerror(errno));
		}
	} else if (!strcmp(verb, "abort")) {
		struct linger l = {1, 0};
		usrsctp_setsockopt(s, SOL_SOCKET, SO_LINGER, &l, sizeof l);
		usrsctp_close(s);
		say("aborted");
	} else if (!strcmp(verb, "status")) {
		struct sctp_status st;
		socklen_t len = sizeof st;
		memset(&st, 0, sizeof st);
		if (usrsctp_getsockopt(s, IPPROTO_SCTP, SCTP_STATUS, &st, &len) < 0) {
			say("error status: %s", strerror(errno));
			return;
		}
		say("status %d %u %u %u %u", st.sstat_state, st.sstat_instrms, st.sstat_outstrms,
		    st.sstat_unackdata, st.sstat_penddata);
	} else {
		say("error unknown command %s", verb);
	}
}

int main(int argc, char **argv) {
	const char *remote_arg = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--client")) {
			opt.client = 1;
		} else if (!strcmp(argv[i], "--idata")) {
			opt.idata = 1;
		} else if (!strcmp(argv[i], "--remote") && i + 1 < argc) {
			remote_arg = argv[++i];
		} else if (!strcmp(argv[i], "--streams") && i + 2 < argc) {
			opt.in_streams = (uint16_t)atoi(argv[++i]);
			opt.out_streams = (uint16_t)atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--buffer") && i + 1 < argc) {
			opt.buffer = (uint32_t)atoi(argv[++i]);
		} else {
			fprintf(stderr, "usage: peer --remote HOST:PORT [--client] [--idata] "
			                "[--streams IN OUT] [--buffer BYTES]\n");
			return 2;
		}
	}
	char host[64];
	unsigned port;
	if (!remote_arg || sscanf(remote_arg, "%63[^:]:%u", host, &port) != 2) {
		fprintf(stderr, "--remote HOST:PORT is required\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&remote, 0, sizeof remote);
	remote.sin_family = AF_INET;
	remote.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &remote.sin_addr) != 1) {
		fprintf(stderr, "bad host %s\n", host);
		return 2;
	}
	udp = socket(AF_INET, SOCK_DGRAM, 0);
	if (udp < 0) {
		die("socket");
	}
	int rcvbuf = 4 << 20;
	setsockopt(udp, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	struct sockaddr_in local;
	memset(&local, 0, sizeof local);
	local.sin_family = AF_INET;
	local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(udp, (struct sockaddr *)&local, sizeof local) < 0) {
		die("bind");
	}
	socklen_t ll = sizeof local;
	getsockname(udp, (struct sockaddr *)&local, &ll);

	/* Port 0: no UDP encapsulation; packets go through conn_output. Like Firefox, no
	 * ECN, AUTH or ASCONF over a connection-oriented lower layer. */
	usrsctp_init(0, conn_output, debug_printf);
	usrsctp_sysctl_set_sctp_ecn_enable(0);
	usrsctp_sysctl_set_sctp_auth_enable(0);
	usrsctp_sysctl_set_sctp_asconf_enable(0);
	usrsctp_register_address(&conn_handle);

	pthread_t reader, assoc;
	pthread_create(&reader, NULL, udp_reader, NULL);
	ready_port = ntohs(local.sin_port);
	pthread_create(&assoc, NULL, association, NULL);

	char line[1024];
	while (fgets(line, sizeof line, stdin)) {
		command(line);
	}
	/* The test closed our stdin: it is done with us. */
	_exit(0);
}
