//! The day loop and the life of one case.

use std::collections::VecDeque;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, Utc};
use cityloop_domain::calendar::{CHINA_OFFSET, CalendarError, TimeUnit};
use cityloop_domain::case::{
    Action, Actor, Case, Event, NewCase, Outcome, Source, Step, apply, open, step_clock,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::text;
use crate::{Options, Prepared, SimCase, SimCondition, SimError};

// Probabilities of the model (see the crate documentation).
const NON_WORKING_DAY_FACTOR: f64 = 0.6;
const P_LATE_VERIFY: f64 = 0.06;
const P_REJECT: f64 = 0.015;
const P_VOID: f64 = 0.005;
const P_WRONG_DEPARTMENT: f64 = 0.03;
const P_REFUSE_RETURN: f64 = 0.1;
const P_ASSISTING: f64 = 0.03;
const P_SUB_DISPATCH: f64 = 0.2;
const P_EXTENSION: f64 = 0.04;
const P_EXTENSION_APPROVED: f64 = 0.85;
/// Of disposals with a working-time limit of a working day or more (urgent and short limits
/// are never parked).
const P_PARK: f64 = 0.025;
/// Of disposals with a working-time limit of four working hours or more.
const P_DEFER: f64 = 0.015;
const P_SUPERVISE: f64 = 0.01;
/// Share of disposals fed back after the due time (before extension effects).
const P_OVERDUE: f64 = 0.057;
const P_OVERDUE_AFTER_EXTENSION: f64 = 0.04;
const P_OVERDUE_EXTENSION_REFUSED: f64 = 0.35;
const P_REMINDED_WHEN_OVERDUE: f64 = 0.6;
const P_REWORK: f64 = 0.035;
const P_REWORK_AGAIN: f64 = 0.1;
/// Share of reworked cases fed back again after the (unchanged) due time.
const P_REWORK_LATE: f64 = 0.5;
const P_LATE_CHECK: f64 = 0.05;
const P_REOPEN: f64 = 0.003;
/// Out of working hours, the share of centre actions taken at once by the night shift.
const P_NIGHT_SHIFT: f64 = 0.2;

/// Why a case's story ends early.
enum Halt {
    /// The next action would come after `now`.
    Now,
    Fail(SimError),
}

impl From<CalendarError> for Halt {
    fn from(e: CalendarError) -> Self {
        Halt::Fail(SimError::Calendar(e))
    }
}

/// A recent case a duplicate report may be merged into.
struct Recent {
    id: String,
    grid: usize,
    cond: usize,
    reported_at: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
    /// A real, confirmed problem (not declined, rejected, voided or itself merged).
    real: bool,
}

fn uniform(rng: &mut ChaCha8Rng, a: f64, b: f64) -> f64 {
    a + (b - a) * rng.random::<f64>()
}

fn pick<'x, T>(rng: &mut ChaCha8Rng, items: &'x [T]) -> &'x T {
    &items[rng.random_range(0..items.len())]
}

fn pick_text(rng: &mut ChaCha8Rng, items: &[&str]) -> String {
    (*pick(rng, items)).to_owned()
}

