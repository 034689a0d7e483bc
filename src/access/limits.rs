//! Rate limits, daily quotas and sweep detection, per principal, configured per role, kept
//! across restarts.
//!
//! A token bucket bounds lookups per second; daily quotas bound lookups and hits; private
//! (hash-prefix) lookups have an hourly budget of their own, since a server cannot tell which
//! identifier a prefix stands for; and a sweep of the identifier space (the way a bot harvests a
//! numbering range) throttles the principal for a while. Every path that answers about an
//! identifier (BatchLookup, Match, Attribute, phones and IDs in Search queries) and GetRecord's
//! record numbers feed the same detector; RangeLookup, which cannot be watched, has its budget.
//!
//! Limits come from `DATA/limits.json` (a role name to [`RoleLimits`]), else the defaults below.
//! The counters live in `DATA/limits.state`, saved within a second of changing and at once when a
//! principal is throttled, so a restart does not forgive a sweep or a spent quota.
//!
//! In a cluster ([`DataDir::shared`]) the daily quotas, the hourly private-lookup budget and
//! throttles are the deployment's, not one server's: each save merges what this server spent
//! into shared counters and takes back what every server spent, for every principal that called
//! it since the last merge, so a caller that spreads its calls over the servers gets one budget.
//! The server that throttles a principal merges at once; another server learns of it at its
//! first merge after that principal calls it, so it may answer up to a second of that
//! principal's calls first. The token bucket (per second) and sweep detection stay per server: a
//! sweep spread over a handful of servers still fills each one's blocks far above the
//! thresholds.

use super::role::Role;
use crate::clock::now_seconds;
use crate::ingest::Kind;
use crate::storage::{Counters, DataDir, Merge, write_private};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Why the limits or the limiter's saved counters cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum LimitsError {
    #[error("{path}: {source}")]
    Unreadable {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// Not JSON of role names to limits (`limits.json`), or not a state this leakdex wrote.
    #[error("{path}: {source}")]
    Malformed {
        path: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// What a role may do per principal.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoleLimits {
    /// Lookups (identifiers or records asked about, and the cost of searches) per second,
    /// sustained.
    pub per_second: f64,
    /// Lookups allowed at once above the sustained rate.
    pub burst: f64,
    pub daily_lookups: u64,
    pub daily_hits: u64,
    /// Private (hash-prefix) lookups per rolling hour.
    #[serde(default = "default_range_per_hour")]
    pub range_per_hour: u64,
    /// Whether a sweep throttles the principal, or is only put on the record. Investigators
    /// check seized dumps, which can hold an operator's numbering range densely: their sweeps
    /// are recorded, not refused.
    #[serde(default = "default_throttle_sweeps")]
    pub throttle_sweeps: bool,
}

fn default_range_per_hour() -> u64 {
    600
}

fn default_throttle_sweeps() -> bool {
    true
}

impl RoleLimits {
    pub fn default_for(role: Role) -> RoleLimits {
        let (per_second, burst, daily_lookups, daily_hits, range_per_hour) = match role {
            // Another agency's service: steady, bounded.
            Role::Partner => (1_000.0, 10_000.0, 1_000_000, 2_000_000, 600),
            Role::Analyst => (2_000.0, 20_000.0, 2_000_000, 5_000_000, 600),
            // Batch jobs over seized dumps: millions of identifiers at a time.
            Role::Investigator => (2_000_000.0, 4_000_000.0, 200_000_000, 1_000_000_000, 100_000),
            Role::Admin | Role::Ingest | Role::Monitor => (100.0, 1_000.0, 100_000, 100_000, 100),
        };
        RoleLimits {
            per_second,
            burst,
            daily_lookups,
            daily_hits,
            range_per_hour,
            throttle_sweeps: role != Role::Investigator,
        }
    }
}

/// What a call's identifiers did to sweep detection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sweep {
    /// No block of the numbering space filled.
    None,
    /// A sweep, recorded but not refused (the role's [`RoleLimits::throttle_sweeps`] is off).
    Noted,
    /// A sweep: the principal is throttled.
    Throttled,
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
    RangeLookups {
        per_hour: u64,
    },
    /// Throttled after a sweep of the identifier space.
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
            Refusal::RangeLookups { per_hour } => write!(
                f,
                "at most {per_hour} private lookups per hour; use BatchLookup for bulk work"
            ),
            Refusal::Enumeration { seconds_left } => write!(
                f,
                "throttled for {seconds_left} more seconds: the calls swept a range of identifiers (enumeration)"
            ),
        }
    }
}

