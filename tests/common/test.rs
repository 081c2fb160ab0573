//! One run of the real `tdc` as a test states it (casey/just's `Test` is the model): the
//! arguments, environment, files and standard input going in, and the exit code, stdout and
//! stderr that must come out, compared whole so that a worse message is a failing test.
//!
//! ```ignore
//! Test::new("phones")
//!     .args(["--sandbox", "eval", "normalize_phone(\"12\")"])
//!     .stdout("()\n")
//!     .success();
//! ```

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use super::{temp_dir, Sandbox, TempDir};

#[must_use]
pub struct Test {
    home: PathBuf,
    /// The folder this test made (removed when the test passes), or none for a shared one.
    owned: Option<TempDir>,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    current_dir: Option<PathBuf>,
    stdin: Option<String>,
    stdout: Option<String>,
    stderr: Option<String>,
    messages: Option<String>,
    /// Where stdout goes instead of being captured (`/dev/full`, a file).
    stdout_file: Option<std::fs::File>,
}

/// What one run gave: its code, its output, and the folder it ran in (kept as long as this).
pub struct Output {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
    pub home: PathBuf,
    _owned: Option<TempDir>,
}

impl Test {
    /// A run in a fresh home folder of its own, named after the test.
    pub fn new(name: &str) -> Test {
        let owned = temp_dir(name);
        Test {
            home: owned.to_path_buf(),
            owned: Some(owned),
            ..Test::at(Path::new(""))
        }
    }

    /// A run in a home folder the test already has (for several runs on one state).
    pub fn at(home: &Path) -> Test {
        Test {
            home: home.to_path_buf(),
            owned: None,
            args: Vec::new(),
            env: Vec::new(),
            current_dir: None,
            stdin: None,
            stdout: None,
            stderr: None,
            messages: None,
            stdout_file: None,
        }
    }

    /// Points the run at a sandbox, with its credentials.
    pub fn on(self, sandbox: &Sandbox) -> Test {
        self.env("TDC_URL", &sandbox.url)
            .env("TDC_USER", "sandbox")
            .env("TDC_PASSWORD", "sandbox")
    }

    pub fn home(&self) -> &Path {
        &self.home
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Test {
        self.args.push(arg.into());
        self
    }

    pub fn args<I: IntoIterator<Item = A>, A: Into<OsString>>(mut self, args: I) -> Test {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Test {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Runs in `dir` (relative to the home folder) instead of the current folder.
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Test {
        self.current_dir = Some(self.home.join(dir));
        self
    }

    /// Writes a file under the home folder before the run.
    pub fn write(self, path: impl AsRef<Path>, content: &str) -> Test {
        let path = self.home.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create folder");
        }
        std::fs::write(&path, content).expect("write file");
        self
    }

    /// Standard input, closed after it (with none, standard input is empty and closed).
    pub fn stdin(mut self, text: impl Into<String>) -> Test {
        self.stdin = Some(text.into());
        self
    }

    /// The whole of stdout the run must print (left unchecked when not given).
    pub fn stdout(mut self, text: impl Into<String>) -> Test {
        self.stdout = Some(text.into());
        self
    }

    /// Sends stdout to `file` instead of capturing it (`/dev/full` for a full disk).
    pub fn stdout_to(mut self, file: std::fs::File) -> Test {
        self.stdout_file = Some(file);
        self
    }

    /// The whole of stderr the run must print (left unchecked when not given).
    pub fn stderr(mut self, text: impl Into<String>) -> Test {
        self.stderr = Some(text.into());
        self
    }

    /// The whole of stderr the run must print but for the banner naming the connection
    /// ([`Output::messages`]), whose port changes from run to run.
    pub fn messages(mut self, text: impl Into<String>) -> Test {
        self.messages = Some(text.into());
        self
    }

    #[track_caller]
    pub fn success(self) -> Output {
        self.status(0)
    }

    #[track_caller]
    pub fn failure(self) -> Output {
        self.status(1)
    }

    /// Runs `tdc` and checks the exit code and whatever output was given; returns the output.
    #[track_caller]
    pub fn status(self, code: i32) -> Output {
        let expected = (
            self.stdout.clone(),
            self.stderr.clone(),
            self.messages.clone(),
        );
        let args = self.args.clone();
        let output = self.run();
        let mut wrong = Vec::new();
        if output.status != code {
            wrong.push(format!("exit code {} (expected {code})", output.status));
        }
        if let Some(stdout) = expected.0.filter(|s| *s != output.stdout) {
            wrong.push(format!("stdout differs; expected:\n{stdout}"));
        }
        if let Some(stderr) = expected.1.filter(|s| *s != output.stderr) {
            wrong.push(format!("stderr differs; expected:\n{stderr}"));
        }
        if let Some(messages) = expected.2.filter(|m| *m != output.messages()) {
            wrong.push(format!("messages differ; expected:\n{messages}"));
        }
        assert!(
            wrong.is_empty(),
            "tdc {args:?}:\n{}\n--- stdout:\n{}--- stderr:\n{}",
            wrong.join("\n"),
            output.stdout,
            output.stderr
        );
        output
    }

    /// Runs `tdc` and checks nothing: for tests that check the output themselves.
    pub fn run(mut self) -> Output {
        let mut command = super::tdc(&self.home);
        command.args(&self.args);
        for (key, value) in &self.env {
            command.env(key, value);
        }
        if let Some(dir) = &self.current_dir {
            command.current_dir(dir);
        }
        let stdout = match self.stdout_file.take() {
            Some(file) => Stdio::from(file),
            None => Stdio::piped(),
        };
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(stdout)
            .stderr(Stdio::piped())
            .spawn()
            .expect("run tdc");
        let mut stdin = child.stdin.take().expect("stdin");
        if let Some(text) = &self.stdin {
            // tdc may end before reading it all (a refused argument): that is its answer.
            let _ = stdin.write_all(text.as_bytes());
        }
        drop(stdin);
        let out = child.wait_with_output().expect("wait for tdc");
        Output {
            status: out.status.code().unwrap_or(-1),
            stdout: super::text(&out.stdout),
            stderr: super::text(&out.stderr),
            home: self.home,
            _owned: self.owned,
        }
    }
}

impl Output {
    /// Stderr without the banner naming the connection (`tdc: using the embedded sandbox at
    /// …`, `tdc: no dialer configured; using the embedded sandbox at …`, `tdc: running … on
    /// …`): what the run itself had to say.
    pub fn messages(&self) -> String {
        self.stderr
            .lines()
            .filter(|l| !is_banner(l))
            .map(|l| format!("{l}\n"))
            .collect()
    }

    /// Stdout read as one JSON value.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }
}

/// A line naming the connection, whose port changes from run to run.
fn is_banner(line: &str) -> bool {
    let embedded = line.starts_with("tdc: ") && line.contains("the embedded sandbox at http://");
    embedded || line.starts_with("tdc: running ")
}
