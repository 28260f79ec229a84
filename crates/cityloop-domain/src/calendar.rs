//! The working-day calendar behind every SLA deadline (处置时限).
//!
//! # Model
//!
//! * All local dates and clock times are China time, UTC+8 with no daylight saving
//!   ([`CHINA_OFFSET`]). API instants are `DateTime<Utc>`; nothing here reads the clock.
//! * A **working day** is a date with a `workday` rule (调休, always a Saturday or Sunday);
//!   otherwise a date with a `holiday` rule is not a working day; otherwise Monday to Friday are
//!   working days.
//! * **Working time** is the union of the [`WorkSchedule`] periods (default 08:00–12:00 and
//!   14:00–18:00) on working days. Periods are half-open, `[start, end)`.
//! * `W(x)`, the working time elapsed up to instant `x`, is continuous and non-decreasing. Every
//!   working duration below is defined through it:
//!   * [`WorkCalendar::add_working_time`]`(t, d)` is the **earliest** instant `x ≥ t` with
//!     `W(x) − W(t) = d`. So 4 working hours from 08:00 end at 12:00, not at 14:00, and a result is
//!     always inside a working period or exactly at a period end. `add(t, 0) = t`, and
//!     `add(add(t, a), b) = add(t, a + b)` holds for every `t`, working or not.
//!   * [`WorkCalendar::working_minutes_between`]`(a, b)` is `W(b) − W(a)` (zero when `b ≤ a`), so
//!     `between(t, add(t, d)) = d` exactly.
//!   * **Working days** ([`WorkCalendar::add_working_days`]) follow the usual 数字城管 convention
//!     "same working time of day, N working days later": the start is first moved to the next
//!     working instant (a start at 12:30 counts from 14:00, a start at 20:00 from 08:00 the next
//!     working day), then the deadline is that clock time on the N-th working day after it. With a
//!     schedule that is the same every day this is exactly `N ×` (working time of one day) after
//!     the moved start. Only when a seasonal schedule differs between the two days can the clock
//!     time miss the target day's periods; it is then moved forward to the next period start, or
//!     back to the end of the last period, so the deadline stays on the N-th working day.
//!   * **Calendar** limits ([`WorkCalendar::add_calendar`]) run continuously, day and night,
//!     holidays included.
//! * Holiday data exists only for the loaded years. A result is **provisional** when it depended on
//!   the working-day status of a date outside [`WorkCalendar::covered_years`] (weekends only were
//!   assumed there); [`Deadline::final_at`] refuses such a deadline, so it cannot be treated as
//!   final by accident.
//! * Computations walk day by day, never minute by minute, and give up with
//!   [`CalendarError::SpanTooLong`] after [`MAX_SPAN_DAYS`] days.
//!
//! ```
//! use chrono::{DateTime, Utc};
//! use cityloop_domain::calendar::{TimeLimit, WorkCalendar};
//!
//! let calendar = WorkCalendar::builtin().unwrap();
//! // Friday before the 2026 Spring Festival, 16:00 in Beijing.
//! let start: DateTime<Utc> = "2026-02-13T16:00:00+08:00".parse().unwrap();
//! let limit: TimeLimit = "3个工作日".parse().unwrap();
//! let due = limit.due(&calendar, start).unwrap();
//! // Saturday 02-14 is an adjusted working day, 02-15..=02-23 are off.
//! let expected: DateTime<Utc> = "2026-02-25T16:00:00+08:00".parse().unwrap();
//! assert_eq!(due.final_at().unwrap(), expected);
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;

use chrono::{
    DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Timelike, Utc,
    Weekday,
};
use serde::{Deserialize, Serialize};

/// Seed rows (2018–2026) from the State Council holiday notices, see `data/cn-holidays.csv`.
///
/// This is seed data for the admin-editable calendar table, not the calendar itself: build the
/// runtime [`WorkCalendar`] from the stored rows so next year's notice needs no release.
pub const BUILTIN_HOLIDAYS_CSV: &str = include_str!("../data/cn-holidays.csv");

/// China Standard Time. China has not observed daylight saving since 1991, so a fixed offset is
/// exact.
pub const CHINA_OFFSET: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+8 is a valid offset"),
};

/// Upper bound on the days one computation may walk (about 100 years), so a typo such as
/// `99999999个工作日` fails fast instead of spinning.
pub const MAX_SPAN_DAYS: u32 = 36_600;

const fn hm(hour: u32, minute: u32) -> NaiveTime {
    match NaiveTime::from_hms_opt(hour, minute, 0) {
        Some(time) => time,
        None => panic!("invalid constant time"),
    }
}

const STANDARD_PERIODS: [WorkPeriod; 2] = [
    WorkPeriod {
        start: hm(8, 0),
        end: hm(12, 0),
    },
    WorkPeriod {
        start: hm(14, 0),
        end: hm(18, 0),
    },
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("holiday CSV line {line}: {problem}")]
    Csv { line: usize, problem: CsvProblem },
    #[error("more than one calendar rule for {0}")]
    DuplicateRule(NaiveDate),
    #[error(
        "{date} is a {weekday}; an adjusted working day (workday rule) must be a Saturday or Sunday"
    )]
    WorkdayNotOnWeekend { date: NaiveDate, weekday: Weekday },
    #[error(
        "no calendar rules for {year} within the loaded years {first}..={last}: data is missing"
    )]
    MissingYear { year: i32, first: i32, last: i32 },
    #[error("invalid work schedule: {0}")]
    InvalidSchedule(String),
    #[error("invalid time limit `{input}`: {reason}")]
    InvalidTimeLimit { input: String, reason: String },
    #[error("pause #{index} ends ({to}) before it starts ({from})")]
    InvalidPause {
        index: usize,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
    #[error("a duration to add must not be negative, got {0}")]
    NegativeDuration(TimeDelta),
    #[error("the computation spans more than {max_days} days")]
    SpanTooLong { max_days: u32 },
    #[error("date or time out of the supported range")]
    OutOfRange,
    #[error("the deadline {at} is provisional: it depends on a year without loaded holiday data")]
    ProvisionalDeadline { at: DateTime<Utc> },
}

/// What is wrong with one line of the holiday CSV.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvProblem {
    #[error("expected the header `date,kind,festival`, found `{0}`")]
    BadHeader(String),
    #[error("expected 3 columns (date,kind,festival), found {0}")]
    ColumnCount(usize),
    #[error("bad date `{0}`, expected YYYY-MM-DD")]
    BadDate(String),
    #[error("unknown kind `{0}`, expected `holiday` or `workday`")]
    UnknownKind(String),
    #[error("{date} is a `workday` row on a {weekday}; adjusted working days fall on weekends")]
    WorkdayNotOnWeekend { date: NaiveDate, weekday: Weekday },
    #[error("duplicate date {date}, first listed on line {first_line}")]
    DuplicateDate { date: NaiveDate, first_line: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// A day off (法定节假日 or a weekend inside the official holiday period).
    Holiday,
    /// An adjusted working day (调休) on a Saturday or Sunday.
    Workday,
}

impl DayKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DayKind::Holiday => "holiday",
            DayKind::Workday => "workday",
        }
    }
}

/// One date that differs from the normal Monday–Friday week.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayRule {
    pub date: NaiveDate,
    pub kind: DayKind,
    /// The holiday period the rule belongs to, for display only.
    pub festival: String,
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

/// Parses the `date,kind,festival` seed format (header required, blank lines ignored, CRLF
/// accepted).
///
/// Errors name the 1-based line. Besides syntax, it rejects a `workday` row that is not a Saturday
/// or Sunday and a date listed twice, because either would silently shift deadlines.
pub fn parse_holiday_csv(text: &str) -> Result<Vec<DayRule>, CalendarError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rules = Vec::new();
    let mut first_seen: BTreeMap<NaiveDate, usize> = BTreeMap::new();
    let mut header_seen = false;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let row = raw.trim();
        if row.is_empty() {
            continue;
        }
        let fail = |problem| CalendarError::Csv { line, problem };
        let fields: Vec<&str> = row.split(',').map(str::trim).collect();
        if !header_seen {
            header_seen = true;
            let is_header = fields.len() == 3
                && fields
                    .iter()
                    .zip(["date", "kind", "festival"])
                    .all(|(field, name)| field.eq_ignore_ascii_case(name));
            if is_header {
                continue;
            }
            return Err(fail(CsvProblem::BadHeader(row.to_owned())));
        }
        let [date, kind, festival] = fields[..] else {
            return Err(fail(CsvProblem::ColumnCount(fields.len())));
        };
        let date =
            parse_iso_date(date).ok_or_else(|| fail(CsvProblem::BadDate(date.to_owned())))?;
        let kind = if kind.eq_ignore_ascii_case("holiday") {
            DayKind::Holiday
        } else if kind.eq_ignore_ascii_case("workday") {
            DayKind::Workday
        } else {
            return Err(fail(CsvProblem::UnknownKind(kind.to_owned())));
        };
        if kind == DayKind::Workday && !is_weekend(date) {
            return Err(fail(CsvProblem::WorkdayNotOnWeekend {
                date,
                weekday: date.weekday(),
            }));
        }
        if let Some(&first_line) = first_seen.get(&date) {
            return Err(fail(CsvProblem::DuplicateDate { date, first_line }));
        }
        first_seen.insert(date, line);
        rules.push(DayRule {
            date,
            kind,
            festival: festival.to_owned(),
        });
    }
    Ok(rules)
}

/// Strict `YYYY-MM-DD`: chrono alone would also accept `2026-2-3`, which hides sloppy edits.
fn parse_iso_date(text: &str) -> Option<NaiveDate> {
    let bytes = text.as_bytes();
    let shape_ok = bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !shape_ok {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// One working period `[start, end)` within a local day. Periods cannot cross midnight;
/// round-the-clock limits use calendar units instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WorkPeriod {
    start: NaiveTime,
    end: NaiveTime,
}

impl WorkPeriod {
    pub fn new(start: NaiveTime, end: NaiveTime) -> Result<Self, CalendarError> {
        if start >= end {
            return Err(CalendarError::InvalidSchedule(format!(
                "period {start}–{end} does not end after it starts"
            )));
        }
        Ok(Self { start, end })
    }

    pub fn start(&self) -> NaiveTime {
        self.start
    }

    pub fn end(&self) -> NaiveTime {
        self.end
    }

    pub fn duration(&self) -> TimeDelta {
        self.end - self.start
    }
}

impl fmt::Display for WorkPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}–{}",
            self.start.format("%H:%M"),
            self.end.format("%H:%M")
        )
    }
}

