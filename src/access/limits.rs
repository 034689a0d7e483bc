//! Rate limits, daily quotas and enumeration detection, per principal, configured per role.
//!
//! A token bucket bounds lookups per second; daily quotas bound lookups and hits; a sweep of
//! consecutive phone numbers or IDs (the way a bot harvests a numbering range) throttles the
//! principal for a while. Limits come from `DATA/limits.json` (a role name to [`RoleLimits`]),
//! else the defaults below.

use super::role::Role;
use crate::storage::DataDir;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// What a role may do per principal.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoleLimits {
    /// Lookups (identifiers or records asked about) per second, sustained.
    pub per_second: f64,
    /// Lookups allowed at once above the sustained rate.
    pub burst: f64,
    pub daily_lookups: u64,
    pub daily_hits: u64,
}

impl RoleLimits {
    pub fn default_for(role: Role) -> RoleLimits {
        let (per_second, burst, daily_lookups, daily_hits) = match role {
            // Another agency's service: steady, bounded.
            Role::Partner => (1_000.0, 10_000.0, 1_000_000, 2_000_000),
            Role::Analyst => (2_000.0, 20_000.0, 2_000_000, 5_000_000),
            // Batch jobs over seized dumps: millions of identifiers at a time.
            Role::Investigator => (2_000_000.0, 4_000_000.0, 200_000_000, 1_000_000_000),
            Role::Admin | Role::Ingest => (100.0, 1_000.0, 100_000, 100_000),
        };
        RoleLimits {
            per_second,
            burst,
            daily_lookups,
            daily_hits,
        }
    }
}

/// Why a call was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    Rate {
        per_second: u64,
    },
    DailyLookups {
        quota: u64,
    },
    DailyHits {
        quota: u64,
    },
    /// Throttled after a sweep of consecutive identifiers.
    Enumeration {
        seconds_left: u64,
    },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Rate { per_second } => {
                write!(f, "rate limit of {per_second} lookups per second exceeded; slow down")
            }
            Refusal::DailyLookups { quota } => write!(f, "daily quota of {quota} lookups used up"),
            Refusal::DailyHits { quota } => write!(f, "daily quota of {quota} hits used up"),
            Refusal::Enumeration { seconds_left } => write!(
                f,
                "throttled for {seconds_left} more seconds: the calls swept consecutive identifiers (enumeration)"
            ),
        }
    }
}

/// Identifiers remembered per principal for enumeration detection.
const WINDOW: usize = 4096;
/// Identifiers with a neighbour at most this far away count as consecutive.
const NEIGHBOUR: u64 = 3;
/// A window with this many consecutive identifiers is a sweep.
const SWEEP: usize = 100;
/// How long a sweeping principal is throttled.
const THROTTLE: Duration = Duration::from_secs(15 * 60);

#[derive(Debug)]
struct PrincipalState {
    tokens: f64,
    refilled: Instant,
    day: u64,
    lookups_today: u64,
    hits_today: u64,
    recent: VecDeque<u64>,
    throttled_until: Option<Instant>,
}

/// The limiter of a server.
pub struct Limiter {
    limits: HashMap<Role, RoleLimits>,
    state: Mutex<HashMap<String, PrincipalState>>,
}

fn today() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() / 86_400)
}

impl Limiter {
    pub fn new(limits: HashMap<Role, RoleLimits>) -> Limiter {
        Limiter {
            limits,
            state: Mutex::new(HashMap::new()),
        }
    }

