use proptest::prelude::*;

use super::*;

const MINIMAL: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";

fn err(text: &str) -> SdpError {
    SessionDescription::parse(text).expect_err("must not parse")
}

fn with_session(extra: &str) -> String {
    format!("{MINIMAL}{extra}")
}

#[test]
fn minimal_description_round_trips() {
    let sdp = SessionDescription::parse(MINIMAL).unwrap();
    assert_eq!(sdp.to_string(), MINIMAL);
    assert!(sdp.media_sections().is_empty());
    assert_eq!(sdp.origin().unwrap().session_version, 2);
    assert_eq!(sdp.timing().unwrap(), Timing { start: 0, stop: 0 });
}

#[test]
fn lf_input_is_accepted_and_written_with_crlf() {
    let lf = MINIMAL.replace("\r\n", "\n") + "m=audio 9 RTP/AVP 0\na=rtcp-mux\n";
    let sdp = SessionDescription::parse(&lf).unwrap();
    assert_eq!(sdp.to_string(), lf.replace('\n', "\r\n"));
    // Mixed line ends, and a last line with none.
    let mixed = "v=0\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\nt=0 0\r\na=ice-lite";
    let sdp = SessionDescription::parse(mixed).unwrap();
    assert!(sdp.ice_lite());
    assert_eq!(sdp.to_string(), format!("{MINIMAL}a=ice-lite\r\n"));
    // Blank lines at the very end are not lines.
    let sdp = SessionDescription::parse(&format!("{MINIMAL}\r\n\r\n")).unwrap();
    assert_eq!(sdp.to_string(), MINIMAL);
}

#[test]
fn unknown_lines_and_attributes_survive_in_order() {
    let text = with_session(
        "i=session info\r\nu=http://example.com\r\ne=a@b.c\r\nz=0 -1h\r\nk=prompt\r\nx=not-a-known-type\r\n\
         a=x-foo\r\na=x-bar:1 2  3\r\na=\r\na=:\r\n\
         m=video 0 RTP/AVP 96\r\ni=media info\r\nb=AS:512\r\nb=TIAS:512000\r\na=x-foo:bar\r\nY=upper case type\r\n",
    );
    let sdp = SessionDescription::parse(&text).unwrap();
    assert_eq!(sdp.to_string(), text);
    let names: Vec<(&str, Option<&str>)> = sdp.attributes().map(|a| (a.name, a.value)).collect();
    assert_eq!(
        names,
        [
            ("x-foo", None),
            ("x-bar", Some("1 2  3")),
            ("", None),
            ("", Some(""))
        ]
    );
    let m = &sdp.media_sections()[0];
    let bw: Vec<Bandwidth> = m.bandwidths().collect::<Result<_, _>>().unwrap();
    assert_eq!(
        bw,
        [
            Bandwidth {
                bwtype: "AS".into(),
                bandwidth: 512
            },
            Bandwidth {
                bwtype: "TIAS".into(),
                bandwidth: 512_000
            }
        ]
    );
    assert_eq!(m.attribute_value("x-foo"), Some("bar"));
    assert_eq!(m.lines().last().unwrap().kind(), 'Y');
    assert_eq!(m.lines().nth(5).unwrap().number(), Some(20));
}

