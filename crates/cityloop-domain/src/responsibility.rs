//! The responsibility matrix (权责清单 / 派单目录): which department a filed case is dispatched to.
//!
//! # Model
//!
//! A [`MatrixEntry`] says "cases of this class, at this place, for components owned by this
//! department, during this time of day → this lead department, with these assisting departments".
//! Every condition is optional; an entry **matches** a [`Situation`] when all of its conditions
//! hold:
//!
//! * **class**: [`ClassSelector::Any`], a major class (`E05`, same kind and major), or one exact
//!   class (`E0505`).
//! * **areas**: empty means anywhere; otherwise the case's place must lie inside one of the
//!   listed areas. The case's place is the community of its unit grid when a grid is given (grid
//!   codes start with their 12-digit community code), else [`Situation::area`]; see
//!   [`Situation::place`]. A case whose place is unknown matches only entries without areas, and a
//!   case known only to street level does not match an entry for one community of that street.
//! * **grids**: empty means any grid; otherwise the case's unit grid must be one of them. A case
//!   without a grid matches only entries without grids.
//! * **owner_department** (权属单位 of the component): `None` applies to every owner, including an
//!   unknown one. `Some(o)` applies only to cases whose owner is exactly `o`; a case with no owner
//!   does **not** match it.
//! * **window**: a local (UTC+8) time of day `[start, end)`, which may cross midnight
//!   (`22:00–06:00`); see [`TimeWindow`]. No window means all day.
//!
//! An entry that fails [`MatrixEntry::validate`] never matches: a rule with a blank lead department
//! or a lead that also assists cannot be dispatched sensibly. [`report`] lists such entries.
//!
//! # Precedence: most specific wins
//!
//! [`Specificity`] is compared field by field, most important first:
//!
//! 1. **class**: exact class > major class > any class;
//! 2. **place**: grid list > community > street > district > anywhere. An entry listing several
//!    areas counts at the level of its **coarsest** area, because it applies to all of that area:
//!    `[330188 (district), 330188001001 (community)]` is as specific as a district-wide rule. A
//!    grid list outranks any area list (an entry with both counts as a grid rule);
//! 3. **owner**: an owner restriction > none;
//! 4. **window**: a time window > none.
//!
//! Earlier fields dominate: an exact-class rule for the whole city beats a major-class rule for one
//! grid. Entries of equal specificity are ordered by their position in the matrix (lower index
//! first); [`report`] flags such ties as [`Conflict`]s when they name different departments.
//!
//! [`candidates`] lists every matching entry by descending specificity, keeping only the most
//! specific entry for each lead department. When a department returns a case as not its
//! responsibility (回退), [`suggest`] skips the departments that already returned it.
//!
//! ```
//! use chrono::NaiveTime;
//! use cityloop_domain::AreaCode;
//! use cityloop_domain::responsibility::{
//!     ClassSelector, MatrixEntry, Situation, candidates, suggest,
//! };
//!
//! let parking = "E0505".parse().unwrap();
//! let city_wide = MatrixEntry::new(ClassSelector::Class(parking), "JJ");
//! let mut street = MatrixEntry::new(ClassSelector::Class(parking), "JD-001");
//! street.areas = vec![AreaCode::parse("330188001").unwrap()];
//! street.assisting = vec!["JJ".to_owned()];
//! let entries = [city_wide, street];
//!
//! let case = Situation {
//!     class: parking,
//!     area: Some(AreaCode::parse("330188001002").unwrap()),
//!     grid: None,
//!     owner_department: None,
//!     local_time: NaiveTime::from_hms_opt(9, 30, 0).unwrap(),
//! };
//! let order: Vec<_> = candidates(&entries, &case).into_iter().map(|c| c.department).collect();
//! assert_eq!(order, ["JD-001", "JJ"]);
//! // The street office returned the case: the traffic police are next.
//! let next = suggest(&entries, &case, &["JD-001".to_owned()]).unwrap();
//! assert_eq!(next.department, "JJ");
//! ```

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveTime, Timelike, Utc};
use serde::{Deserialize, Serialize};

use crate::area::{AreaCode, AreaLevel};
use crate::calendar::CHINA_OFFSET;
use crate::error::FieldError;
use crate::taxonomy::{ClassKind, ClassRef};

/// Length of a unit grid code: the 12-digit community code plus a 2-digit serial.
pub const GRID_CODE_LEN: usize = 14;

/// The local (China, UTC+8) time of day of an instant, as [`Situation::local_time`] expects it.
pub fn china_time_of_day(at: DateTime<Utc>) -> NaiveTime {
    at.with_timezone(&CHINA_OFFSET).time()
}

// ---------------------------------------------------------------------------------------------
// Class selector
// ---------------------------------------------------------------------------------------------

/// Which classes an entry applies to.
///
/// Stored and exchanged as a string: `*` (any class), `E05` (a major class) or `E0505` (one class).
/// A selector built in code with a malformed major serialises to a string that does not parse
/// back, so validate entries before persisting them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClassSelector {
    Any,
    Major { kind: ClassKind, major: String },
    Class(ClassRef),
}

impl ClassSelector {
    /// A major-class selector, checking the 2-digit major.
    pub fn major(kind: ClassKind, major: &str) -> Result<Self, FieldError> {
        let major = major.trim();
        check_major(major).map_err(|m| FieldError::new("class", m))?;
        Ok(ClassSelector::Major {
            kind,
            major: major.to_owned(),
        })
    }

    pub fn matches(&self, class: &ClassRef) -> bool {
        match self {
            ClassSelector::Any => true,
            ClassSelector::Major { kind, major } => class.kind == *kind && class.major() == major,
            ClassSelector::Class(c) => c == class,
        }
    }

    pub fn precision(&self) -> ClassPrecision {
        match self {
            ClassSelector::Any => ClassPrecision::Any,
            ClassSelector::Major { .. } => ClassPrecision::Major,
            ClassSelector::Class(_) => ClassPrecision::Class,
        }
    }
}

fn check_major(major: &str) -> Result<(), String> {
    let digits = major.len() == 2 && major.bytes().all(|b| b.is_ascii_digit());
    if !digits {
        return Err(format!("`{major}` is not a 2-digit major class"));
    }
    if major == "00" {
        return Err("major classes start at 01".to_owned());
    }
    Ok(())
}

impl fmt::Display for ClassSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClassSelector::Any => f.write_str("*"),
            ClassSelector::Major { kind, major } => write!(f, "{}{major}", kind.prefix()),
            ClassSelector::Class(c) => c.fmt(f),
        }
    }
}

impl FromStr for ClassSelector {
    type Err = FieldError;
    /// `*` or `any`; `E05` or `event:05`; `E0505` or `event:0505`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s == "*" || s.eq_ignore_ascii_case("any") {
            return Ok(ClassSelector::Any);
        }
        let (kind, code) = match s.split_once(':') {
            Some((kind, code)) => (kind.parse::<ClassKind>()?, code.trim()),
            None => {
                let mut chars = s.chars();
                let kind = match chars.next() {
                    Some('C' | 'c') => ClassKind::Component,
                    Some('E' | 'e') => ClassKind::Event,
                    _ => {
                        return Err(FieldError::new(
                            "class",
                            format!("`{s}`: write *, a major class (E05) or a class (E0505)"),
                        ));
                    }
                };
                (kind, chars.as_str())
            }
        };
        if code.len() == 2 {
            ClassSelector::major(kind, code)
        } else {
            ClassRef::new(kind, code).map(ClassSelector::Class)
        }
    }
}

impl Serialize for ClassSelector {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ClassSelector {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse()
            .map_err(|e: FieldError| serde::de::Error::custom(e.message))
    }
}

