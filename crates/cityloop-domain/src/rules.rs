//! Filing and closing rules (立案、处置与结案标准) and process time limits, as versioned data.
//!
//! A rule set holds, per minor class, any number of filing conditions (立案条件); each fixes the
//! disposal time limit (处置时限), the closing condition (结案条件), the default responsible department
//! and optionally the area class (一类/二类区域) it applies to. It also holds the time limit of every
//! centre-side step of the loop and the responsibility matrix. A published rule set is immutable; a
//! case keeps the rule set it was filed under.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::{CalendarError, Deadline, TimeLimit, TimeUnit, WorkCalendar};
use crate::error::FieldError;
use crate::responsibility::MatrixEntry;
use crate::taxonomy::{ClassKind, ClassRef, TaxonomyClass};

/// Demo rows from two cities (see the README beside it); never national values.
pub const SAMPLE_RULES_CSV: &str = include_str!("../data/filing-rules-sample.csv");

/// 一类区域 / 二类区域: cities often give central areas shorter limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AreaClass {
    First,
    Second,
}

impl AreaClass {
    pub fn name_zh(self) -> &'static str {
        match self {
            AreaClass::First => "一类区域",
            AreaClass::Second => "二类区域",
        }
    }
}

impl FromStr for AreaClass {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "一类" | "一类区域" | "1" | "first" | "I" => Ok(AreaClass::First),
            "二类" | "二类区域" | "2" | "second" | "II" => Ok(AreaClass::Second),
            other => Err(FieldError::new(
                "area_class",
                format!("`{other}` is neither 一类区域 nor 二类区域"),
            )),
        }
    }
}

/// One filing condition of a minor class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilingCondition {
    pub class: ClassRef,
    /// 立案条件
    pub condition: String,
    /// 处置时限; calendar units mean an urgent limit that runs continuously.
    pub limit: TimeLimit,
    /// 结案条件
    pub closing: String,
    /// Default responsible department (code).
    pub department: Option<String>,
    /// Applies only in this area class; `None` applies everywhere.
    pub area_class: Option<AreaClass>,
    /// 备注
    pub note: String,
}

impl FilingCondition {
    /// The identity of a condition within a rule set: class, normalised text and area class.
    pub fn key(&self) -> ConditionKey {
        ConditionKey {
            class: self.class,
            condition: normalise(&self.condition),
            area_class: self.area_class,
        }
    }

    /// True for limits that run continuously (calendar hours/days), i.e. urgent cases.
    pub fn is_urgent(&self) -> bool {
        !self.limit.unit().is_working_time()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ConditionKey {
    pub class: ClassRef,
    pub condition: String,
    pub area_class: Option<AreaClass>,
}

impl ConditionKey {
    /// The key of a condition named by its parts; the text is compared normalised.
    pub fn new(class: ClassRef, condition: &str, area_class: Option<AreaClass>) -> Self {
        ConditionKey {
            class,
            condition: normalise(condition),
            area_class,
        }
    }
}

impl fmt::Display for ConditionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.class, self.condition)?;
        if let Some(a) = self.area_class {
            write!(f, " ({})", a.name_zh())?;
        }
        Ok(())
    }
}

/// Whitespace-insensitive, full-width-insensitive form used to detect duplicate conditions.
pub fn normalise(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            c => c,
        })
        .collect()
}

/// The centre-side steps of the loop that have their own time limit (环节时限).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// 受理
    Accept,
    /// 核实 (on-site verification of a public report)
    Verify,
    /// 立案
    File,
    /// 派遣
    Dispatch,
    /// 核查 (on-site check after disposal)
    Check,
    /// 结案
    Close,
    /// 回退审核
    ReturnReview,
    /// 延期审批
    ExtensionApproval,
    /// 挂账审批
    ParkApproval,
}

