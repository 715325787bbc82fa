//! Timestamps as clients read them: the reference server's form, which Python writes with
//! `datetime.now(timezone.utc).isoformat()`: UTC, microseconds and a `+00:00` offset, as in
//! `2026-12-06T23:40:00.616448+00:00`.
//!
//! That is the form every Python client can parse: `datetime.fromisoformat` before Python 3.11
//! accepts only 3 or 6 fractional digits and no `Z`, so RFC 3339 with nanoseconds and `Z`
//! (what `time` writes by default) fails there. Unlike Python, the microseconds are always
//! written, even when they are zero, so every timestamp has the same width; the fraction is
//! truncated, not rounded, as Python's own clock has no finer digits.
//!
//! Every timestamp a client sees goes through [`iso`]: error envelopes, `created_at`,
//! `evaluation_timestamp`, `last_cleanup`, the exported matrix.

use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// `at`, in UTC, as `YYYY-MM-DDTHH:MM:SS.ffffff+00:00`.
pub fn iso(at: OffsetDateTime) -> String {
    let format = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]+00:00"
    );
    // Formatting a four-digit year with these components cannot fail; a year outside
    // 0..=9999 has no ISO form Python reads either, so it degrades to the RFC 3339 text.
    let utc = at.to_offset(UtcOffset::UTC);
    utc.format(format).unwrap_or_else(|_| utc.to_string())
}

/// Now, as [`iso`] writes it.
pub fn now() -> String {
    iso(OffsetDateTime::now_utc())
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    /// Whether `text` is a timestamp Python 3.10's `datetime.fromisoformat` reads, with the
    /// offset it writes for UTC: date, `T`, time with 6 fractional digits, `+00:00`.
    fn python_310_reads(text: &str) -> bool {
        let bytes = text.as_bytes();
        let digits = |range: std::ops::Range<usize>| bytes[range].iter().all(u8::is_ascii_digit);
        bytes.len() == 32
            && digits(0..4)
            && bytes[4] == b'-'
            && digits(5..7)
            && bytes[7] == b'-'
            && digits(8..10)
            && bytes[10] == b'T'
            && digits(11..13)
            && bytes[13] == b':'
            && digits(14..16)
            && bytes[16] == b':'
            && digits(17..19)
            && bytes[19] == b'.'
            && digits(20..26)
            && &text[26..] == "+00:00"
    }

    #[test]
    fn microseconds_and_a_utc_offset_as_python_writes_them() {
        let at = datetime!(2026-12-06 23:40:00.616448907 UTC);
        assert_eq!(iso(at), "2026-12-06T23:40:00.616448+00:00");
        assert!(python_310_reads(&iso(at)));
    }

    #[test]
    fn whole_seconds_keep_their_six_digits_and_other_offsets_become_utc() {
        assert_eq!(
            iso(datetime!(2026-01-01 00:00 UTC)),
            "2026-01-01T00:00:00.000000+00:00"
        );
        assert_eq!(
            iso(datetime!(2026-01-01 01:30:05.5 +01:30)),
            "2026-01-01T00:00:05.500000+00:00"
        );
        assert!(python_310_reads(&now()), "{}", now());
    }
}