/// A month and day, independent of the year (`MM-DD`), bounding a seasonal schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MonthDay {
    month: u32,
    day: u32,
}

impl MonthDay {
    /// Accepts any day that exists in a leap year, so `02-29` is allowed.
    pub fn new(month: u32, day: u32) -> Result<Self, CalendarError> {
        NaiveDate::from_ymd_opt(2000, month, day)
            .map(|_| Self { month, day })
            .ok_or_else(|| {
                CalendarError::InvalidSchedule(format!("no such month-day {month:02}-{day:02}"))
            })
    }

    pub fn of(date: NaiveDate) -> Self {
        Self {
            month: date.month(),
            day: date.day(),
        }
    }

    pub fn month(&self) -> u32 {
        self.month
    }

    pub fn day(&self) -> u32 {
        self.day
    }
}

impl fmt::Display for MonthDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}-{:02}", self.month, self.day)
    }
}

impl FromStr for MonthDay {
    type Err = CalendarError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || CalendarError::InvalidSchedule(format!("bad month-day `{s}`, expected MM-DD"));
        let (month, day) = s.trim().split_once('-').ok_or_else(bad)?;
        let month = month.parse().map_err(|_| bad())?;
        let day = day.parse().map_err(|_| bad())?;
        Self::new(month, day)
    }
}

impl TryFrom<String> for MonthDay {
    type Error = CalendarError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<MonthDay> for String {
    fn from(md: MonthDay) -> Self {
        md.to_string()
    }
}

/// Periods that replace the default ones from `from` to `to`, both inclusive. `from > to` wraps
/// over New Year (a winter schedule `11-01`..`03-31`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Season {
    from: MonthDay,
    to: MonthDay,
    periods: Vec<WorkPeriod>,
}

impl Season {
    pub fn from(&self) -> MonthDay {
        self.from
    }

    pub fn to(&self) -> MonthDay {
        self.to
    }

    pub fn periods(&self) -> &[WorkPeriod] {
        &self.periods
    }

    pub fn contains(&self, day: MonthDay) -> bool {
        if self.from <= self.to {
            self.from <= day && day <= self.to
        } else {
            day >= self.from || day <= self.to
        }
    }
}

/// Working periods of a working day, with optional seasonal variants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "UncheckedSchedule")]
pub struct WorkSchedule {
    periods: Vec<WorkPeriod>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    seasons: Vec<Season>,
}

/// Deserialisation goes through this so a stored schedule is validated exactly like a built one.
#[derive(Deserialize)]
struct UncheckedSchedule {
    periods: Vec<WorkPeriod>,
    #[serde(default)]
    seasons: Vec<Season>,
}

impl TryFrom<UncheckedSchedule> for WorkSchedule {
    type Error = CalendarError;
    fn try_from(raw: UncheckedSchedule) -> Result<Self, Self::Error> {
        validate_periods(&raw.periods, "default periods")?;
        let mut schedule = WorkSchedule {
            periods: raw.periods,
            seasons: Vec::new(),
        };
        for season in raw.seasons {
            schedule = schedule.with_season_periods(season.from, season.to, season.periods)?;
        }
        Ok(schedule)
    }
}

impl Default for WorkSchedule {
    fn default() -> Self {
        Self::standard()
    }
}

impl WorkSchedule {
    /// 08:00–12:00 and 14:00–18:00.
    pub fn standard() -> Self {
        Self {
            periods: STANDARD_PERIODS.to_vec(),
            seasons: Vec::new(),
        }
    }

    /// Periods must be non-empty, each with `start < end`, sorted and non-overlapping (touching is
    /// fine).
    pub fn new(
        periods: impl IntoIterator<Item = (NaiveTime, NaiveTime)>,
    ) -> Result<Self, CalendarError> {
        let periods = to_periods(periods);
        validate_periods(&periods, "default periods")?;
        Ok(Self {
            periods,
            seasons: Vec::new(),
        })
    }

    /// Adds a seasonal variant (e.g. a summer schedule) valid from `from` to `to` inclusive.
    /// Seasons may not overlap each other, so a date never has two candidate schedules.
    pub fn with_season(
        self,
        from: MonthDay,
        to: MonthDay,
        periods: impl IntoIterator<Item = (NaiveTime, NaiveTime)>,
    ) -> Result<Self, CalendarError> {
        self.with_season_periods(from, to, to_periods(periods))
    }

    fn with_season_periods(
        mut self,
        from: MonthDay,
        to: MonthDay,
        periods: Vec<WorkPeriod>,
    ) -> Result<Self, CalendarError> {
        validate_periods(&periods, &format!("season {from}..{to}"))?;
        let season = Season { from, to, periods };
        // Checking every day of a leap year is simpler and more obviously right than interval
        // algebra on ranges that may wrap over New Year.
        let mut day = NaiveDate::from_ymd_opt(2000, 1, 1).ok_or(CalendarError::OutOfRange)?;
        while day.year() == 2000 {
            let md = MonthDay::of(day);
            if season.contains(md)
                && let Some(other) = self.seasons.iter().find(|s| s.contains(md))
            {
                return Err(CalendarError::InvalidSchedule(format!(
                    "season {from}..{to} overlaps season {}..{} on {md}",
                    other.from, other.to
                )));
            }
            day = day.succ_opt().ok_or(CalendarError::OutOfRange)?;
        }
        self.seasons.push(season);
        Ok(self)
    }

    /// The default periods, used outside every season.
    pub fn periods(&self) -> &[WorkPeriod] {
        &self.periods
    }

    pub fn seasons(&self) -> &[Season] {
        &self.seasons
    }

    /// The periods in force on `date` if it is a working day.
    pub fn periods_on(&self, date: NaiveDate) -> &[WorkPeriod] {
        let md = MonthDay::of(date);
        self.seasons
            .iter()
            .find(|s| s.contains(md))
            .map_or(&self.periods, |s| &s.periods)
    }
}

fn to_periods(periods: impl IntoIterator<Item = (NaiveTime, NaiveTime)>) -> Vec<WorkPeriod> {
    periods
        .into_iter()
        .map(|(start, end)| WorkPeriod { start, end })
        .collect()
}

fn validate_periods(periods: &[WorkPeriod], what: &str) -> Result<(), CalendarError> {
    if periods.is_empty() {
        // An empty working day would make every working-time computation loop to the span limit.
        return Err(CalendarError::InvalidSchedule(format!(
            "{what}: no working period"
        )));
    }
    for p in periods {
        if p.start >= p.end {
            return Err(CalendarError::InvalidSchedule(format!(
                "{what}: period {p} does not end after it starts"
            )));
        }
    }
    for pair in periods.windows(2) {
        if let [a, b] = pair
            && a.end > b.start
        {
            return Err(CalendarError::InvalidSchedule(format!(
                "{what}: periods {a} and {b} overlap or are not in order"
            )));
        }
    }
    Ok(())
}

/// A computed deadline.
#[must_use = "a provisional deadline must not be treated as final"]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Deadline {
    pub at: DateTime<Utc>,
    /// The computation used a date in a year without loaded holiday data, assuming weekends only.
    /// Recompute once that year's notice is loaded.
    pub provisional: bool,
}

impl Deadline {
    /// The instant, only if it is final.
    pub fn final_at(&self) -> Result<DateTime<Utc>, CalendarError> {
        if self.provisional {
            Err(CalendarError::ProvisionalDeadline { at: self.at })
        } else {
            Ok(self.at)
        }
    }
}

/// Elapsed working time.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Elapsed {
    /// Exact working time (instants may carry seconds).
    pub working: TimeDelta,
    /// As for [`Deadline::provisional`].
    pub provisional: bool,
}

impl Elapsed {
    /// Whole working minutes, rounded down.
    pub fn minutes(&self) -> i64 {
        self.working.num_minutes()
    }
}

/// Working-day calendar: a [`WorkSchedule`] plus per-date rules for the loaded years.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkCalendar {
    schedule: WorkSchedule,
    rules: BTreeMap<NaiveDate, DayRule>,
    covered: Option<(i32, i32)>,
}

/// Counts walked days so every loop has a hard bound.
struct DayWalk {
    date: NaiveDate,
    walked: u32,
}

impl DayWalk {
    fn new(date: NaiveDate) -> Self {
        Self { date, walked: 0 }
    }

    fn advance(&mut self) -> Result<(), CalendarError> {
        self.walked += 1;
        if self.walked > MAX_SPAN_DAYS {
            return Err(CalendarError::SpanTooLong {
                max_days: MAX_SPAN_DAYS,
            });
        }
        self.date = self.date.succ_opt().ok_or(CalendarError::OutOfRange)?;
        Ok(())
    }
}

type LocalPause = (NaiveDateTime, NaiveDateTime);

fn to_local(t: DateTime<Utc>) -> Result<NaiveDateTime, CalendarError> {
    let local = t
        .naive_utc()
        .checked_add_offset(CHINA_OFFSET)
        .ok_or(CalendarError::OutOfRange)?;
    // chrono encodes a leap second as nanoseconds ≥ 1e9, which would break the exact period
    // arithmetic.
    if local.nanosecond() >= 1_000_000_000 {
        return local
            .with_nanosecond(999_999_999)
            .ok_or(CalendarError::OutOfRange);
    }
    Ok(local)
}

fn from_local(local: NaiveDateTime) -> Result<DateTime<Utc>, CalendarError> {
    local
        .checked_sub_offset(CHINA_OFFSET)
        .map(|utc| utc.and_utc())
        .ok_or(CalendarError::OutOfRange)
}

fn deadline(local: NaiveDateTime, provisional: bool) -> Result<Deadline, CalendarError> {
    Ok(Deadline {
        at: from_local(local)?,
        provisional,
    })
}