/// Index whose cumulative weight first exceeds a uniform draw.
fn pick_cumulative(rng: &mut ChaCha8Rng, cum: &[f64]) -> usize {
    let total = cum.last().copied().unwrap_or(0.0);
    let x = rng.random::<f64>() * total;
    cum.partition_point(|&c| c <= x)
        .min(cum.len().saturating_sub(1))
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn poisson(rng: &mut ChaCha8Rng, mean: f64) -> u32 {
    if mean <= 0.0 {
        return 0;
    }
    if mean < 30.0 {
        let limit = (-mean).exp();
        let mut k = 0u32;
        let mut p = rng.random::<f64>();
        while p > limit {
            k += 1;
            p *= rng.random::<f64>();
        }
        return k;
    }
    (mean + mean.sqrt() * normal(rng)).round().max(0.0) as u32
}

fn photos(rng: &mut ChaCha8Rng) -> Vec<String> {
    let n = if rng.random::<f64>() < 0.6 {
        1
    } else {
        rng.random_range(2..=3)
    };
    (0..n)
        .map(|_| {
            format!(
                "{:016x}{:016x}{:016x}{:016x}",
                rng.random::<u64>(),
                rng.random::<u64>(),
                rng.random::<u64>(),
                rng.random::<u64>()
            )
        })
        .collect()
}

fn local_to_utc(date: NaiveDate, seconds_of_day: u32) -> Option<DateTime<Utc>> {
    let time = NaiveTime::from_num_seconds_from_midnight_opt(seconds_of_day, 0)?;
    let local = date.and_time(time);
    Some(local.checked_sub_offset(CHINA_OFFSET)?.and_utc())
}

/// Relative hourly intensity (China time) of reports from a channel.
fn hour_weights(source: Source) -> [f64; 24] {
    match source {
        // 08:30–17:30 patrols with a lunch dip; the half hours are handled by `report_time`.
        Source::Inspector => [
            0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 1.0, 1.0, 1.0, 0.3, 0.6, 1.0, 1.0, 1.0,
            0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
        ],
        Source::Leader => [
            0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.6, 1.0, 1.0, 0.8, 0.2, 0.3, 1.0, 1.0, 1.0,
            0.7, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0,
        ],
        Source::Video | Source::Sensor => [
            0.3, 0.25, 0.2, 0.2, 0.2, 0.3, 0.5, 0.8, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
            1.0, 1.0, 0.9, 0.8, 0.6, 0.5, 0.4,
        ],
        Source::Hotline | Source::Public | Source::Media => [
            0.08, 0.04, 0.02, 0.02, 0.02, 0.04, 0.15, 0.45, 1.0, 1.2, 1.2, 1.0, 0.7, 0.8, 1.0, 1.0,
            1.0, 0.9, 0.75, 0.65, 0.55, 0.4, 0.25, 0.15,
        ],
    }
}

fn report_time(rng: &mut ChaCha8Rng, date: NaiveDate, source: Source) -> Option<DateTime<Utc>> {
    let weights = hour_weights(source);
    let mut sum = 0.0;
    let cum: Vec<f64> = weights
        .iter()
        .map(|w| {
            sum += w;
            sum
        })
        .collect();
    let hour = u32::try_from(pick_cumulative(rng, &cum)).unwrap_or(9);
    let (lo, hi) = match (source, hour) {
        (Source::Inspector, 8) => (30 * 60, 3600),
        (Source::Inspector, 17) => (0, 30 * 60),
        _ => (0, 3600),
    };
    let within: u32 = rng.random_range(lo..hi);
    local_to_utc(date, hour * 3600 + within)
}

fn day_factor(p: &Prepared<'_>, date: NaiveDate) -> f64 {
    let day = if p.world.calendar.is_working_day(date) {
        1.0
    } else {
        NON_WORKING_DAY_FACTOR
    };
    let month = match date.month() {
        6..=8 => 1.1,
        1 | 2 => 0.9,
        _ => 1.0,
    };
    day * month
}

pub(crate) fn run(
    p: &Prepared<'_>,
    opts: &Options,
    mut id_for: impl FnMut(DateTime<Utc>) -> String,
) -> Result<Vec<SimCase>, SimError> {
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let days: Vec<NaiveDate> = opts.from.iter_days().take_while(|d| *d < opts.to).collect();
    let factors: Vec<f64> = days.iter().map(|&d| day_factor(p, d)).collect();
    let total: f64 = factors.iter().sum();
    let scale = if total > 0.0 {
        days.len() as f64 * f64::from(opts.reports_per_day) / total
    } else {
        0.0
    };
    let channel_cum: Vec<f64> = {
        let mut s = 0.0;
        p.channels
            .iter()
            .map(|&(_, w)| {
                s += w;
                s
            })
            .collect()
    };
    let mut out: Vec<SimCase> = Vec::new();
    let mut recent: VecDeque<Recent> = VecDeque::new();
    for (&date, &factor) in days.iter().zip(&factors) {
        if local_to_utc(date, 0).is_none_or(|start| start > opts.now) {
            break;
        }
        // Weather and chance: ±15 % from day to day, mean-preserving.
        let weather = (0.15 * normal(&mut rng) - 0.01125).exp();
        let n = poisson(&mut rng, scale * factor * weather);
        let mut reports: Vec<(DateTime<Utc>, Source)> = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let source = p.channels[pick_cumulative(&mut rng, &channel_cum)].0;
            if let Some(t) = report_time(&mut rng, date, source) {
                reports.push((t, source));
            }
        }
        reports.sort_by_key(|r| r.0);
        for (at, source) in reports {
            if at > opts.now {
                break;
            }
            let horizon = at - TimeDelta::days(4);
            while recent.front().is_some_and(|r| r.reported_at < horizon) {
                recent.pop_front();
            }
            let (sim, cond) = one_case(p, opts, &mut rng, &recent, at, source, &mut id_for)?;
            recent.push_back(Recent {
                id: sim.case.id.clone(),
                grid: sim.grid,
                cond,
                reported_at: at,
                closed_at: sim.case.closed_at,
                real: !matches!(
                    sim.case.step,
                    Step::Closed(
                        Outcome::Declined | Outcome::Rejected | Outcome::Voided | Outcome::Merged
                    )
                ),
            });
            out.push(sim);
        }
    }
    Ok(out)
}