impl Step {
    pub const ALL: [Step; 9] = [
        Step::Accept,
        Step::Verify,
        Step::File,
        Step::Dispatch,
        Step::Check,
        Step::Close,
        Step::ReturnReview,
        Step::ExtensionApproval,
        Step::ParkApproval,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Step::Accept => "accept",
            Step::Verify => "verify",
            Step::File => "file",
            Step::Dispatch => "dispatch",
            Step::Check => "check",
            Step::Close => "close",
            Step::ReturnReview => "return_review",
            Step::ExtensionApproval => "extension_approval",
            Step::ParkApproval => "park_approval",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Step::Accept => "受理",
            Step::Verify => "核实",
            Step::File => "立案",
            Step::Dispatch => "派遣",
            Step::Check => "核查",
            Step::Close => "结案",
            Step::ReturnReview => "回退审核",
            Step::ExtensionApproval => "延期审批",
            Step::ParkApproval => "挂账审批",
        }
    }
}

impl FromStr for Step {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Step::ALL
            .into_iter()
            .find(|st| st.as_str() == s.trim() || st.name_zh() == s.trim())
            .ok_or_else(|| FieldError::new("step", format!("unknown step `{s}`")))
    }
}

/// Time limits of the centre-side steps and the warning threshold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessLimits {
    pub limits: BTreeMap<Step, TimeLimit>,
    /// Warn when this share of a step's time limit has passed (percent, 1–99).
    pub warn_at_percent: u8,
}

impl Default for ProcessLimits {
    /// National values for the centre-side steps were not found in the standards; these are common
    /// practice and meant to be configured (domain-standards §6.4).
    fn default() -> Self {
        let wm = |v| TimeLimit::new(v, TimeUnit::WorkingMinutes);
        let wh = |v| TimeLimit::new(v, TimeUnit::WorkingHours);
        let wd = |v| TimeLimit::new(v, TimeUnit::WorkingDays);
        let limits = [
            (Step::Accept, wm(30)),
            (Step::Verify, wh(1)),
            (Step::File, wm(30)),
            (Step::Dispatch, wm(30)),
            (Step::Check, wh(2)),
            (Step::Close, wh(1)),
            (Step::ReturnReview, wh(2)),
            (Step::ExtensionApproval, wd(1)),
            (Step::ParkApproval, wd(2)),
        ]
        .into_iter()
        .filter_map(|(s, l)| l.ok().map(|l| (s, l)))
        .collect();
        ProcessLimits {
            limits,
            warn_at_percent: 80,
        }
    }
}

impl ProcessLimits {
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for step in Step::ALL {
            if !self.limits.contains_key(&step) {
                problems.push(format!(
                    "step {} ({}) has no time limit",
                    step.as_str(),
                    step.name_zh()
                ));
            }
        }
        if !(1..=99).contains(&self.warn_at_percent) {
            problems.push(format!(
                "warn_at_percent must be 1 to 99, got {}",
                self.warn_at_percent
            ));
        }
        problems
    }
}

/// When a step that started at `start` with limit `limit` enters its warning window: after
/// `percent` of its time has passed, measured on the same clock as the limit.
pub fn warning_instant(
    calendar: &WorkCalendar,
    start: DateTime<Utc>,
    limit: TimeLimit,
    percent: u8,
) -> Result<Deadline, CalendarError> {
    let due = limit.due(calendar, start)?;
    let pct = i64::from(percent.min(100));
    if limit.unit().is_working_time() {
        let total = calendar.working_minutes_between(start, due.at)?;
        let part = TimeDelta::milliseconds(total.working.num_milliseconds() * pct / 100);
        let at = calendar.add_working_time(start, part)?;
        Ok(Deadline {
            at: at.at,
            provisional: at.provisional || due.provisional,
        })
    } else {
        let total = due.at - start;
        Ok(Deadline {
            at: start + TimeDelta::milliseconds(total.num_milliseconds() * pct / 100),
            provisional: due.provisional,
        })
    }
}

/// The content of one version of the rules.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RuleSetContent {
    pub conditions: Vec<FilingCondition>,
    pub process: ProcessLimits,
    pub matrix: Vec<MatrixEntry>,
}

