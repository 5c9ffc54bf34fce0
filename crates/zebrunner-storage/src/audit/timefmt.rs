//! Timestamps: every `at` is stored as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC, milliseconds), so text
//! order is time order on both backends. Also parses the `--since`/`--until` arguments.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime, UtcOffset};

use crate::StorageError;

/// Now, in the canonical format.
pub fn now_rfc3339() -> String {
    format_canonical(OffsetDateTime::now_utc())
}

/// `t` in the canonical format: UTC, exactly three fractional digits, `Z`.
pub fn format_canonical(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    t.format(&format)
        .unwrap_or_else(|_| t.format(&Rfc3339).unwrap_or_default())
}

/// An RFC 3339 time (any offset, any precision) or a `YYYY-MM-DD` date (midnight UTC),
/// rewritten in the canonical format.
pub fn canonical(value: &str) -> Result<String, StorageError> {
    parse_absolute(value.trim()).map(format_canonical)
}

/// Which end of a range a `--since`/`--until` argument is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    Since,
    Until,
}

/// Parse a `--since`/`--until` argument relative to `now`:
/// - RFC 3339 (`2026-05-01T10:00:00Z`, `2026-05-01T12:00:00+02:00`);
/// - a date `YYYY-MM-DD`: its start for [`Bound::Since`], the start of the next day for
///   [`Bound::Until`] (so `--until 2026-05-01` includes the whole of that day);
/// - a duration ago: `90s`, `30m`, `1h`, `7d`, `2w`.
pub fn parse_time_arg(
    value: &str,
    now: OffsetDateTime,
    bound: Bound,
) -> Result<String, StorageError> {
    let value = value.trim();
    if let Some(ago) = parse_relative(value) {
        return now
            .checked_sub(ago)
            .map(format_canonical)
            .ok_or_else(|| invalid(value, "too far in the past"));
    }
    if let Ok(date) = Date::parse(value, format_description!("[year]-[month]-[day]")) {
        let date = match bound {
            Bound::Since => date,
            Bound::Until => date
                .next_day()
                .ok_or_else(|| invalid(value, "out of range"))?,
        };
        return Ok(format_canonical(date.midnight().assume_utc()));
    }
    parse_absolute(value).map(format_canonical)
}

/// [`parse_time_arg`] relative to the current time.
pub fn parse_time_arg_now(value: &str, bound: Bound) -> Result<String, StorageError> {
    parse_time_arg(value, OffsetDateTime::now_utc(), bound)
}

fn parse_absolute(value: &str) -> Result<OffsetDateTime, StorageError> {
    if let Ok(t) = OffsetDateTime::parse(value, &Rfc3339) {
        return Ok(t);
    }
    Date::parse(value, format_description!("[year]-[month]-[day]"))
        .map(|d| d.midnight().assume_utc())
        .map_err(|_| {
            invalid(
                value,
                "expected RFC 3339 (2026-05-01T10:00:00Z) or YYYY-MM-DD",
            )
        })
}

fn parse_relative(value: &str) -> Option<Duration> {
    let split = value.find(|c: char| !c.is_ascii_digit())?;
    let (digits, unit) = value.split_at(split);
    let n: i64 = digits.parse().ok()?;
    let seconds = match unit {
        "s" => 1,
        "m" | "min" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return None,
    };
    Some(Duration::seconds(n.checked_mul(seconds)?))
}

fn invalid(value: &str, reason: &str) -> StorageError {
    StorageError::Invalid {
        what: "time",
        reason: format!("{value:?}: {reason}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-05-10 12:00:00.5 UTC);

    #[test]
    fn canonical_form_is_fixed_width_utc_millis() {
        assert_eq!(format_canonical(NOW), "2026-05-10T12:00:00.500Z");
        assert_eq!(
            canonical("2026-05-10T14:00:00+02:00").unwrap(),
            "2026-05-10T12:00:00.000Z"
        );
        assert_eq!(
            canonical("2026-05-10T12:00:00.123456789Z").unwrap(),
            "2026-05-10T12:00:00.123Z"
        );
        assert_eq!(canonical("2026-05-10").unwrap(), "2026-05-10T00:00:00.000Z");
        assert!(canonical("yesterday").is_err());
        assert_eq!(now_rfc3339().len(), "2026-05-10T12:00:00.500Z".len());
    }

    #[test]
    fn time_arguments() {
        let p = |v, b| parse_time_arg(v, NOW, b).unwrap();
        assert_eq!(p("1h", Bound::Since), "2026-05-10T11:00:00.500Z");
        assert_eq!(p("7d", Bound::Since), "2026-05-03T12:00:00.500Z");
        assert_eq!(p("30m", Bound::Until), "2026-05-10T11:30:00.500Z");
        assert_eq!(p("2w", Bound::Since), "2026-04-26T12:00:00.500Z");
        assert_eq!(p("2026-05-01", Bound::Since), "2026-05-01T00:00:00.000Z");
        assert_eq!(p("2026-05-01", Bound::Until), "2026-05-02T00:00:00.000Z");
        assert_eq!(
            p("2026-05-01T10:00:00-01:00", Bound::Until),
            "2026-05-01T11:00:00.000Z"
        );
        for bad in ["", "h", "1y", "-1h", "2026-13-01", "tomorrow"] {
            assert!(parse_time_arg(bad, NOW, Bound::Since).is_err(), "{bad}");
        }
    }
}