/// Share of reports from a channel that repeat a problem already reported.
fn duplicate_share(source: Source) -> f64 {
    match source {
        Source::Public => 0.032,
        Source::Hotline => 0.022,
        Source::Media => 0.022,
        Source::Video => 0.014,
        Source::Sensor => 0.007,
        Source::Inspector => 0.003,
        Source::Leader => 0.0,
    }
}

fn not_confirmed_share(source: Source) -> f64 {
    match source {
        Source::Video => 0.15,
        Source::Sensor => 0.12,
        Source::Public => 0.06,
        Source::Hotline => 0.045,
        Source::Media => 0.04,
        Source::Inspector | Source::Leader => 0.0,
    }
}

fn is_cjk(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c)
}

fn description(p: &Prepared<'_>, source: Source, cond: &SimCondition, place: &str) -> String {
    let name = p.class_name(&cond.class);
    match source {
        // The shipped sample conditions are English translations; a Chinese report quotes only
        // Chinese ones.
        Source::Inspector if cond.condition.chars().any(is_cjk) => {
            format!("巡查发现：{name}（{}）", cond.condition)
        }
        Source::Inspector => format!("巡查发现：{name}"),
        Source::Hotline => format!("12345热线：市民反映{place}附近{name}问题"),
        Source::Public => format!("市民随手拍：{place}附近{name}"),
        Source::Video => format!("视频智能识别告警：疑似{name}"),
        Source::Sensor => format!("物联感知告警：{name}"),
        Source::Media => format!("媒体曝光：{place}附近{name}问题"),
        Source::Leader => format!("领导批示：请尽快处理{place}附近{name}问题"),
    }
}

