//! Times: Unix seconds in the store, `YYYY-MM-DDTHH:MM:SSZ` and `YYYY-MM-DD` on the wire.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use std::fmt::Write;

/// `YYYY-MM-DDTHH:MM:SSZ`. Written field by field: every time cell of every answer goes
/// through here, and a format string is parsed on each call (it showed in `serve` profiles).
pub fn iso(t: i64) -> String {
    if let Some(b) = iso_digits(t) {
        return b.iter().map(|&c| char::from(c)).collect();
    }
    iso_by_chrono(t).unwrap_or_default()
}

/// [`iso`] through chrono and `write!`: years outside 0–9999, and the definition the
/// hand-written digits are tested against.
fn iso_by_chrono(t: i64) -> Option<String> {
    let d = DateTime::<Utc>::from_timestamp(t, 0)?;
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
    Some(s)
}

/// [`iso`]'s 20 ASCII bytes for years 0 to 9999, written by hand from the civil-date
/// arithmetic (chrono's conversion and `write!` with padding were ~5 % of a cheap `backlinks`
/// request's instructions on `serve`); `None` for other years.
pub fn iso_digits(t: i64) -> Option<[u8; 20]> {
    let (year, month, day) = civil(t.div_euclid(86_400));
    if !(0..=9999).contains(&year) {
        return None;
    }
    let secs = t.rem_euclid(86_400) as u32;
    let mut b = *b"0000-00-00T00:00:00Z";
    let mut put = |at: usize, n: u32, width: usize| {
        let mut n = n;
        for i in (at..at + width).rev() {
            b[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    put(0, year as u32, 4);
    put(5, month, 2);
    put(8, day, 2);
    put(11, secs / 3600, 2);
    put(14, secs / 60 % 60, 2);
    put(17, secs % 60, 2);
    Some(b)
}

/// (year, month, day) of a day number (days since 1970-01-01), proleptic Gregorian: Howard
/// Hinnant's `civil_from_days`.
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
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
            let want = iso_by_chrono(t).expect("in range");
            assert_eq!(iso(t), want, "{t}");
            t += 86_400 * 37 + 3_671; // every month, day and second offset over the years
        }
        assert_eq!(iso(253_402_300_800), "10000-01-01T00:00:00Z");
        assert_eq!(iso(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso(-2_203_891_200), "1900-03-01T00:00:00Z");
        assert_eq!(iso(4_107_542_399), "2100-02-28T23:59:59Z");
        assert_eq!(iso(1_793_491_200 + 3_599), "2026-11-01T00:59:59Z");
    }
}