impl WorkCalendar {
    /// Builds a calendar from day rules. The covered years are the first to the last year present
    /// in `rules`; a year in between without any rule is rejected as missing data. With no rules at
    /// all, nothing is covered and every result that looks at a date is provisional.
    pub fn new(
        schedule: WorkSchedule,
        rules: impl IntoIterator<Item = DayRule>,
    ) -> Result<Self, CalendarError> {
        let mut map = BTreeMap::new();
        let mut years = BTreeSet::new();
        for rule in rules {
            if rule.kind == DayKind::Workday && !is_weekend(rule.date) {
                return Err(CalendarError::WorkdayNotOnWeekend {
                    date: rule.date,
                    weekday: rule.date.weekday(),
                });
            }
            years.insert(rule.date.year());
            let date = rule.date;
            if map.insert(date, rule).is_some() {
                return Err(CalendarError::DuplicateRule(date));
            }
        }
        let covered = match (years.first(), years.last()) {
            (Some(&first), Some(&last)) => {
                if let Some(year) = (first..=last).find(|y| !years.contains(y)) {
                    return Err(CalendarError::MissingYear { year, first, last });
                }
                Some((first, last))
            }
            _ => None,
        };
        Ok(Self {
            schedule,
            rules: map,
            covered,
        })
    }

    /// The standard schedule with the built-in seed rows; for tests and first start-up.
    pub fn builtin() -> Result<Self, CalendarError> {
        Self::new(
            WorkSchedule::standard(),
            parse_holiday_csv(BUILTIN_HOLIDAYS_CSV)?,
        )
    }

    pub fn schedule(&self) -> &WorkSchedule {
        &self.schedule
    }

    pub fn rules(&self) -> impl Iterator<Item = &DayRule> {
        self.rules.values()
    }

    pub fn rule(&self, date: NaiveDate) -> Option<&DayRule> {
        self.rules.get(&date)
    }

    /// First to last year with holiday data, if any.
    pub fn covered_years(&self) -> Option<RangeInclusive<i32>> {
        self.covered.map(|(first, last)| first..=last)
    }

    /// Whether holiday data is loaded for the year of `date`.
    pub fn covers(&self, date: NaiveDate) -> bool {
        self.covered
            .is_some_and(|(first, last)| (first..=last).contains(&date.year()))
    }

    /// Workday rule, else holiday rule, else Monday to Friday. Outside the covered years this is
    /// the weekend-only guess.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        match self.rules.get(&date).map(|r| r.kind) {
            Some(DayKind::Workday) => true,
            Some(DayKind::Holiday) => false,
            None => !is_weekend(date),
        }
    }

    /// Whether `t` lies inside a working period (`[start, end)`) of a working day.
    pub fn is_working_instant(&self, t: DateTime<Utc>) -> Result<bool, CalendarError> {
        let local = to_local(t)?;
        let (date, time) = (local.date(), local.time());
        Ok(self.is_working_day(date)
            && self
                .schedule
                .periods_on(date)
                .iter()
                .any(|p| p.start <= time && time < p.end))
    }

    /// The first working instant at or after `t`.
    pub fn next_working_instant(&self, t: DateTime<Utc>) -> Result<Deadline, CalendarError> {
        let (local, provisional) = self.next_working_local(to_local(t)?)?;
        deadline(local, provisional)
    }

    /// The earliest instant by which `work` of working time has elapsed since `start` (see the
    /// module documentation). Zero returns `start` unchanged.
    pub fn add_working_time(
        &self,
        start: DateTime<Utc>,
        work: TimeDelta,
    ) -> Result<Deadline, CalendarError> {
        if work < TimeDelta::zero() {
            return Err(CalendarError::NegativeDuration(work));
        }
        let (local, provisional) = self.add_work_local(to_local(start)?, work)?;
        deadline(local, provisional)
    }

    /// [`Self::add_working_time`] with whole working minutes.
    pub fn add_working_duration(
        &self,
        start: DateTime<Utc>,
        minutes: u32,
    ) -> Result<Deadline, CalendarError> {
        self.add_working_time(start, TimeDelta::minutes(i64::from(minutes)))
    }

    /// [`Self::add_working_time`] with whole working hours (60 working minutes each).
    pub fn add_working_hours(
        &self,
        start: DateTime<Utc>,
        hours: u32,
    ) -> Result<Deadline, CalendarError> {
        self.add_working_time(start, TimeDelta::hours(i64::from(hours)))
    }

    /// Same working time of day, `days` working days later (see the module documentation). The
    /// start is first moved to the next working instant; `days == 0` returns that instant.
    pub fn add_working_days(
        &self,
        start: DateTime<Utc>,
        days: u32,
    ) -> Result<Deadline, CalendarError> {
        let (anchor, mut provisional) = self.next_working_local(to_local(start)?)?;
        if days == 0 {
            return deadline(anchor, provisional);
        }
        let mut walk = DayWalk::new(anchor.date());
        let mut counted = 0;
        while counted < days {
            walk.advance()?;
            provisional |= !self.covers(walk.date);
            if self.is_working_day(walk.date) {
                counted += 1;
            }
        }
        let time = place_in_periods(self.schedule.periods_on(walk.date), anchor.time());
        deadline(walk.date.and_time(time), provisional)
    }

    /// Continuous (calendar) time: day and night, holidays included. Never provisional.
    pub fn add_calendar(
        &self,
        start: DateTime<Utc>,
        duration: TimeDelta,
    ) -> Result<Deadline, CalendarError> {
        if duration < TimeDelta::zero() {
            return Err(CalendarError::NegativeDuration(duration));
        }
        let at = start
            .checked_add_signed(duration)
            .ok_or(CalendarError::OutOfRange)?;
        Ok(Deadline {
            at,
            provisional: false,
        })
    }

    /// Working time in `[a, b)`; zero when `b ≤ a`.
    pub fn working_minutes_between(
        &self,
        a: DateTime<Utc>,
        b: DateTime<Utc>,
    ) -> Result<Elapsed, CalendarError> {
        let (working, provisional) = self.work_between_local(to_local(a)?, to_local(b)?)?;
        Ok(Elapsed {
            working,
            provisional,
        })
    }

    /// Working time in `[a, b)` outside every pause `[from, to)` (延期, 挂账 stop the clock).
    /// Pauses may overlap each other and extend beyond `[a, b)`; their union is removed once. A
    /// pause that ends before it starts is an error; an empty one is ignored.
    pub fn working_minutes_between_excluding(
        &self,
        a: DateTime<Utc>,
        b: DateTime<Utc>,
        pauses: &[(DateTime<Utc>, DateTime<Utc>)],
    ) -> Result<Elapsed, CalendarError> {
        let pauses = merge_pauses(pauses)?;
        let (a, b) = (to_local(a)?, to_local(b)?);
        let mut working = TimeDelta::zero();
        let mut provisional = false;
        let mut cursor = a;
        for (from, to) in pauses {
            if cursor >= b || from >= b {
                break;
            }
            if to <= cursor {
                continue;
            }
            if from > cursor {
                let (w, p) = self.work_between_local(cursor, from)?;
                working += w;
                provisional |= p;
            }
            cursor = to;
        }
        if cursor < b {
            let (w, p) = self.work_between_local(cursor, b)?;
            working += w;
            provisional |= p;
        }
        Ok(Elapsed {
            working,
            provisional,
        })
    }

    /// The earliest instant by which `minutes` working minutes have elapsed since `start` outside
    /// the pauses; the inverse of [`Self::working_minutes_between_excluding`]. Only pauses known
    /// now can be passed, so recompute when a pause starts or ends.
    pub fn add_working_duration_with_pauses(
        &self,
        start: DateTime<Utc>,
        minutes: u32,
        pauses: &[(DateTime<Utc>, DateTime<Utc>)],
    ) -> Result<Deadline, CalendarError> {
        self.add_working_time_with_pauses(start, TimeDelta::minutes(i64::from(minutes)), pauses)
    }

    /// [`Self::add_working_duration_with_pauses`] with an exact duration.
    pub fn add_working_time_with_pauses(
        &self,
        start: DateTime<Utc>,
        work: TimeDelta,
        pauses: &[(DateTime<Utc>, DateTime<Utc>)],
    ) -> Result<Deadline, CalendarError> {
        if work < TimeDelta::zero() {
            return Err(CalendarError::NegativeDuration(work));
        }
        let pauses = merge_pauses(pauses)?;
        let start = to_local(start)?;
        if work.is_zero() {
            return deadline(start, false);
        }
        let mut cursor = start;
        let mut remaining = work;
        let mut provisional = false;
        for (from, to) in pauses {
            if to <= cursor {
                continue;
            }
            if from > cursor {
                // Try to finish before the pause first: measuring up to a pause far in the future
                // could walk much further than the answer needs.
                let (at, p) = self.add_work_local(cursor, remaining)?;
                if at <= from {
                    return deadline(at, provisional || p);
                }
                let (w, p) = self.work_between_local(cursor, from)?;
                remaining -= w;
                provisional |= p;
            }
            cursor = to;
        }
        let (at, p) = self.add_work_local(cursor, remaining)?;
        deadline(at, provisional || p)
    }

    /// The periods of `date` that can matter for the local interval `[from, to)` of that day
    /// (`to == None`: the rest of the day), empty on a non-working day. The day's status, and with
    /// it the provisional flag, is consulted only when a period overlaps the interval: a date whose
    /// result cannot change with its status must not make the result provisional.
    fn periods_within(
        &self,
        date: NaiveDate,
        from: NaiveTime,
        to: Option<NaiveTime>,
        provisional: &mut bool,
    ) -> &[WorkPeriod] {
        let periods = self.schedule.periods_on(date);
        let overlaps = periods
            .iter()
            .any(|p| p.end > from && to.is_none_or(|to| p.start < to));
        if !overlaps {
            return &[];
        }
        *provisional |= !self.covers(date);
        if self.is_working_day(date) {
            periods
        } else {
            &[]
        }
    }

    fn add_work_local(
        &self,
        start: NaiveDateTime,
        work: TimeDelta,
    ) -> Result<(NaiveDateTime, bool), CalendarError> {
        let mut provisional = false;
        if work <= TimeDelta::zero() {
            return Ok((start, provisional));
        }
        let mut remaining = work;
        let mut walk = DayWalk::new(start.date());
        let mut from = start.time();
        loop {
            for p in self.periods_within(walk.date, from, None, &mut provisional) {
                let lo = from.max(p.start);
                if lo >= p.end {
                    continue;
                }
                let available = p.end - lo;
                if remaining <= available {
                    let at = walk
                        .date
                        .and_time(lo)
                        .checked_add_signed(remaining)
                        .ok_or(CalendarError::OutOfRange)?;
                    return Ok((at, provisional));
                }
                remaining -= available;
            }
            from = NaiveTime::MIN;
            walk.advance()?;
        }
    }

    fn work_between_local(
        &self,
        a: NaiveDateTime,
        b: NaiveDateTime,
    ) -> Result<(TimeDelta, bool), CalendarError> {
        let mut total = TimeDelta::zero();
        let mut provisional = false;
        if b <= a {
            return Ok((total, provisional));
        }
        // A `b` at midnight contributes nothing of its own day, so that day is not looked at.
        let last = if b.time() == NaiveTime::MIN {
            b.date().pred_opt().ok_or(CalendarError::OutOfRange)?
        } else {
            b.date()
        };
        let mut walk = DayWalk::new(a.date());
        loop {
            let from = if walk.date == a.date() {
                a.time()
            } else {
                NaiveTime::MIN
            };
            let to = (walk.date == b.date()).then(|| b.time());
            for p in self.periods_within(walk.date, from, to, &mut provisional) {
                let lo = from.max(p.start);
                let hi = to.map_or(p.end, |to| to.min(p.end));
                if hi > lo {
                    total += hi - lo;
                }
            }
            if walk.date >= last {
                return Ok((total, provisional));
            }
            walk.advance()?;
        }
    }

    fn next_working_local(
        &self,
        start: NaiveDateTime,
    ) -> Result<(NaiveDateTime, bool), CalendarError> {
        let mut provisional = false;
        let mut walk = DayWalk::new(start.date());
        let mut from = start.time();
        loop {
            for p in self.periods_within(walk.date, from, None, &mut provisional) {
                let lo = from.max(p.start);
                if lo < p.end {
                    return Ok((walk.date.and_time(lo), provisional));
                }
            }
            from = NaiveTime::MIN;
            walk.advance()?;
        }
    }
}

