//! Shared by the integration tests: a real `tdc sandbox` process on port 0, and the real `tdc`
//! binary run against it with a clean environment.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

mod test;
#[allow(unused_imports)]
pub use test::Test;

pub const BIN: &str = env!("CARGO_BIN_EXE_tdc");

/// An independent HTTP client (reqwest, not tdc), TLS readied as tdc readies it.
pub fn http() -> reqwest::Client {
    tdc::internals::tls_ready();
    reqwest::Client::new()
}

/// A `tdc sandbox` child process, killed on drop.
pub struct Sandbox {
    child: Child,
    pub url: String,
}

impl Sandbox {
    /// Starts `tdc sandbox --addr 127.0.0.1:0` with extra flags and waits until it listens.
    pub fn start(extra: &[&str]) -> Sandbox {
        let mut child = Command::new(BIN)
            .args(["sandbox", "--addr", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tdc sandbox");
        let stdout = child.stdout.take().expect("sandbox stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("sandbox banner");
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in sandbox banner: {line:?}"))
            .to_string();
        Sandbox { child, url }
    }

    /// GETs `path` with the sandbox's credentials and reads the JSON answer: an independent
    /// client (reqwest), not tdc.
    pub fn get_json(&self, path: &str) -> serde_json::Value {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            http()
                .get(format!("{}{path}", self.url))
                .basic_auth("sandbox", Some("sandbox"))
                .send()
                .await
                .expect("request")
                .json()
                .await
                .expect("JSON answer")
        })
    }

    /// [`Sandbox::get_json`] on a sandbox with faults: asks again until an answer arrives.
    pub fn get_json_through_faults(&self, path: &str) -> serde_json::Value {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let client = http();
            for _ in 0..50 {
                let answer = client
                    .get(format!("{}{path}", self.url))
                    .basic_auth("sandbox", Some("sandbox"))
                    .send()
                    .await;
                if let Ok(answer) = answer {
                    if answer.status().is_success() {
                        if let Ok(value) = answer.json().await {
                            return value;
                        }
                    }
                }
            }
            panic!("no answer to {path} in 50 tries")
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal (e.g. "INT", "TERM") and waits for the exit status.
    pub fn signal_and_wait(mut self, signal: &str) -> std::process::ExitStatus {
        send_signal(self.child.id(), signal);
        let status = self.child.wait().expect("wait for sandbox");
        std::mem::forget(self);
        status
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn send_signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{signal} {pid}");
}

/// A fresh folder for a test (config, scripts, state files), removed when the test passes and
/// kept, for a look at what the test left, when it fails.
pub fn temp_dir(name: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!("tdc-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    TempDir(dir)
}

/// A test's folder (see [`temp_dir`]); it reads as the path it holds.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<std::ffi::OsStr> for TempDir {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.as_os_str()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// `tdc` with an environment that holds no connection settings and no config file.
pub fn tdc(home: &Path) -> Command {
    let mut command = Command::new(BIN);
    for (key, _) in std::env::vars() {
        // TDC_SANDBOX_NUMBERS stays: CI runs suites again against real tenants' number style.
        let connection_setting = key.starts_with("TDC_") && !key.starts_with("TDC_SANDBOX_");
        if connection_setting || key == "XDG_CONFIG_HOME" || key == "XDG_STATE_HOME" {
            command.env_remove(key);
        }
    }
    command
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    command
}

/// `tdc test` of the stdlib's own Rhai tests (`tests/stdlib`), run in `home` so that the files
/// they write land there; they read `scripts/`, which `--allow-read` lets them. More
/// arguments (before the path) go in `extra`.
pub fn stdlib_tests(home: &Path, extra: &[&std::ffi::OsStr]) -> Command {
    let mut command = tdc(home);
    command
        .current_dir(home)
        .arg("test")
        .args(extra)
        .arg("--allow-read")
        .arg(root().join("scripts"))
        .arg(root().join("tests/stdlib"));
    command
}

/// `tdc` pointed at a sandbox with its credentials.
pub fn tdc_on(sandbox: &Sandbox, home: &Path) -> Command {
    let mut command = tdc(home);
    command
        .env("TDC_URL", &sandbox.url)
        .env("TDC_USER", "sandbox")
        .env("TDC_PASSWORD", "sandbox");
    command
}

/// Serves `app` on a loopback port in a runtime of its own (a stub or an attacker's server);
/// returns its URL and the runtime, which stops the server when dropped.
pub fn serve(app: axum::Router) -> (String, tokio::runtime::Runtime) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    runtime.spawn(async move { axum::serve(listener, app).await });
    (url, runtime)
}

/// Writes `$HOME/.config/tdc/config.toml` (mode 0600) and returns its path.
pub fn write_config(home: &Path, text: &str) -> PathBuf {
    let dir = home.join(".config/tdc");
    std::fs::create_dir_all(&dir).expect("create config dir");
    let path = dir.join("config.toml");
    std::fs::write(&path, text).expect("write config");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .expect("chmod config");
    }
    path
}

/// A number the sandbox sent as a JSON number or a numeric string (`--numbers`, or
/// `TDC_SANDBOX_NUMBERS` in CI's second pass).
pub fn int(value: &serde_json::Value) -> i64 {
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
        .unwrap_or_else(|| panic!("not a number: {value}"))
}

/// The lines of stderr that are not the run banner (`tdc: running … on …`): what a failure
/// says, which must be one line.
pub fn error_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| !l.starts_with("tdc: running"))
        .collect()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs a command and returns (exit code, stdout, stderr).
pub fn output(command: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().expect("run tdc");
    (status.code().unwrap_or(-1), text(&stdout), text(&stderr))
}

/// Runs a command with `input` on its standard input (closed after it); returns its exit
/// code, stdout and stderr.
pub fn output_with_input(command: &mut Command, input: &str) -> (i32, String, String) {
    use std::io::Write;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tdc");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input.as_bytes()).expect("write stdin");
    drop(stdin);
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().expect("wait for tdc");
    (status.code().unwrap_or(-1), text(&stdout), text(&stderr))
}

/// The repository root (where scripts/ and stdlib/ are).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `command` for `seconds` while a reader takes 1 ms a line of its stdout, then stops it;
/// returns its peak resident memory in MB (VmHWM) and the lines read.
pub fn peak_mb_with_slow_reader(command: &mut Command, seconds: u64) -> (u64, usize) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tdc");
    let stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut lines = 0;
        for _ in BufReader::new(stdout).lines().map_while(Result::ok) {
            lines += 1;
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        lines
    });
    std::thread::sleep(std::time::Duration::from_secs(seconds));
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", child.id())).expect("tdc still running");
    let _ = child.kill();
    let _ = child.wait();
    let lines = reader.join().expect("reader");
    let kb = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse::<u64>().ok())
        .expect("VmHWM in /proc/<pid>/status");
    (kb / 1024, lines)
}

/// A child's output read line by line on a thread of its own, so that a test can wait for a
/// line (the run started, the server listens) instead of sleeping for a guess.
pub struct Lines {
    lines: std::sync::mpsc::Receiver<String>,
    seen: String,
}

impl Lines {
    pub fn of(stream: impl std::io::Read + Send + 'static) -> Lines {
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Lines {
            lines,
            seen: String::new(),
        }
    }

    /// Waits up to `timeout` for a line holding `needle`; panics with what came otherwise.
    #[track_caller]
    pub fn wait_for(&mut self, needle: &str, timeout: std::time::Duration) {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push_str(&line);
                    self.seen.push('\n');
                    if line.contains(needle) {
                        return;
                    }
                }
                Err(_) => panic!(
                    "no line holding {needle:?} in {timeout:?}; got:\n{}",
                    self.seen
                ),
            }
        }
    }

    /// Everything read, to the end of the stream (call once the child has ended).
    pub fn rest(mut self) -> String {
        for line in self.lines.iter() {
            self.seen.push_str(&line);
            self.seen.push('\n');
        }
        self.seen
    }
}
