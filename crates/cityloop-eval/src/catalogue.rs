//! What can be evaluated: object kinds, the integer counters every indicator is built from, and the
//! indicator catalogue (figures and the scores the scheme may weight).
//!
//! Every indicator is a count or a ratio of two counters, so an evaluation over any period is a
//! function of summed counters only. That is what makes day rollups exact (see [`crate::rollup`]).

use std::fmt;

use serde::{Deserialize, Serialize};

/// Who or what is evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    /// 监督员 (user id).
    Inspector,
    /// 受理员 (user id).
    Acceptor,
    /// 值班长 (user id).
    ShiftLeader,
    /// 派遣员 (user id).
    Dispatcher,
    /// 专业部门: the lead department a case was dispatched to (department code).
    Department,
    /// A department's sub-unit the case was sub-dispatched to (department code).
    SubUnit,
    /// 街道 (area code).
    Street,
    /// 社区 (area code).
    Community,
    /// 单元网格 (grid code).
    Grid,
}

impl ObjectKind {
    pub const ALL: [ObjectKind; 9] = [
        ObjectKind::Inspector,
        ObjectKind::Acceptor,
        ObjectKind::ShiftLeader,
        ObjectKind::Dispatcher,
        ObjectKind::Department,
        ObjectKind::SubUnit,
        ObjectKind::Street,
        ObjectKind::Community,
        ObjectKind::Grid,
    ];

    /// The scheme section whose weights score this kind: sub-units are scored like departments and
    /// every area level like a region.
    pub fn scheme_kind(self) -> SchemeKind {
        match self {
            ObjectKind::Inspector => SchemeKind::Inspector,
            ObjectKind::Acceptor => SchemeKind::Acceptor,
            ObjectKind::ShiftLeader => SchemeKind::ShiftLeader,
            ObjectKind::Dispatcher => SchemeKind::Dispatcher,
            ObjectKind::Department | ObjectKind::SubUnit => SchemeKind::Department,
            ObjectKind::Street | ObjectKind::Community | ObjectKind::Grid => SchemeKind::Region,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            ObjectKind::Inspector => "inspector",
            ObjectKind::Acceptor => "acceptor",
            ObjectKind::ShiftLeader => "shift_leader",
            ObjectKind::Dispatcher => "dispatcher",
            ObjectKind::Department => "department",
            ObjectKind::SubUnit => "sub_unit",
            ObjectKind::Street => "street",
            ObjectKind::Community => "community",
            ObjectKind::Grid => "grid",
        }
    }
}

/// One evaluated object: a person in one role, a department, or an area.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObjectRef {
    pub kind: ObjectKind,
    /// User id (decimal) for people, department code, or area/grid code.
    pub id: String,
}

impl ObjectRef {
    pub fn new(kind: ObjectKind, id: impl Into<String>) -> Self {
        ObjectRef {
            kind,
            id: id.into(),
        }
    }

    pub fn person(kind: ObjectKind, user_id: i64) -> Self {
        ObjectRef::new(kind, user_id.to_string())
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind.code(), self.id)
    }
}

/// The sections of an [`crate::EvaluationScheme`] that carry weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchemeKind {
    Inspector,
    Acceptor,
    ShiftLeader,
    Dispatcher,
    Department,
    Region,
}

impl SchemeKind {
    pub const ALL: [SchemeKind; 6] = [
        SchemeKind::Inspector,
        SchemeKind::Acceptor,
        SchemeKind::ShiftLeader,
        SchemeKind::Dispatcher,
        SchemeKind::Department,
        SchemeKind::Region,
    ];

    /// The TOML table holding this kind's weights, as written in `defaults.toml`.
    pub fn table(self) -> &'static str {
        match self {
            SchemeKind::Inspector => "position.inspector.weights",
            SchemeKind::Acceptor => "position.acceptor.weights",
            SchemeKind::ShiftLeader => "position.shift_leader.weights",
            SchemeKind::Dispatcher => "position.dispatcher.weights",
            SchemeKind::Department => "department.weights",
            SchemeKind::Region => "region.weights",
        }
    }
}

impl fmt::Display for SchemeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.table())
    }
}

