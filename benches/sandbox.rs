//! Sandbox start-up and paging cost at scale.
//!
//! - time until `tdc sandbox --cdrs 1000000` serves (dataset generation + bind), median of 3;
//! - an unfiltered page of 1000 CDRs in id order at offset 900,000 against offset 0, over
//!   loopback HTTP, median of 30 each, and their ratio (target: within 2x).
//!
//! Run: `cargo bench --bench sandbox`

use std::time::{Duration, Instant};

use tdc::internals::{Sandbox, SandboxOptions};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let options = SandboxOptions {
        cdrs: 1_000_000,
        ..SandboxOptions::default()
    };
    let mut ready = Vec::new();
    let mut kept = None;
    for _ in 0..3 {
        let started = Instant::now();
        let sandbox = runtime
            .block_on(Sandbox::start(options.clone()))
            .expect("sandbox");
        ready.push(started.elapsed());
        if let Some(previous) = kept.replace(sandbox) {
            runtime.block_on(previous.stop());
        }
    }
    let sandbox = kept.expect("a sandbox");
    println!(
        "sandbox --cdrs 1000000 ready: median {:?} (runs {:?})",
        median(ready.clone()),
        ready
    );

    tdc::internals::tls_ready();
    let client = reqwest::Client::new();
    let page = |offset: u64| {
        let url = format!("{}/api/cdrs?limit=1000;{offset}", sandbox.url());
        let client = client.clone();
        async move {
            let started = Instant::now();
            let body = client
                .get(url)
                .basic_auth("sandbox", Some("sandbox"))
                .send()
                .await
                .expect("page")
                .bytes()
                .await
                .expect("body");
            assert!(body.len() > 100_000, "a full page");
            started.elapsed()
        }
    };
    let (mut at_start, mut at_900k) = (Vec::new(), Vec::new());
    runtime.block_on(async {
        for _ in 0..30 {
            at_start.push(page(0).await);
            at_900k.push(page(900_000).await);
        }
    });
    let (start, deep) = (median(at_start), median(at_900k));
    println!(
        "page of 1000 at offset 0: median {start:?}; at offset 900000: median {deep:?}; ratio {:.2}",
        deep.as_secs_f64() / start.as_secs_f64()
    );
    runtime.block_on(sandbox.stop());
}
