//! Times: Unix seconds in the store, `YYYY-MM-DDTHH:MM:SSZ` and `YYYY-MM-DD` on the wire.

use chrono::{DateTime, NaiveDate, Utc};

/// `YYYY-MM-DDTHH:MM:SSZ`.
pub fn iso(t: i64) -> String {
    DateTime::<Utc>::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// `YYYY-MM-DD`.
pub fn date(t: i64) -> String {
    DateTime::<Utc>::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// Day number (days since 1970-01-01) of a time.
pub fn day(t: i64) -> i64 {
    t.div_euclid(86_400)
}

/// Parse an RFC 3339 time or a `YYYY-MM-DD` date (00:00:00Z) into Unix seconds.
pub fn parse(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.timestamp());
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp());
    }
    if let Ok(d) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S") {
        return Some(d.and_utc().timestamp());
    }
    if let Ok(d) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S") {
        return Some(d.and_utc().timestamp());
    }
    None
}

/// Now, Unix seconds.
pub fn now() -> i64 {
    Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(date(86_400 * 365), "1971-01-01");
        assert_eq!(parse("2024-03-01"), Some(1_709_251_200));
        assert_eq!(parse("2024-03-01T00:00:00Z"), Some(1_709_251_200));
        assert_eq!(parse("2024-03-01T01:00:00+01:00"), Some(1_709_251_200));
        assert_eq!(parse("yesterday"), None);
        assert_eq!(day(-1), -1);
    }
}