#[test]
fn error_kinds_name_the_line_and_the_problem() {
    let e = err(&with_session("m=audio x9 RTP/AVP 0\r\n"));
    assert_eq!(e.line, Some(5));
    assert_eq!(
        e.to_string(),
        r#"line 5: m= line: port "x9" is not a number"#
    );

    let cases: Vec<(String, Option<usize>, SdpErrorKind)> = vec![
        ("".into(), Some(1), SdpErrorKind::NotVersionZero),
        ("v=1\r\n".into(), Some(1), SdpErrorKind::NotVersionZero),
        (
            "o=- 1 2 IN IP4 0.0.0.0\r\nv=0\r\n".into(),
            Some(1),
            SdpErrorKind::NotVersionZero,
        ),
        (with_session("a b\r\n"), Some(5), SdpErrorKind::Malformed),
        (
            with_session("\r\nm=audio 9 RTP/AVP 0\r\n"),
            Some(5),
            SdpErrorKind::Malformed,
        ),
        (with_session("1=x\r\n"), Some(5), SdpErrorKind::Malformed),
        (with_session("=x\r\n"), Some(5), SdpErrorKind::Malformed),
        (
            with_session("a=x\0y\r\n"),
            Some(5),
            SdpErrorKind::ForbiddenCharacter('\0'),
        ),
        (
            with_session("a=x\r\ry\r\n"),
            Some(5),
            SdpErrorKind::ForbiddenCharacter('\r'),
        ),
        (
            "v=0\r\ns=-\r\nt=0 0\r\n".into(),
            None,
            SdpErrorKind::MissingLine('o'),
        ),
        (
            "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\nt=0 0\r\n".into(),
            None,
            SdpErrorKind::MissingLine('s'),
        ),
        // Lenient about order, strict about presence: t= only inside a media section.
        (
            "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nm=audio 9 RTP/AVP 0\r\nt=0 0\r\n".into(),
            None,
            SdpErrorKind::MissingLine('t'),
        ),
        (
            with_session("m=audio 9 RTP/AVP\r\n"),
            Some(5),
            SdpErrorKind::MissingField {
                context: Context::Line('m'),
                field: "fmt",
            },
        ),
        (
            with_session("m=audio\r\n"),
            Some(5),
            SdpErrorKind::MissingField {
                context: Context::Line('m'),
                field: "port",
            },
        ),
        (
            with_session("m=audio 70000 RTP/AVP 0\r\n"),
            Some(5),
            SdpErrorKind::InvalidField {
                context: Context::Line('m'),
                field: "port",
                value: "70000".into(),
                problem: Problem::OutOfRange { min: 0, max: 65535 },
            },
        ),
        (
            with_session("m=audio 9/0 RTP/AVP 0\r\n"),
            Some(5),
            SdpErrorKind::InvalidField {
                context: Context::Line('m'),
                field: "number of ports",
                value: "0".into(),
                problem: Problem::OutOfRange { min: 1, max: 65535 },
            },
        ),
        (
            with_session("c=IN IP5 1.2.3.4\r\n"),
            Some(5),
            SdpErrorKind::InvalidField {
                context: Context::Line('c'),
                field: "addrtype",
                value: "IP5".into(),
                problem: Problem::NotOneOf(&["IP4", "IP6"]),
            },
        ),
        (
            with_session("m=audio 9 RTP/AVP 0\r\nc=ATM NSAP x\r\n"),
            Some(6),
            SdpErrorKind::InvalidField {
                context: Context::Line('c'),
                field: "nettype",
                value: "ATM".into(),
                problem: Problem::NotOneOf(&["IN"]),
            },
        ),
        (
            with_session("c=IN IP4\r\n"),
            Some(5),
            SdpErrorKind::MissingField {
                context: Context::Line('c'),
                field: "connection-address",
            },
        ),
        (
            with_session("c=IN IP4 1.2.3.4 x\r\n"),
            Some(5),
            SdpErrorKind::TrailingField {
                context: Context::Line('c'),
                value: "x".into(),
            },
        ),
    ];
    for (text, line, kind) in cases {
        let e = err(&text);
        assert_eq!((e.line, &e.kind), (line, &kind), "{text:?}: {e}");
        assert!(!e.to_string().is_empty());
    }
    assert_eq!(err("").to_string(), "line 1: the first line must be v=0");
    assert_eq!(
        err("v=0\r\ns=-\r\nt=0 0\r\n").to_string(),
        "the session description has no o= line"
    );
}

#[test]
fn hostile_sizes_are_refused() {
    let big = with_session(&format!("a=x:{}\r\n", "y".repeat(MAX_BYTES)));
    assert_eq!(err(&big).kind, SdpErrorKind::TooLarge(big.len()));

    let many_lines = with_session(&"a=x\r\n".repeat(MAX_LINES));
    let e = err(&many_lines);
    assert_eq!(
        (e.line, e.kind),
        (Some(MAX_LINES + 1), SdpErrorKind::TooManyLines)
    );
    // Exactly at the limit is fine.
    let at_limit = with_session(&"a=x\r\n".repeat(MAX_LINES - 4));
    assert!(SessionDescription::parse(&at_limit).is_ok());

    let many_media = with_session(&"m=audio 9 RTP/AVP 0\r\n".repeat(MAX_MEDIA_SECTIONS + 1));
    let e = err(&many_media);
    assert_eq!(
        (e.line, e.kind),
        (
            Some(MAX_MEDIA_SECTIONS + 5),
            SdpErrorKind::TooManyMediaSections
        )
    );

    // A megabyte-long field is quoted cut short in the message.
    let long_port = with_session(&format!("m=audio {} RTP/AVP 0\r\n", "x".repeat(100_000)));
    assert!(err(&long_port).to_string().len() < 200);
}