// ---------------------------------------------------------------------------------------------
// Time windows
// ---------------------------------------------------------------------------------------------

const NANOS_PER_SEC: u64 = 1_000_000_000;
const DAY_NANOS: u64 = 86_400 * NANOS_PER_SEC;

/// A time of day as nanoseconds since midnight, in `[0, DAY_NANOS)`.
fn nanos(t: NaiveTime) -> u64 {
    // chrono represents a leap second as nanosecond ≥ 1e9; folding it into the second before keeps
    // every instant inside the day.
    u64::from(t.num_seconds_from_midnight()) * NANOS_PER_SEC
        + u64::from(t.nanosecond().min(999_999_999))
}

fn time_at(n: u64) -> NaiveTime {
    let n = n % DAY_NANOS;
    let secs = u32::try_from(n / NANOS_PER_SEC).unwrap_or(0);
    let frac = u32::try_from(n % NANOS_PER_SEC).unwrap_or(0);
    NaiveTime::from_num_seconds_from_midnight_opt(secs, frac).unwrap_or(NaiveTime::MIN)
}

/// A local (UTC+8) time of day interval `[start, end)`. When `start > end` it crosses midnight:
/// `22:00–06:00` holds from 22:00 to midnight and from midnight to 06:00, and `22:00–00:00` holds
/// from 22:00 to midnight. `start == end` is invalid (leave the window out for the whole day) and
/// contains nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TimeWindow {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl TimeWindow {
    pub fn new(start: NaiveTime, end: NaiveTime) -> Result<Self, FieldError> {
        let w = TimeWindow { start, end };
        if w.is_empty() {
            return Err(empty_window_error());
        }
        Ok(w)
    }

    pub fn crosses_midnight(&self) -> bool {
        nanos(self.start) > nanos(self.end)
    }

    pub fn contains(&self, t: NaiveTime) -> bool {
        let n = nanos(t);
        self.spans()
            .into_iter()
            .flatten()
            .any(|(s, e)| s <= n && n < e)
    }

    /// True when some time of day lies in both windows.
    pub fn overlaps(&self, other: &TimeWindow) -> bool {
        self.spans().into_iter().flatten().any(|(s1, e1)| {
            other
                .spans()
                .into_iter()
                .flatten()
                .any(|(s2, e2)| s1 < e2 && s2 < e1)
        })
    }

    fn is_empty(&self) -> bool {
        nanos(self.start) == nanos(self.end)
    }

    /// The window as at most two non-empty half-open nanosecond spans within one day.
    fn spans(&self) -> [Option<(u64, u64)>; 2] {
        let (s, e) = (nanos(self.start), nanos(self.end));
        match s.cmp(&e) {
            Ordering::Less => [Some((s, e)), None],
            Ordering::Greater => [Some((s, DAY_NANOS)), (e > 0).then_some((0, e))],
            Ordering::Equal => [None, None],
        }
    }
}

impl fmt::Display for TimeWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}–{}",
            self.start.format("%H:%M"),
            self.end.format("%H:%M")
        )
    }
}

fn empty_window_error() -> FieldError {
    FieldError::new(
        "window",
        "start and end must differ; leave the window out for the whole day",
    )
}

/// The union of windows as sorted, disjoint, non-touching spans.
fn merged_spans<'a>(windows: impl IntoIterator<Item = &'a TimeWindow>) -> Vec<(u64, u64)> {
    let mut spans: Vec<(u64, u64)> = windows
        .into_iter()
        .flat_map(|w| w.spans())
        .flatten()
        .collect();
    spans.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(spans.len());
    for (s, e) in spans {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}

fn is_whole_day(merged: &[(u64, u64)]) -> bool {
    merged == [(0, DAY_NANOS)]
}

/// Turns merged spans (not the whole day) back into windows, sorted by start.
fn spans_to_windows(merged: &[(u64, u64)]) -> Vec<TimeWindow> {
    let window = |(s, e): (u64, u64)| TimeWindow {
        start: time_at(s),
        end: time_at(e),
    };
    // Spans touching both ends of the day are one window crossing midnight.
    match (merged.first(), merged.last()) {
        (Some(&(0, first_end)), Some(&(last_start, DAY_NANOS))) if merged.len() > 1 => {
            let inner = merged.get(1..merged.len() - 1).unwrap_or_default();
            let mut out: Vec<TimeWindow> = inner.iter().copied().map(window).collect();
            out.push(window((last_start, first_end)));
            out
        }
        _ => merged.iter().copied().map(window).collect(),
    }
}

// ---------------------------------------------------------------------------------------------
// Specificity
// ---------------------------------------------------------------------------------------------

/// How precisely an entry names the class. Ordered least to most specific.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassPrecision {
    Any,
    Major,
    Class,
}

/// How precisely an entry names the place. Ordered least to most specific.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlacePrecision {
    Anywhere,
    District,
    Street,
    Community,
    Grid,
}

impl From<AreaLevel> for PlacePrecision {
    fn from(level: AreaLevel) -> Self {
        match level {
            AreaLevel::District => PlacePrecision::District,
            AreaLevel::Street => PlacePrecision::Street,
            AreaLevel::Community => PlacePrecision::Community,
        }
    }
}

/// How specific an entry is; the greater value wins. Fields compare in declaration order, so the
/// class outranks the place, which outranks the owner restriction, which outranks the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Specificity {
    pub class: ClassPrecision,
    pub place: PlacePrecision,
    /// The entry is restricted to one component owner.
    pub owner: bool,
    /// The entry is restricted to a time window.
    pub window: bool,
}

// ---------------------------------------------------------------------------------------------
// Entries and situations
// ---------------------------------------------------------------------------------------------

/// One rule of the responsibility matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatrixEntry {
    pub class: ClassSelector,
    /// Empty: anywhere. Otherwise the case's place must lie inside one of these areas.
    #[serde(default)]
    pub areas: Vec<AreaCode>,
    /// Empty: any grid. Otherwise the case's unit grid must be one of these.
    #[serde(default)]
    pub grids: Vec<String>,
    /// The component owner (权属单位) the rule is restricted to.
    #[serde(default)]
    pub owner_department: Option<String>,
    #[serde(default)]
    pub window: Option<TimeWindow>,
    /// Lead department code.
    pub department: String,
    /// Assisting department codes for joint handling (街道吹哨、部门报到).
    #[serde(default)]
    pub assisting: Vec<String>,
    #[serde(default)]
    pub note: String,
}

impl MatrixEntry {
    /// An unrestricted entry for `class` led by `department`; set the other fields as needed.
    pub fn new(class: ClassSelector, department: impl Into<String>) -> Self {
        MatrixEntry {
            class,
            areas: Vec::new(),
            grids: Vec::new(),
            owner_department: None,
            window: None,
            department: department.into(),
            assisting: Vec::new(),
            note: String::new(),
        }
    }