fn one_case(
    p: &Prepared<'_>,
    opts: &Options,
    rng: &mut ChaCha8Rng,
    recent: &VecDeque<Recent>,
    at: DateTime<Utc>,
    source: Source,
    id_for: &mut impl FnMut(DateTime<Utc>) -> String,
) -> Result<(SimCase, usize), SimError> {
    let world = p.world;
    let target = if rng.random::<f64>() < duplicate_share(source) {
        let since = at - TimeDelta::days(3);
        let open_after = at + TimeDelta::hours(2);
        let candidates: Vec<&Recent> = recent
            .iter()
            .filter(|r| {
                r.real
                    && r.reported_at >= since
                    && r.reported_at < at
                    && r.closed_at.is_none_or(|c| c > open_after)
            })
            .collect();
        if candidates.is_empty() {
            None
        } else {
            Some(*pick(rng, &candidates))
        }
    } else {
        None
    };
    let (grid, cond_index) = match target {
        Some(t) => (t.grid, t.cond),
        None => {
            let date = (at + TimeDelta::hours(8)).date_naive();
            (
                pick_cumulative(rng, &p.grid_cum),
                pick_cumulative(rng, p.month_conditions(date)),
            )
        }
    };
    let g = &world.grids[grid];
    let cond = &world.conditions[cond_index];
    let place = if g.community_code.is_empty() {
        g.street_code.as_str()
    } else {
        g.community_code.as_str()
    };

    // Within ~50 m of the grid's centre, uniformly over the disc.
    let r = 50.0 * rng.random::<f64>().sqrt();
    let theta = std::f64::consts::TAU * rng.random::<f64>();
    let lat = g.lat + r * theta.cos() / 111_320.0;
    let lon = g.lon + r * theta.sin() / (111_320.0 * g.lat.to_radians().cos().max(0.01));

    let reported_class = match source {
        Source::Inspector => true,
        Source::Public | Source::Video | Source::Sensor => rng.random::<f64>() < 0.85,
        Source::Hotline | Source::Media | Source::Leader => rng.random::<f64>() < 0.35,
    }
    .then(|| cond.class.clone());

    let id = id_for(at);
    let opener = match source {
        Source::Inspector => {
            let pool = &p.grid_inspectors[grid];
            let i = if rng.random::<f64>() < 0.85 {
                pool[0]
            } else {
                *pick(rng, pool)
            };
            &p.inspectors[i]
        }
        Source::Public | Source::Video | Source::Sensor => &p.system,
        Source::Hotline | Source::Media => pick(rng, &p.acceptors),
        // Without leaders the channel has no weight; an acceptor may record an instruction too.
        Source::Leader if p.leaders.is_empty() => pick(rng, &p.acceptors),
        Source::Leader => pick(rng, &p.leaders),
    };
    let new = NewCase {
        id: id.clone(),
        source,
        description: description(p, source, cond, place),
    };
    let opened = open(new, opener, at).map_err(|error| SimError::Transition {
        case_id: id.clone(),
        error,
    })?;
    let mut life = Life {
        p,
        rng,
        now: opts.now,
        case: opened.case,
        events: vec![opened.event],
        grid,
        cond,
    };
    let merge = target.map(|t| (t.id.clone(), t.closed_at));
    match life.live(merge) {
        Ok(()) | Err(Halt::Now) => {}
        Err(Halt::Fail(e)) => return Err(e),
    }
    Ok((
        SimCase {
            case: life.case,
            events: life.events,
            grid,
            lon,
            lat,
            reported_class,
            address_hint: format!("{place} 附近"),
        },
        cond_index,
    ))
}

/// One case being driven through the state machine.
struct Life<'a, 'w> {
    p: &'a Prepared<'w>,
    rng: &'a mut ChaCha8Rng,
    now: DateTime<Utc>,
    case: Case,
    events: Vec<Event>,
    grid: usize,
    cond: &'a SimCondition,
}

fn scaled(d: TimeDelta, f: f64) -> TimeDelta {
    TimeDelta::seconds((d.num_seconds() as f64 * f).round() as i64)
}

fn nominal_minutes(unit: TimeUnit, value: u32) -> f64 {
    let v = f64::from(value);
    match unit {
        TimeUnit::WorkingMinutes => v,
        TimeUnit::WorkingHours | TimeUnit::CalendarHours => v * 60.0,
        TimeUnit::WorkingDays => v * 480.0,
        TimeUnit::CalendarDays => v * 1440.0,
    }
}