#[test]
fn typed_errors_name_the_attribute_and_line() {
    let text = with_session(
        "m=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/abc\r\na=fingerprint:sha-256 AB:CD\r\na=setup:maybe\r\na=extmap:0 urn:x\r\na=rtcp-mux\r\n",
    );
    let sdp = SessionDescription::parse(&text).unwrap();
    let m = &sdp.media_sections()[0];
    assert_eq!(
        m.first::<Rtpmap>().unwrap().unwrap_err().to_string(),
        r#"line 6: a=rtpmap: clock rate "abc" is not a number"#
    );
    assert_eq!(
        m.first::<Fingerprint>().unwrap().unwrap_err().to_string(),
        r#"line 7: a=fingerprint: fingerprint "AB:CD" has 2 bytes, 32 expected"#
    );
    assert_eq!(
        m.first::<Setup>().unwrap().unwrap_err().to_string(),
        r#"line 8: a=setup: role "maybe" is not one of actpass, active, passive, holdconn"#
    );
    assert_eq!(
        m.first::<Extmap>().unwrap().unwrap_err().to_string(),
        r#"line 9: a=extmap: id "0" is not in 1..=255"#
    );
    // A property attribute parsed as a typed value has no value to parse.
    let flag = m.attribute("rtcp-mux").unwrap();
    assert_eq!(
        flag.parse::<MaxMessageSize>().unwrap_err().to_string(),
        "line 10: a=max-message-size: value is missing"
    );
}

/// Parses `value` as `T`, then checks it writes back to `written` and parses back equal.
fn typed<T: AttributeValue + PartialEq + fmt::Debug>(value: &str, written: &str) -> T {
    let v = T::parse_value(value).unwrap_or_else(|e| panic!("{value:?}: {e}"));
    assert_eq!(v.to_string(), written);
    assert_eq!(T::parse_value(written).unwrap(), v);
    v
}

fn typed_err<T: AttributeValue + fmt::Debug>(value: &str) -> SdpErrorKind {
    T::parse_value(value).expect_err(value).kind
}

#[test]
fn rtpmap_fmtp_rtcp_fb() {
    let r: Rtpmap = typed("111 opus/48000/2", "111 opus/48000/2");
    assert_eq!(
        (r.payload_type, r.clock_rate, r.channels),
        (111, 48000, Some(2))
    );
    typed::<Rtpmap>("96  VP8/90000 ", "96 VP8/90000");
    for bad in [
        "128 x/1",
        "1",
        "1 /8000",
        "1 x",
        "1 x/8000/2/3",
        "1 x/8000 y",
        "a x/1",
    ] {
        typed_err::<Rtpmap>(bad);
    }

    let f: Fmtp = typed(
        "102 level-asymmetry-allowed=1; packetization-mode=1;profile-level-id=42001f",
        "102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f",
    );
    assert_eq!(f.get("PACKETIZATION-MODE"), Some("1"));
    let f: Fmtp = typed("101 0-15", "101 0-15");
    assert_eq!(
        f.parameters,
        [Parameter {
            name: "0-15".into(),
            value: None
        }]
    );
    let f: Fmtp = typed("100 a=;b=c=d", "100 a=;b=c=d");
    assert_eq!(f.parameters[1], Parameter::new("b", "c=d"));
    typed::<Fmtp>("100", "100");
    assert!(matches!(
        typed_err::<Fmtp>("x apt=1"),
        SdpErrorKind::InvalidField {
            problem: Problem::NotANumber,
            ..
        }
    ));

    let fb: RtcpFb = typed("* nack", "* nack");
    assert_eq!(fb.payload_type, None);
    let fb: RtcpFb = typed("96 ccm tmmbr smaxpr=120", "96 ccm tmmbr smaxpr=120");
    assert_eq!(fb.parameter.as_deref(), Some("tmmbr smaxpr=120"));
    typed::<RtcpFb>("96 trr-int 100", "96 trr-int 100");
    typed_err::<RtcpFb>("96");
    typed_err::<RtcpFb>("200 nack");
}

