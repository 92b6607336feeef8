//! Times: Unix seconds in the store, `YYYY-MM-DDTHH:MM:SSZ` and `YYYY-MM-DD` on the wire.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use std::fmt::Write;

/// `YYYY-MM-DDTHH:MM:SSZ`. Written field by field: every time cell of every answer goes
/// through here, and a format string is parsed on each call (it showed in `serve` profiles).
pub fn iso(t: i64) -> String {
    let Some(d) = DateTime::<Utc>::from_timestamp(t, 0) else {
        return String::new();
    };
    // Digits written by hand for the usual years (`write!` with padding was ~3 % of a cheap
    // `backlinks` request's CPU on `serve`); other years through `write!`.
    if (0..=9999).contains(&d.year()) {
        let mut b = *b"0000-00-00T00:00:00Z";
        let mut put = |at: usize, n: u32, width: usize| {
            let mut n = n;
            for i in (at..at + width).rev() {
                b[i] = b'0' + (n % 10) as u8;
                n /= 10;
            }
        };
        put(0, d.year() as u32, 4);
        put(5, d.month(), 2);
        put(8, d.day(), 2);
        put(11, d.hour(), 2);
        put(14, d.minute(), 2);
        put(17, d.second(), 2);
        return String::from_utf8_lossy(&b).into_owned();
    }
    let mut s = String::with_capacity(20);
    let _ = write!(
        s,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        d.year(),
        d.month(),
        d.day(),
        d.hour(),
        d.minute(),
        d.second()
    );
    s
}

/// `YYYY-MM-DD`.
pub fn date(t: i64) -> String {
    let Some(d) = DateTime::<Utc>::from_timestamp(t, 0) else {
        return String::new();
    };
    let mut s = String::with_capacity(10);
    let _ = write!(s, "{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
    s
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
        assert_eq!(iso(1_709_258_461), "2024-03-01T02:01:01Z");
        assert_eq!(iso(-1), "1969-12-31T23:59:59Z");
        assert_eq!(date(1_709_258_461), "2024-03-01");
        assert_eq!(date(86_400 * 365), "1971-01-01");
        assert_eq!(parse("2024-03-01"), Some(1_709_251_200));
        assert_eq!(parse("2024-03-01T00:00:00Z"), Some(1_709_251_200));
        assert_eq!(parse("2024-03-01T01:00:00+01:00"), Some(1_709_251_200));
        assert_eq!(parse("yesterday"), None);
        assert_eq!(day(-1), -1);
    }

    #[test]
    fn hand_written_digits_match_chrono_for_every_year() {
        let mut t = -62_167_219_200 - 86_400 * 400; // before year 0: the `write!` path
        while t < 253_402_300_800 + 86_400 * 400 {
            let d = DateTime::<Utc>::from_timestamp(t, 0).expect("in range");
            let want = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                d.year(),
                d.month(),
                d.day(),
                d.hour(),
                d.minute(),
                d.second()
            );
            assert_eq!(iso(t), want, "{t}");
            t += 86_400 * 37 + 3_671;
        }
        assert_eq!(iso(253_402_300_800), "10000-01-01T00:00:00Z");
        assert_eq!(iso(1_793_491_200 + 3_599), "2026-11-01T00:59:59Z");
    }
}
