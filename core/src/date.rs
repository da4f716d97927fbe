//! Dates taken, as the catalog stores them: a camera's local date and time (EXIF records no zone)
//! counted in seconds from 1970-01-01 00:00 as if it were UTC, so sorting and day filters see the
//! clock the photographer saw. Parsing and calendar checks are jiff's.

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;

/// Seconds of a civil date and time, read as UTC.
pub fn seconds(at: DateTime) -> i64 {
    // Every civil datetime jiff accepts (years -9999..=9999) has a UTC timestamp.
    TimeZone::UTC.to_timestamp(at).map_or(0, |t| t.as_second())
}

/// Stored seconds as the camera's clock showed them: `2021-06-15T14:30:00`.
pub fn text(seconds: i64) -> Option<String> {
    let at = jiff::Timestamp::from_second(seconds).ok()?;
    Some(TimeZone::UTC.to_datetime(at).to_string())
}

/// A moment (unix seconds, as the catalog records events such as a folder going offline) for a
/// person: `2026-12-02 08:15 UTC`.
pub fn moment(unix_seconds: i64) -> Option<String> {
    let at = jiff::Timestamp::from_second(unix_seconds).ok()?;
    Some(at.strftime("%Y-%m-%d %H:%M UTC").to_string())
}

/// `YYYY-MM-DD` → the seconds at that day's start; a day that does not exist (2024-02-31) is an
/// error that says so.
pub fn day_start(text: &str) -> Result<i64, String> {
    let day: Date = text
        .trim()
        .parse()
        .map_err(|e| format!("{text:?} is not a day like 2024-07-31 ({e})"))?;
    Ok(seconds(day.to_datetime(jiff::civil::Time::midnight())))
}

/// The start of the day after `YYYY-MM-DD`: the exclusive end of an inclusive "to" day.
pub fn day_end(text: &str) -> Result<i64, String> {
    Ok(day_start(text)? + 86_400)
}

/// An EXIF date and time, if it is a real one (cameras write `0000:00:00 00:00:00` when unset,
/// and damaged files write anything).
pub fn from_parts(year: u16, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> Option<i64> {
    let at = DateTime::new(
        i16::try_from(year).ok()?,
        i8::try_from(month).ok()?,
        i8::try_from(day).ok()?,
        i8::try_from(hour).ok()?,
        i8::try_from(minute).ok()?,
        i8::try_from(second).ok()?,
        0,
    )
    .ok()?;
    // Before photography: a damaged or unset clock, not a date taken.
    (year >= 1800).then(|| seconds(at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_count_from_1970_as_utc() {
        assert_eq!(day_start("1970-01-01"), Ok(0));
        assert_eq!(day_start("2000-03-01"), Ok(11_017 * 86_400));
        assert_eq!(day_start("2026-11-26"), Ok(20_783 * 86_400));
        assert_eq!(day_end("2024-02-29"), day_start("2024-03-01"));
    }

    #[test]
    fn days_that_do_not_exist_are_errors() {
        for bad in [
            "2024-02-31",
            "2023-02-29",
            "2024-13-01",
            "2024-00-10",
            "24-1-1",
            "yesterday",
            "",
        ] {
            let err = day_start(bad).expect_err(bad);
            assert!(err.contains("is not a day like"), "{bad}: {err}");
        }
    }

    #[test]
    fn exif_dates_are_validated_like_days() {
        assert_eq!(
            from_parts(2021, 6, 15, 14, 30, 0),
            Some(day_start("2021-06-15").expect("a day") + 14 * 3600 + 30 * 60)
        );
        assert_eq!(from_parts(2024, 2, 31, 0, 0, 0), None);
        assert_eq!(from_parts(2024, 1, 1, 25, 0, 0), None);
        assert_eq!(from_parts(0, 0, 0, 0, 0, 0), None);
        assert_eq!(from_parts(1200, 1, 1, 0, 0, 0), None);
    }
}