#[test]
fn extmap_ssrc_msid() {
    let e: Extmap = typed(
        "3/sendonly urn:x attr1 attr2",
        "3/sendonly urn:x attr1 attr2",
    );
    assert_eq!(
        (e.id, e.direction, e.attributes.as_deref()),
        (3, Some(Direction::SendOnly), Some("attr1 attr2"))
    );
    assert!(e.is_one_byte());
    let e: Extmap = typed("255 urn:y", "255 urn:y");
    assert!(!e.is_one_byte());
    assert!(!typed::<Extmap>("15 urn:y", "15 urn:y").is_one_byte());
    for bad in ["0 urn:x", "256 urn:x", "1/sideways urn:x", "1", "x urn:x"] {
        typed_err::<Extmap>(bad);
    }

    let s: Ssrc = typed("1 msid:stream track", "1 msid:stream track");
    assert_eq!(
        (s.attribute.as_str(), s.value.as_deref()),
        ("msid", Some("stream track"))
    );
    let s: Ssrc = typed("4294967295 x-flag", "4294967295 x-flag");
    assert_eq!(s.value, None);
    for bad in ["4294967296 cname:x", "1", "1 :x", "-1 cname:x"] {
        typed_err::<Ssrc>(bad);
    }
    let g: SsrcGroup = typed("FID 1 2", "FID 1 2");
    assert_eq!(g.ssrcs, [1, 2]);
    typed_err::<SsrcGroup>("FID 1 x");
    typed_err::<SsrcGroup>("");

    let m: Msid = typed("- track", "- track");
    assert_eq!(m.stream_id, "-");
    typed::<Msid>("stream", "stream");
    typed_err::<Msid>("a b c");
}

#[test]
fn rid_and_simulcast() {
    let r: Rid = typed(
        "hi send pt=96,97;max-width=1280",
        "hi send pt=96,97;max-width=1280",
    );
    assert_eq!((r.direction, r.restrictions.len()), (RidDirection::Send, 2));
    typed::<Rid>("lo recv", "lo recv");
    typed_err::<Rid>("lo both");
    typed_err::<Rid>("l.o send");

    let s: Simulcast = typed("send h;~m,l recv r", "send h;~m,l recv r");
    assert_eq!(s.send.len(), 2);
    assert_eq!(
        s.send[1],
        [
            SimulcastRid {
                id: "m".into(),
                paused: true
            },
            SimulcastRid {
                id: "l".into(),
                paused: false
            }
        ]
    );
    assert_eq!(s.recv[0][0].id, "r");
    // Written send first, whatever the order given.
    typed::<Simulcast>("recv a send b", "send b recv a");
    for bad in [
        "",
        "send",
        "send a send b",
        "both a",
        "send a;;b",
        "send ~",
        "send a b",
    ] {
        typed_err::<Simulcast>(bad);
    }
}

#[test]
fn candidates() {
    let c: Candidate = typed(
        "842163049 1 UDP 1677729535 203.0.113.7 46154 typ srflx raddr 10.0.0.2 rport 46154 generation 0 ufrag EsAw",
        "842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx raddr 10.0.0.2 rport 46154 generation 0 ufrag EsAw",
    );
    assert_eq!(
        (c.typ, c.related_port, c.extension("ufrag")),
        (CandidateType::Srflx, Some(46154), Some("EsAw"))
    );
    assert_eq!(c.related_address.as_deref(), Some("10.0.0.2"));
    // An mDNS name in place of the address (RFC 8839 §5.1, draft-ietf-mmusic-mdns-ice-candidates).
    let c: Candidate = typed(
        "1 1 udp 2122260223 6f1d8c5e-9c1c-4b7a-9f2b-3b1c5d0e7a11.local 54321 typ host",
        "1 1 udp 2122260223 6f1d8c5e-9c1c-4b7a-9f2b-3b1c5d0e7a11.local 54321 typ host",
    );
    assert_eq!(c.ip(), None);
    let c: Candidate = typed(
        "a+/b 2 TcP 5 ::1 9 typ HOST tcptype so",
        "a+/b 2 tcp 5 ::1 9 typ host tcptype so",
    );
    assert_eq!(
        (c.transport, c.tcp_type, c.component),
        (CandidateTransport::Tcp, Some(TcpType::So), 2)
    );
    typed::<Candidate>(
        "1 1 udp 1 1.2.3.4 5 typ relay raddr 0.0.0.0 rport 0",
        "1 1 udp 1 1.2.3.4 5 typ relay raddr 0.0.0.0 rport 0",
    );
    typed::<Candidate>(
        "1 1 udp 1 1.2.3.4 5 typ prflx",
        "1 1 udp 1 1.2.3.4 5 typ prflx",
    );
    for bad in [
        "1 1 udp",
        "1 1 sctp 1 1.2.3.4 5 typ host",
        "1 0 udp 1 1.2.3.4 5 typ host",
        "1 257 udp 1 1.2.3.4 5 typ host",
        "1 1 udp x 1.2.3.4 5 typ host",
        "1 1 udp 0 1.2.3.4 5 typ host",
        "1 1 udp 1 1.2.3.4 99999 typ host",
        "1 1 udp 1 1.2.3.4 5 type host",
        "1 1 udp 1 1.2.3.4 5 typ bogus",
        "1 1 udp 1 1.2.3.4 5 typ host raddr",
        "1 1 udp 1 1.2.3.4 5 typ host rport x",
        "1 1 udp 1 1.2.3.4 5 typ host tcptype sideways",
        "1 1 udp 1 1.2.3.4 5 typ host raddr a raddr b",
        "f.o 1 udp 1 1.2.3.4 5 typ host",
        "123456789012345678901234567890123 1 udp 1 1.2.3.4 5 typ host",
    ] {
        typed_err::<Candidate>(bad);
    }
}