macro_rules! counters {
    ($($(#[doc = $doc:literal])* $name:ident = $code:literal,)*) => {
        /// Integer counters credited per case, per object and per instant. Each credit is +1.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Counter {
            $($(#[doc = $doc])* $name,)*
        }

        impl Counter {
            pub const ALL: [Counter; counters!(@count $($name)*)] = [$(Counter::$name,)*];
            pub const COUNT: usize = Counter::ALL.len();

            /// Stable column name for storage.
            pub fn code(self) -> &'static str {
                match self {
                    $(Counter::$name => $code,)*
                }
            }

            pub fn index(self) -> usize {
                self as usize
            }

            /// The counter with this storage code.
            pub fn from_code(code: &str) -> Option<Counter> {
                match code {
                    $($code => Some(Counter::$name),)*
                    _ => None,
                }
            }
        }
    };
    (@count) => { 0 };
    (@count $head:ident $($tail:ident)*) => { 1 + counters!(@count $($tail)*) };
}

counters! {
    /// 监督员上报数: the inspector opened the case (at the Opened event).
    Reports = "reports",
    /// An inspector report was decided: filed, declined, rejected, voided or merged (at the decision).
    ReportsDecided = "reports_decided",
    /// … and the decision was 立案 (有效上报).
    ReportsValid = "reports_valid",
    /// A verification with a limit was done (应核实数, at the Verify event).
    VerifyTimed = "verify_timed",
    /// … within the limit (按时核实数).
    VerifyOnTime = "verify_on_time",
    /// A check with a limit was done (应核查数, at CheckPass/CheckFail).
    CheckTimed = "check_timed",
    /// … within the limit (按时核查数).
    CheckOnTime = "check_on_time",
    /// 受理数: Accept or Decline by an acceptor.
    Acceptances = "acceptances",
    /// … with a limit.
    AcceptTimed = "accept_timed",
    /// … within it (按时受理数).
    AcceptOnTime = "accept_on_time",
    /// 立案数 of a shift leader (File events).
    Filings = "filings",
    /// … with a limit.
    FilingTimed = "filing_timed",
    /// … within it (按时立案数).
    FilingOnTime = "filing_on_time",
    /// … not voided afterwards (准确立案数).
    FilingAccurate = "filing_accurate",
    /// 结案数 of a shift leader (Close events).
    Closings = "closings",
    /// … with a limit.
    CloseTimed = "close_timed",
    /// … within it (按时结案数).
    CloseOnTime = "close_on_time",
    /// 派遣数 (Dispatch events).
    Dispatches = "dispatches",
    /// … with a limit.
    DispatchTimed = "dispatch_timed",
    /// … within it (按时派遣数).
    DispatchOnTime = "dispatch_on_time",
    /// … whose department did not get a return approved (准确派遣数).
    DispatchAccurate = "dispatch_accurate",
    /// 立案数 of a department: dispatches to it that were not returned (at the dispatch).
    DeptFiled = "dept_filed",
    /// 应处置数 = 应结案数: assignments that fell due (see `DisposalFact::accountable`).
    DeptDue = "dept_due",
    /// 处置数: … that passed the check.
    DeptHandled = "dept_handled",
    /// 按期处置数: … handled within the limit.
    DeptOnTime = "dept_on_time",
    /// 超期处置数: … handled after the limit.
    DeptLate = "dept_late",
    /// 结案数: … whose case was then closed.
    DeptClosed = "dept_closed",
    /// 返工数: … that failed at least one check.
    DeptReworked = "dept_reworked",
    /// 延期数: approved extensions (at the approval).
    DeptExtensions = "dept_extensions",
    /// 回退数: approved returns (at the approval).
    DeptReturns = "dept_returns",
    /// 督办数: supervision orders while the case was assigned to the department.
    DeptSupervisions = "dept_supervisions",
    /// Area 立案数 net of parked cases (at the File event).
    AreaFiledNet = "area_filed_net",
    /// Area 挂账数: filed cases that were parked at some point (at the File event).
    AreaParked = "area_parked",
    /// 监督举报核实数: public/hotline/media reports confirmed on site (at the Verify event).
    AreaPublicVerified = "area_public_verified",
    /// Area 应结案数 (same rule as `DeptDue`).
    AreaDue = "area_due",
    /// Area 结案数.
    AreaClosed = "area_closed",
    /// Area 按期结案数: closed and handled within the disposal limit.
    AreaClosedOnTime = "area_closed_on_time",
}

/// How a figure is computed from counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Formula {
    Count(Counter),
    Rate {
        num: Counter,
        den: Counter,
    },
    /// Supplied by the caller (e.g. 漏报率 needs cases found by others in the inspector's area).
    External,
}

/// One reported figure of an object kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FigureDef {
    pub id: &'static str,
    pub name_zh: &'static str,
    pub formula: Formula,
}

/// How a weighted indicator is turned into a 0–100 score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scoring {
    /// `rate × 100`.
    Rate,
    /// "Lower is better": `(1 − rate) × 100`, clamped to 0–100.
    LowerRate,
    /// Banded count, band table named here.
    Band(&'static str),
    /// Region 立案数 per grid, banded with the class-1 or class-2 table of the area.
    RegionFiledBand,
    /// Defined by the standard but not measurable from cityloop's events; `hint` says why.
    NotDerivable(&'static str),
}

/// A weight key the scheme may use for an object kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScoreDef {
    /// The weight key in the scheme (as in `defaults.toml`).
    pub key: &'static str,
    /// The figure it scores (`""` for not-derivable ones).
    pub figure: &'static str,
    pub scoring: Scoring,
}

