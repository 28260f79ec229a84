//! Arguments as clients send them: the GET requests query and the POST form. An empty parameter
//! is treated exactly like an absent one (spec §1).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use crate::error::Open311Error;
use crate::time;

/// Decoded `application/x-www-form-urlencoded` pairs (query strings too), empty values dropped.
pub fn pairs(raw: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(raw)
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

fn first<'a>(p: &'a [(String, String)], name: &str) -> Option<&'a str> {
    p.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn csv(v: Option<&str>) -> Option<Vec<String>> {
    v.map(|s| {
        s.split(',')
            .map(|x| x.trim().to_owned())
            .filter(|x| !x.is_empty())
            .collect::<Vec<_>>()
    })
    .filter(|l| !l.is_empty())
}

fn date(p: &[(String, String)], name: &str) -> Result<Option<DateTime<Utc>>, Open311Error> {
    first(p, name)
        .map(|s| {
            time::parse(s).ok_or_else(|| {
                Open311Error::bad(
                    name,
                    format!("{name} must be a W3C datetime such as 2010-01-01T00:00:00Z"),
                )
            })
        })
        .transpose()
}

fn positive(p: &[(String, String)], name: &str) -> Result<Option<i64>, Open311Error> {
    first(p, name)
        .map(|s| {
            s.parse::<i64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                Open311Error::bad(name, format!("{name} must be a positive integer"))
            })
        })
        .transpose()
}

/// `open`, `closed` or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Open,
    Closed,
    Any,
}

/// The longest `start_date`..`end_date` window and the default one.
pub const MAX_WINDOW_DAYS: i64 = 90;
/// The default (and largest) page.
pub const MAX_PAGE_SIZE: i64 = 1000;

/// GET Service Requests, validated and with the spec's defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestsQuery {
    /// When given, overrides every other argument.
    pub ids: Option<Vec<String>>,
    pub service_codes: Option<Vec<String>>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub status: StatusFilter,
    pub updated_after: Option<DateTime<Utc>>,
    pub updated_before: Option<DateTime<Utc>>,
    /// 1-based.
    pub page: i64,
    pub page_size: i64,
    pub extensions: bool,
}

impl RequestsQuery {
    pub fn parse(p: &[(String, String)], now: DateTime<Utc>) -> Result<Self, Open311Error> {
        let ids = csv(first(p, "service_request_id"));
        let service_codes = csv(first(p, "service_code"));
        let window = Duration::days(MAX_WINDOW_DAYS);
        let (start, end) = match (date(p, "start_date")?, date(p, "end_date")?) {
            (None, None) => (now - window, now),
            (Some(s), None) => (s, (s + window).min(now.max(s))),
            (None, Some(e)) => (e - window, e),
            (Some(s), Some(e)) => (s, e),
        };
        if end < start {
            return Err(Open311Error::bad(
                "end_date",
                "end_date must not be before start_date",
            ));
        }
        if end - start > window && ids.is_none() {
            return Err(Open311Error::bad(
                "start_date",
                format!("the date range may span at most {MAX_WINDOW_DAYS} days"),
            ));
        }
        let status = match csv(first(p, "status")) {
            None => StatusFilter::Any,
            Some(list) => {
                let (mut open, mut closed) = (false, false);
                for s in &list {
                    match s.to_ascii_lowercase().as_str() {
                        "open" => open = true,
                        "closed" => closed = true,
                        other => {
                            return Err(Open311Error::bad(
                                "status",
                                format!("status must be open or closed, not {other}"),
                            ));
                        }
                    }
                }
                match (open, closed) {
                    (true, false) => StatusFilter::Open,
                    (false, true) => StatusFilter::Closed,
                    _ => StatusFilter::Any,
                }
            }
        };
        let page_size = positive(p, "page_size")?.unwrap_or(MAX_PAGE_SIZE);
        if page_size > MAX_PAGE_SIZE {
            return Err(Open311Error::bad(
                "page_size",
                format!("page_size may be at most {MAX_PAGE_SIZE}"),
            ));
        }
        let extensions = match first(p, "extensions")
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("false") | Some("0") => false,
            Some("true") | Some("1") => true,
            Some(other) => {
                return Err(Open311Error::bad(
                    "extensions",
                    format!("extensions must be true or false, not {other}"),
                ));
            }
        };
        Ok(RequestsQuery {
            ids,
            service_codes,
            start,
            end,
            status,
            updated_after: date(p, "updated_after")?,
            updated_before: date(p, "updated_before")?,
            page: positive(p, "page")?.unwrap_or(1),
            page_size,
            extensions,
        })
    }
}