impl<'a> Life<'a, '_> {
    fn chance(&mut self, p: f64) -> bool {
        self.rng.random::<f64>() < p
    }

    fn uni(&mut self, a: f64, b: f64) -> f64 {
        uniform(self.rng, a, b)
    }

    fn text(&mut self, items: &[&str]) -> String {
        pick_text(self.rng, items)
    }

    fn photos(&mut self) -> Vec<String> {
        photos(self.rng)
    }

    /// Applies an action no earlier than the case's latest event; stops at `now`.
    fn act(&mut self, actor: &Actor, action: Action, at: DateTime<Utc>) -> Result<(), Halt> {
        let at = at.max(self.case.updated_at);
        if at > self.now {
            return Err(Halt::Now);
        }
        let t = apply(&self.case, actor, action, at).map_err(|error| {
            Halt::Fail(SimError::Transition {
                case_id: self.case.id.clone(),
                error,
            })
        })?;
        self.case = t.case;
        self.events.push(t.event);
        Ok(())
    }

    fn last(&self) -> DateTime<Utc> {
        self.case.updated_at
    }

    fn seconds(minutes: f64) -> TimeDelta {
        TimeDelta::seconds((minutes * 60.0).round() as i64)
    }

    /// `minutes` of working time after `t`.
    fn work_after(&self, t: DateTime<Utc>, minutes: f64) -> Result<DateTime<Utc>, Halt> {
        Ok(self
            .p
            .world
            .calendar
            .add_working_time(t, Self::seconds(minutes.max(0.0)))?
            .at)
    }

    fn next_working(&self, t: DateTime<Utc>) -> Result<DateTime<Utc>, Halt> {
        Ok(self.p.world.calendar.next_working_instant(t)?.at)
    }

    /// When the centre acts after the latest event: minutes later in working time, at once
    /// by the night shift for some out-of-hours events, else early in the next working period.
    fn centre(&mut self, mean_minutes: f64) -> Result<DateTime<Utc>, Halt> {
        let t = self.last();
        let u = self.rng.random::<f64>();
        let minutes = (-mean_minutes * (1.0 - u).ln()).min(mean_minutes * 5.0) + 1.0;
        if self.p.world.calendar.is_working_instant(t)? || self.chance(P_NIGHT_SHIFT) {
            Ok(t + Self::seconds(minutes))
        } else {
            self.work_after(t, minutes)
        }
    }

    fn inspector(&mut self) -> &'a Actor {
        let p = self.p;
        let pool = &p.grid_inspectors[self.grid];
        let i = if self.chance(0.8) {
            pool[0]
        } else {
            *pick(self.rng, pool)
        };
        &p.inspectors[i]
    }

    fn acceptor(&mut self) -> &'a Actor {
        pick(self.rng, &self.p.acceptors)
    }

    fn shift_leader(&mut self) -> &'a Actor {
        pick(self.rng, &self.p.shift_leaders)
    }

    fn dispatcher(&mut self) -> &'a Actor {
        pick(self.rng, &self.p.dispatchers)
    }

    /// A handler of the department, if it has any.
    fn handler_of(&mut self, department: &str) -> Option<&'a Actor> {
        let p = self.p;
        let pool = p.handlers.get(department)?;
        (!pool.is_empty()).then(|| pick(self.rng, pool))
    }

    /// A handler of the sub-unit if the case is sub-dispatched and it has handlers, else of the
    /// lead department.
    fn assigned_handler(&mut self) -> Result<&'a Actor, Halt> {
        if let Some(sub) = self.case.sub_unit.clone()
            && let Some(h) = self.handler_of(&sub)
        {
            return Ok(h);
        }
        let lead = self.case.lead_department.clone().unwrap_or_default();
        self.handler_of(&lead).ok_or_else(|| {
            Halt::Fail(SimError::World(format!(
                "department `{lead}` has no handlers"
            )))
        })
    }

    fn other_department(&mut self, not: &str) -> Option<String> {
        let p = self.p;
        let others: Vec<&String> = p.departments.iter().filter(|d| *d != not).collect();
        (!others.is_empty()).then(|| (*pick(self.rng, &others)).clone())
    }

    // --- the disposal clock ---------------------------------------------------------------

    fn working_limit(&self) -> bool {
        self.cond.limit.unit().is_working_time()
    }

    /// Due time of the current disposal, as the application will compute it.
    fn due(&self) -> Result<DateTime<Utc>, Halt> {
        let w = self.p.world;
        Ok(
            step_clock(&self.case, &w.process, Some(self.cond.limit), &w.calendar)?
                .map_or(self.last(), |c| c.due),
        )
    }

    /// Minutes from `a` to `b` on the limit's clock.
    fn span(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Result<f64, Halt> {
        let d = if self.working_limit() {
            self.p.world.calendar.working_minutes_between(a, b)?.working
        } else {
            (b - a).max(TimeDelta::zero())
        };
        Ok(d.num_seconds() as f64 / 60.0)
    }

    /// `minutes` after `a` on the limit's clock.
    fn advance(&self, a: DateTime<Utc>, minutes: f64) -> Result<DateTime<Utc>, Halt> {
        if self.working_limit() {
            self.work_after(a, minutes)
        } else {
            Ok(a + Self::seconds(minutes.max(0.0)))
        }
    }

    /// When the department feeds back, starting from `cursor` with the clock due at `due`.
    fn finish(
        &mut self,
        cursor: DateTime<Utc>,
        due: DateTime<Utc>,
        overdue: bool,
    ) -> Result<DateTime<Utc>, Halt> {
        let span = self.span(cursor, due)?;
        if overdue || span < 2.0 {
            let nominal = nominal_minutes(self.cond.limit.unit(), self.cond.limit.value());
            let over = (nominal * self.uni(0.05, 0.7)).clamp(15.0, 4800.0);
            self.advance(cursor.max(due), over)
        } else {
            // Most problems are fixed well within the limit; a few close to it.
            let f = 0.03 + 0.94 * self.rng.random::<f64>().powf(1.3);
            let minutes = (span * f).clamp(1.0, span - 1.0);
            self.advance(cursor, minutes)
        }
    }

    /// When the shift leader decides a department's request: `lo..hi` working minutes after
    /// it, but before the disposal falls due when that is still possible (the clock runs until
    /// the decision).
    fn approval(&mut self, due: DateTime<Utc>, lo: f64, hi: f64) -> Result<DateTime<Utc>, Halt> {
        let requested = self.last();
        let wait = self.uni(lo, hi);
        let at = self.work_after(requested, wait)?;
        if at < due {
            return Ok(at);
        }
        let left = self.span(requested, due)?;
        if left < 2.0 {
            return Ok(at);
        }
        let frac = self.uni(0.2, 0.9);
        self.advance(requested, left * frac)
    }

    fn extension_minutes(&mut self) -> u32 {
        match self.cond.limit.unit() {
            TimeUnit::WorkingDays | TimeUnit::CalendarDays => 480 * self.rng.random_range(1..=5),
            _ => 60 * self.rng.random_range(2..=8),
        }
    }

    // --- the story ------------------------------------------------------------------------

    fn live(&mut self, merge: Option<(String, Option<DateTime<Utc>>)>) -> Result<(), Halt> {
        let source = self.case.source;
        if self.case.step == Step::Verifying {
            let inspector = self.inspector();
            let minutes = if self.chance(P_LATE_VERIFY) {
                self.uni(60.0, 150.0)
            } else {
                self.uni(5.0, 55.0)
            };
            let at = self.work_after(self.last(), minutes)?;
            if self.chance(not_confirmed_share(source)) {
                let note = self.text(text::VERIFY_NOT_FOUND);
                self.act(
                    inspector,
                    Action::Verify {
                        confirmed: false,
                        note,
                    },
                    at,
                )?;
                let at = self.centre(8.0)?;
                let acceptor = self.acceptor();
                let reason = self.text(text::DECLINE);
                return self.act(acceptor, Action::Decline { reason }, at);
            }
            let note = self.text(text::VERIFY_OK);
            self.act(
                inspector,
                Action::Verify {
                    confirmed: true,
                    note,
                },
                at,
            )?;
        }

        let at = self.centre(6.0)?;
        let acceptor = self.acceptor();
        if let Some((into_case, closed_at)) = merge
            && closed_at.is_none_or(|c| c > at)
        {
            return self.act(acceptor, Action::Merge { into_case }, at);
        }
        self.act(acceptor, Action::Accept, at)?;

        let at = self.centre(10.0)?;
        let leader = self.shift_leader();
        let r = self.rng.random::<f64>();
        if r < P_REJECT {
            let reason = self.text(text::REJECT);
            return self.act(leader, Action::Reject { reason }, at);
        }
        if r < P_REJECT + P_VOID {
            let reason = self.text(text::VOID);
            return self.act(leader, Action::Void { reason }, at);
        }
        self.act(
            leader,
            Action::File {
                class: self.cond.class.clone(),
                condition: self.cond.condition.clone(),
                rule_set_id: self.p.world.rule_set_id,
            },
            at,
        )?;

        self.handle(true)?;

        if self.chance(P_REOPEN) {
            let days = self.uni(1.0, 20.0);
            let minutes = self.uni(0.0, 240.0);
            let at = self.work_after(self.last() + Self::seconds(days * 1440.0), minutes)?;
            let leader = self.shift_leader();
            let reason = self.text(text::REOPEN);
            self.act(leader, Action::Reopen { reason }, at)?;
            self.handle(false)?;
        }
        Ok(())
    }

    /// From Dispatching to Closed.
    fn handle(&mut self, first: bool) -> Result<(), Halt> {
        let right = self.cond.department.clone();
        let at = self.centre(12.0)?;
        let dispatcher = self.dispatcher();
        let wrong = if first && self.chance(P_WRONG_DEPARTMENT) {
            self.other_department(&right)
        } else {
            None
        };
        if let Some(wrong) = wrong {
            self.act(
                dispatcher,
                Action::Dispatch {
                    department: wrong.clone(),
                    assisting: Vec::new(),
                },
                at,
            )?;
            let minutes = self.uni(30.0, 240.0);
            let at = self.work_after(self.last(), minutes)?;
            let handler = self.assigned_handler()?;
            let reason = self.text(text::RETURN);
            self.act(handler, Action::RequestReturn { reason }, at)?;
            let at = self.centre(40.0)?;
            let leader = self.shift_leader();
            if self.chance(P_REFUSE_RETURN) {
                let reason = self.text(text::REFUSE_RETURN);
                self.act(leader, Action::RefuseReturn { reason }, at)?;
            } else {
                self.act(leader, Action::ApproveReturn, at)?;
                let at = self.centre(12.0)?;
                let dispatcher = self.dispatcher();
                self.act(
                    dispatcher,
                    Action::Dispatch {
                        department: right,
                        assisting: Vec::new(),
                    },
                    at,
                )?;
            }
        } else {
            let assisting = if self.chance(P_ASSISTING) {
                self.other_department(&right).into_iter().collect()
            } else {
                Vec::new()
            };
            self.act(
                dispatcher,
                Action::Dispatch {
                    department: right,
                    assisting,
                },
                at,
            )?;
        }

        self.dispose(first)?;

        let mut fails = 0;
        loop {
            let inspector = self.inspector();
            let minutes = if self.chance(P_LATE_CHECK) {
                self.uni(120.0, 360.0)
            } else {
                self.uni(15.0, 110.0)
            };
            let at = self.work_after(self.last(), minutes)?;
            let p_fail = if fails == 0 { P_REWORK } else { P_REWORK_AGAIN };
            if fails < 2 && self.chance(p_fail) {
                let reason = self.text(text::CHECK_FAIL);
                let photos = self.photos();
                self.act(inspector, Action::CheckFail { reason, photos }, at)?;
                fails += 1;
                // The disposal clock kept running: rework is often late.
                let cursor = self.last();
                let due = self.due()?;
                let late = self.chance(P_REWORK_LATE);
                let at = self.finish(cursor, due, late)?;
                let handler = self.assigned_handler()?;
                let note = self.text(text::REFEEDBACK);
                let photos = self.photos();
                self.act(handler, Action::Feedback { note, photos }, at)?;
                continue;
            }
            let note = self.text(text::CHECK_PASS);
            let photos = self.photos();
            self.act(inspector, Action::CheckPass { note, photos }, at)?;
            break;
        }

        let at = self.centre(15.0)?;
        let leader = self.shift_leader();
        self.act(leader, Action::Close, at)
    }

    /// From the dispatch to the department's feedback.
    fn dispose(&mut self, first: bool) -> Result<(), Halt> {
        let lead = self.case.lead_department.clone().unwrap_or_default();
        let p = self.p;
        if let Some(subs) = p.sub_units.get(&lead)
            && !subs.is_empty()
            && self.chance(P_SUB_DISPATCH)
        {
            let sub = pick(self.rng, subs).clone();
            let minutes = self.uni(5.0, 60.0);
            let at = self.work_after(self.last(), minutes)?;
            let handler = self.assigned_handler()?;
            self.act(handler, Action::SubDispatch { sub_unit: sub }, at)?;
        }
        let handler = self.assigned_handler()?;

        let mut p_overdue = P_OVERDUE;
        let nominal = nominal_minutes(self.cond.limit.unit(), self.cond.limit.value());
        let park_ok = self.working_limit() && nominal >= 480.0;
        let defer_ok = self.working_limit() && nominal >= 240.0;
        let r = if first { self.rng.random::<f64>() } else { 1.0 };
        let parks = (P_EXTENSION..P_EXTENSION + P_PARK).contains(&r) && park_ok;
        let defers =
            (P_EXTENSION + P_PARK..P_EXTENSION + P_PARK + P_DEFER).contains(&r) && defer_ok;
        if r < P_EXTENSION {
            let cursor = self.last();
            let due = self.due()?;
            let span = self.span(cursor, due)?;
            let frac = self.uni(0.4, 0.85);
            let at = self.advance(cursor, span * frac)?;
            let minutes = self.extension_minutes();
            let reason = self.text(text::EXTENSION);
            self.act(handler, Action::RequestExtension { minutes, reason }, at)?;
            let at = self.approval(due, 20.0, 240.0)?;
            let leader = self.shift_leader();
            if self.chance(P_EXTENSION_APPROVED) {
                let granted = if self.chance(0.2) {
                    (minutes / 2).max(1)
                } else {
                    minutes
                };
                self.act(leader, Action::ApproveExtension { minutes: granted }, at)?;
                p_overdue = P_OVERDUE_AFTER_EXTENSION;
            } else {
                let reason = self.text(text::REJECT_EXTENSION);
                self.act(leader, Action::RejectExtension { reason }, at)?;
                p_overdue = P_OVERDUE_EXTENSION_REFUSED;
            }
        } else if parks {
            let cursor = self.last();
            let due = self.due()?;
            let span = self.span(cursor, due)?;
            let frac = self.uni(0.1, 0.6);
            let at = self.advance(cursor, span * frac)?;
            let reason = self.text(text::PARK);
            self.act(handler, Action::RequestPark { reason }, at)?;
            let at = self.approval(due, 30.0, 600.0)?;
            let leader = self.shift_leader();
            self.act(leader, Action::ApprovePark, at)?;
            let days = self.uni(14.0, 80.0);
            let minutes = self.uni(0.0, 300.0);
            let at = self.work_after(self.last() + Self::seconds(days * 1440.0), minutes)?;
            let leader = self.shift_leader();
            self.act(leader, Action::Unpark, at)?;
        } else if defers {
            let cursor = self.last();
            let due = self.due()?;
            let span = self.span(cursor, due)?;
            let frac = self.uni(0.05, 0.5);
            let at = self.next_working(self.advance(cursor, span * frac)?)?;
            let leader = self.shift_leader();
            let reason = self.text(text::DEFER);
            self.act(leader, Action::Defer { reason }, at)?;
            let days = self.uni(2.0, 15.0);
            let minutes = self.uni(0.0, 300.0);
            let at = self.work_after(self.last() + Self::seconds(days * 1440.0), minutes)?;
            let leader = self.shift_leader();
            self.act(leader, Action::Resume, at)?;
        }

        let cursor = self.last();
        let due = self.due()?;
        let overdue = self.chance(p_overdue);
        let finish = self.finish(cursor, due, overdue)?;

        // Oversight while the department works: supervision and reminders, in time order.
        let mut side: Vec<(DateTime<Utc>, &'a Actor, Action)> = Vec::new();
        if first && !p.leaders.is_empty() && self.chance(P_SUPERVISE) {
            let frac = self.uni(0.05, 0.6);
            let s = self.next_working(cursor + scaled(finish - cursor, frac))?;
            if s < finish {
                let days = self.rng.random_range(2..=5);
                let due = self.p.world.calendar.add_working_days(s, days)?.at;
                let leader = pick(self.rng, &p.leaders);
                let note = self.text(text::SUPERVISE);
                side.push((s, leader, Action::Supervise { due, note }));
            }
        }
        if finish > due && self.chance(P_REMINDED_WHEN_OVERDUE) {
            let n = 1 + usize::from(self.chance(0.35)) + usize::from(self.chance(0.15));
            for _ in 0..n {
                let frac = self.uni(0.05, 0.95);
                let t = due + scaled(finish - due, frac);
                let t = self.next_working(t)?;
                if t < finish {
                    let dispatcher = self.dispatcher();
                    let note = self.text(text::REMIND);
                    side.push((t, dispatcher, Action::Remind { note }));
                }
            }
        }
        side.sort_by_key(|s| s.0);
        for (t, actor, action) in side {
            self.act(actor, action, t)?;
        }

        let note = self.text(text::FEEDBACK);
        let photos = self.photos();
        self.act(handler, Action::Feedback { note, photos }, finish)
    }
}
