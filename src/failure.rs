//! How a command ends: its exit code and the one line it prints (by `app::run`, nowhere
//! else).

/// How a command ends: 0 done, 1 a script or connection failed, 2 bad usage or input, 130
/// interrupted (Ctrl-C), as shells expect.
pub(crate) const EXIT_OK: i32 = 0;
pub(crate) const EXIT_SCRIPT: i32 = 1;
pub(crate) const EXIT_USAGE: i32 = 2;
pub(crate) const EXIT_INTERRUPTED: i32 = 130;

/// How a command failed: the text the binary's edge (`app::run`) prints (once, on stderr) and the exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// A command line, configuration or file the command cannot use: exit 2.
    Usage(String),
    /// The command or its script failed: exit 1.
    Failed(String),
    /// Stopped by Ctrl-C: exit 130.
    Interrupted(String),
    /// Already said where it belongs (a test report on stdout, the REPL's own lines): only
    /// the exit code is left.
    Quiet(i32),
}

impl Failure {
    pub(crate) fn code(&self) -> i32 {
        match self {
            Failure::Usage(_) => EXIT_USAGE,
            Failure::Failed(_) => EXIT_SCRIPT,
            Failure::Interrupted(_) => EXIT_INTERRUPTED,
            Failure::Quiet(code) => *code,
        }
    }

    /// What to print, if anything.
    pub(crate) fn message(&self) -> Option<&str> {
        match self {
            Failure::Usage(m) | Failure::Failed(m) | Failure::Interrupted(m) => Some(m),
            Failure::Quiet(_) => None,
        }
    }

    /// A command's failure from an error and the context it was given on the way up
    /// (`anyhow`), shown as one line: `tdc defs: cannot write out/: Permission denied`.
    pub(crate) fn usage_in(command: &str, error: anyhow::Error) -> Failure {
        Failure::Usage(format!("tdc {command}: {error:#}"))
    }

    /// As [`Failure::usage_in`], for a command that failed (exit 1).
    pub(crate) fn failed_in(command: &str, error: anyhow::Error) -> Failure {
        Failure::Failed(format!("tdc {command}: {error:#}"))
    }

    /// An exit code from a command that prints its own failures (REPL, watch, doctor).
    pub(crate) fn from_code(code: i32) -> Result<(), Failure> {
        match code {
            EXIT_OK => Ok(()),
            code => Err(Failure::Quiet(code)),
        }
    }
}

/// What a command returns.
pub(crate) type Outcome = Result<(), Failure>;