/// How long a sweeping principal is throttled.
const THROTTLE: Duration = Duration::from_secs(15 * 60);

/// An identifier asked about, as a point of its numbering space: phones by their digits (with
/// the country code), Aadhaar numbers by their first eleven digits (the twelfth is a Verhoeff
/// check digit, so consecutive numbers differ in the eleventh).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Numbered {
    space: u8,
    number: u64,
}

impl Numbered {
    /// The point of a normalized phone (`+919812345678`) or Aadhaar number; `None` for any
    /// other kind or value.
    pub fn of(kind: Kind, normalized: &str) -> Option<Numbered> {
        match kind {
            Kind::Phone => Some(Numbered {
                space: 0,
                number: normalized.strip_prefix('+')?.parse().ok()?,
            }),
            Kind::NationalId if normalized.len() == 12 => Some(Numbered {
                space: 1,
                number: normalized.parse::<u64>().ok()? / 10,
            }),
            _ => None,
        }
    }

    /// The point of record `record` of a corpus's file: records read one number after another
    /// fill a block like consecutive phones do. Each file is a numbering space of its own (a
    /// keyless hash of its corpus and name: only block membership matters here).
    pub fn record(corpus: &str, file: &str, record: u64) -> Numbered {
        let mut hasher = std::hash::DefaultHasher::new();
        std::hash::Hash::hash(&(corpus, file), &mut hasher);
        let file_space = std::hash::Hasher::finish(&hasher) & 0xff_ffff;
        Numbered {
            space: 2,
            number: file_space << 40 | (record & 0xff_ffff_ffff),
        }
    }
}

/// Sweep detection by density: the distinct identifiers asked in each block of the numbering
/// space, at two scales, over a window that halves every [`DECAY`]. A bot walking a range, at
/// any stride up to 16 (small blocks) or 64 (large blocks), in passes, or hidden among random
/// decoys, fills its blocks; lookups spread over the space (a seized dump, an agency's
/// caseload) put a handful in each. Counters are indexed by a hash of the block, in fixed tables,
/// so memory per principal is bounded (about 1.2 MiB) whatever it asks.
#[derive(Clone, Serialize, Deserialize)]
struct Density {
    /// Distinct identifiers per small block (2^10 numbers), saturating.
    small: Vec<u8>,
    /// Distinct identifiers per large block (2^16 numbers), saturating.
    large: Vec<u16>,
    /// Which identifiers were counted in this window and the one before (two Bloom filters),
    /// so a list asked again every few minutes is not counted again; rebuilt, not saved.
    #[serde(skip)]
    seen: [Vec<u64>; 2],
    /// Seconds since the epoch of the last halving.
    decayed: u64,
}

const SLOTS: usize = 1 << 16;
const SMALL_SHIFT: u32 = 10;
const LARGE_SHIFT: u32 = 16;
/// Distinct identifiers in one small block (of 1,024) that make a sweep: 4.7% of it.
const SWEEP_SMALL: u8 = 48;
/// Distinct identifiers in one large block (of 65,536) that make a sweep: 1.2% of it.
const SWEEP_LARGE: u16 = 768;
/// Bits of each Bloom filter: at 1,000 lookups a second for two whole windows, about 1% of new
/// identifiers are taken for repeats and not counted.
const SEEN_BITS: usize = 1 << 22;
const DECAY: Duration = Duration::from_secs(5 * 60);