    /// Field names point into the entry (`assisting[1]`, `grids[0]`) so a form can mark the row.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if let ClassSelector::Major { major, .. } = &self.class
            && let Err(message) = check_major(major)
        {
            errors.push(FieldError::new("class", message));
        }
        if let Err(message) = check_code(&self.department) {
            errors.push(FieldError::new("department", message));
        }
        for (i, code) in self.assisting.iter().enumerate() {
            let message = if let Err(message) = check_code(code) {
                Some(message)
            } else if *code == self.department {
                Some(format!("`{code}` leads the case and cannot also assist"))
            } else if self
                .assisting
                .get(..i)
                .is_some_and(|seen| seen.contains(code))
            {
                Some(format!("`{code}` is listed twice"))
            } else {
                None
            };
            if let Some(message) = message {
                errors.push(FieldError::new(format!("assisting[{i}]"), message));
            }
        }
        if let Some(owner) = &self.owner_department
            && let Err(message) = check_code(owner)
        {
            errors.push(FieldError::new("owner_department", message));
        }
        for (i, area) in self.areas.iter().enumerate() {
            if self.areas.get(..i).is_some_and(|seen| seen.contains(area)) {
                errors.push(FieldError::new(
                    format!("areas[{i}]"),
                    format!("`{area}` is listed twice"),
                ));
            }
        }
        for (i, grid) in self.grids.iter().enumerate() {
            if let Some(message) = self.grid_problem(i, grid) {
                errors.push(FieldError::new(format!("grids[{i}]"), message));
            }
        }
        if self.window.is_some_and(|w| w.is_empty()) {
            errors.push(empty_window_error());
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn grid_problem(&self, i: usize, grid: &str) -> Option<String> {
        let digits = grid.len() == GRID_CODE_LEN && grid.bytes().all(|b| b.is_ascii_digit());
        if !digits {
            return Some(format!(
                "`{grid}` is not a {GRID_CODE_LEN}-digit unit grid code"
            ));
        }
        let Some(community) = grid_community(grid) else {
            return Some(format!(
                "`{grid}` does not start with a 12-digit community code"
            ));
        };
        if self
            .grids
            .get(..i)
            .is_some_and(|seen| seen.iter().any(|g| g == grid))
        {
            return Some(format!("`{grid}` is listed twice"));
        }
        if !self.areas.is_empty() && !self.areas.iter().any(|a| a.contains(&community)) {
            // Both lists must hold for a match, so this grid could never be reached.
            return Some(format!("`{grid}` lies outside every listed area"));
        }
        None
    }

    pub fn specificity(&self) -> Specificity {
        let place = if !self.grids.is_empty() {
            PlacePrecision::Grid
        } else {
            self.areas
                .iter()
                .map(|a| PlacePrecision::from(a.level()))
                .min()
                .unwrap_or(PlacePrecision::Anywhere)
        };
        Specificity {
            class: self.class.precision(),
            place,
            owner: self.owner_department.is_some(),
            window: self.window.is_some(),
        }
    }

    /// Whether every condition of the entry holds for the case. Validity is not checked here;
    /// [`candidates`] additionally skips entries that fail [`MatrixEntry::validate`].
    pub fn matches(&self, s: &Situation) -> bool {
        self.matches_at(s, s.place().as_ref())
    }

    fn matches_at(&self, s: &Situation, place: Option<&AreaCode>) -> bool {
        self.class.matches(&s.class)
            && self.matches_place(s.grid.as_deref(), place)
            && self
                .owner_department
                .as_ref()
                .is_none_or(|o| s.owner_department.as_ref() == Some(o))
            && self.window.is_none_or(|w| w.contains(s.local_time))
    }

    fn matches_place(&self, grid: Option<&str>, place: Option<&AreaCode>) -> bool {
        (self.grids.is_empty() || grid.is_some_and(|g| self.grids.iter().any(|x| x == g)))
            && (self.areas.is_empty()
                || place.is_some_and(|p| self.areas.iter().any(|a| a.contains(p))))
    }

    /// Whether a case in unit grid `grid` (placed at the grid's community) can satisfy the
    /// entry's place conditions.
    fn accepts_grid(&self, grid: &str) -> bool {
        self.matches_place(Some(grid), grid_community(grid).as_ref())
    }

    fn is_valid(&self) -> bool {
        self.validate().is_ok()
    }
}

fn check_code(code: &str) -> Result<(), String> {
    if code.trim().is_empty() {
        return Err("a department code is required".to_owned());
    }
    if code.trim() != code {
        return Err(format!("`{code}` has leading or trailing spaces"));
    }
    Ok(())
}

/// The community a unit grid lies in, from the first 12 digits of its code.
fn grid_community(grid: &str) -> Option<AreaCode> {
    if grid.len() != GRID_CODE_LEN || !grid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    AreaCode::parse(grid.get(..12)?).ok()
}

/// The facts about a case that dispatch depends on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Situation {
    pub class: ClassRef,
    /// Where the case is, usually its community.
    #[serde(default)]
    pub area: Option<AreaCode>,
    /// The unit grid code (14 digits).
    #[serde(default)]
    pub grid: Option<String>,
    /// The owner (权属单位) of the component concerned, when known.
    #[serde(default)]
    pub owner_department: Option<String>,
    /// Local (UTC+8) time of day, see [`china_time_of_day`].
    pub local_time: NaiveTime,
}

impl Situation {
    /// The place used for area matching: the grid's community when a grid is given and lies
    /// within [`Situation::area`] (or no area is given), as it is the most precise; otherwise
    /// [`Situation::area`]. An area that contradicts the grid wins, being the explicit one.
    pub fn place(&self) -> Option<AreaCode> {
        let from_grid = self.grid.as_deref().and_then(grid_community);
        match (&self.area, from_grid) {
            (Some(area), Some(community)) if area.contains(&community) => Some(community),
            (Some(area), _) => Some(area.clone()),
            (None, community) => community,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Dispatch
// ---------------------------------------------------------------------------------------------

/// A department a case may be dispatched to, and the entry that says so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub department: String,
    pub assisting: Vec<String>,
    /// Index into the entries passed in.
    pub entry: usize,
    pub specificity: Specificity,
}

/// Every valid matching entry, most specific first (ties: lower index first), keeping only the
/// first, i.e. most specific, entry for each lead department.
pub fn candidates(entries: &[MatrixEntry], s: &Situation) -> Vec<Candidate> {
    let place = s.place();
    let mut matched: Vec<(usize, &MatrixEntry, Specificity)> = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.matches_at(s, place.as_ref()) && e.is_valid())
        .map(|(i, e)| (i, e, e.specificity()))
        .collect();
    matched.sort_by_key(|&(i, _, specificity)| (Reverse(specificity), i));
    let mut seen: HashSet<&str> = HashSet::new();
    matched
        .into_iter()
        .filter(|(_, e, _)| seen.insert(e.department.as_str()))
        .map(|(entry, e, specificity)| Candidate {
            department: e.department.clone(),
            assisting: e.assisting.clone(),
            entry,
            specificity,
        })
        .collect()
}

/// The best candidate whose department has not already returned the case (`excluded`).
pub fn suggest(entries: &[MatrixEntry], s: &Situation, excluded: &[String]) -> Option<Candidate> {
    candidates(entries, s)
        .into_iter()
        .find(|c| !excluded.contains(&c.department))
}

// ---------------------------------------------------------------------------------------------
// Matrix report
// ---------------------------------------------------------------------------------------------

/// A class at a place that some case could reach without any entry to dispatch it to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    pub class: ClassRef,
    pub area: AreaCode,
    /// The times of day that are covered, sorted by start; empty when no entry covers the place
    /// at all.
    pub covered: Vec<TimeWindow>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictKind {
    /// Equally specific entries for the same cases name different lead departments; the one
    /// listed first wins, which is rarely intended.
    DifferentLead,
    /// Same lead department, but the assisting departments depend on which entry is listed first.
    DifferentAssisting,
}

/// Two entries (`a < b`) of equal specificity that can match the same case and disagree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    pub a: usize,
    pub b: usize,
    pub kind: ConflictKind,
    pub reason: String,
}

