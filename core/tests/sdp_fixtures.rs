//! The SDPs Chromium 156 and aiortc 1.16 exchanged (offers are Chromium's, answers
//! aiortc's; `core/tests/fixtures/sdp/chromium-156/`): every one parses, writes back byte
//! for byte, and the typed views read what is really there.

use std::path::Path;

use sansrtc::sdp::{
    Candidate, CandidateTransport, CandidateType, Direction, Extmap, Fingerprint, Fmtp, Group,
    HashFunction, IceOptions, IcePwd, IceUfrag, MaxMessageSize, MediaSection, Msid, RtcpFb, Rtpmap,
    SctpPort, SessionDescription, Setup, Ssrc, SsrcGroup, TcpType,
};

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sdp/chromium-156")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parse(name: &str) -> SessionDescription {
    SessionDescription::parse(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn all<T: sansrtc::sdp::AttributeValue>(m: &MediaSection) -> Vec<T> {
    m.typed::<T>()
        .collect::<Result<_, _>>()
        .expect("typed attributes parse")
}

/// Every browser's folder: the captured Chromium/aiortc exchange, and the offers and
/// answers Chromium and Firefox wrote themselves (`tests/tests/browsers.rs`,
/// `write_sdp_fixtures`).
#[test]
fn every_fixture_parses_and_writes_back_byte_for_byte() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sdp");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let names: Vec<String> = dirs
        .iter()
        .map(|d| d.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        [
            "chromium-156",
            "chromium-156.0.8078.129",
            "firefox-153.8.0esr"
        ]
        .iter()
        .all(|want| names.iter().any(|n| n == want)),
        "fixture folders missing: {names:?}"
    );
    let mut n = 0;
    for entry in dirs.iter().flat_map(|d| std::fs::read_dir(d).unwrap()) {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "sdp") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\r\n"), "{}: not CRLF", path.display());
        let sdp =
            SessionDescription::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(sdp.to_string(), text, "{}", path.display());
        let mut out = String::new();
        sdp.write_to(&mut out);
        assert_eq!(out, text);
        assert_eq!(sdp.lines().count(), text.lines().count());
        // Every attribute the module has a type for parses in every fixture.
        for m in sdp.media_sections() {
            for a in m.attributes() {
                let ok = match a.name {
                    "rtpmap" => a.parse::<Rtpmap>().map(drop),
                    "fmtp" => a.parse::<Fmtp>().map(drop),
                    "rtcp-fb" => a.parse::<RtcpFb>().map(drop),
                    "extmap" => a.parse::<Extmap>().map(drop),
                    "ssrc" => a.parse::<Ssrc>().map(drop),
                    "ssrc-group" => a.parse::<SsrcGroup>().map(drop),
                    "msid" => a.parse::<Msid>().map(drop),
                    "candidate" => a.parse::<Candidate>().map(drop),
                    "fingerprint" => a.parse::<Fingerprint>().map(drop),
                    "setup" => a.parse::<Setup>().map(drop),
                    "ice-ufrag" => a.parse::<IceUfrag>().map(drop),
                    "ice-pwd" => a.parse::<IcePwd>().map(drop),
                    "ice-options" => a.parse::<IceOptions>().map(drop),
                    "sctp-port" => a.parse::<SctpPort>().map(drop),
                    "max-message-size" => a.parse::<MaxMessageSize>().map(drop),
                    _ => Ok(()),
                };
                ok.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            }
        }
        n += 1;
    }
    assert_eq!(n, 16, "fixtures missing");
}

