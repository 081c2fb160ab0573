//! The command line (clap types only), turned into plain values for `app`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "tdc",
    version,
    about = "tdc, the TD dialer automation console",
    args_conflicts_with_subcommands = false
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the sandbox dialer: a local twin of the TD API with realistic data.
    Sandbox(SandboxArgs),
}

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8025")]
    pub addr: SocketAddr,
    /// Seed of the generated data: the same seed gives the same data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// How many leads to generate.
    #[arg(long, default_value_t = 5000)]
    pub leads: usize,
    /// How many CDRs (and calls, one per CDR) to generate.
    #[arg(long, default_value_t = 20000)]
    pub cdrs: usize,
    /// Delay every response by this many milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Injected failures, e.g. 500=0.05,429=0.05,reset=0.02,lost=0.02,slow=0.05
    #[arg(long, default_value = "")]
    pub faults: String,
    /// Keep the data in this file, so that it survives a restart.
    #[arg(long)]
    pub state: Option<PathBuf>,
}