    /// The limits of `DATA/limits.json`, with defaults for roles it does not name.
    pub fn configured(data: &DataDir) -> Result<Limiter, String> {
        let path = data.root().join("limits.json");
        let mut limits: HashMap<Role, RoleLimits> = Role::ALL
            .into_iter()
            .map(|role| (role, RoleLimits::default_for(role)))
            .collect();
        match std::fs::read(&path) {
            Ok(bytes) => {
                let configured: HashMap<Role, RoleLimits> =
                    serde_json::from_slice(&bytes).map_err(|error| format!("{}: {error}", path.display()))?;
                limits.extend(configured);
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(format!("{}: {error}", path.display())),
        }
        Ok(Limiter::new(limits))
    }

    fn limits(&self, role: Role) -> RoleLimits {
        self.limits
            .get(&role)
            .copied()
            .unwrap_or_else(|| RoleLimits::default_for(role))
    }

    /// Admits `lookups` lookups by `principal`, or says why not.
    pub fn admit(&self, principal: &str, role: Role, lookups: u64) -> Result<(), Refusal> {
        let limits = self.limits(role);
        let now = Instant::now();
        let mut states = self.state.lock().unwrap_or_else(|poison| poison.into_inner());
        let state = states.entry(principal.to_string()).or_insert_with(|| PrincipalState {
            tokens: limits.burst,
            refilled: now,
            day: today(),
            lookups_today: 0,
            hits_today: 0,
            recent: VecDeque::new(),
            throttled_until: None,
        });
        if let Some(until) = state.throttled_until {
            if until > now {
                return Err(Refusal::Enumeration {
                    seconds_left: (until - now).as_secs().max(1),
                });
            }
            state.throttled_until = None;
        }
        if state.day != today() {
            (state.day, state.lookups_today, state.hits_today) = (today(), 0, 0);
        }
        if state.hits_today >= limits.daily_hits {
            return Err(Refusal::DailyHits {
                quota: limits.daily_hits,
            });
        }
        if state.lookups_today + lookups > limits.daily_lookups {
            return Err(Refusal::DailyLookups {
                quota: limits.daily_lookups,
            });
        }
        let elapsed = now.duration_since(state.refilled).as_secs_f64();
        state.tokens = (state.tokens + elapsed * limits.per_second).min(limits.burst.max(lookups as f64));
        state.refilled = now;
        if state.tokens < lookups as f64 {
            return Err(Refusal::Rate {
                per_second: limits.per_second as u64,
            });
        }
        state.tokens -= lookups as f64;
        state.lookups_today += lookups;
        Ok(())
    }

    /// Counts the hits of an answered call against the daily quota.
    pub fn count_hits(&self, principal: &str, hits: u64) {
        let mut states = self.state.lock().unwrap_or_else(|poison| poison.into_inner());
        if let Some(state) = states.get_mut(principal) {
            state.hits_today += hits;
        }
    }

    /// Watches the numeric identifiers (phones, IDs as numbers) a principal asked about; a sweep
    /// of consecutive ones throttles it. Returns whether this call completed a sweep.
    pub fn watch(&self, principal: &str, numbers: impl Iterator<Item = u64>) -> bool {
        let mut states = self.state.lock().unwrap_or_else(|poison| poison.into_inner());
        let Some(state) = states.get_mut(principal) else {
            return false;
        };
        for number in numbers {
            if state.recent.len() == WINDOW {
                state.recent.pop_front();
            }
            state.recent.push_back(number);
        }
        let mut sorted: Vec<u64> = state.recent.iter().copied().collect();
        sorted.sort_unstable();
        sorted.dedup();
        let consecutive = sorted
            .iter()
            .enumerate()
            .filter(|(position, number)| {
                let before = position.checked_sub(1).map(|previous| **number - sorted[previous]);
                let after = sorted.get(position + 1).map(|next| next - **number);
                before.is_some_and(|gap| gap <= NEIGHBOUR) || after.is_some_and(|gap| gap <= NEIGHBOUR)
            })
            .count();
        if consecutive >= SWEEP {
            state.throttled_until = Some(Instant::now() + THROTTLE);
            state.recent.clear();
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_second: f64, burst: f64, daily_lookups: u64, daily_hits: u64) -> Limiter {
        Limiter::new(HashMap::from([(
            Role::Partner,
            RoleLimits {
                per_second,
                burst,
                daily_lookups,
                daily_hits,
            },
        )]))
    }

    #[test]
    fn rates_and_quotas_are_enforced_per_principal() {
        let limits = limiter(0.001, 100.0, 1_000, 50);
        assert_eq!(limits.admit("a", Role::Partner, 60), Ok(()));
        assert_eq!(limits.admit("a", Role::Partner, 40), Ok(()));
        assert_eq!(
            limits.admit("a", Role::Partner, 1),
            Err(Refusal::Rate { per_second: 0 })
        );
        // Another principal has its own bucket.
        assert_eq!(limits.admit("b", Role::Partner, 100), Ok(()));
        let quota = limiter(1e9, 1e9, 150, 50);
        assert_eq!(quota.admit("a", Role::Partner, 100), Ok(()));
        assert_eq!(
            quota.admit("a", Role::Partner, 51),
            Err(Refusal::DailyLookups { quota: 150 })
        );
        quota.count_hits("a", 50);
        assert_eq!(
            quota.admit("a", Role::Partner, 1),
            Err(Refusal::DailyHits { quota: 50 })
        );
    }

    #[test]
    fn sweeping_consecutive_numbers_throttles_and_random_ones_do_not() {
        let limits = limiter(1e9, 1e9, u64::MAX, u64::MAX);
        limits.admit("bot", Role::Partner, 1).unwrap();
        limits.admit("agency", Role::Partner, 1).unwrap();
        // Random numbers, and one number asked many times, are not a sweep.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let random = (0..3000).map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            9_000_000_000 + state % 1_000_000_000
        });
        assert!(!limits.watch("agency", random));
        assert!(!limits.watch("agency", std::iter::repeat_n(9_812_345_678, 5000)));
        assert_eq!(limits.admit("agency", Role::Partner, 1), Ok(()));
        // A bot walking a range, a few at a time, is caught and throttled.
        let mut caught = false;
        for start in (0..200).step_by(20) {
            caught |= limits.watch("bot", (start..start + 20).map(|offset| 9_812_300_000 + offset));
        }
        assert!(caught);
        assert!(matches!(
            limits.admit("bot", Role::Partner, 1),
            Err(Refusal::Enumeration { .. })
        ));
        assert_eq!(limits.admit("agency", Role::Partner, 1), Ok(()));
    }
}