impl RuleSetContent {
    /// Adds `fc`, or replaces the condition with the same key, or (with `replaces`) the condition
    /// with that key, at its place; returns the condition replaced. Two conditions cannot share a
    /// key: the filing desk could not tell which one applies.
    pub fn put_condition(
        &mut self,
        fc: FilingCondition,
        replaces: Option<&ConditionKey>,
    ) -> Result<Option<FilingCondition>, FieldError> {
        let key = fc.key();
        let old = replaces.unwrap_or(&key);
        let at = self.conditions.iter().position(|c| c.key() == *old);
        if replaces.is_some() && at.is_none() {
            return Err(FieldError::new(
                "replaces",
                format!("no condition {old} in this rule set"),
            ));
        }
        if let Some(clash) = self
            .conditions
            .iter()
            .enumerate()
            .find(|(i, c)| Some(*i) != at && c.key() == key)
        {
            return Err(FieldError::new(
                "condition",
                format!("duplicate of the condition {}", clash.1.key()),
            ));
        }
        Ok(match at {
            Some(i) => Some(std::mem::replace(&mut self.conditions[i], fc)),
            None => {
                // Kept in class order, as imports and exports list them.
                let i = self.conditions.partition_point(|c| c.class <= fc.class);
                self.conditions.insert(i, fc);
                None
            }
        })
    }

    /// Removes the condition with `key`, if there is one.
    pub fn remove_condition(&mut self, key: &ConditionKey) -> Option<FilingCondition> {
        let at = self.conditions.iter().position(|c| c.key() == *key)?;
        Some(self.conditions.remove(at))
    }
}

/// Checks one condition entered on its own (an editor rather than a table) against the taxonomy
/// and the organisation, and tidies it: trimmed text, the department by code. The error names
/// the field as the API does.
pub fn check_condition(
    mut fc: FilingCondition,
    classes: &[TaxonomyClass],
    departments: &[DepartmentName],
) -> Result<FilingCondition, FieldError> {
    match classes.iter().find(|c| c.class == fc.class) {
        None => {
            return Err(FieldError::new(
                "class",
                format!("unknown subclass {}", fc.class),
            ));
        }
        Some(c) if !c.enabled => {
            return Err(FieldError::new(
                "class",
                format!("subclass {} is disabled", fc.class),
            ));
        }
        Some(_) => {}
    }
    fc.condition = fc.condition.trim().to_owned();
    if fc.condition.is_empty() {
        return Err(FieldError::new(
            "condition",
            "the filing condition is empty",
        ));
    }
    fc.closing = fc.closing.trim().to_owned();
    fc.note = fc.note.trim().to_owned();
    fc.department = match fc.department.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(d) => match departments.iter().find(|x| x.code == d || x.name == d) {
            Some(x) => Some(x.code.clone()),
            None => {
                return Err(FieldError::new(
                    "department",
                    format!("no department `{d}`"),
                ));
            }
        },
    };
    Ok(fc)
}

/// One row of the tabular layout local centres use:
/// 大类代码 | 大类名称 | 小类代码 | 小类名称 | 责任单位 | 立案条件 | 处置时限 | 结案条件 | 备注
/// (plus the optional 类型 = 部件/事件 and 区域类别 columns).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleRow {
    /// Where the row came from (sheet and line), for error messages.
    pub source: String,
    pub kind: String,
    pub major_code: String,
    pub major_name: String,
    pub minor_code: String,
    pub minor_name: String,
    pub department: String,
    pub condition: String,
    pub limit: String,
    pub closing: String,
    pub note: String,
    pub area_class: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub source: String,
    pub column: &'static str,
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}, column {}: {}",
            self.source, self.column, self.message
        )
    }
}

/// A department as rule tables name it: by code or by name.
#[derive(Debug, Clone)]
pub struct DepartmentName {
    pub code: String,
    pub name: String,
}

