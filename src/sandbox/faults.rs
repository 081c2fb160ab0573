//! Injected failures: `--faults 500=0.05,429=0.05,reset=0.02,lost=0.02,slow=0.05`.
//!
//! Each request draws one fault (or none) with the given probabilities:
//! - `500`: answered with a 500 before the request is applied;
//! - `429`: answered with a 429 and `Retry-After: 1` before the request is applied;
//! - `reset`: the connection is reset (RST) before the request is applied;
//! - `slow`: the request is delayed by [`SLOW_DELAY`], then applied and answered;
//! - `lost`: the request is applied, then the connection is closed with no response.

use std::time::Duration;

pub(crate) const SLOW_DELAY: Duration = Duration::from_millis(1500);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    ServerError,
    TooManyRequests,
    Reset,
    Slow,
    Lost,
}

impl Fault {
    const NAMES: [(&'static str, Fault); 5] = [
        ("500", Fault::ServerError),
        ("429", Fault::TooManyRequests),
        ("reset", Fault::Reset),
        ("slow", Fault::Slow),
        ("lost", Fault::Lost),
    ];
}

/// The probability of each fault.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultSpec {
    odds: Vec<(Fault, f64)>,
}

/// A `--faults` value that cannot be read; the message says which entry and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct BadFaults(String);

impl FaultSpec {
    pub(crate) fn parse(text: &str) -> Result<FaultSpec, BadFaults> {
        let mut odds: Vec<(Fault, f64)> = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (name, probability) = entry.split_once('=').ok_or_else(|| {
                BadFaults(format!("bad fault '{entry}': expected KIND=PROBABILITY"))
            })?;
            let fault = Fault::NAMES
                .iter()
                .find(|(n, _)| *n == name.trim())
                .map(|(_, f)| *f)
                .ok_or_else(|| {
                    BadFaults(format!(
                        "unknown fault '{name}' (use 500, 429, reset, slow or lost)"
                    ))
                })?;
            let probability: f64 = probability
                .trim()
                .parse()
                .ok()
                .filter(|p: &f64| (0.0..=1.0).contains(p))
                .ok_or_else(|| {
                    BadFaults(format!(
                        "bad fault '{entry}': the probability must be a number from 0 to 1"
                    ))
                })?;
            odds.retain(|(f, _)| *f != fault);
            odds.push((fault, probability));
        }
        let total: f64 = odds.iter().map(|(_, p)| p).sum();
        if total > 1.0 + 1e-9 {
            return Err(BadFaults(format!(
                "the fault probabilities add up to {total}, more than 1"
            )));
        }
        Ok(FaultSpec { odds })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.odds.iter().all(|(_, p)| *p == 0.0)
    }

    /// Picks the fault for a request from a uniform draw in `[0, 1)`.
    pub(crate) fn pick(&self, draw: f64) -> Option<Fault> {
        let mut edge = 0.0;
        for (fault, probability) in &self.odds {
            edge += probability;
            if draw < edge {
                return Some(*fault);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_picks() {
        let spec = FaultSpec::parse("500=0.25,lost=0.5").unwrap();
        assert_eq!(spec.pick(0.1), Some(Fault::ServerError));
        assert_eq!(spec.pick(0.3), Some(Fault::Lost));
        assert_eq!(spec.pick(0.8), None);
        assert!(FaultSpec::parse("").unwrap().is_empty());
    }

    #[test]
    fn bad_specs_are_explained() {
        assert!(FaultSpec::parse("boom=0.1")
            .unwrap_err()
            .to_string()
            .contains("unknown fault 'boom'"));
        assert!(FaultSpec::parse("500=2")
            .unwrap_err()
            .to_string()
            .contains("from 0 to 1"));
        assert!(FaultSpec::parse("500")
            .unwrap_err()
            .to_string()
            .contains("KIND=PROBABILITY"));
        assert!(FaultSpec::parse("500=0.6,429=0.6")
            .unwrap_err()
            .to_string()
            .contains("more than 1"));
    }
}
