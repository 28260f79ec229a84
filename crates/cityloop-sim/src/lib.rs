//! A year of realistic case history for the cityloop demo, produced by driving the real case
//! state machine ([`cityloop_domain::case`]) with a simulated clock.
//!
//! [`simulate`] is pure: no I/O, no database, no clock. It returns every case with its full event
//! log (`replay(&events) == case`), ready to be bulk-inserted by the application. Output is a
//! function of the [`World`], the [`Options`] (including the seed) and the ids handed out by
//! `id_for`.
//!
//! # The model (one district-level centre)
//!
//! * **Volume.** `reports_per_day` on average over `[from, to)`; non-working days (weekends and
//!   holidays of the [`WorkCalendar`]) get 60 % of a working day, summer months a little more and
//!   January/February a little less, each day varies by ±15 % (weather) and the count is
//!   Poisson-distributed around its mean.
//! * **Channels** ([`Source`]): inspector 62 %, hotline 22 %, public 7 %, video 5 %, sensor 1.5 %,
//!   leader 1.5 %, media 1 % (the leader share moves to the hotline when the world has no
//!   leaders). Inspectors report 08:30–17:30 China time with a lunch dip; hotline, public and
//!   media reports run into the evening; video and sensor alarms come day and night.
//! * **Openers.** Inspector reports are opened by an inspector of the grid's street; public,
//!   video and sensor reports by `system_user` (Role::System); hotline and media by an acceptor;
//!   leader instructions by a leader.
//! * **Verification.** Reports that need it are verified by an inspector of the grid's street
//!   within about one working hour (a few take longer). About 6 % are not confirmed (more for video
//!   alarms, fewer for the hotline) and the acceptor declines them.
//! * **Centre steps** (accept, file, dispatch, approvals, close) take minutes in working time; out
//!   of hours most wait for the next working period, some are handled by the night shift.
//! * **Filing** uses the condition the report was drawn from; about 1.5 % of accepted reports are
//!   rejected (不予立案) and 0.5 % voided.
//! * **Classes and seasons.** A report's condition is drawn by `SimCondition::weight` times its
//!   [`Season`] multiplier for the month. [`Season::guess`] classifies a class/condition by the
//!   names of the built-in taxonomy: snow, ice, heating → `Winter` (Dec–Feb); standing water,
//!   storms, sewers, greenery, trees, barbecues → `Summer` (Jun–Aug); fallen leaves → `Autumn`
//!   (Oct–Nov). The application may instead set any season or monthly weights itself.
//! * **Dispatch** goes to the condition's department, with assisting departments 3 % of the time.
//!   3 % are first sent to a wrong department, which asks to return the case (回退); the shift
//!   leader approves (90 %, then the dispatcher re-dispatches to the right department) or refuses.
//!   A department with sub-units sub-dispatches 20 % of its cases; the sub-unit's handlers feed
//!   back when it has any, else the lead department's.
//! * **Disposal** finishes at a fraction of the due time computed by
//!   [`step_clock`](cityloop_domain::case::step_clock) (so pauses, extensions and the calendar
//!   are honoured); about 8 % of feedbacks come after the due time.
//!   Overdue cases often get reminders (催办) from a dispatcher. 4 % ask for an extension (85 %
//!   approved; the shift leader decides before the due time when possible). 2.5 % of disposals
//!   with a working-time limit of a working day or more are parked (挂账) and unparked two to
//!   eleven weeks later; 1.5 % of those with a working-time limit of four working hours or more
//!   are deferred (缓办) by the shift leader and resumed 2–15 days later; urgent (calendar-time)
//!   limits are never paused. 1 % are supervised (督办) by a leader, due 2–5 working days later.
//! * **Check** by an inspector of the grid's street within about two working hours: 3.5 % fail
//!   (rework, 返工) and the department feeds back again. The shift leader then closes.
//! * **Reopen**: 0.3 % of closed cases are reopened days later and handled again.
//! * **Duplicates**: about 1 % of reports (mostly public and hotline) repeat a problem that is
//!   already open; they are placed in the same grid and merged by the acceptor into the earlier
//!   case while it is still open.
//! * **`now`**: nothing happens after `opts.now`. A case whose next action would come later stays
//!   where it is — pending requests included — so the demo's queues have work.
//!
//! Photos are fake content hashes (64 lowercase hex digits) from the seeded generator; the
//! application is expected to create placeholder blobs for them.