#[test]
fn fingerprints() {
    for h in HashFunction::ALL {
        let hex: Vec<String> = (0..h.digest_len()).map(|i| format!("{i:02x}")).collect();
        let value = format!("{} {}", h.as_str().to_uppercase(), hex.join(":"));
        let f: Fingerprint = typed(
            &value,
            &format!("{} {}", h.as_str(), hex.join(":").to_uppercase()),
        );
        assert_eq!(f.hash_function, h);
        assert_eq!(f.bytes.len(), h.digest_len());
        // One byte short and one too many.
        let short = format!("{} {}", h.as_str(), hex[1..].join(":"));
        assert_eq!(
            typed_err::<Fingerprint>(&short),
            SdpErrorKind::InvalidField {
                context: Context::Attribute("fingerprint"),
                field: "fingerprint",
                value: error::quote(&hex[1..].join(":")),
                problem: Problem::ByteCount {
                    found: h.digest_len() - 1,
                    expected: h.digest_len()
                },
            }
        );
        let long = format!("{value}:00");
        assert!(matches!(
            typed_err::<Fingerprint>(&long),
            SdpErrorKind::InvalidField {
                problem: Problem::ByteCount { .. },
                ..
            }
        ));
    }
    for bad in [
        "sha-256",
        "sha-3 00",
        "sha-1 0g:00",
        "sha-1 000:00",
        "sha-1 :",
        "sha-1 00 00",
        "md5 0:00",
    ] {
        typed_err::<Fingerprint>(bad);
    }
}

#[test]
fn ice_dtls_bundle_sctp_values() {
    assert_eq!(typed::<Setup>("actpass", "actpass"), Setup::Actpass);
    assert_eq!(typed::<Setup>("holdconn", "holdconn"), Setup::Holdconn);
    typed_err::<Setup>("ACTIVE");
    assert_eq!(typed::<IceUfrag>("AtAs", "AtAs").0, "AtAs");
    for bad in ["abc", "ab-cd", "a b c d"] {
        typed_err::<IceUfrag>(bad);
    }
    typed::<IcePwd>("q8Zg8C+d//82ky8w/U19HZ5R", "q8Zg8C+d//82ky8w/U19HZ5R");
    typed_err::<IcePwd>("tooshort");
    let o: IceOptions = typed("trickle  renomination", "trickle renomination");
    assert!(o.contains("renomination") && !o.contains("ice2"));
    typed_err::<IceOptions>(" ");
    let g: Group = typed("BUNDLE 0 1 data", "BUNDLE 0 1 data");
    assert_eq!(g.mids, ["0", "1", "data"]);
    typed::<Group>("LS", "LS");
    assert_eq!(typed::<Mid>("audio", "audio").0, "audio");
    typed_err::<Mid>("a b");
    assert_eq!(typed::<SctpPort>("5000", "5000"), SctpPort(5000));
    typed_err::<SctpPort>("65536");
    assert_eq!(typed::<MaxMessageSize>("0", "0"), MaxMessageSize(0));
    assert_eq!(
        typed::<MaxMessageSize>("1073741823", "1073741823"),
        MaxMessageSize(1073741823)
    );
    let s: Sctpmap = typed(
        "5000 webrtc-datachannel 1024",
        "5000 webrtc-datachannel 1024",
    );
    assert_eq!(
        (s.port, s.protocol.as_str(), s.streams),
        (5000, "webrtc-datachannel", Some(1024))
    );
    typed::<Sctpmap>("5000 webrtc-datachannel", "5000 webrtc-datachannel");
    typed_err::<Sctpmap>("5000");
    typed_err::<Sctpmap>("5000 webrtc-datachannel 1024 x");
}