use Counter as C;
use Formula::{Count, External, Rate};

const fn fig(id: &'static str, name_zh: &'static str, formula: Formula) -> FigureDef {
    FigureDef {
        id,
        name_zh,
        formula,
    }
}

const fn score(key: &'static str, figure: &'static str, scoring: Scoring) -> ScoreDef {
    ScoreDef {
        key,
        figure,
        scoring,
    }
}

const fn rate(num: Counter, den: Counter) -> Formula {
    Rate { num, den }
}

const INSPECTOR_FIGURES: &[FigureDef] = &[
    fig("reports", "上报数", Count(C::Reports)),
    fig("decided_reports", "已判定上报数", Count(C::ReportsDecided)),
    fig("valid_reports", "有效上报数", Count(C::ReportsValid)),
    fig(
        "effective_report_rate",
        "有效上报率",
        rate(C::ReportsValid, C::ReportsDecided),
    ),
    fig(
        "on_time_verify_rate",
        "按时核实率",
        rate(C::VerifyOnTime, C::VerifyTimed),
    ),
    fig(
        "on_time_check_rate",
        "按时核查率",
        rate(C::CheckOnTime, C::CheckTimed),
    ),
    fig("missed_report_rate", "漏报率", External),
];

const ACCEPTOR_FIGURES: &[FigureDef] = &[
    fig("accepted", "受理数", Count(C::Acceptances)),
    fig(
        "on_time_accept_rate",
        "按时受理率",
        rate(C::AcceptOnTime, C::AcceptTimed),
    ),
];

const SHIFT_LEADER_FIGURES: &[FigureDef] = &[
    fig("filings", "立案数", Count(C::Filings)),
    fig(
        "on_time_filing_rate",
        "按时立案率",
        rate(C::FilingOnTime, C::FilingTimed),
    ),
    fig(
        "accurate_filing_rate",
        "准确立案率",
        rate(C::FilingAccurate, C::Filings),
    ),
    fig("closings", "结案数", Count(C::Closings)),
    fig(
        "on_time_closing_rate",
        "按时结案率",
        rate(C::CloseOnTime, C::CloseTimed),
    ),
];

const DISPATCHER_FIGURES: &[FigureDef] = &[
    fig("dispatches", "派遣数", Count(C::Dispatches)),
    fig(
        "on_time_dispatch_rate",
        "按时派遣率",
        rate(C::DispatchOnTime, C::DispatchTimed),
    ),
    fig(
        "accurate_dispatch_rate",
        "准确派遣率",
        rate(C::DispatchAccurate, C::Dispatches),
    ),
];

const DEPARTMENT_FIGURES: &[FigureDef] = &[
    fig("filed", "立案数", Count(C::DeptFiled)),
    fig("due", "应处置数", Count(C::DeptDue)),
    fig("handled", "处置数", Count(C::DeptHandled)),
    fig("disposal_rate", "处置率", rate(C::DeptHandled, C::DeptDue)),
    fig(
        "on_time_disposal_rate",
        "按期处置率",
        rate(C::DeptOnTime, C::DeptDue),
    ),
    fig("closing_rate", "结案率", rate(C::DeptClosed, C::DeptDue)),
    fig("rework_rate", "返工率", rate(C::DeptReworked, C::DeptDue)),
    fig("overdue_disposals", "超期处置数", Count(C::DeptLate)),
    fig("extensions", "延期数", Count(C::DeptExtensions)),
    fig("returns", "回退数", Count(C::DeptReturns)),
    fig("supervisions", "督办数", Count(C::DeptSupervisions)),
    // Reporters' 回访 answers: satisfied (fixed and rated at or above the city's threshold) over
    // rated; supplied by the caller from the follow-up records.
    fig("satisfaction_rate", "满意率", External),
];

const REGION_FIGURES: &[FigureDef] = &[
    fig("filed", "立案数(扣除挂账)", Count(C::AreaFiledNet)),
    fig("parked", "挂账数", Count(C::AreaParked)),
    fig(
        "public_verified",
        "监督举报核实数",
        Count(C::AreaPublicVerified),
    ),
    fig(
        "public_report_rate",
        "监督举报率",
        rate(C::AreaPublicVerified, C::AreaFiledNet),
    ),
    fig("due", "应结案数", Count(C::AreaDue)),
    fig("closed", "结案数", Count(C::AreaClosed)),
    fig("closing_rate", "结案率", rate(C::AreaClosed, C::AreaDue)),
    fig(
        "on_time_closing_rate",
        "按期结案率",
        rate(C::AreaClosedOnTime, C::AreaDue),
    ),
    fig("satisfaction_rate", "满意率", External),
];