#[test]
fn chromium_media_offer_reads_as_captured() {
    let sdp = parse("media-offer.sdp");
    let o = sdp.origin().unwrap();
    assert_eq!(
        (o.username.as_str(), o.session_id, o.session_version),
        ("-", 8358890133004163262, 2)
    );
    assert_eq!(
        (o.nettype.as_str(), o.addrtype.as_str(), o.address.as_str()),
        ("IN", "IP4", "127.0.0.1")
    );
    assert_eq!(sdp.session_name(), Some("-"));
    assert_eq!(
        (sdp.timing().unwrap().start, sdp.timing().unwrap().stop),
        (0, 0)
    );
    assert!(sdp.extmap_allow_mixed());
    let bundle: Group = sdp.first().unwrap().unwrap();
    assert_eq!(bundle.semantics, "BUNDLE");
    let mids: Vec<&str> = sdp
        .media_sections()
        .iter()
        .map(|m| m.mid().unwrap())
        .collect();
    assert_eq!(bundle.mids, mids);
    assert_eq!(mids, ["0", "1"]);
    assert_eq!(
        sdp.attribute_value("msid-semantic"),
        Some(" WMS 7c3bd95b-4929-4b9d-b7a5-742b3e450efd")
    );

    let [audio, video] = sdp.media_sections() else {
        panic!("two media sections")
    };
    for (m, kind, port) in [(audio, "audio", 49004), (video, "video", 49414)] {
        let media = m.media();
        assert_eq!(
            (media.media.as_str(), media.port, media.proto.as_str()),
            (kind, port, "UDP/TLS/RTP/SAVPF")
        );
        let c = m.connection().unwrap();
        assert_eq!(c.ip(), Some("127.0.0.1".parse().unwrap()));
        assert_eq!(m.attribute_value("rtcp"), Some("9 IN IP4 0.0.0.0"));
        assert!(m.rtcp_mux() && m.rtcp_rsize());
        assert_eq!(m.direction(), Some(Direction::SendRecv));
        assert_eq!(m.first::<Setup>().unwrap().unwrap(), Setup::Actpass);
        assert_eq!(m.first::<IceUfrag>().unwrap().unwrap().0, "AtAs");
        assert_eq!(
            m.first::<IcePwd>().unwrap().unwrap().0,
            "i9NWu6tlaXSMNHcpEoyAPdzC"
        );
        assert!(
            m.first::<IceOptions>()
                .unwrap()
                .unwrap()
                .contains("trickle")
        );
        let fp: Fingerprint = m.first().unwrap().unwrap();
        assert_eq!(fp.hash_function, HashFunction::Sha256);
        assert_eq!(fp.bytes.len(), 32);
        assert_eq!((fp.bytes[0], fp.bytes[31]), (0x96, 0x18));
        assert_eq!(
            fp.to_string(),
            "sha-256 96:3C:9B:94:77:9C:08:30:27:31:0C:BB:30:D8:50:B5:B8:49:6E:F8:EF:29:3B:A4:F2:97:33:9E:DA:A4:B3:18"
        );

        // Four UDP and four TCP active candidates, IPv4 and IPv6, with Chromium's extensions.
        let cands: Vec<Candidate> = all(m);
        assert_eq!(cands.len(), 8);
        let udp: Vec<&Candidate> = cands
            .iter()
            .filter(|c| c.transport == CandidateTransport::Udp)
            .collect();
        let tcp: Vec<&Candidate> = cands
            .iter()
            .filter(|c| c.transport == CandidateTransport::Tcp)
            .collect();
        assert_eq!((udp.len(), tcp.len()), (4, 4));
        assert!(
            cands
                .iter()
                .all(|c| c.typ == CandidateType::Host && c.component == 1)
        );
        assert!(
            tcp.iter()
                .all(|c| c.port == 9 && c.tcp_type == Some(TcpType::Active))
        );
        assert!(udp.iter().all(|c| c.tcp_type.is_none()));
        let first = udp[0];
        assert_eq!(
            (first.foundation.as_str(), first.priority, first.port),
            ("1648709560", 2122194687, port)
        );
        assert_eq!(first.ip(), Some("127.0.0.1".parse().unwrap()));
        assert_eq!(first.extension("generation"), Some("0"));
        assert_eq!(first.extension("network-id"), Some("3"));
        assert_eq!(first.extension("network-cost"), Some("50"));
        assert!(
            cands
                .iter()
                .any(|c| c.ip() == Some("fd00::2".parse().unwrap()))
        );
        assert!(cands.iter().any(|c| c.ip() == Some("::1".parse().unwrap())));
        // Written back as Chromium wrote them.
        let raw: Vec<&str> = m.attribute_values("candidate").collect();
        for (c, raw) in cands.iter().zip(raw) {
            assert_eq!(c.to_string(), raw);
        }
    }

    // Audio: opus 48000/2 first, its fmtp, transport-cc, RED, the extmaps and the SSRC.
    assert_eq!(
        audio.media().formats,
        ["111", "63", "9", "0", "8", "13", "110", "126"]
    );
    assert_eq!(audio.mid(), Some("0"));
    let rtpmaps: Vec<Rtpmap> = all(audio);
    assert_eq!(rtpmaps.len(), 8);
    let opus = &rtpmaps[0];
    assert_eq!(
        (
            opus.payload_type,
            opus.encoding_name.as_str(),
            opus.clock_rate,
            opus.channels
        ),
        (111, "opus", 48000, Some(2))
    );
    assert_eq!(rtpmaps[2].to_string(), "9 G722/8000");
    assert_eq!(rtpmaps[2].channels, None);
    let fmtps: Vec<Fmtp> = all(audio);
    assert_eq!(fmtps[0].payload_type, 111);
    assert_eq!(fmtps[0].get("minptime"), Some("10"));
    assert_eq!(fmtps[0].get("useinbandfec"), Some("1"));
    assert_eq!(fmtps[0].to_string(), "111 minptime=10;useinbandfec=1");
    // RED's parameter has no '=': kept as a name alone.
    assert_eq!(fmtps[1].parameters[0].name, "111/111");
    assert_eq!(fmtps[1].parameters[0].value, None);
    assert_eq!(fmtps[1].to_string(), "63 111/111");
    let fb: Vec<RtcpFb> = all(audio);
    assert_eq!(fb.len(), 1);
    assert_eq!(
        (
            fb[0].payload_type,
            fb[0].feedback_type.as_str(),
            fb[0].parameter.as_deref()
        ),
        (Some(111), "transport-cc", None)
    );
    let ext: Vec<Extmap> = all(audio);
    let ext: Vec<(u8, &str)> = ext.iter().map(|e| (e.id, e.uri.as_str())).collect();
    assert_eq!(
        ext,
        [
            (1, "urn:ietf:params:rtp-hdrext:ssrc-audio-level"),
            (
                2,
                "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
            ),
            (
                3,
                "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
            ),
            (4, "urn:ietf:params:rtp-hdrext:sdes:mid"),
        ]
    );
    let msid: Msid = audio.first().unwrap().unwrap();
    assert_eq!(msid.stream_id, "7c3bd95b-4929-4b9d-b7a5-742b3e450efd");
    assert_eq!(
        msid.track_id.as_deref(),
        Some("a9890e01-4b9a-4996-bb64-2e0c853898cd")
    );
    let ssrcs: Vec<Ssrc> = all(audio);
    assert_eq!(ssrcs.len(), 2);
    assert_eq!(
        (
            ssrcs[0].ssrc,
            ssrcs[0].attribute.as_str(),
            ssrcs[0].value.as_deref()
        ),
        (764581140, "cname", Some("n7JJtnAawRo2x7wp"))
    );
    assert_eq!(ssrcs[1].attribute, "msid");
    assert!(audio.first::<SsrcGroup>().is_none());
    assert_eq!(audio.attribute_value("rtcp-xr"), Some("rcvr-rtt=all"));

    // Video: VP8 with its feedback, rtx by apt, H.264 fmtp, the FID group, extmap ids to 14.
    assert_eq!(video.mid(), Some("1"));
    assert_eq!(video.media().formats.len(), 23);
    let rtpmaps: Vec<Rtpmap> = all(video);
    assert_eq!(rtpmaps.len(), 23);
    assert_eq!(rtpmaps[0].to_string(), "96 VP8/90000");
    let fb: Vec<RtcpFb> = all(video);
    let vp8: Vec<String> = fb
        .iter()
        .filter(|f| f.payload_type == Some(96))
        .map(|f| f.to_string())
        .collect();
    assert_eq!(
        vp8,
        [
            "96 goog-remb",
            "96 transport-cc",
            "96 ccm fir",
            "96 nack",
            "96 nack pli"
        ]
    );
    assert_eq!(
        fb.iter()
            .find(|f| f.feedback_type == "nack" && f.parameter.is_some())
            .unwrap()
            .parameter
            .as_deref(),
        Some("pli")
    );
    let fmtps: Vec<Fmtp> = all(video);
    let rtx = fmtps.iter().find(|f| f.payload_type == 97).unwrap();
    assert_eq!(rtx.get("apt"), Some("96"));
    let h264 = fmtps.iter().find(|f| f.payload_type == 102).unwrap();
    let names: Vec<&str> = h264.parameters.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "level-asymmetry-allowed",
            "packetization-mode",
            "profile-level-id"
        ]
    );
    assert_eq!(h264.get("profile-level-id"), Some("42001f"));
    let ext: Vec<Extmap> = all(video);
    assert_eq!(ext.len(), 11);
    assert_eq!(
        (ext[0].id, ext[0].uri.as_str()),
        (14, "urn:ietf:params:rtp-hdrext:toffset")
    );
    assert!(
        ext.iter()
            .all(|e| e.is_one_byte() && e.direction.is_none() && e.attributes.is_none())
    );
    assert!(
        ext.iter()
            .any(|e| e.uri == "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id")
    );
    let fid: SsrcGroup = video.first().unwrap().unwrap();
    assert_eq!(
        (fid.semantics.as_str(), fid.ssrcs.as_slice()),
        ("FID", &[3407779086, 723125555][..])
    );
    let ssrcs: Vec<Ssrc> = all(video);
    assert_eq!(ssrcs.len(), 4);
    assert!(ssrcs.iter().all(|s| fid.ssrcs.contains(&s.ssrc)));
}