#[test]
fn fixed_lines() {
    let o = Origin::parse("jdoe 3724394400 3724394405 IN IP4 198.51.100.1").unwrap();
    assert_eq!(
        o.to_string(),
        "jdoe 3724394400 3724394405 IN IP4 198.51.100.1"
    );
    assert!(Origin::parse("- 1 2 IN IP4").is_err());
    assert!(Origin::parse("- 18446744073709551616 2 IN IP4 x").is_err());
    let m = Media::parse("audio 49170/2 RTP/AVP 0 8").unwrap();
    assert_eq!((m.port, m.port_count, m.formats.len()), (49170, Some(2), 2));
    assert_eq!(m.to_string(), "audio 49170/2 RTP/AVP 0 8");
    let c = Connection::parse("IN IP6 fd00::2").unwrap();
    assert_eq!(c.ip(), Some("fd00::2".parse().unwrap()));
    assert_eq!(Connection::new("fd00::2".parse().unwrap()), c);
    assert_eq!(
        Connection::parse("IN IP4 224.2.36.42/127").unwrap().ip(),
        None
    );
    assert!(Bandwidth::parse("AS").is_err());
    assert!(Bandwidth::parse(":1").is_err());
    assert!(Timing::parse("0").is_err());
    assert!(Timing::parse("0 0 0").is_err());
}

#[test]
fn direction_and_flags() {
    let text = with_session(
        "m=audio 9 RTP/AVP 0\r\na=inactive\r\na=mid:a\r\na=sendonly\r\na=sendrecv:not-a-flag\r\n",
    );
    let mut sdp = SessionDescription::parse(&text).unwrap();
    let m = &mut sdp.media_sections_mut()[0];
    assert_eq!(m.direction(), Some(Direction::Inactive));
    m.set_direction(Direction::RecvOnly).unwrap();
    assert_eq!(m.direction(), Some(Direction::RecvOnly));
    let names: Vec<&str> = m.attributes().map(|a| a.name).collect();
    assert_eq!(names, ["recvonly", "mid", "sendrecv"]);
    assert_eq!(Direction::SendOnly.reverse(), Direction::RecvOnly);
    assert_eq!(Direction::Inactive.reverse(), Direction::Inactive);
    assert!(!m.rtcp_mux() && !m.rtcp_rsize() && !m.end_of_candidates());
}

#[test]
fn mutators_keep_the_description_parseable() {
    let text = with_session(
        "a=group:BUNDLE 0 1\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\na=candidate:1 1 udp 1 1.2.3.4 5 typ host\r\n\
         a=end-of-candidates\r\na=candidate:2 1 udp 1 1.2.3.4 6 typ host\r\nm=video 9 RTP/AVP 96\r\na=mid:1\r\n",
    );
    let mut sdp = SessionDescription::parse(&text).unwrap();
    let audio = &mut sdp.media_sections_mut()[0];
    assert_eq!(audio.remove_attributes("candidate"), 2);
    assert_eq!(audio.remove_attributes("candidate"), 0);
    audio.set_port(0).unwrap();
    assert_eq!(audio.media().port, 0);
    audio
        .push(&Candidate::parse_value("3 1 udp 1 ::1 7 typ host").unwrap())
        .unwrap();
    assert_eq!(sdp.remove_attributes("group"), 1);
    sdp.push(&Group {
        semantics: "BUNDLE".into(),
        mids: vec!["1".into()],
    })
    .unwrap();
    sdp.push_attribute("ice-lite", None).unwrap();
    let mut o = sdp.origin().unwrap();
    o.session_version += 1;
    sdp.set_origin(&o).unwrap();

    let written = sdp.to_string();
    assert_eq!(
        written,
        "v=0\r\no=- 1 3 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 1\r\na=ice-lite\r\n\
         m=audio 0 RTP/AVP 0\r\na=mid:0\r\na=end-of-candidates\r\na=candidate:3 1 udp 1 ::1 7 typ host\r\n\
         m=video 9 RTP/AVP 96\r\na=mid:1\r\n"
    );
    assert_eq!(SessionDescription::parse(&written).unwrap(), sdp);
    assert_eq!(
        sdp.media_section_by_mid("1").unwrap().media().media,
        "video"
    );
    assert!(sdp.media_section_by_mid("2").is_none());
}

