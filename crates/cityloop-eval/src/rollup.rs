//! Credits (one +1 on one counter of one object at one instant), per-day rollups of them, and the
//! incremental deltas the app applies in the same transaction as each case transition.
//!
//! Every indicator is a count or a ratio of counters (see [`crate::catalogue`]), and each credit
//! carries the instant that decides its period. So summing the day rows of `[from, to)` yields
//! exactly the counters of the credits whose instant falls in that range of China-time days, and an
//! evaluation of summed rows equals one computed straight from the facts. Drill-down lists (which
//! cases) are not stored in rollups; [`tally_facts`] recomputes them on demand.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use cityloop_domain::calendar::CHINA_OFFSET;
use cityloop_domain::case::Source;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::catalogue::{Counter, ObjectKind, ObjectRef};
use crate::facts::{CaseFacts, CaseMeta, ReportOutcome, TimedStep};

/// One +1 on `counter` of `object`, counted in the period containing `at`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Credit {
    pub at: DateTime<Utc>,
    pub object: ObjectRef,
    pub counter: Counter,
}

/// Counters of one object (indexed by [`Counter`]); serialised as `{code: value}` without zeros.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Counters([u64; Counter::COUNT]);

impl Default for Counters {
    fn default() -> Self {
        Counters([0; Counter::COUNT])
    }
}

impl Counters {
    pub fn get(&self, c: Counter) -> u64 {
        self.0[c.index()]
    }

    pub fn add(&mut self, c: Counter, n: u64) {
        let slot = &mut self.0[c.index()];
        *slot = slot.saturating_add(n);
    }

    pub fn add_all(&mut self, other: &Counters) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a = a.saturating_add(*b);
        }
    }

    /// Removes `other` (a part of `self`: the days of a month row outside a period).
    pub fn sub_all(&mut self, other: &Counters) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a = a.saturating_sub(*b);
        }
    }

    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|&v| v == 0)
    }

    /// Parses the stored form (`{"code": n, …}`) without intermediate maps: evaluations over
    /// long periods read hundreds of thousands of rows.
    pub fn from_json(text: &str) -> Result<Counters, serde_json::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Counters;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of counter codes to counts")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Counters, A::Error> {
                let mut out = Counters::default();
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    let value: u64 = map.next_value()?;
                    let counter = Counter::from_code(&key).ok_or_else(|| {
                        serde::de::Error::custom(format!("unknown counter {key}"))
                    })?;
                    out.add(counter, value);
                }
                Ok(out)
            }
        }
        let mut de = serde_json::Deserializer::from_str(text);
        let out = serde::Deserializer::deserialize_map(&mut de, Visit)?;
        de.end()?;
        Ok(out)
    }

    /// Non-zero counters.
    pub fn iter(&self) -> impl Iterator<Item = (Counter, u64)> + '_ {
        Counter::ALL
            .into_iter()
            .map(|c| (c, self.get(c)))
            .filter(|&(_, v)| v != 0)
    }
}

impl fmt::Debug for Counters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.iter().map(|(c, v)| (c.code(), v)))
            .finish()
    }
}

impl Serialize for Counters {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let map: BTreeMap<Counter, u64> = self.iter().collect();
        map.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Counters {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<Counter, u64>::deserialize(d)?;
        let mut out = Counters::default();
        for (c, v) in map {
            out.add(c, v);
        }
        Ok(out)
    }
}

/// China-time calendar day of an instant: evaluation periods are days of the centre's calendar.
pub fn day_of(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&CHINA_OFFSET).date_naive()
}

/// The UTC instant at which a China-time day starts (period bounds for [`tally_facts`]).
pub fn day_start(day: NaiveDate) -> DateTime<Utc> {
    let local = day.and_time(chrono::NaiveTime::MIN);
    // China keeps one fixed offset all year, so local midnight maps to exactly one instant.
    (local - CHINA_OFFSET).and_utc()
}

/// Channels of public supervision (监督举报): people, not machines or the centre itself.
fn is_public_report(source: Option<Source>) -> bool {
    matches!(
        source,
        Some(Source::Public | Source::Hotline | Source::Media)
    )
}