/// Puts a clock time carried over from another day into `periods`: unchanged inside a period,
/// forward to the next period start in a gap, back to the last period end after the working day.
fn place_in_periods(periods: &[WorkPeriod], time: NaiveTime) -> NaiveTime {
    periods
        .iter()
        .find(|p| time < p.end)
        .map(|p| time.max(p.start))
        .or_else(|| periods.last().map(|p| p.end))
        .unwrap_or(time)
}

/// Validates, sorts and merges pauses into disjoint local intervals.
fn merge_pauses(
    pauses: &[(DateTime<Utc>, DateTime<Utc>)],
) -> Result<Vec<LocalPause>, CalendarError> {
    let mut local = Vec::with_capacity(pauses.len());
    for (index, &(from, to)) in pauses.iter().enumerate() {
        if to < from {
            return Err(CalendarError::InvalidPause { index, from, to });
        }
        if to > from {
            local.push((to_local(from)?, to_local(to)?));
        }
    }
    local.sort_unstable();
    let mut merged: Vec<LocalPause> = Vec::with_capacity(local.len());
    for (from, to) in local {
        match merged.last_mut() {
            Some(last) if from <= last.1 => last.1 = last.1.max(to),
            _ => merged.push((from, to)),
        }
    }
    Ok(merged)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    WorkingMinutes,
    WorkingHours,
    WorkingDays,
    CalendarHours,
    CalendarDays,
}

impl TimeUnit {
    pub const ALL: [TimeUnit; 5] = [
        TimeUnit::WorkingMinutes,
        TimeUnit::WorkingHours,
        TimeUnit::WorkingDays,
        TimeUnit::CalendarHours,
        TimeUnit::CalendarDays,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TimeUnit::WorkingMinutes => "working_minutes",
            TimeUnit::WorkingHours => "working_hours",
            TimeUnit::WorkingDays => "working_days",
            TimeUnit::CalendarHours => "calendar_hours",
            TimeUnit::CalendarDays => "calendar_days",
        }
    }

    /// The canonical Chinese suffix used by [`TimeLimit`]'s `Display`.
    pub fn suffix_zh(self) -> &'static str {
        match self {
            TimeUnit::WorkingMinutes => "工作分钟",
            TimeUnit::WorkingHours => "个工作小时",
            TimeUnit::WorkingDays => "个工作日",
            TimeUnit::CalendarHours => "个自然小时",
            TimeUnit::CalendarDays => "个自然日",
        }
    }

    pub fn is_working_time(self) -> bool {
        matches!(
            self,
            TimeUnit::WorkingMinutes | TimeUnit::WorkingHours | TimeUnit::WorkingDays
        )
    }
}

/// A time limit from a rules table, such as `3个工作日` or `24自然小时`.
///
/// Parsing conventions:
///
/// | Written | Unit |
/// |---|---|
/// | `工作日`, `工作天` | working days |
/// | `小时`, `工作小时`, `工作时` | working hours |
/// | `自然小时`, `自然时` | calendar hours |
/// | `天`, `日`, `自然日`, `自然天`, `日历日` | calendar days |
/// | `分钟`, `工作分钟` | working minutes |
/// | `working day(s)`, `business day(s)`, `workday(s)` | working days |
/// | `working hour(s)`, `business hour(s)` | working hours |
/// | `working minute(s)` | working minutes |
/// | `calendar hour(s)`, `calendar day(s)` | calendar hours, days |
///
/// A bare 小时 (and 分钟) is working time because that is what local-centre rules tables mean by
/// it; continuous time must say 自然小时. A bare 天/日 is a calendar day, as periods counted in
/// days are in the Civil Code; a working day must say 工作日. The asymmetry is deliberate: each
/// reading is the one the rules tables and the law already use.
///
/// `个` before the unit, spaces, a trailing `内`/`以内`, `_` or `-` between English words,
/// full-width digits (`３`) and Chinese numerals (`三`, `十二`, `两`, `一百零五`) are accepted.
/// Bare English `hours`/`days`/`minutes` are rejected as ambiguous. Zero, negative and fractional
/// values are rejected; write `30分钟` rather than `0.5小时`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeLimit {
    value: u32,
    unit: TimeUnit,
}

impl TimeLimit {
    pub fn new(value: u32, unit: TimeUnit) -> Result<Self, CalendarError> {
        if value == 0 {
            return Err(CalendarError::InvalidTimeLimit {
                input: format!("{value} {}", unit.as_str()),
                reason: "a time limit must be at least 1".to_owned(),
            });
        }
        Ok(Self { value, unit })
    }

    pub fn value(&self) -> u32 {
        self.value
    }

    pub fn unit(&self) -> TimeUnit {
        self.unit
    }

    /// The deadline for a case started at `start`.
    pub fn due(
        &self,
        calendar: &WorkCalendar,
        start: DateTime<Utc>,
    ) -> Result<Deadline, CalendarError> {
        let value = i64::from(self.value);
        match self.unit {
            TimeUnit::WorkingMinutes => calendar.add_working_duration(start, self.value),
            TimeUnit::WorkingHours => calendar.add_working_hours(start, self.value),
            TimeUnit::WorkingDays => calendar.add_working_days(start, self.value),
            TimeUnit::CalendarHours => calendar.add_calendar(start, TimeDelta::hours(value)),
            TimeUnit::CalendarDays => calendar.add_calendar(start, TimeDelta::days(value)),
        }
    }
}

impl fmt::Display for TimeLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.value, self.unit.suffix_zh())
    }
}

const FRACTION_REASON: &str =
    "fractions are not supported; use a smaller unit, e.g. `30分钟` for half an hour";

impl FromStr for TimeLimit {
    type Err = CalendarError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let fail = |reason: &str| CalendarError::InvalidTimeLimit {
            input: input.to_owned(),
            reason: reason.to_owned(),
        };
        let text: String = input.chars().map(halfwidth).collect();
        let text = text.trim();
        let Some(first) = text.chars().next() else {
            return Err(fail(
                "empty; expected e.g. `3个工作日` or `4 working hours`",
            ));
        };
        if matches!(first, '-' | '负') {
            return Err(fail("a time limit cannot be negative"));
        }
        if first == '半' {
            return Err(fail(FRACTION_REASON));
        }
        let value = if first.is_ascii_digit() {
            let end = text
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(text.len());
            let (digits, rest) = text.split_at(end);
            (digits.parse::<u64>().ok(), rest)
        } else {
            let end = text
                .char_indices()
                .find(|&(_, c)| chinese_digit(c).is_none() && chinese_multiplier(c).is_none())
                .map_or(text.len(), |(i, _)| i);
            let (numeral, rest) = text.split_at(end);
            if numeral.is_empty() {
                return Err(fail(
                    "expected a number first, e.g. `3个工作日` or `2 working days`",
                ));
            }
            let value = parse_chinese_numeral(numeral)
                .ok_or_else(|| fail("not a valid Chinese numeral"))?;
            (Some(value), rest)
        };
        let (value, rest) = value;
        if rest.starts_with(['.', '点']) {
            return Err(fail(FRACTION_REASON));
        }
        let value = value
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| fail("the number is too large"))?;
        if value == 0 {
            return Err(fail("a time limit must be at least 1"));
        }
        let unit = parse_unit(rest.trim()).map_err(fail)?;
        Ok(Self { value, unit })
    }
}