/// Turns table rows into filing conditions, or lists every offending row. `default_kind` applies to
/// rows without a 类型 column (a sheet or file of only 部件 or only 事件).
pub fn conditions_from_rows(
    rows: &[RuleRow],
    default_kind: Option<ClassKind>,
    classes: &[TaxonomyClass],
    departments: &[DepartmentName],
) -> Result<Vec<FilingCondition>, Vec<RowError>> {
    let mut errors = Vec::new();
    let mut out: Vec<FilingCondition> = Vec::new();
    let mut seen: BTreeMap<ConditionKey, String> = BTreeMap::new();
    for row in rows {
        let err = |column: &'static str, message: String| RowError {
            source: row.source.clone(),
            column,
            message,
        };
        let before = errors.len();
        let kind = if row.kind.trim().is_empty() {
            default_kind
        } else {
            match row.kind.parse::<ClassKind>() {
                Ok(k) => Some(k),
                Err(e) => {
                    errors.push(err("类型", e.message));
                    continue;
                }
            }
        };
        let Some(kind) = kind else {
            errors.push(err(
                "类型",
                "say whether the row is a 部件 or an 事件 class (a 类型 column, or the sheet name)"
                    .into(),
            ));
            continue;
        };
        let class = match ClassRef::new(kind, &row.minor_code) {
            Ok(c) => c,
            Err(e) => {
                errors.push(err("小类代码", e.message));
                continue;
            }
        };
        let known = classes.iter().find(|c| c.class == class);
        match known {
            None => errors.push(err("小类代码", format!("unknown subclass {class}"))),
            Some(k) if !k.enabled => {
                errors.push(err("小类代码", format!("subclass {class} is disabled")))
            }
            Some(_) => {}
        }
        if !row.major_code.trim().is_empty() && row.major_code.trim() != class.major() {
            errors.push(err(
                "大类代码",
                format!(
                    "{} does not match subclass {}",
                    row.major_code.trim(),
                    class.code()
                ),
            ));
        }
        let limit = match row.limit.parse::<TimeLimit>() {
            Ok(l) => Some(l),
            Err(e) => {
                errors.push(err("处置时限", e.to_string()));
                None
            }
        };
        let condition = row.condition.trim().to_owned();
        if condition.is_empty() {
            errors.push(err("立案条件", "empty".into()));
        }
        let department = match row.department.trim() {
            "" => None,
            d => match departments.iter().find(|x| x.code == d || x.name == d) {
                Some(x) => Some(x.code.clone()),
                None => {
                    errors.push(err("责任单位", format!("no department `{d}`")));
                    None
                }
            },
        };
        let area_class = match row.area_class.trim() {
            "" => None,
            a => match a.parse::<AreaClass>() {
                Ok(a) => Some(a),
                Err(e) => {
                    errors.push(err("区域类别", e.message));
                    None
                }
            },
        };
        if errors.len() > before {
            continue;
        }
        let Some(limit) = limit else { continue };
        let fc = FilingCondition {
            class,
            condition,
            limit,
            closing: row.closing.trim().to_owned(),
            department,
            area_class,
            note: row.note.trim().to_owned(),
        };
        if let Some(first) = seen.get(&fc.key()) {
            errors.push(err(
                "立案条件",
                format!("duplicate of the condition at {first}"),
            ));
            continue;
        }
        seen.insert(fc.key(), row.source.clone());
        out.push(fc);
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// What changed between two versions, for the audit log and for review before publishing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RuleSetDiff {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// (condition, what changed)
    pub changed: Vec<(String, String)>,
    pub process: Vec<String>,
    pub matrix_before: usize,
    pub matrix_after: usize,
}

impl RuleSetDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
            && self.process.is_empty()
            && self.matrix_before == self.matrix_after
    }
}