/// Findings about a whole matrix, for the administrator's review page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MatrixReport {
    pub gaps: Vec<Gap>,
    pub conflicts: Vec<Conflict>,
    /// `(entry index, code)` for lead or assisting codes that are not known departments.
    pub unknown_departments: Vec<(usize, String)>,
    /// `(entry index, errors)` for entries failing [`MatrixEntry::validate`].
    #[serde(serialize_with = "serialize_invalid")]
    pub invalid: Vec<(usize, Vec<FieldError>)>,
}

impl MatrixReport {
    pub fn is_clean(&self) -> bool {
        self.gaps.is_empty()
            && self.conflicts.is_empty()
            && self.unknown_departments.is_empty()
            && self.invalid.is_empty()
    }
}

// `FieldError` is not serialisable itself; write it as `{field, message}`.
fn serialize_invalid<S: serde::Serializer>(
    invalid: &[(usize, Vec<FieldError>)],
    s: S,
) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Row<'a> {
        entry: usize,
        errors: Vec<Error<'a>>,
    }
    #[derive(Serialize)]
    struct Error<'a> {
        field: &'a str,
        message: &'a str,
    }
    s.collect_seq(invalid.iter().map(|(entry, errors)| {
        Row {
            entry: *entry,
            errors: errors
                .iter()
                .map(|e| Error {
                    field: &e.field,
                    message: &e.message,
                })
                .collect(),
        }
    }))
}

/// Reviews a matrix.
///
/// * `invalid`: entries failing [`MatrixEntry::validate`]. Invalid entries take part in nothing
///   else below except `unknown_departments`, since they never match.
/// * `unknown_departments`: lead and assisting codes (not owner codes, which may name outside
///   bodies such as a power company) missing from `known_departments`, each code once per entry.
/// * `gaps`: for every class × place (the streets or communities the city wants covered), a gap
///   when some time of day leaves a case of that class at that place, with no unit grid and no
///   known owner, without any matching entry. So grid-specific and owner-specific entries never
///   close a gap, and neither does an entry for part of the place: to credit per-community rules,
///   pass communities rather than their street.
/// * `conflicts`: pairs of equally specific entries that some single case can match (same class
///   selector and owner restriction, overlapping places or grids, overlapping windows) with a
///   different lead department, or the same lead and a different set of assisting departments.
pub fn report(
    entries: &[MatrixEntry],
    classes: &[ClassRef],
    places: &[AreaCode],
    known_departments: &[String],
) -> MatrixReport {
    let mut invalid = Vec::new();
    let mut valid = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        match e.validate() {
            Ok(()) => valid.push(true),
            Err(errors) => {
                valid.push(false);
                invalid.push((i, errors));
            }
        }
    }
    MatrixReport {
        gaps: find_gaps(entries, &valid, classes, places),
        conflicts: find_conflicts(entries, &valid),
        unknown_departments: find_unknown(entries, known_departments),
        invalid,
    }
}

fn find_unknown(entries: &[MatrixEntry], known_departments: &[String]) -> Vec<(usize, String)> {
    let known: HashSet<&str> = known_departments.iter().map(String::as_str).collect();
    let mut out = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let mut reported: Vec<&str> = Vec::new();
        for code in std::iter::once(&e.department).chain(&e.assisting) {
            // A blank code is already reported as invalid.
            if code.trim().is_empty()
                || known.contains(code.as_str())
                || reported.contains(&code.as_str())
            {
                continue;
            }
            reported.push(code);
            out.push((i, code.clone()));
        }
    }
    out
}

fn find_gaps(
    entries: &[MatrixEntry],
    valid: &[bool],
    classes: &[ClassRef],
    places: &[AreaCode],
) -> Vec<Gap> {
    // Only entries that reach every case of a place can close a gap.
    let general: Vec<&MatrixEntry> = entries
        .iter()
        .zip(valid)
        .filter(|&(e, &ok)| ok && e.grids.is_empty() && e.owner_department.is_none())
        .map(|(e, _)| e)
        .collect();
    let mut gaps = Vec::new();
    for class in classes {
        // Filtering by class first keeps the class × place loop over a handful of entries.
        let for_class: Vec<&MatrixEntry> = general
            .iter()
            .copied()
            .filter(|e| e.class.matches(class))
            .collect();
        for place in places {
            let mut windows = Vec::new();
            let mut all_day = false;
            for e in &for_class {
                if !e.areas.is_empty() && !e.areas.iter().any(|a| a.contains(place)) {
                    continue;
                }
                match &e.window {
                    None => {
                        all_day = true;
                        break;
                    }
                    Some(w) => windows.push(*w),
                }
            }
            if all_day {
                continue;
            }
            let merged = merged_spans(&windows);
            if !is_whole_day(&merged) {
                gaps.push(Gap {
                    class: *class,
                    area: place.clone(),
                    covered: spans_to_windows(&merged),
                });
            }
        }
    }
    gaps
}

fn find_conflicts(entries: &[MatrixEntry], valid: &[bool]) -> Vec<Conflict> {
    // Equal specificity means equal class precision, and selectors of equal precision overlap
    // only when equal; equal owner flags overlap only for the same owner. Grouping on those
    // keeps the pairwise check within small groups.
    type Key<'a> = (Specificity, &'a ClassSelector, Option<&'a str>);
    let mut groups: BTreeMap<Key<'_>, Vec<(usize, &MatrixEntry)>> = BTreeMap::new();
    for ((i, e), &ok) in entries.iter().enumerate().zip(valid) {
        if ok {
            groups
                .entry((e.specificity(), &e.class, e.owner_department.as_deref()))
                .or_default()
                .push((i, e));
        }
    }
    let mut conflicts = Vec::new();
    for group in groups.values() {
        for (x, &(a, ea)) in group.iter().enumerate() {
            for &(b, eb) in group.iter().skip(x + 1) {
                if !can_meet(ea, eb) {
                    continue;
                }
                if ea.department != eb.department {
                    conflicts.push(Conflict {
                        a,
                        b,
                        kind: ConflictKind::DifferentLead,
                        reason: format!(
                            "entries {a} and {b} are equally specific and can match the same case \
                             but name different lead departments ({} and {}); entry {a} wins only \
                             because it is listed first",
                            ea.department, eb.department
                        ),
                    });
                } else if sorted_codes(&ea.assisting) != sorted_codes(&eb.assisting) {
                    conflicts.push(Conflict {
                        a,
                        b,
                        kind: ConflictKind::DifferentAssisting,
                        reason: format!(
                            "entries {a} and {b} are equally specific, can match the same case and \
                             both name {} as lead, but with different assisting departments ([{}] \
                             and [{}])",
                            ea.department,
                            ea.assisting.join(", "),
                            eb.assisting.join(", ")
                        ),
                    });
                }
            }
        }
    }
    conflicts.sort_by_key(|c| (c.a, c.b));
    conflicts
}

fn sorted_codes(codes: &[String]) -> Vec<&str> {
    let mut v: Vec<&str> = codes.iter().map(String::as_str).collect();
    v.sort_unstable();
    v
}

/// Whether some case can satisfy the place and window conditions of both entries.
fn can_meet(a: &MatrixEntry, b: &MatrixEntry) -> bool {
    let places = if a.grids.is_empty() && b.grids.is_empty() {
        areas_overlap(&a.areas, &b.areas)
    } else {
        // A grid-restricted entry only reaches cases in its own grids.
        a.grids
            .iter()
            .chain(&b.grids)
            .any(|g| a.accepts_grid(g) && b.accepts_grid(g))
    };
    let windows = match (&a.window, &b.window) {
        (Some(x), Some(y)) => x.overlaps(y),
        _ => true,
    };
    places && windows
}

