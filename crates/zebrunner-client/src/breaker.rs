//! The circuit breaker in front of one Zebrunner workspace.
//!
//! When Zebrunner is down, every call would otherwise spend its whole retry deadline on
//! connection errors, timeouts and 502/503/504 before failing, holding a worker and adding
//! load to a struggling Zebrunner. The breaker watches the outcome of each logical request
//! (after its retries) for every client of the workspace together:
//!
//! * **closed**: requests go through; [`BreakerConfig::failures`] unavailable outcomes in a
//!   row open it. Any answer from Zebrunner (a success, a 4xx, a 429, a 500) ends the run:
//!   Zebrunner is there, it just did not like that request.
//! * **open**: requests fail at once with [`crate::Error::CircuitOpen`], saying when to retry,
//!   until [`BreakerConfig::cool_down`] has passed.
//! * **half-open**: one request (the probe) goes through; the others fail fast. The probe
//!   answering closes the breaker, failing opens it for another cool-down.
//!
//! [`Machine`] is the state machine alone, driven with explicit instants (tests use no clock);
//! [`CircuitBreaker`] shares one behind a mutex, hands out [`Permit`]s and records metrics:
//! `zmcp_zebrunner_circuit_open` (1 while open or half-open), state changes in
//! `zmcp_zebrunner_circuit_transitions_total{to}` and fast failures in
//! `zmcp_zebrunner_circuit_rejections_total`.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use crate::config::BreakerConfig;

/// Metric names recorded here (see the module docs).
pub(crate) mod metric {
    pub(crate) const OPEN: &str = "zmcp_zebrunner_circuit_open";
    pub(crate) const TRANSITIONS: &str = "zmcp_zebrunner_circuit_transitions_total";
    pub(crate) const REJECTIONS: &str = "zmcp_zebrunner_circuit_rejections_total";
}

/// How long callers turned away while the probe runs are told to wait: the probe settles it
/// within one request.
const PROBE_RETRY: Duration = Duration::from_secs(1);

/// The breaker's state, as reported in metrics and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Closed,
    Open,
    HalfOpen,
}

impl State {
    fn label(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half_open",
        }
    }
}

/// What one logical request told us about Zebrunner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Zebrunner answered (whatever the status, except 502/503/504 after the retries).
    Answered,
    /// No answer: connection failures, timeouts, or 502/503/504 after the retries.
    Unavailable,
}

/// What [`Machine::admit`] decided about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Go ahead.
    Pass,
    /// Go ahead as the one probe of a half-open breaker; report its outcome.
    Probe,
    /// Fail fast; Zebrunner may be tried again after this long.
    Reject(Duration),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { probing: bool },
}

/// The state machine, without clock or locking.
#[derive(Debug)]
pub(crate) struct Machine {
    config: BreakerConfig,
    phase: Phase,
}

impl Machine {
    pub(crate) fn new(config: BreakerConfig) -> Self {
        Self {
            config,
            phase: Phase::Closed { failures: 0 },
        }
    }

    pub(crate) fn state(&self) -> State {
        match self.phase {
            Phase::Closed { .. } => State::Closed,
            Phase::Open { .. } => State::Open,
            Phase::HalfOpen { .. } => State::HalfOpen,
        }
    }

    /// Whether a request may go now, and the state change that caused, if any.
    pub(crate) fn admit(&mut self, now: Instant) -> (Admission, Option<State>) {
        match self.phase {
            Phase::Closed { .. } => (Admission::Pass, None),
            Phase::Open { until } if now < until => (Admission::Reject(until - now), None),
            Phase::Open { .. } => {
                self.phase = Phase::HalfOpen { probing: true };
                (Admission::Probe, Some(State::HalfOpen))
            }
            Phase::HalfOpen { probing: true } => (Admission::Reject(PROBE_RETRY), None),
            Phase::HalfOpen { probing: false } => {
                self.phase = Phase::HalfOpen { probing: true };
                (Admission::Probe, None)
            }
        }
    }

