//! Headless browsers for the interop tests: Debian's Chromium driven over the DevTools
//! protocol, and Debian's Firefox ESR over WebDriver BiDi, each through one WebSocket
//! (`scripts/install-browsers` installs them). Both answer one question — evaluate this
//! JavaScript in a page and give back its (awaited) value as JSON — which is all the
//! tests need: the page's `RTCPeerConnection` is driven by script, and its SDP and
//! messages travel through that call.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Installs the browsers on first use (once per process; the script itself is
/// idempotent and serialises concurrent callers).
fn ensure_installed() {
    static DONE: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    DONE.get_or_init(|| {
        let status = Command::new(repo().join("scripts/install-browsers"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .status()
            .expect("run scripts/install-browsers");
        assert!(status.success(), "scripts/install-browsers failed");
    });
}

/// Which browser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Debian's `chromium`, over the DevTools protocol.
    Chromium,
    /// Debian's `firefox-esr`, over WebDriver BiDi.
    Firefox,
}

/// How to start one.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Chromium only: hide host addresses behind mDNS `.local` names, as Chromium does
    /// by default (off: `--disable-features=WebRtcHideLocalIpsWithMdns`).
    pub mdns: bool,
}

/// A private profile directory, removed when the browser goes.
struct ProfileDir(PathBuf);

impl ProfileDir {
    fn new(kind: Kind) -> ProfileDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "sansrtc-{kind:?}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create a profile directory");
        ProfileDir(dir)
    }
}

impl Drop for ProfileDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One headless browser with one page, driven over its WebSocket.
pub struct Browser {
    /// Which one.
    pub kind: Kind,
    /// Its version line (`chromium --version`, `firefox-esr --version`).
    pub version: String,
    child: Child,
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    /// Chromium: the page's DevTools session; Firefox: the browsing context.
    target: String,
    _profile: ProfileDir,
}