#[test]
fn builders_refuse_what_would_not_parse_back() {
    let mut sdp = SessionDescription::parse(MINIMAL).unwrap();
    let kind = |r: Result<(), SdpError>| r.unwrap_err().kind;
    assert_eq!(
        kind(sdp.push_attribute("a:b", None)),
        SdpErrorKind::InvalidAttributeName("a:b".into())
    );
    assert_eq!(
        kind(sdp.push_attribute("", None)),
        SdpErrorKind::InvalidAttributeName("".into())
    );
    assert_eq!(
        kind(sdp.push_attribute("a b", None)),
        SdpErrorKind::InvalidAttributeName("a b".into())
    );
    assert_eq!(
        kind(sdp.push_attribute("x", Some("1\r\na=evil"))),
        SdpErrorKind::ForbiddenCharacter('\r')
    );
    assert_eq!(
        kind(sdp.push_line(Line::new('m', "audio 9 RTP/AVP 0").unwrap())),
        SdpErrorKind::MisplacedLine('m')
    );
    assert_eq!(
        kind(sdp.push_line(Line::new('v', "0").unwrap())),
        SdpErrorKind::MisplacedLine('v')
    );
    assert!(sdp.push_line(Line::new('c', "IN IP4").unwrap()).is_err());
    sdp.push_line(Line::new('c', "IN IP4 0.0.0.0").unwrap())
        .unwrap();
    assert_eq!(sdp.connection().unwrap().address, "0.0.0.0");
    assert_eq!(
        Line::new('1', "x").unwrap_err().kind,
        SdpErrorKind::InvalidLineType('1')
    );
    assert_eq!(
        Line::new('a', "x\ny").unwrap_err().kind,
        SdpErrorKind::ForbiddenCharacter('\n')
    );
    let media = |formats: Vec<String>, proto: &str| Media {
        media: "audio".into(),
        port: 9,
        port_count: None,
        proto: proto.into(),
        formats,
    };
    assert!(sdp.push_media(media(vec![], "RTP/AVP")).is_err());
    assert!(
        sdp.push_media(media(vec!["0 1".into()], "RTP/AVP"))
            .is_err()
    );
    assert!(sdp.push_media(media(vec!["0".into()], "")).is_err());
    let mut origin = sdp.origin().unwrap();
    origin.username = "two words".into();
    assert!(sdp.set_origin(&origin).is_err());
    assert!(SessionDescription::new(&origin).is_err());
    assert_eq!(SessionDescription::parse(&sdp.to_string()).unwrap(), sdp);
}

/// A data-channel answer as JSEP will build one (RFC 9429 §5.3, RFC 8841), parsed back.
#[test]
fn builds_a_data_channel_answer_from_scratch() {
    let mut answer = SessionDescription::new(&Origin {
        username: "-".into(),
        session_id: 4_611_731_400_430_051_336,
        session_version: 2,
        nettype: "IN".into(),
        addrtype: "IP4".into(),
        address: "127.0.0.1".into(),
    })
    .unwrap();
    answer
        .push(&Group {
            semantics: "BUNDLE".into(),
            mids: vec!["0".into()],
        })
        .unwrap();
    answer
        .push_attribute("msid-semantic", Some(" WMS"))
        .unwrap();
    let m = answer
        .push_media(Media {
            media: "application".into(),
            port: 9,
            port_count: None,
            proto: "UDP/DTLS/SCTP".into(),
            formats: vec!["webrtc-datachannel".into()],
        })
        .unwrap();
    m.push_line(Line::new('c', Connection::new("0.0.0.0".parse().unwrap()).to_string()).unwrap())
        .unwrap();
    m.push(&Candidate {
        foundation: "1".into(),
        component: 1,
        transport: CandidateTransport::Udp,
        priority: 2_130_706_431,
        address: "192.0.2.1".into(),
        port: 50_000,
        typ: CandidateType::Host,
        related_address: None,
        related_port: None,
        tcp_type: None,
        extensions: vec![("generation".into(), "0".into())],
    })
    .unwrap();
    m.push_attribute("end-of-candidates", None).unwrap();
    m.push(&IceUfrag("UN6E".into())).unwrap();
    m.push(&IcePwd("RRmwVjkxJDkxSxFEqyodfY".into())).unwrap();
    m.push(&IceOptions(vec!["trickle".into()])).unwrap();
    m.push(&Fingerprint {
        hash_function: HashFunction::Sha256,
        bytes: (0..32).collect(),
    })
    .unwrap();
    m.push(&Setup::Active).unwrap();
    m.push(&Mid("0".into())).unwrap();
    m.push(&SctpPort(5000)).unwrap();
    m.push(&MaxMessageSize(262_144)).unwrap();

    let text = answer.to_string();
    assert_eq!(
        text,
        "v=0\r\n\
         o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n\
         s=-\r\n\
         t=0 0\r\n\
         a=group:BUNDLE 0\r\n\
         a=msid-semantic: WMS\r\n\
         m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n\
         c=IN IP4 0.0.0.0\r\n\
         a=candidate:1 1 udp 2130706431 192.0.2.1 50000 typ host generation 0\r\n\
         a=end-of-candidates\r\n\
         a=ice-ufrag:UN6E\r\n\
         a=ice-pwd:RRmwVjkxJDkxSxFEqyodfY\r\n\
         a=ice-options:trickle\r\n\
         a=fingerprint:sha-256 00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F\r\n\
         a=setup:active\r\n\
         a=mid:0\r\n\
         a=sctp-port:5000\r\n\
         a=max-message-size:262144\r\n"
    );
    let parsed = SessionDescription::parse(&text).unwrap();
    assert_eq!(parsed, answer);
    let m = &parsed.media_sections()[0];
    assert_eq!(m.mid(), Some("0"));
    assert!(m.end_of_candidates());
    assert_eq!(m.first::<SctpPort>().unwrap().unwrap(), SctpPort(5000));
    assert_eq!(m.first::<Fingerprint>().unwrap().unwrap().bytes[31], 31);
    assert_eq!(
        m.connection().unwrap().ip(),
        Some("0.0.0.0".parse().unwrap())
    );
    let mut out = String::from("prefix\n");
    parsed.write_to(&mut out);
    assert_eq!(out, format!("prefix\n{text}"));
    assert_eq!(text.parse::<SessionDescription>().unwrap(), answer);
}