const AUTO_ASSIGNED: &str = "cityloop assigns verification and check tasks to the grid's inspector \
     automatically when the case enters 核实/核查, so no acceptor dispatches them and there is nothing \
     to time; weight on_time_accept_rate (按时受理率) instead";

const INSPECTOR_SCORES: &[ScoreDef] = &[
    score(
        "effective_report_rate",
        "effective_report_rate",
        Scoring::Rate,
    ),
    score(
        "missed_report_rate",
        "missed_report_rate",
        Scoring::LowerRate,
    ),
    score("on_time_verify_rate", "on_time_verify_rate", Scoring::Rate),
    score("on_time_check_rate", "on_time_check_rate", Scoring::Rate),
];

const ACCEPTOR_SCORES: &[ScoreDef] = &[
    score(
        "accepted_count_band",
        "accepted",
        Scoring::Band("position_volume"),
    ),
    score("on_time_accept_rate", "on_time_accept_rate", Scoring::Rate),
    score(
        "verify_dispatch_on_time",
        "",
        Scoring::NotDerivable(AUTO_ASSIGNED),
    ),
    score(
        "check_dispatch_on_time",
        "",
        Scoring::NotDerivable(AUTO_ASSIGNED),
    ),
];

const SHIFT_LEADER_SCORES: &[ScoreDef] = &[
    score("on_time_filing_rate", "on_time_filing_rate", Scoring::Rate),
    score(
        "accurate_filing_rate",
        "accurate_filing_rate",
        Scoring::Rate,
    ),
    score(
        "on_time_closing_rate",
        "on_time_closing_rate",
        Scoring::Rate,
    ),
];

const DISPATCHER_SCORES: &[ScoreDef] = &[
    score(
        "dispatched_count_band",
        "dispatches",
        Scoring::Band("position_volume"),
    ),
    score(
        "on_time_dispatch_rate",
        "on_time_dispatch_rate",
        Scoring::Rate,
    ),
    score(
        "accurate_dispatch_rate",
        "accurate_dispatch_rate",
        Scoring::Rate,
    ),
];

const DEPARTMENT_SCORES: &[ScoreDef] = &[
    score(
        "filed_count_band",
        "filed",
        Scoring::Band("department_filed"),
    ),
    score("closing_rate", "closing_rate", Scoring::Rate),
    score(
        "on_time_disposal_rate",
        "on_time_disposal_rate",
        Scoring::Rate,
    ),
    score("rework_rate", "rework_rate", Scoring::LowerRate),
    // Not in defaults.toml but defined here, so a city may weight them.
    score("disposal_rate", "disposal_rate", Scoring::Rate),
    score("satisfaction_rate", "satisfaction_rate", Scoring::Rate),
];

const REGION_SCORES: &[ScoreDef] = &[
    score(
        "public_report_rate",
        "public_report_rate",
        Scoring::LowerRate,
    ),
    score("filed_count_band", "filed", Scoring::RegionFiledBand),
    score("closing_rate", "closing_rate", Scoring::Rate),
    score(
        "on_time_closing_rate",
        "on_time_closing_rate",
        Scoring::Rate,
    ),
    // Not in defaults.toml; a city may weight it.
    score("satisfaction_rate", "satisfaction_rate", Scoring::Rate),
];

/// Band tables the scheme may define.
pub const BAND_TABLES: [&str; 4] = [
    "position_volume",
    "department_filed",
    "region_class1_filed",
    "region_class2_filed",
];

/// Figures reported for objects of this scheme kind.
pub fn figures(kind: SchemeKind) -> &'static [FigureDef] {
    match kind {
        SchemeKind::Inspector => INSPECTOR_FIGURES,
        SchemeKind::Acceptor => ACCEPTOR_FIGURES,
        SchemeKind::ShiftLeader => SHIFT_LEADER_FIGURES,
        SchemeKind::Dispatcher => DISPATCHER_FIGURES,
        SchemeKind::Department => DEPARTMENT_FIGURES,
        SchemeKind::Region => REGION_FIGURES,
    }
}

/// Weight keys the scheme may use for this kind.
pub fn scores(kind: SchemeKind) -> &'static [ScoreDef] {
    match kind {
        SchemeKind::Inspector => INSPECTOR_SCORES,
        SchemeKind::Acceptor => ACCEPTOR_SCORES,
        SchemeKind::ShiftLeader => SHIFT_LEADER_SCORES,
        SchemeKind::Dispatcher => DISPATCHER_SCORES,
        SchemeKind::Department => DEPARTMENT_SCORES,
        SchemeKind::Region => REGION_SCORES,
    }
}