mod flow;
mod text;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use cityloop_domain::calendar::{CalendarError, TimeLimit, WorkCalendar};
use cityloop_domain::case::{Actor, Case, Event, Role, Source, TransitionError};
use cityloop_domain::rules::ProcessLimits;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The demo city and its organisation, as the simulator needs it.
#[derive(Debug, Clone)]
pub struct World {
    /// Unit grids to place cases in.
    pub grids: Vec<SimGrid>,
    /// An inspector verifies and checks the cases of their street.
    pub inspectors: Vec<SimInspector>,
    pub acceptors: Vec<i64>,
    pub shift_leaders: Vec<i64>,
    pub dispatchers: Vec<i64>,
    /// May be empty: then there are no leader instructions and no supervision.
    pub leaders: Vec<i64>,
    pub handlers: Vec<SimHandler>,
    /// `(parent department code, sub-unit code)`.
    pub sub_units: Vec<(String, String)>,
    pub conditions: Vec<SimCondition>,
    pub process: ProcessLimits,
    pub calendar: WorkCalendar,
    pub rule_set_id: i64,
    /// Actor of machine and public intake (Role::System).
    pub system_user: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimGrid {
    pub code: String,
    pub community_code: String,
    pub street_code: String,
    pub district_code: String,
    pub lon: f64,
    pub lat: f64,
    /// Relative busyness; cases are spread over the grids in proportion to it.
    pub weight: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimInspector {
    pub user_id: i64,
    pub street_code: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimHandler {
    pub user_id: i64,
    /// Department (or sub-unit) code.
    pub department: String,
}

/// A filing condition the simulator may file cases under.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimCondition {
    /// Class reference such as `E0101` or `C0118`.
    pub class: String,
    /// 立案条件, exactly as in the rule set.
    pub condition: String,
    /// 处置时限 of the condition in the rule set `World::rule_set_id`.
    pub limit: TimeLimit,
    /// Responsible department (code); must have handlers.
    pub department: String,
    /// When in the year the problem occurs; see [`Season::guess`].
    pub seasonal: Season,
    /// Relative frequency over the year (before the seasonal multiplier); 1.0 is typical.
    pub weight: f64,
}

/// When a kind of problem occurs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Season {
    /// Evenly over the year.
    AllYear,
    /// Snow, ice, heating: December to February (×4), a little in November and March, almost
    /// never otherwise.
    Winter,
    /// Rainstorms, standing water, greenery: June to August (×3), May and September (×1.2), less
    /// otherwise (×0.3).
    Summer,
    /// Fallen leaves: October and November (×4), September and December (×1), rarely otherwise.
    Autumn,
    /// Explicit multipliers for January to December.
    Monthly([f64; 12]),
}

impl Season {
    /// Multiplier of a condition's weight in `month` (1–12).
    pub fn multiplier(&self, month: u32) -> f64 {
        let m = month;
        match self {
            Season::AllYear => 1.0,
            Season::Winter => match m {
                12 | 1 | 2 => 4.0,
                11 | 3 => 1.0,
                _ => 0.03,
            },
            Season::Summer => match m {
                6..=8 => 3.0,
                5 | 9 => 1.2,
                _ => 0.3,
            },
            Season::Autumn => match m {
                10 | 11 => 4.0,
                9 | 12 => 1.0,
                _ => 0.1,
            },
            Season::Monthly(w) => {
                let i = usize::try_from(m.clamp(1, 12) - 1).unwrap_or(0);
                w.get(i).copied().unwrap_or(1.0).max(0.0)
            }
        }
    }

    /// The season of a class and filing condition, from keywords in the condition text and in
    /// the built-in taxonomy's name of the class (`E0407` 道路积雪结冰 → `Winter`, `E0406` 道路积水 →
    /// `Summer`, `E0115` 焚烧垃圾、树叶 → `Autumn`, …). Unknown classes are `AllYear`.
    pub fn guess(class: &str, condition: &str) -> Season {
        let name = cityloop_domain::taxonomy::builtin_classes()
            .into_iter()
            .find(|c| c.class.to_string().eq_ignore_ascii_case(class.trim()))
            .map(|c| c.name)
            .unwrap_or_default();
        let text = format!("{name} {condition}");
        let has = |words: &[&str]| words.iter().any(|w| text.contains(w));
        if has(&["落叶", "树叶"]) {
            Season::Autumn
        } else if has(&["雪", "冰", "热力", "供暖", "暖气"]) {
            Season::Winter
        } else if has(&[
            "积水",
            "暴雨",
            "内涝",
            "防汛",
            "下水道",
            "雨水",
            "绿地",
            "行道树",
            "树木",
            "绿化",
            "草坪",
            "喷泉",
            "烧烤",
            "古树",
        ]) {
            Season::Summer
        } else {
            Season::AllYear
        }
    }
}

/// What to simulate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Options {
    /// First day of reports (China date).
    pub from: NaiveDate,
    /// Day after the last day of reports (exclusive).
    pub to: NaiveDate,
    /// Average reports per day over the period.
    pub reports_per_day: u32,
    pub seed: u64,
    /// Nothing happens after this instant; cases still open then stay open.
    pub now: DateTime<Utc>,
}