/// The WebSocket address the browser prints on stderr once it listens.
fn listening_url(child: &mut Child, marker: &str) -> String {
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = channel();
    let marker = marker.to_owned();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if !sent && let Some(at) = line.find(&marker) {
                let url = line[at + marker.len()..].trim().to_owned();
                sent = tx.send(url).is_ok();
            } else if std::env::var_os("BROWSER_LOG").is_some() {
                eprintln!("browser: {line}");
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("the browser's WebSocket address")
}

fn version_of(program: &str) -> String {
    Command::new(program)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

impl Browser {
    /// Start one headless, with an empty page.
    pub fn launch(kind: Kind, options: &Options) -> Browser {
        ensure_installed();
        let profile = ProfileDir::new(kind);
        match kind {
            Kind::Chromium => Self::chromium(options, profile),
            Kind::Firefox => Self::firefox(profile),
        }
    }

    fn chromium(options: &Options, profile: ProfileDir) -> Browser {
        let mut cmd = Command::new("chromium");
        cmd.args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // Host candidates on loopback, which the tests' peers listen on.
            "--allow-loopback-in-peer-connection",
            "--remote-debugging-port=0",
        ])
        .arg(format!("--user-data-dir={}", profile.0.display()));
        if !options.mdns {
            cmd.arg("--disable-features=WebRtcHideLocalIpsWithMdns");
        }
        let mut child = cmd
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("launch chromium");
        let url = listening_url(&mut child, "DevTools listening on ");
        let (ws, _) = tungstenite::connect(url.as_str()).expect("connect to DevTools");
        let mut b = Browser {
            kind: Kind::Chromium,
            version: version_of("chromium"),
            child,
            ws,
            next_id: 1,
            target: String::new(),
            _profile: profile,
        };
        let targets = b.call("Target.getTargets", json!({}));
        let page = targets["targetInfos"]
            .as_array()
            .and_then(|t| t.iter().find(|t| t["type"] == "page"))
            .and_then(|t| t["targetId"].as_str())
            .expect("a page target")
            .to_owned();
        let attached = b.call(
            "Target.attachToTarget",
            json!({ "targetId": page, "flatten": true }),
        );
        b.target = attached["sessionId"]
            .as_str()
            .expect("a DevTools session")
            .to_owned();
        b
    }

    fn firefox(profile: ProfileDir) -> Browser {
        // Loopback candidates, and host addresses in the clear (not mDNS names).
        let prefs = [
            ("media.peerconnection.ice.loopback", "true"),
            ("media.peerconnection.ice.obfuscate_host_addresses", "false"),
            ("browser.shell.checkDefaultBrowser", "false"),
            ("datareporting.policy.dataSubmissionEnabled", "false"),
            ("toolkit.telemetry.reportingpolicy.firstRun", "false"),
            ("app.update.disabledForTesting", "true"),
            ("network.captive-portal-service.enabled", "false"),
            ("network.connectivity-service.enabled", "false"),
            ("browser.safebrowsing.update.enabled", "false"),
            ("extensions.update.enabled", "false"),
        ];
        let user_js: String = prefs
            .iter()
            .map(|(k, v)| format!("user_pref(\"{k}\", {v});\n"))
            .collect();
        std::fs::write(profile.0.join("user.js"), user_js).expect("write user.js");
        let mut child = Command::new("firefox-esr")
            .args(["--headless", "--no-remote", "--remote-debugging-port", "0"])
            .arg("--profile")
            .arg(&profile.0)
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("launch firefox-esr");
        let base = listening_url(&mut child, "WebDriver BiDi listening on ");
        let url = format!("{}/session", base.trim_end_matches('/'));
        let (ws, _) = tungstenite::connect(url.as_str()).expect("connect to WebDriver BiDi");
        let mut b = Browser {
            kind: Kind::Firefox,
            version: version_of("firefox-esr"),
            child,
            ws,
            next_id: 1,
            target: String::new(),
            _profile: profile,
        };
        b.call("session.new", json!({ "capabilities": {} }));
        let tree = b.call("browsingContext.getTree", json!({}));
        b.target = tree["contexts"][0]["context"]
            .as_str()
            .expect("a browsing context")
            .to_owned();
        b
    }

    /// One protocol call; returns its result (events in between are skipped).
    fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if self.kind == Kind::Chromium && !self.target.is_empty() {
            msg["sessionId"] = json!(self.target);
        }
        self.ws
            .send(Message::text(msg.to_string()))
            .expect("send to the browser");
        loop {
            let reply = self.ws.read().expect("read from the browser");
            let Message::Text(text) = reply else { continue };
            let v: Value = serde_json::from_str(text.as_str()).expect("JSON from the browser");
            if v["id"].as_u64() != Some(id) {
                continue;
            }
            if v.get("error").is_some_and(|e| !e.is_null()) {
                panic!("{method} failed: {v}");
            }
            return v["result"].clone();
        }
    }

    /// Runs a script (statements, such as `tests/browser/page.js`) in the page; panics if
    /// it throws.
    pub fn load(&mut self, script: &str) {
        let failed = match self.kind {
            Kind::Chromium => {
                let r = self.call("Runtime.evaluate", json!({ "expression": script }));
                r.get("exceptionDetails").cloned()
            }
            Kind::Firefox => {
                let r = self.call(
                    "script.evaluate",
                    json!({
                        "expression": script,
                        "target": { "context": self.target },
                        "awaitPromise": false,
                    }),
                );
                (r["type"] == "exception").then(|| r["exceptionDetails"].clone())
            }
        };
        if let Some(e) = failed {
            panic!("page script failed to load: {e}");
        }
    }

    /// Evaluates `expr` (an expression; a promise is awaited) in the page and returns
    /// its value, passed through JSON. A thrown error panics with its message.
    pub fn eval(&mut self, expr: &str) -> Value {
        let wrapped = format!(
            "(async () => {{ try {{ return JSON.stringify({{ ok: await ({expr}) }}); }} \
             catch (e) {{ return JSON.stringify({{ error: String(e && e.stack || e) }}); }} }})()"
        );
        let text = match self.kind {
            Kind::Chromium => {
                let r = self.call(
                    "Runtime.evaluate",
                    json!({ "expression": wrapped, "awaitPromise": true, "returnByValue": true }),
                );
                r["result"]["value"].as_str().map(str::to_owned)
            }
            Kind::Firefox => {
                let r = self.call(
                    "script.evaluate",
                    json!({
                        "expression": wrapped,
                        "target": { "context": self.target },
                        "awaitPromise": true,
                    }),
                );
                r["result"]["value"].as_str().map(str::to_owned)
            }
        }
        .unwrap_or_else(|| panic!("no value from the page for {expr}"));
        let v: Value = serde_json::from_str(&text).expect("JSON from the page");
        if let Some(e) = v.get("error") {
            panic!("page script failed: {}", e.as_str().unwrap_or_default());
        }
        v["ok"].clone()
    }

    /// Evaluates `expr` until it is truthy, or panics after `limit` naming `what`.
    pub fn wait_for(&mut self, what: &str, limit: Duration, expr: &str) -> Value {
        let until = Instant::now() + limit;
        loop {
            let v = self.eval(expr);
            if !(v.is_null() || v == json!(false) || v == json!(0) || v == json!("")) {
                return v;
            }
            assert!(Instant::now() < until, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.ws.close(None);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