impl TryFrom<String> for TimeLimit {
    type Error = CalendarError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<TimeLimit> for String {
    fn from(limit: TimeLimit) -> Self {
        limit.to_string()
    }
}

/// Folds full-width forms (`３`, `ｈ`, `－`, the ideographic space) and the minus sign to ASCII so
/// both input methods parse alike.
fn halfwidth(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{2212}' => '-',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

fn chinese_digit(c: char) -> Option<u64> {
    Some(match c {
        '零' | '〇' => 0,
        '一' => 1,
        '二' | '两' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        _ => return None,
    })
}

fn chinese_multiplier(c: char) -> Option<u64> {
    Some(match c {
        '十' => 10,
        '百' => 100,
        '千' => 1000,
        '万' => 10_000,
        _ => return None,
    })
}

/// Reads positional Chinese numerals: 三, 十二, 二十四, 两百, 一百零五, 一万二千. Digit strings
/// such as 二四 and misordered multipliers such as 十百 are rejected rather than guessed.
fn parse_chinese_numeral(s: &str) -> Option<u64> {
    let mut total: u64 = 0;
    let mut section: u64 = 0;
    let mut digit: Option<u64> = None;
    let mut last_multiplier = u64::MAX;
    let mut zero_seen = false;
    for c in s.chars() {
        if let Some(d) = chinese_digit(c) {
            if d == 0 {
                // 零 only marks a skipped place, as in 一百零五.
                if digit.is_some() {
                    return None;
                }
                zero_seen = true;
                continue;
            }
            if digit.is_some() {
                return None;
            }
            digit = Some(d);
        } else if let Some(m) = chinese_multiplier(c) {
            if m == 10_000 {
                let group = section + digit.take().unwrap_or(0);
                if group == 0 || total != 0 {
                    return None;
                }
                total = group * 10_000;
                section = 0;
                last_multiplier = m;
                zero_seen = false;
                continue;
            }
            if m >= last_multiplier {
                return None;
            }
            let d = match digit.take() {
                Some(d) => d,
                // A leading 十 means 一十: 十二 is twelve.
                None if m == 10 && section == 0 => 1,
                None => return None,
            };
            section += d * m;
            last_multiplier = m;
            zero_seen = false;
        } else {
            return None;
        }
    }
    // Colloquial 一百二 means 120, not 102; refuse to guess which was meant.
    if digit.is_some() && !zero_seen && (100..u64::MAX).contains(&last_multiplier) {
        return None;
    }
    Some(total + section + digit.unwrap_or(0))
}

fn parse_unit(rest: &str) -> Result<TimeUnit, &'static str> {
    if rest.is_empty() {
        return Err("missing unit, e.g. `个工作日`, `小时`, `自然日` or `working days`");
    }
    if rest.chars().any(|c| c.is_ascii_alphabetic()) {
        return parse_english_unit(rest);
    }
    let compact: String = rest.chars().filter(|c| !c.is_whitespace()).collect();
    let unit = compact.strip_prefix('个').unwrap_or(&compact);
    let unit = unit
        .strip_suffix("以内")
        .or_else(|| unit.strip_suffix('内'))
        .unwrap_or(unit);
    if unit.starts_with('半') {
        return Err(FRACTION_REASON);
    }
    match unit {
        "工作日" | "工作天" => Ok(TimeUnit::WorkingDays),
        "天" | "日" | "自然日" | "自然天" | "日历日" => Ok(TimeUnit::CalendarDays),
        "小时" | "工作小时" | "工作时" => Ok(TimeUnit::WorkingHours),
        "自然小时" | "自然时" => Ok(TimeUnit::CalendarHours),
        "分钟" | "工作分钟" => Ok(TimeUnit::WorkingMinutes),
        "自然分钟" => {
            Err("calendar minutes are not supported; use 自然小时 or 分钟 (working minutes)")
        }
        _ => Err("unknown unit; expected 工作日, 小时/工作时, 自然小时, 天/自然日 or 分钟"),
    }
}

fn parse_english_unit(rest: &str) -> Result<TimeUnit, &'static str> {
    let lower = rest.to_ascii_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| c.is_whitespace() || c == '_' || c == '-')
        .filter(|w| !w.is_empty())
        .collect();
    match words.join(" ").as_str() {
        "working day" | "working days" | "work day" | "work days" | "workday" | "workdays"
        | "business day" | "business days" => Ok(TimeUnit::WorkingDays),
        "working hour" | "working hours" | "work hour" | "work hours" | "business hour"
        | "business hours" => Ok(TimeUnit::WorkingHours),
        "working minute" | "working minutes" | "work minute" | "work minutes" => {
            Ok(TimeUnit::WorkingMinutes)
        }
        "calendar hour" | "calendar hours" => Ok(TimeUnit::CalendarHours),
        "calendar day" | "calendar days" => Ok(TimeUnit::CalendarDays),
        "day" | "days" | "hour" | "hours" | "minute" | "minutes" | "d" | "h" | "min" | "mins" => {
            Err("ambiguous unit; write `working ...` or `calendar ...`, e.g. `4 working hours`")
        }
        _ => Err("unknown unit; expected working/calendar days or hours, or working minutes"),
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error;
    use std::sync::LazyLock;

    use proptest::prelude::*;

    use super::*;

    type TestResult = Result<(), Box<dyn Error>>;

    static BUILTIN: LazyLock<Result<WorkCalendar, CalendarError>> =
        LazyLock::new(WorkCalendar::builtin);

    /// The built-in rules cut after 2025, to exercise the provisional flag inside the generated
    /// range.
    static UNTIL_2025: LazyLock<Result<WorkCalendar, CalendarError>> = LazyLock::new(|| {
        let rules = parse_holiday_csv(BUILTIN_HOLIDAYS_CSV)?;
        WorkCalendar::new(
            WorkSchedule::standard(),
            rules.into_iter().filter(|r| r.date.year() <= 2025),
        )
    });

    fn builtin() -> Result<&'static WorkCalendar, CalendarError> {
        BUILTIN.as_ref().map_err(Clone::clone)
    }

    fn until_2025() -> Result<&'static WorkCalendar, CalendarError> {
        UNTIL_2025.as_ref().map_err(Clone::clone)
    }

    /// `YYYY-MM-DD HH:MM` in China time.
    fn cn(text: &str) -> Result<DateTime<Utc>, Box<dyn Error>> {
        Ok(from_local(NaiveDateTime::parse_from_str(
            text,
            "%Y-%m-%d %H:%M",
        )?)?)
    }

    fn show(t: DateTime<Utc>) -> String {
        to_local(t).map_or_else(
            |e| e.to_string(),
            |l| l.format("%Y-%m-%d %H:%M").to_string(),
        )
    }

    fn time(text: &str) -> Result<NaiveTime, Box<dyn Error>> {
        Ok(NaiveTime::parse_from_str(text, "%H:%M")?)
    }

    fn date(text: &str) -> Result<NaiveDate, Box<dyn Error>> {
        Ok(NaiveDate::parse_from_str(text, "%Y-%m-%d")?)
    }

    /// Exactly the end of a working period on a working day.
    fn at_period_end(calendar: &WorkCalendar, t: DateTime<Utc>) -> Result<bool, CalendarError> {
        let local = to_local(t)?;
        Ok(calendar.is_working_day(local.date())
            && calendar
                .schedule()
                .periods_on(local.date())
                .iter()
                .any(|p| p.end() == local.time()))
    }

    #[test]
    fn builtin_csv_matches_its_readme() -> TestResult {
        let rules = parse_holiday_csv(BUILTIN_HOLIDAYS_CSV)?;
        assert_eq!(rules.len(), 322);
        assert_eq!(
            rules.iter().filter(|r| r.kind == DayKind::Holiday).count(),
            263
        );
        assert_eq!(
            rules.iter().filter(|r| r.kind == DayKind::Workday).count(),
            59
        );
        let calendar = builtin()?;
        assert_eq!(calendar.covered_years(), Some(2018..=2026));
        // 2026 Spring Festival: 02-15..=02-23 off, Saturdays 02-14 and 02-28 worked.
        for day in 15..=23 {
            let d = date(&format!("2026-02-{day:02}"))?;
            assert_eq!(
                calendar.rule(d).map(|r| r.kind),
                Some(DayKind::Holiday),
                "{d}"
            );
            assert!(!calendar.is_working_day(d));
        }
        // National Day 2026: 10-01..=10-07 off, Sunday 09-20 and Saturday 10-10 worked.
        for day in 1..=7 {
            assert!(!calendar.is_working_day(date(&format!("2026-10-{day:02}"))?));
        }
        for d in [
            "2026-01-04",
            "2026-02-14",
            "2026-02-28",
            "2026-05-09",
            "2026-09-20",
            "2026-10-10",
        ] {
            let d = date(d)?;
            assert!(is_weekend(d) && calendar.is_working_day(d), "{d}");
        }
        assert!(
            !calendar.is_working_day(date("2026-02-21")?),
            "an ordinary Saturday inside the festival"
        );
        assert!(
            !calendar.is_working_day(date("2026-03-07")?),
            "an ordinary Saturday"
        );
        assert!(
            calendar.is_working_day(date("2026-03-09")?),
            "an ordinary Monday"
        );
        assert_eq!(
            calendar
                .rule(date("2026-10-10")?)
                .map(|r| r.festival.as_str()),
            Some("National Day")
        );
        Ok(())
    }

    #[test]
    fn working_days_hand_cases() -> TestResult {
        let calendar = builtin()?;
        let cases = [
            // Fri 02-13; Sat 02-14 is an adjusted working day (1); 02-15..=02-23 off; Tue 02-24
            // (2); Wed 02-25 (3).
            ("2026-02-13 16:00", 3, "2026-02-25 16:00"),
            // The next working day after Fri 02-13 is the adjusted Saturday.
            ("2026-02-13 16:00", 1, "2026-02-14 16:00"),
            // From the adjusted Saturday the whole festival is skipped.
            ("2026-02-14 10:00", 1, "2026-02-24 10:00"),
            // Wed 09-30; 10-01..=10-07 off; Thu 10-08 (1); Fri 10-09 (2).
            ("2026-09-30 16:00", 2, "2026-10-09 16:00"),
            // Fri 10-09 → adjusted Sat 10-10.
            ("2026-10-09 10:00", 1, "2026-10-10 10:00"),
            // Fri 09-18 → Sat 09-19 off → adjusted Sun 09-20.
            ("2026-09-18 10:00", 1, "2026-09-20 10:00"),
            // Thu 04-30; 05-01..=05-05 off; Wed 05-06 (1), Thu (2), Fri (3), adjusted Sat 05-09
            // (4).
            ("2026-04-30 15:00", 4, "2026-05-09 15:00"),
            // Wed 2025-12-31; 2026-01-01..=01-03 off; adjusted Sun 01-04 (1); Mon 01-05 (2).
            ("2025-12-31 10:00", 2, "2026-01-05 10:00"),
            // Lunch break: counting starts at 14:00 the same day.
            ("2026-03-10 12:30", 1, "2026-03-11 14:00"),
            // 12:00 ends the morning, so it is not working time either.
            ("2026-03-10 12:00", 1, "2026-03-11 14:00"),
            // Evening: counting starts Wed 08:00, one working day later is Thu 08:00.
            ("2026-03-10 20:00", 1, "2026-03-12 08:00"),
            // Ordinary Saturday: counting starts Mon 03-09 08:00.
            ("2026-03-07 09:00", 1, "2026-03-10 08:00"),
        ];
        for (start, days, expected) in cases {
            let due = calendar.add_working_days(cn(start)?, days)?;
            assert_eq!(show(due.at), expected, "{start} + {days} working days");
            assert!(!due.provisional, "{start} + {days} working days");
        }
        Ok(())
    }

    #[test]
    fn working_hours_and_minutes_hand_cases() -> TestResult {
        let calendar = builtin()?;
        let hours = [
            // Fri 17:00–18:00 is 1 h; the adjusted Sat 02-14 gives 08:00 + 3 h.
            ("2026-02-13 17:00", 4, "2026-02-14 11:00"),
            // Ordinary Friday: 1 h, then Monday 08:00 + 3 h.
            ("2026-03-06 17:00", 4, "2026-03-09 11:00"),
            // The morning's 4 h end at 12:00 exactly, not at 14:00.
            ("2026-03-10 08:00", 4, "2026-03-10 12:00"),
            // 10:00–12:00 (2 h) + 14:00–16:00.
            ("2026-03-10 10:00", 4, "2026-03-10 16:00"),
            // From inside the lunch break, counting starts at 14:00.
            ("2026-03-10 12:30", 1, "2026-03-10 15:00"),
            // Adjusted Sat 17:30–18:00 (30 min); festival off; Tue 02-24 08:00 + 30 min.
            ("2026-02-14 17:30", 1, "2026-02-24 08:30"),
            // Wed 09-30 17:00–18:00 (1 h); National Day off; Thu 10-08 08–12 (4 h) + 14–17 (3 h).
            ("2026-09-30 17:00", 8, "2026-10-08 17:00"),
        ];
        for (start, h, expected) in hours {
            let due = calendar.add_working_hours(cn(start)?, h)?;
            assert_eq!(show(due.at), expected, "{start} + {h} working hours");
            assert!(!due.provisional);
        }
        // 11:50–12:00 (10 min) + 14:00–14:10.
        let due = calendar.add_working_duration(cn("2026-03-10 11:50")?, 20)?;
        assert_eq!(show(due.at), "2026-03-10 14:10");
        Ok(())
    }

    #[test]
    fn elapsed_hand_cases() -> TestResult {
        let calendar = builtin()?;
        let cases = [
            // Across lunch: 11:30–12:00 + 14:00–14:30.
            ("2026-03-10 11:30", "2026-03-10 14:30", 60),
            // Across the Spring Festival: Fri 17–18 (60) + adjusted Sat 02-14 (480) + 02-15..=02-23
            // (0) + Tue 02-24 08–09 (60).
            ("2026-02-13 17:00", "2026-02-24 09:00", 600),
            // Across National Day: Wed 09-30 09–12 (180) + 14–18 (240) + 10-01..=10-07 (0) + Thu
            // 08–09 (60).
            ("2026-09-30 09:00", "2026-10-08 09:00", 480),
            // An ordinary weekend.
            ("2026-03-07 00:00", "2026-03-09 00:00", 0),
            // b before a.
            ("2026-03-10 14:30", "2026-03-10 11:30", 0),
            // The whole of 2026: 261 weekdays − 19 weekday holidays (01-01, 01-02, 02-16..=02-20,
            // 02-23, 04-06, 05-01, 05-04, 05-05, 06-19, 09-25, 10-01, 10-02, 10-05, 10-06, 10-07) +
            // 6 adjusted days (01-04, 02-14, 02-28, 05-09, 09-20, 10-10) = 248 days × 480 min.
            ("2026-01-01 00:00", "2027-01-01 00:00", 248 * 480),
        ];
        for (a, b, expected) in cases {
            let elapsed = calendar.working_minutes_between(cn(a)?, cn(b)?)?;
            assert_eq!(elapsed.minutes(), expected, "{a} → {b}");
            assert!(!elapsed.provisional, "{a} → {b}");
        }
        Ok(())
    }

    #[test]
    fn results_beyond_the_loaded_years_are_provisional() -> TestResult {
        let calendar = builtin()?;
        // Thu 2026-12-31 17:00–18:00 is all the work needed: 2027 is not looked at.
        let due = calendar.add_working_hours(cn("2026-12-31 17:00")?, 1)?;
        assert_eq!(show(due.at), "2026-12-31 18:00");
        assert_eq!(due.final_at()?, due.at);
        // One more hour lands on Fri 2027-01-01, a weekday guessed as working (it will really be
        // New Year's Day), so the result must be flagged.
        let due = calendar.add_working_hours(cn("2026-12-31 17:00")?, 2)?;
        assert_eq!(show(due.at), "2027-01-01 09:00");
        assert!(due.provisional);
        assert_eq!(
            due.final_at(),
            Err(CalendarError::ProvisionalDeadline { at: due.at })
        );
        let due = calendar.add_working_days(cn("2026-12-31 10:00")?, 1)?;
        assert_eq!(
            (show(due.at).as_str(), due.provisional),
            ("2027-01-01 10:00", true)
        );
        // 60 min on 12-31 + 60 min on the guessed 2027-01-01.
        let elapsed =
            calendar.working_minutes_between(cn("2026-12-31 17:00")?, cn("2027-01-01 09:00")?)?;
        assert_eq!((elapsed.minutes(), elapsed.provisional), (120, true));
        // Ending before the first period of 2027-01-01 does not depend on that day.
        let elapsed =
            calendar.working_minutes_between(cn("2026-12-31 17:00")?, cn("2027-01-01 07:00")?)?;
        assert_eq!((elapsed.minutes(), elapsed.provisional), (60, false));
        // Calendar limits never look at holidays.
        let due = calendar.add_calendar(cn("2026-12-31 20:00")?, TimeDelta::hours(24))?;
        assert_eq!(
            (show(due.at).as_str(), due.provisional),
            ("2027-01-01 20:00", false)
        );
        // A calendar without rules knows no year.
        let bare = WorkCalendar::new(WorkSchedule::standard(), [])?;
        assert_eq!(bare.covered_years(), None);
        assert!(
            bare.add_working_hours(cn("2026-03-10 08:00")?, 1)?
                .provisional
        );
        Ok(())
    }

    #[test]
    fn calendar_limits_run_through_holidays() -> TestResult {
        let calendar = builtin()?;
        let start = cn("2026-02-14 10:00")?;
        let due = calendar.add_calendar(start, TimeDelta::hours(24))?;
        assert_eq!(show(due.at), "2026-02-15 10:00");
        assert_eq!(calendar.add_calendar(start, TimeDelta::days(1))?, due);
        assert_eq!(
            calendar.add_calendar(start, TimeDelta::hours(-1)),
            Err(CalendarError::NegativeDuration(TimeDelta::hours(-1)))
        );
        Ok(())
    }

    #[test]
    fn pauses_hand_cases() -> TestResult {
        let calendar = builtin()?;
        let (a, b) = (cn("2026-03-09 08:00")?, cn("2026-03-13 18:00")?);
        // Mon..Fri, 5 × 480 = 2400 without pauses.
        assert_eq!(calendar.working_minutes_between(a, b)?.minutes(), 2400);
        let pauses = [
            (cn("2026-03-10 10:00")?, cn("2026-03-11 10:00")?),
            // Overlaps the first: the union is Tue 10:00 → Wed 15:00, i.e. Tue 10–12 (120) + 14–18
            // (240) + Wed 08–12 (240) + 14–15 (60) = 660.
            (cn("2026-03-11 09:00")?, cn("2026-03-11 15:00")?),
            // Straddles a: removes Mon 08–09 (60).
            (cn("2026-03-08 00:00")?, cn("2026-03-09 09:00")?),
            // After b: no effect.
            (cn("2026-03-16 08:00")?, cn("2026-03-16 12:00")?),
            // Empty: ignored.
            (cn("2026-03-12 09:00")?, cn("2026-03-12 09:00")?),
        ];
        let elapsed = calendar.working_minutes_between_excluding(a, b, &pauses)?;
        assert_eq!(elapsed.minutes(), 2400 - 660 - 60);

        // Mon 17:00–17:30 (30), paused until Tue 09:00, then 90 more.
        let start = cn("2026-03-09 17:00")?;
        let pause = [(cn("2026-03-09 17:30")?, cn("2026-03-10 09:00")?)];
        let due = calendar.add_working_duration_with_pauses(start, 120, &pause)?;
        assert_eq!(show(due.at), "2026-03-10 10:30");
        // A pause after the deadline changes nothing: Mon 17–18 (60) + Tue 08–09 (60).
        let later = [(cn("2026-03-12 08:00")?, cn("2026-03-13 08:00")?)];
        let due = calendar.add_working_duration_with_pauses(start, 120, &later)?;
        assert_eq!(show(due.at), "2026-03-10 09:00");
        // A pause covering the start: the clock starts at 15:00.
        let covering = [(cn("2026-03-09 08:00")?, cn("2026-03-09 15:00")?)];
        let due =
            calendar.add_working_duration_with_pauses(cn("2026-03-09 09:00")?, 60, &covering)?;
        assert_eq!(show(due.at), "2026-03-09 16:00");

        let backwards = [(b, a)];
        assert_eq!(
            calendar.working_minutes_between_excluding(a, b, &backwards),
            Err(CalendarError::InvalidPause {
                index: 0,
                from: b,
                to: a
            })
        );
        Ok(())
    }

    #[test]
    fn seasonal_schedule() -> TestResult {
        let summer = [
            (time("08:00")?, time("12:00")?),
            (time("14:30")?, time("18:30")?),
        ];
        let schedule = WorkSchedule::standard().with_season(
            MonthDay::new(7, 1)?,
            MonthDay::new(9, 30)?,
            summer,
        )?;
        let calendar = WorkCalendar::new(schedule, parse_holiday_csv(BUILTIN_HOLIDAYS_CSV)?)?;
        let cases = [
            // Tue 06-30 (standard) 17:00–18:00, then Wed 07-01 (summer) 08:00 + 1 h.
            ("2026-06-30 17:00", Some(2), None, "2026-07-01 09:00"),
            // 17:00 is inside 14:30–18:30 too, so the time of day carries over.
            ("2026-06-30 17:00", None, Some(1), "2026-07-01 17:00"),
            // 14:10 falls in the summer lunch break: forward to 14:30.
            ("2026-06-30 14:10", None, Some(1), "2026-07-01 14:30"),
            // Wed 09-30 18:15 (summer); National Day off; Thu 10-08 (standard) ends at 18:00: back
            // to it.
            ("2026-09-30 18:15", None, Some(1), "2026-10-08 18:00"),
        ];
        for (start, hours, days, expected) in cases {
            let due = match (hours, days) {
                (Some(h), _) => calendar.add_working_hours(cn(start)?, h)?,
                (_, Some(d)) => calendar.add_working_days(cn(start)?, d)?,
                _ => continue,
            };
            assert_eq!(show(due.at), expected, "{start} {hours:?} h {days:?} d");
        }
        // Summer lunch ends at 14:30: 12:00–15:00 holds 30 working minutes.
        let elapsed =
            calendar.working_minutes_between(cn("2026-07-01 12:00")?, cn("2026-07-01 15:00")?)?;
        assert_eq!(elapsed.minutes(), 30);
        Ok(())
    }

    #[test]
    fn schedule_validation() -> TestResult {
        let p = |a: &str, b: &str| -> Result<(NaiveTime, NaiveTime), Box<dyn Error>> {
            Ok((time(a)?, time(b)?))
        };
        assert!(WorkSchedule::new([]).is_err(), "empty");
        assert!(
            WorkSchedule::new([p("12:00", "08:00")?]).is_err(),
            "start after end"
        );
        assert!(
            WorkSchedule::new([p("08:00", "08:00")?]).is_err(),
            "empty period"
        );
        assert!(
            WorkSchedule::new([p("14:00", "18:00")?, p("08:00", "12:00")?]).is_err(),
            "unsorted"
        );
        assert!(
            WorkSchedule::new([p("08:00", "12:30")?, p("12:00", "18:00")?]).is_err(),
            "overlap"
        );
        assert!(
            WorkSchedule::new([p("08:00", "12:00")?, p("12:00", "18:00")?]).is_ok(),
            "touching"
        );
        assert_eq!(
            WorkSchedule::new([p("08:00", "12:00")?, p("14:00", "18:00")?])?,
            WorkSchedule::standard()
        );

        let winter = WorkSchedule::standard().with_season(
            MonthDay::new(11, 1)?,
            MonthDay::new(3, 31)?,
            [p("08:30", "12:00")?, p("13:30", "17:00")?],
        )?;
        assert_eq!(
            winter.periods_on(date("2026-01-15")?)[0].start(),
            time("08:30")?
        );
        assert_eq!(
            winter.periods_on(date("2026-06-01")?),
            WorkSchedule::standard().periods()
        );
        let clash = winter.clone().with_season(
            MonthDay::new(3, 1)?,
            MonthDay::new(5, 31)?,
            [p("08:00", "12:00")?],
        );
        assert!(matches!(clash, Err(CalendarError::InvalidSchedule(m)) if m.contains("03-01")));
        assert!(MonthDay::new(2, 30).is_err());
        assert_eq!("02-29".parse::<MonthDay>()?, MonthDay::new(2, 29)?);

        // Deserialisation goes through the same checks.
        let raw = UncheckedSchedule {
            periods: vec![WorkPeriod {
                start: time("14:00")?,
                end: time("08:00")?,
            }],
            seasons: Vec::new(),
        };
        assert!(WorkSchedule::try_from(raw).is_err());
        Ok(())
    }

    #[test]
    fn calendar_rejects_bad_rules() -> TestResult {
        let rule = |d: &str, kind| -> Result<DayRule, Box<dyn Error>> {
            Ok(DayRule {
                date: date(d)?,
                kind,
                festival: String::new(),
            })
        };
        let gap = WorkCalendar::new(
            WorkSchedule::standard(),
            [
                rule("2024-01-01", DayKind::Holiday)?,
                rule("2026-01-01", DayKind::Holiday)?,
            ],
        );
        assert_eq!(
            gap,
            Err(CalendarError::MissingYear {
                year: 2025,
                first: 2024,
                last: 2026
            })
        );
        let twice = WorkCalendar::new(
            WorkSchedule::standard(),
            [
                rule("2026-01-01", DayKind::Holiday)?,
                rule("2026-01-01", DayKind::Holiday)?,
            ],
        );
        assert_eq!(
            twice,
            Err(CalendarError::DuplicateRule(date("2026-01-01")?))
        );
        let weekday = WorkCalendar::new(
            WorkSchedule::standard(),
            [rule("2026-01-05", DayKind::Workday)?],
        );
        assert!(matches!(
            weekday,
            Err(CalendarError::WorkdayNotOnWeekend {
                weekday: Weekday::Mon,
                ..
            })
        ));
        Ok(())
    }

    #[test]
    fn walking_is_bounded() -> TestResult {
        let calendar = builtin()?;
        let start = cn("2026-03-10 08:00")?;
        assert_eq!(
            calendar.add_working_days(start, 30_000),
            Err(CalendarError::SpanTooLong {
                max_days: MAX_SPAN_DAYS
            })
        );
        // Fifty years of elapsed time is still fine (and quick: one step per day).
        let elapsed =
            calendar.working_minutes_between(cn("2000-01-01 00:00")?, cn("2050-01-01 00:00")?)?;
        assert!(elapsed.provisional);
        assert!(elapsed.minutes() > 50 * 240 * 480);
        Ok(())
    }

    #[test]
    fn csv_errors_name_the_line() -> TestResult {
        let header = "date,kind,festival\n";
        let cases: [(&str, usize, CsvProblem); 7] = [
            (
                "2026-01-01,holiday,New Year's Day\n",
                1,
                CsvProblem::BadHeader("2026-01-01,holiday,New Year's Day".to_owned()),
            ),
            (
                "date,kind,festival\n2026-01-01,holiday,X\n\n2026-13-01,holiday,X\n",
                4,
                CsvProblem::BadDate("2026-13-01".to_owned()),
            ),
            (
                "date,kind,festival\n2026-1-1,holiday,X\n",
                2,
                CsvProblem::BadDate("2026-1-1".to_owned()),
            ),
            (
                "date,kind,festival\n2026-01-01,vacation,X\n",
                2,
                CsvProblem::UnknownKind("vacation".to_owned()),
            ),
            (
                "date,kind,festival\r\n2026-01-01,holiday,X\r\n2026-01-05,workday,X\r\n",
                3,
                CsvProblem::WorkdayNotOnWeekend {
                    date: date("2026-01-05")?,
                    weekday: Weekday::Mon,
                },
            ),
            (
                concat!(
                    "date,kind,festival\n",
                    "2026-01-01,holiday,X\n2026-01-02,holiday,X\n2026-01-01,holiday,Y\n"
                ),
                4,
                CsvProblem::DuplicateDate {
                    date: date("2026-01-01")?,
                    first_line: 2,
                },
            ),
            (
                "date,kind,festival\n2026-01-01,holiday\n",
                2,
                CsvProblem::ColumnCount(2),
            ),
        ];
        for (text, line, problem) in cases {
            let err = parse_holiday_csv(text);
            assert_eq!(err, Err(CalendarError::Csv { line, problem }), "{text:?}");
        }
        let message = parse_holiday_csv(&format!(
            "{header}2026-01-01,holiday,X\n2026-02-30,holiday,X\n"
        ))
        .map_err(|e| e.to_string());
        assert_eq!(
            message,
            Err("holiday CSV line 3: bad date `2026-02-30`, expected YYYY-MM-DD".to_owned())
        );
        Ok(())
    }

    #[test]
    fn csv_accepts_bom_crlf_and_blank_lines() -> TestResult {
        let rules = parse_holiday_csv(
            "\u{feff}date,kind,festival\r\n\r\n2026-02-14,workday,Spring Festival\r\n",
        )?;
        assert_eq!(
            rules,
            vec![DayRule {
                date: date("2026-02-14")?,
                kind: DayKind::Workday,
                festival: "Spring Festival".to_owned(),
            }]
        );
        assert_eq!(parse_holiday_csv("")?, Vec::new());
        Ok(())
    }

    #[test]
    fn time_limit_parsing() -> TestResult {
        use TimeUnit::*;
        let cases = [
            ("3个工作日", 3, WorkingDays),
            ("3工作日", 3, WorkingDays),
            ("2小时", 2, WorkingHours),
            ("4个工作时", 4, WorkingHours),
            ("4个工作小时", 4, WorkingHours),
            ("24自然小时", 24, CalendarHours),
            ("1自然日", 1, CalendarDays),
            ("1天", 1, CalendarDays),
            ("7日", 7, CalendarDays),
            ("30分钟", 30, WorkingMinutes),
            ("2 working days", 2, WorkingDays),
            ("4 working_hours", 4, WorkingHours),
            ("1 Business Day", 1, WorkingDays),
            ("7 calendar-days", 7, CalendarDays),
            ("48 calendar hours", 48, CalendarHours),
            ("15 working minutes", 15, WorkingMinutes),
            ("３个工作日", 3, WorkingDays),
            ("３０分钟", 30, WorkingMinutes),
            ("三个工作日", 3, WorkingDays),
            ("十二小时", 12, WorkingHours),
            ("两个工作日", 2, WorkingDays),
            ("二十四自然小时", 24, CalendarHours),
            ("一百零五分钟", 105, WorkingMinutes),
            ("十天", 10, CalendarDays),
            ("一万二千分钟", 12_000, WorkingMinutes),
            ("　5 个 工作日内 ", 5, WorkingDays),
            ("5个工作日以内", 5, WorkingDays),
        ];
        for (text, value, unit) in cases {
            let limit: TimeLimit = text.parse()?;
            assert_eq!((limit.value(), limit.unit()), (value, unit), "{text}");
        }
        Ok(())
    }

    #[test]
    fn time_limit_rejections_say_why() {
        let cases = [
            ("soon", "expected a number"),
            ("", "empty"),
            ("   ", "empty"),
            ("0个工作日", "at least 1"),
            ("零个工作日", "at least 1"),
            ("-3个工作日", "negative"),
            ("－3个工作日", "negative"),
            ("负三个工作日", "negative"),
            ("1.5小时", "fractions"),
            ("半小时", "fractions"),
            ("2个半小时", "fractions"),
            ("3", "missing unit"),
            ("3 hours", "ambiguous"),
            ("3 days", "ambiguous"),
            ("3个月", "unknown unit"),
            ("3 fortnights", "unknown unit"),
            ("3自然分钟", "not supported"),
            ("二三天", "numeral"),
            ("一百二小时", "numeral"),
            ("十百天", "numeral"),
            ("99999999999个工作日", "too large"),
        ];
        for (text, reason) in cases {
            match text.parse::<TimeLimit>() {
                Err(CalendarError::InvalidTimeLimit { input, reason: got }) => {
                    assert_eq!(input, text);
                    assert!(got.contains(reason), "{text:?}: {got}");
                }
                other => panic!("{text:?} parsed as {other:?}"),
            }
        }
        assert!(TimeLimit::new(0, TimeUnit::WorkingDays).is_err());
    }

    #[test]
    fn time_limit_display_and_due() -> TestResult {
        assert_eq!(
            TimeLimit::new(3, TimeUnit::WorkingDays)?.to_string(),
            "3个工作日"
        );
        assert_eq!(
            TimeLimit::new(4, TimeUnit::WorkingHours)?.to_string(),
            "4个工作小时"
        );
        assert_eq!(
            TimeLimit::new(24, TimeUnit::CalendarHours)?.to_string(),
            "24个自然小时"
        );
        assert_eq!(
            TimeLimit::new(1, TimeUnit::CalendarDays)?.to_string(),
            "1个自然日"
        );
        assert_eq!(
            TimeLimit::new(30, TimeUnit::WorkingMinutes)?.to_string(),
            "30工作分钟"
        );

        let calendar = builtin()?;
        let cases = [
            // See working_days_hand_cases.
            ("3个工作日", "2026-02-13 16:00", "2026-02-25 16:00"),
            // Tue 17–18 (1 h) + Wed 08–09.
            ("2小时", "2026-03-10 17:00", "2026-03-11 09:00"),
            // Calendar time ignores the festival.
            ("24自然小时", "2026-02-14 10:00", "2026-02-15 10:00"),
            ("1天", "2026-02-14 10:00", "2026-02-15 10:00"),
            // 11:50–12:00 (10) + 14:00–14:20.
            ("30分钟", "2026-03-10 11:50", "2026-03-10 14:20"),
        ];
        for (limit, start, expected) in cases {
            let due = limit.parse::<TimeLimit>()?.due(calendar, cn(start)?)?;
            assert_eq!(show(due.at), expected, "{limit} from {start}");
        }
        Ok(())
    }

    /// 2024-01-01, 2026-01-01 and 2027-01-01, 00:00 China time.
    const FROM_2024: i64 = 1_704_038_400;
    const FROM_2026: i64 = 1_767_196_800;
    const TO_2027: i64 = 1_798_732_800;

    /// Instants in 2024–2026: arbitrary ones (with nanoseconds) and ones on period boundaries,
    /// where off-by-one mistakes hide.
    fn instant() -> impl Strategy<Value = DateTime<Utc>> {
        let boundaries = [0, 8 * 3600, 12 * 3600, 14 * 3600, 18 * 3600, 18 * 3600 - 1];
        prop_oneof![
            (FROM_2024..TO_2027).prop_filter_map("in range", |s| DateTime::from_timestamp(s, 0)),
            (FROM_2024..TO_2027, 0u32..1_000_000_000)
                .prop_filter_map("in range", |(s, n)| DateTime::from_timestamp(s, n)),
            (0i64..1096, proptest::sample::select(boundaries.to_vec())).prop_filter_map(
                "in range",
                |(d, o)| DateTime::from_timestamp(FROM_2024 + d * 86_400 + o, 0)
            ),
        ]
    }

    /// Up to about four months of working time.
    fn minutes() -> impl Strategy<Value = u32> {
        prop_oneof![0u32..600, 0u32..40_000]
    }

    fn from_timestamp(seconds: i64) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp(seconds, 0)
    }

    fn year_of(t: DateTime<Utc>) -> Result<i32, CalendarError> {
        Ok(to_local(t)?.year())
    }

    proptest! {
        #[test]
        fn adding_is_associative(t in instant(), a in minutes(), b in minutes()) {
            let calendar = builtin()?;
            let step = calendar.add_working_duration(calendar.add_working_duration(t, a)?.at, b)?;
            let once = calendar.add_working_duration(t, a + b)?;
            prop_assert_eq!(step.at, once.at);
        }

        #[test]
        fn elapsed_inverts_add(t in instant(), d in minutes()) {
            let calendar = builtin()?;
            let due = calendar.add_working_duration(t, d)?;
            let elapsed = calendar.working_minutes_between(t, due.at)?;
            prop_assert_eq!(elapsed.working, TimeDelta::minutes(i64::from(d)));
            // Earliest: a nanosecond before, the work is not yet done.
            if d > 0 {
                let just_before = due.at - TimeDelta::nanoseconds(1);
            let before = calendar.working_minutes_between(t, just_before)?;
                prop_assert!(before.working < elapsed.working);
            }
        }

        #[test]
        fn adding_is_monotonic(t in instant(), a in minutes(), b in minutes()) {
            let calendar = builtin()?;
            let (lo, hi) = (a.min(b), a.max(b));
            let early = calendar.add_working_duration(t, lo)?;
            let late = calendar.add_working_duration(t, hi)?;
            prop_assert!(early.at <= late.at);
        }

        #[test]
        fn results_land_in_working_time(t in instant(), d in 1u32..40_000, n in 0u32..60) {
            let calendar = builtin()?;
            let due = calendar.add_working_duration(t, d)?.at;
            let landed = calendar.is_working_instant(due)? || at_period_end(calendar, due)?;
            prop_assert!(landed, "{}", show(due));
            let due = calendar.add_working_days(t, n)?.at;
            prop_assert!(calendar.is_working_instant(due)?, "{}", show(due));
        }

        /// With the same schedule every day, N working days are N × 8 working hours after the moved
        /// start, at the same clock time.
        #[test]
        fn working_days_are_whole_days_of_work(t in instant(), n in 0u32..60) {
            let calendar = builtin()?;
            let anchor = calendar.next_working_instant(t)?.at;
            let due = calendar.add_working_days(t, n)?;
            prop_assert_eq!(to_local(due.at)?.time(), to_local(anchor)?.time());
            let elapsed = calendar.working_minutes_between(anchor, due.at)?;
            prop_assert_eq!(elapsed.working, TimeDelta::hours(8 * i64::from(n)));
            prop_assert_eq!(due.provisional, year_of(due.at)? > 2026);
        }

        #[test]
        fn provisional_iff_a_year_without_data_was_used(t in instant(), d in 1u32..40_000) {
            for (calendar, last) in [(builtin()?, 2026), (until_2025()?, 2025)] {
                let due = calendar.add_working_duration(t, d)?;
                prop_assert_eq!(due.provisional, year_of(due.at)? > last);
            }
        }

        /// `a` in 2024–2025, so `[a, b)` reaches a year without data exactly when it passes the
        /// first working period (08:00) of the following 1 January.
        #[test]
        fn elapsed_is_provisional_iff_it_reaches_a_year_without_data(
            a in (FROM_2024..FROM_2026).prop_filter_map("in range", from_timestamp),
            span in 0i64..400 * 86_400,
        ) {
            let b = a + TimeDelta::seconds(span);
            let cases = [(builtin()?, "2027-01-01 08:00"), (until_2025()?, "2026-01-01 08:00")];
            for (calendar, first_unknown) in cases {
                let elapsed = calendar.working_minutes_between(a, b)?;
                let threshold = cn(first_unknown).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(elapsed.provisional, b > threshold);
            }
        }

        #[test]
        fn pauses_only_stop_the_clock(
            t in instant(),
            d in minutes(),
            raw in proptest::collection::vec((instant(), 0i64..20_000), 0..4),
        ) {
            let calendar = builtin()?;
            let pauses: Vec<_> =
                raw.iter().map(|&(from, len)| (from, from + TimeDelta::minutes(len))).collect();
            let plain = calendar.add_working_duration(t, d)?;
            let paused = calendar.add_working_duration_with_pauses(t, d, &pauses)?;
            prop_assert!(paused.at >= plain.at);
            let elapsed = calendar.working_minutes_between_excluding(t, paused.at, &pauses)?;
            prop_assert_eq!(elapsed.working, TimeDelta::minutes(i64::from(d)));
            let without = calendar.working_minutes_between(t, paused.at)?;
            prop_assert!(elapsed.working <= without.working);
            // Pauses given in any order and overlapping give the same answer.
            let mut reversed = pauses.clone();
            reversed.reverse();
            reversed.extend(pauses.iter().copied());
            let shuffled = calendar.add_working_duration_with_pauses(t, d, &reversed)?;
            prop_assert_eq!(shuffled.at, paused.at);
        }

        #[test]
        fn time_limits_round_trip(
            value in 1u32..100_000,
            unit in proptest::sample::select(TimeUnit::ALL.to_vec()),
        ) {
            let limit = TimeLimit::new(value, unit)?;
            prop_assert_eq!(limit.to_string().parse::<TimeLimit>()?, limit);
        }
    }
}