/// One simulated case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimCase {
    /// Final state, equal to `replay(&events)`.
    pub case: Case,
    pub events: Vec<Event>,
    /// Index into `World::grids`.
    pub grid: usize,
    /// Within about 50 m of the grid's centre.
    pub lon: f64,
    pub lat: f64,
    /// The class the reporter chose, if any (inspectors always classify; callers often do not).
    pub reported_class: Option<String>,
    /// Placeholder address, e.g. `"<community code> 附近"`; the app replaces it with a geocoded one.
    pub address_hint: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SimError {
    #[error("invalid world: {0}")]
    World(String),
    #[error("invalid options: {0}")]
    Options(String),
    #[error("calendar: {0}")]
    Calendar(#[from] CalendarError),
    /// A bug in the simulator or an id from `id_for` the state machine refuses.
    #[error("case {case_id}: the state machine refused an action: {error}")]
    Transition {
        case_id: String,
        error: TransitionError,
    },
}

/// Simulates the reports of `[opts.from, opts.to)` and everything that happened to them up to
/// `opts.now`. `id_for(reported_at)` is called once per case, in report order, for its number.
/// Cases are returned in report order.
pub fn simulate(
    world: &World,
    opts: &Options,
    id_for: impl FnMut(DateTime<Utc>) -> String,
) -> Result<Vec<SimCase>, SimError> {
    let prep = Prepared::new(world)?;
    if opts.to < opts.from {
        return Err(SimError::Options(format!(
            "`to` ({}) is before `from` ({})",
            opts.to, opts.from
        )));
    }
    flow::run(&prep, opts, id_for)
}

/// Channel mix (per cent); the leader share goes to the hotline when there are no leaders.
const CHANNELS: [(Source, f64); 7] = [
    (Source::Inspector, 62.0),
    (Source::Hotline, 22.0),
    (Source::Public, 7.0),
    (Source::Video, 5.0),
    (Source::Sensor, 1.5),
    (Source::Leader, 1.5),
    (Source::Media, 1.0),
];

/// The world with its lookups built once.
pub(crate) struct Prepared<'w> {
    pub world: &'w World,
    pub inspectors: Vec<Actor>,
    /// Per grid: indices into `inspectors` of its street (all inspectors if the street has none),
    /// with the grid's own inspector first.
    pub grid_inspectors: Vec<Vec<usize>>,
    pub acceptors: Vec<Actor>,
    pub shift_leaders: Vec<Actor>,
    pub dispatchers: Vec<Actor>,
    pub leaders: Vec<Actor>,
    pub system: Actor,
    pub handlers: BTreeMap<String, Vec<Actor>>,
    /// Parent department → sub-units.
    pub sub_units: BTreeMap<String, Vec<String>>,
    /// Departments that have handlers, sorted.
    pub departments: Vec<String>,
    pub class_names: BTreeMap<String, String>,
    /// Cumulative grid weights.
    pub grid_cum: Vec<f64>,
    /// Per month (index 0 = January): cumulative condition weights.
    pub cond_cum: Vec<Vec<f64>>,
    pub channels: Vec<(Source, f64)>,
}

fn actor(user_id: i64, role: Role, department: Option<&str>) -> Actor {
    Actor {
        user_id,
        roles: vec![role],
        department: department.map(str::to_owned),
    }
}

fn cumulative(weights: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut sum = 0.0;
    weights
        .map(|w| {
            sum += if w.is_finite() && w > 0.0 { w } else { 0.0 };
            sum
        })
        .collect()
}

