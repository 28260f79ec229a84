//! Chinese-first labels with English alternatives: `tr("中文", "English")` in templates picks by
//! the page's `lang`, and `label` names the workflow codes (steps, actions, sources, urgency).

use chrono::{DateTime, Utc};
use cityloop_domain::Role;
use cityloop_domain::calendar::CHINA_OFFSET;
use minijinja::State;

fn is_en(state: &State) -> bool {
    state
        .lookup("lang")
        .and_then(|v| v.as_str().map(|s| s == "en"))
        .unwrap_or(false)
}

/// `{{ tr("待办", "To-do") }}`
pub(super) fn tr(state: &State, zh: String, en: String) -> String {
    if is_en(state) { en } else { zh }
}

/// (code, 中文, English)
const LABELS: &[(&str, &str, &str)] = &[
    // steps
    ("verifying", "待核实", "Verifying"),
    ("accepting", "待受理", "Accepting"),
    ("filing", "待立案", "Filing"),
    ("dispatching", "待派遣", "Dispatching"),
    ("disposing", "处置中", "Disposing"),
    ("return_review", "退回待审", "Return review"),
    ("checking", "待核查", "Checking"),
    ("closing", "待结案", "Closing"),
    ("closed", "已结案", "Closed"),
    // outcomes
    ("resolved", "已解决", "Resolved"),
    ("declined", "不受理", "Declined"),
    ("rejected", "不立案", "Not filed"),
    ("voided", "作废", "Voided"),
    ("merged", "已合并", "Merged"),
    // actions (and timeline kinds)
    ("opened", "上报", "Reported"),
    ("verify", "核实", "Verify"),
    ("accept", "受理", "Accept"),
    ("decline", "不予受理", "Decline"),
    ("file", "立案", "File"),
    ("reject", "不予立案", "Do not file"),
    ("void", "作废", "Void"),
    ("dispatch", "派遣", "Dispatch"),
    ("sub_dispatch", "二级派遣", "Second-level dispatch"),
    ("request_return", "申请退回", "Request return"),
    ("approve_return", "同意退回", "Approve return"),
    ("refuse_return", "驳回退回", "Refuse return"),
    ("request_extension", "申请延期", "Request extension"),
    ("approve_extension", "批准延期", "Approve extension"),
    ("reject_extension", "驳回延期", "Reject extension"),
    ("feedback", "处置反馈", "Report disposal"),
    ("check_pass", "核查通过", "Check passed"),
    ("check_fail", "核查不通过", "Check failed"),
    ("close", "结案", "Close"),
    ("request_park", "申请挂账", "Request parking"),
    ("approve_park", "批准挂账", "Approve parking"),
    ("unpark", "解除挂账", "Unpark"),
    ("defer", "缓办", "Defer"),
    ("resume", "恢复办理", "Resume"),
    ("supervise", "督办", "Supervise"),
    ("remind", "催办", "Remind"),
    ("reopen", "重新打开", "Reopen"),
    ("merge", "合并", "Merge"),
    ("split", "拆分", "Split"),
    // sources
    ("public", "公众举报", "Public"),
    ("hotline", "12345热线", "Hotline"),
    ("inspector", "监督员上报", "Inspector report"),
    ("leader", "领导批示", "Leader"),
    ("media", "媒体曝光", "Media"),
    ("video", "视频发现", "Video"),
    ("sensor", "物联感知", "Sensor"),
    // urgency
    ("normal", "正常", "On time"),
    ("warning", "预警", "Warning"),
    ("overdue", "超时", "Overdue"),
    ("paused", "暂停计时", "Paused"),
    ("none", "不计时", "No clock"),
    // pending requests and holds
    ("extension", "延期申请", "Extension request"),
    ("park", "挂账申请", "Parking request"),
    ("parked", "挂账", "Parked"),
    ("deferred", "缓办", "Deferred"),
    // evidence stages
    ("report", "上报照片", "Report photo"),
    ("verification", "核实照片", "Verification photo"),
    ("check", "核查照片", "Check photo"),
];