/// Area codes form a tree, so two areas share a community exactly when one contains the other.
fn areas_overlap(a: &[AreaCode], b: &[AreaCode]) -> bool {
    a.is_empty()
        || b.is_empty()
        || a.iter()
            .any(|x| b.iter().any(|y| x.contains(y) || y.contains(x)))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn class(s: &str) -> ClassRef {
        s.parse().unwrap()
    }

    fn area(s: &str) -> AreaCode {
        AreaCode::parse(s).unwrap()
    }

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn window(from: (u32, u32), to: (u32, u32)) -> TimeWindow {
        TimeWindow::new(t(from.0, from.1), t(to.0, to.1)).unwrap()
    }

    fn entry(selector: &str, department: &str) -> MatrixEntry {
        MatrixEntry::new(selector.parse().unwrap(), department)
    }

    fn codes(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    fn case(class_code: &str, community: &str, time: NaiveTime) -> Situation {
        Situation {
            class: class(class_code),
            area: Some(area(community)),
            grid: None,
            owner_department: None,
            local_time: time,
        }
    }

    const PARK_STREET_GRID: &str = "33018800200101";

    /// A small matrix for district 330188.
    fn matrix() -> Vec<MatrixEntry> {
        let mut v = Vec::new();
        // 0: illegal parking → traffic police everywhere.
        v.push(entry("E0505", "JJ"));
        // 1: … but the street office of 330188001 leads there, the police assisting.
        let mut e = entry("E0505", "JD-001");
        e.areas = vec![area("330188001")];
        e.assisting = codes(&["JJ"]);
        v.push(e);
        // 2: exposed garbage → sanitation.
        v.push(entry("E0102", "HW"));
        // 3: … at night the cleaning contractor.
        let mut e = entry("E0102", "HW-CLEAN");
        e.window = Some(window((22, 0), (6, 0)));
        v.push(e);
        // 4: street lamps owned by the power company → the power company.
        let mut e = entry("C0118", "GD");
        e.owner_department = Some("GD".to_owned());
        v.push(e);
        // 5: other street lamps → municipal works.
        v.push(entry("C0118", "SZ"));
        // 6: one park grid is looked after by its street office, sanitation assisting.
        let mut e = entry("E0102", "JD-002");
        e.grids = codes(&[PARK_STREET_GRID]);
        e.assisting = codes(&["HW"]);
        v.push(e);
        // 7: any other 市容环境 event → city-management law enforcement.
        v.push(entry("E01", "CG"));
        v
    }

    fn departments(cs: &[Candidate]) -> Vec<&str> {
        cs.iter().map(|c| c.department.as_str()).collect()
    }

    #[test]
    fn street_rule_beats_city_wide_rule_and_returns_fall_back() {
        let m = matrix();
        let s = case("E0505", "330188001002", t(9, 0));
        let cs = candidates(&m, &s);
        assert_eq!(departments(&cs), ["JD-001", "JJ"]);
        assert_eq!(cs[0].assisting, ["JJ"]);
        assert_eq!(cs[0].entry, 1);
        assert_eq!(suggest(&m, &s, &[]).unwrap().department, "JD-001");
        assert_eq!(
            suggest(&m, &s, &codes(&["JD-001"])).unwrap().department,
            "JJ"
        );
        assert!(suggest(&m, &s, &codes(&["JD-001", "JJ"])).is_none());

        let elsewhere = case("E0505", "330188002001", t(9, 0));
        assert_eq!(departments(&candidates(&m, &elsewhere)), ["JJ"]);
    }

    #[test]
    fn night_window_wraps_midnight() {
        let m = matrix();
        for (time, expected) in [
            (t(23, 0), ["HW-CLEAN", "HW", "CG"]),
            (t(0, 0), ["HW-CLEAN", "HW", "CG"]),
            (t(5, 59), ["HW-CLEAN", "HW", "CG"]),
            (t(6, 0), ["HW", "CG", ""]),
            (t(10, 0), ["HW", "CG", ""]),
            (t(22, 0), ["HW-CLEAN", "HW", "CG"]),
        ] {
            let s = case("E0102", "330188002001", time);
            let cs = candidates(&m, &s);
            let got = departments(&cs);
            let expected: Vec<&str> = expected.into_iter().filter(|d| !d.is_empty()).collect();
            assert_eq!(got, expected, "at {time}");
        }
        let s = case("E0102", "330188002001", t(10, 0));
        assert_eq!(suggest(&m, &s, &codes(&["HW"])).unwrap().department, "CG");
        // The major rule covers other classes of the major only.
        let other = case("E0103", "330188002001", t(10, 0));
        assert_eq!(departments(&candidates(&m, &other)), ["CG"]);
        assert!(candidates(&m, &case("E0201", "330188002001", t(10, 0))).is_empty());
    }

    #[test]
    fn grid_rule_outranks_a_window_and_needs_the_grid() {
        let m = matrix();
        let mut s = case("E0102", "330188002001", t(23, 0));
        s.grid = Some(PARK_STREET_GRID.to_owned());
        let cs = candidates(&m, &s);
        assert_eq!(departments(&cs), ["JD-002", "HW-CLEAN", "HW", "CG"]);
        assert_eq!(cs[0].specificity.place, PlacePrecision::Grid);
        // The grid alone places the case.
        s.area = None;
        assert_eq!(suggest(&m, &s, &[]).unwrap().department, "JD-002");
        s.grid = Some("33018800200102".to_owned());
        assert_eq!(suggest(&m, &s, &[]).unwrap().department, "HW-CLEAN");
    }

    #[test]
    fn owner_restricted_rules_need_that_owner() {
        let m = matrix();
        let mut s = case("C0118", "330188001001", t(12, 0));
        assert_eq!(departments(&candidates(&m, &s)), ["SZ"]);
        s.owner_department = Some("GD".to_owned());
        assert_eq!(departments(&candidates(&m, &s)), ["GD", "SZ"]);
        assert_eq!(suggest(&m, &s, &codes(&["GD"])).unwrap().department, "SZ");
        s.owner_department = Some("SZ".to_owned());
        assert_eq!(departments(&candidates(&m, &s)), ["SZ"]);
    }

    #[test]
    fn specificity_precedence() {
        let spec = |class, place, owner, window| Specificity {
            class,
            place,
            owner,
            window,
        };
        use ClassPrecision as C;
        use PlacePrecision as P;
        // Class dominates everything after it.
        assert!(spec(C::Class, P::Anywhere, false, false) > spec(C::Major, P::Grid, true, true));
        assert!(spec(C::Major, P::Anywhere, false, false) > spec(C::Any, P::Grid, true, true));
        // Then the place.
        assert!(spec(C::Class, P::Grid, false, false) > spec(C::Class, P::Community, true, true));
        assert!(P::Community > P::Street && P::Street > P::District && P::District > P::Anywhere);
        // Then the owner, then the window.
        assert!(spec(C::Class, P::Street, true, false) > spec(C::Class, P::Street, false, true));
        assert!(spec(C::Class, P::Street, false, true) > spec(C::Class, P::Street, false, false));

        // Several areas count at the coarsest.
        let mut e = entry("E0505", "JJ");
        e.areas = vec![area("330188001001"), area("330188")];
        assert_eq!(e.specificity().place, P::District);
        e.grids = codes(&["33018800100101"]);
        assert_eq!(e.specificity().place, P::Grid);

        // In the sample matrix, for a garbage case in the park grid at night.
        let m = matrix();
        let mut s = case("E0102", "330188002001", t(23, 0));
        s.grid = Some(PARK_STREET_GRID.to_owned());
        let specs: Vec<Specificity> = candidates(&m, &s).iter().map(|c| c.specificity).collect();
        assert!(specs.windows(2).all(|w| w[0] > w[1]));
    }

    #[test]
    fn exact_class_beats_a_finer_place_with_a_major_selector() {
        let mut major_here = entry("E05", "JD-001");
        major_here.areas = vec![area("330188001001")];
        let m = vec![major_here, entry("E0505", "JJ")];
        let s = case("E0505", "330188001001", t(9, 0));
        assert_eq!(departments(&candidates(&m, &s)), ["JJ", "JD-001"]);
    }

    #[test]
    fn ties_keep_matrix_order_and_duplicates_keep_the_most_specific() {
        let mut m = vec![entry("E0505", "B"), entry("E0505", "A")];
        let mut street = entry("E0505", "A");
        street.areas = vec![area("330188001")];
        m.push(street);
        let cs = candidates(&m, &case("E0505", "330188001001", t(9, 0)));
        assert_eq!(departments(&cs), ["A", "B"]);
        assert_eq!(cs[0].entry, 2);
    }

    #[test]
    fn place_matching_edge_cases() {
        let mut e = entry("E0505", "JD-001");
        e.areas = vec![area("330188001001")];
        // Known only to street level: the community rule cannot be applied.
        assert!(!e.matches(&case("E0505", "330188001", t(9, 0))));
        let mut unknown = case("E0505", "330188001001", t(9, 0));
        unknown.area = None;
        assert!(!e.matches(&unknown));
        // A street plus a grid in it: the grid's community is the place.
        let mut s = case("E0505", "330188001", t(9, 0));
        s.grid = Some("33018800100107".to_owned());
        assert_eq!(s.place(), Some(area("330188001001")));
        assert!(e.matches(&s));
        // A grid contradicting the area: the area is kept.
        s.area = Some(area("330188002001"));
        assert_eq!(s.place(), Some(area("330188002001")));
    }

    #[test]
    fn time_windows() {
        let night = window((22, 0), (6, 0));
        assert!(night.crosses_midnight());
        assert!(night.contains(t(22, 0)) && night.contains(t(0, 0)) && night.contains(t(5, 59)));
        assert!(
            !night.contains(t(6, 0)) && !night.contains(t(21, 59)) && !night.contains(t(12, 0))
        );
        let day = window((8, 0), (18, 0));
        assert!(!day.crosses_midnight());
        assert!(day.contains(t(8, 0)) && !day.contains(t(18, 0)));
        let to_midnight = window((22, 0), (0, 0));
        assert!(to_midnight.contains(t(23, 59)) && !to_midnight.contains(t(0, 0)));
        let leap = NaiveTime::from_hms_nano_opt(23, 59, 59, 1_500_000_000).unwrap();
        assert!(to_midnight.contains(leap));

        assert!(night.overlaps(&window((5, 0), (7, 0))));
        assert!(!night.overlaps(&window((6, 0), (22, 0))));
        assert!(night.overlaps(&window((23, 0), (1, 0))));
        assert!(!day.overlaps(&window((18, 0), (8, 0))));
        assert!(TimeWindow::new(t(8, 0), t(8, 0)).is_err());
        assert!(
            !TimeWindow {
                start: t(8, 0),
                end: t(8, 0)
            }
            .contains(t(8, 0))
        );

        let merged = merged_spans(&[
            window((22, 0), (2, 0)),
            window((1, 0), (6, 0)),
            window((10, 0), (12, 0)),
        ]);
        assert_eq!(
            spans_to_windows(&merged),
            [window((10, 0), (12, 0)), window((22, 0), (6, 0))]
        );
        assert!(is_whole_day(&merged_spans(&[
            night,
            window((6, 0), (22, 0))
        ])));
        assert_eq!(
            spans_to_windows(&merged_spans(&[to_midnight])),
            [to_midnight]
        );
    }

    #[test]
    fn china_time_of_day_uses_utc_plus_8() {
        let at: DateTime<Utc> = "2026-03-01T15:30:00Z".parse().unwrap();
        assert_eq!(china_time_of_day(at), t(23, 30));
    }

    #[test]
    fn selectors_parse_and_print() {
        use serde::de::IntoDeserializer;
        use serde::de::value::Error;
        for s in ["*", "E05", "C01", "E0505", "C0118"] {
            let sel: ClassSelector = s.parse().unwrap();
            assert_eq!(sel.to_string(), s);
            let de: ClassSelector =
                ClassSelector::deserialize(IntoDeserializer::<Error>::into_deserializer(s))
                    .unwrap();
            assert_eq!(de, sel);
        }
        assert_eq!("any".parse::<ClassSelector>().unwrap(), ClassSelector::Any);
        assert_eq!(
            "event:05".parse::<ClassSelector>().unwrap(),
            ClassSelector::major(ClassKind::Event, "05").unwrap()
        );
        for bad in ["E00", "E5", "X05", "E050", "", "E0500"] {
            assert!(bad.parse::<ClassSelector>().is_err(), "{bad} accepted");
        }
        let sel: ClassSelector = "E05".parse().unwrap();
        assert!(
            sel.matches(&class("E0505"))
                && !sel.matches(&class("C0505"))
                && !sel.matches(&class("E0102"))
        );
    }

    #[test]
    fn validation_names_the_fields() {
        assert!(matrix().iter().all(|e| e.validate().is_ok()));
        let mut e = entry("E0505", " ");
        e.class = ClassSelector::Major {
            kind: ClassKind::Event,
            major: "5".to_owned(),
        };
        e.assisting = codes(&["JJ", "JJ", ""]);
        e.owner_department = Some(String::new());
        e.areas = vec![area("330188001"), area("330188001")];
        e.grids = codes(&["3301880010010", "33018800200101", "00000000000001"]);
        e.window = Some(TimeWindow {
            start: t(8, 0),
            end: t(8, 0),
        });
        let fields: Vec<String> = e
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|f| f.field)
            .collect();
        assert_eq!(
            fields,
            [
                "class",
                "department",
                "assisting[1]",
                "assisting[2]",
                "owner_department",
                "areas[1]",
                "grids[0]",
                "grids[1]",
                "grids[2]",
                "window"
            ]
        );
        let mut e = entry("E0505", "JJ");
        e.assisting = codes(&["JJ"]);
        assert_eq!(e.validate().unwrap_err()[0].field, "assisting[0]");
        // An invalid entry never becomes a candidate.
        assert!(candidates(&[e], &case("E0505", "330188001001", t(9, 0))).is_empty());
        let mut e = entry("E0102", " HW");
        e.grids = codes(&["33018800200101", "33018800200101"]);
        let errors = e.validate().unwrap_err();
        assert_eq!(errors.len(), 2);
        assert!(errors[1].message.contains("twice"));
    }

    fn places() -> Vec<AreaCode> {
        vec![area("330188001001"), area("330188002001")]
    }

    fn known() -> Vec<String> {
        codes(&[
            "JJ", "JD-001", "JD-002", "HW", "HW-CLEAN", "GD", "SZ", "CG", "YL",
        ])
    }

    #[test]
    fn sample_matrix_report() {
        let r = report(
            &matrix(),
            &[class("E0505"), class("E0102"), class("C0118")],
            &places(),
            &known(),
        );
        assert!(r.is_clean(), "{r:?}");
    }

    #[test]
    fn gaps_for_missing_and_night_only_classes() {
        let mut m = matrix();
        // Construction dust (工地扬尘) is only covered at night, and only in street 330188001.
        let mut e = entry("E0302", "YL");
        e.window = Some(window((20, 0), (8, 0)));
        e.areas = vec![area("330188001")];
        m.push(e);
        let classes = [
            class("E0505"),
            class("E0201"),
            class("E0302"),
            class("C0118"),
        ];
        let r = report(&m, &classes, &places(), &known());
        let gaps: Vec<(String, String, Vec<TimeWindow>)> = r
            .gaps
            .iter()
            .map(|g| (g.class.to_string(), g.area.to_string(), g.covered.clone()))
            .collect();
        assert_eq!(
            gaps,
            [
                ("E0201".to_owned(), "330188001001".to_owned(), vec![]),
                ("E0201".to_owned(), "330188002001".to_owned(), vec![]),
                (
                    "E0302".to_owned(),
                    "330188001001".to_owned(),
                    vec![window((20, 0), (8, 0))]
                ),
                ("E0302".to_owned(), "330188002001".to_owned(), vec![]),
            ]
        );
        assert!(!r.is_clean());

        // A day rule closes the night-only gap.
        let mut day = entry("E0302", "YL");
        day.window = Some(window((8, 0), (20, 0)));
        m.push(day);
        let r = report(&m, &[class("E0302")], &[area("330188001001")], &known());
        assert!(r.gaps.is_empty(), "{:?}", r.gaps);

        // Grid-specific and owner-specific rules do not close gaps.
        let mut grid_only = entry("E0201", "JD-002");
        grid_only.grids = codes(&[PARK_STREET_GRID]);
        let mut owner_only = entry("E0201", "GD");
        owner_only.owner_department = Some("GD".to_owned());
        let r = report(
            &[grid_only, owner_only],
            &[class("E0201")],
            &[area("330188002001")],
            &known(),
        );
        assert_eq!(r.gaps.len(), 1);
    }

    #[test]
    fn conflicts_between_equally_specific_rules() {
        let mut m = matrix();
        let base = m.len();
        // Two street rules for the same street, different leads.
        let mut x = entry("E0505", "JD-002");
        x.areas = vec![area("330188002")];
        let mut y = entry("E0505", "JJ");
        y.areas = vec![area("330188002")];
        // Same lead as the sample's night rule, different assisting, overlapping window.
        let mut z = entry("E0102", "HW-CLEAN");
        z.window = Some(window((5, 0), (7, 0)));
        z.assisting = codes(&["HW"]);
        // Equally specific but never meeting: another street, another window.
        let mut w = entry("E0505", "JD-001");
        w.areas = vec![area("330188001")];
        w.window = Some(window((8, 0), (9, 0)));
        let mut v = entry("E0505", "SZ");
        v.areas = vec![area("330188002")];
        v.window = Some(window((8, 0), (9, 0)));
        m.extend([x, y, z, w, v]);
        let r = report(&m, &[], &[], &known());
        let found: Vec<(usize, usize, ConflictKind)> =
            r.conflicts.iter().map(|c| (c.a, c.b, c.kind)).collect();
        assert_eq!(
            found,
            [
                (3, base + 2, ConflictKind::DifferentAssisting),
                (base, base + 1, ConflictKind::DifferentLead),
            ]
        );
        assert!(r.conflicts[1].reason.contains("JD-002") && r.conflicts[1].reason.contains("JJ"));

        // Grid rules conflict only when they share a grid.
        let mut g1 = entry("E0102", "A");
        g1.grids = codes(&["33018800200101", "33018800200102"]);
        let mut g2 = entry("E0102", "B");
        g2.grids = codes(&["33018800200103"]);
        let mut g3 = entry("E0102", "C");
        g3.grids = codes(&["33018800200102"]);
        let r = report(&[g1, g2, g3], &[], &[], &[]);
        let found: Vec<(usize, usize)> = r.conflicts.iter().map(|c| (c.a, c.b)).collect();
        assert_eq!(found, [(0, 2)]);

        // Nested areas of the same level list overlap; different owners do not.
        let mut o1 = entry("C0118", "GD");
        o1.owner_department = Some("GD".to_owned());
        let mut o2 = entry("C0118", "SZ");
        o2.owner_department = Some("SZ".to_owned());
        assert!(report(&[o1, o2], &[], &[], &[]).conflicts.is_empty());
    }

    #[test]
    fn unknown_and_invalid_entries() {
        let mut m = matrix();
        let mut e = entry("E0505", "JD-009");
        e.areas = vec![area("330188009")];
        e.assisting = codes(&["JJ", "GA", "GA"]);
        m.push(e);
        let r = report(&m, &[], &[], &known());
        assert_eq!(
            r.unknown_departments,
            [(8, "JD-009".to_owned()), (8, "GA".to_owned())]
        );
        assert_eq!(r.invalid.len(), 1);
        assert_eq!(r.invalid[0].0, 8);
        assert_eq!(r.invalid[0].1[0].field, "assisting[2]");
    }

    // ---- properties ----

    const CLASSES: [&str; 5] = ["E0505", "E0102", "E0103", "C0118", "E0201"];
    const SELECTORS: [&str; 6] = ["*", "E05", "E01", "E0505", "E0102", "C0118"];
    const AREAS: [&str; 6] = [
        "330188",
        "330188001",
        "330188002",
        "330188001001",
        "330188001002",
        "330188002001",
    ];
    const COMMUNITIES: [&str; 3] = ["330188001001", "330188001002", "330188002001"];
    const GRIDS: [&str; 4] = [
        "33018800100101",
        "33018800100102",
        "33018800100201",
        "33018800200101",
    ];
    const DEPARTMENTS: [&str; 5] = ["JJ", "HW", "SZ", "GD", "JD-001"];
    const OWNERS: [&str; 2] = ["GD", "SZ"];

    fn pick<T: Clone + std::fmt::Debug + 'static>(items: &'static [T]) -> impl Strategy<Value = T> {
        proptest::sample::select(items)
    }

    fn arb_time() -> impl Strategy<Value = NaiveTime> {
        (0u32..48).prop_map(|half_hours| t(half_hours / 2, (half_hours % 2) * 30))
    }

    fn arb_window() -> impl Strategy<Value = TimeWindow> {
        (0u32..24, 1u32..24).prop_map(|(s, len)| TimeWindow {
            start: t(s, 0),
            end: t((s + len) % 24, 0),
        })
    }

    fn arb_entry() -> impl Strategy<Value = MatrixEntry> {
        (
            pick(&SELECTORS),
            proptest::sample::subsequence(AREAS.to_vec(), 0..=2),
            prop_oneof![3 => Just(Vec::new()), 1 => proptest::sample::subsequence(GRIDS.to_vec(), 1..=2)],
            proptest::option::weighted(0.25, pick(&OWNERS)),
            proptest::option::weighted(0.3, arb_window()),
            pick(&DEPARTMENTS),
            proptest::sample::subsequence(DEPARTMENTS.to_vec(), 0..=2),
        )
            .prop_map(|(sel, areas, grids, owner, window, department, assisting)| {
                let mut e = entry(sel, department);
                e.areas = areas.into_iter().map(area).collect();
                e.grids = codes(&grids);
                e.owner_department = owner.map(str::to_owned);
                e.window = window;
                // Occasionally invalid (lead also assisting); such entries must be ignored.
                e.assisting = codes(&assisting);
                e
            })
    }

    fn arb_situation() -> impl Strategy<Value = Situation> {
        (
            pick(&CLASSES),
            proptest::option::weighted(0.9, pick(&AREAS)),
            proptest::option::weighted(0.5, pick(&GRIDS)),
            proptest::option::weighted(0.4, pick(&OWNERS)),
            arb_time(),
        )
            .prop_map(|(c, a, g, o, time)| Situation {
                class: class(c),
                area: a.map(area),
                grid: g.map(str::to_owned),
                owner_department: o.map(str::to_owned),
                local_time: time,
            })
    }

    proptest! {
        #[test]
        fn suggest_without_exclusions_is_the_first_candidate(
            m in proptest::collection::vec(arb_entry(), 0..12),
            s in arb_situation(),
        ) {
            prop_assert_eq!(suggest(&m, &s, &[]), candidates(&m, &s).into_iter().next());
        }

        #[test]
        fn candidates_match_are_ordered_and_unique(
            m in proptest::collection::vec(arb_entry(), 0..12),
            s in arb_situation(),
        ) {
            let cs = candidates(&m, &s);
            let mut seen = HashSet::new();
            for c in &cs {
                let e = &m[c.entry];
                prop_assert!(e.matches(&s) && e.validate().is_ok());
                prop_assert_eq!(&e.department, &c.department);
                prop_assert_eq!(e.specificity(), c.specificity);
                prop_assert!(seen.insert(c.department.clone()));
            }
            prop_assert!(cs.windows(2).all(|w| (Reverse(w[0].specificity), w[0].entry) < (Reverse(w[1].specificity), w[1].entry)));
            // Every valid matching entry is represented by an at least as specific candidate.
            for e in m.iter().filter(|e| e.matches(&s) && e.validate().is_ok()) {
                let c = cs.iter().find(|c| c.department == e.department);
                prop_assert!(c.is_some_and(|c| c.specificity >= e.specificity()));
            }
        }

        #[test]
        fn excluded_departments_are_never_suggested(
            m in proptest::collection::vec(arb_entry(), 0..12),
            s in arb_situation(),
            excluded in proptest::sample::subsequence(DEPARTMENTS.to_vec(), 0..=5),
        ) {
            let excluded = codes(&excluded);
            match suggest(&m, &s, &excluded) {
                Some(c) => {
                    prop_assert!(!excluded.contains(&c.department));
                    // Nothing better was skipped except excluded departments.
                    let before: Vec<_> = candidates(&m, &s).into_iter().take_while(|x| x.entry != c.entry).collect();
                    prop_assert!(before.iter().all(|x| excluded.contains(&x.department)));
                }
                None => prop_assert!(candidates(&m, &s).iter().all(|c| excluded.contains(&c.department))),
            }
        }

        #[test]
        fn adding_an_entry_never_shortens_candidates(
            m in proptest::collection::vec(arb_entry(), 0..12),
            extra in arb_entry(),
            at in 0usize..13,
            s in arb_situation(),
        ) {
            let before = candidates(&m, &s).len();
            let mut grown = m.clone();
            grown.insert(at.min(m.len()), extra);
            prop_assert!(candidates(&grown, &s).len() >= before);
        }

        #[test]
        fn gaps_agree_with_candidates(
            m in proptest::collection::vec(arb_entry(), 0..12),
            c in pick(&CLASSES),
            place in pick(&AREAS),
            time in arb_time(),
        ) {
            let r = report(&m, &[class(c)], &[area(place)], &[]);
            let s = Situation {
                class: class(c),
                area: Some(area(place)),
                grid: None,
                owner_department: None,
                local_time: time,
            };
            let dispatched = !candidates(&m, &s).is_empty();
            let covered = match r.gaps.as_slice() {
                [] => true,
                [gap] => gap.covered.iter().any(|w| w.contains(time)),
                _ => false,
            };
            prop_assert_eq!(dispatched, covered, "{:?}", r.gaps);
        }

        #[test]
        fn equal_specificity_ties_with_different_leads_are_reported(
            m in proptest::collection::vec(arb_clashing_entry(), 0..10),
            s in arb_clashing_situation(),
        ) {
            let r = report(&m, &[], &[], &[]);
            let matching: Vec<usize> = (0..m.len())
                .filter(|&i| m[i].matches(&s) && m[i].validate().is_ok())
                .collect();
            for (x, &a) in matching.iter().enumerate() {
                for &b in &matching[x + 1..] {
                    if m[a].specificity() != m[b].specificity() {
                        continue;
                    }
                    let kind = if m[a].department != m[b].department {
                        Some(ConflictKind::DifferentLead)
                    } else if sorted_codes(&m[a].assisting) != sorted_codes(&m[b].assisting) {
                        Some(ConflictKind::DifferentAssisting)
                    } else {
                        None
                    };
                    if let Some(kind) = kind {
                        prop_assert!(
                            r.conflicts.iter().any(|c| c.a == a && c.b == b && c.kind == kind),
                            "{} and {} tie for {:?}", a, b, s
                        );
                    }
                }
            }
        }

        #[test]
        fn every_reported_conflict_has_a_witness(
            m in proptest::collection::vec(arb_clashing_entry(), 0..10),
        ) {
            for c in report(&m, &[], &[], &[]).conflicts {
                let (a, b) = (&m[c.a], &m[c.b]);
                prop_assert!(c.a < c.b && a.specificity() == b.specificity());
                let witness = witnesses(a).any(|s| a.matches(&s) && b.matches(&s));
                prop_assert!(witness, "no case matches both {:?} and {:?}", a, b);
            }
        }
    }

    /// Entries drawn from few shapes, so that equally specific overlapping pairs are common.
    fn arb_clashing_entry() -> impl Strategy<Value = MatrixEntry> {
        (
            pick(&["E0505", "E05"]),
            proptest::sample::subsequence(AREAS.to_vec(), 0..=2),
            prop_oneof![3 => Just(Vec::new()), 1 => proptest::sample::subsequence(GRIDS.to_vec(), 1..=2)],
            proptest::option::weighted(0.15, Just("GD")),
            proptest::option::weighted(0.25, pick(&[(22, 6), (20, 8), (8, 20), (6, 22)])),
            pick(&["JJ", "SZ", "JD-001"]),
            proptest::sample::subsequence(vec!["HW", "GD"], 0..=1),
        )
            .prop_map(|(sel, areas, grids, owner, hours, department, assisting)| {
                let mut e = entry(sel, department);
                e.areas = areas.into_iter().map(area).collect();
                e.grids = codes(&grids);
                e.owner_department = owner.map(str::to_owned);
                e.window = hours.map(|(from, to)| window((from, 0), (to, 0)));
                e.assisting = codes(&assisting);
                e
            })
    }

    /// Consistent situations only: a grid, when given, lies inside the area.
    fn arb_clashing_situation() -> impl Strategy<Value = Situation> {
        (
            prop_oneof![
                Just((None, None)),
                pick(&AREAS).prop_map(|a| (Some(a), None)),
                pick(&GRIDS).prop_map(|g| (None, Some(g))),
                pick(&GRIDS).prop_map(|g| (Some(&g[..9]), Some(g))),
            ],
            proptest::option::weighted(0.3, Just("GD")),
            arb_time(),
        )
            .prop_map(|((a, g), owner, time)| Situation {
                class: class("E0505"),
                area: a.map(area),
                grid: g.map(str::to_owned),
                owner_department: owner.map(str::to_owned),
                local_time: time,
            })
    }

    /// Every distinct kind of case for an entry's class and owner.
    fn witnesses(e: &MatrixEntry) -> impl Iterator<Item = Situation> + '_ {
        let class = CLASSES
            .iter()
            .map(|c| class(c))
            .find(|c| e.class.matches(c))
            .unwrap();
        let places = COMMUNITIES
            .iter()
            .map(|c| (Some(area(c)), None))
            .chain(GRIDS.iter().map(|g| (None, Some((*g).to_owned()))))
            .chain([(None, None)]);
        places.flat_map(move |(area, grid)| {
            (0..48).map(move |half_hours| Situation {
                class,
                area: area.clone(),
                grid: grid.clone(),
                owner_department: e.owner_department.clone(),
                local_time: t(half_hours / 2, (half_hours % 2) * 30),
            })
        })
    }
}