/// A 64-bit mix (splitmix64's finalizer): spreads blocks and identifiers over the tables.
fn mix(mut value: u64) -> u64 {
    value = (value ^ (value >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    value = (value ^ (value >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    value ^ (value >> 31)
}

impl Density {
    fn new(now: u64) -> Density {
        Density {
            small: vec![0; SLOTS],
            large: vec![0; SLOTS],
            seen: [vec![0; SEEN_BITS / 64], vec![0; SEEN_BITS / 64]],
            decayed: now,
        }
    }

    /// Halves the counters once per [`DECAY`] elapsed and forgets which identifiers were seen.
    fn decay(&mut self, now: u64) {
        for window in &mut self.seen {
            if window.len() != SEEN_BITS / 64 {
                *window = vec![0; SEEN_BITS / 64];
            }
        }
        let periods = now.saturating_sub(self.decayed) / DECAY.as_secs();
        if periods == 0 {
            return;
        }
        let shift = periods.min(16) as u32;
        self.small
            .iter_mut()
            .for_each(|count| *count = count.checked_shr(shift).unwrap_or(0));
        self.large
            .iter_mut()
            .for_each(|count| *count = count.checked_shr(shift).unwrap_or(0));
        let [current, previous] = &mut self.seen;
        std::mem::swap(current, previous);
        current.iter_mut().for_each(|bits| *bits = 0);
        if periods > 1 {
            previous.iter_mut().for_each(|bits| *bits = 0);
        }
        self.decayed += periods * DECAY.as_secs();
    }

    /// Counts one identifier; returns whether its blocks now hold a sweep.
    fn count(&mut self, point: Numbered) -> bool {
        let tag = u64::from(point.space) << 56;
        let hash = mix(point.number ^ tag);
        let bits = [hash, hash.rotate_left(21), hash.rotate_left(42)].map(|bits| bits as usize % SEEN_BITS);
        let seen_in = |window: &Vec<u64>| bits.iter().all(|bit| window[bit / 64] & (1 << (bit % 64)) != 0);
        if seen_in(&self.seen[0]) {
            return false;
        }
        // Asked in the window before: carried into this one, not counted again.
        let repeated = seen_in(&self.seen[1]);
        for bit in bits {
            self.seen[0][bit / 64] |= 1 << (bit % 64);
        }
        if repeated {
            return false;
        }
        let small = &mut self.small[mix(tag | 1 << 48 | point.number >> SMALL_SHIFT) as usize % SLOTS];
        *small = small.saturating_add(1);
        let large = &mut self.large[mix(tag | 2 << 48 | point.number >> LARGE_SHIFT) as usize % SLOTS];
        *large = large.saturating_add(1);
        *small >= SWEEP_SMALL || *large >= SWEEP_LARGE
    }
}

#[derive(Serialize, Deserialize)]
struct PrincipalState {
    tokens: f64,
    #[serde(skip, default = "Instant::now")]
    refilled: Instant,
    day: u64,
    lookups_today: u64,
    hits_today: u64,
    /// Private lookups in the current hour: (hour since the epoch, count).
    range_hour: (u64, u64),
    /// Seconds since the epoch until which the principal is throttled.
    throttled_until: Option<u64>,
    density: Option<Box<Density>>,
    /// What this server spent since its last merge with the cluster's counters.
    #[serde(skip)]
    unshared: Unshared,
}

/// A principal's spending not yet merged into the cluster's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Unshared {
    lookups: u64,
    hits: u64,
    range: u64,
    /// Set when this server throttled the principal.
    throttled: bool,
    /// Set by every call: a principal that calls is brought up to date with what the other
    /// servers spent at the next merge, even when it spent nothing here (it was refused).
    called: bool,
}

/// The limiter of a server.
pub struct Limiter {
    limits: HashMap<Role, RoleLimits>,
    state: Mutex<HashMap<String, PrincipalState>>,
    /// Where the counters are kept; `None` keeps them in memory only.
    path: Option<PathBuf>,
    changed: AtomicBool,
    /// In a cluster, the counters every server merges its spending into.
    shared: Option<Arc<dyn Counters>>,
    /// Held by the merge with them.
    merging: Mutex<()>,
}

fn today() -> u64 {
    now_seconds() / 86_400
}

impl Limiter {
    /// A limiter with these limits whose counters live in memory only.
    pub fn new(limits: HashMap<Role, RoleLimits>) -> Limiter {
        Limiter {
            limits,
            state: Mutex::new(HashMap::new()),
            path: None,
            changed: AtomicBool::new(false),
            shared: None,
            merging: Mutex::new(()),
        }
    }

    /// The limits of `DATA/limits.json`, with defaults for roles it does not name, and the
    /// counters saved in `DATA/limits.state`.
    ///
    /// Errors: [`LimitsError`] naming either file, unreadable or malformed.
    pub fn configured(data: &DataDir) -> Result<Limiter, LimitsError> {
        let path = data.root().join("limits.json");
        let mut limits: HashMap<Role, RoleLimits> = Role::ALL
            .into_iter()
            .map(|role| (role, RoleLimits::default_for(role)))
            .collect();
        match std::fs::read(&path) {
            Ok(bytes) => {
                // A role's entry overrides the fields it names; the others keep the role's
                // defaults (not the serde defaults, which know no role).
                let bad = |error: serde_json::Error| LimitsError::Malformed {
                    path: path.display().to_string(),
                    source: Box::new(error),
                };
                let configured: HashMap<Role, serde_json::Map<String, serde_json::Value>> =
                    serde_json::from_slice(&bytes).map_err(bad)?;
                for (role, fields) in configured {
                    let mut merged = match serde_json::to_value(RoleLimits::default_for(role)).map_err(bad)? {
                        serde_json::Value::Object(map) => map,
                        _ => serde_json::Map::new(),
                    };
                    merged.extend(fields);
                    limits.insert(
                        role,
                        serde_json::from_value(serde_json::Value::Object(merged)).map_err(bad)?,
                    );
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(LimitsError::Unreadable {
                    path: path.display().to_string(),
                    source,
                });
            }
        }
        let state_path = data.root().join("limits.state");
        let state = match std::fs::read(&state_path) {
            Ok(bytes) => zstd::decode_all(bytes.as_slice())
                .map_err(|error| -> Box<dyn std::error::Error + Send + Sync> { Box::new(error) })
                .and_then(|plain| postcard::from_bytes(&plain).map_err(|error| error.into()))
                .map_err(|source| LimitsError::Malformed {
                    path: state_path.display().to_string(),
                    source,
                })?,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => HashMap::new(),
            Err(source) => {
                return Err(LimitsError::Unreadable {
                    path: state_path.display().to_string(),
                    source,
                });
            }
        };
        Ok(Limiter {
            limits,
            state: Mutex::new(state),
            path: Some(state_path),
            changed: AtomicBool::new(false),
            shared: data.shared().cloned().map(|shared| -> Arc<dyn Counters> { shared }),
            merging: Mutex::new(()),
        })
    }

    /// Writes the counters if they changed since the last save (atomically, owner-only), after
    /// merging them with the cluster's (see the module).
    ///
    /// Errors: the state file cannot be written; the cluster's counters cannot be reached
    /// (what this server spent is kept for the next save).
    pub fn save(&self) -> std::io::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        if !self.changed.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        // This server's own state is written even when the cluster's counters are out of
        // reach: a restart must not forgive what it counted.
        let shared = self.share();
        if shared.is_err() {
            self.changed.store(true, Ordering::Release);
        }
        self.write_state(path)?;
        shared.map_err(std::io::Error::other)
    }

    /// Writes the counters to `path`, atomically and owner-only.
    fn write_state(&self, path: &std::path::Path) -> std::io::Result<()> {
        let plain = {
            let states = self.state.lock().unwrap_or_else(|poison| poison.into_inner());
            postcard::to_stdvec(&*states).map_err(std::io::Error::other)?
        };
        let packed = zstd::encode_all(plain.as_slice(), 3)?;
        write_private(path, &packed).inspect_err(|_| self.changed.store(true, Ordering::Release))
    }

    /// Merges every principal's unshared spending into the cluster's counters and takes back
    /// the totals of every server.
    fn share(&self) -> Result<(), crate::storage::DocumentError> {
        let Some(shared) = &self.shared else {
            return Ok(());
        };
        // One merge at a time: totals taken back by an earlier merge must not land after a
        // later one's.
        let _merging = self.merging.lock().unwrap_or_else(|poison| poison.into_inner());
        let now = now_seconds();
        // (principal, the day and hour its spending counts against, the spending, until when
        // this server throttled it).
        let taken: Vec<(String, (u64, u64), Unshared, u64)> = {
            let mut states = self.state.lock().unwrap_or_else(|poison| poison.into_inner());
            states
                .iter_mut()
                .filter(|(_, state)| state.unshared != Unshared::default())
                .map(|(principal, state)| {
                    let throttle = match state.unshared.throttled {
                        true => state.throttled_until.unwrap_or(0),
                        false => 0,
                    };
                    // Unshared private lookups are always of the hour the state counts.
                    let hour = match state.unshared.range {
                        0 => now / 3600,
                        _ => state.range_hour.0,
                    };
                    (
                        principal.clone(),
                        (state.day, hour),
                        std::mem::take(&mut state.unshared),
                        throttle,
                    )
                })
                .collect()
        };
        if taken.is_empty() {
            return Ok(());
        }
        let signed = |count: u64| count.min(i64::MAX as u64) as i64;
        let mut changes = Vec::with_capacity(taken.len() * 4);
        for (principal, (day, hour), unshared, throttle) in &taken {
            let (kept_until_day, throttle) = ((day + 2) * 86_400, *throttle);
            changes.extend([
                (
                    format!("lookups:{day}:{principal}"),
                    Merge::Add(signed(unshared.lookups)),
                    kept_until_day,
                ),
                (
                    format!("hits:{day}:{principal}"),
                    Merge::Add(signed(unshared.hits)),
                    kept_until_day,
                ),
                (
                    format!("range:{hour}:{principal}"),
                    Merge::Add(signed(unshared.range)),
                    (hour + 2) * 3600,
                ),
                (
                    format!("throttle:{principal}"),
                    Merge::Max(signed(throttle)),
                    throttle.max(now),
                ),
            ]);
        }
        let totals = match shared.merge(&changes) {
            Ok(totals) => totals,
            Err(error) => {
                // Kept for the next merge, unless its day or hour is over meanwhile.
                let mut states = self.state.lock().unwrap_or_else(|poison| poison.into_inner());
                for (principal, (day, hour), unshared, _) in taken {
                    if let Some(state) = states.get_mut(&principal) {
                        state.unshared.throttled |= unshared.throttled;
                        state.unshared.called |= unshared.called;
                        if state.day == day {
                            state.unshared.lookups += unshared.lookups;
                            state.unshared.hits += unshared.hits;
                        }
                        if state.range_hour.0 == hour {
                            state.unshared.range += unshared.range;
                        }
                    }
                }
                return Err(error);
            }
        };
        let mut states = self.state.lock().unwrap_or_else(|poison| poison.into_inner());
        for ((principal, (day, hour), _, _), totals) in taken.iter().zip(totals.chunks_exact(4)) {
            let Some(state) = states.get_mut(principal) else {
                continue;
            };
            let total = |index: usize| totals[index].max(0) as u64;
            // What this server spent while the merge ran is not in the totals yet.
            if state.day == *day {
                state.lookups_today = total(0) + state.unshared.lookups;
                state.hits_today = total(1) + state.unshared.hits;
            }
            match state.range_hour.0.cmp(hour) {
                std::cmp::Ordering::Equal => state.range_hour.1 = total(2) + state.unshared.range,
                std::cmp::Ordering::Less if total(2) > 0 => state.range_hour = (*hour, total(2)),
                _ => {}
            }
            if total(3) > now {
                state.throttled_until = state.throttled_until.max(Some(total(3)));
            }
        }
        Ok(())
    }

    fn limits(&self, role: Role) -> RoleLimits {
        self.limits
            .get(&role)
            .copied()
            .unwrap_or_else(|| RoleLimits::default_for(role))
    }

    /// Runs `change` on the principal's counters (created full for a new principal).
    fn with_state<T>(&self, principal: &str, role: Role, change: impl FnOnce(&mut PrincipalState) -> T) -> T {
        let burst = self.limits(role).burst;
        let mut states = self.state.lock().unwrap_or_else(|poison| poison.into_inner());
        let state = states.entry(principal.to_string()).or_insert_with(|| PrincipalState {
            tokens: burst,
            refilled: Instant::now(),
            day: today(),
            lookups_today: 0,
            hits_today: 0,
            range_hour: (0, 0),
            throttled_until: None,
            density: None,
            unshared: Unshared::default(),
        });
        self.changed.store(true, Ordering::Release);
        state.unshared.called = true;
        change(state)
    }

    /// Admits `lookups` lookups by `principal`, or says why not.
    pub fn admit(&self, principal: &str, role: Role, lookups: u64) -> Result<(), Refusal> {
        let limits = self.limits(role);
        let now = Instant::now();
        self.with_state(principal, role, |state| {
            throttled(state)?;
            if state.day != today() {
                (state.day, state.lookups_today, state.hits_today) = (today(), 0, 0);
                (state.unshared.lookups, state.unshared.hits) = (0, 0);
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
            state.unshared.lookups += lookups;
            Ok(())
        })
    }

    /// Admits one private (hash-prefix) lookup against the hourly budget and the rate limit.
    pub fn admit_range(&self, principal: &str, role: Role) -> Result<(), Refusal> {
        let per_hour = self.limits(role).range_per_hour;
        let hour = now_seconds() / 3600;
        let spent = |state: &PrincipalState| {
            if state.range_hour.0 == hour {
                state.range_hour.1
            } else {
                0
            }
        };
        self.with_state(principal, role, |state| {
            throttled(state)?;
            if spent(state) >= per_hour {
                return Err(Refusal::RangeLookups { per_hour });
            }
            Ok(())
        })?;
        // Spent only once the call is admitted by the rate and quotas as well.
        self.admit(principal, role, 1)?;
        self.with_state(principal, role, |state| {
            if state.range_hour.0 != hour {
                // The hour before is over: what of it was not merged no longer counts.
                state.unshared.range = 0;
            }
            state.range_hour = (hour, spent(state) + 1);
            state.unshared.range += 1;
        });
        Ok(())
    }

    /// Counts the hits of an answered call against the daily quota.
    pub fn count_hits(&self, principal: &str, role: Role, hits: u64) {
        self.with_state(principal, role, |state| {
            state.hits_today += hits;
            state.unshared.hits += hits;
        });
    }

    /// Watches the identifiers a principal asked about; a sweep throttles it (or, for a role
    /// that is not throttled, is only reported). Returns what this call did.
    pub fn watch(&self, principal: &str, role: Role, points: impl Iterator<Item = Numbered>) -> Sweep {
        let now = now_seconds();
        let mut points = points.peekable();
        if points.peek().is_none() {
            return Sweep::None;
        }
        let throttle = self.limits(role).throttle_sweeps;
        let swept = self.with_state(principal, role, |state| {
            let density = state.density.get_or_insert_with(|| Box::new(Density::new(now)));
            density.decay(now);
            let mut swept = false;
            for point in points {
                swept |= density.count(point);
            }
            if swept {
                if throttle {
                    state.throttled_until = Some(now + THROTTLE.as_secs());
                    state.unshared.throttled = true;
                }
                state.density = None;
            }
            swept
        });
        match (swept, throttle) {
            (false, _) => Sweep::None,
            (true, false) => Sweep::Noted,
            (true, true) => {
                if let Err(error) = self.save() {
                    tracing::error!(%error, "the limiter's state cannot be saved");
                }
                Sweep::Throttled
            }
        }
    }
}

fn throttled(state: &mut PrincipalState) -> Result<(), Refusal> {
    let now = now_seconds();
    match state.throttled_until {
        Some(until) if until > now => Err(Refusal::Enumeration {
            seconds_left: (until - now).max(1),
        }),
        Some(_) => {
            state.throttled_until = None;
            Ok(())
        }
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_second: f64, burst: f64, daily_lookups: u64, daily_hits: u64) -> HashMap<Role, RoleLimits> {
        HashMap::from([(
            Role::Partner,
            RoleLimits {
                per_second,
                burst,
                daily_lookups,
                daily_hits,
                range_per_hour: 5,
                throttle_sweeps: true,
            },
        )])
    }

    fn limiter(per_second: f64, burst: f64, daily_lookups: u64, daily_hits: u64) -> Limiter {
        Limiter::new(limits(per_second, burst, daily_lookups, daily_hits))
    }

    /// Shared counters that fail while `down` is set.
    #[derive(Debug, Default)]
    struct Flaky {
        counters: Mutex<HashMap<String, i64>>,
        down: AtomicBool,
    }

    impl Counters for Flaky {
        fn merge(&self, changes: &[(String, Merge, u64)]) -> Result<Vec<i64>, crate::storage::DocumentError> {
            if self.down.load(Ordering::Acquire) {
                return Err(crate::storage::DocumentError::Refused("the database is down".into()));
            }
            let mut counters = self.counters.lock().unwrap();
            Ok(changes
                .iter()
                .map(|(name, change, _)| {
                    let counter = counters.entry(name.clone()).or_default();
                    match change {
                        Merge::Add(value) => *counter += value,
                        Merge::Max(value) => *counter = (*counter).max(*value),
                    }
                    *counter
                })
                .collect())
        }
    }

    #[test]
    fn spending_is_kept_while_the_shared_counters_are_out_of_reach() {
        let dir = tempfile::tempdir().unwrap();
        let flaky = Arc::new(Flaky::default());
        let limiter = Limiter {
            path: Some(dir.path().join("limits.state")),
            shared: Some(flaky.clone()),
            ..limiter(1e9, 1e9, 1_000, 1_000)
        };
        limiter.admit("agency", Role::Partner, 10).unwrap();
        flaky.down.store(true, Ordering::Release);
        assert!(limiter.save().is_err());
        // This server's own count is on disk all the same.
        assert!(dir.path().join("limits.state").exists());
        limiter.admit("agency", Role::Partner, 5).unwrap();
        flaky.down.store(false, Ordering::Release);
        limiter.save().unwrap();
        let lookups = flaky.counters.lock().unwrap()[&format!("lookups:{}:agency", today())];
        assert_eq!(lookups, 15, "merged once each, nothing lost");
        limiter.save().unwrap();
        assert_eq!(
            flaky.counters.lock().unwrap()[&format!("lookups:{}:agency", today())],
            15
        );
    }

    fn phones(numbers: impl Iterator<Item = u64>) -> impl Iterator<Item = Numbered> {
        numbers.map(|number| Numbered { space: 0, number })
    }

    /// A xorshift stream of numbers in [base, base + span).
    fn random(seed: u64, base: u64, span: u64) -> impl Iterator<Item = u64> {
        let mut state = seed;
        std::iter::repeat_with(move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            base + state % span
        })
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
        quota.count_hits("a", Role::Partner, 50);
        assert_eq!(
            quota.admit("a", Role::Partner, 1),
            Err(Refusal::DailyHits { quota: 50 })
        );
        // Private lookups have an hourly budget of their own.
        let range = limiter(1e9, 1e9, u64::MAX, u64::MAX);
        for _ in 0..5 {
            assert_eq!(range.admit_range("a", Role::Partner), Ok(()));
        }
        assert_eq!(
            range.admit_range("a", Role::Partner),
            Err(Refusal::RangeLookups { per_hour: 5 })
        );
        assert_eq!(range.admit("a", Role::Partner, 1), Ok(()));
    }

    #[test]
    fn spread_out_and_repeated_lookups_are_not_a_sweep() {
        let limits = limiter(1e9, 1e9, u64::MAX, u64::MAX);
        // 300,000 random Indian mobiles (a window's worth at 1,000 a second), a regional dump
        // of 100,000 numbers within 10^8, and one number asked many times.
        assert_eq!(
            limits.watch(
                "agency",
                Role::Partner,
                phones(random(7, 916_000_000_000, 4_000_000_000).take(300_000))
            ),
            Sweep::None
        );
        assert_eq!(
            limits.watch(
                "region",
                Role::Partner,
                phones(random(9, 919_800_000_000, 100_000_000).take(100_000))
            ),
            Sweep::None
        );
        assert_eq!(
            limits.watch(
                "agency",
                Role::Partner,
                phones(std::iter::repeat_n(919_812_345_678, 5000))
            ),
            Sweep::None
        );
        assert_eq!(limits.admit("agency", Role::Partner, 1), Ok(()));
        assert_eq!(limits.admit("region", Role::Partner, 1), Ok(()));
    }

    #[test]
    fn sweeps_are_caught_at_any_small_stride_in_passes_and_among_decoys() {
        let caught_after = |name: &str, numbers: Vec<u64>| -> Option<usize> {
            let limits = limiter(1e9, 1e9, u64::MAX, u64::MAX);
            for (asked, chunk) in numbers.chunks(20).enumerate() {
                if limits.watch(name, Role::Partner, phones(chunk.iter().copied())) == Sweep::Throttled {
                    assert!(matches!(
                        limits.admit(name, Role::Partner, 1),
                        Err(Refusal::Enumeration { .. })
                    ));
                    return Some((asked + 1) * 20);
                }
            }
            None
        };
        let base = 919_812_300_000u64;
        // Consecutive; stride 4 in four passes over 40,000 numbers; stride 50.
        assert!(caught_after("walk", (base..base + 1000).collect()).is_some_and(|asked| asked <= 100));
        let passes: Vec<u64> = (0..4)
            .flat_map(|pass| (0..10_000).map(move |step| base + pass + 4 * step))
            .collect();
        assert!(caught_after("stride", passes).is_some_and(|asked| asked <= 400));
        assert!(caught_after("wide", (0..3000).map(|step| base + 50 * step).collect()).is_some());
        // One real number among 44 random decoys, 3,000 consecutive real ones.
        let mut decoys = random(3, 916_000_000_000, 4_000_000_000);
        let hidden: Vec<u64> = (0..3000)
            .flat_map(|step| std::iter::once(base + step).chain(decoys.by_ref().take(44).collect::<Vec<_>>()))
            .collect();
        assert!(caught_after("hidden", hidden).is_some_and(|asked| asked <= 45 * 100));
        // Consecutive valid Aadhaar numbers: one in ten 12-digit numbers.
        let limits = limiter(1e9, 1e9, u64::MAX, u64::MAX);
        let aadhaar: Vec<Numbered> = (234_567_890_000u64..234_567_900_000)
            .map(|number| number.to_string())
            .filter(|digits| crate::ingest::normalize::is_aadhaar(digits))
            .filter_map(|digits| Numbered::of(Kind::NationalId, &digits))
            .collect();
        let caught = aadhaar
            .chunks(10)
            .position(|chunk| limits.watch("ids", Role::Partner, chunk.iter().copied()) == Sweep::Throttled);
        assert!(caught.is_some_and(|chunks| chunks * 10 <= 60), "{caught:?}");
        // An investigator's sweep is reported, not refused.
        let limits = Limiter::new(HashMap::from([(
            Role::Investigator,
            RoleLimits::default_for(Role::Investigator),
        )]));
        let noted = limits.watch(
            "seized-dump",
            Role::Investigator,
            phones(919_812_300_000..919_812_300_100),
        );
        assert_eq!(noted, Sweep::Noted);
        assert_eq!(limits.admit("seized-dump", Role::Investigator, 1), Ok(()));
    }

    #[test]
    fn a_list_asked_again_every_window_is_not_a_sweep() {
        let mut density = Density::new(0);
        let list: Vec<Numbered> = phones((0..40).map(|step| 919_812_300_000 + 7 * step)).collect();
        for window in 0..12u64 {
            density.decay(window * DECAY.as_secs());
            for point in &list {
                assert!(!density.count(*point), "window {window}");
            }
        }
    }

    #[test]
    fn a_partial_role_entry_keeps_the_role_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::open(dir.path()).unwrap();
        std::fs::write(
            data.root().join("limits.json"),
            r#"{"investigator": {"per_second": 5.0}}"#,
        )
        .unwrap();
        let limiter = Limiter::configured(&data).unwrap();
        let limits = limiter.limits(Role::Investigator);
        assert_eq!(limits.per_second, 5.0);
        assert!(!limits.throttle_sweeps);
        assert_eq!(
            limits.range_per_hour,
            RoleLimits::default_for(Role::Investigator).range_per_hour
        );
    }

    #[test]
    fn counters_and_throttles_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::open(dir.path()).unwrap();
        std::fs::write(
            data.root().join("limits.json"),
            serde_json::to_vec(&limits(1e9, 1e9, 100, u64::MAX)).unwrap(),
        )
        .unwrap();
        let first = Limiter::configured(&data).unwrap();
        assert_eq!(first.admit("quota", Role::Partner, 90), Ok(()));
        assert_eq!(
            first.watch("bot", Role::Partner, phones(919_812_300_000..919_812_300_100)),
            Sweep::Throttled
        );
        first.save().unwrap();
        let second = Limiter::configured(&data).unwrap();
        assert_eq!(
            second.admit("quota", Role::Partner, 20),
            Err(Refusal::DailyLookups { quota: 100 })
        );
        assert!(matches!(
            second.admit("bot", Role::Partner, 1),
            Err(Refusal::Enumeration { .. })
        ));
    }
}