/// The label of a code in the page's language; unknown codes are shown as they are.
pub(super) fn label(state: &State, code: String) -> String {
    lookup(LABELS, is_en(state), code)
}

/// `{{ role|role_label }}`: a staff role's name in the page's language, apart from `label`
/// because some role codes are also source codes with another wording (`inspector`: the role
/// 监督员, the source 监督员上报).
pub(super) fn role_label(state: &State, code: String) -> String {
    let en = is_en(state);
    let code = snake_case(code);
    match code.parse::<Role>() {
        Ok(r) if en => r.name_en().to_owned(),
        Ok(r) => r.name_zh().to_owned(),
        // The workflow's own steps (timers, automatic routing) are recorded as `system`.
        Err(_) if code == "system" => (if en { "System" } else { "系统" }).to_owned(),
        Err(_) => code,
    }
}

fn lookup(table: &[(&str, &str, &str)], en: bool, code: String) -> String {
    let code = snake_case(code);
    table
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, zh, e)| (if en { *e } else { *zh }).to_owned())
        .unwrap_or(code)
}

/// Some enums serialize as `ShiftLeader`; the table uses `shift_leader`.
fn snake_case(code: String) -> String {
    if !code.chars().any(|c| c.is_ascii_uppercase()) {
        return code;
    }
    let mut out = String::with_capacity(code.len() + 4);
    for (i, c) in code.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The label table for the page's scripts, as `{code: label}`.
pub(super) fn labels_json(en: bool) -> serde_json::Value {
    serde_json::Value::Object(
        LABELS
            .iter()
            .map(|(c, zh, e)| ((*c).to_owned(), (if en { *e } else { *zh }).into()))
            .collect(),
    )
}

/// An RFC 3339 instant as China local time, `2026-05-01 14:30`.
pub(super) fn local_time(value: String) -> String {
    DateTime::parse_from_rfc3339(&value)
        .map(|t| {
            t.with_timezone(&Utc)
                .with_timezone(&CHINA_OFFSET)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or(value)
}

/// Working minutes as `3天 2小时` / `3d 2h` (a working day is not 24 hours, so days are only
/// used for whole multiples of a standard 8-hour day), always non-negative.
pub(super) fn worktime(state: &State, minutes: i64) -> String {
    let en = is_en(state);
    let m = minutes.unsigned_abs();
    let (d, h, mi) = (m / 480, (m % 480) / 60, m % 60);
    let mut out = Vec::new();
    if d > 0 {
        out.push(if en {
            format!("{d}wd")
        } else {
            format!("{d}个工作日")
        });
    }
    if h > 0 {
        out.push(if en {
            format!("{h}h")
        } else {
            format!("{h}小时")
        });
    }
    if mi > 0 || out.is_empty() {
        out.push(if en {
            format!("{mi}m")
        } else {
            format!("{mi}分")
        });
    }
    out.join(" ")
}

pub(super) fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_one_label() {
        let mut seen = std::collections::HashSet::new();
        for (code, zh, en) in LABELS {
            assert!(seen.insert(*code), "{code} twice");
            assert!(!zh.is_empty() && !en.is_empty());
        }
        for kind in cityloop_domain::case::ActionKind::ALL {
            assert!(seen.contains(kind.code()), "{} has no label", kind.code());
        }
        for step in cityloop_domain::case::Step::CODES {
            assert!(seen.contains(step), "{step} has no label");
        }
    }

    #[test]
    fn enum_names_become_codes() {
        assert_eq!(snake_case("ShiftLeader".into()), "shift_leader");
        assert_eq!(snake_case("closed".into()), "closed");
    }

    #[test]
    fn next_urls_are_encoded() {
        assert_eq!(url_encode("/cases/A 1?x=1&y"), "/cases/A%201%3Fx%3D1%26y");
    }
}