/// Every credit one case earns, with the instant that decides its period (see the crate docs
/// for the conventions). `meta` is needed for area credits only.
pub fn credits(f: &CaseFacts, meta: Option<&CaseMeta>) -> Vec<Credit> {
    let mut out = Vec::new();
    let mut push = |at: DateTime<Utc>, object: &ObjectRef, counter: Counter| {
        out.push(Credit {
            at,
            object: object.clone(),
            counter,
        })
    };
    let areas: Vec<ObjectRef> = meta
        .map(|m| {
            vec![
                ObjectRef::new(ObjectKind::Grid, m.grid.clone()),
                ObjectRef::new(ObjectKind::Community, m.community.clone()),
                ObjectRef::new(ObjectKind::Street, m.street.clone()),
            ]
        })
        .unwrap_or_default();
    let area = |push: &mut dyn FnMut(DateTime<Utc>, &ObjectRef, Counter),
                at: DateTime<Utc>,
                counter: Counter| {
        for a in &areas {
            push(at, a, counter);
        }
    };
    let timed = |push: &mut dyn FnMut(DateTime<Utc>, &ObjectRef, Counter),
                 kind: ObjectKind,
                 t: &TimedStep,
                 all: Option<Counter>,
                 timed: Counter,
                 on_time: Counter| {
        let who = ObjectRef::person(kind, t.by);
        if let Some(all) = all {
            push(t.done_at, &who, all);
        }
        if let Some(ok) = t.on_time {
            push(t.done_at, &who, timed);
            if ok {
                push(t.done_at, &who, on_time);
            }
        }
    };

    // 监督员: own reports, their decisions, verifications and checks.
    if f.source == Some(Source::Inspector)
        && let (Some(by), Some(at)) = (f.reporter, f.reported_at)
    {
        let who = ObjectRef::person(ObjectKind::Inspector, by);
        push(at, &who, Counter::Reports);
        if let Some(d) = f.report {
            push(d.at, &who, Counter::ReportsDecided);
            if d.outcome == ReportOutcome::Filed {
                push(d.at, &who, Counter::ReportsValid);
            }
        }
    }
    for v in &f.verifications {
        timed(
            &mut push,
            ObjectKind::Inspector,
            v,
            None,
            Counter::VerifyTimed,
            Counter::VerifyOnTime,
        );
        if v.positive && is_public_report(f.source) {
            area(&mut push, v.done_at, Counter::AreaPublicVerified);
        }
    }
    for c in &f.checks {
        timed(
            &mut push,
            ObjectKind::Inspector,
            c,
            None,
            Counter::CheckTimed,
            Counter::CheckOnTime,
        );
    }
    // 受理员.
    for a in &f.acceptances {
        timed(
            &mut push,
            ObjectKind::Acceptor,
            a,
            Some(Counter::Acceptances),
            Counter::AcceptTimed,
            Counter::AcceptOnTime,
        );
    }
    // 值班长: filing (and its accuracy, a property of the filing act) and closing.
    if let Some(filing) = &f.filing {
        let t = &filing.step;
        timed(
            &mut push,
            ObjectKind::ShiftLeader,
            t,
            Some(Counter::Filings),
            Counter::FilingTimed,
            Counter::FilingOnTime,
        );
        if filing.voided_at.is_none() {
            push(
                t.done_at,
                &ObjectRef::person(ObjectKind::ShiftLeader, t.by),
                Counter::FilingAccurate,
            );
        }
        let net = if filing.parked {
            Counter::AreaParked
        } else {
            Counter::AreaFiledNet
        };
        area(&mut push, t.done_at, net);
    }
    for c in &f.closings {
        timed(
            &mut push,
            ObjectKind::ShiftLeader,
            c,
            Some(Counter::Closings),
            Counter::CloseTimed,
            Counter::CloseOnTime,
        );
    }
    // 派遣员 and 专业部门 (lead department and sub-unit alike).
    for a in &f.assignments {
        let d = &a.dispatch;
        timed(
            &mut push,
            ObjectKind::Dispatcher,
            d,
            Some(Counter::Dispatches),
            Counter::DispatchTimed,
            Counter::DispatchOnTime,
        );
        if a.returned_at.is_none() {
            push(
                d.done_at,
                &ObjectRef::person(ObjectKind::Dispatcher, d.by),
                Counter::DispatchAccurate,
            );
        }
        let mut depts = vec![ObjectRef::new(ObjectKind::Department, a.department.clone())];
        if let Some(s) = &a.sub_unit {
            depts.push(ObjectRef::new(ObjectKind::SubUnit, s.clone()));
        }
        for dept in &depts {
            match a.returned_at {
                None => push(d.done_at, dept, Counter::DeptFiled),
                Some(r) => push(r, dept, Counter::DeptReturns),
            }
            for &x in &a.extensions {
                push(x, dept, Counter::DeptExtensions);
            }
            for &s in &a.supervisions {
                push(s, dept, Counter::DeptSupervisions);
            }
        }
        if let Some(acc) = a.accountable() {
            let flags = [
                (true, Counter::DeptDue),
                (acc.handled, Counter::DeptHandled),
                (acc.on_time, Counter::DeptOnTime),
                (acc.handled && !acc.on_time, Counter::DeptLate),
                (acc.closed, Counter::DeptClosed),
                (acc.reworked, Counter::DeptReworked),
            ];
            for dept in &depts {
                for (set, counter) in flags {
                    if set {
                        push(acc.at, dept, counter);
                    }
                }
            }
            area(&mut push, acc.at, Counter::AreaDue);
            if acc.closed {
                area(&mut push, acc.at, Counter::AreaClosed);
                if acc.on_time {
                    area(&mut push, acc.at, Counter::AreaClosedOnTime);
                }
            }
        }
    }
    if !f.excluded.is_empty() {
        out.retain(|c| !f.excluded.iter().any(|e| e.covers(&c.object, c.counter)));
    }
    out
}

