//! The time as leakdex writes it into catalogs, segment manifests, tokens and the audit log.

/// The current time as RFC 3339 UTC, to the second (`2026-11-27T19:56:26Z`).
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