fn arb_value() -> impl Strategy<Value = String> {
    // Printable ASCII and some UTF-8, never CR, LF or NUL.
    proptest::string::string_regex("[ -~é€]{0,40}").unwrap()
}

fn arb_line() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (proptest::string::string_regex("[a-z0-9-]{1,12}").unwrap(), proptest::option::of(arb_value()))
            .prop_map(|(n, v)| match v {
                Some(v) => format!("a={n}:{v}"),
                None => format!("a={n}"),
            }),
        1 => (proptest::char::range('a', 'z'), arb_value())
            .prop_filter("structural lines", |(k, _)| !matches!(k, 'v' | 'm' | 'c'))
            .prop_map(|(k, v)| format!("{k}={v}")),
        1 => (any::<bool>(), proptest::string::string_regex("[0-9a-f:.]{1,20}").unwrap())
            .prop_map(|(v6, a)| format!("c=IN {} {a}", if v6 { "IP6" } else { "IP4" })),
    ]
}

fn arb_media() -> impl Strategy<Value = Vec<String>> {
    (
        proptest::string::string_regex("[a-z]{1,10}").unwrap(),
        any::<u16>(),
        proptest::option::of(1u16..),
        proptest::string::string_regex("[A-Z/]{1,16}").unwrap(),
        proptest::collection::vec(
            proptest::string::string_regex("[0-9a-z-]{1,8}").unwrap(),
            1..5,
        ),
        proptest::collection::vec(arb_line(), 0..8),
    )
        .prop_map(|(media, port, count, proto, fmts, lines)| {
            let port = match count {
                Some(n) => format!("{port}/{n}"),
                None => port.to_string(),
            };
            let mut v = vec![format!("m={media} {port} {proto} {}", fmts.join(" "))];
            v.extend(lines);
            v
        })
}

proptest! {
    #[test]
    fn random_line_lists_round_trip(
        session in proptest::collection::vec(arb_line(), 0..8),
        media in proptest::collection::vec(arb_media(), 0..4),
        lf in any::<bool>(),
    ) {
        let mut lines = vec!["v=0".to_owned(), "o=- 1 1 IN IP4 0.0.0.0".into(), "s=-".into(), "t=0 0".into()];
        lines.extend(session);
        for m in media {
            lines.extend(m);
        }
        let crlf: String = lines.iter().map(|l| format!("{l}\r\n")).collect();
        let text = if lf { crlf.replace("\r\n", "\n") } else { crlf.clone() };
        let sdp = SessionDescription::parse(&text).unwrap();
        prop_assert_eq!(sdp.to_string(), crlf.clone());
        prop_assert_eq!(sdp.lines().count(), lines.len());
        let again = SessionDescription::parse(&crlf).unwrap();
        prop_assert_eq!(&again, &sdp);
        // Every typed view answers without panicking, and what parses writes back the same.
        for a in sdp.attributes().chain(sdp.media_sections().iter().flat_map(|m| m.attributes())) {
            if let Ok(v) = a.parse::<Candidate>() {
                prop_assert_eq!(Candidate::parse_value(&v.to_string()).unwrap(), v);
            }
            if let Ok(v) = a.parse::<Fmtp>() {
                prop_assert_eq!(Fmtp::parse_value(&v.to_string()).unwrap(), v);
            }
        }
    }

    #[test]
    fn any_text_parses_or_fails_cleanly(text in "[ -~\r\n]{0,400}") {
        let _ = SessionDescription::parse(&text);
        let _ = SessionDescription::parse(&format!("{MINIMAL}{text}"));
    }
}