#[test]
fn chromium_data_offer_reads_as_captured() {
    for name in [
        "data-offer.sdp",
        "data-dtls-client-offer.sdp",
        "data-hvr-offer.sdp",
    ] {
        let sdp = parse(name);
        let group: Group = sdp.first().unwrap().unwrap();
        assert_eq!(
            (group.semantics.as_str(), group.mids.as_slice()),
            ("BUNDLE", &["0".to_owned()][..])
        );
        assert!(sdp.extmap_allow_mixed());
        let [m] = sdp.media_sections() else {
            panic!("{name}: one section")
        };
        let media = m.media();
        assert_eq!(
            (
                media.media.as_str(),
                media.proto.as_str(),
                media.formats.as_slice()
            ),
            (
                "application",
                "UDP/DTLS/SCTP",
                &["webrtc-datachannel".to_owned()][..]
            )
        );
        assert_eq!(m.mid(), Some("0"));
        assert_eq!(m.first::<SctpPort>().unwrap().unwrap(), SctpPort(5000));
        assert_eq!(
            m.first::<MaxMessageSize>().unwrap().unwrap(),
            MaxMessageSize(262144)
        );
        assert_eq!(m.first::<Setup>().unwrap().unwrap(), Setup::Actpass);
        let cands: Vec<Candidate> = all(m);
        assert_eq!(cands.len(), 8);
        assert_eq!(
            cands
                .iter()
                .filter(|c| c.transport == CandidateTransport::Tcp)
                .count(),
            4
        );
        assert!(!m.rtcp_mux() && m.direction().is_none());
        let fp: Fingerprint = m.first().unwrap().unwrap();
        assert_eq!(
            (fp.hash_function, fp.bytes.len()),
            (HashFunction::Sha256, 32)
        );
    }
}