/// The longest description the spec allows.
pub const MAX_DESCRIPTION: usize = 4000;

/// A POST Service Request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewRequest {
    pub api_key: Option<String>,
    pub jurisdiction_id: Option<String>,
    pub service_code: String,
    /// WGS-84 latitude and longitude, when a point was given.
    pub lat_long: Option<(f64, f64)>,
    pub address_string: Option<String>,
    pub address_id: Option<String>,
    pub email: Option<String>,
    pub device_id: Option<String>,
    pub account_id: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub description: Option<String>,
    pub media_url: Option<String>,
    /// `attribute[CODE]=v` and `attribute[CODE][]=v1&attribute[CODE][]=v2`.
    pub attributes: BTreeMap<String, Vec<String>>,
}

fn coordinate(p: &[(String, String)], name: &str, bound: f64) -> Result<Option<f64>, Open311Error> {
    first(p, name)
        .map(|s| {
            s.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && x.abs() <= bound)
                .ok_or_else(|| {
                    Open311Error::bad(
                        name,
                        format!("{name} must be a WGS84 number within ±{bound}"),
                    )
                })
        })
        .transpose()
}

impl NewRequest {
    pub fn parse(p: &[(String, String)]) -> Result<Self, Open311Error> {
        let service_code = first(p, "service_code")
            .ok_or_else(|| Open311Error::bad("service_code", "service_code not provided"))?
            .to_owned();
        let lat = coordinate(p, "lat", 90.0)?;
        let long = coordinate(p, "long", 180.0)?;
        let lat_long = match (lat, long) {
            (Some(a), Some(o)) => Some((a, o)),
            (None, None) => None,
            _ => {
                return Err(Open311Error::bad(
                    "lat",
                    "lat and long must be sent together",
                ));
            }
        };
        let get = |n: &str| first(p, n).map(str::to_owned);
        let mut attributes: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in p {
            if let Some(rest) = k.strip_prefix("attribute[") {
                let code = rest.strip_suffix("[]").unwrap_or(rest);
                let Some(code) = code.strip_suffix(']').filter(|c| !c.is_empty()) else {
                    return Err(Open311Error::bad(
                        "attribute",
                        format!("malformed attribute parameter {k}"),
                    ));
                };
                attributes
                    .entry(code.to_owned())
                    .or_default()
                    .push(v.clone());
            }
        }
        let description = get("description");
        if description
            .as_ref()
            .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION)
        {
            return Err(Open311Error::bad(
                "description",
                format!("description may be at most {MAX_DESCRIPTION} characters"),
            ));
        }
        let r = NewRequest {
            api_key: get("api_key"),
            jurisdiction_id: get("jurisdiction_id"),
            service_code,
            lat_long,
            address_string: get("address_string"),
            // FixMyStreet's "not pinpointed" marker is no address at all.
            address_id: get("address_id").filter(|a| a != "#NOTPINPOINTED#"),
            email: get("email"),
            device_id: get("device_id"),
            account_id: get("account_id"),
            first_name: get("first_name"),
            last_name: get("last_name"),
            phone: get("phone"),
            description,
            media_url: get("media_url"),
            attributes,
        };
        if r.lat_long.is_none() && r.address_string.is_none() && r.address_id.is_none() {
            return Err(Open311Error::bad(
                "location",
                "give lat and long, address_string or address_id",
            ));
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap()
    }

    #[test]
    fn the_spec_post_example() {
        let body = b"api_key=xyz&jurisdiction_id=city.gov&service_code=001&lat=37.76524078&long=-122.4212043&address_string=1234+5th+street&email=smit222%40sfgov.edu&device_id=tt222111&account_id=123456&first_name=john&last_name=smith&phone=111111111&description=A+large+sinkhole+is+destroying+the+street&media_url=http%3A%2F%2Ftheimg.com%2F&attribute[WHISPAWN]=123456&attribute[WHISDORN]=COISL001&attribute[MULTI][]=a&attribute[MULTI][]=b";
        let r = NewRequest::parse(&pairs(body)).unwrap();
        assert_eq!(r.service_code, "001");
        assert_eq!(r.lat_long, Some((37.76524078, -122.4212043)));
        assert_eq!(r.address_string.as_deref(), Some("1234 5th street"));
        assert_eq!(r.email.as_deref(), Some("smit222@sfgov.edu"));
        assert_eq!(r.attributes["WHISPAWN"], vec!["123456"]);
        assert_eq!(r.attributes["MULTI"], vec!["a", "b"]);
        assert_eq!(r.api_key.as_deref(), Some("xyz"));
    }