    /// Takes the outcome of a request admitted earlier (`probe` if it was the probe); returns
    /// the state change, if any.
    pub(crate) fn record(&mut self, outcome: Outcome, probe: bool, now: Instant) -> Option<State> {
        let before = self.state();
        self.phase = match (self.phase, outcome) {
            // Any answer, even to a request sent before the breaker opened, shows Zebrunner is
            // back.
            (_, Outcome::Answered) => Phase::Closed { failures: 0 },
            (Phase::Closed { failures }, Outcome::Unavailable) => {
                let failures = failures.saturating_add(1);
                if self.config.failures > 0 && failures >= self.config.failures {
                    Phase::Open {
                        until: now + self.config.cool_down,
                    }
                } else {
                    Phase::Closed { failures }
                }
            }
            (Phase::HalfOpen { .. }, Outcome::Unavailable) if probe => Phase::Open {
                until: now + self.config.cool_down,
            },
            // Late failures of requests admitted before the breaker opened change nothing:
            // the cool-down and the probe decide.
            (phase, Outcome::Unavailable) => phase,
        };
        let after = self.state();
        (after != before).then_some(after)
    }

    /// The probe ended without an outcome (its caller gave up): let the next request probe.
    pub(crate) fn abandon_probe(&mut self) {
        if self.phase == (Phase::HalfOpen { probing: true }) {
            self.phase = Phase::HalfOpen { probing: false };
        }
    }
}

/// One breaker shared by every client of a workspace. Cheap to clone.
#[derive(Clone)]
pub(crate) struct CircuitBreaker {
    machine: Arc<Mutex<Machine>>,
}

