// Helpers the browser interop tests evaluate in a headless page (tests/src/browser.rs).
// Everything hangs off window.T; each function returns a promise of plain JSON.
window.T = {
  // Two RTCPeerConnections in this page, one data channel: the browser-to-browser
  // reference for connect time and bulk rate, measured the same way as against us.
  async selfLoop(bytes, chunk) {
    const t0 = performance.now();
    const a = new RTCPeerConnection(), b = new RTCPeerConnection();
    a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
    b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
    const dc = a.createDataChannel('bulk');
    dc.binaryType = 'arraybuffer';
    const incoming = new Promise((r) => { b.ondatachannel = (e) => r(e.channel); });
    await a.setLocalDescription();
    await b.setRemoteDescription(a.localDescription);
    await b.setLocalDescription();
    await a.setRemoteDescription(b.localDescription);
    const rc = await incoming;
    rc.binaryType = 'arraybuffer';
    const first = new Promise((r) => { rc.onmessage = () => r(); });
    if (dc.readyState !== 'open') await new Promise((r) => { dc.onopen = r; });
    dc.send('hello');
    await first;
    const connectMs = performance.now() - t0;
    const rate = await T.bulk(dc, rc, bytes, chunk);
    const stats = await T.transportStats(a);
    a.close();
    b.close();
    return { connectMs, mbit: rate, ...stats };
  },

  // Sends `bytes` in `chunk`-byte messages on `tx`, keeping at most 4 MiB queued;
  // resolves with the rate in Mbit/s once `rx` has them all.
  async bulk(tx, rx, bytes, chunk) {
    let received = 0;
    const done = new Promise((r) => {
      rx.onmessage = (e) => {
        received += e.data.byteLength;
        if (received >= bytes) r();
      };
    });
    const buf = new Uint8Array(chunk);
    tx.bufferedAmountLowThreshold = 1 << 20;
    const t = performance.now();
    for (let sent = 0; sent < bytes; sent += chunk) {
      if (tx.bufferedAmount > 4 << 20) {
        await new Promise((r) => { tx.onbufferedamountlow = r; });
      }
      tx.send(buf);
    }
    await done;
    return (bytes * 8) / ((performance.now() - t) / 1000) / 1e6;
  },

  // The negotiated DTLS version and cipher suite, from getStats.
  async transportStats(pc) {
    const out = {};
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'transport') {
        out.tlsVersion = s.tlsVersion;
        out.dtlsCipher = s.dtlsCipher;
        out.srtpCipher = s.srtpCipher;
      }
    });
    return out;
  },
};
true;

// Offers and answers as the browser writes them (for the SDP fixtures): data only, and
// audio + video + data; each after gathering, so they hold the candidates.
T.descriptions = async function () {
  const gathered = (pc) => new Promise((r) => {
    if (pc.iceGatheringState === 'complete') r();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r();
  });
  const out = {};
  for (const media of [false, true]) {
    const a = new RTCPeerConnection(), b = new RTCPeerConnection();
    if (media) {
      a.addTransceiver('audio');
      a.addTransceiver('video');
    }
    a.createDataChannel('chat');
    await a.setLocalDescription();
    await gathered(a);
    await b.setRemoteDescription(a.localDescription);
    await b.setLocalDescription();
    await gathered(b);
    const name = media ? 'media' : 'data';
    out[name + '-offer'] = a.localDescription.sdp;
    out[name + '-answer'] = b.localDescription.sdp;
    a.close();
    b.close();
  }
  return out;
};

// One RTCPeerConnection facing one of ours, its SDP carried through these calls.
// Non-trickle: every description is returned after gathering, as aiortc expects.
T.gathered = (pc) => new Promise((r) => {
  if (pc.iceGatheringState === 'complete') r();
  pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && r());
});
T.watch = function (ch) {
  T.chan = ch;
  ch.binaryType = 'arraybuffer';
  T.messages = T.messages || [];
  ch.onmessage = (e) => T.messages.push(typeof e.data === 'string' ? e.data : { bytes: e.data.byteLength });
  T.opened = new Promise((r) => { if (ch.readyState === 'open') r(); else ch.onopen = () => r(); });
};
T.offer = async function () {
  T.t0 = performance.now();
  const pc = (T.pc = new RTCPeerConnection());
  T.watch(pc.createDataChannel('chat'));
  await pc.setLocalDescription();
  await T.gathered(pc);
  return pc.localDescription.toJSON();
};
T.acceptAnswer = async function (answer) {
  await T.pc.setRemoteDescription(answer);
  return true;
};
T.answer = async function (offer) {
  T.t0 = performance.now();
  const pc = (T.pc = new RTCPeerConnection());
  const got = new Promise((r) => { pc.ondatachannel = (e) => { T.watch(e.channel); r(); }; });
  T.channelArrived = got;
  await pc.setRemoteDescription(offer);
  await pc.setLocalDescription();
  await T.gathered(pc);
  return pc.localDescription.toJSON();
};
// Resolves with the time since the first description call once `n` messages are in.
T.waitMessages = async function (n) {
  if (T.channelArrived) await T.channelArrived;
  while ((T.messages || []).length < n) await new Promise((r) => setTimeout(r, 2));
  return { ms: performance.now() - T.t0, messages: T.messages };
};
T.sendText = async function (text) {
  if (T.channelArrived) await T.channelArrived;
  await T.opened;
  T.chan.send(text);
  return true;
};
T.pcStats = async () => ({ ...(await T.transportStats(T.pc)), state: T.pc.connectionState });
// Binary (n bytes of i & 255), an empty string and an empty ArrayBuffer, in that order.
T.sendVarious = async function (n) {
  await T.opened;
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = i & 255;
  T.chan.send(b);
  T.chan.send('');
  T.chan.send(new ArrayBuffer(0));
  return true;
};
// Resolves once our channel is closed (by the peer's reset), with the time it took.
T.waitClosed = async function () {
  const t = performance.now();
  while (T.chan.readyState !== 'closed') await new Promise((r) => setTimeout(r, 2));
  return performance.now() - t;
};