#[test]
fn aiortc_answers_read_as_captured() {
    let sdp = parse("data-answer.sdp");
    let o = sdp.origin().unwrap();
    assert_eq!(
        (o.session_id, o.session_version, o.address.as_str()),
        (4004715888, 4004715888, "0.0.0.0")
    );
    let [m] = sdp.media_sections() else {
        panic!("one section")
    };
    assert_eq!(m.first::<Setup>().unwrap().unwrap(), Setup::Active);
    assert!(m.end_of_candidates());
    // aiortc lists three fingerprints, one per hash function.
    let fps: Vec<Fingerprint> = all(m);
    let kinds: Vec<(HashFunction, usize)> = fps
        .iter()
        .map(|f| (f.hash_function, f.bytes.len()))
        .collect();
    assert_eq!(
        kinds,
        [
            (HashFunction::Sha256, 32),
            (HashFunction::Sha384, 48),
            (HashFunction::Sha512, 64)
        ]
    );
    let c: Candidate = m.first().unwrap().unwrap();
    assert_eq!(c.foundation, "16572de626da4e5384a0ce2d0d93678a");
    assert_eq!(
        (c.priority, c.port, c.extensions.len()),
        (2130706431, 34074, 0)
    );

    let sdp = parse("media-answer.sdp");
    let [audio, video] = sdp.media_sections() else {
        panic!("two sections")
    };
    assert_eq!(audio.media().port, video.media().port);
    assert_eq!(
        audio.first::<Rtpmap>().unwrap().unwrap().to_string(),
        "111 opus/48000/2"
    );
    let fid: SsrcGroup = video.first().unwrap().unwrap();
    assert_eq!(fid.ssrcs, [616400897, 1275947104]);
}