impl CircuitBreaker {
    pub(crate) fn new(config: BreakerConfig) -> Self {
        Self {
            machine: Arc::new(Mutex::new(Machine::new(config))),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Machine> {
        // The machine is consistent after every statement: a panic elsewhere cannot leave it
        // half-updated, so a poisoned lock is still usable.
        self.machine.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A permit for one request, or how long until Zebrunner may be tried again.
    pub(crate) fn admit(&self) -> Result<Permit, Duration> {
        let (admission, change) = self.lock().admit(Instant::now());
        changed(change);
        match admission {
            Admission::Pass => Ok(Permit {
                breaker: self.clone(),
                probe: false,
                settled: false,
            }),
            Admission::Probe => Ok(Permit {
                breaker: self.clone(),
                probe: true,
                settled: false,
            }),
            Admission::Reject(retry_in) => {
                metrics::counter!(metric::REJECTIONS).increment(1);
                Err(retry_in)
            }
        }
    }
}

/// A request let through; [`Permit::record`] reports how it went. Dropped unrecorded (the
/// caller gave up, e.g. at a tool's deadline), it reports nothing, and a probe makes room for
/// the next.
pub(crate) struct Permit {
    breaker: CircuitBreaker,
    probe: bool,
    settled: bool,
}

impl Permit {
    pub(crate) fn record(mut self, outcome: Outcome) {
        self.settled = true;
        let change = self
            .breaker
            .lock()
            .record(outcome, self.probe, Instant::now());
        changed(change);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if self.probe && !self.settled {
            self.breaker.lock().abandon_probe();
        }
    }
}

/// Logs and counts a state change.
fn changed(change: Option<State>) {
    let Some(state) = change else { return };
    match state {
        State::Open => tracing::warn!("Zebrunner looks unavailable: circuit breaker open"),
        State::HalfOpen => tracing::info!("circuit breaker half-open: probing Zebrunner"),
        State::Closed => tracing::info!("Zebrunner answers again: circuit breaker closed"),
    }
    metrics::counter!(metric::TRANSITIONS, "to" => state.label()).increment(1);
    metrics::gauge!(metric::OPEN).set(if state == State::Closed { 0.0 } else { 1.0 });
}

#[cfg(test)]
mod tests {
    use super::*;

    const COOL_DOWN: Duration = Duration::from_secs(30);

    fn machine(failures: u32) -> Machine {
        Machine::new(BreakerConfig {
            failures,
            cool_down: COOL_DOWN,
        })
    }

    /// Records `n` unavailable outcomes of admitted requests at `now`.
    fn fail(m: &mut Machine, n: u32, now: Instant) -> Option<State> {
        let mut last = None;
        for _ in 0..n {
            assert_eq!(m.admit(now).0, Admission::Pass);
            last = m.record(Outcome::Unavailable, false, now).or(last);
        }
        last
    }

    #[test]
    fn opens_after_a_run_of_failures_and_rejects_until_the_cool_down() {
        let t0 = Instant::now();
        let mut m = machine(3);
        assert_eq!(fail(&mut m, 2, t0), None);
        assert_eq!(m.state(), State::Closed);
        assert_eq!(fail(&mut m, 1, t0), Some(State::Open));
        let later = t0 + Duration::from_secs(10);
        assert_eq!(
            m.admit(later),
            (Admission::Reject(Duration::from_secs(20)), None)
        );
        assert_eq!(m.state(), State::Open);
    }

    #[test]
    fn an_answer_ends_the_run() {
        let t0 = Instant::now();
        let mut m = machine(3);
        fail(&mut m, 2, t0);
        assert_eq!(m.record(Outcome::Answered, false, t0), None);
        assert_eq!(fail(&mut m, 2, t0), None);
        assert_eq!(m.state(), State::Closed, "2 + 2 failures, not 4 in a row");
    }

    #[test]
    fn after_the_cool_down_one_probe_goes_and_its_answer_closes() {
        let t0 = Instant::now();
        let mut m = machine(1);
        fail(&mut m, 1, t0);
        let after = t0 + COOL_DOWN;
        assert_eq!(m.admit(after), (Admission::Probe, Some(State::HalfOpen)));
        assert_eq!(m.admit(after), (Admission::Reject(PROBE_RETRY), None));
        assert_eq!(
            m.record(Outcome::Answered, true, after),
            Some(State::Closed)
        );
        assert_eq!(m.admit(after), (Admission::Pass, None));
    }

    #[test]
    fn a_failed_probe_opens_for_another_cool_down() {
        let t0 = Instant::now();
        let mut m = machine(1);
        fail(&mut m, 1, t0);
        let probe_at = t0 + COOL_DOWN + Duration::from_secs(1);
        assert_eq!(m.admit(probe_at).0, Admission::Probe);
        assert_eq!(
            m.record(Outcome::Unavailable, true, probe_at),
            Some(State::Open)
        );
        assert_eq!(
            m.admit(probe_at + Duration::from_secs(5)),
            (Admission::Reject(COOL_DOWN - Duration::from_secs(5)), None)
        );
    }

    #[test]
    fn an_abandoned_probe_lets_the_next_request_probe() {
        let t0 = Instant::now();
        let mut m = machine(1);
        fail(&mut m, 1, t0);
        let after = t0 + COOL_DOWN;
        assert_eq!(m.admit(after).0, Admission::Probe);
        m.abandon_probe();
        assert_eq!(m.state(), State::HalfOpen);
        assert_eq!(m.admit(after), (Admission::Probe, None));
    }

    #[test]
    fn late_failures_do_not_extend_the_cool_down() {
        let t0 = Instant::now();
        let mut m = machine(1);
        fail(&mut m, 1, t0);
        // A request admitted before the breaker opened fails later.
        assert_eq!(
            m.record(Outcome::Unavailable, false, t0 + Duration::from_secs(20)),
            None
        );
        assert_eq!(m.admit(t0 + COOL_DOWN).0, Admission::Probe);
        // And one failing while the probe runs does not decide for it.
        assert_eq!(m.record(Outcome::Unavailable, false, t0 + COOL_DOWN), None);
        assert_eq!(m.state(), State::HalfOpen);
    }

    #[test]
    fn a_late_answer_closes_an_open_breaker() {
        let t0 = Instant::now();
        let mut m = machine(1);
        fail(&mut m, 1, t0);
        assert_eq!(m.record(Outcome::Answered, false, t0), Some(State::Closed));
        assert_eq!(m.admit(t0).0, Admission::Pass);
    }

    #[test]
    fn zero_failures_turns_it_off() {
        let t0 = Instant::now();
        let mut m = machine(0);
        assert_eq!(fail(&mut m, 1000, t0), None);
        assert_eq!(m.state(), State::Closed);
    }

    #[test]
    fn permits_share_one_machine_and_a_dropped_probe_frees_the_slot() {
        let breaker = CircuitBreaker::new(BreakerConfig {
            failures: 2,
            cool_down: Duration::ZERO,
        });
        let other = breaker.clone();
        breaker.admit().map(|p| p.record(Outcome::Unavailable)).ok();
        other.admit().map(|p| p.record(Outcome::Unavailable)).ok();
        // Open with no cool-down: the next request is the probe, the one after waits for it.
        let probe = breaker.admit().ok();
        assert!(probe.as_ref().is_some_and(|p| p.probe));
        assert_eq!(other.admit().err(), Some(PROBE_RETRY));
        drop(probe);
        let probe = other.admit().ok();
        assert!(probe.as_ref().is_some_and(|p| p.probe));
        if let Some(p) = probe {
            p.record(Outcome::Answered);
        }
        assert_eq!(breaker.lock().state(), State::Closed);
    }
}
