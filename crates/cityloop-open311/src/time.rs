//! W3C datetimes (an ISO 8601 profile with a mandatory offset).

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};

/// China Standard Time: output is stamped in the city's own offset.
const CST: i32 = 8 * 3600;

fn cst() -> FixedOffset {
    FixedOffset::east_opt(CST).unwrap_or(Utc.fix())
}

/// `2026-03-02T09:00:00+08:00`.
pub fn format(at: DateTime<Utc>) -> String {
    at.with_timezone(&cst())
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// Accepts the spec's form (`2010-01-01T00:00:00Z`, `1994-11-05T08:15:30-05:00`, fractions
/// allowed). Clients in the wild also send no offset or a bare date; those are read as local
/// (China) time rather than refused.
pub fn parse(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    // `+0800` without a colon.
    if let Ok(t) = DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Some(t.with_timezone(&Utc));
    }
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S"))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })?;
    cst()
        .from_local_datetime(&naive)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_examples() {
        let a = parse("2010-01-01T00:00:00Z").unwrap();
        assert_eq!(a, Utc.with_ymd_and_hms(2010, 1, 1, 0, 0, 0).unwrap());
        let b = parse("1994-11-05T08:15:30-05:00").unwrap();
        assert_eq!(b, Utc.with_ymd_and_hms(1994, 11, 5, 13, 15, 30).unwrap());
        assert_eq!(
            parse("2010-04-14T06:37:38-08:00"),
            parse("2010-04-14T14:37:38Z")
        );
        assert_eq!(
            parse("2010-04-14T06:37:38.25+0000").map(|t| t.timestamp()),
            Some(1271227058)
        );
    }

    #[test]
    fn lenient_forms_are_china_time() {
        assert_eq!(
            parse("2026-03-02"),
            Some(Utc.with_ymd_and_hms(2026, 3, 1, 16, 0, 0).unwrap())
        );
        assert_eq!(parse("2026-03-02T08:00:00"), parse("2026-03-02T00:00:00Z"));
        assert_eq!(parse("yesterday"), None);
        assert_eq!(parse("2026-13-02"), None);
    }

    #[test]
    fn round_trip() {
        let t = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap();
        assert_eq!(format(t), "2026-03-02T09:00:00+08:00");
        assert_eq!(parse(&format(t)), Some(t));
    }
}