impl<'w> Prepared<'w> {
    fn new(world: &'w World) -> Result<Self, SimError> {
        let need = |ok: bool, what: &str| {
            if ok {
                Ok(())
            } else {
                Err(SimError::World(what.to_owned()))
            }
        };
        need(!world.grids.is_empty(), "no grids")?;
        need(!world.inspectors.is_empty(), "no inspectors")?;
        need(!world.acceptors.is_empty(), "no acceptors")?;
        need(!world.shift_leaders.is_empty(), "no shift leaders")?;
        need(!world.dispatchers.is_empty(), "no dispatchers")?;
        need(!world.conditions.is_empty(), "no conditions")?;
        need(world.rule_set_id > 0, "rule_set_id must be positive")?;

        let inspectors: Vec<Actor> = world
            .inspectors
            .iter()
            .map(|i| actor(i.user_id, Role::Inspector, None))
            .collect();
        let mut by_street: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, insp) in world.inspectors.iter().enumerate() {
            by_street
                .entry(insp.street_code.as_str())
                .or_default()
                .push(i);
        }
        let all: Vec<usize> = (0..inspectors.len()).collect();
        let mut seen_in_street: BTreeMap<&str, usize> = BTreeMap::new();
        let grid_inspectors = world
            .grids
            .iter()
            .map(|g| {
                let pool = by_street.get(g.street_code.as_str()).unwrap_or(&all);
                // The n-th grid of a street belongs to the street's (n mod k)-th inspector.
                let n = seen_in_street.entry(g.street_code.as_str()).or_insert(0);
                let own = *n % pool.len().max(1);
                *n += 1;
                let mut v = vec![pool[own]];
                v.extend(pool.iter().copied().filter(|&i| i != pool[own]));
                v
            })
            .collect();

        let mut handlers: BTreeMap<String, Vec<Actor>> = BTreeMap::new();
        for h in &world.handlers {
            handlers
                .entry(h.department.clone())
                .or_default()
                .push(actor(h.user_id, Role::Handler, Some(&h.department)));
        }
        for c in &world.conditions {
            need(
                !c.class.trim().is_empty() && !c.condition.trim().is_empty(),
                "a condition has a blank class or text",
            )?;
            if !handlers.contains_key(&c.department) {
                return Err(SimError::World(format!(
                    "department `{}` of condition {} `{}` has no handlers",
                    c.department, c.class, c.condition
                )));
            }
        }
        let mut sub_units: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (parent, sub) in &world.sub_units {
            if parent != sub && !sub.trim().is_empty() {
                sub_units
                    .entry(parent.clone())
                    .or_default()
                    .push(sub.clone());
            }
        }
        // Only departments that are in charge of some condition: sub-units are not dispatched to.
        let mut departments: Vec<String> = world
            .conditions
            .iter()
            .map(|c| c.department.clone())
            .collect();
        departments.sort();
        departments.dedup();

        let grid_cum = cumulative(world.grids.iter().map(|g| g.weight));
        let grid_cum = if grid_cum.last().is_some_and(|&s| s > 0.0) {
            grid_cum
        } else {
            cumulative(world.grids.iter().map(|_| 1.0))
        };
        let cond_cum: Vec<Vec<f64>> = (1..=12)
            .map(|m| {
                cumulative(
                    world
                        .conditions
                        .iter()
                        .map(|c| c.weight * c.seasonal.multiplier(m)),
                )
            })
            .collect();
        for (m, cum) in cond_cum.iter().enumerate() {
            if !cum.last().is_some_and(|&s| s > 0.0) {
                return Err(SimError::World(format!(
                    "no condition has a positive weight in month {}",
                    m + 1
                )));
            }
        }
        let class_names = cityloop_domain::taxonomy::builtin_classes()
            .into_iter()
            .map(|c| (c.class.to_string(), c.name))
            .collect();
        let channels = CHANNELS
            .iter()
            .map(|&(s, w)| match s {
                Source::Leader if world.leaders.is_empty() => (s, 0.0),
                Source::Hotline if world.leaders.is_empty() => (s, w + 1.5),
                _ => (s, w),
            })
            .collect();
        Ok(Self {
            world,
            inspectors,
            grid_inspectors,
            acceptors: world
                .acceptors
                .iter()
                .map(|&u| actor(u, Role::Acceptor, None))
                .collect(),
            shift_leaders: world
                .shift_leaders
                .iter()
                .map(|&u| actor(u, Role::ShiftLeader, None))
                .collect(),
            dispatchers: world
                .dispatchers
                .iter()
                .map(|&u| actor(u, Role::Dispatcher, None))
                .collect(),
            leaders: world
                .leaders
                .iter()
                .map(|&u| actor(u, Role::Leader, None))
                .collect(),
            system: actor(world.system_user, Role::System, None),
            handlers,
            sub_units,
            departments,
            class_names,
            grid_cum,
            cond_cum,
            channels,
        })
    }

    pub fn class_name<'a>(&'a self, class: &'a str) -> &'a str {
        self.class_names.get(class).map_or(class, String::as_str)
    }

    pub fn month_conditions(&self, date: NaiveDate) -> &[f64] {
        let i = usize::try_from(date.month0()).unwrap_or(0);
        self.cond_cum.get(i).map_or(&[], Vec::as_slice)
    }
}