/// Counters of one object over a period, with the case ids behind each counter when computed from
/// facts (`cases[c]` has one entry per credit, so its length equals the counter).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub counts: Counters,
    pub cases: Option<BTreeMap<Counter, Vec<String>>>,
}

pub type Tallies = BTreeMap<ObjectRef, Tally>;

/// Counters of every object over `[from, to)`, straight from facts, with drill-down lists.
pub fn tally_facts<'a>(
    cases: impl IntoIterator<Item = (&'a CaseFacts, Option<&'a CaseMeta>)>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Tallies {
    let mut out = Tallies::new();
    for (facts, meta) in cases {
        for c in credits(facts, meta) {
            if c.at < from || c.at >= to {
                continue;
            }
            let t = out.entry(c.object).or_default();
            t.counts.add(c.counter, 1);
            t.cases
                .get_or_insert_with(BTreeMap::new)
                .entry(c.counter)
                .or_default()
                .push(facts.case_id.clone());
        }
    }
    out
}

/// Key of a day rollup row.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RollupKey {
    /// China-time day.
    pub day: NaiveDate,
    pub object: ObjectRef,
}

/// One stored row: the counters an object earned on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayRollup {
    pub key: RollupKey,
    pub counters: Counters,
}

/// A change to one row, from one case transition; only non-zero changes are listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollupDelta {
    pub key: RollupKey,
    pub changes: Vec<(Counter, i64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RollupError {
    #[error("{key:?}: {counter:?} would drop below zero")]
    Negative { key: RollupKey, counter: Counter },
}

fn bucket(
    into: &mut BTreeMap<RollupKey, [i64; Counter::COUNT]>,
    facts: &CaseFacts,
    meta: Option<&CaseMeta>,
    sign: i64,
) {
    for c in credits(facts, meta) {
        let key = RollupKey {
            day: day_of(c.at),
            object: c.object,
        };
        into.entry(key).or_insert([0; Counter::COUNT])[c.counter.index()] += sign;
    }
}

/// Rollup rows built from scratch (initial load, or a check against the maintained rows).
pub fn day_rollups<'a>(
    cases: impl IntoIterator<Item = (&'a CaseFacts, Option<&'a CaseMeta>)>,
) -> Vec<DayRollup> {
    let mut rows: BTreeMap<RollupKey, Counters> = BTreeMap::new();
    for (facts, meta) in cases {
        for c in credits(facts, meta) {
            let key = RollupKey {
                day: day_of(c.at),
                object: c.object,
            };
            rows.entry(key).or_default().add(c.counter, 1);
        }
    }
    rows.into_iter()
        .map(|(key, counters)| DayRollup { key, counters })
        .collect()
}

/// What one case transition changes in the rollups: the credits of the facts after it minus those
/// before it (`None` for a new case). Past days may change too, because some counters are
/// properties of an earlier act (a filing later voided, a dispatch later returned) and stay on
/// that act's day. `meta` may differ before and after (a case moved to another grid).
pub fn rollup_delta(
    before: Option<(&CaseFacts, Option<&CaseMeta>)>,
    after: (&CaseFacts, Option<&CaseMeta>),
) -> Vec<RollupDelta> {
    let mut net = BTreeMap::new();
    if let Some((f, m)) = before {
        bucket(&mut net, f, m, -1);
    }
    bucket(&mut net, after.0, after.1, 1);
    net.into_iter()
        .filter_map(|(key, values)| {
            let changes: Vec<(Counter, i64)> = Counter::ALL
                .into_iter()
                .map(|c| (c, values[c.index()]))
                .filter(|&(_, v)| v != 0)
                .collect();
            (!changes.is_empty()).then_some(RollupDelta { key, changes })
        })
        .collect()
}

/// Applies a delta to in-memory rows (what the app does with SQL `UPDATE … SET x = x + d`). Rows
/// that become all zero are removed. Fails without changing anything if a counter would go
/// negative, which means the rows and the deltas disagree.
pub fn apply_delta(
    rows: &mut BTreeMap<RollupKey, Counters>,
    delta: &RollupDelta,
) -> Result<(), RollupError> {
    let mut row = rows.get(&delta.key).cloned().unwrap_or_default();
    for &(counter, change) in &delta.changes {
        let now = i128::from(row.get(counter)) + i128::from(change);
        let Ok(value) = u64::try_from(now) else {
            return Err(RollupError::Negative {
                key: delta.key.clone(),
                counter,
            });
        };
        row.0[counter.index()] = value;
    }
    if row.is_zero() {
        rows.remove(&delta.key);
    } else {
        rows.insert(delta.key.clone(), row);
    }
    Ok(())
}

/// Counters of every object over the China-time days `[from, to)`, summed from day rows.
pub fn sum_rollups<'a>(
    rows: impl IntoIterator<Item = (&'a RollupKey, &'a Counters)>,
    from: NaiveDate,
    to: NaiveDate,
) -> Tallies {
    let mut out = Tallies::new();
    for (key, counters) in rows {
        if key.day < from || key.day >= to {
            continue;
        }
        out.entry(key.object.clone())
            .or_default()
            .counts
            .add_all(counters);
    }
    out
}
