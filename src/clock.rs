//! The clock: the time as leakdex writes it into catalogs, segment manifests, tokens and the
//! audit log, and as counters, limits and segment ids count it.

/// The current time as RFC 3339 UTC, to the second (`2026-11-27T19:56:26Z`).
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Seconds since the Unix epoch (0 for a clock set before it).
pub fn now_seconds() -> u64 {
    now_millis() / 1000
}

/// Milliseconds since the Unix epoch (0 for a clock set before it).
pub fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}