    #[test]
    fn post_errors() {
        let e = NewRequest::parse(&pairs(b"lat=1&long=2")).unwrap_err();
        assert_eq!(e.code, "service_code");
        let e = NewRequest::parse(&pairs(b"service_code=E0101")).unwrap_err();
        assert_eq!(e.code, "location");
        let e = NewRequest::parse(&pairs(b"service_code=E0101&lat=1")).unwrap_err();
        assert_eq!(e.code, "lat");
        let e = NewRequest::parse(&pairs(b"service_code=E0101&lat=91&long=1")).unwrap_err();
        assert_eq!(e.code, "lat");
        let e = NewRequest::parse(&pairs(b"service_code=E0101&address_id=%23NOTPINPOINTED%23"))
            .unwrap_err();
        assert_eq!(e.code, "location");
        let long = format!(
            "service_code=E0101&lat=1&long=2&description={}",
            "x".repeat(4001)
        );
        assert_eq!(
            NewRequest::parse(&pairs(long.as_bytes())).unwrap_err().code,
            "description"
        );
        // Empty is absent.
        let r =
            NewRequest::parse(&pairs(b"service_code=E0101&lat=1&long=2&email=&api_key=")).unwrap();
        assert_eq!((r.email, r.api_key), (None, None));
    }

    #[test]
    fn query_defaults_are_the_last_90_days_and_1000() {
        let q = RequestsQuery::parse(&[], now()).unwrap();
        assert_eq!(q.end, now());
        assert_eq!(q.end - q.start, Duration::days(90));
        assert_eq!(
            (q.page, q.page_size, q.status),
            (1, 1000, StatusFilter::Any)
        );
        let q = RequestsQuery::parse(&pairs(b"start_date=&status=&page="), now()).unwrap();
        assert_eq!(q.end - q.start, Duration::days(90));
    }

    #[test]
    fn query_arguments() {
        let q = RequestsQuery::parse(
            &pairs(b"service_request_id=a,b&service_code=E0101,C0118&status=open&start_date=2026-01-01T00:00:00Z&end_date=2026-02-01T00:00:00Z&page=2&page_size=10&extensions=true&updated_after=2026-01-05T00:00:00%2B08:00"),
            now(),
        )
        .unwrap();
        assert_eq!(q.ids, Some(vec!["a".to_owned(), "b".to_owned()]));
        assert_eq!(q.service_codes.as_ref().map(Vec::len), Some(2));
        assert_eq!(q.status, StatusFilter::Open);
        assert_eq!((q.page, q.page_size, q.extensions), (2, 10, true));
        assert_eq!(
            q.updated_after,
            Some(Utc.with_ymd_and_hms(2026, 1, 4, 16, 0, 0).unwrap())
        );
        let q = RequestsQuery::parse(&pairs(b"status=open,closed"), now()).unwrap();
        assert_eq!(q.status, StatusFilter::Any);
    }

    #[test]
    fn query_errors() {
        let bad = |q: &[u8]| RequestsQuery::parse(&pairs(q), now()).unwrap_err().code;
        assert_eq!(bad(b"start_date=soon"), "start_date");
        assert_eq!(
            bad(b"start_date=2025-01-01T00:00:00Z&end_date=2025-06-01T00:00:00Z"),
            "start_date"
        );
        assert_eq!(
            bad(b"start_date=2025-02-01T00:00:00Z&end_date=2025-01-01T00:00:00Z"),
            "end_date"
        );
        assert_eq!(bad(b"status=pending"), "status");
        assert_eq!(bad(b"page=0"), "page");
        assert_eq!(bad(b"page_size=1001"), "page_size");
        assert_eq!(bad(b"extensions=maybe"), "extensions");
    }
}