pub fn diff(old: &RuleSetContent, new: &RuleSetContent) -> RuleSetDiff {
    fn index(c: &RuleSetContent) -> BTreeMap<ConditionKey, &FilingCondition> {
        c.conditions.iter().map(|fc| (fc.key(), fc)).collect()
    }
    let (a, b) = (index(old), index(new));
    let mut d = RuleSetDiff {
        matrix_before: old.matrix.len(),
        matrix_after: new.matrix.len(),
        ..Default::default()
    };
    for (k, fc) in &b {
        match a.get(k) {
            None => d.added.push(k.to_string()),
            Some(prev) => {
                let mut what = Vec::new();
                if prev.limit != fc.limit {
                    what.push(format!("处置时限 {} → {}", prev.limit, fc.limit));
                }
                if prev.closing != fc.closing {
                    what.push(format!("结案条件 {} → {}", prev.closing, fc.closing));
                }
                if prev.department != fc.department {
                    what.push(format!(
                        "责任单位 {} → {}",
                        prev.department.as_deref().unwrap_or("-"),
                        fc.department.as_deref().unwrap_or("-")
                    ));
                }
                if prev.note != fc.note {
                    what.push("备注".into());
                }
                if !what.is_empty() {
                    d.changed.push((k.to_string(), what.join("; ")));
                }
            }
        }
    }
    d.removed = a
        .keys()
        .filter(|k| !b.contains_key(*k))
        .map(|k| k.to_string())
        .collect();
    for step in Step::ALL {
        let (x, y) = (old.process.limits.get(&step), new.process.limits.get(&step));
        if x != y {
            let show =
                |l: Option<&TimeLimit>| l.map(|l| l.to_string()).unwrap_or_else(|| "-".into());
            d.process
                .push(format!("{} {} → {}", step.name_zh(), show(x), show(y)));
        }
    }
    if old.process.warn_at_percent != new.process.warn_at_percent {
        d.process.push(format!(
            "预警阈值 {}% → {}%",
            old.process.warn_at_percent, new.process.warn_at_percent
        ));
    }
    d
}

/// Problems that block publishing (`errors`) and those that only warn (`warnings`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ValidationReport {
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
}

/// Checks a rule set against the taxonomy and the organisation before it is published.
pub fn validate_content(
    content: &RuleSetContent,
    classes: &[TaxonomyClass],
    departments: &[DepartmentName],
) -> ValidationReport {
    let mut r = ValidationReport::default();
    let known_dept = |code: &str| departments.iter().any(|d| d.code == code);
    let mut keys = BTreeSet::new();
    for fc in &content.conditions {
        match classes.iter().find(|c| c.class == fc.class) {
            None => r.errors.push(format!("{}: unknown subclass", fc.class)),
            Some(c) if !c.enabled => r
                .warnings
                .push(format!("{}: subclass is disabled", fc.class)),
            Some(_) => {}
        }
        if !keys.insert(fc.key()) {
            r.errors.push(format!("duplicate condition: {}", fc.key()));
        }
        if fc.condition.trim().is_empty() {
            r.errors
                .push(format!("{}: empty filing condition", fc.class));
        }
        if let Some(d) = &fc.department
            && !known_dept(d)
        {
            r.errors.push(format!("{}: no department `{d}`", fc.key()));
        }
    }
    r.errors.extend(content.process.validate());
    for c in classes.iter().filter(|c| c.enabled) {
        if !content.conditions.iter().any(|fc| fc.class == c.class) {
            r.warnings
                .push(format!("{} {}: no filing condition", c.class, c.name));
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::taxonomy::builtin_classes;

    fn depts() -> Vec<DepartmentName> {
        [
            ("SZ", "市政工程管理处"),
            ("HW", "环境卫生管理处"),
            ("ZFJ", "城市管理行政执法局"),
        ]
        .into_iter()
        .map(|(c, n)| DepartmentName {
            code: c.into(),
            name: n.into(),
        })
        .collect()
    }

    fn row(line: usize, code: &str, dept: &str, cond: &str, limit: &str) -> RuleRow {
        RuleRow {
            source: format!("line {line}"),
            minor_code: code.into(),
            department: dept.into(),
            condition: cond.into(),
            limit: limit.into(),
            closing: "已处置".into(),
            ..Default::default()
        }
    }

    #[test]
    fn rows_become_conditions() {
        let rows = vec![
            row(2, "0102", "环境卫生管理处", "暴露垃圾1处以上", "2小时"),
            RuleRow {
                area_class: "二类".into(),
                ..row(3, "0102", "HW", "暴露垃圾1处以上", "4个工作时")
            },
            row(4, "0505", "", "机动车乱停放", "1个工作日"),
        ];
        let out = conditions_from_rows(&rows, Some(ClassKind::Event), &builtin_classes(), &depts())
            .unwrap();
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].department.as_deref(), Some("HW"));
        assert_eq!(out[0].limit.to_string(), "2个工作小时");
        assert_eq!(out[1].area_class, Some(AreaClass::Second));
        assert_eq!(out[2].department, None);
    }

    #[test]
    fn every_bad_row_is_listed() {
        let rows = vec![
            row(2, "0177", "HW", "x", "2小时"),
            row(3, "0102", "HW", "x", "soon"),
            row(4, "0102", "园林局", "y", "1个工作日"),
            row(5, "0102", "HW", "z", "1个工作日"),
            row(6, "0102", "HW", " z ", "2个工作日"),
            row(7, "0102", "HW", "", "1个工作日"),
        ];
        let errs =
            conditions_from_rows(&rows, Some(ClassKind::Event), &builtin_classes(), &depts())
                .unwrap_err();
        let at: Vec<(String, &str)> = errs.iter().map(|e| (e.source.clone(), e.column)).collect();
        assert_eq!(
            at,
            vec![
                ("line 2".into(), "小类代码"),
                ("line 3".into(), "处置时限"),
                ("line 4".into(), "责任单位"),
                ("line 6".into(), "立案条件"),
                ("line 7".into(), "立案条件"),
            ],
            "{errs:?}"
        );
        assert!(errs[4].message.contains("empty"));
        assert!(errs[3].message.contains("line 5"));
        let no_kind = conditions_from_rows(
            &[row(2, "0102", "HW", "x", "1天")],
            None,
            &builtin_classes(),
            &depts(),
        );
        assert_eq!(no_kind.unwrap_err()[0].column, "类型");
    }

    #[test]
    fn diff_lists_changes() {
        let classes = builtin_classes();
        let old = RuleSetContent {
            conditions: conditions_from_rows(
                &[
                    row(2, "0102", "HW", "a", "2小时"),
                    row(3, "0505", "", "b", "1个工作日"),
                ],
                Some(ClassKind::Event),
                &classes,
                &depts(),
            )
            .unwrap(),
            ..Default::default()
        };
        let mut new = old.clone();
        new.conditions[0].limit = "3小时".parse().unwrap();
        new.conditions.remove(1);
        new.process.warn_at_percent = 75;
        let d = diff(&old, &new);
        assert_eq!(d.removed, vec!["E0505 b"]);
        assert_eq!(d.changed.len(), 1);
        assert!(
            d.changed[0].1.contains("2个工作小时 → 3个工作小时"),
            "{:?}",
            d.changed
        );
        assert_eq!(d.process, vec!["预警阈值 80% → 75%"]);
        assert!(diff(&old, &old).is_empty());
    }

    #[test]
    fn validation_reports_errors_and_gaps() {
        let classes = builtin_classes();
        let content = RuleSetContent {
            conditions: vec![FilingCondition {
                class: "E0102".parse().unwrap(),
                condition: "x".into(),
                limit: "2小时".parse().unwrap(),
                closing: String::new(),
                department: Some("NOPE".into()),
                area_class: None,
                note: String::new(),
            }],
            ..Default::default()
        };
        let r = validate_content(&content, &classes, &depts());
        assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
        assert_eq!(r.warnings.len(), classes.len() - 1);
    }

    fn condition(class: &str, text: &str, limit: &str) -> FilingCondition {
        FilingCondition {
            class: class.parse().unwrap(),
            condition: text.into(),
            limit: limit.parse().unwrap(),
            closing: "已处置".into(),
            department: Some("HW".into()),
            area_class: None,
            note: String::new(),
        }
    }

    #[test]
    fn conditions_are_put_and_removed_by_key() {
        let mut c = RuleSetContent::default();
        assert_eq!(
            c.put_condition(condition("E0505", "乱停放", "2小时"), None),
            Ok(None)
        );
        assert_eq!(
            c.put_condition(condition("E0102", "暴露垃圾", "1天"), None),
            Ok(None)
        );
        assert_eq!(
            c.conditions
                .iter()
                .map(|x| x.class.to_string())
                .collect::<Vec<_>>(),
            ["E0102", "E0505"],
            "class order"
        );
        // Same key (whitespace and full-width forms aside): replaced in place.
        let old = c
            .put_condition(condition("E0505", " 乱停放 ", "3小时"), None)
            .unwrap()
            .unwrap();
        assert_eq!(old.limit.to_string(), "2个工作小时");
        assert_eq!(c.conditions.len(), 2);
        assert_eq!(c.conditions[1].limit.to_string(), "3个工作小时");
        // A new text for an existing condition, named by its old key.
        let was = ConditionKey::new("E0505".parse().unwrap(), "乱停放", None);
        c.put_condition(condition("E0505", "机动车乱停放", "3小时"), Some(&was))
            .unwrap();
        assert_eq!(c.conditions.len(), 2);
        assert_eq!(c.conditions[1].condition, "机动车乱停放");
        // The old key is gone; a rename onto another condition's key is refused.
        let gone = c.put_condition(condition("E0505", "x", "1天"), Some(&was));
        assert_eq!(gone.unwrap_err().field, "replaces");
        let first = c.conditions[0].key();
        let clash = c.put_condition(condition("E0505", "机动车乱停放", "1天"), Some(&first));
        assert_eq!(clash.unwrap_err().field, "condition");
        assert_eq!(
            c.remove_condition(&first).map(|x| x.condition),
            Some("暴露垃圾".into())
        );
        assert_eq!(c.remove_condition(&first), None);
        assert_eq!(c.conditions.len(), 1);
    }

    #[test]
    fn a_single_condition_is_checked_field_by_field() {
        let classes = builtin_classes();
        let ok = check_condition(
            FilingCondition {
                department: Some("环境卫生管理处".into()),
                condition: " 暴露垃圾 ".into(),
                ..condition("E0102", "-", "2小时")
            },
            &classes,
            &depts(),
        )
        .unwrap();
        assert_eq!(
            (ok.department.as_deref(), ok.condition.as_str()),
            (Some("HW"), "暴露垃圾")
        );
        let field = |fc| check_condition(fc, &classes, &depts()).unwrap_err().field;
        assert_eq!(field(condition("E0177", "x", "1天")), "class");
        assert_eq!(field(condition("E0102", "  ", "1天")), "condition");
        assert_eq!(
            field(FilingCondition {
                department: Some("园林局".into()),
                ..condition("E0102", "x", "1天")
            }),
            "department"
        );
        let mut off = classes.clone();
        off.iter_mut().for_each(|c| c.enabled = false);
        assert_eq!(
            check_condition(condition("E0102", "x", "1天"), &off, &depts())
                .unwrap_err()
                .field,
            "class"
        );
    }

    #[test]
    fn warning_at_eighty_percent_of_working_time() {
        let cal = WorkCalendar::builtin().unwrap();
        // Mon 2026-03-02 08:00 +08 = 00:00 UTC; 10 working hours end Tue 10:00; 80 % = 8 h → Mon 18:00.
        let start = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
        let w = warning_instant(&cal, start, "10小时".parse().unwrap(), 80).unwrap();
        assert_eq!(w.at, Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap());
        let w = warning_instant(&cal, start, "10自然小时".parse().unwrap(), 80).unwrap();
        assert_eq!(w.at, Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap());
        assert!(ProcessLimits::default().validate().is_empty());
    }
}
